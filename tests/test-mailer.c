/* SPDX-License-Identifier: MIT */

/* The mailer against a real SMTP server: tests/smtp_server.py (Debian's
 * aiosmtpd) run as a child on 127.0.0.1, with STARTTLS or implicit TLS
 * and AUTH (a test CA in tests/data), and with the failures a mail server
 * shows: down, 4xx, 5xx, hanging after DATA, refusing the login. The
 * mailer runs on a real sd-event loop from a real outbox, every wait is
 * bounded, and the test ends only the server processes it started.
 *
 * Checked each time: every mail reaches each of its recipients exactly
 * once, in an SMTP transaction of its own, and in order (a fault's mails in
 * their order), as the server's own decoder reads it (Python's email
 * package); the outbox's bookkeeping (whom a mail reached); and that the
 * SMTP password appears neither in the log nor in the outbox. Also a
 * recipient refused at RCPT (450 greylisting, 550). Runs from the
 * repository root (as `make unit` does). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <inttypes.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "mail.h"
#include "mailer-plan.h"
#include "mailer.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"

#define PYTHON "/usr/bin/python3"
#define SERVER_SCRIPT "tests/smtp_server.py"
#define TEST_CA "tests/data/smtp-test-ca.pem"
#define TEST_CERT "tests/data/smtp-test-server.pem"
#define TEST_KEY "tests/data/smtp-test-server.key"
#define PASSWORD "Tr0ub4dor&3-smtp-secret"
#define SMTP_USER "fieldwatch"
#define MAX_MAILS 40

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

typedef struct Env {
        char dir[PATH_MAX];          /* everything of the test lives here */
        char state[PATH_MAX], creds[PATH_MAX], mailbox[PATH_MAX], ready[PATH_MAX];
        char log[PATH_MAX], server_log[PATH_MAX];
        int port;
        pid_t server;
        int saved_stderr;
        Config *config;
        Store *store;
        sd_event *event;
        Mailer *mailer;
        OutboxMail mails[MAX_MAILS]; /* as queued */
        size_t n_mails;
        const char *to;              /* notify.to; NULL: on-call and the second */
        sd_event_source *ticker;     /* measures how long the loop ever stalls */
        uint64_t last_tick, max_gap;
} Env;

static void absolute(const char *path, char buf[static PATH_MAX]) {
        assert_non_null(realpath(path, buf));
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
        (void) st;
        (void) ftw;
        return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* A port nobody listens on now (the kernel's choice, released at once). */
static int free_port(void) {
        struct sockaddr_in a = {
                .sin_family = AF_INET,
                .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
        };
        socklen_t len = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        assert_int_equal(bind(fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(getsockname(fd, (struct sockaddr *) &a, &len), 0);
        (void) close(fd);
        return ntohs(a.sin_port);
}

/* ======================================================================== */
/* The server */

static void server_start(Env *env, const char *const *extra) {
        char port[16], cert[PATH_MAX], key[PATH_MAX], pwfile[PATH_MAX];
        const char *argv[32];
        size_t n = 0;
        uint64_t deadline;
        pid_t pid;

        absolute(TEST_CERT, cert);
        absolute(TEST_KEY, key);
        (void) snprintf(pwfile, sizeof(pwfile), "%s/smtp", env->creds);
        (void) snprintf(port, sizeof(port), "%d", env->port);
        argv[n++] = PYTHON;
        argv[n++] = SERVER_SCRIPT;
        argv[n++] = "--port";
        argv[n++] = port;
        argv[n++] = "--mailbox";
        argv[n++] = env->mailbox;
        argv[n++] = "--ready";
        argv[n++] = env->ready;
        for (; extra && *extra; extra++) {
                /* Placeholders for paths only known here. */
                argv[n++] = streq(*extra, "@CERT") ? cert
                            : streq(*extra, "@KEY") ? key
                            : streq(*extra, "@PWFILE") ? pwfile
                                                    : *extra;
                assert_true(n < ELEMENTSOF(argv) - 1);
        }
        argv[n] = NULL;
        (void) unlink(env->ready);

        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int fd = open(env->server_log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

                (void) prctl(PR_SET_PDEATHSIG, SIGTERM);
                if (fd >= 0) {
                        (void) dup2(fd, STDOUT_FILENO);
                        (void) dup2(fd, STDERR_FILENO);
                }
                execv(PYTHON, (char *const *) argv);
                _exit(127);
        }
        env->server = pid;
        /* Ready within 20 s, or the test fails. */
        deadline = now_usec(CLOCK_MONOTONIC) + 20 * USEC_PER_SEC;
        while (access(env->ready, F_OK) != 0) {
                int status;

                if (waitpid(pid, &status, WNOHANG) == pid) {
                        env->server = 0;
                        fail_msg("the SMTP server exited (status %d); see %s", status,
                                 env->server_log);
                }
                if (now_usec(CLOCK_MONOTONIC) > deadline)
                        fail_msg("the SMTP server did not start; see %s", env->server_log);
                (void) usleep(20000);
        }
}

/* Ends the server started by this test, by its PID only. */
static void server_stop(Env *env) {
        uint64_t deadline;
        int status;

        if (env->server <= 0)
                return;
        (void) kill(env->server, SIGTERM);
        deadline = now_usec(CLOCK_MONOTONIC) + 5 * USEC_PER_SEC;
        while (waitpid(env->server, &status, WNOHANG) == 0) {
                if (now_usec(CLOCK_MONOTONIC) > deadline) {
                        (void) kill(env->server, SIGKILL);
                        (void) waitpid(env->server, &status, 0);
                        break;
                }
                (void) usleep(20000);
        }
        env->server = 0;
}

/* The server's records, as JSON objects (an array). */
static json_t *mailbox_read(const Env *env) {
        json_t *all = json_array();
        FILE *f = fopen(env->mailbox, "re");
        char line[65536];

        assert_non_null(all);
        if (!f)
                return all;
        while (fgets(line, sizeof(line), f)) {
                json_error_t err;
                json_t *j = json_loads(line, 0, &err);

                if (!j)
                        fail_msg("bad mailbox line: %s", err.text);
                assert_int_equal(json_array_append_new(all, j), 0);
        }
        fclose(f);
        return all;
}

static const char *jstr(const json_t *o, const char *key) {
        return json_string_value(json_object_get(o, key));
}

/* The recipients of the test's mails (env_config). */
#define ONCALL "oncall@example.invalid"
#define SECOND "second@example.invalid"
#define SUPERVISOR "supervisor@example.invalid"

/* The only recipient of an accepted transaction: the mailer sends a mail to
 * each recipient in a transaction of its own. */
static const char *rcpt_of(const json_t *o) {
        const json_t *to = json_object_get(o, "rcpt_tos");

        assert_int_equal(json_array_size(to), 1);
        return json_string_value(json_array_get(to, 0));
}

/* The message ids the server accepted for rcpt, in order. */
static size_t accepted(const json_t *box, const char *rcpt,
                       const char *out[static MAX_MAILS * 4]) {
        size_t n = 0, i;
        json_t *o;

        json_array_foreach(box, i, o) {
                if (!streq_ptr(jstr(o, "status"), "accepted") || !streq(rcpt_of(o), rcpt))
                        continue;
                assert_true(n < MAX_MAILS * 4);
                out[n++] = jstr(o, "message_id");
        }
        return n;
}

static size_t count_accepted(const json_t *box) {
        size_t n = 0, i;
        json_t *o;

        json_array_foreach(box, i, o)
                n += streq_ptr(jstr(o, "status"), "accepted");
        return n;
}

/* ======================================================================== */
/* The daemon's side */

/* 0600: fieldwatchd refuses a credential that group or others may read. */
static void write_file(const char *path, const char *text) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        FILE *f = fd >= 0 ? fdopen(fd, "we") : NULL;

        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
}

/* The notify: section under test; the rest is the minimum a config needs. */
static void env_config(Env *env, const char *scheme, const char *tls, bool auth,
                       const char *timeout) {
        char text[4096], ca[PATH_MAX];
        ConfigErrors errs = {};
        int n;

        absolute(TEST_CA, ca);
        n = snprintf(text, sizeof(text),
                     "contract: {start: 2025-12-01, end: 2031-11-30}\n"
                     "notify:\n"
                     "  smtp: {url: '%s://127.0.0.1:%d', tls: %s, timeout: %s, ca_file: '%s'%s}\n"
                     "  from: 'fieldwatch <fieldwatch@city.example.invalid>'\n"
                     "  to: %s\n"
                     "  escalate_to: ['監督員 <supervisor@example.invalid>']\n"
                     "sites:\n"
                     "  - {id: '05', name: '市川市真間1-12-4 市川センタービル（南向き）',"
                     " mount: wall, router: {address: 127.0.1.5, snmp: {version: 2c,"
                     " community_credential: c}}, camera: {address: 127.0.2.5, username: admin,"
                     " password_credential: camera}}\n",
                     scheme, env->port, tls, timeout, ca,
                     auth ? ", username: " SMTP_USER ", password_credential: smtp" : "",
                     env->to ?: "[oncall@example.invalid, '保守担当 <second@example.invalid>']");
        assert_true(n > 0 && (size_t) n < sizeof(text));
        if (config_load_buffer("mailer-test.yaml", text, (size_t) n, &errs, &env->config) < 0) {
                for (size_t i = 0; i < errs.n_errors; i++)
                        print_message("%u:%u: %s\n", errs.errors[i].line, errs.errors[i].column,
                                      errs.errors[i].message);
                fail();
        }
        config_errors_clear(&errs);
}

/* Queues the mail of an event of a fault (fault_id 0: none) at `at` and
 * keeps a copy. */
static void queue_mail_at(Env *env, EventType t, int64_t fault_id, Fault *f, time_t at) {
        Event e = { .id = (int64_t) env->n_mails + 1, .type = t, .at = at,
                    .fault_id = fault_id };
        OutboxMail *m = &env->mails[env->n_mails];

        assert_true(env->n_mails < MAX_MAILS);
        strcpy(e.device, "05-camera");
        if (fault_id && f->id == 0) {
                /* First seen: the fault (its thread id set below, then kept). */
                *f = (Fault) { .id = fault_id, .severity = FAULT_DOWN, .state = FAULT_OPEN,
                               .detected_at = e.at, .received_at = e.at,
                               .onsite_due = e.at + 7200 };
                strcpy(f->site, "05");
                strcpy(f->device, "05-camera");
                strcpy(f->kind, "camera_down");
        }
        if (fault_id) {
                strcpy(e.site, "05");
                strcpy(e.kind, "camera_down");
                e.onsite_due = f->onsite_due;
        }
        (void) snprintf(e.text, sizeof(e.text), "mail %zu", env->n_mails + 1);
        assert_int_equal(mail_prepare(env->config, &e, fault_id ? f : NULL, at, m), 0);
        assert_int_equal(store_outbox_add(env->store, m), 0);
        /* The caller's part of the thread rule. */
        if (fault_id && !f->thread_id[0])
                (void) snprintf(f->thread_id, sizeof(f->thread_id), "%s", m->message_id);
        env->n_mails++;
}

static void queue_mail(Env *env, EventType t, int64_t fault_id, Fault *f) {
        queue_mail_at(env, t, fault_id, f, time(NULL));
}

/* Two faults: mails 1, 3 (and 4) are fault 1's, mail 2 is fault 2's. */
static void queue_standard(Env *env, size_t n) {
        Fault f1 = {}, f2 = {};
        static const EventType types[] = { EVENT_FAULT_RAISED, EVENT_FAULT_RAISED,
                                           EVENT_SLA_WARNING, EVENT_SLA_BREACH };

        for (size_t i = 0; i < n; i++)
                queue_mail(env, types[i % 4], i == 1 ? 2 : 1, i == 1 ? &f2 : &f1);
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Env *env = userdata;
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        (void) usec;
        if (env->last_tick)
                env->max_gap = MAX(env->max_gap, now - env->last_tick);
        env->last_tick = now;
        (void) sd_event_source_set_time_relative(s, 50 * USEC_PER_MSEC);
        return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

/* A timer every 50 ms, to see that the loop never waits on the mailer. */
static void ticker_start(Env *env) {
        assert_int_equal(sd_event_add_time_relative(env->event, &env->ticker, CLOCK_MONOTONIC,
                                                     50 * USEC_PER_MSEC, USEC_PER_MSEC, on_tick,
                                                     env),
                         0);
}

static void mailer_start(Env *env) {
        char pw[PATH_MAX];

        assert_int_equal(sd_event_new(&env->event), 0);
        (void) snprintf(pw, sizeof(pw), "%s/smtp", env->creds);
        write_file(pw, PASSWORD "\n");
        assert_int_equal(mailer_new(env->event, env->config, env->store, env->creds,
                                    &env->mailer),
                         0);
        mailer_set_backoff(env->mailer, 1 * USEC_PER_SEC, 2 * USEC_PER_SEC);
        mailer_kick(env->mailer);
}

typedef struct Counts {
        size_t unsent, failed;
} Counts;

static int count_mail(const OutboxMail *m, void *userdata) {
        Counts *c = userdata;

        c->unsent += m->sent_at == 0;
        c->failed += m->last_error != NULL;
        return 0;
}

static Counts counts(Env *env) {
        Counts c = {};

        assert_int_equal(store_foreach_mail(env->store, count_mail, &c), 0);
        return c;
}

static bool all_sent(Env *env) {
        return counts(env).unsent == 0 && !mailer_busy(env->mailer);
}

/* Runs the loop until done(env) or max_usec; an optional server start at
 * start_after_usec (0: none). Returns whether done. */
static bool run_until(Env *env, bool (*done)(Env *env), uint64_t max_usec,
                      uint64_t start_after_usec, const char *const *server_args) {
        uint64_t start = now_usec(CLOCK_MONOTONIC);

        for (;;) {
                if (done(env))
                        return true;
                if (now_usec(CLOCK_MONOTONIC) - start > max_usec)
                        return false;
                if (start_after_usec && env->server == 0 &&
                    now_usec(CLOCK_MONOTONIC) - start >= start_after_usec)
                        server_start(env, server_args);
                assert_true(sd_event_run(env->event, 50 * USEC_PER_MSEC) >= 0);
        }
}

typedef struct Row {
        int attempts;
        bool sent;
        char last_error[1100];
        char delivered_to[512];
        char abandoned[512];
} Row;

static int row_of(const OutboxMail *m, void *userdata) {
        Row *rows = userdata;

        if (m->id < 1 || m->id > MAX_MAILS)
                return 0;
        rows[m->id - 1] = (Row) { .attempts = m->attempts, .sent = m->sent_at > 0 };
        (void) snprintf(rows[m->id - 1].last_error, sizeof(rows[0].last_error), "%s",
                        m->last_error ?: "");
        (void) snprintf(rows[m->id - 1].delivered_to, sizeof(rows[0].delivered_to), "%s",
                        m->delivered_to ?: "");
        (void) snprintf(rows[m->id - 1].abandoned, sizeof(rows[0].abandoned), "%s",
                        m->abandoned ?: "");
        return 0;
}

static void rows(Env *env, Row out[static MAX_MAILS]) {
        memset(out, 0, MAX_MAILS * sizeof(Row));
        assert_int_equal(store_foreach_mail(env->store, row_of, out), 0);
}

/* Whether queued mail i (1-based) is addressed to rcpt. */
static bool mail_to(const Env *env, size_t i, const char *rcpt) {
        char **v;
        size_t n;
        bool found = false;

        assert_int_equal(mail_addresses(env->mails[i - 1].recipients, &v, &n), 0);
        for (size_t k = 0; k < n; k++)
                found = found || streq(v[k], rcpt);
        mail_addresses_free(v, n);
        return found;
}

/* rcpt got mails i (1-based) of order that are addressed to it, in this
 * order, each once. */
static void assert_delivered_to(Env *env, const char *rcpt, const size_t *order, size_t n) {
        json_t *box = mailbox_read(env);
        const char *ids[MAX_MAILS * 4];
        size_t k = accepted(box, rcpt, ids), w = 0;

        for (size_t j = 0; j < n; j++) {
                if (!mail_to(env, order[j], rcpt))
                        continue;
                if (w >= k)
                        fail_msg("%s got %zu mails, not mail %zu", rcpt, k, order[j]);
                if (!streq(ids[w], env->mails[order[j] - 1].message_id))
                        fail_msg("%s got %s as its mail %zu, expected mail %zu (%s)", rcpt,
                                 ids[w], w + 1, order[j], env->mails[order[j] - 1].message_id);
                w++;
        }
        if (k != w)
                fail_msg("%s got %zu mails, expected %zu", rcpt, k, w);
        json_decref(box);
}

/* Every accepted transaction is whole: the message as queued, as Python's
 * decoder reads it, to one recipient of the mail. */
static void assert_whole(Env *env) {
        json_t *box = mailbox_read(env), *o;
        size_t i;

        json_array_foreach(box, i, o) {
                const OutboxMail *m = NULL;
                const char *body = jstr(o, "body"), *irt = jstr(o, "in_reply_to");
                size_t j;

                if (!streq_ptr(jstr(o, "status"), "accepted"))
                        continue;
                for (j = 0; j < env->n_mails; j++)
                        if (streq_ptr(env->mails[j].message_id, jstr(o, "message_id"))) {
                                m = &env->mails[j];
                                break;
                        }
                assert_non_null(m);
                assert_true(mail_to(env, j + 1, rcpt_of(o)));
                assert_null(json_object_get(o, "parse_error"));
                /* What Python's decoder makes of the encoding. */
                assert_string_equal(jstr(o, "subject"), m->subject);
                assert_non_null(body);
                {
                        _cleanup_(freep) char *got = strdup(body);
                        char *w = got;

                        for (const char *r = body; *r; r++)
                                if (*r != '\r')
                                        *w++ = *r;
                        *w = 0;
                        assert_string_equal(got, m->body);
                }
                if (m->thread_id) {
                        assert_string_equal(irt, m->thread_id);
                        assert_string_equal(jstr(o, "references"), m->thread_id);
                } else
                        assert_null(irt);
                assert_string_equal(jstr(o, "mail_from"), "fieldwatch@city.example.invalid");
        }
        json_decref(box);
}

/* Every recipient got mails i (1-based) in this order (those addressed to
 * it), each once, whole. */
static void assert_delivered(Env *env, const size_t *order, size_t n) {
        assert_delivered_to(env, ONCALL, order, n);
        assert_delivered_to(env, SECOND, order, n);
        assert_delivered_to(env, SUPERVISOR, order, n);
        assert_whole(env);
}

/* ======================================================================== */
/* Secrets */

static char *b64(const void *data, size_t n) {
        char *s = malloc(4 * ((n + 2) / 3) + 1);

        assert_non_null(s);
        (void) EVP_EncodeBlock((unsigned char *) s, data, (int) n);
        return s;
}

static void assert_no_password_in(const char *what, const char *text) {
        static const char plain[] = "\0" SMTP_USER "\0" PASSWORD;
        _cleanup_(freep) char *login = b64(PASSWORD, strlen(PASSWORD));
        _cleanup_(freep) char *auth = b64(plain, sizeof(plain) - 1);

        if (strstr(text, PASSWORD) || strstr(text, login) || strstr(text, auth))
                fail_msg("the password is in %s:\n%s", what, text);
}

static int check_row_secret(const OutboxMail *m, void *userdata) {
        (void) userdata;
        assert_no_password_in("the outbox", m->last_error ?: "");
        assert_no_password_in("a mail", m->body);
        return 0;
}

static char *read_text(const char *path) {
        FILE *f = fopen(path, "re");
        char *buf = NULL;
        size_t len = 0;

        if (!f)
                return strdup("");
        assert_int_equal(getdelim(&buf, &len, 0, f) >= 0 || feof(f), 1);
        fclose(f);
        return buf ?: strdup("");
}

/* ======================================================================== */
/* Set-up: each test in a directory of its own; the log captured to a file. */

static int setup(void **state) {
        Env *env = calloc(1, sizeof(Env));

        if (!env || tz_use("Asia/Tokyo") < 0)
                return -1;
        (void) snprintf(env->dir, sizeof(env->dir), "/tmp/test-mailer-XXXXXX");
        if (!mkdtemp(env->dir))
                return -1;
        (void) snprintf(env->state, sizeof(env->state), "%s/state", env->dir);
        (void) snprintf(env->creds, sizeof(env->creds), "%s/credentials", env->dir);
        (void) snprintf(env->mailbox, sizeof(env->mailbox), "%s/mailbox.jsonl", env->dir);
        (void) snprintf(env->ready, sizeof(env->ready), "%s/ready", env->dir);
        (void) snprintf(env->log, sizeof(env->log), "%s/fieldwatch.log", env->dir);
        (void) snprintf(env->server_log, sizeof(env->server_log), "%s/server.log", env->dir);
        if (mkdir(env->state, 0700) < 0 || mkdir(env->creds, 0700) < 0 ||
            store_open(env->state, &env->store) < 0)
                return -1;
        env->port = free_port();
        /* The mailer's log, to be searched for the password afterwards. */
        fflush(stderr);
        env->saved_stderr = dup(STDERR_FILENO);
        {
                int fd = open(env->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

                if (fd < 0 || env->saved_stderr < 0 || dup2(fd, STDERR_FILENO) < 0)
                        return -1;
                (void) close(fd);
        }
        *state = env;
        return 0;
}

static int teardown(void **state) {
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        bool keep = getenv("TEST_MAILER_KEEP") != NULL;

        env->mailer = mailer_free(env->mailer);
        server_stop(env);
        fflush(stderr);
        (void) dup2(env->saved_stderr, STDERR_FILENO);
        (void) close(env->saved_stderr);
        log = read_text(env->log);
        /* cmocka reports failures on stderr too: show them, with the log. */
        if (getenv("TEST_MAILER_VERBOSE") || strstr(log, "[  ERROR   ]") ||
            strstr(log, "[   LINE   ]"))
                fprintf(stderr, "--- stderr during the test (%s):\n%s---\n", env->dir, log);
        assert_no_password_in("the log", log);
        assert_int_equal(store_foreach_mail(env->store, check_row_secret, NULL), 0);
        for (size_t i = 0; i < env->n_mails; i++)
                outbox_mail_done(&env->mails[i]);
        env->ticker = sd_event_source_disable_unref(env->ticker);
        env->event = sd_event_unref(env->event);
        env->store = store_close(env->store);
        env->config = config_free(env->config);
        if (!keep)
                (void) nftw(env->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(env);
        return 0;
}

static const char *log_text(Env *env, char **buf) {
        fflush(stderr);
        free(*buf);
        *buf = read_text(env->log);
        return *buf;
}

static size_t count_substr(const char *s, const char *needle) {
        size_t n = 0;

        for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
                n++;
        return n;
}

/* ======================================================================== */
/* The cases */

/* On-call got two mails. */
static bool oncall_got_two(Env *env) {
        json_t *box = mailbox_read(env);
        const char *ids[MAX_MAILS * 4];
        bool two = accepted(box, ONCALL, ids) >= 2;

        json_decref(box);
        return two;
}

static void test_plain(void **state) {
        static const char *const args[] = { NULL };
        static const size_t order[] = { 1, 2, 3 };
        Env *env = *state;
        json_t *box;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 3);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 3);
        box = mailbox_read(env);
        assert_false(json_is_true(json_object_get(json_array_get(box, 0), "tls")));
        json_decref(box);
        rows(env, r);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(r[i].attempts, 1);
                assert_true(r[i].sent);
                assert_string_equal(r[i].last_error, "");
        }
        /* The second mail of fault 1 answers its first. */
        assert_null(env->mails[0].thread_id);
        assert_string_equal(env->mails[2].thread_id, env->mails[0].message_id);
}

static void run_tls_auth(Env *env, const char *scheme, const char *tls, const char *server_tls,
                         const char *mechanism) {
        const char *const args[] = { server_tls, "@CERT", "@KEY", "--user", SMTP_USER,
                                     "--password-file", "@PWFILE", "--auth-mechanism",
                                     mechanism, NULL };
        static const size_t order[] = { 1, 2, 3, 4 };
        char who[64];
        json_t *box, *o;
        size_t i;

        env_config(env, scheme, tls, true, "5s");
        queue_standard(env, 4);
        mailer_start(env); /* writes the password file the server reads too */
        server_start(env, args);
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 4);
        (void) snprintf(who, sizeof(who), SMTP_USER "/%s", mechanism);
        box = mailbox_read(env);
        json_array_foreach(box, i, o) {
                assert_true(json_is_true(json_object_get(o, "tls")));
                assert_string_equal(jstr(o, "auth"), who);
        }
        json_decref(box);
}

static void test_starttls_auth_plain(void **state) {
        run_tls_auth(*state, "smtp", "required", "--starttls", "PLAIN");
}

/* AUTH LOGIN over STARTTLS. (tls: try with a password is a configuration
 * error: tests/configs/bad/55-tls-try-with-password.yaml.) */
static void test_starttls_auth_login(void **state) {
        run_tls_auth(*state, "smtp", "required", "--starttls", "LOGIN");
}

static void test_smtps(void **state) {
        run_tls_auth(*state, "smtps", "required", "--smtps", "PLAIN");
}

/* Down at first (nothing listens), up 2.5 s later: every mail arrives,
 * once, in order; while the server was unreachable only the oldest mail
 * was tried. */
static void test_server_down_first(void **state) {
        static const char *const args[] = { NULL };
        static const size_t order[] = { 1, 2, 3, 4 };
        Env *env = *state;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 4);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 2500 * USEC_PER_MSEC, args));
        assert_delivered(env, order, 4);
        rows(env, r);
        assert_true(r[0].attempts >= 2);
        for (size_t i = 1; i < 4; i++)
                assert_int_equal(r[i].attempts, 1);
        assert_true(r[0].sent && r[3].sent);
        assert_non_null(strstr(r[0].last_error, "onnect")); /* "Couldn't connect ..." */
}

/* 451 for the first two DATA (the first mail's, to each recipient): it is
 * retried until accepted; the mails of its fault wait behind it, so the
 * thread stays in order. */
static void test_451_then_accept(void **state) {
        static const char *const args[] = { "--fail-first", "2", NULL };
        static const size_t order[] = { 1, 2, 3 };
        Env *env = *state;
        json_t *box;
        Row r[MAX_MAILS];
        Fault f = {};

        env_config(env, "smtp", "none", false, "5s");
        for (int i = 0; i < 3; i++)
                queue_mail(env, i == 0 ? EVENT_FAULT_RAISED : EVENT_SLA_WARNING, 1, &f);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 3);
        box = mailbox_read(env);
        assert_int_equal(json_array_size(box), 8);
        for (size_t i = 0; i < 4; i++)
                assert_string_equal(jstr(json_array_get(box, i), "message_id"),
                                    env->mails[0].message_id);
        assert_string_equal(jstr(json_array_get(box, 0), "status"), "451");
        assert_string_equal(jstr(json_array_get(box, 1), "status"), "451");
        json_decref(box);
        rows(env, r);
        assert_int_equal(r[0].attempts, 2);
        assert_int_equal(r[1].attempts, 1);
        assert_int_equal(r[2].attempts, 1);
        assert_string_equal(r[0].delivered_to, "[\"" ONCALL "\",\"" SECOND "\"]");
        assert_true(strncmp(r[0].last_error, ONCALL ": SMTP 451: ", strlen(ONCALL) + 11) == 0);
        assert_non_null(strstr(r[0].last_error, "; " SECOND ": SMTP 451: "));
}

/* 550 twice for each recipient: still retried (the operator may fix the
 * server), but logged as an error once per recipient; the second refusal is
 * a warning. */
static void test_5xx_logged_once(void **state) {
        static const char *const args[] = { "--reject-first", "4", NULL };
        static const size_t order[] = { 1 };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 1);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 1);
        rows(env, r);
        assert_int_equal(r[0].attempts, 3);
        log_text(env, &log);
        assert_int_equal(count_substr(log, "refused by the server"), 2);
        assert_int_equal(count_substr(log, "refused by the server for " ONCALL ": SMTP 550"), 1);
        assert_int_equal(count_substr(log, "refused by the server for " SECOND ": SMTP 550"), 1);
        assert_int_equal(count_substr(log, "attempt 2 failed: SMTP 550"), 2);
        assert_int_equal(count_substr(log, "sent to"), 1);
}

/* The server hangs after the first DATA (mail 1 to on-call): the mailer
 * gives up after its timeout; the mail goes to the second recipient, the
 * other fault's mail to both, mail 1's fault's later mail to the second
 * only; the hung one is retried and its fault's later mail follows it. */
static void test_hang_mid_data(void **state) {
        static const char *const args[] = { "--hang-first", "1", NULL };
        static const size_t oncall[] = { 2, 1, 3 }, second[] = { 1, 2, 3 };
        Env *env = *state;
        Row r[MAX_MAILS];
        uint64_t t0;

        /* 5 s: the greeting and EHLO of a loaded machine's Python server
         * must not run into the timeout (then another mail's DATA hangs). */
        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 3);
        server_start(env, args);
        mailer_start(env);
        ticker_start(env);
        t0 = now_usec(CLOCK_MONOTONIC);
        assert_true(run_until(env, all_sent, 40 * USEC_PER_SEC, 0, NULL));
        assert_true(now_usec(CLOCK_MONOTONIC) - t0 >= 5 * USEC_PER_SEC); /* the timeout ended the hang */
        /* Meanwhile the loop went on: no stall anywhere near the hang's 5 s. */
        if (env->max_gap > USEC_PER_SEC)
                fail_msg("the loop stalled for %" PRIu64 " ms", env->max_gap / USEC_PER_MSEC);
        rows(env, r);
        {
                /* Once (make check, 2026-12-06) mail 1 came first: say what the
                 * server saw and what each mail's attempts ended in. */
                json_t *box = mailbox_read(env), *o;
                size_t i;

                json_array_foreach(box, i, o)
                        fprintf(stderr, "server: %s %s\n", jstr(o, "status"), jstr(o, "message_id"));
                for (size_t k = 0; k < 3; k++)
                        fprintf(stderr, "mail %zu: %d attempts, last error: %s\n", k + 1,
                                r[k].attempts, r[k].last_error);
                json_decref(box);
        }
        assert_delivered_to(env, ONCALL, oncall, 3);
        assert_delivered_to(env, SECOND, second, 3);
        assert_whole(env);
        assert_int_equal(r[0].attempts, 2);
        assert_int_equal(r[1].attempts, 1);
        /* To both at once when mail 1's retry (due within the second) came
         * first, else the second recipient's copy went first. */
        assert_true(r[2].attempts == 1 || r[2].attempts == 2);
        assert_non_null(strstr(r[0].last_error, "imeout"));
}

/* Another program holding the database's write lock (until the caller's
 * ROLLBACK and close). */
static sqlite3 *hold_write_lock(Env *env) {
        char path[PATH_MAX + 32];
        sqlite3 *holder = NULL;

        (void) snprintf(path, sizeof(path), "%s/fieldwatch.db", env->state);
        assert_int_equal(sqlite3_open(path, &holder), SQLITE_OK);
        assert_int_equal(sqlite3_exec(holder, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
        return holder;
}

/* The server accepts a mail but the database will not mark it sent (another
 * program holds the write lock): the mail is not sent again, nothing else
 * goes meanwhile, and once the lock is gone it is marked and the rest go. */
static void test_accepted_but_unrecorded(void **state) {
        static const char *const args[] = { NULL };
        static const size_t order[] = { 1, 2 };
        Env *env = *state;
        sqlite3 *holder = NULL;
        json_t *box;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 2);
        holder = hold_write_lock(env);
        server_start(env, args);
        mailer_start(env);
        (void) run_until(env, all_sent, 3 * USEC_PER_SEC, 0, NULL);
        box = mailbox_read(env);
        assert_int_equal(json_array_size(box), 2); /* to each recipient */
        for (size_t i = 0; i < 2; i++)
                assert_string_equal(jstr(json_array_get(box, i), "message_id"),
                                    env->mails[0].message_id);
        json_decref(box);
        assert_int_equal(sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(holder), SQLITE_OK);
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 2);
        rows(env, r);
        assert_int_equal(r[0].attempts, 1);
        assert_true(r[0].sent && r[1].sent);
}

/* The server refuses the first attempt to on-call (451; the second
 * recipient takes it) and the database will not record that (another
 * program holds the write lock): the mailer does not send the mail again at
 * once, in a loop, but keeps its backoff and whom it reached and waits for
 * the record; once the lock is gone the attempt is recorded and the mail
 * goes after its backoff to on-call only: each recipient gets it once. */
static void test_retry_unrecorded(void **state) {
        static const char *const args[] = { "--fail-first", "1", NULL };
        static const size_t order[] = { 1 };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        sqlite3 *holder = NULL;
        json_t *box;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 1);
        holder = hold_write_lock(env);
        server_start(env, args);
        mailer_start(env);
        /* Three backoffs (1 s) long: one attempt, not one after the other. */
        (void) run_until(env, all_sent, 3 * USEC_PER_SEC, 0, NULL);
        box = mailbox_read(env);
        assert_int_equal(json_array_size(box), 2);
        assert_string_equal(jstr(json_array_get(box, 0), "status"), "451");
        assert_string_equal(jstr(json_array_get(box, 1), "status"), "accepted");
        json_decref(box);
        assert_non_null(strstr(log_text(env, &log), "cannot be recorded yet"));
        /* A reload waits for it: the next mailer would not know. */
        assert_true(mailer_settle(env->mailer) < 0);
        assert_int_equal(sqlite3_exec(holder, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_close(holder), SQLITE_OK);
        assert_int_equal(mailer_settle(env->mailer), 0);
        assert_int_equal(mailer_settle(env->mailer), 0);
        assert_int_equal(mailer_settle(NULL), 0);
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 1);
        box = mailbox_read(env);
        assert_int_equal(json_array_size(box), 3);
        json_decref(box);
        rows(env, r);
        assert_int_equal(r[0].attempts, 2);
        assert_true(r[0].sent);
        assert_true(strncmp(r[0].last_error, ONCALL ": SMTP 451: ", strlen(ONCALL) + 11) == 0);
}

/* Greylisting: the server answers 450 to RCPT TO the second recipient,
 * once. On-call gets the mail at once, the second recipient on the retry,
 * nobody twice (curl's MAIL_RCPT_ALLOWFAILS had marked it sent, the second
 * recipient never getting it). The other fault's mail goes to both at once;
 * the first fault's later mail goes to on-call at once and to the second
 * recipient only after the first: each recipient reads the thread in order. */
static void test_rcpt_refused_then_delivered(void **state) {
        static const char *const args[] = { "--refuse-rcpt", SECOND, "1", "450", NULL };
        static const size_t oncall[] = { 1, 2, 3 }, second[] = { 2, 1, 3 };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        json_t *box;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 3); /* fault 1, fault 2, fault 1 */
        server_start(env, args);
        mailer_start(env);
        /* The retry at least 2 s away (the outbox counts whole seconds):
         * mails 2 and 3 go before it. */
        mailer_set_backoff(env->mailer, 3 * USEC_PER_SEC, 6 * USEC_PER_SEC);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        assert_delivered_to(env, ONCALL, oncall, 3);
        assert_delivered_to(env, SECOND, second, 3);
        assert_whole(env);
        box = mailbox_read(env);
        assert_int_equal(count_accepted(box), 6);
        assert_string_equal(jstr(json_array_get(box, 0), "status"), "accepted");
        assert_string_equal(jstr(json_array_get(box, 1), "status"), "rcpt-450");
        assert_string_equal(jstr(json_array_get(box, 1), "rcpt"), SECOND);
        json_decref(box);
        rows(env, r);
        for (size_t i = 0; i < 3; i++) {
                assert_true(r[i].sent);
                assert_string_equal(r[i].delivered_to, "[\"" ONCALL "\",\"" SECOND "\"]");
        }
        assert_int_equal(r[0].attempts, 2);
        assert_int_equal(r[1].attempts, 1);
        assert_int_equal(r[2].attempts, 2); /* on-call's, then the second's */
        assert_true(strncmp(r[0].last_error, SECOND ": SMTP 450: ", strlen(SECOND) + 11) == 0);
        assert_string_equal(r[1].last_error, "");
        log_text(env, &log);
        assert_int_equal(count_substr(log, " to " SECOND ": attempt 1 failed: SMTP 450"), 1);
        assert_int_equal(count_substr(log, "delivered to " ONCALL "; not yet to 1 more"), 2);
        assert_int_equal(count_substr(log, "refused by the server"), 0);
}

static bool oncall_recorded(Env *env) {
        Row r[MAX_MAILS];

        rows(env, r);
        return streq(r[0].delivered_to, "[\"" ONCALL "\"]") && !mailer_busy(env->mailer);
}

/* Whom a mail reached survives a restart: the next mailer sends it to the
 * refused recipient only. */
static void test_rcpt_refused_restart(void **state) {
        static const char *const args[] = { "--refuse-rcpt", SECOND, "1", "450", NULL };
        static const size_t order[] = { 1 };
        Env *env = *state;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_standard(env, 1);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, oncall_recorded, 10 * USEC_PER_SEC, 0, NULL));
        env->mailer = mailer_free(env->mailer);
        env->store = store_close(env->store);
        assert_int_equal(store_open(env->state, &env->store), 0);
        assert_int_equal(mailer_new(env->event, env->config, env->store, env->creds,
                                    &env->mailer),
                         0);
        mailer_set_backoff(env->mailer, 1 * USEC_PER_SEC, 2 * USEC_PER_SEC);
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 1);
        rows(env, r);
        assert_int_equal(r[0].attempts, 2);
}

/* A recipient the server refuses for good (550, twice, then a fix on the
 * server's side): said loudly once, retried with the backoff, and the
 * other recipient's mails do not wait for it. */
static void test_rcpt_550_others_go_on(void **state) {
        static const char *const args[] = { "--refuse-rcpt", SECOND, "2", "550", NULL };
        static const size_t order[] = { 1, 2 };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        const char *ids[MAX_MAILS * 4];
        Fault f = {};
        json_t *box;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_mail(env, EVENT_FAULT_RAISED, 1, &f);
        queue_mail(env, EVENT_FAULT_CLEARED, 1, &f);
        server_start(env, args);
        mailer_start(env);
        /* Both reach on-call before the second recipient's first retry. */
        assert_true(run_until(env, oncall_got_two, 10 * USEC_PER_SEC, 0, NULL));
        box = mailbox_read(env);
        assert_int_equal(accepted(box, SECOND, ids), 0);
        json_decref(box);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 2);
        rows(env, r);
        assert_int_equal(r[0].attempts, 3);
        assert_int_equal(r[1].attempts, 2);
        log_text(env, &log);
        assert_int_equal(count_substr(log, "refused by the server for " SECOND ": SMTP 550"), 1);
        assert_int_equal(count_substr(log, "check the address and the server"), 1);
        assert_int_equal(count_substr(log, " to " SECOND ": attempt 2 failed: SMTP 550"), 1);
}

static bool mail_is_hanging(Env *env) {
        json_t *box = mailbox_read(env);
        bool hanging = json_array_size(box) > 0 && mailer_busy(env->mailer);

        json_decref(box);
        return hanging;
}

/* A mailer freed while its mail hangs (a restart) leaves it unsent; the
 * next mailer sends it: at-least-once, never lost. */
static void test_free_while_sending(void **state) {
        static const char *const args[] = { "--hang-first", "1", NULL };
        static const size_t order[] = { 1 };
        Env *env = *state;
        Row r[MAX_MAILS];
        uint64_t t0;

        env_config(env, "smtp", "none", false, "10s");
        queue_standard(env, 1);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, mail_is_hanging, 20 * USEC_PER_SEC, 0, NULL));
        t0 = now_usec(CLOCK_MONOTONIC);
        env->mailer = mailer_free(env->mailer);
        assert_true(now_usec(CLOCK_MONOTONIC) - t0 < 3 * USEC_PER_SEC); /* the worker was told to stop */
        rows(env, r);
        assert_false(r[0].sent);
        assert_int_equal(r[0].attempts, 0);
        assert_int_equal(mailer_new(env->event, env->config, env->store, env->creds,
                                    &env->mailer),
                         0);
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        assert_delivered(env, order, 1);
}

static bool login_refused_twice(Env *env) {
        Row r[MAX_MAILS];

        rows(env, r);
        return r[0].attempts >= 2 && !mailer_busy(env->mailer);
}

/* A wrong password: refused, retried, and the password (in any form AUTH
 * sends it) is in neither the log nor the outbox (checked in teardown). */
static void test_login_refused(void **state) {
        const char *const args[] = { "--starttls", "@CERT", "@KEY", "--user", SMTP_USER,
                                     "--password-file", "@PWFILE", NULL };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        char pwfile[PATH_MAX];
        Row r[MAX_MAILS];
        json_t *box;

        env_config(env, "smtp", "required", true, "5s");
        queue_standard(env, 2);
        mailer_start(env);
        /* The server expects another password. */
        (void) snprintf(pwfile, sizeof(pwfile), "%s/smtp", env->creds);
        write_file(pwfile, "another-password\n");
        server_start(env, args);
        assert_true(run_until(env, login_refused_twice, 20 * USEC_PER_SEC, 0, NULL));
        rows(env, r);
        assert_false(r[0].sent);
        assert_int_equal(r[1].attempts, 0); /* a login failure holds every mail */
        assert_non_null(strstr(r[0].last_error, "Login denied"));
        log_text(env, &log);
        assert_non_null(strstr(log, "Login denied"));
        box = mailbox_read(env);
        assert_int_equal(json_array_size(box), 0);
        json_decref(box);
}

static void test_missing_credential(void **state) {
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;

        env_config(env, "smtp", "required", true, "5s");
        assert_int_equal(sd_event_new(&env->event), 0);
        assert_int_equal(mailer_new(env->event, env->config, env->store, env->creds,
                                    &env->mailer),
                         -ENOENT);
        assert_null(env->mailer);
        log_text(env, &log);
        assert_non_null(strstr(log, "SMTP password credential 'smtp'"));
}

/* ======================================================================== */
/* Mail storms: digests (notify.digest_after, 10 here) */

#define STORM_FAULT_BASE 100         /* fault ids 101, 102, ...: all of three digits */

static time_t minute_start(time_t t) {
        return t - t % 60;
}

/* n faults raised at `at`, each its own (fault STORM_FAULT_BASE + mail number). */
static void queue_storm(Env *env, size_t n, time_t at) {
        for (size_t i = 0; i < n; i++) {
                Fault f = {};

                queue_mail_at(env, EVENT_FAULT_RAISED,
                              STORM_FAULT_BASE + (int64_t) env->n_mails + 1, &f, at);
                fault_done(&f);
        }
}

static bool is_digest(const json_t *o) {
        return strncmp(jstr(o, "message_id") ?: "", "<fw.digest.", 11) == 0;
}

/* The mails accepted for rcpt, in order: "1".."n" for the mails queued,
 * "D" for a digest. */
static void accepted_kinds_to(Env *env, const char *rcpt, char *buf, size_t size) {
        json_t *box = mailbox_read(env), *o;
        size_t i, len = 0;

        buf[0] = 0;
        json_array_foreach(box, i, o) {
                const char *id = jstr(o, "message_id");
                size_t j;

                if (!streq_ptr(jstr(o, "status"), "accepted") || !streq(rcpt_of(o), rcpt))
                        continue;
                for (j = 0; j < env->n_mails; j++)
                        if (streq_ptr(env->mails[j].message_id, id))
                                break;
                if (is_digest(o))
                        len += (size_t) snprintf(buf + len, size - len, "D ");
                else if (j < env->n_mails)
                        len += (size_t) snprintf(buf + len, size - len, "%zu ", j + 1);
                else
                        len += (size_t) snprintf(buf + len, size - len, "? ");
                assert_true(len < size);
        }
        if (len > 0)
                buf[len - 1] = 0;
        json_decref(box);
}

/* The same for both recipients of the storm's mails: on-call's. */
static void accepted_kinds(Env *env, char *buf, size_t size) {
        char second[1024];

        accepted_kinds_to(env, ONCALL, buf, size);
        accepted_kinds_to(env, SECOND, second, sizeof(second));
        assert_string_equal(second, buf);
}

/* The accepted digests for on-call, in order (new references). */
static size_t digests_of(json_t *box, json_t *out[static 8]) {
        size_t n = 0, i;
        json_t *o;

        json_array_foreach(box, i, o)
                if (streq_ptr(jstr(o, "status"), "accepted") && streq(rcpt_of(o), ONCALL) &&
                    is_digest(o)) {
                        assert_true(n < 8);
                        out[n++] = o;
                }
        return n;
}

/* Every queued mail from first to last (1-based) reached the server exactly
 * once: alone, or as an entry of exactly one accepted digest; digests are
 * whole (Python's decoder), never threaded, and accepted once each. */
static void assert_each_once_to(Env *env, const char *rcpt, size_t first, size_t last) {
        json_t *box = mailbox_read(env), *o;
        size_t seen[MAX_MAILS] = {}, i;

        json_array_foreach(box, i, o) {
                const char *body = jstr(o, "body") ?: "";

                if (!streq_ptr(jstr(o, "status"), "accepted") || !streq(rcpt_of(o), rcpt))
                        continue;
                assert_null(json_object_get(o, "parse_error"));
                for (size_t j = 0; j < env->n_mails; j++) {
                        char needle[64];

                        if (!is_digest(o)) {
                                seen[j] += streq_ptr(env->mails[j].message_id,
                                                     jstr(o, "message_id"));
                                continue;
                        }
                        (void) snprintf(needle, sizeof(needle), "障害ID: %lld  ",
                                        (long long) env->mails[j].fault_id);
                        seen[j] += count_substr(body, needle);
                }
                if (is_digest(o)) {
                        assert_null(jstr(o, "in_reply_to"));
                        assert_non_null(strstr(jstr(o, "subject"), "件の障害通知（まとめ "));
                        assert_true(strncmp(body, "現地着手期限（最も早いもの）: ",
                                            strlen("現地着手期限（最も早いもの）: ")) == 0);
                }
        }
        json_decref(box);
        for (size_t j = first - 1; j < last; j++)
                if (seen[j] != 1)
                        fail_msg("mail %zu (fault %lld) reached %s %zu times", j + 1,
                                 (long long) env->mails[j].fault_id, rcpt, seen[j]);
}

static void assert_each_once(Env *env, size_t first, size_t last) {
        assert_each_once_to(env, ONCALL, first, last);
        assert_each_once_to(env, SECOND, first, last);
}

typedef struct DigestRow {
        size_t n;
        int64_t id;
        int attempts, count;
        time_t created_at, sent_at;
        size_t held, carried, unsent;
} DigestRow;

static int digest_row_of(const OutboxMail *m, void *userdata) {
        DigestRow *d = userdata;

        d->held += m->held_until > 0;
        d->carried += m->digest_id > 0;
        d->unsent += m->sent_at == 0;
        if (m->digest_count == 0)
                return 0;
        d->n++;
        d->id = m->id;
        d->attempts = m->attempts;
        d->count = m->digest_count;
        d->created_at = m->created_at;
        d->sent_at = m->sent_at;
        return 0;
}

/* The (last) digest row and the outbox's tallies. */
static DigestRow digest_row(Env *env) {
        DigestRow d = {};

        assert_int_equal(store_foreach_mail(env->store, digest_row_of, &d), 0);
        return d;
}

static bool digest_queued(Env *env) {
        return digest_row(env).n > 0;
}

/* 30 faults in one minute: the first 10 alone, in order, then one digest
 * naming the other 20, each once; the log says so. */
static void test_digest_storm(void **state) {
        static const char *const args[] = { NULL };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        char kinds[256], want_id[128];
        json_t *box, *digests[8];
        DigestRow d;

        env_config(env, "smtp", "none", false, "5s");
        queue_storm(env, 30, minute_start(time(NULL)) - 120 + 5);
        for (size_t i = 0; i < 30; i++)
                assert_int_equal(env->mails[i].held_until > 0, i >= 10);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        accepted_kinds(env, kinds, sizeof(kinds));
        assert_string_equal(kinds, "1 2 3 4 5 6 7 8 9 10 D");
        assert_each_once(env, 1, 30);
        d = digest_row(env);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.count, 20);
        assert_int_equal(d.attempts, 1);
        assert_int_equal(d.carried, 20);
        assert_int_equal(d.unsent, 0);
        box = mailbox_read(env);
        assert_int_equal(digests_of(box, digests), 1);
        (void) snprintf(want_id, sizeof(want_id), "<fw.digest.%lld@city.example.invalid>",
                        (long long) env->mails[10].id);
        assert_string_equal(jstr(digests[0], "message_id"), want_id);
        assert_non_null(strstr(jstr(digests[0], "subject"), "20件の障害通知"));
        assert_int_equal(count_substr(jstr(digests[0], "body"), ". [障害発生] 05 "), 20);
        json_decref(box);
        log_text(env, &log);
        assert_int_equal(count_substr(log, "Mail storm: more than 10 mails"), 1);
        assert_int_equal(count_substr(log, "it carries 20 held mails"), 1);
        assert_int_equal(count_substr(log, "it carried 20 held mails"), 1);
}

/* Two minutes of storm (15, then 12): each minute its 10 alone and its own
 * digest (5, then 2). */
static void test_digest_two_minutes(void **state) {
        static const char *const args[] = { NULL };
        Env *env = *state;
        time_t m0 = minute_start(time(NULL));
        char kinds[256];
        json_t *box, *digests[8];

        env_config(env, "smtp", "none", false, "5s");
        queue_storm(env, 15, m0 - 180 + 50);
        queue_storm(env, 12, m0 - 120 + 1);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        accepted_kinds(env, kinds, sizeof(kinds));
        assert_string_equal(kinds, "1 2 3 4 5 6 7 8 9 10 16 17 18 19 20 21 22 23 24 25 D D");
        assert_each_once(env, 1, 27);
        box = mailbox_read(env);
        assert_int_equal(digests_of(box, digests), 2);
        assert_non_null(strstr(jstr(digests[0], "subject"), "5件の障害通知"));
        assert_non_null(strstr(jstr(digests[0], "body"), "障害ID: 111  "));
        assert_null(strstr(jstr(digests[0], "body"), "障害ID: 126  "));
        assert_non_null(strstr(jstr(digests[1], "subject"), "2件の障害通知"));
        assert_non_null(strstr(jstr(digests[1], "body"), "障害ID: 127  "));
        json_decref(box);
        assert_int_equal(digest_row(env).n, 2);
}

static bool singles_sent(Env *env) {
        return digest_row(env).unsent == 3 && !mailer_busy(env->mailer);
}

/* The digest is made when the minute ends, not before: the mailer's clock
 * is set (--pretend-now) to 8 s before a minute's end. */
static void test_digest_waits_for_minute_end(void **state) {
        static const char *const args[] = { NULL };
        Env *env = *state;
        time_t m = minute_start(time(NULL)) + 120;
        char kinds[256];
        DigestRow d;

        env_config(env, "smtp", "none", false, "5s");
        wallclock_pretend(m + 52);
        queue_storm(env, 13, m + 50);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, singles_sent, 15 * USEC_PER_SEC, 0, NULL));
        if (wallclock_now() < m + 60) {
                accepted_kinds(env, kinds, sizeof(kinds));
                assert_string_equal(kinds, "1 2 3 4 5 6 7 8 9 10");
                assert_int_equal(digest_row(env).n, 0);
        }
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        accepted_kinds(env, kinds, sizeof(kinds));
        assert_string_equal(kinds, "1 2 3 4 5 6 7 8 9 10 D");
        assert_each_once(env, 1, 13);
        d = digest_row(env);
        assert_int_equal(d.count, 3);
        assert_true(d.created_at >= m + 60);
        assert_true(d.sent_at >= m + 60);
        wallclock_pretend(time(NULL));
}

/* Restarts: before the mailer ran (the held mails are all there is), and
 * after the digest was made but not sent (the server down): one digest,
 * made once, sent once; a restart after that sends nothing again. */
static void test_digest_restart(void **state) {
        static const char *const args[] = { NULL };
        Env *env = *state;
        char kinds[256];
        DigestRow d;

        env_config(env, "smtp", "none", false, "5s");
        queue_storm(env, 30, minute_start(time(NULL)) - 120 + 30);
        env->store = store_close(env->store);
        assert_int_equal(store_open(env->state, &env->store), 0);

        mailer_start(env); /* nothing listens yet */
        assert_true(run_until(env, digest_queued, 10 * USEC_PER_SEC, 0, NULL));
        env->mailer = mailer_free(env->mailer);
        env->event = sd_event_unref(env->event);
        env->store = store_close(env->store);
        assert_int_equal(store_open(env->state, &env->store), 0);
        d = digest_row(env);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.carried, 20);
        assert_int_equal(d.sent_at, 0);

        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        accepted_kinds(env, kinds, sizeof(kinds));
        assert_string_equal(kinds, "1 2 3 4 5 6 7 8 9 10 D");
        assert_each_once(env, 1, 30);
        assert_int_equal(digest_row(env).n, 1);

        env->mailer = mailer_free(env->mailer);
        env->event = sd_event_unref(env->event);
        env->store = store_close(env->store);
        assert_int_equal(store_open(env->state, &env->store), 0);
        mailer_start(env);
        (void) run_until(env, all_sent, 0, 0, NULL);
        for (int i = 0; i < 30; i++)
                assert_true(sd_event_run(env->event, 50 * USEC_PER_MSEC) >= 0);
        accepted_kinds(env, kinds, sizeof(kinds));
        assert_string_equal(kinds, "1 2 3 4 5 6 7 8 9 10 D");
        assert_int_equal(digest_row(env).n, 1);
}

/* 451 for the digest's first attempt, to both recipients: retried with its
 * backoff, accepted once by each; the mails it carries are marked sent with
 * it, once. */
static void test_digest_451_retried(void **state) {
        static const char *const args[] = { "--fail-first", "2", NULL };
        Env *env = *state;
        char kinds[256];
        json_t *box, *o;
        DigestRow d;
        size_t i;

        env_config(env, "smtp", "none", false, "5s");
        queue_storm(env, 30, minute_start(time(NULL)) - 120 + 10);
        /* The ten that go alone were sent before: only the digest is left. */
        for (size_t j = 0; j < 10; j++)
                assert_int_equal(store_outbox_sent(env->store, env->mails[j].id, time(NULL), NULL),
                                 0);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 30 * USEC_PER_SEC, 0, NULL));
        accepted_kinds(env, kinds, sizeof(kinds));
        assert_string_equal(kinds, "D");
        assert_each_once(env, 11, 30);
        box = mailbox_read(env);
        assert_int_equal(json_array_size(box), 4);
        json_array_foreach(box, i, o) {
                assert_true(is_digest(o));
                assert_string_equal(jstr(o, "status"), i < 2 ? "451" : "accepted");
        }
        json_decref(box);
        d = digest_row(env);
        assert_int_equal(d.n, 1);
        assert_int_equal(d.attempts, 2);
        assert_int_equal(d.unsent, 0);
}

/* ======================================================================== */
/* Giving up (mailer-plan.h) */

static bool mail1_sent(Env *env) {
        Row r[MAX_MAILS];

        rows(env, r);
        return r[0].sent && !mailer_busy(env->mailer);
}

/* A recipient the server refuses for good (550, every time) and the
 * operator then removes from notify.to, with a reload: the mails queued
 * before are given up for it at once, loudly, and marked sent; the other
 * recipient has them, in order. */
static void test_rcpt_removed_by_reload(void **state) {
        static const char *const args[] = { "--refuse-rcpt", SECOND, "1000", "550", NULL };
        static const size_t order[] = { 1, 2 };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        const char *ids[MAX_MAILS * 4];
        Fault f = {};
        json_t *box;
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_mail(env, EVENT_FAULT_RAISED, 1, &f);
        queue_mail(env, EVENT_FAULT_CLEARED, 1, &f);
        server_start(env, args);
        mailer_start(env);
        mailer_set_backoff(env->mailer, 600 * USEC_PER_SEC, 1800 * USEC_PER_SEC);
        assert_true(run_until(env, oncall_got_two, 10 * USEC_PER_SEC, 0, NULL));
        assert_int_equal(counts(env).unsent, 2);

        /* The reload: a new configuration, a new mailer. */
        env->mailer = mailer_free(env->mailer);
        env->config = config_free(env->config);
        env->to = "[oncall@example.invalid]";
        env_config(env, "smtp", "none", false, "5s");
        assert_int_equal(mailer_new(env->event, env->config, env->store, env->creds,
                                    &env->mailer),
                         0);
        assert_true(run_until(env, all_sent, 10 * USEC_PER_SEC, 0, NULL));
        assert_delivered_to(env, ONCALL, order, 2);
        box = mailbox_read(env);
        assert_int_equal(accepted(box, SECOND, ids), 0);
        json_decref(box);
        rows(env, r);
        for (size_t i = 0; i < 2; i++) {
                assert_string_equal(r[i].delivered_to, "[\"" ONCALL "\"]");
                assert_string_equal(r[i].abandoned, "[\"" SECOND "\"]");
        }
        log_text(env, &log);
        assert_int_equal(count_substr(log, ") given up for " SECOND ": the address is no longer "
                                           "in notify.to"),
                         2);
        assert_int_equal(count_substr(log, "reached nobody"), 0);
}

/* 550 for one recipient: a mail queued more than a day ago is given up
 * for it at that refusal; one queued now is still retried. A mail that
 * reaches nobody says so. */
static void test_5xx_given_up_after_a_day(void **state) {
        static const char *const args[] = { "--refuse-rcpt", SECOND, "1000", "550", NULL };
        Env *env = *state;
        _cleanup_(freep) char *log = NULL;
        time_t now = time(NULL);
        Fault f1 = {}, f2 = {};
        Row r[MAX_MAILS];

        env->to = "['保守担当 <second@example.invalid>']";
        env_config(env, "smtp", "none", false, "5s");
        queue_mail_at(env, EVENT_FAULT_RAISED, 1, &f1, now - MAILER_GIVE_UP_SEC - 60);
        queue_mail_at(env, EVENT_FAULT_RAISED, 2, &f2, now);
        server_start(env, args);
        mailer_start(env);
        mailer_set_backoff(env->mailer, 600 * USEC_PER_SEC, 1800 * USEC_PER_SEC);
        assert_true(run_until(env, mail1_sent, 10 * USEC_PER_SEC, 0, NULL));
        /* Mail 2's first refusal, then its retry far away. */
        (void) run_until(env, all_sent, 2 * USEC_PER_SEC, 0, NULL);
        rows(env, r);
        assert_true(r[0].sent);
        assert_string_equal(r[0].delivered_to, "[]");
        assert_string_equal(r[0].abandoned, "[\"" SECOND "\"]");
        assert_false(r[1].sent);
        assert_string_equal(r[1].abandoned, "[]");
        assert_int_equal(r[1].attempts, 1);
        log_text(env, &log);
        assert_int_equal(count_substr(log, ") given up for " SECOND ": refused (SMTP 550"), 1);
        assert_int_equal(count_substr(log, "reached nobody"), 1);
        assert_int_equal(count_substr(log, "refused by the server for " SECOND), 1); /* mail 2 */
}

/* The relay refuses our sender at MAIL FROM (a 5xx before any recipient):
 * that says nothing of the recipients, so a day-old mail is not given up
 * for them; the mailer waits for the server and delivers it once it takes
 * the sender again. */
static void test_sender_refused_gives_nobody_up(void **state) {
        static const char *const args[] = { "--refuse-mail-from", "1", "550", NULL };
        Env *env = *state;
        Fault f1 = {};
        Row r[MAX_MAILS];

        env_config(env, "smtp", "none", false, "5s");
        queue_mail_at(env, EVENT_FAULT_RAISED, 1, &f1, time(NULL) - MAILER_GIVE_UP_SEC - 60);
        server_start(env, args);
        mailer_start(env);
        assert_true(run_until(env, all_sent, 20 * USEC_PER_SEC, 0, NULL));
        rows(env, r);
        assert_true(r[0].sent);
        assert_string_equal(r[0].abandoned, "[]");
        assert_int_equal(r[0].attempts, 2);
}

static bool first_failed(Env *env) {
        return counts(env).failed > 0 && !mailer_busy(env->mailer);
}

/* The server down in a mass outage: while the mailer waits out the pause,
 * a kick (a new mail) reads nothing of the outbox; before, every kick read
 * every unsent mail. Rows counted, not time. */
static void test_paused_reads_nothing(void **state) {
        const size_t n = 2000;
        Env *env = *state;
        uint64_t before;

        env_config(env, "smtp", "none", false, "5s");
        assert_int_equal(store_begin(env->store), 0);
        for (size_t i = 0; i < n; i++) {
                Event e = { .id = (int64_t) i + 1, .type = EVENT_ANOMALY, .at = time(NULL) };
                OutboxMail m = {};

                strcpy(e.device, "05-camera");
                (void) snprintf(e.text, sizeof(e.text), "mail %zu", i + 1);
                assert_int_equal(mail_prepare(env->config, &e, NULL, e.at, &m), 0);
                m.digest_after = 0; /* no digest: the pause alone is under test */
                assert_int_equal(store_outbox_add(env->store, &m), 0);
                outbox_mail_done(&m);
        }
        assert_int_equal(store_commit(env->store), 0);
        mailer_start(env); /* no server: the first attempt pauses the mailer */
        mailer_set_backoff(env->mailer, 600 * USEC_PER_SEC, 1800 * USEC_PER_SEC);
        assert_true(run_until(env, first_failed, 10 * USEC_PER_SEC, 0, NULL));
        before = store_rows_read(env->store);
        for (int k = 0; k < 20; k++) {
                mailer_kick(env->mailer);
                assert_true(sd_event_run(env->event, 10 * USEC_PER_MSEC) >= 0);
        }
        print_message("20 kicks while paused, %zu unsent mails: %" PRIu64 " rows read\n", n,
                      store_rows_read(env->store) - before);
        /* The storm's count of held mails, once a kick. */
        assert_true(store_rows_read(env->store) - before <= 20);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_starttls_auth_plain, setup, teardown),
                cmocka_unit_test_setup_teardown(test_starttls_auth_login, setup, teardown),
                cmocka_unit_test_setup_teardown(test_smtps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_server_down_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_451_then_accept, setup, teardown),
                cmocka_unit_test_setup_teardown(test_5xx_logged_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hang_mid_data, setup, teardown),
                cmocka_unit_test_setup_teardown(test_free_while_sending, setup, teardown),
                cmocka_unit_test_setup_teardown(test_login_refused, setup, teardown),
                cmocka_unit_test_setup_teardown(test_missing_credential, setup, teardown),
                cmocka_unit_test_setup_teardown(test_digest_storm, setup, teardown),
                cmocka_unit_test_setup_teardown(test_digest_two_minutes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_digest_waits_for_minute_end, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_digest_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_digest_451_retried, setup, teardown),
                cmocka_unit_test_setup_teardown(test_accepted_but_unrecorded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retry_unrecorded, setup, teardown),
                cmocka_unit_test_setup_teardown(test_sender_refused_gives_nobody_up, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rcpt_refused_then_delivered, setup,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_rcpt_550_others_go_on, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rcpt_refused_restart, setup, teardown),
                cmocka_unit_test_setup_teardown(test_rcpt_removed_by_reload, setup, teardown),
                cmocka_unit_test_setup_teardown(test_5xx_given_up_after_a_day, setup, teardown),
                cmocka_unit_test_setup_teardown(test_paused_reads_nothing, setup, teardown),
        };
        int r;

        if (access(PYTHON, X_OK) != 0 || access(SERVER_SCRIPT, R_OK) != 0) {
                fprintf(stderr, "test-mailer: needs " PYTHON " and " SERVER_SCRIPT
                                " (run from the repository root)\n");
                return 1;
        }
        if (getenv("TEST_MAILER_ONLY"))
                cmocka_set_test_filter(getenv("TEST_MAILER_ONLY"));
        (void) curl_global_init(CURL_GLOBAL_DEFAULT);
        r = cmocka_run_group_tests(tests, NULL, NULL);
        curl_global_cleanup();
        return r;
}
