/* SPDX-License-Identifier: MIT */

/* The fault engine: soft and hard states, dependencies, site loss,
 * transients, degraded kinds, the live contract clocks. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "faults.h"
#include "faults-internal.h"
#include "macro.h"

static const char config_text[] =
        "contract: {name: t, start: 2025-12-01, end: 2031-11-30}\n"
        "probes: {fail_after: 3, recover_after: 2}\n"
        "notify: {smtp: {url: 'smtp://127.0.0.1:2525', tls: none}, from: a@b.invalid,"
        " to: [c@d.invalid], renotify_every: 2h}\n"
        "vpn: {name: RTX1220, address: 127.0.3.1, snmp: {version: 2c, community_credential: c}}\n"
        "sites:\n"
        "  - {id: '01', name: one, mount: wall, tunnel: 1,"
        " router: {address: 127.0.1.1, snmp: {version: 2c, community_credential: c}},"
        " camera: {address: 127.0.2.1, username: admin, password_credential: p}}\n"
        "  - {id: '02', name: two, mount: wall, tunnel: 2,"
        " router: {address: 127.0.1.2, snmp: {version: 2c, community_credential: c}},"
        " camera: {address: 127.0.2.2, username: admin, password_credential: p}}\n";

typedef struct Env {
        Config *config;
        Calendar *cal;
        FaultEngine *e;
        FaultOutput out;
        size_t vpn, tunnel1, router1, camera1, tunnel2, router2, camera2;
        int64_t next_id;
} Env;

static time_t T(const char *s) {
        time_t t = 0;

        assert_int_equal(parse_iso_datetime(s, &t), 0);
        return t;
}

/* The ids a fault hides, joined by commas. */
static void assert_hidden(const Fault *f, const char *want) {
        char got[512] = "";

        for (size_t i = 0; i < f->n_hidden; i++)
                (void) snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
                                i ? "," : "", f->hidden[i]);
        assert_string_equal(got, want);
}

static int setup_with(void **state, const char *extra) {
        ConfigErrors errs = {};
        char *error = NULL, text[4096];
        Env *env = calloc(1, sizeof(Env));

        if (!env || tz_use("Asia/Tokyo") < 0)
                return -1;
        (void) snprintf(text, sizeof(text), "%s%s", config_text, extra);
        if (config_load_buffer("test.yaml", text, strlen(text), &errs, &env->config) < 0) {
                for (size_t i = 0; i < errs.n_errors; i++)
                        fprintf(stderr, "%u:%u: %s\n", errs.errors[i].line, errs.errors[i].column,
                                errs.errors[i].message);
                config_errors_clear(&errs);
                return -1;
        }
        if (calendar_new(&env->config->calendar, ".", &env->cal, &error) < 0 ||
            faults_new(env->config, env->cal, &env->e) < 0)
                return -1;
        env->vpn = faults_vpn_node(env->e);
        env->tunnel1 = faults_site_node(env->e, 0, NODE_TUNNEL);
        env->router1 = faults_site_node(env->e, 0, NODE_ROUTER);
        env->camera1 = faults_site_node(env->e, 0, NODE_CAMERA);
        env->tunnel2 = faults_site_node(env->e, 1, NODE_TUNNEL);
        env->router2 = faults_site_node(env->e, 1, NODE_ROUTER);
        env->camera2 = faults_site_node(env->e, 1, NODE_CAMERA);
        env->next_id = 1;
        *state = env;
        return 0;
}

static int setup(void **state) {
        return setup_with(state, "");
}

/* The clocks start with the fault call; the VPN router is sent back. */
static int setup_call(void **state) {
        return setup_with(state, "sla: {reception: call, devices: {vpn: sendback}}\n");
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

/* What a caller does after each call: give new faults their ids. */
static void commit(Env *env) {
        for (size_t i = 0; i < env->out.n_faults; i++)
                if (env->out.faults[i]->id == 0)
                        env->out.faults[i]->id = env->next_id++;
}

/* Feeds one result; returns the number of events it made. */
static size_t feed(Env *env, size_t node, ProbeStatus s, const char *reason, time_t now) {
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_result(env->e, node, s, reason, now, &env->out), 0);
        commit(env);
        return env->out.n_events;
}

static bool reprobe_asked(const Env *env, size_t node) {
        for (size_t i = 0; i < env->out.n_reprobe; i++)
                if (env->out.reprobe[i] == node)
                        return true;
        return false;
}

static void all_up(Env *env, time_t now) {
        size_t nodes[] = { env->vpn,     env->tunnel1, env->router1, env->camera1,
                           env->tunnel2, env->router2, env->camera2 };

        for (size_t i = 0; i < ELEMENTSOF(nodes); i++)
                assert_int_equal(feed(env, nodes[i], PROBE_UP, "", now), 0);
}

static void test_camera_down_then_transient(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T14:00:00");
        const Event *ev;
        Fault *f;

        all_up(env, t - 60);
        assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "connection refused", t - 20), 0);
        assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "connection refused", t - 10), 0);
        /* The third failure: the router is asked first. */
        assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "connection refused", t), 0);
        assert_true(reprobe_asked(env, env->router1));
        assert_null(faults_node_fault(env->e, env->camera1));
        /* The router answers: the camera's own fault. */
        assert_int_equal(feed(env, env->router1, PROBE_UP, "", t), 1);
        ev = &env->out.events[0];
        assert_int_equal(ev->type, EVENT_FAULT_RAISED);
        assert_string_equal(ev->device, "01-camera");
        assert_string_equal(ev->kind, "camera_down");
        f = faults_node_fault(env->e, env->camera1);
        assert_non_null(f);
        assert_int_equal(f->id, 1);
        assert_string_equal(f->site, "01");
        assert_string_equal(f->reason, "connection refused");
        assert_int_equal(f->received_at, t);
        assert_int_equal(f->onsite_due, T("2026-11-25T16:00:00"));
        assert_false(f->deferral_eligible);
        assert_hidden(f, "");
        /* Up once is not enough (recover_after 2); twice clears, before onsite: transient. */
        assert_int_equal(feed(env, env->camera1, PROBE_UP, "", t + 60), 0);
        assert_int_equal(feed(env, env->camera1, PROBE_UP, "", t + 120), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_TRANSIENT);
        assert_int_equal(f->state, FAULT_CLEARED);
        assert_true(f->transient);
        assert_int_equal(f->cleared_at, t + 120);
        assert_null(faults_node_fault(env->e, env->camera1));
}

static void test_router_down_hides_camera(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T16:30:00");
        Fault *f;

        all_up(env, t - 60);
        /* The camera fails first (the router sits between): held, never raised. */
        for (int i = 0; i < 3; i++)
                assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "timeout", t + i), 0);
        for (int i = 0; i < 2; i++)
                assert_int_equal(feed(env, env->router1, PROBE_DOWN, "timeout", t + 5 + i), 0);
        /* The router's third failure: its tunnel is asked (through the VPN) first. */
        assert_int_equal(feed(env, env->router1, PROBE_DOWN, "timeout", t + 10), 0);
        assert_true(reprobe_asked(env, env->vpn));
        assert_int_equal(feed(env, env->vpn, PROBE_UP, "", t + 11), 0);
        assert_int_equal(feed(env, env->tunnel1, PROBE_UP, "", t + 11), 2);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_RAISED);
        assert_string_equal(env->out.events[0].kind, "router_down");
        /* Received at 16:30: due 18:30, after closing: the supervisor is asked at once. */
        assert_int_equal(env->out.events[1].type, EVENT_DEFERRAL_NEEDED);
        f = faults_node_fault(env->e, env->router1);
        assert_hidden(f, "01-camera");
        assert_true(f->deferral_eligible);
        assert_int_equal(f->deferred_onsite_due, T("2026-11-26T11:00:00"));
        assert_true(faults_node_unreachable(env->e, env->camera1));
        /* More camera failures: still nothing of its own. */
        for (int i = 0; i < 5; i++)
                assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "timeout", t + 20 + i), 0);
        assert_null(faults_node_fault(env->e, env->camera1));
        /* The router recovers: its camera is re-probed at once... */
        feed(env, env->router1, PROBE_UP, "", t + 60);
        assert_int_equal(feed(env, env->router1, PROBE_UP, "", t + 70), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_TRANSIENT);
        assert_true(reprobe_asked(env, env->camera1));
        assert_false(faults_node_unreachable(env->e, env->camera1));
        /* ...and only if it is still down does it get its own fault. */
        assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "timeout", t + 71), 0);
        assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "timeout", t + 72), 0);
        assert_int_equal(feed(env, env->camera1, PROBE_DOWN, "timeout", t + 73), 0);
        assert_int_equal(feed(env, env->router1, PROBE_UP, "", t + 74), 2);
        assert_string_equal(env->out.events[0].kind, "camera_down");
        assert_int_equal(env->out.events[1].type, EVENT_DEFERRAL_NEEDED);
}

static void test_vpn_down_hides_everything(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-28T10:00:00"); /* a Saturday */
        Fault *f;

        all_up(env, t - 60);
        feed(env, env->vpn, PROBE_DOWN, "timeout", t);
        feed(env, env->vpn, PROBE_DOWN, "timeout", t + 1);
        assert_int_equal(feed(env, env->vpn, PROBE_DOWN, "timeout", t + 2), 1);
        f = faults_node_fault(env->e, env->vpn);
        assert_string_equal(f->kind, "vpn_down");
        assert_string_equal(f->site, "");
        assert_hidden(f, "01-tunnel,01-router,01-camera,02-tunnel,02-router,02-camera");
        /* Received Monday morning, due at 11:00. */
        assert_int_equal(f->received_at, T("2026-11-30T09:00:00"));
        assert_int_equal(f->onsite_due, T("2026-11-30T11:00:00"));
        for (int i = 0; i < 4; i++) {
                assert_int_equal(feed(env, env->router2, PROBE_DOWN, "timeout", t + 10 + i), 0);
                assert_int_equal(feed(env, env->camera2, PROBE_DOWN, "timeout", t + 10 + i), 0);
        }
        assert_true(faults_node_unreachable(env->e, env->camera2));
        assert_true(faults_node_unreachable(env->e, env->tunnel1));
}

static void test_site_lost(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");
        Fault *f;

        all_up(env, t - 60);
        for (int i = 0; i < 3; i++) {
                feed(env, env->router2, PROBE_DOWN, "timeout", t + i);
                feed(env, env->camera2, PROBE_DOWN, "timeout", t + i);
        }
        assert_null(faults_node_fault(env->e, env->router2));
        /* The VPN reports the tunnel down (the VPN itself is up), in the same rounds. */
        for (int i = 5; i < 7; i++) {
                feed(env, env->vpn, PROBE_UP, "", t + i);
                feed(env, env->tunnel2, PROBE_DOWN, "tunnel down", t + i);
        }
        feed(env, env->vpn, PROBE_UP, "", t + 7);
        assert_int_equal(feed(env, env->tunnel2, PROBE_DOWN, "tunnel down", t + 7), 1);
        f = faults_node_fault(env->e, env->tunnel2);
        assert_string_equal(f->kind, "site_down");
        assert_string_equal(f->hint, "power, breaker or LTE at the site");
        assert_hidden(f, "02-router,02-camera");
        assert_null(faults_node_fault(env->e, env->router2));
        assert_null(faults_node_fault(env->e, env->camera2));
        /* Site 01 is untouched. */
        assert_null(faults_node_fault(env->e, env->camera1));
}

static void test_degraded_kinds(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T09:30:00"), received, due;
        int64_t id;
        Fault *f;

        all_up(env, t - 60);
        feed(env, env->camera1, PROBE_DEGRADED, "clock skew +30 s (limit 10s)", t);
        feed(env, env->camera1, PROBE_DEGRADED, "clock skew +30 s (limit 10s)", t + 1);
        assert_int_equal(feed(env, env->camera1, PROBE_DEGRADED, "clock skew +30 s (limit 10s)",
                              t + 2),
                         1);
        assert_string_equal(env->out.events[0].kind, "clock_skew");
        f = faults_node_fault(env->e, env->camera1);
        id = f->id;
        received = f->received_at;
        due = f->onsite_due;
        /* Another check fails now: after fail_after, the same fault, of that
         * kind, its clocks kept (the device never recovered). */
        feed(env, env->camera1, PROBE_DEGRADED, "recording stopped: x", t + 3);
        feed(env, env->camera1, PROBE_DEGRADED, "recording stopped: x", t + 4);
        assert_int_equal(feed(env, env->camera1, PROBE_DEGRADED, "recording stopped: x", t + 5), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_CHANGED);
        assert_string_equal(env->out.events[0].kind, "recording_stopped");
        assert_non_null(strstr(env->out.events[0].text, "(was clock_skew)"));
        f = faults_node_fault(env->e, env->camera1);
        assert_int_equal(f->id, id);
        /* Then down, an hour and a half later: camera_down, the same fault,
         * still due two hours after the first reception (not restarted). */
        feed(env, env->camera1, PROBE_DOWN, "timeout", t + 5400);
        feed(env, env->camera1, PROBE_DOWN, "timeout", t + 5401);
        feed(env, env->camera1, PROBE_DOWN, "timeout", t + 5402);
        assert_int_equal(feed(env, env->router1, PROBE_UP, "", t + 5403), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_CHANGED);
        assert_string_equal(env->out.events[0].kind, "camera_down");
        f = faults_node_fault(env->e, env->camera1);
        assert_int_equal(f->id, id);
        assert_int_equal(f->severity, FAULT_DOWN);
        assert_int_equal(f->received_at, received);
        assert_int_equal(f->onsite_due, due);
        assert_int_equal(env->out.events[0].onsite_due, due);
        /* Its due passes: breached, at the first reception's due. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, due - 1, &env->out), 0);
        assert_int_equal(env->out.n_events, 1);
        assert_int_equal(env->out.events[0].type, EVENT_SLA_WARNING);
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, due, &env->out), 0);
        assert_true(env->out.n_events >= 1); /* and the 2-hourly renotification */
        assert_int_equal(env->out.events[0].type, EVENT_SLA_BREACH);
        /* It answers again, recording still stopped: degraded, the same fault. */
        feed(env, env->camera1, PROBE_DEGRADED, "recording stopped: x", due + 60);
        assert_int_equal(feed(env, env->camera1, PROBE_DEGRADED, "recording stopped: x",
                              due + 61),
                         1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_CHANGED);
        f = faults_node_fault(env->e, env->camera1);
        assert_int_equal(f->id, id);
        assert_int_equal(f->severity, FAULT_DEGRADED);
        assert_true(f->breached);
        /* Recovered: cleared by itself (no onsite work): transient, once. */
        feed(env, env->camera1, PROBE_UP, "", due + 120);
        assert_int_equal(feed(env, env->camera1, PROBE_UP, "", due + 121), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_TRANSIENT);
        assert_null(faults_node_fault(env->e, env->camera1));
}

/* Security incidents: one per fault occurrence, made when it is raised. */
static void test_security_incidents(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T09:30:00");
        const char *reason = "GetDeviceInformation: authentication rejected (HTTP 401)";

        all_up(env, t - 60);
        feed(env, env->camera1, PROBE_DEGRADED, reason, t);
        feed(env, env->camera1, PROBE_DEGRADED, reason, t + 1);
        assert_int_equal(feed(env, env->camera1, PROBE_DEGRADED, reason, t + 2), 2);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_RAISED);
        assert_int_equal(env->out.events[1].type, EVENT_SECURITY_INCIDENT);
        assert_string_equal(env->out.events[1].kind, "auth_failed");
        assert_ptr_equal(env->out.event_faults[1], env->out.event_faults[0]);
        assert_int_equal(event_type_priority(EVENT_SECURITY_INCIDENT), LOG_ALERT);
        /* More failed checks: nothing more. */
        for (int i = 3; i < 10; i++)
                assert_int_equal(feed(env, env->camera1, PROBE_DEGRADED, reason, t + i), 0);
        assert_true(faults_node_fault(env->e, env->camera1)->incident_reported);
        /* Down, then refusing the credentials again: the same fault changes
         * kind twice, its incident was reported once and is not again. */
        for (int i = 10; i < 13; i++)
                feed(env, env->camera1, PROBE_DOWN, "timeout", t + i);
        assert_int_equal(feed(env, env->router1, PROBE_UP, "", t + 13), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_CHANGED);
        feed(env, env->camera1, PROBE_DEGRADED, reason, t + 14);
        /* (recover_after results: a step toward up) */
        assert_int_equal(feed(env, env->camera1, PROBE_DEGRADED, reason, t + 15), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_CHANGED);
        assert_string_equal(env->out.events[0].kind, "auth_failed");
        assert_int_equal(feed(env, env->camera1, PROBE_DEGRADED, reason, t + 16), 0);

        /* A router answering as another site's. */
        feed(env, env->router2, PROBE_DEGRADED, "answers as rx-b, expected rx-a: another", t);
        feed(env, env->router2, PROBE_DEGRADED, "answers as rx-b, expected rx-a: another", t + 1);
        assert_int_equal(feed(env, env->router2, PROBE_DEGRADED,
                              "answers as rx-b, expected rx-a: another", t + 2), 2);
        assert_string_equal(env->out.events[0].kind, "identity_mismatch");
        assert_string_equal(env->out.events[1].kind, "identity_mismatch");

        /* An SNMPv3 authentication failure is a down fault with an incident. */
        assert_string_equal(faults_incident_kind("router_down", "SNMPv3 authentication failed "
                                                 "(wrong auth password or protocol?)"),
                            "snmp_auth_failed");
        assert_null(faults_incident_kind("router_down", "no answer within 1s (timeout)"));
        assert_string_equal(faults_incident_kind("model_mismatch", "wrong model X"),
                            "model_mismatch");
        assert_null(faults_incident_kind("clock_skew", "clock skew +30 s"));

        /* A swap: the event and its incident, without a fault. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_swap(env->e, env->camera2, "A1", "B2", t + 20, &env->out), 0);
        assert_int_equal(env->out.n_events, 2);
        assert_int_equal(env->out.events[0].type, EVENT_DEVICE_SWAPPED);
        assert_int_equal(env->out.events[1].type, EVENT_SECURITY_INCIDENT);
        assert_string_equal(env->out.events[1].kind, "device_swapped");
        assert_null(env->out.event_faults[1]);
}

static void test_clocks(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T13:00:00");
        Fault *f;

        all_up(env, t - 60);
        for (int i = 0; i < 3; i++)
                feed(env, env->vpn, PROBE_DOWN, "timeout", t + i);
        f = faults_node_fault(env->e, env->vpn);
        assert_non_null(f);
        t += 2;
        assert_int_equal(f->onsite_due, t + 2 * 3600);
        /* Nothing before 14:30; the warning at due - 30 min. */
        assert_int_equal(faults_next_clock(env->e, t), t + 2 * 3600 - 1800);
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, t + 3600, &env->out), 0);
        assert_int_equal(env->out.n_events, 0);
        assert_int_equal(faults_tick(env->e, t + 2 * 3600 - 1800, &env->out), 0);
        assert_int_equal(env->out.n_events, 1);
        assert_int_equal(env->out.events[0].type, EVENT_SLA_WARNING);
        /* Once only. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, t + 2 * 3600 - 1700, &env->out), 0);
        assert_int_equal(env->out.n_events, 0);
        /* 16:00: no onsite work yet — the deferral prompt. */
        assert_int_equal(faults_next_clock(env->e, t + 2 * 3600 - 1700), T("2026-11-25T15:00:02"));
        assert_int_equal(faults_tick(env->e, T("2026-11-25T15:00:02"), &env->out), 0);
        assert_int_equal(env->out.n_events, 2); /* breach and renotify (2h) */
        assert_int_equal(env->out.events[0].type, EVENT_SLA_BREACH);
        assert_int_equal(env->out.events[1].type, EVENT_RENOTIFY);
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, T("2026-11-25T16:00:00"), &env->out), 0);
        assert_int_equal(env->out.n_events, 1);
        assert_int_equal(env->out.events[0].type, EVENT_DEFERRAL_NEEDED);
        /* Acknowledged: no more re-notification; onsite started: no clock. */
        f->acknowledged_at = T("2026-11-25T16:01:00");
        f->onsite_started_at = T("2026-11-25T16:30:00");
        assert_int_equal(faults_next_clock(env->e, T("2026-11-25T16:30:00")), 0);
        /* Cleared after onsite work: cleared, not transient. */
        feed(env, env->vpn, PROBE_UP, "", T("2026-11-25T17:00:00"));
        assert_int_equal(feed(env, env->vpn, PROBE_UP, "", T("2026-11-25T17:00:30")), 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_CLEARED);
        assert_false(f->transient);
}

static size_t count_type(const Env *env, EventType t) {
        size_t n = 0;

        for (size_t i = 0; i < env->out.n_events; i++)
                n += env->out.events[i].type == t;
        return n;
}

/* The wall clock stepped (NTP, an operator): forward past a due, the due
 * strikes once, at once; back before it, nothing strikes again and the
 * next clock is not one already struck; forward again, still nothing. */
static void test_clock_jumps(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T13:00:00"), due;
        Fault *f;

        all_up(env, t - 60);
        for (int i = 0; i < 3; i++)
                feed(env, env->camera1, PROBE_DOWN, "refused", t + i);
        feed(env, env->router1, PROBE_UP, "", t + 2); /* the router answers: the camera's fault */
        f = faults_node_fault(env->e, env->camera1);
        assert_non_null(f);
        due = f->onsite_due;
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, due + 1800, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_SLA_BREACH), 1);
        /* Past the warning's time as well: the breach alone speaks. */
        assert_int_equal(count_type(env, EVENT_SLA_WARNING), 0);
        assert_true(f->breached && f->warned);
        /* Back by an hour: before the warning's time again. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, due - 3600, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_SLA_BREACH) + count_type(env, EVENT_SLA_WARNING), 0);
        assert_true(faults_next_clock(env->e, due - 3600) != due);
        assert_true(faults_next_clock(env->e, due - 3600) != due - 1800);
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, due + 3600, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_SLA_BREACH) + count_type(env, EVENT_SLA_WARNING), 0);
}

/* The next clock comes from a heap of the faults' clocks: it follows
 * faults raised and cleared, and an outside change once announced. */
static void test_clocks_of_several_faults(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00"), warn1, warn2;
        Fault *f1, *f2;

        all_up(env, t - 60);
        assert_int_equal(faults_next_clock(env->e, t), 0);
        /* A router's third failure asks its tunnel (through the VPN) first. */
        for (int i = 0; i < 3; i++)
                feed(env, env->router1, PROBE_DOWN, "timeout", t + i);
        feed(env, env->vpn, PROBE_UP, "", t + 3);
        feed(env, env->tunnel1, PROBE_UP, "", t + 3);
        /* The second site's router fails ten minutes later. */
        for (int i = 0; i < 3; i++)
                feed(env, env->router2, PROBE_DOWN, "timeout", t + 600 + i);
        feed(env, env->vpn, PROBE_UP, "", t + 603);
        feed(env, env->tunnel2, PROBE_UP, "", t + 603);
        f1 = faults_node_fault(env->e, env->router1);
        f2 = faults_node_fault(env->e, env->router2);
        assert_non_null(f1);
        assert_non_null(f2);
        warn1 = fault_due(f1) - 1800;
        warn2 = fault_due(f2) - 1800;
        assert_true(warn1 < warn2);
        assert_int_equal(faults_next_clock(env->e, t + 700), warn1);
        /* Both warnings struck: the first breach is next. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, warn2, &env->out), 0);
        assert_int_equal(env->out.n_events, 2);
        assert_int_equal(faults_next_clock(env->e, warn2), fault_due(f1));
        /* An operator's change that brings the other fault's clock before
         * it (a deferral approval arms the warning again): seen once
         * announced, though that fault is not on top. */
        f2->warned = false;
        faults_reclock(env->e, faults_lookup(env->e, f2->id));
        assert_int_equal(faults_next_clock(env->e, warn2), warn2);
        /* The first one cleared: the other's clock stays next. */
        feed(env, env->router1, PROBE_UP, "", warn2 + 10);
        feed(env, env->router1, PROBE_UP, "", warn2 + 20);
        assert_null(faults_node_fault(env->e, env->router1));
        faults_forget_closed(env->e);
        assert_int_equal(faults_next_clock(env->e, warn2 + 30), warn2);
        /* Taken away (onsite work started, acknowledged): no clock at all,
         * announced or not. */
        f2->onsite_started_at = warn2;
        f2->acknowledged_at = warn2;
        assert_int_equal(faults_next_clock(env->e, warn2), 0);
}

static void test_restore_no_second_raise(void **state) {
        Env *env = *state;
        Fault stored = {
                .id = 42,
                .site = "02",
                .device = "02-camera",
                .kind = "camera_down",
                .severity = FAULT_DOWN,
                .state = FAULT_OPEN,
                .detected_at = T("2026-11-25T10:00:00"),
                .received_at = T("2026-11-25T10:00:00"),
                .onsite_due = T("2026-11-25T12:00:00"),
        };
        time_t t = T("2026-11-25T10:30:00");

        assert_int_equal(faults_restore(env->e, &stored), 0);
        assert_non_null(faults_lookup(env->e, 42));
        all_up(env, t); /* camera2 up once: not yet cleared */
        for (int i = 0; i < 5; i++)
                assert_int_equal(feed(env, env->camera2, PROBE_DOWN, "timeout", t + 10 + i), 0);
        feed(env, env->camera2, PROBE_UP, "", t + 20);
        assert_int_equal(feed(env, env->camera2, PROBE_UP, "", t + 21), 1);
        assert_int_equal(env->out.event_faults[0]->id, 42);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_TRANSIENT);
        stored.device[0] = 'x';
        assert_int_equal(faults_restore(env->e, &stored), -ENOENT);
}

/* A camera's own fault: three failures, its router asked and up. */
static Fault *camera_fault(Env *env, size_t camera, size_t router, time_t t) {
        for (int i = 0; i < 3; i++)
                feed(env, camera, PROBE_DOWN, "timeout", t + i);
        feed(env, router, PROBE_UP, "", t + 3);
        return faults_node_fault(env->e, camera);
}

/* A third site whose id holds '-' (the schema allows it). */
static int setup_dashed(void **state) {
        return setup_with(state,
                          "  - {id: 'north-01', name: three, mount: wall, tunnel: 3,"
                          " router: {address: 127.0.1.3, snmp: {version: 2c,"
                          " community_credential: c}},"
                          " camera: {address: 127.0.2.3, username: admin,"
                          " password_credential: p}}\n");
}

/* The fault of a device of site "north-01" is of that site, not "north". */
static void test_dashed_site_id(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");
        size_t camera = faults_site_node(env->e, 2, NODE_CAMERA),
               router = faults_site_node(env->e, 2, NODE_ROUTER);
        Fault *f;

        all_up(env, t - 60);
        feed(env, faults_site_node(env->e, 2, NODE_TUNNEL), PROBE_UP, "", t - 60);
        feed(env, router, PROBE_UP, "", t - 60);
        feed(env, camera, PROBE_UP, "", t - 60);
        f = camera_fault(env, camera, router, t);
        assert_non_null(f);
        assert_string_equal(f->device, "north-01-camera");
        assert_string_equal(f->site, "north-01");
        assert_string_equal(env->out.events[0].site, "north-01");
        assert_int_equal(device_site_len("north-01-camera"), 8);
        assert_int_equal(device_site_len("05-tunnel"), 2);
        assert_int_equal(device_site_len("vpn"), 0);
}

/* sla.reception: call (L119-123): a detected fault waits, clocks stopped,
 * until its call; then every clock runs from the call's reception. */
static void test_reception_by_call(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T09:30:00"), call = T("2026-11-25T10:05:00");
        Fault *f;

        all_up(env, t - 60);
        f = camera_fault(env, env->camera1, env->router1, t);
        assert_non_null(f);
        assert_int_equal(f->received_at, 0);
        assert_int_equal(f->onsite_due, 0);
        assert_int_equal(fault_due(f), 0);
        assert_false(fault_clock_running(f));
        assert_non_null(strstr(env->out.events[0].text, "fieldwatchctl receive"));
        /* Hours pass: no warning, no breach, no prompt; re-notification only. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, T("2026-11-25T16:30:00"), &env->out), 0);
        assert_int_equal(count_type(env, EVENT_SLA_WARNING) + count_type(env, EVENT_SLA_BREACH) +
                                 count_type(env, EVENT_DEFERRAL_NEEDED),
                         0);
        assert_int_equal(faults_next_clock(env->e, T("2026-11-25T16:30:00")),
                         T("2026-11-25T18:30:00")); /* the next re-notification */
        /* The call at 10:05 (recorded late): due 12:05, breached at once. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_receive(env->e, f, call, T("2026-11-25T10:06:00"), &env->out), 0);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_RECEIVED);
        assert_int_equal(env->out.events[0].received_at, call);
        assert_int_equal(f->received_at, call);
        assert_int_equal(f->onsite_due, call + 2 * 3600);
        assert_int_equal(f->deferred_onsite_due, T("2026-11-26T11:00:00"));
        assert_false(f->deferral_eligible);
        assert_int_equal(faults_next_clock(env->e, T("2026-11-25T10:06:00")), call + 5400);
        /* Twice: refused. */
        assert_int_equal(faults_receive(env->e, f, call, T("2026-11-25T10:07:00"), &env->out),
                         -EINVAL);
}

/* A call at 15:30 is eligible (due 17:30): the prompt comes with the
 * reception; one after closing time is received next morning. */
static void test_reception_call_late(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T15:00:00");
        Fault *f;

        all_up(env, t - 60);
        f = camera_fault(env, env->camera1, env->router1, t);
        fault_output_clear(&env->out);
        assert_int_equal(faults_receive(env->e, f, T("2026-11-25T16:10:00"),
                                        T("2026-11-25T16:10:00"), &env->out),
                         0);
        assert_true(f->deferral_eligible);
        assert_int_equal(count_type(env, EVENT_DEFERRAL_NEEDED), 1);
        f = camera_fault(env, env->camera2, env->router2, t + 10);
        fault_output_clear(&env->out);
        assert_int_equal(faults_receive(env->e, f, T("2026-11-25T18:00:00"),
                                        T("2026-11-25T18:00:00"), &env->out),
                         0);
        assert_int_equal(f->received_at, T("2026-11-26T09:00:00"));
        assert_int_equal(f->onsite_due, T("2026-11-26T11:00:00"));
}

/* sla.devices.vpn: sendback (L511): the RTX1220's fault has no onsite clock. */
static void test_vpn_sendback(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");
        Fault *f;

        all_up(env, t - 60);
        for (int i = 0; i < 3; i++)
                feed(env, env->vpn, PROBE_DOWN, "timeout", t + i);
        f = faults_node_fault(env->e, env->vpn);
        assert_non_null(f);
        assert_true(f->sendback);
        fault_output_clear(&env->out);
        assert_int_equal(faults_receive(env->e, f, t + 60, t + 60, &env->out), 0);
        assert_int_equal(f->received_at, t + 60);
        assert_int_equal(f->onsite_due, 0);
        assert_int_equal(fault_due(f), 0);
        assert_false(f->deferral_eligible);
        assert_non_null(strstr(env->out.events[0].text, "send-back"));
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, T("2026-11-25T16:30:00"), &env->out), 0);
        assert_int_equal(count_type(env, EVENT_SLA_BREACH) + count_type(env, EVENT_SLA_WARNING) +
                                 count_type(env, EVENT_DEFERRAL_NEEDED),
                         0);
}

/* A fault no probe sees (fieldwatchctl open): its own clocks, untouched by
 * the probes, gone with its recovery; restored after a restart. */
static void test_manual_fault(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");
        Fault spec = { .site = "01", .device = "01-camera", .kind = "housing_damaged",
                       .severity = FAULT_DEGRADED, .origin = FAULT_ORIGIN_CALL,
                       .reason = "housing cracked" };
        Fault *f, copy = {};

        all_up(env, t - 60);
        fault_output_clear(&env->out);
        assert_int_equal(faults_open(env->e, &spec, t, t + 5, &env->out), 0);
        commit(env);
        assert_int_equal(env->out.n_faults, 1);
        f = env->out.faults[0];
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_RAISED);
        assert_int_equal(f->received_at, t);
        assert_int_equal(f->onsite_due, t + 2 * 3600);
        assert_int_equal(f->detected_at, t);
        /* The camera answers all along: the reported fault stays. */
        for (int i = 0; i < 5; i++)
                assert_int_equal(feed(env, env->camera1, PROBE_UP, "", t + 10 + i), 0);
        assert_ptr_equal(faults_lookup(env->e, f->id), f);
        assert_null(faults_node_fault(env->e, env->camera1));
        /* Its clocks strike like any other. */
        assert_int_equal(faults_next_clock(env->e, t + 20), t + 5400);
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, t + 5400, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_SLA_WARNING), 1);
        /* The camera fails too: its own fault beside the reported one. */
        assert_non_null(camera_fault(env, env->camera1, env->router1, t + 100));
        assert_ptr_equal(faults_lookup(env->e, f->id), f);
        /* A restart: restored into a manual slot, clocks as before. */
        assert_int_equal(fault_copy(&copy, f), 0);
        copy.id = 77;
        assert_int_equal(faults_restore(env->e, &copy), 0);
        assert_non_null(faults_lookup(env->e, 77));
        fault_done(&copy);
        /* Recovered: the operator clears it, the engine lets it go. */
        f->onsite_started_at = t + 3000;
        f->state = FAULT_CLEARED;
        faults_reclock(env->e, faults_lookup(env->e, f->id));
        faults_forget_closed(env->e);
        assert_null(faults_lookup(env->e, 1));
        assert_non_null(faults_lookup(env->e, 77));
}

/* No more than FAULTS_MANUAL_MAX reported faults at once. */
static void test_manual_fault_bound(void **state) {
        Env *env = *state;
        Fault spec = { .site = "02", .device = "02-site", .kind = "reported",
                       .severity = FAULT_DEGRADED, .origin = FAULT_ORIGIN_CALL };
        time_t t = T("2026-11-25T10:00:00");

        for (int i = 0; i < FAULTS_MANUAL_MAX; i++) {
                fault_output_clear(&env->out);
                assert_int_equal(faults_open(env->e, &spec, t, t, &env->out), 0);
                commit(env);
        }
        assert_false(faults_manual_room(env->e));
        fault_output_clear(&env->out);
        assert_int_equal(faults_open(env->e, &spec, t, t, &env->out), -ENOSPC);
        assert_int_equal(env->out.n_events, 0);
        /* Ticks over a device id that is no node ("02-site") work. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, t + 2 * 3600, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_SLA_BREACH), FAULTS_MANUAL_MAX);
}

/* An operator's action with the facts a store would give: f as stored. */
static int act(Env *env, Action *a, const Fault *f, const FaultDetails *det, time_t now,
               ActionOutcome *ret, char *msg, size_t msglen) {
        FaultDetails none = {};
        ActionFacts facts = { .fault = f, .details = det ?: &none };

        if (!a->by[0])
                (void) snprintf(a->by, sizeof(a->by), "Sato");
        if (!a->os_user[0])
                (void) snprintf(a->os_user, sizeof(a->os_user), "oncall");
        fault_output_clear(&env->out);
        return faults_on_action(env->e, a, &facts, now, &env->out, ret, msg, msglen);
}

/* Every fault action's rules, with no store behind the engine: each is
 * checked against the fault's state, changes the engine's own copy, and
 * is undone when its commit fails. */
static void test_action_rules(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");
        char msg[512];
        ActionOutcome o;
        Fault *f;

        all_up(env, t - 60);
        f = camera_fault(env, env->camera1, env->router1, t);
        assert_non_null(f);
        /* Ack: once. */
        Action ack = { .type = ACTION_ACK, .fault_id = f->id, .note = "on my way" };
        assert_int_equal(act(env, &ack, f, NULL, t + 60, &o, msg, sizeof(msg)), 0);
        assert_ptr_equal(o.fault, f);
        assert_int_equal(f->acknowledged_at, t + 60);
        assert_int_equal(env->out.n_events, 1);
        assert_int_equal(env->out.events[0].type, EVENT_ACKNOWLEDGED);
        assert_string_equal(env->out.events[0].by, "Sato");
        assert_string_equal(env->out.events[0].os_user, "oncall");
        assert_non_null(strstr(env->out.events[0].text, "on my way (by Sato, user oncall)"));
        faults_action_end(env->e, true);
        assert_int_equal(act(env, &ack, f, NULL, t + 70, &o, msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "acknowledged already"));
        assert_int_equal(env->out.n_events, 0);
        /* A deferral before closing time needs a reason. */
        Action defer = { .type = ACTION_DEFER, .fault_id = f->id };
        assert_int_equal(act(env, &defer, f, NULL, t + 80, &o, msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "needs --reason"));
        assert_int_equal(f->deferral_approved_at, 0);
        /* Recovery needs onsite work (or --remote). */
        Action recover = { .type = ACTION_RECOVER, .fault_id = f->id, .cause = "power",
                           .action = "reset", .prevention = "none" };
        assert_int_equal(act(env, &recover, f, NULL, t + 90, &o, msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "no onsite work recorded"));
        /* Onsite: in time; and when its commit fails, undone. */
        Action onsite = { .type = ACTION_ONSITE, .fault_id = f->id };
        assert_int_equal(act(env, &onsite, f, NULL, t + 3000, &o, msg, sizeof(msg)), 0);
        assert_non_null(strstr(msg, "met the due time"));
        assert_int_equal(f->onsite_started_at, t + 3000);
        faults_action_end(env->e, false);
        assert_int_equal(f->onsite_started_at, 0);
        assert_int_equal(f->acknowledged_at, t + 60);
        /* A transient fault only is closed without a visit. */
        Action close = { .type = ACTION_CLOSE, .fault_id = f->id, .note = "n/a" };
        assert_int_equal(act(env, &close, f, NULL, t + 100, &o, msg, sizeof(msg)), -EINVAL);
        /* The report of a fault not recovered is refused. */
        Action report = { .type = ACTION_REPORT_SUBMITTED, .fault_id = f->id,
                          .kind = "recovery" };
        assert_int_equal(act(env, &report, f, NULL, t + 100, &o, msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "no recovery recorded"));
        /* ... recovered (as the store tells): submitted. */
        FaultDetails det = { .recovered_at = t + 200 };
        assert_int_equal(act(env, &report, f, &det, t + 300, &o, msg, sizeof(msg)), 0);
        assert_int_equal(env->out.events[0].type, EVENT_REPORT_SUBMITTED);
        faults_action_end(env->e, true);
        /* No such fault in the store. */
        Action ack2 = { .type = ACTION_ACK, .fault_id = 999 };
        assert_int_equal(act(env, &ack2, NULL, NULL, t + 100, &o, msg, sizeof(msg)), -ENOENT);
        /* Times in the future are refused. */
        Action late = { .type = ACTION_ONSITE, .fault_id = f->id, .at = t + 7200 };
        assert_int_equal(act(env, &late, f, NULL, t + 100, &o, msg, sizeof(msg)), -EINVAL);
        assert_non_null(strstr(msg, "in the future"));
}

/* A deferral is approved before the due passes (L125-131): one recorded
 * after the breach is kept (the visit is planned) but moves nothing, the
 * breach stands; one given in time and recorded later (--at) moves the due. */
static void test_deferral_after_due(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00"), due;
        char msg[512];
        ActionOutcome o;
        Fault *f, *g;

        all_up(env, t - 60);
        f = camera_fault(env, env->camera1, env->router1, t);
        g = camera_fault(env, env->camera2, env->router2, t);
        assert_non_null(f);
        assert_non_null(g);
        due = f->onsite_due;
        assert_int_equal(fault_due(f), due);
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, due - 1, &env->out), 0);
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, due, &env->out), 0);
        assert_true(f->breached);
        /* At the 16:00 prompt: recorded, the due and its breach stay. */
        Action late = { .type = ACTION_DEFER, .fault_id = f->id, .note = "parts" };
        assert_int_equal(act(env, &late, f, NULL, T("2026-11-25T16:05:00"), &o, msg, sizeof(msg)),
                         0);
        assert_non_null(strstr(msg, "after the due time"));
        assert_non_null(strstr(msg, "the due stays"));
        assert_int_equal(env->out.events[0].type, EVENT_DEFERRAL_APPROVED);
        faults_action_end(env->e, true);
        assert_int_equal(f->deferral_approved_at, T("2026-11-25T16:05:00"));
        assert_int_equal(fault_due(f), due);
        assert_true(f->breached);
        /* No second warning or breach follows. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_tick(env->e, T("2026-11-25T16:06:00"), &env->out), 0);
        for (size_t i = 0; i < env->out.n_events; i++)
                assert_true(env->out.events[i].type != EVENT_SLA_BREACH &&
                            env->out.events[i].type != EVENT_SLA_WARNING);
        /* Approved at the due itself, recorded an hour later: the due moves. */
        Action in_time = { .type = ACTION_DEFER, .fault_id = g->id, .note = "parts", .at = due };
        assert_int_equal(act(env, &in_time, g, NULL, due + 3600, &o, msg, sizeof(msg)), 0);
        assert_non_null(strstr(msg, "onsite work now due"));
        assert_int_equal(g->deferral_approved_at, due);
        assert_int_equal(fault_due(g), g->deferred_onsite_due);
        assert_true(g->deferred_onsite_due > due);
        assert_false(g->breached);
        faults_action_end(env->e, true);
        assert_false(deferral_counts(due + 1, due, g->deferred_onsite_due));
        assert_true(deferral_counts(due, due, g->deferred_onsite_due));
        assert_false(deferral_counts(due, due, 0));
}

/* A fault no longer in the engine (cleared, transient) is taken from the
 * store for the action, and let go after it. */
static void test_action_on_stored_fault(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");
        size_t n_before, n_after;
        char msg[512];
        ActionOutcome o;
        Fault stored = {};
        Fault *f;

        all_up(env, t - 60);
        f = camera_fault(env, env->camera1, env->router1, t);
        feed(env, env->camera1, PROBE_UP, "", t + 30);
        feed(env, env->camera1, PROBE_UP, "", t + 40);
        assert_int_equal(fault_copy(&stored, f), 0);
        assert_int_equal(stored.state, FAULT_CLEARED);
        assert_true(stored.transient);
        faults_forget_closed(env->e);
        assert_null(faults_lookup(env->e, stored.id));
        (void) faults_tracked(env->e, &n_before);
        Action close = { .type = ACTION_CLOSE, .fault_id = stored.id, .note = "wind" };
        assert_int_equal(act(env, &close, &stored, NULL, t + 100, &o, msg, sizeof(msg)), 0);
        assert_int_equal(o.fault->state, FAULT_CLOSED);
        assert_int_equal(env->out.n_faults, 1);
        assert_int_equal(env->out.events[0].type, EVENT_FAULT_CLOSED);
        faults_action_end(env->e, true);
        (void) faults_tracked(env->e, &n_after);
        assert_int_equal(n_after, n_before);
        fault_done(&stored);
}

/* The third transient fault or restart inside the anomaly window (24 h)
 * is an anomaly; a fourth in the same window is not another. */
static void test_anomaly_third_transient(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");

        all_up(env, t - 60);
        for (int k = 0; k < 2; k++) {
                camera_fault(env, env->camera1, env->router1, t + k * 600);
                feed(env, env->camera1, PROBE_UP, "", t + k * 600 + 30);
                feed(env, env->camera1, PROBE_UP, "", t + k * 600 + 40);
                assert_int_equal(count_type(env, EVENT_FAULT_TRANSIENT), 1);
                assert_int_equal(count_type(env, EVENT_ANOMALY), 0);
        }
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_restart(env->e, env->camera1, t + 1500, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_DEVICE_RESTARTED), 1);
        assert_int_equal(count_type(env, EVENT_ANOMALY), 1);
        assert_string_equal(env->out.events[1].device, "01-camera");
        assert_non_null(strstr(env->out.events[1].text, "3 transient faults or restarts"));
        /* The other camera's restarts are its own. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_restart(env->e, env->camera2, t + 1600, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_ANOMALY), 0);
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_restart(env->e, env->camera1, t + 1700, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_ANOMALY), 0);
        /* A day later the window holds one restart only. */
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_restart(env->e, env->camera1, t + 86400 + 1600, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_ANOMALY), 0);
}

/* Across a restart of the daemon: the window's events, read back from the
 * store, count; an anomaly already in the window is not raised again. */
static void test_anomaly_across_restart(void **state) {
        Env *env = *state;
        time_t t = T("2026-11-25T10:00:00");

        assert_int_equal(faults_restore_event(env->e, "01-camera", EVENT_FAULT_TRANSIENT,
                                              t - 90000, t), 0); /* outside the window */
        assert_int_equal(faults_restore_event(env->e, "01-camera", EVENT_FAULT_TRANSIENT,
                                              t - 3600, t), 0);
        assert_int_equal(faults_restore_event(env->e, "01-camera", EVENT_DEVICE_RESTARTED,
                                              t - 1800, t), 0);
        assert_int_equal(faults_restore_event(env->e, "99-camera", EVENT_DEVICE_RESTARTED,
                                              t - 1800, t), 0); /* no such node: ignored */
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_restart(env->e, env->camera1, t, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_ANOMALY), 1);
        /* The second camera had its anomaly an hour ago. */
        for (int k = 0; k < 2; k++)
                assert_int_equal(faults_restore_event(env->e, "02-camera", EVENT_DEVICE_RESTARTED,
                                                      t - 7200 + k, t), 0);
        assert_int_equal(faults_restore_event(env->e, "02-camera", EVENT_ANOMALY, t - 3600, t),
                         0);
        fault_output_clear(&env->out);
        assert_int_equal(faults_on_restart(env->e, env->camera2, t, &env->out), 0);
        assert_int_equal(count_type(env, EVENT_ANOMALY), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_camera_down_then_transient, setup, teardown),
                cmocka_unit_test_setup_teardown(test_security_incidents, setup, teardown),
                cmocka_unit_test_setup_teardown(test_router_down_hides_camera, setup, teardown),
                cmocka_unit_test_setup_teardown(test_vpn_down_hides_everything, setup, teardown),
                cmocka_unit_test_setup_teardown(test_site_lost, setup, teardown),
                cmocka_unit_test_setup_teardown(test_degraded_kinds, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clocks, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clock_jumps, setup, teardown),
                cmocka_unit_test_setup_teardown(test_clocks_of_several_faults, setup, teardown),
                cmocka_unit_test_setup_teardown(test_restore_no_second_raise, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reception_by_call, setup_call, teardown),
                cmocka_unit_test_setup_teardown(test_reception_call_late, setup_call, teardown),
                cmocka_unit_test_setup_teardown(test_vpn_sendback, setup_call, teardown),
                cmocka_unit_test_setup_teardown(test_manual_fault, setup, teardown),
                cmocka_unit_test_setup_teardown(test_manual_fault_bound, setup, teardown),
                cmocka_unit_test_setup_teardown(test_action_rules, setup, teardown),
                cmocka_unit_test_setup_teardown(test_deferral_after_due, setup, teardown),
                cmocka_unit_test_setup_teardown(test_dashed_site_id, setup_dashed, teardown),
                cmocka_unit_test_setup_teardown(test_action_on_stored_fault, setup, teardown),
                cmocka_unit_test_setup_teardown(test_anomaly_third_transient, setup, teardown),
                cmocka_unit_test_setup_teardown(test_anomaly_across_restart, setup, teardown),
        };

        return cmocka_run_group_tests_name("faults", tests, NULL, NULL);
}
