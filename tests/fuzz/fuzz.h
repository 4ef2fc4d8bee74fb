/* SPDX-License-Identifier: MIT */
#pragma once

/* Shared by the libFuzzer harnesses (tests/fuzz/fuzz-*.c). A harness checks
 * the properties the code promises, not only that it does not crash: a
 * broken promise is reported with fuzz_fail(), which aborts, so libFuzzer
 * keeps the input like any other crash. */

#include <sanitizer/common_interface_defs.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Reports a broken property and aborts, so that libFuzzer keeps the input.
 * The code's own stderr may be closed (-close_fd_mask): the message goes
 * where the sanitizers' reports go. */
__attribute__((format(printf, 3, 4), noreturn)) static inline void
fuzz_fail(const char *where, const char *expr, const char *fmt, ...) {
        char buf[1024];
        int n;
        va_list ap;

        n = snprintf(buf, sizeof(buf), "fuzz: property broken at %s: %s: ", where, expr);
        va_start(ap, fmt);
        if (n > 0 && (size_t) n < sizeof(buf))
                (void) vsnprintf(buf + n, sizeof(buf) - (size_t) n, fmt, ap);
        va_end(ap);
        __sanitizer_report_error_summary(buf);
        abort();
}

#define FUZZ_STR_(x) #x
#define FUZZ_STR(x) FUZZ_STR_(x)

/* FUZZ_CHECK(expr, "format", args...): the message says what was seen. */
#define FUZZ_CHECK(expr, ...)                                                               \
        do {                                                                                \
                if (!(expr))                                                                \
                        fuzz_fail(__FILE__ ":" FUZZ_STR(__LINE__), #expr, __VA_ARGS__);     \
        } while (0)

/* The input as a NUL-terminated string (embedded NULs end it early, as they
 * would for any C string the program is handed). Caller frees. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
        char *s = malloc(size + 1);

        if (!s)
                abort();
        memcpy(s, data, size);
        s[size] = '\0';
        return s;
}

/* True when s is strict UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF), independently of the code under test. */
static inline bool fuzz_utf8_strict(const char *s) {
        const unsigned char *p = (const unsigned char *) s;

        while (*p) {
                unsigned char c = *p;
                uint32_t cp;
                int len;

                if (c < 0x80) {
                        p++;
                        continue;
                }
                if (c >= 0xC2 && c <= 0xDF)
                        len = 2, cp = c & 0x1F;
                else if (c >= 0xE0 && c <= 0xEF)
                        len = 3, cp = c & 0x0F;
                else if (c >= 0xF0 && c <= 0xF4)
                        len = 4, cp = c & 0x07;
                else
                        return false;
                for (int i = 1; i < len; i++) {
                        if ((p[i] & 0xC0) != 0x80)
                                return false;
                        cp = cp << 6 | (p[i] & 0x3F);
                }
                if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                    (cp >= 0xD800 && cp <= 0xDFFF))
                        return false;
                p += len;
        }
        return true;
}
