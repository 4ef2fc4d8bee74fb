/* SPDX-License-Identifier: MIT */
#pragma once

/* A min-heap of clocks: for each of n ids (0 .. n-1) at most one time (any
 * positive count: seconds of the wall clock, microseconds of the monotonic
 * one), the earliest on top. Setting, moving and removing an id's clock
 * cost O(log n); the earliest is read in O(1). The fault engine keeps each
 * node's next contract clock in one, the monitor each device's next probe
 * (issue 7: a result or a probe costs O(log n), not a scan or a timer of
 * its own per device). */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct ClockHeap ClockHeap;

/* A heap for ids 0 .. n-1, all without a clock. */
int clock_heap_new(size_t n, ClockHeap **ret);

/* NULL-safe. */
ClockHeap *clock_heap_free(ClockHeap *h);

/* Sets id's clock to at, or removes it when at is 0. */
void clock_heap_set(ClockHeap *h, size_t id, time_t at);

/* id's clock, or 0 when it has none. */
time_t clock_heap_get(const ClockHeap *h, size_t id);

/* The earliest clock and its id; false when the heap is empty. */
bool clock_heap_top(const ClockHeap *h, size_t *ret_id, time_t *ret_at);

/* Number of ids with a clock. */
size_t clock_heap_size(const ClockHeap *h);
