/* SPDX-License-Identifier: MIT */

/* The contract's clocks. The rules, from the city's specification:
 *
 *   §7(2)① faults are received 09:00–17:00 on business days (not Saturday,
 *          Sunday, national holidays or 29 December – 3 January);
 *   §7(2)② onsite work starts within 2 hours of reception; when the engineer
 *          cannot arrive before 17:00 the supervisor may approve the next
 *          business morning;
 *   §8     deliverables: the annual plan and support chart within 7 days of
 *          the start and by 15 April each following year; the work report of
 *          each quarter (15 July, 15 October, 15 January, 31 March; the
 *          contract's last quarter on its last day); the fault recovery report
 *          within 2 weeks and the data erasure report within 1 week of the
 *          recovery work; the completion notice on 31 March each year and at
 *          the contract's end; deliverables 1–4 of the fiscal year on a CD-R
 *          at each fiscal year's end (31 March) and at the contract's end
 *          (the archive, L271-277).
 *
 * A deliverable due on a day that is not a business day is best handed in on
 * the business day before (deliver_by, the recommended day). When it is late
 * is another matter (overdue_after, the legal end):
 *   - a period (the recovery report's 2 weeks, the erasure report's 1 week,
 *     the first plan's 7 days) that ends on a closed day runs to the next
 *     business day (民法第142条);
 *   - 「中旬」 (the quarterly work reports, L214-218) is the 11th to the 20th:
 *     due the 15th, late after the 20th;
 *   - 「４月１５日頃まで」 (the yearly plan, L206) is a target, not an end: due
 *     the 15th, late only after the month's end (our reading, README);
 *   - a fixed date (31 March, the contract's last day) is its own end. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "clocks.h"
#include "macro.h"
#include "words.h"

time_t clocks_received_at(const Calendar *cal, time_t detected) {
        int open = calendar_open_sec(cal), close = calendar_close_sec(cal);
        time_t t;
        Day day;
        int sec;

        if (local_from_instant(detected, &day, &sec) < 0)
                return detected;
        if (calendar_is_business_day(cal, day)) {
                if (sec >= open && sec < close)
                        return detected;
                if (sec < open && instant_from_local(day, open, &t) == 0)
                        return t;
        }
        day = calendar_next_business_day(cal, day);
        if (day == DAY_INVALID || instant_from_local(day, open, &t) < 0)
                return detected;
        return t;
}

int clocks_sla(const Calendar *cal, const SlaConf *sla, time_t detected, SlaClocks *ret) {
        SlaClocks c = { .detected_at = detected };
        time_t closing;
        Day day, next;
        int sec, r;

        c.received_at = clocks_received_at(cal, detected);
        c.onsite_due = c.received_at + (time_t) (sla->onsite_within / USEC_PER_SEC);

        r = local_from_instant(c.received_at, &day, &sec);
        if (r < 0)
                return r;
        r = instant_from_local(day, calendar_close_sec(cal), &closing);
        if (r < 0)
                return r;
        /* 「17 時以降となる場合」: arrival at or after closing time. */
        c.deferral_eligible = c.onsite_due >= closing;
        /* Defined for every fault: a deferral for parts (「修理部品の手配等の
         * 事由で」) may be approved at any hour. */
        next = calendar_next_business_day(cal, day);
        if (next == DAY_INVALID)
                return -ERANGE;
        r = instant_from_local(next, sla->deferred_onsite_by, &c.deferred_onsite_due);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

Day clocks_deliver_by(const Calendar *cal, Day due) {
        Day d = calendar_business_day_on_or_before(cal, due);

        return d == DAY_INVALID ? due : d;
}

Day clocks_period_end(const Calendar *cal, Day due) {
        Day d;

        if (calendar_is_business_day(cal, due))
                return due;
        d = calendar_next_business_day(cal, due);
        return d == DAY_INVALID ? due : d;
}

int clocks_report_due(const Calendar *cal, time_t done, uint64_t within, ReportDue *ret) {
        Day day;
        int sec, r;

        r = local_from_instant(done, &day, &sec);
        if (r < 0)
                return r;
        day += (Day) (within / USEC_PER_DAY);
        *ret = (ReportDue) {
                .due = day,
                .deliver_by = clocks_deliver_by(cal, day),
                .overdue_after = clocks_period_end(cal, day),
        };
        return 0;
}

/* ======================================================================== */

typedef struct DeadlineList {
        Deadline *v;
        size_t n, allocated;
        Day from, to;
        const Calendar *cal;
} DeadlineList;

static int fiscal_year_of(Day day) {
        int y, m, d;

        day_to_ymd(day, &y, &m, &d);
        return m >= 4 ? y : y - 1;
}

static int list_add(DeadlineList *l, DeadlineKind kind, Day due, Day overdue_after,
                    Day period_start, Day period_end, bool contract_end) {
        if (due < l->from || due > l->to)
                return 0;
        if (l->n == l->allocated) {
                size_t a = l->allocated ? l->allocated * 2 : 16;
                Deadline *v = reallocarray(l->v, a, sizeof(Deadline));

                if (!v)
                        return -ENOMEM;
                l->v = v;
                l->allocated = a;
        }
        l->v[l->n++] = (Deadline) {
                .kind = kind,
                .due = due,
                .deliver_by = clocks_deliver_by(l->cal, due),
                .overdue_after = overdue_after,
                .period_start = period_start,
                .period_end = period_end,
                .fiscal_year = fiscal_year_of(period_start != DAY_INVALID ? period_start : due),
                .contract_end = contract_end,
        };
        return 0;
}

/* The due day of the work report for the calendar quarter starting in
 * month qm of year y: Apr–Jun 15 Jul, Jul–Sep 15 Oct, Oct–Dec 15 Jan, Jan–Mar 31 Mar. */
static Day quarter_due(int y, int qm) {
        switch (qm) {
        case 4:
                return day_from_ymd(y, 7, 15);
        case 7:
                return day_from_ymd(y, 10, 15);
        case 10:
                return day_from_ymd(y + 1, 1, 15);
        default:
                return day_from_ymd(y, 3, 31);
        }
}

static int add_quarterly(DeadlineList *l, Day start, Day end) {
        int y, m, d, r;

        day_to_ymd(start, &y, &m, &d);
        m = (m - 1) / 3 * 3 + 1;
        /* Bounded: one iteration per quarter of the contract. */
        for (;;) {
                Day qstart = day_from_ymd(y, m, 1);
                int ny = m == 10 ? y + 1 : y, nm = m == 10 ? 1 : m + 3;
                Day qend = day_from_ymd(ny, nm, 1) - 1;
                bool last = qend >= end;

                if (qstart > end)
                        break;
                Day due = last ? end : quarter_due(y, m);
                int dy, dm, dd;

                /* 「中旬」 ends on the 20th, moved to the next business day as a
                 * period's end is (SPEC §2); 31 March and the last day are
                 * fixed dates, their own end. */
                day_to_ymd(due, &dy, &dm, &dd);
                r = list_add(l, DEADLINE_QUARTERLY_REPORT, due,
                             !last && dd == 15 ? clocks_period_end(l->cal, day_from_ymd(dy, dm, 20))
                                               : due,
                             MAX(qstart, start), MIN(qend, end), last);
                if (r < 0)
                        return r;
                if (last)
                        break;
                y = ny;
                m = nm;
        }
        return 0;
}

static int add_annual_and_completion(DeadlineList *l, Day start, Day end) {
        int r;

        /* 「委託開始日から７日以内」: a period. */
        r = list_add(l, DEADLINE_ANNUAL_PLAN, start + 7, clocks_period_end(l->cal, start + 7),
                     DAY_INVALID, DAY_INVALID, false);
        if (r < 0)
                return r;
        for (int fy = fiscal_year_of(start); fy <= fiscal_year_of(end); fy++) {
                Day plan = day_from_ymd(fy, 4, 15), completion = day_from_ymd(fy + 1, 3, 31);

                if (fy > fiscal_year_of(start) && plan <= end) {
                        /* 「頃まで」: a target, late after the same day moved to
                         * the next business day (SPEC §2). */
                        r = list_add(l, DEADLINE_ANNUAL_PLAN, plan, clocks_period_end(l->cal, plan),
                                     DAY_INVALID, DAY_INVALID, false);
                        if (r < 0)
                                return r;
                }
                if (completion >= start && completion < end) {
                        r = list_add(l, DEADLINE_COMPLETION_NOTICE, completion, completion,
                                     DAY_INVALID, DAY_INVALID, false);
                        if (r < 0)
                                return r;
                }
        }
        return list_add(l, DEADLINE_COMPLETION_NOTICE, end, end, DAY_INVALID, DAY_INVALID, true);
}

int clocks_fiscal_year(const ContractConf *contract, int fy, Day *ret_first, Day *ret_last) {
        Day first, last;

        if (contract->start == DAY_INVALID || contract->end == DAY_INVALID || fy < 1900 ||
            fy > 9998)
                return -ERANGE;
        first = MAX(day_from_ymd(fy, 4, 1), contract->start);
        last = MIN(day_from_ymd(fy + 1, 3, 31), contract->end);
        if (first > last)
                return -ERANGE;
        *ret_first = first;
        *ret_last = last;
        return 0;
}

/* 「１～４については、毎年度末に１年分をまとめて…電子媒体…を提出すること」
 * (L271-277): the year's archive at each fiscal year's end, and at the
 * contract's end for its last (part of a) year. A fixed date: its own end. */
static int add_archives(DeadlineList *l, const ContractConf *contract) {
        for (int fy = fiscal_year_of(contract->start); fy <= fiscal_year_of(contract->end); fy++) {
                Day first, last;
                int r;

                if (clocks_fiscal_year(contract, fy, &first, &last) < 0)
                        continue;
                r = list_add(l, DEADLINE_ARCHIVE, last, last, first, last,
                             last == contract->end);
                if (r < 0)
                        return r;
        }
        return 0;
}

static int deadline_compare(const void *a, const void *b) {
        const Deadline *x = a, *y = b;

        if (x->due != y->due)
                return x->due < y->due ? -1 : 1;
        return (int) x->kind - (int) y->kind;
}

int clocks_contract_deadlines(const Calendar *cal, const ContractConf *contract, Day from, Day to,
                              Deadline **ret, size_t *ret_n) {
        DeadlineList l = { .from = from, .to = to, .cal = cal };
        int r;

        if (contract->start == DAY_INVALID || contract->end == DAY_INVALID ||
            contract->end < contract->start)
                return -EINVAL;
        r = add_quarterly(&l, contract->start, contract->end);
        if (r >= 0)
                r = add_annual_and_completion(&l, contract->start, contract->end);
        if (r >= 0)
                r = add_archives(&l, contract);
        if (r < 0) {
                free(l.v);
                return r;
        }
        if (l.n > 0)
                qsort(l.v, l.n, sizeof(Deadline), deadline_compare);
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

/* ======================================================================== */

static const char *const deadline_kind_table[_DEADLINE_KIND_MAX] = {
        [DEADLINE_QUARTERLY_REPORT] = "quarterly_report",
        [DEADLINE_ANNUAL_PLAN] = "annual_plan",
        [DEADLINE_COMPLETION_NOTICE] = "completion_notice",
        [DEADLINE_RECOVERY_REPORT] = "recovery_report",
        [DEADLINE_ERASURE_REPORT] = "erasure_report",
        [DEADLINE_ARCHIVE] = "archive",
};

const char *deadline_kind_to_string(DeadlineKind k) {
        return k >= 0 && k < _DEADLINE_KIND_MAX ? deadline_kind_table[k] : NULL;
}

int deadline_title(const Deadline *d, Language lang, char *buf, size_t size) {
        static const Word nouns[_DEADLINE_KIND_MAX] = {
                [DEADLINE_QUARTERLY_REPORT] = WORD_QUARTERLY_REPORT,
                [DEADLINE_ANNUAL_PLAN] = WORD_ANNUAL_PLAN,
                [DEADLINE_COMPLETION_NOTICE] = WORD_COMPLETION_NOTICE,
                [DEADLINE_RECOVERY_REPORT] = WORD_RECOVERY_REPORT,
                [DEADLINE_ERASURE_REPORT] = WORD_ERASURE_REPORT,
                [DEADLINE_ARCHIVE] = WORD_ARCHIVE,
        };
        char a[ISO_DATE_MAX], b[ISO_DATE_MAX], noun[WORD_MAX];
        bool ja = lang == LANGUAGE_JA;
        int n;

        if (d->kind < 0 || d->kind >= _DEADLINE_KIND_MAX)
                return -EINVAL;
        (void) word_capitalized(nouns[d->kind], lang, noun);
        switch (d->kind) {
        case DEADLINE_QUARTERLY_REPORT:
                format_iso_date(d->period_start, a);
                format_iso_date(d->period_end, b);
                n = snprintf(buf, size, ja ? "%s（%s〜%s）" : "%s, %s to %s", noun, a, b);
                break;
        case DEADLINE_ANNUAL_PLAN:
                n = snprintf(buf, size, ja ? "%s（%d年度）" : "%s, FY%d", noun, d->fiscal_year);
                break;
        case DEADLINE_COMPLETION_NOTICE:
                if (d->contract_end)
                        n = snprintf(buf, size, ja ? "%s（契約終了）" : "%s, end of contract", noun);
                else
                        n = snprintf(buf, size, ja ? "%s（%d年度）" : "%s, FY%d", noun,
                                     d->fiscal_year);
                break;
        case DEADLINE_RECOVERY_REPORT:
        case DEADLINE_ERASURE_REPORT:
                n = snprintf(buf, size, "%s", noun);
                break;
        case DEADLINE_ARCHIVE:
                /* Its own title: the contract's words for it (L271-277). */
                n = snprintf(buf, size,
                             ja ? "納品物件１～４の電子媒体（CD-R）（%d年度%s）"
                                : "Deliverables 1-4 on CD-R, FY%d%s",
                             d->fiscal_year,
                             !d->contract_end ? "" : ja ? "・契約終了" : ", end of contract");
                break;
        default:
                return -EINVAL;
        }
        return n < 0 || (size_t) n >= size ? -ENOBUFS : 0;
}
