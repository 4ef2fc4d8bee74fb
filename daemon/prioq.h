/* SPDX-License-Identifier: MIT */
#pragma once

/* The program's one priority queue, after systemd's prioq: items by a
 * uint64_t key, a clock in microseconds, the smallest on top. Each item keeps
 * its own place in the queue in an unsigned of its own (the index
 * back-pointer), which the queue updates whenever the item moves: putting,
 * moving and removing cost O(log n) and no search, the top is read in O(1).
 *
 * Unlike systemd's, the key lives in the queue's array beside the item, not
 * behind a compare function: every user orders by a clock, and a comparison
 * then reads no item's memory (the SNMP deadlines of 10,000 routers sit in
 * it; issue 18).
 *
 * Its users: each device's next probe (monitor), each fault's next contract
 * clock (faults), each SNMP session's next deadline (snmp).
 *
 * The index of an item that is not queued is PRIOQ_IDX_NULL, 0: a zeroed
 * (calloc'ed) item needs no setting up. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

#define PRIOQ_IDX_NULL 0u

typedef struct Prioq Prioq;

/* An empty queue with room for n items: as many puts cannot fail. */
int prioq_new(size_t n, Prioq **ret);

/* NULL-safe. The items' indices are left as they are. */
Prioq *prioq_free(Prioq *q);
DEFINE_TRIVIAL_CLEANUP_FUNC(Prioq *, prioq_free);

/* Makes room for n items in all. 0, -ENOMEM or -E2BIG. */
int prioq_reserve(Prioq *q, size_t n);

/* Queues data (not NULL) at key, its place kept in *idx; moves it to key when it is
 * queued already (*idx not PRIOQ_IDX_NULL). 0, or -ENOMEM (queued beyond the
 * room reserved, nothing changed). */
int prioq_put(Prioq *q, void *data, uint64_t key, unsigned *idx);

/* Moves the queued data to key. -ENOENT when *idx does not hold data. */
int prioq_reshuffle(Prioq *q, void *data, uint64_t key, unsigned *idx);

/* Takes data out; *idx becomes PRIOQ_IDX_NULL. Whether it was queued (*idx
 * holding data); when not, nothing changes. */
bool prioq_remove(Prioq *q, void *data, unsigned *idx);

/* The item with the smallest key (one of them, on a tie) and its key
 * (ret_key may be NULL); NULL when the queue is empty. */
void *prioq_peek(const Prioq *q, uint64_t *ret_key);

/* The same, taken out of the queue. */
void *prioq_pop(Prioq *q, uint64_t *ret_key);

/* The key of the item at *idx, or 0 when it is not queued (for clocks,
 * where 0 means none). */
uint64_t prioq_key(const Prioq *q, const unsigned *idx);

size_t prioq_size(const Prioq *q);

static inline bool prioq_queued(const unsigned *idx) {
        return *idx != PRIOQ_IDX_NULL;
}
