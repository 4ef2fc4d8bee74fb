/* SPDX-License-Identifier: MIT */

/* Operators' text in the engine's fixed buffers (the reply to the operator,
 * the event's text): a note of up to ACTION_TEXT_MAX bytes is cut, and cut
 * on a character boundary, wherever the cut falls. A reply or an event
 * that is not UTF-8 cannot be sent as JSON (the operator was told 500 for
 * an action that was recorded) nor listed afterwards. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "anomaly.h"
#include "calendar.h"
#include "faults.h"
#include "macro.h"
#include "text.h"
#include "utf8.h"

static const char config_text[] =
        "contract: {name: t, start: 2025-12-01, end: 2031-11-30}\n"
        "notify: {smtp: {url: 'smtp://127.0.0.1:2525', tls: none}, from: a@b.invalid,"
        " to: [c@d.invalid]}\n"
        "sites:\n"
        "  - {id: '01', name: one, mount: wall,"
        " router: {address: 127.0.1.1, snmp: {version: 2c, community_credential: c}},"
        " camera: {address: 127.0.2.1, username: admin, password_credential: p}}\n";

typedef struct Env {
        Config *config;
        Calendar *cal;
        FaultEngine *e;
        FaultOutput out;
        Fault *fault;
        time_t t;
} Env;

static int setup(void **state) {
        ConfigErrors errs = {};
        char *error = NULL;
        Env *env = calloc(1, sizeof(Env));
        Fault spec = { .site = "01", .device = "01-camera", .kind = "housing_damaged",
                       .severity = FAULT_DEGRADED, .origin = FAULT_ORIGIN_CALL };

        if (!env || tz_use("Asia/Tokyo") < 0 ||
            config_load_buffer("test.yaml", config_text, strlen(config_text), &errs,
                               &env->config) < 0 ||
            calendar_new(&env->config->calendar, ".", &env->cal, &error) < 0 ||
            faults_new(env->config, env->cal, &env->e) < 0 ||
            parse_iso_datetime("2026-11-25T10:00:00", &env->t) < 0)
                return -1;
        /* A fault reported by phone (any fault would do): open, received. */
        if (faults_open(env->e, &spec, env->t, env->t, &env->out) < 0 || env->out.n_faults != 1)
                return -1;
        env->fault = env->out.faults[0];
        env->fault->id = 7;
        *state = env;
        return 0;
}

static int teardown(void **state) {
        Env *env = *state;

        fault_output_done(&env->out);
        faults_free(env->e);
        calendar_free(env->cal);
        config_free(env->config);
        free(env);
        return 0;
}

/* The prefix (0 to 2 ASCII bytes) and then "あ" (3 bytes) to 2000 bytes in
 * all: every cut of the reply and of the event's text falls inside a
 * character for one of the three prefixes. */
static void make_note(char note[static ACTION_TEXT_MAX + 1], size_t prefix) {
        size_t n = 0;

        for (; n < prefix; n++)
                note[n] = 'x';
        for (; n + 3 <= ACTION_TEXT_MAX; n += 3)
                memcpy(note + n, "あ", 3);
        note[n] = '\0';
}

/* What the operator is told and what the event says: UTF-8 that JSON takes. */
static void assert_sendable(const char *s, size_t size) {
        json_t *j;

        assert_true(strlen(s) < size);
        assert_true(utf8_valid(s, strlen(s)));
        j = json_pack("{s:s}", "message", s);
        assert_non_null(j);
        json_decref(j);
}

/* One action with note, msg of msglen bytes: accepted, then undone (as when
 * its commit fails) so that the next try meets the same fault. */
static void try_action(Env *env, ActionType type, char *note, size_t msglen,
                       const Anomaly *anomaly) {
        FaultDetails none = {};
        ActionFacts facts = { .fault = env->fault, .details = &none, .anomaly = anomaly };
        Action a = { .type = type, .fault_id = anomaly ? 0 : env->fault->id, .note = note,
                     .anomaly_id = anomaly ? anomaly->id : 0 };
        _cleanup_(freep) char *msg = malloc(msglen);
        ActionOutcome o;
        const Event *ev;

        assert_non_null(msg);
        (void) snprintf(a.by, sizeof(a.by), "山田");
        (void) snprintf(a.os_user, sizeof(a.os_user), "root (uid 0)");
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_action(env->e, &a, &facts, env->t + 60, &env->out, &o, msg,
                                          msglen),
                         0);
        assert_sendable(msg, msglen);
        assert_int_equal(env->out.n_events, 1);
        ev = &env->out.events[0];
        assert_sendable(ev->text, sizeof(ev->text));
        assert_true(text_is_clean(ev->text, strlen(ev->text)));
        /* Cut, not dropped: as much of the note as fits (the event's text
         * is formatted from the reply). */
        if (msglen >= 1024)
                assert_true(strlen(ev->text) >= sizeof(ev->text) - 3);
        faults_action_end(env->e, false);
}

static void test_ack_every_cut(void **state) {
        Env *env = *state;
        char note[ACTION_TEXT_MAX + 1];

        for (size_t prefix = 0; prefix < 3; prefix++) {
                make_note(note, prefix);
                /* The reply: every size of the operator's buffer, up to the
                 * control socket's 1024 and past the whole message. */
                for (size_t msglen = 1; msglen <= 1100; msglen++)
                        try_action(env, ACTION_ACK, note, msglen, NULL);
                try_action(env, ACTION_ACK, note, 4096, NULL);
        }
        assert_int_equal(env->fault->acknowledged_at, 0); /* all undone */
}

static void test_defer_every_cut(void **state) {
        Env *env = *state;
        char note[ACTION_TEXT_MAX + 1];

        for (size_t prefix = 0; prefix < 3; prefix++) {
                make_note(note, prefix);
                for (size_t msglen = 1; msglen <= 1100; msglen++)
                        try_action(env, ACTION_DEFER, note, msglen, NULL);
        }
}

static void test_investigate_every_cut(void **state) {
        Env *env = *state;
        Anomaly an = { .id = 311, .at = env->t - 3600, .site = "01", .device = "01-camera",
                       .text = "01-camera: 3 transient faults or restarts in 24h" };
        char note[ACTION_TEXT_MAX + 1];

        for (size_t prefix = 0; prefix < 3; prefix++) {
                make_note(note, prefix);
                for (size_t msglen = 1; msglen <= 1100; msglen++)
                        try_action(env, ACTION_INVESTIGATE, note, msglen, &an);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_ack_every_cut, setup, teardown),
                cmocka_unit_test_setup_teardown(test_defer_every_cut, setup, teardown),
                cmocka_unit_test_setup_teardown(test_investigate_every_cut, setup, teardown),
        };

        return cmocka_run_group_tests_name("action-text", tests, NULL, NULL);
}
