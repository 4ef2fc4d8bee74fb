/* SPDX-License-Identifier: MIT */

/* Anomalies to investigate (SPEC §2, L107-111): an anomaly is the event
 * that raised it; its investigations are rows of their own; a reproduced
 * one becomes a fault that names it (faults.anomaly_id). */

#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"
#include "text.h"

static void copy_text(sqlite3_stmt *st, int i, char *buf, size_t size) {
        const char *t = column_text(st, i);

        (void) text_clean(buf, size, t ?: "", t ? strlen(t) : 0);
}

int store_anomaly_get(Store *s, int64_t id, Anomaly *ret) {
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT e.id, e.at, e.site, e.device, e.text,"
                                " (SELECT MIN(f.id) FROM faults f WHERE f.anomaly_id = e.id),"
                                " (SELECT COUNT(*) FROM investigations i WHERE i.anomaly_id = e.id)"
                                " FROM events e WHERE e.id = ? AND e.type = 'anomaly'",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                *ret = (Anomaly) {
                        .id = sqlite3_column_int64(st, 0),
                        .at = (time_t) sqlite3_column_int64(st, 1),
                        .fault_id = sqlite3_column_int64(st, 5),
                        .n_investigations = (size_t) sqlite3_column_int64(st, 6),
                };
                copy_text(st, 2, ret->site, sizeof(ret->site));
                copy_text(st, 3, ret->device, sizeof(ret->device));
                copy_text(st, 4, ret->text, sizeof(ret->text));
                r = 0;
        } else
                r = rc == SQLITE_DONE ? -ENOENT : sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

int store_foreach_anomaly(Store *s, StoreAnomalyFn fn, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, "SELECT id FROM events WHERE type = 'anomaly' ORDER BY id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                Anomaly a;

                r = store_anomaly_get(s, sqlite3_column_int64(st, 0), &a);
                if (r >= 0)
                        r = fn(&a, userdata);
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

int store_investigation_add(Store *s, int64_t anomaly_id, time_t at, const char *person,
                            const char *note, const char *os_user, time_t now) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO investigations (anomaly_id, at, person, note, os_user,"
                                " recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, anomaly_id);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) at);
        (void) sqlite3_bind_text(st, 3, person, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 4, note ?: "", -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 5, os_user, -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(st, 6, (sqlite3_int64) now);
        rc = sqlite3_step(st);
        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

int store_foreach_investigation(Store *s, int64_t anomaly_id, time_t from, time_t to,
                                StoreInvestigationFn fn, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = 0;

        /* anomaly_id 0: every anomaly's, investigated in [from, to). */
        rc = sqlite3_prepare_v2(s->db,
                                "SELECT i.id, i.anomaly_id, i.at, i.person, i.note, e.device,"
                                " (SELECT MIN(f.id) FROM faults f WHERE f.anomaly_id = i.anomaly_id)"
                                " FROM investigations i JOIN events e ON e.id = i.anomaly_id"
                                " WHERE (?1 = 0 OR i.anomaly_id = ?1) AND i.at >= ?2 AND i.at < ?3"
                                " ORDER BY i.at, i.id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, anomaly_id);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) from);
        (void) sqlite3_bind_int64(st, 3, (sqlite3_int64) to);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                Investigation v = {
                        .id = sqlite3_column_int64(st, 0),
                        .anomaly_id = sqlite3_column_int64(st, 1),
                        .at = (time_t) sqlite3_column_int64(st, 2),
                        .fault_id = sqlite3_column_int64(st, 6),
                };

                copy_text(st, 3, v.person, sizeof(v.person));
                copy_text(st, 4, v.note, sizeof(v.note));
                copy_text(st, 5, v.device, sizeof(v.device));
                r = fn(&v, userdata);
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}
