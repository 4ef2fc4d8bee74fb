/* SPDX-License-Identifier: MIT */

/* The monitor's figures: Prometheus text (the web view's /metrics and
 * the metrics file), the change counter of the web view's live updates,
 * and the one-line summary (systemd's STATUS=, the web view). */

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "macro.h"
#include "metrics.h"
#include "monitor-internal.h"
#include "timeutil.h"

static void metrics_device_labels(FILE *f, const Monitor *m, const Device *d) {
        fputs("{device=\"", f);
        metrics_label(f, d->id);
        fputs("\",site=\"", f);
        metrics_label(f, d->site < m->config->n_sites ? m->config->sites[d->site].id : "");
        fprintf(f, "\",kind=\"%s\"", device_kind_to_string(d->kind));
}

static void metrics_devices(FILE *f, const Monitor *m) {
        static const char *const states[] = { "up", "degraded", "down", "unreachable", "unknown" };
        const Config *c = m->config;

        fputs("# HELP fieldwatch_device_up Whether the device answered its last probe fully (1) or not (0).\n"
              "# TYPE fieldwatch_device_up gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                fputs("fieldwatch_device_up", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %d\n", d->has_result && d->status == PROBE_UP &&
                                             !faults_node_unreachable(m->faults, d->node));
        }
        fputs("# HELP fieldwatch_device_state The device's state (one series per state).\n"
              "# TYPE fieldwatch_device_state gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++)
                for (size_t j = 0; j < ELEMENTSOF(states); j++) {
                        fputs("fieldwatch_device_state", f);
                        metrics_device_labels(f, m, &m->devices[i]);
                        fprintf(f, ",state=\"%s\"} %d\n", states[j],
                                streq(states[j], device_state(m, &m->devices[i])));
                }
        fputs("# HELP fieldwatch_probe_latency_seconds Round trip of the last probe.\n"
              "# TYPE fieldwatch_probe_latency_seconds gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                if (!d->has_result)
                        continue;
                fputs("fieldwatch_probe_latency_seconds", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %.6f\n", (double) d->latency_usec / 1e6);
        }
        fputs("# HELP fieldwatch_lte_signal LTE signal values of the routers, as configured.\n"
              "# TYPE fieldwatch_lte_signal gauge\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                if (d->kind != DEVICE_ROUTER || !d->has_result)
                        continue;
                for (size_t k = 0; k < c->probes.router.n_signals && k < PROBE_SIGNALS_MAX; k++) {
                        const SignalValue *v = &d->router_values.signals[k];

                        if (!v->has)
                                continue;
                        fputs("fieldwatch_lte_signal", f);
                        metrics_device_labels(f, m, d);
                        fprintf(f, ",signal=\"%s\"} %ld\n", c->probes.router.signals[k].name,
                                v->value);
                }
        }
}

static void metrics_faults(FILE *f, const Monitor *m, time_t now) {
        size_t open = 0, n;
        Fault *const *all = faults_tracked(m->faults, &n);

        fputs("# HELP fieldwatch_fault_due_seconds Seconds until the due in force of each open "
              "fault without onsite work: the approved deferral's, else the onsite due "
              "(negative: overdue).\n# TYPE fieldwatch_fault_due_seconds gauge\n", f);
        /* Reported faults too; none for a fault without a due yet (awaiting
         * its call) or at all (send-back maintenance). */
        for (size_t i = 0; i < n; i++) {
                const Fault *ft = all[i];

                if (ft->state != FAULT_OPEN)
                        continue;
                open++;
                if (ft->onsite_started_at || fault_due(ft) == 0)
                        continue;
                fprintf(f, "fieldwatch_fault_due_seconds{fault_id=\"%" PRId64 "\",device=\"", ft->id);
                metrics_label(f, ft->device);
                fprintf(f, "\",kind=\"%s\",deferred=\"%s\"} %lld\n", ft->kind,
                        fault_due(ft) != ft->onsite_due ? "yes" : "no",
                        (long long) (fault_due(ft) - now));
        }
        fprintf(f, "# HELP fieldwatch_traps_total SNMP notifications handed on by snmptrapd, by "
                   "what became of them.\n# TYPE fieldwatch_traps_total counter\n"
                   "fieldwatch_traps_total{result=\"acted\"} %" PRIu64 "\n"
                   "fieldwatch_traps_total{result=\"unknown_sender\"} %" PRIu64 "\n"
                   "fieldwatch_traps_total{result=\"wrong_community\"} %" PRIu64 "\n",
                m->traps_acted, m->traps_unknown, m->traps_refused);
        fprintf(f, "# HELP fieldwatch_open_faults Faults open now.\n"
                   "# TYPE fieldwatch_open_faults gauge\nfieldwatch_open_faults %zu\n", open);
}

/* Probe counters and durations: only for a scrape (/metrics), not the
 * textfile (node_exporter's textfile collector takes gauges only). */
static void metrics_probes(FILE *f, const Monitor *m) {
        static const char *const results[] = { "up", "degraded", "down" };

        fputs("# HELP fieldwatch_probes_total Probe cycles completed, by result.\n"
              "# TYPE fieldwatch_probes_total counter\n", f);
        for (size_t i = 0; i < m->n_devices; i++)
                for (size_t j = 0; j < ELEMENTSOF(results); j++) {
                        fputs("fieldwatch_probes_total", f);
                        metrics_device_labels(f, m, &m->devices[i]);
                        fprintf(f, ",result=\"%s\"} %" PRIu32 "\n", results[j],
                                m->devices[i].probes[j]);
                }
        fputs("# HELP fieldwatch_probe_duration_seconds How long probe cycles took.\n"
              "# TYPE fieldwatch_probe_duration_seconds histogram\n", f);
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];
                uint64_t n = (uint64_t) d->probes[0] + d->probes[1] + d->probes[2];

                for (size_t k = 0; k <= MONITOR_DURATION_BUCKETS; k++) {
                        fputs("fieldwatch_probe_duration_seconds_bucket", f);
                        metrics_device_labels(f, m, d);
                        if (k < MONITOR_DURATION_BUCKETS)
                                fprintf(f, ",le=\"%g\"} %" PRIu32 "\n", duration_bounds[k],
                                        d->duration_buckets[k]);
                        else
                                fprintf(f, ",le=\"+Inf\"} %" PRIu64 "\n", n);
                }
                fputs("fieldwatch_probe_duration_seconds_sum", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %.6f\n", (double) d->duration_sum_usec / 1e6);
                fputs("fieldwatch_probe_duration_seconds_count", f);
                metrics_device_labels(f, m, d);
                fprintf(f, "} %" PRIu64 "\n", n);
        }
}

static void metrics_lateness(FILE *f, const Monitor *m) {
        fputs("# HELP fieldwatch_probe_lateness_seconds How late probe cycles start against "
              "their slot (the schedule rounded up to the probe grid).\n# TYPE fieldwatch_probe_lateness_seconds histogram\n", f);
        for (size_t k = 0; k < MONITOR_LATENESS_BUCKETS; k++)
                fprintf(f, "fieldwatch_probe_lateness_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
                        lateness_bounds[k], m->lateness_buckets[k]);
        fprintf(f, "fieldwatch_probe_lateness_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n"
                   "fieldwatch_probe_lateness_seconds_sum %.6f\n"
                   "fieldwatch_probe_lateness_seconds_count %" PRIu64 "\n",
                m->lateness_count, (double) m->lateness_sum_usec / 1e6, m->lateness_count);
}

void monitor_write_prometheus(const Monitor *m, FILE *f) {
        metrics_devices(f, m);
        metrics_faults(f, m, wallclock_now());
        metrics_probes(f, m);
        metrics_lateness(f, m);
}

uint64_t monitor_generation(const Monitor *m) {
        uint64_t h = 14695981039346656037ULL ^ pipeline_emitted(m->pipeline);

        /* FNV-1a over what a tile shows. */
        for (size_t i = 0; i < m->n_devices; i++) {
                const Device *d = &m->devices[i];

                h = (h ^ (uintptr_t) device_state(m, d)) * 1099511628211ULL;
                h = (h ^ (uint64_t) d->tunnel) * 1099511628211ULL;
        }
        return h;
}

static int monitor_write_metrics(Monitor *m) {
        const char *path = m->config->metrics_file;
        char *tmp = NULL;
        FILE *f = NULL;
        int r;

        if (!path)
                return 0;
        r = metrics_begin(path, &f, &tmp);
        if (r >= 0) {
                metrics_devices(f, m);
                metrics_faults(f, m, wallclock_now());
                r = metrics_commit(f, tmp, path);
        }
        if (r < 0 && !m->metrics_failing)
                log_errno(LOG_WARNING, r, "Cannot write the metrics to %s", path);
        m->metrics_failing = r < 0;
        return r;
}

int monitor_on_metrics_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Monitor *m = userdata;
        uint64_t every = MIN(MIN(m->config->probes.camera.interval, m->config->probes.router.interval),
                             m->config->probes.vpn.interval);

        (void) monitor_write_metrics(m);
        (void) sd_event_source_set_time(s, usec + MAX(every, USEC_PER_SEC));
        return 0;
}


void monitor_summary(const Monitor *m, char *buf, size_t size) {
        size_t counts[3] = {}, unknown = 0;

        for (size_t i = 0; i < m->n_devices; i++) {
                if (m->devices[i].has_result)
                        counts[m->devices[i].status]++;
                else
                        unknown++;
        }
        (void) snprintf(buf, size, "%zu sites: %zu up, %zu degraded, %zu down, %zu unknown",
                        m->config->n_sites, counts[PROBE_UP], counts[PROBE_DEGRADED],
                        counts[PROBE_DOWN], unknown);
}
