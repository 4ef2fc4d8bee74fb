/* SPDX-License-Identifier: MIT */

/* Reading the event history (fieldwatchctl events, the web view). */

#include <sqlite3.h>
#include <string.h>

#include "macro.h"
#include "store-internal.h"

static time_t column_time(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_NULL ? 0 : (time_t) sqlite3_column_int64(st, i);
}

int store_foreach_event(Store *s, int64_t since_id, unsigned limit, StoreEventFn fn,
                        void *userdata) {
        /* The last `limit` (by id, newest first, turned around by the outer
         * query), or the first `limit` after since_id. */
        static const char last[] =
                "SELECT * FROM (SELECT id, type, at, fault_id, site, device, kind, received_at,"
                " onsite_due, text, os_user, by_name FROM events ORDER BY id DESC LIMIT ?)"
                " ORDER BY id";
        static const char after[] =
                "SELECT id, type, at, fault_id, site, device, kind, received_at, onsite_due,"
                " text, os_user, by_name FROM events WHERE id > ? ORDER BY id LIMIT ?";
        sqlite3_stmt *st;
        int rc, r = 0;

        rc = sqlite3_prepare_v2(s->db, since_id > 0 ? after : last, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return sqlite_to_errno(rc);
        if (since_id > 0) {
                (void) sqlite3_bind_int64(st, 1, since_id);
                (void) sqlite3_bind_int64(st, 2, limit);
        } else
                (void) sqlite3_bind_int64(st, 1, limit);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                EventRow e = {
                        .id = sqlite3_column_int64(st, 0),
                        .type = column_text(st, 1) ?: "",
                        .at = column_time(st, 2),
                        .fault_id = sqlite3_column_int64(st, 3),
                        .site = column_text(st, 4) ?: "",
                        .device = column_text(st, 5) ?: "",
                        .kind = column_text(st, 6) ?: "",
                        .received_at = column_time(st, 7),
                        .onsite_due = column_time(st, 8),
                        .text = column_text(st, 9) ?: "",
                        .os_user = column_text(st, 10) ?: "",
                        .by = column_text(st, 11) ?: "",
                };

                r = fn(&e, userdata);
                if (r < 0)
                        break;
        }
        if (r >= 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
                r = sqlite_to_errno(rc);
        sqlite3_finalize(st);
        return r < 0 ? r : 0;
}

void store_set_busy_timeout(Store *s, unsigned msec) {
        (void) sqlite3_busy_timeout(s->db, (int) MIN(msec, (unsigned) INT32_MAX));
}
