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
#include "views.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

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
        size_t hidden = f->n_hidden;

        (void) userdata;
        printf("%-6" PRId64 " %-10s %-18s %-8s %-25s %-25s %s%s%s", f->id, f->device, f->kind,
               fault_state_to_string(f->state), format_iso_datetime(f->detected_at, det),
               due_text(f, due), f->reason, f->hint[0] ? "; check " : "",
               f->hint);
        if (hidden)
                printf(" (hides %zu device%s)", hidden, hidden == 1 ? "" : "s");
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
                json_t *arr = NULL;

                r = views_faults(store, open_only, &arr);
                if (r < 0) {
                        fprintf(stderr, "Cannot read the faults: %s\n",
                                store_strerror(store, r));
                        return CTL_EXIT_FAILURE;
                }
                return ctl_print_json(arr);
        }
        printf("%-6s %-10s %-18s %-8s %-25s %-25s %s\n", "ID", "DEVICE", "KIND", "STATE",
               "DETECTED", "DUE", "REASON");
        r = store_foreach_fault(store, open_only, fault_text_row, NULL);
        if (r < 0) {
                fprintf(stderr, "Cannot read the faults: %s\n", store_strerror(store, r));
                return CTL_EXIT_FAILURE;
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
