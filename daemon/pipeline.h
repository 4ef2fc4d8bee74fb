/* SPDX-License-Identifier: MIT */
#pragma once

/* The commit path (issue 17): the only code that writes events. Whatever
 * produced them — a probe result judged by the fault engine, a contract
 * clock, a report clock, an operator's action — its output takes one way:
 *
 *   backlog -> one transaction (faults, events, outbox rows, the action's
 *   or the reminder's own rows) -> commit -> journal -> mailer
 *
 * The engine's own output is durable: while the database refuses writes
 * (disk full, read-only, locked) it waits in the backlog, in order, and is
 * written when the database takes writes again; its events reach the
 * journal at once either way. An operator's action is all or nothing: it is
 * refused (and undone in the engine by the caller) when its transaction
 * fails, and the operator is told to try again. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <systemd/sd-event.h>

#include "calendar.h"
#include "config.h"
#include "faults.h"
#include "macro.h"

typedef struct Store Store;
typedef struct Mailer Mailer;
typedef struct Pipeline Pipeline;

/* Called after every batch the pipeline handled (written or kept), with
 * the engine's output: the monitor re-probes the nodes it lists and
 * re-arms the contract clock. */
typedef void (*PipelineHandled)(const FaultOutput *o, void *userdata);

int pipeline_new(sd_event *e, const Config *c, const Calendar *cal, Store *s, FaultEngine *f,
                 Pipeline **ret);
/* Offers what waits a last time; what the database still refuses, only the
 * journal keeps. NULL-safe. */
Pipeline *pipeline_free(Pipeline *p);

/* At start-up: the engine takes the open faults (their ids and clocks kept
 * across restarts) and the anomaly window's transients, restarts and
 * anomalies from the store. */
int pipeline_restore(Pipeline *p, time_t now);

void pipeline_set_handled(Pipeline *p, PipelineHandled fn, void *userdata);

/* The mailer the outbox is kicked for; NULL while mail is suspended (a
 * reload: mails still go into the outbox, the next mailer sends them). */
void pipeline_set_mailer(Pipeline *p, Mailer *m);

/* Commits the engine's faults and events in one transaction with the mails
 * they cause, then journal and mailer; clears o afterwards (closed faults
 * are forgotten once nothing waits). Returns -EAGAIN (or the database's
 * error) when the batch waits in the backlog: nothing is lost then. */
int pipeline_commit(Pipeline *p, FaultOutput *o);

/* The rows an operator's action (or a reminder) writes besides its faults
 * and events: run inside the transaction, after the faults, before the
 * events. */
typedef int (*PipelineWrite)(Store *s, void *userdata);

/* An operator's action (after faults_on_action()): what waits goes first;
 * then the engine's output and write() in one transaction, and
 * faults_action_end() with the outcome. On failure nothing is written,
 * nothing is emitted, the engine's change is undone and msg says why. */
int pipeline_commit_action(Pipeline *p, FaultOutput *o, PipelineWrite write, void *userdata,
                           char *msg, size_t msglen);

/* The report clocks (looked at once a minute) and retention (daily): from
 * the contract clock's timer. */
void pipeline_tick(Pipeline *p, time_t now);

/* Writes what waits now; 0 when nothing waits. */
int pipeline_settle(Pipeline *p);

/* Batches of events emitted so far (the web view's changes). */
uint64_t pipeline_emitted(const Pipeline *p);

DEFINE_TRIVIAL_CLEANUP_FUNC(Pipeline *, pipeline_free);
