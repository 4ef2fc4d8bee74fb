/* SPDX-License-Identifier: MIT */

/* fieldwatchctl holidays, sla, deadlines: the calendar and the contract's
 * clocks, read-only. */

#include <getopt.h>
#include <inttypes.h>
#include <unistd.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "clocks.h"
#include "ctl.h"
#include "macro.h"
#include "store.h"
#include "views.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Calendar *, calendar_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

enum {
        ARG_JSON = 0x100,
        ARG_RECOVERED_AT,
        ARG_FROM,
        ARG_TO,
};

typedef struct CalendarArgs {
        bool json;
        const char *recovered_at, *from, *to;
        int first;                   /* index of the first positional argument */
} CalendarArgs;

/* Parses the options of the calendar commands; allowed is a mask of ARG_*
 * bits (1 << (ARG_x - ARG_JSON)). */
static int parse_args(int argc, char **argv, unsigned allowed, CalendarArgs *ret) {
        static const struct option options[] = {
                { "json", no_argument, NULL, ARG_JSON },
                { "recovered-at", required_argument, NULL, ARG_RECOVERED_AT },
                { "from", required_argument, NULL, ARG_FROM },
                { "to", required_argument, NULL, ARG_TO },
                {},
        };
        CalendarArgs a = {};
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == '?' || c == ':' || !(allowed & (1u << (c - ARG_JSON))))
                        return ctl_usage_error(argv[0], "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                switch (c) {
                case ARG_JSON:
                        a.json = true;
                        break;
                case ARG_RECOVERED_AT:
                        a.recovered_at = optarg;
                        break;
                case ARG_FROM:
                        a.from = optarg;
                        break;
                case ARG_TO:
                        a.to = optarg;
                        break;
                default:
                        break;
                }
        }
        a.first = optind;
        *ret = a;
        return CTL_EXIT_OK;
}

#define ALLOW(x) (1u << ((x) - ARG_JSON))

static bool parse_year(const char *s, int *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno != 0 || end == s || *end || v < 1 || v > 9999 || s[0] == '+' || s[0] == '-' ||
            s[0] == ' ')
                return false;
        *ret = (int) v;
        return true;
}

/* ======================================================================== */

int ctl_holidays(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        Holiday h[HOLIDAYS_PER_YEAR_MAX];
        char date[ISO_DATE_MAX];
        CalendarArgs a;
        int year, n, r;

        r = parse_args(argc, argv, ALLOW(ARG_JSON), &a);
        if (r != CTL_EXIT_OK)
                return r;
        if (argc - a.first != 1)
                return ctl_usage_error(argv[0], "expected one argument, the year");
        if (!parse_year(argv[a.first], &year))
                return ctl_usage_error(argv[0], "invalid year '%s'", argv[a.first]);
        if (cli_setup(g, true, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;

        n = calendar_holidays(cal, year, h);
        if (n < 0) {
                fprintf(stderr,
                        "No holidays known for %d: the built-in rules cover %d–%d; "
                        "a holidays_file can add other years.\n",
                        year, HOLIDAYS_YEAR_MIN, HOLIDAYS_YEAR_MAX);
                return CTL_EXIT_FAILURE;
        }
        if (a.json) {
                json_t *arr = json_array();

                for (int i = 0; arr && i < n; i++)
                        if (json_array_append_new(arr, json_pack("{s:s, s:s}", "date",
                                                                 format_iso_date(h[i].day, date),
                                                                 "name", h[i].name)) < 0) {
                                json_decref(arr);
                                arr = NULL;
                        }
                return ctl_print_json(arr);
        }
        for (int i = 0; i < n; i++)
                printf("%s\t%s\n", format_iso_date(h[i].day, date), h[i].name);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

/* ======================================================================== */

static int sla_print(const SlaClocks *c, const ReportDue *recovery, const ReportDue *erasure,
                     bool json) {
        char det[ISO_DATETIME_MAX], rec[ISO_DATETIME_MAX], due[ISO_DATETIME_MAX],
                def[ISO_DATETIME_MAX];
        char d1[ISO_DATE_MAX], d2[ISO_DATE_MAX], d3[ISO_DATE_MAX], d4[ISO_DATE_MAX];
        char d5[ISO_DATE_MAX], d6[ISO_DATE_MAX];

        format_iso_datetime(c->detected_at, det);
        format_iso_datetime(c->received_at, rec);
        format_iso_datetime(c->onsite_due, due);
        format_iso_datetime(c->deferred_onsite_due, def);
        if (recovery) {
                format_iso_date(recovery->due, d1);
                format_iso_date(recovery->deliver_by, d2);
                format_iso_date(erasure->due, d3);
                format_iso_date(erasure->deliver_by, d4);
                format_iso_date(recovery->overdue_after, d5);
                format_iso_date(erasure->overdue_after, d6);
        }

        if (json) {
                json_t *j = json_pack("{s:s, s:s, s:s, s:b, s:s?}", "detected_at", det,
                                      "received_at", rec, "onsite_due", due, "deferral_eligible",
                                      c->deferral_eligible, "deferred_onsite_due", def);

                if (j && recovery &&
                    (json_object_set_new(j, "recovery_report_due", json_string(d1)) < 0 ||
                     json_object_set_new(j, "recovery_report_deliver_by", json_string(d2)) < 0 ||
                     json_object_set_new(j, "recovery_report_overdue_after",
                                         json_string(d5)) < 0 ||
                     json_object_set_new(j, "erasure_report_due", json_string(d3)) < 0 ||
                     json_object_set_new(j, "erasure_report_deliver_by", json_string(d4)) < 0 ||
                     json_object_set_new(j, "erasure_report_overdue_after",
                                         json_string(d6)) < 0)) {
                        json_decref(j);
                        j = NULL;
                }
                return ctl_print_json(j);
        }
        printf("detected_at\t%s\nreceived_at\t%s\nonsite_due\t%s\n", det, rec, due);
        printf("deferral_eligible\t%s\n", c->deferral_eligible ? "yes" : "no");
        printf("deferred_onsite_due\t%s\n", def);
        if (recovery)
                printf("recovery_report_due\t%s\nrecovery_report_deliver_by\t%s\n"
                       "recovery_report_overdue_after\t%s\n"
                       "erasure_report_due\t%s\nerasure_report_deliver_by\t%s\n"
                       "erasure_report_overdue_after\t%s\n",
                       d1, d2, d5, d3, d4, d6);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}

/* Whether a day, or the day of t, falls in the years whose holidays the
 * calendar knows. */
static bool day_in_calendar_years(Day day) {
        int y, m, d;

        day_to_ymd(day, &y, &m, &d);
        return y >= HOLIDAYS_YEAR_MIN && y <= HOLIDAYS_YEAR_MAX;
}

static bool in_calendar_years(time_t t) {
        int sec;
        Day day;

        return local_from_instant(t, &day, &sec) >= 0 && day_in_calendar_years(day);
}

int ctl_sla(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        ReportDue recovery, erasure;
        time_t detected, recovered;
        CalendarArgs a;
        SlaClocks c;
        int r;

        r = parse_args(argc, argv, ALLOW(ARG_JSON) | ALLOW(ARG_RECOVERED_AT), &a);
        if (r != CTL_EXIT_OK)
                return r;
        if (argc - a.first != 1)
                return ctl_usage_error(argv[0], "expected one argument, the detection time");
        if (cli_setup(g, true, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        if (parse_iso_datetime(argv[a.first], &detected) < 0)
                return ctl_usage_error(argv[0],
                                       "invalid time '%s': expected ISO 8601, e.g. "
                                       "2026-04-30T16:30 (contract time) or 2026-04-30T07:30Z",
                                       argv[a.first]);
        if (a.recovered_at && parse_iso_datetime(a.recovered_at, &recovered) < 0)
                return ctl_usage_error(argv[0], "invalid --recovered-at '%s': expected ISO 8601",
                                       a.recovered_at);
        /* The clocks count business days: outside the years whose holidays
         * are known, they would be wrong without a word. */
        if (!in_calendar_years(detected) || (a.recovered_at && !in_calendar_years(recovered))) {
                fprintf(stderr, "%s is outside the years whose holidays fieldwatch knows "
                                "(%d to %d).\n",
                        !in_calendar_years(detected) ? argv[a.first] : a.recovered_at,
                        HOLIDAYS_YEAR_MIN, HOLIDAYS_YEAR_MAX);
                return CTL_EXIT_FAILURE;
        }
        if (a.recovered_at && recovered < detected) {
                fprintf(stderr, "--recovered-at %s is before the detection time %s.\n",
                        a.recovered_at, argv[a.first]);
                return CTL_EXIT_FAILURE;
        }

        r = clocks_sla(cal, &config->sla, detected, &c);
        if (r >= 0 && a.recovered_at) {
                r = clocks_report_due(cal, recovered, config->sla.recovery_report_within,
                                      &recovery);
                if (r >= 0)
                        r = clocks_report_due(cal, recovered, config->sla.erasure_report_within,
                                              &erasure);
        }
        if (r < 0) {
                fprintf(stderr, "Cannot compute the clocks for %s: %s\n", argv[a.first],
                        strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        /* ... and so would the clocks that run past them (a detection on 31
         * December 2099 is received in 2100). */
        if (!in_calendar_years(c.received_at) || !in_calendar_years(c.deferred_onsite_due) ||
            (a.recovered_at && (!day_in_calendar_years(recovery.overdue_after) ||
                                !day_in_calendar_years(erasure.overdue_after)))) {
                fprintf(stderr, "The clocks of %s run past the years whose holidays fieldwatch "
                                "knows (%d to %d).\n",
                        argv[a.first], HOLIDAYS_YEAR_MIN, HOLIDAYS_YEAR_MAX);
                return CTL_EXIT_FAILURE;
        }
        return sla_print(&c, a.recovered_at ? &recovery : NULL, &erasure, a.json);
}

/* ======================================================================== */

/* ======================================================================== */

int ctl_deadlines(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        _cleanup_(store_closep) Store *store = NULL;
        _cleanup_(json_decrefp) json_t *arr = NULL;
        char path[4096];
        CalendarArgs a;
        Day from, to;
        int sec, r;

        r = parse_args(argc, argv, ALLOW(ARG_JSON) | ALLOW(ARG_FROM) | ALLOW(ARG_TO), &a);
        if (r != CTL_EXIT_OK)
                return r;
        if (argc - a.first != 0)
                return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[a.first]);
        if (a.from && parse_iso_date(a.from, &from) < 0)
                return ctl_usage_error(argv[0], "invalid --from '%s': expected YYYY-MM-DD", a.from);
        if (a.to && parse_iso_date(a.to, &to) < 0)
                return ctl_usage_error(argv[0], "invalid --to '%s': expected YYYY-MM-DD", a.to);
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        if (config->contract.start == DAY_INVALID) {
                fprintf(stderr, "%s has no contract: section.\n", config->path ?: "The configuration");
                return CTL_EXIT_FAILURE;
        }
        /* By default, the year ahead of today (the program's wall clock). */
        if (!a.from && local_from_instant(wallclock_now(), &from, &sec) < 0)
                return CTL_EXIT_FAILURE;
        if (!a.to)
                to = from + 365;
        if (to < from)
                return ctl_usage_error(argv[0], "--to %s is before --from", a.to);

        /* The open clocks of faults come whatever the range: they are running now. */
        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, g->state_dir);
        if (access(path, R_OK) >= 0)
                (void) store_open_readonly(g->state_dir, &store);
        r = views_deadlines(config, cal, store, from, to, wallclock_now(), &arr);
        if (r < 0) {
                fprintf(stderr, "Cannot compute the deadlines: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (a.json)
                return ctl_print_json(TAKE_PTR(arr));
        for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *x = json_array_get(arr, i);
                int64_t remaining = json_integer_value(json_object_get(x, "remaining_seconds"));
                char left[DURATION_MAX];

                printf("%s\t%s\t%s\t%s\t%s\t%s%s\n",
                       json_string_value(json_object_get(x, "due")),
                       json_string_value(json_object_get(x, "deliver_by")),
                       json_string_value(json_object_get(x, "overdue_after")),
                       json_string_value(json_object_get(x, "kind")),
                       json_string_value(json_object_get(x, "title")),
                       remaining < 0 ? "overdue by " : "",
                       format_duration((uint64_t) llabs(remaining) * USEC_PER_SEC, left));
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
