/* SPDX-License-Identifier: MIT */

/* The store's part of the reports: the faults with their operator columns
 * and the work record, read into the records report.h defines. */

#include <jansson.h>
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

static time_t time_at(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_NULL ? 0
                                                         : (time_t) sqlite3_column_int64(st, i);
}

/* A copy of a text column ("" for NULL); false on OOM. */
static bool text_at(sqlite3_stmt *st, int i, char **ret) {
        *ret = strdup(column_text(st, i) ?: "");
        return *ret != NULL;
}

static void copy_at(sqlite3_stmt *st, int i, char *buf, size_t size) {
        (void) snprintf(buf, size, "%s", column_text(st, i) ?: "");
}

/* A JSON array of strings into a vector; anything else is an empty one. */
static int strv_from_json(const char *json, char ***ret, size_t *ret_n) {
        json_t *arr = json_loads(json ?: "[]", 0, NULL);
        char **v = NULL;
        size_t n = 0;
        int r = 0;

        if (json_is_array(arr) && json_array_size(arr) > 0) {
                v = calloc(json_array_size(arr), sizeof(char *));
                if (!v)
                        r = -ENOMEM;
                for (size_t i = 0; r >= 0 && i < json_array_size(arr); i++) {
                        const char *s = json_string_value(json_array_get(arr, i));

                        if (!s)
                                continue;
                        v[n] = strdup(s);
                        if (!v[n++])
                                r = -ENOMEM;
                }
        }
        json_decref(arr);
        if (r < 0) {
                for (size_t i = 0; i < n; i++)
                        free(v[i]);
                free(v);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Reads a row of REPORT_FAULT_COLUMNS. On failure *f holds what was read
 * so far (free it with report_fault_done()). */
static int read_report_fault(sqlite3_stmt *st, ReportFault *f) {
        const char *severity = column_text(st, 4), *state = column_text(st, 5);
        int r;

        *f = (ReportFault) {
                .id = sqlite3_column_int64(st, 0),
                .severity = streq_ptr(severity, "down") ? FAULT_DOWN : FAULT_DEGRADED,
                .state = streq_ptr(state, "open")      ? FAULT_OPEN
                         : streq_ptr(state, "cleared") ? FAULT_CLEARED
                                                       : FAULT_CLOSED,
                .detected_at = time_at(st, 6),
                .received_at = time_at(st, 7),
                .onsite_due = time_at(st, 8),
                .deferral_eligible = sqlite3_column_int(st, 9),
                .deferred_onsite_due = time_at(st, 10),
                .onsite_started_at = time_at(st, 11),
                .acknowledged_at = time_at(st, 12),
                .deferral_approved_at = time_at(st, 13),
                .cleared_at = time_at(st, 14),
                .transient = sqlite3_column_int(st, 15),
                .recovered_at = time_at(st, 23),
                .media_replaced = sqlite3_column_int(st, 29),
                .recovery_report_submitted_at = time_at(st, 30),
                .erasure_report_submitted_at = time_at(st, 31),
                .closed_at = time_at(st, 32),
                .remote = sqlite3_column_int(st, 36),
                .temporary_recovered_at = time_at(st, 37),
                .quote_amount = sqlite3_column_int64(st, 40),
                .quote_at = time_at(st, 42),
                .quote_approved_at = time_at(st, 44),
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
        r = strv_from_json(column_text(st, 18), &f->hidden, &f->n_hidden);
        if (r >= 0)
                r = strv_from_json(column_text(st, 28), &f->parts, &f->n_parts);
        if (r >= 0)
                r = strv_from_json(column_text(st, 39), &f->quote_parts, &f->n_quote_parts);
        return r;
}

int store_report_fault(Store *s, int64_t id, ReportFault *ret) {
        ReportFault f = {};
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db, "SELECT " REPORT_FAULT_COLUMNS " FROM faults WHERE id = ?",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        r = rc == SQLITE_ROW    ? read_report_fault(st, &f)
            : rc == SQLITE_DONE ? -ENOENT
                                : sqlite_to_errno(rc);
        sqlite3_finalize(st);
        if (r < 0) {
                report_fault_done(&f);
                return r;
        }
        *ret = f;
        return 0;
}

/* Grows a vector of records of size `size` to hold n + 1. */
/* Room for one more row, up to REPORT_ROWS_MAX. */
static int grow(void **v, size_t *allocated, size_t n, size_t size) {
        if (n >= REPORT_ROWS_MAX)
                return -E2BIG;
        return array_grow(v, allocated, n, size);
}

int store_report_faults(Store *s, time_t from, time_t to, ReportFault **ret, size_t *ret_n) {
        ReportFault *v = NULL;
        size_t n = 0, allocated = 0;
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(
                s->db,
                "SELECT " REPORT_FAULT_COLUMNS " FROM faults"
                " WHERE (received_at >= ?1 AND received_at < ?2)"
                " OR (detected_at < ?2 AND ((cleared_at IS NULL AND closed_at IS NULL)"
                "  OR MAX(COALESCE(cleared_at, 0), COALESCE(closed_at, 0),"
                "         COALESCE(recovered_at, 0), COALESCE(onsite_started_at, 0)) >= ?1))"
                " ORDER BY detected_at, id",
                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) from);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) to);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = grow((void **) &v, &allocated, n, sizeof(ReportFault));
                if (r < 0)
                        break;
                r = read_report_fault(st, &v[n++]);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        if (r < 0) {
                report_faults_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

static int read_work(sqlite3_stmt *st, ReportWork *w) {
        *w = (ReportWork) {
                .id = sqlite3_column_int64(st, 0),
                .start_at = time_at(st, 1),
                .end_at = time_at(st, 2),
                .fault_id = sqlite3_column_int64(st, 7),
        };
        if (!text_at(st, 3, &w->person) || !text_at(st, 4, &w->title) ||
            !text_at(st, 5, &w->content) || !text_at(st, 6, &w->notes))
                return -ENOMEM;
        return 0;
}

int store_report_work(Store *s, time_t from, time_t to, ReportWork **ret, size_t *ret_n) {
        ReportWork *v = NULL;
        size_t n = 0, allocated = 0;
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, start_at, end_at, person, title, content, notes,"
                                " fault_id FROM work WHERE start_at >= ?1 AND start_at < ?2"
                                " ORDER BY start_at, end_at, id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) from);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) to);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                r = grow((void **) &v, &allocated, n, sizeof(ReportWork));
                if (r < 0)
                        break;
                r = read_work(st, &v[n++]);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        if (r < 0) {
                report_works_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

int store_report_incidents(Store *s, time_t from, time_t to, ReportIncident **ret,
                           size_t *ret_n) {
        ReportIncident *v = NULL;
        size_t n = 0, allocated = 0;
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT e.id, e.at, e.site, e.device, e.kind, e.fault_id,"
                                " f.kind, f.state, e.text,"
                                " (SELECT MIN(o.sent_at) FROM outbox o WHERE o.event_id = e.id)"
                                " FROM events e LEFT JOIN faults f ON f.id = e.fault_id"
                                " WHERE e.type = 'security_incident' AND e.at >= ? AND e.at < ?"
                                " ORDER BY e.at, e.id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) from);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) to);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ReportIncident *x;

                if (n >= REPORT_ROWS_MAX) {
                        r = -E2BIG;
                        break;
                }
                if (array_grow((void **) &v, &allocated, n, sizeof(*v)) < 0) {
                        r = -ENOMEM;
                        break;
                }
                x = &v[n++];
                *x = (ReportIncident) {
                        .id = sqlite3_column_int64(st, 0),
                        .at = time_at(st, 1),
                        .fault_id = sqlite3_column_int64(st, 5),
                        .mailed_at = time_at(st, 9),
                };
                copy_at(st, 2, x->site, sizeof(x->site));
                copy_at(st, 3, x->device, sizeof(x->device));
                copy_at(st, 4, x->kind, sizeof(x->kind));
                copy_at(st, 6, x->fault_kind, sizeof(x->fault_kind));
                copy_at(st, 7, x->fault_state, sizeof(x->fault_state));
                if (!text_at(st, 8, &x->text)) {
                        r = -ENOMEM;
                        break;
                }
                /* Cleaned again on the way out: one bad stored row breaks nothing. */
                text_clean_inplace(x->site, sizeof(x->site));
                text_clean_inplace(x->device, sizeof(x->device));
                text_clean_inplace(x->kind, sizeof(x->kind));
                text_clean_inplace(x->text, strlen(x->text) + 1);
        }
        if (r == 0 && rc != SQLITE_DONE)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        if (r < 0) {
                report_incidents_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
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
