/* SPDX-License-Identifier: MIT */

/* The contract clocks (SPEC §2) against hand-computed tables. The program
 * runs with TZ=America/New_York in the environment: every expectation is in
 * contract time (Asia/Tokyo) all the same. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "calendar.h"
#include "clocks.h"
#include "config.h"
#include "macro.h"
#include "reminders.h"
#include "store.h"

static Config *config;
static Calendar *cal;

static int setup(void **state) {
        char *error = NULL;

        (void) state;
        if (tz_use("Asia/Tokyo") < 0)
                return -1;
        config = config_new_default();
        if (!config)
                return -1;
        config->contract.start = day_from_ymd(2025, 12, 1);
        config->contract.end = day_from_ymd(2031, 11, 30);
        if (calendar_new(&config->calendar, ".", &cal, &error) < 0) {
                free(error);
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        (void) state;
        cal = calendar_free(cal);
        config = config_free(config);
        return 0;
}

static time_t T(const char *s) {
        time_t t = 0;

        assert_int_equal(parse_iso_datetime(s, &t), 0);
        return t;
}

static Day D(const char *s) {
        Day d = 0;

        assert_int_equal(parse_iso_date(s, &d), 0);
        return d;
}

/* detected, received, onsite due, eligible (arrival at or after 17:00: timing
 * alone forces the deferral), deferred due (defined for every fault: the next
 * business day after the reception day, 11:00). */
static const struct {
        const char *detected, *received, *due;
        bool eligible;
        const char *deferred;
} sla_cases[] = {
        /* Window edges on a Wednesday. */
        { "2026-11-25T08:59", "2026-11-25T09:00", "2026-11-25T11:00", false,
          "2026-11-26T11:00" },
        { "2026-11-25T09:00", "2026-11-25T09:00", "2026-11-25T11:00", false,
          "2026-11-26T11:00" },
        { "2026-11-25T11:00", "2026-11-25T11:00", "2026-11-25T13:00", false,
          "2026-11-26T11:00" },
        { "2026-11-25T15:00", "2026-11-25T15:00", "2026-11-25T17:00", true,
          "2026-11-26T11:00" },
        { "2026-11-25T15:01", "2026-11-25T15:01", "2026-11-25T17:01", true, "2026-11-26T11:00" },
        { "2026-11-25T16:59:59", "2026-11-25T16:59:59", "2026-11-25T18:59:59", true,
          "2026-11-26T11:00" },
        { "2026-11-25T17:00", "2026-11-26T09:00", "2026-11-26T11:00", false,
          "2026-11-27T11:00" },
        { "2026-11-25T23:30", "2026-11-26T09:00", "2026-11-26T11:00", false,
          "2026-11-27T11:00" },
        /* Fridays and weekends. */
        { "2026-11-27T16:00", "2026-11-27T16:00", "2026-11-27T18:00", true, "2026-11-30T11:00" },
        { "2026-11-27T17:30", "2026-11-30T09:00", "2026-11-30T11:00", false,
          "2026-12-01T11:00" },
        { "2026-11-28T10:00", "2026-11-30T09:00", "2026-11-30T11:00", false,
          "2026-12-01T11:00" },
        /* Sunday before a Monday holiday (勤労感謝の日 2026-11-23), and the holiday. */
        { "2026-11-22T12:00", "2026-11-24T09:00", "2026-11-24T11:00", false,
          "2026-11-25T11:00" },
        { "2026-11-23T10:00", "2026-11-24T09:00", "2026-11-24T11:00", false,
          "2026-11-25T11:00" },
        /* Golden Week 2026: 4/29, 5/3–5/6 (5/6 振替休日). */
        { "2026-04-28T17:00", "2026-04-30T09:00", "2026-04-30T11:00", false,
          "2026-05-01T11:00" },
        { "2026-05-01T16:30", "2026-05-01T16:30", "2026-05-01T18:30", true, "2026-05-07T11:00" },
        { "2026-05-02T09:30", "2026-05-07T09:00", "2026-05-07T11:00", false,
          "2026-05-08T11:00" },
        { "2026-05-06T12:00", "2026-05-07T09:00", "2026-05-07T11:00", false,
          "2026-05-08T11:00" },
        /* Silver Week 2026: 9/21 敬老の日, 9/22 国民の休日, 9/23 秋分の日. */
        { "2026-09-18T15:30", "2026-09-18T15:30", "2026-09-18T17:30", true, "2026-09-24T11:00" },
        { "2026-09-21T12:00", "2026-09-24T09:00", "2026-09-24T11:00", false,
          "2026-09-25T11:00" },
        { "2026-09-22T08:00", "2026-09-24T09:00", "2026-09-24T11:00", false,
          "2026-09-25T11:00" },
        /* The year-end closure, 12-29..01-03. */
        { "2026-12-28T16:00", "2026-12-28T16:00", "2026-12-28T18:00", true, "2027-01-04T11:00" },
        { "2026-12-29T10:00", "2027-01-04T09:00", "2027-01-04T11:00", false,
          "2027-01-05T11:00" },
        { "2027-01-03T23:59:59", "2027-01-04T09:00", "2027-01-04T11:00", false,
          "2027-01-05T11:00" },
        { "2027-01-04T08:00", "2027-01-04T09:00", "2027-01-04T11:00", false,
          "2027-01-05T11:00" },
        { "2025-12-26T16:00", "2025-12-26T16:00", "2025-12-26T18:00", true, "2026-01-05T11:00" },
        /* Offsets other than the contract's. */
        { "2026-11-25T06:30:00Z", "2026-11-25T15:30", "2026-11-25T17:30", true,
          "2026-11-26T11:00" },
        { "2026-11-25T00:00:00Z", "2026-11-25T09:00", "2026-11-25T11:00", false,
          "2026-11-26T11:00" },
        { "2026-11-24T19:00:00-05:00", "2026-11-25T09:00", "2026-11-25T11:00", false,
          "2026-11-26T11:00" },
        { "2026-11-25T07:59:59Z", "2026-11-25T16:59:59", "2026-11-25T18:59:59", true,
          "2026-11-26T11:00" },
        { "2026-11-25T08:00:00Z", "2026-11-26T09:00", "2026-11-26T11:00", false,
          "2026-11-27T11:00" },
        { "2026-11-25T14:00:00+05:30", "2026-11-26T09:00", "2026-11-26T11:00", false,
          "2026-11-27T11:00" },
        /* Before Monday and mid-week holidays. */
        { "2027-01-08T16:00", "2027-01-08T16:00", "2027-01-08T18:00", true, "2027-01-12T11:00" },
        { "2026-02-10T17:00", "2026-02-12T09:00", "2026-02-12T11:00", false,
          "2026-02-13T11:00" },
        { "2026-02-20T15:59", "2026-02-20T15:59", "2026-02-20T17:59", true, "2026-02-24T11:00" },
        { "2026-03-20T10:00", "2026-03-23T09:00", "2026-03-23T11:00", false,
          "2026-03-24T11:00" },
};

static void test_sla_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(sla_cases); i++) {
                SlaClocks c;

                print_message("case %zu: %s\n", i, sla_cases[i].detected);
                assert_int_equal(clocks_sla(cal, &config->sla, T(sla_cases[i].detected), &c), 0);
                assert_int_equal(c.detected_at, T(sla_cases[i].detected));
                assert_int_equal(c.received_at, T(sla_cases[i].received));
                assert_int_equal(c.onsite_due, T(sla_cases[i].due));
                assert_int_equal(c.deferral_eligible, sla_cases[i].eligible);
                assert_int_equal(c.deferred_onsite_due, T(sla_cases[i].deferred));
        }
}

static void test_sla_configured(void **state) {
        SlaConf sla = config->sla;
        SlaClocks c;

        (void) state;
        /* A 4-hour onsite rule and a 10:00 deferred due. */
        sla.onsite_within = 4 * USEC_PER_HOUR;
        sla.deferred_onsite_by = 10 * 3600;
        assert_int_equal(clocks_sla(cal, &sla, T("2026-11-25T12:59"), &c), 0);
        assert_int_equal(c.onsite_due, T("2026-11-25T16:59"));
        assert_false(c.deferral_eligible);
        assert_int_equal(c.deferred_onsite_due, T("2026-11-26T10:00"));
        /* Due at 17:00 exactly: 「17 時以降」 includes it. */
        assert_int_equal(clocks_sla(cal, &sla, T("2026-11-25T13:00"), &c), 0);
        assert_int_equal(c.onsite_due, T("2026-11-25T17:00"));
        assert_true(c.deferral_eligible);
        assert_int_equal(clocks_sla(cal, &sla, T("2026-11-25T13:01"), &c), 0);
        assert_true(c.deferral_eligible);
        assert_int_equal(c.deferred_onsite_due, T("2026-11-26T10:00"));
}

/* recovered at; recovery due, deliver by, overdue after; erasure due, deliver
 * by, overdue after (a period ending on a closed day runs to the next
 * business day, 民法第142条). */
static const struct {
        const char *recovered, *rdue, *rby, *rafter, *edue, *eby, *eafter;
} report_cases[] = {
        { "2026-11-25T14:00", "2026-12-09", "2026-12-09", "2026-12-09", "2026-12-02",
          "2026-12-02", "2026-12-02" },
        /* Into the year-end closure, and a Saturday. */
        { "2026-12-19T10:00", "2027-01-02", "2026-12-28", "2027-01-04", "2026-12-26",
          "2026-12-25", "2026-12-28" },
        /* The 14th day is 12-29, the closure's first: late only after 01-04. */
        { "2026-12-15T10:00", "2026-12-29", "2026-12-28", "2027-01-04", "2026-12-22",
          "2026-12-22", "2026-12-22" },
        /* On 昭和の日 (Wednesday). */
        { "2026-04-15T10:00", "2026-04-29", "2026-04-28", "2026-04-30", "2026-04-22",
          "2026-04-22", "2026-04-22" },
        /* On the 振替休日 of Golden Week, and on 昭和の日. */
        { "2026-04-22T18:00", "2026-05-06", "2026-05-01", "2026-05-07", "2026-04-29",
          "2026-04-28", "2026-04-30" },
        /* Recovered at 01:00 JST, given in UTC the evening before: Silver Week. */
        { "2026-09-08T16:00:00Z", "2026-09-23", "2026-09-18", "2026-09-24", "2026-09-16",
          "2026-09-16", "2026-09-16" },
        /* Recovered on a holiday itself. */
        { "2026-11-23T12:00", "2026-12-07", "2026-12-07", "2026-12-07", "2026-11-30",
          "2026-11-30", "2026-11-30" },
};

static void test_report_table(void **state) {
        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(report_cases); i++) {
                ReportDue r, e;

                print_message("case %zu: %s\n", i, report_cases[i].recovered);
                assert_int_equal(clocks_report_due(cal, T(report_cases[i].recovered),
                                                   config->sla.recovery_report_within, &r),
                                 0);
                assert_int_equal(clocks_report_due(cal, T(report_cases[i].recovered),
                                                   config->sla.erasure_report_within, &e),
                                 0);
                assert_int_equal(r.due, D(report_cases[i].rdue));
                assert_int_equal(r.deliver_by, D(report_cases[i].rby));
                assert_int_equal(e.due, D(report_cases[i].edue));
                assert_int_equal(e.deliver_by, D(report_cases[i].eby));
                assert_int_equal(r.overdue_after, D(report_cases[i].rafter));
                assert_int_equal(e.overdue_after, D(report_cases[i].eafter));
        }
}

static void test_contract_deadlines(void **state) {
        Deadline *d = NULL;
        size_t n = 0, counts[_DEADLINE_KIND_MAX] = {};
        char title[256];

        (void) state;
        assert_int_equal(clocks_contract_deadlines(cal, &config->contract, D("2025-01-01"),
                                                   D("2032-12-31"), &d, &n),
                         0);
        /* 25 quarters (2025Q4 to 2031Q4), 7 annual plans, 7 completion notices,
         * 7 archives (FY2025 to FY2031). */
        assert_int_equal(n, 46);
        for (size_t i = 0; i < n; i++) {
                counts[d[i].kind]++;
                if (i > 0)
                        assert_true(d[i - 1].due <= d[i].due);
                assert_true(d[i].deliver_by <= d[i].due);
                assert_true(calendar_is_business_day(cal, d[i].deliver_by));
                /* Never late before the due day. */
                assert_true(d[i].overdue_after >= d[i].due);
                if (d[i].kind == DEADLINE_QUARTERLY_REPORT && !d[i].contract_end &&
                    d[i].due != D("2026-03-31")) {
                        int y, m, dd;

                        day_to_ymd(d[i].due, &y, &m, &dd);
                        /* 中旬: to the 20th, moved to the next business day. */
                        if (dd == 15) {
                                assert_int_equal(d[i].overdue_after,
                                                 clocks_period_end(cal, day_from_ymd(y, m, 20)));
                                assert_true(d[i].overdue_after >= day_from_ymd(y, m, 20));
                                assert_true(calendar_is_business_day(cal, d[i].overdue_after));
                        }
                }
                /* 頃まで: the same day, moved to the next business day. */
                if (d[i].kind == DEADLINE_ANNUAL_PLAN) {
                        assert_int_equal(d[i].overdue_after, clocks_period_end(cal, d[i].due));
                        assert_true(calendar_is_business_day(cal, d[i].overdue_after));
                }
                if (d[i].kind == DEADLINE_COMPLETION_NOTICE || d[i].kind == DEADLINE_ARCHIVE)
                        assert_int_equal(d[i].overdue_after, d[i].due);
                if (d[i].kind == DEADLINE_ARCHIVE) {
                        int y, m, dd;

                        /* The fiscal year's end, or the contract's; the year it covers. */
                        day_to_ymd(d[i].due, &y, &m, &dd);
                        assert_true((m == 3 && dd == 31) || d[i].due == D("2031-11-30"));
                        assert_int_equal(d[i].contract_end, d[i].due == D("2031-11-30"));
                        assert_int_equal(d[i].period_end, d[i].due);
                        assert_int_equal(d[i].fiscal_year, m == 3 ? y - 1 : y);
                }
        }
        assert_int_equal(counts[DEADLINE_QUARTERLY_REPORT], 25);
        assert_int_equal(counts[DEADLINE_ANNUAL_PLAN], 7);
        assert_int_equal(counts[DEADLINE_COMPLETION_NOTICE], 7);
        assert_int_equal(counts[DEADLINE_ARCHIVE], 7);

        /* The first: the annual plan within 7 days of the start. */
        assert_int_equal(d[0].kind, DEADLINE_ANNUAL_PLAN);
        assert_int_equal(d[0].due, D("2025-12-08"));
        assert_int_equal(d[0].overdue_after, D("2025-12-08")); /* a Monday */
        /* The first quarter is partial: December 2025, due 15 January. */
        assert_int_equal(d[1].kind, DEADLINE_QUARTERLY_REPORT);
        assert_int_equal(d[1].due, D("2026-01-15"));
        assert_int_equal(d[1].period_start, D("2025-12-01"));
        assert_int_equal(d[1].period_end, D("2025-12-31"));
        assert_int_equal(deadline_title(&d[1], LANGUAGE_JA, title, sizeof(title)), 0);
        assert_string_equal(title, "作業実績報告書（2025-12-01〜2025-12-31）");
        /* Jan–Mar is due on 31 March, with the completion notice of the fiscal year. */
        assert_int_equal(d[2].kind, DEADLINE_QUARTERLY_REPORT);
        assert_int_equal(d[2].due, D("2026-03-31"));
        assert_int_equal(d[3].kind, DEADLINE_COMPLETION_NOTICE);
        assert_int_equal(d[3].due, D("2026-03-31"));
        assert_int_equal(d[3].fiscal_year, 2025);
        assert_int_equal(deadline_title(&d[3], LANGUAGE_EN, title, sizeof(title)), 0);
        assert_string_equal(title, "Completion notice, FY2025");
        /* The first archive: the first, partial fiscal year. */
        assert_int_equal(d[4].kind, DEADLINE_ARCHIVE);
        assert_int_equal(d[4].due, D("2026-03-31"));
        assert_int_equal(d[4].period_start, D("2025-12-01"));
        assert_int_equal(d[4].fiscal_year, 2025);
        assert_int_equal(deadline_title(&d[4], LANGUAGE_JA, title, sizeof(title)), 0);
        assert_string_equal(title, "納品物件１～４の電子媒体（CD-R）（2025年度）");
        assert_int_equal(d[5].kind, DEADLINE_ANNUAL_PLAN);
        assert_int_equal(d[5].due, D("2026-04-15"));
        assert_int_equal(d[5].overdue_after, D("2026-04-15")); /* a Wednesday */
        assert_int_equal(d[6].due, D("2026-07-15"));
        /* The 20th is 海の日 (a Monday): late only after Tuesday the 21st. */
        assert_int_equal(d[6].overdue_after, D("2026-07-21"));
        assert_int_equal(d[7].due, D("2026-10-15"));
        assert_int_equal(d[8].due, D("2027-01-15"));

        /* The last quarter (Oct–Nov 2031), the completion notice and the last
         * archive: the contract's last day, a Sunday, delivered on Friday. */
        assert_int_equal(d[n - 3].kind, DEADLINE_QUARTERLY_REPORT);
        assert_int_equal(d[n - 3].period_start, D("2031-10-01"));
        assert_int_equal(d[n - 3].period_end, D("2031-11-30"));
        assert_int_equal(d[n - 2].kind, DEADLINE_COMPLETION_NOTICE);
        assert_true(d[n - 2].contract_end);
        assert_int_equal(d[n - 1].kind, DEADLINE_ARCHIVE);
        assert_true(d[n - 1].contract_end);
        assert_int_equal(d[n - 1].period_start, D("2031-04-01"));
        assert_int_equal(deadline_title(&d[n - 1], LANGUAGE_EN, title, sizeof(title)), 0);
        assert_string_equal(title, "Deliverables 1-4 on CD-R, FY2031, end of contract");
        for (size_t i = n - 3; i < n; i++) {
                assert_int_equal(d[i].due, D("2031-11-30"));
                assert_int_equal(d[i].deliver_by, D("2031-11-28"));
        }
        free(d);
}

static void test_deadline_weekends(void **state) {
        Deadline *d = NULL;
        size_t n = 0;

        (void) state;
        /* 2028-04-15 is a Saturday; 2029-07-15 a Sunday. */
        assert_int_equal(clocks_contract_deadlines(cal, &config->contract, D("2028-04-15"),
                                                   D("2028-04-15"), &d, &n),
                         0);
        assert_int_equal(n, 1);
        assert_int_equal(d[0].kind, DEADLINE_ANNUAL_PLAN);
        assert_int_equal(d[0].deliver_by, D("2028-04-14"));
        assert_int_equal(d[0].overdue_after, D("2028-04-17"));
        free(d);
        /* 2029-01-20 is a Saturday: 中旬 runs to Monday the 22nd. */
        assert_int_equal(clocks_contract_deadlines(cal, &config->contract, D("2029-01-15"),
                                                   D("2029-01-15"), &d, &n),
                         0);
        assert_int_equal(n, 1);
        assert_int_equal(d[0].overdue_after, D("2029-01-22"));
        free(d);
        assert_int_equal(clocks_contract_deadlines(cal, &config->contract, D("2029-07-01"),
                                                   D("2029-07-31"), &d, &n),
                         0);
        assert_int_equal(n, 1);
        assert_int_equal(d[0].due, D("2029-07-15"));
        assert_int_equal(d[0].deliver_by, D("2029-07-13"));
        assert_int_equal(d[0].overdue_after, D("2029-07-20")); /* a Friday */
        assert_int_equal(d[0].period_start, D("2029-04-01"));
        assert_int_equal(d[0].period_end, D("2029-06-30"));
        free(d);
        /* An empty range, and a contract that ends before it starts. */
        assert_int_equal(clocks_contract_deadlines(cal, &config->contract, D("2027-05-01"),
                                                   D("2027-06-30"), &d, &n),
                         0);
        assert_int_equal(n, 0);
        free(d);
        ContractConf bad = config->contract;
        bad.end = bad.start - 1;
        assert_int_equal(clocks_contract_deadlines(cal, &bad, D("2025-01-01"), D("2032-12-31"),
                                                   &d, &n),
                         -EINVAL);
}

static void test_contract_ending_march(void **state) {
        ContractConf c = { .start = D("2026-04-01"), .end = D("2027-03-31") };
        Deadline *d = NULL;
        size_t n = 0, completions = 0, archives = 0;
        Day first, last;

        (void) state;
        /* One fiscal year: 4 quarters, the plan 7 days in, one completion notice
         * and one archive (31 March is also the contract's end: not twice). */
        assert_int_equal(clocks_contract_deadlines(cal, &c, D("2026-01-01"), D("2028-01-01"), &d,
                                                   &n),
                         0);
        assert_int_equal(n, 7);
        for (size_t i = 0; i < n; i++) {
                completions += d[i].kind == DEADLINE_COMPLETION_NOTICE;
                archives += d[i].kind == DEADLINE_ARCHIVE;
        }
        assert_int_equal(completions, 1);
        assert_int_equal(archives, 1);
        /* The fiscal years of a contract: inside, and outside (none). */
        assert_int_equal(clocks_fiscal_year(&c, 2026, &first, &last), 0);
        assert_int_equal(first, D("2026-04-01"));
        assert_int_equal(last, D("2027-03-31"));
        assert_int_equal(clocks_fiscal_year(&c, 2025, &first, &last), -ERANGE);
        assert_int_equal(clocks_fiscal_year(&c, 2027, &first, &last), -ERANGE);
        assert_int_equal(clocks_fiscal_year(&config->contract, 2025, &first, &last), 0);
        assert_int_equal(first, D("2025-12-01"));
        assert_int_equal(last, D("2026-03-31"));
        assert_int_equal(clocks_fiscal_year(&config->contract, 2031, &first, &last), 0);
        assert_int_equal(last, D("2031-11-30"));
        assert_int_equal(d[0].kind, DEADLINE_ANNUAL_PLAN);
        assert_int_equal(d[0].due, D("2026-04-08"));
        assert_int_equal(d[n - 1].due, D("2027-03-31"));
        free(d);
}

/* The contract's deadlines that fall late while nothing is handed in: each
 * reported late once the day after its overdue_after, also when that is more
 * than a week after its due (the annual plan after a stopped week). */
static size_t late_reminders(Store *s, const char *now, const char *kind) {
        Reminder *v = NULL;
        size_t n = 0, late = 0;

        assert_int_equal(reminders_collect(s, config, cal, T(now), &v, &n), 0);
        for (size_t i = 0; i < n; i++)
                if (streq(v[i].kind, kind) && v[i].overdue) {
                        assert_int_equal(v[i].event.type, EVENT_REPORT_OVERDUE);
                        late++;
                }
        free(v);
        return late;
}

static void test_reminders_late(void **state) {
        char dir[] = "/tmp/test-clocks-XXXXXX";
        Store *s = NULL;

        (void) state;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(store_open(dir, &s), 0);
        /* The quarterly report due 2026-07-15: on time until the 21st (the
         * 20th is 海の日), late on the 22nd. */
        assert_int_equal(late_reminders(s, "2026-07-21T16:00:00+09:00", "quarterly_report"), 0);
        assert_int_equal(late_reminders(s, "2026-07-22T09:00:00+09:00", "quarterly_report"), 1);
        /* The annual plan due 2026-04-15 (a Wednesday): late from the 16th,
         * and still reported on 1 May, 16 days after its due. */
        assert_int_equal(late_reminders(s, "2026-04-15T16:00:00+09:00", "annual_plan"), 0);
        assert_int_equal(late_reminders(s, "2026-04-16T09:00:00+09:00", "annual_plan"), 1);
        assert_int_equal(late_reminders(s, "2026-05-01T09:00:00+09:00", "annual_plan"), 1);
        /* A month after its legal end it is history, not news. */
        assert_int_equal(late_reminders(s, "2026-05-20T09:00:00+09:00", "annual_plan"), 0);
        s = store_close(s);
        for (const char *const *x = (const char *const[]) { "", "-wal", "-shm", NULL }; *x; x++) {
                char path[128];

                (void) snprintf(path, sizeof(path), "%s/" STORE_FILE "%s", dir, *x);
                (void) unlink(path);
        }
        assert_int_equal(rmdir(dir), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_sla_table),          cmocka_unit_test(test_sla_configured),
                cmocka_unit_test(test_report_table),       cmocka_unit_test(test_contract_deadlines),
                cmocka_unit_test(test_deadline_weekends),  cmocka_unit_test(test_contract_ending_march),
                cmocka_unit_test(test_reminders_late),
        };

        return cmocka_run_group_tests_name("clocks", tests, setup, teardown);
}
