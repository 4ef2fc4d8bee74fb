/* SPDX-License-Identifier: MIT */

/* The store's statement layer: store_each() over prepared statements,
 * store_transaction() (commit, rollback, savepoints), the hidden list's
 * column, and databases that are not ours failing at open. Real SQLite
 * files in a temporary directory. */

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "store-handover.h"
#include "store-internal.h"
#include "store.h"

#define STR_(x) #x
#define STR(x) STR_(x)

typedef struct Env {
        char dir[64];
        Store *store;
} Env;

static int setup(void **state) {
        Env *env = calloc(1, sizeof(Env));

        if (!env)
                return -1;
        (void) snprintf(env->dir, sizeof(env->dir), "/tmp/test-store-XXXXXX");
        if (!mkdtemp(env->dir) || store_open(env->dir, &env->store) < 0) {
                free(env);
                return -1;
        }
        *state = env;
        return 0;
}

static void remove_store(const char *dir) {
        char path[128];

        for (const char *const *x = (const char *const[]) { "", "-wal", "-shm", NULL }; *x; x++) {
                (void) snprintf(path, sizeof(path), "%s/" STORE_FILE "%s", dir, *x);
                (void) unlink(path);
        }
        (void) rmdir(dir);
}

static int teardown(void **state) {
        Env *env = *state;

        store_close(env->store);
        remove_store(env->dir);
        free(env);
        return 0;
}

static void add_event(Store *s, const char *device, time_t at, int64_t *ret_id) {
        Event e = { .type = EVENT_FAULT_RAISED, .at = at };

        (void) snprintf(e.device, sizeof(e.device), "%s", device);
        (void) snprintf(e.text, sizeof(e.text), "%s: test", device);
        assert_int_equal(store_event_insert(s, &e), 0);
        assert_true(e.id > 0);
        if (ret_id)
                *ret_id = e.id;
}

typedef struct Seen {
        size_t n, stop_after;
        int64_t ids[16];
        char devices[16][24];
} Seen;

static int seen_row(sqlite3_stmt *st, void *userdata) {
        Seen *x = userdata;

        if (x->stop_after > 0 && x->n == x->stop_after)
                return -ECANCELED;
        assert_true(x->n < ELEMENTSOF(x->ids));
        x->ids[x->n] = sqlite3_column_int64(st, 0);
        (void) snprintf(x->devices[x->n], sizeof(x->devices[0]), "%s", column_text(st, 5));
        x->n++;
        return 0;
}

static size_t count_events(Store *s) {
        Seen x = {};

        assert_int_equal(store_each(s, STMT_EVENTS_AFTER, seen_row, &x, sv_int(0), sv_int(100)),
                         0);
        return x.n;
}

static int int_row(void *userdata, int n, char **values, char **names) {
        (void) names;
        if (n == 1 && values[0])
                *(long *) userdata = strtol(values[0], NULL, 10);
        return 0;
}

/* The daemon's connection keeps a small page cache (issue 18: memory at
 * 10,000 sites): 512 KiB, not SQLite's default 2 MiB (-2000). */
static void test_page_cache_is_small(void **state) {
        Env *env = *state;
        long kib = 0;

        assert_int_equal(sqlite3_exec(env->store->db, "PRAGMA cache_size", int_row, &kib, NULL),
                         SQLITE_OK);
        assert_int_equal(kib, -512);
}

/* Every row, in order, with its parameters bound; a callback's error stops
 * the loop and comes back; the statement is usable again at once. */
static void test_each(void **state) {
        Env *env = *state;
        int64_t first;
        Seen x = {};

        add_event(env->store, "01-camera", 1000, &first);
        add_event(env->store, "02-camera", 1001, NULL);
        add_event(env->store, "03-camera", 1002, NULL);

        /* ?1 = after the first, ?2 = at most 5 */
        assert_int_equal(store_each(env->store, STMT_EVENTS_AFTER, seen_row, &x, sv_int(first),
                                    sv_int(5)),
                         0);
        assert_int_equal(x.n, 2);
        assert_int_equal(x.ids[0], first + 1);
        assert_string_equal(x.devices[0], "02-camera");
        assert_string_equal(x.devices[1], "03-camera");

        /* The limit is a bound parameter too. */
        x = (Seen) {};
        assert_int_equal(store_each(env->store, STMT_EVENTS_AFTER, seen_row, &x, sv_int(0),
                                    sv_int(1)),
                         0);
        assert_int_equal(x.n, 1);
        assert_string_equal(x.devices[0], "01-camera");

        /* Stopped by the callback: its error, and the rows before it. */
        x = (Seen) { .stop_after = 2 };
        assert_int_equal(store_each(env->store, STMT_EVENTS_AFTER, seen_row, &x, sv_int(0),
                                    sv_int(10)),
                         -ECANCELED);
        assert_int_equal(x.n, 2);

        /* ... and the statement was reset: a fresh loop sees every row, and
         * a write (which a statement left busy would not block, but VACUUM
         * would refuse) goes through. */
        assert_int_equal(count_events(env->store), 3);
        assert_int_equal(store_run(env->store, STMT_VACUUM), 0);

        /* No rows: fn never called, 0. */
        x = (Seen) {};
        assert_int_equal(store_each(env->store, STMT_EVENTS_AFTER, seen_row, &x, sv_int(first + 2),
                                    sv_int(10)),
                         0);
        assert_int_equal(x.n, 0);

        /* store_get(): the first row, or -ENOENT. */
        x = (Seen) {};
        assert_int_equal(store_get(env->store, STMT_EVENTS_AFTER, seen_row, &x, sv_int(first),
                                   sv_int(10)),
                         0);
        assert_int_equal(x.n, 1);
        assert_int_equal(store_get(env->store, STMT_EVENTS_AFTER, seen_row, &x, sv_int(first + 2),
                                   sv_int(10)),
                         -ENOENT);
}

static int nested_row(sqlite3_stmt *st, void *userdata) {
        Store *s = userdata;
        Seen x = {};

        (void) st;
        /* The same statement inside its own loop: refused, never corrupted. */
        return store_each(s, STMT_EVENTS_AFTER, seen_row, &x, sv_int(0), sv_int(10));
}

static void test_each_nested(void **state) {
        Env *env = *state;

        add_event(env->store, "01-camera", 1000, NULL);
        assert_int_equal(store_each(env->store, STMT_EVENTS_AFTER, nested_row, env->store,
                                    sv_int(0), sv_int(10)),
                         -EDEADLK);
        assert_int_equal(count_events(env->store), 1);
}

typedef struct Batch {
        const char *devices[4];
        int result;
} Batch;

static int write_batch(Store *s, void *userdata) {
        const Batch *b = userdata;

        for (size_t i = 0; i < ELEMENTSOF(b->devices) && b->devices[i]; i++)
                add_event(s, b->devices[i], 2000, NULL);
        return b->result;
}

/* Committed when fn returns >= 0 (its value comes back); rolled back when
 * it fails: none of its rows remain. */
static void test_transaction(void **state) {
        Env *env = *state;
        Store *reader = NULL;

        assert_int_equal(store_transaction(env->store, write_batch,
                                           &(Batch) { { "01-camera", "02-camera" }, 7 }),
                         7);
        assert_int_equal(count_events(env->store), 2);
        /* Durable: another connection sees it. */
        assert_int_equal(store_open_readonly(env->dir, &reader), 0);
        assert_int_equal(count_events(reader), 2);

        assert_int_equal(store_transaction(env->store, write_batch,
                                           &(Batch) { { "03-camera", "04-camera" }, -EIO }),
                         -EIO);
        assert_int_equal(count_events(env->store), 2);
        assert_int_equal(count_events(reader), 2);
        /* Not left inside a transaction. */
        assert_true(sqlite3_get_autocommit(env->store->db));

        /* Inside the caller's transaction: a savepoint. Its failure undoes
         * its own rows only; the caller's commit keeps the rest. */
        assert_int_equal(store_begin(env->store), 0);
        add_event(env->store, "05-camera", 2001, NULL);
        assert_int_equal(store_transaction(env->store, write_batch,
                                           &(Batch) { { "06-camera" }, -EINVAL }),
                         -EINVAL);
        assert_int_equal(store_transaction(env->store, write_batch,
                                           &(Batch) { { "07-camera" }, 0 }),
                         0);
        assert_false(sqlite3_get_autocommit(env->store->db));
        assert_int_equal(count_events(reader), 2);
        assert_int_equal(store_commit(env->store), 0);
        {
                Seen x = {};

                assert_int_equal(store_each(reader, STMT_EVENTS_AFTER, seen_row, &x, sv_int(0),
                                            sv_int(10)),
                                 0);
                assert_int_equal(x.n, 4);
                assert_string_equal(x.devices[2], "05-camera");
                assert_string_equal(x.devices[3], "07-camera");
        }
        store_close(reader);
}

/* A refusing database: the transaction's begin fails, fn never runs. */
static void test_transaction_busy(void **state) {
        Env *env = *state;
        char path[128];
        sqlite3 *holder = NULL;
        Batch b = { { "01-camera" }, 0 };

        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, env->dir);
        assert_int_equal(sqlite3_open(path, &holder), SQLITE_OK);
        assert_int_equal(sqlite3_exec(holder, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(store_transaction(env->store, write_batch, &b), -EBUSY);
        assert_int_equal(sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(holder), SQLITE_OK);
        assert_int_equal(count_events(env->store), 0);
        assert_int_equal(store_transaction(env->store, write_batch, &b), 0);
        assert_int_equal(count_events(env->store), 1);
}

static char *column_of(const char *dir, const char *sql) {
        char path[128];
        sqlite3 *db = NULL;
        sqlite3_stmt *st = NULL;
        char *v = NULL;

        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
        assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        v = strdup((const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        sqlite3_close(db);
        assert_non_null(v);
        return v;
}

/* Fault.hidden is a list; the column keeps its JSON array, as before. */
static void test_hidden_column(void **state) {
        Env *env = *state;
        char *ids[] = { "01-router", "01-camera" };
        Fault f = { .state = FAULT_OPEN, .detected_at = 1000 }, g = {}, none = f;
        _cleanup_(freep) char *text = NULL, *empty = NULL;

        strcpy(f.device, "01-tunnel");
        strcpy(f.kind, "site_down");
        f.hidden = ids;
        f.n_hidden = 2;
        assert_int_equal(store_fault_insert(env->store, &f), 0);
        text = column_of(env->dir, "SELECT hidden FROM faults WHERE id = 1");
        assert_string_equal(text, "[\"01-router\",\"01-camera\"]");
        assert_int_equal(store_fault_get(env->store, f.id, &g), 0);
        assert_int_equal(g.n_hidden, 2);
        assert_string_equal(g.hidden[0], "01-router");
        assert_string_equal(g.hidden[1], "01-camera");
        fault_done(&g);

        strcpy(none.device, "02-camera");
        assert_int_equal(store_fault_insert(env->store, &none), 0);
        empty = column_of(env->dir, "SELECT hidden FROM faults WHERE id = 2");
        assert_string_equal(empty, "[]");
        assert_int_equal(store_fault_get(env->store, none.id, &g), 0);
        assert_int_equal(g.n_hidden, 0);
        assert_null(g.hidden);
        fault_done(&g);
}

static int device_id(const DeviceRow *d, void *userdata) {
        char *ids = userdata;

        (void) snprintf(ids + strlen(ids), 128 - strlen(ids), "%s%s", ids[0] ? "," : "", d->id);
        return 0;
}

/* A device's values written once stay in its row while later writes
 * bring none (NULL): the monitor keeps them only until written. A new row
 * without values has "{}". */
static int device_values(const DeviceRow *d, void *userdata) {
        char *buf = userdata;

        (void) snprintf(buf + strlen(buf), 256 - strlen(buf), "%s%s=%s %s %lld", buf[0] ? "," : "",
                        d->id, d->state, d->values_json, (long long) d->last_probe_at);
        return 0;
}

static void test_device_values_kept(void **state) {
        Env *env = *state;
        char got[256] = "";

        assert_int_equal(store_put_device(env->store, &(DeviceRow) { .id = "01-camera",
                                                                     .kind = "camera",
                                                                     .state = "unknown",
                                                                     .latency_usec = -1 }),
                         0);
        assert_int_equal(store_foreach_device(env->store, device_values, got), 0);
        assert_string_equal(got, "01-camera=unknown {} 0");
        assert_int_equal(store_touch_device(env->store, "01-camera", 10, 5, "{\"sd\":\"ok\"}"), 0);
        assert_int_equal(store_touch_device(env->store, "01-camera", 20, 5, NULL), 0);
        assert_int_equal(store_put_device(env->store, &(DeviceRow) { .id = "01-camera",
                                                                     .kind = "camera",
                                                                     .state = "unreachable",
                                                                     .last_probe_at = 30,
                                                                     .latency_usec = 5 }),
                         0);
        got[0] = 0;
        assert_int_equal(store_foreach_device(env->store, device_values, got), 0);
        assert_string_equal(got, "01-camera=unreachable {\"sd\":\"ok\"} 30");
        assert_int_equal(store_put_device(env->store, &(DeviceRow) { .id = "01-camera",
                                                                     .kind = "camera",
                                                                     .state = "up",
                                                                     .last_probe_at = 40,
                                                                     .latency_usec = 5,
                                                                     .values_json = "{}" }),
                         0);
        got[0] = 0;
        assert_int_equal(store_foreach_device(env->store, device_values, got), 0);
        assert_string_equal(got, "01-camera=up {} 40");
}

/* The ids to keep go as one JSON array; the others are deleted. */
static void test_prune_devices(void **state) {
        Env *env = *state;
        static const char *const all[] = { "01-camera", "01-router", "vpn" };
        const char *keep[] = { "vpn", "01-camera", "09-camera" };
        char ids[128] = "";

        for (size_t i = 0; i < ELEMENTSOF(all); i++)
                assert_int_equal(store_put_device(env->store, &(DeviceRow) { .id = all[i],
                                                                             .kind = "camera",
                                                                             .state = "up",
                                                                             .latency_usec = -1 }),
                                 0);
        assert_int_equal(store_prune_devices(env->store, keep, ELEMENTSOF(keep)), 0);
        assert_int_equal(store_foreach_device(env->store, device_id, ids), 0);
        assert_string_equal(ids, "01-camera,vpn");
        assert_int_equal(store_touch_device(env->store, "01-router", 5, 1, "{}"), -ENOENT);
        assert_int_equal(store_prune_devices(env->store, NULL, 0), 0);
        ids[0] = 0;
        assert_int_equal(store_foreach_device(env->store, device_id, ids), 0);
        assert_string_equal(ids, "");
}

/* Runs fn with stderr in a file; returns what it wrote. */
static char *capture_stderr(int (*fn)(const char *dir, Store **ret), const char *dir, int *ret_r) {
        char path[] = "/tmp/test-store-err-XXXXXX";
        int fd = mkstemp(path), saved = dup(STDERR_FILENO);
        Store *s = NULL;
        char *text = calloc(1, 4096);

        assert_true(fd >= 0 && saved >= 0 && text);
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        *ret_r = fn(dir, &s);
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        assert_true(pread(fd, text, 4095, 0) >= 0);
        close(fd);
        unlink(path);
        assert_null(s);
        return text;
}

/* Not a database at all: -EBADMSG, for the daemon and for readers; the
 * file is left as it was. */
static void test_open_corrupt(void **state) {
        char dir[] = "/tmp/test-store-bad-XXXXXX", path[128], back[64] = "";
        static const char junk[] = "this is not an SQLite database, but a file of text\n";
        Store *s = NULL;
        int fd;

        (void) state;
        assert_non_null(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        for (int i = 0; i < 100; i++)
                assert_int_equal(write(fd, junk, sizeof(junk) - 1), (ssize_t) sizeof(junk) - 1);
        close(fd);
        assert_int_equal(store_open(dir, &s), -EBADMSG);
        assert_null(s);
        assert_int_equal(store_open_readonly(dir, &s), -EBADMSG);
        fd = open(path, O_RDONLY);
        assert_true(fd >= 0);
        assert_int_equal(read(fd, back, sizeof(junk) - 1), (ssize_t) sizeof(junk) - 1);
        close(fd);
        assert_string_equal(back, junk);
        remove_store(dir);
}

/* Another program's database that claims our schema version but has not
 * our tables: the open fails (-EBADMSG) and says what did not match,
 * before writing anything; its rows are still there. */
static void test_open_foreign(void **state) {
        char dir[] = "/tmp/test-store-foreign-XXXXXX", path[128];
        _cleanup_(freep) char *err = NULL, *err_ro = NULL, *kept = NULL;
        sqlite3 *db = NULL;
        int r;

        (void) state;
        assert_non_null(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                                      "CREATE TABLE faults (id INTEGER PRIMARY KEY, note TEXT);"
                                      "INSERT INTO faults (note) VALUES ('theirs');"
                                      "PRAGMA user_version = " STR(STORE_SCHEMA_VERSION) ";",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);

        err = capture_stderr(store_open, dir, &r);
        assert_int_equal(r, -EBADMSG);
        assert_non_null(strstr(err, "is not the one this fieldwatch expects"));
        assert_non_null(strstr(err, dir));
        assert_non_null(strstr(err, "no such"));

        err_ro = capture_stderr(store_open_readonly, dir, &r);
        assert_int_equal(r, -EBADMSG);
        assert_non_null(strstr(err_ro, "no such"));

        kept = column_of(dir, "SELECT note FROM faults");
        assert_string_equal(kept, "theirs");
        /* Nothing of ours was made in it. */
        free(kept);
        kept = column_of(dir, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'disposals'");
        assert_string_equal(kept, "0");
        remove_store(dir);
}

/* A database of this version that no daemon has opened since the
 * disposals table came to every open: readers still open it, and find no
 * disposal (the statements of that table are left out). */
static void test_open_readonly_without_disposals(void **state) {
        Env *env = *state;
        char path[128];
        sqlite3 *db = NULL;
        Store *reader = NULL;
        Disposal d = {};
        Seen x = {};

        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, env->dir);
        env->store = store_close(env->store);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, "DROP TABLE disposals", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);

        assert_int_equal(store_open_readonly(env->dir, &reader), 0);
        assert_int_equal(store_disposal_get(reader, 0, &d), -ENOENT);
        assert_int_equal(store_each(reader, STMT_EXPORT_DISPOSALS, seen_row, &x), 0);
        assert_int_equal(x.n, 0);
        store_close(reader);

        /* The daemon's open makes it again; a disposal is then found. */
        assert_int_equal(store_open(env->dir, &env->store), 0);
        d = (Disposal) { .at = 5000, .by = (char *) "someone", .what = (char *) "{}" };
        assert_int_equal(store_disposal_add(env->store, &d), 0);
        assert_int_equal(store_open_readonly(env->dir, &reader), 0);
        d = (Disposal) {};
        assert_int_equal(store_disposal_get(reader, 0, &d), 0);
        assert_int_equal(d.at, 5000);
        assert_string_equal(d.by, "someone");
        disposal_done(&d);
        store_close(reader);
}

/* What schema 10 added (store.c), taken away again. */
#define SCHEMA_10_UNDONE                                                                    \
        "DROP INDEX outbox_due; DROP INDEX outbox_fault_unsent;"                               \
        "CREATE INDEX outbox_pending ON outbox (sent_at, next_attempt_at);"   \
        "ALTER TABLE outbox DROP COLUMN abandoned;"

/* The store closed, sql run on its file by another program, the store
 * opened again (migrating what sql set back). */
static void reopen_after(Env *env, const char *sql) {
        char path[128];
        sqlite3 *db = NULL;

        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, env->dir);
        env->store = store_close(env->store);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        assert_int_equal(store_open(env->dir, &env->store), 0);
}

/* Schema 8 to 9: a fault whose security incident went out is marked so; an
 * open fault whose deferral came after its due (which reset its warning and
 * breach, and now moves nothing) has them struck; work keeps its notes. */
static void test_migration_9(void **state) {
        Env *env = *state;
        _cleanup_(freep) char *v = NULL;

        reopen_after(env,
                     SCHEMA_10_UNDONE
                     "ALTER TABLE faults DROP COLUMN incident_reported;"
                     "ALTER TABLE work DROP COLUMN edited;"
                     "INSERT INTO faults (id, site, device, kind, severity, state,"
                     " detected_at, received_at, onsite_due, deferral_eligible,"
                     " deferral_approved_at,"
                     " deferred_onsite_due, warned, breached)"
                     " VALUES (1, '05', '05-camera', 'auth_failed', 'degraded', 'open',"
                     " 100, 100, 200, 0, 300, 900, 0, 0),"
                     " (2, '06', '06-camera', 'camera_down', 'down', 'open',"
                     " 100, 100, 200, 0, 150, 900, 0, 0);"
                     "INSERT INTO events (type, at, fault_id, site, device, kind, text)"
                     " VALUES ('security_incident', 100, 1, '05', '05-camera',"
                     " 'auth_failed', 'x');"
                     "INSERT INTO work (start_at, end_at, person, title, content, notes,"
                     " recorded_at) VALUES (1, 2, 'p', 't', 'c', 'n', 3);"
                     "PRAGMA user_version = 8;");
        v = column_of(env->dir, "SELECT group_concat(id || ':' || incident_reported || warned"
                                " || breached, ' ') FROM faults ORDER BY id");
        assert_string_equal(v, "1:111 2:000");
        free(v);
        v = column_of(env->dir, "SELECT notes || '|' || edited FROM work");
        assert_string_equal(v, "n|");
        free(v);
        v = column_of(env->dir, "PRAGMA user_version");
        assert_string_equal(v, STR(STORE_SCHEMA_VERSION));
}

/* Schema 9 to 10: an unsent mail queued before is given up for nobody,
 * and the mailer's due mails are read through their index. */
static void test_migration_10(void **state) {
        Env *env = *state;
        _cleanup_(freep) char *v = NULL;

        reopen_after(env,
                     SCHEMA_10_UNDONE
                     "INSERT INTO outbox (fault_id, created_at, recipients,"
                     " message_id, subject, body, next_attempt_at,"
                     " delivered_to) VALUES (1, 100, 'a@x.invalid,"
                     " b@x.invalid', '<m@x>', 's', 'b', 100,"
                     " '[\"a@x.invalid\"]');"
                     "PRAGMA user_version = 9;");
        v = column_of(env->dir, "SELECT delivered_to || '|' || abandoned FROM outbox");
        assert_string_equal(v, "[\"a@x.invalid\"]|[]");
        free(v);
        v = column_of(env->dir, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                                " name IN ('outbox_due', 'outbox_fault_unsent')");
        assert_string_equal(v, "2");
        free(v);
        v = column_of(env->dir, "PRAGMA user_version");
        assert_string_equal(v, STR(STORE_SCHEMA_VERSION));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_page_cache_is_small, setup, teardown),
                cmocka_unit_test_setup_teardown(test_each, setup, teardown),
                cmocka_unit_test_setup_teardown(test_each_nested, setup, teardown),
                cmocka_unit_test_setup_teardown(test_transaction, setup, teardown),
                cmocka_unit_test_setup_teardown(test_transaction_busy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hidden_column, setup, teardown),
                cmocka_unit_test_setup_teardown(test_device_values_kept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_prune_devices, setup, teardown),
                cmocka_unit_test(test_open_corrupt),
                cmocka_unit_test(test_open_foreign),
                cmocka_unit_test_setup_teardown(test_migration_9, setup, teardown),
                cmocka_unit_test_setup_teardown(test_migration_10, setup, teardown),
                cmocka_unit_test_setup_teardown(test_open_readonly_without_disposals, setup,
                                                teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
