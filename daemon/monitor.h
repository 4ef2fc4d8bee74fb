/* SPDX-License-Identifier: MIT */
#pragma once

/* The device table and the probe scheduler: every device (each site's
 * camera and router, the VPN router) has its own next probe time, first at
 * a random point of its interval, kept in one heap behind one timer; a
 * device's probes never overlap; a slow device delays no other. Results go
 * to the table and, batched once per tick, to the state database (faults
 * and events durably, device rows not). */

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "action.h"
#include "calendar.h"
#include "config.h"
#include "probe.h"
#include "trap.h"

typedef struct Monitor Monitor;

typedef enum DeviceKind {
        DEVICE_CAMERA,
        DEVICE_ROUTER,
        DEVICE_VPN,
} DeviceKind;

/* Builds the devices of config, reads their secrets from credentials_dir
 * and opens their sessions (everything that may block happens here, before
 * the loop runs), and opens the state database in state_dir. Errors are
 * logged with the device and the credential they concern. */
int monitor_new(sd_event *e, const Config *config, const Calendar *cal, const char *state_dir,
                const char *credentials_dir, Monitor **ret);

/* Stops every probe and frees. NULL-safe. */
Monitor *monitor_free(Monitor *m);

/* Writes the device rows and what waits for the database (faults and
 * events it refused before): 0 when nothing waits any more, else why not. A
 * reload settles first, since the new monitor reads the faults back. */
int monitor_settle(Monitor *m);

/* Stops sending mail (a mail on its way stays in the outbox, to be sent
 * again), and starts again: one mailer at a time works on the outbox, so a
 * reload suspends the old monitor's before building the new one. */
void monitor_suspend_mail(Monitor *m);
int monitor_resume_mail(Monitor *m);

/* Arms every device's timer, spread over its interval (up to 5 min), and
 * spreads the cameras' first deep cycles likewise. */
int monitor_start(Monitor *m);

/* Applies an operator's action (from the control socket; a->os_user is
 * the caller the kernel named): 0 once it is committed, with a message;
 * < 0 with the reason in msg: -EINVAL refused, -ENOENT no such fault,
 * another -errno when the database does not take it. */
int monitor_on_action(Monitor *m, const Action *a, char *msg, size_t msglen);

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
