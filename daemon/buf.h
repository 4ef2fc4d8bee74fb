/* SPDX-License-Identifier: MIT */
#pragma once

/* A growing string with a hard maximum (after curl's dynbuf): appends never
 * fail loudly; the first error (-ENOMEM, or -E2BIG when the maximum would be
 * passed) sticks, later appends do nothing, and buf_finish() reports it. The
 * content so far stays intact when the maximum is reached: an append that
 * does not fit whole is not written at all.
 *
 *         Buf b = { .max = 4096 };
 *         buf_puts(&b, "Subject: ");
 *         buf_printf(&b, "%d faults", n);
 *         r = buf_finish(&b, &s, &len);   (s is always NUL-terminated)
 */

#include <stdarg.h>
#include <stddef.h>

#include "macro.h"

typedef struct Buf {
        char *s;                     /* NUL-terminated once anything was appended */
        size_t len, alloc, max;      /* max: the most bytes of content, without the NUL */
        int error;                   /* the first error: -ENOMEM or -E2BIG, else 0 */
} Buf;

/* Appends n bytes of s (which may hold NULs). */
void buf_append(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_printf(Buf *b, const char *fmt, ...) _printf_(2, 3);
void buf_vprintf(Buf *b, const char *fmt, va_list ap) _printf_(2, 0);

/* Records an error (the first one sticks), e.g. -ENOMEM from a helper. */
void buf_fail(Buf *b, int error);

/* Hands the string over in *ret ("" when nothing was appended) and its
 * length in *ret_len (may be NULL), or frees it and returns the error.
 * The Buf is empty afterwards either way. */
int buf_finish(Buf *b, char **ret, size_t *ret_len);

/* Frees the content and empties the Buf. NULL-safe; for _cleanup_(buf_done). */
void buf_done(Buf *b);
