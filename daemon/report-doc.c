/* SPDX-License-Identifier: MIT */

/* The reports' document writer: one DocOps table per format (Markdown,
 * printable A4 HTML, CSV) with its escaper, writing into a capped Buf, and
 * how times, durations and numbers are written in its cells. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "report-internal.h"

struct DocOps {
        void (*begin)(Doc *d, const char *title, const char *name);
        void (*end)(Doc *d);
        void (*heading)(Doc *d, const char *text);
        void (*paragraph)(Doc *d, const char *text, bool note);
        void (*table_begin)(Doc *d, const char *const *headers, size_t n);
        void (*row)(Doc *d, const char *const *cells);
        void (*table_end)(Doc *d);
        void (*fields_begin)(Doc *d, const char *const headers[static 2]);
        void (*field)(Doc *d, const char *label, const char *value);
        void (*fields_end)(Doc *d);
};

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
/* Markdown (GFM) */

/* Table cells and text: inline markup characters and the cell separator
 * are backslash-escaped, HTML is neutralised as entities, a newline
 * becomes <br> (a table row is one line). */
static void md_escape(Buf *b, const char *s) {
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
                        buf_putc(b, '\\');
                        buf_putc(b, *s);
                        break;
                case '&':
                        buf_puts(b, "&amp;");
                        break;
                case '<':
                        buf_puts(b, "&lt;");
                        break;
                case '>':
                        buf_puts(b, "&gt;");
                        break;
                case '\n':
                        buf_puts(b, "<br>");
                        break;
                case '\r':
                        break;
                case '\t':
                        buf_putc(b, ' ');
                        break;
                default:
                        buf_putc(b, *s);
                }
}

static void md_begin(Doc *d, const char *title, const char *name) {
        (void) name;
        buf_puts(&d->out, "# ");
        md_escape(&d->out, title);
        buf_puts(&d->out, "\n\n");
}

static void md_end(Doc *d) {
        (void) d;
}

static void md_heading(Doc *d, const char *text) {
        buf_puts(&d->out, "## ");
        md_escape(&d->out, text);
        buf_puts(&d->out, "\n\n");
}

static void md_paragraph(Doc *d, const char *text, bool note) {
        (void) note;
        md_escape(&d->out, text);
        buf_puts(&d->out, "\n\n");
}

static void md_table_begin(Doc *d, const char *const *headers, size_t n) {
        for (size_t i = 0; i < n; i++) {
                buf_puts(&d->out, "| ");
                md_escape(&d->out, headers[i]);
                buf_putc(&d->out, ' ');
        }
        buf_puts(&d->out, "|\n");
        for (size_t i = 0; i < n; i++)
                buf_puts(&d->out, d->align && d->align[i] == 'r' ? "| ---: " : "| --- ");
        buf_puts(&d->out, "|\n");
}

static void md_row(Doc *d, const char *const *cells) {
        for (size_t i = 0; i < d->n_columns; i++) {
                buf_puts(&d->out, "| ");
                if (!cells[i])
                        buf_puts(&d->out, "＿＿＿＿＿＿＿＿＿＿");
                else
                        md_escape(&d->out, cells[i][0] ? cells[i] : "—");
                buf_putc(&d->out, ' ');
        }
        buf_puts(&d->out, "|\n");
}

static void md_table_end(Doc *d) {
        buf_putc(&d->out, '\n');
}

/* A field section is a table like any other. */
static void md_fields_begin(Doc *d, const char *const headers[static 2]) {
        doc_table_begin(d, headers, 2, "ll", false);
}

static void field_as_row(Doc *d, const char *label, const char *value) {
        doc_row(d, (const char *const[]) { label, value });
}

static void fields_end_as_table(Doc *d) {
        doc_table_end(d);
}

static const DocOps md_ops = {
        .begin = md_begin,
        .end = md_end,
        .heading = md_heading,
        .paragraph = md_paragraph,
        .table_begin = md_table_begin,
        .row = md_row,
        .table_end = md_table_end,
        .fields_begin = md_fields_begin,
        .field = field_as_row,
        .fields_end = fields_end_as_table,
};

/* ======================================================================== */
/* HTML, printable on A4 */

/* The five characters that matter in text and attribute values. */
static void html_escape(Buf *b, const char *s) {
        for (; *s; s++)
                switch (*s) {
                case '&':
                        buf_puts(b, "&amp;");
                        break;
                case '<':
                        buf_puts(b, "&lt;");
                        break;
                case '>':
                        buf_puts(b, "&gt;");
                        break;
                case '"':
                        buf_puts(b, "&quot;");
                        break;
                case '\'':
                        buf_puts(b, "&#39;");
                        break;
                default:
                        buf_putc(b, *s);
                }
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

static void html_begin(Doc *d, const char *title, const char *name) {
        buf_printf(&d->out, "<!DOCTYPE html>\n<html lang=\"%s\">\n<head>\n%s<title>",
                   tr(d->lang, "ja", "en"), html_head);
        html_escape(&d->out, name);
        buf_puts(&d->out, "</title>\n</head>\n<body>\n<h1>");
        html_escape(&d->out, title);
        buf_puts(&d->out, "</h1>\n");
}

static void html_end(Doc *d) {
        buf_puts(&d->out, "</body>\n</html>\n");
}

static void html_heading(Doc *d, const char *text) {
        buf_puts(&d->out, "<h2>");
        html_escape(&d->out, text);
        buf_puts(&d->out, "</h2>\n");
}

static void html_paragraph(Doc *d, const char *text, bool note) {
        buf_puts(&d->out, note ? "<p class=\"note\">" : "<p>");
        html_escape(&d->out, text);
        buf_puts(&d->out, "</p>\n");
}

static void html_table_begin(Doc *d, const char *const *headers, size_t n) {
        buf_puts(&d->out, "<table>\n<thead>\n<tr>");
        for (size_t i = 0; i < n; i++) {
                buf_puts(&d->out, "<th scope=\"col\">");
                html_escape(&d->out, headers[i]);
                buf_puts(&d->out, "</th>");
        }
        buf_puts(&d->out, "</tr>\n</thead>\n<tbody>\n");
}

static void html_row(Doc *d, const char *const *cells) {
        buf_puts(&d->out, "<tr>");
        for (size_t i = 0; i < d->n_columns; i++) {
                if (!cells[i]) {
                        buf_puts(&d->out, "<td class=\"blank\"></td>");
                        continue;
                }
                buf_puts(&d->out, d->align && d->align[i] == 'r' ? "<td class=\"r\">" : "<td>");
                html_escape(&d->out, cells[i][0] ? cells[i] : "—");
                buf_puts(&d->out, "</td>");
        }
        buf_puts(&d->out, "</tr>\n");
}

static void html_table_end(Doc *d) {
        buf_puts(&d->out, "</tbody>\n</table>\n");
}

/* A field section: a table of row headers, without a header row. */
static void html_fields_begin(Doc *d, const char *const headers[static 2]) {
        (void) headers;
        buf_puts(&d->out, "<table class=\"fields\">\n<tbody>\n");
        d->n_columns = 2;
}

static void html_field(Doc *d, const char *label, const char *value) {
        buf_puts(&d->out, "<tr><th scope=\"row\">");
        html_escape(&d->out, label);
        buf_puts(&d->out, value ? "</th><td>" : "</th><td class=\"blank\">");
        if (value)
                html_escape(&d->out, value[0] ? value : "—");
        buf_puts(&d->out, "</td></tr>\n");
}

static void html_fields_end(Doc *d) {
        buf_puts(&d->out, "</tbody>\n</table>\n");
        d->n_columns = 0;
}

static const DocOps html_ops = {
        .begin = html_begin,
        .end = html_end,
        .heading = html_heading,
        .paragraph = html_paragraph,
        .table_begin = html_table_begin,
        .row = html_row,
        .table_end = html_table_end,
        .fields_begin = html_fields_begin,
        .field = html_field,
        .fields_end = html_fields_end,
};

/* ======================================================================== */
/* CSV (RFC 4180, CRLF, UTF-8 with a BOM) */

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

/* Quoted when it holds a comma, a quote or a line break; quotes doubled.
 * A cell a spreadsheet would take for a formula (it starts with = + - @, a
 * tab or a carriage return) is neutralised with a leading apostrophe, as
 * OWASP's "CSV Injection" page recommends; plain numbers stay numbers. */
static void csv_escape(Buf *b, const char *s) {
        bool formula = s[0] && strchr("=+-@\t\r", s[0]) && !csv_number(s);

        if (!formula && !s[strcspn(s, ",\"\r\n")]) {
                buf_puts(b, s);
                return;
        }
        buf_putc(b, '"');
        if (formula)
                buf_putc(b, '\'');
        for (; *s; s++) {
                if (*s == '"')
                        buf_putc(b, '"');
                buf_putc(b, *s);
        }
        buf_putc(b, '"');
}

int report_csv_cell(FILE *f, const char *s) {
        _cleanup_(buf_done) Buf b = { .max = SIZE_MAX / 2 };

        csv_escape(&b, s ?: "");
        if (b.error < 0)
                return b.error;
        if (b.len > 0 && fwrite(b.s, 1, b.len, f) != b.len)
                return -EIO;
        return 0;
}

static void csv_row(Doc *d, const char *const *cells, size_t n) {
        for (size_t i = 0; i < MAX(n, d->csv_width); i++) {
                if (i > 0)
                        buf_putc(&d->out, ',');
                csv_escape(&d->out, i < n ? cells[i] ?: "" : "");
        }
        buf_puts(&d->out, "\r\n");
}

/* A CSV of sections: a line of text (title, heading, paragraph) is a row
 * of its own, its text in the first cell. */
static void csv_line(Doc *d, const char *text) {
        if (d->csv_width > 0)
                csv_row(d, (const char *const[]) { text }, 1);
}

static void csv_begin(Doc *d, const char *title, const char *name) {
        (void) name;
        buf_puts(&d->out, "\xEF\xBB\xBF");
        csv_line(d, title);
}

static void csv_end(Doc *d) {
        (void) d;
}

static void csv_paragraph(Doc *d, const char *text, bool note) {
        (void) note;
        csv_line(d, text);
}

static void csv_table_begin(Doc *d, const char *const *headers, size_t n) {
        if (d->in_csv)
                csv_row(d, headers, n);
}

static void csv_row_op(Doc *d, const char *const *cells) {
        if (d->in_csv)
                csv_row(d, cells, d->n_columns);
}

static void csv_table_end(Doc *d) {
        (void) d;
}

/* The field sections are the CSV's table when csv_fields is set: one
 * header row for all of them. */
static void csv_fields_begin(Doc *d, const char *const headers[static 2]) {
        d->n_columns = 2;
        d->in_csv = d->csv_fields || d->csv_width > 0;
        if (d->csv_fields && !d->csv_header_done)
                csv_row(d, headers, 2);
        d->csv_header_done = true;
}

static const DocOps csv_ops = {
        .begin = csv_begin,
        .end = csv_end,
        .heading = csv_line,
        .paragraph = csv_paragraph,
        .table_begin = csv_table_begin,
        .row = csv_row_op,
        .table_end = csv_table_end,
        .fields_begin = csv_fields_begin,
        .field = field_as_row,
        .fields_end = fields_end_as_table,
};

/* ======================================================================== */
/* The document */

static const DocOps *const doc_ops[_REPORT_FORMAT_MAX] = {
        [REPORT_FORMAT_MD] = &md_ops,
        [REPORT_FORMAT_HTML] = &html_ops,
        [REPORT_FORMAT_CSV] = &csv_ops,
};

int doc_open(Doc *d, const ReportContext *c, bool csv_fields) {
        if (c->format < 0 || c->format >= _REPORT_FORMAT_MAX)
                return -EINVAL;
        *d = (Doc) {
                .out = { .max = REPORT_DOC_MAX },
                .ops = doc_ops[c->format],
                .lang = c->lang,
                .csv_fields = csv_fields,
        };
        return 0;
}

int doc_close(Doc *d, int r, char **ret) {
        if (r < 0) {
                buf_done(&d->out);
                return r;
        }
        return buf_finish(&d->out, ret, NULL);
}

void doc_begin(Doc *d, const char *title, const char *name) {
        d->ops->begin(d, title, name);
}

void doc_end(Doc *d) {
        d->ops->end(d);
}

void doc_heading(Doc *d, const char *text) {
        d->ops->heading(d, text);
}

void doc_paragraph(Doc *d, const char *text, bool note) {
        d->ops->paragraph(d, text, note);
}

void doc_table_begin(Doc *d, const char *const *headers, size_t n, const char *align,
                     bool in_csv) {
        d->n_columns = n;
        d->align = align;
        d->in_csv = in_csv || d->csv_width > 0;
        d->ops->table_begin(d, headers, n);
}

void doc_row(Doc *d, const char *const *cells) {
        d->ops->row(d, cells);
}

void doc_table_end(Doc *d) {
        d->ops->table_end(d);
        d->n_columns = 0;
        d->in_csv = false;
}

void doc_fields_begin(Doc *d) {
        const char *headers[] = { tr(d->lang, "項目", "Field"), tr(d->lang, "内容", "Value") };

        d->ops->fields_begin(d, headers);
}

void doc_field(Doc *d, const char *label, const char *value) {
        d->ops->field(d, label, value);
}

void doc_fields_end(Doc *d) {
        d->ops->fields_end(d);
}

/* ======================================================================== */
/* Values in cells */

char *fmt_time(time_t t, char buf[static TIME_MAX]) {
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

char *fmt_day(Day day, char buf[static TIME_MAX]) {
        int y, m, d;

        day_to_ymd(day, &y, &m, &d);
        (void) snprintf(buf, TIME_MAX, "%04d-%02d-%02d", y, m, d);
        return buf;
}

char *fmt_hms(int64_t s, char buf[static TIME_MAX]) {
        s = MAX(s, 0);
        (void) snprintf(buf, TIME_MAX, "%" PRId64 ":%02d:%02d", s / 3600, (int) (s / 60 % 60),
                        (int) (s % 60));
        return buf;
}

char *fmt_hm(int64_t s, char buf[static TIME_MAX]) {
        s = MAX(s, 0);
        (void) snprintf(buf, TIME_MAX, "%" PRId64 ":%02d", s / 3600, (int) (s / 60 % 60));
        return buf;
}

char *fmt_percent(int64_t part, int64_t whole, char buf[static TIME_MAX]) {
        int64_t bp;

        if (whole <= 0) {
                buf[0] = 0;
                return buf;
        }
        bp = part * 10000 / whole;
        (void) snprintf(buf, TIME_MAX, "%" PRId64 ".%02d", bp / 100, (int) (bp % 100));
        return buf;
}

char *fmt_int(int64_t v, char buf[static TIME_MAX]) {
        (void) snprintf(buf, TIME_MAX, "%" PRId64, v);
        return buf;
}
