/* SPDX-License-Identifier: MIT */

/* The commit path (pipeline.c) with a real fault engine and a real store:
 * a fault's event and its mail are written together, and a mail that
 * cannot be composed never holds back the transaction. pipeline.c is
 * included so that the test can make mail_prepare() fail as a mail that is
 * too long does (the chrony way: the module's own code, one seam). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mail.h"

/* 0: mail_prepare() as it is; else the error it returns. */
static int prepare_error;

static int seam_mail_prepare(const Config *c, const Event *e, const Fault *f, time_t now,
                             OutboxMail *ret) {
        if (prepare_error < 0)
                return prepare_error;
        return mail_prepare(c, e, f, now, ret);
}

#define mail_prepare seam_mail_prepare
#include "pipeline.c"
#undef mail_prepare

static const char config_text[] =
        "contract: {name: t, start: 2025-12-01, end: 2031-11-30}\n"
        "probes: {fail_after: 3, recover_after: 2}\n"
        "notify: {smtp: {url: 'smtp://127.0.0.1:2525', tls: none},"
        " from: 'fieldwatch <fw@city.example.invalid>', to: [oncall@example.invalid]}\n"
        "sites:\n"
        "  - {id: '01', name: one, mount: wall,"
        " router: {address: 127.0.1.1, snmp: {version: 2c, community_credential: c}},"
        " camera: {address: 127.0.2.1, username: admin, password_credential: p}}\n";

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

typedef struct Env {
        char dir[PATH_MAX], log[PATH_MAX + 16];
        int saved_stderr;
        Config *config;
        Calendar *cal;
        Store *store;
        FaultEngine *faults;
        sd_event *event;
        Pipeline *pipeline;
        FaultOutput out;
} Env;

static time_t T(const char *s) {
        time_t t = 0;

        assert_int_equal(parse_iso_datetime(s, &t), 0);
        return t;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static int setup(void **state) {
        ConfigErrors errs = {};
        char *error = NULL;
        Env *env = calloc(1, sizeof(Env));
        int fd;

        if (!env || tz_use("Asia/Tokyo") < 0 || journal_set_mode(JOURNAL_MODE_STDERR) < 0)
                return -1;
        (void) snprintf(env->dir, sizeof(env->dir), "/tmp/test-pipeline-XXXXXX");
        if (!mkdtemp(env->dir))
                return -1;
        (void) snprintf(env->log, sizeof(env->log), "%s/log", env->dir);
        if (config_load_buffer("test.yaml", config_text, strlen(config_text), &errs,
                               &env->config) < 0) {
                config_errors_clear(&errs);
                return -1;
        }
        if (calendar_new(&env->config->calendar, ".", &env->cal, &error) < 0 ||
            store_open(env->dir, &env->store) < 0 ||
            faults_new(env->config, env->cal, &env->faults) < 0 ||
            sd_event_new(&env->event) < 0 ||
            pipeline_new(env->event, env->config, env->cal, env->store, env->faults,
                         &env->pipeline) < 0)
                return -1;
        /* The log (and the events' stderr lines), to be searched. */
        fflush(stderr);
        env->saved_stderr = dup(STDERR_FILENO);
        fd = open(env->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || env->saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
                return -1;
        (void) close(fd);
        prepare_error = 0;
        *state = env;
        return 0;
}

static int teardown(void **state) {
        Env *env = *state;

        fflush(stderr);
        (void) dup2(env->saved_stderr, STDERR_FILENO);
        (void) close(env->saved_stderr);
        fault_output_done(&env->out);
        env->pipeline = pipeline_free(env->pipeline);
        faults_free(env->faults);
        env->event = sd_event_unref(env->event);
        env->store = store_close(env->store);
        calendar_free(env->cal);
        config_free(env->config);
        if (!getenv("TEST_PIPELINE_KEEP"))
                (void) nftw(env->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
        free(env);
        return 0;
}

static char *log_text(Env *env) {
        FILE *f;
        char *buf = NULL;
        size_t len = 0;

        fflush(stderr);
        f = fopen(env->log, "re");
        assert_non_null(f);
        assert_true(getdelim(&buf, &len, 0, f) >= 0 || feof(f));
        fclose(f);
        return buf ?: strdup("");
}

/* One result through the engine and the pipeline; returns pipeline_commit(). */
static int feed(Env *env, size_t node, ProbeStatus s, time_t now) {
        assert_int_equal(faults_on_result(env->faults, node, s, s == PROBE_UP ? "" : "timeout",
                                          now, &env->out),
                         0);
        return pipeline_commit(env->pipeline, &env->out);
}

/* The camera of site 01 goes down (its router answers): the fault's raise. */
static int camera_down(Env *env, time_t t) {
        size_t camera = faults_site_node(env->faults, 0, NODE_CAMERA);
        size_t router = faults_site_node(env->faults, 0, NODE_ROUTER);
        int r = 0;

        assert_int_equal(feed(env, router, PROBE_UP, t - 60), 0);
        assert_int_equal(feed(env, camera, PROBE_UP, t - 60), 0);
        for (int i = 0; i < 3; i++)
                assert_int_equal(feed(env, camera, PROBE_DOWN, t + i), 0);
        r = feed(env, router, PROBE_UP, t + 3);
        assert_non_null(faults_node_fault(env->faults, camera));
        return r;
}

typedef struct Mails {
        size_t n;
        char *subject[4], *body[4];
        int64_t event_id[4];
} Mails;

static int collect_mail(const OutboxMail *m, void *userdata) {
        Mails *x = userdata;

        assert_true(x->n < ELEMENTSOF(x->subject));
        x->subject[x->n] = strdup(m->subject);
        x->body[x->n] = strdup(m->body);
        x->event_id[x->n++] = m->event_id;
        return 0;
}

static void mails_done(Mails *x) {
        for (size_t i = 0; i < x->n; i++) {
                free(x->subject[i]);
                free(x->body[i]);
        }
}

static int count_event(const EventRow *e, void *userdata) {
        (void) e;
        (*(size_t *) userdata)++;
        return 0;
}

static size_t events_stored(Env *env) {
        size_t n = 0;

        assert_int_equal(store_foreach_event(env->store, 0, 1000, count_event, &n), 0);
        return n;
}

/* A mail that cannot be composed (its body too long): the event and its
 * fault are stored all the same, with a short mail that says so, and the
 * log says it once; nothing waits in the backlog. */
static void test_uncomposable_mail_falls_back(void **state) {
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        Mails m = {};

        prepare_error = -E2BIG;
        assert_int_equal(camera_down(env, T("2026-11-25T10:00:00")), 0);
        assert_true(backlog_empty(&env->pipeline->backlog));
        assert_false(env->pipeline->refusing);
        assert_int_equal(events_stored(env), 1);
        assert_int_equal(store_foreach_mail(env->store, collect_mail, &m), 0);
        assert_int_equal(m.n, 1);
        assert_int_equal(m.event_id[0], 1);
        assert_string_equal(m.subject[0], "[fieldwatch] 障害発生 01 one カメラ応答なし");
        assert_true(strncmp(m.body[0], "現地着手期限: 2026-11-25 12:00\n", 34) == 0);
        assert_non_null(strstr(m.body[0], "この通知の本文を作成できませんでした（本文が上限"
                                          "（64 KiB）を超えます）"));
        assert_non_null(strstr(m.body[0], "fieldwatchctl events --since 0 --limit 1\n"));
        assert_non_null(strstr(m.body[0], "fieldwatchctl faults --json\n"));
        assert_non_null(strstr(m.body[0], "障害ID: 1\n"));
        mails_done(&m);
        log = log_text(env);
        assert_non_null(strstr(log, "The mail of event 1 (fault_raised, 01-camera) cannot be "
                                    "composed (its body would pass the size limit); a short "
                                    "mail that says so"));
}

/* Out of memory is no fault of the mail: the batch waits in the backlog and
 * is written, with its own mail, when it can be. */
static void test_out_of_memory_waits(void **state) {
        Env *env = *state;
        Mails m = {};

        prepare_error = -ENOMEM;
        assert_int_equal(camera_down(env, T("2026-11-25T10:00:00")), -ENOMEM);
        assert_false(backlog_empty(&env->pipeline->backlog));
        assert_int_equal(events_stored(env), 0);
        prepare_error = 0;
        assert_int_equal(pipeline_settle(env->pipeline), 0);
        assert_int_equal(events_stored(env), 1);
        assert_int_equal(store_foreach_mail(env->store, collect_mail, &m), 0);
        assert_int_equal(m.n, 1);
        assert_null(strstr(m.body[0], "作成できませんでした"));
        assert_non_null(strstr(m.body[0], "障害が発生しました。"));
        mails_done(&m);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_uncomposable_mail_falls_back, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_out_of_memory_waits, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
