/* SPDX-License-Identifier: MIT */
#pragma once

/* The contract's reports (SPEC §2, §6; the specification's §7(2) and §8):
 * the quarterly work report (作業実績報告書), the fault recovery report
 * (障害復旧作業報告書), the data erasure report (データ消去報告書), and two
 * reports of the contract's measures, availability and the onsite response
 * clock (SLA).
 *
 * Pure builders: records in (the work items and faults the store keeps,
 * the configuration, the calendar, "now"), one document out, as Markdown,
 * a complete HTML5 page printable on A4, or CSV (RFC 4180, CRLF, UTF-8
 * with a BOM so that spreadsheets read Japanese; one table per report).
 * No I/O and no clock. Times are shown in the contract's zone (the
 * caller has switched to it with tz_use()). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "anomaly.h"
#include "calendar.h"
#include "config.h"
#include "fault.h"
#include "timeutil.h"

/* The most rows one report reads from the store. */
#define REPORT_ROWS_MAX 100000

typedef enum ReportFormat {
        REPORT_FORMAT_MD,
        REPORT_FORMAT_HTML,
        REPORT_FORMAT_CSV,
        _REPORT_FORMAT_MAX,
} ReportFormat;

/* "md", "html", "csv". */
const char *report_format_to_string(ReportFormat f);
/* A ReportFormat, or -EINVAL. */
int report_format_from_string(const char *s);

/* The period a report covers: the contract-local days first..last, that
 * is the instants [from, to). partial: to was cut at the report's "now". */
typedef struct ReportPeriod {
        Day first, last;
        time_t from, to;
        bool partial;
        char label[16];              /* "2026Q3", "2026-10" */
} ReportPeriod;

/* Parses "YYYYQn", a calendar quarter (Q1 = January–March, Q2 = April–June,
 * Q3 = July–September, Q4 = October–December; "q" also accepted), and
 * clips it to the contract's period when the contract has one. -EINVAL on
 * bad syntax, -ERANGE when no day of it lies within the contract. */
int report_quarter_parse(const char *s, const ContractConf *contract, ReportPeriod *ret);

/* Parses "YYYY-MM", a calendar month, clipped like a quarter. */
int report_month_parse(const char *s, const ContractConf *contract, ReportPeriod *ret);

/* Cuts the period at now when it has not ended yet. -ERANGE (p unchanged)
 * when it has not begun. */
int report_period_clip(ReportPeriod *p, time_t now);

/* An item of the work record (SPEC §8). Strings are owned. */
typedef struct ReportWork {
        int64_t id;
        time_t start_at, end_at;
        char *person, *title, *content, *notes;
        int64_t fault_id;            /* 0: not about a fault */
} ReportWork;

/* A fault with what operators recorded about it. Strings and vectors are
 * owned; a time of 0 means "not yet". */
typedef struct ReportFault {
        int64_t id;
        char site[16];               /* "" for the VPN */
        char device[24];
        char kind[32];
        FaultSeverity severity;
        FaultState state;
        time_t detected_at, received_at, onsite_due;
        bool deferral_eligible;
        time_t deferred_onsite_due;
        time_t onsite_started_at, acknowledged_at, deferral_approved_at, cleared_at;
        bool transient;
        char *reason, *hint;
        char **hidden;               /* the devices it made unreachable */
        size_t n_hidden;
        char *acknowledged_by, *onsite_by, *deferral_approved_by, *deferral_reason;
        char *ack_note;              /* ack --note */
        bool remote;                 /* recovered without a visit */
        time_t temporary_recovered_at; /* a provisional recovery (L157-159); 0: none */
        char *loaner;                /* the substitute installed (L145-151); "" none */
        char **quote_parts;          /* paid parts quoted (L183-187) */
        size_t n_quote_parts;
        int64_t quote_amount;        /* yen */
        char *quote_by, *quote_approved_by;
        time_t quote_at, quote_approved_at;
        FaultOrigin origin;          /* probe, call (open) or anomaly (escalate) */
        bool sendback;               /* send-back maintenance: no onsite clock */
        char *received_from;         /* who called (sla.reception: call) */
        time_t recovered_at;
        char *recovered_by, *cause, *action, *prevention;
        char **parts;                /* models of the parts replaced */
        size_t n_parts;
        bool media_replaced;
        time_t recovery_report_submitted_at, erasure_report_submitted_at;
        time_t closed_at;
        char *closed_by, *close_note;
} ReportFault;

/* Frees what a ReportFault owns; the struct itself is the caller's. */
void report_fault_done(ReportFault *f);

/* Free arrays of n records and what they own. NULL-safe; return NULL. */
ReportFault *report_faults_free(ReportFault *v, size_t n);
ReportWork *report_works_free(ReportWork *v, size_t n);

/* What every builder needs. */
typedef struct ReportContext {
        const Config *config;        /* contract, sites (their names), sla, hours */
        const Calendar *cal;
        Language lang;
        ReportFormat format;
        time_t now;                  /* when the report is made */
} ReportContext;

/* The seconds of [from, to) inside the reception window (09:00–17:00 by
 * default) of business days. */
int64_t report_business_seconds(const Calendar *cal, time_t from, time_t to);

/* One device's time out of service in a period. Down counts the faults of
 * severity down and the faults of a parent that made it unreachable
 * (hidden); degraded counts the time degraded but not down. */
typedef struct Downtime {
        char site[16];
        char device[24];
        int64_t down, degraded;                  /* seconds, all hours */
        int64_t down_business, degraded_business; /* seconds, business hours */
} Downtime;

/* The downtime of every device of the configuration (the VPN, then each
 * site's tunnel, router and camera), then of any other device a fault
 * names, over p. A fault lasts from detected_at to cleared_at (else
 * closed_at; an open fault to the period's end); overlapping faults count
 * once. Caller frees *ret. */
int report_downtime(const ReportContext *c, const ReportPeriod *p, const ReportFault *faults,
                    size_t n, Downtime **ret, size_t *ret_n);

/* The onsite response clock over the faults received in a period. */
typedef struct SlaStats {
        size_t received;             /* faults received in the period */
        size_t onsite;               /* ... whose onsite work started */
        int64_t response_median;     /* received → onsite started, seconds; -1: none */
        int64_t response_max;
        size_t met;                  /* onsite started by the due time */
        size_t breached;             /* started late, or the due time passed without */
        size_t pending;              /* no onsite yet, the due time still ahead */
        size_t stopped;              /* cleared or closed before the due time, no onsite */
        size_t deferred;             /* with an approved deferral */
        size_t transient;            /* cleared by itself before any onsite work */
        size_t sendback;             /* send-back maintenance: no onsite clock to meet */
        size_t reports_on_time;      /* recovery and erasure reports handed in by deliver-by */
        size_t reports_late;
        size_t reports_outstanding;  /* not handed in yet ... */
        size_t reports_overdue;      /* ... of which past their deliver-by day */
} SlaStats;

int report_sla_stats(const ReportContext *c, const ReportPeriod *p, const ReportFault *faults,
                     size_t n, SlaStats *ret);

/* The most bytes of one document: a report beyond it is refused (-E2BIG). */
#define REPORT_DOC_MAX (256u * 1024u * 1024u)

/* The builders. Each returns 0 and the document (NUL-terminated, owned by
 * the caller) in *ret, or a negative errno. */

/* 作業実績報告書: the work items (in the order given: by start time) and the
 * faults handled in the period; says so explicitly when there was no work.
 * CSV: the work items. */
int report_quarterly(const ReportContext *c, const ReportPeriod *p, const ReportWork *work,
                     size_t n_work, const ReportFault *faults, size_t n_faults,
                     const Investigation *inv, size_t n_inv, char **ret);

/* 障害復旧作業報告書. -ENODATA when no recovery is recorded. CSV: field,value. */
int report_fault(const ReportContext *c, const ReportFault *f, char **ret);

/* データ消去報告書, with blank lines for the city's witness. -ENODATA when
 * no recovery is recorded, -ENOMEDIUM when no storage medium was replaced.
 * CSV: field,value. */
int report_erasure(const ReportContext *c, const ReportFault *f, char **ret);

/* Availability per site and device. CSV: one row per device. */
int report_availability(const ReportContext *c, const ReportPeriod *p,
                        const ReportFault *faults, size_t n, char **ret);

/* The onsite response clock. CSV: field,value (the figures). */
int report_sla(const ReportContext *c, const ReportPeriod *p, const ReportFault *faults,
               size_t n, char **ret);

/* A security incident (別記1 第9条, 別記2 第10条): a security_incident
 * event with its fault and when its mail went out. Strings are owned. */
typedef struct ReportIncident {
        int64_t id;                  /* the event's */
        time_t at;
        char site[16];               /* "" for the VPN */
        char device[24];
        char kind[32];               /* auth_failed, model_mismatch, identity_mismatch,
                                      * snmp_auth_failed, device_swapped */
        int64_t fault_id;            /* 0: none (a swap) */
        char fault_kind[32];         /* "" without a fault */
        char fault_state[16];
        char *text;
        time_t mailed_at;            /* 0: not (yet) sent */
} ReportIncident;

ReportIncident *report_incidents_free(ReportIncident *v, size_t n);

/* The security incidents of a period. CSV: one row per incident. */
int report_incidents(const ReportContext *c, const ReportPeriod *p, const ReportIncident *v,
                     size_t n, char **ret);

/* The same as a JSON document: {"from", "to", "incidents": [{"id", "at", "site",
 * "device", "kind", "fault_id", "fault_kind", "fault_state", "text",
 * "mailed_at"}]} (times ISO 8601 with offset; null where none). */
int report_incidents_json(const ReportContext *c, const ReportPeriod *p,
                          const ReportIncident *v, size_t n, char **ret);

/* One cell of CSV as every report writes it (RFC 4180 quoting, formulas
 * neutralised with a leading apostrophe); NULL as "". -ENOMEM, or -EIO
 * when f refuses it. */
int report_csv_cell(FILE *f, const char *s);

/* The disposal report (別記2 第12条, データ廃棄報告書): what was erased,
 * when, by whom and how. items are pairs of (what, how much) lines;
 * methods the ways of erasure. With blank lines for the city's
 * confirmation. Markdown or HTML (CSV: field,value). */
typedef struct ReportDisposal {
        int64_t id;
        time_t at;
        const char *by, *os_user;
        const char *state_dir, *credentials_dir;
        const char *const *items;    /* what was erased: item, amount, item, amount, ... */
        size_t n_items;              /* pairs */
        const char *const *methods;
        size_t n_methods;
} ReportDisposal;

int report_disposal(const ReportContext *c, const ReportDisposal *d, char **ret);
