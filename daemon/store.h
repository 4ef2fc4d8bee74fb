/* SPDX-License-Identifier: MIT */
#pragma once

/* The state database (SQLite, WAL) in the state directory: the only code
 * that speaks SQL, always through bound parameters. The schema is
 * versioned (PRAGMA user_version) and migrated forward on open. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "action.h"
#include "event.h"
#include "fault.h"

#define STORE_FILE "fieldwatch.db"
#define STORE_SCHEMA_VERSION 3

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

/* Opens (creating and migrating) the database for the daemon. */
int store_open(const char *state_dir, Store **ret);

/* Opens an existing database read-only, for fieldwatchctl. -ENOENT when
 * there is none yet. */
int store_open_readonly(const char *state_dir, Store **ret);

/* NULL-safe; returns NULL. */
Store *store_close(Store *s);

/* A transaction around a batch of writes (one per loop tick). */
int store_begin(Store *s);
int store_commit(Store *s);
void store_rollback(Store *s);

/* Inserts or replaces a device's row. */
int store_put_device(Store *s, const DeviceRow *d);

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

/* Counts the events of a device of the types in mask (1 << EventType) at
 * or after since. */
int store_count_events(Store *s, const char *device, unsigned mask, time_t since, int *ret);

/* A mail in the outbox: written with its event, sent later, retried with
 * backoff until delivered (store-outbox.c). Strings are owned. */
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
} OutboxMail;

/* Adds a mail (in the caller's transaction) and sets m->id. */
int store_outbox_add(Store *s, OutboxMail *m);

/* The oldest unsent mail due at now: 0 and *ret, or -ENOENT. Free with
 * outbox_mail_done(). */
int store_outbox_next(Store *s, time_t now, OutboxMail *ret);

/* The earliest next_attempt_at of unsent mail: 0 and *ret, or -ENOENT. */
int store_outbox_next_attempt(Store *s, time_t *ret);

/* Marks a mail sent. */
int store_outbox_sent(Store *s, int64_t id, time_t at);

/* Records a failed attempt and when to try again. */
int store_outbox_retry(Store *s, int64_t id, time_t next_attempt_at, const char *error);

/* Calls fn for every mail, by id (for tests and fieldwatchctl). */
typedef int (*StoreMailFn)(const OutboxMail *m, void *userdata);
int store_foreach_mail(Store *s, StoreMailFn fn, void *userdata);

void outbox_mail_done(OutboxMail *m);

/* Records an action's own columns of its fault (names, notes, the recovery
 * work, report submissions, closing); `at` is the action's time
 * (store-actions.c). The timing fields the fault engine uses go through
 * store_fault_update(). */
int store_fault_record(Store *s, const Action *a, time_t at);

/* What actions recorded that the Fault struct does not carry. */
typedef struct FaultDetails {
        time_t recovered_at;
        bool media_replaced;
        time_t recovery_report_submitted_at, erasure_report_submitted_at;
        time_t closed_at;
} FaultDetails;

int store_fault_details(Store *s, int64_t id, FaultDetails *ret);

/* Adds an item to the work record (SPEC §2, §8). */
int store_work_add(Store *s, const Action *a, time_t now, int64_t *ret_id);

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
