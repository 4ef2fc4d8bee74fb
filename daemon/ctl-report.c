/* SPDX-License-Identifier: MIT */

/* fieldwatchctl report: the contract's reports (SPEC §6), built from the
 * state database with read access only, written to standard output or,
 * atomically, to a file. */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "ctl.h"
#include "fileio.h"
#include "macro.h"
#include "report.h"
#include "store-handover.h"
#include "store-report.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Calendar *, calendar_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

typedef enum ReportKind {
        KIND_QUARTERLY,
        KIND_FAULT,
        KIND_ERASURE,
        KIND_AVAILABILITY,
        KIND_SLA,
        KIND_INCIDENTS,
        KIND_DISPOSAL,
        _KIND_MAX,
} ReportKind;

static const char *const kind_names[_KIND_MAX] = {
        [KIND_QUARTERLY] = "quarterly",
        [KIND_FAULT] = "fault",
        [KIND_ERASURE] = "erasure",
        [KIND_AVAILABILITY] = "availability",
        [KIND_SLA] = "sla",
        [KIND_INCIDENTS] = "incidents",
        [KIND_DISPOSAL] = "disposal",
};

enum {
        OPT_FORMAT = 0x100,
        OPT_LANG,
        OPT_OUTPUT,
        OPT_MONTH,
        OPT_FROM,
        OPT_TO,
};

typedef struct ReportArgs {
        ReportKind kind;
        ReportFormat format;
        int lang;                    /* a Language, or -1: the configuration's */
        const char *output;          /* NULL or "-": standard output */
        const char *month;
        const char *from, *to;       /* incidents: the days, inclusive */
        bool json;                   /* --format json (incidents) */
        const char *arg;             /* the quarter, or the fault id */
        int64_t fault_id;
} ReportArgs;

#define USAGE_REPORTS                                                                       \
        "expected one of: quarterly YYYYQn, fault ID, erasure ID, availability --month "    \
        "YYYY-MM, sla YYYYQn, incidents --from DATE --to DATE, disposal [ID]"

static bool parse_id(const char *s, int64_t *ret) {
        char *end;
        long long v;

        if (!s || s[0] < '1' || s[0] > '9')
                return false;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno != 0 || *end || v <= 0)
                return false;
        *ret = v;
        return true;
}

/* The positional arguments: the kind of report and its argument. */
static int parse_positional(char **argv, int argc, int first, ReportArgs *a) {
        int n = argc - first, k;

        if (n < 1)
                return ctl_usage_error(argv[0], USAGE_REPORTS);
        for (k = 0; k < _KIND_MAX; k++)
                if (streq(argv[first], kind_names[k]))
                        break;
        if (k == _KIND_MAX)
                return ctl_usage_error(argv[0], "unknown report '%s': " USAGE_REPORTS,
                                       argv[first]);
        a->kind = k;
        if (a->json && k != KIND_INCIDENTS)
                return ctl_usage_error(argv[0], "--format json is for the incidents report");
        if ((a->from || a->to) && k != KIND_INCIDENTS)
                return ctl_usage_error(argv[0], "--from and --to are for the incidents report");
        if (k == KIND_INCIDENTS) {
                if (n > 1)
                        return ctl_usage_error(argv[0], "unexpected argument '%s': the period "
                                               "goes with --from DATE --to DATE",
                                               argv[first + 1]);
                if (!a->from || !a->to)
                        return ctl_usage_error(argv[0], "incidents needs --from DATE and "
                                               "--to DATE (YYYY-MM-DD)");
                if (a->month)
                        return ctl_usage_error(argv[0], "--month is for the availability "
                                               "report");
                return CTL_EXIT_OK;
        }
        if (k == KIND_DISPOSAL) {
                if (n > 2)
                        return ctl_usage_error(argv[0], "unexpected argument '%s'",
                                               argv[first + 2]);
                if (n == 2 && !parse_id(argv[first + 1], &a->fault_id))
                        return ctl_usage_error(argv[0], "invalid disposal record '%s'",
                                               argv[first + 1]);
                if (a->month)
                        return ctl_usage_error(argv[0], "--month is for the availability "
                                               "report");
                if (a->format == REPORT_FORMAT_CSV)
                        return ctl_usage_error(argv[0], "the disposal report is md or html");
                return CTL_EXIT_OK;
        }
        if (a->kind == KIND_AVAILABILITY) {
                if (n > 1)
                        return ctl_usage_error(argv[0], "unexpected argument '%s': the month "
                                               "goes with --month YYYY-MM", argv[first + 1]);
                if (!a->month)
                        return ctl_usage_error(argv[0], "availability needs --month YYYY-MM");
                return CTL_EXIT_OK;
        }
        if (a->month)
                return ctl_usage_error(argv[0], "--month is for the availability report");
        if (n != 2)
                return ctl_usage_error(argv[0], "%s expects one argument, %s", kind_names[k],
                                       k == KIND_FAULT || k == KIND_ERASURE
                                               ? "the fault id"
                                               : "the quarter (YYYYQn)");
        a->arg = argv[first + 1];
        if ((k == KIND_FAULT || k == KIND_ERASURE) && !parse_id(a->arg, &a->fault_id))
                return ctl_usage_error(argv[0], "invalid fault id '%s'", a->arg);
        return CTL_EXIT_OK;
}

static int parse_args(int argc, char **argv, ReportArgs *ret) {
        static const struct option options[] = {
                { "format", required_argument, NULL, OPT_FORMAT },
                { "lang", required_argument, NULL, OPT_LANG },
                { "output", required_argument, NULL, OPT_OUTPUT },
                { "month", required_argument, NULL, OPT_MONTH },
                { "from", required_argument, NULL, OPT_FROM },
                { "to", required_argument, NULL, OPT_TO },
                {},
        };
        ReportArgs a = { .format = REPORT_FORMAT_MD, .lang = -1 };
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                switch (c) {
                case OPT_FORMAT:
                        a.json = streq(optarg, "json");
                        if (a.json)
                                break;
                        r = report_format_from_string(optarg);
                        if (r < 0)
                                return ctl_usage_error(argv[0], "invalid --format '%s': "
                                                       "expected md, html or csv (or json for "
                                                       "incidents)", optarg);
                        a.format = r;
                        break;
                case OPT_LANG:
                        if (!streq(optarg, "ja") && !streq(optarg, "en"))
                                return ctl_usage_error(argv[0], "invalid --lang '%s': "
                                                       "expected ja or en", optarg);
                        a.lang = streq(optarg, "ja") ? LANGUAGE_JA : LANGUAGE_EN;
                        break;
                case OPT_OUTPUT:
                        if (!optarg[0])
                                return ctl_usage_error(argv[0], "--output needs a file name");
                        a.output = optarg;
                        break;
                case OPT_MONTH:
                        a.month = optarg;
                        break;
                case OPT_FROM:
                        a.from = optarg;
                        break;
                case OPT_TO:
                        a.to = optarg;
                        break;
                default:
                        return ctl_usage_error(argv[0], "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        r = parse_positional(argv, argc, optind, &a);
        if (r != CTL_EXIT_OK)
                return r;
        *ret = a;
        return CTL_EXIT_OK;
}

/* ======================================================================== */

static int output(const ReportArgs *a, const char *text) {
        size_t len = strlen(text);
        int r;

        if (a->output && !streq(a->output, "-")) {
                r = write_file_atomic(a->output, text, len, 0666, WRITE_FILE_SYNC_DIR);
                if (r < 0) {
                        fprintf(stderr, "Cannot write %s: %s\n", a->output, strerror(-r));
                        return CTL_EXIT_FAILURE;
                }
                return CTL_EXIT_OK;
        }
        if (fwrite(text, 1, len, stdout) != len || fflush(stdout) != 0) {
                fprintf(stderr, "Failed to write to standard output.\n");
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

/* ======================================================================== */

/* The period of a quarterly, sla or availability report, checked against
 * the contract and cut at now. */
static int report_period(const ReportArgs *a, const Config *config, ReportPeriod *ret) {
        const char *s = a->kind == KIND_AVAILABILITY ? a->month : a->arg;
        char start[ISO_DATE_MAX], end[ISO_DATE_MAX];
        ReportPeriod p;
        int r;

        r = a->kind == KIND_AVAILABILITY ? report_month_parse(s, &config->contract, &p)
                                         : report_quarter_parse(s, &config->contract, &p);
        if (r == -ERANGE) {
                fprintf(stderr, "%s is outside the contract period (%s to %s).\n", s,
                        format_iso_date(config->contract.start, start),
                        format_iso_date(config->contract.end, end));
                return CTL_EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "Cannot compute the period %s: %s\n", s, strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        if (report_period_clip(&p, wallclock_now()) < 0) {
                fprintf(stderr, "%s has not begun yet.\n", s);
                return CTL_EXIT_FAILURE;
        }
        *ret = p;
        return CTL_EXIT_OK;
}

/* Each build_*() explains a failure on stderr and returns the exit status. */
static int build_failed(const ReportArgs *a, int r) {
        fprintf(stderr, "Cannot make the %s report: %s\n", kind_names[a->kind], strerror(-r));
        return CTL_EXIT_FAILURE;
}

static int build_period_report(const ReportArgs *a, const ReportContext *ctx, Store *store,
                               char **ret) {
        ReportFault *faults = NULL;
        ReportWork *work = NULL;
        Investigation *inv = NULL;
        size_t n_inv = 0;
        size_t n_faults = 0, n_work = 0;
        ReportPeriod p;
        int r;

        r = report_period(a, ctx->config, &p);
        if (r != CTL_EXIT_OK)
                return r;
        r = store_report_faults(store, p.from, p.to, &faults, &n_faults);
        if (r >= 0 && a->kind == KIND_QUARTERLY)
                r = store_report_work(store, p.from, p.to, &work, &n_work);
        if (r >= 0 && a->kind == KIND_QUARTERLY)
                r = store_report_investigations(store, p.from, p.to, &inv, &n_inv);
        if (r < 0) {
                fprintf(stderr, "Cannot read the state: %s\n",
                        r == -E2BIG ? "too many records for one report" : store_error(store));
                report_faults_free(faults, n_faults);
                report_works_free(work, n_work);
                free(inv);
                return CTL_EXIT_FAILURE;
        }
        if (a->kind == KIND_QUARTERLY)
                r = report_quarterly(ctx, &p, work, n_work, faults, n_faults, inv, n_inv, ret);
        else if (a->kind == KIND_SLA)
                r = report_sla(ctx, &p, faults, n_faults, ret);
        else
                r = report_availability(ctx, &p, faults, n_faults, ret);
        report_faults_free(faults, n_faults);
        report_works_free(work, n_work);
        free(inv);
        return r < 0 ? build_failed(a, r) : CTL_EXIT_OK;
}

static int build_fault_report(const ReportArgs *a, const ReportContext *ctx, Store *store,
                              char **ret) {
        ReportFault f;
        int r;

        r = store_report_fault(store, a->fault_id, &f);
        if (r == -ENOENT) {
                fprintf(stderr, "There is no fault %" PRId64 ".\n", a->fault_id);
                return CTL_EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "Cannot read fault %" PRId64 ": %s\n", a->fault_id,
                        store_error(store));
                return CTL_EXIT_FAILURE;
        }
        r = a->kind == KIND_FAULT ? report_fault(ctx, &f, ret) : report_erasure(ctx, &f, ret);
        if (r == -ENODATA)
                fprintf(stderr,
                        "Fault %" PRId64 " has no recovery recorded yet: record it with "
                        "'fieldwatchctl recover %" PRId64 " ...' first.\n",
                        f.id, f.id);
        else if (r == -ENOMEDIUM)
                fprintf(stderr,
                        "No storage medium was replaced in the recovery of fault %" PRId64
                        " (recover --media-replaced): it needs no data erasure report.\n",
                        f.id);
        report_fault_done(&f);
        if (r == -ENODATA || r == -ENOMEDIUM)
                return CTL_EXIT_FAILURE;
        return r < 0 ? build_failed(a, r) : CTL_EXIT_OK;
}

/* The incidents of --from..--to (whole days, contract time). */
static int build_incidents_report(const ReportArgs *a, const ReportContext *ctx, Store *store,
                                  char **ret) {
        ReportIncident *v = NULL;
        size_t n = 0;
        ReportPeriod p = {};
        char *text = NULL;
        int r;

        /* Checked by ctl_report() already. */
        (void) parse_iso_date(a->from, &p.first);
        (void) parse_iso_date(a->to, &p.last);
        if (instant_from_local(p.first, 0, &p.from) < 0 ||
            instant_from_local(p.last + 1, 0, &p.to) < 0) {
                fprintf(stderr, "Cannot compute the period %s to %s.\n", a->from, a->to);
                return CTL_EXIT_FAILURE;
        }
        (void) snprintf(p.label, sizeof(p.label), "%.10s", a->from);
        r = store_report_incidents(store, p.from, p.to, &v, &n);
        if (r < 0) {
                fprintf(stderr, "Cannot read the state: %s\n",
                        r == -E2BIG ? "too many records for one report" : store_error(store));
                return CTL_EXIT_FAILURE;
        }
        if (a->json) {
                r = report_incidents_json(ctx, &p, v, n, &text);
                if (r >= 0 && asprintf(ret, "%s\n", text) < 0)
                        r = -ENOMEM;
                free(text);
        } else
                r = report_incidents(ctx, &p, v, n, ret);
        report_incidents_free(v, n);
        return r < 0 ? build_failed(a, r) : CTL_EXIT_OK;
}

/* The disposal report of a record (the latest without an id), again. */
static int build_disposal_report(const ReportArgs *a, const ReportContext *ctx, Store *store,
                                 char **ret) {
        Disposal d = {};
        int r;

        r = store_disposal_get(store, a->fault_id, &d);
        if (r == -ENOENT) {
                if (a->fault_id > 0)
                        fprintf(stderr, "There is no disposal record %" PRId64 ".\n",
                                a->fault_id);
                else
                        fprintf(stderr, "There is no disposal record: nothing was purged "
                                "(fieldwatchctl purge --confirm).\n");
                return CTL_EXIT_FAILURE;
        }
        if (r < 0) {
                fprintf(stderr, "Cannot read the disposal record: %s\n", store_error(store));
                return CTL_EXIT_FAILURE;
        }
        r = ctl_disposal_report(ctx->config, ctx->cal, ctx->lang, ctx->format, &d, ret);
        disposal_done(&d);
        return r < 0 ? build_failed(a, r) : CTL_EXIT_OK;
}

int ctl_report(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        _cleanup_(store_closep) Store *store = NULL;
        _cleanup_(freep) char *text = NULL;
        ReportArgs a = {};
        ReportContext ctx;
        ReportPeriod p;
        int r;

        r = parse_args(argc, argv, &a);
        if (r != CTL_EXIT_OK)
                return r;
        /* The period's syntax is checked before anything is read. */
        if (a.kind == KIND_AVAILABILITY && report_month_parse(a.month, NULL, &p) == -EINVAL)
                return ctl_usage_error(argv[0], "invalid --month '%s': expected YYYY-MM",
                                       a.month);
        if ((a.kind == KIND_QUARTERLY || a.kind == KIND_SLA) &&
            report_quarter_parse(a.arg, NULL, &p) == -EINVAL)
                return ctl_usage_error(argv[0],
                                       "invalid quarter '%s': expected YYYYQn, a calendar "
                                       "quarter such as 2026Q3 (Q1 = January–March), or "
                                       "FYYYYYQn, a fiscal one such as FY2026Q2 (Q1 = "
                                       "April–June)",
                                       a.arg);
        if (a.kind == KIND_INCIDENTS) {
                Day from, to;

                if (parse_iso_date(a.from, &from) < 0)
                        return ctl_usage_error(argv[0], "invalid --from '%s': expected "
                                               "YYYY-MM-DD", a.from);
                if (parse_iso_date(a.to, &to) < 0)
                        return ctl_usage_error(argv[0], "invalid --to '%s': expected "
                                               "YYYY-MM-DD", a.to);
                if (to < from)
                        return ctl_usage_error(argv[0], "--to %s is before --from %s", a.to,
                                               a.from);
        }
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        if (a.kind != KIND_FAULT && a.kind != KIND_ERASURE && a.kind != KIND_INCIDENTS &&
            a.kind != KIND_DISPOSAL &&
            config->contract.start == DAY_INVALID) {
                fprintf(stderr, "%s has no contract: section: the %s report covers a period "
                        "of the contract.\n", config->path ?: "The configuration",
                        kind_names[a.kind]);
                return CTL_EXIT_FAILURE;
        }
        if (ctl_open_store(g, &store) < 0)
                return CTL_EXIT_FAILURE;
        ctx = (ReportContext) {
                .config = config,
                .cal = cal,
                .lang = a.lang >= 0 ? (Language) a.lang : config->notify.language,
                .format = a.format,
                .now = wallclock_now(),
        };
        if (a.kind == KIND_FAULT || a.kind == KIND_ERASURE)
                r = build_fault_report(&a, &ctx, store, &text);
        else if (a.kind == KIND_INCIDENTS)
                r = build_incidents_report(&a, &ctx, store, &text);
        else if (a.kind == KIND_DISPOSAL)
                r = build_disposal_report(&a, &ctx, store, &text);
        else
                r = build_period_report(&a, &ctx, store, &text);
        if (r != CTL_EXIT_OK)
                return r;
        return output(&a, text);
}
