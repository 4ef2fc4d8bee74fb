/* SPDX-License-Identifier: MIT */

/* The mail outbox (store.h): mails are written in the transaction of the
 * events that cause them and leave only when the server accepted them for
 * every recipient (delivered_to lists those it was accepted for so far).
 *
 * Order: which mail goes next, and to whom, is the mailer's plan
 * (mailer-plan.h): a mail goes to an address only after every older mail
 * of the same fault reached it, so that a thread reads in order at every
 * recipient; mails of other faults (and mails of no fault) do not wait for
 * it, so that one mail the server keeps refusing, or one recipient it
 * keeps refusing, cannot hold back every later notification.
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

#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"

#define OUTBOX_ERROR_MAX 1024

#define OUTBOX_COLUMNS                                                                      \
        "id, event_id, fault_id, created_at, recipients, message_id, thread_id, subject,"   \
        " body, attempts, next_attempt_at, sent_at, last_error, language, digest_entry,"    \
        " onsite_due, held_until, digest_id, digest_count, delivered_to,"  \
        " abandoned"

/* Held mails that no digest carries yet. */
#define OUTBOX_HELD "held_until IS NOT NULL AND digest_id IS NULL AND sent_at IS NULL"

/* An unsent mail as the plan reads it (read_pending); a mail a digest
 * carries has reached, and is given up for, whom the digest is. */
#define OUTBOX_PENDING_COLUMNS                                                              \
        "o.id, o.fault_id, o.recipients, coalesce(d.delivered_to, o.delivered_to),"         \
        " o.next_attempt_at, o.held_until IS NOT NULL, coalesce(d.abandoned, o.abandoned),"  \
        " o.created_at FROM outbox AS o"
#define OUTBOX_PENDING_DIGEST " LEFT JOIN outbox AS d ON d.id = o.digest_id"

#define MINUTE_SEC 60

const StoreSql store_sql_outbox[] = {
        { STMT_OUTBOX_MINUTE,
          "SELECT COUNT(*) FROM outbox WHERE created_at >= ? AND created_at < ?"
          " AND digest_count = 0" },
        { STMT_OUTBOX_INSERT,
          "INSERT INTO outbox (event_id, fault_id, created_at, recipients, message_id,"
          " thread_id, subject, body, next_attempt_at, language, digest_entry, onsite_due,"
          " held_until, digest_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" },
        { STMT_OUTBOX_GET, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id = ?" },
        /* A mail a digest carries has reached whom the digest has. */
        { STMT_OUTBOX_PENDING,
          "SELECT " OUTBOX_PENDING_COLUMNS OUTBOX_PENDING_DIGEST
          " WHERE o.sent_at IS NULL ORDER BY o.id" },
        { STMT_OUTBOX_DUE,
          "SELECT " OUTBOX_PENDING_COLUMNS " INDEXED BY outbox_due" OUTBOX_PENDING_DIGEST
          " WHERE o.sent_at IS NULL AND o.held_until IS NULL AND o.next_attempt_at <= ?"
          " AND o.id > ? ORDER BY o.id LIMIT ?" },
        { STMT_OUTBOX_UNSENT_AFTER,
          "SELECT " OUTBOX_PENDING_COLUMNS " INDEXED BY outbox_due" OUTBOX_PENDING_DIGEST
          " WHERE o.sent_at IS NULL AND o.held_until IS NULL"
          " AND (o.next_attempt_at, o.id) > (?, ?) ORDER BY o.next_attempt_at, o.id LIMIT ?" },
        { STMT_OUTBOX_FAULT_OLDER,
          "SELECT " OUTBOX_PENDING_COLUMNS " INDEXED BY outbox_fault_unsent"
          OUTBOX_PENDING_DIGEST
          " WHERE o.fault_id = ? AND o.id < ? AND o.sent_at IS NULL ORDER BY o.id" },
        { STMT_OUTBOX_NEXT_DUE,
          "SELECT MIN(next_attempt_at) FROM outbox INDEXED BY outbox_due"
          " WHERE sent_at IS NULL AND held_until IS NULL AND next_attempt_at > ?" },
        { STMT_OUTBOX_ABANDON,
          "UPDATE outbox SET abandoned = ? WHERE id = ? AND sent_at IS NULL" },
        /* attempts counts every delivery attempt, the good one included. */
        { STMT_OUTBOX_SENT,
          "UPDATE outbox SET sent_at = ?, attempts = attempts + 1,"
          " delivered_to = coalesce(?, delivered_to) WHERE id = ? AND sent_at IS NULL" },
        /* The mails a digest carries: delivered with it. */
        { STMT_OUTBOX_SENT_CARRIED,
          "UPDATE outbox SET sent_at = ? WHERE digest_id = ? AND sent_at IS NULL" },
        { STMT_OUTBOX_HELD_GROUP,
          "SELECT held_until, recipients, language FROM outbox INDEXED BY outbox_held"
          " WHERE " OUTBOX_HELD
          " AND held_until <= ? ORDER BY id LIMIT 1" },
        { STMT_OUTBOX_HELD_MEMBERS,
          "SELECT id, digest_entry, onsite_due FROM outbox INDEXED BY outbox_held"
          " WHERE " OUTBOX_HELD
          " AND held_until = ? AND recipients = ? AND language = ? ORDER BY id LIMIT ?" },
        { STMT_OUTBOX_HELD_PENDING,
          "SELECT COUNT(*), MIN(held_until) FROM outbox INDEXED BY outbox_held"
          " WHERE " OUTBOX_HELD },
        { STMT_OUTBOX_CARRY, "UPDATE outbox SET digest_id = ? WHERE id = ? AND " OUTBOX_HELD },
        { STMT_OUTBOX_RETRY,
          "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?,"
          " last_error = coalesce(substr(?, 1, ?), last_error),"
          " delivered_to = coalesce(?, delivered_to) WHERE id = ? AND sent_at IS NULL" },
        { STMT_OUTBOX_ALL, "SELECT " OUTBOX_COLUMNS " FROM outbox ORDER BY id" },
        {},
};

/* Runs an update that must change a row: -ENOENT when none. */
static int outbox_change(Store *s, int r) {
        return r >= 0 && store_changes(s) == 0 ? -ENOENT : r;
}

/* Reads a row of OUTBOX_COLUMNS; on failure m holds nothing. */
static int read_mail(sqlite3_stmt *st, void *userdata) {
        OutboxMail *m = userdata;
        int r;

        *m = (OutboxMail) {
                .id = sqlite3_column_int64(st, 0),
                .event_id = column_int(st, 1),
                .fault_id = column_int(st, 2),
                .created_at = column_time(st, 3),
                .attempts = sqlite3_column_int(st, 9),
                .next_attempt_at = column_time(st, 10),
                .sent_at = column_time(st, 11),
                .onsite_due = column_time(st, 15),
                .held_until = column_time(st, 16),
                .digest_id = column_int(st, 17),
                .digest_count = sqlite3_column_int(st, 18),
        };
        r = column_dup(st, 4, false, &m->recipients);
        if (r >= 0)
                r = column_dup(st, 5, false, &m->message_id);
        if (r >= 0)
                r = column_dup(st, 6, true, &m->thread_id);
        if (r >= 0)
                r = column_dup(st, 7, false, &m->subject);
        if (r >= 0)
                r = column_dup(st, 8, false, &m->body);
        if (r >= 0)
                r = column_dup(st, 12, true, &m->last_error);
        if (r >= 0)
                r = column_dup(st, 13, false, &m->language);
        if (r >= 0)
                r = column_dup(st, 14, true, &m->digest_entry);
        if (r >= 0)
                r = column_dup(st, 19, false, &m->delivered_to);
        if (r >= 0)
                r = column_dup(st, 20, false, &m->abandoned);
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
        free(m->delivered_to);
        free(m->abandoned);
        m->recipients = m->message_id = m->thread_id = NULL;
        m->subject = m->body = m->last_error = NULL;
        m->language = m->digest_entry = m->delivered_to = m->abandoned = NULL;
}

static int read_int(sqlite3_stmt *st, void *userdata) {
        *(int64_t *) userdata = column_int(st, 0);
        return 0;
}

/* Whether a mail created at t is held: its minute has digest_after mails
 * already (digests not counted). Sets *ret_until to the minute's end. */
static int outbox_hold(Store *s, time_t t, unsigned digest_after, time_t *ret_until) {
        time_t start = t - ((t % MINUTE_SEC) + MINUTE_SEC) % MINUTE_SEC;
        int64_t n = 0;
        int r;

        *ret_until = 0;
        if (digest_after == 0)
                return 0;
        r = store_get(s, STMT_OUTBOX_MINUTE, read_int, &n, sv_int(start),
                      sv_int(start + MINUTE_SEC));
        if (r < 0)
                return r;
        if (n >= (int64_t) digest_after)
                *ret_until = start + MINUTE_SEC;
        return 0;
}

int store_outbox_add(Store *s, OutboxMail *m) {
        time_t held_until = 0;
        int r;

        if (!m->recipients || !*m->recipients || !m->message_id || !m->subject || !m->body)
                return -EINVAL;
        /* Only a mail with a digest entry can go in a digest. */
        if (m->digest_entry && m->digest_count == 0) {
                r = outbox_hold(s, m->created_at, m->digest_after, &held_until);
                if (r < 0)
                        return r;
        }
        r = store_run(s, STMT_OUTBOX_INSERT, sv_time(m->event_id), sv_time(m->fault_id),
                      sv_int(m->created_at), sv_text(m->recipients), sv_text(m->message_id),
                      sv_text(m->thread_id && *m->thread_id ? m->thread_id : NULL),
                      sv_text(m->subject), sv_text(m->body),
                      /* Not given: due at once. */
                      sv_int(m->next_attempt_at ?: m->created_at), sv_str(m->language),
                      sv_text(m->digest_entry), sv_time(m->onsite_due), sv_time(held_until),
                      sv_int(m->digest_count));
        if (r >= 0) {
                m->id = store_last_id(s);
                m->held_until = held_until;
        }
        return r;
}

int store_outbox_get(Store *s, int64_t id, OutboxMail *ret) {
        return store_get(s, STMT_OUTBOX_GET, read_mail, ret, sv_int(id));
}

OutboxPending *outbox_pending_free(OutboxPending *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].recipients);
                free(v[i].delivered_to);
                free(v[i].abandoned);
        }
        free(v);
        return NULL;
}

typedef struct PendingList {
        OutboxPending *v;
        size_t n, allocated;
} PendingList;

static int read_pending(sqlite3_stmt *st, void *userdata) {
        PendingList *l = userdata;
        OutboxPending *p;
        int r;

        if (l->n == l->allocated) {
                size_t k = l->allocated ? 2 * l->allocated : 16;
                OutboxPending *v = reallocarray(l->v, k, sizeof(*v));

                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->allocated = k;
        }
        p = &l->v[l->n];
        *p = (OutboxPending) {
                .id = sqlite3_column_int64(st, 0),
                .fault_id = column_int(st, 1),
                .next_attempt_at = column_time(st, 4),
                .held = sqlite3_column_int(st, 5) != 0,
                .created_at = column_time(st, 7),
        };
        r = column_dup(st, 2, false, &p->recipients);
        if (r >= 0)
                r = column_dup(st, 3, false, &p->delivered_to);
        if (r >= 0)
                r = column_dup(st, 6, false, &p->abandoned);
        if (r < 0) {
                free(p->recipients);
                free(p->delivered_to);
                return r;
        }
        l->n++;
        return 0;
}

static int pending_done(PendingList *l, int r, OutboxPending **ret, size_t *ret_n) {
        if (r < 0) {
                outbox_pending_free(l->v, l->n);
                return r;
        }
        *ret = l->v;
        *ret_n = l->n;
        return 0;
}

int store_outbox_pending(Store *s, OutboxPending **ret, size_t *ret_n) {
        PendingList l = {};

        return pending_done(&l, store_each(s, STMT_OUTBOX_PENDING, read_pending, &l), ret, ret_n);
}

int store_outbox_due(Store *s, time_t now, int64_t after_id, size_t max, OutboxPending **ret,
                     size_t *ret_n) {
        PendingList l = {};

        return pending_done(&l,
                            store_each(s, STMT_OUTBOX_DUE, read_pending, &l, sv_int(now),
                                       sv_int(after_id), sv_int((int64_t) MIN(max, INT64_MAX))),
                            ret, ret_n);
}

int store_outbox_unsent_after(Store *s, const OutboxPending *after, size_t max,
                              OutboxPending **ret, size_t *ret_n) {
        PendingList l = {};

        return pending_done(&l,
                            store_each(s, STMT_OUTBOX_UNSENT_AFTER, read_pending, &l,
                                       sv_int(after ? after->next_attempt_at : INT64_MIN),
                                       sv_int(after ? after->id : 0),
                                       sv_int((int64_t) MIN(max, INT64_MAX))),
                            ret, ret_n);
}

int store_outbox_fault_older(Store *s, int64_t fault_id, int64_t id, OutboxPending **ret,
                             size_t *ret_n) {
        PendingList l = {};

        return pending_done(&l,
                            store_each(s, STMT_OUTBOX_FAULT_OLDER, read_pending, &l,
                                       sv_int(fault_id), sv_int(id)),
                            ret, ret_n);
}

static int read_time(sqlite3_stmt *st, void *userdata) {
        *(time_t *) userdata = column_time(st, 0);
        return 0;
}

int store_outbox_next_due(Store *s, time_t now, time_t *ret) {
        time_t t = 0;
        int r;

        r = store_get(s, STMT_OUTBOX_NEXT_DUE, read_time, &t, sv_int(now));
        if (r < 0)
                return r;
        *ret = t;
        return 0;
}

int store_outbox_abandon(Store *s, int64_t id, const char *abandoned) {
        return outbox_change(s, store_run(s, STMT_OUTBOX_ABANDON, sv_text(abandoned), sv_int(id)));
}

typedef struct OutboxSent {
        int64_t id;
        time_t at;
        const char *delivered_to;
} OutboxSent;

static int outbox_mark_sent(Store *s, void *userdata) {
        const OutboxSent *x = userdata;
        int r;

        r = outbox_change(s, store_run(s, STMT_OUTBOX_SENT, sv_int(x->at), sv_text(x->delivered_to),
                                       sv_int(x->id)));
        if (r < 0)
                return r;
        return store_run(s, STMT_OUTBOX_SENT_CARRIED, sv_int(x->at), sv_int(x->id));
}

int store_outbox_sent(Store *s, int64_t id, time_t at, const char *delivered_to) {
        return store_transaction(s, outbox_mark_sent, &(OutboxSent) { id, at, delivered_to });
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
static int held_group(sqlite3_stmt *st, void *userdata) {
        OutboxHeld *h = userdata;
        int r;

        h->held_until = column_time(st, 0);
        r = column_dup(st, 1, false, &h->recipients);
        if (r >= 0)
                r = column_dup(st, 2, false, &h->language);
        return r;
}

/* Appends one held mail to h. */
static int held_member(sqlite3_stmt *st, void *userdata) {
        OutboxHeld *h = userdata;
        time_t due = column_time(st, 2);
        int r;

        h->ids[h->n] = sqlite3_column_int64(st, 0);
        r = column_dup(st, 1, false, &h->entries[h->n]);
        if (r < 0)
                return r;
        h->n++;
        if (due > 0 && (h->earliest_due == 0 || due < h->earliest_due))
                h->earliest_due = due;
        return 0;
}

int store_outbox_next_held(Store *s, time_t now, size_t max, OutboxHeld *ret) {
        OutboxHeld h = {};
        int r;

        if (max == 0)
                return -EINVAL;
        r = store_get(s, STMT_OUTBOX_HELD_GROUP, held_group, &h, sv_int(now));
        if (r >= 0) {
                h.ids = calloc(max, sizeof(*h.ids));
                h.entries = calloc(max, sizeof(*h.entries));
                r = h.ids && h.entries ? 0 : -ENOMEM;
        }
        if (r >= 0)
                r = store_each(s, STMT_OUTBOX_HELD_MEMBERS, held_member, &h, sv_int(h.held_until),
                               sv_text(h.recipients), sv_text(h.language), sv_int((int64_t) max));
        if (r >= 0 && h.n == 0)
                r = -ENOENT;
        if (r < 0) {
                outbox_held_done(&h);
                return r;
        }
        *ret = h;
        return 0;
}

static int held_pending(sqlite3_stmt *st, void *userdata) {
        OutboxHeld *h = userdata;

        h->n = (size_t) sqlite3_column_int64(st, 0);
        h->held_until = column_time(st, 1);
        return 0;
}

int store_outbox_held_pending(Store *s, size_t *ret_n, time_t *ret_until) {
        OutboxHeld h = {};
        int r;

        r = store_get(s, STMT_OUTBOX_HELD_PENDING, held_pending, &h);
        if (r < 0)
                return r;
        *ret_n = h.n;
        *ret_until = h.held_until;
        return 0;
}

typedef struct OutboxDigest {
        OutboxMail *m;
        const int64_t *ids;
        size_t n;
} OutboxDigest;

/* Adds the digest and makes it the carrier of the held mails. */
static int outbox_carry(Store *s, void *userdata) {
        const OutboxDigest *d = userdata;
        int r;

        r = store_outbox_add(s, d->m);
        for (size_t i = 0; r >= 0 && i < d->n; i++) {
                r = store_run(s, STMT_OUTBOX_CARRY, sv_int(d->m->id), sv_int(d->ids[i]));
                if (r >= 0 && store_changes(s) != 1)
                        r = -ESTALE;
        }
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
        r = store_transaction(s, outbox_carry, &(OutboxDigest) { &m, ids, n });
        if (r >= 0) {
                d->id = m.id;
                d->digest_count = m.digest_count;
        }
        return r;
}

int store_outbox_retry(Store *s, int64_t id, time_t next_attempt_at, const char *error,
                       const char *delivered_to) {
        return outbox_change(s, store_run(s, STMT_OUTBOX_RETRY, sv_int(next_attempt_at),
                                          sv_text(error), sv_int(OUTBOX_ERROR_MAX),
                                          sv_text(delivered_to), sv_int(id)));
}

static int mail_row(sqlite3_stmt *st, void *userdata) {
        const StoreVisit *v = userdata;
        OutboxMail m;
        int r;

        r = read_mail(st, &m);
        if (r >= 0)
                r = ((StoreMailFn) v->fn)(&m, v->userdata);
        outbox_mail_done(&m);
        return r;
}

int store_foreach_mail(Store *s, StoreMailFn fn, void *userdata) {
        return store_each(s, STMT_OUTBOX_ALL, mail_row, STORE_VISIT(fn, userdata));
}
