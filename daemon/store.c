/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"
#include "store.h"

struct Store {
        sqlite3 *db;
        sqlite3_stmt *put_device;
};

/* Each entry moves the schema from version i to i + 1. */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
        "CREATE TABLE devices ("
        "  id TEXT PRIMARY KEY,"
        "  site TEXT,"
        "  kind TEXT NOT NULL,"
        "  state TEXT NOT NULL,"
        "  last_probe_at INTEGER,"
        "  latency_usec INTEGER,"
        "  reason TEXT NOT NULL DEFAULT '',"
        "  values_json TEXT NOT NULL DEFAULT '{}'"
        ");",
};

static int sqlite_to_errno(int rc) {
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

static int exec(Store *s, const char *sql) {
        return sqlite_to_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static int user_version(Store *s, int *ret) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
                *ret = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        return rc == SQLITE_ROW ? 0 : sqlite_to_errno(rc);
}

static int migrate(Store *s) {
        char sql[64];
        int v, r;

        r = user_version(s, &v);
        if (r < 0)
                return r;
        if (v > STORE_SCHEMA_VERSION)
                return -EPROTONOSUPPORT; /* written by a newer fieldwatch */
        for (; v < STORE_SCHEMA_VERSION; v++) {
                r = exec(s, "BEGIN IMMEDIATE");
                if (r < 0)
                        return r;
                (void) snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
                r = exec(s, migrations[v]);
                if (r >= 0)
                        r = exec(s, sql);
                if (r >= 0)
                        r = exec(s, "COMMIT");
                if (r < 0) {
                        (void) exec(s, "ROLLBACK");
                        return r;
                }
        }
        return 0;
}

static int open_db(const char *state_dir, int flags, Store **ret) {
        char path[4096];
        Store *s;
        int rc, r;

        if ((size_t) snprintf(path, sizeof(path), "%s/" STORE_FILE, state_dir) >= sizeof(path))
                return -ENAMETOOLONG;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        rc = sqlite3_open_v2(path, &s->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
        if (rc != SQLITE_OK) {
                r = sqlite_to_errno(rc);
                store_close(s);
                return r;
        }
        (void) sqlite3_extended_result_codes(s->db, 1);
        (void) sqlite3_busy_timeout(s->db, 2000);
        *ret = s;
        return 0;
}

int store_open(const char *state_dir, Store **ret) {
        Store *s;
        int r;

        r = open_db(state_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s);
        if (r < 0)
                return r;
        r = exec(s, "PRAGMA journal_mode = WAL");
        if (r >= 0)
                r = exec(s, "PRAGMA synchronous = FULL");
        if (r >= 0)
                r = exec(s, "PRAGMA foreign_keys = ON");
        if (r >= 0)
                r = migrate(s);
        if (r >= 0)
                r = sqlite_to_errno(sqlite3_prepare_v3(
                        s->db,
                        "INSERT INTO devices (id, site, kind, state, last_probe_at, latency_usec,"
                        " reason, values_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                        " ON CONFLICT (id) DO UPDATE SET site = excluded.site,"
                        " kind = excluded.kind, state = excluded.state,"
                        " last_probe_at = excluded.last_probe_at,"
                        " latency_usec = excluded.latency_usec, reason = excluded.reason,"
                        " values_json = excluded.values_json",
                        -1, SQLITE_PREPARE_PERSISTENT, &s->put_device, NULL));
        if (r < 0) {
                store_close(s);
                return r;
        }
        /* The database holds site data: readable by the service and group fieldwatch. */
        *ret = s;
        return 0;
}

int store_open_readonly(const char *state_dir, Store **ret) {
        Store *s;
        int v, r;

        r = open_db(state_dir, SQLITE_OPEN_READONLY, &s);
        if (r < 0)
                return r;
        r = user_version(s, &v);
        if (r >= 0 && v != STORE_SCHEMA_VERSION)
                r = v == 0 ? -ENOENT : -EPROTONOSUPPORT;
        if (r < 0) {
                store_close(s);
                return r;
        }
        *ret = s;
        return 0;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        sqlite3_finalize(s->put_device);
        (void) sqlite3_close(s->db);
        free(s);
        return NULL;
}

const char *store_error(const Store *s) {
        return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

int store_begin(Store *s) {
        return exec(s, "BEGIN IMMEDIATE");
}

int store_commit(Store *s) {
        return exec(s, "COMMIT");
}

void store_rollback(Store *s) {
        (void) exec(s, "ROLLBACK");
}

int store_put_device(Store *s, const DeviceRow *d) {
        sqlite3_stmt *st = s->put_device;
        int rc;

        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        (void) sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
        if (d->site)
                (void) sqlite3_bind_text(st, 2, d->site, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 3, d->kind, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 4, d->state, -1, SQLITE_STATIC);
        if (d->last_probe_at > 0)
                (void) sqlite3_bind_int64(st, 5, (sqlite3_int64) d->last_probe_at);
        if (d->latency_usec >= 0)
                (void) sqlite3_bind_int64(st, 6, d->latency_usec);
        (void) sqlite3_bind_text(st, 7, d->reason ?: "", -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 8, d->values_json ?: "{}", -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        (void) sqlite3_reset(st);
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

int store_prune_devices(Store *s, const char *const *keep, size_t n) {
        sqlite3_stmt *st;
        int rc, r = 0;

        /* A temporary table of the ids to keep: one bound parameter each. */
        r = exec(s, "CREATE TEMP TABLE IF NOT EXISTS keep_ids (id TEXT PRIMARY KEY);"
                    "DELETE FROM keep_ids;");
        if (r < 0)
                return r;
        rc = sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO keep_ids VALUES (?)", -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        for (size_t i = 0; i < n && r >= 0; i++) {
                (void) sqlite3_bind_text(st, 1, keep[i], -1, SQLITE_STATIC);
                rc = sqlite3_step(st);
                r = rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
                (void) sqlite3_reset(st);
        }
        sqlite3_finalize(st);
        if (r < 0)
                return r;
        return exec(s, "DELETE FROM devices WHERE id NOT IN (SELECT id FROM keep_ids)");
}

static const char *column_text(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);

        return t ? (const char *) t : NULL;
}

int store_foreach_device(Store *s, StoreDeviceFn fn, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, site, kind, state, last_probe_at, latency_usec, reason,"
                                " values_json FROM devices ORDER BY id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                DeviceRow d = {
                        .id = column_text(st, 0),
                        .site = column_text(st, 1),
                        .kind = column_text(st, 2),
                        .state = column_text(st, 3),
                        .last_probe_at = sqlite3_column_type(st, 4) == SQLITE_NULL
                                                 ? 0
                                                 : (time_t) sqlite3_column_int64(st, 4),
                        .latency_usec = sqlite3_column_type(st, 5) == SQLITE_NULL
                                                ? -1
                                                : sqlite3_column_int64(st, 5),
                        .reason = column_text(st, 6) ?: "",
                        .values_json = column_text(st, 7) ?: "{}",
                };

                r = fn(&d, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}
