/* SPDX-License-Identifier: MIT */
#pragma once

/* The contract's end (issue 14; 別記1 第10条, 別記2 第12条): the store's part
 * of `fieldwatchctl handover` (every record, exported as it is) and of
 * `fieldwatchctl purge` (the personal data erased for good, and the
 * disposal recorded). Every query through bound parameters; table names
 * only from a fixed list. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store.h"

typedef enum StoreCellType {
        STORE_CELL_NULL,
        STORE_CELL_INTEGER,
        STORE_CELL_REAL,
        STORE_CELL_TEXT,
} StoreCellType;

typedef struct StoreCell {
        const char *name;            /* the column's */
        StoreCellType type;
        int64_t integer;
        double real;
        const char *text;            /* STORE_CELL_TEXT, valid during the call */
} StoreCell;

/* The tables a hand-over exports, in order ("faults", "events", "work",
 * "investigations", "deliverables", "disposals"); NULL-terminated. */
extern const char *const store_export_tables[];

/* Calls fn for every row of table (one of store_export_tables; a table that
 * does not exist yet has no rows), by rowid; stops when fn returns < 0.
 * -EINVAL for another table. */
typedef int (*StoreExportFn)(const StoreCell *cells, size_t n, void *userdata);
int store_export_table(Store *s, const char *table, StoreExportFn fn, void *userdata);

/* How many faults are open, and the ids of the first few (at most max). */
int store_open_fault_ids(Store *s, int64_t *ids, size_t max, size_t *ret_n);

/* What store_purge_personal() erased: rows touched per table. */
typedef struct StorePurge {
        int64_t outbox;              /* mails deleted */
        int64_t faults, events, work, investigations; /* rows whose names/notes were erased */
} StorePurge;

/* Erases the personal data for good: with PRAGMA secure_delete = ON (freed
 * content is overwritten with zeros), in one transaction, the outbox first
 * (every mail: recipients, subjects, bodies), then what people typed: the
 * names and notes of the faults (and their callers, causes, actions and
 * prevention, and the reason of a fault reported by phone), the operators'
 * names and the text of their events, the work record's people, titles,
 * contents and notes, the investigations' people and notes; then VACUUM
 * (the file rebuilt from the live rows) and a WAL checkpoint that
 * truncates the -wal file to nothing. Needs the database opened for
 * writing with no other writer (the daemon stopped). */
int store_purge_personal(Store *s, StorePurge *ret);

/* Appends a disposal record (creating the table when it is missing). */
typedef struct Disposal {
        int64_t id;
        time_t at;
        char *by;                    /* --by, else the OS user */
        char *os_user;               /* "NAME (uid N)" */
        char *what;                  /* JSON: what was erased */
        char *how;                   /* the methods, in English */
} Disposal;

int store_disposal_add(Store *s, Disposal *d);

/* Retention (retention.events, retention.mail): deletes, with secure_delete,
 * at most limit of the events before events_before (but those of open
 * faults) and at most limit of the sent mails created before mail_before
 * (0: none of that kind): one bounded step, the daemon's loop waits on it. */
int store_retention_purge(Store *s, time_t events_before, time_t mail_before, int64_t limit,
                          int64_t *ret_events, int64_t *ret_mails);

/* A disposal record by id, or the latest with id 0; -ENOENT when there is
 * none. Free with disposal_done(). */
int store_disposal_get(Store *s, int64_t id, Disposal *ret);
void disposal_done(Disposal *d);
