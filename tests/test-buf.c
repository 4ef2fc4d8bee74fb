/* SPDX-License-Identifier: MIT */

/* The capped growing string (buf.h): appends and printf across the
 * doubling, the cap reached (-E2BIG, the content before it intact and
 * nothing of the refused append written), the first error sticking, an
 * empty Buf finishing as "", and embedded NULs kept. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "buf.h"
#include "macro.h"

static void test_grow(void **state) {
        Buf b = { .max = 1u << 20 };
        _cleanup_(freep) char *s = NULL;
        size_t len = 0;

        (void) state;
        for (int i = 0; i < 1000; i++)
                buf_printf(&b, "%04d,", i);
        buf_putc(&b, '!');
        assert_int_equal(b.error, 0);
        assert_int_equal(buf_finish(&b, &s, &len), 0);
        assert_int_equal(len, 5001);
        assert_int_equal(strlen(s), 5001);
        assert_memory_equal(s, "0000,0001,", 10);
        assert_string_equal(s + 4990, "0998,0999,!");
        assert_null(b.s);
}

static void test_printf_long(void **state) {
        Buf b = { .max = 10000 };
        _cleanup_(freep) char *s = NULL;
        char big[2000];

        (void) state;
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        /* Longer than buf_printf's stack buffer: the vasprintf path. */
        buf_printf(&b, "<%s>", big);
        assert_int_equal(buf_finish(&b, &s, NULL), 0);
        assert_int_equal(strlen(s), sizeof(big) + 1);
        assert_int_equal(s[0], '<');
        assert_int_equal(s[sizeof(big)], '>');
}

static void test_cap(void **state) {
        Buf b = { .max = 10 };
        _cleanup_(freep) char *s = NULL;

        (void) state;
        buf_puts(&b, "0123456");
        assert_int_equal(b.error, 0);
        /* Does not fit whole: refused, nothing of it written. */
        buf_puts(&b, "7890");
        assert_int_equal(b.error, -E2BIG);
        assert_int_equal(b.len, 7);
        assert_string_equal(b.s, "0123456");
        /* The error sticks: later appends that would fit do nothing. */
        buf_puts(&b, "7");
        buf_printf(&b, "%d", 8);
        assert_int_equal(b.len, 7);
        assert_string_equal(b.s, "0123456");
        assert_int_equal(b.error, -E2BIG);
        assert_int_equal(buf_finish(&b, &s, NULL), -E2BIG);
        assert_null(s);
        assert_null(b.s);
        assert_int_equal(b.len, 0);
}

static void test_cap_exact(void **state) {
        Buf b = { .max = 10 };
        _cleanup_(freep) char *s = NULL;
        size_t len = 0;

        (void) state;
        buf_puts(&b, "01234");
        buf_printf(&b, "%s", "56789");
        assert_int_equal(b.error, 0);
        assert_true(b.alloc <= 11);
        buf_puts(&b, "");
        assert_int_equal(b.error, 0);
        buf_putc(&b, 'x');
        assert_int_equal(b.error, -E2BIG);
        assert_string_equal(b.s, "0123456789");
        b.error = 0; /* only to look at what it held */
        assert_int_equal(buf_finish(&b, &s, &len), 0);
        assert_string_equal(s, "0123456789");
        assert_int_equal(len, 10);
}

static void test_empty_and_fail(void **state) {
        Buf b = { .max = 0 }, c = { .max = 100 };
        _cleanup_(freep) char *s = NULL;
        size_t len = 1;

        (void) state;
        assert_int_equal(buf_finish(&b, &s, &len), 0);
        assert_string_equal(s, "");
        assert_int_equal(len, 0);

        buf_puts(&c, "abc");
        buf_fail(&c, -ENOMEM);
        buf_fail(&c, -EINVAL);
        buf_puts(&c, "def");
        assert_string_equal(c.s, "abc");
        assert_int_equal(c.error, -ENOMEM);
        buf_done(&c);
        assert_null(c.s);
        assert_int_equal(c.error, 0);
        buf_done(NULL);
}

static void test_nul_bytes(void **state) {
        Buf b = { .max = 100 };
        _cleanup_(freep) char *s = NULL;
        size_t len = 0;

        (void) state;
        buf_append(&b, "a\0b", 3);
        assert_int_equal(buf_finish(&b, &s, &len), 0);
        assert_int_equal(len, 3);
        assert_memory_equal(s, "a\0b", 4);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_grow),
                cmocka_unit_test(test_printf_long),
                cmocka_unit_test(test_cap),
                cmocka_unit_test(test_cap_exact),
                cmocka_unit_test(test_empty_and_fail),
                cmocka_unit_test(test_nul_bytes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
