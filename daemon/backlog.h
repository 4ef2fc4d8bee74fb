/* SPDX-License-Identifier: MIT */
#pragma once

/* The events the state database has not taken yet (disk full, read-only,
 * locked by another program), in order, with the faults they touched. The
 * monitor writes the whole backlog in one transaction; while that fails it
 * keeps everything here, and the faults stay alive in the engine (closed
 * ones are not forgotten while the backlog holds them). The events already
 * went to journald (or stderr) when they happened: what waits here is their
 * durable record and their mails. */

#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "fault.h"
#include "faults.h"

/* At most this many events wait; beyond it the oldest are dropped (counted
 * and logged: journald has them). 10,000 events are about 8 MiB. */
#define BACKLOG_EVENTS_MAX 10000

typedef struct BacklogEvent {
        Event event;
        Fault *fault;                /* the event's fault, or NULL */
} BacklogEvent;

typedef struct Backlog {
        BacklogEvent *events;
        size_t n_events, allocated_events;
        Fault **faults;              /* distinct, in the order first touched */
        size_t n_faults, allocated_faults;
        size_t dropped;              /* events dropped since the last clear */
} Backlog;

/* What a failed transaction must undo in the faults it wrote: an id the
 * database gave, a thread started by a mail that was not queued. */
typedef struct FaultMark {
        Fault *fault;
        bool had_id, had_thread;
} FaultMark;

/* Appends o's events and faults. Only -ENOMEM fails; at the cap the oldest
 * events go (b->dropped counts them). */
int backlog_add(Backlog *b, const FaultOutput *o);
static inline bool backlog_empty(const Backlog *b) {
        return b->n_events == 0 && b->n_faults == 0;
}
/* Whether f is held by the backlog. */
bool backlog_holds(const Backlog *b, const Fault *f);
void backlog_clear(Backlog *b);
void backlog_done(Backlog *b);

/* Marks every fault of the backlog before a write (*ret: n_faults entries,
 * to free), and undoes what a rolled-back write did to them. */
int backlog_marks(const Backlog *b, FaultMark **ret);
void backlog_unwind(FaultMark *marks, size_t n);
