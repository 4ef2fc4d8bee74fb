/* SPDX-License-Identifier: MIT */

/* The backlog of what the state database refused (daemon/backlog.c): order,
 * one entry per fault, the cap, and the undoing of a rolled-back write. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "backlog.h"
#include "macro.h"

static void output_event(FaultOutput *o, Event *storage, Fault **fault_storage, size_t n,
                         Fault *f, int first_at) {
        o->events = storage;
        o->event_faults = fault_storage;
        for (size_t i = 0; i < n; i++) {
                storage[i] = (Event) { .type = EVENT_FAULT_RAISED, .at = first_at + (int) i };
                fault_storage[i] = f;
        }
        o->n_events = n;
}

static void test_order_and_faults_once(void **state) {
        Fault a = { .id = 0 }, b = { .id = 7 };
        Fault *faults[] = { &a, &b, &a };
        Event ev[3];
        Fault *ef[3];
        FaultOutput o = { .faults = faults, .n_faults = 3 };
        Backlog bl = {};

        (void) state;
        output_event(&o, ev, ef, 3, &b, 100);
        ef[1] = NULL;
        assert_int_equal(backlog_add(&bl, &o), 0);
        output_event(&o, ev, ef, 2, &a, 200);
        o.n_faults = 0;
        assert_int_equal(backlog_add(&bl, &o), 0);
        assert_int_equal(bl.n_events, 5);
        assert_int_equal(bl.n_faults, 2);
        assert_ptr_equal(bl.faults[0], &a);
        assert_ptr_equal(bl.faults[1], &b);
        assert_int_equal(bl.events[0].event.at, 100);
        assert_ptr_equal(bl.events[0].fault, &b);
        assert_null(bl.events[1].fault);
        assert_int_equal(bl.events[4].event.at, 201);
        assert_ptr_equal(bl.events[4].fault, &a);
        assert_true(backlog_holds(&bl, &a));
        assert_false(backlog_empty(&bl));
        backlog_clear(&bl);
        assert_true(backlog_empty(&bl));
        assert_false(backlog_holds(&bl, &a));
        backlog_done(&bl);
}

static void test_cap_drops_the_oldest(void **state) {
        static Event ev[BACKLOG_EVENTS_MAX + 5];
        static Fault *ef[BACKLOG_EVENTS_MAX + 5];
        FaultOutput o = {};
        Backlog bl = {};

        (void) state;
        output_event(&o, ev, ef, 10, NULL, 0);
        assert_int_equal(backlog_add(&bl, &o), 0);
        output_event(&o, ev, ef, BACKLOG_EVENTS_MAX - 5, NULL, 1000);
        assert_int_equal(backlog_add(&bl, &o), 0);
        /* 10 + MAX - 5: the five oldest went. */
        assert_int_equal(bl.n_events, BACKLOG_EVENTS_MAX);
        assert_int_equal(bl.dropped, 5);
        assert_int_equal(bl.events[0].event.at, 5);
        assert_int_equal(bl.events[BACKLOG_EVENTS_MAX - 1].event.at, 1000 + BACKLOG_EVENTS_MAX - 6);
        /* One output larger than the cap keeps its newest events only. */
        output_event(&o, ev, ef, BACKLOG_EVENTS_MAX + 5, NULL, 50000);
        assert_int_equal(backlog_add(&bl, &o), 0);
        assert_int_equal(bl.n_events, BACKLOG_EVENTS_MAX);
        assert_int_equal(bl.dropped, 5 + 5 + BACKLOG_EVENTS_MAX);
        assert_int_equal(bl.events[0].event.at, 50005);
        backlog_clear(&bl);
        assert_int_equal(bl.dropped, 0);
        backlog_done(&bl);
}

static void test_unwind(void **state) {
        Fault fresh = { .id = 0 }, known = { .id = 42 }, threaded = { .id = 9 };
        Fault *faults[] = { &fresh, &known, &threaded };
        FaultOutput o = { .faults = faults, .n_faults = 3 };
        _cleanup_(freep) FaultMark *marks = NULL;
        Backlog bl = {};

        (void) state;
        (void) snprintf(threaded.thread_id, sizeof(threaded.thread_id), "<fw.1.9@x>");
        assert_int_equal(backlog_add(&bl, &o), 0);
        assert_int_equal(backlog_marks(&bl, &marks), 0);
        /* What a write does before its commit fails. */
        fresh.id = 101;
        (void) snprintf(fresh.thread_id, sizeof(fresh.thread_id), "<fw.5.101@x>");
        (void) snprintf(known.thread_id, sizeof(known.thread_id), "<fw.6.42@x>");
        backlog_unwind(marks, bl.n_faults);
        assert_int_equal(fresh.id, 0);
        assert_string_equal(fresh.thread_id, "");
        assert_int_equal(known.id, 42);
        assert_string_equal(known.thread_id, "");
        assert_int_equal(threaded.id, 9);
        assert_string_equal(threaded.thread_id, "<fw.1.9@x>");
        backlog_done(&bl);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_order_and_faults_once),
                cmocka_unit_test(test_cap_drops_the_oldest),
                cmocka_unit_test(test_unwind),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
