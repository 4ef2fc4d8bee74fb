/* SPDX-License-Identifier: MIT */

/* The capped growing string of buf.h: one allocation doubled as needed,
 * never beyond max + 1 bytes. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

void buf_fail(Buf *b, int error) {
        if (!b->error)
                b->error = error;
}

void buf_append(Buf *b, const char *s, size_t n) {
        if (b->error)
                return;
        if (n > b->max - MIN(b->len, b->max)) {
                b->error = -E2BIG;
                return;
        }
        if (b->len + n + 1 > b->alloc) {
                size_t a = MAX(b->alloc * 2, b->len + n + 1);
                char *p;

                a = MIN(a, b->max + 1);
                p = realloc(b->s, a);
                if (!p) {
                        b->error = -ENOMEM;
                        return;
                }
                b->s = p;
                b->alloc = a;
        }
        if (n > 0)
                memcpy(b->s + b->len, s, n);
        b->len += n;
        b->s[b->len] = 0;
}

void buf_puts(Buf *b, const char *s) {
        buf_append(b, s, strlen(s));
}

void buf_putc(Buf *b, char c) {
        buf_append(b, &c, 1);
}

void buf_vprintf(Buf *b, const char *fmt, va_list ap) {
        char small[512], *big = NULL;
        va_list aq;
        int n;

        va_copy(aq, ap);
        n = vsnprintf(small, sizeof(small), fmt, aq);
        va_end(aq);
        if (n < 0) {
                buf_fail(b, -EINVAL);
                return;
        }
        if ((size_t) n < sizeof(small)) {
                buf_append(b, small, (size_t) n);
                return;
        }
        n = vasprintf(&big, fmt, ap);
        if (n < 0) {
                buf_fail(b, -ENOMEM);
                return;
        }
        buf_append(b, big, (size_t) n);
        free(big);
}

void buf_printf(Buf *b, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        buf_vprintf(b, fmt, ap);
        va_end(ap);
}

int buf_finish(Buf *b, char **ret, size_t *ret_len) {
        int r;

        if (!b->error && !b->s)
                buf_append(b, "", 0);
        r = b->error;
        if (r < 0) {
                buf_done(b);
                return r;
        }
        *ret = TAKE_PTR(b->s);
        if (ret_len)
                *ret_len = b->len;
        *b = (Buf) {};
        return 0;
}

void buf_done(Buf *b) {
        if (!b)
                return;
        free(b->s);
        *b = (Buf) {};
}
