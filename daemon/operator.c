/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "operator.h"

/* The facts of the store an action's rules need (faults.h: ActionFacts). */
typedef struct Facts {
        ActionFacts facts;
        Fault fault;
        FaultDetails details;
        Anomaly anomaly;
} Facts;

static int read_facts(Store *s, const Action *a, Facts *x, char *msg, size_t msglen) {
        int r;

        if (a->fault_id > 0) {
                r = store_fault_get(s, a->fault_id, &x->fault);
                if (r >= 0) {
                        x->facts.fault = &x->fault;
                        r = store_fault_details(s, a->fault_id, &x->details);
                }
                if (r < 0 && r != -ENOENT) {
                        (void) snprintf(msg, msglen, "cannot read fault %" PRId64 ": %s",
                                        a->fault_id, strerror(-r));
                        return r;
                }
                x->facts.details = &x->details;
        }
        if (a->anomaly_id > 0) {
                r = store_anomaly_get(s, a->anomaly_id, &x->anomaly);
                if (r >= 0)
                        x->facts.anomaly = &x->anomaly;
                else if (r != -ENOENT) {
                        (void) snprintf(msg, msglen, "cannot read anomaly %" PRId64 ": %s",
                                        a->anomaly_id, strerror(-r));
                        return r;
                }
        }
        if (a->type == ACTION_REPORT_SUBMITTED && action_is_deliverable(a->kind)) {
                bool warned, overdue, submitted = false;

                r = store_deliverable_get(s, a->kind, a->due, &warned, &overdue, &submitted);
                x->facts.deliverable_submitted = r >= 0 && submitted;
        }
        return 0;
}

/* What the action writes besides its fault and its events. */
typedef struct ActionRows {
        const Action *a;
        ActionOutcome outcome;
        time_t now;
        bool no_such_work;
} ActionRows;

static int write_rows(Store *s, void *userdata) {
        ActionRows *w = userdata;
        const Action *a = w->a;
        Fault *f = w->outcome.fault;
        time_t at = w->outcome.at;
        int r = 0;

        switch (a->type) {
        case ACTION_RECEIVE:
        case ACTION_OPEN:
        case ACTION_ESCALATE:
                /* The fault row and the events are all. */
                return 0;
        case ACTION_INVESTIGATE:
                return store_investigation_add(s, a->anomaly_id, at, a->by, a->note, a->os_user,
                                               w->now);
        case ACTION_REPORT_SUBMITTED:
                if (action_is_deliverable(a->kind))
                        return store_deliverable_submit(s, a->kind, a->due, w->now);
                break;
        default:
                break;
        }
        if (f)
                r = store_fault_record(s, a, at);
        if (r >= 0 && a->type == ACTION_WORK_ADD)
                r = store_work_add(s, a, w->now, NULL);
        if (r >= 0 && a->type == ACTION_WORK_EDIT) {
                r = store_work_edit(s, a, w->now);
                w->no_such_work = r == -ENOENT;
        }
        /* Fault work is work (L263-269): the recovery records it. */
        if (r >= 0 && a->type == ACTION_RECOVER)
                r = store_work_add_fault(s, f, a, at, w->now);
        return r;
}

int operator_on_action(Store *s, FaultEngine *e, Pipeline *p, const Action *a, time_t now,
                       char *msg, size_t msglen) {
        Facts x = {};
        ActionRows w = { .a = a, .now = now };
        FaultOutput o = {};
        bool made = a->type == ACTION_OPEN || a->type == ACTION_ESCALATE;
        int r;

        r = read_facts(s, a, &x, msg, msglen);
        if (r >= 0)
                r = faults_on_action(e, a, &x.facts, now, &o, &w.outcome, msg, msglen);
        fault_done(&x.fault);
        if (r < 0)
                goto done;
        r = pipeline_commit_action(p, &o, write_rows, &w, msg, msglen);
        if (r < 0 && w.no_such_work)
                (void) snprintf(msg, msglen, "there is no work record %" PRId64 " (or its end "
                                "would come before its start)", a->work_id);
        else if (r >= 0 && made && w.outcome.fault) {
                size_t len = strlen(msg);

                /* The id the database gave the new fault. */
                (void) snprintf(msg + len, msglen - len, " (fault %" PRId64 ")",
                                w.outcome.fault->id);
        }
done:
        fault_output_done(&o);
        return r;
}
