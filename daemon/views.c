/* SPDX-License-Identifier: MIT */

/* The JSON listings of fieldwatchctl and the web view (views.h). */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "macro.h"
#include "text.h"
#include "timeutil.h"
#include "views.h"

static json_t *json_time(time_t t) {
        char buf[ISO_DATETIME_MAX];

        return t > 0 ? json_string(format_iso_datetime(t, buf)) : json_null();
}

/* ======================================================================== */
/* status */

static int status_row(const DeviceRow *d, void *userdata) {
        json_t *arr = userdata, *values, *o;
        char at[ISO_DATETIME_MAX];

        values = json_loads(d->values_json, 0, NULL);
        if (!json_is_object(values)) {
                json_decref(values);
                values = json_object();
        }
        o = json_pack("{s:s, s:s?, s:s, s:s, s:s?, s:o, s:s?, s:o}", "device", d->id, "site",
                      d->site, "kind", d->kind, "state", d->state, "last_probe_at",
                      d->last_probe_at > 0 ? format_iso_datetime(d->last_probe_at, at) : NULL,
                      "latency_ms",
                      d->latency_usec >= 0 ? json_real((double) d->latency_usec / 1000.0)
                                           : json_null(),
                      "reason", d->reason[0] ? d->reason : NULL, "values", values);
        if (!o || json_array_append_new(arr, o) < 0)
                return -ENOMEM;
        return 0;
}

int views_status(Store *s, json_t **ret) {
        json_t *arr = json_array();
        int r;

        if (!arr)
                return -ENOMEM;
        r = store_foreach_device(s, status_row, arr);
        if (r < 0) {
                json_decref(arr);
                return r;
        }
        *ret = arr;
        return 0;
}

/* ======================================================================== */
/* faults */

json_t *views_fault_json(const Fault *f) {
        json_t *hidden = json_array();

        for (size_t i = 0; hidden && i < f->n_hidden; i++)
                if (json_array_append_new(hidden, json_string(f->hidden[i])) < 0) {
                        json_decref(hidden);
                        return NULL;
                }
        return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o,"
                         " s:o, s:b, s:s, s:s, s:o}",
                         "id", (json_int_t) f->id, "site", f->site, "device", f->device, "kind",
                         f->kind, "severity", fault_severity_to_string(f->severity), "state",
                         fault_state_to_string(f->state), "detected_at", json_time(f->detected_at),
                         "received_at", json_time(f->received_at), "onsite_due",
                         json_time(f->onsite_due), "deferral_eligible", f->deferral_eligible,
                         "deferred_onsite_due", json_time(f->deferred_onsite_due),
                         "onsite_started_at", json_time(f->onsite_started_at), "acknowledged_at",
                         json_time(f->acknowledged_at), "deferral_approved_at",
                         json_time(f->deferral_approved_at), "cleared_at",
                         json_time(f->cleared_at), "transient", f->transient, "reason", f->reason,
                         "hint", f->hint, "hidden", hidden);
}

typedef struct FaultList {
        json_t *arr;
        Store *store;
} FaultList;

static int fault_row(const Fault *f, void *userdata) {
        FaultList *l = userdata;
        FaultDetails det = {};
        json_t *o = views_fault_json(f);

        if (!o)
                return -ENOMEM;
        (void) store_fault_details(l->store, f->id, &det);
        if (json_object_set_new(o, "due", json_time(fault_due(f))) < 0 ||
            json_object_set_new(o, "acknowledged_by", det.acknowledged_by[0]
                                                              ? json_string(det.acknowledged_by)
                                                              : json_null()) < 0 ||
            json_object_set_new(o, "ack_note", det.ack_note[0] ? json_string(det.ack_note)
                                                               : json_null()) < 0 ||
            json_object_set_new(o, "deferral_approved_by",
                                det.deferral_approved_by[0]
                                        ? json_string(det.deferral_approved_by)
                                        : json_null()) < 0 ||
            json_object_set_new(o, "origin", json_string(fault_origin_to_string(f->origin))) < 0 ||
            json_object_set_new(o, "sla_rule", json_string(f->sendback ? "sendback" : "onsite")) < 0 ||
            json_object_set_new(o, "received_from", f->received_from[0]
                                                            ? json_string(f->received_from)
                                                            : json_null()) < 0 ||
            json_object_set_new(o, "anomaly_id", f->anomaly_id ? json_integer(f->anomaly_id)
                                                               : json_null()) < 0 ||
            json_array_append_new(l->arr, o) < 0) {
                json_decref(o);
                return -ENOMEM;
        }
        return 0;
}

int views_faults(Store *s, bool open_only, json_t **ret) {
        json_t *arr = json_array();
        int r;

        if (!arr)
                return -ENOMEM;
        r = store_foreach_fault(s, open_only, fault_row, &(FaultList) { .arr = arr, .store = s });
        if (r < 0) {
                json_decref(arr);
                return r;
        }
        *ret = arr;
        return 0;
}

/* ======================================================================== */
/* deadlines */

/* One row: a contract deliverable or a fault's own clock. */
typedef struct DeadlineRow {
        char due[ISO_DATE_MAX], deliver_by[ISO_DATE_MAX], overdue_after[ISO_DATE_MAX];
        const char *kind;
        char title[256];
        int64_t fault_id;            /* 0: the contract's */
        time_t due_at;               /* onsite clocks: the exact time */
        int64_t remaining;           /* seconds to due_at, or to the end of the deliver-by day */
        size_t order;                /* keeps the order of rows due the same day */
} DeadlineRow;

typedef struct DeadlineRows {
        DeadlineRow *v;
        size_t n, allocated;
        Language lang;
        const Calendar *cal;
        const SlaConf *sla;
        time_t now;
} DeadlineRows;

static DeadlineRow *row_add(DeadlineRows *rows) {
        if (rows->n == rows->allocated) {
                size_t a = rows->allocated ? rows->allocated * 2 : 32;
                DeadlineRow *v = reallocarray(rows->v, a, sizeof(DeadlineRow));

                if (!v)
                        return NULL;
                rows->v = v;
                rows->allocated = a;
        }
        rows->v[rows->n] = (DeadlineRow) { .order = rows->n };
        return &rows->v[rows->n++];
}

static int64_t until_end_of(Day day, time_t now) {
        time_t t;

        return instant_from_local(day + 1, 0, &t) < 0 ? 0 : (int64_t) (t - now);
}

static int row_onsite(const Fault *f, void *userdata) {
        DeadlineRows *rows = userdata;
        DeadlineRow *r;
        Day day;
        int sec;

        /* No due: a send-back device's fault, or one not received yet (a
         * fault call awaited): nothing to list, not a deadline in 1970. */
        if (f->onsite_started_at || f->state != FAULT_OPEN || fault_due(f) == 0)
                return 0;
        r = row_add(rows);
        if (!r)
                return -ENOMEM;
        r->kind = "onsite";
        r->fault_id = f->id;
        r->due_at = fault_due(f);
        r->remaining = (int64_t) (r->due_at - rows->now);
        if (local_from_instant(r->due_at, &day, &sec) >= 0) {
                format_iso_date(day, r->due);
                format_iso_date(day, r->deliver_by);
                format_iso_date(day, r->overdue_after);
        }
        (void) snprintf(r->title, sizeof(r->title),
                        rows->lang == LANGUAGE_JA ? "現地着手（障害 %" PRId64 " %s %s）"
                                                  : "Onsite work, fault %" PRId64 " (%s %s)",
                        f->id, f->device, f->kind);
        return 0;
}

static int row_report(const ReportClock *c, void *userdata) {
        DeadlineRows *rows = userdata;
        ReportDue due;

        for (int k = 0; k < 2; k++) {
                bool erasure = k == 1;
                DeadlineRow *r;

                if (!(erasure ? c->erasure_pending : c->recovery_pending))
                        continue;
                if (clocks_report_due(rows->cal, c->recovered_at,
                                      erasure ? rows->sla->erasure_report_within
                                              : rows->sla->recovery_report_within,
                                      &due) < 0)
                        continue;
                r = row_add(rows);
                if (!r)
                        return -ENOMEM;
                r->kind = erasure ? "erasure_report" : "recovery_report";
                r->fault_id = c->fault_id;
                format_iso_date(due.due, r->due);
                format_iso_date(due.deliver_by, r->deliver_by);
                format_iso_date(due.overdue_after, r->overdue_after);
                r->remaining = until_end_of(due.deliver_by, rows->now);
                (void) snprintf(r->title, sizeof(r->title), "%s（%s %" PRId64 " %s）",
                                erasure ? (rows->lang == LANGUAGE_JA ? "データ消去報告書"
                                                                     : "Data erasure report")
                                        : (rows->lang == LANGUAGE_JA ? "障害復旧作業報告書"
                                                                     : "Fault recovery report"),
                                rows->lang == LANGUAGE_JA ? "障害" : "fault", c->fault_id,
                                c->device);
        }
        return 0;
}

static int row_compare(const void *a, const void *b) {
        const DeadlineRow *x = a, *y = b;
        int c = strcmp(x->due, y->due);

        return c ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* Whether the state records a contract deliverable as handed in. */
static bool deliverable_submitted(Store *store, const Deadline *d) {
        bool warned, overdue, submitted = false;
        char key[ISO_DATE_MAX];

        if (!store || store_deliverable_get(store, deadline_kind_to_string(d->kind),
                                            format_iso_date(d->due, key), &warned, &overdue,
                                            &submitted) < 0)
                return false;
        return submitted;
}

int views_deadlines(const Config *c, const Calendar *cal, Store *store, Day from, Day to,
                    time_t now, json_t **ret) {
        _cleanup_(freep) Deadline *d = NULL;
        DeadlineRows rows = { .lang = c->notify.language, .cal = cal, .sla = &c->sla,
                              .now = now };
        json_t *arr;
        size_t n;
        int r;

        r = clocks_contract_deadlines(cal, &c->contract, from, to, &d, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                DeadlineRow *row;

                /* One handed in (report-submitted) is closed, as a fault's reports are. */
                if (deliverable_submitted(store, &d[i]))
                        continue;
                row = row_add(&rows);
                if (!row) {
                        free(rows.v);
                        return -ENOMEM;
                }
                row->kind = deadline_kind_to_string(d[i].kind);
                format_iso_date(d[i].due, row->due);
                format_iso_date(d[i].deliver_by, row->deliver_by);
                format_iso_date(d[i].overdue_after, row->overdue_after);
                (void) deadline_title(&d[i], c->notify.language, row->title, sizeof(row->title));
                row->remaining = until_end_of(d[i].deliver_by, now);
        }
        /* The open clocks of faults come whatever the range: they are running now. */
        if (store) {
                (void) store_foreach_fault(store, true, row_onsite, &rows);
                (void) store_foreach_report_clock(store, row_report, &rows);
        }
        if (rows.n > 0)
                qsort(rows.v, rows.n, sizeof(DeadlineRow), row_compare);

        arr = json_array();
        for (size_t i = 0; arr && i < rows.n; i++) {
                const DeadlineRow *x = &rows.v[i];
                char at[ISO_DATETIME_MAX];
                json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "kind", x->kind, "title",
                                      x->title, "due", x->due, "deliver_by", x->deliver_by,
                                      "overdue_after", x->overdue_after, "remaining_seconds",
                                      (json_int_t) x->remaining);

                if (o && x->fault_id)
                        (void) json_object_set_new(o, "fault", json_integer(x->fault_id));
                if (o && x->due_at)
                        (void) json_object_set_new(o, "due_at",
                                                   json_string(format_iso_datetime(x->due_at, at)));
                if (!o || json_array_append_new(arr, o) < 0) {
                        json_decref(arr);
                        arr = NULL;
                }
        }
        free(rows.v);
        if (!arr)
                return -ENOMEM;
        *ret = arr;
        return 0;
}

/* ======================================================================== */
/* events */

static json_t *event_json(const EventRow *e) {
        return json_pack("{s:I, s:s, s:o, s:o, s:s?, s:s?, s:s?, s:o, s:o, s:s, s:s?, s:s?}",
                         "id", (json_int_t) e->id, "type", e->type, "at", json_time(e->at),
                         "fault", e->fault_id > 0 ? json_integer(e->fault_id) : json_null(),
                         "site", e->site[0] ? e->site : NULL, "device",
                         e->device[0] ? e->device : NULL, "kind", e->kind[0] ? e->kind : NULL,
                         "received_at", json_time(e->received_at), "onsite_due",
                         json_time(e->onsite_due), "text", e->text, "os_user",
                         e->os_user[0] ? e->os_user : NULL, "by", e->by[0] ? e->by : NULL);
}

static int event_row(const EventRow *e, void *userdata) {
        json_t *arr = userdata;
        json_t *o = event_json(e);

        if (!o) {
                /* Not UTF-8 (written by an older version, or cut inside a
                 * character): repaired, so that one row breaks no listing. */
                _cleanup_(freep) char *type = text_clean_dup(e->type),
                                      *site = text_clean_dup(e->site),
                                      *device = text_clean_dup(e->device),
                                      *kind = text_clean_dup(e->kind),
                                      *text = text_clean_dup(e->text),
                                      *os_user = text_clean_dup(e->os_user),
                                      *by = text_clean_dup(e->by);
                EventRow c = *e;

                if (!type || !site || !device || !kind || !text || !os_user || !by)
                        return -ENOMEM;
                c.type = type;
                c.site = site;
                c.device = device;
                c.kind = kind;
                c.text = text;
                c.os_user = os_user;
                c.by = by;
                o = event_json(&c);
        }
        if (!o || json_array_append_new(arr, o) < 0)
                return -ENOMEM;
        return 0;
}

int views_events(Store *s, int64_t since_id, unsigned limit, json_t **ret) {
        json_t *arr = json_array();
        int r;

        if (!arr)
                return -ENOMEM;
        if (limit == 0)
                limit = VIEWS_EVENTS_DEFAULT;
        r = store_foreach_event(s, since_id, MIN(limit, VIEWS_EVENTS_MAX), event_row, arr);
        if (r < 0) {
                json_decref(arr);
                return r;
        }
        *ret = arr;
        return 0;
}
