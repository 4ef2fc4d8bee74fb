/* SPDX-License-Identifier: MIT */
#pragma once

/* What the store's files share: the Store, its statements and the helpers
 * that run them. Private to the store: nothing outside daemon/store*.c
 * (and its unit test, tests/test-store.c) includes it.
 *
 * Every statement is prepared once, when the database opens
 * (SQLITE_PREPARE_PERSISTENT), from the SQL each file lists beside its code
 * (a StoreSql table per file); a statement the schema does not accept fails
 * the open, not its first use. A statement is run with store_run(),
 * store_get() or store_each(), which bind the values given (StoreValue, one
 * per parameter: ?1, ?2, ... in order), step, and reset it and its
 * bindings, whatever happens: no statement stays busy between calls. */

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

typedef enum StoreStatement {
        /* Transactions and upkeep (store.c). */
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_SAVEPOINT,
        STMT_RELEASE,
        STMT_ROLLBACK_TO,
        STMT_SYNC_FULL,
        STMT_SYNC_NORMAL,
        STMT_SECURE_DELETE_ON,
        STMT_SECURE_DELETE_OFF,
        STMT_CHECKPOINT,
        STMT_VACUUM,
        /* Devices, faults, events (store.c). */
        STMT_DEVICE_PUT,
        STMT_DEVICE_TOUCH,
        STMT_DEVICE_PRUNE,
        STMT_DEVICES,
        STMT_FAULT_INSERT,
        STMT_FAULT_UPDATE,
        STMT_FAULT_GET,
        STMT_FAULTS,
        STMT_FAULTS_OPEN,
        STMT_EVENT_INSERT,
        STMT_EVENTS_RECENT,
        STMT_EVENTS_LAST,
        STMT_EVENTS_AFTER,
        /* The outbox (store-outbox.c). */
        STMT_OUTBOX_MINUTE,
        STMT_OUTBOX_INSERT,
        STMT_OUTBOX_GET,
        STMT_OUTBOX_PENDING,
        STMT_OUTBOX_SENT,
        STMT_OUTBOX_SENT_CARRIED,
        STMT_OUTBOX_HELD_GROUP,
        STMT_OUTBOX_HELD_MEMBERS,
        STMT_OUTBOX_HELD_PENDING,
        STMT_OUTBOX_CARRY,
        STMT_OUTBOX_RETRY,
        STMT_OUTBOX_ALL,
        STMT_OUTBOX_DUE,
        STMT_OUTBOX_UNSENT_AFTER,
        STMT_OUTBOX_FAULT_OLDER,
        STMT_OUTBOX_NEXT_DUE,
        STMT_OUTBOX_ABANDON,
        /* Operator actions, the work record, deliverables (store-actions.c). */
        STMT_RECORD_ACK,
        STMT_RECORD_ONSITE,
        STMT_RECORD_DEFER,
        STMT_RECORD_RECOVER,
        STMT_RECORD_RECOVER_TEMPORARY,
        STMT_RECORD_QUOTE,
        STMT_RECORD_APPROVED,
        STMT_RECORD_RECOVERY_REPORT,
        STMT_RECORD_ERASURE_REPORT,
        STMT_RECORD_CLOSE,
        STMT_FAULT_PARTS,
        STMT_FAULT_DETAILS,
        STMT_WORK_INSERT,
        STMT_WORK_EDIT,
        STMT_DELIVERABLE_GET,
        STMT_DELIVERABLE_MARK,
        STMT_DELIVERABLE_SUBMIT,
        STMT_REPORT_CLOCKS,
        /* Reports (store-report.c). */
        STMT_REPORT_FAULT,
        STMT_REPORT_FAULTS,
        STMT_REPORT_WORK,
        STMT_REPORT_INCIDENTS,
        /* Anomalies (store-anomalies.c). */
        STMT_ANOMALY_GET,
        STMT_ANOMALY_IDS,
        STMT_INVESTIGATION_INSERT,
        STMT_INVESTIGATIONS,
        /* The contract's end (store-handover.c). */
        STMT_EXPORT_FAULTS,
        STMT_EXPORT_EVENTS,
        STMT_EXPORT_WORK,
        STMT_EXPORT_INVESTIGATIONS,
        STMT_EXPORT_DELIVERABLES,
        STMT_EXPORT_DISPOSALS,
        STMT_OPEN_FAULT_IDS,
        STMT_PURGE_OUTBOX,
        STMT_PURGE_FAULTS,
        STMT_PURGE_EVENTS,
        STMT_PURGE_WORK,
        STMT_PURGE_INVESTIGATIONS,
        STMT_DISPOSAL_INSERT,
        STMT_DISPOSAL_GET,
        STMT_DISPOSAL_LATEST,
        STMT_RETENTION_EVENTS,
        STMT_RETENTION_MAIL,
        _STORE_STATEMENT_MAX,
} StoreStatement;

/* A statement's SQL. */
typedef struct StoreSql {
        StoreStatement id;
        const char *sql;
} StoreSql;

/* Each file's statements, ending with { .sql = NULL }. Those of
 * store_sql_disposals are optional: their table may be missing from a
 * database opened read-only (the disposals table, made by the daemon's
 * open since this version); they are then left out (NULL), and the
 * functions that use them find no rows. */
extern const StoreSql store_sql_core[], store_sql_outbox[], store_sql_actions[],
        store_sql_report[], store_sql_anomalies[], store_sql_handover[], store_sql_disposals[];

struct Store {
        sqlite3 *db;
        sqlite3_stmt *stmts[_STORE_STATEMENT_MAX];
        bool relaxed;                /* synchronous = NORMAL: a device transaction */
        uint64_t rows_read;          /* rows stepped through by queries, ever (store_rows_read) */
};

/* A value bound to one parameter. Made with the sv_*() constructors. */
typedef struct StoreValue {
        enum { SV_NULL, SV_INT, SV_TEXT } type;
        int64_t i;
        const char *text;            /* not copied: valid during the call */
} StoreValue;

static inline StoreValue sv_null(void) {
        return (StoreValue) { .type = SV_NULL };
}

static inline StoreValue sv_int(int64_t i) {
        return (StoreValue) { .type = SV_INT, .i = i };
}

/* A time or an id: NULL for 0 (none). */
static inline StoreValue sv_time(int64_t t) {
        return t > 0 ? sv_int(t) : sv_null();
}

/* Text; NULL stays NULL. */
static inline StoreValue sv_text(const char *s) {
        return s ? (StoreValue) { .type = SV_TEXT, .text = s } : sv_null();
}

/* Text; NULL is "". */
static inline StoreValue sv_str(const char *s) {
        return sv_text(s ?: "");
}

/* The values of a statement's parameters, ?1 first, as a compound literal
 * and its length (element 0 is a placeholder, so that a statement without
 * parameters takes an empty list). */
#define STORE_VALUES(...)                                                                   \
        ((const StoreValue[]) { {}, __VA_ARGS__ }),                                         \
                (sizeof((const StoreValue[]) { {}, __VA_ARGS__ }) / sizeof(StoreValue) - 1)

/* Called for a row; the row's columns are valid during the call. */
typedef int (*StoreRowFn)(sqlite3_stmt *row, void *userdata);

int store_run_values(Store *s, StoreStatement id, const StoreValue *v, size_t n);
int store_get_values(Store *s, StoreStatement id, const StoreValue *v, size_t n, StoreRowFn fn,
                     void *userdata);
int store_each_values(Store *s, StoreStatement id, const StoreValue *v, size_t n, StoreRowFn fn,
                      void *userdata);

/* Runs a statement that returns no rows. */
#define store_run(s, id, ...) store_run_values((s), (id), STORE_VALUES(__VA_ARGS__))

/* Calls fn for the first row; -ENOENT when there is none. */
#define store_get(s, id, fn, userdata, ...)                                                 \
        store_get_values((s), (id), STORE_VALUES(__VA_ARGS__), (fn), (userdata))

/* Calls fn for every row; stops at (and returns) the first fn < 0. */
#define store_each(s, id, fn, userdata, ...)                                                \
        store_each_values((s), (id), STORE_VALUES(__VA_ARGS__), (fn), (userdata))

/* A public foreach's callback and its userdata, for a row reader to call:
 * fn is cast back to the public type (StoreFaultFn, ...). */
typedef void (*StoreAnyFn)(void);
typedef struct StoreVisit {
        StoreAnyFn fn;
        void *userdata;
} StoreVisit;

#define STORE_VISIT(f, u) (&(StoreVisit) { (StoreAnyFn) (f), (u) })

/* Rows changed by the last statement, and the id of the last insert. */
int64_t store_changes(Store *s);
int64_t store_last_id(Store *s);

/* Reading columns. */
static inline const char *column_text(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);

        return t ? (const char *) t : NULL;
}

/* An integer column, 0 for NULL (times and ids: 0 is none). */
static inline int64_t column_int(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, i);
}

static inline time_t column_time(sqlite3_stmt *st, int i) {
        return (time_t) column_int(st, i);
}

/* A text column into buf, cleaned (a row written before text was cleaned,
 * or by another program, must not break a listing). */
void column_copy_clean(sqlite3_stmt *st, int i, char *buf, size_t size);

/* A copy of a text column ("" for NULL; NULL for NULL with nullable). */
int column_dup(sqlite3_stmt *st, int i, bool nullable, char **ret);

/* A JSON array of strings (a column) into a vector; anything else is an
 * empty one. And back: the array's text, to be freed. */
int store_strv_from_json(const char *json, char ***ret, size_t *ret_n);
char *store_strv_to_json(const char *const *v, size_t n);

static inline int sqlite_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        default:
                return -EIO;
        }
}
