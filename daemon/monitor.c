/* SPDX-License-Identifier: MIT */

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "camera.h"
#include "cli.h"
#include "credentials.h"
#include "curl_glue.h"
#include "log.h"
#include "macro.h"
#include "monitor.h"
#include "router.h"
#include "store.h"

/* Timers of probes may fire this much late, so that wake-ups coalesce. */
#define PROBE_TIMER_ACCURACY (10 * USEC_PER_MSEC)
/* Results are written to the database at most this long after they arrive. */
#define FLUSH_DELAY (200 * USEC_PER_MSEC)

typedef struct Device {
        Monitor *monitor;
        char id[24];                 /* "01-camera", "01-router", "vpn" */
        DeviceKind kind;
        size_t site;                 /* index in config->sites; SIZE_MAX for the VPN */
        CameraProbe *camera;
        RouterProbe *router;         /* the site's router, or the VPN router */
        sd_event_source *timer;
        uint64_t interval, deep_interval;
        uint64_t next_deep;          /* CLOCK_MONOTONIC usec */
        uint64_t started;            /* when the running cycle began */

        bool has_result, dirty;
        ProbeStatus status;
        time_t last_probe_at;        /* the program's wall clock */
        uint64_t latency_usec;
        char reason[PROBE_REASON_MAX];
        json_t *values;
        TunnelState tunnel;          /* routers: their site's tunnel, from the VPN */
        char serial[PROBE_TEXT_MAX]; /* cameras: the last serial seen */
} Device;

struct Monitor {
        sd_event *event;
        const Config *config;
        CurlGlue *curl;
        Store *store;
        Device *devices;
        size_t n_devices;
        Device *vpn;
        size_t *dirty;               /* indices of devices to write */
        size_t n_dirty;
        sd_event_source *flush_timer;
        bool store_failing;
};

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

static uint64_t now_monotonic(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static uint64_t random_below(uint64_t n) {
        uint64_t v = 0;

        if (n == 0)
                return 0;
        if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
                v = now_monotonic() * 6364136223846793005ULL;
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

static void device_mark_dirty(Device *d) {
        Monitor *m = d->monitor;

        if (d->dirty)
                return;
        d->dirty = true;
        m->dirty[m->n_dirty++] = (size_t) (d - m->devices);
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
        return o;
}

static json_t *router_values(const Device *d, const RouterValues *v) {
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
                if (d->values)
                        (void) json_object_set_new(d->values, "tunnel",
                                                   json_string(tunnel_to_string(t)));
                device_mark_dirty(d);
        }
}

static void device_schedule(Device *d) {
        uint64_t now = now_monotonic(), next = d->started + d->interval;

        /* The next cycle starts an interval after this one started: a slow
         * answer does not push the schedule back, an overlong one skips ahead. */
        if (next <= now)
                next = now;
        (void) sd_event_source_set_time(d->timer, next);
        (void) sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
}

static void device_on_result(void *userdata, const ProbeResult *r) {
        Device *d = userdata;
        json_t *values = NULL;

        if (!d->has_result || d->status != r->status || !streq(d->reason, r->reason))
                log_info("%s: %s -> %s%s%s", d->id,
                         d->has_result ? probe_status_to_string(d->status) : "unknown",
                         probe_status_to_string(r->status), r->reason[0] ? ": " : "", r->reason);
        d->has_result = true;
        d->status = r->status;
        d->last_probe_at = wallclock_now();
        d->latency_usec = r->latency_usec;
        (void) snprintf(d->reason, sizeof(d->reason), "%s", r->reason);

        switch (d->kind) {
        case DEVICE_CAMERA:
                if (r->camera.serial[0]) {
                        if (d->serial[0] && !streq(d->serial, r->camera.serial))
                                log_notice("%s: serial number changed from %s to %s: device "
                                           "swapped?",
                                           d->id, d->serial, r->camera.serial);
                        (void) snprintf(d->serial, sizeof(d->serial), "%s", r->camera.serial);
                }
                values = camera_values(d, &r->camera);
                break;
        case DEVICE_ROUTER:
                if (r->router.rebooted)
                        log_notice("%s: restarted (sysUpTime went back to %u s)", d->id,
                                   r->router.uptime_ticks / 100);
                values = router_values(d, &r->router);
                break;
        case DEVICE_VPN:
                if (r->vpn.rebooted)
                        log_notice("%s: restarted (sysUpTime went back to %u s)", d->id,
                                   r->vpn.uptime_ticks / 100);
                values = vpn_values(d, &r->vpn);
                vpn_spread_tunnels(d->monitor, &r->vpn);
                break;
        }
        if (values) {
                json_decref(d->values);
                d->values = values;
        }
        device_mark_dirty(d);
        device_schedule(d);
}

static int device_on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Device *d = userdata;
        int r;

        (void) s;
        (void) usec;
        d->started = now_monotonic();
        if (d->camera) {
                bool deep = d->started >= d->next_deep;

                if (deep)
                        d->next_deep = d->started + d->deep_interval;
                r = camera_probe_start(d->camera, deep);
        } else
                r = router_probe_start(d->router);
        if (r == -EBUSY)
                return 0; /* the last cycle is still running; it reschedules */
        if (r < 0) {
                log_errno(LOG_WARNING, r, "%s: cannot start a probe", d->id);
                device_schedule(d);
        }
        return 0;
}

/* ======================================================================== */

static int device_init(Monitor *m, Device *d, DeviceKind kind, size_t site) {
        const Config *c = m->config;

        d->monitor = m;
        d->kind = kind;
        d->site = site;
        if (kind == DEVICE_VPN)
                (void) snprintf(d->id, sizeof(d->id), "vpn");
        else
                (void) snprintf(d->id, sizeof(d->id), "%s-%s", c->sites[site].id,
                                device_kind_to_string(kind));
        d->interval = kind == DEVICE_CAMERA   ? c->probes.camera.interval
                      : kind == DEVICE_ROUTER ? c->probes.router.interval
                                              : c->probes.vpn.interval;
        d->deep_interval = c->probes.camera.deep_interval;
        return sd_event_add_time(m->event, &d->timer, CLOCK_MONOTONIC, 0, PROBE_TIMER_ACCURACY,
                                 device_on_timer, d);
}

static int device_open_camera(Monitor *m, Device *d, SecretCache *sc) {
        const CameraConf *cc = &m->config->sites[d->site].camera;
        CameraProbeConf conf = {
                .camera = cc,
                .timeout = m->config->probes.camera.timeout,
                .max_clock_skew = m->config->probes.camera.max_clock_skew,
                .max_recording_lag = m->config->probes.camera.max_recording_lag,
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
        };
        int r;

        r = snmp_target(sc, d->id, rc->address, rc->port, &rc->snmp, c->probes.router.timeout,
                        c->probes.router.retries, &conf.target);
        if (r < 0)
                return r;
        r = router_probe_new(m->event, &conf, device_on_result, d, &d->router, err);
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
        r = vpn_probe_new(m->event, &conf, device_on_result, d, &d->router, err);
        if (r < 0)
                log_error("%s: %s", d->id, err[0] ? err : strerror(-r));
        return r;
}

static int on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        (void) monitor_flush(userdata);
        return 0;
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

static int monitor_build(Monitor *m, const char *credentials_dir) {
        const Config *c = m->config;
        SecretCache sc = { .dir = credentials_dir };
        int r = 0, failed = 0;
        size_t n = 0;

        m->n_devices = c->n_sites * 2 + (c->has_vpn ? 1 : 0);
        m->devices = calloc(MAX(m->n_devices, (size_t) 1), sizeof(Device));
        m->dirty = calloc(MAX(m->n_devices, (size_t) 1), sizeof(size_t));
        if (!m->devices || !m->dirty)
                return -ENOMEM;
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
        if (failed > 0) {
                log_error("%d device%s could not be set up; see above.", failed,
                          failed == 1 ? "" : "s");
                return -EINVAL;
        }
        return 0;
}

static int monitor_sync_store(Monitor *m) {
        _cleanup_(freep) const char **ids = calloc(MAX(m->n_devices, (size_t) 1), sizeof(char *));
        int r;

        if (!ids)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_devices; i++) {
                ids[i] = m->devices[i].id;
                device_mark_dirty(&m->devices[i]);
        }
        r = store_begin(m->store);
        if (r < 0)
                return r;
        r = store_prune_devices(m->store, ids, m->n_devices);
        if (r < 0) {
                store_rollback(m->store);
                return r;
        }
        r = store_commit(m->store);
        if (r < 0)
                return r;
        return monitor_flush(m);
}

int monitor_new(sd_event *e, const Config *config, const char *state_dir,
                const char *credentials_dir, Monitor **ret) {
        Monitor *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->config = config;
        r = curl_glue_new(e, &m->curl);
        if (r < 0) {
                monitor_free(m);
                return log_errno(LOG_ERR, r, "Cannot set up libcurl");
        }
        r = sd_event_add_time_relative(e, &m->flush_timer, CLOCK_MONOTONIC, FLUSH_DELAY,
                                       PROBE_TIMER_ACCURACY, on_flush_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->flush_timer, SD_EVENT_OFF);
        if (r >= 0)
                r = monitor_build(m, credentials_dir);
        if (r < 0) {
                monitor_free(m);
                return r == -EINVAL ? r : log_errno(LOG_ERR, r, "Cannot set up the devices");
        }
        r = store_open(state_dir, &m->store);
        if (r < 0) {
                monitor_free(m);
                return log_errno(LOG_ERR, r, "Cannot open the state database in %s", state_dir);
        }
        r = monitor_sync_store(m);
        if (r < 0)
                log_errno(LOG_WARNING, r, "Cannot write the device table to %s (%s)", state_dir,
                          store_error(m->store));
        *ret = m;
        return 0;
}

Monitor *monitor_free(Monitor *m) {
        if (!m)
                return NULL;
        for (size_t i = 0; m->devices && i < m->n_devices; i++) {
                Device *d = &m->devices[i];

                camera_probe_free(d->camera);
                router_probe_free(d->router);
                (void) sd_event_source_disable_unref(d->timer);
                json_decref(d->values);
        }
        free(m->devices);
        free(m->dirty);
        (void) sd_event_source_disable_unref(m->flush_timer);
        curl_glue_free(m->curl);
        store_close(m->store);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int monitor_start(Monitor *m) {
        uint64_t now = now_monotonic();

        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = &m->devices[i];
                uint64_t at = now + random_below(MIN(d->interval, 10 * USEC_PER_SEC));
                int r;

                /* The first cycle of a camera is deep: identity at once. */
                d->next_deep = now;
                r = sd_event_source_set_time(d->timer, at);
                if (r >= 0)
                        r = sd_event_source_set_enabled(d->timer, SD_EVENT_ONESHOT);
                if (r < 0)
                        return r;
        }
        return 0;
}

int monitor_flush(Monitor *m) {
        char *json;
        int r;

        if (m->n_dirty == 0)
                return 0;
        r = store_begin(m->store);
        for (size_t i = 0; r >= 0 && i < m->n_dirty; i++) {
                Device *d = &m->devices[m->dirty[i]];

                json = d->values ? json_dumps(d->values, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
                r = store_put_device(m->store, &(DeviceRow) {
                        .id = d->id,
                        .site = d->site < m->config->n_sites ? m->config->sites[d->site].id : NULL,
                        .kind = device_kind_to_string(d->kind),
                        .state = d->has_result ? probe_status_to_string(d->status) : "unknown",
                        .last_probe_at = d->has_result ? d->last_probe_at : 0,
                        .latency_usec = d->has_result ? (int64_t) d->latency_usec : -1,
                        .reason = d->reason,
                        .values_json = json ?: "{}",
                });
                free(json);
        }
        if (r >= 0)
                r = store_commit(m->store);
        if (r < 0) {
                store_rollback(m->store);
                if (!m->store_failing)
                        log_errno(LOG_ERR, r, "Cannot write device states (%s); will retry",
                                  store_error(m->store));
                m->store_failing = true;
                /* Keep them dirty and try again later. */
                (void) sd_event_source_set_time_relative(m->flush_timer, 5 * USEC_PER_SEC);
                (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ONESHOT);
                return r;
        }
        if (m->store_failing)
                log_notice("Device states written again.");
        m->store_failing = false;
        for (size_t i = 0; i < m->n_dirty; i++)
                m->devices[m->dirty[i]].dirty = false;
        m->n_dirty = 0;
        return 0;
}

void monitor_summary(const Monitor *m, char *buf, size_t size) {
        size_t counts[3] = {}, unknown = 0;

        for (size_t i = 0; i < m->n_devices; i++) {
                if (m->devices[i].has_result)
                        counts[m->devices[i].status]++;
                else
                        unknown++;
        }
        (void) snprintf(buf, size, "%zu sites: %zu up, %zu degraded, %zu down, %zu unknown",
                        m->config->n_sites, counts[PROBE_UP], counts[PROBE_DEGRADED],
                        counts[PROBE_DOWN], unknown);
}
