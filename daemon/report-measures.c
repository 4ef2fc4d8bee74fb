/* SPDX-License-Identifier: MIT */

/* The reports' measures: the periods (quarters, months, fiscal quarters),
 * the records' helpers, business-hour overlaps, the downtime of every
 * device from merged fault spans, and the statistics of the onsite
 * response clock. Pure: no I/O, no clock. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "macro.h"
#include "report-internal.h"

/* ======================================================================== */
/* Periods */

static bool digits(const char *s, size_t n, int *ret) {
        int v = 0;

        for (size_t i = 0; i < n; i++) {
                if (s[i] < '0' || s[i] > '9')
                        return false;
                v = v * 10 + (s[i] - '0');
        }
        *ret = v;
        return true;
}

/* The months m .. m + months - 1 of year y, clipped to the contract. */
static int period_make(int y, int m, int months, const ContractConf *contract, const char *label,
                       ReportPeriod *ret) {
        int ny = y + (m - 1 + months) / 12, nm = (m - 1 + months) % 12 + 1;
        ReportPeriod p = { .first = day_from_ymd(y, m, 1) };
        int r;

        p.last = day_from_ymd(ny, nm, 1) - 1;
        if (contract && contract->start != DAY_INVALID && contract->end != DAY_INVALID) {
                if (p.last < contract->start || p.first > contract->end)
                        return -ERANGE;
                p.first = MAX(p.first, contract->start);
                p.last = MIN(p.last, contract->end);
        }
        r = instant_from_local(p.first, 0, &p.from);
        if (r >= 0)
                r = instant_from_local(p.last + 1, 0, &p.to);
        if (r < 0)
                return r;
        (void) snprintf(p.label, sizeof(p.label), "%s", label);
        *ret = p;
        return 0;
}

int report_quarter_parse(const char *s, const ContractConf *contract, ReportPeriod *ret) {
        char label[16];
        int y, q;

        /* FY2026Q3: the fiscal year's third quarter (Q1 = April–June). */
        if (s && strlen(s) == 8 && (s[0] == 'F' || s[0] == 'f') && (s[1] == 'Y' || s[1] == 'y') &&
            digits(s + 2, 4, &y) && (s[6] == 'Q' || s[6] == 'q') && digits(s + 7, 1, &q) &&
            q >= 1 && q <= 4 && ymd_valid(y, 12, 31) && y < 9998) {
                (void) snprintf(label, sizeof(label), "FY%04dQ%d", y, q);
                return period_make(q == 4 ? y + 1 : y, q == 4 ? 1 : 3 * q + 1, 3, contract, label,
                                   ret);
        }
        if (!s || strlen(s) != 6 || !digits(s, 4, &y) || (s[4] != 'Q' && s[4] != 'q') ||
            !digits(s + 5, 1, &q) || q < 1 || q > 4 || !ymd_valid(y, 12, 31) || y >= 9999)
                return -EINVAL;
        (void) snprintf(label, sizeof(label), "%04dQ%d", y, q);
        return period_make(y, 3 * (q - 1) + 1, 3, contract, label, ret);
}

int report_month_parse(const char *s, const ContractConf *contract, ReportPeriod *ret) {
        int y, m;

        if (!s || strlen(s) != 7 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
            !ymd_valid(y, m, 1) || y >= 9999)
                return -EINVAL;
        return period_make(y, m, 1, contract, s, ret);
}

int report_period_clip(ReportPeriod *p, time_t now) {
        if (now <= p->from)
                return -ERANGE;
        if (now < p->to) {
                p->to = now;
                p->partial = true;
        }
        return 0;
}

/* ======================================================================== */
/* Records */

static char **strv_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
        return NULL;
}

void report_fault_done(ReportFault *f) {
        if (!f)
                return;
        free(f->reason);
        free(f->hint);
        f->hidden = strv_free(f->hidden, f->n_hidden);
        free(f->acknowledged_by);
        free(f->ack_note);
        free(f->loaner);
        free(f->quote_by);
        free(f->quote_approved_by);
        free(f->received_from);
        f->quote_parts = strv_free(f->quote_parts, f->n_quote_parts);
        free(f->onsite_by);
        free(f->deferral_approved_by);
        free(f->deferral_reason);
        free(f->recovered_by);
        free(f->cause);
        free(f->action);
        free(f->prevention);
        f->parts = strv_free(f->parts, f->n_parts);
        free(f->closed_by);
        free(f->close_note);
        *f = (ReportFault) {};
}

ReportFault *report_faults_free(ReportFault *v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                report_fault_done(&v[i]);
        free(v);
        return NULL;
}

ReportWork *report_works_free(ReportWork *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].person);
                free(v[i].title);
                free(v[i].content);
                free(v[i].notes);
        }
        free(v);
        return NULL;
}

/* The onsite due time that counts: the approved deferral, else onsite_due. */
time_t report_fault_due_at(const ReportFault *f) {
        return deferral_counts(f->deferral_approved_at, f->onsite_due, f->deferred_onsite_due)
                       ? f->deferred_onsite_due
                       : f->onsite_due;
}

/* When the fault stopped being a fault: cleared, else closed; 0 while open. */
time_t report_fault_end(const ReportFault *f) {
        return f->cleared_at ?: f->closed_at;
}

/* Whether the fault was being handled during [from, to): detected before
 * the end, and still open or with something done after the start. */
bool report_fault_in_period(const ReportFault *f, time_t from, time_t to) {
        time_t last = MAX(MAX(report_fault_end(f), f->recovered_at), f->onsite_started_at);

        if (f->detected_at >= to)
                return false;
        return report_fault_end(f) == 0 || last >= from;
}

/* ======================================================================== */
/* Measures */

int64_t report_business_seconds(const Calendar *cal, time_t from, time_t to) {
        int opening = calendar_open_sec(cal), closing = calendar_close_sec(cal), sec;
        Day first, last;
        int64_t total = 0;

        if (to <= from || local_from_instant(from, &first, &sec) < 0 ||
            local_from_instant(to - 1, &last, &sec) < 0)
                return 0;
        for (Day day = first; day <= last; day++) {
                time_t a, b;

                if (!calendar_is_business_day(cal, day) ||
                    instant_from_local(day, opening, &a) < 0 ||
                    instant_from_local(day, closing, &b) < 0)
                        continue;
                a = MAX(a, from);
                b = MIN(b, to);
                if (b > a)
                        total += (int64_t) (b - a);
        }
        return total;
}

typedef struct Span {
        time_t from, to;
} Span;

typedef struct Spans {
        Span *v;
        size_t n, allocated;
} Spans;

static int spans_add(Spans *s, time_t from, time_t to) {
        if (to <= from)
                return 0;
        if (s->n == s->allocated) {
                size_t a = s->allocated ? s->allocated * 2 : 8;
                Span *v = reallocarray(s->v, a, sizeof(Span));

                if (!v)
                        return -ENOMEM;
                s->v = v;
                s->allocated = a;
        }
        s->v[s->n++] = (Span) { from, to };
        return 0;
}

static int span_compare(const void *a, const void *b) {
        const Span *x = a, *y = b;

        return x->from < y->from ? -1 : x->from > y->from;
}

/* Sorts and unites overlapping or touching spans, in place. */
static void spans_merge(Spans *s) {
        size_t k = 0;

        if (s->n < 2)
                return;
        qsort(s->v, s->n, sizeof(Span), span_compare);
        for (size_t i = 1; i < s->n; i++) {
                if (s->v[i].from <= s->v[k].to)
                        s->v[k].to = MAX(s->v[k].to, s->v[i].to);
                else
                        s->v[++k] = s->v[i];
        }
        s->n = k + 1;
}

/* The intersection of two merged span lists. */
static int spans_intersect(const Spans *a, const Spans *b, Spans *ret) {
        size_t i = 0, j = 0;
        int r;

        while (i < a->n && j < b->n) {
                r = spans_add(ret, MAX(a->v[i].from, b->v[j].from), MIN(a->v[i].to, b->v[j].to));
                if (r < 0)
                        return r;
                if (a->v[i].to < b->v[j].to)
                        i++;
                else
                        j++;
        }
        return 0;
}

static void spans_total(const Spans *s, const Calendar *cal, int64_t *ret_all,
                        int64_t *ret_business) {
        int64_t all = 0, business = 0;

        for (size_t i = 0; i < s->n; i++) {
                all += (int64_t) (s->v[i].to - s->v[i].from);
                business += report_business_seconds(cal, s->v[i].from, s->v[i].to);
        }
        *ret_all = all;
        *ret_business = business;
}

typedef struct DeviceSpans {
        char site[16], device[24];
        Spans down, degraded;
} DeviceSpans;

typedef struct DeviceList {
        DeviceSpans *v;
        size_t n, allocated;
} DeviceList;

static void device_list_done(DeviceList *l) {
        for (size_t i = 0; i < l->n; i++) {
                free(l->v[i].down.v);
                free(l->v[i].degraded.v);
        }
        free(l->v);
        *l = (DeviceList) {};
}

/* The device's entry, added (site from its id: "05-camera" -> "05") when new. */
static DeviceSpans *device_get(DeviceList *l, const char *device) {

        for (size_t i = 0; i < l->n; i++)
                if (streq(l->v[i].device, device))
                        return &l->v[i];
        if (l->n == l->allocated) {
                size_t a = l->allocated ? l->allocated * 2 : 64;
                DeviceSpans *v = reallocarray(l->v, a, sizeof(DeviceSpans));

                if (!v)
                        return NULL;
                l->v = v;
                l->allocated = a;
        }
        l->v[l->n] = (DeviceSpans) {};
        (void) snprintf(l->v[l->n].device, sizeof(l->v[l->n].device), "%s", device);
        (void) snprintf(l->v[l->n].site, sizeof(l->v[l->n].site), "%.*s",
                        device_site_len(device), device);
        return &l->v[l->n++];
}

static int devices_from_config(const Config *config, DeviceList *l) {
        static const char *const suffixes[] = { "tunnel", "router", "camera" };
        char id[64];

        if (config->has_vpn && !device_get(l, "vpn"))
                return -ENOMEM;
        for (size_t i = 0; i < config->n_sites; i++)
                for (size_t k = 0; k < ELEMENTSOF(suffixes); k++) {
                        (void) snprintf(id, sizeof(id), "%s-%s", config->sites[i].id, suffixes[k]);
                        if (!device_get(l, id))
                                return -ENOMEM;
                }
        return 0;
}

/* Adds a fault's time within p to its device, and to the devices it hid. */
static int devices_add_fault(DeviceList *l, const ReportPeriod *p, const ReportFault *f) {
        time_t from = MAX(f->detected_at, p->from), to = report_fault_end(f) ?: p->to;
        DeviceSpans *d;
        int r;

        to = MIN(to, p->to);
        if (to <= from)
                return 0;
        d = device_get(l, f->device);
        if (!d)
                return -ENOMEM;
        r = spans_add(f->severity == FAULT_DOWN ? &d->down : &d->degraded, from, to);
        for (size_t i = 0; r >= 0 && i < f->n_hidden; i++) {
                d = device_get(l, f->hidden[i]);
                r = d ? spans_add(&d->down, from, to) : -ENOMEM;
        }
        return r;
}

static int device_downtime(DeviceSpans *d, const Calendar *cal, Downtime *ret) {
        Spans both = {};
        int64_t all, business;
        int r;

        spans_merge(&d->down);
        spans_merge(&d->degraded);
        r = spans_intersect(&d->down, &d->degraded, &both);
        if (r < 0)
                return r;
        *ret = (Downtime) {};
        (void) snprintf(ret->site, sizeof(ret->site), "%s", d->site);
        (void) snprintf(ret->device, sizeof(ret->device), "%s", d->device);
        spans_total(&d->down, cal, &ret->down, &ret->down_business);
        spans_total(&d->degraded, cal, &ret->degraded, &ret->degraded_business);
        spans_total(&both, cal, &all, &business);
        ret->degraded -= all;
        ret->degraded_business -= business;
        free(both.v);
        return 0;
}

int report_downtime(const ReportContext *c, const ReportPeriod *p, const ReportFault *faults,
                    size_t n, Downtime **ret, size_t *ret_n) {
        _cleanup_(device_list_done) DeviceList l = {};
        _cleanup_(freep) Downtime *v = NULL;
        int r;

        r = devices_from_config(c->config, &l);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = devices_add_fault(&l, p, &faults[i]);
        if (r < 0)
                return r;
        if (l.n > 0) {
                v = calloc(l.n, sizeof(Downtime));
                if (!v)
                        return -ENOMEM;
        }
        for (size_t i = 0; i < l.n; i++) {
                r = device_downtime(&l.v[i], c->cal, &v[i]);
                if (r < 0)
                        return r;
        }
        *ret_n = l.n;
        *ret = TAKE_PTR(v);
        return 0;
}

/* ------------------------------------------------------------------------ */

SlaResult report_sla_result(const ReportFault *f, time_t now) {
        time_t due = report_fault_due_at(f), stop = report_fault_end(f) ?: now;

        if (f->sendback || due == 0)
                return SLA_SENDBACK;
        if (f->onsite_started_at)
                return f->onsite_started_at <= due ? SLA_MET : SLA_BREACHED;
        if (stop > due)
                return SLA_BREACHED;
        return report_fault_end(f) ? SLA_STOPPED : SLA_PENDING;
}

/* Received → onsite started; 0 when onsite work began before reception
 * (a visit outside the window), -1 without onsite work. */
int64_t report_sla_response(const ReportFault *f) {
        if (!f->onsite_started_at)
                return -1;
        return MAX((int64_t) (f->onsite_started_at - f->received_at), 0);
}

bool report_fault_received_in(const ReportFault *f, const ReportPeriod *p) {
        return f->received_at >= p->from && f->received_at < p->to;
}

typedef enum ReportState {
        REPORT_NONE,
        REPORT_ON_TIME,
        REPORT_LATE,
        REPORT_OUTSTANDING,
        REPORT_OVERDUE,
} ReportState;

/* The state of a fault's report due within `within` of its recovery. */
static ReportState report_state(const ReportContext *c, const ReportFault *f, bool erasure) {
        uint64_t within = erasure ? c->config->sla.erasure_report_within
                                  : c->config->sla.recovery_report_within;
        time_t submitted = erasure ? f->erasure_report_submitted_at
                                   : f->recovery_report_submitted_at;
        ReportDue due;
        Day day;
        int sec;

        if (!f->recovered_at || (erasure && !f->media_replaced) ||
            clocks_report_due(c->cal, f->recovered_at, within, &due) < 0)
                return REPORT_NONE;
        if (local_from_instant(submitted ?: c->now, &day, &sec) < 0)
                return REPORT_NONE;
        if (submitted)
                return day <= due.overdue_after ? REPORT_ON_TIME : REPORT_LATE;
        return day > due.overdue_after ? REPORT_OVERDUE : REPORT_OUTSTANDING;
}

static int int64_compare(const void *a, const void *b) {
        int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;

        return x < y ? -1 : x > y;
}

int report_sla_stats(const ReportContext *c, const ReportPeriod *p, const ReportFault *faults,
                     size_t n, SlaStats *ret) {
        SlaStats s = { .response_median = -1, .response_max = -1 };
        _cleanup_(freep) int64_t *resp = NULL;
        size_t m;

        resp = calloc(MAX(n, 1u), sizeof(int64_t));
        if (!resp)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const ReportFault *f = &faults[i];
                size_t *count[] = { &s.met, &s.breached, &s.pending, &s.stopped, &s.sendback };

                /* Receptions, not detections: under sla.reception: call a fault
                 * nobody called about has no reception and is not counted. */
                if (!f->received_at || !report_fault_received_in(f, p))
                        continue;
                s.received++;
                (*count[report_sla_result(f, c->now)])++;
                s.deferred += deferral_counts(f->deferral_approved_at, f->onsite_due,
                                              f->deferred_onsite_due);
                s.transient += f->transient;
                if (f->onsite_started_at)
                        resp[s.onsite++] = report_sla_response(f);
                for (int k = 0; k < 2; k++)
                        switch (report_state(c, f, k == 1)) {
                        case REPORT_ON_TIME:
                                s.reports_on_time++;
                                break;
                        case REPORT_LATE:
                                s.reports_late++;
                                break;
                        case REPORT_OVERDUE:
                                s.reports_overdue++;
                                s.reports_outstanding++;
                                break;
                        case REPORT_OUTSTANDING:
                                s.reports_outstanding++;
                                break;
                        default:
                                break;
                        }
        }
        if (s.onsite > 0) {
                qsort(resp, s.onsite, sizeof(int64_t), int64_compare);
                s.response_max = resp[s.onsite - 1];
                m = s.onsite / 2;
                s.response_median = s.onsite % 2 ? resp[m] : (resp[m - 1] + resp[m]) / 2;
        }
        *ret = s;
        return 0;
}

