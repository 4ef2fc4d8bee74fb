/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "timeutil.h"
#include "router.h"

/* The VPN's scalars come first in its OID list, the tunnels after. */
enum {
        VPN_UPTIME,
        VPN_CPU,
        VPN_MEMORY,
        VPN_TEMPERATURE,
        VPN_ALARM,
        _VPN_SCALARS,
};

/* The router's list: sysUpTime, ifOperStatus, then the signals. */
enum {
        ROUTER_UPTIME,
        ROUTER_IF_OPER,
        _ROUTER_SCALARS,
};

struct RouterProbe {
        SnmpSession *session;
        ProbeDoneFn done;
        void *userdata;

        SnmpOidList *oids;           /* shared with the probes asking for the same */
        /* The answers, only while a cycle runs (issue 18: n_oids x 48 bytes a
         * router at rest would hold for nothing). The allocation is of the
         * same size every time: malloc's per-thread cache serves it. */
        SnmpValue *values;
        size_t n_oids, next;         /* the next OID to ask for (chunks of SNMP_OIDS_PER_GET) */
        uint64_t started;            /* CLOCK_MONOTONIC usec */

        const SignalConf *signals;   /* the configuration's (issue 18: not a copy per router) */
        size_t n_signals;
        uint8_t *tunnels;
        uint32_t *tunnel_numbers;    /* the VPN: tunnels[i]'s number */
        size_t n_tunnels;
        unsigned max_cpu, max_memory;
        int max_temperature;
        uint32_t prev_ticks;         /* with has_prev */
        uint64_t prev_mono;

        /* Its identity (sites[].router.sys_name), asked for last in the list:
         * a router answering for another site (a wrong address, a swapped
         * SIM) is told from this site's by its sysName. */
        char *sys_name;              /* NULL: not asked */
        unsigned long sys_name_hash;

        /* Together, after the rest: no padding between (issue 18). */
        bool vpn;
        bool running;
        bool has_prev;
};

static int probe_alloc(SnmpEngine *snmp, const SnmpTarget *t, size_t n_oids, ProbeDoneFn done,
                       void *userdata, RouterProbe **ret, char err[static SNMP_ERROR_MAX]) {
        _cleanup_(router_probe_freep) RouterProbe *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->done = done;
        p->userdata = userdata;
        p->n_oids = n_oids;
        r = snmp_session_new(snmp, t, &p->session, err);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

/* Packs the OIDs parsed into oids (n_oids of them) into the probe's list,
 * shared with the probes before that asked for the same on the engine. */
static int probe_set_oids(RouterProbe *p, SnmpEngine *snmp, const SnmpOid *oids) {
        return snmp_oid_list_new(snmp, oids, p->n_oids, &p->oids);
}

int router_probe_new(SnmpEngine *snmp, const RouterProbeConf *conf, ProbeDoneFn done,
                     void *userdata, RouterProbe **ret, char err[static SNMP_ERROR_MAX]) {
        size_t n = MIN(conf->n_signals, (size_t) PROBE_SIGNALS_MAX);
        SnmpOid base, oids[_ROUTER_SCALARS + PROBE_SIGNALS_MAX + 1];
        _cleanup_(router_probe_freep) RouterProbe *p = NULL;
        int r;

        r = probe_alloc(snmp, &conf->target, _ROUTER_SCALARS + n + !!conf->sys_name, done,
                        userdata, &p, err);
        if (r < 0)
                return r;
        if (conf->sys_name) {
                p->sys_name = strdup(conf->sys_name);
                if (!p->sys_name)
                        return -ENOMEM;
                p->sys_name_hash = (unsigned long) snmp_text_hash(conf->sys_name,
                                                                  strlen(conf->sys_name));
                r = snmp_oid_parse(OID_SYS_NAME, &oids[_ROUTER_SCALARS + n]);
                if (r < 0)
                        return r;
        }
        r = snmp_oid_parse(OID_SYS_UPTIME, &oids[ROUTER_UPTIME]);
        if (r >= 0)
                r = snmp_oid_parse(OID_IF_OPER_STATUS, &base);
        if (r >= 0)
                r = snmp_oid_append(&base, conf->wan_ifindex, &oids[ROUTER_IF_OPER]);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const SignalConf *s = &conf->signals[i];

                r = snmp_oid_parse(s->oid, &oids[_ROUTER_SCALARS + i]);
        }
        p->signals = conf->signals;
        p->n_signals = n;
        if (r < 0) {
                (void) snprintf(err, SNMP_ERROR_MAX, "invalid OID in the configuration");
                return r;
        }
        r = probe_set_oids(p, snmp, oids);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

int vpn_probe_new(SnmpEngine *snmp, const VpnProbeConf *conf, ProbeDoneFn done, void *userdata,
                  RouterProbe **ret, char err[static SNMP_ERROR_MAX]) {
        static const char *const scalars[_VPN_SCALARS] = {
                [VPN_UPTIME] = OID_SYS_UPTIME,           [VPN_CPU] = OID_YRH_CPU_5SEC,
                [VPN_MEMORY] = OID_YRH_MEMORY,           [VPN_TEMPERATURE] = OID_YRH_TEMPERATURE,
                [VPN_ALARM] = OID_YRH_ALARM,
        };
        _cleanup_(router_probe_freep) RouterProbe *p = NULL;
        _cleanup_(freep) SnmpOid *oids = NULL;
        SnmpOid tunnel;
        int r = 0;

        r = probe_alloc(snmp, &conf->target, _VPN_SCALARS + conf->n_tunnels, done, userdata, &p,
                        err);
        if (r < 0)
                return r;
        p->vpn = true;
        p->max_cpu = conf->max_cpu;
        p->max_memory = conf->max_memory;
        p->max_temperature = conf->max_temperature;
        p->n_tunnels = conf->n_tunnels;
        p->tunnels = calloc(MAX(conf->n_tunnels, (size_t) 1), 1);
        p->tunnel_numbers = calloc(MAX(conf->n_tunnels, (size_t) 1), sizeof(uint32_t));
        if (!p->tunnels || !p->tunnel_numbers)
                return -ENOMEM;
        /* Parsed in full only here, packed into the list after. */
        oids = calloc(p->n_oids, sizeof(SnmpOid));
        if (!oids)
                return -ENOMEM;
        for (size_t i = 0; r >= 0 && i < _VPN_SCALARS; i++)
                r = snmp_oid_parse(scalars[i], &oids[i]);
        if (r >= 0)
                r = snmp_oid_parse(OID_YR_TUNNEL_LINK, &tunnel);
        for (size_t i = 0; r >= 0 && i < conf->n_tunnels; i++) {
                p->tunnel_numbers[i] = conf->tunnels[i];
                r = snmp_oid_append(&tunnel, conf->tunnels[i], &oids[_VPN_SCALARS + i]);
        }
        if (r >= 0)
                r = probe_set_oids(p, snmp, oids);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

RouterProbe *router_probe_free(RouterProbe *p) {
        if (!p)
                return NULL;
        snmp_session_free(p->session);
        snmp_oid_list_unref(p->oids);
        free(p->sys_name);
        free(p->values);
        free(p->tunnels);
        free(p->tunnel_numbers);
        free(p);
        return NULL;
}

bool router_probe_running(const RouterProbe *p) {
        return p->running;
}

bool router_probe_community_is(const RouterProbe *p, const char *community) {
        return snmp_session_community_is(p->session, community);
}

/* ======================================================================== */

static bool value_number(const SnmpValue *v, long *ret) {
        switch (v->type) {
        case SNMP_VALUE_INTEGER:
                *ret = v->integer;
                return true;
        case SNMP_VALUE_UNSIGNED:
                *ret = (long) v->unsigned_;
                return true;
        default:
                return false;
        }
}

/* sysUpTime, and a restart when it went backwards. */
static void check_uptime(RouterProbe *p, const SnmpValue *v, ProbeResult *r, bool *ret_has,
                         uint32_t *ret_ticks, bool *ret_rebooted) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (v->type != SNMP_VALUE_TIMETICKS) {
                probe_result_fail(r, PROBE_DEGRADED, "sysUpTime %s",
                                  v->type == SNMP_VALUE_NONE ? "missing" : "of the wrong type");
                return;
        }
        *ret_has = true;
        *ret_ticks = (uint32_t) v->unsigned_;
        *ret_rebooted = p->has_prev && uptime_restarted(p->prev_ticks, *ret_ticks,
                                                        now - p->prev_mono);
        p->has_prev = true;
        p->prev_ticks = *ret_ticks;
        p->prev_mono = now;
}

static void check_threshold(const SignalConf *t, const SnmpValue *v, SignalValue *out,
                            ProbeResult *r) {
        long x;

        if (!value_number(v, &x)) {
                probe_result_fail(r, PROBE_DEGRADED, "LTE %s %s", t->name,
                                  v->type == SNMP_VALUE_NONE ? "not available on the router"
                                                             : "of the wrong type");
                return;
        }
        out->has = true;
        out->value = x;
        if (t->has_warn_below && (double) x < t->warn_below)
                probe_result_fail(r, PROBE_DEGRADED, "LTE %s %ld below %g", t->name, x,
                                  t->warn_below);
        else if (t->has_warn_above && (double) x > t->warn_above)
                probe_result_fail(r, PROBE_DEGRADED, "LTE %s %ld above %g", t->name, x,
                                  t->warn_above);
}

/* Whether the router answers as the one configured; if not, the result
 * says whom it answers as, and none of its values count (its sysUpTime is
 * another router's: no restart, now or when the right one answers again). */
static bool check_identity(RouterProbe *p, ProbeResult *r) {
        const SnmpValue *v;

        if (!p->sys_name)
                return true;
        v = &p->values[p->n_oids - 1];
        if (v->type == SNMP_VALUE_STRING && v->unsigned_ == p->sys_name_hash)
                return true;
        if (v->type == SNMP_VALUE_STRING)
                probe_result_fail(r, PROBE_DEGRADED,
                                  "answers as %s, expected %s: another site's router at this "
                                  "address?",
                                  v->text, p->sys_name);
        else
                probe_result_fail(r, PROBE_DEGRADED, "sysName %s, expected %s",
                                  v->type == SNMP_VALUE_NONE ? "missing" : "of the wrong type",
                                  p->sys_name);
        p->has_prev = false;
        return false;
}

static void evaluate_router(RouterProbe *p, ProbeResult *r) {
        RouterValues *v = &r->router;
        long oper;

        if (!check_identity(p, r))
                return;
        check_uptime(p, &p->values[ROUTER_UPTIME], r, &v->has_uptime, &v->uptime_ticks,
                     &v->rebooted);
        if (value_number(&p->values[ROUTER_IF_OPER], &oper)) {
                v->if_oper = (int) oper;
                if (oper != 1)
                        probe_result_fail(r, PROBE_DEGRADED, "WAN interface not up (ifOperStatus %ld)",
                                          oper);
        } else
                probe_result_fail(r, PROBE_DEGRADED, "WAN ifOperStatus %s",
                                  p->values[ROUTER_IF_OPER].type == SNMP_VALUE_NONE
                                          ? "missing (check wan_ifindex)"
                                          : "of the wrong type");
        for (size_t i = 0; i < p->n_signals; i++)
                check_threshold(&p->signals[i], &p->values[_ROUTER_SCALARS + i], &v->signals[i],
                                r);
}

/* A number the VPN router must give; one it cannot is a reason, never a
 * silently skipped check. */
static bool vpn_number(const SnmpValue *v, const char *what, ProbeResult *r, long *ret) {
        if (value_number(v, ret))
                return true;
        probe_result_fail(r, PROBE_DEGRADED, "%s %s", what,
                          v->type == SNMP_VALUE_NONE ? "missing" : "of the wrong type");
        return false;
}

static void evaluate_vpn(RouterProbe *p, ProbeResult *r) {
        VpnValues *v = &r->vpn;
        long x;

        check_uptime(p, &p->values[VPN_UPTIME], r, &v->has_uptime, &v->uptime_ticks,
                     &v->rebooted);
        v->cpu = vpn_number(&p->values[VPN_CPU], "CPU (yrhCpuUtil5sec)", r, &x) ? (int) x : -1;
        v->memory = vpn_number(&p->values[VPN_MEMORY], "memory (yrhMemoryUtil)", r, &x) ? (int) x
                                                                                        : -1;
        v->temperature = vpn_number(&p->values[VPN_TEMPERATURE],
                                    "temperature (yrhInboxTemperature)", r, &x) ? (int) x : -1;
        v->alarm = vpn_number(&p->values[VPN_ALARM], "alarm LED (yrhSystemAlarm)", r, &x) ? (int) x
                                                                                         : 0;
        if (v->alarm == 1)
                probe_result_fail(r, PROBE_DEGRADED, "alarm LED on");
        if (v->cpu > (int) p->max_cpu)
                probe_result_fail(r, PROBE_DEGRADED, "CPU %d%% above %u%%", v->cpu, p->max_cpu);
        if (v->memory > (int) p->max_memory)
                probe_result_fail(r, PROBE_DEGRADED, "memory %d%% above %u%%", v->memory,
                                  p->max_memory);
        if (v->temperature > p->max_temperature)
                probe_result_fail(r, PROBE_DEGRADED, "temperature %d °C above %d °C",
                                  v->temperature, p->max_temperature);
        for (size_t i = 0; i < p->n_tunnels; i++) {
                const SnmpValue *t = &p->values[_VPN_SCALARS + i];
                char what[48];

                (void) snprintf(what, sizeof(what), "tunnel %" PRIu32 " state (yrIfTunnelLink)",
                                p->tunnel_numbers[i]);
                if (!vpn_number(t, what, r, &x))
                        p->tunnels[i] = TUNNEL_UNKNOWN;
                else if (x == TUNNEL_UP || x == TUNNEL_DOWN)
                        p->tunnels[i] = (uint8_t) x;
                else {
                        p->tunnels[i] = TUNNEL_UNKNOWN;
                        probe_result_fail(r, PROBE_DEGRADED, "%s %ld, neither up (1) nor down (2)",
                                          what, x);
                }
        }
        v->tunnels = p->tunnels;
        v->n_tunnels = p->n_tunnels;
}

static void cycle_finish(RouterProbe *p, const char *error) {
        ProbeResult r = { .status = PROBE_UP };

        p->running = false;
        r.latency_usec = now_usec(CLOCK_MONOTONIC) - p->started;
        if (error) {
                probe_result_fail(&r, PROBE_DOWN, "%s", error);
                if (p->vpn) {
                        r.vpn.cpu = r.vpn.memory = r.vpn.temperature = -1;
                        memset(p->tunnels, TUNNEL_UNKNOWN, p->n_tunnels);
                        r.vpn.tunnels = p->tunnels;
                        r.vpn.n_tunnels = p->n_tunnels;
                }
        } else if (p->vpn)
                evaluate_vpn(p, &r);
        else
                evaluate_router(p, &r);
        /* The result holds no pointer into the values. */
        p->values = mfree(p->values);
        p->done(p->userdata, &r);
}

static int send_chunk(RouterProbe *p);

static void on_get_done(void *userdata, const char *error, const SnmpValue *values, size_t n) {
        RouterProbe *p = userdata;
        int r;

        if (error) {
                cycle_finish(p, error);
                return;
        }
        /* The values are already in place (p->values + p->next). */
        (void) values;
        p->next += n;
        if (p->next >= p->n_oids) {
                cycle_finish(p, NULL);
                return;
        }
        r = send_chunk(p);
        if (r < 0)
                cycle_finish(p, "cannot send the SNMP request");
}

static int send_chunk(RouterProbe *p) {
        size_t n = MIN(p->n_oids - p->next, (size_t) SNMP_OIDS_PER_GET);

        return snmp_session_get(p->session, p->oids, p->next, n, p->values + p->next,
                                on_get_done, p);
}

int router_probe_start(RouterProbe *p) {
        int r;

        if (p->running)
                return -EBUSY;
        p->next = 0;
        p->started = now_usec(CLOCK_MONOTONIC);
        p->values = calloc(p->n_oids, sizeof(SnmpValue));
        if (!p->values)
                return -ENOMEM;
        r = send_chunk(p);
        if (r < 0) {
                p->values = mfree(p->values);
                return r;
        }
        p->running = true;
        return 0;
}
