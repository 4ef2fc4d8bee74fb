/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Text from outside (a device's answer, a stored row, a log message) made
 * safe for every reader: the journal, a terminal, JSON, a spreadsheet.
 *
 * Clean text is valid UTF-8 (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF) without control characters: tab, line feed and
 * carriage return become a space; every other C0 control, DEL, every C1
 * control (U+0080..U+009F), the bidirectional overrides and isolates
 * (U+202A..U+202E, U+2066..U+2069) and every byte that does not begin a
 * valid sequence become U+FFFD (the replacement character). */

/* Copies src[0..len) into dst (size >= 1 bytes, NUL-terminated) as clean
 * text, cut on a character boundary: a character that does not fit whole is
 * left out, and so is a sequence that the end of src cuts short (the source
 * was truncated before it reached us). Returns the bytes written. */
size_t text_clean(char *dst, size_t size, const char *src, size_t len);

/* A clean copy of the NUL-terminated s, whole (every byte may become a
 * replacement), to free(); NULL without memory. */
char *text_clean_dup(const char *s);

/* text_clean() of the NUL-terminated string in buf (size bytes) onto
 * itself. A replacement (3 bytes for 1) can make it longer: it is cut to
 * fit size, on a character boundary. */
void text_clean_inplace(char *s, size_t size);

/* Whether s[0..len) is clean text already. */
bool text_is_clean(const char *s, size_t len);

/* Whether s is valid UTF-8 of at most max bytes without control characters
 * (C0, DEL, C1, bidirectional overrides and isolates, as above; newline and
 * tab allowed when multiline): what an operator may type into a record.
 * NULL is valid (an absent field). */
bool text_valid(const char *s, size_t max, bool multiline);
