/* SPDX-License-Identifier: MIT */
#pragma once

/* The device table and the probe scheduler: every device (each site's
 * camera and router, the VPN router) has its own next probe time, first at
 * a random point of its interval, kept in one heap behind one timer; a
 * device's probes never overlap; a slow device delays no other. Results go
 * to the fault engine, whose output the pipeline commits (pipeline.h), and
 * to the device rows (monitor-rows.c: batched, not durably). */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "calendar.h"
#include "config.h"
#include "macro.h"
#include "probe.h"
#include "trap.h"

typedef struct Store Store;
typedef struct Pipeline Pipeline;
typedef struct CurlGlue CurlGlue;
typedef struct SnmpEngine SnmpEngine;
typedef struct FaultEngine FaultEngine;
typedef struct Monitor Monitor;

typedef enum DeviceKind {
        DEVICE_CAMERA,
        DEVICE_ROUTER,
        DEVICE_VPN,
} DeviceKind;

/* Builds the devices of config, reads their secrets from credentials_dir
 * and opens their sessions (everything that may block happens here, before
 * the loop runs); the device rows of store are pruned to them and the
 * serials seen before read back. The monitor hands results to faults and
 * their output to pipeline. Cameras are probed through curl, routers
 * through snmp (neither is freed with the monitor). Errors are logged with the device and the
 * credential they concern. */
int monitor_new(sd_event *e, const Config *config, const Calendar *cal, FaultEngine *faults,
                Store *store, Pipeline *pipeline, CurlGlue *curl, SnmpEngine *snmp,
                const char *credentials_dir, Monitor **ret);

/* Stops every probe and frees. NULL-safe. */
Monitor *monitor_free(Monitor *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Monitor *, monitor_free);

/* Arms every device's timer, spread over its interval (up to 5 min), and
 * spreads the cameras' first deep cycles likewise. */
int monitor_start(Monitor *m);

/* An SNMP notification from snmptrapd (issue 16): its sender (a configured
 * router or the VPN router, by address; the community checked when there
 * is one) is probed back to back, with its camera, until the fault engine
 * decides; a fault raised then is detected at the trap's time. -ENOENT for
 * an unknown sender, -EPERM for a wrong community: counted, logged once a
 * minute, not acted on. */
int monitor_on_trap(Monitor *m, const Trap *t, char *msg, size_t msglen);

/* Writes pending results to the database now. */
int monitor_flush(Monitor *m);
/* monitor_flush(), with the results that waited for their periodic write. */
void monitor_flush_all(Monitor *m);

/* A one-line summary for systemd's STATUS=, e.g. "27 sites: 52 up, 2 down". */
void monitor_summary(const Monitor *m, char *buf, size_t size);

const char *device_kind_to_string(DeviceKind k);

/* The Prometheus text exposition for a scrape (/metrics): the textfile's
 * metrics (metrics_file:), then probe counters and duration histograms. */
void monitor_write_prometheus(const Monitor *m, FILE *f);

/* A number that changes when what the web view shows may have changed: a
 * device's state or tunnel, or events emitted (faults, operator actions). */
uint64_t monitor_generation(const Monitor *m);
