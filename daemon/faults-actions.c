/* SPDX-License-Identifier: MIT */

/* Operators' actions in the fault engine (issue 17): an action is an input
 * like a probe result. Its rules are checked here against the fault and the
 * facts the store had (faults.h: ActionFacts), with no store behind: on
 * success the fault is changed and the events are in the output, which the
 * pipeline commits with the action's own rows; when that commit fails,
 * faults_action_end() undoes the change. */

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "faults-internal.h"
#include "macro.h"
#include "text.h"
#include "timeutil.h"

/* Times given by operators may run this far ahead of ours (clock skew). */
#define FUTURE_SLACK 120

#define REFUSE(...)                                                                         \
        ({                                                                                  \
                (void) snprintf(msg, msglen, __VA_ARGS__);                                  \
                -EINVAL;                                                                    \
        })

/* Whether the JSON array of quoted models names part. */
static bool quoted(const char *quote_parts, const char *part) {
        json_t *arr = json_loads(quote_parts, 0, NULL);
        bool found = false;
        size_t i;
        json_t *v;

        json_array_foreach(arr, i, v)
                if (json_is_string(v) && streq(json_string_value(v), part))
                        found = true;
        json_decref(arr);
        return found;
}

/* "WV-SDB128G, WV-S2536LNUX" */
static char *parts_list(const Action *a) {
        size_t len = 1;
        char *s;

        for (size_t i = 0; i < a->n_parts; i++)
                len += strlen(a->parts[i]) + 2;
        s = calloc(len, 1);
        for (size_t i = 0; s && i < a->n_parts; i++) {
                if (i > 0)
                        strcat(s, ", ");
                strcat(s, a->parts[i]);
        }
        return s;
}

/* The rules of an action on a fault (or on none: work records): checked
 * against f, which is changed; the event's type in *ret_type, the
 * operator's message in msg. */
static int check_fault_action(const Action *a, Fault *f, const FaultDetails *det, time_t now,
                              time_t *ret_at, EventType *ret_type, char *msg, size_t msglen) {
        char t1[ISO_DATETIME_MAX], t2[ISO_DATETIME_MAX], t3[ISO_DATETIME_MAX];
        time_t at = a->at > 0 ? a->at : now;

        if (at > now + FUTURE_SLACK)
                return REFUSE("%s is in the future", format_iso_datetime(at, t1));
        if (f && at < f->detected_at)
                return REFUSE("%s is before the fault was detected (%s)",
                              format_iso_datetime(at, t1),
                              format_iso_datetime(f->detected_at, t2));
        if (f && f->state == FAULT_CLOSED)
                return REFUSE("fault %" PRId64 " is closed", f->id);

        switch (a->type) {
        case ACTION_ACK:
                if (f->state != FAULT_OPEN)
                        return REFUSE("fault %" PRId64 " is %s, not open", f->id,
                                      fault_state_to_string(f->state));
                if (f->acknowledged_at)
                        return REFUSE("fault %" PRId64 " was acknowledged already at %s", f->id,
                                      format_iso_datetime(f->acknowledged_at, t1));
                f->acknowledged_at = at;
                *ret_type = EVENT_ACKNOWLEDGED;
                /* The note goes into the event's text: journal, mail, events. */
                (void) snprintf(msg, msglen, "fault %" PRId64 " acknowledged%s%s", f->id,
                                a->note && a->note[0] ? ": " : "", a->note ?: "");
                break;
        case ACTION_ONSITE: {
                time_t due = fault_due(f);

                if (f->onsite_started_at)
                        return REFUSE("onsite work on fault %" PRId64 " started already at %s",
                                      f->id, format_iso_datetime(f->onsite_started_at, t1));
                f->onsite_started_at = at;
                *ret_type = EVENT_ONSITE_STARTED;
                if (at <= due)
                        (void) snprintf(msg, msglen,
                                        "onsite work on fault %" PRId64 " started at %s: met the "
                                        "due time %s",
                                        f->id, format_iso_datetime(at, t1),
                                        format_iso_datetime(due, t2));
                else
                        (void) snprintf(msg, msglen,
                                        "onsite work on fault %" PRId64 " started at %s: %ld min "
                                        "after the due time %s",
                                        f->id, format_iso_datetime(at, t1),
                                        (long) ((at - due + 59) / 60), format_iso_datetime(due, t2));
                break;
        }
        case ACTION_DEFER:
                if (f->state != FAULT_OPEN)
                        return REFUSE("fault %" PRId64 " is %s, not open", f->id,
                                      fault_state_to_string(f->state));
                if (f->sendback)
                        return REFUSE("fault %" PRId64 " is under send-back maintenance: it has "
                                      "no onsite due to defer", f->id);
                if (!f->received_at)
                        return REFUSE("fault %" PRId64 " has not been received yet: record the "
                                      "fault call first (fieldwatchctl receive %" PRId64 ")",
                                      f->id, f->id);
                /* Timing forces a deferral, or the reason does (parts to
                 * procure, L125-131): any hour, but a reason is then required. */
                if (!f->deferral_eligible && (!a->note || !a->note[0]))
                        return REFUSE("fault %" PRId64 " is due %s, before closing time: a "
                                      "deferral needs --reason (e.g. parts to procure)",
                                      f->id, format_iso_datetime(f->onsite_due, t1));
                if (f->onsite_started_at)
                        return REFUSE("onsite work on fault %" PRId64 " has started already",
                                      f->id);
                if (f->deferral_approved_at)
                        return REFUSE("the deferral of fault %" PRId64 " was approved already",
                                      f->id);
                f->deferral_approved_at = at;
                *ret_type = EVENT_DEFERRAL_APPROVED;
                /* The approval comes before the due passes (L125-131: 「承認を
                 * 得た上で」). One given later (the 16:00 prompt of a fault due
                 * at noon) is recorded — the visit is planned — but the due
                 * stays and so does its breach; one given in time and recorded
                 * later takes --at. */
                if (!deferral_counts(at, f->onsite_due, f->deferred_onsite_due)) {
                        (void) snprintf(msg, msglen,
                                        "fault %" PRId64 ": next-morning visit by %s approved "
                                        "at %s, after the due time %s: recorded, but the due "
                                        "stays (give --at if it was approved in time)%s%s",
                                        f->id, format_iso_datetime(f->deferred_onsite_due, t1),
                                        format_iso_datetime(at, t2),
                                        format_iso_datetime(f->onsite_due, t3),
                                        a->note && a->note[0] ? ": " : "", a->note ?: "");
                        break;
                }
                /* The due moves: its warning and breach are armed anew. */
                f->warned = f->breached = false;
                (void) snprintf(msg, msglen, "fault %" PRId64 ": onsite work now due %s%s%s",
                                f->id, format_iso_datetime(f->deferred_onsite_due, t1),
                                a->note && a->note[0] ? ": " : "", a->note ?: "");
                break;
        case ACTION_RECOVER:
                for (size_t i = 0; i < a->n_parts; i++)
                        if (det->quote_at && !det->quote_approved_at &&
                            quoted(det->quote_parts, a->parts[i]))
                                return REFUSE("%s is a paid part quoted for fault %" PRId64
                                              " and the quote is not approved: record the "
                                              "city's approval first (fieldwatchctl parts "
                                              "approved %" PRId64 ")",
                                              a->parts[i], f->id, f->id);
                if (!f->onsite_started_at && !a->remote && !f->sendback)
                        return REFUSE("fault %" PRId64 " has no onsite work recorded: use "
                                      "fieldwatchctl onsite first (or --remote when no visit "
                                      "was needed)",
                                      f->id);
                if (det->recovered_at)
                        return REFUSE("fault %" PRId64 " was recovered already at %s", f->id,
                                      format_iso_datetime(det->recovered_at, t1));
                if (a->temporary && det->temporary_recovered_at)
                        return REFUSE("fault %" PRId64 " was recovered provisionally already at "
                                      "%s: record the final recovery without --temporary",
                                      f->id, format_iso_datetime(det->temporary_recovered_at, t1));
                if (f->onsite_started_at && at < f->onsite_started_at)
                        return REFUSE("the recovery is before the onsite start %s",
                                      format_iso_datetime(f->onsite_started_at, t1));
                /* The final recovery after a provisional one is another
                 * visit's work: its start is not the first visit's. */
                if (!a->temporary && det->temporary_recovered_at && !a->start_at)
                        return REFUSE("fault %" PRId64 " was recovered provisionally at %s: give "
                                      "--start, when the work of the final recovery began",
                                      f->id,
                                      format_iso_datetime(det->temporary_recovered_at, t1));
                if (a->start_at && (a->start_at > at || a->start_at < f->detected_at ||
                                    a->start_at < det->temporary_recovered_at))
                        return REFUSE("--start %s is not between the %s (%s) and the recovery "
                                      "(%s)",
                                      format_iso_datetime(a->start_at, t1),
                                      det->temporary_recovered_at ? "provisional recovery"
                                                                  : "detection",
                                      format_iso_datetime(det->temporary_recovered_at
                                                                  ?: f->detected_at,
                                                          t2),
                                      format_iso_datetime(at, t3));
                *ret_type = EVENT_RECOVERED;
                (void) snprintf(msg, msglen, "fault %" PRId64 " recovered%s%s at %s%s%s%s%s",
                                f->id, a->temporary ? " provisionally" : "",
                                a->remote ? " remotely" : "", format_iso_datetime(at, t1),
                                a->loaner[0] ? "; loaner " : "", a->loaner,
                                a->media_replaced ? "; storage medium replaced: an erasure "
                                                    "report is due too"
                                                  : "",
                                /* Recorded as told, but said: the probes disagree. */
                                f->state == FAULT_OPEN && f->origin == FAULT_ORIGIN_PROBE
                                        ? "; warning: the device still fails its probes (the "
                                          "fault is open)"
                                        : "");
                /* No probe clears a reported fault: its final recovery does. */
                if (f->origin != FAULT_ORIGIN_PROBE && f->state == FAULT_OPEN && !a->temporary) {
                        f->state = FAULT_CLEARED;
                        f->cleared_at = at;
                        f->transient = false;
                }
                break;
        case ACTION_REPORT_SUBMITTED: {
                bool erasure = streq(a->kind, "erasure");

                if (!det->recovered_at)
                        return REFUSE("fault %" PRId64 " has no recovery recorded", f->id);
                if (erasure && !det->media_replaced)
                        return REFUSE("fault %" PRId64 " had no storage medium replaced: no "
                                      "erasure report is due",
                                      f->id);
                if ((erasure ? det->erasure_report_submitted_at
                             : det->recovery_report_submitted_at) != 0)
                        return REFUSE("the %s report of fault %" PRId64 " was submitted already",
                                      a->kind, f->id);
                *ret_type = EVENT_REPORT_SUBMITTED;
                (void) snprintf(msg, msglen, "%s report of fault %" PRId64 " submitted", a->kind,
                                f->id);
                break;
        }
        case ACTION_CLOSE:
                if (f->state != FAULT_CLEARED || !f->transient)
                        return REFUSE("fault %" PRId64 " is %s: only a transient fault (cleared "
                                      "by itself) can be closed without a visit",
                                      f->id, f->state == FAULT_OPEN ? "open" : "not transient");
                f->state = FAULT_CLOSED;
                *ret_type = EVENT_FAULT_CLOSED;
                (void) snprintf(msg, msglen, "fault %" PRId64 " closed", f->id);
                break;
        case ACTION_PARTS_QUOTE: {
                _cleanup_(freep) char *list = parts_list(a);

                if (det->recovered_at)
                        return REFUSE("fault %" PRId64 " was recovered already at %s: a quote "
                                      "comes before the work", f->id,
                                      format_iso_datetime(det->recovered_at, t1));
                if (det->quote_approved_at)
                        return REFUSE("the quote of fault %" PRId64 " was approved already at %s",
                                      f->id, format_iso_datetime(det->quote_approved_at, t1));
                *ret_type = EVENT_PARTS_QUOTED;
                (void) snprintf(msg, msglen, "fault %" PRId64 ": quote for %s, %" PRId64
                                " yen, handed to the supervisor", f->id, list ?: "parts",
                                a->amount);
                break;
        }
        case ACTION_PARTS_APPROVED:
                if (!det->quote_at)
                        return REFUSE("fault %" PRId64 " has no quote recorded: fieldwatchctl "
                                      "parts quote first", f->id);
                if (det->quote_approved_at)
                        return REFUSE("the quote of fault %" PRId64 " was approved already at %s",
                                      f->id, format_iso_datetime(det->quote_approved_at, t1));
                *ret_type = EVENT_PARTS_APPROVED;
                (void) snprintf(msg, msglen, "fault %" PRId64 ": the quote for paid parts is "
                                "approved", f->id);
                break;
        case ACTION_WORK_ADD:
                if (a->end_at > now + FUTURE_SLACK)
                        return REFUSE("the work's end %s is in the future",
                                      format_iso_datetime(a->end_at, t1));
                *ret_type = EVENT_WORK_RECORDED;
                (void) snprintf(msg, msglen, "work recorded: %s", a->title);
                break;
        case ACTION_WORK_EDIT:
                if (a->end_at > now + FUTURE_SLACK)
                        return REFUSE("the work's end %s is in the future",
                                      format_iso_datetime(a->end_at, t1));
                *ret_type = EVENT_WORK_RECORDED;
                (void) snprintf(msg, msglen, "work record %" PRId64 " edited:%s%s%s%s%s",
                                a->work_id, a->title ? " title" : "", a->content ? " content" : "",
                                a->note ? " notes" : "", a->at ? " start" : "",
                                a->end_at ? " end" : "");
                break;
        default:
                return REFUSE("unknown action");
        }
        *ret_at = at;
        return 0;
}

/* A contract deliverable handed in (report-submitted --kind ... --due ...):
 * one the contract has, not handed in before. */
static int check_deliverable(FaultEngine *e, const Action *a, const ActionFacts *facts,
                             char *msg, size_t msglen) {
        bool found = false;
        Deadline *d = NULL;
        size_t n = 0;
        Day due;
        int r;

        if (parse_iso_date(a->due, &due) < 0)
                return REFUSE("invalid due day '%s'", a->due);
        r = clocks_contract_deadlines(e->cal, e->contract, due, due, &d, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                found = found || streq(deadline_kind_to_string(d[i].kind), a->kind);
        free(d);
        if (r < 0 || !found)
                return REFUSE("the contract has no %s due on %s", a->kind, a->due);
        if (facts->deliverable_submitted)
                return REFUSE("the %s due on %s was submitted already", a->kind, a->due);
        (void) snprintf(msg, msglen, "%s due %s submitted", a->kind, a->due);
        return 0;
}

/* The investigation of an anomaly (L107-111): of one that exists, not
 * dated before it nor in the future. */
static int check_investigation(const Action *a, const ActionFacts *facts, time_t now,
                               time_t *ret_at, char *msg, size_t msglen) {
        char t1[ISO_DATETIME_MAX], t2[ISO_DATETIME_MAX];
        time_t at = a->at ?: now;

        if (!facts->anomaly)
                return REFUSE("there is no anomaly %" PRId64 " (fieldwatchctl anomalies lists "
                              "them)", a->anomaly_id);
        if (at > now + FUTURE_SLACK)
                return REFUSE("%s is in the future", format_iso_datetime(at, t1));
        if (at < facts->anomaly->at)
                return REFUSE("%s is before the anomaly (%s)", format_iso_datetime(at, t1),
                              format_iso_datetime(facts->anomaly->at, t2));
        (void) snprintf(msg, msglen, "anomaly %" PRId64 " investigated: %s", a->anomaly_id,
                        a->note);
        *ret_at = at;
        return 0;
}

/* Work is recorded for the contract: not before it began nor after it
 * ended (a raw action dated 1970 is refused here). */
static int check_work_period(const FaultEngine *e, const Action *a, char *msg, size_t msglen) {
        char d1[ISO_DATE_MAX], d2[ISO_DATE_MAX];
        Day first = e->contract->start, last = e->contract->end;
        int sec;

        if ((a->at && local_from_instant(a->at, &first, &sec) < 0) ||
            (a->end_at && local_from_instant(a->end_at, &last, &sec) < 0) ||
            first < e->contract->start || first > e->contract->end ||
            last < e->contract->start || last > e->contract->end)
                return REFUSE("work outside the contract period (%s to %s) is not recorded",
                              format_iso_date(e->contract->start, d1),
                              format_iso_date(e->contract->end, d2));
        return 0;
}

/* The reported time of a call or an escalation: now by default, not in the
 * future, inside the contract period. */
static int reported_time(const FaultEngine *e, const Action *a, time_t now, time_t *ret, char *msg,
                         size_t msglen) {
        char t1[ISO_DATETIME_MAX], d1[ISO_DATE_MAX], d2[ISO_DATE_MAX];
        time_t at = a->at ?: now;
        Day day;
        int sec;

        if (at > now + FUTURE_SLACK)
                return REFUSE("%s is in the future", format_iso_datetime(at, t1));
        if (local_from_instant(at, &day, &sec) < 0 || day < e->contract->start ||
            day > e->contract->end)
                return REFUSE("%s is outside the contract period (%s to %s)",
                              format_iso_datetime(at, t1),
                              format_iso_date(e->contract->start, d1),
                              format_iso_date(e->contract->end, d2));
        *ret = at;
        return 0;
}

/* The actions that create a fault or start its clocks (receive, open,
 * escalate): the engine's own events, with who acted. */
static int engine_action(FaultEngine *e, const Action *a, const ActionFacts *facts, time_t now,
                         FaultOutput *out, ActionOutcome *ret, char *msg, size_t msglen) {
        char t1[ISO_DATETIME_MAX], t2[ISO_DATETIME_MAX];
        Fault spec = {}, *f = NULL;
        time_t at;
        int r;

        r = reported_time(e, a, now, &at, msg, msglen);
        if (r < 0)
                return r;
        switch (a->type) {
        case ACTION_RECEIVE:
                if (e->sla.reception != SLA_RECEPTION_CALL)
                        return REFUSE("faults are received when they are detected here "
                                      "(sla.reception: detection): there is no call to record");
                f = faults_lookup(e, a->fault_id);
                if (!f || f->state != FAULT_OPEN)
                        return REFUSE("fault %" PRId64 " is not open (or does not exist)",
                                      a->fault_id);
                if (f->received_at)
                        return REFUSE("fault %" PRId64 " was received already at %s", f->id,
                                      format_iso_datetime(f->received_at, t1));
                /* The city may call before a probe sees it: a day's slack, no more. */
                if (at < f->detected_at - 24 * 3600)
                        return REFUSE("%s is more than a day before the fault was detected (%s)",
                                      format_iso_datetime(at, t1),
                                      format_iso_datetime(f->detected_at, t2));
                e->action_backup = *f;
                e->action_fault = f;
                r = faults_receive(e, f, at, now, out);
                if (r < 0)
                        return REFUSE("cannot start the clocks of fault %" PRId64 ": %s", f->id,
                                      strerror(-r));
                (void) snprintf(f->received_from, sizeof(f->received_from), "%s", a->from);
                if (f->sendback)
                        (void) snprintf(msg, msglen, "fault %" PRId64 " received %s from %s: "
                                        "send-back maintenance, no onsite due", f->id,
                                        format_iso_datetime(f->received_at, t1), a->from);
                else
                        (void) snprintf(msg, msglen, "fault %" PRId64 " received %s from %s: "
                                        "onsite work due %s%s", f->id,
                                        format_iso_datetime(f->received_at, t1), a->from,
                                        format_iso_datetime(f->onsite_due, t2),
                                        f->deferral_eligible ? " (the supervisor may approve a "
                                                               "next-morning visit)" : "");
                break;
        case ACTION_OPEN: {
                size_t site = SIZE_MAX;

                for (size_t i = 0; i < e->n_sites; i++)
                        if (streq(e->sites[i].id, a->site))
                                site = i;
                if (streq(a->device, "vpn")) {
                        if (!e->has_vpn)
                                return REFUSE("the configuration has no VPN router");
                        (void) snprintf(spec.device, sizeof(spec.device), "vpn");
                } else {
                        if (site == SIZE_MAX)
                                return REFUSE("there is no site '%s' in the configuration",
                                              a->site);
                        (void) snprintf(spec.site, sizeof(spec.site), "%s", a->site);
                        (void) snprintf(spec.device, sizeof(spec.device), "%s-%s", a->site,
                                        a->device);
                }
                (void) snprintf(spec.kind, sizeof(spec.kind), "%s", a->kind);
                spec.origin = FAULT_ORIGIN_CALL;
                break;
        }
        case ACTION_ESCALATE: {
                const Anomaly *an = facts->anomaly;

                if (!an)
                        return REFUSE("there is no anomaly %" PRId64 " (fieldwatchctl anomalies "
                                      "lists them)", a->anomaly_id);
                if (an->fault_id)
                        return REFUSE("anomaly %" PRId64 " was escalated already: fault %" PRId64,
                                      a->anomaly_id, an->fault_id);
                if (at < an->at)
                        return REFUSE("%s is before the anomaly (%s)", format_iso_datetime(at, t1),
                                      format_iso_datetime(an->at, t2));
                (void) snprintf(spec.device, sizeof(spec.device), "%s", an->device);
                if (!streq(an->device, "vpn"))
                        (void) snprintf(spec.site, sizeof(spec.site), "%.*s",
                                        device_site_len(an->device), an->device);
                (void) snprintf(spec.kind, sizeof(spec.kind), "anomaly");
                spec.origin = FAULT_ORIGIN_ANOMALY;
                spec.anomaly_id = an->id;
                if (!a->note || !a->note[0])
                        (void) snprintf(spec.reason, sizeof(spec.reason), "%s", an->text);
                break;
        }
        default:
                return REFUSE("unknown action");
        }
        if (a->type != ACTION_RECEIVE) {
                if (!faults_manual_room(e))
                        return REFUSE("%d reported faults are open already: recover some first",
                                      FAULTS_MANUAL_MAX);
                spec.severity = FAULT_DEGRADED;
                if (a->note && a->note[0])
                        (void) text_clean(spec.reason, sizeof(spec.reason), a->note,
                                          strlen(a->note));
                r = faults_open(e, &spec, at, now, out);
                if (r < 0)
                        return REFUSE("cannot open the fault: %s", strerror(-r));
                f = out->n_faults > 0 ? out->faults[0] : NULL;
                e->action_fault = f;
                e->action_created = f != NULL;
                if (f && f->sendback)
                        (void) snprintf(msg, msglen, "%s: %s, received %s: send-back maintenance, "
                                        "no onsite due", f->device, f->kind,
                                        format_iso_datetime(f->received_at, t1));
                else if (f)
                        (void) snprintf(msg, msglen, "%s: %s, received %s: onsite work due %s",
                                        f->device, f->kind,
                                        format_iso_datetime(f->received_at, t1),
                                        format_iso_datetime(f->onsite_due, t2));
        }
        /* Who acted, on every event the action caused. */
        for (size_t i = 0; i < out->n_events; i++) {
                (void) snprintf(out->events[i].os_user, sizeof(out->events[i].os_user), "%s",
                                a->os_user);
                (void) snprintf(out->events[i].by, sizeof(out->events[i].by), "%s", a->by);
        }
        *ret = (ActionOutcome) { .fault = f, .at = at };
        return 0;
}

/* Puts back what the action changed, but for the hidden list (the engine's
 * own, untouched by actions). */
static void restore_backup(Fault *f, const Fault *backup) {
        Fault changed = *f;

        *f = *backup;
        f->hidden = changed.hidden;
        f->n_hidden = changed.n_hidden;
}

void faults_action_end(FaultEngine *e, bool committed) {
        Fault *f = e->action_fault;

        if (!f)
                return;
        if (e->action_adopted)
                /* A copy for this action only: the store has it now. */
                faults_untrack(e, f);
        else if (!committed && e->action_created)
                faults_untrack(e, f);
        else {
                if (!committed)
                        restore_backup(f, &e->action_backup);
                faults_reclock(e, f);
                /* The action may have closed it. */
                e->maybe_closed = true;
        }
        e->action_fault = NULL;
        e->action_created = e->action_adopted = false;
}

int faults_on_action(FaultEngine *e, const Action *a, const ActionFacts *facts, time_t now,
                     FaultOutput *out, ActionOutcome *ret, char *msg, size_t msglen) {
        EventType type = _EVENT_TYPE_MAX;
        Fault *f = NULL;
        time_t at = now;
        size_t first = out->n_events;
        int r;

        /* One action at a time: the last one has ended. */
        faults_action_end(e, true);
        r = action_validate(a, msg, msglen);
        if (r < 0)
                return r;
        if (a->type == ACTION_RECEIVE || a->type == ACTION_OPEN || a->type == ACTION_ESCALATE) {
                r = engine_action(e, a, facts, now, out, ret, msg, msglen);
                if (r < 0) {
                        faults_action_end(e, false);
                        out->n_events = first;
                }
                return r;
        }
        if (a->type == ACTION_REPORT_SUBMITTED && action_is_deliverable(a->kind)) {
                r = check_deliverable(e, a, facts, msg, msglen);
                type = EVENT_REPORT_SUBMITTED;
        } else if (a->type == ACTION_INVESTIGATE) {
                r = check_investigation(a, facts, now, &at, msg, msglen);
                type = EVENT_INVESTIGATED;
        } else {
                r = 0;
                if (a->type == ACTION_WORK_ADD || a->type == ACTION_WORK_EDIT)
                        r = check_work_period(e, a, msg, msglen);
                if (r >= 0 && a->fault_id > 0) {
                        if (!facts->fault) {
                                (void) snprintf(msg, msglen, "there is no fault %" PRId64,
                                                a->fault_id);
                                return -ENOENT;
                        }
                        /* An open fault lives in the engine: change that one. */
                        f = faults_lookup(e, a->fault_id);
                        if (f)
                                e->action_backup = *f;
                        else {
                                r = faults_adopt(e, facts->fault, &f);
                                if (r < 0)
                                        return REFUSE("cannot take fault %" PRId64 ": %s",
                                                      a->fault_id, strerror(-r));
                                e->action_adopted = true;
                        }
                        e->action_fault = f;
                }
                if (r >= 0)
                        r = check_fault_action(a, f, facts->details, now, &at, &type, msg, msglen);
        }
        /* The note may have been cut inside a character: the reply and the
         * event carry clean text. */
        text_clean_inplace(msg, msglen);
        if (r >= 0)
                r = faults_emit(out, type, now, f ? f->device : "", f, "%s%s%s (by %s, user %s)",
                                f ? f->device : "", f ? ": " : "", msg, a->by, a->os_user);
        if (r < 0) {
                faults_action_end(e, false);
                return r;
        }
        {
                Event *ev = &out->events[out->n_events - 1];

                (void) snprintf(ev->os_user, sizeof(ev->os_user), "%s", a->os_user);
                (void) snprintf(ev->by, sizeof(ev->by), "%s", a->by);
                if (type == EVENT_REPORT_SUBMITTED && !f)
                        (void) snprintf(ev->kind, sizeof(ev->kind), "%s", a->kind);
                if (type == EVENT_INVESTIGATED) {
                        (void) snprintf(ev->site, sizeof(ev->site), "%s", facts->anomaly->site);
                        (void) snprintf(ev->device, sizeof(ev->device), "%s",
                                        facts->anomaly->device);
                        (void) snprintf(ev->text, sizeof(ev->text), "%s: %s (by %s, user %s)",
                                        facts->anomaly->device, msg, a->by, a->os_user);
                        text_clean_inplace(ev->text, sizeof(ev->text));
                }
        }
        *ret = (ActionOutcome) { .fault = f, .at = at };
        return 0;
}
