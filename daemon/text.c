/* SPDX-License-Identifier: MIT */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* The length of the valid UTF-8 sequence at s (n bytes left), its code
 * point in *cp; 0 when s does not start one; -1 when the sequence is valid
 * so far but n ends it early. */
static int utf8_sequence(const unsigned char *s, size_t n, uint32_t *cp) {
        unsigned char b = s[0];
        uint32_t c, min;
        int len;

        if (b < 0x80) {
                *cp = b;
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
                        return -1;
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
        *cp = c;
        return len;
}

static bool is_control(uint32_t c) {
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f);
}

size_t text_clean(char *dst, size_t size, const char *src, size_t len) {
        const unsigned char *s = (const unsigned char *) src;
        size_t i = 0, o = 0;

        if (size == 0)
                return 0;
        while (i < len) {
                const char *out;
                size_t out_len;
                uint32_t c = 0;
                int n = utf8_sequence(s + i, len - i, &c);

                if (n < 0)
                        break; /* cut short by the end: truncated before us */
                if (n == 0 || (is_control(c) && c != '\t' && c != '\n' && c != '\r')) {
                        out = REPLACEMENT;
                        out_len = 3;
                        n = n ?: 1;
                } else if (c == '\t' || c == '\n' || c == '\r') {
                        out = " ";
                        out_len = 1;
                } else {
                        out = (const char *) s + i;
                        out_len = (size_t) n;
                }
                if (o + out_len >= size)
                        break;
                memcpy(dst + o, out, out_len);
                o += out_len;
                i += (size_t) n;
        }
        dst[o] = '\0';
        return o;
}

void text_clean_inplace(char *s, size_t size) {
        size_t len = strnlen(s, size);
        char small[1024] = "", *tmp = small;

        if (text_is_clean(s, len))
                return;
        if (size > sizeof(small)) {
                tmp = malloc(size);
                if (!tmp) {
                        /* Without memory: cut at the first byte that is not plain ASCII. */
                        for (size_t i = 0; i < len; i++)
                                if ((unsigned char) s[i] < 0x20 || (unsigned char) s[i] >= 0x7f) {
                                        s[i] = '\0';
                                        break;
                                }
                        return;
                }
        }
        (void) text_clean(tmp, size, s, len);
        memcpy(s, tmp, strlen(tmp) + 1);
        if (tmp != small)
                free(tmp);
}

bool text_is_clean(const char *src, size_t len) {
        const unsigned char *s = (const unsigned char *) src;

        for (size_t i = 0; i < len;) {
                uint32_t c;
                int n;

                if (s[i] >= 0x20 && s[i] < 0x7f) {
                        i++;
                        continue;
                }
                n = utf8_sequence(s + i, len - i, &c);
                if (n <= 0 || is_control(c))
                        return false;
                i += (size_t) n;
        }
        return true;
}
