/* SPDX-License-Identifier: MIT */

/* A binary min-heap of (key, item) in one array, 1-based (items[0] unused),
 * so that the children of i are 2i and 2i + 1 and index 0 is free to mean
 * "not queued". Items move by the hole method: the moving item is written
 * once, where it stops. */

#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "prioq.h"

typedef struct PrioqItem {
        uint64_t key;
        void *data;
        unsigned *idx;
} PrioqItem;

struct Prioq {
        PrioqItem *items;            /* [1, n] the heap; [0] unused */
        unsigned n;
        size_t allocated;            /* elements of items, [0] included */
};

int prioq_new(size_t n, Prioq **ret) {
        _cleanup_(prioq_freep) Prioq *q = NULL;
        int r;

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        r = prioq_reserve(q, n);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(q);
        return 0;
}

Prioq *prioq_free(Prioq *q) {
        if (!q)
                return NULL;
        free(q->items);
        free(q);
        return NULL;
}

int prioq_reserve(Prioq *q, size_t n) {
        PrioqItem *items;
        size_t want;

        /* 2i of the last index must not overflow. */
        if (n >= UINT_MAX / 2)
                return -E2BIG;
        if (n + 1 <= q->allocated)
                return 0;
        want = MAX(n + 1, MIN(q->allocated * 2, (size_t) UINT_MAX / 2));
        want = MAX(want, (size_t) 16);
        items = reallocarray(q->items, want, sizeof(*items));
        if (!items)
                return -ENOMEM;
        q->items = items;
        q->allocated = want;
        return 0;
}

/* Puts x at i, where it belongs, or above; where it went. */
static unsigned sift_up(Prioq *q, unsigned i, PrioqItem x) {
        PrioqItem *a = q->items;

        while (i > 1 && x.key < a[i / 2].key) {
                a[i] = a[i / 2];
                *a[i].idx = i;
                i /= 2;
        }
        a[i] = x;
        *x.idx = i;
        return i;
}

/* Puts x at i, or below where it belongs. */
static void sift_down(Prioq *q, unsigned i, PrioqItem x) {
        PrioqItem *a = q->items;

        for (;;) {
                unsigned c = 2 * i;

                if (c > q->n)
                        break;
                if (c < q->n && a[c + 1].key < a[c].key)
                        c++;
                if (!(a[c].key < x.key))
                        break;
                a[i] = a[c];
                *a[i].idx = i;
                i = c;
        }
        a[i] = x;
        *x.idx = i;
}

/* Whether *idx is data's place in q. */
static bool holds(const Prioq *q, const void *data, const unsigned *idx) {
        unsigned i = *idx;

        return i != PRIOQ_IDX_NULL && i <= q->n && q->items[i].idx == idx &&
               q->items[i].data == data;
}

int prioq_reshuffle(Prioq *q, void *data, uint64_t key, unsigned *idx) {
        PrioqItem x;
        unsigned i;

        if (!holds(q, data, idx))
                return -ENOENT;
        i = *idx;
        x = q->items[i];
        x.key = key;
        if (sift_up(q, i, x) == i)
                sift_down(q, i, x);
        return 0;
}

int prioq_put(Prioq *q, void *data, uint64_t key, unsigned *idx) {
        int r;

        if (*idx != PRIOQ_IDX_NULL)
                return prioq_reshuffle(q, data, key, idx);
        if ((size_t) q->n + 1 >= q->allocated) {
                r = prioq_reserve(q, (size_t) q->n + 1);
                if (r < 0)
                        return r;
        }
        q->n++;
        (void) sift_up(q, q->n, (PrioqItem) { .key = key, .data = data, .idx = idx });
        return 0;
}

bool prioq_remove(Prioq *q, void *data, unsigned *idx) {
        PrioqItem last;
        unsigned i;

        if (!holds(q, data, idx))
                return false;
        i = *idx;
        *idx = PRIOQ_IDX_NULL;
        last = q->items[q->n--];
        if (i > q->n)
                return true;
        /* The last one takes the hole, and goes where it belongs. */
        if (sift_up(q, i, last) == i)
                sift_down(q, i, last);
        return true;
}

void *prioq_peek(const Prioq *q, uint64_t *ret_key) {
        if (q->n == 0)
                return NULL;
        if (ret_key)
                *ret_key = q->items[1].key;
        return q->items[1].data;
}

void *prioq_pop(Prioq *q, uint64_t *ret_key) {
        void *data = prioq_peek(q, ret_key);

        if (data)
                (void) prioq_remove(q, data, q->items[1].idx);
        return data;
}

uint64_t prioq_key(const Prioq *q, const unsigned *idx) {
        unsigned i = *idx;

        return i != PRIOQ_IDX_NULL && i <= q->n && q->items[i].idx == idx ? q->items[i].key : 0;
}

size_t prioq_size(const Prioq *q) {
        return q->n;
}
