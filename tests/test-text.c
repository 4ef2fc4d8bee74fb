/* SPDX-License-Identifier: MIT */

/* Clean text: what a device or a stored row may hold, and what comes out. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "text.h"

#define R "\xef\xbf\xbd" /* U+FFFD */

static void check(const char *in, size_t len, const char *want) {
        char out[256];
        size_t n = text_clean(out, sizeof(out), in, len);

        assert_string_equal(out, want);
        assert_int_equal(n, strlen(want));
        assert_true(text_is_clean(out, n));
}

static void test_clean_passes(void **state) {
        (void) state;
        check("", 0, "");
        check("Axis P3245-LVE", 14, "Axis P3245-LVE");
        check("防犯カメラ 01", strlen("防犯カメラ 01"), "防犯カメラ 01");
        check("\xf0\x9f\x93\xb7 cam", 8, "\xf0\x9f\x93\xb7 cam"); /* U+1F4F7, 4 bytes */
        check("\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf");         /* U+10FFFF */
        assert_true(text_is_clean("あいう abc", strlen("あいう abc")));
}

static void test_controls(void **state) {
        (void) state;
        /* A line break cannot start a line of its own: no "<0>" at a line's start. */
        check("reason\n<0>fault_cleared all clear", 33, "reason <0>fault_cleared all clear");
        check("a\tb\rc", 5, "a b c");
        check("\x1b[31mred", 8, R "[31mred");
        check("nul\0byte", 8, "nul" R "byte");
        check("del\x7f", 4, "del" R);
        check("c1\xc2\x85next\xc2\x9b", 10, "c1" R "next" R); /* NEL, CSI */
        check("\xc2\xa0nbsp", 6, "\xc2\xa0nbsp");            /* U+00A0 is not a control */
        assert_false(text_is_clean("a\nb", 3));
        assert_false(text_is_clean("\xc2\x85", 2));
        assert_false(text_is_clean("\x7f", 1));
}

static void test_invalid(void **state) {
        (void) state;
        check("\xff\xfe", 2, R R);
        check("\x80x", 2, R "x");                   /* a lone continuation byte */
        check("\xc0\xaf", 2, R R);                  /* overlong '/' */
        check("\xe0\x80\xaf", 3, R R R);            /* overlong, 3 bytes */
        check("\xf0\x80\x80\xaf", 4, R R R R);      /* overlong, 4 bytes */
        check("\xed\xa0\x80", 3, R R R);            /* a surrogate, U+D800 */
        check("\xf4\x90\x80\x80", 4, R R R R);      /* above U+10FFFF */
        check("\xe3\x81x", 3, R R "x");             /* cut short inside the text */
        assert_false(text_is_clean("\xc0\xaf", 2));
        assert_false(text_is_clean("\xed\xa0\x80", 3));
        assert_false(text_is_clean("\xe3\x81", 2));
}

/* "AB" + "あ"×40, cut at every length: never in the middle of a character,
 * never with a replacement for the cut. */
static void test_cut_at_every_byte(void **state) {
        char in[2 + 40 * 3 + 1] = "AB", out[256];

        (void) state;
        for (int i = 0; i < 40; i++)
                strcat(in, "あ");
        for (size_t len = 0; len <= strlen(in); len++) {
                size_t n = text_clean(out, sizeof(out), in, len);
                size_t whole = len < 2 ? len : 2 + (len - 2) / 3 * 3;

                assert_int_equal(n, whole);
                assert_memory_equal(out, in, n);
                assert_true(text_is_clean(out, n));
        }
        /* And by the size of the destination: 64 bytes hold "AB" and 20 of them. */
        for (size_t size = 1; size <= 70; size++) {
                size_t n = text_clean(out, size, in, strlen(in));

                assert_true(n < size);
                assert_int_equal(n, size <= 3 ? size - 1 : 2 + (size - 3) / 3 * 3);
                assert_true(text_is_clean(out, n));
        }
        /* A 2- and a 4-byte character cut at each of their bytes. */
        for (size_t len = 0; len <= 7; len++) {
                const char *s = "x\xc3\xa9\xf0\x9f\x93\xb7"; /* x é 📷 */
                size_t n = text_clean(out, sizeof(out), s, len);

                assert_int_equal(n, len < 3 ? (len < 1 ? 0 : 1) : len < 7 ? 3 : 7);
                assert_memory_equal(out, s, n);
                assert_true(text_is_clean(out, n));
        }
        /* A replacement that does not fit whole is left out too. */
        assert_int_equal(text_clean(out, 4, "ab\xff", 3), 2);
        assert_string_equal(out, "ab");
}

static void test_inplace(void **state) {
        char buf[16] = "a\nb\xffz", big[2048];

        (void) state;
        text_clean_inplace(buf, sizeof(buf));
        assert_string_equal(buf, "a b" R "z");
        /* Growth by replacements is cut to the buffer, on a boundary. */
        memset(buf, 0, sizeof(buf));
        memcpy(buf, "\x01\x02\x03\x04\x05\x06", 6);
        text_clean_inplace(buf, sizeof(buf));
        assert_string_equal(buf, R R R R R);
        /* Larger than the stack buffer. */
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        big[1000] = '\x1b';
        text_clean_inplace(big, sizeof(big));
        assert_true(text_is_clean(big, strlen(big)));
        assert_memory_equal(big + 1000, R, 3);
        assert_int_equal(strlen(big), sizeof(big) - 1); /* 2047 + 2, cut to 2047 */
}

/* What an operator may type: no C1 control (a terminal takes U+009B for
 * CSI) and no bidirectional override or isolate (text that reads otherwise
 * than it is stored); newline and tab only where lines are allowed. */
static void test_valid(void **state) {
        (void) state;
        assert_true(text_valid(NULL, 10, false));
        assert_true(text_valid("", 10, false));
        assert_true(text_valid("向かいます", 100, false));
        assert_true(text_valid("a\nb\tc", 10, true));
        assert_false(text_valid("a\nb", 10, false));
        assert_false(text_valid("a\rb", 10, true));
        assert_false(text_valid("abc", 2, false));
        assert_false(text_valid("\xff", 10, false));
        assert_false(text_valid("\xe3\x81", 10, false));       /* cut short */
        assert_false(text_valid("del\x7f", 10, false));
        /* C1: U+0080, NEL, CSI, U+009F; U+00A0 is text. */
        assert_false(text_valid("\xc2\x80", 10, false));
        assert_false(text_valid("a\xc2\x85" "b", 10, true));
        assert_false(text_valid("\xc2\x9b" "31m", 10, false));
        assert_false(text_valid("\xc2\x9f", 10, false));
        assert_true(text_valid("\xc2\xa0", 10, false));
        /* Bidi: LRE..RLO (U+202A-U+202E), LRI..PDI (U+2066-U+2069). */
        for (uint32_t c = 0x2028; c <= 0x206a; c++) {
                char s[8] = { 'x', (char) (0xe0 | (c >> 12)), (char) (0x80 | ((c >> 6) & 0x3f)),
                              (char) (0x80 | (c & 0x3f)), 'y', 0 };
                bool bidi = (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);

                assert_int_equal(text_valid(s, 10, true), !bidi);
                /* ... and cleaned away wherever they come from. */
                assert_int_equal(text_is_clean(s, strlen(s)), !bidi);
        }
        check("abc\xe2\x80\xae" "cba", 9, "abc" R "cba");
        check("\xe2\x81\xa6x\xe2\x81\xa9", 7, R "x" R);
        assert_true(text_valid("\xe2\x80\x8f", 10, false));    /* RLM marks are text */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_clean_passes),
                cmocka_unit_test(test_controls),
                cmocka_unit_test(test_invalid),
                cmocka_unit_test(test_cut_at_every_byte),
                cmocka_unit_test(test_inplace),
                cmocka_unit_test(test_valid),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
