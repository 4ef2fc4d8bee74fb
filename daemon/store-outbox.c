/* SPDX-License-Identifier: MIT */

/* The mail outbox (store.h): mails are written in the transaction of the
 * events that cause them and leave only when the server accepted them.
 *
 * Order: a mail is sent only after every older mail of the same fault, so
 * that a thread reads in order at the recipient; mails of other faults
 * (and mails of no fault) do not wait for it, so that one mail the server
 * keeps refusing cannot hold back every later notification.
 *
 * Digests (notify.digest_after): when many faults rise together, one mail
 * per event would bury the on-call phone, so the outbox does what
 * Alertmanager's group_wait/group_interval do, on wall-clock minutes: the
 * first digest_after mails queued in a minute go alone, as always; every
 * later mail of that minute is still written here, in its event's
 * transaction (durable like any other), but held (held_until = the end of
 * the minute). Once the minute is over, the mailer groups the held mails
 * by recipients and language into digests (at most MAIL_DIGEST_MAX each),
 * each a mail of its own in this table that carries them (digest_id), in
 * one transaction; the digest is sent and retried like any mail, and its
 * delivery marks every mail it carries sent in the same transaction. So
 * each event is carried by exactly one mail, its own or one digest,
 * across restarts, kill -9 and outages: the held rows and the digest rows
 * are the whole state, none is in memory, and counting the minute from the
 * outbox itself keeps the rule across a restart within the minute. (A
 * digest is delivered like any mail: a crash between the server's 250 and
 * the mark sends it again, with the same Message-ID.)
 *
 * Why minutes on the wall clock and not a window from the first fault:
 * both bound a minute's mails to digest_after plus one digest per
 * recipient list (and per MAIL_DIGEST_MAX held mails); fixed minutes need
 * no state but the rows, and the digest's subject can name its minute. A storm that straddles a minute's end costs at most
 * digest_after more single mails.
 *
 * A held mail still blocks the later mails of its fault until its digest
 * is delivered, so a fault's mails reach the recipients in order; the
 * digest itself (of no fault) waits for nothing. A held mail keeps its
 * Message-ID as the fault's thread id: the fault's later mails refer to
 * it (In-Reply-To, References) and mail clients thread them together. */

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"

#define OUTBOX_ERROR_MAX 1024

#define OUTBOX_COLUMNS                                                                      \
        "id, event_id, fault_id, created_at, recipients, message_id, thread_id, subject,"   \
        " body, attempts, next_attempt_at, sent_at, last_error, language, digest_entry,"    \
        " onsite_due, held_until, digest_id, digest_count"

/* The unsent mails, not held for a digest, that no older unsent mail of the
 * same fault holds back. */
#define OUTBOX_READY                                                                        \
        "sent_at IS NULL AND held_until IS NULL"                                            \
        " AND NOT EXISTS (SELECT 1 FROM outbox AS older"                                    \
        " WHERE older.sent_at IS NULL AND older.fault_id = outbox.fault_id"                 \
        " AND older.id < outbox.id)"

/* Held mails that no digest carries yet. */
#define OUTBOX_HELD "held_until IS NOT NULL AND digest_id IS NULL AND sent_at IS NULL"

#define MINUTE_SEC 60

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
                .onsite_due = (time_t) column_int64_or_zero(st, 15),
                .held_until = (time_t) column_int64_or_zero(st, 16),
                .digest_id = column_int64_or_zero(st, 17),
                .digest_count = sqlite3_column_int(st, 18),
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
        if (r >= 0)
                r = dup_column(st, 13, false, &m->language);
        if (r >= 0)
                r = dup_column(st, 14, true, &m->digest_entry);
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
        free(m->language);
        free(m->digest_entry);
        m->recipients = m->message_id = m->thread_id = NULL;
        m->subject = m->body = m->last_error = NULL;
        m->language = m->digest_entry = NULL;
}

/* Whether a mail created at t is held: its minute has digest_after mails
 * already (digests not counted). Sets *ret_until to the minute's end. */
static int outbox_hold(Store *s, time_t t, unsigned digest_after, time_t *ret_until) {
        time_t start = t - ((t % MINUTE_SEC) + MINUTE_SEC) % MINUTE_SEC;
        sqlite3_stmt *st;
        int64_t n = 0;
        int rc;

        *ret_until = 0;
        if (digest_after == 0)
                return 0;
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT COUNT(*) FROM outbox WHERE created_at >= ?"
                                " AND created_at < ? AND digest_count = 0",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) start);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) (start + MINUTE_SEC));
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                n = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc);
        if (n >= (int64_t) digest_after)
                *ret_until = start + MINUTE_SEC;
        return 0;
}

int store_outbox_add(Store *s, OutboxMail *m) {
        time_t held_until = 0;
        sqlite3_stmt *st;
        int rc, r;

        if (!m->recipients || !*m->recipients || !m->message_id || !m->subject || !m->body)
                return -EINVAL;
        /* Only a mail with a digest entry can go in a digest. */
        if (m->digest_entry && m->digest_count == 0) {
                r = outbox_hold(s, m->created_at, m->digest_after, &held_until);
                if (r < 0)
                        return r;
        }
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO outbox (event_id, fault_id, created_at, recipients,"
                                " message_id, thread_id, subject, body, next_attempt_at,"
                                " language, digest_entry, onsite_due, held_until, digest_count)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
        (void) sqlite3_bind_text(st, 10, m->language ?: "", -1, SQLITE_STATIC);
        if (m->digest_entry)
                (void) sqlite3_bind_text(st, 11, m->digest_entry, -1, SQLITE_STATIC);
        bind_id(st, 12, (int64_t) m->onsite_due);
        bind_id(st, 13, (int64_t) held_until);
        (void) sqlite3_bind_int(st, 14, m->digest_count);
        r = outbox_step_done(st, s->db, false);
        if (r >= 0) {
                m->id = sqlite3_last_insert_rowid(s->db);
                m->held_until = held_until;
        }
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
         * an older one of its fault is due when that one is sent; and the
         * minutes of held mails, whose end makes their digest. */
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT MIN(t) FROM (SELECT MIN(next_attempt_at) AS t FROM outbox"
                                " WHERE " OUTBOX_READY " UNION ALL SELECT MIN(held_until)"
                                " FROM outbox WHERE " OUTBOX_HELD ")",
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

static int outbox_exec(Store *s, const char *sql) {
        return sqlite_to_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

/* A savepoint: a transaction of its own, or a part of the caller's. */
static int outbox_savepoint(Store *s) {
        return outbox_exec(s, "SAVEPOINT outbox");
}

static int outbox_release(Store *s, int r) {
        if (r >= 0)
                r = outbox_exec(s, "RELEASE outbox");
        if (r < 0) {
                (void) outbox_exec(s, "ROLLBACK TO outbox");
                (void) outbox_exec(s, "RELEASE outbox");
        }
        return r;
}

static int outbox_mark_sent(Store *s, int64_t id, time_t at) {
        sqlite3_stmt *st;
        int rc, r;

        /* attempts counts every delivery attempt, the good one included. */
        rc = sqlite3_prepare_v2(s->db,
                                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1"
                                " WHERE id = ? AND sent_at IS NULL",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) at);
        (void) sqlite3_bind_int64(st, 2, id);
        r = outbox_step_done(st, s->db, true);
        if (r < 0)
                return r;
        /* The mails it carries, when it is a digest: delivered with it. */
        rc = sqlite3_prepare_v2(s->db,
                                "UPDATE outbox SET sent_at = ? WHERE digest_id = ?"
                                " AND sent_at IS NULL",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) at);
        (void) sqlite3_bind_int64(st, 2, id);
        return outbox_step_done(st, s->db, false);
}

int store_outbox_sent(Store *s, int64_t id, time_t at) {
        int r;

        r = outbox_savepoint(s);
        if (r < 0)
                return r;
        return outbox_release(s, outbox_mark_sent(s, id, at));
}

void outbox_held_done(OutboxHeld *h) {
        if (!h)
                return;
        for (size_t i = 0; h->entries && i < h->n; i++)
                free(h->entries[i]);
        free(h->entries);
        free(h->ids);
        free(h->recipients);
        free(h->language);
        *h = (OutboxHeld) {};
}

/* The key of the oldest group of held mails due at now. */
static int held_group(Store *s, time_t now, OutboxHeld *h) {
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT held_until, recipients, language FROM outbox WHERE "
                                OUTBOX_HELD " AND held_until <= ? ORDER BY id LIMIT 1",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) now);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                h->held_until = (time_t) sqlite3_column_int64(st, 0);
                r = dup_column(st, 1, false, &h->recipients);
                if (r >= 0)
                        r = dup_column(st, 2, false, &h->language);
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

/* Appends one held mail (the row of held_members()) to h. */
static int held_append(OutboxHeld *h, sqlite3_stmt *st) {
        time_t due = (time_t) column_int64_or_zero(st, 2);
        int r;

        h->ids[h->n] = sqlite3_column_int64(st, 0);
        r = dup_column(st, 1, false, &h->entries[h->n]);
        if (r < 0)
                return r;
        h->n++;
        if (due > 0 && (h->earliest_due == 0 || due < h->earliest_due))
                h->earliest_due = due;
        return 0;
}

static int held_members(Store *s, size_t max, OutboxHeld *h) {
        sqlite3_stmt *st;
        int rc, r = 0;

        h->ids = calloc(max, sizeof(*h->ids));
        h->entries = calloc(max, sizeof(*h->entries));
        if (!h->ids || !h->entries)
                return -ENOMEM;
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, digest_entry, onsite_due FROM outbox WHERE "
                                OUTBOX_HELD " AND held_until = ? AND recipients = ?"
                                " AND language = ? ORDER BY id LIMIT ?",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) h->held_until);
        (void) sqlite3_bind_text(st, 2, h->recipients, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 3, h->language, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(st, 4, (sqlite3_int64) max);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
                r = held_append(h, st);
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

int store_outbox_next_held(Store *s, time_t now, size_t max, OutboxHeld *ret) {
        OutboxHeld h = {};
        int r;

        if (max == 0)
                return -EINVAL;
        r = held_group(s, now, &h);
        if (r >= 0)
                r = held_members(s, max, &h);
        if (r >= 0 && h.n == 0)
                r = -ENOENT;
        if (r < 0) {
                outbox_held_done(&h);
                return r;
        }
        *ret = h;
        return 0;
}

int store_outbox_held_pending(Store *s, size_t *ret_n, time_t *ret_until) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT COUNT(*), MIN(held_until) FROM outbox WHERE " OUTBOX_HELD,
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret_n = (size_t) sqlite3_column_int64(st, 0);
                *ret_until = (time_t) column_int64_or_zero(st, 1);
        }
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? 0 : sqlite_to_errno(rc);
}

static int outbox_carry(Store *s, int64_t digest_id, const int64_t *ids, size_t n) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "UPDATE outbox SET digest_id = ? WHERE id = ? AND " OUTBOX_HELD,
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                (void) sqlite3_bind_int64(st, 1, digest_id);
                (void) sqlite3_bind_int64(st, 2, ids[i]);
                rc = sqlite3_step(st);
                r = rc != SQLITE_DONE ? sqlite_to_errno(rc)
                    : sqlite3_changes(s->db) != 1 ? -ESTALE
                                                  : 0;
                (void) sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        return r;
}

int store_outbox_add_digest(Store *s, OutboxMail *d, const int64_t *ids, size_t n) {
        OutboxMail m = *d;
        int r;

        if (n == 0 || n > INT32_MAX)
                return -EINVAL;
        m.digest_count = (int) n;
        m.digest_entry = NULL;
        m.digest_after = 0;
        r = outbox_savepoint(s);
        if (r < 0)
                return r;
        r = store_outbox_add(s, &m);
        if (r >= 0)
                r = outbox_carry(s, m.id, ids, n);
        r = outbox_release(s, r);
        if (r >= 0) {
                d->id = m.id;
                d->digest_count = m.digest_count;
        }
        return r;
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
