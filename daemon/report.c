/* SPDX-License-Identifier: MIT */

/* The contract's reports: periods, the measures (business-hour overlaps,
 * downtime, the response clock), a small document writer with one escaper
 * per format, and the builders. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clocks.h"
#include "macro.h"
#include "report.h"

static const char *const format_table[_REPORT_FORMAT_MAX] = {
        [REPORT_FORMAT_MD] = "md",
        [REPORT_FORMAT_HTML] = "html",
        [REPORT_FORMAT_CSV] = "csv",
};

const char *report_format_to_string(ReportFormat f) {
        return f >= 0 && f < _REPORT_FORMAT_MAX ? format_table[f] : NULL;
}

int report_format_from_string(const char *s) {
        for (int i = 0; s && i < _REPORT_FORMAT_MAX; i++)
                if (streq(s, format_table[i]))
                        return i;
        return -EINVAL;
}

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
static time_t fault_due_at(const ReportFault *f) {
        return f->deferral_approved_at && f->deferred_onsite_due ? f->deferred_onsite_due
                                                                 : f->onsite_due;
}

/* When the fault stopped being a fault: cleared, else closed; 0 while open. */
static time_t fault_end(const ReportFault *f) {
        return f->cleared_at ?: f->closed_at;
}

/* Whether the fault was being handled during [from, to): detected before
 * the end, and still open or with something done after the start. */
static bool fault_in_period(const ReportFault *f, time_t from, time_t to) {
        time_t last = MAX(MAX(fault_end(f), f->recovered_at), f->onsite_started_at);

        if (f->detected_at >= to)
                return false;
        return fault_end(f) == 0 || last >= from;
}

/* ======================================================================== */
/* Words */

static const char *tr(Language l, const char *ja, const char *en) {
        return l == LANGUAGE_JA ? ja : en;
}


static const char *kind_word(Language l, const char *kind) {
        return fault_kind_word(kind, l == LANGUAGE_JA) ?: kind;
}

/* "カメラ" for "05-camera", "VPNルーター" for "vpn"; NULL when unknown. */
static const char *device_word(Language l, const char *device) {
        const char *dash = strrchr(device, '-'), *suffix = dash ? dash + 1 : device;

        if (streq(suffix, "camera"))
                return tr(l, "カメラ", "camera");
        if (streq(suffix, "router"))
                return tr(l, "LTEルーター", "LTE router");
        if (streq(suffix, "tunnel"))
                return tr(l, "VPNトンネル", "VPN tunnel");
        if (streq(suffix, "vpn"))
                return tr(l, "VPNルーター", "VPN router");
        return NULL;
}

static const char *site_name(const ReportContext *c, const char *site) {
        const SiteConf *s;

        if (!site[0])
                return tr(c->lang, "市役所", "city hall");
        s = config_find_site(c->config, site);
        return s && s->name ? s->name : "";
}

#define LABEL_MAX 512

/* "05 市川市…", or "市役所" for the VPN. */
static char *site_label(const ReportContext *c, const char *site, char buf[static LABEL_MAX]) {
        const char *name = site_name(c, site);

        (void) snprintf(buf, LABEL_MAX, "%s%s%s", site, site[0] && name[0] ? " " : "", name);
        return buf;
}

/* "カメラ（05-camera）". */
static char *device_label(Language l, const char *device, char buf[static LABEL_MAX]) {
        const char *w = device_word(l, device);

        if (w)
                (void) snprintf(buf, LABEL_MAX, tr(l, "%s（%s）", "%s (%s)"), w, device);
        else
                (void) snprintf(buf, LABEL_MAX, "%s", device);
        return buf;
}

#define TIME_MAX 32

/* "2026-09-16 10:05" in contract time; "" for 0. */
static char *fmt_time(time_t t, char buf[static TIME_MAX]) {
        int y, m, d, sec;
        Day day;

        buf[0] = 0;
        if (t > 0 && local_from_instant(t, &day, &sec) >= 0) {
                day_to_ymd(day, &y, &m, &d);
                (void) snprintf(buf, TIME_MAX, "%04d-%02d-%02d %02d:%02d", y, m, d, sec / 3600,
                                sec / 60 % 60);
        }
        return buf;
}

static char *fmt_day(Day day, char buf[static TIME_MAX]) {
        int y, m, d;

        day_to_ymd(day, &y, &m, &d);
        (void) snprintf(buf, TIME_MAX, "%04d-%02d-%02d", y, m, d);
        return buf;
}

/* Durations: "12:34:56" (measured), "3:30" (work, to the minute). */
static char *fmt_hms(int64_t s, char buf[static TIME_MAX]) {
        s = MAX(s, 0);
        (void) snprintf(buf, TIME_MAX, "%" PRId64 ":%02d:%02d", s / 3600, (int) (s / 60 % 60),
                        (int) (s % 60));
        return buf;
}

static char *fmt_hm(int64_t s, char buf[static TIME_MAX]) {
        s = MAX(s, 0);
        (void) snprintf(buf, TIME_MAX, "%" PRId64 ":%02d", s / 3600, (int) (s / 60 % 60));
        return buf;
}

/* A percentage to two decimals, rounded down (so 100.00 means no loss). */
static char *fmt_percent(int64_t part, int64_t whole, char buf[static TIME_MAX]) {
        int64_t bp;

        if (whole <= 0) {
                buf[0] = 0;
                return buf;
        }
        bp = part * 10000 / whole;
        (void) snprintf(buf, TIME_MAX, "%" PRId64 ".%02d", bp / 100, (int) (bp % 100));
        return buf;
}

static char *fmt_int(int64_t v, char buf[static TIME_MAX]) {
        (void) snprintf(buf, TIME_MAX, "%" PRId64, v);
        return buf;
}

/* The period as "2026-07-01 〜 2026-09-30", or cut at the report's time. */
static char *period_text(Language l, const ReportPeriod *p, char buf[static LABEL_MAX]) {
        char a[TIME_MAX], b[TIME_MAX];

        if (p->partial)
                (void) snprintf(buf, LABEL_MAX,
                                tr(l, "%s 〜 %s（作成時点まで）", "%s to %s (so far)"),
                                fmt_day(p->first, a), fmt_time(p->to, b));
        else
                (void) snprintf(buf, LABEL_MAX, tr(l, "%s 〜 %s", "%s to %s"),
                                fmt_day(p->first, a), fmt_day(p->last, b));
        return buf;
}

/* A due day with its deliver-by day when that is earlier. */
static char *due_text(Language l, const ReportDue *d, char buf[static LABEL_MAX]) {
        char a[TIME_MAX], b[TIME_MAX];

        if (d->deliver_by == d->due)
                (void) snprintf(buf, LABEL_MAX, "%s", fmt_day(d->due, a));
        else
                (void) snprintf(buf, LABEL_MAX,
                                tr(l, "%s（休日のため %s までに提出）",
                                   "%s (deliver by %s, the business day before)"),
                                fmt_day(d->due, a), fmt_day(d->deliver_by, b));
        return buf;
}

static char *strv_join(char *const *v, size_t n, const char *sep) {
        size_t len = 1, k = 0;
        char *s;

        for (size_t i = 0; i < n; i++)
                len += strlen(v[i]) + strlen(sep);
        s = malloc(len);
        if (!s)
                return NULL;
        s[0] = 0;
        for (size_t i = 0; i < n; i++)
                k += (size_t) snprintf(s + k, len - k, "%s%s", i ? sep : "", v[i]);
        return s;
}

/* ======================================================================== */
/* The document writer. A field section is a two-column table (label,
 * value); a table has a header row. In CSV only the tables marked for it
 * are written (and the field sections when csv_fields is set, under one
 * header row); headings and paragraphs are left out. A cell of "" shows
 * as a dash in Markdown and HTML; a NULL cell is a blank line to be
 * filled in by hand. */

typedef struct Doc {
        FILE *f;
        ReportFormat format;
        Language lang;
        bool csv_fields;             /* CSV: the field sections are the table */
        bool csv_header_done;
        size_t n_columns;
        const char *align;           /* of the open table: 'l' or 'r' per column */
        bool in_csv;                 /* the open table is the CSV's */
        size_t csv_width;            /* CSV of sections: every row this wide, 0 if not */
} Doc;

/* HTML: the five characters that matter in text and attribute values. */
static void html_escape(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '"':
                        fputs("&quot;", f);
                        break;
                case '\'':
                        fputs("&#39;", f);
                        break;
                default:
                        fputc(*s, f);
                }
}

/* Markdown (GFM) table cells and text: inline markup characters and the
 * cell separator are backslash-escaped, HTML is neutralised as entities,
 * a newline becomes <br> (a table row is one line). */
static void md_escape(FILE *f, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '\\':
                case '|':
                case '*':
                case '_':
                case '`':
                case '[':
                case ']':
                case '~':
                        fputc('\\', f);
                        fputc(*s, f);
                        break;
                case '&':
                        fputs("&amp;", f);
                        break;
                case '<':
                        fputs("&lt;", f);
                        break;
                case '>':
                        fputs("&gt;", f);
                        break;
                case '\n':
                        fputs("<br>", f);
                        break;
                case '\r':
                        break;
                case '\t':
                        fputc(' ', f);
                        break;
                default:
                        fputc(*s, f);
                }
}

/* Whether a cell is a plain number ("-3", "12.5"): no formula to fear. */
static bool csv_number(const char *s) {
        size_t n;

        if (*s == '-' || *s == '+')
                s++;
        n = strspn(s, "0123456789");
        if (n == 0)
                return false;
        s += n;
        if (*s == '.' && s[1])
                s += 1 + strspn(s + 1, "0123456789");
        return *s == '\0';
}

/* CSV (RFC 4180): quoted when it holds a comma, a quote or a line break;
 * quotes doubled. A cell a spreadsheet would take for a formula (it starts
 * with = + - @, a tab or a carriage return) is neutralised with a leading
 * apostrophe, as OWASP's "CSV Injection" page recommends; plain numbers
 * stay numbers. */
static void csv_escape(FILE *f, const char *s) {
        bool formula = s[0] && strchr("=+-@\t\r", s[0]) && !csv_number(s);

        if (!formula && !s[strcspn(s, ",\"\r\n")]) {
                fputs(s, f);
                return;
        }
        fputc('"', f);
        if (formula)
                fputc('\'', f);
        for (; *s; s++) {
                if (*s == '"')
                        fputc('"', f);
                fputc(*s, f);
        }
        fputc('"', f);
}

static const char html_head[] =
        "<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<meta name=\"generator\" content=\"fieldwatch " FIELDWATCH_VERSION "\">\n"
        "<style>\n"
        "@page { size: A4; margin: 15mm }\n"
        "html { -webkit-print-color-adjust: exact; print-color-adjust: exact }\n"
        "body { font-family: \"Noto Sans CJK JP\", \"Noto Sans JP\","
        " \"Hiragino Kaku Gothic ProN\", \"Hiragino Sans\", \"Yu Gothic\", YuGothic, Meiryo,"
        " \"IPAexGothic\", \"IPAGothic\", sans-serif; font-size: 10pt; line-height: 1.45;"
        " color: #000; margin: 0 }\n"
        "@media screen { body { max-width: 180mm; margin: 10mm auto; padding: 0 5mm } }\n"
        "h1 { font-size: 16pt; text-align: center; margin: 0 0 6mm }\n"
        "h2 { font-size: 12pt; margin: 6mm 0 2mm; border-bottom: 1px solid #000;"
        " break-after: avoid; page-break-after: avoid }\n"
        "table { border-collapse: collapse; width: 100%; margin: 0 0 4mm }\n"
        "th, td { border: 1px solid #000; padding: 1mm 2mm; text-align: left; font-size: 9pt;"
        " vertical-align: top; white-space: pre-wrap; overflow-wrap: anywhere }\n"
        "th { background: #eee; font-weight: bold }\n"
        "table.fields th { width: 32% }\n"
        "td.r { text-align: right; white-space: nowrap }\n"
        "td.blank { height: 12mm }\n"
        "thead { display: table-header-group }\n"
        "tr { break-inside: avoid; page-break-inside: avoid }\n"
        "p.note { font-size: 9pt }\n"
        "</style>\n";

static void csv_row(Doc *d, const char *const *cells, size_t n) {
        for (size_t i = 0; i < MAX(n, d->csv_width); i++) {
                if (i > 0)
                        fputc(',', d->f);
                csv_escape(d->f, i < n ? cells[i] ?: "" : "");
        }
        fputs("\r\n", d->f);
}

/* A CSV of sections: a line of text (title, heading, paragraph) is a row
 * of its own, its text in the first cell. */
static void csv_line(Doc *d, const char *text) {
        if (d->format == REPORT_FORMAT_CSV && d->csv_width > 0)
                csv_row(d, (const char *const[]) { text }, 1);
}

/* title: the heading; name: the HTML <title>. CSV: the BOM. */
static void doc_begin(Doc *d, const char *title, const char *name) {
        switch (d->format) {
        case REPORT_FORMAT_MD:
                fputs("# ", d->f);
                md_escape(d->f, title);
                fputs("\n\n", d->f);
                break;
        case REPORT_FORMAT_HTML:
                fprintf(d->f, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n%s<title>",
                        tr(d->lang, "ja", "en"), html_head);
                html_escape(d->f, name);
                fputs("</title>\n</head>\n<body>\n<h1>", d->f);
                html_escape(d->f, title);
                fputs("</h1>\n", d->f);
                break;
        default:
                fputs("\xEF\xBB\xBF", d->f);
                csv_line(d, title);
        }
}

static void doc_end(Doc *d) {
        if (d->format == REPORT_FORMAT_HTML)
                fputs("</body>\n</html>\n", d->f);
}

static void doc_heading(Doc *d, const char *text) {
        if (d->format == REPORT_FORMAT_MD) {
                fputs("## ", d->f);
                md_escape(d->f, text);
                fputs("\n\n", d->f);
        } else if (d->format == REPORT_FORMAT_HTML) {
                fputs("<h2>", d->f);
                html_escape(d->f, text);
                fputs("</h2>\n", d->f);
        } else
                csv_line(d, text);
}

static void doc_paragraph(Doc *d, const char *text, bool note) {
        if (d->format == REPORT_FORMAT_MD) {
                md_escape(d->f, text);
                fputs("\n\n", d->f);
        } else if (d->format == REPORT_FORMAT_HTML) {
                fputs(note ? "<p class=\"note\">" : "<p>", d->f);
                html_escape(d->f, text);
                fputs("</p>\n", d->f);
        } else
                csv_line(d, text);
}

static void doc_table_begin(Doc *d, const char *const *headers, size_t n, const char *align,
                            bool in_csv) {
        d->n_columns = n;
        d->align = align;
        d->in_csv = in_csv || d->csv_width > 0;
        switch (d->format) {
        case REPORT_FORMAT_MD:
                for (size_t i = 0; i < n; i++) {
                        fputs("| ", d->f);
                        md_escape(d->f, headers[i]);
                        fputc(' ', d->f);
                }
                fputs("|\n", d->f);
                for (size_t i = 0; i < n; i++)
                        fputs(align && align[i] == 'r' ? "| ---: " : "| --- ", d->f);
                fputs("|\n", d->f);
                break;
        case REPORT_FORMAT_HTML:
                fputs("<table>\n<thead>\n<tr>", d->f);
                for (size_t i = 0; i < n; i++) {
                        fputs("<th scope=\"col\">", d->f);
                        html_escape(d->f, headers[i]);
                        fputs("</th>", d->f);
                }
                fputs("</tr>\n</thead>\n<tbody>\n", d->f);
                break;
        default:
                if (d->in_csv)
                        csv_row(d, headers, n);
        }
}

static void doc_row(Doc *d, const char *const *cells) {
        switch (d->format) {
        case REPORT_FORMAT_MD:
                for (size_t i = 0; i < d->n_columns; i++) {
                        fputs("| ", d->f);
                        if (!cells[i])
                                fputs("＿＿＿＿＿＿＿＿＿＿", d->f);
                        else
                                md_escape(d->f, cells[i][0] ? cells[i] : "—");
                        fputc(' ', d->f);
                }
                fputs("|\n", d->f);
                break;
        case REPORT_FORMAT_HTML:
                fputs("<tr>", d->f);
                for (size_t i = 0; i < d->n_columns; i++) {
                        if (!cells[i]) {
                                fputs("<td class=\"blank\"></td>", d->f);
                                continue;
                        }
                        fputs(d->align && d->align[i] == 'r' ? "<td class=\"r\">" : "<td>", d->f);
                        html_escape(d->f, cells[i][0] ? cells[i] : "—");
                        fputs("</td>", d->f);
                }
                fputs("</tr>\n", d->f);
                break;
        default:
                if (d->in_csv)
                        csv_row(d, cells, d->n_columns);
        }
}

static void doc_table_end(Doc *d) {
        if (d->format == REPORT_FORMAT_MD)
                fputc('\n', d->f);
        else if (d->format == REPORT_FORMAT_HTML)
                fputs("</tbody>\n</table>\n", d->f);
        d->n_columns = 0;
        d->in_csv = false;
}

static void doc_fields_begin(Doc *d) {
        const char *headers[] = { tr(d->lang, "項目", "Field"), tr(d->lang, "内容", "Value") };

        switch (d->format) {
        case REPORT_FORMAT_MD:
                doc_table_begin(d, headers, 2, "ll", false);
                break;
        case REPORT_FORMAT_HTML:
                fputs("<table class=\"fields\">\n<tbody>\n", d->f);
                d->n_columns = 2;
                break;
        default:
                d->n_columns = 2;
                d->in_csv = d->csv_fields || d->csv_width > 0;
                if (d->csv_fields && !d->csv_header_done)
                        csv_row(d, headers, 2);
                d->csv_header_done = true;
        }
}

static void doc_field(Doc *d, const char *label, const char *value) {
        if (d->format == REPORT_FORMAT_HTML) {
                fputs("<tr><th scope=\"row\">", d->f);
                html_escape(d->f, label);
                fputs(value ? "</th><td>" : "</th><td class=\"blank\">", d->f);
                if (value)
                        html_escape(d->f, value[0] ? value : "—");
                fputs("</td></tr>\n", d->f);
                return;
        }
        doc_row(d, (const char *const[]) { label, value });
}

static void doc_fields_end(Doc *d) {
        if (d->format == REPORT_FORMAT_HTML) {
                fputs("</tbody>\n</table>\n", d->f);
                d->n_columns = 0;
        } else
                doc_table_end(d);
}

static int doc_open(Doc *d, const ReportContext *c, bool csv_fields, char **buf, size_t *size) {
        *d = (Doc) { .format = c->format, .lang = c->lang, .csv_fields = csv_fields };
        if (c->format < 0 || c->format >= _REPORT_FORMAT_MAX)
                return -EINVAL;
        d->f = open_memstream(buf, size);
        return d->f ? 0 : -ENOMEM;
}

/* Closes the stream; on success hands the document to *ret. */
static int doc_close(Doc *d, int r, char **buf, char **ret) {
        if (ferror(d->f) && r >= 0)
                r = -ENOMEM;
        if (fclose(d->f) != 0 && r >= 0)
                r = -ENOMEM;
        d->f = NULL;
        if (r < 0) {
                free(*buf);
                *buf = NULL;
                return r;
        }
        *ret = TAKE_PTR(*buf);
        return 0;
}

/* Opens the field section that starts most reports: the contract, the
 * period and the time of making. The caller may add fields; it closes it. */
/* 「令和8年度 第3四半期（10月～12月）」: the quarter as the city names it, by
 * fiscal year (April–March) and era; NULL unless p is a whole quarter's. */
static char *quarter_name(Language l, const ReportPeriod *p, char buf[static LABEL_MAX]) {
        int y, m, d, fy, q;

        if (!p || (!strchr(p->label, 'Q') && !strchr(p->label, 'q')))
                return NULL;
        day_to_ymd(p->first, &y, &m, &d);
        fy = m >= 4 ? y : y - 1;
        q = (m + 8) % 12 / 3 + 1;
        m = (q * 3 + 1) % 12 ?: 12; /* the quarter's first month: 4, 7, 10, 1 */
        if (l == LANGUAGE_JA) {
                if (fy == 2019)
                        (void) snprintf(buf, LABEL_MAX, "令和元年度 第%d四半期（%d月～%d月）", q,
                                        m, m + 2);
                else
                        (void) snprintf(buf, LABEL_MAX, "令和%d年度 第%d四半期（%d月～%d月）",
                                        fy - 2018, q, m, m + 2);
        } else {
                static const char *const months[] = { "January", "February", "March", "April",
                                                      "May", "June", "July", "August",
                                                      "September", "October", "November",
                                                      "December" };

                (void) snprintf(buf, LABEL_MAX, "FY%d Q%d (%s to %s)", fy, q, months[m - 1],
                                months[m + 1]);
        }
        return buf;
}

static void doc_preamble(Doc *d, const ReportContext *c, const ReportPeriod *p) {
        char period[LABEL_MAX], now[TIME_MAX], quarter[LABEL_MAX];

        doc_fields_begin(d);
        if (c->config->contract.title)
                doc_field(d, tr(c->lang, "件名", "Title"), c->config->contract.title);
        doc_field(d, tr(c->lang, "契約名", "Contract"), c->config->contract.name ?: "");
        if (quarter_name(c->lang, p, quarter))
                doc_field(d, tr(c->lang, "四半期", "Quarter"), quarter);
        if (p)
                doc_field(d, tr(c->lang, "対象期間", "Period"), period_text(c->lang, p, period));
        doc_field(d, tr(c->lang, "作成日時", "Prepared"), fmt_time(c->now, now));
}

static void doc_zone_note(Doc *d, const ReportContext *c) {
        char note[LABEL_MAX];

        (void) snprintf(note, sizeof(note),
                        tr(c->lang, "時刻は契約の時間帯（%s）で表示しています。",
                           "Times are contract time (%s)."),
                        c->config->contract.timezone ?: "Asia/Tokyo");
        doc_paragraph(d, note, true);
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
        const char *dash;

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
        dash = strrchr(device, '-');
        if (dash)
                (void) snprintf(l->v[l->n].site, sizeof(l->v[l->n].site), "%.*s",
                                (int) (dash - device), device);
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
        time_t from = MAX(f->detected_at, p->from), to = fault_end(f) ?: p->to;
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
        DeviceList l = {};
        Downtime *v = NULL;
        int r;

        r = devices_from_config(c->config, &l);
        for (size_t i = 0; r >= 0 && i < n; i++)
                r = devices_add_fault(&l, p, &faults[i]);
        if (r >= 0 && l.n > 0) {
                v = calloc(l.n, sizeof(Downtime));
                if (!v)
                        r = -ENOMEM;
        }
        for (size_t i = 0; r >= 0 && i < l.n; i++)
                r = device_downtime(&l.v[i], c->cal, &v[i]);
        if (r < 0) {
                free(v);
                device_list_done(&l);
                return r;
        }
        *ret_n = l.n;
        *ret = v;
        device_list_done(&l);
        return 0;
}

/* ------------------------------------------------------------------------ */

typedef enum SlaResult {
        SLA_MET,
        SLA_BREACHED,
        SLA_PENDING,
        SLA_STOPPED,
        SLA_SENDBACK,
} SlaResult;

static SlaResult sla_result(const ReportFault *f, time_t now) {
        time_t due = fault_due_at(f), stop = fault_end(f) ?: now;

        if (f->sendback || due == 0)
                return SLA_SENDBACK;
        if (f->onsite_started_at)
                return f->onsite_started_at <= due ? SLA_MET : SLA_BREACHED;
        if (stop > due)
                return SLA_BREACHED;
        return fault_end(f) ? SLA_STOPPED : SLA_PENDING;
}

/* Received → onsite started; 0 when onsite work began before reception
 * (a visit outside the window), -1 without onsite work. */
static int64_t sla_response(const ReportFault *f) {
        if (!f->onsite_started_at)
                return -1;
        return MAX((int64_t) (f->onsite_started_at - f->received_at), 0);
}

static bool received_in(const ReportFault *f, const ReportPeriod *p) {
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
                if (!f->received_at || !received_in(f, p))
                        continue;
                s.received++;
                (*count[sla_result(f, c->now)])++;
                s.deferred += f->deferral_approved_at != 0;
                s.transient += f->transient;
                if (f->onsite_started_at)
                        resp[s.onsite++] = sla_response(f);
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

/* ======================================================================== */
/* 作業実績報告書 */

static void quarterly_due(const ReportContext *c, const ReportPeriod *p,
                          char buf[static LABEL_MAX]) {
        _cleanup_(freep) Deadline *d = NULL;
        size_t n = 0;

        buf[0] = 0;
        if (clocks_contract_deadlines(c->cal, &c->config->contract, p->last, p->last + 200, &d,
                                      &n) < 0)
                return;
        for (size_t i = 0; i < n; i++)
                if (d[i].kind == DEADLINE_QUARTERLY_REPORT && d[i].period_end == p->last) {
                        ReportDue due = { .due = d[i].due, .deliver_by = d[i].deliver_by,
                                          .overdue_after = d[i].overdue_after };

                        (void) due_text(c->lang, &due, buf);
                        return;
                }
}

#define QUARTERLY_WORK_COLUMNS 9

static void quarterly_work(Doc *d, const ReportContext *c, const ReportWork *w, size_t n) {
        Language l = c->lang;
        const char *headers[] = {
                "No.",
                tr(l, "開始日時", "Start"),
                tr(l, "終了日時", "End"),
                tr(l, "作業時間", "Hours"),
                tr(l, "担当者名", "Person in charge"),
                tr(l, "作業名", "Work"),
                tr(l, "作業内容", "Content"),
                tr(l, "特記事項", "Notes"),
                tr(l, "障害番号", "Fault"),
        };
        const char *no_work = tr(l, "当該期間の作業実績はありません。",
                                 "There was no work in this period.");
        char total_text[LABEL_MAX], hm[TIME_MAX];
        int64_t total = 0;

        _Static_assert(ELEMENTSOF(headers) == QUARTERLY_WORK_COLUMNS, "the CSV's width");
        doc_heading(d, tr(l, "作業実績", "Work done"));
        if (n == 0) {
                doc_paragraph(d, no_work, false);
                return;
        }
        doc_table_begin(d, headers, ELEMENTSOF(headers), "rllrllllr", true);
        for (size_t i = 0; i < n; i++) {
                char no[TIME_MAX], start[TIME_MAX], end[TIME_MAX], hours[TIME_MAX],
                        fault[TIME_MAX];

                total += (int64_t) (w[i].end_at - w[i].start_at);
                doc_row(d, (const char *const[]) {
                                   fmt_int((int64_t) i + 1, no), fmt_time(w[i].start_at, start),
                                   fmt_time(w[i].end_at, end),
                                   fmt_hm((int64_t) (w[i].end_at - w[i].start_at), hours),
                                   w[i].person ?: "", w[i].title ?: "", w[i].content ?: "",
                                   w[i].notes ?: "",
                                   w[i].fault_id > 0 ? fmt_int(w[i].fault_id, fault) : "" });
        }
        doc_table_end(d);
        (void) snprintf(total_text, sizeof(total_text),
                        tr(l, "作業時間合計: %s（%zu件）%s", "Total work time: %s (%zu item%s)"),
                        fmt_hm(total, hm), n, l == LANGUAGE_EN && n != 1 ? "s" : "");
        doc_paragraph(d, total_text, false);
}

static void quarterly_faults(Doc *d, const ReportContext *c, const ReportPeriod *p,
                             const ReportFault *f, size_t n) {
        Language l = c->lang;
        const char *headers[] = {
                tr(l, "障害番号", "Fault"),      tr(l, "現場", "Site"),
                tr(l, "機器", "Device"),         tr(l, "種別", "Kind"),
                tr(l, "検知日時", "Detected"),   tr(l, "受付日時", "Received"),
                tr(l, "現地着手日時", "Onsite started"), tr(l, "復旧日時", "Recovered"),
        };
        size_t shown = 0;

        doc_heading(d, tr(l, "障害対応", "Faults handled"));
        for (size_t i = 0; i < n; i++) {
                char id[TIME_MAX], site[LABEL_MAX], det[TIME_MAX], rec[TIME_MAX], on[TIME_MAX],
                        done[TIME_MAX];

                if (!fault_in_period(&f[i], p->from, p->to))
                        continue;
                if (shown++ == 0)
                        doc_table_begin(d, headers, ELEMENTSOF(headers), "rlllllll", false);
                doc_row(d, (const char *const[]) { fmt_int(f[i].id, id),
                                                   site_label(c, f[i].site, site), f[i].device,
                                                   kind_word(l, f[i].kind),
                                                   fmt_time(f[i].detected_at, det),
                                                   fmt_time(f[i].received_at, rec),
                                                   fmt_time(f[i].onsite_started_at, on),
                                                   fmt_time(f[i].recovered_at, done) });
        }
        if (shown > 0)
                doc_table_end(d);
        else
                doc_paragraph(d, tr(l, "当該期間の障害はありません。",
                                    "There were no faults in this period."),
                              false);
}

/* The anomalies investigated in the period (L107-111), and whether they
 * were handled as faults. */
static void quarterly_investigations(Doc *d, const ReportContext *c, const Investigation *v,
                                     size_t n) {
        Language l = c->lang;
        const char *headers[] = {
                tr(l, "調査日時", "Investigated"), tr(l, "異常番号", "Anomaly"),
                tr(l, "機器", "Device"),           tr(l, "担当者名", "Person in charge"),
                tr(l, "調査結果", "Findings"),     tr(l, "障害として対応", "Handled as fault"),
        };

        doc_heading(d, tr(l, "異常の調査", "Anomalies investigated"));
        if (n == 0) {
                doc_paragraph(d, tr(l, "当該期間に調査した異常はありません。",
                                    "No anomaly was investigated in this period."),
                              false);
                return;
        }
        doc_table_begin(d, headers, ELEMENTSOF(headers), "lrllll", false);
        for (size_t i = 0; i < n; i++) {
                char at[TIME_MAX], id[TIME_MAX], fault[TIME_MAX], device[LABEL_MAX];

                if (v[i].fault_id > 0)
                        (void) snprintf(fault, sizeof(fault), tr(l, "障害 %lld", "fault %lld"),
                                        (long long) v[i].fault_id);
                else
                        (void) snprintf(fault, sizeof(fault), "%s", tr(l, "なし", "no"));
                doc_row(d, (const char *const[]) {
                                   fmt_time(v[i].at, at), fmt_int(v[i].anomaly_id, id),
                                   device_label(l, v[i].device, device), v[i].person, v[i].note,
                                   fault });
        }
        doc_table_end(d);
}

int report_quarterly(const ReportContext *c, const ReportPeriod *p, const ReportWork *work,
                     size_t n_work, const ReportFault *faults, size_t n_faults,
                     const Investigation *inv, size_t n_inv, char **ret) {
        _cleanup_(freep) char *buf = NULL;
        char name[LABEL_MAX], due[LABEL_MAX];
        const char *title = tr(c->lang, "作業実績報告書", "Work report (作業実績報告書)");
        size_t size = 0;
        Doc d;
        int r;

        r = doc_open(&d, c, false, &buf, &size);
        if (r < 0)
                return r;
        /* CSV: every section, each under its heading, as wide as the work table. */
        d.csv_width = QUARTERLY_WORK_COLUMNS;
        (void) snprintf(name, sizeof(name), "%s %s", title, p->label);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, p);
        quarterly_due(c, p, due);
        if (due[0])
                doc_field(&d, tr(c->lang, "提出期限", "Due"), due);
        doc_fields_end(&d);
        quarterly_work(&d, c, work, n_work);
        quarterly_faults(&d, c, p, faults, n_faults);
        quarterly_investigations(&d, c, inv, n_inv);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, &buf, ret);
}

/* ======================================================================== */
/* 障害復旧作業報告書 and データ消去報告書 */

/* The fault's identity: id, site, device, kind. */
static void fault_identity(Doc *d, const ReportContext *c, const ReportFault *f) {
        char id[TIME_MAX], site[LABEL_MAX], device[LABEL_MAX], kind[LABEL_MAX];
        Language l = c->lang;

        (void) snprintf(kind, sizeof(kind), tr(l, "%s（%s）", "%s (%s)"), kind_word(l, f->kind),
                        f->kind);
        doc_field(d, tr(l, "障害番号", "Fault"), fmt_int(f->id, id));
        doc_field(d, tr(l, "現場", "Site"), site_label(c, f->site, site));
        doc_field(d, tr(l, "機器", "Device"), device_label(l, f->device, device));
        doc_field(d, tr(l, "障害種別", "Kind"),
                  streq(kind_word(l, f->kind), f->kind) ? f->kind : kind);
}

static int fault_summary(Doc *d, const ReportContext *c, const ReportFault *f) {
        _cleanup_(freep) char *hidden = strv_join(f->hidden, f->n_hidden, ", ");
        Language l = c->lang;

        if (!hidden)
                return -ENOMEM;
        doc_heading(d, tr(l, "障害の概要", "The fault"));
        doc_fields_begin(d);
        fault_identity(d, c, f);
        doc_field(d, tr(l, "把握の経緯", "Found by"),
                  f->origin == FAULT_ORIGIN_CALL      ? tr(l, "通報（監視では検知できない障害）",
                                                           "a call (no probe sees it)")
                  : f->origin == FAULT_ORIGIN_ANOMALY ? tr(l, "異常の調査（障害として対応）",
                                                           "the investigation of an anomaly")
                                                      : tr(l, "監視による検知", "the probes"));
        doc_field(d, tr(l, "検知した症状", "Symptom"), f->reason ?: "");
        doc_field(d, tr(l, "確認箇所", "Check"), f->hint ?: "");
        doc_field(d, tr(l, "到達不能になった機器", "Devices made unreachable"), hidden);
        doc_fields_end(d);
        return 0;
}

static void fault_timeline(Doc *d, const ReportContext *c, const ReportFault *f) {
        char det[TIME_MAX], rec[TIME_MAX], due[TIME_MAX], appr[TIME_MAX], ddue[TIME_MAX],
                on[TIME_MAX], done[TIME_MAX], clr[TIME_MAX], late[TIME_MAX], met[LABEL_MAX];
        time_t due_at = fault_due_at(f);
        Language l = c->lang;

        met[0] = 0;
        if (f->sendback)
                (void) snprintf(met, sizeof(met), "%s",
                                tr(l, "センドバック保守（現地着手期限なし）",
                                   "send-back maintenance (no onsite due)"));
        else if (!f->received_at)
                (void) snprintf(met, sizeof(met), "%s",
                                tr(l, "未受付（障害受付の連絡なし）", "not received (no call)"));
        else if (f->onsite_started_at && f->onsite_started_at <= due_at)
                (void) snprintf(met, sizeof(met), "%s", tr(l, "期限内", "met"));
        else if (f->onsite_started_at)
                (void) snprintf(met, sizeof(met),
                                tr(l, "期限超過（%s 超過）", "missed (late by %s)"),
                                fmt_hms((int64_t) (f->onsite_started_at - due_at), late));
        doc_heading(d, tr(l, "経過", "Timeline"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "検知日時", "Detected"), fmt_time(f->detected_at, det));
        doc_field(d, tr(l, "受付日時", "Received"), fmt_time(f->received_at, rec));
        if (f->received_from && f->received_from[0])
                doc_field(d, tr(l, "障害受付の連絡元", "Call from"), f->received_from);
        doc_field(d, tr(l, "現地着手期限", "Onsite due"), fmt_time(f->onsite_due, due));
        doc_field(d, tr(l, "延期の承認日時", "Deferral approved"),
                  fmt_time(f->deferral_approved_at, appr));
        doc_field(d, tr(l, "延期の承認者", "Deferral approved by"), f->deferral_approved_by ?: "");
        doc_field(d, tr(l, "延期の理由", "Reason for the deferral"), f->deferral_reason ?: "");
        doc_field(d, tr(l, "延期後の現地着手期限", "Deferred onsite due"),
                  f->deferral_approved_at ? fmt_time(f->deferred_onsite_due, ddue) : "");
        doc_field(d, tr(l, "現地作業開始日時", "Onsite work started"),
                  fmt_time(f->onsite_started_at, on));
        doc_field(d, tr(l, "現地着手期限の遵守", "Onsite due met"), met);
        doc_field(d, tr(l, "復旧日時", "Recovered"), fmt_time(f->recovered_at, done));
        doc_field(d, tr(l, "機器の応答回復日時", "Device back in service"),
                  fmt_time(fault_end(f), clr));
        doc_fields_end(d);
}

static char *person_at(Language l, const char *who, time_t at, char buf[static LABEL_MAX]);

static int fault_work(Doc *d, const ReportContext *c, const ReportFault *f) {
        _cleanup_(freep) char *parts = strv_join(f->parts, f->n_parts, ", ");
        Language l = c->lang;

        if (!parts)
                return -ENOMEM;
        doc_heading(d, tr(l, "対応内容", "Recovery work"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "障害発生原因", "Cause"), f->cause ?: "");
        doc_field(d, tr(l, "対処作業の結果", "Action taken and result"), f->action ?: "");
        doc_field(d, tr(l, "再発防止策", "Prevention"), f->prevention ?: "");
        doc_field(d, tr(l, "交換部品", "Parts replaced"),
                  parts[0] ? parts : tr(l, "なし", "none"));
        if (f->remote)
                doc_field(d, tr(l, "対応方法", "How"),
                          tr(l, "遠隔（現地作業なし）", "remotely (no visit)"));
        if (f->temporary_recovered_at) {
                char t[TIME_MAX];

                doc_field(d, tr(l, "暫定復旧", "Provisional recovery"),
                          fmt_time(f->temporary_recovered_at, t));
        }
        if (f->loaner && f->loaner[0])
                doc_field(d, tr(l, "代替機器", "Loaner installed"), f->loaner);
        if (f->quote_at) {
                _cleanup_(freep) char *q = strv_join(f->quote_parts, f->n_quote_parts, ", ");
                char buf[LABEL_MAX], who[LABEL_MAX];

                (void) snprintf(buf, sizeof(buf), tr(l, "%s（%" PRId64 " 円）提出 %s",
                                                     "%s (%" PRId64 " yen), handed in by %s"),
                                q ?: "", f->quote_amount,
                                person_at(l, f->quote_by, f->quote_at, who));
                doc_field(d, tr(l, "有償交換部品の見積", "Paid parts quoted"), buf);
                doc_field(d, tr(l, "見積の承認", "Quote approved"),
                          f->quote_approved_at
                                  ? person_at(l, f->quote_approved_by, f->quote_approved_at, who)
                                  : tr(l, "未承認", "not yet"));
        }
        doc_field(d, tr(l, "情報記録媒体の交換", "Storage medium replaced"),
                  f->media_replaced ? tr(l, "あり（データ消去報告書を別途提出）",
                                         "yes (see the data erasure report)")
                                    : tr(l, "なし", "no"));
        doc_fields_end(d);
        return 0;
}

/* "山田 太郎（2026-09-16 10:05）". */
static char *person_at(Language l, const char *who, time_t at, char buf[static LABEL_MAX]) {
        char t[TIME_MAX];

        if (!who || !who[0])
                (void) snprintf(buf, LABEL_MAX, "%s", fmt_time(at, t));
        else if (at)
                (void) snprintf(buf, LABEL_MAX, tr(l, "%s（%s）", "%s (%s)"), who,
                                fmt_time(at, t));
        else
                (void) snprintf(buf, LABEL_MAX, "%s", who);
        return buf;
}

static void fault_people(Doc *d, const ReportContext *c, const ReportFault *f) {
        char ack[LABEL_MAX], on[LABEL_MAX], rec[LABEL_MAX];
        Language l = c->lang;

        doc_heading(d, tr(l, "対応者", "People"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "受付確認者", "Acknowledged by"),
                  person_at(l, f->acknowledged_by, f->acknowledged_at, ack));
        doc_field(d, tr(l, "受付時の記録", "Acknowledgement note"), f->ack_note ?: "");
        doc_field(d, tr(l, "現地作業者", "Onsite work by"),
                  person_at(l, f->onsite_by, f->onsite_started_at, on));
        doc_field(d, tr(l, "復旧作業者", "Recovery work by"),
                  person_at(l, f->recovered_by, f->recovered_at, rec));
        doc_fields_end(d);
}

/* The report's own due day, the submission and the time of making. */
static void fault_report_due(Doc *d, const ReportContext *c, const ReportFault *f, bool erasure) {
        uint64_t within = erasure ? c->config->sla.erasure_report_within
                                  : c->config->sla.recovery_report_within;
        time_t submitted = erasure ? f->erasure_report_submitted_at
                                   : f->recovery_report_submitted_at;
        char due[LABEL_MAX], sub[TIME_MAX], now[TIME_MAX];
        Language l = c->lang;
        ReportDue rd;

        due[0] = 0;
        if (clocks_report_due(c->cal, f->recovered_at, within, &rd) >= 0)
                (void) due_text(l, &rd, due);
        doc_heading(d, tr(l, "本報告書", "This report"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "提出期限", "Due"), due);
        doc_field(d, tr(l, "提出日時", "Handed in"),
                  submitted ? fmt_time(submitted, sub) : tr(l, "未提出", "not yet"));
        if (c->config->contract.title)
                doc_field(d, tr(l, "件名", "Title"), c->config->contract.title);
        doc_field(d, tr(l, "契約名", "Contract"), c->config->contract.name ?: "");
        doc_field(d, tr(l, "作成日時", "Prepared"), fmt_time(c->now, now));
        doc_fields_end(d);
}

int report_fault(const ReportContext *c, const ReportFault *f, char **ret) {
        _cleanup_(freep) char *buf = NULL;
        const char *title = tr(c->lang, "障害復旧作業報告書",
                               "Fault recovery report (障害復旧作業報告書)");
        char name[LABEL_MAX];
        size_t size = 0;
        Doc d;
        int r;

        if (!f->recovered_at)
                return -ENODATA;
        r = doc_open(&d, c, true, &buf, &size);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %" PRId64, title, f->id);
        doc_begin(&d, title, name);
        r = fault_summary(&d, c, f);
        if (r >= 0) {
                fault_timeline(&d, c, f);
                r = fault_work(&d, c, f);
        }
        if (r >= 0) {
                fault_people(&d, c, f);
                fault_report_due(&d, c, f, false);
                doc_zone_note(&d, c);
                doc_end(&d);
        }
        return doc_close(&d, r, &buf, ret);
}

int report_erasure(const ReportContext *c, const ReportFault *f, char **ret) {
        _cleanup_(freep) char *buf = NULL, *parts = NULL;
        const char *title =
                tr(c->lang, "データ消去報告書", "Data erasure report (データ消去報告書)");
        char name[LABEL_MAX], day[TIME_MAX];
        Language l = c->lang;
        size_t size = 0;
        Day recovered;
        Doc d;
        int sec, r;

        if (!f->recovered_at)
                return -ENODATA;
        if (!f->media_replaced)
                return -ENOMEDIUM;
        parts = f->n_parts > 0 ? strv_join(f->parts, f->n_parts, ", ") : strdup("WV-SDB128G");
        if (!parts)
                return -ENOMEM;
        r = local_from_instant(f->recovered_at, &recovered, &sec);
        if (r < 0)
                return r;
        r = doc_open(&d, c, true, &buf, &size);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %" PRId64, title, f->id);
        doc_begin(&d, title, name);
        doc_heading(&d, tr(l, "交換した情報記録媒体", "The storage medium replaced"));
        doc_fields_begin(&d);
        doc_field(&d, tr(l, "情報記録媒体", "Storage medium"), parts);
        fault_identity(&d, c, f);
        doc_field(&d, tr(l, "障害復旧作業日", "Recovery work done on"), fmt_day(recovered, day));
        doc_field(&d, tr(l, "復旧作業者", "Recovery work by"), f->recovered_by ?: "");
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "データ消去", "Erasure"));
        doc_paragraph(&d,
                      tr(l, "交換した情報記録媒体は、発注者施設の外へ撤収する前に、発注者職員の"
                            "立会いのもと、データを復元できない方法（物理的破壊又は磁気的破壊）で"
                            "消去した、又は発注者に引き渡した。",
                         "Before it left the city's premises, and in the presence of a city "
                         "official, the replaced storage medium was erased so that its data "
                         "cannot be restored (physical or magnetic destruction), or was handed "
                         "over to the city."),
                      false);
        doc_fields_begin(&d);
        doc_field(&d, tr(l, "処理方法", "Method"),
                  tr(l, "□ 物理的破壊　□ 磁気的破壊　□ 発注者への引渡し",
                     "□ physical destruction  □ magnetic destruction  □ handed over to the city"));
        doc_field(&d, tr(l, "実施日時", "Date and time"), NULL);
        doc_field(&d, tr(l, "実施場所", "Place"), NULL);
        doc_field(&d, tr(l, "作業者（受注者） 氏名", "Done by (contractor), name"), NULL);
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "立会者（発注者職員）", "Witness (city official)"));
        doc_fields_begin(&d);
        doc_field(&d, tr(l, "所属", "Department"), NULL);
        doc_field(&d, tr(l, "氏名", "Name"), NULL);
        doc_field(&d, tr(l, "署名又は印", "Signature or seal"), NULL);
        doc_fields_end(&d);

        fault_report_due(&d, c, f, true);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, &buf, ret);
}

/* ======================================================================== */
/* Availability */

int report_availability(const ReportContext *c, const ReportPeriod *p,
                        const ReportFault *faults, size_t n, char **ret) {
        _cleanup_(freep) Downtime *dt = NULL;
        _cleanup_(freep) char *buf = NULL;
        const char *title = tr(c->lang, "稼働率報告", "Availability report");
        char name[LABEL_MAX], note[LABEL_MAX * 2], a[TIME_MAX], b[TIME_MAX];
        int64_t total = (int64_t) (p->to - p->from);
        int64_t business = report_business_seconds(c->cal, p->from, p->to);
        Language l = c->lang;
        size_t n_dt = 0, size = 0;
        Doc d;
        int r;

        r = report_downtime(c, p, faults, n, &dt, &n_dt);
        if (r < 0)
                return r;
        r = doc_open(&d, c, false, &buf, &size);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %s", title, p->label);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, p);
        doc_field(&d, tr(l, "対象時間（全時間）", "Hours in the period"), fmt_hms(total, a));
        doc_field(&d, tr(l, "対象時間（業務時間）", "Business hours in the period"),
                  fmt_hms(business, b));
        doc_fields_end(&d);

        doc_heading(&d, tr(l, "機器別の停止時間と稼働率", "Downtime and availability by device"));
        doc_table_begin(
                &d,
                (const char *const[]) {
                        tr(l, "現場", "Site"), tr(l, "設置場所", "Place"), tr(l, "機器", "Device"),
                        tr(l, "停止", "Down"), tr(l, "機能低下", "Degraded"),
                        tr(l, "稼働率(%)", "Availability (%)"),
                        tr(l, "停止（業務時間）", "Down (business hours)"),
                        tr(l, "機能低下（業務時間）", "Degraded (business hours)"),
                        tr(l, "稼働率(%)（業務時間）", "Availability (%) (business hours)") },
                9, "lllrrrrrr", true);
        for (size_t i = 0; i < n_dt; i++) {
                char down[TIME_MAX], deg[TIME_MAX], pct[TIME_MAX], bdown[TIME_MAX],
                        bdeg[TIME_MAX], bpct[TIME_MAX];

                doc_row(&d, (const char *const[]) {
                                    dt[i].site, site_name(c, dt[i].site), dt[i].device,
                                    fmt_hms(dt[i].down, down), fmt_hms(dt[i].degraded, deg),
                                    fmt_percent(total - dt[i].down, total, pct),
                                    fmt_hms(dt[i].down_business, bdown),
                                    fmt_hms(dt[i].degraded_business, bdeg),
                                    fmt_percent(business - dt[i].down_business, business, bpct) });
        }
        doc_table_end(&d);
        (void) snprintf(note, sizeof(note),
                        tr(l,
                           "停止は障害の検知から解消まで（解消していない障害は期間の終わりまで）の"
                           "時間で、上位機器の障害で到達できなくなった機器はその時間も停止に"
                           "数えます。機能低下は停止と重ならない時間です。業務時間は営業日の"
                           "%02d:%02d〜%02d:%02dです。稼働率は停止していない時間の割合"
                           "（小数点以下2桁、切り捨て）です。",
                           "Down is the time from a fault's detection to its clearing (to the "
                           "end of the period while it is open); a device made unreachable by "
                           "its parent's fault is down for that time too. Degraded counts only "
                           "the time not down. Business hours are %02d:%02d to %02d:%02d on "
                           "business days. Availability is the share of time not down, rounded "
                           "down to two decimals."),
                        calendar_open_sec(c->cal) / 3600, calendar_open_sec(c->cal) / 60 % 60,
                        calendar_close_sec(c->cal) / 3600, calendar_close_sec(c->cal) / 60 % 60);
        doc_paragraph(&d, note, true);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, &buf, ret);
}

/* ======================================================================== */
/* The response clock */

static const char *sla_result_word(Language l, SlaResult s) {
        switch (s) {
        case SLA_MET:
                return tr(l, "期限内", "met");
        case SLA_BREACHED:
                return tr(l, "期限超過", "breached");
        case SLA_PENDING:
                return tr(l, "対応中（期限前）", "pending");
        case SLA_SENDBACK:
                return tr(l, "センドバック保守（現地着手期限なし）", "send-back (no onsite due)");
        default:
                return tr(l, "期限前に解消（現地作業なし）", "cleared before the due time");
        }
}

static void sla_figures(Doc *d, const ReportContext *c, const SlaStats *s) {
        char v[15][TIME_MAX];
        Language l = c->lang;
        bool call = c->config->sla.reception == SLA_RECEPTION_CALL;

        doc_heading(d, tr(l, "集計", "Figures"));
        doc_fields_begin(d);
        doc_field(d, tr(l, "受付の基準", "Reception"),
                  call ? tr(l, "障害受付の連絡を受けた時", "when the fault call is received")
                       : tr(l, "障害を検知した時（受付時間外は翌営業時間の開始）",
                            "at detection (outside business hours: the next opening)"));
        doc_field(d, tr(l, "受付件数", "Faults received"), fmt_int((int64_t) s->received, v[0]));
        doc_field(d, tr(l, "現地作業を開始した件数", "With onsite work"),
                  fmt_int((int64_t) s->onsite, v[1]));
        doc_field(d, tr(l, "応答時間（中央値）", "Response time (median)"),
                  s->response_median >= 0 ? fmt_hms(s->response_median, v[2]) : "");
        doc_field(d, tr(l, "応答時間（最大）", "Response time (maximum)"),
                  s->response_max >= 0 ? fmt_hms(s->response_max, v[3]) : "");
        doc_field(d, tr(l, "期限内に着手", "Met"), fmt_int((int64_t) s->met, v[4]));
        doc_field(d, tr(l, "期限超過", "Breached"), fmt_int((int64_t) s->breached, v[5]));
        doc_field(d, tr(l, "対応中（期限前）", "Pending"), fmt_int((int64_t) s->pending, v[6]));
        doc_field(d, tr(l, "期限前に解消（現地作業なし）", "Cleared before the due time"),
                  fmt_int((int64_t) s->stopped, v[7]));
        doc_field(d, tr(l, "センドバック保守（現地着手期限なし）", "Send-back maintenance (no onsite due)"),
                  fmt_int((int64_t) s->sendback, v[14]));
        doc_field(d, tr(l, "延期承認あり", "Deferred with approval"),
                  fmt_int((int64_t) s->deferred, v[8]));
        doc_field(d, tr(l, "一過性の障害", "Transient faults"),
                  fmt_int((int64_t) s->transient, v[9]));
        doc_field(d, tr(l, "報告書 期限内に提出", "Reports handed in on time"),
                  fmt_int((int64_t) s->reports_on_time, v[10]));
        doc_field(d, tr(l, "報告書 期限後に提出", "Reports handed in late"),
                  fmt_int((int64_t) s->reports_late, v[11]));
        doc_field(d, tr(l, "報告書 未提出", "Reports outstanding"),
                  fmt_int((int64_t) s->reports_outstanding, v[12]));
        doc_field(d, tr(l, "報告書 未提出のうち期限超過", "Reports outstanding and overdue"),
                  fmt_int((int64_t) s->reports_overdue, v[13]));
        doc_fields_end(d);
}

static void sla_faults(Doc *d, const ReportContext *c, const ReportPeriod *p,
                       const ReportFault *f, size_t n) {
        Language l = c->lang;
        const char *headers[] = {
                tr(l, "障害番号", "Fault"),          tr(l, "現場", "Site"),
                tr(l, "機器", "Device"),             tr(l, "種別", "Kind"),
                tr(l, "受付日時", "Received"),       tr(l, "現地着手期限", "Due"),
                tr(l, "現地作業開始", "Onsite started"), tr(l, "応答時間", "Response"),
                tr(l, "結果", "Result"),             tr(l, "延期承認", "Deferral approved"),
        };
        size_t shown = 0;

        doc_heading(d, tr(l, "障害別", "By fault"));
        for (size_t i = 0; i < n; i++) {
                char id[TIME_MAX], rec[TIME_MAX], due[TIME_MAX], on[TIME_MAX], resp[TIME_MAX],
                        appr[TIME_MAX];

                if (!f[i].received_at || !received_in(&f[i], p))
                        continue;
                if (shown++ == 0)
                        doc_table_begin(d, headers, ELEMENTSOF(headers), "rllllllrll", false);
                doc_row(d,
                        (const char *const[]) {
                                fmt_int(f[i].id, id), f[i].site, f[i].device,
                                kind_word(l, f[i].kind), fmt_time(f[i].received_at, rec),
                                fmt_time(fault_due_at(&f[i]), due),
                                fmt_time(f[i].onsite_started_at, on),
                                f[i].onsite_started_at ? fmt_hms(sla_response(&f[i]), resp) : "",
                                sla_result_word(l, sla_result(&f[i], c->now)),
                                fmt_time(f[i].deferral_approved_at, appr) });
        }
        if (shown > 0)
                doc_table_end(d);
        else
                doc_paragraph(d, tr(l, "当該期間に受け付けた障害はありません。",
                                    "No fault was received in this period."),
                              false);
}

int report_sla(const ReportContext *c, const ReportPeriod *p, const ReportFault *faults,
               size_t n, char **ret) {
        _cleanup_(freep) char *buf = NULL;
        const char *title = tr(c->lang, "現地対応時間（SLA）報告", "Onsite response (SLA) report");
        char name[LABEL_MAX];
        size_t size = 0;
        SlaStats s;
        Doc d;
        int r;

        r = report_sla_stats(c, p, faults, n, &s);
        if (r < 0)
                return r;
        r = doc_open(&d, c, true, &buf, &size);
        if (r < 0)
                return r;
        (void) snprintf(name, sizeof(name), "%s %s", title, p->label);
        doc_begin(&d, title, name);
        doc_preamble(&d, c, p);
        doc_fields_end(&d);
        sla_figures(&d, c, &s);
        sla_faults(&d, c, p, faults, n);
        doc_paragraph(&d,
                      tr(c->lang,
                         "対象は期間中に受け付けた障害です。応答時間は受付から現地作業開始まで、"
                         "期限は延期が承認された場合は延期後の期限です。報告書は障害復旧作業"
                         "報告書とデータ消去報告書で、提出日が期間の末日（休日の場合は翌営業日、"
                         "民法第142条）以前なら期限内です。",
                         "The faults received in the period. The response time runs from "
                         "reception to the start of onsite work; the due time is the deferred "
                         "one when a deferral was approved. Reports are the fault recovery and "
                         "data erasure reports, on time when handed in by the period's last "
                         "day (a closed day moves it to the next business day, Civil Code "
                         "art. 142)."),
                      true);
        doc_zone_note(&d, c);
        doc_end(&d);
        return doc_close(&d, 0, &buf, ret);
}
