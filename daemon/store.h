/* SPDX-License-Identifier: MIT */
#pragma once

/* The state database (SQLite, WAL) in the state directory: the only code
 * that speaks SQL, always through bound parameters. The schema is
 * versioned (PRAGMA user_version) and migrated forward on open. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "action.h"
#include "anomaly.h"
#include "event.h"
#include "fault.h"

#define STORE_FILE "fieldwatch.db"
#define STORE_SCHEMA_VERSION 10

typedef struct Store Store;

/* One device's last known state, as `fieldwatchctl status` shows it. */
typedef struct DeviceRow {
        const char *id;              /* "01-camera", "01-router", "vpn" */
        const char *site;            /* "01"; NULL for the VPN */
        const char *kind;            /* camera | router | vpn */
        const char *state;           /* up | down | degraded | unreachable | unknown */
        time_t last_probe_at;        /* 0: never probed */
        int64_t latency_usec;        /* -1: unknown */
        const char *reason;          /* "" when none */
        const char *values_json;     /* a JSON object of key values */
} DeviceRow;

/* Opens (creating and migrating) the database for the daemon, and prepares
 * every statement: a database whose schema is not the one this fieldwatch
 * made (a foreign one, or one damaged) fails here (-EBADMSG, logged with
 * what did not match), not at a statement's first use. */
int store_open(const char *state_dir, Store **ret);

/* Opens an existing database read-only, for fieldwatchctl. -ENOENT when
 * there is none yet. */
int store_open_readonly(const char *state_dir, Store **ret);

/* NULL-safe; returns NULL. */
Store *store_close(Store *s);

/* A transaction around a batch of writes (one per loop tick). Durable:
 * committed means on disk (synchronous = FULL). */
int store_begin(Store *s);
int store_commit(Store *s);
void store_rollback(Store *s);

/* A transaction whose commit may be lost in a power failure, never half
 * (synchronous = NORMAL in WAL mode): for the device rows only, which the
 * next probes write again. The next durable commit (store_begin() makes
 * sure of FULL again) puts it on disk with everything before it. */
int store_begin_relaxed(Store *s);

/* Runs fn(s, userdata) in a transaction: begun (durable, as store_begin()),
 * committed when fn returns >= 0, rolled back when fn or the commit fails,
 * so that nothing fn wrote remains. Inside a transaction already begun, a
 * savepoint of it: undone alone on failure, committed with the caller's.
 * Returns what fn returned, or the commit's error. */
typedef int (*StoreTransactionFn)(Store *s, void *userdata);
int store_transaction(Store *s, StoreTransactionFn fn, void *userdata);

/* Inserts or replaces a device's row. Its values_json NULL keeps the row's
 * values ("{}" in a new row): the monitor keeps a device's values only
 * until they are written. */
int store_put_device(Store *s, const DeviceRow *d);

/* Updates a device's row in place, when only its probe time, latency and
 * values changed (the row exists); values_json NULL keeps the row's. */
int store_touch_device(Store *s, const char *id, time_t last_probe_at, int64_t latency_usec,
                       const char *values_json);

/* Deletes the rows of devices not named in keep (n ids). */
int store_prune_devices(Store *s, const char *const *keep, size_t n);

/* Calls fn for every device row in id order; stops when fn returns < 0. */
typedef int (*StoreDeviceFn)(const DeviceRow *d, void *userdata);
int store_foreach_device(Store *s, StoreDeviceFn fn, void *userdata);

/* Inserts a fault and sets f->id. */
int store_fault_insert(Store *s, Fault *f);

/* Writes every field of an existing fault. */
int store_fault_update(Store *s, const Fault *f);

/* Reads one fault; -ENOENT when there is none with that id. Free with fault_done(). */
int store_fault_get(Store *s, int64_t id, Fault *ret);

/* Calls fn for every fault (only the open ones with open_only), by id;
 * stops when fn returns < 0. The Fault is valid during the call. */
typedef int (*StoreFaultFn)(const Fault *f, void *userdata);
int store_foreach_fault(Store *s, bool open_only, StoreFaultFn fn, void *userdata);

/* Appends an event to the history and sets e->id. */
int store_event_insert(Store *s, Event *e);

/* An event as the history holds it. Strings are valid
 * during the call. */
typedef struct EventRow {
        int64_t id;
        const char *type;            /* "fault_raised", ... */
        time_t at;
        int64_t fault_id;            /* 0: none */
        const char *site, *device, *kind;
        time_t received_at, onsite_due; /* 0: none */
        const char *text, *os_user, *by;
} EventRow;

/* Calls fn for the events after since_id (the first limit of them), or
 * without since_id (0) for the last limit events; oldest first. */
typedef int (*StoreEventFn)(const EventRow *e, void *userdata);
int store_foreach_event(Store *s, int64_t since_id, unsigned limit, StoreEventFn fn,
                        void *userdata);

/* How long a read or write waits for a lock before -EBUSY (0: not at all,
 * for a reader on the daemon's loop). */
void store_set_busy_timeout(Store *s, unsigned msec);

/* The events of the types in mask (1 << EventType) at or after since, in
 * order of time: what the fault engine counts anomalies over. */
typedef int (*StoreRecentEventFn)(const char *device, EventType type, time_t at, void *userdata);
int store_foreach_recent_event(Store *s, unsigned mask, time_t since, StoreRecentEventFn fn,
                               void *userdata);

/* A mail in the outbox: written with its event, sent later, retried with
 * backoff until delivered (store-outbox.c). Strings are owned.
 *
 * A mail storm (SPEC §5, notify.digest_after) is grouped: a mail queued in
 * a wall-clock minute that already has digest_after mails is held (stays
 * unsent, held_until the minute's end) and later carried by a digest, a
 * mail of its own (digest_count > 0) whose delivery marks them all sent. */
typedef struct OutboxMail {
        int64_t id;
        int64_t event_id, fault_id;
        time_t created_at;
        char *recipients;            /* comma-separated addresses */
        char *message_id;            /* "<...@...>" of this mail */
        char *thread_id;             /* the first mail of the fault's thread; NULL if this is it */
        char *subject, *body;        /* UTF-8, not yet encoded */
        int attempts;
        time_t next_attempt_at, sent_at;
        char *last_error;
        char *delivered_to;          /* JSON array: the addresses the server took it for so far */
        char *abandoned;             /* JSON array: the addresses it was given up for */

        /* The digest's part. */
        unsigned digest_after;       /* in: hold when the minute has this many; 0: never */
        char *language;              /* "ja" | "en": of the digest that may carry it */
        char *digest_entry;          /* its entry in a digest; NULL: none */
        time_t onsite_due;           /* the due its entry names; 0: none */
        time_t held_until;           /* 0: goes alone; else the end of its minute */
        int64_t digest_id;           /* the digest that carries it; 0: none (yet) */
        int digest_count;            /* a digest: how many mails it carries; else 0 */
} OutboxMail;

/* Adds a mail (in the caller's transaction) and sets m->id; holds it for a
 * digest (sets m->held_until) when m->digest_after says so. */
int store_outbox_add(Store *s, OutboxMail *m);

/* Mail id: 0 and *ret, or -ENOENT. Free with outbox_mail_done(). */
int store_outbox_get(Store *s, int64_t id, OutboxMail *ret);

/* An unsent mail as the mailer plans its sending (mailer-plan.h): no
 * subject or body. */
typedef struct OutboxPending {
        int64_t id, fault_id;        /* fault_id 0: of no fault */
        char *recipients;
        char *delivered_to;          /* JSON array; of a mail a digest carries, the digest's */
        char *abandoned;             /* JSON array, likewise */
        time_t next_attempt_at;
        bool held;                   /* held for a digest: goes in it, never alone */
        time_t created_at;           /* when it was queued: how old a refusal finds it */
} OutboxPending;

/* Every unsent mail, by id (*ret NULL when none). Free with
 * outbox_pending_free(). */
int store_outbox_pending(Store *s, OutboxPending **ret, size_t *ret_n);

/* At most max unsent mails that are not held and due at now, with ids
 * after after_id, by id, through the index outbox_due: the mails waiting
 * out a backoff cost no row read (the due ones are sorted). */
int store_outbox_due(Store *s, time_t now, int64_t after_id, size_t max, OutboxPending **ret,
                     size_t *ret_n);

/* At most max unsent mails that are not held, after the mail after (NULL:
 * from the first) by next attempt and id: a walk of the index outbox_due. */
int store_outbox_unsent_after(Store *s, const OutboxPending *after, size_t max,
                              OutboxPending **ret, size_t *ret_n);

/* The unsent mails of fault_id older than id, by id. */
int store_outbox_fault_older(Store *s, int64_t fault_id, int64_t id, OutboxPending **ret,
                             size_t *ret_n);

/* The earliest time after now at which an unsent mail that is not held is
 * due: 0 and *ret (0: none). */
int store_outbox_next_due(Store *s, time_t now, time_t *ret);

/* Records the addresses an unsent mail is given up for (abandoned, a JSON
 * array). -ENOENT when the mail is not unsent. */
int store_outbox_abandon(Store *s, int64_t id, const char *abandoned);
OutboxPending *outbox_pending_free(OutboxPending *v, size_t n);

/* Held mails of one minute, recipients and language that no digest
 * carries yet: what one digest will carry. */
typedef struct OutboxHeld {
        time_t held_until;
        char *recipients, *language;
        size_t n;
        int64_t *ids;
        char **entries;
        time_t earliest_due;         /* 0: none names a due */
} OutboxHeld;

/* The oldest such group whose minute ended at or before now, at most max
 * of its mails, oldest first: 0 and *ret, or -ENOENT. Free with
 * outbox_held_done(). */
int store_outbox_next_held(Store *s, time_t now, size_t max, OutboxHeld *ret);
void outbox_held_done(OutboxHeld *h);

/* How many held mails no digest carries yet, and the earliest end of their
 * minutes (0 when none). */
int store_outbox_held_pending(Store *s, size_t *ret_n, time_t *ret_until);

/* In one transaction: adds the digest d (d->digest_count = n) and makes it
 * the carrier of the held mails ids. -ESTALE (nothing written) when one of
 * them is no longer held and uncarried. Sets d->id. */
int store_outbox_add_digest(Store *s, OutboxMail *d, const int64_t *ids, size_t n);

/* Marks a mail sent (delivered to every recipient: delivered_to, a JSON
 * array; NULL keeps the row's); a digest together with every mail it
 * carries, in one transaction. -ENOENT when it is not unsent. */
int store_outbox_sent(Store *s, int64_t id, time_t at, const char *delivered_to);

/* Records an attempt that did not reach every recipient: when to try again,
 * its error (NULL keeps the last one) and whom it reached so far
 * (delivered_to, a JSON array; NULL keeps the row's). -ENOENT when the mail
 * is not unsent. */
int store_outbox_retry(Store *s, int64_t id, time_t next_attempt_at, const char *error,
                       const char *delivered_to);

/* Calls fn for every mail, by id (for tests and fieldwatchctl). */
typedef int (*StoreMailFn)(const OutboxMail *m, void *userdata);
int store_foreach_mail(Store *s, StoreMailFn fn, void *userdata);

void outbox_mail_done(OutboxMail *m);

/* Records an action's own columns of its fault (names, notes, the recovery
 * work, report submissions, closing); `at` is the action's time
 * (store-actions.c). The timing fields the fault engine uses go through
 * store_fault_update(). */
int store_fault_record(Store *s, const Action *a, time_t at);

int store_fault_details(Store *s, int64_t id, FaultDetails *ret);

/* Adds an item to the work record (SPEC §2, §8). */
int store_work_add(Store *s, const Action *a, time_t now, int64_t *ret_id);

/* The work record of a fault's onsite work, made by its recovery: from the
 * onsite start to the recovery, by the recovery's --by, 「障害対応（KIND）」,
 * the cause and action as content, the parts and prevention as notes. */
/* Changes a work record: the fields a (work edit) gives; -ENOENT: none such. */
int store_work_edit(Store *s, const Action *a, time_t now);

int store_work_add_fault(Store *s, const Fault *f, const Action *a, time_t recovered_at,
                         time_t now);

/* The report clocks that struck for a deliverable (kind and key, e.g.
 * "quarterly_report" and "2026-10-15", or "recovery_report" and a fault id). */
int store_deliverable_get(Store *s, const char *kind, const char *key, bool *ret_warned,
                          bool *ret_overdue, bool *ret_submitted);
/* Records that a contract deliverable was handed in (key: its due day). */
int store_deliverable_submit(Store *s, const char *kind, const char *key, time_t at);
int store_deliverable_mark(Store *s, const char *kind, const char *key, const char *due,
                           bool warned, bool overdue);

/* A recovered fault whose reports are not all handed in. */
typedef struct ReportClock {
        int64_t fault_id;
        char site[16], device[24], kind[32];
        time_t recovered_at;
        bool recovery_pending, erasure_pending;
} ReportClock;

typedef int (*StoreReportClockFn)(const ReportClock *c, void *userdata);
int store_foreach_report_clock(Store *s, StoreReportClockFn fn, void *userdata);

/* The last error message of the database, for logs. */
const char *store_error(const Store *s);
/* How many rows the queries of s have read since it was opened (what a
 * reader costs, for tests). */
uint64_t store_rows_read(const Store *s);
/* What made a reading call fail with r: the database's message when the
 * database failed, else strerror(-r) (a row the caller could not take, no
 * memory: SQLite would say "not an error"). */
const char *store_strerror(const Store *s, int r);

/* Anomalies to investigate (store-anomalies.c). */
/* -ENOENT when id is not an anomaly event. */
int store_anomaly_get(Store *s, int64_t id, Anomaly *ret);
typedef int (*StoreAnomalyFn)(const Anomaly *a, void *userdata);
int store_foreach_anomaly(Store *s, StoreAnomalyFn fn, void *userdata);
int store_investigation_add(Store *s, int64_t anomaly_id, time_t at, const char *person,
                            const char *note, const char *os_user, time_t now);
/* anomaly_id 0: all, investigated in [from, to). */
typedef int (*StoreInvestigationFn)(const Investigation *v, void *userdata);
int store_foreach_investigation(Store *s, int64_t anomaly_id, time_t from, time_t to,
                                StoreInvestigationFn fn, void *userdata);
