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

#define DISPOSALS_SCHEMA                                                                    \
        "CREATE TABLE IF NOT EXISTS disposals ("                                            \
        "  id INTEGER PRIMARY KEY,"                                                         \
        "  at INTEGER NOT NULL,"                                                            \
        "  by_name TEXT NOT NULL,"                                                          \
        "  os_user TEXT NOT NULL,"                                                          \
        "  what TEXT NOT NULL,"                                                             \
        "  how TEXT NOT NULL"                                                               \
        ")"

static int exec(Store *s, const char *sql) {
        return sqlite_to_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static bool table_known(const char *table) {
        for (size_t i = 0; store_export_tables[i]; i++)
                if (streq(table, store_export_tables[i]))
                        return true;
        return false;
}

static int table_exists(Store *s, const char *table, bool *ret) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
                return sqlite_to_errno(rc);
        *ret = rc == SQLITE_ROW;
        return 0;
}

int store_export_table(Store *s, const char *table, StoreExportFn fn, void *userdata) {
        _cleanup_(freep) StoreCell *cells = NULL;
        char sql[128];
        sqlite3_stmt *st;
        bool exists = false;
        int rc, n, r;

        if (!table_known(table))
                return -EINVAL;
        r = table_exists(s, table, &exists);
        if (r < 0 || !exists)
                return r;
        /* The name is one of store_export_tables: no injection. */
        (void) snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY rowid", table);
        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        n = sqlite3_column_count(st);
        cells = calloc((size_t) MAX(n, 1), sizeof(StoreCell));
        if (!cells) {
                sqlite3_finalize(st);
                return -ENOMEM;
        }
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                for (int i = 0; i < n; i++) {
                        StoreCell *c = &cells[i];

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
                r = fn(cells, (size_t) n, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r < 0 ? r : 0;
}

int store_open_fault_ids(Store *s, int64_t *ids, size_t max, size_t *ret_n) {
        sqlite3_stmt *st;
        size_t n = 0;
        int rc;

        rc = sqlite3_prepare_v2(s->db, "SELECT id FROM faults WHERE state = 'open' ORDER BY id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                if (n < max)
                        ids[n] = sqlite3_column_int64(st, 0);
                n++;
        }
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sqlite_to_errno(rc);
        *ret_n = n;
        return 0;
}

/* Runs one change; *ret the rows it changed. */
static int change(Store *s, const char *sql, int64_t *ret) {
        int r = exec(s, sql);

        if (r >= 0 && ret)
                *ret = sqlite3_changes64(s->db);
        return r;
}

int store_purge_personal(Store *s, StorePurge *ret) {
        StorePurge p = {};
        int r;

        r = exec(s, "PRAGMA secure_delete = ON");
        if (r >= 0)
                r = exec(s, "BEGIN IMMEDIATE");
        if (r < 0)
                return r;
        /* The outbox first: the mails carry names, addresses and bodies. */
        r = change(s, "DELETE FROM outbox", &p.outbox);
        if (r >= 0)
                r = change(s,
                           "UPDATE faults SET acknowledged_by = '', ack_note = '', onsite_by = '',"
                           " deferral_approved_by = '', deferral_reason = '', recovered_by = '',"
                           " cause = '', action = '', prevention = '', closed_by = '',"
                           " close_note = '', quote_by = '', quote_note = '',"
                           " quote_approved_by = '', received_from = '',"
                           " reason = CASE WHEN origin = 'probe' THEN reason ELSE '' END"
                           " WHERE acknowledged_by <> '' OR ack_note <> '' OR onsite_by <> ''"
                           " OR deferral_approved_by <> '' OR deferral_reason <> ''"
                           " OR recovered_by <> '' OR cause <> '' OR action <> ''"
                           " OR prevention <> '' OR closed_by <> '' OR close_note <> ''"
                           " OR quote_by <> '' OR quote_note <> '' OR quote_approved_by <> ''"
                           " OR received_from <> '' OR (origin <> 'probe' AND reason <> '')",
                           &p.faults);
        /* What operators did (their names, and the text that quotes them),
         * and the events of faults whose reason a person typed. */
        if (r >= 0)
                r = change(s,
                           "UPDATE events SET os_user = '', by_name = '', text = ''"
                           " WHERE os_user <> '' OR by_name <> ''"
                           " OR fault_id IN (SELECT id FROM faults WHERE origin <> 'probe')",
                           &p.events);
        if (r >= 0)
                r = change(s,
                           "UPDATE work SET person = '', title = '', content = '', notes = '',"
                           " os_user = ''",
                           &p.work);
        if (r >= 0)
                r = change(s, "UPDATE investigations SET person = '', note = '', os_user = ''",
                           &p.investigations);
        if (r >= 0)
                r = exec(s, "COMMIT");
        if (r < 0) {
                (void) exec(s, "ROLLBACK");
                return r;
        }
        /* The file rebuilt from the live rows, then the WAL emptied: no old
         * page survives in either file. */
        r = exec(s, "VACUUM");
        if (r >= 0)
                r = exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
        if (r < 0)
                return r;
        *ret = p;
        return 0;
}

int store_disposal_add(Store *s, Disposal *d) {
        sqlite3_stmt *st;
        int rc, r;

        r = exec(s, DISPOSALS_SCHEMA);
        if (r < 0)
                return r;
        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO disposals (at, by_name, os_user, what, how)"
                                " VALUES (?, ?, ?, ?, ?)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) d->at);
        (void) sqlite3_bind_text(st, 2, d->by ?: "", -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 3, d->os_user ?: "", -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 4, d->what ?: "{}", -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 5, d->how ?: "", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
                return sqlite_to_errno(rc);
        d->id = sqlite3_last_insert_rowid(s->db);
        /* Durable and in the main file. */
        return exec(s, "PRAGMA wal_checkpoint(TRUNCATE)");
}

int store_retention_purge(Store *s, time_t events_before, time_t mail_before, int64_t limit,
                          int64_t *ret_events, int64_t *ret_mails) {
        sqlite3_stmt *st = NULL;
        int64_t n_events = 0, n_mails = 0;
        int rc, r;

        r = exec(s, "PRAGMA secure_delete = ON");
        if (r >= 0)
                r = store_begin(s);
        if (r < 0)
                return r;
        if (events_before > 0) {
                rc = sqlite3_prepare_v2(s->db,
                                        "DELETE FROM events WHERE id IN (SELECT id FROM events"
                                        " WHERE at < ?1 AND (fault_id IS NULL"
                                        " OR fault_id NOT IN (SELECT id FROM faults"
                                        " WHERE state = 'open')) ORDER BY id LIMIT ?2)",
                                        -1, &st, NULL);
                if (rc == SQLITE_OK) {
                        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) events_before);
                        (void) sqlite3_bind_int64(st, 2, limit);
                        rc = sqlite3_step(st);
                }
                sqlite3_finalize(st);
                r = rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc ?: SQLITE_ERROR);
                n_events = sqlite3_changes64(s->db);
        }
        if (r >= 0 && mail_before > 0) {
                rc = sqlite3_prepare_v2(s->db,
                                        "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox"
                                        " WHERE sent_at IS NOT NULL AND created_at < ?1"
                                        " ORDER BY id LIMIT ?2)",
                                        -1, &st, NULL);
                if (rc == SQLITE_OK) {
                        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) mail_before);
                        (void) sqlite3_bind_int64(st, 2, limit);
                        rc = sqlite3_step(st);
                }
                sqlite3_finalize(st);
                r = rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc ?: SQLITE_ERROR);
                n_mails = sqlite3_changes64(s->db);
        }
        if (r >= 0)
                r = store_commit(s);
        else
                store_rollback(s);
        (void) exec(s, "PRAGMA secure_delete = OFF");
        if (r < 0)
                return r;
        *ret_events = n_events;
        *ret_mails = n_mails;
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

int store_disposal_get(Store *s, int64_t id, Disposal *ret) {
        sqlite3_stmt *st;
        Disposal d = {};
        bool exists = false;
        int rc, r;

        r = table_exists(s, "disposals", &exists);
        if (r < 0)
                return r;
        if (!exists)
                return -ENOENT;
        rc = sqlite3_prepare_v2(s->db,
                                id > 0 ? "SELECT id, at, by_name, os_user, what, how FROM disposals"
                                         " WHERE id = ?"
                                       : "SELECT id, at, by_name, os_user, what, how FROM disposals"
                                         " ORDER BY id DESC LIMIT 1",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        if (id > 0)
                (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                d.id = sqlite3_column_int64(st, 0);
                d.at = (time_t) sqlite3_column_int64(st, 1);
                d.by = strdup(column_text(st, 2) ?: "");
                d.os_user = strdup(column_text(st, 3) ?: "");
                d.what = strdup(column_text(st, 4) ?: "{}");
                d.how = strdup(column_text(st, 5) ?: "");
                r = d.by && d.os_user && d.what && d.how ? 0 : -ENOMEM;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_to_errno(rc);
        sqlite3_finalize(st);
        if (r < 0) {
                disposal_done(&d);
                return r;
        }
        *ret = d;
        return 0;
}
