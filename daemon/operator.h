/* SPDX-License-Identifier: MIT */
#pragma once

/* Operators' actions in the daemon (fieldwatchctl over the control
 * socket): the facts their rules need are read from the store, the fault
 * engine decides (faults_on_action), and the pipeline commits the engine's
 * output with the action's own rows in one transaction. */

#include <stddef.h>
#include <time.h>

#include "action.h"
#include "faults.h"
#include "pipeline.h"
#include "store.h"
#include "store.h"

/* On success returns 0 and a message for the operator (e.g. whether onsite
 * work met its due). On refusal returns -EINVAL (bad state or value),
 * -ENOENT (no such fault), -EAGAIN (the database refuses writes) or another
 * -errno, with the reason in msg; nothing is changed then. */
int operator_on_action(Store *s, FaultEngine *e, Pipeline *p, const Action *a, time_t now,
                       char *msg, size_t msglen);
