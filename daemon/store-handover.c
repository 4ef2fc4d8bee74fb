/* SPDX-License-Identifier: MIT */

/* The store's part of the hand-over and the purge at the contract's end. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-handover.h"
#include "store-internal.h"

const char *const store_export_tables[] = {
        "faults", "events", "work", "investigations", "deliverables", "disposals", NULL,
};

/* One statement per table of store_export_tables, in its order. */
static const StoreStatement export_statements[] = {
        STMT_EXPORT_FAULTS,         STMT_EXPORT_EVENTS,       STMT_EXPORT_WORK,
        STMT_EXPORT_INVESTIGATIONS, STMT_EXPORT_DELIVERABLES, STMT_EXPORT_DISPOSALS,
};

const StoreSql store_sql_handover[] = {
        { STMT_EXPORT_FAULTS, "SELECT * FROM faults ORDER BY rowid" },
        { STMT_EXPORT_EVENTS, "SELECT * FROM events ORDER BY rowid" },
        { STMT_EXPORT_WORK, "SELECT * FROM work ORDER BY rowid" },
        { STMT_EXPORT_INVESTIGATIONS, "SELECT * FROM investigations ORDER BY rowid" },
        { STMT_EXPORT_DELIVERABLES, "SELECT * FROM deliverables ORDER BY rowid" },
        { STMT_OPEN_FAULT_IDS, "SELECT id FROM faults WHERE state = 'open' ORDER BY id" },
        /* The outbox first: the mails carry names, addresses and bodies. */
        { STMT_PURGE_OUTBOX, "DELETE FROM outbox" },
        { STMT_PURGE_FAULTS,
          "UPDATE faults SET acknowledged_by = '', ack_note = '', onsite_by = '',"
          " deferral_approved_by = '', deferral_reason = '', recovered_by = '', cause = '',"
          " action = '', prevention = '', closed_by = '', close_note = '', quote_by = '',"
          " quote_note = '', quote_approved_by = '', received_from = '',"
          " reason = CASE WHEN origin = 'probe' THEN reason ELSE '' END"
          " WHERE acknowledged_by <> '' OR ack_note <> '' OR onsite_by <> ''"
          " OR deferral_approved_by <> '' OR deferral_reason <> '' OR recovered_by <> ''"
          " OR cause <> '' OR action <> '' OR prevention <> '' OR closed_by <> ''"
          " OR close_note <> '' OR quote_by <> '' OR quote_note <> ''"
          " OR quote_approved_by <> '' OR received_from <> ''"
          " OR (origin <> 'probe' AND reason <> '')" },
        /* What operators did (their names, and the text that quotes them),
         * and the events of faults whose reason a person typed. */
        { STMT_PURGE_EVENTS,
          "UPDATE events SET os_user = '', by_name = '', text = ''"
          " WHERE os_user <> '' OR by_name <> ''"
          " OR fault_id IN (SELECT id FROM faults WHERE origin <> 'probe')" },
        { STMT_PURGE_WORK,
          "UPDATE work SET person = '', title = '', content = '', notes = '', os_user = ''" },
        { STMT_PURGE_INVESTIGATIONS,
          "UPDATE investigations SET person = '', note = '', os_user = ''" },
        { STMT_RETENTION_EVENTS,
          "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE at < ?1"
          " AND (fault_id IS NULL OR fault_id NOT IN (SELECT id FROM faults"
          " WHERE state = 'open')) ORDER BY id LIMIT ?2)" },
        { STMT_RETENTION_MAIL,
          "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NOT NULL"
          " AND created_at < ?1 ORDER BY id LIMIT ?2)" },
        {},
};

const StoreSql store_sql_disposals[] = {
        { STMT_EXPORT_DISPOSALS, "SELECT * FROM disposals ORDER BY rowid" },
        { STMT_DISPOSAL_INSERT,
          "INSERT INTO disposals (at, by_name, os_user, what, how) VALUES (?, ?, ?, ?, ?)" },
        { STMT_DISPOSAL_GET,
          "SELECT id, at, by_name, os_user, what, how FROM disposals WHERE id = ?" },
        { STMT_DISPOSAL_LATEST,
          "SELECT id, at, by_name, os_user, what, how FROM disposals ORDER BY id DESC LIMIT 1" },
        {},
};

typedef struct ExportRows {
        StoreCell *cells;
        StoreExportFn fn;
        void *userdata;
} ExportRows;

static int export_row(sqlite3_stmt *st, void *userdata) {
        ExportRows *x = userdata;
        int n = sqlite3_column_count(st);

        if (!x->cells) {
                x->cells = calloc((size_t) MAX(n, 1), sizeof(StoreCell));
                if (!x->cells)
                        return -ENOMEM;
        }
        for (int i = 0; i < n; i++) {
                StoreCell *c = &x->cells[i];

                *c = (StoreCell) { .name = sqlite3_column_name(st, i) };
                switch (sqlite3_column_type(st, i)) {
                case SQLITE_INTEGER:
                        c->type = STORE_CELL_INTEGER;
                        c->integer = sqlite3_column_int64(st, i);
                        break;
                case SQLITE_FLOAT:
                        c->type = STORE_CELL_REAL;
                        c->real = sqlite3_column_double(st, i);
                        break;
                case SQLITE_NULL:
                        c->type = STORE_CELL_NULL;
                        break;
                default:
                        c->type = STORE_CELL_TEXT;
                        c->text = column_text(st, i) ?: "";
                }
        }
        return x->fn(x->cells, (size_t) n, x->userdata);
}

int store_export_table(Store *s, const char *table, StoreExportFn fn, void *userdata) {
        ExportRows x = { .fn = fn, .userdata = userdata };
        int r;

        for (size_t i = 0; store_export_tables[i]; i++) {
                if (!streq(table, store_export_tables[i]))
                        continue;
                /* A table missing (disposals, read-only) has no rows. */
                r = store_each(s, export_statements[i], export_row, &x);
                free(x.cells);
                return r;
        }
        return -EINVAL;
}

typedef struct FaultIds {
        int64_t *ids;
        size_t max, n;
} FaultIds;

static int fault_id_row(sqlite3_stmt *st, void *userdata) {
        FaultIds *f = userdata;

        if (f->n < f->max)
                f->ids[f->n] = sqlite3_column_int64(st, 0);
        f->n++;
        return 0;
}

int store_open_fault_ids(Store *s, int64_t *ids, size_t max, size_t *ret_n) {
        FaultIds f = { ids, max, 0 };
        int r;

        r = store_each(s, STMT_OPEN_FAULT_IDS, fault_id_row, &f);
        if (r < 0)
                return r;
        *ret_n = f.n;
        return 0;
}

/* Runs one change; *ret the rows it changed. */
static int change(Store *s, StoreStatement id, int r, int64_t *ret) {
        if (r >= 0)
                r = store_run(s, id);
        if (r >= 0)
                *ret = store_changes(s);
        return r;
}

static int purge(Store *s, void *userdata) {
        StorePurge *p = userdata;
        int r = 0;

        r = change(s, STMT_PURGE_OUTBOX, r, &p->outbox);
        r = change(s, STMT_PURGE_FAULTS, r, &p->faults);
        r = change(s, STMT_PURGE_EVENTS, r, &p->events);
        r = change(s, STMT_PURGE_WORK, r, &p->work);
        return change(s, STMT_PURGE_INVESTIGATIONS, r, &p->investigations);
}

int store_purge_personal(Store *s, StorePurge *ret) {
        StorePurge p = {};
        int r;

        r = store_run(s, STMT_SECURE_DELETE_ON);
        if (r >= 0)
                r = store_transaction(s, purge, &p);
        /* The file rebuilt from the live rows, then the WAL emptied: no old
         * page survives in either file. */
        if (r >= 0)
                r = store_run(s, STMT_VACUUM);
        if (r >= 0)
                r = store_run(s, STMT_CHECKPOINT);
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int store_disposal_add(Store *s, Disposal *d) {
        int r;

        r = store_run(s, STMT_DISPOSAL_INSERT, sv_int(d->at), sv_str(d->by), sv_str(d->os_user),
                      sv_str(d->what ?: "{}"), sv_str(d->how));
        if (r < 0)
                return r;
        d->id = store_last_id(s);
        /* Durable and in the main file. */
        return store_run(s, STMT_CHECKPOINT);
}

typedef struct Retention {
        time_t events_before, mail_before;
        int64_t limit, n_events, n_mails;
} Retention;

static int retention(Store *s, void *userdata) {
        Retention *x = userdata;
        int r = 0;

        if (x->events_before > 0) {
                r = store_run(s, STMT_RETENTION_EVENTS, sv_int(x->events_before), sv_int(x->limit));
                x->n_events = store_changes(s);
        }
        if (r >= 0 && x->mail_before > 0) {
                r = store_run(s, STMT_RETENTION_MAIL, sv_int(x->mail_before), sv_int(x->limit));
                x->n_mails = store_changes(s);
        }
        return r;
}

int store_retention_purge(Store *s, time_t events_before, time_t mail_before, int64_t limit,
                          int64_t *ret_events, int64_t *ret_mails) {
        Retention x = { events_before, mail_before, limit, 0, 0 };
        int r;

        r = store_run(s, STMT_SECURE_DELETE_ON);
        if (r < 0)
                return r;
        r = store_transaction(s, retention, &x);
        (void) store_run(s, STMT_SECURE_DELETE_OFF);
        if (r < 0)
                return r;
        *ret_events = x.n_events;
        *ret_mails = x.n_mails;
        return 0;
}

void disposal_done(Disposal *d) {
        if (!d)
                return;
        free(d->by);
        free(d->os_user);
        free(d->what);
        free(d->how);
        *d = (Disposal) {};
}

static int read_disposal(sqlite3_stmt *st, void *userdata) {
        Disposal *d = userdata;

        d->id = sqlite3_column_int64(st, 0);
        d->at = column_time(st, 1);
        d->by = strdup(column_text(st, 2) ?: "");
        d->os_user = strdup(column_text(st, 3) ?: "");
        d->what = strdup(column_text(st, 4) ?: "{}");
        d->how = strdup(column_text(st, 5) ?: "");
        return d->by && d->os_user && d->what && d->how ? 0 : -ENOMEM;
}

int store_disposal_get(Store *s, int64_t id, Disposal *ret) {
        Disposal d = {};
        int r;

        /* No disposals table (read-only, never purged): -ENOENT too. */
        r = id > 0 ? store_get(s, STMT_DISPOSAL_GET, read_disposal, &d, sv_int(id))
                   : store_get(s, STMT_DISPOSAL_LATEST, read_disposal, &d);
        if (r < 0) {
                disposal_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}
