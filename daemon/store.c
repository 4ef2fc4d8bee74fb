/* SPDX-License-Identifier: MIT */

/* The state database: the schema and its migrations, opening (every
 * statement prepared), the helpers that run statements, transactions, and
 * the devices, faults and events. */

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "log.h"
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
        /* 8: a mail is delivered per recipient (mailer.c): whom the server has
         * taken it for so far, a JSON array of addresses. */
        "ALTER TABLE outbox ADD COLUMN delivered_to TEXT NOT NULL DEFAULT '[]';",
        /* 9: a fault's security incident is reported once, whatever kinds it
         * goes through (faults.c change_fault); a deferral approved after
         * its due never moved it (fault.h deferral_counts), so such a fault's
         * warning and breach, which the approval had reset, struck already;
         * the editors of a work record, kept beside its notes. */
        "ALTER TABLE faults ADD COLUMN incident_reported INTEGER NOT NULL DEFAULT 0;"
        "UPDATE faults SET incident_reported = 1 WHERE id IN"
        "  (SELECT fault_id FROM events WHERE type = 'security_incident'"
        "   AND fault_id IS NOT NULL);"
        "UPDATE faults SET warned = 1, breached = 1 WHERE state = 'open'"
        "  AND deferral_approved_at > onsite_due;"
        "ALTER TABLE work ADD COLUMN edited TEXT NOT NULL DEFAULT '';",
        /* 10: a recipient a mail is given up for (mailer-plan.h): no longer
         * configured, or refused for good too long; a JSON array of addresses.
         * The mailer reads only the due unsent mails (outbox_due) and the
         * unsent ones of their faults (outbox_fault_unsent);
         * outbox_pending, which led SQLite to read every unsent row to count
         * the held ones, goes. */
        "ALTER TABLE outbox ADD COLUMN abandoned TEXT NOT NULL DEFAULT '[]';"
        "DROP INDEX IF EXISTS outbox_pending;"
        "CREATE INDEX outbox_due ON outbox (next_attempt_at, id)"
        "  WHERE sent_at IS NULL AND held_until IS NULL;"
        "CREATE INDEX outbox_fault_unsent ON outbox (fault_id, id) WHERE sent_at IS NULL;",
};

/* The disposals table of the contract's end (store-handover.h): made here,
 * not by a migration, so that a database keeps its schema version; an empty
 * table exports and reads as a missing one did. */
#define DISPOSALS_SCHEMA                                                                    \
        "CREATE TABLE IF NOT EXISTS disposals ("                                            \
        "  id INTEGER PRIMARY KEY,"                                                         \
        "  at INTEGER NOT NULL,"                                                            \
        "  by_name TEXT NOT NULL,"                                                          \
        "  os_user TEXT NOT NULL,"                                                          \
        "  what TEXT NOT NULL,"                                                             \
        "  how TEXT NOT NULL"                                                               \
        ")"

#define FAULT_COLUMNS                                                                       \
        "site, device, kind, severity, state, detected_at, received_at, onsite_due,"       \
        " deferral_eligible, deferred_onsite_due, onsite_started_at, acknowledged_at,"      \
        " deferral_approved_at, cleared_at, transient, reason, hint, hidden, warned,"       \
        " breached, deferral_prompted, last_notified_at, thread_id, origin, sla_rule,"   \
        " received_from, anomaly_id, incident_reported"

#define EVENT_COLUMNS                                                                       \
        "id, type, at, fault_id, site, device, kind, received_at, onsite_due, text,"       \
        " os_user, by_name"

const StoreSql store_sql_core[] = {
        { STMT_BEGIN, "BEGIN IMMEDIATE" },
        { STMT_COMMIT, "COMMIT" },
        { STMT_ROLLBACK, "ROLLBACK" },
        /* A transaction inside the caller's, or one of its own. */
        { STMT_SAVEPOINT, "SAVEPOINT store" },
        { STMT_RELEASE, "RELEASE store" },
        { STMT_ROLLBACK_TO, "ROLLBACK TO store" },
        { STMT_SYNC_FULL, "PRAGMA synchronous = FULL" },
        { STMT_SYNC_NORMAL, "PRAGMA synchronous = NORMAL" },
        { STMT_SECURE_DELETE_ON, "PRAGMA secure_delete = ON" },
        { STMT_SECURE_DELETE_OFF, "PRAGMA secure_delete = OFF" },
        { STMT_CHECKPOINT, "PRAGMA wal_checkpoint(TRUNCATE)" },
        { STMT_VACUUM, "VACUUM" },
        { STMT_DEVICE_PUT,
          "INSERT INTO devices (id, site, kind, state, last_probe_at, latency_usec, reason,"
          " values_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, coalesce(?8, '{}'))"
          " ON CONFLICT (id) DO UPDATE SET"
          " site = excluded.site, kind = excluded.kind, state = excluded.state,"
          " last_probe_at = excluded.last_probe_at, latency_usec = excluded.latency_usec,"
          " reason = excluded.reason, values_json = coalesce(?8, devices.values_json)" },
        { STMT_DEVICE_TOUCH,
          "UPDATE devices SET last_probe_at = ?1, latency_usec = ?2,"
          " values_json = coalesce(?3, values_json) WHERE id = ?4" },
        /* The ids to keep: one bound parameter, a JSON array. */
        { STMT_DEVICE_PRUNE,
          "DELETE FROM devices WHERE id NOT IN (SELECT value FROM json_each(?))" },
        { STMT_DEVICES,
          "SELECT id, site, kind, state, last_probe_at, latency_usec, reason, values_json"
          " FROM devices ORDER BY id" },
        { STMT_FAULT_INSERT,
          "INSERT INTO faults (" FAULT_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
          " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" },
        { STMT_FAULT_UPDATE,
          "UPDATE faults SET (" FAULT_COLUMNS ") = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,"
          " ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) WHERE id = ?" },
        { STMT_FAULT_GET, "SELECT id, " FAULT_COLUMNS " FROM faults WHERE id = ?" },
        { STMT_FAULTS, "SELECT id, " FAULT_COLUMNS " FROM faults ORDER BY id" },
        { STMT_FAULTS_OPEN,
          "SELECT id, " FAULT_COLUMNS " FROM faults WHERE state = 'open' ORDER BY id" },
        { STMT_EVENT_INSERT,
          "INSERT INTO events (type, at, fault_id, site, device, kind, received_at, onsite_due,"
          " text, os_user, by_name) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" },
        { STMT_EVENTS_RECENT, "SELECT device, type, at FROM events WHERE at >= ? ORDER BY at, id" },
        /* The last ?1 (by id, newest first, turned around by the outer
         * query), or the first ?2 after ?1. */
        { STMT_EVENTS_LAST,
          "SELECT * FROM (SELECT " EVENT_COLUMNS " FROM events ORDER BY id DESC LIMIT ?)"
          " ORDER BY id" },
        { STMT_EVENTS_AFTER, "SELECT " EVENT_COLUMNS " FROM events WHERE id > ? ORDER BY id LIMIT ?" },
        {},
};

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

static const struct {
        const StoreSql *sql;
        bool optional;
} sql_tables[] = {
        { store_sql_core, false },      { store_sql_outbox, false },
        { store_sql_actions, false },   { store_sql_report, false },
        { store_sql_anomalies, false }, { store_sql_handover, false },
        { store_sql_disposals, true },
};

static int exec(Store *s, const char *sql) {
        return sqlite_to_errno(sqlite3_exec(s->db, sql, NULL, NULL, NULL));
}

static int user_version_row(void *userdata, int n, char **values, char **names) {
        (void) names;
        *(int *) userdata = n > 0 && values[0] ? atoi(values[0]) : 0;
        return 0;
}

static int user_version(Store *s, int *ret) {
        *ret = 0;
        return sqlite_to_errno(sqlite3_exec(s->db, "PRAGMA user_version", user_version_row, ret,
                                            NULL));
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
                /* A PRAGMA takes no parameters; the number is ours. */
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

/* Prepares every statement, once. One the database does not accept (its
 * schema is not the one this fieldwatch made) fails the open, naming it,
 * before anything is written to it. */
static int prepare_statements(Store *s, bool readonly, const char *path) {
        int r;

        for (size_t t = 0; t < ELEMENTSOF(sql_tables); t++) {
                if (sql_tables[t].optional && !readonly) {
                        r = exec(s, DISPOSALS_SCHEMA);
                        if (r < 0)
                                return r;
                }
                for (const StoreSql *q = sql_tables[t].sql; q->sql; q++) {
                        int rc = sqlite3_prepare_v3(s->db, q->sql, -1, SQLITE_PREPARE_PERSISTENT,
                                                    &s->stmts[q->id], NULL);

                        if (rc == SQLITE_OK)
                                continue;
                        if (readonly && sql_tables[t].optional)
                                continue;
                        log_error("The state database %s is not the one this fieldwatch "
                                  "expects: %s (in \"%.60s...\")",
                                  path, sqlite3_errmsg(s->db), q->sql);
                        return (rc & 0xff) == SQLITE_ERROR ? -EBADMSG : sqlite_to_errno(rc);
                }
        }
        for (size_t i = 0; i < _STORE_STATEMENT_MAX; i++)
                assert(s->stmts[i] || readonly);
        return 0;
}

static int open_db(const char *state_dir, int flags, char path[static 4096], Store **ret) {
        Store *s;
        int rc, r;

        if ((size_t) snprintf(path, 4096, "%s/" STORE_FILE, state_dir) >= 4096)
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
        _cleanup_(store_closep) Store *s = NULL;
        char path[4096];
        int persist = 1, r;

        /* SQLite says only "cannot open" when it cannot create its WAL
         * files: on a read-only disk, say that. */
        if (faccessat(AT_FDCWD, state_dir, W_OK, AT_EACCESS) < 0)
                return -errno;
        r = open_db(state_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, path, &s);
        if (r < 0)
                return r;
        r = exec(s, "PRAGMA journal_mode = WAL");
        /* Keep -wal and -shm when the daemon closes the database: readers
         * (group fieldwatch) cannot create them in the 0750 state
         * directory, so without them a stopped daemon's state could not be
         * read. */
        if (r >= 0)
                r = sqlite_to_errno(sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL,
                                                         &persist));
        if (r >= 0)
                r = exec(s, "PRAGMA synchronous = FULL");
        if (r >= 0)
                r = exec(s, "PRAGMA foreign_keys = ON");
        /* 512 KiB of page cache, not SQLite's 2 MiB (issue 18: 10,000 sites
         * in < 48 MiB). The daemon writes rows spread over the whole devices
         * table and reads little; a page not cached is read back from the
         * kernel's page cache. At 10,000 + 10,000: 1.5 MiB less RSS, no CPU
         * difference measured (bench/RESULTS.md, fifth round). */
        if (r >= 0)
                r = exec(s, "PRAGMA cache_size = -512");
        if (r >= 0)
                r = migrate(s);
        /* The daemon is the only writer; another holding the lock (an
         * administrator's sqlite3) is an outage, not contention. Waiting
         * long would stall the event loop at every write: the monitor keeps
         * what it cannot write and tries again later (backlog.h). */
        if (r >= 0)
                (void) sqlite3_busy_timeout(s->db, 250);
        if (r >= 0)
                r = prepare_statements(s, false, path);
        if (r < 0)
                return r;
        /* The database holds site data: readable by the service and group fieldwatch. */
        *ret = TAKE_PTR(s);
        return 0;
}

int store_open_readonly(const char *state_dir, Store **ret) {
        _cleanup_(store_closep) Store *s = NULL;
        char path[4096];
        int v, r;

        r = open_db(state_dir, SQLITE_OPEN_READONLY, path, &s);
        if (r >= 0)
                r = user_version(s, &v);
        if (r >= 0 && v != STORE_SCHEMA_VERSION)
                r = v == 0 ? -ENOENT : -EPROTONOSUPPORT;
        if (r >= 0)
                r = prepare_statements(s, true, path);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

Store *store_close(Store *s) {
        if (!s)
                return NULL;
        for (size_t i = 0; i < _STORE_STATEMENT_MAX; i++)
                sqlite3_finalize(s->stmts[i]);
        (void) sqlite3_close(s->db);
        free(s);
        return NULL;
}

const char *store_error(const Store *s) {
        return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

const char *store_strerror(const Store *s, int r) {
        int rc = s && s->db ? sqlite3_errcode(s->db) & 0xff : SQLITE_OK;

        if (rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE)
                return strerror(r < 0 ? -r : EIO);
        return sqlite3_errmsg(s->db);
}

void store_set_busy_timeout(Store *s, unsigned msec) {
        (void) sqlite3_busy_timeout(s->db, (int) MIN(msec, (unsigned) INT32_MAX));
}

/* ======================================================================== */
/* Running statements */

static int statement_start(Store *s, StoreStatement id, const StoreValue *v, size_t n,
                           sqlite3_stmt **ret) {
        sqlite3_stmt *st = s->stmts[id];

        /* An optional statement left out: its table is missing. */
        if (!st)
                return -ENOENT;
        /* Used again inside its own store_each(): a bug, never a wait. */
        if (sqlite3_stmt_busy(st))
                return -EDEADLK;
        n = MIN(n, (size_t) sqlite3_bind_parameter_count(st));
        for (size_t i = 1; i <= n; i++)
                if (v[i].type == SV_INT)
                        (void) sqlite3_bind_int64(st, (int) i, v[i].i);
                else if (v[i].type == SV_TEXT)
                        (void) sqlite3_bind_text(st, (int) i, v[i].text, -1, SQLITE_STATIC);
        *ret = st;
        return 0;
}

/* Ends a statement's use: reset, and no binding left to dangle. */
static int statement_end(sqlite3_stmt *st, int r) {
        (void) sqlite3_reset(st);
        (void) sqlite3_clear_bindings(st);
        return r;
}

int store_run_values(Store *s, StoreStatement id, const StoreValue *v, size_t n) {
        sqlite3_stmt *st;
        int rc, r;

        r = statement_start(s, id, v, n, &st);
        if (r < 0)
                return r;
        /* Rows (a PRAGMA's answer) are not wanted. */
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
                ;
        return statement_end(st, sqlite_to_errno(rc));
}

int store_get_values(Store *s, StoreStatement id, const StoreValue *v, size_t n, StoreRowFn fn,
                     void *userdata) {
        sqlite3_stmt *st;
        int rc, r;

        r = statement_start(s, id, v, n, &st);
        if (r < 0)
                return r;
        rc = sqlite3_step(st);
        s->rows_read += rc == SQLITE_ROW;
        r = rc == SQLITE_ROW    ? (fn ? fn(st, userdata) : 0)
            : rc == SQLITE_DONE ? -ENOENT
                                : sqlite_to_errno(rc);
        return statement_end(st, r);
}

int store_each_values(Store *s, StoreStatement id, const StoreValue *v, size_t n, StoreRowFn fn,
                      void *userdata) {
        sqlite3_stmt *st;
        int rc, r;

        r = statement_start(s, id, v, n, &st);
        if (r == -ENOENT)
                return 0; /* no table, no rows */
        if (r < 0)
                return r;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                s->rows_read++;
                r = fn(st, userdata);
                if (r < 0)
                        return statement_end(st, r);
        }
        return statement_end(st, sqlite_to_errno(rc));
}

uint64_t store_rows_read(const Store *s) {
        return s->rows_read;
}

int64_t store_changes(Store *s) {
        return sqlite3_changes64(s->db);
}

int64_t store_last_id(Store *s) {
        return sqlite3_last_insert_rowid(s->db);
}

void column_copy_clean(sqlite3_stmt *st, int i, char *buf, size_t size) {
        const char *t = column_text(st, i);

        (void) text_clean(buf, size, t ?: "", t ? strlen(t) : 0);
}

int column_dup(sqlite3_stmt *st, int i, bool nullable, char **ret) {
        const char *t = column_text(st, i);

        if (!t && nullable) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(t ?: "");
        return *ret ? 0 : -ENOMEM;
}

int store_strv_from_json(const char *json, char ***ret, size_t *ret_n) {
        json_t *arr = json_loads(json ?: "[]", 0, NULL);
        char **v = NULL;
        size_t n = 0;
        int r = 0;

        if (json_is_array(arr) && json_array_size(arr) > 0) {
                v = calloc(json_array_size(arr), sizeof(char *));
                if (!v)
                        r = -ENOMEM;
                for (size_t i = 0; r >= 0 && i < json_array_size(arr); i++) {
                        const char *t = json_string_value(json_array_get(arr, i));

                        if (!t)
                                continue;
                        v[n] = strdup(t);
                        if (!v[n++])
                                r = -ENOMEM;
                }
        }
        json_decref(arr);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(v[i]);
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

char *store_strv_to_json(const char *const *v, size_t n) {
        json_t *arr = json_array();
        char *s = NULL;

        /* A string that is not UTF-8 is left out, as it always was. */
        for (size_t i = 0; arr && i < n; i++)
                (void) json_array_append_new(arr, json_string(v[i]));
        if (arr)
                s = json_dumps(arr, JSON_COMPACT);
        json_decref(arr);
        return s;
}

/* ======================================================================== */
/* Transactions */

/* Back to synchronous = FULL after a relaxed transaction. Faults, events
 * and mails are never committed before this succeeded. */
static int store_durable(Store *s) {
        int r;

        if (!s->relaxed)
                return 0;
        r = store_run(s, STMT_SYNC_FULL);
        if (r >= 0)
                s->relaxed = false;
        return r;
}

int store_begin(Store *s) {
        int r;

        r = store_durable(s);
        if (r < 0)
                return r;
        return store_run(s, STMT_BEGIN);
}

int store_begin_relaxed(Store *s) {
        int r;

        /* The setting counts at commit; it cannot change inside a transaction. */
        r = store_run(s, STMT_SYNC_NORMAL);
        if (r < 0)
                return r;
        s->relaxed = true;
        r = store_run(s, STMT_BEGIN);
        if (r < 0)
                (void) store_durable(s);
        return r;
}

int store_commit(Store *s) {
        int r;

        r = store_run(s, STMT_COMMIT);
        (void) store_durable(s);
        return r;
}

void store_rollback(Store *s) {
        (void) store_run(s, STMT_ROLLBACK);
        (void) store_durable(s);
}

int store_transaction(Store *s, StoreTransactionFn fn, void *userdata) {
        bool nested = !sqlite3_get_autocommit(s->db);
        int r, k;

        r = nested ? store_run(s, STMT_SAVEPOINT) : store_begin(s);
        if (r < 0)
                return r;
        r = fn(s, userdata);
        if (r >= 0) {
                k = nested ? store_run(s, STMT_RELEASE) : store_commit(s);
                if (k >= 0)
                        return r;
                r = k;
        }
        if (nested) {
                (void) store_run(s, STMT_ROLLBACK_TO);
                (void) store_run(s, STMT_RELEASE);
        } else
                store_rollback(s);
        return r;
}

/* ======================================================================== */
/* Devices */

int store_put_device(Store *s, const DeviceRow *d) {
        return store_run(s, STMT_DEVICE_PUT, sv_text(d->id), sv_text(d->site), sv_text(d->kind),
                         sv_text(d->state), sv_time(d->last_probe_at),
                         d->latency_usec >= 0 ? sv_int(d->latency_usec) : sv_null(),
                         sv_str(d->reason), d->values_json ? sv_text(d->values_json) : sv_null());
}

int store_touch_device(Store *s, const char *id, time_t last_probe_at, int64_t latency_usec,
                       const char *values_json) {
        int r;

        r = store_run(s, STMT_DEVICE_TOUCH, sv_time(last_probe_at),
                      latency_usec >= 0 ? sv_int(latency_usec) : sv_null(),
                      values_json ? sv_text(values_json) : sv_null(), sv_text(id));
        if (r < 0)
                return r;
        return store_changes(s) == 1 ? 0 : -ENOENT;
}

int store_prune_devices(Store *s, const char *const *keep, size_t n) {
        _cleanup_(freep) char *ids = store_strv_to_json(keep, n);

        if (!ids)
                return -ENOMEM;
        return store_run(s, STMT_DEVICE_PRUNE, sv_text(ids));
}

static int device_row(sqlite3_stmt *st, void *userdata) {
        const StoreVisit *v = userdata;
        char reason[1024];
        DeviceRow d = {
                .id = column_text(st, 0),
                .site = column_text(st, 1),
                .kind = column_text(st, 2),
                .state = column_text(st, 3),
                .last_probe_at = column_time(st, 4),
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
        return ((StoreDeviceFn) v->fn)(&d, v->userdata);
}

int store_foreach_device(Store *s, StoreDeviceFn fn, void *userdata) {
        return store_each(s, STMT_DEVICES, device_row, STORE_VISIT(fn, userdata));
}

/* ======================================================================== */
/* Faults and events */

/* Runs an insert or update of the fault's columns, in FAULT_COLUMNS order
 * from ?1 (and its id as ?29 for the update). */
static int fault_write(Store *s, StoreStatement id, const Fault *f) {
        _cleanup_(freep) char *hidden = store_strv_to_json((const char *const *) f->hidden,
                                                           f->n_hidden);

        if (!hidden)
                return -ENOMEM;
        return store_run(
                s, id, sv_str(f->site), sv_str(f->device), sv_str(f->kind),
                sv_str(fault_severity_to_string(f->severity)),
                sv_str(fault_state_to_string(f->state)), sv_int(f->detected_at),
                sv_int(f->received_at), sv_int(f->onsite_due), sv_int(f->deferral_eligible),
                sv_time(f->deferred_onsite_due), sv_time(f->onsite_started_at),
                sv_time(f->acknowledged_at), sv_time(f->deferral_approved_at),
                sv_time(f->cleared_at), sv_int(f->transient), sv_str(f->reason), sv_str(f->hint),
                sv_text(hidden), sv_int(f->warned), sv_int(f->breached),
                sv_int(f->deferral_prompted), sv_time(f->last_notified_at), sv_str(f->thread_id),
                sv_str(fault_origin_to_string(f->origin)),
                sv_str(f->sendback ? "sendback" : "onsite"), sv_str(f->received_from),
                sv_time(f->anomaly_id), sv_int(f->incident_reported), sv_int(f->id));
}

/* Reads a row of "id, " FAULT_COLUMNS into f (hidden is allocated). */
static int read_fault(sqlite3_stmt *st, Fault *f) {
        const char *severity = column_text(st, 4), *state = column_text(st, 5);

        *f = (Fault) {
                .id = sqlite3_column_int64(st, 0),
                .severity = streq_ptr(severity, "down") ? FAULT_DOWN : FAULT_DEGRADED,
                .state = streq_ptr(state, "open")      ? FAULT_OPEN
                         : streq_ptr(state, "cleared") ? FAULT_CLEARED
                                                       : FAULT_CLOSED,
                .detected_at = column_time(st, 6),
                .received_at = column_time(st, 7),
                .onsite_due = column_time(st, 8),
                .deferral_eligible = sqlite3_column_int(st, 9),
                .deferred_onsite_due = column_time(st, 10),
                .onsite_started_at = column_time(st, 11),
                .acknowledged_at = column_time(st, 12),
                .deferral_approved_at = column_time(st, 13),
                .cleared_at = column_time(st, 14),
                .transient = sqlite3_column_int(st, 15),
                .warned = sqlite3_column_int(st, 19),
                .breached = sqlite3_column_int(st, 20),
                .deferral_prompted = sqlite3_column_int(st, 21),
                .last_notified_at = column_time(st, 22),
                .origin = fault_origin_from_string(column_text(st, 24)),
                .sendback = streq_ptr(column_text(st, 25), "sendback"),
                .anomaly_id = column_int(st, 27),
                .incident_reported = sqlite3_column_int(st, 28),
        };
        column_copy_clean(st, 1, f->site, sizeof(f->site));
        column_copy_clean(st, 2, f->device, sizeof(f->device));
        column_copy_clean(st, 3, f->kind, sizeof(f->kind));
        column_copy_clean(st, 16, f->reason, sizeof(f->reason));
        column_copy_clean(st, 17, f->hint, sizeof(f->hint));
        column_copy_clean(st, 23, f->thread_id, sizeof(f->thread_id));
        column_copy_clean(st, 26, f->received_from, sizeof(f->received_from));
        return store_strv_from_json(column_text(st, 18), &f->hidden, &f->n_hidden);
}

int store_fault_insert(Store *s, Fault *f) {
        int r = fault_write(s, STMT_FAULT_INSERT, f);

        if (r >= 0)
                f->id = store_last_id(s);
        return r;
}

int store_fault_update(Store *s, const Fault *f) {
        return fault_write(s, STMT_FAULT_UPDATE, f);
}

static int fault_get_row(sqlite3_stmt *st, void *userdata) {
        return read_fault(st, userdata);
}

int store_fault_get(Store *s, int64_t id, Fault *ret) {
        return store_get(s, STMT_FAULT_GET, fault_get_row, ret, sv_int(id));
}

static int fault_row(sqlite3_stmt *st, void *userdata) {
        const StoreVisit *v = userdata;
        Fault f;
        int r;

        r = read_fault(st, &f);
        if (r >= 0)
                r = ((StoreFaultFn) v->fn)(&f, v->userdata);
        fault_done(&f);
        return r;
}

int store_foreach_fault(Store *s, bool open_only, StoreFaultFn fn, void *userdata) {
        return store_each(s, open_only ? STMT_FAULTS_OPEN : STMT_FAULTS, fault_row,
                          STORE_VISIT(fn, userdata));
}

int store_event_insert(Store *s, Event *e) {
        int r;

        r = store_run(s, STMT_EVENT_INSERT, sv_str(event_type_to_string(e->type)), sv_int(e->at),
                      sv_time(e->fault_id), sv_str(e->site), sv_str(e->device), sv_str(e->kind),
                      sv_time(e->received_at), sv_time(e->onsite_due), sv_str(e->text),
                      sv_str(e->os_user), sv_str(e->by));
        if (r >= 0)
                e->id = store_last_id(s);
        return r;
}

static int event_row(sqlite3_stmt *st, void *userdata) {
        const StoreVisit *v = userdata;
        EventRow e = {
                .id = sqlite3_column_int64(st, 0),
                .type = column_text(st, 1) ?: "",
                .at = column_time(st, 2),
                .fault_id = sqlite3_column_int64(st, 3),
                .site = column_text(st, 4) ?: "",
                .device = column_text(st, 5) ?: "",
                .kind = column_text(st, 6) ?: "",
                .received_at = column_time(st, 7),
                .onsite_due = column_time(st, 8),
                .text = column_text(st, 9) ?: "",
                .os_user = column_text(st, 10) ?: "",
                .by = column_text(st, 11) ?: "",
        };

        return ((StoreEventFn) v->fn)(&e, v->userdata);
}

int store_foreach_event(Store *s, int64_t since_id, unsigned limit, StoreEventFn fn,
                        void *userdata) {
        StoreVisit v = { (StoreAnyFn) fn, userdata };

        if (since_id > 0)
                return store_each(s, STMT_EVENTS_AFTER, event_row, &v, sv_int(since_id),
                                  sv_int(limit));
        return store_each(s, STMT_EVENTS_LAST, event_row, &v, sv_int(limit));
}

typedef struct RecentVisit {
        unsigned mask;
        StoreRecentEventFn fn;
        void *userdata;
} RecentVisit;

static int recent_event_row(sqlite3_stmt *st, void *userdata) {
        const RecentVisit *v = userdata;
        int t = event_type_from_string(column_text(st, 1));

        if (t < 0 || !(v->mask & (1u << t)))
                return 0;
        return v->fn(column_text(st, 0) ?: "", (EventType) t, column_time(st, 2), v->userdata);
}

int store_foreach_recent_event(Store *s, unsigned mask, time_t since, StoreRecentEventFn fn,
                               void *userdata) {
        return store_each(s, STMT_EVENTS_RECENT, recent_event_row,
                          (&(RecentVisit) { mask, fn, userdata }), sv_int(since));
}
