/* SPDX-License-Identifier: MIT */

/* Anomalies to investigate (SPEC §2, L107-111): an anomaly is the event
 * that raised it; its investigations are rows of their own; a reproduced
 * one becomes a fault that names it (faults.anomaly_id). */

#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"

const StoreSql store_sql_anomalies[] = {
        { STMT_ANOMALY_GET,
          "SELECT e.id, e.at, e.site, e.device, e.text,"
          " (SELECT MIN(f.id) FROM faults f WHERE f.anomaly_id = e.id),"
          " (SELECT COUNT(*) FROM investigations i WHERE i.anomaly_id = e.id)"
          " FROM events e WHERE e.id = ? AND e.type = 'anomaly'" },
        { STMT_ANOMALY_IDS, "SELECT id FROM events WHERE type = 'anomaly' ORDER BY id" },
        { STMT_INVESTIGATION_INSERT,
          "INSERT INTO investigations (anomaly_id, at, person, note, os_user, recorded_at)"
          " VALUES (?, ?, ?, ?, ?, ?)" },
        /* ?1 = 0: every anomaly's, investigated in [?2, ?3). */
        { STMT_INVESTIGATIONS,
          "SELECT i.id, i.anomaly_id, i.at, i.person, i.note, e.device,"
          " (SELECT MIN(f.id) FROM faults f WHERE f.anomaly_id = i.anomaly_id)"
          " FROM investigations i JOIN events e ON e.id = i.anomaly_id"
          " WHERE (?1 = 0 OR i.anomaly_id = ?1) AND i.at >= ?2 AND i.at < ?3"
          " ORDER BY i.at, i.id" },
        {},
};

static int read_anomaly(sqlite3_stmt *st, void *userdata) {
        Anomaly *a = userdata;

        *a = (Anomaly) {
                .id = sqlite3_column_int64(st, 0),
                .at = column_time(st, 1),
                .fault_id = sqlite3_column_int64(st, 5),
                .n_investigations = (size_t) sqlite3_column_int64(st, 6),
        };
        column_copy_clean(st, 2, a->site, sizeof(a->site));
        column_copy_clean(st, 3, a->device, sizeof(a->device));
        column_copy_clean(st, 4, a->text, sizeof(a->text));
        return 0;
}

int store_anomaly_get(Store *s, int64_t id, Anomaly *ret) {
        return store_get(s, STMT_ANOMALY_GET, read_anomaly, ret, sv_int(id));
}

typedef struct AnomalyVisit {
        Store *store;
        StoreAnomalyFn fn;
        void *userdata;
} AnomalyVisit;

static int anomaly_row(sqlite3_stmt *st, void *userdata) {
        const AnomalyVisit *v = userdata;
        Anomaly a;
        int r;

        r = store_anomaly_get(v->store, sqlite3_column_int64(st, 0), &a);
        if (r >= 0)
                r = v->fn(&a, v->userdata);
        return r;
}

int store_foreach_anomaly(Store *s, StoreAnomalyFn fn, void *userdata) {
        return store_each(s, STMT_ANOMALY_IDS, anomaly_row, (&(AnomalyVisit) { s, fn, userdata }));
}

int store_investigation_add(Store *s, int64_t anomaly_id, time_t at, const char *person,
                            const char *note, const char *os_user, time_t now) {
        return store_run(s, STMT_INVESTIGATION_INSERT, sv_int(anomaly_id), sv_int(at),
                         sv_text(person), sv_str(note), sv_text(os_user), sv_int(now));
}

static int investigation_row(sqlite3_stmt *st, void *userdata) {
        const StoreVisit *visit = userdata;
        Investigation v = {
                .id = sqlite3_column_int64(st, 0),
                .anomaly_id = sqlite3_column_int64(st, 1),
                .at = column_time(st, 2),
                .fault_id = sqlite3_column_int64(st, 6),
        };

        column_copy_clean(st, 3, v.person, sizeof(v.person));
        column_copy_clean(st, 4, v.note, sizeof(v.note));
        column_copy_clean(st, 5, v.device, sizeof(v.device));
        return ((StoreInvestigationFn) visit->fn)(&v, visit->userdata);
}

int store_foreach_investigation(Store *s, int64_t anomaly_id, time_t from, time_t to,
                                StoreInvestigationFn fn, void *userdata) {
        return store_each(s, STMT_INVESTIGATIONS, investigation_row,
                          STORE_VISIT(fn, userdata), sv_int(anomaly_id),
                          sv_int(from), sv_int(to));
}
