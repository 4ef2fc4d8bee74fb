/* SPDX-License-Identifier: MIT */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "credentials.h"
#include "log.h"
#include "macro.h"
#include "timeutil.h"
#include "monitor-internal.h"

/* Credentials, read once each while the devices are built. */
typedef struct SecretCache {
        const char *dir;
        char *names[16];
        char *values[16];
        size_t n;
} SecretCache;

const char *device_kind_to_string(DeviceKind k) {
        static const char *const table[] = {
                [DEVICE_CAMERA] = "camera",
                [DEVICE_ROUTER] = "router",
                [DEVICE_VPN] = "vpn",
        };
        return k <= DEVICE_VPN ? table[k] : "unknown";
}

static uint64_t random_below(uint64_t n) {
        uint64_t v = 0;

        if (n == 0)
                return 0;
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = now_usec(CLOCK_MONOTONIC) * 6364136223846793005ULL;
        return v % n;
}

/* ======================================================================== */

static const char *secret_get(SecretCache *c, const char *name, const char *device) {
        char *v = NULL;
        int r;

        if (!name)
                return NULL;
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->names[i], name))
                        return c->values[i];
        r = credential_read(c->dir, name, &v);
        if (r < 0) {
                log_error("%s: cannot read credential '%s' in %s: %s", device, name, c->dir,
                          r == -ENODATA ? "empty file" : strerror(-r));
                return NULL;
        }
        if (c->n == ELEMENTSOF(c->names)) {
                log_error("%s: more than %zu distinct credentials", device, ELEMENTSOF(c->names));
                credential_free(v);
                return NULL;
        }
        c->names[c->n] = strdup(name);
        if (!c->names[c->n]) {
                credential_free(v);
                return NULL;
        }
        c->values[c->n++] = v;
        return v;
}

static void secret_cache_clear(SecretCache *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->names[i]);
                credential_free(c->values[i]);
        }
        c->n = 0;
}

static int snmp_target(SecretCache *sc, const char *device, const char *address, uint16_t port,
                       const SnmpConf *snmp, uint64_t timeout, unsigned retries,
                       SnmpTarget *ret) {
        SnmpTarget t = {
                .address = address,
                .port = port,
                .conf = snmp,
                .timeout = timeout,
                .retries = retries,
        };


        if (snmp->version == SNMP_VERSION_V2C) {
                t.community = secret_get(sc, snmp->community_credential, device);
                if (!t.community)
                        return -ENOKEY;
        } else {
                t.auth_password = secret_get(sc, snmp->auth_credential, device);
                t.priv_password = secret_get(sc, snmp->priv_credential, device);
                if (!t.auth_password || !t.priv_password)
                        return -ENOKEY;
        }
        *ret = t;
        return 0;
}

/* ======================================================================== */

void device_mark_dirty(Device *d) {
        Monitor *m = d->monitor;

        d->unwritten = false;
        if (d->dirty)
                return;
        d->dirty = true;
        m->dirty[m->n_dirty++] = (uint32_t) (d - m->devices);
        if (m->n_dirty == 1) {
                (void) sd_event_source_set_time_relative(m->flush_timer, FLUSH_DELAY);
                (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ONESHOT);
        }
}

static const char *tunnel_to_string(TunnelState t) {
        return t == TUNNEL_UP ? "up" : t == TUNNEL_DOWN ? "down" : "unknown";
}

static json_t *camera_values(const Device *d, const CameraValues *v) {
        json_t *o = json_object();

        if (!o)
                return NULL;
        if (v->has_clock_skew)
                (void) json_object_set_new(o, "clock_skew", json_real(v->clock_skew));
        if (v->model[0])
                (void) json_object_set_new(o, "model", json_string(v->model));
        if (d->serial[0])
                (void) json_object_set_new(o, "serial", json_string(d->serial));
        if (v->firmware[0])
                (void) json_object_set_new(o, "firmware", json_string(v->firmware));
        if (v->has_recording_lag)
                (void) json_object_set_new(o, "recording_lag", json_integer(v->recording_lag));
        if (v->sd_state[0])
                (void) json_object_set_new(o, "sd", json_string(v->sd_state));
        if (d->camera) {
                char buf[PROBE_REASON_MAX + 32];

                /* ONVIF events (issue 16): the subscription, and the topics the
                 * camera does not offer (then polling alone watches for them). */
                (void) json_object_set_new(
                        o, "events", json_string(camera_probe_events_state(d->camera, buf,
                                                                            sizeof(buf))));
                if (camera_probe_events_missing(d->camera, buf, sizeof(buf))[0])
                        (void) json_object_set_new(o, "events_missing", json_string(buf));
        }
        return o;
}

json_t *router_values(const Device *d, const RouterValues *v) {
        const Config *c = d->monitor->config;
        json_t *o = json_object();

        if (!o)
                return NULL;
        if (v->has_uptime)
                (void) json_object_set_new(o, "uptime", json_integer(v->uptime_ticks / 100));
        if (v->if_oper)
                (void) json_object_set_new(o, "if_oper", json_integer(v->if_oper));
        for (size_t i = 0; i < c->probes.router.n_signals && i < PROBE_SIGNALS_MAX; i++)
                if (v->signals[i].has)
                        (void) json_object_set_new(o, c->probes.router.signals[i].name,
                                                   json_integer(v->signals[i].value));
        if (c->has_vpn)
                (void) json_object_set_new(o, "tunnel", json_string(tunnel_to_string(d->tunnel)));
        return o;
}

static json_t *vpn_values(const Device *d, const VpnValues *v) {
        const Config *c = d->monitor->config;
        json_t *o = json_object(), *t = json_object();

        if (!o || !t) {
                json_decref(o);
                json_decref(t);
                return NULL;
        }
        if (v->has_uptime)
                (void) json_object_set_new(o, "uptime", json_integer(v->uptime_ticks / 100));
        if (v->cpu >= 0)
                (void) json_object_set_new(o, "cpu", json_integer(v->cpu));
        if (v->memory >= 0)
                (void) json_object_set_new(o, "memory", json_integer(v->memory));
        if (v->temperature >= 0)
                (void) json_object_set_new(o, "temperature", json_integer(v->temperature));
        if (v->alarm)
                (void) json_object_set_new(o, "alarm", json_string(v->alarm == 1 ? "on" : "off"));
        for (size_t i = 0; i < v->n_tunnels && i < c->n_sites; i++)
                (void) json_object_set_new(t, c->sites[i].id,
                                           json_string(tunnel_to_string(v->tunnels[i])));
        (void) json_object_set_new(o, "tunnels", t);
        return o;
}

/* FNV-1a, over the values a reader of the device row sees. */
static uint64_t hash_bytes(uint64_t h, const void *p, size_t n) {
        const unsigned char *b = p;

        for (size_t i = 0; i < n; i++)
                h = (h ^ b[i]) * UINT64_C(0x100000001b3);
        return h;
}

static uint64_t hash_str(uint64_t h, const char *s) {
        return hash_bytes(h, s, strlen(s) + 1);
}

static uint64_t hash_int(uint64_t h, int64_t v) {
        return hash_bytes(h, &v, sizeof(v));
}

/* What a reader of the device row would see change: its values but for
 * uptime (it grows at every probe), the clock skew to the second and the
 * latency to 100 ms. */
static uint64_t device_visible_hash(const Device *d, const ProbeResult *r) {
        const Config *c = d->monitor->config;
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        h = hash_int(h, r->status);
        h = hash_str(h, r->reason);
        /* In steps of 100 ms: a loopback's jitter is not news, a slow link is. */
        h = hash_int(h, r->latency_usec <= 0 ? -1 : (int64_t) (r->latency_usec / (100 * USEC_PER_MSEC)));
        switch (d->kind) {
        case DEVICE_CAMERA: {
                const CameraValues *v = &r->camera;

                h = hash_int(h, v->has_clock_skew ? (int64_t) (v->clock_skew + (v->clock_skew < 0 ? -0.5 : 0.5)) : INT64_MIN);
                h = hash_str(h, v->model);
                h = hash_str(h, v->firmware);
                h = hash_str(h, r->camera.serial[0] ? r->camera.serial : d->serial);
                h = hash_int(h, v->has_recording_lag ? v->recording_lag : INT64_MIN);
                h = hash_str(h, v->sd_state);
                if (d->camera) {
                        char buf[PROBE_REASON_MAX + 32];

                        /* The events' state and missing topics are in the row too. */
                        h = hash_str(h, camera_probe_events_state(d->camera, buf, sizeof(buf)));
                        h = hash_str(h, camera_probe_events_missing(d->camera, buf, sizeof(buf)));
                }
                break;
        }
        case DEVICE_ROUTER: {
                const RouterValues *v = &r->router;

                h = hash_int(h, v->has_uptime);
                h = hash_int(h, v->if_oper);
                for (size_t i = 0; i < c->probes.router.n_signals && i < PROBE_SIGNALS_MAX; i++)
                        h = hash_int(h, v->signals[i].has ? v->signals[i].value : INT64_MIN);
                /* Not the tunnel: its change writes the row (vpn_spread_tunnels),
                 * and in the hash it wrote the row again at the next result. */
                break;
        }
        case DEVICE_VPN:
                break; /* one device: written at every result */
        }
        return h;
}

/* Keeps a device's values as their JSON text (a few dozen bytes, where
 * the object would take a KiB) until its row is written, and frees the
 * object. */
void device_set_values(Device *d, json_t *values) {
        char *text;

        if (!values)
                return;
        text = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(values);
        if (!text)
                return; /* out of memory: the row keeps the values it has */
        free(d->values_json);
        d->values_json = text;
}

/* Hands the VPN's view of each tunnel to the site's router device. */
static void vpn_spread_tunnels(Monitor *m, const VpnValues *v) {
        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = &m->devices[i];
                TunnelState t;

                if (d->kind != DEVICE_ROUTER || d->site >= v->n_tunnels)
                        continue;
                t = v->tunnels[d->site];
                if (t == d->tunnel)
                        continue;
                d->tunnel = t;
                if (d->has_result)
                        device_set_values(d, router_values(d, &d->router_values));
                device_mark_dirty(d);
        }
}

/* ======================================================================== */

static void monitor_arm_clock(Monitor *m);

/* Arms the probe timer for the earliest device, or stops it. */
static void monitor_arm_probes(Monitor *m) {
        uint64_t at;

        if (!prioq_peek(m->due, &at)) {
                (void) sd_event_source_set_enabled(m->probe_timer, SD_EVENT_OFF);
                m->probe_timer_at = 0;
                return;
        }
        if (m->probe_timer_at == (uint64_t) at)
                return;
        (void) sd_event_source_set_time(m->probe_timer, (uint64_t) at);
        (void) sd_event_source_set_enabled(m->probe_timer, SD_EVENT_ONESHOT);
        m->probe_timer_at = (uint64_t) at;
}

_Static_assert(PROBE_SLOT <= UINT32_MAX, "a wait for the slot fits Device.slot_wait");

/* The first slot of the PROBE_SLOT grid at or after `at` (never 0: a due
 * time of 0 means none). */
static uint64_t slot_ceil(uint64_t at) {
        return (MAX(at, (uint64_t) 1) + PROBE_SLOT - 1) / PROBE_SLOT * PROBE_SLOT;
}

/* Puts a device's next probe at `at` (CLOCK_MONOTONIC usec), `wait` after
 * its schedule: one heap for every device, not a timer each (issue 7:
 * 20,000 devices). */
static void device_put(Device *d, uint64_t at, uint32_t wait) {
        Monitor *m = d->monitor;

        d->slot_wait = wait;
        (void) prioq_put(m->due, d, at, &d->due_idx); /* room for all */
        if (m->probe_timer_at == 0 || at < m->probe_timer_at)
                monitor_arm_probes(m);
}

/* An urgent probe at `at`, off the grid. */
static void device_arm_at(Device *d, uint64_t at) {
        device_put(d, MAX(at, (uint64_t) 1), 0);
}

/* The schedule's probes start on the PROBE_SLOT grid (rounded up); the
 * schedule itself stays exact (slot_wait, device_start): an interval that is
 * not a multiple of the slot is kept on average, not lengthened to one. */
static void device_arm(Device *d, uint64_t at) {
        uint64_t slot = slot_ceil(at);

        device_put(d, slot, (uint32_t) (slot - MAX(at, (uint64_t) 1)));
}

/* Probes the devices the fault engine asks about, at once (unless running). */
static void monitor_reprobe(Monitor *m, const FaultOutput *o) {
        for (size_t i = 0; i < o->n_reprobe; i++) {
                size_t dev = m->node_device[o->reprobe[i]];
                Device *d;

                if (dev == SIZE_MAX)
                        continue;
                d = &m->devices[dev];
                device_arm(d, now_usec(CLOCK_MONOTONIC));
        }
}

/* After the pipeline handled a batch: the nodes the engine asks about are
 * probed at once, and the contract clock is armed anew. */
static void on_handled(const FaultOutput *o, void *userdata) {
        Monitor *m = userdata;

        monitor_reprobe(m, o);
        monitor_arm_clock(m);
}

/* Hands a result to the fault engine and carries out what it decides. */
static void monitor_judge(Monitor *m, size_t node, ProbeStatus s, const char *reason, time_t now) {
        int r;

        fault_output_clear(&m->out);
        r = faults_on_result(m->faults, node, s, reason, now, &m->out);
        if (r < 0)
                log_errno(LOG_ERR, r, "%s: cannot judge the result", faults_node_id(m->faults, node));
        (void) pipeline_commit(m->pipeline, &m->out);
}

static void monitor_device_event(Monitor *m, const Device *d, bool restarted, const char *old,
                                 const char *new_serial, time_t now) {
        FaultOutput o = {};

        if (restarted)
                (void) faults_on_restart(m->faults, d->node, now, &o);
        else
                (void) faults_on_swap(m->faults, d->node, old, new_serial, now, &o);
        (void) pipeline_commit(m->pipeline, &o);
        fault_output_done(&o);
}

/* ======================================================================== */
/* Traps (issue 16): a hint, never a fault by itself. */

#define TRAP_LOG_EVERY (60 * USEC_PER_SEC)

static bool same_address(const char *configured, const char *source) {
        unsigned char a[16], b[16];
        int fa = strchr(configured, ':') ? AF_INET6 : AF_INET;

        if (streq(configured, source))
                return true;
        return inet_pton(fa, configured, a) == 1 && inet_pton(fa, source, b) == 1 &&
               memcmp(a, b, fa == AF_INET ? 4 : 16) == 0;
}

static Device *device_by_address(Monitor *m, const char *source) {
        const Config *c = m->config;

        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = &m->devices[i];
                const char *a = d->kind == DEVICE_ROUTER ? c->sites[d->site].router.address
                                : d->kind == DEVICE_VPN  ? c->vpn.address
                                                         : NULL;

                if (a && same_address(a, source))
                        return d;
        }
        return NULL;
}

/* The trap counters changed: the metrics are written within a second (not
 * at each trap of a storm, and not a whole interval later). */
static void metrics_soon(Monitor *m) {
        uint64_t at = 0, soon = now_usec(CLOCK_MONOTONIC) + USEC_PER_SEC;

        if (!m->metrics_timer || sd_event_source_get_time(m->metrics_timer, &at) < 0 || at <= soon)
                return;
        (void) sd_event_source_set_time(m->metrics_timer, soon);
}

/* Ignored traps are counted; one line a minute says how many. */
static void trap_ignored(Monitor *m, const char *why, const Trap *t) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        m->traps_ignored_unlogged++;
        if (m->traps_ignored_logged_at && now - m->traps_ignored_logged_at < TRAP_LOG_EVERY)
                return;
        log_warning("Ignored %u trap%s in the last minute (the last: %s from %s, %s); %" PRIu64
                    " from unknown senders and %" PRIu64 " with a wrong community since the "
                    "start.",
                    m->traps_ignored_unlogged, m->traps_ignored_unlogged == 1 ? "" : "s",
                    trap_kind_to_string(trap_kind(t->oid)), t->source, why, m->traps_unknown,
                    m->traps_refused);
        m->traps_ignored_unlogged = 0;
        m->traps_ignored_logged_at = now;
}

/* Probes d back to back until the engine can decide. True when that moved
 * its next probe to now; false when one is coming at once already or is in
 * flight (it is followed at once): a storm of traps is one re-probe. */
static bool device_hurry(Device *d, time_t now, const char *by) {
        Monitor *m = d->monitor;
        uint64_t at = prioq_key(m->due, &d->due_idx),
                 mono = now_usec(CLOCK_MONOTONIC);

        d->urgent = m->config->probes.fail_after + m->config->probes.recover_after;
        faults_hint(m->faults, d->node, now, by);
        /* Due within the gap of urgent probes is soon enough. */
        if (at == 0 || at <= mono + URGENT_GAP)
                return false;
        device_arm_at(d, mono);
        return true;
}

int monitor_on_trap(Monitor *m, const Trap *t, char *msg, size_t msglen) {
        time_t now = wallclock_now();
        Device *d = device_by_address(m, t->source), *camera = NULL;
        bool started;

        metrics_soon(m);
        if (!d) {
                m->traps_unknown++;
                trap_ignored(m, "not a configured router", t);
                (void) snprintf(msg, msglen, "%s is no configured router: ignored", t->source);
                return -ENOENT;
        }
        if (t->has_community) {
                if (!d->router || !router_probe_community_is(d->router, t->community)) {
                        m->traps_refused++;
                        trap_ignored(m, "wrong community", t);
                        (void) snprintf(msg, msglen, "%s: wrong community: ignored", d->id);
                        return -EPERM;
                }
        }
        m->traps_acted++;
        /* A router's camera is behind it: both are looked at. */
        if (d->kind == DEVICE_ROUTER)
                for (size_t i = 0; i < m->n_devices; i++)
                        if (m->devices[i].kind == DEVICE_CAMERA && m->devices[i].site == d->site)
                                camera = &m->devices[i];
        if (d->urgent == 0)
                log_info("%s: %s trap: probing it%s now.", d->id,
                         trap_kind_to_string(trap_kind(t->oid)), camera ? " and its camera" : "");
        started = device_hurry(d, now, "trap");
        if (camera)
                (void) device_hurry(camera, now, "trap");
        (void) snprintf(msg, msglen, "%s: %s: %s", d->id, trap_kind_to_string(trap_kind(t->oid)),
                        started ? "probing it now" : "a probe is under way already");
        return 0;
}

static int on_clock_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;
        int r;

        (void) s;
        (void) usec;
        fault_output_clear(&m->out);
        r = faults_tick(m->faults, wallclock_now(), &m->out);
        if (r < 0)
                log_errno(LOG_ERR, r, "Cannot run the contract clocks");
        (void) pipeline_commit(m->pipeline, &m->out);
        pipeline_tick(m->pipeline, wallclock_now());
        return 0;
}

/* Arms the clock timer for the next contract clock, on the monotonic clock
 * from the wall-clock difference; re-read every CLOCK_RECHECK at least, so
 * that a jump of the wall clock (or --pretend-now) is honoured. */
static void monitor_arm_clock(Monitor *m) {
        time_t now = wallclock_now(), next = faults_next_clock(m->faults, now);
        uint64_t wait = CLOCK_RECHECK, at, armed = 0;
        int enabled = SD_EVENT_OFF;

        /* A clock already due (a restart or a wall-clock jump past it)
         * strikes at once. */
        if (next > 0 && next <= now)
                wait = 0;
        else if (next > 0 && (uint64_t) (next - now) * USEC_PER_SEC < wait)
                wait = (uint64_t) (next - now) * USEC_PER_SEC;
        at = now_usec(CLOCK_MONOTONIC) + wait;
        /* Only ever earlier: a later call must not push a pending clock away. */
        (void) sd_event_source_get_enabled(m->clock_timer, &enabled);
        (void) sd_event_source_get_time(m->clock_timer, &armed);
        if (enabled != SD_EVENT_OFF && armed <= at)
                return;
        (void) sd_event_source_set_time(m->clock_timer, at);
        (void) sd_event_source_set_enabled(m->clock_timer, SD_EVENT_ONESHOT);
}

static void device_schedule(Device *d) {
        uint64_t now = now_usec(CLOCK_MONOTONIC), next = d->due + device_interval(d);

        /* A trap came: enough probes back to back for the engine to decide
         * (fail_after, or recover_after), then the schedule again. */
        if (d->urgent > 0) {
                d->urgent--;
                device_arm_at(d, now + URGENT_GAP);
                return;
        }
        /* The next cycle is due an interval after this one was: a slow
         * answer does not push the schedule back, an overlong one skips ahead,
         * an early start (PROBE_TIMER_SLACK) does not pull it forward. The
         * slot grid (PROBE_SLOT) holds. */
        if (next <= now)
                next = now;
        device_arm(d, next);
}

/* The VPN's view of each tunnel, as results of the tunnel nodes. */
static void vpn_judge_tunnels(Monitor *m, const ProbeResult *r, time_t now) {
        if (r->status == PROBE_DOWN)
                return; /* no view at all: the VPN's own fault speaks */
        for (size_t i = 0; i < r->vpn.n_tunnels && i < m->config->n_sites; i++) {
                TunnelState t = r->vpn.tunnels[i];
                size_t node = faults_site_node(m->faults, i, NODE_TUNNEL);

                if (t == TUNNEL_UP)
                        monitor_judge(m, node, PROBE_UP, "", now);
                else if (t == TUNNEL_DOWN)
                        monitor_judge(m, node, PROBE_DOWN, "tunnel down (yrIfTunnelLink 2)", now);
        }
}


/* The values of a result, as the device row shows them. */
static json_t *device_values(Device *d, const ProbeResult *r) {
        switch (d->kind) {
        case DEVICE_CAMERA:
                return camera_values(d, &r->camera);
        case DEVICE_ROUTER:
                return router_values(d, &r->router);
        case DEVICE_VPN:
                return vpn_values(d, &r->vpn);
        }
        return NULL;
}

/* When a router booted, by its uptime: steady while it runs, moved by a
 * reboot or the 32-bit wrap of sysUpTime (497 days). 0: unknown. */
static time_t router_boot(const ProbeResult *r, time_t now) {
        return r->router.has_uptime ? now - (time_t) (r->router.uptime_ticks / 100) : 0;
}

/* The row is written at the next flush, with the result's values. */
static void device_write_result(Device *d, const ProbeResult *r, uint64_t visible) {
        device_set_values(d, device_values(d, r));
        d->visible = visible;
        if (d->kind == DEVICE_ROUTER)
                d->written_boot = router_boot(r, wallclock_now());
        device_mark_dirty(d);
}

/* Whether the uptime a reader sees jumped (not just grew with time). */
static bool router_uptime_jumped(const Device *d, const ProbeResult *r, time_t now) {
        time_t boot = router_boot(r, now);

        if (d->kind != DEVICE_ROUTER || !boot || !d->written_boot)
                return false;
        return boot > d->written_boot + 30 || boot < d->written_boot - 30;
}

static void device_on_result(void *userdata, const ProbeResult *r) {
        Device *d = userdata;
        Monitor *m = d->monitor;
        time_t now = wallclock_now();
        uint64_t visible;

        if (!d->has_result || d->status != r->status || !streq(d->reason ?: "", r->reason))
                log_info("%s: %s -> %s%s%s", d->id,
                         d->has_result ? probe_status_to_string(d->status) : "unknown",
                         probe_status_to_string(r->status), r->reason[0] ? ": " : "", r->reason);
        d->has_result = true;
        d->status = r->status;
        d->last_probe_at = now;
        if ((unsigned) r->status < ELEMENTSOF(d->probes)) {
                uint64_t took = now_usec(CLOCK_MONOTONIC) - d->started;

                d->probes[r->status]++;
                d->duration_sum_usec += took;
                for (size_t i = 0; i < MONITOR_DURATION_BUCKETS; i++)
                        if ((double) took / 1e6 <= duration_bounds[i])
                                d->duration_buckets[i]++;
        }
        d->latency_usec = r->latency_usec;
        if (!streq(d->reason ?: "", r->reason)) {
                free(d->reason);
                /* Without memory the reason is lost, not the result. */
                d->reason = r->reason[0] ? strdup(r->reason) : NULL;
                d->row_stale = true;
        }

        switch (d->kind) {
        case DEVICE_CAMERA:
                if (r->camera.serial[0]) {
                        if (d->serial[0] && !streq(d->serial, r->camera.serial))
                                monitor_device_event(m, d, false, d->serial, r->camera.serial,
                                                     now);
                        (void) snprintf(d->serial, sizeof(d->serial), "%s", r->camera.serial);
                }
                break;
        case DEVICE_ROUTER:
                if (r->router.rebooted)
                        monitor_device_event(m, d, true, NULL, NULL, now);
                d->router_values = r->router;
                break;
        case DEVICE_VPN:
                if (r->vpn.rebooted)
                        monitor_device_event(m, d, true, NULL, NULL, now);
                vpn_spread_tunnels(d->monitor, &r->vpn);
                break;
        }
        /* A result that changes nothing a reader sees waits for the sweep. */
        visible = device_visible_hash(d, r);
        if (d->dirty || !d->stored_state || d->row_stale || d->kind == DEVICE_VPN ||
            (d->kind == DEVICE_ROUTER && r->router.rebooted) ||
            router_uptime_jumped(d, r, now) || visible != d->visible)
                device_write_result(d, r, visible);
        else
                d->unwritten = true;
        device_schedule(d);
        monitor_judge(m, d->node, r->status, r->reason, now);
        if (d->kind == DEVICE_VPN)
                vpn_judge_tunnels(m, r, now);
        /* The judgement may have changed the state the row shows. */
        if (!d->dirty && device_state(m, d) != d->stored_state)
                device_write_result(d, r, visible);
}

static void device_start(Device *d, uint64_t at) {
        uint64_t due = at - d->slot_wait; /* its schedule: the next is an interval after */
        int r;

        d->due = due;
        d->slot_wait = 0;
        d->started = now_usec(CLOCK_MONOTONIC);
        if (d->camera) {
                bool deep = due >= d->next_deep;

                if (deep)
                        d->next_deep = due + d->monitor->config->probes.camera.deep_interval;
                r = camera_probe_start(d->camera, deep);
        } else
                r = router_probe_start(d->router);
        if (r == -EBUSY)
                return; /* the last cycle is still running; it reschedules */
        if (r < 0) {
                log_errno(LOG_WARNING, r, "%s: cannot start a probe", d->id);
                device_schedule(d);
        }
}

/* Starts every probe that is due: a wakeup serves all of them. */
static int on_probe_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;
        uint64_t until = now_usec(CLOCK_MONOTONIC) + PROBE_TIMER_SLACK;
        Device *d;
        uint64_t at;

        (void) s;
        (void) usec;
        m->probe_timer_at = 0;
        /* The slot's SNMP requests leave together, with one system call. */
        snmp_engine_cork(m->snmp);
        while ((d = prioq_peek(m->due, &at)) && (uint64_t) at <= until) {
                uint64_t now = now_usec(CLOCK_MONOTONIC), late = now > (uint64_t) at ? now - (uint64_t) at : 0;

                /* How late the probe starts against its slot (/metrics): the
                 * wait from its schedule to the slot is by design, not late. */
                m->lateness_count++;
                m->lateness_sum_usec += late;
                for (size_t i = 0; i < MONITOR_LATENESS_BUCKETS; i++)
                        if ((double) late / 1e6 <= lateness_bounds[i])
                                m->lateness_buckets[i]++;
                (void) prioq_remove(m->due, d, &d->due_idx);
                device_start(d, (uint64_t) at);
        }
        snmp_engine_uncork(m->snmp);
        monitor_arm_probes(m);
        return 0;
}

/* ======================================================================== */

static int device_init(Monitor *m, Device *d, DeviceKind kind, size_t site) {
        const Config *c = m->config;

        d->monitor = m;
        d->kind = kind;
        d->site = site == SIZE_MAX ? DEVICE_NO_SITE : (uint32_t) site;
        d->node = kind == DEVICE_VPN      ? faults_vpn_node(m->faults)
                  : kind == DEVICE_ROUTER ? faults_site_node(m->faults, site, NODE_ROUTER)
                                          : faults_site_node(m->faults, site, NODE_CAMERA);
        if (kind == DEVICE_VPN)
                (void) snprintf(d->id, sizeof(d->id), "vpn");
        else
                (void) snprintf(d->id, sizeof(d->id), "%s-%s", c->sites[site].id,
                                device_kind_to_string(kind));
        return 0;
}

static bool cameras_keep_connections(const Config *c) {
        return c->probes.camera.interval <= CAMERA_KEEP_INTERVAL_MAX &&
               c->n_sites <= CAMERA_KEEP_MAX;
}

static bool device_hurry(Device *d, time_t now, const char *by);

/* An ONVIF event from a camera (issue 16): a hint, like a trap. Tampering
 * (the view changed, too dark, blurred, dazzled) holds, in the camera
 * probe, until the camera says it ended and makes its results degraded;
 * storage and recording events bring the deep checks forward. */
static void device_on_event(void *userdata, const CameraEvent *ev) {
        Device *d = userdata;
        time_t now = wallclock_now();

        switch (ev->kind) {
        case CAMERA_EVENT_TAMPER:
                if (!ev->changed)
                        break;
                log_info("%s: %s event: image tampering %s.", d->id, ev->topic,
                         ev->state ? "began" : "ended");
                (void) device_hurry(d, now, "event");
                break;
        case CAMERA_EVENT_STORAGE:
        case CAMERA_EVENT_RECORDING:
                if (ev->initialized)
                        break; /* the state at subscribing: the deep checks see it */
                log_info("%s: %s event: looking deep at once.", d->id, ev->topic);
                d->next_deep = 0;
                (void) device_hurry(d, now, "event");
                break;
        default:
                break;
        }
}

static int device_open_camera(Monitor *m, Device *d, SecretCache *sc) {
        const CameraConf *cc = &m->config->sites[d->site].camera;
        CameraProbeConf conf = {
                .camera = cc,
                .timeout = m->config->probes.camera.timeout,
                .max_clock_skew = m->config->probes.camera.max_clock_skew,
                .max_recording_lag = m->config->probes.camera.max_recording_lag,
                .keep_connection = cameras_keep_connections(m->config),
                .source_address = m->config->probes.source_address,
                .on_event = m->config->probes.camera.events == CAMERA_EVENTS_PULLPOINT
                                    ? device_on_event
                                    : NULL,
                .pull_wait = EVENTS_PULL_WAIT,
        };
        int r;

        if (cc->password_credential) {
                conf.password = secret_get(sc, cc->password_credential, d->id);
                if (!conf.password)
                        return -ENOKEY;
        }
        r = camera_probe_new(m->curl, &conf, device_on_result, d, &d->camera);
        if (r < 0)
                log_errno(LOG_ERR, r, "%s: cannot set up the camera probe", d->id);
        return r;
}

static int device_open_router(Monitor *m, Device *d, SecretCache *sc) {
        const Config *c = m->config;
        const RouterConf *rc = &c->sites[d->site].router;
        char err[SNMP_ERROR_MAX] = "";
        RouterProbeConf conf = {
                .wan_ifindex = rc->wan_ifindex,
                .signals = c->probes.router.signals,
                .n_signals = c->probes.router.n_signals,
                .sys_name = rc->sys_name,
        };
        int r;

        r = snmp_target(sc, d->id, rc->address, rc->port, &rc->snmp, c->probes.router.timeout,
                        c->probes.router.retries, &conf.target);
        if (r < 0)
                return r;
        conf.target.source_address = c->probes.source_address;
        r = router_probe_new(m->snmp, &conf, device_on_result, d, &d->router, err);
        if (r < 0)
                log_error("%s: %s", d->id, err[0] ? err : strerror(-r));
        return r;
}

static int device_open_vpn(Monitor *m, Device *d, SecretCache *sc) {
        const Config *c = m->config;
        char err[SNMP_ERROR_MAX] = "";
        _cleanup_(freep) uint32_t *tunnels = calloc(MAX(c->n_sites, (size_t) 1), sizeof(uint32_t));
        VpnProbeConf conf = {
                .tunnels = tunnels,
                .n_tunnels = c->n_sites,
                .max_cpu = c->probes.vpn.max_cpu,
                .max_memory = c->probes.vpn.max_memory,
                .max_temperature = c->probes.vpn.max_temperature,
        };
        int r;

        if (!tunnels)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_sites; i++)
                tunnels[i] = c->sites[i].tunnel;
        r = snmp_target(sc, d->id, c->vpn.address, c->vpn.port, &c->vpn.snmp, c->probes.vpn.timeout,
                        c->probes.vpn.retries, &conf.target);
        if (r < 0)
                return r;
        conf.target.source_address = c->probes.source_address;
        r = vpn_probe_new(m->snmp, &conf, device_on_result, d, &d->router, err);
        if (r < 0)
                log_error("%s: %s", d->id, err[0] ? err : strerror(-r));
        return r;
}


static bool address_is_literal(const char *a) {
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1;
}

/* No name may be resolved synchronously once the loop runs: libcurl must
 * have its asynchronous resolver for cameras named by host name. (SNMP
 * sessions resolve their names once, in snmp_sess_open(), before READY.) */
static int check_async_dns(const Config *c) {
        if (curl_version_info(CURLVERSION_NOW)->features & CURL_VERSION_ASYNCHDNS)
                return 0;
        for (size_t i = 0; i < c->n_sites; i++)
                if (!address_is_literal(c->sites[i].camera.address)) {
                        log_error("%s-camera: '%s' is a host name, and this libcurl resolves "
                                  "names synchronously; give the camera's address",
                                  c->sites[i].id, c->sites[i].camera.address);
                        return -EINVAL;
                }
        return 0;
}

/* The order of the table's rows: SQLite's BINARY collation compares the
 * bytes, as strcmp() does. */
static int compare_by_id(const void *a, const void *b, void *userdata) {
        const Device *devices = userdata;

        return strcmp(devices[*(const uint32_t *) a].id, devices[*(const uint32_t *) b].id);
}

static int monitor_build(Monitor *m, const char *credentials_dir) {
        const Config *c = m->config;
        SecretCache sc = { .dir = credentials_dir };
        int r = 0, failed = 0;
        size_t n = 0;

        m->n_devices = c->n_sites * 2 + (c->has_vpn ? 1 : 0);
        m->devices = calloc(MAX(m->n_devices, (size_t) 1), sizeof(Device));
        m->dirty = calloc(MAX(m->n_devices, (size_t) 1), sizeof(uint32_t));
        m->by_id = calloc(MAX(m->n_devices, (size_t) 1), sizeof(uint32_t));
        if (!m->devices || !m->dirty || !m->by_id || prioq_new(m->n_devices, &m->due) < 0)
                return -ENOMEM;
        /* Probes are due on the microsecond: the slack coalesces wakeups. */
        r = sd_event_add_time(m->event, &m->probe_timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                              on_probe_timer, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(m->probe_timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(m->probe_timer, "probes");
        r = check_async_dns(c);
        if (r < 0)
                return r;
        if (c->has_vpn) {
                m->vpn = &m->devices[n++];
                r = device_init(m, m->vpn, DEVICE_VPN, SIZE_MAX);
                if (r >= 0 && device_open_vpn(m, m->vpn, &sc) < 0)
                        failed++;
        }
        for (size_t i = 0; r >= 0 && i < c->n_sites; i++) {
                Device *router = &m->devices[n++], *camera = &m->devices[n++];

                r = device_init(m, router, DEVICE_ROUTER, i);
                if (r >= 0)
                        r = device_init(m, camera, DEVICE_CAMERA, i);
                if (r < 0)
                        break;
                if (device_open_router(m, router, &sc) < 0)
                        failed++;
                if (device_open_camera(m, camera, &sc) < 0)
                        failed++;
        }
        secret_cache_clear(&sc);
        if (r < 0)
                return r;
        /* An idle connection per camera, its events' pull in flight and room
         * for a short exchange of its events besides (libcurl counts the
         * connections in use too, and closes the oldest idle one when over:
         * with n_sites + 16 the kept connections went, every cycle, from the
         * time events came in, issue 16, until issue 18), and a few for the
         * mailer. The limit costs nothing: connections do. */
        if (cameras_keep_connections(c)) {
                r = curl_glue_set_max_connections(m->curl, (long) c->n_sites * 3 + 16);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < m->n_devices; i++)
                m->by_id[i] = (uint32_t) i;
        qsort_r(m->by_id, m->n_devices, sizeof(uint32_t), compare_by_id, m->devices);
        m->node_device = malloc(MAX(faults_n_nodes(m->faults), (size_t) 1) * sizeof(size_t));
        if (!m->node_device)
                return -ENOMEM;
        for (size_t i = 0; i < faults_n_nodes(m->faults); i++)
                m->node_device[i] = SIZE_MAX;
        for (size_t i = 0; i < m->n_devices; i++)
                m->node_device[m->devices[i].node] = i;
        for (size_t i = 0; c->has_vpn && i < c->n_sites; i++)
                m->node_device[faults_site_node(m->faults, i, NODE_TUNNEL)] =
                        (size_t) (m->vpn - m->devices);
        if (failed > 0) {
                log_error("%d device%s could not be set up; see above.", failed,
                          failed == 1 ? "" : "s");
                return -EINVAL;
        }
        return 0;
}


int monitor_new(sd_event *e, const Config *config, const Calendar *cal, FaultEngine *faults,
                Store *store, Pipeline *pipeline, CurlGlue *curl, SnmpEngine *snmp,
                const char *credentials_dir, Monitor **ret) {
        _cleanup_(monitor_freep) Monitor *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->config = config;
        m->calendar = cal;
        m->faults = faults;
        m->store = store;
        m->pipeline = pipeline;
        m->curl = curl;
        m->snmp = snmp;
        r = sd_event_add_time_relative(e, &m->flush_timer, CLOCK_MONOTONIC, FLUSH_DELAY,
                                       PROBE_TIMER_ACCURACY, monitor_on_flush_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->flush_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &m->sweep_timer, CLOCK_MONOTONIC, ROW_SWEEP_STEP,
                                               PROBE_TIMER_ACCURACY, monitor_on_sweep_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->sweep_timer, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &m->clock_timer, CLOCK_MONOTONIC, CLOCK_RECHECK,
                                               USEC_PER_MSEC, on_clock_timer, m);
        if (r >= 0 && config->metrics_file) {
                r = sd_event_add_time_relative(e, &m->metrics_timer, CLOCK_MONOTONIC,
                                               USEC_PER_SEC, USEC_PER_SEC,
                                               monitor_on_metrics_timer, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->metrics_timer, SD_EVENT_ON);
        }
        if (r >= 0)
                r = monitor_build(m, credentials_dir);
        if (r < 0)
                return r == -EINVAL ? r : log_errno(LOG_ERR, r, "Cannot set up the devices");
        r = monitor_rows_restore(m);
        if (r < 0)
                return r;
        (void) monitor_rows_sync(m);
        pipeline_set_handled(pipeline, on_handled, m);
        *ret = TAKE_PTR(m);
        return 0;
}

Monitor *monitor_free(Monitor *m) {
        if (!m)
                return NULL;
        if (m->pipeline)
                pipeline_set_handled(m->pipeline, NULL, NULL);
        for (size_t i = 0; m->devices && i < m->n_devices; i++) {
                Device *d = &m->devices[i];

                camera_probe_free(d->camera);
                router_probe_free(d->router);
                free(d->reason);
                free(d->values_json);
        }
        free(m->devices);
        free(m->dirty);
        free(m->by_id);
        prioq_free(m->due);
        (void) sd_event_source_disable_unref(m->probe_timer);
        free(m->node_device);
        (void) sd_event_source_disable_unref(m->flush_timer);
        (void) sd_event_source_disable_unref(m->sweep_timer);
        (void) sd_event_source_disable_unref(m->clock_timer);
        (void) sd_event_source_disable_unref(m->metrics_timer);
        fault_output_done(&m->out);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int monitor_start(Monitor *m) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        monitor_arm_clock(m);
        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = &m->devices[i];
                uint64_t at = now + random_below(MIN(device_interval(d), FIRST_SPREAD_MAX));

                /* The first probes are spread over the whole interval, and
                 * the first deep cycles over the deep interval: the load of
                 * a large field is even from the start, not a burst that
                 * the loop works off late (issue 7). A device probed
                 * daily is still probed within minutes of the start. */
                d->next_deep = now + random_below(MIN(m->config->probes.camera.deep_interval, FIRST_SPREAD_MAX));
                /* But a device with an open fault looks deep at once: a
                 * fault a deep check found (recording stopped, wrong model)
                 * must not be cleared by liveness answers after a restart
                 * or a reload, before the deep check has looked again. */
                if (faults_node_fault(m->faults, d->node))
                        d->next_deep = now;
                device_arm(d, at);
        }
        return 0;
}

const char *device_state(const Monitor *m, const Device *d) {
        if (faults_node_unreachable(m->faults, d->node))
                return "unreachable";
        return d->has_result ? probe_status_to_string(d->status) : "unknown";
}
