/* SPDX-License-Identifier: MIT */

/* The store's part of the reports: the faults with their operator columns
 * and the work record, read into the records report.h defines. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"
#include "store-report.h"
#include "text.h"

#define REPORT_FAULT_COLUMNS                                                                \
        "id, site, device, kind, severity, state, detected_at, received_at, onsite_due,"   \
        " deferral_eligible, deferred_onsite_due, onsite_started_at, acknowledged_at,"      \
        " deferral_approved_at, cleared_at, transient, reason, hint, hidden,"               \
        " acknowledged_by, onsite_by, deferral_approved_by, deferral_reason, recovered_at," \
        " recovered_by, cause, action, prevention, parts, media_replaced,"                  \
        " recovery_report_submitted_at, erasure_report_submitted_at, closed_at, closed_by,"  \
        " close_note, ack_note, remote, temporary_recovered_at, loaner, quote_parts,"      \
        " quote_amount, quote_by, quote_at, quote_approved_by, quote_approved_at, origin,"  \
        " sla_rule, received_from"

const StoreSql store_sql_report[] = {
        { STMT_REPORT_FAULT, "SELECT " REPORT_FAULT_COLUMNS " FROM faults WHERE id = ?" },
        { STMT_REPORT_FAULTS,
          "SELECT " REPORT_FAULT_COLUMNS " FROM faults"
          " WHERE (received_at >= ?1 AND received_at < ?2)"
          " OR (detected_at < ?2 AND ((cleared_at IS NULL AND closed_at IS NULL)"
          "  OR MAX(COALESCE(cleared_at, 0), COALESCE(closed_at, 0),"
          "         COALESCE(recovered_at, 0), COALESCE(onsite_started_at, 0)) >= ?1))"
          " ORDER BY detected_at, id" },
        { STMT_REPORT_WORK,
          /* Work in the period: begun in it, or begun before and ended
           * after its start (a visit over a quarter's end, recorded at its
           * recovery after the earlier quarter's report was made, is in the
           * later one; one that ends on the period's first instant is not). */
          "SELECT id, start_at, end_at, person, title, content,"
          " CASE WHEN edited = '' THEN notes WHEN notes = '' THEN edited"
          "  ELSE notes || char(10) || edited END, fault_id FROM work"
          " WHERE start_at < ?2 AND (start_at >= ?1 OR end_at > ?1)"
          " ORDER BY start_at, end_at, id" },
        { STMT_REPORT_INCIDENTS,
          "SELECT e.id, e.at, e.site, e.device, e.kind, e.fault_id, f.kind, f.state, e.text,"
          " (SELECT MIN(o.sent_at) FROM outbox o WHERE o.event_id = e.id)"
          " FROM events e LEFT JOIN faults f ON f.id = e.fault_id"
          " WHERE e.type = 'security_incident' AND e.at >= ? AND e.at < ?"
          " ORDER BY e.at, e.id" },
        {},
};

/* A copy of a text column ("" for NULL); false on OOM. */
static bool text_at(sqlite3_stmt *st, int i, char **ret) {
        return column_dup(st, i, false, ret) >= 0;
}

static void copy_at(sqlite3_stmt *st, int i, char *buf, size_t size) {
        (void) snprintf(buf, size, "%s", column_text(st, i) ?: "");
}

/* Reads a row of REPORT_FAULT_COLUMNS. On failure *f holds what was read
 * so far (free it with report_fault_done()). */
static int read_report_fault(sqlite3_stmt *st, void *userdata) {
        const char *severity = column_text(st, 4), *state = column_text(st, 5);
        ReportFault *f = userdata;
        int r;

        *f = (ReportFault) {
                .id = sqlite3_column_int64(st, 0),
                .severity = streq_ptr(severity, "down") ? FAULT_DOWN : FAULT_DEGRADED,
                .state = streq_ptr(state, "open")      ? FAULT_OPEN
                         : streq_ptr(state, "cleared") ? FAULT_CLEARED
                                                       : FAULT_CLOSED,
                .detected_at = column_time(st, 6),
                .received_at = column_time(st, 7),
                .onsite_due = column_time(st, 8),
                .deferral_eligible = sqlite3_column_int(st, 9),
                .deferred_onsite_due = column_time(st, 10),
                .onsite_started_at = column_time(st, 11),
                .acknowledged_at = column_time(st, 12),
                .deferral_approved_at = column_time(st, 13),
                .cleared_at = column_time(st, 14),
                .transient = sqlite3_column_int(st, 15),
                .recovered_at = column_time(st, 23),
                .media_replaced = sqlite3_column_int(st, 29),
                .recovery_report_submitted_at = column_time(st, 30),
                .erasure_report_submitted_at = column_time(st, 31),
                .closed_at = column_time(st, 32),
                .remote = sqlite3_column_int(st, 36),
                .temporary_recovered_at = column_time(st, 37),
                .quote_amount = sqlite3_column_int64(st, 40),
                .quote_at = column_time(st, 42),
                .quote_approved_at = column_time(st, 44),
                .origin = fault_origin_from_string(column_text(st, 45)),
                .sendback = streq_ptr(column_text(st, 46), "sendback"),
        };
        copy_at(st, 1, f->site, sizeof(f->site));
        copy_at(st, 2, f->device, sizeof(f->device));
        copy_at(st, 3, f->kind, sizeof(f->kind));
        if (!text_at(st, 16, &f->reason) || !text_at(st, 17, &f->hint) ||
            !text_at(st, 19, &f->acknowledged_by) || !text_at(st, 20, &f->onsite_by) ||
            !text_at(st, 21, &f->deferral_approved_by) || !text_at(st, 22, &f->deferral_reason) ||
            !text_at(st, 24, &f->recovered_by) || !text_at(st, 25, &f->cause) ||
            !text_at(st, 26, &f->action) || !text_at(st, 27, &f->prevention) ||
            !text_at(st, 33, &f->closed_by) || !text_at(st, 34, &f->close_note) ||
            !text_at(st, 35, &f->ack_note) || !text_at(st, 38, &f->loaner) ||
            !text_at(st, 41, &f->quote_by) || !text_at(st, 43, &f->quote_approved_by) ||
            !text_at(st, 47, &f->received_from))
                return -ENOMEM;
        r = store_strv_from_json(column_text(st, 18), &f->hidden, &f->n_hidden);
        if (r >= 0)
                r = store_strv_from_json(column_text(st, 28), &f->parts, &f->n_parts);
        if (r >= 0)
                r = store_strv_from_json(column_text(st, 39), &f->quote_parts, &f->n_quote_parts);
        return r;
}

int store_report_fault(Store *s, int64_t id, ReportFault *ret) {
        ReportFault f = {};
        int r;

        r = store_get(s, STMT_REPORT_FAULT, read_report_fault, &f, sv_int(id));
        if (r < 0) {
                report_fault_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

/* Rows read into a vector of records of `size` bytes, at most
 * REPORT_ROWS_MAX (-E2BIG beyond); read fills one (and on failure leaves
 * what it holds for the vector's free). */
typedef struct RowVector {
        void *v;
        size_t n, allocated, size;
        StoreRowFn read;
} RowVector;

static int vector_row(sqlite3_stmt *st, void *userdata) {
        RowVector *l = userdata;
        int r;

        if (l->n >= REPORT_ROWS_MAX)
                return -E2BIG;
        r = array_grow(&l->v, &l->allocated, l->n, l->size);
        if (r < 0)
                return r;
        return l->read(st, (char *) l->v + l->size * l->n++);
}

int store_report_faults(Store *s, time_t from, time_t to, ReportFault **ret, size_t *ret_n) {
        RowVector l = { .size = sizeof(ReportFault), .read = read_report_fault };
        int r;

        r = store_each(s, STMT_REPORT_FAULTS, vector_row, &l, sv_int(from), sv_int(to));
        if (r < 0) {
                report_faults_free(l.v, l.n);
                return r;
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

static int read_work(sqlite3_stmt *st, void *userdata) {
        ReportWork *w = userdata;

        *w = (ReportWork) {
                .id = sqlite3_column_int64(st, 0),
                .start_at = column_time(st, 1),
                .end_at = column_time(st, 2),
                .fault_id = sqlite3_column_int64(st, 7),
        };
        if (!text_at(st, 3, &w->person) || !text_at(st, 4, &w->title) ||
            !text_at(st, 5, &w->content) || !text_at(st, 6, &w->notes))
                return -ENOMEM;
        return 0;
}

int store_report_work(Store *s, time_t from, time_t to, ReportWork **ret, size_t *ret_n) {
        RowVector l = { .size = sizeof(ReportWork), .read = read_work };
        int r;

        r = store_each(s, STMT_REPORT_WORK, vector_row, &l, sv_int(from), sv_int(to));
        if (r < 0) {
                report_works_free(l.v, l.n);
                return r;
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

static int read_incident(sqlite3_stmt *st, void *userdata) {
        ReportIncident *x = userdata;

        *x = (ReportIncident) {
                .id = sqlite3_column_int64(st, 0),
                .at = column_time(st, 1),
                .fault_id = sqlite3_column_int64(st, 5),
                .mailed_at = column_time(st, 9),
        };
        copy_at(st, 2, x->site, sizeof(x->site));
        copy_at(st, 3, x->device, sizeof(x->device));
        copy_at(st, 4, x->kind, sizeof(x->kind));
        copy_at(st, 6, x->fault_kind, sizeof(x->fault_kind));
        copy_at(st, 7, x->fault_state, sizeof(x->fault_state));
        if (!text_at(st, 8, &x->text))
                return -ENOMEM;
        /* Cleaned again on the way out: one bad stored row breaks nothing. */
        text_clean_inplace(x->site, sizeof(x->site));
        text_clean_inplace(x->device, sizeof(x->device));
        text_clean_inplace(x->kind, sizeof(x->kind));
        text_clean_inplace(x->text, strlen(x->text) + 1);
        return 0;
}

int store_report_incidents(Store *s, time_t from, time_t to, ReportIncident **ret,
                           size_t *ret_n) {
        RowVector l = { .size = sizeof(ReportIncident), .read = read_incident };
        int r;

        r = store_each(s, STMT_REPORT_INCIDENTS, vector_row, &l, sv_int(from), sv_int(to));
        if (r < 0) {
                report_incidents_free(l.v, l.n);
                return r;
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}

typedef struct InvestigationList {
        Investigation *v;
        size_t n, allocated;
} InvestigationList;

static int investigation_add(const Investigation *v, void *userdata) {
        InvestigationList *l = userdata;

        if (l->n >= REPORT_ROWS_MAX)
                return -E2BIG;
        if (array_grow((void **) &l->v, &l->allocated, l->n, sizeof(Investigation)) < 0)
                return -ENOMEM;
        l->v[l->n++] = *v;
        return 0;
}

int store_report_investigations(Store *s, time_t from, time_t to, Investigation **ret,
                                size_t *ret_n) {
        InvestigationList l = {};
        int r;

        r = store_foreach_investigation(s, 0, from, to, investigation_add, &l);
        if (r < 0) {
                free(l.v);
                return r;
        }
        *ret = l.v;
        *ret_n = l.n;
        return 0;
}
