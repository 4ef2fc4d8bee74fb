/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "macro.h"
#include "reminders.h"

typedef struct Collector {
        Store *store;
        const Config *config;
        const Calendar *cal;
        time_t now;
        Day today;
        int warn_days;
        Reminder *v;
        size_t n, allocated;
} Collector;

static Reminder *add(Collector *c) {
        if (c->n == c->allocated) {
                size_t a = c->allocated ? c->allocated * 2 : 8;
                Reminder *v = reallocarray(c->v, a, sizeof(Reminder));

                if (!v)
                        return NULL;
                c->v = v;
                c->allocated = a;
        }
        c->v[c->n] = (Reminder) {};
        return &c->v[c->n++];
}

/* One deliverable: due soon, or overdue (only those that can be handed in). */
static int consider(Collector *c, const char *kind, const char *key, Day due, Day deliver_by,
                    Day overdue_after, bool trackable, const char *title, int64_t fault_id, const char *site,
                    const char *device) {
        char d1[ISO_DATE_MAX], d2[ISO_DATE_MAX], d3[ISO_DATE_MAX];
        bool warned, overdue, submitted, due_now, over_now;
        Reminder *r;
        int k;

        due_now = c->today >= deliver_by - c->warn_days && c->today <= deliver_by;
        /* Overdue only after the legal end, not the recommended day. */
        over_now = trackable && c->today > overdue_after;
        if (!due_now && !over_now)
                return 0;
        k = store_deliverable_get(c->store, kind, key, &warned, &overdue, &submitted);
        if (k < 0)
                return k;
        if (submitted)
                return 0;
        if ((due_now && warned) || (over_now && overdue) || (!due_now && !over_now))
                return 0;
        r = add(c);
        if (!r)
                return -ENOMEM;
        (void) snprintf(r->kind, sizeof(r->kind), "%s", kind);
        (void) snprintf(r->key, sizeof(r->key), "%s", key);
        format_iso_date(due, r->due);
        r->warned = warned || due_now || over_now;
        r->overdue = over_now;
        r->event = (Event) {
                .type = over_now ? EVENT_REPORT_OVERDUE : EVENT_REPORT_DUE,
                .at = c->now,
                .fault_id = fault_id,
        };
        (void) snprintf(r->event.site, sizeof(r->event.site), "%s", site ?: "");
        (void) snprintf(r->event.device, sizeof(r->event.device), "%s", device ?: "");
        (void) snprintf(r->event.kind, sizeof(r->event.kind), "%s", kind);
        (void) snprintf(r->event.text, sizeof(r->event.text),
                        "%s %s: due %s, deliver by %s, overdue after %s", title,
                        over_now ? "is overdue" : "is due soon", format_iso_date(due, d1),
                        format_iso_date(deliver_by, d2), format_iso_date(overdue_after, d3));
        return 0;
}

static int on_report_clock(const ReportClock *rc, void *userdata) {
        Collector *c = userdata;
        const SlaConf *sla = &c->config->sla;
        char key[32], title[96];
        ReportDue due;
        int r = 0;

        (void) snprintf(key, sizeof(key), "%" PRId64, rc->fault_id);
        if (rc->recovery_pending &&
            clocks_report_due(c->cal, rc->recovered_at, sla->recovery_report_within, &due) >= 0) {
                (void) snprintf(title, sizeof(title), "The recovery report of fault %" PRId64,
                                rc->fault_id);
                r = consider(c, "recovery_report", key, due.due, due.deliver_by,
                             due.overdue_after, true, title,
                             rc->fault_id, rc->site, rc->device);
        }
        if (r >= 0 && rc->erasure_pending &&
            clocks_report_due(c->cal, rc->recovered_at, sla->erasure_report_within, &due) >= 0) {
                (void) snprintf(title, sizeof(title), "The data erasure report of fault %" PRId64,
                                rc->fault_id);
                r = consider(c, "erasure_report", key, due.due, due.deliver_by,
                             due.overdue_after, true, title,
                             rc->fault_id, rc->site, rc->device);
        }
        return r;
}

/* How long after a contract deadline's legal end it is still reported late. */
#define REMINDERS_LATE_LOOKBACK_DAYS 31

int reminders_collect(Store *s, const Config *config, const Calendar *cal, time_t now,
                      Reminder **ret, size_t *ret_n) {
        Collector c = {
                .store = s,
                .config = config,
                .cal = cal,
                .now = now,
                .warn_days = (int) (config->sla.report_warn_before / USEC_PER_DAY),
        };
        Deadline *d = NULL;
        size_t n = 0;
        int sec, r;

        r = local_from_instant(now, &c.today, &sec);
        if (r < 0)
                return r;
        if (config->contract.start != DAY_INVALID) {
                /* Due within the warning time, or late (past overdue_after,
                 * which is up to some days after the due) by a month at most: a
                 * fresh installation does not report a contract's whole past,
                 * and a daemon stopped for weeks still reports what fell late
                 * meanwhile. */
                r = clocks_contract_deadlines(cal, &config->contract,
                                              c.today - REMINDERS_LATE_LOOKBACK_DAYS - 31,
                                              c.today + c.warn_days + 7, &d, &n);
                for (size_t i = 0; r >= 0 && i < n; i++) {
                        char key[32], title[160];

                        if (d[i].overdue_after < c.today - REMINDERS_LATE_LOOKBACK_DAYS)
                                continue;

                        format_iso_date(d[i].due, key);
                        (void) deadline_title(&d[i], LANGUAGE_EN, title, sizeof(title));
                        r = consider(&c, deadline_kind_to_string(d[i].kind), key, d[i].due,
                                     d[i].deliver_by, d[i].overdue_after, true, title, 0, NULL,
                                     NULL);
                }
                free(d);
        }
        if (r >= 0)
                r = store_foreach_report_clock(s, on_report_clock, &c);
        if (r < 0) {
                free(c.v);
                return r;
        }
        *ret = c.v;
        *ret_n = c.n;
        return 0;
}
