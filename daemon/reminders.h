/* SPDX-License-Identifier: MIT */
#pragma once

/* The report clocks (SPEC §2): `report_due` `sla.report_warn_before` before
 * the deliver-by day of every deliverable — the contract's quarterly work
 * reports, annual plans and completion notices, and each recovered fault's
 * recovery and erasure reports — and `report_overdue` once a fault's report
 * is past its deliver-by day without being handed in. Each strikes once:
 * the store keeps what struck. */

#include <stddef.h>
#include <time.h>

#include "calendar.h"
#include "config.h"
#include "event.h"
#include "store.h"

typedef struct Reminder {
        Event event;
        char kind[32];               /* quarterly_report, ..., recovery_report, erasure_report */
        char key[64];
        char due[16];
        bool warned, overdue;        /* the flags to store with the event */
} Reminder;

/* The reminders due at now that have not struck yet. Caller frees *ret. */
int reminders_collect(Store *s, const Config *c, const Calendar *cal, time_t now,
                      Reminder **ret, size_t *ret_n);
