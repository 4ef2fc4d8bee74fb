/* SPDX-License-Identifier: MIT */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "utf8.h"

#define REPLACEMENT "\xef\xbf\xbd" /* U+FFFD */

/* C0, DEL, C1, and the bidirectional overrides and isolates (LRE..RLO,
 * LRI..PDI: text that reads otherwise than it is stored). */
static bool is_control(uint32_t c) {
        return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
               (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
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
                int n = utf8_decode((const char *) s + i, len - i, &c);

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

char *text_clean_dup(const char *s) {
        size_t len = strlen(s);
        char *c = malloc(3 * len + 1);

        if (c)
                (void) text_clean(c, 3 * len + 1, s, len);
        return c;
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
                n = utf8_decode((const char *) s + i, len - i, &c);
                if (n <= 0 || is_control(c))
                        return false;
                i += (size_t) n;
        }
        return true;
}

bool text_valid(const char *s, size_t max, bool multiline) {
        size_t n;

        if (!s)
                return true;
        n = strlen(s);
        if (n > max)
                return false;
        for (size_t i = 0; i < n;) {
                uint32_t c;
                int k = utf8_decode(s + i, n - i, &c);

                if (k <= 0)
                        return false;
                if (is_control(c) && !(multiline && (c == '\n' || c == '\t')))
                        return false;
                i += (size_t) k;
        }
        return true;
}
