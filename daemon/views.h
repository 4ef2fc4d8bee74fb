/* SPDX-License-Identifier: MIT */
#pragma once

/* The listings both fieldwatchctl (--json) and the web view (/api/v1/...)
 * serve, built in one place from the state database, so that the two are
 * the same JSON (SPEC §6, README "JSON"). Each returns 0 and a new JSON
 * array in *ret, or -errno. Times are ISO 8601 in the process's zone (the
 * contract's). */

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "calendar.h"
#include "config.h"
#include "fault.h"
#include "store.h"

/* Events: without since_id, the last VIEWS_EVENTS_DEFAULT ones (limit 0);
 * with it, the ones after that id, oldest first, at most limit. */
#define VIEWS_EVENTS_DEFAULT 100U
#define VIEWS_EVENTS_MAX 1000U

/* fieldwatchctl status --json: every device's row. */
int views_status(Store *s, json_t **ret);

/* A fault as SPEC §6 names its keys, and a few more. */
json_t *views_fault_json(const Fault *f);

/* fieldwatchctl faults [--open] --json: views_fault_json() with the due in
 * force, the acknowledgement, origin and reception. */
int views_faults(Store *s, bool open_only, json_t **ret);

/* fieldwatchctl deadlines --json: the contract's deliverables due in
 * [from, to] that are not handed in yet, and the running clocks of faults (store may be NULL: none),
 * by due day; remaining_seconds counted from now. */
int views_deadlines(const Config *c, const Calendar *cal, Store *store, Day from, Day to,
                    time_t now, json_t **ret);

/* fieldwatchctl events [--since ID] [--limit N] --json. */
int views_events(Store *s, int64_t since_id, unsigned limit, json_t **ret);
