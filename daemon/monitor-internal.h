/* SPDX-License-Identifier: MIT */
#pragma once

/* What the monitor's files share (monitor.c: devices, scheduling, results;
 * monitor-rows.c: the device rows in the store; monitor-metrics.c: the
 * figures for Prometheus and the status line). Not for other modules. */

#include <jansson.h>
#include <openssl/sha.h>
#include <systemd/sd-event.h>

#include "camera.h"
#include "curl_glue.h"
#include "faults.h"
#include "monitor.h"
#include "pipeline.h"
#include "prioq.h"
#include "router.h"

typedef struct Store Store;

/* Timers may fire this much late, so that wake-ups coalesce. */
#define PROBE_TIMER_ACCURACY (10 * USEC_PER_MSEC)
/* The probe timer starts every probe due within this much of now. */
#define PROBE_TIMER_SLACK (2 * USEC_PER_MSEC)
/* Probes are due on a grid of this step of CLOCK_MONOTONIC (device_arm
 * rounds up to it): the probes of a slot start together, their connections
 * complete and their answers arrive together, and one wake-up of the loop
 * serves many (issue 18: at 1,000 cameras and 1,000 routers every 5 s, a
 * probe started alone cost about three wake-ups). The wider the slot, the
 * more a wake-up serves and the less each system call costs (a process that
 * sleeps between slots finds its caches cold): at 1,000 cameras every 5 s,
 * 250 ms cost 15 % less CPU than 50 ms, 1 s 17 % less, measured side by
 * side. 250 ms keeps most of it; a wider slot holds more transfers at once
 * (memory) and starts a probe up to a slot after its schedule. The schedule
 * itself stays exact (Device.slot_wait): an interval that is not a multiple
 * of the slot is kept on average, its gaps a slot apart; one that is keeps
 * a device on its slot, no jitter between probes. Urgent probes (a trap's or an event's,
 * and the ones back to back after it) are off the grid: they are few, and
 * a trap's fault is due in the journal within 2 s (issue 16). The fault
 * engine's re-probes keep to it (a slot at most later). */
#define PROBE_SLOT (250 * USEC_PER_MSEC)
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
 * waits for the sweep: last_probe_at, latency and a router's uptime in the
 * database may be up to ROW_REFRESH (and a step) behind the last probe. A
 * camera's other values are as its last visible change left them: its
 * clock skew may be up to a second off what the last probe measured (it is
 * written when its value rounded to whole seconds changes). Anything visible is
 * written within FLUSH_DELAY. The sweep walks the devices in the order of
 * their ids, ROW_REFRESH for all of them, a step at a time: the rows it
 * writes at once lie side by side in the table's index of ids (and in the
 * table, whose rows were first written in that order), a few pages for a
 * step's hundreds of rows, where the results come in no order and wrote
 * pages of their own each (issue 18: at 10,000 + 10,000 every 60 s, where
 * every result outlived the refresh, the row writes were a sixth of the
 * daemon's CPU; the sweep took three quarters of it away). */
#define ROW_REFRESH (30 * USEC_PER_SEC)
#define ROW_SWEEP_STEP (1 * USEC_PER_SEC)
/* After a trap: the gap between the probes run back to back. */
#define URGENT_GAP (100 * USEC_PER_MSEC)
/* How long a PullMessages waits for events at the camera. */
#define EVENTS_PULL_WAIT (20 * USEC_PER_SEC)
/* The contract clocks are re-read at least this often: a jump of the wall
 * clock is noticed within it. */
#define CLOCK_RECHECK (10 * USEC_PER_SEC)
/* While the database refuses device rows, they are offered again this often. */
#define STORE_RETRY (5 * USEC_PER_SEC)

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

/* One per camera and router (10,000 sites: 20,000 of them), so ordered by
 * size and kept small (issue 18): 312 bytes. What all devices of a kind
 * share (the intervals) is the configuration's, not copied here. */
typedef struct Device {
        Monitor *monitor;
        CameraProbe *camera;
        RouterProbe *router;         /* the site's router, or the VPN router */
        uint64_t next_deep;          /* CLOCK_MONOTONIC usec */
        uint64_t due;                /* when the running cycle was due (its schedule) */
        uint64_t started;            /* when it began */
        uint64_t visible;            /* a hash of the values a reader sees, at the last write */
        time_t written_boot;         /* routers: when uptime says they booted, at that write */
        time_t last_probe_at;        /* the program's wall clock */
        uint64_t latency_usec;
        uint64_t duration_sum_usec;
        char *reason;                /* NULL when up: most devices carry none */
        char *values_json;           /* compact, sorted keys, until its row has them */
        const char *stored_state;    /* the state its row holds (a static string) */
        /* Counters of 32 bits (issue 18: 10,000 sites' devices in less
         * memory): 4 billion results, 680 years at a 5 s interval. */
        uint32_t probes[3];          /* results by ProbeStatus (up, degraded, down) */
        uint32_t duration_buckets[MONITOR_DURATION_BUCKETS]; /* cumulative below */
        uint32_t site;               /* index in config->sites; DEVICE_NO_SITE for the VPN */
        uint32_t node;               /* in the fault engine */
        unsigned due_idx;            /* its place in the monitor's due queue */
        char id[24];                 /* "01-camera", "01-router", "vpn" */
        DeviceKind kind : 8;
        ProbeStatus status : 8;
        TunnelState tunnel : 8;      /* routers: their site's tunnel, from the VPN */
        bool has_result, dirty;
        bool row_stale;              /* its row needs more than probe time, latency, values */
        bool unwritten;              /* a result since its row was last written: for the sweep */
        uint16_t urgent;             /* probes still to run back to back (a trap came) */
        uint32_t slot_wait;          /* armed on the grid: usec from its schedule to its slot */
        union {
                RouterValues router_values; /* routers: the last values, for the tunnel, metrics */
                char serial[PROBE_TEXT_MAX]; /* cameras: the last serial seen */
        };
} Device;

#define DEVICE_NO_SITE UINT32_MAX


struct Monitor {
        sd_event *event;
        const Config *config;
        const Calendar *calendar;
        FaultEngine *faults;
        FaultOutput out;
        sd_event_source *clock_timer;
        sd_event_source *metrics_timer;
        Pipeline *pipeline;          /* where the engine's output goes */
        bool metrics_failing;
        size_t *node_device;         /* node -> device index (tunnels: the VPN's) */
        CurlGlue *curl;
        SnmpEngine *snmp;            /* the routers' sessions' sockets, timer, deadlines (not ours) */
        Store *store;
        Device *devices;
        size_t n_devices;
        Prioq *due;                  /* devices by their next probe, CLOCK_MONOTONIC usec */
        sd_event_source *probe_timer; /* one timer for them all, at the earliest */
        uint64_t probe_timer_at;     /* when it is armed; 0 when off */
        Device *vpn;
        uint32_t *dirty;             /* indices of devices to write (30,000 sites at most) */
        size_t n_dirty;
        sd_event_source *flush_timer;
        uint32_t *by_id;             /* device indices in the order of their ids (the rows') */
        size_t sweep_next;           /* in by_id: where the sweep goes on */
        sd_event_source *sweep_timer;
        bool store_failing;
        uint64_t lateness_buckets[MONITOR_LATENESS_BUCKETS]; /* probe starts, cumulative */
        uint64_t lateness_count, lateness_sum_usec;
        /* Traps (issue 16): acted on, from unknown senders, with a wrong community. */
        uint64_t traps_acted, traps_unknown, traps_refused;
        uint64_t traps_ignored_logged_at; /* CLOCK_MONOTONIC: the last line about ignored ones */
        unsigned traps_ignored_unlogged;
};

static inline uint64_t device_interval(const Device *d) {
        const ProbesConf *p = &d->monitor->config->probes;

        return d->kind == DEVICE_CAMERA   ? p->camera.interval
               : d->kind == DEVICE_ROUTER ? p->router.interval
                                          : p->vpn.interval;
}

/* The state a device's row and tile show: "up", "down", "degraded",
 * "unreachable", "unknown" (static strings: compared by pointer). */
const char *device_state(const Monitor *m, const Device *d);

/* The device's row is to be written (within FLUSH_DELAY). */
void device_mark_dirty(Device *d);

/* A router's values as its row shows them; takes the JSON. */
json_t *router_values(const Device *d, const RouterValues *v);
void device_set_values(Device *d, json_t *values);

/* monitor-rows.c: at start-up, the serials seen before are read back, and
 * the devices' rows are pruned to the configured ones and written. Both
 * log what fails. */
int monitor_rows_restore(Monitor *m);
int monitor_rows_sync(Monitor *m);
int monitor_on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata);
int monitor_on_sweep_timer(sd_event_source *s, uint64_t usec, void *userdata);

/* monitor-metrics.c: the metrics file's timer. */
int monitor_on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata);
