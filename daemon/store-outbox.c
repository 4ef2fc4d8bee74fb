/* SPDX-License-Identifier: MIT */

/* The mail outbox (store.h): mails are written in the transaction of the
 * events that cause them and leave only when the server accepted them.
 *
 * Order: a mail is sent only after every older mail of the same fault, so
 * that a thread reads in order at the recipient; mails of other faults
 * (and mails of no fault) do not wait for it, so that one mail the server
 * keeps refusing cannot hold back every later notification. */

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"

#define OUTBOX_ERROR_MAX 1024

#define OUTBOX_COLUMNS                                                                      \
        "id, event_id, fault_id, created_at, recipients, message_id, thread_id, subject,"   \
        " body, attempts, next_attempt_at, sent_at, last_error"

/* The unsent mails that no older unsent mail of the same fault holds back. */
#define OUTBOX_READY                                                                        \
        "sent_at IS NULL AND NOT EXISTS (SELECT 1 FROM outbox AS older"                     \
        " WHERE older.sent_at IS NULL AND older.fault_id = outbox.fault_id"                 \
        " AND older.id < outbox.id)"

static int outbox_step_done(sqlite3_stmt *st, sqlite3 *db, bool must_change) {
        int rc = sqlite3_step(st);

        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sqlite_to_errno(rc);
        return must_change && sqlite3_changes(db) == 0 ? -ENOENT : 0;
}

static void bind_id(sqlite3_stmt *st, int i, int64_t id) {
        if (id > 0)
                (void) sqlite3_bind_int64(st, i, id);
        else
                (void) sqlite3_bind_null(st, i);
}

static int dup_column(sqlite3_stmt *st, int i, bool nullable, char **ret) {
        const char *t = column_text(st, i);

        if (!t && nullable) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(t ?: "");
        return *ret ? 0 : -ENOMEM;
}

static int64_t column_int64_or_zero(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

/* Reads a row of OUTBOX_COLUMNS; on failure m holds nothing. */
static int read_mail(sqlite3_stmt *st, OutboxMail *m) {
        int r;

        *m = (OutboxMail) {
                .id = sqlite3_column_int64(st, 0),
                .event_id = column_int64_or_zero(st, 1),
                .fault_id = column_int64_or_zero(st, 2),
                .created_at = (time_t) sqlite3_column_int64(st, 3),
                .attempts = sqlite3_column_int(st, 9),
                .next_attempt_at = (time_t) sqlite3_column_int64(st, 10),
                .sent_at = (time_t) column_int64_or_zero(st, 11),
        };
        r = dup_column(st, 4, false, &m->recipients);
        if (r >= 0)
                r = dup_column(st, 5, false, &m->message_id);
        if (r >= 0)
                r = dup_column(st, 6, true, &m->thread_id);
        if (r >= 0)
                r = dup_column(st, 7, false, &m->subject);
        if (r >= 0)
                r = dup_column(st, 8, false, &m->body);
        if (r >= 0)
                r = dup_column(st, 12, true, &m->last_error);
        if (r < 0)
                outbox_mail_done(m);
        return r;
}

void outbox_mail_done(OutboxMail *m) {
        if (!m)
                return;
        free(m->recipients);
        free(m->message_id);
        free(m->thread_id);
        free(m->subject);
        free(m->body);
        free(m->last_error);
        m->recipients = m->message_id = m->thread_id = NULL;
        m->subject = m->body = m->last_error = NULL;
}

int store_outbox_add(Store *s, OutboxMail *m) {
        sqlite3_stmt *st;
        int rc, r;

        if (!m->recipients || !*m->recipients || !m->message_id || !m->subject || !m->body)
                return -EINVAL;
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO outbox (event_id, fault_id, created_at, recipients,"
                                " message_id, thread_id, subject, body, next_attempt_at)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        bind_id(st, 1, m->event_id);
        bind_id(st, 2, m->fault_id);
        (void) sqlite3_bind_int64(st, 3, (sqlite3_int64) m->created_at);
        (void) sqlite3_bind_text(st, 4, m->recipients, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 5, m->message_id, -1, SQLITE_STATIC);
        if (m->thread_id && *m->thread_id)
                (void) sqlite3_bind_text(st, 6, m->thread_id, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 7, m->subject, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 8, m->body, -1, SQLITE_STATIC);
        /* Not given: due at once. */
        (void) sqlite3_bind_int64(st, 9,
                                  (sqlite3_int64) (m->next_attempt_at ?: m->created_at));
        r = outbox_step_done(st, s->db, false);
        if (r >= 0)
                m->id = sqlite3_last_insert_rowid(s->db);
        return r;
}

int store_outbox_next(Store *s, time_t now, OutboxMail *ret) {
        OutboxMail m;
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE " OUTBOX_READY
                                " AND next_attempt_at <= ? ORDER BY id LIMIT 1",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) now);
        rc = sqlite3_step(st);
        r = rc == SQLITE_ROW    ? read_mail(st, &m)
            : rc == SQLITE_DONE ? -ENOENT
                                : sqlite_to_errno(rc);
        sqlite3_finalize(st);
        if (r < 0)
                return r;
        *ret = m;
        return 0;
}

int store_outbox_next_attempt(Store *s, time_t *ret) {
        sqlite3_stmt *st;
        int rc, r;

        /* Only the mails store_outbox_next() may return: a mail held back by
         * an older one of its fault is due when that one is sent. */
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT MIN(next_attempt_at) FROM outbox WHERE " OUTBOX_READY,
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
                *ret = (time_t) sqlite3_column_int64(st, 0);
                r = 0;
        } else
                r = rc == SQLITE_ROW ? -ENOENT : sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

int store_outbox_sent(Store *s, int64_t id, time_t at) {
        sqlite3_stmt *st;
        int rc;

        /* attempts counts every delivery attempt, the good one included. */
        rc = sqlite3_prepare_v2(s->db,
                                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1"
                                " WHERE id = ? AND sent_at IS NULL",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) at);
        (void) sqlite3_bind_int64(st, 2, id);
        return outbox_step_done(st, s->db, true);
}

int store_outbox_retry(Store *s, int64_t id, time_t next_attempt_at, const char *error) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?,"
                                " last_error = substr(?, 1, ?) WHERE id = ? AND sent_at IS NULL",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) next_attempt_at);
        if (error)
                (void) sqlite3_bind_text(st, 2, error, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int(st, 3, OUTBOX_ERROR_MAX);
        (void) sqlite3_bind_int64(st, 4, id);
        return outbox_step_done(st, s->db, true);
}

int store_foreach_mail(Store *s, StoreMailFn fn, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, "SELECT " OUTBOX_COLUMNS " FROM outbox ORDER BY id", -1,
                                &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                OutboxMail m;

                r = read_mail(st, &m);
                if (r >= 0)
                        r = fn(&m, userdata);
                outbox_mail_done(&m);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}
