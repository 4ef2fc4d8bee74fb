/* SPDX-License-Identifier: MIT */

/* fieldwatchd: the daemon, and its composition root. Loads and validates
 * the configuration, builds the objects below in dependency order (and
 * frees them in reverse), runs one sd-event loop, tells systemd when it is
 * ready, reloads on SIGHUP (keeping the running configuration when the new
 * one is invalid) and stops cleanly on SIGTERM and SIGINT.
 *
 * The data path, each step passed once:
 *
 *   probe -> monitor -> fault engine -> pipeline -> store -> journal, mailer
 *   operator (control socket) -> fault engine -> pipeline -> ...
 */

#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-event.h>

#include "calendar.h"
#include "camera.h"
#include "cli.h"
#include "control.h"
#include "log.h"
#include "macro.h"
#include "mailer.h"
#include "monitor.h"
#include "operator.h"
#include "pipeline.h"
#include "snmp.h"
#include "soap.h"
#include "web.h"

#define STATUS_EVERY (5 * USEC_PER_SEC)

/* One generation of the daemon's objects, built from one configuration
 * (a reload builds a new one beside the old, then swaps): the wiring
 * diagram of fieldwatchd. */
typedef struct Field {
        Config *config;
        Calendar *calendar;
        Store *store;                /* the state database */
        FaultEngine *faults;         /* results and actions in, faults and events out */
        Pipeline *pipeline;          /* the only writer of events: store, journal, mailer */
        CurlGlue *curl;              /* libcurl on the loop: cameras and mail */
        SnmpEngine *snmp;            /* the routers' SNMP sessions: sockets, timer, deadlines */
        Monitor *monitor;            /* devices, their probes and schedule */
        Mailer *mailer;              /* the outbox's sender; NULL without notify: or suspended */
} Field;

typedef struct Daemon {
        GlobalOptions options;
        Field field;
        Config *config;              /* the field's, for short */
        Calendar *calendar;
        Monitor *monitor;
        Control *control;            /* lives across reloads; acts on the current monitor */
        Web *web;                    /* http.listen, as at the start (NULL: off) */
        sd_event *event;
        sd_event_source *status_timer;
        char status[256];            /* the last STATUS= sent */
} Daemon;

/* Stops sending mail (a mail on its way stays in the outbox, to be sent
 * again), and starts again: one mailer at a time works on the outbox, so a
 * reload suspends the old field's before building the new one. */
static void field_suspend_mail(Field *f) {
        if (f->pipeline)
                pipeline_set_mailer(f->pipeline, NULL);
        f->mailer = mailer_free(f->mailer);
}

static int field_resume_mail(Field *f, sd_event *e, const char *credentials_dir) {
        int r;

        if (f->mailer || !f->config->notify.configured)
                return 0;
        r = mailer_new(e, f->config, f->store, credentials_dir, &f->mailer);
        if (r < 0)
                return r;
        pipeline_set_mailer(f->pipeline, f->mailer);
        return 0;
}

/* In reverse order of field_new(). The configuration and calendar too. */
static void field_free(Field *f) {
        field_suspend_mail(f);
        f->monitor = monitor_free(f->monitor);
        snmp_engine_unref(f->snmp);
        curl_glue_free(f->curl);
        /* A last offer of what waits, while the store and engine live. */
        f->pipeline = pipeline_free(f->pipeline);
        f->faults = faults_free(f->faults);
        store_close(f->store);
        calendar_free(f->calendar);
        config_free(f->config);
        *f = (Field) {};
}

/* Builds a field for config and cal (taken over, also on failure).
 * Everything that may block (the database, secrets, sessions) is done here,
 * before the loop runs. */
static int field_new(sd_event *e, const GlobalOptions *o, Config *config, Calendar *cal,
                     Field *ret) {
        Field f = { .config = config, .calendar = cal };
        int r;

        r = store_open(o->state_dir, &f.store);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Cannot open the state database in %s", o->state_dir);
                goto fail;
        }
        r = faults_new(config, cal, &f.faults);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Cannot set up the fault engine");
                goto fail;
        }
        r = pipeline_new(e, config, cal, f.store, f.faults, &f.pipeline);
        if (r >= 0)
                /* Open faults keep their ids and clocks across restarts. */
                r = pipeline_restore(f.pipeline, wallclock_now());
        if (r < 0) {
                log_errno(LOG_ERR, r, "Cannot read the faults in %s", o->state_dir);
                goto fail;
        }
        r = curl_glue_new(e, &f.curl);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Cannot set up libcurl");
                goto fail;
        }
        r = snmp_engine_new(e, &f.snmp);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Cannot set up the SNMP engine");
                goto fail;
        }
        r = monitor_new(e, config, cal, f.faults, f.store, f.pipeline, f.curl, f.snmp,
                        o->credentials_dir, &f.monitor);
        if (r >= 0)
                r = field_resume_mail(&f, e, o->credentials_dir);
        if (r < 0)
                goto fail;
        *ret = f;
        return 0;
fail:
        field_free(&f);
        return r;
}

/* Writes the device rows and what waits for the database (faults and
 * events it refused before): 0 when nothing waits any more, else why not.
 * A reload settles first, since the new field reads the faults back. */
static int field_settle(Field *f) {
        int r;

        monitor_flush_all(f->monitor);
        r = pipeline_settle(f->pipeline);
        if (r >= 0)
                r = mailer_settle(f->mailer);
        return r;
}

/* Tells systemd the one-line summary, when it changed. */
static void daemon_notify_status(Daemon *d) {
        char summary[256];

        monitor_summary(d->monitor, summary, sizeof(summary));
        if (streq(summary, d->status))
                return;
        (void) snprintf(d->status, sizeof(d->status), "%s", summary);
        (void) sd_notifyf(false, "STATUS=%s", summary);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Daemon *d = userdata;

        (void) sd_event_source_set_time(s, usec + STATUS_EVERY);
        daemon_notify_status(d);
        return 0;
}

static int daemon_apply_action(void *userdata, const Action *a, char *msg, size_t msglen) {
        Daemon *d = userdata;

        return operator_on_action(d->field.store, d->field.faults, d->field.pipeline, a,
                                  wallclock_now(), msg, msglen);
}

static int daemon_on_trap(void *userdata, const Trap *t, char *msg, size_t msglen) {
        Daemon *d = userdata;

        return monitor_on_trap(d->monitor, t, msg, msglen);
}

/* The daemon's shortcuts into its field. */
static void daemon_use(Daemon *d, Field *f) {
        d->field = *f;
        d->config = f->config;
        d->calendar = f->calendar;
        d->monitor = f->monitor;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Daemon *d = userdata;
        Calendar *cal = NULL;
        Config *c = NULL;
        Field f = {};
        int r;

        (void) s;
        (void) si;
        (void) sd_notify(false, "RELOADING=1");
        log_info("Reloading %s.", d->options.config_path);
        r = cli_setup(&d->options, false, &c, &cal);
        if (r >= 0) {
                r = field_settle(&d->field);
                if (r < 0)
                        log_errno(LOG_ERR, r, "Faults or a mail's outcome wait for the state "
                                  "database; reloading only once they are stored.");
                if (r < 0) {
                        calendar_free(cal);
                        config_free(c);
                }
        }
        if (r >= 0) {
                field_suspend_mail(&d->field);
                r = field_new(d->event, &d->options, c, cal, &f);
        }
        if (r >= 0)
                r = monitor_start(f.monitor);
        if (r < 0) {
                log_error("The new configuration is not usable; keeping the running one.");
                field_free(&f);
                (void) field_resume_mail(&d->field, d->event, d->options.credentials_dir);
                /* The old zone stays in force for the old configuration. */
                (void) tz_use(d->config->contract.timezone);
        } else {
                field_free(&d->field);
                daemon_use(d, &f);
                web_set_state(d->web, d->monitor, d->config, d->calendar);
                log_info("Reloaded: %zu sites.", d->config->n_sites);
        }
        (void) sd_notify(false, "READY=1");
        d->status[0] = 0;
        daemon_notify_status(d);
        return 0;
}

static int daemon_run(Daemon *d) {
        Field f = {};
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
        r = sd_event_add_time_relative(d->event, &d->status_timer, CLOCK_MONOTONIC, STATUS_EVERY,
                                       USEC_PER_SEC, on_status_timer, d);
        if (r >= 0)
                r = sd_event_source_set_enabled(d->status_timer, SD_EVENT_ON);
        if (r < 0)
                return r;

        /* Everything that may block (secrets, sessions, the database) is done here. */
        r = field_new(d->event, &d->options, d->config, d->calendar, &f);
        d->config = NULL;
        d->calendar = NULL;
        if (r < 0)
                return r;
        daemon_use(d, &f);
        r = monitor_start(d->monitor);
        if (r < 0)
                return r;
        r = control_new(d->event, d->options.runtime_dir, d->options.state_dir, &d->control);
        if (r < 0)
                return -EINVAL;      /* logged */
        control_set_apply(d->control, daemon_apply_action, d);
        control_set_trap(d->control, daemon_on_trap, d);
        r = web_new(d->event, d->config, d->options.state_dir, d->options.credentials_dir,
                    &d->web);
        if (r < 0)
                return -EINVAL;      /* logged */
        web_set_state(d->web, d->monitor, d->config, d->calendar);

        (void) sd_notify(false, "READY=1");
        daemon_notify_status(d);
        log_info("fieldwatchd " FIELDWATCH_VERSION " watching %zu sites of %s.", d->config->n_sites,
                 d->config->path);
        /* Once, at start (not on reload): mail leaves the workplace. */
        if (config_consent_warning(d->config))
                log_warning("Warning: %s.", config_consent_warning(d->config));

        r = sd_event_loop(d->event);
        (void) sd_notify(false, "STOPPING=1");
        monitor_flush_all(d->monitor);
        return r;
}

/* A descriptor per camera connection in flight and per router session:
 * the soft limit (1024 by default) is too low for a large field. Raises it
 * to the hard limit; under systemd, LimitNOFILE= in the unit sets both
 * (and its system call filter refuses setrlimit()). */
static void raise_fd_limit(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_debug("Cannot raise the limit of open files to %llu, ignoring: %m",
                          (unsigned long long) rl.rlim_max);
}

static void help(void) {
        printf("Usage: fieldwatchd [--config FILE] [--state-dir DIR] [--credentials-dir DIR]\n"
               "                  [--runtime-dir DIR] [--pretend-now TIME]\n\n"
               "Run the fieldwatch daemon in the foreground (systemd Type=notify).\n"
               "SIGHUP reloads the configuration; SIGTERM or SIGINT stops.\n");
}

int main(int argc, char **argv) {
        Daemon d = {};
        char err[512];
        int r;

        /* It holds device passwords and the SMTP password in memory: no core
         * dumps, and /proc/PID/mem, environ and ptrace are root's alone, not
         * the service user's other processes' (the secrets' only readers). */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
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

        raise_fd_limit();
        r = daemon_run(&d);
        if (r < 0 && r != -EINVAL)
                log_errno(LOG_ERR, r, "fieldwatchd failed");
        d.web = web_free(d.web);
        d.control = control_free(d.control);
        if (d.field.config)
                field_free(&d.field);
        else {
                /* field_new() was not reached. */
                calendar_free(d.calendar);
                config_free(d.config);
        }
        (void) sd_event_source_disable_unref(d.status_timer);
        d.event = sd_event_unref(d.event);
        camera_cycle_pool_release();
        soap_parser_release();
        return r < 0 ? 1 : 0;
}
