/* SPDX-License-Identifier: MIT */

/* The priority queue: its order, moves and removals, every item's index
 * back-pointer right after every operation, and long random runs checked
 * against a plain array and against a sorted one. prioq.c is compiled in to
 * check the heap itself after each step. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prioq.c"

typedef struct Item {
        unsigned idx;
        uint64_t key;                /* what the test believes; 0: not queued */
        bool queued;
} Item;

/* The heap property and every back-pointer, item by item. */
static void check_heap(const Prioq *q) {
        for (unsigned i = 1; i <= q->n; i++) {
                assert_non_null(q->items[i].idx);
                assert_int_equal(*q->items[i].idx, i);
                if (i > 1)
                        assert_true(q->items[i / 2].key <= q->items[i].key);
        }
}

/* The queue against what the test believes of items[0..n). */
static void check_items(const Prioq *q, const Item *items, size_t n) {
        size_t queued = 0;

        check_heap(q);
        for (size_t i = 0; i < n; i++) {
                const Item *it = &items[i];

                assert_int_equal(prioq_queued(&it->idx), it->queued);
                if (!it->queued)
                        continue;
                queued++;
                assert_ptr_equal(q->items[it->idx].data, it);
                assert_true(prioq_key(q, &it->idx) == it->key);
        }
        assert_int_equal(prioq_size(q), queued);
}

static void test_empty(void **state) {
        _cleanup_(prioq_freep) Prioq *q = NULL;
        Item a = {};
        uint64_t key = 7;

        (void) state;
        assert_int_equal(prioq_new(0, &q), 0);
        assert_null(prioq_peek(q, &key));
        assert_null(prioq_pop(q, &key));
        assert_true(key == 7);
        assert_int_equal(prioq_size(q), 0);
        /* Removing or moving what is not there changes nothing. */
        assert_false(prioq_remove(q, &a, &a.idx));
        assert_int_equal(prioq_reshuffle(q, &a, 5, &a.idx), -ENOENT);
        assert_true(prioq_key(q, &a.idx) == 0);
        assert_int_equal(a.idx, PRIOQ_IDX_NULL);
        assert_null(prioq_free(NULL));
        /* A stale index (the item's place now another's) is not the item's. */
        {
                Item b = {};

                assert_int_equal(prioq_put(q, &b, 3, &b.idx), 0);
                a.idx = b.idx;
                assert_false(prioq_remove(q, &a, &a.idx));
                assert_true(prioq_key(q, &a.idx) == 0);
                assert_int_equal(prioq_size(q), 1);
                assert_true(prioq_remove(q, &b, &b.idx));
        }
}

/* The clock heap's order test, item for id. */
static void test_order(void **state) {
        _cleanup_(prioq_freep) Prioq *q = NULL;
        Item it[5] = {};
        uint64_t at;

        (void) state;
        assert_int_equal(prioq_new(5, &q), 0);
        assert_int_equal(prioq_put(q, &it[0], 50, &it[0].idx), 0);
        assert_int_equal(prioq_put(q, &it[1], 10, &it[1].idx), 0);
        assert_int_equal(prioq_put(q, &it[2], 30, &it[2].idx), 0);
        assert_int_equal(prioq_put(q, &it[3], 20, &it[3].idx), 0);
        check_heap(q);
        assert_ptr_equal(prioq_peek(q, &at), &it[1]);
        assert_true(at == 10);
        /* Moved later: the next one comes up. */
        assert_int_equal(prioq_put(q, &it[1], 40, &it[1].idx), 0);
        check_heap(q);
        assert_ptr_equal(prioq_peek(q, NULL), &it[3]);
        /* Moved earlier, from the bottom, by reshuffle. */
        assert_int_equal(prioq_reshuffle(q, &it[0], 5, &it[0].idx), 0);
        check_heap(q);
        assert_ptr_equal(prioq_peek(q, &at), &it[0]);
        assert_true(at == 5);
        /* Removed from the top and from the middle. */
        assert_true(prioq_remove(q, &it[0], &it[0].idx));
        assert_true(prioq_remove(q, &it[2], &it[2].idx));
        assert_false(prioq_remove(q, &it[2], &it[2].idx));
        check_heap(q);
        assert_int_equal(prioq_size(q), 2);
        assert_true(prioq_key(q, &it[2].idx) == 0);
        assert_ptr_equal(prioq_peek(q, &at), &it[3]);
        assert_true(at == 20);
        assert_ptr_equal(prioq_pop(q, &at), &it[3]);
        assert_int_equal(it[3].idx, PRIOQ_IDX_NULL);
        assert_ptr_equal(prioq_peek(q, &at), &it[1]);
        assert_true(at == 40);
        /* Queued again after leaving. */
        assert_int_equal(prioq_put(q, &it[3], 1, &it[3].idx), 0);
        assert_ptr_equal(prioq_pop(q, NULL), &it[3]);
        assert_ptr_equal(prioq_pop(q, NULL), &it[1]);
        assert_null(prioq_pop(q, NULL));
}

/* Room reserved: the puts do not allocate (the SNMP sessions' deadlines
 * are set where failing is not an option); beyond it, the queue grows. */
static void test_reserve(void **state) {
        _cleanup_(prioq_freep) Prioq *q = NULL;
        Item it[100] = {};
        PrioqItem *before;

        (void) state;
        assert_int_equal(prioq_new(0, &q), 0);
        assert_int_equal(prioq_reserve(q, 40), 0);
        before = q->items;
        for (size_t i = 0; i < 40; i++)
                assert_int_equal(prioq_put(q, &it[i], 1000 - i, &it[i].idx), 0);
        assert_ptr_equal(q->items, before);
        for (size_t i = 40; i < 100; i++)
                assert_int_equal(prioq_put(q, &it[i], 1000 - i, &it[i].idx), 0);
        check_heap(q);
        for (size_t i = 100; i-- > 0;) {
                uint64_t at;

                assert_ptr_equal(prioq_pop(q, &at), &it[i]);
                assert_true(at == 1000 - i);
        }
        assert_int_equal(prioq_reserve(q, UINT_MAX), -E2BIG);
}

/* xorshift64: the same run every time. */
static uint64_t next(uint64_t *x) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        return *x;
}

#define N 257

/* The clock heap's random test: puts, moves and removals against a plain
 * array, with the back-pointers of every item checked after each step. */
static void test_random(void **state) {
        _cleanup_(prioq_freep) Prioq *q = NULL;
        Item it[N] = {};
        uint64_t x = 88172645463325252ULL;

        (void) state;
        assert_int_equal(prioq_new(N, &q), 0);
        for (int step = 0; step < 100000; step++) {
                size_t id = (size_t) (next(&x) % N), want_n = 0;
                uint64_t t = (x >> 32) % 4 == 0 ? 0 : 1 + (x >> 40) % 64, best = UINT64_MAX, got;
                Item *top;

                /* A quarter removals; few distinct keys, so ties happen. */
                if (t == 0) {
                        assert_int_equal(prioq_remove(q, &it[id], &it[id].idx), it[id].queued);
                        it[id].queued = false;
                } else if ((x >> 48) % 2 && it[id].queued) {
                        assert_int_equal(prioq_reshuffle(q, &it[id], t, &it[id].idx), 0);
                        it[id].key = t;
                } else {
                        assert_int_equal(prioq_put(q, &it[id], t, &it[id].idx), 0);
                        it[id].key = t;
                        it[id].queued = true;
                }
                /* Every 16th step in full; the queue's own view at every step. */
                if (step % 16 == 0)
                        check_items(q, it, N);
                else
                        check_heap(q);
                for (size_t i = 0; i < N; i++)
                        if (it[i].queued) {
                                want_n++;
                                best = MIN(best, it[i].key);
                        }
                top = prioq_peek(q, &got);
                if (want_n == 0)
                        assert_null(top);
                else {
                        /* Ties: any item with the smallest key will do. */
                        assert_non_null(top);
                        assert_true(got == best);
                        assert_true(top->key == best);
                }
                assert_int_equal(prioq_size(q), want_n);
        }
        check_items(q, it, N);
        /* Drained in order. */
        for (uint64_t last = 0, at;;) {
                Item *top = prioq_pop(q, &at);

                if (!top)
                        break;
                assert_true(at >= last);
                assert_int_equal(top->idx, PRIOQ_IDX_NULL);
                top->queued = false;
                last = at;
                check_heap(q);
        }
        check_items(q, it, N);
}

static int compare_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Many random operations, then everything popped: the keys come out as a
 * sorted array of what was last put says. Wide keys, distinct mostly. */
static void test_sorted(void **state) {
        enum { M = 5000 };
        _cleanup_(prioq_freep) Prioq *q = NULL;
        _cleanup_(freep) Item *it = calloc(M, sizeof(Item));
        _cleanup_(freep) uint64_t *want = calloc(M, sizeof(uint64_t));
        uint64_t x = 0x9e3779b97f4a7c15ULL;
        size_t n = 0;

        (void) state;
        assert_non_null(it);
        assert_non_null(want);
        assert_int_equal(prioq_new(0, &q), 0);   /* grows as it goes */
        for (int step = 0; step < 200000; step++) {
                size_t id = (size_t) (next(&x) % M);
                uint64_t key = next(&x);

                switch ((key >> 61) & 3) {
                case 0:
                        (void) prioq_remove(q, &it[id], &it[id].idx);
                        it[id].queued = false;
                        break;
                case 1:
                        /* The smallest out, the way the timers take them. */
                        if (prioq_size(q) > 0) {
                                uint64_t top, at;
                                Item *p = prioq_peek(q, &top), *popped = prioq_pop(q, &at);

                                assert_ptr_equal(p, popped);
                                assert_true(at == top && popped->key == at);
                                popped->queued = false;
                        }
                        break;
                default:
                        assert_int_equal(prioq_put(q, &it[id], key, &it[id].idx), 0);
                        it[id].key = key;
                        it[id].queued = true;
                        break;
                }
                if (step % 1000 == 0)
                        check_items(q, it, M);
        }
        check_items(q, it, M);
        for (size_t i = 0; i < M; i++)
                if (it[i].queued)
                        want[n++] = it[i].key;
        qsort(want, n, sizeof(*want), compare_u64);
        assert_int_equal(prioq_size(q), n);
        for (size_t i = 0; i < n; i++) {
                uint64_t at;
                Item *p = prioq_pop(q, &at);

                assert_non_null(p);
                assert_true(at == want[i]);
                assert_int_equal(p->idx, PRIOQ_IDX_NULL);
                /* The back-pointers of those left after every pop. */
                if (i % 97 == 0)
                        check_heap(q);
        }
        assert_null(prioq_pop(q, NULL));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_reserve),
                cmocka_unit_test(test_random),
                cmocka_unit_test(test_sorted),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
