/* SPDX-License-Identifier: MIT */

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <sys/random.h>

#include "backlog.h"
#include "camera.h"
#include "cli.h"
#include "clockheap.h"
#include "credentials.h"
#include "curl_glue.h"
#include "faults.h"
#include "journal.h"
#include "log.h"
#include "macro.h"
#include "timeutil.h"
#include "mail.h"
#include "mailer.h"
#include "metrics.h"
#include "monitor.h"
#include "operator.h"
#include "reminders.h"
#include "router.h"
#include "store.h"
#include "store-handover.h"

/* Timers may fire this much late, so that wake-ups coalesce. */
#define PROBE_TIMER_ACCURACY (10 * USEC_PER_MSEC)
/* The probe timer starts every probe due within this much of now. */
#define PROBE_TIMER_SLACK (2 * USEC_PER_MSEC)
/* The first probes of the devices are spread over their interval, up to
 * this long. */
#define FIRST_SPREAD_MAX (5 * USEC_PER_MINUTE)
/* Camera connections are kept from one cycle to the next when the cycles
 * come this often at most: below the cameras' keep-alive (see camera.c). */
#define CAMERA_KEEP_INTERVAL_MAX (10 * USEC_PER_SEC)
/* ...and when there are this many cameras at most: a kept camera costs
 * 8 KiB (its easy handle and its idle connection; 8.2 MiB for 1,000). */
#define CAMERA_KEEP_MAX 2000
/* Results are written to the database at most this long after they arrive. */
#define FLUSH_DELAY (200 * USEC_PER_MSEC)
/* A result that changes nothing a reader sees (state, reason, values but
 * for uptime unless it went back, a clock skew within a second, a latency within 100 ms)
 * is written at most this often per device: last_probe_at and latency in
 * the database may be this far behind the last probe. Anything visible is
 * written within FLUSH_DELAY (issue 18: the row write per result was a
 * third of a router probe's cost). */
#define ROW_REFRESH (30 * USEC_PER_SEC)
/* After a trap: the gap between the probes run back to back. */
#define URGENT_GAP (100 * USEC_PER_MSEC)
/* How long a PullMessages waits for events at the camera. */
#define EVENTS_PULL_WAIT (20 * USEC_PER_SEC)
/* The contract clocks are re-read at least this often: a jump of the wall
 * clock is noticed within it. */
#define CLOCK_RECHECK (10 * USEC_PER_SEC)
/* While the database refuses writes, the backlog is offered again this
 * often, and the daemon says so at most this often. */
#define STORE_RETRY (5 * USEC_PER_SEC)
#define STORE_NAG (5 * USEC_PER_MINUTE)

/* Upper bounds of the probe duration histogram's buckets, in seconds. */
#define MONITOR_DURATION_BUCKETS 10
static const double duration_bounds[MONITOR_DURATION_BUCKETS] = {
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
};

/* ... and of the probe start lateness histogram. */
#define MONITOR_LATENESS_BUCKETS 8
static const double lateness_bounds[MONITOR_LATENESS_BUCKETS] = {
        0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1,
};

typedef struct Device {
        Monitor *monitor;
        char id[24];                 /* "01-camera", "01-router", "vpn" */
        DeviceKind kind;
        size_t site;                 /* index in config->sites; SIZE_MAX for the VPN */
        size_t node;                 /* in the fault engine */
        CameraProbe *camera;
        RouterProbe *router;         /* the site's router, or the VPN router */
        uint64_t interval, deep_interval;
        uint64_t next_deep;          /* CLOCK_MONOTONIC usec */
        uint64_t started;            /* when the running cycle began */

        bool has_result, dirty;
        bool row_stale;              /* its row needs more than probe time, latency, values */
        bool unwritten;              /* a result since its row was last written */
        uint64_t visible;            /* a hash of the values a reader sees, at the last write */
        uint64_t written_at;         /* CLOCK_MONOTONIC usec of the last write; 0 never */
        time_t written_boot;         /* routers: when uptime says they booted, at that write */
        ProbeStatus status;
        time_t last_probe_at;        /* the program's wall clock */
        uint64_t latency_usec;
        char *reason;                /* NULL when up: most devices carry none */
        char *values_json;           /* compact, sorted keys; NULL before a result */
        const char *stored_state;    /* the state its row holds (a static string) */
        TunnelState tunnel;          /* routers: their site's tunnel, from the VPN */
        uint64_t probes[3];          /* results by ProbeStatus (up, degraded, down) */
        uint64_t duration_buckets[MONITOR_DURATION_BUCKETS]; /* cumulative below */
        uint64_t duration_sum_usec;
        unsigned urgent;             /* probes still to run back to back (a trap came) */
        bool has_community;          /* routers with SNMP v2c: a trap's community is checked */
        unsigned char community_hash[SHA256_DIGEST_LENGTH];
        union {
                RouterValues router_values; /* routers: the last values, for the tunnel, metrics */
                char serial[PROBE_TEXT_MAX]; /* cameras: the last serial seen */
        };
} Device;

struct Monitor {
        sd_event *event;
        const Config *config;
        const Calendar *calendar;
        FaultEngine *faults;
        FaultOutput out;
        sd_event_source *clock_timer;
        sd_event_source *metrics_timer;
        Mailer *mailer;              /* NULL without a notify: section */
        char *credentials_dir;
        time_t reminders_at;         /* when the report clocks were last looked at */
        time_t retention_at;         /* when old events and mails were last deleted */
        bool metrics_failing;
        size_t *node_device;         /* node -> device index (tunnels: the VPN's) */
        CurlGlue *curl;
        Store *store;
        Device *devices;
        size_t n_devices;
        ClockHeap *due;              /* device index -> its next probe, CLOCK_MONOTONIC usec */
        sd_event_source *probe_timer; /* one timer for them all, at the earliest */
        uint64_t probe_timer_at;     /* when it is armed; 0 when off */
        Device *vpn;
        size_t *dirty;               /* indices of devices to write */
        size_t n_dirty;
        sd_event_source *flush_timer;
        bool store_failing;
        Backlog backlog;             /* faults and events the database has not taken */
        sd_event_source *retry_timer;
        bool store_refusing;         /* the last write of the backlog failed */
        uint64_t nag_at;             /* when to say again that it still fails */
        uint64_t emitted;            /* batches of events emitted (the web view's changes) */
        uint64_t lateness_buckets[MONITOR_LATENESS_BUCKETS]; /* probe starts, cumulative */
        uint64_t lateness_count, lateness_sum_usec;
        /* Traps (issue 16): acted on, from unknown senders, with a wrong community. */
        uint64_t traps_acted, traps_unknown, traps_refused;
        uint64_t traps_ignored_logged_at; /* CLOCK_MONOTONIC: the last line about ignored ones */
        unsigned traps_ignored_unlogged;
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

static void device_mark_dirty(Device *d) {
        Monitor *m = d->monitor;

        d->unwritten = false;
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
                break;
        }
        case DEVICE_ROUTER: {
                const RouterValues *v = &r->router;

                h = hash_int(h, v->has_uptime);
                h = hash_int(h, v->if_oper);
                for (size_t i = 0; i < c->probes.router.n_signals && i < PROBE_SIGNALS_MAX; i++)
                        h = hash_int(h, v->signals[i].has ? v->signals[i].value : INT64_MIN);
                h = hash_int(h, d->tunnel);
                break;
        }
        case DEVICE_VPN:
                break; /* one device: written at every result */
        }
        return h;
}

/* Keeps a device's values as their JSON text (a few dozen bytes, where
 * the object would take a KiB), and frees the object. */
static void device_set_values(Device *d, json_t *values) {
        char *text;

        if (!values)
                return;
        text = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(values);
        if (!text)
                return;
        if (streq_ptr(text, d->values_json)) {
                free(text);
                return;
        }
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
                if (d->values_json)
                        device_set_values(d, router_values(d, &d->router_values));
                device_mark_dirty(d);
        }
}

/* ======================================================================== */

static void monitor_arm_clock(Monitor *m);

/* Arms the probe timer for the earliest device, or stops it. */
static void monitor_arm_probes(Monitor *m) {
        size_t dev;
        time_t at;

        if (!clock_heap_top(m->due, &dev, &at)) {
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

/* Schedules a device's next probe at `at` (CLOCK_MONOTONIC usec): one
 * heap for every device, not a timer each (issue 7: 20,000 devices). */
static void device_arm(Device *d, uint64_t at) {
        Monitor *m = d->monitor;

        clock_heap_set(m->due, (size_t) (d - m->devices), (time_t) MAX(at, (uint64_t) 1));
        if (m->probe_timer_at == 0 || at < m->probe_timer_at)
                monitor_arm_probes(m);
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

/* Inside the caller's transaction: the event's mail into the outbox. The
 * first mail of a fault starts its thread. */
static int monitor_queue_mail(Monitor *m, const Event *e, Fault *f) {
        OutboxMail mail = {};
        int r;

        /* Queued also while the mailer is suspended (a reload): the outbox
         * is durable, the next mailer sends them. */
        if (!m->config->notify.configured || !event_type_mails(e->type))
                return 0;
        r = mail_prepare(m->config, e, f, wallclock_now(), &mail);
        if (r >= 0 && f && !f->thread_id[0]) {
                (void) snprintf(f->thread_id, sizeof(f->thread_id), "%s", mail.message_id);
                r = store_fault_update(m->store, f);
        }
        if (r >= 0)
                r = store_outbox_add(m->store, &mail);
        outbox_mail_done(&mail);
        return r;
}

/* After a commit: the events to the journal (or stderr), the mails on their way. */
static void monitor_emit(Monitor *m, const Event *events, size_t n) {
        bool mail = false;

        if (n > 0)
                m->emitted++;
        for (size_t i = 0; i < n; i++) {
                (void) journal_send_event(&events[i]);
                mail = mail || event_type_mails(events[i].type);
        }
        if (mail)
                mailer_kick(m->mailer);
}

/* Writes the backlog, the faults and events the database has not taken
 * yet, with the mails they cause, in one transaction. On failure nothing of
 * it is written and the faults are as before. */
static int monitor_write_backlog(Monitor *m) {
        Backlog *b = &m->backlog;
        _cleanup_(freep) FaultMark *marks = NULL;
        int r;

        if (backlog_empty(b))
                return 0;
        r = backlog_marks(b, &marks);
        if (r < 0)
                return r;
        r = store_begin(m->store);
        for (size_t i = 0; r >= 0 && i < b->n_faults; i++)
                r = b->faults[i]->id == 0 ? store_fault_insert(m->store, b->faults[i])
                                          : store_fault_update(m->store, b->faults[i]);
        for (size_t i = 0; r >= 0 && i < b->n_events; i++) {
                BacklogEvent *x = &b->events[i];

                if (x->fault)
                        x->event.fault_id = x->fault->id;
                r = store_event_insert(m->store, &x->event);
                if (r >= 0)
                        r = monitor_queue_mail(m, &x->event, x->fault);
        }
        if (r >= 0)
                r = store_commit(m->store);
        if (r < 0) {
                store_rollback(m->store);
                backlog_unwind(marks, b->n_faults);
        }
        return r;
}

/* The database refused the backlog: say so (once, then every STORE_NAG)
 * and offer it again in STORE_RETRY. */
static void monitor_store_refused(Monitor *m, int r) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!m->store_refusing || now >= m->nag_at) {
                log_errno(LOG_ERR, r,
                          "Cannot store %zu fault event%s (%s); they went to the journal and wait "
                          "in memory with their mails until the state database takes writes again",
                          m->backlog.n_events, m->backlog.n_events == 1 ? "" : "s",
                          store_error(m->store));
                m->nag_at = now + STORE_NAG;
        }
        m->store_refusing = true;
        (void) sd_event_source_set_time(m->retry_timer, now + STORE_RETRY);
        (void) sd_event_source_set_enabled(m->retry_timer, SD_EVENT_ONESHOT);
}

/* Writes the backlog now; after an outage, says that it caught up. */
static int monitor_catch_up(Monitor *m) {
        size_t n = m->backlog.n_events, dropped = m->backlog.dropped;
        int r;

        r = monitor_write_backlog(m);
        if (r < 0) {
                monitor_store_refused(m, r);
                return r;
        }
        if (m->store_refusing) {
                log_notice("Stored %zu delayed fault event%s; the state database takes writes "
                           "again.", n, n == 1 ? "" : "s");
                if (dropped > 0)
                        log_error("%zu older fault event%s could not be kept in memory and were "
                                  "not stored; the journal has them.",
                                  dropped, dropped == 1 ? "" : "s");
                (void) sd_event_source_set_enabled(m->retry_timer, SD_EVENT_OFF);
                mailer_kick(m->mailer);
        }
        m->store_refusing = false;
        backlog_clear(&m->backlog);
        return 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;

        (void) s;
        (void) usec;
        if (monitor_catch_up(m) >= 0)
                faults_forget_closed(m->faults);
        return 0;
}

/* Commits the engine's faults and events in one transaction (the mails they
 * cause with them), then hands the events on. What the database refuses
 * (disk full, read-only, locked) waits in the backlog, in order, and is
 * written when it takes writes again: no event or mail is lost, and all
 * events reach the journal at once either way. While it refuses, only the
 * retry timer tries: a locked database must not stall every probe. */
static int monitor_commit(Monitor *m, FaultOutput *o) {
        int r = 0;

        if (o->n_faults == 0 && o->n_events == 0)
                goto reprobe;
        r = backlog_add(&m->backlog, o);
        if (r < 0)
                log_errno(LOG_ERR, r, "Cannot keep %zu fault events for the database; the journal "
                          "has them", o->n_events);
        else if (m->store_refusing)
                monitor_store_refused(m, r = -EAGAIN);
        else
                r = monitor_catch_up(m);
        for (size_t i = 0; i < o->n_events; i++)
                if (o->event_faults[i])
                        o->events[i].fault_id = o->event_faults[i]->id;
        monitor_emit(m, o->events, o->n_events);
reprobe:
        monitor_reprobe(m, o);
        monitor_arm_clock(m);
        return r;
}

/* After a round: the output's events are done with, cleared faults go. */
static void monitor_round_done(Monitor *m, FaultOutput *o) {
        fault_output_clear(o);
        /* Closed faults the backlog holds stay until they are written. */
        if (backlog_empty(&m->backlog))
                faults_forget_closed(m->faults);
}

/* Counts the transients and restarts of a device in the anomaly window;
 * enough of them, and no anomaly yet in it, make an anomaly to investigate. */
static void monitor_check_anomalies(Monitor *m, const FaultOutput *done, time_t now) {
        const unsigned mask = 1u << EVENT_FAULT_TRANSIENT | 1u << EVENT_DEVICE_RESTARTED;
        time_t since = now - (time_t) (m->config->probes.anomaly_window / USEC_PER_SEC);
        FaultOutput o = {};

        for (size_t i = 0; i < done->n_events; i++) {
                const Event *e = &done->events[i];
                size_t node = faults_find_node(m->faults, e->device);
                int count = 0, anomalies = 0;

                if (!((1u << e->type) & mask) || node == SIZE_MAX)
                        continue;
                if (store_count_events(m->store, e->device, mask, since, &count) < 0 ||
                    store_count_events(m->store, e->device, 1u << EVENT_ANOMALY, since,
                                       &anomalies) < 0)
                        continue;
                if (count >= (int) m->config->probes.anomaly_transients && anomalies == 0)
                        (void) faults_anomaly(m->faults, node, count, now, &o);
        }
        if (o.n_events > 0)
                (void) monitor_commit(m, &o);
        fault_output_done(&o);
}

/* Hands a result to the fault engine and carries out what it decides. */
static void monitor_judge(Monitor *m, size_t node, ProbeStatus s, const char *reason, time_t now) {
        int r;

        fault_output_clear(&m->out);
        r = faults_on_result(m->faults, node, s, reason, now, &m->out);
        if (r < 0)
                log_errno(LOG_ERR, r, "%s: cannot judge the result", faults_node_id(m->faults, node));
        (void) monitor_commit(m, &m->out);
        monitor_check_anomalies(m, &m->out, now);
        monitor_round_done(m, &m->out);
}

static void monitor_device_event(Monitor *m, const Device *d, bool restarted, const char *old,
                                 const char *new_serial, time_t now) {
        FaultOutput o = {};

        if (restarted)
                (void) faults_on_restart(m->faults, d->node, now, &o);
        else
                (void) faults_on_swap(m->faults, d->node, old, new_serial, now, &o);
        (void) monitor_commit(m, &o);
        monitor_check_anomalies(m, &o, now);
        monitor_round_done(m, &o);
        fault_output_done(&o);
}

/* An operator's action from the control socket (fieldwatchctl ack, onsite, ...). */
int monitor_on_action(Monitor *m, const Action *a, char *msg, size_t msglen) {
        Event ev;
        int r;

        /* Operators act on what the database shows: what waits goes first. */
        if (!backlog_empty(&m->backlog) && monitor_catch_up(m) < 0) {
                (void) snprintf(msg, msglen, "the state database does not take writes now (%s); "
                                "nothing was recorded, try again later", store_error(m->store));
                return -EAGAIN;
        }
        if (operator_is_engine_action(a->type)) {
                FaultOutput o = {};
                Fault *f = NULL;
                size_t len;

                r = operator_engine_apply(m->store, m->faults, m->config, a, wallclock_now(), &o,
                                          &f, msg, msglen);
                if (r >= 0) {
                        /* Committed like the engine's own output: faults, events and
                         * mails in one transaction, then the journal. */
                        r = monitor_commit(m, &o);
                        len = strlen(msg);
                        if (r < 0)
                                (void) snprintf(msg + len, msglen - len,
                                                " (the database refuses writes now: kept and "
                                                "written when it can; the journal has it)");
                        else if (f && a->type != ACTION_RECEIVE)
                                (void) snprintf(msg + len, msglen - len, " (fault %" PRId64 ")",
                                                f->id);
                        r = 0;
                }
                monitor_round_done(m, &o);
                fault_output_done(&o);
                return r;
        }
        r = operator_apply(m->store, m->faults, m->config, m->calendar, a, wallclock_now(), &ev,
                           msg, msglen);
        if (r < 0)
                return r;
        monitor_emit(m, &ev, 1);
        if (a->fault_id > 0)
                faults_refresh(m->faults, a->fault_id);
        if (backlog_empty(&m->backlog))
                faults_forget_closed(m->faults);
        monitor_arm_clock(m);
        return 0;
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
        uint64_t at = (uint64_t) clock_heap_get(m->due, (size_t) (d - m->devices)),
                 mono = now_usec(CLOCK_MONOTONIC);

        d->urgent = m->config->probes.fail_after + m->config->probes.recover_after;
        faults_hint(m->faults, d->node, now, by);
        if (at == 0 || at <= mono + URGENT_GAP)
                return false;
        device_arm(d, mono);
        return true;
}

int monitor_on_trap(Monitor *m, const Trap *t, char *msg, size_t msglen) {
        unsigned char digest[SHA256_DIGEST_LENGTH];
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
                (void) SHA256((const unsigned char *) t->community, strlen(t->community), digest);
                if (!d->has_community ||
                    CRYPTO_memcmp(digest, d->community_hash, sizeof(digest)) != 0) {
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

/* The report clocks: looked at once a minute (they move by days). */
static void monitor_reminders(Monitor *m, time_t now) {
        Reminder *v = NULL;
        size_t n = 0;
        int r;

        if (now < m->reminders_at + 60 && now >= m->reminders_at)
                return;
        m->reminders_at = now;
        r = reminders_collect(m->store, m->config, m->calendar, now, &v, &n);
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Cannot look at the report clocks (%s)",
                          store_error(m->store));
                return;
        }
        for (size_t i = 0; i < n; i++) {
                Reminder *x = &v[i];

                r = store_begin(m->store);
                if (r >= 0)
                        r = store_deliverable_mark(m->store, x->kind, x->key, x->due, x->warned,
                                                   x->overdue);
                if (r >= 0)
                        r = store_event_insert(m->store, &x->event);
                if (r >= 0)
                        r = monitor_queue_mail(m, &x->event, NULL);
                if (r >= 0)
                        r = store_commit(m->store);
                if (r < 0) {
                        store_rollback(m->store);
                        log_errno(LOG_ERR, r, "Cannot store a report clock (%s)",
                                  store_error(m->store));
                }
                monitor_emit(m, &x->event, 1);
        }
        free(v);
}

/* Retention (retention.events, retention.mail): older events and sent
 * mails go, at start and then daily, RETENTION_BATCH rows of each at a
 * time (the loop waits on the deletion): a full batch is followed by the
 * next one at the next tick of the clocks. */
#define RETENTION_BATCH 2000
static void monitor_retention(Monitor *m, time_t now) {
        int64_t keep_events = config_retention_seconds(m->config, false);
        int64_t keep_mail = config_retention_seconds(m->config, true);
        int64_t n_events = 0, n_mails = 0;
        int r;

        if (m->retention_at != 0 && now < m->retention_at + 86400 && now >= m->retention_at)
                return;
        m->retention_at = now;
        if (keep_events == 0 && keep_mail == 0)
                return;
        r = store_retention_purge(m->store, keep_events ? now - keep_events : 0,
                                  keep_mail ? now - keep_mail : 0, RETENTION_BATCH, &n_events,
                                  &n_mails);
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Cannot delete old events and mails (%s); trying "
                          "again tomorrow", store_error(m->store));
                return;
        }
        if (n_events == RETENTION_BATCH || n_mails == RETENTION_BATCH)
                m->retention_at = 0; /* more to delete: again at the next tick */
        if (n_events > 0 || n_mails > 0)
                log_info("Retention: deleted %" PRId64 " event%s older than %" PRId64
                         " days and %" PRId64 " sent mail%s older than %" PRId64 " days.",
                         n_events, n_events == 1 ? "" : "s", keep_events / 86400, n_mails,
                         n_mails == 1 ? "" : "s", keep_mail / 86400);
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
        (void) monitor_commit(m, &m->out);
        monitor_round_done(m, &m->out);
        monitor_reminders(m, wallclock_now());
        if (backlog_empty(&m->backlog))
                monitor_retention(m, wallclock_now());
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
        uint64_t now = now_usec(CLOCK_MONOTONIC), next = d->started + d->interval;

        /* A trap came: enough probes back to back for the engine to decide
         * (fail_after, or recover_after), then the schedule again. */
        if (d->urgent > 0) {
                d->urgent--;
                device_arm(d, now + URGENT_GAP);
                return;
        }
        /* The next cycle starts an interval after this one started: a slow
         * answer does not push the schedule back, an overlong one skips ahead. */
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

static const char *device_state(const Monitor *m, const Device *d);

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
        /* A result that changes nothing a reader sees waits for ROW_REFRESH. */
        visible = device_visible_hash(d, r);
        if (d->dirty || d->written_at == 0 || d->row_stale || d->kind == DEVICE_VPN ||
            (d->kind == DEVICE_ROUTER && r->router.rebooted) ||
            router_uptime_jumped(d, r, now) || visible != d->visible ||
            now_usec(CLOCK_MONOTONIC) - d->written_at >= ROW_REFRESH)
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

static void device_start(Device *d) {
        int r;

        d->started = now_usec(CLOCK_MONOTONIC);
        if (d->camera) {
                bool deep = d->started >= d->next_deep;

                if (deep)
                        d->next_deep = d->started + d->deep_interval;
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
        size_t dev;
        time_t at;

        (void) s;
        (void) usec;
        m->probe_timer_at = 0;
        while (clock_heap_top(m->due, &dev, &at) && (uint64_t) at <= until) {
                uint64_t now = now_usec(CLOCK_MONOTONIC), late = now > (uint64_t) at ? now - (uint64_t) at : 0;

                /* How late the probe starts against its schedule (/metrics). */
                m->lateness_count++;
                m->lateness_sum_usec += late;
                for (size_t i = 0; i < MONITOR_LATENESS_BUCKETS; i++)
                        if ((double) late / 1e6 <= lateness_bounds[i])
                                m->lateness_buckets[i]++;
                clock_heap_set(m->due, dev, 0);
                device_start(&m->devices[dev]);
        }
        monitor_arm_probes(m);
        return 0;
}

/* ======================================================================== */

static int device_init(Monitor *m, Device *d, DeviceKind kind, size_t site) {
        const Config *c = m->config;

        d->monitor = m;
        d->kind = kind;
        d->site = site;
        d->node = kind == DEVICE_VPN      ? faults_vpn_node(m->faults)
                  : kind == DEVICE_ROUTER ? faults_site_node(m->faults, site, NODE_ROUTER)
                                          : faults_site_node(m->faults, site, NODE_CAMERA);
        if (kind == DEVICE_VPN)
                (void) snprintf(d->id, sizeof(d->id), "vpn");
        else
                (void) snprintf(d->id, sizeof(d->id), "%s-%s", c->sites[site].id,
                                device_kind_to_string(kind));
        d->interval = kind == DEVICE_CAMERA   ? c->probes.camera.interval
                      : kind == DEVICE_ROUTER ? c->probes.router.interval
                                              : c->probes.vpn.interval;
        d->deep_interval = c->probes.camera.deep_interval;
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
        /* Only a digest is kept, to check the community of its traps. */
        if (conf.target.community) {
                (void) SHA256((const unsigned char *) conf.target.community,
                              strlen(conf.target.community), d->community_hash);
                d->has_community = true;
        }
        conf.target.source_address = c->probes.source_address;
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
        if (conf.target.community) {
                (void) SHA256((const unsigned char *) conf.target.community,
                              strlen(conf.target.community), d->community_hash);
                d->has_community = true;
        }
        conf.target.source_address = c->probes.source_address;
        r = vpn_probe_new(m->event, &conf, device_on_result, d, &d->router, err);
        if (r < 0)
                log_error("%s: %s", d->id, err[0] ? err : strerror(-r));
        return r;
}

/* ======================================================================== */

static const char *device_state(const Monitor *m, const Device *d) {
        if (faults_node_unreachable(m->faults, d->node))
                return "unreachable";
        return d->has_result ? probe_status_to_string(d->status) : "unknown";
}

static void metrics_device_labels(FILE *f, const Monitor *m, const Device *d) {
        fputs("{device=\"", f);
        metrics_label(f, d->id);
        fputs("\",site=\"", f);
        metrics_label(f, d->site < m->config->n_sites ? m->config->sites[d->site].id : "");
        fprintf(f, "\",kind=\"%s\"", device_kind_to_string(d->kind));
}

static void metrics_devices(FILE *f, const Monitor *m) {
        static const char *const states[] = { "up", "degraded", "down", "unreachable", "unknown" };
        const Config *c = m->config;

        fputs("# HELP fieldwatch_device_up Whether the device answered its last probe fully (1) or not (0).\n"
              "# TYPE fieldwatch_device_up gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                fputs("fieldwatch_device_up", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %d\n", d->has_result && d->status == PROBE_UP &&
                                             !faults_node_unreachable(m->faults, d->node));
        }
        fputs("# HELP fieldwatch_device_state The device's state (one series per state).\n"
              "# TYPE fieldwatch_device_state gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++)
                for (size_t j = 0; j < ELEMENTSOF(states); j++) {
                        fputs("fieldwatch_device_state", f);
                        metrics_device_labels(f, m, &m->devices[i]);
                        fprintf(f, ",state=\"%s\"} %d\n", states[j],
                                streq(states[j], device_state(m, &m->devices[i])));
                }
        fputs("# HELP fieldwatch_probe_latency_seconds Round trip of the last probe.\n"
              "# TYPE fieldwatch_probe_latency_seconds gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                if (!d->has_result)
                        continue;
                fputs("fieldwatch_probe_latency_seconds", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %.6f\n", (double) d->latency_usec / 1e6);
        }
        fputs("# HELP fieldwatch_lte_signal LTE signal values of the routers, as configured.\n"
              "# TYPE fieldwatch_lte_signal gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                if (d->kind != DEVICE_ROUTER || !d->values_json)
                        continue;
                for (size_t k = 0; k < c->probes.router.n_signals && k < PROBE_SIGNALS_MAX; k++) {
                        const SignalValue *v = &d->router_values.signals[k];

                        if (!v->has)
                                continue;
                        fputs("fieldwatch_lte_signal", f);
                        metrics_device_labels(f, m, d);
                        fprintf(f, ",signal=\"%s\"} %ld\n", c->probes.router.signals[k].name,
                                v->value);
                }
        }
}

static void metrics_faults(FILE *f, const Monitor *m, time_t now) {
        size_t open = 0, n;
        Fault *const *all = faults_tracked(m->faults, &n);

        fputs("# HELP fieldwatch_fault_due_seconds Seconds until the due in force of each open "
              "fault without onsite work: the approved deferral's, else the onsite due "
              "(negative: overdue).\n# TYPE fieldwatch_fault_due_seconds gauge\n", f);
        /* Reported faults too; none for a fault without a due yet (awaiting
         * its call) or at all (send-back maintenance). */
        for (size_t i = 0; i < n; i++) {
                const Fault *ft = all[i];

                if (ft->state != FAULT_OPEN)
                        continue;
                open++;
                if (ft->onsite_started_at || fault_due(ft) == 0)
                        continue;
                fprintf(f, "fieldwatch_fault_due_seconds{fault_id=\"%" PRId64 "\",device=\"", ft->id);
                metrics_label(f, ft->device);
                fprintf(f, "\",kind=\"%s\",deferred=\"%s\"} %lld\n", ft->kind,
                        ft->deferral_approved_at ? "yes" : "no",
                        (long long) (fault_due(ft) - now));
        }
        fprintf(f, "# HELP fieldwatch_traps_total SNMP notifications handed on by snmptrapd, by "
                   "what became of them.\n# TYPE fieldwatch_traps_total counter\n"
                   "fieldwatch_traps_total{result=\"acted\"} %" PRIu64 "\n"
                   "fieldwatch_traps_total{result=\"unknown_sender\"} %" PRIu64 "\n"
                   "fieldwatch_traps_total{result=\"wrong_community\"} %" PRIu64 "\n",
                m->traps_acted, m->traps_unknown, m->traps_refused);
        fprintf(f, "# HELP fieldwatch_open_faults Faults open now.\n"
                   "# TYPE fieldwatch_open_faults gauge\nfieldwatch_open_faults %zu\n", open);
}

/* Probe counters and durations: only for a scrape (/metrics), not the
 * textfile (node_exporter's textfile collector takes gauges only). */
static void metrics_probes(FILE *f, const Monitor *m) {
        static const char *const results[] = { "up", "degraded", "down" };

        fputs("# HELP fieldwatch_probes_total Probe cycles completed, by result.\n"
              "# TYPE fieldwatch_probes_total counter\n", f);
        for (size_t i = 0; i < m->n_devices; i++)
                for (size_t j = 0; j < ELEMENTSOF(results); j++) {
                        fputs("fieldwatch_probes_total", f);
                        metrics_device_labels(f, m, &m->devices[i]);
                        fprintf(f, ",result=\"%s\"} %" PRIu64 "\n", results[j],
                                m->devices[i].probes[j]);
                }
        fputs("# HELP fieldwatch_probe_duration_seconds How long probe cycles took.\n"
              "# TYPE fieldwatch_probe_duration_seconds histogram\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];
                uint64_t n = d->probes[0] + d->probes[1] + d->probes[2];

                for (size_t k = 0; k <= MONITOR_DURATION_BUCKETS; k++) {
                        fputs("fieldwatch_probe_duration_seconds_bucket", f);
                        metrics_device_labels(f, m, d);
                        if (k < MONITOR_DURATION_BUCKETS)
                                fprintf(f, ",le=\"%g\"} %" PRIu64 "\n", duration_bounds[k],
                                        d->duration_buckets[k]);
                        else
                                fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", n);
                }
                fputs("fieldwatch_probe_duration_seconds_sum", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %.6f\n", (double) d->duration_sum_usec / 1e6);
                fputs("fieldwatch_probe_duration_seconds_count", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %" PRIu64 "\n", n);
        }
}

static void metrics_lateness(FILE *f, const Monitor *m) {
        fputs("# HELP fieldwatch_probe_lateness_seconds How late probe cycles start against "
              "their schedule.\n# TYPE fieldwatch_probe_lateness_seconds histogram\n", f);
        for (size_t k = 0; k < MONITOR_LATENESS_BUCKETS; k++)
                fprintf(f, "fieldwatch_probe_lateness_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                        lateness_bounds[k], m->lateness_buckets[k]);
        fprintf(f, "fieldwatch_probe_lateness_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                   "fieldwatch_probe_lateness_seconds_sum %.6f\n"
                   "fieldwatch_probe_lateness_seconds_count %" PRIu64 "\n",
                m->lateness_count, (double) m->lateness_sum_usec / 1e6, m->lateness_count);
}

void monitor_write_prometheus(const Monitor *m, FILE *f) {
        metrics_devices(f, m);
        metrics_faults(f, m, wallclock_now());
        metrics_probes(f, m);
        metrics_lateness(f, m);
}

uint64_t monitor_generation(const Monitor *m) {
        uint64_t h = 14695981039346656037ULL ^ m->emitted;

        /* FNV-1a over what a tile shows. */
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                h = (h ^ (uintptr_t) device_state(m, d)) * 1099511628211ULL;
                h = (h ^ (uint64_t) d->tunnel) * 1099511628211ULL;
        }
        return h;
}

static int monitor_write_metrics(Monitor *m) {
        const char *path = m->config->metrics_file;
        char *tmp = NULL;
        FILE *f = NULL;
        int r;

        if (!path)
                return 0;
        r = metrics_begin(path, &f, &tmp);
        if (r >= 0) {
                metrics_devices(f, m);
                metrics_faults(f, m, wallclock_now());
                r = metrics_commit(f, tmp, path);
        }
        if (r < 0 && !m->metrics_failing)
                log_errno(LOG_WARNING, r, "Cannot write the metrics to %s", path);
        m->metrics_failing = r < 0;
        return r;
}

static int on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;
        uint64_t every = MIN(MIN(m->config->probes.camera.interval, m->config->probes.router.interval),
                             m->config->probes.vpn.interval);

        (void) monitor_write_metrics(m);
        (void) sd_event_source_set_time(s, usec + MAX(every, USEC_PER_SEC));
        return 0;
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
        if (!m->devices || !m->dirty || clock_heap_new(m->n_devices, &m->due) < 0)
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
        /* An idle connection per camera (and a few for the mailer). */
        if (cameras_keep_connections(c)) {
                r = curl_glue_set_max_connections(m->curl, (long) c->n_sites + 16);
                if (r < 0)
                        return r;
        }
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

static int restore_fault(const Fault *f, void *userdata) {
        Monitor *m = userdata;
        int r;

        r = faults_restore(m->faults, f);
        if (r == -ENOENT)
                log_warning("Fault %" PRId64 " of %s: the device is no longer configured; it stays "
                            "open in the database", f->id, f->device);
        else if (r < 0)
                return r;
        return 0;
}

/* Serials seen before a restart: a swap across a restart is still noticed. */
static int restore_serial(const DeviceRow *row, void *userdata) {
        Monitor *m = userdata;
        json_t *v, *serial;
        size_t node = faults_find_node(m->faults, row->id);

        if (node == SIZE_MAX || m->node_device[node] == SIZE_MAX ||
            m->devices[m->node_device[node]].kind != DEVICE_CAMERA)
                return 0;
        v = json_loads(row->values_json, 0, NULL);
        serial = json_object_get(v, "serial");
        if (json_is_string(serial))
                (void) snprintf(m->devices[m->node_device[node]].serial, PROBE_TEXT_MAX, "%s",
                                json_string_value(serial));
        json_decref(v);
        return 0;
}

int monitor_new(sd_event *e, const Config *config, const Calendar *cal, const char *state_dir,
                const char *credentials_dir, Monitor **ret) {
        Monitor *m;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->event = sd_event_ref(e);
        m->config = config;
        m->calendar = cal;
        r = faults_new(config, cal, &m->faults);
        if (r < 0) {
                monitor_free(m);
                return log_errno(LOG_ERR, r, "Cannot set up the fault engine");
        }
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
                r = sd_event_add_time_relative(e, &m->clock_timer, CLOCK_MONOTONIC, CLOCK_RECHECK,
                                               USEC_PER_MSEC, on_clock_timer, m);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &m->retry_timer, CLOCK_MONOTONIC, STORE_RETRY,
                                               USEC_PER_SEC / 10, on_retry_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->retry_timer, SD_EVENT_OFF);
        if (r >= 0 && config->metrics_file) {
                r = sd_event_add_time_relative(e, &m->metrics_timer, CLOCK_MONOTONIC,
                                               USEC_PER_SEC, USEC_PER_SEC, on_metrics_timer, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->metrics_timer, SD_EVENT_ON);
        }
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
        /* Open faults keep their ids and clocks across restarts. */
        r = store_foreach_fault(m->store, true, restore_fault, m);
        if (r >= 0)
                r = store_foreach_device(m->store, restore_serial, m);
        if (r < 0) {
                monitor_free(m);
                return log_errno(LOG_ERR, r, "Cannot read the faults in %s", state_dir);
        }
        m->credentials_dir = strdup(credentials_dir);
        if (!m->credentials_dir) {
                monitor_free(m);
                return -ENOMEM;
        }
        r = monitor_resume_mail(m);
        if (r < 0) {
                monitor_free(m);
                return r;
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
        /* A last offer of what waits; what the database still refuses, only
         * the journal keeps. */
        if (m->store && !backlog_empty(&m->backlog) && monitor_write_backlog(m) < 0)
                log_error("%zu fault event%s could not be stored before stopping (%s); the "
                          "journal has them.", m->backlog.n_events,
                          m->backlog.n_events == 1 ? "" : "s", store_error(m->store));
        backlog_done(&m->backlog);
        for (size_t i = 0; m->devices && i < m->n_devices; i++) {
                Device *d = &m->devices[i];

                camera_probe_free(d->camera);
                router_probe_free(d->router);
                free(d->reason);
                free(d->values_json);
        }
        free(m->devices);
        free(m->dirty);
        clock_heap_free(m->due);
        (void) sd_event_source_disable_unref(m->probe_timer);
        free(m->node_device);
        (void) sd_event_source_disable_unref(m->flush_timer);
        (void) sd_event_source_disable_unref(m->clock_timer);
        (void) sd_event_source_disable_unref(m->retry_timer);
        (void) sd_event_source_disable_unref(m->metrics_timer);
        fault_output_done(&m->out);
        mailer_free(m->mailer);
        free(m->credentials_dir);
        faults_free(m->faults);
        curl_glue_free(m->curl);
        store_close(m->store);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

/* Every result into its row, those that waited for ROW_REFRESH too: on
 * stop and reload the database shows the last probe of every device. */
void monitor_flush_all(Monitor *m) {
        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = &m->devices[i];

                if (!d->unwritten)
                        continue;
                if (d->kind == DEVICE_ROUTER)
                        device_set_values(d, router_values(d, &d->router_values));
                device_mark_dirty(d);
        }
        (void) monitor_flush(m);
}

int monitor_settle(Monitor *m) {
        monitor_flush_all(m);
        if (backlog_empty(&m->backlog))
                return 0;
        return monitor_catch_up(m);
}

void monitor_suspend_mail(Monitor *m) {
        m->mailer = mailer_free(m->mailer);
}

int monitor_resume_mail(Monitor *m) {
        if (m->mailer || !m->config->notify.configured)
                return 0;
        return mailer_new(m->event, m->config, m->store, m->credentials_dir, &m->mailer);
}

int monitor_start(Monitor *m) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        monitor_arm_clock(m);
        for (size_t i = 0; i < m->n_devices; i++) {
                Device *d = &m->devices[i];
                uint64_t at = now + random_below(MIN(d->interval, FIRST_SPREAD_MAX));

                /* The first probes are spread over the whole interval, and
                 * the first deep cycles over the deep interval: the load of
                 * a large field is even from the start, not a burst that
                 * the loop works off late (issue 7). A device probed
                 * daily is still probed within minutes of the start. */
                d->next_deep = now + random_below(MIN(d->deep_interval, FIRST_SPREAD_MAX));
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

/* Writes a device's row: in place when only what every probe changes
 * changed (probe time, latency, values), else the whole row. */
static int device_write(Monitor *m, Device *d) {
        const char *state = device_state(m, d);
        int64_t latency = d->has_result ? (int64_t) d->latency_usec : -1;
        time_t at = d->has_result ? d->last_probe_at : 0;
        int r;

        if (!d->row_stale && d->stored_state == state) {
                r = store_touch_device(m->store, d->id, at, latency, d->values_json);
                if (r != -ENOENT)
                        return r;
        }
        return store_put_device(m->store, &(DeviceRow) {
                .id = d->id,
                .site = d->site < m->config->n_sites ? m->config->sites[d->site].id : NULL,
                .kind = device_kind_to_string(d->kind),
                .state = state,
                .last_probe_at = at,
                .latency_usec = latency,
                .reason = d->reason ?: "",
                .values_json = d->values_json ?: "{}",
        });
}

/* The device rows in one transaction, not durable: what a power failure
 * takes, the next probes write again. Faults, events and mails are
 * committed apart, durably (monitor_commit). */
int monitor_flush(Monitor *m) {
        uint64_t now;
        int r;

        if (m->n_dirty == 0)
                return 0;
        r = store_begin_relaxed(m->store);
        for (size_t i = 0; r >= 0 && i < m->n_dirty; i++)
                r = device_write(m, &m->devices[m->dirty[i]]);
        if (r >= 0)
                r = store_commit(m->store);
        if (r < 0) {
                store_rollback(m->store);
                if (!m->store_failing)
                        log_errno(LOG_ERR, r, "Cannot write device states (%s); will retry",
                                  store_error(m->store));
                m->store_failing = true;
                /* Keep them dirty and try again later. */
                (void) sd_event_source_set_time_relative(m->flush_timer, STORE_RETRY);
                (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ONESHOT);
                return r;
        }
        if (m->store_failing)
                log_notice("Device states written again.");
        m->store_failing = false;
        now = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < m->n_dirty; i++) {
                Device *d = &m->devices[m->dirty[i]];

                d->dirty = d->row_stale = false;
                d->written_at = now;
                d->stored_state = device_state(m, d);
        }
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
