/* SPDX-License-Identifier: MIT */

/* The fault engine's clock heap: against a plain array, through random
 * sets, moves and removals, and the engine's use of it (faults_next_clock
 * after external changes). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "clockheap.h"
#include "macro.h"

#define N 257

/* The earliest clock of the plain array, or 0. */
static time_t brute_min(const time_t *at, size_t n, size_t *ret_id) {
        time_t best = 0;

        for (size_t i = 0; i < n; i++)
                if (at[i] && (best == 0 || at[i] < best)) {
                        best = at[i];
                        *ret_id = i;
                }
        return best;
}

static void test_empty(void **state) {
        ClockHeap *h = NULL;
        size_t id = 7;
        time_t at = 7;

        (void) state;
        assert_int_equal(clock_heap_new(3, &h), 0);
        assert_false(clock_heap_top(h, &id, &at));
        assert_int_equal(id, 7);
        assert_int_equal(clock_heap_get(h, 1), 0);
        /* Removing what is not there, and ids out of range, change nothing. */
        clock_heap_set(h, 1, 0);
        clock_heap_set(h, 3, 100);
        assert_int_equal(clock_heap_size(h), 0);
        h = clock_heap_free(h);
        assert_null(h);
        assert_null(clock_heap_free(NULL));
}

static void test_order(void **state) {
        ClockHeap *h = NULL;
        size_t id;
        time_t at;

        (void) state;
        assert_int_equal(clock_heap_new(5, &h), 0);
        clock_heap_set(h, 0, 50);
        clock_heap_set(h, 1, 10);
        clock_heap_set(h, 2, 30);
        clock_heap_set(h, 3, 20);
        assert_true(clock_heap_top(h, &id, &at));
        assert_int_equal(id, 1);
        assert_int_equal(at, 10);
        /* Moved later: the next one comes up. */
        clock_heap_set(h, 1, 40);
        assert_true(clock_heap_top(h, &id, &at));
        assert_int_equal(id, 3);
        /* Moved earlier, from the bottom. */
        clock_heap_set(h, 0, 5);
        assert_true(clock_heap_top(h, &id, &at));
        assert_int_equal(id, 0);
        assert_int_equal(at, 5);
        /* Removed from the top and from the middle. */
        clock_heap_set(h, 0, 0);
        clock_heap_set(h, 2, 0);
        assert_int_equal(clock_heap_size(h), 2);
        assert_int_equal(clock_heap_get(h, 2), 0);
        assert_true(clock_heap_top(h, &id, &at));
        assert_int_equal(id, 3);
        assert_int_equal(at, 20);
        clock_heap_set(h, 3, 0);
        assert_true(clock_heap_top(h, &id, &at));
        assert_int_equal(id, 1);
        assert_int_equal(at, 40);
        clock_heap_free(h);
}

static void test_random(void **state) {
        time_t at[N] = {};
        ClockHeap *h = NULL;
        uint64_t x = 88172645463325252ULL;

        (void) state;
        assert_int_equal(clock_heap_new(N, &h), 0);
        for (int step = 0; step < 200000; step++) {
                size_t id, want_id = SIZE_MAX, got_id = SIZE_MAX, n = 0;
                time_t t, want, got = 0;

                /* xorshift64 */
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                id = (size_t) (x % N);
                /* A quarter removals; few distinct times, so ties happen. */
                t = (x >> 32) % 4 == 0 ? 0 : (time_t) (1 + (x >> 40) % 64);
                clock_heap_set(h, id, t);
                at[id] = t;

                want = brute_min(at, N, &want_id);
                if (clock_heap_top(h, &got_id, &got)) {
                        assert_int_equal(got, want);
                        /* Ties: any id with the earliest time will do. */
                        assert_int_equal(at[got_id], want);
                } else
                        assert_int_equal(want, 0);
                for (size_t i = 0; i < N; i++)
                        n += at[i] != 0;
                assert_int_equal(clock_heap_size(h), n);
                assert_int_equal(clock_heap_get(h, id), t);
        }
        /* Drained in order. */
        for (time_t last = 0;;) {
                size_t id;
                time_t t;

                if (!clock_heap_top(h, &id, &t))
                        break;
                assert_true(t >= last);
                last = t;
                clock_heap_set(h, id, 0);
        }
        assert_int_equal(clock_heap_size(h), 0);
        clock_heap_free(h);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_order),
                cmocka_unit_test(test_random),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
