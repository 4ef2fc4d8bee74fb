/* SPDX-License-Identifier: MIT */

/* The store's part of operator actions: the columns that only actions
 * write, and the work record. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"
#include "text.h"
#include "timeutil.h"

/* The parameters of every STMT_RECORD_*: ?1 the fault, ?2 by, ?3 the note,
 * ?4 the action's time, ?5 cause, ?6 action, ?7 prevention, ?8 the parts
 * (JSON), ?9 media replaced, ?10 remote, ?11 loaner, ?12 the amount. */
/* A final recovery after a provisional one keeps a storage medium replaced
 * then (its erasure report is still due); its parts are the provisional's
 * followed by its own (store_fault_record: one entry a unit replaced, so an
 * SD card replaced at each visit is listed twice). */
#define MERGED_MEDIA "(COALESCE(media_replaced, 0) OR ?9)"

const StoreSql store_sql_actions[] = {
        { STMT_RECORD_ACK, "UPDATE faults SET acknowledged_by = ?2, ack_note = ?3 WHERE id = ?1" },
        { STMT_RECORD_ONSITE, "UPDATE faults SET onsite_by = ?2 WHERE id = ?1" },
        { STMT_RECORD_DEFER,
          "UPDATE faults SET deferral_approved_by = ?2, deferral_reason = ?3 WHERE id = ?1" },
        /* A provisional recovery is recorded as such; the final one sets
         * recovered_at (the report clocks start there). */
        { STMT_RECORD_RECOVER_TEMPORARY,
          "UPDATE faults SET recovered_by = ?2, temporary_recovered_at = ?4, cause = ?5,"
          " action = ?6, prevention = ?7, parts = ?8,"
          " media_replaced = " MERGED_MEDIA ", remote = ?10, loaner = ?11 WHERE id = ?1" },
        { STMT_RECORD_RECOVER,
          "UPDATE faults SET recovered_by = ?2, recovered_at = ?4, cause = ?5, action = ?6,"
          " prevention = ?7, parts = ?8, media_replaced = " MERGED_MEDIA ","
          " remote = ?10,"
          " loaner = CASE WHEN ?11 = '' THEN loaner ELSE ?11 END WHERE id = ?1" },
        { STMT_RECORD_QUOTE,
          "UPDATE faults SET quote_by = ?2, quote_note = ?3, quote_at = ?4, quote_parts = ?8,"
          " quote_amount = ?12 WHERE id = ?1" },
        { STMT_RECORD_APPROVED,
          "UPDATE faults SET quote_approved_by = ?2, quote_approved_at = ?4 WHERE id = ?1" },
        { STMT_RECORD_RECOVERY_REPORT,
          "UPDATE faults SET recovery_report_submitted_at = ?4 WHERE id = ?1" },
        { STMT_RECORD_ERASURE_REPORT,
          "UPDATE faults SET erasure_report_submitted_at = ?4 WHERE id = ?1" },
        { STMT_RECORD_CLOSE,
          "UPDATE faults SET closed_by = ?2, close_note = ?3, closed_at = ?4 WHERE id = ?1" },
        { STMT_FAULT_PARTS, "SELECT parts FROM faults WHERE id = ?" },
        { STMT_FAULT_DETAILS,
          "SELECT recovered_at, media_replaced, recovery_report_submitted_at,"
          " erasure_report_submitted_at, closed_at, acknowledged_by, ack_note,"
          " temporary_recovered_at, quote_at, quote_approved_at, quote_parts,"
          " deferral_approved_by FROM faults WHERE id = ?" },
        { STMT_WORK_INSERT,
          "INSERT INTO work (start_at, end_at, person, title, content, notes, fault_id, os_user,"
          " recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)" },
        { STMT_WORK_EDIT,
          /* Who changed a record is kept with it: a line naming the editor
           * and the time, appended to its edits (which no edit replaces) and
           * shown after its notes, so that a report never shows one person's
           * name above another's words (the event has the OS user too). */
          "UPDATE work SET title = COALESCE(?2, title), content = COALESCE(?3, content),"
          " notes = COALESCE(?4, notes), edited = ltrim(edited || char(10) || ?7, char(10)),"
          " start_at = COALESCE(?5, start_at), end_at = COALESCE(?6, end_at)"
          " WHERE id = ?1 AND COALESCE(?6, end_at) >= COALESCE(?5, start_at)" },
        { STMT_DELIVERABLE_GET,
          "SELECT due_warned, overdue_sent, submitted_at IS NOT NULL FROM deliverables"
          " WHERE kind = ? AND key = ?" },
        { STMT_DELIVERABLE_MARK,
          "INSERT INTO deliverables (kind, key, due, due_warned, overdue_sent)"
          " VALUES (?, ?, ?, ?, ?) ON CONFLICT (kind, key) DO UPDATE SET due = excluded.due,"
          " due_warned = excluded.due_warned, overdue_sent = excluded.overdue_sent" },
        { STMT_DELIVERABLE_SUBMIT,
          "INSERT INTO deliverables (kind, key, due, submitted_at) VALUES (?1, ?2, ?2, ?3)"
          " ON CONFLICT (kind, key) DO UPDATE SET submitted_at = excluded.submitted_at" },
        { STMT_REPORT_CLOCKS,
          "SELECT id, site, device, kind, recovered_at, media_replaced,"
          " recovery_report_submitted_at, erasure_report_submitted_at FROM faults"
          " WHERE recovered_at IS NOT NULL AND (recovery_report_submitted_at IS NULL"
          " OR (media_replaced AND erasure_report_submitted_at IS NULL)) ORDER BY id" },
        {},
};

static StoreStatement record_statement(const Action *a) {
        switch (a->type) {
        case ACTION_ACK:
                return STMT_RECORD_ACK;
        case ACTION_ONSITE:
                return STMT_RECORD_ONSITE;
        case ACTION_DEFER:
                return STMT_RECORD_DEFER;
        case ACTION_RECOVER:
                return a->temporary ? STMT_RECORD_RECOVER_TEMPORARY : STMT_RECORD_RECOVER;
        case ACTION_PARTS_QUOTE:
                return STMT_RECORD_QUOTE;
        case ACTION_PARTS_APPROVED:
                return STMT_RECORD_APPROVED;
        case ACTION_REPORT_SUBMITTED:
                return streq(a->kind, "erasure") ? STMT_RECORD_ERASURE_REPORT
                                                 : STMT_RECORD_RECOVERY_REPORT;
        case ACTION_CLOSE:
                return STMT_RECORD_CLOSE;
        default:
                return _STORE_STATEMENT_MAX;
        }
}

typedef struct Strv {
        char **v;
        size_t n;
} Strv;

static int read_strv(sqlite3_stmt *st, void *userdata) {
        Strv *x = userdata;

        return store_strv_from_json(column_text(st, 0), &x->v, &x->n);
}

/* The parts a recovery records: those of an earlier (provisional) recovery
 * of the fault, then the action's, as JSON in *ret. */
static int recovered_parts(Store *s, const Action *a, char **ret) {
        Strv old = {};
        char **all;
        int r;

        r = store_get(s, STMT_FAULT_PARTS, read_strv, &old, sv_int(a->fault_id));
        if (r == -ENOENT)
                r = 0;
        all = r >= 0 ? reallocarray(old.v, old.n + a->n_parts + 1, sizeof(char *)) : NULL;
        if (all) {
                old.v = all;
                for (size_t i = 0; i < a->n_parts; i++)
                        all[old.n + i] = a->parts[i];
                *ret = store_strv_to_json((const char *const *) all, old.n + a->n_parts);
        }
        for (size_t i = 0; i < old.n; i++)
                free(old.v[i]);
        free(old.v);
        return r < 0 ? r : *ret ? 0 : -ENOMEM;
}

int store_fault_record(Store *s, const Action *a, time_t at) {
        StoreStatement id = record_statement(a);
        _cleanup_(freep) char *parts = NULL;

        if (id == _STORE_STATEMENT_MAX)
                return 0;
        if (a->type == ACTION_RECOVER) {
                int r = recovered_parts(s, a, &parts);

                if (r < 0)
                        return r;
        } else if (a->type == ACTION_PARTS_QUOTE) {
                parts = store_strv_to_json((const char *const *) a->parts, a->n_parts);
                if (!parts)
                        return -ENOMEM;
        }
        return store_run(s, id, sv_int(a->fault_id), sv_str(a->by), sv_str(a->note), sv_int(at),
                         sv_str(a->cause), sv_str(a->action), sv_str(a->prevention),
                         sv_str(parts ?: "[]"), sv_int(a->media_replaced),
                         a->type == ACTION_RECOVER ? sv_int(a->remote) : sv_null(),
                         a->type == ACTION_RECOVER ? sv_str(a->loaner) : sv_null(),
                         a->type == ACTION_PARTS_QUOTE ? sv_int(a->amount) : sv_null());
}

static int read_details(sqlite3_stmt *st, void *userdata) {
        FaultDetails *d = userdata;
        const char *parts = column_text(st, 10);

        *d = (FaultDetails) {
                .recovered_at = column_time(st, 0),
                .media_replaced = sqlite3_column_int(st, 1),
                .recovery_report_submitted_at = column_time(st, 2),
                .erasure_report_submitted_at = column_time(st, 3),
                .closed_at = column_time(st, 4),
                .temporary_recovered_at = column_time(st, 7),
                .quote_at = column_time(st, 8),
                .quote_approved_at = column_time(st, 9),
        };
        (void) snprintf(d->quote_parts, sizeof(d->quote_parts), "%s", parts ?: "[]");
        column_copy_clean(st, 5, d->acknowledged_by, sizeof(d->acknowledged_by));
        column_copy_clean(st, 6, d->ack_note, sizeof(d->ack_note));
        column_copy_clean(st, 11, d->deferral_approved_by, sizeof(d->deferral_approved_by));
        return 0;
}

int store_fault_details(Store *s, int64_t id, FaultDetails *ret) {
        return store_get(s, STMT_FAULT_DETAILS, read_details, ret, sv_int(id));
}

int store_work_add(Store *s, const Action *a, time_t now, int64_t *ret_id) {
        int r;

        r = store_run(s, STMT_WORK_INSERT, sv_int(a->at), sv_int(a->end_at), sv_str(a->by),
                      sv_str(a->title), sv_str(a->content), sv_str(a->note), sv_time(a->fault_id),
                      sv_str(a->os_user), sv_int(now));
        if (r >= 0 && ret_id)
                *ret_id = store_last_id(s);
        return r;
}

int store_work_edit(Store *s, const Action *a, time_t now) {
        char t[ISO_DATETIME_MAX], *line = NULL;
        int r;

        /* "修正: 2026-11-26T10:00:00+09:00 山田 太郎" */
        if (asprintf(&line, "修正: %s %s", format_iso_datetime(now, t), a->by) < 0)
                return -ENOMEM;
        r = store_run(s, STMT_WORK_EDIT, sv_int(a->work_id), sv_text(a->title),
                      sv_text(a->content), sv_text(a->note), a->at ? sv_int(a->at) : sv_null(),
                      a->end_at ? sv_int(a->end_at) : sv_null(), sv_str(line));
        free(line);
        if (r >= 0 && store_changes(s) != 1)
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
        /* From the visit's start (--start, else the onsite start) to the
         * recovery: a provisional recovery and the final one are each
         * their own visit's work, never one span over the days between. */
        w.at = a->start_at ?: f->onsite_started_at ?: recovered_at;
        w.end_at = recovered_at;
        w.title = title;
        w.content = content;
        w.note = notes;
        w.fault_id = f->id;
        return store_work_add(s, &w, now, NULL);
}

/* ======================================================================== */

typedef struct DeliverableState {
        bool warned, overdue, submitted;
} DeliverableState;

static int read_deliverable(sqlite3_stmt *st, void *userdata) {
        *(DeliverableState *) userdata = (DeliverableState) {
                .warned = sqlite3_column_int(st, 0),
                .overdue = sqlite3_column_int(st, 1),
                .submitted = sqlite3_column_int(st, 2),
        };
        return 0;
}

int store_deliverable_get(Store *s, const char *kind, const char *key, bool *ret_warned,
                          bool *ret_overdue, bool *ret_submitted) {
        DeliverableState d = {};
        int r;

        r = store_get(s, STMT_DELIVERABLE_GET, read_deliverable, &d, sv_str(kind), sv_str(key));
        *ret_warned = d.warned;
        *ret_overdue = d.overdue;
        if (ret_submitted)
                *ret_submitted = d.submitted;
        return r == -ENOENT ? 0 : r;
}

int store_deliverable_mark(Store *s, const char *kind, const char *key, const char *due,
                           bool warned, bool overdue) {
        return store_run(s, STMT_DELIVERABLE_MARK, sv_str(kind), sv_str(key), sv_str(due),
                         sv_int(warned), sv_int(overdue));
}

static int report_clock_row(sqlite3_stmt *st, void *userdata) {
        const StoreVisit *v = userdata;
        ReportClock c = {
                .fault_id = sqlite3_column_int64(st, 0),
                .recovered_at = column_time(st, 4),
                .recovery_pending = sqlite3_column_type(st, 6) == SQLITE_NULL,
                .erasure_pending = sqlite3_column_int(st, 5) &&
                                   sqlite3_column_type(st, 7) == SQLITE_NULL,
        };

        (void) snprintf(c.site, sizeof(c.site), "%s", column_text(st, 1) ?: "");
        (void) snprintf(c.device, sizeof(c.device), "%s", column_text(st, 2) ?: "");
        (void) snprintf(c.kind, sizeof(c.kind), "%s", column_text(st, 3) ?: "");
        return ((StoreReportClockFn) v->fn)(&c, v->userdata);
}

int store_foreach_report_clock(Store *s, StoreReportClockFn fn, void *userdata) {
        return store_each(s, STMT_REPORT_CLOCKS, report_clock_row,
                          STORE_VISIT(fn, userdata));
}

int store_deliverable_submit(Store *s, const char *kind, const char *key, time_t at) {
        return store_run(s, STMT_DELIVERABLE_SUBMIT, sv_str(kind), sv_str(key), sv_int(at));
}
