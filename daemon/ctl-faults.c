/* SPDX-License-Identifier: MIT */

/* fieldwatchctl faults: the faults in the state database, read while the
 * daemon runs. */

#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

static json_t *json_time(time_t t) {
        char buf[ISO_DATETIME_MAX];

        return t > 0 ? json_string(format_iso_datetime(t, buf)) : json_null();
}

/* A fault as SPEC §6 names its keys, and a few more. */
json_t *ctl_fault_json(const Fault *f) {
        json_t *hidden = json_loads(f->hidden ?: "[]", 0, NULL);

        if (!json_is_array(hidden)) {
                json_decref(hidden);
                hidden = json_array();
        }
        return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b, s:o, s:o, s:o, s:o,"
                         " s:o, s:b, s:s, s:s, s:o}",
                         "id", (json_int_t) f->id, "site", f->site, "device", f->device, "kind",
                         f->kind, "severity", fault_severity_to_string(f->severity), "state",
                         fault_state_to_string(f->state), "detected_at", json_time(f->detected_at),
                         "received_at", json_time(f->received_at), "onsite_due",
                         json_time(f->onsite_due), "deferral_eligible", f->deferral_eligible,
                         "deferred_onsite_due", json_time(f->deferred_onsite_due),
                         "onsite_started_at", json_time(f->onsite_started_at), "acknowledged_at",
                         json_time(f->acknowledged_at), "deferral_approved_at",
                         json_time(f->deferral_approved_at), "cleared_at",
                         json_time(f->cleared_at), "transient", f->transient, "reason", f->reason,
                         "hint", f->hint, "hidden", hidden);
}

typedef struct FaultList {
        json_t *arr;
        Store *store;
} FaultList;

/* ctl_fault_json(), with the due in force and the acknowledgement. */
static int fault_json_row(const Fault *f, void *userdata) {
        FaultList *l = userdata;
        FaultDetails det = {};
        json_t *o = ctl_fault_json(f);

        if (!o)
                return -ENOMEM;
        (void) store_fault_details(l->store, f->id, &det);
        if (json_object_set_new(o, "due", json_time(fault_due(f))) < 0 ||
            json_object_set_new(o, "acknowledged_by", det.acknowledged_by[0]
                                                              ? json_string(det.acknowledged_by)
                                                              : json_null()) < 0 ||
            json_object_set_new(o, "ack_note", det.ack_note[0] ? json_string(det.ack_note)
                                                               : json_null()) < 0 ||
            json_object_set_new(o, "origin", json_string(fault_origin_to_string(f->origin))) < 0 ||
            json_object_set_new(o, "sla_rule", json_string(f->sendback ? "sendback" : "onsite")) < 0 ||
            json_object_set_new(o, "received_from", f->received_from[0]
                                                            ? json_string(f->received_from)
                                                            : json_null()) < 0 ||
            json_object_set_new(o, "anomaly_id", f->anomaly_id ? json_integer(f->anomaly_id)
                                                               : json_null()) < 0 ||
            json_array_append_new(l->arr, o) < 0)
                return -ENOMEM;
        return 0;
}

/* The due in force, or why there is none. */
static const char *due_text(const Fault *f, char buf[static ISO_DATETIME_MAX]) {
        if (fault_due(f))
                return format_iso_datetime(fault_due(f), buf);
        if (f->sendback)
                return "send-back (no onsite)";
        if (f->received_at == 0)
                return "awaiting the call";
        return "-";
}

static int fault_text_row(const Fault *f, void *userdata) {
        char det[ISO_DATETIME_MAX], due[ISO_DATETIME_MAX];
        size_t hidden = 0;

        (void) userdata;
        for (const char *p = f->hidden; p && *p; p++)
                hidden += *p == '"';
        printf("%-6" PRId64 " %-10s %-18s %-8s %-25s %-25s %s%s%s", f->id, f->device, f->kind,
               fault_state_to_string(f->state), format_iso_datetime(f->detected_at, det),
               due_text(f, due), f->reason, f->hint[0] ? "; check " : "",
               f->hint);
        if (hidden)
                printf(" (hides %zu device%s)", hidden / 2, hidden == 2 ? "" : "s");
        printf("\n");
        return 0;
}

int ctl_faults(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(store_closep) Store *store = NULL;
        bool json, open_only;
        int r;

        r = ctl_parse_listing(argc, argv, &json, &open_only);
        if (r != CTL_EXIT_OK)
                return r;
        if (ctl_use_contract_zone(g) < 0)
                return CTL_EXIT_FAILURE;
        r = ctl_open_store(g, &store);
        if (r < 0)
                return CTL_EXIT_FAILURE;
        if (json) {
                json_t *arr = json_array();

                if (!arr)
                        return CTL_EXIT_FAILURE;
                r = store_foreach_fault(store, open_only, fault_json_row,
                                        &(FaultList) { .arr = arr, .store = store });
                if (r < 0) {
                        json_decref(arr);
                        fprintf(stderr, "Cannot read the faults: %s\n", store_error(store));
                        return CTL_EXIT_FAILURE;
                }
                return ctl_print_json(arr);
        }
        printf("%-6s %-10s %-18s %-8s %-25s %-25s %s\n", "ID", "DEVICE", "KIND", "STATE",
               "DETECTED", "DUE", "REASON");
        r = store_foreach_fault(store, open_only, fault_text_row, NULL);
        if (r < 0) {
                fprintf(stderr, "Cannot read the faults: %s\n", store_error(store));
                return CTL_EXIT_FAILURE;
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
