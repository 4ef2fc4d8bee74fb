/* SPDX-License-Identifier: MIT */

/* Strict UTF-8 (utf8.h): every valid length accepted with its code point
 * at the edges of its range; overlong forms, surrogates, code points above
 * U+10FFFF, lone continuation bytes, 0xC0/0xC1/0xF5.. and sequences cut
 * short rejected, a cut-short one told apart (-ENODATA) from an invalid
 * one. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "macro.h"
#include "utf8.h"

typedef struct Valid {
        const char *s;
        int len;
        uint32_t cp;
} Valid;

static void test_valid(void **state) {
        static const Valid v[] = {
                { "\x00", 1, 0 },
                { "A", 1, 'A' },
                { "\x7f", 1, 0x7f },
                { "\xc2\x80", 2, 0x80 },
                { "\xdf\xbf", 2, 0x7ff },
                { "\xc3\xa9", 2, 0xe9 },
                { "\xe0\xa0\x80", 3, 0x800 },
                { "\xe3\x81\x82", 3, 0x3042 }, /* あ */
                { "\xed\x9f\xbf", 3, 0xd7ff },
                { "\xee\x80\x80", 3, 0xe000 },
                { "\xef\xbf\xbd", 3, 0xfffd },
                { "\xef\xbf\xbf", 3, 0xffff },
                { "\xf0\x90\x80\x80", 4, 0x10000 },
                { "\xf0\x9f\x98\x80", 4, 0x1f600 },
                { "\xf4\x8f\xbf\xbf", 4, 0x10ffff },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(v); i++) {
                size_t n = v[i].len;
                uint32_t cp = 0xdeadbeef;

                assert_int_equal(utf8_decode(v[i].s, n, &cp), v[i].len);
                assert_int_equal(cp, v[i].cp);
                assert_int_equal(utf8_char_len(v[i].s, n), n);
                assert_true(utf8_valid(v[i].s, n));
                assert_int_equal(utf8_invalid_at(v[i].s, n), n);
        }
        assert_true(utf8_valid("", 0));
        assert_true(utf8_valid("市川市 カメラ ok", strlen("市川市 カメラ ok")));
}

static void test_invalid(void **state) {
        static const char *const bad[] = {
                "\x80",             /* a lone continuation byte */
                "\xbf",
                "\xc0\x80",         /* overlong NUL */
                "\xc1\xbf",         /* overlong U+7F */
                "\xe0\x80\x80",     /* overlong 3-byte */
                "\xe0\x9f\xbf",     /* overlong U+7FF */
                "\xf0\x80\x80\x80", /* overlong 4-byte */
                "\xf0\x8f\xbf\xbf", /* overlong U+FFFF */
                "\xed\xa0\x80",     /* U+D800, a surrogate */
                "\xed\xbf\xbf",     /* U+DFFF */
                "\xf4\x90\x80\x80", /* U+110000 */
                "\xf5\x80\x80\x80", /* beyond Unicode */
                "\xf7\xbf\xbf\xbf",
                "\xf8\x88\x80\x80\x80", /* 5-byte form */
                "\xfe",
                "\xff",
                "\xc3\x41",         /* a continuation missing */
                "\xe3\x81\x41",
                "\xf0\x9f\x98\x41",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                size_t n = strlen(bad[i]);

                assert_int_equal(utf8_decode(bad[i], n, NULL), 0);
                assert_int_equal(utf8_char_len(bad[i], n), 0);
                assert_false(utf8_valid(bad[i], n));
                assert_int_equal(utf8_invalid_at(bad[i], n), 0);
        }
}

static void test_truncated(void **state) {
        static const char *const cut[] = { "\xc3", "\xe3", "\xe3\x81", "\xf0", "\xf0\x9f",
                                           "\xf0\x9f\x98" };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cut); i++) {
                size_t n = strlen(cut[i]);

                assert_int_equal(utf8_decode(cut[i], n, NULL), -ENODATA);
                assert_int_equal(utf8_char_len(cut[i], n), 0);
                assert_false(utf8_valid(cut[i], n));
        }
        /* Invalid before the end: invalid, not cut short. */
        assert_int_equal(utf8_decode("\xe0\x80", 2, NULL), 0);
        assert_int_equal(utf8_decode("\xed\xa0", 2, NULL), 0);
        assert_int_equal(utf8_decode("\xf4\x90", 2, NULL), 0);
        /* The bound is n, not the NUL. */
        assert_int_equal(utf8_char_len("\xe3\x81\x82", 2), 0);
}

static void test_invalid_at(void **state) {
        const char s[] = "ok \xe3\x81\x82 \xed\xa0\x80 tail";

        (void) state;
        assert_int_equal(utf8_invalid_at(s, strlen(s)), 7);
        assert_int_equal(utf8_invalid_at(s, 7), 7);
        assert_true(utf8_valid(s, 7));
        assert_int_equal(utf8_invalid_at(s, 5), 3); /* cut inside あ */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_valid),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_invalid_at),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
