/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "clockheap.h"
#include "macro.h"

#define NOT_IN_HEAP SIZE_MAX

struct ClockHeap {
        size_t n;                    /* ids */
        size_t size;                 /* ids in the heap */
        size_t *heap;                /* ids, heap-ordered by at[] */
        size_t *pos;                 /* id -> index in heap, or NOT_IN_HEAP */
        time_t *at;                  /* id -> its clock */
};

int clock_heap_new(size_t n, ClockHeap **ret) {
        ClockHeap *h;

        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->n = n;
        h->heap = calloc(MAX(n, (size_t) 1), sizeof(size_t));
        h->pos = malloc(MAX(n, (size_t) 1) * sizeof(size_t));
        h->at = calloc(MAX(n, (size_t) 1), sizeof(time_t));
        if (!h->heap || !h->pos || !h->at) {
                clock_heap_free(h);
                return -ENOMEM;
        }
        for (size_t i = 0; i < n; i++)
                h->pos[i] = NOT_IN_HEAP;
        *ret = h;
        return 0;
}

ClockHeap *clock_heap_free(ClockHeap *h) {
        if (!h)
                return NULL;
        free(h->heap);
        free(h->pos);
        free(h->at);
        free(h);
        return NULL;
}

static bool earlier(const ClockHeap *h, size_t i, size_t j) {
        return h->at[h->heap[i]] < h->at[h->heap[j]];
}

static void swap(ClockHeap *h, size_t i, size_t j) {
        size_t t = h->heap[i];

        h->heap[i] = h->heap[j];
        h->heap[j] = t;
        h->pos[h->heap[i]] = i;
        h->pos[h->heap[j]] = j;
}

static void sift_up(ClockHeap *h, size_t i) {
        while (i > 0 && earlier(h, i, (i - 1) / 2)) {
                swap(h, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
}

static void sift_down(ClockHeap *h, size_t i) {
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < h->size && earlier(h, l, m))
                        m = l;
                if (r < h->size && earlier(h, r, m))
                        m = r;
                if (m == i)
                        return;
                swap(h, i, m);
                i = m;
        }
}

static void heap_remove(ClockHeap *h, size_t id) {
        size_t i = h->pos[id], last = h->size - 1, moved;

        h->pos[id] = NOT_IN_HEAP;
        h->at[id] = 0;
        h->size--;
        if (i == last)
                return;
        /* The last one takes the hole, and goes where it belongs. */
        moved = h->heap[last];
        h->heap[i] = moved;
        h->pos[moved] = i;
        sift_down(h, i);
        sift_up(h, h->pos[moved]);
}

void clock_heap_set(ClockHeap *h, size_t id, time_t at) {
        size_t i;

        if (id >= h->n)
                return;
        if (at == 0) {
                if (h->pos[id] != NOT_IN_HEAP)
                        heap_remove(h, id);
                return;
        }
        h->at[id] = at;
        if (h->pos[id] == NOT_IN_HEAP) {
                i = h->size++;
                h->heap[i] = id;
                h->pos[id] = i;
                sift_up(h, i);
                return;
        }
        sift_down(h, h->pos[id]);
        sift_up(h, h->pos[id]);
}

time_t clock_heap_get(const ClockHeap *h, size_t id) {
        return id < h->n && h->pos[id] != NOT_IN_HEAP ? h->at[id] : 0;
}

bool clock_heap_top(const ClockHeap *h, size_t *ret_id, time_t *ret_at) {
        if (h->size == 0)
                return false;
        *ret_id = h->heap[0];
        *ret_at = h->at[h->heap[0]];
        return true;
}

size_t clock_heap_size(const ClockHeap *h) {
        return h->size;
}
