/* SPDX-License-Identifier: MIT */

/* The store's part of operator actions: the columns that only actions
 * write, and the work record. */

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"
#include "text.h"

static int run(sqlite3_stmt *st) {
        int rc = sqlite3_step(st);

        sqlite3_finalize(st);
        return rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
        (void) sqlite3_bind_text(st, i, s ?: "", -1, SQLITE_STATIC);
}

int store_fault_record(Store *s, const Action *a, time_t at) {
        sqlite3_stmt *st = NULL;
        const char *sql;
        char *parts = NULL;
        int rc, r;

        switch (a->type) {
        case ACTION_ACK:
                sql = "UPDATE faults SET acknowledged_by = ?2, ack_note = ?3 WHERE id = ?1";
                break;
        case ACTION_ONSITE:
                sql = "UPDATE faults SET onsite_by = ?2 WHERE id = ?1";
                break;
        case ACTION_DEFER:
                sql = "UPDATE faults SET deferral_approved_by = ?2, deferral_reason = ?3 WHERE id = ?1";
                break;
        case ACTION_RECOVER:
                /* A provisional recovery is recorded as such; the final one sets
                 * recovered_at (the report clocks start there). */
                sql = a->temporary
                              ? "UPDATE faults SET recovered_by = ?2, temporary_recovered_at = ?4,"
                                " cause = ?5, action = ?6, prevention = ?7, parts = ?8,"
                                " media_replaced = ?9, remote = ?10, loaner = ?11 WHERE id = ?1"
                              : "UPDATE faults SET recovered_by = ?2, recovered_at = ?4, cause = ?5,"
                                " action = ?6, prevention = ?7, parts = ?8, media_replaced = ?9,"
                                " remote = ?10, loaner = CASE WHEN ?11 = '' THEN loaner ELSE ?11"
                                " END WHERE id = ?1";
                break;
        case ACTION_PARTS_QUOTE:
                sql = "UPDATE faults SET quote_by = ?2, quote_note = ?3, quote_at = ?4,"
                      " quote_parts = ?8, quote_amount = ?12 WHERE id = ?1";
                break;
        case ACTION_PARTS_APPROVED:
                sql = "UPDATE faults SET quote_approved_by = ?2, quote_approved_at = ?4"
                      " WHERE id = ?1";
                break;
        case ACTION_REPORT_SUBMITTED:
                sql = streq(a->kind, "erasure")
                              ? "UPDATE faults SET erasure_report_submitted_at = ?4 WHERE id = ?1"
                              : "UPDATE faults SET recovery_report_submitted_at = ?4 WHERE id = ?1";
                break;
        case ACTION_CLOSE:
                sql = "UPDATE faults SET closed_by = ?2, close_note = ?3, closed_at = ?4 WHERE id = ?1";
                break;
        default:
                return 0;
        }
        rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        if (a->type == ACTION_RECOVER || a->type == ACTION_PARTS_QUOTE) {
                json_t *arr = json_array();

                for (size_t i = 0; arr && i < a->n_parts; i++)
                        (void) json_array_append_new(arr, json_string(a->parts[i]));
                parts = arr ? json_dumps(arr, JSON_COMPACT) : NULL;
                json_decref(arr);
                if (!parts) {
                        sqlite3_finalize(st);
                        return -ENOMEM;
                }
        }
        (void) sqlite3_bind_int64(st, 1, a->fault_id);
        bind_text(st, 2, a->by);
        bind_text(st, 3, a->note);
        (void) sqlite3_bind_int64(st, 4, (sqlite3_int64) at);
        bind_text(st, 5, a->cause);
        bind_text(st, 6, a->action);
        bind_text(st, 7, a->prevention);
        bind_text(st, 8, parts ?: "[]");
        (void) sqlite3_bind_int(st, 9, a->media_replaced);
        if (a->type == ACTION_RECOVER) {
                (void) sqlite3_bind_int(st, 10, a->remote);
                bind_text(st, 11, a->loaner);
        }
        if (a->type == ACTION_PARTS_QUOTE)
                (void) sqlite3_bind_int64(st, 12, a->amount);
        r = run(st);
        free(parts);
        return r;
}

int store_fault_details(Store *s, int64_t id, FaultDetails *ret) {
        sqlite3_stmt *st;
        FaultDetails d = {};
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT recovered_at, media_replaced, recovery_report_submitted_at,"
                                " erasure_report_submitted_at, closed_at, acknowledged_by,"
                                " ack_note, temporary_recovered_at, quote_at, quote_approved_at,"
                                " quote_parts FROM faults WHERE id = ?",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
                d.recovered_at = (time_t) sqlite3_column_int64(st, 0);
                d.media_replaced = sqlite3_column_int(st, 1);
                d.recovery_report_submitted_at = (time_t) sqlite3_column_int64(st, 2);
                d.erasure_report_submitted_at = (time_t) sqlite3_column_int64(st, 3);
                d.closed_at = (time_t) sqlite3_column_int64(st, 4);
                d.temporary_recovered_at = (time_t) sqlite3_column_int64(st, 7);
                d.quote_at = (time_t) sqlite3_column_int64(st, 8);
                d.quote_approved_at = (time_t) sqlite3_column_int64(st, 9);
                (void) snprintf(d.quote_parts, sizeof(d.quote_parts), "%s",
                                (const char *) sqlite3_column_text(st, 10) ?: "[]");
                for (int i = 5; i <= 6; i++) {
                        const char *t = (const char *) sqlite3_column_text(st, i);
                        char *buf = i == 5 ? d.acknowledged_by : d.ack_note;
                        size_t size = i == 5 ? sizeof(d.acknowledged_by) : sizeof(d.ack_note);

                        (void) text_clean(buf, size, t ?: "", t ? strlen(t) : 0);
                }
        }
        sqlite3_finalize(st);
        if (rc == SQLITE_DONE)
                return -ENOENT;
        if (rc != SQLITE_ROW)
                return sqlite_to_errno(rc);
        *ret = d;
        return 0;
}

int store_work_add(Store *s, const Action *a, time_t now, int64_t *ret_id) {
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO work (start_at, end_at, person, title, content, notes,"
                                " fault_id, os_user, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, (sqlite3_int64) a->at);
        (void) sqlite3_bind_int64(st, 2, (sqlite3_int64) a->end_at);
        bind_text(st, 3, a->by);
        bind_text(st, 4, a->title);
        bind_text(st, 5, a->content);
        bind_text(st, 6, a->note);
        if (a->fault_id > 0)
                (void) sqlite3_bind_int64(st, 7, a->fault_id);
        bind_text(st, 8, a->os_user);
        (void) sqlite3_bind_int64(st, 9, (sqlite3_int64) now);
        r = run(st);
        if (r >= 0 && ret_id)
                *ret_id = sqlite3_last_insert_rowid(s->db);
        return r;
}

int store_work_edit(Store *s, const Action *a) {
        sqlite3_stmt *st;
        int rc, r;

        rc = sqlite3_prepare_v2(s->db,
                                "UPDATE work SET title = COALESCE(?2, title),"
                                " content = COALESCE(?3, content), notes = COALESCE(?4, notes),"
                                " start_at = COALESCE(?5, start_at), end_at = COALESCE(?6, end_at)"
                                " WHERE id = ?1 AND COALESCE(?6, end_at) >= COALESCE(?5, start_at)",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        (void) sqlite3_bind_int64(st, 1, a->work_id);
        if (a->title)
                bind_text(st, 2, a->title);
        if (a->content)
                bind_text(st, 3, a->content);
        if (a->note)
                bind_text(st, 4, a->note);
        if (a->at)
                (void) sqlite3_bind_int64(st, 5, (sqlite3_int64) a->at);
        if (a->end_at)
                (void) sqlite3_bind_int64(st, 6, (sqlite3_int64) a->end_at);
        r = run(st);
        if (r >= 0 && sqlite3_changes(s->db) != 1)
                r = -ENOENT;
        return r;
}

int store_work_add_fault(Store *s, const Fault *f, const Action *a, time_t recovered_at,
                         time_t now) {
        _cleanup_(freep) char *title = NULL, *content = NULL, *notes = NULL, *parts = NULL;
        const char *word = fault_kind_word(f->kind, true);
        Action w = *a;
        size_t len = 0;

        for (size_t i = 0; i < a->n_parts; i++)
                len += strlen(a->parts[i]) + 2;
        parts = calloc(len + 1, 1);
        if (!parts)
                return -ENOMEM;
        for (size_t i = 0; i < a->n_parts; i++) {
                if (i > 0)
                        strcat(parts, "、");
                strcat(parts, a->parts[i]);
        }
        if (asprintf(&title, "障害対応（%s%s%s）", word ?: f->kind, a->remote ? "、遠隔" : "",
                     a->temporary ? "、暫定復旧" : "") < 0)
                title = NULL;
        if (asprintf(&content, "原因: %s\n処置: %s", a->cause ?: "", a->action ?: "") < 0)
                content = NULL;
        if (asprintf(&notes, "%s%s%s%s%s%s再発防止策: %s", parts[0] ? "交換部品: " : "", parts,
                     parts[0] ? "\n" : "", a->loaner[0] ? "代替機: " : "", a->loaner,
                     a->loaner[0] ? "\n" : "", a->prevention ?: "") < 0)
                notes = NULL;
        if (!title || !content || !notes)
                return -ENOMEM;
        w.at = f->onsite_started_at ?: recovered_at;
        w.end_at = recovered_at;
        w.title = title;
        w.content = content;
        w.note = notes;
        w.fault_id = f->id;
        return store_work_add(s, &w, now, NULL);
}

/* ======================================================================== */

int store_deliverable_get(Store *s, const char *kind, const char *key, bool *ret_warned,
                          bool *ret_overdue, bool *ret_submitted) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT due_warned, overdue_sent, submitted_at IS NOT NULL"
                                " FROM deliverables"
                                " WHERE kind = ? AND key = ?",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        bind_text(st, 1, kind);
        bind_text(st, 2, key);
        rc = sqlite3_step(st);
        *ret_warned = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
        *ret_overdue = rc == SQLITE_ROW && sqlite3_column_int(st, 1);
        if (ret_submitted)
                *ret_submitted = rc == SQLITE_ROW && sqlite3_column_int(st, 2);
        sqlite3_finalize(st);
        return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sqlite_to_errno(rc);
}

int store_deliverable_mark(Store *s, const char *kind, const char *key, const char *due,
                           bool warned, bool overdue) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO deliverables (kind, key, due, due_warned, overdue_sent)"
                                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET"
                                " due = excluded.due, due_warned = excluded.due_warned,"
                                " overdue_sent = excluded.overdue_sent",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        bind_text(st, 1, kind);
        bind_text(st, 2, key);
        bind_text(st, 3, due);
        (void) sqlite3_bind_int(st, 4, warned);
        (void) sqlite3_bind_int(st, 5, overdue);
        return run(st);
}

int store_foreach_report_clock(Store *s, StoreReportClockFn fn, void *userdata) {
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db,
                                "SELECT id, site, device, kind, recovered_at, media_replaced,"
                                " recovery_report_submitted_at, erasure_report_submitted_at"
                                " FROM faults WHERE recovered_at IS NOT NULL AND"
                                " (recovery_report_submitted_at IS NULL OR (media_replaced AND"
                                " erasure_report_submitted_at IS NULL)) ORDER BY id",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                ReportClock c = {
                        .fault_id = sqlite3_column_int64(st, 0),
                        .recovered_at = (time_t) sqlite3_column_int64(st, 4),
                        .recovery_pending = sqlite3_column_type(st, 6) == SQLITE_NULL,
                        .erasure_pending = sqlite3_column_int(st, 5) &&
                                           sqlite3_column_type(st, 7) == SQLITE_NULL,
                };

                (void) snprintf(c.site, sizeof(c.site), "%s", column_text(st, 1) ?: "");
                (void) snprintf(c.device, sizeof(c.device), "%s", column_text(st, 2) ?: "");
                (void) snprintf(c.kind, sizeof(c.kind), "%s", column_text(st, 3) ?: "");
                r = fn(&c, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r;
}

int store_deliverable_submit(Store *s, const char *kind, const char *key, time_t at) {
        sqlite3_stmt *st;
        int rc;

        rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO deliverables (kind, key, due, submitted_at)"
                                " VALUES (?1, ?2, ?2, ?3) ON CONFLICT (kind, key) DO UPDATE SET"
                                " submitted_at = excluded.submitted_at",
                                -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        bind_text(st, 1, kind);
        bind_text(st, 2, key);
        (void) sqlite3_bind_int64(st, 3, (sqlite3_int64) at);
        return run(st);
}
