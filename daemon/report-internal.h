/* SPDX-License-Identifier: MIT */
#pragma once

/* What the files of the reports share: the document writer (report-doc.c),
 * the measures and the records' helpers (report-measures.c), for the
 * builders (report.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "report.h"

#define LABEL_MAX 512
#define TIME_MAX 32

static inline const char *tr(Language l, const char *ja, const char *en) {
        return l == LANGUAGE_JA ? ja : en;
}

/* ======================================================================== */
/* The document writer (report-doc.c). A field section is a two-column
 * table (label, value); a table has a header row. In CSV only the tables
 * marked for it are written (and the field sections when csv_fields is
 * set, under one header row); headings and paragraphs are left out. A cell
 * of "" shows as a dash in Markdown and HTML; a NULL cell is a blank line to
 * be filled in by hand. The document is capped at REPORT_DOC_MAX bytes. */

typedef struct DocOps DocOps;

typedef struct Doc {
        Buf out;
        const DocOps *ops;           /* the format's */
        Language lang;
        bool csv_fields;             /* CSV: the field sections are the table */
        bool csv_header_done;
        size_t n_columns;
        const char *align;           /* of the open table: 'l' or 'r' per column */
        bool in_csv;                 /* the open table is the CSV's */
        size_t csv_width;            /* CSV of sections: every row this wide, 0 if not */
} Doc;

/* -EINVAL for a format out of range. */
int doc_open(Doc *d, const ReportContext *c, bool csv_fields);
/* Hands the document to *ret when r >= 0 and nothing failed; frees it
 * otherwise. Returns r, or the writer's error (-ENOMEM, -E2BIG). */
int doc_close(Doc *d, int r, char **ret);

/* title: the heading; name: the HTML <title>. CSV: the BOM. */
void doc_begin(Doc *d, const char *title, const char *name);
void doc_end(Doc *d);
void doc_heading(Doc *d, const char *text);
void doc_paragraph(Doc *d, const char *text, bool note);
/* align: 'l' or 'r' per column; in_csv: the table is written in CSV too. */
void doc_table_begin(Doc *d, const char *const *headers, size_t n, const char *align,
                     bool in_csv);
void doc_row(Doc *d, const char *const *cells);
void doc_table_end(Doc *d);
void doc_fields_begin(Doc *d);
void doc_field(Doc *d, const char *label, const char *value);
void doc_fields_end(Doc *d);

/* How values are written in cells: "2026-09-16 10:05" in contract time
 * ("" for 0), "2026-09-16", durations "12:34:56" (measured) and "3:30"
 * (work, to the minute), a percentage to two decimals rounded down ("" for
 * a whole of 0), an integer. Each returns buf. */
char *fmt_time(time_t t, char buf[static TIME_MAX]);
char *fmt_day(Day day, char buf[static TIME_MAX]);
char *fmt_hms(int64_t s, char buf[static TIME_MAX]);
char *fmt_hm(int64_t s, char buf[static TIME_MAX]);
char *fmt_percent(int64_t part, int64_t whole, char buf[static TIME_MAX]);
char *fmt_int(int64_t v, char buf[static TIME_MAX]);

/* ======================================================================== */
/* Records and measures (report-measures.c) */

/* The onsite due time that counts: the approved deferral, else onsite_due. */
time_t report_fault_due_at(const ReportFault *f);
/* When the fault stopped being a fault: cleared, else closed; 0 while open. */
time_t report_fault_end(const ReportFault *f);
/* Whether the fault was being handled during [from, to): detected before
 * the end, and still open or with something done after the start. */
bool report_fault_in_period(const ReportFault *f, time_t from, time_t to);
/* Whether the fault was received within the period. */
bool report_fault_received_in(const ReportFault *f, const ReportPeriod *p);

typedef enum SlaResult {
        SLA_MET,
        SLA_BREACHED,
        SLA_PENDING,
        SLA_STOPPED,
        SLA_SENDBACK,
} SlaResult;

SlaResult report_sla_result(const ReportFault *f, time_t now);
/* Received → onsite started; 0 when onsite work began before reception
 * (a visit outside the window), -1 without onsite work. */
int64_t report_sla_response(const ReportFault *f);
