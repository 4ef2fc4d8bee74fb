/* SPDX-License-Identifier: MIT */

/* fieldwatchd: the daemon. Loads and validates the configuration, runs one
 * sd-event loop, tells systemd when it is ready, reloads on SIGHUP (keeping
 * the running configuration when the new one is invalid) and stops cleanly
 * on SIGTERM and SIGINT. */

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "calendar.h"
#include "cli.h"
#include "macro.h"

typedef struct Daemon {
        GlobalOptions options;
        Config *config;
        Calendar *calendar;
        sd_event *event;
} Daemon;

static void daemon_notify_status(const Daemon *d) {
        (void) sd_notifyf(false, "STATUS=%zu site%s configured (%s)", d->config->n_sites,
                          d->config->n_sites == 1 ? "" : "s", d->config->path);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        Calendar *cal = NULL;
        Config *c = NULL;

        (void) s;
        (void) si;
        (void) sd_notify(false, "RELOADING=1");
        fprintf(stderr, "Reloading %s.\n", d->options.config_path);
        if (cli_setup(&d->options, false, &c, &cal) < 0) {
                fprintf(stderr, "The new configuration is invalid; keeping the running one.\n");
                /* The old zone stays in force for the old configuration. */
                (void) tz_use(d->config->contract.timezone);
        } else {
                config_free(d->config);
                calendar_free(d->calendar);
                d->config = c;
                d->calendar = cal;
                fprintf(stderr, "Reloaded: %zu sites.\n", c->n_sites);
        }
        (void) sd_notify(false, "READY=1");
        daemon_notify_status(d);
        return 0;
}

static int daemon_run(Daemon *d) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGHUP);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        r = sd_event_default(&d->event);
        if (r < 0)
                return r;
        r = sd_event_set_signal_exit(d->event, true);
        if (r < 0)
                return r;
        r = sd_event_add_signal(d->event, NULL, SIGHUP, on_sighup, d);
        if (r < 0)
                return r;
        (void) sd_event_set_watchdog(d->event, true);

        (void) sd_notify(false, "READY=1");
        daemon_notify_status(d);
        fprintf(stderr, "fieldwatchd " FIELDWATCH_VERSION " running with %s: %zu sites.\n",
                d->config->path, d->config->n_sites);

        r = sd_event_loop(d->event);
        (void) sd_notify(false, "STOPPING=1");
        return r;
}

static void help(void) {
        printf("Usage: fieldwatchd [--config FILE] [--state-dir DIR] [--credentials-dir DIR]\n"
               "                  [--pretend-now TIME]\n\n"
               "Run the fieldwatch daemon in the foreground (systemd Type=notify).\n"
               "SIGHUP reloads the configuration; SIGTERM or SIGINT stops.\n");
}

int main(int argc, char **argv) {
        Daemon d = {};
        char err[512];
        int r;

        (void) setlocale(LC_ALL, "C.UTF-8");
        if (cli_take_global_options(&argc, argv, &d.options, err, sizeof(err)) < 0) {
                fprintf(stderr, "fieldwatchd: %s\n", err);
                return 2;
        }
        if (d.options.help) {
                help();
                return 0;
        }
        if (d.options.version) {
                printf("fieldwatchd " FIELDWATCH_VERSION "\n");
                return 0;
        }
        if (argc > 1) {
                fprintf(stderr, "fieldwatchd: unexpected argument '%s'\n", argv[1]);
                return 2;
        }
        if (cli_setup(&d.options, false, &d.config, &d.calendar) < 0)
                return 1;

        r = daemon_run(&d);
        if (r < 0)
                fprintf(stderr, "fieldwatchd: event loop failed: %s\n", strerror(-r));
        d.event = sd_event_unref(d.event);
        calendar_free(d.calendar);
        config_free(d.config);
        return r < 0 ? 1 : 0;
}
