/* SPDX-License-Identifier: MIT */

/* The commit path: backlog -> one transaction -> journal -> mailer
 * (pipeline.h). Nothing else writes events. */

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backlog.h"
#include "journal.h"
#include "log.h"
#include "macro.h"
#include "mail.h"
#include "mailer.h"
#include "pipeline.h"
#include "reminders.h"
#include "store-handover.h"
#include "timeutil.h"

/* While the database refuses writes, the backlog is offered again this
 * often, and the daemon says so at most this often. */
#define STORE_RETRY (5 * USEC_PER_SEC)
#define STORE_NAG (5 * USEC_PER_MINUTE)

/* Retention (retention.events, retention.mail) deletes this many rows of
 * each at a time: the loop waits on the deletion. */
#define RETENTION_BATCH 2000

struct Pipeline {
        sd_event *event;
        const Config *config;
        const Calendar *calendar;
        Store *store;
        FaultEngine *faults;
        Mailer *mailer;              /* NULL without notify: or while suspended */
        PipelineHandled handled;
        void *handled_userdata;
        Backlog backlog;             /* faults and events the database has not taken */
        sd_event_source *retry_timer;
        bool refusing;               /* the last write of the backlog failed */
        uint64_t nag_at;             /* when to say again that it still fails */
        uint64_t emitted;            /* batches of events emitted */
        time_t reminders_at;         /* when the report clocks were last looked at */
        time_t retention_at;         /* when old events and mails were last deleted */
};

/* ======================================================================== */

/* e's mail, or when it cannot be composed for a reason of its own (its
 * body too long: -E2BIG), the short mail that says so: 1 and *ret, or 0
 * when there is none at all. Only -ENOMEM fails: one mail's text must
 * never hold back the transaction, and with it every later fault and
 * mail. */
static int prepare_mail(Pipeline *p, const Event *e, const Fault *f, OutboxMail *ret) {
        time_t now = wallclock_now();
        int r, q;

        r = mail_prepare(p->config, e, f, now, ret);
        if (r >= 0)
                return 1;
        if (r == -ENOMEM)
                return r;
        q = mail_prepare_fallback(p->config, e, f, now, r, ret);
        if (q == -ENOMEM)
                return q;
        if (q < 0) {
                /* Only the configuration's addresses fail both, and it checks them. */
                log_errno(LOG_CRIT, q, "Cannot queue any mail for event %" PRId64 " (%s, %s): "
                          "the journal and the event history have it",
                          e->id, event_type_to_string(e->type), e->device[0] ? e->device : "-");
                return 0;
        }
        log_error("The mail of event %" PRId64 " (%s, %s) cannot be composed (%s); a short mail "
                  "that says so and how to see the event is queued instead",
                  e->id, event_type_to_string(e->type), e->device[0] ? e->device : "-",
                  r == -E2BIG ? "its body would pass the size limit" : strerror(-r));
        return 1;
}

/* Inside the transaction: the event's mail into the outbox. The first mail
 * of a fault starts its thread. */
static int queue_mail(Pipeline *p, const Event *e, Fault *f) {
        _cleanup_(outbox_mail_done) OutboxMail mail = {};
        int r;

        /* Queued also while the mailer is suspended (a reload): the outbox
         * is durable, the next mailer sends them. */
        if (!p->config->notify.configured || !event_type_mails(e->type))
                return 0;
        r = prepare_mail(p, e, f, &mail);
        if (r <= 0)
                return r;
        if (f && !f->thread_id[0]) {
                (void) snprintf(f->thread_id, sizeof(f->thread_id), "%s", mail.message_id);
                r = store_fault_update(p->store, f);
                if (r < 0)
                        return r;
        }
        return store_outbox_add(p->store, &mail);
}

/* After a commit: the events to the journal (or stderr), the mails on their way. */
static void emit(Pipeline *p, const Event *events, size_t n) {
        bool mail = false;

        if (n > 0)
                p->emitted++;
        for (size_t i = 0; i < n; i++) {
                (void) journal_send_event(&events[i]);
                mail = mail || event_type_mails(events[i].type);
        }
        if (mail)
                mailer_kick(p->mailer);
}

/* The faults, then write() (the rows of an action or a reminder), then
 * the events with their mails, inside the caller's transaction. */
static int write_batch(Pipeline *p, Backlog *b, PipelineWrite write, void *userdata) {
        int r = 0;

        for (size_t i = 0; r >= 0 && i < b->n_faults; i++)
                r = b->faults[i]->id == 0 ? store_fault_insert(p->store, b->faults[i])
                                          : store_fault_update(p->store, b->faults[i]);
        if (r >= 0 && write)
                r = write(p->store, userdata);
        for (size_t i = 0; r >= 0 && i < b->n_events; i++) {
                BacklogEvent *x = &b->events[i];

                if (x->fault)
                        x->event.fault_id = x->fault->id;
                r = store_event_insert(p->store, &x->event);
                if (r >= 0)
                        r = queue_mail(p, &x->event, x->fault);
        }
        return r;
}

/* One transaction: b with write() (when given). On failure nothing of it
 * is written and the faults are as before. */
static int transaction(Pipeline *p, Backlog *b, PipelineWrite write, void *userdata) {
        _cleanup_(freep) FaultMark *marks = NULL;
        int r;

        r = backlog_marks(b, &marks);
        if (r < 0)
                return r;
        r = store_begin(p->store);
        if (r >= 0)
                r = write_batch(p, b, write, userdata);
        if (r >= 0)
                r = store_commit(p->store);
        if (r < 0) {
                store_rollback(p->store);
                backlog_unwind(marks, b->n_faults);
        }
        return r;
}

/* The database refused the backlog: say so (once, then every STORE_NAG)
 * and offer it again in STORE_RETRY. */
static void refused(Pipeline *p, int r) {
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (!p->refusing || now >= p->nag_at) {
                log_errno(LOG_ERR, r,
                          "Cannot store %zu fault event%s (%s); they went to the journal and wait "
                          "in memory with their mails until the state database takes writes again",
                          p->backlog.n_events, p->backlog.n_events == 1 ? "" : "s",
                          store_error(p->store));
                p->nag_at = now + STORE_NAG;
        }
        p->refusing = true;
        (void) sd_event_source_set_time(p->retry_timer, now + STORE_RETRY);
        (void) sd_event_source_set_enabled(p->retry_timer, SD_EVENT_ONESHOT);
}

/* Writes the backlog now; after an outage, says that it caught up. */
static int catch_up(Pipeline *p) {
        size_t n = p->backlog.n_events, dropped = p->backlog.dropped;
        int r;

        if (backlog_empty(&p->backlog))
                return 0;
        r = transaction(p, &p->backlog, NULL, NULL);
        if (r < 0) {
                refused(p, r);
                return r;
        }
        if (p->refusing) {
                log_notice("Stored %zu delayed fault event%s; the state database takes writes "
                           "again.", n, n == 1 ? "" : "s");
                if (dropped > 0)
                        log_error("%zu older fault event%s could not be kept in memory and were "
                                  "not stored; the journal has them.",
                                  dropped, dropped == 1 ? "" : "s");
                (void) sd_event_source_set_enabled(p->retry_timer, SD_EVENT_OFF);
                mailer_kick(p->mailer);
        }
        p->refusing = false;
        backlog_clear(&p->backlog);
        return 0;
}

static int on_retry_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Pipeline *p = userdata;

        (void) s;
        (void) usec;
        if (catch_up(p) >= 0)
                faults_forget_closed(p->faults);
        return 0;
}

/* The output's events are done with; cleared faults go, unless the backlog
 * still holds them (they stay until they are written). */
static void round_done(Pipeline *p, FaultOutput *o) {
        fault_output_clear(o);
        if (backlog_empty(&p->backlog))
                faults_forget_closed(p->faults);
}

/* ======================================================================== */

int pipeline_commit(Pipeline *p, FaultOutput *o) {
        int r = 0;

        if (o->n_faults > 0 || o->n_events > 0) {
                r = backlog_add(&p->backlog, o);
                if (r < 0)
                        log_errno(LOG_ERR, r, "Cannot keep %zu fault events for the database; "
                                  "the journal has them", o->n_events);
                else if (p->refusing)
                        refused(p, r = -EAGAIN);
                else
                        r = catch_up(p);
                for (size_t i = 0; i < o->n_events; i++)
                        if (o->event_faults[i])
                                o->events[i].fault_id = o->event_faults[i]->id;
                emit(p, o->events, o->n_events);
        }
        if (p->handled)
                p->handled(o, p->handled_userdata);
        round_done(p, o);
        return r;
}

int pipeline_commit_action(Pipeline *p, FaultOutput *o, PipelineWrite write, void *userdata,
                           char *msg, size_t msglen) {
        _cleanup_(backlog_done) Backlog b = {};
        int r;

        /* Operators act on what the database shows: what waits goes first. */
        if (catch_up(p) < 0) {
                faults_action_end(p->faults, false);
                (void) snprintf(msg, msglen, "the state database does not take writes now (%s); "
                                "nothing was recorded, try again later", store_error(p->store));
                return -EAGAIN;
        }
        r = backlog_add(&b, o);
        if (r >= 0)
                r = transaction(p, &b, write, userdata);
        if (r >= 0)
                /* Before the engine lets go of a fault taken for this action. */
                for (size_t i = 0; i < o->n_events; i++)
                        if (o->event_faults[i])
                                o->events[i].fault_id = o->event_faults[i]->id;
        faults_action_end(p->faults, r >= 0);
        if (r < 0) {
                (void) snprintf(msg, msglen, "cannot record the action: %s (%s)", strerror(-r),
                                store_error(p->store));
                return r;
        }
        emit(p, o->events, o->n_events);
        if (p->handled)
                p->handled(o, p->handled_userdata);
        return 0;
}

/* ======================================================================== */

typedef struct ReminderBatch {
        Reminder *v;
        size_t n;
} ReminderBatch;

static int write_reminders(Store *s, void *userdata) {
        ReminderBatch *b = userdata;
        int r = 0;

        for (size_t i = 0; r >= 0 && i < b->n; i++)
                r = store_deliverable_mark(s, b->v[i].kind, b->v[i].key, b->v[i].due,
                                           b->v[i].warned, b->v[i].overdue);
        return r;
}

/* The report clocks: looked at once a minute (they move by days). Their
 * events and marks are one batch, written in one transaction. */
static void reminders(Pipeline *p, time_t now) {
        _cleanup_(backlog_done) Backlog b = {};
        ReminderBatch batch = {};
        FaultOutput o = {};
        int r;

        if (now < p->reminders_at + 60 && now >= p->reminders_at)
                return;
        p->reminders_at = now;
        r = reminders_collect(p->store, p->config, p->calendar, now, &batch.v, &batch.n);
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Cannot look at the report clocks (%s)",
                          store_error(p->store));
                return;
        }
        if (batch.n == 0)
                goto done;
        o.events = calloc(batch.n, sizeof(Event));
        o.event_faults = calloc(batch.n, sizeof(Fault *));
        if (!o.events || !o.event_faults) {
                log_error("Out of memory for %zu report clocks", batch.n);
                goto done;
        }
        for (size_t i = 0; i < batch.n; i++)
                o.events[i] = batch.v[i].event;
        o.n_events = o.allocated_events = batch.n;
        r = backlog_add(&b, &o);
        if (r >= 0)
                r = transaction(p, &b, write_reminders, &batch);
        if (r < 0)
                log_errno(LOG_ERR, r, "Cannot store %zu report clock%s (%s); they strike again "
                          "when the state database takes writes", batch.n,
                          batch.n == 1 ? "" : "s", store_error(p->store));
        /* The journal has them either way. */
        emit(p, o.events, o.n_events);
done:
        fault_output_done(&o);
        free(batch.v);
}

/* Retention (retention.events, retention.mail): older events and sent
 * mails go, at start and then daily, RETENTION_BATCH rows of each at a
 * time: a full batch is followed by the next one at the next tick. */
static void retention(Pipeline *p, time_t now) {
        int64_t keep_events = config_retention_seconds(p->config, false);
        int64_t keep_mail = config_retention_seconds(p->config, true);
        int64_t n_events = 0, n_mails = 0;
        int r;

        if (p->retention_at != 0 && now < p->retention_at + 86400 && now >= p->retention_at)
                return;
        p->retention_at = now;
        if (keep_events == 0 && keep_mail == 0)
                return;
        r = store_retention_purge(p->store, keep_events ? now - keep_events : 0,
                                  keep_mail ? now - keep_mail : 0, RETENTION_BATCH, &n_events,
                                  &n_mails);
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Cannot delete old events and mails (%s); trying "
                          "again tomorrow", store_error(p->store));
                return;
        }
        if (n_events == RETENTION_BATCH || n_mails == RETENTION_BATCH)
                p->retention_at = 0; /* more to delete: again at the next tick */
        if (n_events > 0 || n_mails > 0)
                log_info("Retention: deleted %" PRId64 " event%s older than %" PRId64
                         " days and %" PRId64 " sent mail%s older than %" PRId64 " days.",
                         n_events, n_events == 1 ? "" : "s", keep_events / 86400, n_mails,
                         n_mails == 1 ? "" : "s", keep_mail / 86400);
}

void pipeline_tick(Pipeline *p, time_t now) {
        reminders(p, now);
        if (backlog_empty(&p->backlog))
                retention(p, now);
}

int pipeline_settle(Pipeline *p) {
        return catch_up(p);
}

static int restore_fault(const Fault *f, void *userdata) {
        Pipeline *p = userdata;
        int r;

        r = faults_restore(p->faults, f);
        if (r == -ENOENT)
                log_warning("Fault %" PRId64 " of %s: the device is no longer configured; it stays "
                            "open in the database", f->id, f->device);
        else if (r < 0)
                return r;
        return 0;
}

typedef struct RestoreWindow {
        FaultEngine *faults;
        time_t now;
} RestoreWindow;

static int restore_event(const char *device, EventType type, time_t at, void *userdata) {
        RestoreWindow *w = userdata;

        return faults_restore_event(w->faults, device, type, at, w->now);
}

int pipeline_restore(Pipeline *p, time_t now) {
        const unsigned mask = 1u << EVENT_FAULT_TRANSIENT | 1u << EVENT_DEVICE_RESTARTED |
                              1u << EVENT_ANOMALY;
        RestoreWindow w = { .faults = p->faults, .now = now };
        int r;

        r = store_foreach_fault(p->store, true, restore_fault, p);
        if (r < 0)
                return r;
        return store_foreach_recent_event(
                p->store, mask, now - (time_t) (p->config->probes.anomaly_window / USEC_PER_SEC),
                restore_event, &w);
}

uint64_t pipeline_emitted(const Pipeline *p) {
        return p->emitted;
}

void pipeline_set_handled(Pipeline *p, PipelineHandled fn, void *userdata) {
        p->handled = fn;
        p->handled_userdata = userdata;
}

void pipeline_set_mailer(Pipeline *p, Mailer *m) {
        p->mailer = m;
}

/* ======================================================================== */

int pipeline_new(sd_event *e, const Config *c, const Calendar *cal, Store *s, FaultEngine *f,
                 Pipeline **ret) {
        _cleanup_(pipeline_freep) Pipeline *p = NULL;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        *p = (Pipeline) {
                .event = sd_event_ref(e),
                .config = c,
                .calendar = cal,
                .store = s,
                .faults = f,
        };
        r = sd_event_add_time_relative(e, &p->retry_timer, CLOCK_MONOTONIC, STORE_RETRY,
                                       USEC_PER_SEC / 10, on_retry_timer, p);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(p->retry_timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(p);
        return 0;
}

Pipeline *pipeline_free(Pipeline *p) {
        if (!p)
                return NULL;
        if (!backlog_empty(&p->backlog) && transaction(p, &p->backlog, NULL, NULL) < 0)
                log_error("%zu fault event%s could not be stored before stopping (%s); the "
                          "journal has them.", p->backlog.n_events,
                          p->backlog.n_events == 1 ? "" : "s", store_error(p->store));
        backlog_done(&p->backlog);
        (void) sd_event_source_disable_unref(p->retry_timer);
        sd_event_unref(p->event);
        free(p);
        return NULL;
}
