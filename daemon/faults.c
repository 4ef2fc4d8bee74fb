/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "faults.h"
#include "faults-internal.h"
#include "macro.h"
#include "text.h"

#define SITE_HINT "power, breaker or LTE at the site"

/* ======================================================================== */

void fault_output_clear(FaultOutput *o) {
        o->n_events = o->n_faults = o->n_reprobe = 0;
}

void fault_output_done(FaultOutput *o) {
        free(o->events);
        free(o->event_faults);
        free(o->faults);
        free(o->reprobe);
        *o = (FaultOutput) {};
}

static int out_fault(FaultOutput *o, Fault *f) {
        for (size_t i = 0; i < o->n_faults; i++)
                if (o->faults[i] == f)
                        return 0;
        if (array_grow((void **) &o->faults, &o->allocated_faults, o->n_faults, sizeof(Fault *)) < 0)
                return -ENOMEM;
        o->faults[o->n_faults++] = f;
        return 0;
}

static int out_reprobe(FaultOutput *o, size_t node) {
        for (size_t i = 0; i < o->n_reprobe; i++)
                if (o->reprobe[i] == node)
                        return 0;
        if (array_grow((void **) &o->reprobe, &o->allocated_reprobe, o->n_reprobe, sizeof(size_t)) < 0)
                return -ENOMEM;
        o->reprobe[o->n_reprobe++] = node;
        return 0;
}

int faults_emit(FaultOutput *o, EventType type, time_t now, const char *device, Fault *f,
                const char *fmt, ...) {
        size_t a = o->allocated_events;
        Event *e;
        va_list ap;

        if (array_grow((void **) &o->events, &o->allocated_events, o->n_events, sizeof(Event)) < 0)
                return -ENOMEM;
        if (array_grow((void **) &o->event_faults, &a, o->n_events, sizeof(Fault *)) < 0)
                return -ENOMEM;
        e = &o->events[o->n_events];
        *e = (Event) { .type = type, .at = now };
        (void) snprintf(e->device, sizeof(e->device), "%s", device);
        if (f) {
                (void) snprintf(e->site, sizeof(e->site), "%s", f->site);
                (void) snprintf(e->kind, sizeof(e->kind), "%s", f->kind);
                e->received_at = f->received_at;
                e->onsite_due = fault_due(f);
        }
        va_start(ap, fmt);
        (void) vsnprintf(e->text, sizeof(e->text), fmt, ap);
        va_end(ap);
        /* Operators' notes are long: cut on a character, never inside one. */
        text_clean_inplace(e->text, sizeof(e->text));
        o->event_faults[o->n_events++] = f;
        return f ? out_fault(o, f) : 0;
}

/* ======================================================================== */

static const char *kind_name(NodeKind k) {
        static const char *const names[] = { "vpn", "tunnel", "router", "camera" };
        return names[k];
}

static const char *node_reason(const Node *n) {
        return n->last_reason ?: "";
}

/* Keeps a copy of the reason, allocated only when it changes. */
static int node_set_reason(Node *n, const char *reason) {
        char *copy = NULL;

        if (streq(node_reason(n), reason ?: ""))
                return 0;
        if (reason && reason[0]) {
                copy = strdup(reason);
                if (!copy)
                        return -ENOMEM;
        }
        free(n->last_reason);
        n->last_reason = copy;
        return 0;
}

static int compare_ids(const void *a, const void *b, void *userdata) {
        const FaultEngine *e = userdata;

        return strcmp(e->nodes[*(const size_t *) a].id, e->nodes[*(const size_t *) b].id);
}

static void index_ids(FaultEngine *e) {
        for (size_t i = 0; i < e->n_nodes; i++)
                e->by_id[i] = i;
        qsort_r(e->by_id, e->n_nodes, sizeof(size_t), compare_ids, e);
}

int faults_new(const Config *c, const Calendar *cal, FaultEngine **ret) {
        FaultEngine *e;
        size_t n;

        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->cal = cal;
        e->sla = c->sla;
        e->fail_after = MAX(c->probes.fail_after, 1u);
        e->recover_after = MAX(c->probes.recover_after, 1u);
        e->renotify_every = c->notify.renotify_every;
        e->contract = &c->contract;
        e->has_vpn = c->has_vpn;
        e->sites = c->sites;
        e->n_sites = c->n_sites;
        e->anomaly_after = c->probes.anomaly_transients;
        e->anomaly_window = (time_t) (c->probes.anomaly_window / USEC_PER_SEC);
        e->vpn = c->has_vpn ? 0 : SIZE_MAX;
        e->site_base = c->has_vpn ? 1 : 0;
        e->n_nodes = e->site_base + 3 * c->n_sites;
        e->nodes = calloc(MAX(e->n_nodes, (size_t) 1), sizeof(Node));
        e->by_id = malloc(MAX(e->n_nodes, (size_t) 1) * sizeof(size_t));
        e->clock_idx = calloc(e->n_nodes + FAULTS_MANUAL_MAX, sizeof(unsigned));
        if (!e->nodes || !e->by_id || !e->clock_idx ||
            prioq_new(e->n_nodes + FAULTS_MANUAL_MAX, &e->clocks) < 0) {
                faults_free(e);
                return -ENOMEM;
        }
        if (c->has_vpn)
                e->nodes[0] = (Node) { .kind = NODE_VPN, .site = NODE_NONE, .parent = NODE_NONE,
                                       .present = true, .id = "vpn" };
        for (size_t i = 0; i < c->n_sites; i++) {
                n = e->site_base + 3 * i;
                for (NodeKind k = NODE_TUNNEL; k <= NODE_CAMERA; k++) {
                        Node *node = &e->nodes[n + (k - NODE_TUNNEL)];

                        *node = (Node) { .kind = k, .site = (uint32_t) i, .present = true };
                        (void) snprintf(node->id, sizeof(node->id), "%s-%s", c->sites[i].id,
                                        kind_name(k));
                }
                e->nodes[n].present = c->has_vpn;
                e->nodes[n].parent = c->has_vpn ? (uint32_t) e->vpn : NODE_NONE;
                e->nodes[n + 1].parent = c->has_vpn ? (uint32_t) n : NODE_NONE;
                e->nodes[n + 2].parent = (uint32_t) (n + 1);
        }
        index_ids(e);
        *ret = e;
        return 0;
}

FaultEngine *faults_free(FaultEngine *e) {
        if (!e)
                return NULL;
        for (size_t i = 0; i < e->n_faults; i++) {
                fault_done(e->faults[i]);
                free(e->faults[i]);
        }
        free(e->faults);
        for (size_t i = 0; e->nodes && i < e->n_nodes; i++) {
                free(e->nodes[i].last_reason);
                free(e->nodes[i].recent);
        }
        free(e->nodes);
        free(e->by_id);
        prioq_free(e->clocks);
        free(e->clock_idx);
        free(e);
        return NULL;
}

size_t faults_n_nodes(const FaultEngine *e) {
        return e->n_nodes;
}

size_t faults_site_node(const FaultEngine *e, size_t site, NodeKind kind) {
        return e->site_base + 3 * site + (size_t) (kind - NODE_TUNNEL);
}

size_t faults_vpn_node(const FaultEngine *e) {
        return e->vpn;
}

const char *faults_node_id(const FaultEngine *e, size_t node) {
        return e->nodes[node].id;
}

NodeKind faults_node_kind(const FaultEngine *e, size_t node) {
        return e->nodes[node].kind;
}

/* A binary search of the ids: a lookup costs O(log n). */
size_t faults_find_node(const FaultEngine *e, const char *device) {
        size_t lo = 0, hi = e->n_nodes;

        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = strcmp(e->nodes[e->by_id[mid]].id, device);

                if (c == 0)
                        return e->by_id[mid];
                if (c < 0)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        return SIZE_MAX;
}

Fault *faults_node_fault(const FaultEngine *e, size_t node) {
        return node < e->n_nodes ? e->nodes[node].fault : NULL;
}

Fault *const *faults_tracked(const FaultEngine *e, size_t *ret_n) {
        *ret_n = e->n_faults;
        return e->faults;
}

Fault *faults_lookup(FaultEngine *e, int64_t id) {
        for (size_t i = 0; i < e->n_faults; i++)
                if (e->faults[i]->id == id)
                        return e->faults[i];
        return NULL;
}

static bool ancestor_down(const FaultEngine *e, size_t node) {
        for (uint32_t p = e->nodes[node].parent; p != NODE_NONE; p = e->nodes[p].parent)
                if (e->nodes[p].hard == HARD_DOWN)
                        return true;
        return false;
}

bool faults_node_unreachable(const FaultEngine *e, size_t node) {
        return node < e->n_nodes && ancestor_down(e, node);
}

/* Calls fn on every present descendant of node, depth first. */
static bool is_descendant(const FaultEngine *e, size_t node, size_t of) {
        for (uint32_t p = e->nodes[node].parent; p != NODE_NONE; p = e->nodes[p].parent)
                if (p == of)
                        return true;
        return false;
}

/* The descendants of a node: all nodes for the VPN, a site's for the others. */
static void descendant_range(const FaultEngine *e, size_t node, size_t *ret_from, size_t *ret_to) {
        const Node *n = &e->nodes[node];

        if (n->kind == NODE_VPN) {
                *ret_from = e->site_base;
                *ret_to = e->n_nodes;
        } else {
                *ret_from = node + 1;
                *ret_to = e->site_base + 3 * (n->site + 1);
        }
}

/* The ids a node makes unreachable, into f->hidden. */
static int hidden_ids(const FaultEngine *e, size_t node, Fault *f) {
        size_t from, to, n = 0;

        descendant_range(e, node, &from, &to);
        for (size_t i = from; i < to; i++)
                n += e->nodes[i].present && is_descendant(e, i, node);
        if (n == 0)
                return 0;
        f->hidden = calloc(n, sizeof(char *));
        if (!f->hidden)
                return -ENOMEM;
        for (size_t i = from; i < to; i++) {
                if (!e->nodes[i].present || !is_descendant(e, i, node))
                        continue;
                f->hidden[f->n_hidden] = strdup(e->nodes[i].id);
                if (!f->hidden[f->n_hidden++])
                        return -ENOMEM;
        }
        return 0;
}

/* ======================================================================== */

/* The kind of a degraded fault, from the probe's reason. */
static const char *degraded_kind(const char *reason) {
        static const struct {
                const char *needle, *kind;
        } table[] = {
                { "clock skew", "clock_skew" },
                { "recording stopped", "recording_stopped" },
                { "SD recording", "storage_error" },
                { "wrong model", "model_mismatch" },
                { "answers as ", "identity_mismatch" },
                { "sysName ", "identity_mismatch" },
                { "LTE ", "lte_weak" },
                { "WAN interface", "wan_down" },
                { "authentication", "auth_failed" },
                { "NotAuthorized", "auth_failed" },
                { "CPU ", "vpn_overload" },
                { "memory ", "vpn_overload" },
                { "temperature ", "vpn_temperature" },
                { "alarm LED", "vpn_alarm" },
                { "image tampering", "camera_tampered" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strstr(reason, table[i].needle))
                        return table[i].kind;
        return "degraded";
}

/* 16:00 (deferral_prompt_at) of the fault's reception day. */
static time_t prompt_time(const FaultEngine *e, const Fault *f) {
        time_t t;
        Day day;
        int sec;

        if (f->received_at == 0 || local_from_instant(f->received_at, &day, &sec) < 0 ||
            instant_from_local(day, e->sla.deferral_prompt_at, &t) < 0)
                return 0;
        /* Received after the prompt time: an eligible fault is prompted at
         * once (at raising, or when its call is received), others not. */
        if (f->received_at >= t)
                return f->deferral_eligible ? f->received_at : 0;
        return t;
}

/* prompt_time() of a node's fault, computed once per reception time. */
static time_t node_prompt(FaultEngine *e, Node *n) {
        if (n->prompt_received != n->fault->received_at || n->prompt_received == 0) {
                n->prompt = prompt_time(e, n->fault);
                n->prompt_received = n->fault->received_at;
        }
        return n->prompt;
}

static bool clock_running(const Fault *f) {
        return fault_clock_running(f);
}

/* A clock not yet struck: due now or later (one due now fires at once). */
static void consider(time_t *best, time_t t) {
        if (t > 0 && (*best == 0 || t < *best))
                *best = t;
}

/* The next clock of an open fault, or 0; prompt is its deferral prompt's time. */
static time_t fault_clock(const FaultEngine *e, const Fault *f, time_t prompt) {
        time_t best = 0, d;

        if (!f || f->state != FAULT_OPEN)
                return 0;
        d = fault_due(f);
        if (clock_running(f)) {
                if (!f->warned)
                        consider(&best, d - (time_t) (e->sla.warn_before / USEC_PER_SEC));
                if (!f->breached)
                        consider(&best, d);
                if (!f->deferral_prompted && f->deferral_approved_at == 0)
                        consider(&best, prompt);
        }
        if (!f->acknowledged_at && e->renotify_every)
                consider(&best, f->last_notified_at + (time_t) (e->renotify_every / USEC_PER_SEC));
        return best;
}

/* The next clock of a node's open fault, or 0. */
static time_t node_clock(FaultEngine *e, size_t node) {
        Node *n = &e->nodes[node];

        if (!n->fault || n->fault->state != FAULT_OPEN)
                return 0;
        return fault_clock(e, n->fault, clock_running(n->fault) ? node_prompt(e, n) : 0);
}

/* The next clock of a slot: a node's, or a manual fault's. */
static time_t slot_clock(FaultEngine *e, size_t slot) {
        const Fault *f;

        if (slot < e->n_nodes)
                return node_clock(e, slot);
        f = e->manual[slot - e->n_nodes];
        return f ? fault_clock(e, f, prompt_time(e, f)) : 0;
}

/* Sets a slot's clock in the queue (at 0: none). The queue has room for
 * every slot: putting cannot fail. */
static void clock_set(FaultEngine *e, size_t slot, time_t at) {
        unsigned *idx = &e->clock_idx[slot];

        if (at == 0)
                (void) prioq_remove(e->clocks, idx, idx);
        else
                (void) prioq_put(e->clocks, idx, (uint64_t) at * USEC_PER_SEC, idx);
}

/* Puts a slot's next clock into the queue, after its fault changed. */
static void node_reclock(FaultEngine *e, size_t slot) {
        if (slot != SIZE_MAX)
                clock_set(e, slot, slot_clock(e, slot));
}

static size_t manual_free_slot(const FaultEngine *e) {
        for (size_t k = 0; k < FAULTS_MANUAL_MAX; k++)
                if (!e->manual[k])
                        return k;
        return SIZE_MAX;
}

/* The heap slot of a tracked fault: its node's, or its manual slot; SIZE_MAX
 * for a probe's fault its node no longer holds. */
static size_t fault_slot(const FaultEngine *e, const Fault *f) {
        size_t node;

        if (f->origin != FAULT_ORIGIN_PROBE) {
                for (size_t k = 0; k < FAULTS_MANUAL_MAX; k++)
                        if (e->manual[k] == f)
                                return e->n_nodes + k;
                return SIZE_MAX;
        }
        node = faults_find_node(e, f->device);
        return node != SIZE_MAX && e->nodes[node].fault == f ? node : SIZE_MAX;
}

/* Sets the onsite clocks of f, received at `at` (moved into the reception
 * window); none under send-back maintenance. */
static int fault_set_clocks(FaultEngine *e, Fault *f, time_t at) {
        SlaClocks c;
        int r;

        r = clocks_sla(e->cal, &e->sla, at, &c);
        if (r < 0)
                return r;
        f->received_at = c.received_at;
        f->onsite_due = f->sendback ? 0 : c.onsite_due;
        f->deferral_eligible = !f->sendback && c.deferral_eligible;
        f->deferred_onsite_due = f->sendback ? 0 : c.deferred_onsite_due;
        return 0;
}

/* "received ..., onsite due ...", for the event of a fault's raising. */
static const char *clock_text(const Fault *f, char *buf, size_t size) {
        char rec[ISO_DATETIME_MAX], due[ISO_DATETIME_MAX];

        if (f->received_at == 0)
                (void) snprintf(buf, size, "detected; the clocks start when the fault call is "
                                "received (fieldwatchctl receive)");
        else if (f->sendback)
                (void) snprintf(buf, size, "received %s; send-back maintenance, no onsite clock",
                                format_iso_datetime(f->received_at, rec));
        else
                (void) snprintf(buf, size, "received %s, onsite due %s",
                                format_iso_datetime(f->received_at, rec),
                                format_iso_datetime(f->onsite_due, due));
        return buf;
}

/* Tracks a new fault (never one tracked already). */
static int fault_track(FaultEngine *e, Fault *f) {
        if (array_grow((void **) &e->faults, &e->allocated_faults, e->n_faults, sizeof(Fault *)) < 0)
                return -ENOMEM;
        e->faults[e->n_faults++] = f;
        return 0;
}

/* The deferral prompt of a fault received already past closing time. */
static int prompt_at_once(Fault *f, time_t now, FaultOutput *out) {
        char due[ISO_DATETIME_MAX];

        if (!f->deferral_eligible || f->deferral_prompted)
                return 0;
        f->deferral_prompted = true;
        return faults_emit(out, EVENT_DEFERRAL_NEEDED, now, f->device, f,
                         "%s: onsite work cannot start before closing time: the supervisor may "
                         "approve a visit by %s",
                         f->device, format_iso_datetime(f->deferred_onsite_due, due));
}

const char *faults_incident_kind(const char *kind, const char *reason) {
        if (streq(kind, "auth_failed") || streq(kind, "model_mismatch") ||
            streq(kind, "identity_mismatch"))
                return kind;
        if (reason && strstr(reason, "SNMPv3 authentication failed"))
                return "snmp_auth_failed";
        return NULL;
}

/* A fault that is a security incident (別記1 第9条) is reported as one at
 * once: one incident per fault, made when the fault is raised (never by a
 * probe that only confirms it, nor by a restart that restores it). */
static int incident_of_fault(Fault *f, time_t now, FaultOutput *out) {
        const char *incident = faults_incident_kind(f->kind, f->reason);
        int r;

        /* Once a fault, whatever kinds it goes through (the flag is stored). */
        if (!incident || f->incident_reported)
                return 0;
        f->incident_reported = true;
        r = faults_emit(out, EVENT_SECURITY_INCIDENT, now, f->device, f,
                      "%s: security incident: %s: %s", f->device, incident, f->reason);
        if (r >= 0)
                (void) snprintf(out->events[out->n_events - 1].kind,
                                sizeof(out->events[0].kind), "%s", incident);
        return r;
}

#define HINT_SEC 120

void faults_hint(FaultEngine *e, size_t node, time_t at, const char *by) {
        if (node >= e->n_nodes)
                return;
        e->nodes[node].hint_at = at;
        e->nodes[node].hint_by = by;
}

static int raise_fault(FaultEngine *e, size_t node, FaultSeverity sev, const char *kind,
                       const char *hint, time_t now, FaultOutput *out) {
        Node *n = &e->nodes[node];
        char clocks[160], by[32] = "";
        Fault *f;
        int r;

        /* Told by a trap or an event a moment ago: detected then (its clocks too). */
        if (n->hint_at && n->hint_at <= now && now - n->hint_at <= HINT_SEC) {
                (void) snprintf(by, sizeof(by), " (detected by %s)", n->hint_by);
                now = n->hint_at;
        }
        n->hint_at = 0;

        f = calloc(1, sizeof(*f));
        if (!f)
                return -ENOMEM;
        *f = (Fault) {
                .severity = sev,
                .state = FAULT_OPEN,
                .detected_at = now,
                .last_notified_at = now,
                .sendback = n->kind == NODE_VPN && e->sla.devices.vpn == SLA_RULE_SENDBACK,
        };
        /* Received at detection, or when the call comes (L119-123). */
        if (e->sla.reception == SLA_RECEPTION_DETECTION) {
                r = fault_set_clocks(e, f, now);
                if (r < 0) {
                        free(f);
                        return r;
                }
        }
        if (n->site != NODE_NONE)
                (void) snprintf(f->site, sizeof(f->site), "%.*s", device_site_len(n->id), n->id);
        (void) snprintf(f->device, sizeof(f->device), "%s", n->id);
        (void) snprintf(f->kind, sizeof(f->kind), "%s", kind);
        (void) snprintf(f->reason, sizeof(f->reason), "%s", node_reason(n));
        (void) snprintf(f->hint, sizeof(f->hint), "%s", hint ?: "");
        if ((sev == FAULT_DOWN && hidden_ids(e, node, f) < 0) || fault_track(e, f) < 0) {
                fault_done(f);
                free(f);
                return -ENOMEM;
        }
        n->fault = f;
        node_reclock(e, node);
        r = faults_emit(out, EVENT_FAULT_RAISED, now, n->id, f, "%s: fault raised%s: %s: %s%s%s "
                      "(%s)", n->id, by, kind, f->reason, f->hint[0] ? "; check " : "", f->hint,
                      clock_text(f, clocks, sizeof(clocks)));
        if (r >= 0)
                r = incident_of_fault(f, now, out);
        if (r >= 0)
                r = prompt_at_once(f, now, out);
        return r;
}

/* The node's open fault becomes another kind or severity: a degraded camera
 * goes down, a down one answers again while a check still fails, another
 * check fails. The device has not recovered, so it is the same fault: its
 * reception, due, deferral, acknowledgement and onsite work are kept (a
 * fresh fault would restart the 2-hour clock, and closing this one as
 * transient would say it cleared by itself, and count toward an anomaly). */
static int change_fault(FaultEngine *e, size_t node, FaultSeverity sev, const char *kind,
                        const char *hint, time_t now, FaultOutput *out) {
        Node *n = &e->nodes[node];
        Fault *f = n->fault;
        char was[sizeof(f->kind)], clocks[160];
        int r;

        if (f->severity == sev && streq(f->kind, kind))
                return 0;
        n->hint_at = 0;
        (void) snprintf(was, sizeof(was), "%s", f->kind);
        fault_done(f); /* the hidden list: made anew below when down */
        f->severity = sev;
        (void) snprintf(f->kind, sizeof(f->kind), "%s", kind);
        (void) snprintf(f->reason, sizeof(f->reason), "%s", node_reason(n));
        (void) snprintf(f->hint, sizeof(f->hint), "%s", hint ?: "");
        if (sev == FAULT_DOWN && hidden_ids(e, node, f) < 0)
                return -ENOMEM;
        r = faults_emit(out, EVENT_FAULT_CHANGED, now, n->id, f,
                        "%s: fault %" PRId64 " is now %s (was %s): %s%s%s (%s)", n->id, f->id,
                        kind, was, f->reason, f->hint[0] ? "; check " : "", f->hint,
                        clock_text(f, clocks, sizeof(clocks)));
        if (r >= 0)
                r = incident_of_fault(f, now, out);
        return r;
}

static int anomaly_input(FaultEngine *e, size_t node, time_t now, FaultOutput *out);

static int clear_fault(FaultEngine *e, size_t node, time_t now, FaultOutput *out) {
        Node *n = &e->nodes[node];
        Fault *f = n->fault;

        if (!f)
                return 0;
        n->fault = NULL;
        node_reclock(e, node);
        e->maybe_closed = true;
        f->state = FAULT_CLEARED;
        f->cleared_at = now;
        f->transient = f->onsite_started_at == 0;
        if (f->transient) {
                int r = faults_emit(out, EVENT_FAULT_TRANSIENT, now, n->id, f,
                                    "%s: fault cleared by itself before onsite work: %s", n->id,
                                    f->kind);

                return r < 0 ? r : anomaly_input(e, node, now, out);
        }
        return faults_emit(out, EVENT_FAULT_CLEARED, now, n->id, f, "%s: fault cleared: %s", n->id,
                         f->kind);
}

/* The site's router and camera are failing too: the whole site is lost. */
static bool site_lost(const FaultEngine *e, size_t tunnel) {
        for (size_t i = tunnel + 1; i <= tunnel + 2; i++) {
                const Node *c = &e->nodes[i];

                if (!(c->held || c->hard == HARD_DOWN ||
                      (c->has_last && c->last == PROBE_DOWN)))
                        return false;
        }
        return true;
}

static int node_go_down(FaultEngine *e, size_t node, time_t now, FaultOutput *out);

/* The children of a node that turned hard down: they are unreachable now. */
static void release_held_below(FaultEngine *e, size_t node) {
        size_t from, to;

        descendant_range(e, node, &from, &to);
        for (size_t i = from; i < to; i++)
                if (e->nodes[i].held && is_descendant(e, i, node))
                        e->nodes[i].held = false;
}

/* A parent answered: held children whose hold began before that answer get
 * their own faults when the parent is up. */
static int settle_held_below(FaultEngine *e, size_t node, time_t now, FaultOutput *out) {
        const Node *p = &e->nodes[node];
        size_t from, to;
        int r;

        if (p->last != PROBE_DOWN && p->hard != HARD_DOWN) {
                descendant_range(e, node, &from, &to);
                for (size_t i = from; i < to; i++) {
                        Node *c = &e->nodes[i];

                        if (!c->held || c->parent != node)
                                continue;
                        r = node_go_down(e, i, now, out);
                        if (r < 0)
                                return r;
                }
        }
        return 0;
}

/* The node whose probe answers for a node: the VPN's for a tunnel. */
static size_t probe_target(const FaultEngine *e, size_t node) {
        return e->nodes[node].kind == NODE_TUNNEL ? e->vpn : node;
}

static int node_go_down(FaultEngine *e, size_t node, time_t now, FaultOutput *out) {
        Node *n = &e->nodes[node];
        const char *kind = NULL, *hint = NULL;
        bool lost;

        if (ancestor_down(e, node)) {
                /* Unreachable: the ancestor's fault speaks for it. */
                n->hard = HARD_DOWN;
                n->held = false;
                return 0;
        }
        if (n->parent != NODE_NONE) {
                const Node *p = &e->nodes[n->parent];

                if (!n->held) {
                        n->held = true;
                        n->held_since = now;
                }
                /* Until the parent has answered since the hold began, ask it at once. */
                if (!(p->has_last && p->last != PROBE_DOWN && p->last_at >= n->held_since))
                        return out_reprobe(out, probe_target(e, n->parent));
        }
        n->held = false;
        n->hard = HARD_DOWN;
        switch (n->kind) {
        case NODE_VPN:
                kind = "vpn_down";
                break;
        case NODE_TUNNEL:
                lost = site_lost(e, node);
                kind = lost ? "site_down" : "tunnel_down";
                hint = lost ? SITE_HINT : NULL;
                break;
        case NODE_ROUTER:
                kind = "router_down";
                break;
        case NODE_CAMERA:
                kind = "camera_down";
                break;
        }
        /* A degraded fault turns into the down one: the same fault. */
        if (n->fault)
                return change_fault(e, node, FAULT_DOWN, kind, hint, now, out);
        return raise_fault(e, node, FAULT_DOWN, kind, hint, now, out);
}

/* A node recovered from hard down: its hidden descendants start afresh and
 * are probed at once; only those still down get faults of their own. */
static int wake_descendants(FaultEngine *e, size_t node, FaultOutput *out) {
        size_t from, to;
        int r;

        descendant_range(e, node, &from, &to);
        for (size_t i = from; i < to; i++) {
                Node *c = &e->nodes[i];

                if (!c->present || !is_descendant(e, i, node) || c->fault)
                        continue;
                c->hard = HARD_UNKNOWN;
                c->streak = 0;
                c->held = false;
                r = out_reprobe(out, c->kind == NODE_TUNNEL ? e->vpn : i);
                if (r < 0)
                        return r;
        }
        return 0;
}

static Hard hard_of(ProbeStatus s) {
        return s == PROBE_UP ? HARD_UP : s == PROBE_DEGRADED ? HARD_DEGRADED : HARD_DOWN;
}

/* Results needed to move from hard state `from` to `to`. */
static unsigned results_needed(const FaultEngine *e, Hard from, Hard to) {
        if (from == HARD_UNKNOWN)
                return to == HARD_UP ? 1 : e->fail_after;
        return to > from ? e->fail_after : e->recover_after;
}

/* The node turns hard `to` (not down: see node_go_down()). */
static int node_settle(FaultEngine *e, size_t node, Hard to, time_t now, FaultOutput *out) {
        Node *n = &e->nodes[node];
        const char *kind = degraded_kind(node_reason(n));
        Hard before = n->hard;
        int r = 0;

        n->hard = to;
        if (n->fault && (to == HARD_UP || ancestor_down(e, node)))
                r = clear_fault(e, node, now, out);
        else if (n->fault && to == HARD_DEGRADED)
                /* Answering again, or another check failing: the same fault. */
                r = change_fault(e, node, FAULT_DEGRADED, kind, NULL, now, out);
        if (r >= 0 && to == HARD_DEGRADED && !n->fault && !ancestor_down(e, node))
                r = raise_fault(e, node, FAULT_DEGRADED, kind, NULL, now, out);
        if (r >= 0 && before == HARD_DOWN)
                r = wake_descendants(e, node, out);
        return r;
}

static bool has_held_child(const FaultEngine *e, size_t node) {
        size_t from, to;

        descendant_range(e, node, &from, &to);
        for (size_t i = from; i < to; i++)
                if (e->nodes[i].held && e->nodes[i].parent == node)
                        return true;
        return false;
}

int faults_on_result(FaultEngine *e, size_t node, ProbeStatus s, const char *reason, time_t now,
                     FaultOutput *out) {
        Node *n;
        Hard target, before;
        int r = 0;

        if (node >= e->n_nodes || !e->nodes[node].present)
                return -EINVAL;
        n = &e->nodes[node];
        r = node_set_reason(n, reason);
        if (r < 0)
                return r;
        if (n->has_last && n->streak_status == s)
                n->streak++;
        else {
                n->streak_status = s;
                n->streak = 1;
        }
        n->has_last = true;
        n->last = s;
        n->last_at = now;
        if (s == PROBE_UP)
                n->hint_at = 0; /* the trap was about something else */
        if (s != PROBE_DOWN)
                n->held = false;
        if (s == PROBE_DEGRADED && streq_ptr(n->streak_kind, degraded_kind(node_reason(n))))
                n->kind_streak++;
        else {
                n->streak_kind = s == PROBE_DEGRADED ? degraded_kind(node_reason(n)) : NULL;
                n->kind_streak = 1;
        }

        before = n->hard;
        target = hard_of(s);
        if (target == HARD_DOWN && (n->held || (target != before &&
                                                n->streak >= results_needed(e, before, target))))
                r = node_go_down(e, node, now, out);
        else if (target != HARD_DOWN && target != before &&
                 n->streak >= results_needed(e, before, target))
                r = node_settle(e, node, target, now, out);
        else if (target == HARD_DEGRADED && n->fault && n->kind_streak >= e->fail_after &&
                 !streq(n->fault->kind, degraded_kind(node_reason(n))))
                /* Degraded for another reason now: a fault of the new kind. */
                r = node_settle(e, node, target, now, out);
        if (r < 0)
                return r;

        if (n->hard == HARD_DOWN && before != HARD_DOWN)
                release_held_below(e, node);
        else if (s == PROBE_DOWN && has_held_child(e, node))
                /* Children wait on this node's verdict: get it soon. */
                r = out_reprobe(out, probe_target(e, node));
        if (r < 0)
                return r;
        return settle_held_below(e, node, now, out);
}

void faults_forget_closed(FaultEngine *e) {
        size_t j = 0;

        /* Called after every result: no scan unless a fault may have left. */
        if (!e->maybe_closed)
                return;
        e->maybe_closed = false;
        for (size_t i = 0; i < e->n_faults; i++) {
                Fault *f = e->faults[i];

                if (f->state == FAULT_OPEN) {
                        e->faults[j++] = f;
                        continue;
                }
                fault_done(f);
                free(f);
        }
        e->n_faults = j;
}

/* Tracks a copy of f; the caller places it in its node or a manual slot,
 * or keeps it for an action. */
int faults_adopt(FaultEngine *e, const Fault *f, Fault **ret) {
        Fault *copy = calloc(1, sizeof(*copy));
        int r;

        if (!copy)
                return -ENOMEM;
        r = fault_copy(copy, f);
        if (r >= 0)
                r = fault_track(e, copy);
        if (r < 0) {
                fault_done(copy);
                free(copy);
                return r;
        }
        *ret = copy;
        return 0;
}

int faults_restore(FaultEngine *e, const Fault *f) {
        size_t node = faults_find_node(e, f->device), k = manual_free_slot(e);
        bool manual = f->origin != FAULT_ORIGIN_PROBE;
        Fault *copy;
        int r;

        if (f->state != FAULT_OPEN || (!manual && node == SIZE_MAX))
                return -ENOENT;
        if (manual && k == SIZE_MAX)
                return -ENOSPC;
        r = faults_adopt(e, f, &copy);
        if (r < 0)
                return r;
        if (manual) {
                e->manual[k] = copy;
                node = e->n_nodes + k;
        } else {
                e->nodes[node].fault = copy;
                e->nodes[node].hard = f->severity == FAULT_DOWN ? HARD_DOWN : HARD_DEGRADED;
        }
        node_reclock(e, node);
        return 0;
}

/* ======================================================================== */
/* Anomalies (L107-111): transient faults and restarts of a node, counted
 * here over probes.anomaly_window; the anomaly_transients-th of them, with
 * no anomaly in the window yet, is an anomaly to investigate. */

/* At most this many times are kept per node (the count in the text stops
 * there; the decision needs anomaly_transients of them). */
#define RECENT_MAX 64

/* Adds `at` to the node's recent times (in order), dropping those before
 * since. */
static int recent_add(Node *n, time_t at, time_t since) {
        size_t drop = 0;

        while (drop < n->n_recent && n->recent[drop] < since)
                drop++;
        if (n->n_recent - drop == RECENT_MAX)
                drop++;
        if (drop > 0) {
                memmove(n->recent, n->recent + drop, (n->n_recent - drop) * sizeof(time_t));
                n->n_recent -= drop;
        }
        if (n->n_recent == n->allocated_recent) {
                size_t want = MIN((size_t) MAX(n->allocated_recent * 2, 4), (size_t) RECENT_MAX);
                time_t *v = realloc(n->recent, want * sizeof(time_t));

                if (!v)
                        return -ENOMEM;
                n->recent = v;
                n->allocated_recent = (uint8_t) want;
        }
        n->recent[n->n_recent++] = at;
        return 0;
}

/* A transient fault or a restart of node at now. */
static int anomaly_input(FaultEngine *e, size_t node, time_t now, FaultOutput *out) {
        Node *n = &e->nodes[node];
        time_t since = now - e->anomaly_window;
        int r;

        r = recent_add(n, now, since);
        if (r < 0)
                return r;
        if (n->n_recent < e->anomaly_after || (n->anomaly_at && n->anomaly_at >= since))
                return 0;
        n->anomaly_at = now;
        return faults_emit(out, EVENT_ANOMALY, now, n->id, NULL,
                           "%s: anomaly to investigate: %d transient faults or restarts recently",
                           n->id, (int) n->n_recent);
}

int faults_restore_event(FaultEngine *e, const char *device, EventType type, time_t at,
                         time_t now) {
        size_t node = faults_find_node(e, device);
        Node *n;

        if (node == SIZE_MAX || at < now - e->anomaly_window)
                return 0;
        n = &e->nodes[node];
        if (type == EVENT_ANOMALY) {
                n->anomaly_at = MAX(n->anomaly_at, at);
                return 0;
        }
        if (type != EVENT_FAULT_TRANSIENT && type != EVENT_DEVICE_RESTARTED)
                return 0;
        return recent_add(n, at, now - e->anomaly_window);
}

int faults_on_restart(FaultEngine *e, size_t node, time_t now, FaultOutput *out) {
        const Node *n = &e->nodes[node];
        int r;

        r = faults_emit(out, EVENT_DEVICE_RESTARTED, now, n->id, NULL,
                        "%s: restarted (its uptime went back)", n->id);
        if (r < 0)
                return r;
        return anomaly_input(e, node, now, out);
}

int faults_on_swap(FaultEngine *e, size_t node, const char *old_serial, const char *new_serial,
                   time_t now, FaultOutput *out) {
        const Node *n = &e->nodes[node];

        int r;

        r = faults_emit(out, EVENT_DEVICE_SWAPPED, now, n->id, NULL,
                      "%s: serial number changed from %s to %s: device swapped", n->id,
                      old_serial, new_serial);
        if (r < 0)
                return r;
        r = faults_emit(out, EVENT_SECURITY_INCIDENT, now, n->id, NULL,
                      "%s: security incident: device_swapped: serial number changed from %s "
                      "to %s", n->id, old_serial, new_serial);
        if (r >= 0)
                (void) snprintf(out->events[out->n_events - 1].kind,
                                sizeof(out->events[0].kind), "device_swapped");
        return r;
}


/* ======================================================================== */

int faults_tick(FaultEngine *e, time_t now, FaultOutput *out) {
        char due[ISO_DATETIME_MAX];
        int r;

        for (size_t i = 0; i < e->n_faults; i++) {
                Fault *f = e->faults[i];
                size_t slot;
                time_t d = fault_due(f), warn = d - (time_t) (e->sla.warn_before / USEC_PER_SEC);
                time_t prompt;

                if (!clock_running(f))
                        continue;
                slot = fault_slot(e, f);
                if (!f->warned && now >= warn && now < d) {
                        f->warned = true;
                        r = faults_emit(out, EVENT_SLA_WARNING, now, f->device, f,
                                      "%s: onsite work due at %s, not started", f->device,
                                      format_iso_datetime(d, due));
                        if (r < 0)
                                return r;
                }
                if (!f->breached && now >= d) {
                        f->breached = f->warned = true;
                        r = faults_emit(out, EVENT_SLA_BREACH, now, f->device, f,
                                      "%s: onsite due %s passed without onsite work", f->device,
                                      format_iso_datetime(d, due));
                        if (r < 0)
                                return r;
                }
                prompt = slot < e->n_nodes ? node_prompt(e, &e->nodes[slot]) : prompt_time(e, f);
                if (!f->deferral_prompted && f->deferral_approved_at == 0 && prompt && now >= prompt) {
                        f->deferral_prompted = true;
                        r = faults_emit(out, EVENT_DEFERRAL_NEEDED, now, f->device, f,
                                      f->received_at >= prompt
                                              ? "%s: onsite work cannot start before closing "
                                                "time: the supervisor may approve a visit by %s"
                                              : "%s: no onsite work yet at the end of the day: "
                                                "ask the supervisor to approve a visit by %s",
                                      f->device,
                                      format_iso_datetime(f->deferred_onsite_due ?: d, due));
                        if (r < 0)
                                return r;
                }
                node_reclock(e, slot);
        }
        for (size_t i = 0; i < e->n_faults; i++) {
                Fault *f = e->faults[i];

                if (f->state != FAULT_OPEN || f->acknowledged_at || e->renotify_every == 0 ||
                    now < f->last_notified_at + (time_t) (e->renotify_every / USEC_PER_SEC))
                        continue;
                f->last_notified_at = now;
                r = faults_emit(out, EVENT_RENOTIFY, now, f->device, f,
                              "%s: fault %s still open and not acknowledged", f->device, f->kind);
                if (r < 0)
                        return r;
                node_reclock(e, fault_slot(e, f));
        }
        return 0;
}

/* The top of the heap, checked: a fault changed behind the engine's back
 * (an operator's action, which only ever takes clocks away or moves them
 * later, or announces itself with faults_refresh()) is put right on the way. */
time_t faults_next_clock(FaultEngine *e, time_t now) {
        unsigned *idx;
        uint64_t at;

        (void) now;
        while ((idx = prioq_peek(e->clocks, &at))) {
                size_t node = (size_t) (idx - e->clock_idx);
                time_t t = slot_clock(e, node);

                if ((uint64_t) t * USEC_PER_SEC == at)
                        return t;
                clock_set(e, node, t);
        }
        return 0;
}

void faults_reclock(FaultEngine *e, Fault *f) {
        size_t slot = fault_slot(e, f);

        if (slot == SIZE_MAX)
                return;
        node_reclock(e, slot);
        /* A manual fault leaves with its recovery (no probe clears it). */
        if (slot >= e->n_nodes && f->state != FAULT_OPEN) {
                e->manual[slot - e->n_nodes] = NULL;
                e->maybe_closed = true;
        }
}

void faults_untrack(FaultEngine *e, Fault *f) {
        size_t slot = fault_slot(e, f), j = 0;

        if (slot != SIZE_MAX && slot >= e->n_nodes)
                e->manual[slot - e->n_nodes] = NULL;
        else if (slot != SIZE_MAX)
                e->nodes[slot].fault = NULL;
        for (size_t i = 0; i < e->n_faults; i++)
                if (e->faults[i] != f)
                        e->faults[j++] = e->faults[i];
        e->n_faults = j;
        node_reclock(e, slot);
        fault_done(f);
        free(f);
}

bool faults_manual_room(const FaultEngine *e) {
        return manual_free_slot(e) != SIZE_MAX;
}

int faults_open(FaultEngine *e, const Fault *spec, time_t received, time_t now, FaultOutput *out) {
        size_t k = manual_free_slot(e);
        char clocks[160];
        Fault tmp = *spec, *f;
        int r;

        if (k == SIZE_MAX)
                return -ENOSPC;
        tmp.id = 0;
        tmp.state = FAULT_OPEN;
        tmp.detected_at = received;
        tmp.last_notified_at = now;
        tmp.sendback = streq(tmp.device, "vpn") && e->sla.devices.vpn == SLA_RULE_SENDBACK;
        r = fault_set_clocks(e, &tmp, received);
        if (r >= 0)
                r = faults_adopt(e, &tmp, &f);
        if (r < 0)
                return r;
        e->manual[k] = f;
        node_reclock(e, e->n_nodes + k);
        r = faults_emit(out, EVENT_FAULT_RAISED, now, f->device, f, "%s: fault %s: %s: %s (%s)",
                      f->device, f->origin == FAULT_ORIGIN_ANOMALY ? "escalated from an anomaly"
                                                                   : "reported by call",
                      f->kind, f->reason, clock_text(f, clocks, sizeof(clocks)));
        if (r >= 0)
                r = prompt_at_once(f, now, out);
        return r;
}

int faults_receive(FaultEngine *e, Fault *f, time_t call, time_t now, FaultOutput *out) {
        char clocks[160];
        int r;

        if (f->state != FAULT_OPEN || f->received_at != 0)
                return -EINVAL;
        r = fault_set_clocks(e, f, call);
        if (r < 0)
                return r;
        node_reclock(e, fault_slot(e, f));
        r = faults_emit(out, EVENT_FAULT_RECEIVED, now, f->device, f,
                      "%s: the fault call was received: %s (%s)", f->device, f->kind,
                      clock_text(f, clocks, sizeof(clocks)));
        if (r >= 0)
                r = prompt_at_once(f, now, out);
        return r;
}
