/* SPDX-License-Identifier: MIT */
#pragma once

/* The fault engine (SPEC §4): the only place that decides what probe
 * results mean. It takes results and the time and returns events and
 * changed faults; it does no I/O (the caller commits, then sends).
 *
 * Nodes form the dependency tree VPN -> site tunnel -> router -> camera.
 * A node turns hard after `fail_after` results of a worse class (down or
 * degraded) and back after `recover_after` better ones. A node about to
 * turn hard down while its parent is in doubt is held, and the parent is
 * re-probed at once: if the parent turns out down, the node is merely
 * unreachable (no fault, no mail, no clock; the parent's fault lists it in
 * `hidden`); if the parent is up, the node's own fault is raised. When a
 * parent recovers, its hidden children are re-probed at once. A site
 * whose tunnel, router and camera fail together (the VPN up) gets one
 * fault, `site_down`, with the hint "power, breaker or LTE at the site". */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "calendar.h"
#include "action.h"
#include "anomaly.h"
#include "config.h"
#include "event.h"
#include "fault.h"
#include "probe.h"

typedef struct FaultEngine FaultEngine;

/* Open faults no probe clears (reported by call, escalated anomalies) at
 * one time: a bound, not a plan (a handful a year). */
#define FAULTS_MANUAL_MAX 64

typedef enum NodeKind {
        NODE_VPN,
        NODE_TUNNEL,
        NODE_ROUTER,
        NODE_CAMERA,
} NodeKind;

/* What the caller must do after a call: commit the faults and events in
 * one transaction (events name their fault by pointer until it has an
 * id), then send the events, then re-probe the listed nodes. */
typedef struct FaultOutput {
        Event *events;
        Fault **event_faults;        /* the fault of events[i], or NULL */
        size_t n_events, allocated_events;
        Fault **faults;              /* faults created or changed (engine-owned) */
        size_t n_faults, allocated_faults;
        size_t *reprobe;             /* nodes to probe at once */
        size_t n_reprobe, allocated_reprobe;
} FaultOutput;

void fault_output_clear(FaultOutput *o);
void fault_output_done(FaultOutput *o);

/* Builds the tree of config: node 0 is the VPN when configured, then per
 * site i the nodes tunnel, router, camera at faults_site_node(). */
int faults_new(const Config *c, const Calendar *cal, FaultEngine **ret);
FaultEngine *faults_free(FaultEngine *e);

size_t faults_n_nodes(const FaultEngine *e);
size_t faults_site_node(const FaultEngine *e, size_t site, NodeKind kind);
size_t faults_vpn_node(const FaultEngine *e); /* SIZE_MAX without a VPN */
const char *faults_node_id(const FaultEngine *e, size_t node);
NodeKind faults_node_kind(const FaultEngine *e, size_t node);
/* The node of a device id ("05-camera", "vpn"), or SIZE_MAX. */
size_t faults_find_node(const FaultEngine *e, const char *device);

/* Takes an open fault from the store at start-up: its node is hard in the
 * fault's state already, so it is not raised again. */
int faults_restore(FaultEngine *e, const Fault *f);

/* A probe result of a node (a tunnel's comes from the VPN's probe). */
int faults_on_result(FaultEngine *e, size_t node, ProbeStatus s, const char *reason, time_t now,
                     FaultOutput *out);

/* The kind of security incident a fault is (別記1 第9条, 別記2 第10条):
 * "auth_failed", "model_mismatch", "identity_mismatch" (a router answering
 * as another site's) or "snmp_auth_failed" (an SNMPv3 authentication
 * failure, the reason of a router's or the VPN's fault); NULL for none. A
 * swapped device ("device_swapped") is one too. */
const char *faults_incident_kind(const char *kind, const char *reason);

/* A trap or an event told about a node at `at` ("trap", "event"): a fault
 * the node's next results raise (within two minutes) is detected then, and
 * says by what. */
void faults_hint(FaultEngine *e, size_t node, time_t at, const char *by);

/* A device restarted (uptime went backwards) or was swapped (new serial):
 * a swap is a security incident as well. */
int faults_on_restart(FaultEngine *e, size_t node, time_t now, FaultOutput *out);
int faults_on_swap(FaultEngine *e, size_t node, const char *old_serial, const char *new_serial,
                   time_t now, FaultOutput *out);

/* At start-up, an event of the anomaly window read back from the store
 * (transient faults, restarts, anomalies; in order of time): the anomalies
 * are counted across a restart. Others are ignored. */
int faults_restore_event(FaultEngine *e, const char *device, EventType type, time_t at,
                         time_t now);

/* A fault no probe sees, reported by a call (fieldwatchctl open) or an
 * anomaly the investigation reproduced (escalate). spec gives site,
 * device, kind, severity, reason, origin and anomaly_id; the engine sets
 * its clocks as received at `received` (moved into the reception window)
 * and keeps it until its recovery. -ENOSPC when FAULTS_MANUAL_MAX are open. */
int faults_open(FaultEngine *e, const Fault *spec, time_t received, time_t now, FaultOutput *out);
bool faults_manual_room(const FaultEngine *e);

/* The fault call for a detected fault came at `call` (sla.reception:
 * call): its clocks start. -EINVAL when it is not open or received already. */
int faults_receive(FaultEngine *e, Fault *f, time_t call, time_t now, FaultOutput *out);

/* Strikes the contract clocks due at now: SLA warnings and breaches,
 * deferral prompts, re-notifications. */
int faults_tick(FaultEngine *e, time_t now, FaultOutput *out);

/* The time of the next clock not yet struck (possibly already past: the
 * caller ticks at once), or 0 when none is pending. O(log n): the clocks
 * are kept in a heap, updated as the engine changes faults. */
time_t faults_next_clock(FaultEngine *e, time_t now);

/* Whether a node is unreachable (an ancestor is hard down). */
bool faults_node_unreachable(const FaultEngine *e, size_t node);

/* The open fault of a node, or NULL. */
Fault *faults_node_fault(const FaultEngine *e, size_t node);

/* Frees the faults that are no longer open; call once their last change is
 * committed (the FaultOutput's pointers to them become invalid). */
void faults_forget_closed(FaultEngine *e);

/* The faults the engine holds: the open ones (probes' and reported) and
 * those changed this round (check state). */
Fault *const *faults_tracked(const FaultEngine *e, size_t *ret_n);

/* What the store knows that an operator's action needs (the caller reads
 * it before): its fault as stored with its details, its anomaly, whether
 * its deliverable was handed in already. */
typedef struct ActionFacts {
        const Fault *fault;          /* a->fault_id's row; NULL: none given or none such */
        const FaultDetails *details;
        const Anomaly *anomaly;      /* investigate, escalate; NULL: none such */
        bool deliverable_submitted;  /* report-submitted of a contract deliverable */
} ActionFacts;

/* What an accepted action did, for the rows it writes besides its fault
 * and events. */
typedef struct ActionOutcome {
        Fault *fault;                /* its fault (in the engine), or NULL */
        time_t at;                   /* the action's time */
} ActionOutcome;

/* An operator's action (faults-actions.c), an input like a probe result:
 * checked against its fault's state and the contract; on success the fault
 * is changed, the events (with who acted) are in out, *ret tells what the
 * action did and msg what to tell the operator; 0. On refusal -EINVAL (or
 * -ENOENT, -ENOSPC) with the reason in msg, and nothing changed. After a
 * success, faults_action_end() must follow the commit. */
int faults_on_action(FaultEngine *e, const Action *a, const ActionFacts *facts, time_t now,
                     FaultOutput *out, ActionOutcome *ret, char *msg, size_t msglen);

/* The action's batch was committed (its change stays) or not (it is undone:
 * the fault as before, a fault it opened gone). */
void faults_action_end(FaultEngine *e, bool committed);
