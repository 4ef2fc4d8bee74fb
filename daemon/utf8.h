/* SPDX-License-Identifier: MIT */
#pragma once

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates (U+D800..U+DFFF),
 * nothing above U+10FFFF, no lone continuation bytes. The one decoder of the
 * tree: mail, the holiday file, operator text and device text all use it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The character at s (n > 0 bytes left): its length (1-4) and its code
 * point in *ret_cp (may be NULL); 0 when the bytes there do not begin a
 * valid sequence; -ENODATA when they begin one that the end (n) cuts short. */
int utf8_decode(const char *s, size_t n, uint32_t *ret_cp);

/* The length of the valid character at s (n > 0 bytes left), or 0 when
 * there is none (invalid, or cut short by n). */
size_t utf8_char_len(const char *s, size_t n);

/* The offset of the first byte of s[0..n) that does not begin a valid
 * character (a sequence cut short by n included), or n when all is valid. */
size_t utf8_invalid_at(const char *s, size_t n);

/* Whether s[0..n) is valid UTF-8. */
bool utf8_valid(const char *s, size_t n);
