/* SPDX-License-Identifier: MIT */
#pragma once

/* What the reports read from the state database (store-report.c): the
 * work record and the faults with what operators recorded about them.
 * Read-only; every query through bound parameters. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "report.h"
#include "store.h"

/* One fault by id; -ENOENT when there is none. Free with report_fault_done(). */
int store_report_fault(Store *s, int64_t id, ReportFault *ret);

/* The faults that matter to [from, to), by detection time: those handled in
 * it (detected before its end and open, or cleared, closed, recovered or
 * started onsite after its start) and those received in it. At most
 * REPORT_ROWS_MAX (-E2BIG beyond). Free with report_faults_free(). */
int store_report_faults(Store *s, time_t from, time_t to, ReportFault **ret, size_t *ret_n);

/* The work items started in [from, to), by start time. At most
 * REPORT_ROWS_MAX. Free with report_works_free(). */
int store_report_work(Store *s, time_t from, time_t to, ReportWork **ret, size_t *ret_n);

/* The investigations of anomalies made in [from, to), by time; -E2BIG beyond
 * REPORT_ROWS_MAX. Caller frees *ret. */
int store_report_investigations(Store *s, time_t from, time_t to, Investigation **ret,
                                size_t *ret_n);

/* The security incidents (security_incident events) at [from, to), by
 * time, with their faults' kind and state and their mails' sending time.
 * At most REPORT_ROWS_MAX. Free with report_incidents_free(). */
int store_report_incidents(Store *s, time_t from, time_t to, ReportIncident **ret,
                           size_t *ret_n);
