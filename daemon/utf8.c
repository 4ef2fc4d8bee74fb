/* SPDX-License-Identifier: MIT */

/* Strict UTF-8 decoding (utf8.h): one byte at a time, so that an invalid
 * sequence is known at its first wrong byte. */

#include <errno.h>

#include "utf8.h"

int utf8_decode(const char *str, size_t n, uint32_t *ret_cp) {
        const unsigned char *s = (const unsigned char *) str;
        unsigned char b = s[0];
        uint32_t c, min;
        int len;

        if (b < 0x80) {
                if (ret_cp)
                        *ret_cp = b;
                return 1;
        }
        if (b >= 0xc2 && b <= 0xdf) {
                len = 2;
                c = b & 0x1f;
                min = 0x80;
        } else if (b >= 0xe0 && b <= 0xef) {
                len = 3;
                c = b & 0x0f;
                min = 0x800;
        } else if (b >= 0xf0 && b <= 0xf4) {
                len = 4;
                c = b & 0x07;
                min = 0x10000;
        } else
                return 0; /* a continuation byte, 0xc0, 0xc1 or 0xf5..0xff */
        for (int i = 1; i < len; i++) {
                if ((size_t) i >= n)
                        return -ENODATA;
                if ((s[i] & 0xc0) != 0x80)
                        return 0;
                c = (c << 6) | (s[i] & 0x3f);
                /* Overlong, surrogate or too large: known after the second byte. */
                if (i == 1 && len > 2) {
                        uint32_t hi = c << (6 * (len - 2));

                        if (hi < min || (hi >= 0xd800 && hi <= 0xdfff) || hi > 0x10ffff)
                                return 0;
                }
        }
        if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
                return 0;
        if (ret_cp)
                *ret_cp = c;
        return len;
}

size_t utf8_char_len(const char *s, size_t n) {
        int k = utf8_decode(s, n, NULL);

        return k > 0 ? (size_t) k : 0;
}

size_t utf8_invalid_at(const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                size_t k = utf8_char_len(s + i, n - i);

                if (k == 0)
                        return i;
                i += k;
        }
        return n;
}

bool utf8_valid(const char *s, size_t n) {
        return utf8_invalid_at(s, n) == n;
}
