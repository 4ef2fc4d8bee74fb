/* SPDX-License-Identifier: MIT */

/* Mail on the wire: line-safe text, the RFC 5322 address grammar of the
 * configured mailboxes, RFC 2047 encoded words, the base64 body (OpenSSL's
 * EVP_EncodeBlock) and the whole message (mail_render). What the mails say
 * is mail.c's. */

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "mail-internal.h"
#include "mail.h"
#include "macro.h"
#include "timeutil.h"
#include "utf8.h"

#define HEADER_LINE_MAX 76           /* RFC 2047 §2: lines holding encoded words */
#define ENCODED_WORD_MAX 75          /* RFC 2047 §2 */
#define ENCODED_WORD_OVERHEAD 12     /* "=?UTF-8?B?" "?=" */
#define BASE64_LINE_BYTES 57         /* 76 base64 characters a line (RFC 2045 §6.8) */

/* ======================================================================== */
/* Text */

void mail_put_clean(Buf *b, const char *s) {
        const unsigned char *p = (const unsigned char *) s;
        size_t n = strlen(s);

        while (n > 0) {
                size_t k = utf8_char_len((const char *) p, n);

                if (k == 0)
                        buf_append(b, "?", 1);
                else if (k == 1 && (*p < 0x20 || *p == 0x7f))
                        buf_append(b, " ", 1);
                else
                        buf_append(b, (const char *) p, k);
                k = MAX(k, (size_t) 1);
                p += k;
                n -= k;
        }
}

static int clean_dup(const char *s, char **ret) {
        Buf b = { .max = MAIL_RENDER_MAX };

        mail_put_clean(&b, s);
        return buf_finish(&b, ret, NULL);
}

/* ======================================================================== */
/* Addresses */

static const char *skip_space(const char *s) {
        while (*s == ' ' || *s == '\t')
                s++;
        return s;
}

void mail_mailbox_address(const char *s, size_t n, const char **ret_start,
                            const char **ret_end) {
        const char *lt = memrchr(s, '<', n), *end = s + n;

        if (lt) {
                const char *gt = memchr(lt, '>', (size_t) (end - lt));

                *ret_start = lt + 1;
                *ret_end = gt ?: end;
                return;
        }
        while (s < end && (*s == ' ' || *s == '\t'))
                s++;
        while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        *ret_start = s;
        *ret_end = end;
}

int mail_domain(const char *mailbox, char *buf, size_t size) {
        const char *a, *end, *at;
        size_t n;

        mail_mailbox_address(mailbox, strlen(mailbox), &a, &end);
        at = memrchr(a, '@', (size_t) (end - a));
        if (!at || at + 1 >= end)
                return -EINVAL;
        n = (size_t) (end - at - 1);
        if (n >= size)
                return -ENOBUFS;
        memcpy(buf, at + 1, n);
        buf[n] = 0;
        return 0;
}

/* The end of the mailbox starting at s in an address list: the next comma
 * outside a quoted string and outside <...>. */
static const char *mailbox_end(const char *s) {
        bool quoted = false, angle = false;

        for (; *s; s++) {
                if (quoted && *s == '\\' && s[1])
                        s++;
                else if (*s == '"')
                        quoted = !quoted;
                else if (!quoted && *s == '<')
                        angle = true;
                else if (!quoted && *s == '>')
                        angle = false;
                else if (!quoted && !angle && *s == ',')
                        break;
        }
        return s;
}

char **mail_addresses_free(char **v, size_t n) {
        for (size_t i = 0; v && i < n; i++)
                free(v[i]);
        free(v);
        return NULL;
}

int mail_addresses(const char *list, char ***ret, size_t *ret_n) {
        char **v = NULL;
        size_t n = 0;

        for (const char *p = list; *p;) {
                const char *end = mailbox_end(p), *a, *b;
                char **nv;

                mail_mailbox_address(p, (size_t) (end - p), &a, &b);
                if (b > a) {
                        nv = reallocarray(v, n + 1, sizeof(char *));
                        if (!nv || !(nv[n] = strndup(a, (size_t) (b - a)))) {
                                mail_addresses_free(nv ?: v, n);
                                return -ENOMEM;
                        }
                        v = nv;
                        n++;
                }
                p = *end ? end + 1 : end;
        }
        if (n == 0)
                return -EINVAL;
        *ret = v;
        *ret_n = n;
        return 0;
}

/* Whether a display name must be a quoted string (RFC 5322 specials). */
static bool phrase_needs_quotes(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (strchr("()<>[]:;@\\,.\"", s[i]))
                        return true;
        return false;
}

void mail_put_mailbox(Buf *b, const char *mailbox) {
        const char *lt = strrchr(mailbox, '<');
        const char *name = skip_space(mailbox), *end = lt;

        if (!lt) {
                buf_puts(b, name);
                return;
        }
        while (end > name && (end[-1] == ' ' || end[-1] == '\t'))
                end--;
        if (end > name && !(*name == '"' && end - name >= 2 && end[-1] == '"') &&
            phrase_needs_quotes(name, (size_t) (end - name))) {
                buf_puts(b, "\"");
                for (const char *p = name; p < end; p++) {
                        if (*p == '"' || *p == '\\')
                                buf_puts(b, "\\");
                        buf_append(b, p, 1);
                }
                buf_puts(b, "\" ");
        } else if (end > name) {
                buf_append(b, name, (size_t) (end - name));
                buf_puts(b, " ");
        }
        buf_puts(b, lt);
}

/* ======================================================================== */
/* Encoding */

/* Appends the base64 of n bytes (EVP_EncodeBlock: no line breaks). */
static void put_base64(Buf *b, const void *data, size_t n) {
        unsigned char out[4 * ((BASE64_LINE_BYTES + 2) / 3) + 1];

        /* In pieces that fit out[]; a multiple of 3 bytes keeps them joinable. */
        while (n > 0) {
                size_t k = MIN(n, (size_t) BASE64_LINE_BYTES);
                int m = EVP_EncodeBlock(out, data, (int) k);

                buf_append(b, (const char *) out, (size_t) m);
                data = (const unsigned char *) data + k;
                n -= k;
        }
}

int mail_encode_words(const char *s, size_t first_max, char **ret) {
        _cleanup_(freep) char *clean = NULL;
        Buf b = { .max = MAIL_RENDER_MAX };
        size_t max = first_max, n;
        const unsigned char *p;
        int r;

        if (first_max < 20 || first_max > ENCODED_WORD_MAX)
                return -EINVAL;
        /* Invalid bytes and control characters become '?' and spaces. */
        r = clean_dup(s, &clean);
        if (r < 0)
                return r;
        p = (const unsigned char *) clean;
        n = strlen(clean);
        while (n > 0) {
                /* Whole characters, as many as the word's base64 has room for. */
                size_t room = (max - ENCODED_WORD_OVERHEAD) / 4 * 3, k = 0;

                while (k < n) {
                        size_t c = MAX(utf8_char_len((const char *) p + k, n - k), (size_t) 1);

                        if (k + c > room)
                                break;
                        k += c;
                }
                if (b.len > 0)
                        buf_puts(&b, "\r\n ");
                buf_puts(&b, "=?UTF-8?B?");
                put_base64(&b, p, k);
                buf_puts(&b, "?=");
                p += k;
                n -= k;
                max = ENCODED_WORD_MAX;
        }
        return buf_finish(&b, ret, NULL);
}

/* A header writer that folds (CRLF SP) before a token that would run past
 * HEADER_LINE_MAX. */
typedef struct Header {
        Buf *b;
        size_t column;
} Header;

static void header_start(Header *h, Buf *b, const char *name) {
        *h = (Header) { .b = b };
        buf_puts(b, name);
        buf_puts(b, ":");
        h->column = strlen(name) + 1;
}

/* Appends a token (no CR, LF) preceded by a space or a fold. */
static void header_token(Header *h, const char *token, size_t n) {
        if (h->column + 1 + n > HEADER_LINE_MAX && h->column > 1) {
                buf_puts(h->b, "\r\n");
                h->column = 0;
        }
        buf_puts(h->b, " ");
        buf_append(h->b, token, n);
        h->column += 1 + n;
}

static void header_end(Header *h) {
        buf_puts(h->b, "\r\n");
}

/* Appends RFC 2047 words (from mail_encode_words) as tokens. */
static int header_words(Header *h, const char *text) {
        _cleanup_(freep) char *words = NULL;
        size_t first = HEADER_LINE_MAX - h->column - 1;
        int r;

        r = mail_encode_words(text, MIN(MAX(first, (size_t) 20), (size_t) ENCODED_WORD_MAX),
                              &words);
        if (r < 0)
                return r;
        for (const char *w = words; *w;) {
                size_t n = strcspn(w, "\r");

                header_token(h, w, n);
                w += n;
                w += strspn(w, "\r\n ");
        }
        return 0;
}

static bool ascii_printable(const char *s, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (s[i] < 0x20 || s[i] >= 0x7f)
                        return false;
        return true;
}

/* The display name of a mailbox (what precedes '<'), unquoted; "" for none. */
static int mailbox_display_name(const char *s, size_t n, char **ret) {
        const char *lt = memrchr(s, '<', n), *p = skip_space(s), *q = lt ?: p;
        Buf b = { .max = MAIL_RENDER_MAX };

        while (q > p && (q[-1] == ' ' || q[-1] == '\t'))
                q--;
        if (q - p >= 2 && *p == '"' && q[-1] == '"')
                for (p++, q--; p < q; p++) {
                        if (*p == '\\' && p + 1 < q)
                                p++;
                        buf_append(&b, p, 1);
                }
        else
                buf_append(&b, p, (size_t) (q - p));
        return buf_finish(&b, ret, NULL);
}

/* "<addr>" (with a comma after it when more follow), one clean token. */
static int mailbox_addr_token(const char *s, size_t n, bool comma, char **ret) {
        _cleanup_(freep) char *raw = NULL;
        Buf b = { .max = MAIL_RENDER_MAX };
        const char *a, *end;
        int r;

        mail_mailbox_address(s, n, &a, &end);
        raw = strndup(a, (size_t) (end - a));
        if (!raw)
                return -ENOMEM;
        buf_puts(&b, "<");
        mail_put_clean(&b, raw);
        buf_puts(&b, comma ? ">," : ">");
        r = buf_finish(&b, ret, NULL);
        if (r < 0)
                return r;
        for (char *c = *ret; *c; c++)
                if (*c == ' ')
                        *c = '_'; /* was a control character: keep the token whole */
        return 0;
}

/* A display name: as it stands when plain ASCII (quoted where it needs
 * it), else as encoded words. */
static int header_phrase(Header *h, const char *name) {
        _cleanup_(freep) char *quoted = NULL;
        Buf b = { .max = MAIL_RENDER_MAX };
        bool quote;
        int r;

        if (!ascii_printable(name, strlen(name)))
                return header_words(h, name);
        quote = phrase_needs_quotes(name, strlen(name));
        buf_puts(&b, quote ? "\"" : "");
        for (const char *c = name; *c; c++) {
                if (quote && (*c == '"' || *c == '\\'))
                        buf_puts(&b, "\\");
                buf_append(&b, c, 1);
        }
        buf_puts(&b, quote ? "\"" : "");
        r = buf_finish(&b, &quoted, NULL);
        if (r < 0)
                return r;
        header_token(h, quoted, strlen(quoted));
        return 0;
}

/* One mailbox of an address header: the display name, then the address. */
static int header_mailbox(Header *h, const char *s, size_t n, bool comma) {
        _cleanup_(freep) char *name = NULL, *addr = NULL;
        int r;

        r = mailbox_display_name(s, n, &name);
        if (r >= 0)
                r = mailbox_addr_token(s, n, comma, &addr);
        if (r >= 0 && *name && memchr(s, '<', n))
                r = header_phrase(h, name);
        if (r < 0)
                return r;
        header_token(h, addr, strlen(addr));
        return 0;
}

static int header_address_list(Header *h, const char *list) {
        int r;

        for (const char *p = list; *p;) {
                const char *end = mailbox_end(p);

                if (end > skip_space(p)) {
                        r = header_mailbox(h, p, (size_t) (end - p), *end == ',');
                        if (r < 0)
                                return r;
                }
                p = *end ? end + 1 : end;
        }
        return 0;
}

/* A header whose value is one token, cleaned. */
static int header_simple(Buf *b, const char *name, const char *value) {
        Header h;
        _cleanup_(freep) char *v = NULL;
        int r;

        r = clean_dup(value, &v);
        if (r < 0)
                return r;
        header_start(&h, b, name);
        header_token(&h, v, strlen(v));
        header_end(&h);
        return 0;
}

/* "Thu, 26 Nov 2026 09:05:00 +0900", in the process's zone. */
static int format_rfc5322_date(time_t t, char *buf, size_t size) {
        static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
        static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
        struct tm tm;
        long off;

        if (!localtime_r(&t, &tm))
                return -EINVAL;
        off = tm.tm_gmtoff / 60;
        (void) snprintf(buf, size, "%s, %02d %s %04d %02d:%02d:%02d %c%02ld%02ld",
                        days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, off < 0 ? '-' : '+', labs(off) / 60,
                        labs(off) % 60);
        return 0;
}

/* The body in canonical form (CRLF line ends, valid UTF-8), in base64
 * lines of 76 characters. */
static int put_body(Buf *b, const char *body) {
        _cleanup_(buf_done) Buf c = { .max = MAIL_RENDER_MAX };
        _cleanup_(freep) char *canon = NULL;
        size_t n;
        int r;

        for (const char *p = body; *p;) {
                size_t k = strcspn(p, "\r\n");
                _cleanup_(freep) char *line = strndup(p, k);

                if (!line)
                        return -ENOMEM;
                mail_put_clean(&c, line);
                p += k;
                if (*p == '\r' && p[1] == '\n')
                        p++;
                if (*p) {
                        buf_puts(&c, "\r\n");
                        p++;
                }
        }
        r = buf_finish(&c, &canon, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i += BASE64_LINE_BYTES) {
                put_base64(b, canon + i, MIN((size_t) BASE64_LINE_BYTES, n - i));
                buf_puts(b, "\r\n");
        }
        return 0;
}

int mail_render(const OutboxMail *m, const char *from, time_t now, char **ret, size_t *ret_len) {
        _cleanup_(buf_done) Buf b = { .max = MAIL_RENDER_MAX };
        char date[64];
        Header h;
        int r;

        if (!m->recipients || !m->message_id || !m->subject || !m->body || !from)
                return -EINVAL;
        r = format_rfc5322_date(now, date, sizeof(date));
        header_start(&h, &b, "From");
        if (r >= 0)
                r = header_address_list(&h, from);
        header_end(&h);
        header_start(&h, &b, "To");
        if (r >= 0)
                r = header_address_list(&h, m->recipients);
        header_end(&h);
        header_start(&h, &b, "Subject");
        if (r >= 0)
                r = header_words(&h, m->subject);
        header_end(&h);
        if (r >= 0)
                r = header_simple(&b, "Date", date);
        if (r >= 0)
                r = header_simple(&b, "Message-ID", m->message_id);
        if (r >= 0 && m->thread_id && *m->thread_id) {
                r = header_simple(&b, "In-Reply-To", m->thread_id);
                if (r >= 0)
                        r = header_simple(&b, "References", m->thread_id);
        }
        buf_puts(&b, "MIME-Version: 1.0\r\n"
                     "Content-Type: text/plain; charset=UTF-8\r\n"
                     "Content-Transfer-Encoding: base64\r\n"
                     "Auto-Submitted: auto-generated\r\n"
                     "\r\n");
        if (r >= 0)
                r = put_body(&b, m->body);
        if (r < 0)
                return r;
        return buf_finish(&b, ret, ret_len);
}
