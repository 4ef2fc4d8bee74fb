/* SPDX-License-Identifier: MIT */

/* fieldwatchctl status: every device's last known state, read from the
 * state database while the daemon runs. */

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"
#include "views.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

static int status_text_row(const DeviceRow *d, void *userdata) {
        char at[ISO_DATETIME_MAX] = "-", latency[32] = "-";

        (void) userdata;
        if (d->last_probe_at > 0)
                format_iso_datetime(d->last_probe_at, at);
        if (d->latency_usec >= 0)
                (void) snprintf(latency, sizeof(latency), "%.1fms",
                                (double) d->latency_usec / 1000.0);
        printf("%-10s %-6s %-11s %-25s %9s  %s%s%s\n", d->id, d->kind, d->state, at, latency,
               d->values_json, d->reason[0] ? "  " : "", d->reason);
        return 0;
}

int ctl_status(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(store_closep) Store *store = NULL;
        bool json;
        int r;

        r = ctl_parse_listing(argc, argv, &json, NULL);
        if (r != CTL_EXIT_OK)
                return r;
        /* Times are shown in the contract's zone. */
        if (ctl_use_contract_zone(g) < 0)
                return CTL_EXIT_FAILURE;
        r = ctl_open_store(g, &store);
        if (r < 0)
                return CTL_EXIT_FAILURE;
        if (json) {
                json_t *arr = NULL;

                r = views_status(store, &arr);
                if (r < 0) {
                        fprintf(stderr, "Cannot read the device table: %s\n",
                                store_strerror(store, r));
                        return CTL_EXIT_FAILURE;
                }
                return ctl_print_json(arr);
        }
        printf("%-10s %-6s %-11s %-25s %9s  %s\n", "DEVICE", "KIND", "STATE", "LAST PROBE",
               "LATENCY", "VALUES / REASON");
        r = store_foreach_device(store, status_text_row, NULL);
        if (r < 0) {
                fprintf(stderr, "Cannot read the device table: %s\n", store_strerror(store, r));
                return CTL_EXIT_FAILURE;
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
