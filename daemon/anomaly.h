/* SPDX-License-Identifier: MIT */
#pragma once

/* Anomalies to investigate (SPEC §2; the specification's L107-111): the
 * anomaly is the event that raised it (its id names it); investigations
 * are recorded against it; a reproduced one is escalated to a fault. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "event.h"

typedef struct Anomaly {
        int64_t id;                  /* the anomaly event's id */
        time_t at;
        char site[16];
        char device[24];
        char text[EVENT_TEXT_MAX];
        int64_t fault_id;            /* the fault it was escalated to; 0: none */
        size_t n_investigations;
} Anomaly;

typedef struct Investigation {
        int64_t id, anomaly_id;
        int64_t fault_id;            /* the anomaly's escalation; 0: none */
        time_t at;
        char person[72];
        char note[2048];
        char device[24];
} Investigation;
