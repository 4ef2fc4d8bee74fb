/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "macro.h"
#include "text.h"
#include "store-internal.h"

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
        /* 2: faults, the event history, the mail outbox. */
        "CREATE TABLE faults ("
        "  id INTEGER PRIMARY KEY,"
        "  site TEXT NOT NULL,"
        "  device TEXT NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  severity TEXT NOT NULL,"
        "  state TEXT NOT NULL,"
        "  detected_at INTEGER NOT NULL,"
        "  received_at INTEGER NOT NULL,"
        "  onsite_due INTEGER NOT NULL,"
        "  deferral_eligible INTEGER NOT NULL,"
        "  deferred_onsite_due INTEGER,"
        "  onsite_started_at INTEGER,"
        "  acknowledged_at INTEGER,"
        "  deferral_approved_at INTEGER,"
        "  cleared_at INTEGER,"
        "  transient INTEGER NOT NULL DEFAULT 0,"
        "  reason TEXT NOT NULL DEFAULT '',"
        "  hint TEXT NOT NULL DEFAULT '',"
        "  hidden TEXT NOT NULL DEFAULT '[]',"
        "  warned INTEGER NOT NULL DEFAULT 0,"
        "  breached INTEGER NOT NULL DEFAULT 0,"
        "  deferral_prompted INTEGER NOT NULL DEFAULT 0,"
        "  last_notified_at INTEGER,"
        "  thread_id TEXT NOT NULL DEFAULT ''"
        ");"
        "CREATE INDEX faults_open ON faults (state, device);"
        "CREATE TABLE events ("
        "  id INTEGER PRIMARY KEY,"
        "  type TEXT NOT NULL,"
        "  at INTEGER NOT NULL,"
        "  fault_id INTEGER,"
        "  site TEXT NOT NULL DEFAULT '',"
        "  device TEXT NOT NULL DEFAULT '',"
        "  kind TEXT NOT NULL DEFAULT '',"
        "  received_at INTEGER,"
        "  onsite_due INTEGER,"
        "  text TEXT NOT NULL DEFAULT ''"
        ");"
        "CREATE INDEX events_device ON events (device, type, at);"
        "CREATE TABLE outbox ("
        "  id INTEGER PRIMARY KEY,"
        "  event_id INTEGER,"
        "  fault_id INTEGER,"
        "  created_at INTEGER NOT NULL,"
        "  recipients TEXT NOT NULL,"
        "  message_id TEXT NOT NULL,"
        "  thread_id TEXT,"
        "  subject TEXT NOT NULL,"
        "  body TEXT NOT NULL,"
        "  attempts INTEGER NOT NULL DEFAULT 0,"
        "  next_attempt_at INTEGER NOT NULL,"
        "  sent_at INTEGER,"
        "  last_error TEXT"
        ");"
        "CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);",
        /* 3: what operators record (fieldwatchctl actions), the work record, and
         * the contract's deliverables with the report clocks that struck. */
        "ALTER TABLE faults ADD COLUMN acknowledged_by TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN ack_note TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN onsite_by TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN deferral_approved_by TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN deferral_reason TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN recovered_at INTEGER;"
        "ALTER TABLE faults ADD COLUMN recovered_by TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN cause TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN action TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN prevention TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN parts TEXT NOT NULL DEFAULT '[]';"
        "ALTER TABLE faults ADD COLUMN media_replaced INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE faults ADD COLUMN recovery_report_submitted_at INTEGER;"
        "ALTER TABLE faults ADD COLUMN erasure_report_submitted_at INTEGER;"
        "ALTER TABLE faults ADD COLUMN closed_at INTEGER;"
        "ALTER TABLE faults ADD COLUMN closed_by TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN close_note TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE events ADD COLUMN os_user TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE events ADD COLUMN by_name TEXT NOT NULL DEFAULT '';"
        "CREATE TABLE work ("
        "  id INTEGER PRIMARY KEY,"
        "  start_at INTEGER NOT NULL,"
        "  end_at INTEGER NOT NULL,"
        "  person TEXT NOT NULL,"
        "  title TEXT NOT NULL,"
        "  content TEXT NOT NULL,"
        "  notes TEXT NOT NULL DEFAULT '',"
        "  fault_id INTEGER,"
        "  os_user TEXT NOT NULL DEFAULT '',"
        "  recorded_at INTEGER NOT NULL"
        ");"
        "CREATE INDEX work_start ON work (start_at);"
        "CREATE TABLE deliverables ("
        "  kind TEXT NOT NULL,"
        "  key TEXT NOT NULL,"          /* the period or the fault id */
        "  due TEXT NOT NULL,"          /* YYYY-MM-DD */
        "  due_warned INTEGER NOT NULL DEFAULT 0,"
        "  overdue_sent INTEGER NOT NULL DEFAULT 0,"
        "  submitted_at INTEGER,"
        "  PRIMARY KEY (kind, key)"
        ");",
        /* 4: a mail storm goes in digests (store-outbox.c); older mails go alone. */
        "ALTER TABLE outbox ADD COLUMN language TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE outbox ADD COLUMN digest_entry TEXT;"
        "ALTER TABLE outbox ADD COLUMN onsite_due INTEGER;"
        "ALTER TABLE outbox ADD COLUMN held_until INTEGER;"
        "ALTER TABLE outbox ADD COLUMN digest_id INTEGER;"
        "ALTER TABLE outbox ADD COLUMN digest_count INTEGER NOT NULL DEFAULT 0;"
        "CREATE INDEX outbox_created ON outbox (created_at);"
        "CREATE INDEX outbox_fault ON outbox (fault_id, id);"
        "CREATE INDEX outbox_held ON outbox (held_until)"
        "  WHERE held_until IS NOT NULL AND digest_id IS NULL AND sent_at IS NULL;"
        "CREATE INDEX outbox_carried ON outbox (digest_id) WHERE digest_id IS NOT NULL;",
        /* 5: how a fault was recovered (issue 13): remotely, provisionally (the final
         * recovery follows), with a loaner installed. */
        "ALTER TABLE faults ADD COLUMN remote INTEGER NOT NULL DEFAULT 0;"
        "ALTER TABLE faults ADD COLUMN temporary_recovered_at INTEGER;"
        "ALTER TABLE faults ADD COLUMN loaner TEXT NOT NULL DEFAULT '';",
        /* 6: paid parts (有償交換部品, L183-187): the quote and its approval. */
        "ALTER TABLE faults ADD COLUMN quote_parts TEXT NOT NULL DEFAULT '[]';"
        "ALTER TABLE faults ADD COLUMN quote_amount INTEGER;"
        "ALTER TABLE faults ADD COLUMN quote_by TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN quote_note TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN quote_at INTEGER;"
        "ALTER TABLE faults ADD COLUMN quote_approved_by TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN quote_approved_at INTEGER;",
        /* 7: reception by call and faults no probe sees (issue 13): where a fault
         * comes from, its contract rule, who called and who took the call; the
         * investigation of anomalies and their escalation to faults. */
        "ALTER TABLE faults ADD COLUMN origin TEXT NOT NULL DEFAULT 'probe';"
        "ALTER TABLE faults ADD COLUMN sla_rule TEXT NOT NULL DEFAULT 'onsite';"
        "ALTER TABLE faults ADD COLUMN received_from TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE faults ADD COLUMN anomaly_id INTEGER;"
        "CREATE TABLE investigations ("
        "  id INTEGER PRIMARY KEY,"
        "  anomaly_id INTEGER NOT NULL,"   /* the anomaly event */
        "  at INTEGER NOT NULL,"
        "  person TEXT NOT NULL,"
        "  note TEXT NOT NULL,"
        "  os_user TEXT NOT NULL DEFAULT '',"
        "  recorded_at INTEGER NOT NULL"
        ");"
        "CREATE INDEX investigations_at ON investigations (at);",
};

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

        /* SQLite says only "cannot open" when it cannot create its WAL
         * files: on a read-only disk, say that. */
        if (faccessat(AT_FDCWD, state_dir, W_OK, AT_EACCESS) < 0)
                return -errno;
        r = open_db(state_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &s);
        if (r < 0)
                return r;
        r = exec(s, "PRAGMA journal_mode = WAL");
        if (r >= 0) {
                /* Keep -wal and -shm when the daemon closes the database:
                 * readers (group fieldwatch) cannot create them in the 0750
                 * state directory, so without them a stopped daemon's state
                 * could not be read. */
                int persist = 1;

                r = sqlite_to_errno(sqlite3_file_control(s->db, "main",
                                                         SQLITE_FCNTL_PERSIST_WAL, &persist));
        }
        if (r >= 0)
                r = exec(s, "PRAGMA synchronous = FULL");
        if (r >= 0)
                r = exec(s, "PRAGMA foreign_keys = ON");
        if (r >= 0)
                r = migrate(s);
        /* The daemon is the only writer; another holding the lock (an
         * administrator's sqlite3) is an outage, not contention. Waiting
         * long would stall the event loop at every write: the monitor keeps
         * what it cannot write and tries again later (backlog.h). */
        if (r >= 0)
                (void) sqlite3_busy_timeout(s->db, 250);
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
        if (r >= 0)
                r = sqlite_to_errno(sqlite3_prepare_v3(
                        s->db,
                        "UPDATE devices SET last_probe_at = ?, latency_usec = ?, values_json = ?"
                        " WHERE id = ?",
                        -1, SQLITE_PREPARE_PERSISTENT, &s->touch_device, NULL));
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
        sqlite3_finalize(s->touch_device);
        (void) sqlite3_close(s->db);
        free(s);
        return NULL;
}

const char *store_error(const Store *s) {
        return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

/* Back to synchronous = FULL after a relaxed transaction. Faults, events
 * and mails are never committed before this succeeded. */
static int store_durable(Store *s) {
        int r;

        if (!s->relaxed)
                return 0;
        r = exec(s, "PRAGMA synchronous = FULL");
        if (r >= 0)
                s->relaxed = false;
        return r;
}

int store_begin(Store *s) {
        int r;

        r = store_durable(s);
        if (r < 0)
                return r;
        return exec(s, "BEGIN IMMEDIATE");
}

int store_begin_relaxed(Store *s) {
        int r;

        /* The setting counts at commit; it cannot change inside a transaction. */
        r = exec(s, "PRAGMA synchronous = NORMAL");
        if (r < 0)
                return r;
        s->relaxed = true;
        r = exec(s, "BEGIN IMMEDIATE");
        if (r < 0)
                (void) store_durable(s);
        return r;
}

int store_commit(Store *s) {
        int r;

        r = exec(s, "COMMIT");
        (void) store_durable(s);
        return r;
}

void store_rollback(Store *s) {
        (void) exec(s, "ROLLBACK");
        (void) store_durable(s);
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

int store_touch_device(Store *s, const char *id, time_t last_probe_at, int64_t latency_usec,
                       const char *values_json) {
        sqlite3_stmt *st = s->touch_device;
        int rc;

        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        if (last_probe_at > 0)
                (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) last_probe_at);
        if (latency_usec >= 0)
                (void) sqlite3_bind_int64(st, 2, latency_usec);
        (void) sqlite3_bind_text(st, 3, values_json ?: "{}", -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        (void) sqlite3_reset(st);
        if (rc != SQLITE_DONE)
                return sqlite_to_errno(rc);
        return sqlite3_changes(s->db) == 1 ? 0 : -ENOENT;
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
                char reason[1024];
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

                /* One bad row must not break the listing of all. */
                if (!text_is_clean(d.reason, strlen(d.reason))) {
                        (void) text_clean(reason, sizeof(reason), d.reason, strlen(d.reason));
                        d.reason = reason;
                }
                if (!text_is_clean(d.values_json, strlen(d.values_json)))
                        d.values_json = "{}";

                r = fn(&d, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

/* ======================================================================== */

#define FAULT_COLUMNS                                                                       \
        "site, device, kind, severity, state, detected_at, received_at, onsite_due,"       \
        " deferral_eligible, deferred_onsite_due, onsite_started_at, acknowledged_at,"      \
        " deferral_approved_at, cleared_at, transient, reason, hint, hidden, warned,"       \
        " breached, deferral_prompted, last_notified_at, thread_id, origin, sla_rule,"   \
        " received_from, anomaly_id"

static void bind_time(sqlite3_stmt *st, int i, time_t t) {
        if (t > 0)
                (void) sqlite3_bind_int64(st, i, (sqlite3_int64) t);
        else
                (void) sqlite3_bind_null(st, i);
}

/* Binds the fault's columns, in FAULT_COLUMNS order, from parameter 1. */
static void bind_fault(sqlite3_stmt *st, const Fault *f) {
        (void) sqlite3_bind_text(st, 1, f->site, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 2, f->device, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 3, f->kind, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 4, fault_severity_to_string(f->severity), -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 5, fault_state_to_string(f->state), -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(st, 6, (sqlite3_int64) f->detected_at);
        (void) sqlite3_bind_int64(st, 7, (sqlite3_int64) f->received_at);
        (void) sqlite3_bind_int64(st, 8, (sqlite3_int64) f->onsite_due);
        (void) sqlite3_bind_int(st, 9, f->deferral_eligible);
        bind_time(st, 10, f->deferred_onsite_due);
        bind_time(st, 11, f->onsite_started_at);
        bind_time(st, 12, f->acknowledged_at);
        bind_time(st, 13, f->deferral_approved_at);
        bind_time(st, 14, f->cleared_at);
        (void) sqlite3_bind_int(st, 15, f->transient);
        (void) sqlite3_bind_text(st, 16, f->reason, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 17, f->hint, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 18, f->hidden ?: "[]", -1, SQLITE_STATIC);
        (void) sqlite3_bind_int(st, 19, f->warned);
        (void) sqlite3_bind_int(st, 20, f->breached);
        (void) sqlite3_bind_int(st, 21, f->deferral_prompted);
        bind_time(st, 22, f->last_notified_at);
        (void) sqlite3_bind_text(st, 23, f->thread_id, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 24, fault_origin_to_string(f->origin), -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 25, f->sendback ? "sendback" : "onsite", -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 26, f->received_from, -1, SQLITE_STATIC);
        bind_time(st, 27, (time_t) f->anomaly_id);
}

static time_t column_time(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : (time_t) sqlite3_column_int64(st, i);
}

static void copy_column(sqlite3_stmt *st, int i, char *buf, size_t size) {
        const char *t = column_text(st, i);

        /* A row written before text was cleaned, or by another program,
         * must not break a listing: clean on the way out too. */
        (void) text_clean(buf, size, t ?: "", t ? strlen(t) : 0);
}

/* Reads a row of "id, " FAULT_COLUMNS into f (hidden is allocated). */
static int read_fault(sqlite3_stmt *st, Fault *f) {
        const char *severity = column_text(st, 4), *state = column_text(st, 5);

        *f = (Fault) { .id = sqlite3_column_int64(st, 0) };
        copy_column(st, 1, f->site, sizeof(f->site));
        copy_column(st, 2, f->device, sizeof(f->device));
        copy_column(st, 3, f->kind, sizeof(f->kind));
        f->severity = streq_ptr(severity, "down") ? FAULT_DOWN : FAULT_DEGRADED;
        f->state = streq_ptr(state, "open")      ? FAULT_OPEN
                   : streq_ptr(state, "cleared") ? FAULT_CLEARED
                                                 : FAULT_CLOSED;
        f->detected_at = column_time(st, 6);
        f->received_at = column_time(st, 7);
        f->onsite_due = column_time(st, 8);
        f->deferral_eligible = sqlite3_column_int(st, 9);
        f->deferred_onsite_due = column_time(st, 10);
        f->onsite_started_at = column_time(st, 11);
        f->acknowledged_at = column_time(st, 12);
        f->deferral_approved_at = column_time(st, 13);
        f->cleared_at = column_time(st, 14);
        f->transient = sqlite3_column_int(st, 15);
        copy_column(st, 16, f->reason, sizeof(f->reason));
        copy_column(st, 17, f->hint, sizeof(f->hint));
        f->hidden = strdup(column_text(st, 18) ?: "[]");
        f->warned = sqlite3_column_int(st, 19);
        f->breached = sqlite3_column_int(st, 20);
        f->deferral_prompted = sqlite3_column_int(st, 21);
        f->last_notified_at = column_time(st, 22);
        copy_column(st, 23, f->thread_id, sizeof(f->thread_id));
        f->origin = fault_origin_from_string(column_text(st, 24));
        f->sendback = streq_ptr(column_text(st, 25), "sendback");
        copy_column(st, 26, f->received_from, sizeof(f->received_from));
        f->anomaly_id = (int64_t) column_time(st, 27);
        return f->hidden ? 0 : -ENOMEM;
}

static int step_done(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);

        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

int store_fault_insert(Store *s, Fault *f) {
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO faults (" FAULT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?,"
                                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        bind_fault(st, f);
        r = step_done(st);
        if (r >= 0)
                f->id = sqlite3_last_insert_rowid(s->db);
        return r;
}

int store_fault_update(Store *s, const Fault *f) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "UPDATE faults SET (" FAULT_COLUMNS ") = (?, ?, ?, ?, ?, ?, ?, ?,"
                                " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) WHERE id = ?",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        bind_fault(st, f);
        (void) sqlite3_bind_int64(st, 28, f->id);
        return step_done(st);
}

int store_fault_get(Store *s, int64_t id, Fault *ret) {
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db, "SELECT id, " FAULT_COLUMNS " FROM faults WHERE id = ?", -1,
                                &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        r = rc == SQLITE_ROW ? read_fault(st, ret) : rc == SQLITE_DONE ? -ENOENT : sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

int store_foreach_fault(Store *s, bool open_only, StoreFaultFn fn, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                open_only ? "SELECT id, " FAULT_COLUMNS
                                            " FROM faults WHERE state = 'open' ORDER BY id"
                                          : "SELECT id, " FAULT_COLUMNS " FROM faults ORDER BY id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                Fault f;

                r = read_fault(st, &f);
                if (r >= 0)
                        r = fn(&f, userdata);
                fault_done(&f);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

int store_event_insert(Store *s, Event *e) {
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO events (type, at, fault_id, site, device, kind,"
                                " received_at, onsite_due, text, os_user, by_name)"
                                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_text(st, 1, event_type_to_string(e->type), -1, SQLITE_STATIC);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) e->at);
        if (e->fault_id > 0)
                (void) sqlite3_bind_int64(st, 3, e->fault_id);
        (void) sqlite3_bind_text(st, 4, e->site, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 5, e->device, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 6, e->kind, -1, SQLITE_STATIC);
        bind_time(st, 7, e->received_at);
        bind_time(st, 8, e->onsite_due);
        (void) sqlite3_bind_text(st, 9, e->text, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 10, e->os_user, -1, SQLITE_STATIC);
        (void) sqlite3_bind_text(st, 11, e->by, -1, SQLITE_STATIC);
        r = step_done(st);
        if (r >= 0)
                e->id = sqlite3_last_insert_rowid(s->db);
        return r;
}

int store_foreach_recent_event(Store *s, unsigned mask, time_t since, StoreRecentEventFn fn,
                               void *userdata) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT device, type, at FROM events WHERE at >= ? ORDER BY at, id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) since);
        while (r >= 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
                int t = event_type_from_string(column_text(st, 1));

                if (t >= 0 && (mask & (1u << t)))
                        r = fn(column_text(st, 0) ?: "", (EventType) t, (time_t) sqlite3_column_int64(st, 2),
                               userdata);
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}
