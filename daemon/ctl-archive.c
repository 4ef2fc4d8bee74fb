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
 * for an ISO 9660 image with Joliet names. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <libxml/HTMLtree.h>
#include <libxml/uri.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calendar.h"
#include "clocks.h"
#include "ctl.h"
#include "macro.h"
#include "report.h"
#include "store-report.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Calendar *, calendar_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

/* A CD-R holds 700 MB (80 minutes); decimal megabytes leave room for the
 * ISO 9660 file system's own structures. */
#define ARCHIVE_BYTES_MAX (UINT64_C(700) * 1000 * 1000)
#define ARCHIVE_PLANS_MAX 16
#define ARCHIVE_SCANS_MAX 10000

extern char **environ;

typedef enum Section {
        SECTION_PLAN,                /* 1 年間計画表及びサポート体制図 */
        SECTION_QUARTERLY,           /* 2 作業実績報告書 */
        SECTION_FAULT,               /* 3 障害復旧作業報告書 */
        SECTION_ERASURE,             /* 4 データ消去報告書 (and its scans) */
        _SECTION_MAX,
} Section;

/* One file of the archive: made here (data) or copied (source). */
typedef struct Entry {
        Section section;
        char *name;                  /* in the archive */
        char *title;                 /* the link's text in index.html */
        char *data;
        size_t size;
        char *source;
        int64_t fault_id;            /* 3, 4: the fault; 0 otherwise */
        bool scan;                   /* 4: a scan of the signed paper copy */
        unsigned char sha256[EVP_MAX_MD_SIZE];
} Entry;

/* A fault whose erasure report is in the archive: its signed paper copy is
 * to be scanned. */
typedef struct ScanNeed {
        int64_t id;
        Day day;                     /* the recovery's day */
        char site[16], device[24];
        size_t n_scans;
} ScanNeed;

typedef struct Archive {
        const Config *config;
        const Calendar *cal;
        Language lang;
        time_t now;
        int fy;
        Day first, last;             /* of the fiscal year, within the contract */
        Entry *v;
        size_t n, allocated;
        ScanNeed *needs;
        size_t n_needs, needs_allocated;
        uint64_t total;
} Archive;

typedef struct ArchiveArgs {
        const char *fiscal_year;
        const char *output;
        const char *scans;
        const char *iso;
        const char *plans[ARCHIVE_PLANS_MAX];
        size_t n_plans;
        int lang;                    /* -1: Japanese, the city's */
} ArchiveArgs;

static const char *tr(const Archive *a, const char *ja, const char *en) {
        return a->lang == LANGUAGE_JA ? ja : en;
}

static void archive_done(Archive *a) {
        for (size_t i = 0; i < a->n; i++) {
                free(a->v[i].name);
                free(a->v[i].title);
                free(a->v[i].data);
                free(a->v[i].source);
        }
        free(a->v);
        free(a->needs);
}

/* Takes name, title and data (freed on failure too). */
static int entry_add(Archive *a, Section section, char *name, char *title, char *data,
                     size_t size, const char *source, int64_t fault_id, bool scan) {
        Entry *e;

        if (!name || !title ||
            array_grow((void **) &a->v, &a->allocated, a->n, sizeof(Entry)) < 0) {
                free(name);
                free(title);
                free(data);
                return -ENOMEM;
        }
        e = &a->v[a->n];
        *e = (Entry) { .section = section, .name = name, .title = title, .data = data,
                       .size = size, .fault_id = fault_id, .scan = scan };
        if (source) {
                e->source = strdup(source);
                if (!e->source) {
                        free(name);
                        free(title);
                        free(data);
                        return -ENOMEM;
                }
        }
        a->n++;
        a->total += size;
        return 0;
}

static char *strdupf(const char *fmt, ...) _printf_(1, 2);
static char *strdupf(const char *fmt, ...) {
        va_list ap;
        char *s;
        int r;

        va_start(ap, fmt);
        r = vasprintf(&s, fmt, ap);
        va_end(ap);
        return r < 0 ? NULL : s;
}

/* ".pdf" from a source's name: a short extension of letters and digits,
 * lower-cased; "" when there is none. */
static void extension_of(const char *path, char buf[static 8]) {
        const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
        const char *dot = strrchr(base, '.');
        size_t n;

        buf[0] = '\0';
        if (!dot || dot == base)
                return;
        n = strlen(dot + 1);
        if (n < 1 || n > 5)
                return;
        for (size_t i = 1; i <= n; i++) {
                char c = dot[i];

                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
                        return;
        }
        buf[0] = '.';
        for (size_t i = 1; i <= n; i++)
                buf[i] = (char) (dot[i] >= 'A' && dot[i] <= 'Z' ? dot[i] - 'A' + 'a' : dot[i]);
        buf[n + 1] = '\0';
}

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
/* Where it goes: checked before anything is read or written. */

/* The directory part of path ("." when none) and its last component. */
static int split_path(const char *path, char **ret_dir, char **ret_base) {
        _cleanup_(freep) char *copy = strdup(path);
        char *slash;
        size_t n;

        if (!copy)
                return -ENOMEM;
        n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        slash = strrchr(copy, '/');
        if (!slash) {
                *ret_dir = strdup(".");
                *ret_base = strdup(copy);
        } else {
                *ret_base = strdup(slash + 1);
                *ret_dir = slash == copy ? strdup("/") : strndup(copy, (size_t) (slash - copy));
        }
        if (!*ret_dir || !*ret_base) {
                free(*ret_dir);
                free(*ret_base);
                return -ENOMEM;
        }
        return 0;
}

/* The output: a new directory (its parent exists), or an empty one. */
static int check_output(const char *path, bool *ret_exists) {
        _cleanup_(freep) char *dir = NULL, *base = NULL;
        struct stat st;
        DIR *d;

        if (split_path(path, &dir, &base) < 0)
                return -ENOMEM;
        if (!base[0] || streq(base, ".") || streq(base, "..") || streq(base, "/")) {
                fprintf(stderr, "--output %s: name a new or empty directory by its own name, "
                        "e.g. ./archive-2026.\n", path);
                return -EINVAL;
        }
        if (stat(path, &st) < 0) {
                if (errno != ENOENT) {
                        fprintf(stderr, "--output %s: %s\n", path, strerror(errno));
                        return -errno;
                }
                if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        fprintf(stderr, "--output %s: the directory %s does not exist.\n", path,
                                dir);
                        return -ENOENT;
                }
                *ret_exists = false;
                return 0;
        }
        if (!S_ISDIR(st.st_mode)) {
                fprintf(stderr, "--output %s exists and is not a directory: nothing was "
                        "written.\n", path);
                return -ENOTDIR;
        }
        d = opendir(path);
        if (!d) {
                fprintf(stderr, "--output %s: %s\n", path, strerror(errno));
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        closedir(d);
                        fprintf(stderr, "--output %s exists and is not empty: nothing was "
                                "written (the archive goes into a new or empty directory).\n",
                                path);
                        return -ENOTEMPTY;
                }
        closedir(d);
        *ret_exists = true;
        return 0;
}

/* A program on $PATH, as execvp() would find it; -ENOENT when none. */
static int find_program(const char *name, char **ret) {
        const char *path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin";

        while (*path) {
                size_t n = strcspn(path, ":");
                char *full;

                if (asprintf(&full, "%.*s/%s", (int) n, n ? path : ".", name) < 0)
                        return -ENOMEM;
                if (access(full, X_OK) == 0) {
                        *ret = full;
                        return 0;
                }
                free(full);
                path += n;
                if (*path == ':')
                        path++;
        }
        return -ENOENT;
}

/* The image: a new file, outside the output directory. */
static int check_iso(const char *iso, const char *output) {
        _cleanup_(freep) char *dir = NULL, *base = NULL, *odir = NULL, *obase = NULL;
        _cleanup_(freep) char *real = NULL, *oreal = NULL, *prog = NULL;
        struct stat st;
        size_t n;

        if (find_program("xorriso", &prog) < 0) {
                fprintf(stderr, "--iso needs xorriso, which is not installed (no xorriso on "
                        "PATH): install the Debian package xorriso (apt-get install xorriso), "
                        "or leave --iso out and burn the directory with any CD writing "
                        "program. Nothing was written.\n");
                return -ENOENT;
        }
        if (lstat(iso, &st) == 0) {
                fprintf(stderr, "--iso %s exists: nothing was written (name a new file).\n",
                        iso);
                return -EEXIST;
        }
        if (split_path(iso, &dir, &base) < 0 || split_path(output, &odir, &obase) < 0)
                return -ENOMEM;
        real = realpath(dir, NULL);
        if (!real) {
                fprintf(stderr, "--iso %s: the directory %s does not exist.\n", iso, dir);
                return -ENOENT;
        }
        oreal = realpath(odir, NULL);
        if (!oreal)
                return -errno;
        /* The output's own path, whether it exists yet or not. */
        {
                char *o;

                if (asprintf(&o, "%s/%s", streq(oreal, "/") ? "" : oreal, obase) < 0)
                        return -ENOMEM;
                free(oreal);
                oreal = o;
        }
        n = strlen(oreal);
        if (strncmp(real, oreal, n) == 0 && (real[n] == '\0' || real[n] == '/')) {
                fprintf(stderr, "--iso %s is inside the output directory %s: nothing was "
                        "written (put the image next to it).\n", iso, output);
                return -EINVAL;
        }
        return 0;
}

/* ======================================================================== */
/* The reports */

static ReportContext context(const Archive *a, ReportFormat format) {
        return (ReportContext) {
                .config = a->config,
                .cal = a->cal,
                .lang = a->lang,
                .format = format,
                .now = a->now,
        };
}

/* The HTML and the CSV of one report: build(ctx, userdata, &text) each. */
typedef int (*BuildFn)(const ReportContext *c, const void *userdata, char **ret);

static int add_pair(Archive *a, Section section, const char *stem, const char *title,
                    int64_t fault_id, BuildFn build, const void *userdata) {
        static const ReportFormat formats[] = { REPORT_FORMAT_HTML, REPORT_FORMAT_CSV };

        for (size_t i = 0; i < ELEMENTSOF(formats); i++) {
                ReportContext ctx = context(a, formats[i]);
                const char *what;
                char *text = NULL;
                int r;

                r = build(&ctx, userdata, &text);
                if (r < 0)
                        return r;
                what = formats[i] == REPORT_FORMAT_HTML
                               ? tr(a, "印刷用 HTML", "HTML, to print")
                               : tr(a, "表計算用 CSV", "CSV, for a spreadsheet");
                r = entry_add(a, section,
                              strdupf("%s.%s", stem, report_format_to_string(formats[i])),
                              strdupf("%s (%s)", title, what), text, strlen(text), NULL,
                              fault_id, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct QuarterInput {
        const ReportPeriod *p;
        const ReportWork *work;
        size_t n_work;
        const ReportFault *faults;
        size_t n_faults;
        const Investigation *inv;
        size_t n_inv;
} QuarterInput;

static int build_quarterly(const ReportContext *c, const void *userdata, char **ret) {
        const QuarterInput *q = userdata;

        return report_quarterly(c, q->p, q->work, q->n_work, q->faults, q->n_faults, q->inv,
                                q->n_inv, ret);
}

static int build_fault(const ReportContext *c, const void *userdata, char **ret) {
        return report_fault(c, userdata, ret);
}

static int build_erasure(const ReportContext *c, const void *userdata, char **ret) {
        return report_erasure(c, userdata, ret);
}

static void read_failed(Store *store, int r) {
        fprintf(stderr, "Cannot read the state: %s\n",
                r == -E2BIG ? "too many records for one report" : store_error(store));
}

/* 2: the work report of each quarter of the year that has begun. */
static int add_quarterlies(Archive *a, Store *store) {
        for (int q = 1; q <= 4; q++) {
                ReportFault *faults = NULL;
                ReportWork *work = NULL;
                Investigation *inv = NULL;
                size_t n_inv = 0;
                size_t n_faults = 0, n_work = 0;
                char label[16], day[ISO_DATE_MAX], stem[128], title[128];
                ReportPeriod p;
                int r;

                (void) snprintf(label, sizeof(label), "FY%04dQ%d", a->fy, q);
                r = report_quarter_parse(label, &a->config->contract, &p);
                if (r == -ERANGE)
                        continue;
                if (r < 0)
                        return r;
                if (report_period_clip(&p, a->now) < 0)
                        continue; /* not begun */
                r = store_report_faults(store, p.from, p.to, &faults, &n_faults);
                if (r >= 0)
                        r = store_report_work(store, p.from, p.to, &work, &n_work);
                if (r >= 0)
                        r = store_report_investigations(store, p.from, p.to, &inv, &n_inv);
                if (r < 0) {
                        read_failed(store, r);
                        r = -EIO;
                } else {
                        QuarterInput in = { &p, work, n_work, faults, n_faults, inv, n_inv };

                        (void) snprintf(stem, sizeof(stem), "%s_作業実績報告書_%d年度第%d四半期",
                                        format_iso_date(p.last, day), a->fy, q);
                        (void) snprintf(title, sizeof(title),
                                        a->lang == LANGUAGE_JA
                                                ? "作業実績報告書 %d年度 第%d四半期"
                                                : "Work report, FY%d Q%d",
                                        a->fy, q);
                        r = add_pair(a, SECTION_QUARTERLY, stem, title, 0, build_quarterly, &in);
                }
                report_faults_free(faults, n_faults);
                report_works_free(work, n_work);
                free(inv);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* 3 and 4: the reports of the faults recovered in the year. */
static int add_fault_reports(Archive *a, Store *store, time_t from, time_t to) {
        ReportFault *faults = NULL;
        size_t n = 0;
        int r;

        r = store_report_faults(store, from, to, &faults, &n);
        if (r < 0) {
                read_failed(store, r);
                return -EIO;
        }
        for (size_t i = 0; r >= 0 && i < n; i++) {
                const ReportFault *f = &faults[i];
                char day[ISO_DATE_MAX], stem[128], title[128];
                Day d;
                int sec;

                if (f->recovered_at < from || f->recovered_at >= to ||
                    local_from_instant(f->recovered_at, &d, &sec) < 0)
                        continue;
                format_iso_date(d, day);
                (void) snprintf(stem, sizeof(stem), "%s_障害復旧作業報告書_障害%05" PRId64, day,
                                f->id);
                (void) snprintf(title, sizeof(title),
                                a->lang == LANGUAGE_JA ? "障害復旧作業報告書 障害 %" PRId64 "（%s）"
                                                       : "Fault recovery report, fault %" PRId64
                                                         " (%s)",
                                f->id, f->device);
                r = add_pair(a, SECTION_FAULT, stem, title, f->id, build_fault, f);
                if (r < 0 || !f->media_replaced)
                        continue;
                (void) snprintf(stem, sizeof(stem), "%s_データ消去報告書_障害%05" PRId64, day,
                                f->id);
                (void) snprintf(title, sizeof(title),
                                a->lang == LANGUAGE_JA ? "データ消去報告書 障害 %" PRId64 "（%s）"
                                                       : "Data erasure report, fault %" PRId64
                                                         " (%s)",
                                f->id, f->device);
                r = add_pair(a, SECTION_ERASURE, stem, title, f->id, build_erasure, f);
                if (r >= 0) {
                        ScanNeed *s;

                        r = array_grow((void **) &a->needs, &a->needs_allocated, a->n_needs,
                                       sizeof(ScanNeed));
                        if (r < 0)
                                break;
                        s = &a->needs[a->n_needs++];
                        *s = (ScanNeed) { .id = f->id, .day = d };
                        (void) snprintf(s->site, sizeof(s->site), "%s", f->site);
                        (void) snprintf(s->device, sizeof(s->device), "%s", f->device);
                }
        }
        report_faults_free(faults, n);
        if (r < 0 && r != -EIO)
                fprintf(stderr, "Cannot make the fault reports: %s\n", strerror(-r));
        return r;
}

/* 1: the annual plan, as the engineer made it. */
static int add_plans(Archive *a, const ArchiveArgs *args) {
        char day[ISO_DATE_MAX];

        format_iso_date(a->first, day);
        for (size_t i = 0; i < args->n_plans; i++) {
                char ext[8], title[160];
                struct stat st;
                int r;

                if (stat(args->plans[i], &st) < 0 || !S_ISREG(st.st_mode) ||
                    access(args->plans[i], R_OK) < 0) {
                        fprintf(stderr, "--plan %s: %s: nothing was written.\n", args->plans[i],
                                errno ? strerror(errno) : "not a regular file");
                        return -EINVAL;
                }
                extension_of(args->plans[i], ext);
                (void) snprintf(title, sizeof(title), "%s",
                                tr(a, "年間計画表及びサポート体制図", "Annual plan and support chart"));
                r = entry_add(a, SECTION_PLAN,
                              args->n_plans == 1
                                      ? strdupf("%s_年間計画表及びサポート体制図%s", day, ext)
                                      : strdupf("%s_年間計画表及びサポート体制図_%zu%s", day,
                                                i + 1, ext),
                              args->n_plans == 1 ? strdup(title)
                                                 : strdupf("%s (%zu)", title, i + 1),
                              NULL, (size_t) st.st_size, args->plans[i], 0, false);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* ======================================================================== */
/* The scans of the signed erasure reports */

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* The numbers a scan's name gives: those after "fault" or "障害" when it
 * has any (then a date in the name does not count), else every run of
 * digits. */
static size_t name_numbers(const char *name, int64_t *v, size_t max) {
        static const char *const keys[] = { "fault", "障害" };
        size_t n = 0;

        for (const char *p = name; *p && n < max; p++)
                for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
                        size_t len = strlen(keys[k]);
                        const char *q;

                        if (strncasecmp(p, keys[k], len) != 0)
                                continue;
                        q = p + len;
                        while (*q == '-' || *q == '_' || *q == ' ' || *q == '#' || *q == '.')
                                q++;
                        if (is_digit(*q) && n < max)
                                v[n++] = strtoll(q, NULL, 10);
                }
        if (n > 0)
                return n;
        for (const char *p = name; *p && n < max; p++)
                if (is_digit(*p) && (p == name || !is_digit(p[-1])) && strspn(p, "0123456789") < 10)
                        v[n++] = strtoll(p, NULL, 10);
        return n;
}

static int add_scans(Archive *a, const char *dir) {
        _cleanup_(freep) struct dirent **list = NULL;
        int n, r = 0;

        n = scandir(dir, &list, NULL, alphasort);
        if (n < 0) {
                fprintf(stderr, "--scans %s: %s: nothing was written.\n", dir, strerror(errno));
                return -errno;
        }
        for (int i = 0; i < n; i++) {
                const char *name = list[i]->d_name;
                _cleanup_(freep) char *path = NULL;
                ScanNeed *match = NULL;
                int64_t ids[16];
                size_t n_ids, n_match = 0;
                char ext[8], day[ISO_DATE_MAX];
                struct stat st;

                if (r < 0 || name[0] == '.')
                        continue;
                if (asprintf(&path, "%s/%s", dir, name) < 0) {
                        r = -ENOMEM;
                        continue;
                }
                if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                if (a->n >= ARCHIVE_SCANS_MAX) {
                        fprintf(stderr, "--scans %s: more than %d files.\n", dir,
                                ARCHIVE_SCANS_MAX);
                        r = -E2BIG;
                        continue;
                }
                n_ids = name_numbers(name, ids, ELEMENTSOF(ids));
                for (size_t k = 0; k < a->n_needs; k++) {
                        bool hit = false;

                        for (size_t j = 0; j < n_ids; j++)
                                hit = hit || ids[j] == a->needs[k].id;
                        if (hit) {
                                match = &a->needs[k];
                                n_match++;
                        }
                }
                if (n_match == 0) {
                        fprintf(stderr, "Warning: the scan %s names no data erasure report of "
                                "fiscal year %d (no fault id in its name matches one): left "
                                "out.\n", path, a->fy);
                        continue;
                }
                if (n_match > 1) {
                        fprintf(stderr, "The scan %s could be of more than one data erasure "
                                "report (its name has several of their fault ids): name it "
                                "fault-ID..., e.g. fault-%" PRId64 ".pdf. Nothing was written.\n",
                                path, match->id);
                        r = -EINVAL;
                        continue;
                }
                extension_of(name, ext);
                match->n_scans++;
                format_iso_date(match->day, day);
                r = entry_add(a, SECTION_ERASURE,
                              match->n_scans == 1
                                      ? strdupf("%s_データ消去報告書_障害%05" PRId64 "_署名済スキャン%s",
                                                day, match->id, ext)
                                      : strdupf("%s_データ消去報告書_障害%05" PRId64
                                                "_署名済スキャン%zu%s",
                                                day, match->id, match->n_scans, ext),
                              strdupf(a->lang == LANGUAGE_JA
                                              ? "署名済みデータ消去報告書のスキャン 障害 %" PRId64
                                              : "Scan of the signed data erasure report, "
                                                "fault %" PRId64,
                                      match->id),
                              NULL, (size_t) st.st_size, path, match->id, true);
        }
        for (int i = 0; i < n; i++)
                free(list[i]);
        return r;
}

/* ======================================================================== */
/* index.html, built with libxml2 (its serializer escapes the text) */

static xmlNodePtr add_text(xmlNodePtr parent, const char *tag, const char *text) {
        return xmlNewTextChild(parent, NULL, BAD_CAST tag, BAD_CAST text);
}

static xmlNodePtr add_link(xmlNodePtr parent, const char *name, const char *text) {
        xmlChar *href = xmlURIEscapeStr(BAD_CAST name, BAD_CAST "-_.~");
        xmlNodePtr node = add_text(parent, "a", text);

        if (node && href)
                (void) xmlNewProp(node, BAD_CAST "href", href);
        xmlFree(href);
        return node;
}

static void index_section(const Archive *a, xmlNodePtr body, Section s, const char *heading,
                          const char *empty) {
        xmlNodePtr ul = NULL;

        add_text(body, "h2", heading);
        for (size_t i = 0; i < a->n; i++) {
                if (a->v[i].section != s)
                        continue;
                if (!ul)
                        ul = xmlNewChild(body, NULL, BAD_CAST "ul", NULL);
                add_link(xmlNewChild(ul, NULL, BAD_CAST "li", NULL), a->v[i].name,
                         a->v[i].title);
        }
        if (!ul)
                add_text(body, "p", empty);
}

static const char index_css[] =
        "@page { size: A4; margin: 15mm }\n"
        "body { font-family: \"Noto Sans CJK JP\", \"Hiragino Sans\", \"Yu Gothic\", Meiryo,"
        " sans-serif; font-size: 10pt; line-height: 1.5; max-width: 180mm; margin: 10mm auto }\n"
        "h1 { font-size: 15pt; text-align: center }\n"
        "h2 { font-size: 12pt; border-bottom: 1px solid #000 }\n"
        "table { border-collapse: collapse; width: 100% }\n"
        "th, td { border: 1px solid #000; padding: 1mm 2mm; text-align: left }\n";

static int build_index(const Archive *a, char **ret, size_t *ret_size) {
        char fy[64], period[64], d1[ISO_DATE_MAX], d2[ISO_DATE_MAX], now[ISO_DATETIME_MAX];
        xmlChar *mem = NULL;
        xmlNodePtr html, head, body, meta, table, tr_;
        htmlDocPtr doc;
        int size = 0;

        doc = htmlNewDocNoDtD(NULL, NULL);
        if (!doc)
                return -ENOMEM;
        (void) xmlCreateIntSubset(doc, BAD_CAST "html", NULL, NULL);
        html = xmlNewNode(NULL, BAD_CAST "html");
        (void) xmlDocSetRootElement(doc, html);
        (void) xmlNewProp(html, BAD_CAST "lang", BAD_CAST tr(a, "ja", "en"));
        head = xmlNewChild(html, NULL, BAD_CAST "head", NULL);
        /* The serializer writes UTF-8 (not character references) for this form. */
        meta = xmlNewChild(head, NULL, BAD_CAST "meta", NULL);
        (void) xmlNewProp(meta, BAD_CAST "http-equiv", BAD_CAST "Content-Type");
        (void) xmlNewProp(meta, BAD_CAST "content", BAD_CAST "text/html; charset=utf-8");
        meta = xmlNewChild(head, NULL, BAD_CAST "meta", NULL);
        (void) xmlNewProp(meta, BAD_CAST "name", BAD_CAST "generator");
        (void) xmlNewProp(meta, BAD_CAST "content", BAD_CAST "fieldwatch " FIELDWATCH_VERSION);
        (void) snprintf(fy, sizeof(fy),
                        a->lang == LANGUAGE_JA ? "%d年度（令和%d年度）" : "fiscal year %d",
                        a->fy, a->fy - 2018);
        {
                char title[256];

                (void) snprintf(title, sizeof(title),
                                a->lang == LANGUAGE_JA ? "納品物件１～４ 電子データ %s"
                                                       : "Deliverables 1-4, %s",
                                fy);
                add_text(head, "title", title);
                add_text(head, "style", index_css);
                body = xmlNewChild(html, NULL, BAD_CAST "body", NULL);
                add_text(body, "h1", title);
        }
        table = xmlNewChild(body, NULL, BAD_CAST "table", NULL);
        if (a->config->contract.title) {
                tr_ = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
                add_text(tr_, "th", tr(a, "件名", "Title"));
                add_text(tr_, "td", a->config->contract.title);
        }
        tr_ = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
        add_text(tr_, "th", tr(a, "契約名", "Contract"));
        add_text(tr_, "td", a->config->contract.name ?: "");
        (void) snprintf(period, sizeof(period), "%s〜%s", format_iso_date(a->first, d1),
                        format_iso_date(a->last, d2));
        tr_ = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
        add_text(tr_, "th", tr(a, "対象期間", "Period"));
        add_text(tr_, "td", period);
        tr_ = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
        add_text(tr_, "th", tr(a, "作成日時", "Prepared"));
        add_text(tr_, "td", format_iso_datetime(a->now, now));

        index_section(a, body, SECTION_PLAN, tr(a, "１ 年間計画表及びサポート体制図",
                                                "1 Annual plan and support chart"),
                      tr(a, "収録なし（fieldwatch は作成しない。archive --plan FILE で収録する）",
                         "Not included (fieldwatch does not write it: archive --plan FILE "
                         "includes it)"));
        index_section(a, body, SECTION_QUARTERLY,
                      tr(a, "２ 作業実績報告書", "2 Work reports"),
                      tr(a, "対象の四半期なし", "No quarter"));
        index_section(a, body, SECTION_FAULT, tr(a, "３ 障害復旧作業報告書",
                                                 "3 Fault recovery reports"),
                      tr(a, "この年度に復旧した障害はありません。",
                         "No fault was recovered in this year."));
        index_section(a, body, SECTION_ERASURE, tr(a, "４ データ消去報告書",
                                                   "4 Data erasure reports"),
                      tr(a, "情報記録媒体を交換した復旧はありません。",
                         "No recovery replaced a storage medium."));

        /* The erasure reports whose signed paper copies are to be scanned. */
        add_text(body, "h2", tr(a, "スキャンする署名済みデータ消去報告書",
                                "Signed data erasure reports to scan"));
        if (a->n_needs == 0)
                add_text(body, "p", tr(a, "なし", "None"));
        else {
                table = xmlNewChild(body, NULL, BAD_CAST "table", NULL);
                tr_ = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
                add_text(tr_, "th", tr(a, "障害", "Fault"));
                add_text(tr_, "th", tr(a, "復旧日", "Recovered"));
                add_text(tr_, "th", tr(a, "機器", "Device"));
                add_text(tr_, "th", tr(a, "スキャン", "Scan"));
                for (size_t i = 0; i < a->n_needs; i++) {
                        const ScanNeed *s = &a->needs[i];
                        char id[32], where[64];

                        tr_ = xmlNewChild(table, NULL, BAD_CAST "tr", NULL);
                        (void) snprintf(id, sizeof(id), "%" PRId64, s->id);
                        add_text(tr_, "td", id);
                        add_text(tr_, "td", format_iso_date(s->day, d1));
                        (void) snprintf(where, sizeof(where), "%s", s->device);
                        add_text(tr_, "td", where);
                        if (s->n_scans == 0)
                                add_text(tr_, "td", tr(a, "未収録（署名済みの紙をスキャンし、"
                                                          "archive --scans DIR で収録する）",
                                                       "missing (scan the signed paper copy; "
                                                       "archive --scans DIR includes it)"));
                        else {
                                xmlNodePtr td = xmlNewChild(tr_, NULL, BAD_CAST "td", NULL);

                                for (size_t k = 0; k < a->n; k++)
                                        if (a->v[k].scan && a->v[k].fault_id == s->id)
                                                add_link(td, a->v[k].name,
                                                         tr(a, "収録済み", "included"));
                        }
                }
        }
        add_text(body, "h2", tr(a, "検証", "Checksums"));
        add_link(xmlNewChild(body, NULL, BAD_CAST "p", NULL), "SHA256SUMS",
                 tr(a, "SHA256SUMS（sha256sum -c SHA256SUMS で全ファイルを検証できます）",
                    "SHA256SUMS (sha256sum -c SHA256SUMS checks every file)"));

        htmlDocDumpMemoryFormat(doc, &mem, &size, 1);
        xmlFreeDoc(doc);
        if (!mem || size <= 0) {
                xmlFree(mem);
                return -ENOMEM;
        }
        *ret = strndup((const char *) mem, (size_t) size);
        xmlFree(mem);
        if (!*ret)
                return -ENOMEM;
        *ret_size = (size_t) size;
        return 0;
}

/* ======================================================================== */
/* Writing */

/* Writes one entry into dirfd, computing its digest as it goes. */
static int write_entry(int dirfd, Entry *e) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        int fd, in = -1, r = 0;
        uint64_t copied = 0;

        if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
                EVP_MD_CTX_free(md);
                return -ENOMEM;
        }
        fd = openat(dirfd, e->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                EVP_MD_CTX_free(md);
                return -errno;
        }
        if (e->data) {
                r = ctl_write_all(fd, e->data, e->size);
                if (r >= 0 && !EVP_DigestUpdate(md, e->data, e->size))
                        r = -ENOMEM;
        } else {
                in = open(e->source, O_RDONLY | O_CLOEXEC);
                if (in < 0)
                        r = -errno;
                while (r >= 0) {
                        char buf[1 << 16];
                        ssize_t n = read(in, buf, sizeof(buf));

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                r = -errno;
                                break;
                        }
                        if (n == 0)
                                break;
                        copied += (uint64_t) n;
                        /* A file that grew since it was measured: the size check stands. */
                        if (copied > e->size) {
                                r = -EFBIG;
                                break;
                        }
                        r = ctl_write_all(fd, buf, (size_t) n);
                        if (r >= 0 && !EVP_DigestUpdate(md, buf, (size_t) n))
                                r = -ENOMEM;
                }
                if (in >= 0)
                        (void) close(in);
        }
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && !EVP_DigestFinal_ex(md, e->sha256, NULL))
                r = -ENOMEM;
        EVP_MD_CTX_free(md);
        return r;
}

/* .html before .csv before anything else of the same stem. */
static int extension_rank(const char *dot) {
        return !dot ? 2 : streq(dot, ".html") ? 0 : streq(dot, ".csv") ? 1 : 2;
}

/* By name (so by date), a report's HTML before its CSV. */
static int entry_name_compare(const void *x, const void *y) {
        const char *a = ((const Entry *) x)->name, *b = ((const Entry *) y)->name;
        const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
        size_t la = da ? (size_t) (da - a) : strlen(a), lb = db ? (size_t) (db - b) : strlen(b);
        int c = memcmp(a, b, MIN(la, lb));

        if (c != 0)
                return c;
        if (la != lb)
                return la < lb ? -1 : 1;
        c = extension_rank(da) - extension_rank(db);
        return c != 0 ? c : strcmp(a, b);
}

/* Removes what we wrote into a directory we made, and the directory. */
static void remove_tree(const char *path, const Archive *a) {
        int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dirfd >= 0) {
                for (size_t i = 0; i < a->n; i++)
                        (void) unlinkat(dirfd, a->v[i].name, 0);
                (void) unlinkat(dirfd, "SHA256SUMS", 0);
                (void) close(dirfd);
        }
        (void) rmdir(path);
}

static int write_archive(Archive *a, const char *output, bool exists) {
        _cleanup_(freep) char *dir = NULL, *base = NULL, *tmp = NULL, *sums = NULL;
        size_t sums_size = 0;
        FILE *f;
        int dirfd, r = 0;

        if (split_path(output, &dir, &base) < 0 ||
            asprintf(&tmp, "%s/.%s.partial-XXXXXX", dir, base) < 0)
                return -ENOMEM;
        if (!mkdtemp(tmp))
                return -errno;
        (void) chmod(tmp, 0755);
        dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                r = -errno;
                (void) rmdir(tmp);
                return r;
        }
        f = open_memstream(&sums, &sums_size);
        if (!f)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < a->n; i++) {
                r = write_entry(dirfd, &a->v[i]);
                if (r < 0) {
                        fprintf(stderr, "Cannot write %s: %s\n", a->v[i].name, strerror(-r));
                        break;
                }
                /* sha256sum's format: the digest, two spaces (text mode), the name. */
                for (size_t k = 0; k < 32; k++)
                        fprintf(f, "%02x", a->v[i].sha256[k]);
                fprintf(f, "  %s\n", a->v[i].name);
        }
        if (f && (fclose(f) != 0 || !sums) && r >= 0)
                r = -ENOMEM;
        if (r >= 0) {
                Entry e = { .name = (char *) "SHA256SUMS", .data = sums, .size = sums_size };

                r = write_entry(dirfd, &e);
        }
        if (r >= 0 && fsync(dirfd) < 0)
                r = -errno;
        (void) close(dirfd);
        /* Into place: over the empty directory, or as a new one. */
        if (r >= 0 && rename(tmp, output) < 0) {
                r = -errno;
                fprintf(stderr, "Cannot move the archive to %s: %s%s\n", output, strerror(-r),
                        exists && r == -ENOTEMPTY ? " (it is no longer empty)" : "");
        }
        if (r < 0) {
                remove_tree(tmp, a);
                return r;
        }
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd >= 0) {
                (void) fsync(dirfd);
                (void) close(dirfd);
        }
        return 0;
}

/* xorriso's mkisofs emulation: ISO 9660 with Joliet names (what Windows
 * shows) and Rock Ridge, names taken as UTF-8 whatever the locale. Its
 * chatter goes to a memory file, shown only when it fails. */
static int write_iso(const Archive *a, const char *output, const char *iso) {
        _cleanup_(freep) char *tmp = NULL, *prog = NULL, *dir = NULL, *base = NULL;
        _cleanup_(freep) char *source = NULL;
        char volid[32];
        posix_spawn_file_actions_t fa;
        int log, status, r;
        pid_t pid;

        if (find_program("xorriso", &prog) < 0) {
                fprintf(stderr, "xorriso is no longer on PATH: no image was written.\n");
                return -ENOENT;
        }
        if (split_path(iso, &dir, &base) < 0 ||
            asprintf(&tmp, "%s%s/.%s.partial-%d", dir[0] == '/' ? "" : "./", dir, base,
                     (int) getpid()) < 0)
                return -ENOMEM;
        /* mkisofs's emulation knows no "--": a path never starts with a dash. */
        if (asprintf(&source, "%s%s", output[0] == '/' ? "" : "./", output) < 0)
                return -ENOMEM;
        (void) snprintf(volid, sizeof(volid), "FIELDWATCH_FY%d", a->fy);
        char *const argv[] = {
                prog, (char *) "-as", (char *) "mkisofs", (char *) "-quiet",
                (char *) "-input-charset", (char *) "utf-8", (char *) "-J", (char *) "-r",
                (char *) "-V", volid, (char *) "-o", tmp, source, NULL,
        };

        log = memfd_create("xorriso-log", MFD_CLOEXEC);
        if (log < 0)
                return -errno;
        (void) unlink(tmp);
        r = -posix_spawn_file_actions_init(&fa);
        if (r >= 0) {
                (void) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
                (void) posix_spawn_file_actions_adddup2(&fa, log, 1);
                (void) posix_spawn_file_actions_adddup2(&fa, log, 2);
                r = -posix_spawn(&pid, prog, &fa, NULL, argv, environ);
                posix_spawn_file_actions_destroy(&fa);
        }
        if (r < 0) {
                (void) close(log);
                fprintf(stderr, "Cannot run %s: %s\n", prog, strerror(-r));
                return r;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        break;
                }
        if (r >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                char buf[4096];
                ssize_t n = pread(log, buf, sizeof(buf) - 1, 0);

                buf[n > 0 ? n : 0] = '\0';
                fprintf(stderr, "xorriso failed (%s %d); no image was written:\n%s\n",
                        WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf);
                r = -EIO;
        }
        (void) close(log);
        if (r >= 0 && rename(tmp, iso) < 0) {
                r = -errno;
                fprintf(stderr, "Cannot move the image to %s: %s\n", iso, strerror(-r));
        }
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

/* ======================================================================== */

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
        if (check_output(args.output, &exists) < 0)
                return CTL_EXIT_FAILURE;
        if (args.iso && check_iso(args.iso, args.output) < 0)
                return CTL_EXIT_FAILURE;
        if (ctl_open_store(g, &store) < 0)
                return CTL_EXIT_FAILURE;

        r = add_plans(&a, &args);
        if (r >= 0)
                r = add_quarterlies(&a, store);
        if (r >= 0)
                r = add_fault_reports(&a, store, from, to);
        if (r >= 0 && args.scans)
                r = add_scans(&a, args.scans);
        if (r >= 0) {
                qsort(a.v, a.n, sizeof(Entry), entry_name_compare);
                r = build_index(&a, &index, &index_size);
                if (r >= 0)
                        r = entry_add(&a, _SECTION_MAX, strdup("index.html"), strdup("index"),
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
        r = write_archive(&a, args.output, exists);
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
                r = write_iso(&a, args.output, args.iso);
                if (r < 0) {
                        archive_done(&a);
                        return CTL_EXIT_FAILURE;
                }
                printf("Wrote the ISO 9660 image (Joliet names) %s.\n", args.iso);
        }
        archive_done(&a);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
