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
