/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <jansson.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "macro.h"
#include "operator.h"
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

/* Checks the action against the fault and changes f (the engine's or a
 * copy); fills the event's type and text. */
static int operator_check(const Action *a, Fault *f, const FaultDetails *det, time_t now,
                          time_t *ret_at, Event *ev, char *msg, size_t msglen) {
        char t1[ISO_DATETIME_MAX], t2[ISO_DATETIME_MAX];
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
                ev->type = EVENT_ACKNOWLEDGED;
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
                ev->type = EVENT_ONSITE_STARTED;
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
                /* The due moves: its warning and breach are armed anew. */
                f->warned = f->breached = false;
                ev->type = EVENT_DEFERRAL_APPROVED;
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
                ev->type = EVENT_RECOVERED;
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
                ev->type = EVENT_REPORT_SUBMITTED;
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
                ev->type = EVENT_FAULT_CLOSED;
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
                ev->type = EVENT_PARTS_QUOTED;
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
                ev->type = EVENT_PARTS_APPROVED;
                (void) snprintf(msg, msglen, "fault %" PRId64 ": the quote for paid parts is "
                                "approved", f->id);
                break;
        case ACTION_WORK_ADD:
                if (a->end_at > now + FUTURE_SLACK)
                        return REFUSE("the work's end %s is in the future",
                                      format_iso_datetime(a->end_at, t1));
                ev->type = EVENT_WORK_RECORDED;
                (void) snprintf(msg, msglen, "work recorded: %s", a->title);
                break;
        case ACTION_WORK_EDIT:
                if (a->end_at > now + FUTURE_SLACK)
                        return REFUSE("the work's end %s is in the future",
                                      format_iso_datetime(a->end_at, t1));
                ev->type = EVENT_WORK_RECORDED;
                (void) snprintf(msg, msglen, "work record %" PRId64 " edited", a->work_id);
                break;
        default:
                return REFUSE("unknown action");
        }
        *ret_at = at;
        return 0;
}

/* Ends the transaction of an action without a fault: with r (what its own
 * writes gave) good, its event goes in and all is committed; else all is
 * rolled back and msg says why. */
static int finish(Store *s, int r, Event *ev, Event *ret_event, char *msg, size_t msglen) {
        if (r >= 0)
                r = store_event_insert(s, ev);
        if (r >= 0)
                r = store_commit(s);
        if (r < 0) {
                store_rollback(s);
                (void) snprintf(msg, msglen, "cannot record the action: %s (%s)", strerror(-r),
                                store_error(s));
                return r;
        }
        *ret_event = *ev;
        return 0;
}

/* A contract deliverable handed in (report-submitted --kind ... --due ...). */
static int deliverable_submitted(Store *s, const Config *c, const Calendar *cal, const Action *a,
                                 time_t now, Event *ret_event, char *msg, size_t msglen) {
        bool warned, overdue, submitted, found = false;
        Event ev = { .type = EVENT_REPORT_SUBMITTED, .at = now };
        Deadline *d = NULL;
        size_t n = 0;
        Day due;
        int r;

        if (parse_iso_date(a->due, &due) < 0)
                return REFUSE("invalid due day '%s'", a->due);
        r = clocks_contract_deadlines(cal, &c->contract, due, due, &d, &n);
        for (size_t i = 0; r >= 0 && i < n; i++)
                found = found || streq(deadline_kind_to_string(d[i].kind), a->kind);
        free(d);
        if (r < 0 || !found)
                return REFUSE("the contract has no %s due on %s", a->kind, a->due);
        r = store_deliverable_get(s, a->kind, a->due, &warned, &overdue, &submitted);
        if (r >= 0 && submitted)
                return REFUSE("the %s due on %s was submitted already", a->kind, a->due);
        (void) snprintf(ev.kind, sizeof(ev.kind), "%s", a->kind);
        (void) snprintf(ev.os_user, sizeof(ev.os_user), "%s", a->os_user);
        (void) snprintf(ev.by, sizeof(ev.by), "%s", a->by);
        (void) snprintf(msg, msglen, "%s due %s submitted", a->kind, a->due);
        (void) snprintf(ev.text, sizeof(ev.text), "%s (by %s, user %s)", msg, a->by, a->os_user);
        r = store_begin(s);
        if (r >= 0)
                r = store_deliverable_submit(s, a->kind, a->due, now);
        return finish(s, r, &ev, ret_event, msg, msglen);
}

/* The investigation of an anomaly (L107-111), recorded with its event. */
static int investigate(Store *s, const Action *a, time_t now, Event *ret_event, char *msg,
                       size_t msglen) {
        char t1[ISO_DATETIME_MAX], t2[ISO_DATETIME_MAX];
        Event ev = { .type = EVENT_INVESTIGATED, .at = now };
        time_t at = a->at ?: now;
        Anomaly an;
        int r;

        r = store_anomaly_get(s, a->anomaly_id, &an);
        if (r == -ENOENT)
                return REFUSE("there is no anomaly %" PRId64 " (fieldwatchctl anomalies lists "
                              "them)", a->anomaly_id);
        if (r < 0)
                return REFUSE("cannot read anomaly %" PRId64 ": %s", a->anomaly_id, strerror(-r));
        if (at > now + FUTURE_SLACK)
                return REFUSE("%s is in the future", format_iso_datetime(at, t1));
        if (at < an.at)
                return REFUSE("%s is before the anomaly (%s)", format_iso_datetime(at, t1),
                              format_iso_datetime(an.at, t2));
        (void) snprintf(ev.site, sizeof(ev.site), "%s", an.site);
        (void) snprintf(ev.device, sizeof(ev.device), "%s", an.device);
        (void) snprintf(ev.os_user, sizeof(ev.os_user), "%s", a->os_user);
        (void) snprintf(ev.by, sizeof(ev.by), "%s", a->by);
        (void) snprintf(msg, msglen, "anomaly %" PRId64 " investigated: %s", a->anomaly_id,
                        a->note);
        (void) snprintf(ev.text, sizeof(ev.text), "%s: %s (by %s, user %s)", an.device, msg,
                        a->by, a->os_user);
        r = store_begin(s);
        if (r >= 0)
                r = store_investigation_add(s, a->anomaly_id, at, a->by, a->note, a->os_user, now);
        return finish(s, r, &ev, ret_event, msg, msglen);
}

bool operator_is_engine_action(ActionType t) {
        return t == ACTION_RECEIVE || t == ACTION_OPEN || t == ACTION_ESCALATE;
}

/* The reported time of a call or an escalation: now by default, not in the
 * future, inside the contract period. */
static int reported_time(const Config *c, const Action *a, time_t now, time_t *ret, char *msg,
                         size_t msglen) {
        char t1[ISO_DATETIME_MAX], d1[ISO_DATE_MAX], d2[ISO_DATE_MAX];
        time_t at = a->at ?: now;
        Day day;
        int sec;

        if (at > now + FUTURE_SLACK)
                return REFUSE("%s is in the future", format_iso_datetime(at, t1));
        if (local_from_instant(at, &day, &sec) < 0 || day < c->contract.start ||
            day > c->contract.end)
                return REFUSE("%s is outside the contract period (%s to %s)",
                              format_iso_datetime(at, t1),
                              format_iso_date(c->contract.start, d1),
                              format_iso_date(c->contract.end, d2));
        *ret = at;
        return 0;
}

int operator_engine_apply(Store *s, FaultEngine *e, const Config *c, const Action *a, time_t now,
                          FaultOutput *out, Fault **ret_fault, char *msg, size_t msglen) {
        char t1[ISO_DATETIME_MAX], t2[ISO_DATETIME_MAX];
        Fault spec = {}, *f;
        time_t at;
        int r;

        r = action_validate(a, msg, msglen);
        if (r < 0)
                return r;
        r = reported_time(c, a, now, &at, msg, msglen);
        if (r < 0)
                return r;
        switch (a->type) {
        case ACTION_RECEIVE:
                if (c->sla.reception != SLA_RECEPTION_CALL)
                        return REFUSE("faults are received when they are detected here "
                                      "(sla.reception: detection): there is no call to record");
                f = faults_get(e, a->fault_id);
                if (!f)
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

                for (size_t i = 0; i < c->n_sites; i++)
                        if (streq(c->sites[i].id, a->site))
                                site = i;
                if (streq(a->device, "vpn")) {
                        if (!c->has_vpn)
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
                Anomaly an;

                r = store_anomaly_get(s, a->anomaly_id, &an);
                if (r == -ENOENT)
                        return REFUSE("there is no anomaly %" PRId64 " (fieldwatchctl anomalies "
                                      "lists them)", a->anomaly_id);
                if (r < 0)
                        return REFUSE("cannot read anomaly %" PRId64 ": %s", a->anomaly_id,
                                      strerror(-r));
                if (an.fault_id)
                        return REFUSE("anomaly %" PRId64 " was escalated already: fault %" PRId64,
                                      a->anomaly_id, an.fault_id);
                if (at < an.at)
                        return REFUSE("%s is before the anomaly (%s)", format_iso_datetime(at, t1),
                                      format_iso_datetime(an.at, t2));
                (void) snprintf(spec.device, sizeof(spec.device), "%s", an.device);
                if (!streq(an.device, "vpn"))
                        (void) snprintf(spec.site, sizeof(spec.site), "%.*s",
                                        (int) strcspn(an.device, "-"), an.device);
                (void) snprintf(spec.kind, sizeof(spec.kind), "anomaly");
                spec.origin = FAULT_ORIGIN_ANOMALY;
                spec.anomaly_id = an.id;
                if (!a->note || !a->note[0])
                        (void) snprintf(spec.reason, sizeof(spec.reason), "%s", an.text);
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
                if (f && f->sendback)
                        (void) snprintf(msg, msglen, "%s: %s, received %s: send-back maintenance, "
                                        "no onsite due", f->device, f->kind,
                                        format_iso_datetime(f->received_at, t1));
                else if (f)
                        (void) snprintf(msg, msglen, "%s: %s, received %s: onsite work due %s",
                                        f->device, f->kind,
                                        format_iso_datetime(f->received_at, t1),
                                        format_iso_datetime(f->onsite_due, t2));
        } else
                f = faults_get(e, a->fault_id);
        /* Who acted, on every event the action caused. */
        for (size_t i = 0; i < out->n_events; i++) {
                (void) snprintf(out->events[i].os_user, sizeof(out->events[i].os_user), "%s",
                                a->os_user);
                (void) snprintf(out->events[i].by, sizeof(out->events[i].by), "%s", a->by);
        }
        *ret_fault = f;
        return 0;
}

int operator_apply(Store *s, FaultEngine *e, const Config *c, const Calendar *cal,
                   const Action *a, time_t now, Event *ret_event, char *msg, size_t msglen) {
        Fault stored = {}, backup = {}, *f = NULL, *live = NULL;
        FaultDetails det = {};
        Event ev = { .at = now };
        time_t at = now;
        int r;

        r = action_validate(a, msg, msglen);
        if (r < 0)
                return r;
        if (a->type == ACTION_REPORT_SUBMITTED && action_is_deliverable(a->kind))
                return deliverable_submitted(s, c, cal, a, now, ret_event, msg, msglen);
        if (a->type == ACTION_INVESTIGATE)
                return investigate(s, a, now, ret_event, msg, msglen);
        if (operator_is_engine_action(a->type))
                return REFUSE("internal error: %s goes through the fault engine",
                              action_type_to_string(a->type));
        if (a->type == ACTION_WORK_ADD || a->type == ACTION_WORK_EDIT) {
                Day first, last;
                int sec;
                char d1[ISO_DATE_MAX], d2[ISO_DATE_MAX];

                /* Work is recorded for the contract: not before it began nor
                 * after it ended (a raw action dated 1970 is refused here). */
                first = c->contract.start;
                last = c->contract.end;
                if ((a->at && local_from_instant(a->at, &first, &sec) < 0) ||
                    (a->end_at && local_from_instant(a->end_at, &last, &sec) < 0) ||
                    first < c->contract.start || first > c->contract.end ||
                    last < c->contract.start || last > c->contract.end) {
                        (void) snprintf(msg, msglen,
                                        "work outside the contract period (%s to %s) is not "
                                        "recorded", format_iso_date(c->contract.start, d1),
                                        format_iso_date(c->contract.end, d2));
                        return -EINVAL;
                }
        }
        if (a->fault_id > 0) {
                r = store_fault_get(s, a->fault_id, &stored);
                if (r == -ENOENT) {
                        (void) snprintf(msg, msglen, "there is no fault %" PRId64, a->fault_id);
                        return r;
                }
                if (r >= 0)
                        r = store_fault_details(s, a->fault_id, &det);
                if (r < 0) {
                        fault_done(&stored);
                        (void) snprintf(msg, msglen, "cannot read fault %" PRId64 ": %s",
                                        a->fault_id, strerror(-r));
                        return r;
                }
                /* An open fault lives in the engine: change that copy. */
                live = faults_get(e, a->fault_id);
                f = live ?: &stored;
                backup = *f;
        }
        r = operator_check(a, f, &det, now, &at, &ev, msg, msglen);
        if (r >= 0) {
                if (f) {
                        ev.fault_id = f->id;
                        (void) snprintf(ev.site, sizeof(ev.site), "%s", f->site);
                        (void) snprintf(ev.device, sizeof(ev.device), "%s", f->device);
                        (void) snprintf(ev.kind, sizeof(ev.kind), "%s", f->kind);
                        ev.received_at = f->received_at;
                        ev.onsite_due = fault_due(f);
                }
                (void) snprintf(ev.os_user, sizeof(ev.os_user), "%s", a->os_user);
                (void) snprintf(ev.by, sizeof(ev.by), "%s", a->by);
                (void) snprintf(ev.text, sizeof(ev.text), "%s%s%s (by %s, user %s)",
                                f ? f->device : "", f ? ": " : "", msg, a->by, a->os_user);
                r = store_begin(s);
                if (r >= 0 && f)
                        r = store_fault_update(s, f);
                if (r >= 0 && f)
                        r = store_fault_record(s, a, at);
                if (r >= 0 && a->type == ACTION_WORK_ADD)
                        r = store_work_add(s, a, now, NULL);
                if (r >= 0 && a->type == ACTION_WORK_EDIT) {
                        r = store_work_edit(s, a);
                        if (r == -ENOENT) {
                                store_rollback(s);
                                (void) snprintf(msg, msglen,
                                                "there is no work record %" PRId64 " (or its end "
                                                "would come before its start)", a->work_id);
                                return r;
                        }
                }
                /* Fault work is work (L263-269): the recovery records it. */
                if (r >= 0 && a->type == ACTION_RECOVER)
                        r = store_work_add_fault(s, f, a, at, now);
                if (r >= 0)
                        r = store_event_insert(s, &ev);
                if (r >= 0)
                        r = store_commit(s);
                if (r < 0) {
                        store_rollback(s);
                        (void) snprintf(msg, msglen, "cannot record the action: %s (%s)",
                                        strerror(-r), store_error(s));
                }
        }
        if (r < 0 && live) {
                /* Nothing changed after all. */
                char **hidden = live->hidden;
                size_t n_hidden = live->n_hidden;

                *live = backup;
                live->hidden = hidden;
                live->n_hidden = n_hidden;
        }
        fault_done(&stored);
        if (r < 0)
                return r;
        *ret_event = ev;
        return 0;
}
