/* SPDX-License-Identifier: MIT */

/* fieldwatchctl anomalies: the anomalies to investigate (L107-111), each
 * with its investigations and the fault it was escalated to. */

#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

typedef struct AnomalyList {
        Store *store;
        json_t *arr;                 /* NULL: text */
} AnomalyList;

static int investigation_json(const Investigation *v, void *userdata) {
        char at[ISO_DATETIME_MAX];
        json_t *o = json_pack("{s:I, s:s, s:s, s:s}", "id", (json_int_t) v->id, "at",
                              format_iso_datetime(v->at, at), "by", v->person, "note", v->note);

        return o && json_array_append_new(userdata, o) >= 0 ? 0 : -ENOMEM;
}

static int investigation_text(const Investigation *v, void *userdata) {
        char at[ISO_DATETIME_MAX];

        (void) userdata;
        printf("       investigated %s by %s: %s\n", format_iso_datetime(v->at, at), v->person,
               v->note);
        return 0;
}

static int anomaly_row(const Anomaly *a, void *userdata) {
        AnomalyList *l = userdata;
        char at[ISO_DATETIME_MAX];
        json_t *o, *inv;

        if (!l->arr) {
                printf("%-6" PRId64 " %-25s %-10s %-8s %s\n", a->id, format_iso_datetime(a->at, at),
                       a->device, a->fault_id ? "fault" : a->n_investigations ? "checked" : "open",
                       a->text);
                if (a->fault_id)
                        printf("       escalated: fault %" PRId64 "\n", a->fault_id);
                return store_foreach_investigation(l->store, a->id, 0, INT64_MAX,
                                                   investigation_text, NULL);
        }
        inv = json_array();
        if (!inv)
                return -ENOMEM;
        if (store_foreach_investigation(l->store, a->id, 0, INT64_MAX, investigation_json, inv) < 0) {
                json_decref(inv);
                return -ENOMEM;
        }
        o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o}", "id", (json_int_t) a->id, "at",
                      format_iso_datetime(a->at, at), "site", a->site, "device", a->device, "text",
                      a->text, "investigations", inv, "fault_id",
                      a->fault_id ? json_integer(a->fault_id) : json_null());
        return o && json_array_append_new(l->arr, o) >= 0 ? 0 : -ENOMEM;
}

int ctl_anomalies(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(store_closep) Store *store = NULL;
        AnomalyList l = {};
        bool json;
        int r;

        r = ctl_parse_listing(argc, argv, &json, NULL);
        if (r != CTL_EXIT_OK)
                return r;
        if (ctl_use_contract_zone(g) < 0 || ctl_open_store(g, &store) < 0)
                return CTL_EXIT_FAILURE;
        l.store = store;
        if (json) {
                l.arr = json_array();
                if (!l.arr)
                        return CTL_EXIT_FAILURE;
        } else
                printf("%-6s %-25s %-10s %-8s %s\n", "ID", "AT", "DEVICE", "STATE", "WHAT");
        r = store_foreach_anomaly(store, anomaly_row, &l);
        if (r < 0) {
                json_decref(l.arr);
                fprintf(stderr, "Cannot read the anomalies: %s\n", store_strerror(store, r));
                return CTL_EXIT_FAILURE;
        }
        if (json)
                return ctl_print_json(l.arr);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
