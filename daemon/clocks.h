/* SPDX-License-Identifier: MIT */
#pragma once

/* The contract's clocks (SPEC §2): reception, onsite due, deferral, report
 * dues and the contract's deliverables. Pure functions of times, the
 * calendar and the configuration: no I/O, no "now" (the caller passes it). */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "calendar.h"
#include "config.h"
#include "timeutil.h"

typedef struct SlaClocks {
        time_t detected_at;
        time_t received_at;          /* detection, or the next window's opening */
        time_t onsite_due;           /* received_at + onsite_within */
        bool deferral_eligible;      /* onsite_due is at or after the reception day's closing:
                                      * timing alone forces a deferral */
        time_t deferred_onsite_due;  /* the next business day after the reception day, at
                                      * deferred_onsite_by (11:00): defined for every fault */
} SlaClocks;

/* The reception time of a fault detected at detected. */
time_t clocks_received_at(const Calendar *cal, time_t detected);

/* All onsite clocks of a fault detected at detected. */
int clocks_sla(const Calendar *cal, const SlaConf *sla, time_t detected, SlaClocks *ret);

typedef struct ReportDue {
        Day due;                     /* start day + within */
        Day deliver_by;              /* due, or the business day before when due is not one:
                                      * the recommended day */
        Day overdue_after;           /* the legal end: a period ending on a closed day runs
                                      * to the next business day (民法第142条) */
} ReportDue;

/* A report due within `within` (whole days) of the contract-local day of
 * `done` (the recovery work's end). */
int clocks_report_due(const Calendar *cal, time_t done, uint64_t within, ReportDue *ret);

/* The deliver-by day for a deliverable due on due. */
Day clocks_deliver_by(const Calendar *cal, Day due);

/* The legal end of a period whose last day is due: due, or the next
 * business day when due is a closed day (民法第142条). */
Day clocks_period_end(const Calendar *cal, Day due);

typedef enum DeadlineKind {
        DEADLINE_QUARTERLY_REPORT,   /* 作業実績報告書 */
        DEADLINE_ANNUAL_PLAN,        /* 年間計画表及びサポート体制図 */
        DEADLINE_COMPLETION_NOTICE,  /* 完了届 */
        DEADLINE_RECOVERY_REPORT,    /* 障害復旧作業報告書 */
        DEADLINE_ERASURE_REPORT,     /* データ消去報告書 */
        DEADLINE_ARCHIVE,            /* 1～4 of the fiscal year on a CD-R (L271-277) */
        _DEADLINE_KIND_MAX,
} DeadlineKind;

typedef struct Deadline {
        DeadlineKind kind;
        Day due;
        Day deliver_by;
        Day overdue_after;           /* late only after this day (see clocks.c) */
        Day period_start, period_end; /* the quarter reported on; DAY_INVALID otherwise */
        int fiscal_year;             /* Japanese fiscal year (April–March) it belongs to */
        bool contract_end;           /* due at the contract's end (its last quarter, its end) */
} Deadline;

/* The contract's own deliverables (quarterly reports, annual plans,
 * completion notices, the fiscal year's archive) whose due day lies in from..to (inclusive), in due
 * order. Caller frees *ret with free(). */
int clocks_contract_deadlines(const Calendar *cal, const ContractConf *contract, Day from, Day to,
                              Deadline **ret, size_t *ret_n);

/* "quarterly_report", "annual_plan", "completion_notice", "recovery_report",
 * "erasure_report", "archive". */
const char *deadline_kind_to_string(DeadlineKind k);

/* The fiscal year (April–March) fy as far as it lies within the contract:
 * its first and last days. The archive of the year is due on the last.
 * -ERANGE when no day of it does. */
int clocks_fiscal_year(const ContractConf *contract, int fy, Day *ret_first, Day *ret_last);

/* A human title in the given language, e.g. "作業実績報告書（2026年4月〜6月）". */
int deadline_title(const Deadline *d, Language lang, char *buf, size_t size);
