/* SPDX-License-Identifier: MIT */

/* What goes into the archive (ctl-archive.h): the HTML and CSV of the
 * year's reports (made by report.c from the state), the annual plan and the
 * scans of the signed erasure reports (copied), and index.html linking them,
 * built with libxml2. */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/HTMLtree.h>
#include <libxml/uri.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "ctl-archive.h"
#include "macro.h"
#include "report.h"
#include "store-report.h"

/* ======================================================================== */
/* The entries */

static const char *tr(const Archive *a, const char *ja, const char *en) {
        return a->lang == LANGUAGE_JA ? ja : en;
}

void archive_done(Archive *a) {
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
int archive_entry_add(Archive *a, Section section, char *name, char *title, char *data,
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
                r = archive_entry_add(a, section,
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
int archive_add_quarterlies(Archive *a, Store *store) {
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
int archive_add_fault_reports(Archive *a, Store *store, time_t from, time_t to) {
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
int archive_add_plans(Archive *a, const ArchiveArgs *args) {
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
                r = archive_entry_add(a, SECTION_PLAN,
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

int archive_add_scans(Archive *a, const char *dir) {
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
                r = archive_entry_add(a, SECTION_ERASURE,
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

int archive_build_index(const Archive *a, char **ret, size_t *ret_size) {
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
