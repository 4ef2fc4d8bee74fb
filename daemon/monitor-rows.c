/* SPDX-License-Identifier: MIT */

/* The device rows in the state database: what `status`, the web view and
 * the reports read of each device's last probe. They are the monitor's
 * live view, not a record: written in batches, not durably (what a power
 * failure takes, the next probes write again), and apart from the faults
 * and events, which only the pipeline writes. */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "macro.h"
#include "monitor-internal.h"
#include "store.h"
#include "timeutil.h"

/* Serials seen before a restart: a swap across a restart is still noticed. */
static int restore_serial(const DeviceRow *row, void *userdata) {
        Monitor *m = userdata;
        json_t *v, *serial;
        size_t node = faults_find_node(m->faults, row->id);

        if (node == SIZE_MAX || m->node_device[node] == SIZE_MAX ||
            m->devices[m->node_device[node]].kind != DEVICE_CAMERA)
                return 0;
        v = json_loads(row->values_json, 0, NULL);
        serial = json_object_get(v, "serial");
        if (json_is_string(serial))
                (void) snprintf(m->devices[m->node_device[node]].serial, PROBE_TEXT_MAX, "%s",
                                json_string_value(serial));
        json_decref(v);
        return 0;
}

/* Writes a device's row: in place when only what every probe changes
 * changed (probe time, latency, values), else the whole row. Values are
 * written when a result brought them (values_json), else the row keeps its
 * own; before any result, there are none ("{}"). */
static int device_write(Monitor *m, Device *d) {
        const char *state = device_state(m, d);
        int64_t latency = d->has_result ? (int64_t) d->latency_usec : -1;
        time_t at = d->has_result ? d->last_probe_at : 0;
        const char *values = d->has_result ? d->values_json : "{}";
        int r;

        if (!d->row_stale && d->stored_state == state) {
                r = store_touch_device(m->store, d->id, at, latency, values);
                if (r != -ENOENT)
                        return r;
        }
        return store_put_device(m->store, &(DeviceRow) {
                .id = d->id,
                .site = d->site < m->config->n_sites ? m->config->sites[d->site].id : NULL,
                .kind = device_kind_to_string(d->kind),
                .state = state,
                .last_probe_at = at,
                .latency_usec = latency,
                .reason = d->reason ?: "",
                .values_json = values,
        });
}

/* The device rows in one transaction, not durable: what a power failure
 * takes, the next probes write again. Faults, events and mails are
 * committed apart, durably (monitor_commit). */
int monitor_flush(Monitor *m) {
        int r;

        if (m->n_dirty == 0)
                return 0;
        r = store_begin_relaxed(m->store);
        for (size_t i = 0; r >= 0 && i < m->n_dirty; i++)
                r = device_write(m, &m->devices[m->dirty[i]]);
        if (r >= 0)
                r = store_commit(m->store);
        if (r < 0) {
                store_rollback(m->store);
                if (!m->store_failing)
                        log_errno(LOG_ERR, r, "Cannot write device states (%s); will retry",
                                  store_error(m->store));
                m->store_failing = true;
                /* Keep them dirty and try again later. */
                (void) sd_event_source_set_time_relative(m->flush_timer, STORE_RETRY);
                (void) sd_event_source_set_enabled(m->flush_timer, SD_EVENT_ONESHOT);
                return r;
        }
        if (m->store_failing)
                log_notice("Device states written again.");
        m->store_failing = false;
        for (size_t i = 0; i < m->n_dirty; i++) {
                Device *d = &m->devices[m->dirty[i]];

                d->dirty = d->row_stale = false;
                d->stored_state = device_state(m, d);
                /* The row has them (issue 18: 10,000 cameras' values are
                 * 2 MB that only a write needs). */
                d->values_json = mfree(d->values_json);
        }
        m->n_dirty = 0;
        return 0;
}

/* A result that waited for the sweep, to be written with the next batch. */
static void device_write_unwritten(Device *d) {
        if (!d->unwritten)
                return;
        if (d->kind == DEVICE_ROUTER)
                device_set_values(d, router_values(d, &d->router_values));
        device_mark_dirty(d);
}

/* Every result into its row, those that waited for the sweep too: on stop
 * and reload the database shows the last probe of every device. */
void monitor_flush_all(Monitor *m) {
        for (size_t i = 0; i < m->n_devices; i++)
                device_write_unwritten(&m->devices[i]);
        (void) monitor_flush(m);
}

/* A step of the sweep: the next devices in the order of their ids, so
 * many that all are visited every ROW_REFRESH. Their rows go with the
 * next flush, in one transaction. The next step is a step from now: after
 * a stall, no steps back to back to catch up. */
int monitor_on_sweep_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;
        size_t step = (m->n_devices * ROW_SWEEP_STEP + ROW_REFRESH - 1) / ROW_REFRESH;

        (void) usec;
        for (size_t i = 0; i < step; i++) { /* none when there are no devices */
                device_write_unwritten(&m->devices[m->by_id[m->sweep_next]]);
                m->sweep_next = (m->sweep_next + 1) % m->n_devices;
        }
        (void) sd_event_source_set_time_relative(s, ROW_SWEEP_STEP);
        return 0;
}

int monitor_on_flush_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        (void) monitor_flush(userdata);
        return 0;
}

int monitor_rows_restore(Monitor *m) {
        int r;

        r = store_foreach_device(m->store, restore_serial, m);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Cannot read the devices' rows (%s)",
                                 store_error(m->store));
        return 0;
}

/* The table holds the configured devices only, each written now. */
static int rows_sync(Monitor *m) {
        _cleanup_(freep) const char **ids = calloc(MAX(m->n_devices, (size_t) 1), sizeof(char *));
        int r;

        if (!ids)
                return -ENOMEM;
        /* In the order of the ids: a new table's rows lie in the sweep's order. */
        for (size_t i = 0; i < m->n_devices; i++) {
                ids[i] = m->devices[i].id;
                device_mark_dirty(&m->devices[m->by_id[i]]);
        }
        r = store_begin_relaxed(m->store);
        if (r < 0)
                return r;
        r = store_prune_devices(m->store, ids, m->n_devices);
        if (r < 0) {
                store_rollback(m->store);
                return r;
        }
        r = store_commit(m->store);
        if (r < 0)
                return r;
        return monitor_flush(m);
}

int monitor_rows_sync(Monitor *m) {
        int r;

        r = rows_sync(m);
        if (r < 0)
                log_errno(LOG_WARNING, r, "Cannot write the device table (%s)",
                          store_error(m->store));
        return r;
}
