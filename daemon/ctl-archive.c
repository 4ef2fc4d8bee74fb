/* SPDX-License-Identifier: MIT */

/* fieldwatchctl archive: the fiscal year's deliverables 1–4 for the CD-R
 * the specification asks for at each year's end (L271-277):
 *
 *   「１～４については、毎年度末に１年分をまとめて、一般のパソコンで扱える
 *    電子データを収録した電子媒体（ＣＤ－ＲまたはＣＤ－ＲＷ）を提出すること。
 *    ただし、４「データ消去報告書」については、スキャナ等で電子データ化すること。」
 *
 * One HTML (printable) and one CSV file per report, made by the report
 * builders of report.c from the state (read-only), named in Japanese with
 * the day they are about first so that they sort by date; the annual plan
 * (--plan, fieldwatch does not write it) and the scans of the signed erasure
 * reports (--scans, matched by fault id) copied in; index.html linking
 * everything; SHA256SUMS for `sha256sum -c`. The whole is built in a hidden
 * directory next to the output and renamed into place at the end: a refusal
 * or a failure leaves nothing behind. --iso hands the directory to xorriso
 * for an ISO 9660 image with Joliet names.
 *
 * This file is the command: its arguments and the order of the work. What
 * goes in is made in ctl-archive-documents.c, written out in
 * ctl-archive-files.c. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "clocks.h"
#include "ctl-archive.h"
#include "ctl.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Calendar *, calendar_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

/* ======================================================================== */
/* Arguments */

enum {
        OPT_FISCAL_YEAR = 0x100,
        OPT_OUTPUT,
        OPT_SCANS,
        OPT_PLAN,
        OPT_ISO,
        OPT_LANG,
};

static int parse_args(int argc, char **argv, ArchiveArgs *ret) {
        static const struct option options[] = {
                { "fiscal-year", required_argument, NULL, OPT_FISCAL_YEAR },
                { "output", required_argument, NULL, OPT_OUTPUT },
                { "scans", required_argument, NULL, OPT_SCANS },
                { "plan", required_argument, NULL, OPT_PLAN },
                { "iso", required_argument, NULL, OPT_ISO },
                { "lang", required_argument, NULL, OPT_LANG },
                {},
        };
        ArchiveArgs a = { .lang = -1 };
        int c;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c != '?' && c != ':' && !optarg[0])
                        return ctl_usage_error(argv[0], "%s needs a value", argv[optind - 1]);
                switch (c) {
                case OPT_FISCAL_YEAR:
                        a.fiscal_year = optarg;
                        break;
                case OPT_OUTPUT:
                        a.output = optarg;
                        break;
                case OPT_SCANS:
                        a.scans = optarg;
                        break;
                case OPT_PLAN:
                        if (a.n_plans == ARCHIVE_PLANS_MAX)
                                return ctl_usage_error(argv[0], "at most %d --plan files",
                                                       ARCHIVE_PLANS_MAX);
                        a.plans[a.n_plans++] = optarg;
                        break;
                case OPT_ISO:
                        a.iso = optarg;
                        break;
                case OPT_LANG:
                        if (!streq(optarg, "ja") && !streq(optarg, "en"))
                                return ctl_usage_error(argv[0], "invalid --lang '%s': "
                                                       "expected ja or en", optarg);
                        a.lang = streq(optarg, "ja") ? LANGUAGE_JA : LANGUAGE_EN;
                        break;
                default:
                        return ctl_usage_error(argv[0], "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
        }
        if (optind < argc)
                return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        if (!a.fiscal_year)
                return ctl_usage_error(argv[0], "--fiscal-year YEAR is required (2026: April "
                                                "2026 to March 2027)");
        if (!a.output)
                return ctl_usage_error(argv[0], "--output DIR is required (a new or empty "
                                                "directory)");
        *ret = a;
        return CTL_EXIT_OK;
}

static int parse_fiscal_year(const char *cmd, const char *s, int *ret) {
        char *end;
        long v;

        errno = 0;
        v = strtol(s, &end, 10);
        if (errno || strlen(s) != 4 || end != s + 4 || v < 1900)
                return ctl_usage_error(cmd, "invalid --fiscal-year '%s': expected a year such "
                                            "as 2026 (April 2026 to March 2027)",
                                       s);
        *ret = (int) v;
        return CTL_EXIT_OK;
}

/* ======================================================================== */
/* The command */

int ctl_archive(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        _cleanup_(store_closep) Store *store = NULL;
        char d1[ISO_DATE_MAX], d2[ISO_DATE_MAX];
        ArchiveArgs args = {};
        Archive a = {};
        bool exists = false;
        time_t from, to;
        char *index = NULL;
        size_t index_size = 0, missing = 0;
        int fy = 0, r;

        r = parse_args(argc, argv, &args);
        if (r != CTL_EXIT_OK)
                return r;
        r = parse_fiscal_year(argv[0], args.fiscal_year, &fy);
        if (r != CTL_EXIT_OK)
                return r;
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        if (config->contract.start == DAY_INVALID) {
                fprintf(stderr, "%s has no contract: section: the archive covers a fiscal year "
                        "of the contract.\n", config->path ?: "The configuration");
                return CTL_EXIT_FAILURE;
        }
        a = (Archive) { .config = config, .cal = cal, .now = wallclock_now(), .fy = fy,
                        .lang = args.lang >= 0 ? (Language) args.lang : LANGUAGE_JA };
        if (clocks_fiscal_year(&config->contract, fy, &a.first, &a.last) < 0) {
                fprintf(stderr, "Fiscal year %d (April %d to March %d) is outside the contract "
                        "period (%s to %s): nothing was written.\n", fy, fy, fy + 1,
                        format_iso_date(config->contract.start, d1),
                        format_iso_date(config->contract.end, d2));
                return CTL_EXIT_FAILURE;
        }
        if (instant_from_local(a.first, 0, &from) < 0 ||
            instant_from_local(a.last + 1, 0, &to) < 0)
                return CTL_EXIT_FAILURE;
        if (a.now <= from) {
                fprintf(stderr, "Fiscal year %d has not begun yet (it starts on %s): nothing "
                        "was written.\n", fy, format_iso_date(a.first, d1));
                return CTL_EXIT_FAILURE;
        }
        if (archive_check_output(args.output, &exists) < 0)
                return CTL_EXIT_FAILURE;
        if (args.iso && archive_check_iso(args.iso, args.output) < 0)
                return CTL_EXIT_FAILURE;
        if (ctl_open_store(g, &store) < 0)
                return CTL_EXIT_FAILURE;

        r = archive_add_plans(&a, &args);
        if (r >= 0)
                r = archive_add_quarterlies(&a, store);
        if (r >= 0)
                r = archive_add_fault_reports(&a, store, from, to);
        if (r >= 0 && args.scans)
                r = archive_add_scans(&a, args.scans);
        if (r >= 0) {
                qsort(a.v, a.n, sizeof(Entry), archive_entry_name_compare);
                r = archive_build_index(&a, &index, &index_size);
                if (r >= 0)
                        r = archive_entry_add(&a, _SECTION_MAX, strdup("index.html"), strdup("index"),
                                      TAKE_PTR(index), index_size, NULL, 0, false);
        }
        if (r < 0) {
                if (r == -ENOMEM)
                        fprintf(stderr, "Out of memory.\n");
                fprintf(stderr, "Nothing was written.\n");
                archive_done(&a);
                return CTL_EXIT_FAILURE;
        }
        /* SHA256SUMS: a line of 64 + 2 + the name + 1 per file. */
        for (size_t i = 0; i < a.n; i++)
                a.total += 67 + strlen(a.v[i].name);
        if (a.total > ARCHIVE_BYTES_MAX) {
                fprintf(stderr, "The archive of fiscal year %d would be %.1f MB: more than a "
                        "CD-R holds (700 MB). Nothing was written. The largest files:\n", fy,
                        (double) a.total / 1e6);
                for (size_t i = 0; i < a.n; i++)
                        if (a.v[i].size > ARCHIVE_BYTES_MAX / 20)
                                fprintf(stderr, "  %s (%.1f MB, from %s)\n", a.v[i].name,
                                        (double) a.v[i].size / 1e6,
                                        a.v[i].source ?: "the reports");
                fprintf(stderr, "Scan at a lower resolution (200–300 dpi, PDF), or split the "
                        "year over two discs by hand.\n");
                archive_done(&a);
                return CTL_EXIT_FAILURE;
        }
        r = archive_write(&a, args.output, exists);
        if (r < 0) {
                fprintf(stderr, "Cannot write the archive: %s. Nothing was written.\n",
                        strerror(-r));
                archive_done(&a);
                return CTL_EXIT_FAILURE;
        }

        printf("Wrote the archive of fiscal year %d (%s to %s) to %s: %zu files, %.1f MB.\n",
               fy, format_iso_date(a.first, d1), format_iso_date(a.last, d2), args.output,
               a.n + 1, (double) a.total / 1e6);
        {
                size_t plans = 0;

                for (size_t i = 0; i < a.n; i++)
                        plans += a.v[i].section == SECTION_PLAN;
                if (plans == 0)
                        fprintf(stderr, "Warning: no annual plan (年間計画表及びサポート体制図) "
                                "included: fieldwatch does not write it; give it with --plan "
                                "FILE.\n");
        }
        if (a.n_needs == 0)
                printf("No data erasure report this year: nothing to scan.\n");
        else
                printf("Data erasure reports whose signed paper copies are to be scanned "
                       "(データ消去報告書):\n");
        for (size_t i = 0; i < a.n_needs; i++) {
                const ScanNeed *s = &a.needs[i];

                printf("  fault %" PRId64 "\t%s\t%s\t%s\n", s->id,
                       format_iso_date(s->day, d1), s->device,
                       s->n_scans ? "scan included" : "scan MISSING");
                missing += s->n_scans == 0;
        }
        if (missing > 0)
                fprintf(stderr, "Warning: %zu signed data erasure report(s) not scanned yet: "
                        "scan them and make the archive again with --scans DIR (into a new "
                        "directory).\n", missing);
        if (args.iso) {
                r = archive_write_iso(&a, args.output, args.iso);
                if (r < 0) {
                        archive_done(&a);
                        return CTL_EXIT_FAILURE;
                }
                printf("Wrote the ISO 9660 image (Joliet names) %s.\n", args.iso);
        }
        archive_done(&a);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
