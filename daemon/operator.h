/* SPDX-License-Identifier: MIT */
#pragma once

/* Applying operator actions in the daemon: each is checked against its
 * fault's state and recorded, with its event, in one transaction. The
 * fault engine's copy of an open fault is updated in the same step, so the
 * clocks react at once (no re-notification after an ack; a deferral moves
 * the due and re-arms the warning and the breach). */

#include <stddef.h>
#include <time.h>

#include "action.h"
#include "calendar.h"
#include "config.h"
#include "event.h"
#include "faults.h"
#include "store.h"

/* On success returns 0, fills *ret_event (already stored) and a message for
 * the operator (e.g. whether onsite work met its due). On refusal returns
 * -EINVAL (bad state or value), -ENOENT (no such fault) or another -errno,
 * with the reason in msg; nothing is changed then. */
int operator_apply(Store *s, FaultEngine *e, const Config *c, const Calendar *cal,
                   const Action *a, time_t now, Event *ret_event, char *msg, size_t msglen);

/* Actions that create or start a fault's clocks go through the fault
 * engine like a probe result (receive, open, escalate): checked here, the
 * engine's events in out (with the operator's names), the fault in
 * *ret_fault; the caller commits them like the engine's other output. */
bool operator_is_engine_action(ActionType t);
int operator_engine_apply(Store *s, FaultEngine *e, const Config *c, const Action *a, time_t now,
                          FaultOutput *out, Fault **ret_fault, char *msg, size_t msglen);
