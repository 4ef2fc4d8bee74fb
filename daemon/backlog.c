/* SPDX-License-Identifier: MIT */

#include <stdlib.h>
#include <string.h>

#include "backlog.h"
#include "macro.h"

bool backlog_holds(const Backlog *b, const Fault *f) {
        for (size_t i = 0; i < b->n_faults; i++)
                if (b->faults[i] == f)
                        return true;
        return false;
}

static int hold_fault(Backlog *b, Fault *f) {
        if (!f || backlog_holds(b, f))
                return 0;
        if (array_grow((void **) &b->faults, &b->allocated_faults, b->n_faults, sizeof(Fault *)) < 0)
                return -ENOMEM;
        b->faults[b->n_faults++] = f;
        return 0;
}

int backlog_add(Backlog *b, const FaultOutput *o) {
        size_t n = o->n_events, first = n > BACKLOG_EVENTS_MAX ? n - BACKLOG_EVENTS_MAX : 0;

        /* The faults first: they are few and must all be written. */
        for (size_t i = 0; i < o->n_faults; i++)
                if (hold_fault(b, o->faults[i]) < 0)
                        return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (hold_fault(b, o->event_faults[i]) < 0)
                        return -ENOMEM;
        /* At the cap the oldest go. */
        b->dropped += first;
        if (b->n_events + (n - first) > BACKLOG_EVENTS_MAX) {
                size_t drop = b->n_events + (n - first) - BACKLOG_EVENTS_MAX;

                memmove(b->events, b->events + drop, (b->n_events - drop) * sizeof(BacklogEvent));
                b->n_events -= drop;
                b->dropped += drop;
        }
        for (size_t i = first; i < n; i++) {
                if (array_grow((void **) &b->events, &b->allocated_events, b->n_events,
                               sizeof(BacklogEvent)) < 0)
                        return -ENOMEM;
                b->events[b->n_events++] = (BacklogEvent) {
                        .event = o->events[i],
                        .fault = o->event_faults[i],
                };
        }
        return 0;
}

void backlog_clear(Backlog *b) {
        b->n_events = b->n_faults = b->dropped = 0;
}

void backlog_done(Backlog *b) {
        free(b->events);
        free(b->faults);
        *b = (Backlog) {};
}

int backlog_marks(const Backlog *b, FaultMark **ret) {
        FaultMark *m = calloc(MAX(b->n_faults, (size_t) 1), sizeof(FaultMark));

        if (!m)
                return -ENOMEM;
        for (size_t i = 0; i < b->n_faults; i++)
                m[i] = (FaultMark) {
                        .fault = b->faults[i],
                        .had_id = b->faults[i]->id > 0,
                        .had_thread = b->faults[i]->thread_id[0] != '\0',
                };
        *ret = m;
        return 0;
}

void backlog_unwind(FaultMark *marks, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if (!marks[i].had_id)
                        marks[i].fault->id = 0;
                if (!marks[i].had_thread)
                        marks[i].fault->thread_id[0] = '\0';
        }
}
