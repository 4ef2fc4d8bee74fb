/* SPDX-License-Identifier: MIT */

/* The configuration loader (SPEC §7): fieldwatch's schema, its value syntax
 * and cross-field checks, and the API of config.h.
 *
 * Two passes. First yaml-tree.c builds a small node tree from libyaml's
 * events that keeps every node's line and column and whether a scalar was
 * plain or quoted. Anchors, aliases, tags and a second document are refused
 * there, and every resource the file controls is bounded: its size, the
 * nesting depth, the length of a scalar and the number of nodes.
 *
 * Then the tree is walked by schema.c with one key table per mapping
 * (Section, the tables below); each entry (Field) names a typed parser with
 * its bounds. Errors are collected, never fatal to the walk, so one run
 * reports all of them with file:line:column. Cross-field checks run after a
 * mapping has been parsed, and only on values that parsed cleanly, so one
 * mistake gives one error. */

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"
#include "fileio.h"
#include "timeutil.h"

#define CONFIG_MAX_LIST 1000u          /* items of extra_closed, to, escalate_to, security_to */
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define DEFAULT_MODEL "WV-S2536LNUX"
#define DEFAULT_VPN_NAME "RTX1220"
#define ENDPOINT_KEY_MAX 272           /* a 253-byte host name, ':' and a port */

_Static_assert(sizeof(Mount) == sizeof(int), "enums are stored through int");
_Static_assert(sizeof(SnmpAuth) == sizeof(int), "enums are stored through int");

struct SiteMarks {
        const Node *id, *tunnel;     /* value nodes, NULL when absent */
        const Node *router, *camera;
        bool id_ok, tunnel_ok, router_ok, camera_ok;
};

static char *format_hhmm(int sec, char buf[static 8]) {
        (void) snprintf(buf, 8, "%02d:%02d", sec / 3600 % 100, sec / 60 % 60);
        return buf;
}

/* ------------------------------------------------------------------------ */
/* Value syntax */

/* Labels of [A-Za-z0-9-], 1..63 bytes, not starting or ending with '-';
 * 253 bytes at most; the last label not all digits (so that 192.0.2.300 is
 * not taken for a name). */
static bool hostname_valid(const char *s) {
        size_t n = strlen(s);
        const char *label = s;

        if (n == 0 || n > 253)
                return false;
        for (;;) {
                size_t len = strcspn(label, ".");

                if (len == 0 || len > 63 || label[0] == '-' || label[len - 1] == '-')
                        return false;
                for (size_t i = 0; i < len; i++)
                        if (!isalnum((unsigned char) label[i]) && label[i] != '-')
                                return false;
                if (!label[len])
                        return strspn(label, "0123456789") != len;
                label += len + 1;
        }
}

static bool address_valid(const char *s) {
        unsigned char a[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1 ||
               hostname_valid(s);
}

/* Dotted numeric, optional leading dot, 2..128 arcs of at most 4294967295
 * without leading zeros, the first 0..2. */
static bool oid_valid(const char *s) {
        size_t arcs = 0;

        if (*s == '.')
                s++;
        for (;;) {
                size_t len = strspn(s, "0123456789");
                uint64_t v = 0;

                if (len == 0 || len > 10 || (s[0] == '0' && len > 1))
                        return false;
                for (size_t i = 0; i < len; i++)
                        v = v * 10 + (uint64_t) (s[i] - '0');
                if (v > UINT32_MAX || (arcs == 0 && v > 2) || ++arcs > 128)
                        return false;
                s += len;
                if (!*s)
                        return arcs >= 2;
                if (*s++ != '.')
                        return false;
        }
}

/* A file name in the credentials directory: ^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$. */
static bool credential_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > 64 || !(isalnum((unsigned char) s[0]) || s[0] == '_'))
                return false;
        for (size_t i = 1; i < n; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("._-", s[i]))
                        return false;
        return true;
}

/* local@domain: a dot-atom local part, a host name or [IPv4/IPv6] domain. */
static bool mail_address_valid(const char *s, size_t n) {
        const char *at = memrchr(s, '@', n);
        char domain[256];
        size_t local, dlen;

        if (!at)
                return false;
        local = (size_t) (at - s);
        dlen = n - local - 1;
        if (local == 0 || local > 64 || dlen == 0 || dlen >= sizeof(domain))
                return false;
        for (size_t i = 0; i < local; i++)
                if (!isalnum((unsigned char) s[i]) && !strchr("!#$%&'*+-/=?^_`{|}~.", s[i]))
                        return false;
        if (s[0] == '.' || s[local - 1] == '.' || memmem(s, local, "..", 2))
                return false;
        memcpy(domain, at + 1, dlen);
        domain[dlen] = 0;
        if (domain[0] == '[' && domain[dlen - 1] == ']') {
                domain[dlen - 1] = 0;
                return address_valid(domain + 1) && !hostname_valid(domain + 1);
        }
        return hostname_valid(domain);
}

/* "Name <local@domain>" or a bare "local@domain", 512 bytes at most. */
static bool mailbox_valid(const char *s) {
        const char *lt = strrchr(s, '<');
        size_t n = strlen(s);

        if (n > 512)
                return false;
        if (!lt)
                return !strpbrk(s, " >\"") && mail_address_valid(s, n);
        if (n < 2 || s[n - 1] != '>' || memchr(s, '<', (size_t) (lt - s)) ||
            memchr(s, '>', (size_t) (lt - s)))
                return false;
        return mail_address_valid(lt + 1, (size_t) (s + n - 1 - (lt + 1)));
}

/* smtp://host[:port][/ehlo-name] or smtps://..., host a name, an IPv4
 * address or [IPv6]. Credentials in the URL are refused: they belong in a
 * credential. Returns an error description or NULL. */
static const char *smtp_url_problem(const char *url) {
        char host[256];
        const char *p, *end, *port = NULL;
        size_t n;

        if (strncmp(url, "smtp://", 7) == 0)
                p = url + 7;
        else if (strncmp(url, "smtps://", 8) == 0)
                p = url + 8;
        else
                return "expected smtp://host[:port] or smtps://host[:port]";
        end = p + strcspn(p, "/?#");
        if (memchr(p, '@', (size_t) (end - p)))
                return "the URL must not contain credentials: use 'username' and "
                       "'password_credential'";
        if (*p == '[') {
                const char *rb = memchr(p, ']', (size_t) (end - p));

                if (!rb)
                        return "unterminated [IPv6] address";
                n = (size_t) (rb - p - 1);
                if (n >= sizeof(host))
                        return "host too long";
                memcpy(host, p + 1, n);
                host[n] = 0;
                if (!address_valid(host) || hostname_valid(host))
                        return "invalid [IPv6] address";
                if (rb + 1 < end && rb[1] != ':')
                        return "junk after the [IPv6] address";
                port = rb + 1 < end ? rb + 2 : NULL;
        } else {
                const char *colon = memchr(p, ':', (size_t) (end - p));

                n = (size_t) ((colon ?: end) - p);
                if (n >= sizeof(host))
                        return "host too long";
                memcpy(host, p, n);
                host[n] = 0;
                if (!address_valid(host))
                        return "invalid host";
                port = colon ? colon + 1 : NULL;
        }
        if (port) {
                size_t digits = (size_t) (end - port);
                unsigned long v = 0;

                if (digits == 0 || digits > 5 || strspn(port, "0123456789") < digits)
                        return "invalid port";
                for (size_t i = 0; i < digits; i++)
                        v = v * 10 + (unsigned long) (port[i] - '0');
                if (v < 1 || v > 65535)
                        return "port out of range (expected 1..65535)";
        }
        if (*end && *end != '/')
                return "no query or fragment allowed";
        if (*end == '/' && end[1] && !hostname_valid(end + 1))
                return "the path, if any, must be the host name to announce";
        return NULL;
}

/* "sha256//<base64 of 32 bytes>" (';'-separated, as libcurl takes it) or
 * an absolute path to a public key file. */
static bool pinned_key_valid(const char *s) {
        static const char b64[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

        if (strlen(s) >= PATH_MAX)
                return false;
        if (s[0] == '/')
                return true;
        for (;;) {
                if (strncmp(s, "sha256//", 8) != 0)
                        return false;
                s += 8;
                if (strspn(s, b64) != 43 || s[43] != '=')
                        return false;
                s += 44;
                if (!*s)
                        return true;
                if (*s++ != ';')
                        return false;
        }
}

/* A zone name as tz_use() takes it (else -EINVAL), that names a TZif file
 * (else -ENOENT), checked without touching the process's TZ. */
static int zone_check(const char *zone, const char **ret_problem) {
        char path[sizeof(ZONEINFO_DIR) + 80], magic[4];
        struct stat st;
        ssize_t n;
        int fd;

        (void) ret_problem;
        if (!*zone || strlen(zone) > 64 || zone[0] == '/' || strstr(zone, ".."))
                return -EINVAL;
        for (const char *p = zone; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("/_+-", *p))
                        return -EINVAL;
        (void) snprintf(path, sizeof(path), ZONEINFO_DIR "/%s", zone);
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
                return -ENOENT;
        n = fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ? -1 : read(fd, magic, sizeof(magic));
        (void) close(fd);
        return n == 4 && memcmp(magic, "TZif", 4) == 0 ? 0 : -ENOENT;
}


/* ------------------------------------------------------------------------ */
/* Checked strings: one table, one parser (schema.c's parse_checked_field) */

/* An IPv4 or IPv6 literal, no host name: the local address to send from. */
static bool ip_literal_valid(const char *s) {
        unsigned char a[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, s, a) == 1 || inet_pton(AF_INET6, s, a) == 1;
}

static bool abs_path_valid(const char *s) {
        return s[0] == '/' && strlen(s) < PATH_MAX;
}

/* 1..15 characters of [A-Za-z0-9_-], the scalar's text: a plain 01 stays "01".
 * (15: a site id is kept in 16 bytes with its NUL, in faults, events, mail.) */
static bool site_id_valid(const char *s) {
        size_t len = strlen(s);

        return len >= 1 && len <= 15 &&
               strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") ==
                       len;
}

static int smtp_url_check(const char *url, const char **ret_problem) {
        *ret_problem = smtp_url_problem(url);
        return *ret_problem ? -EINVAL : 0;
}

typedef enum StringKind {
        STRING_ADDRESS,
        STRING_SOURCE_ADDRESS,
        STRING_CREDENTIAL,
        STRING_OID,
        STRING_ABSOLUTE_PATH,
        STRING_ZONE,
        STRING_SMTP_URL,
        STRING_MAILBOX,
        STRING_PINNED_KEY,
        STRING_SITE_ID,
        STRING_HOST_NAME,
        _STRING_KIND_MAX,
} StringKind;

static const StringCheck string_checks[_STRING_KIND_MAX] = {
        [STRING_ADDRESS] = {
                .valid = address_valid, .what = "an address", .noun = "address",
                .expected = "expected an IPv4 or IPv6 address or a host name",
        },
        [STRING_SOURCE_ADDRESS] = {
                .valid = ip_literal_valid, .what = "an address", .noun = "address",
                .expected = "expected an IPv4 or IPv6 address of this machine (no host name)",
        },
        [STRING_CREDENTIAL] = {
                .valid = credential_valid, .what = "a credential name", .noun = "credential name",
                .expected = "expected a file name in the credentials directory (letters, "
                            "digits, '.', '_', '-'; no '/', not starting with '.')",
        },
        [STRING_OID] = {
                .valid = oid_valid, .what = "an OID", .noun = "OID",
                .expected = "expected a numeric dotted OID such as 1.3.6.1.2.1.1.3.0",
                .flags = STRING_CHECK_NO_DOT,
        },
        [STRING_ABSOLUTE_PATH] = {
                .valid = abs_path_valid, .what = "a path", .noun = "path",
                .expected = "expected an absolute path",
        },
        [STRING_ZONE] = {
                .check = zone_check, .what = "a time zone", .noun = "time zone",
                .expected = "expected a zone name such as Asia/Tokyo",
                .unknown = "no such zone in " ZONEINFO_DIR,
        },
        [STRING_SMTP_URL] = {
                /* Not echoed: a URL with credentials would put them in the log. */
                .check = smtp_url_check, .what = "a URL", .noun = "SMTP URL",
                .flags = STRING_CHECK_HIDDEN | STRING_CHECK_BOUNDED,
        },
        [STRING_MAILBOX] = {
                .valid = mailbox_valid, .what = "a mail address", .noun = "mail address",
                .expected = "expected user@domain or Name <user@domain>",
        },
        [STRING_PINNED_KEY] = {
                .valid = pinned_key_valid, .what = "a public key pin", .noun = "public key pin",
                .expected = "expected sha256//<base64> (';'-separated) or an absolute path",
        },
        [STRING_SITE_ID] = {
                .valid = site_id_valid, .what = "a site id", .noun = "site id",
                .expected = "expected 1 to 15 letters, digits, '_' or '-'",
        },
        [STRING_HOST_NAME] = {
                .valid = hostname_valid, .what = "a host name", .noun = "host name",
                .expected = "expected a DNS name such as fieldwatch.example.lg.jp (no port, "
                            "no address: addresses are always accepted)",
        },
};

/* A Field of a checked string: key, kind, offset, then extras as for F(). */
#define CHECKED(k, kind, off, ...)                                                          \
        F(k, parse_checked_field, off, .data = &string_checks[kind], __VA_ARGS__)

/* ------------------------------------------------------------------------ */
/* Lists of checked strings: mail addresses, host names */

/* A non-empty sequence of checked strings (plural: what they are, for the
 * error) into *list and *n. */
static void parse_checked_list(Loader *l, const Node *n, const char *path, StringKind kind,
                               const char *plural, char ***list, size_t *n_list) {
        char child[PATH_LEN];
        char **items;
        bool ok = true;

        if (!expect_type(l, n, NODE_SEQUENCE, path))
                return;
        if (n->n_items == 0 || n->n_items > CONFIG_MAX_LIST) {
                loader_error(l, n, "'%s' must list 1 to %u %s", path, CONFIG_MAX_LIST, plural);
                return;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                (void) snprintf(child, sizeof(child), "%s[%zu]", path, i);
                ok = checked_text(l, n->items[i], child, &string_checks[kind], NULL) && ok;
        }
        if (!ok)
                return;
        items = calloc(n->n_items, sizeof(char *));
        if (!items) {
                l->oom = true;
                return;
        }
        for (size_t i = 0; i < *n_list; i++)
                free((*list)[i]);
        free(*list);
        *list = items;
        *n_list = n->n_items;
        for (size_t i = 0; i < n->n_items; i++)
                set_string(l, &items[i], n->items[i]->value);
}

static void parse_mail_list(Loader *l, const Node *n, const char *path, char ***list,
                            size_t *n_list) {
        parse_checked_list(l, n, path, STRING_MAILBOX, "mail addresses", list, n_list);
}

/* notify.to: the on-call addresses. */
static void parse_mail_to(Loader *l, const Node *n, const char *path, const Field *f,
                          void *base) {
        NotifyConf *nc = base;

        (void) f;
        parse_mail_list(l, n, path, &nc->to, &nc->n_to);
}

/* notify.escalate_to: the supervisor's addresses. */
static void parse_mail_escalate_to(Loader *l, const Node *n, const char *path, const Field *f,
                                   void *base) {
        NotifyConf *nc = base;

        (void) f;
        parse_mail_list(l, n, path, &nc->escalate_to, &nc->n_escalate_to);
}

/* notify.security_to: the city's contact for security incidents. */
static void parse_mail_security_to(Loader *l, const Node *n, const char *path, const Field *f,
                                   void *base) {
        NotifyConf *nc = base;

        (void) f;
        parse_mail_list(l, n, path, &nc->security_to, &nc->n_security_to);
}

/* ------------------------------------------------------------------------ */
/* contract */

static void contract_check(Loader *l, const Node *map, const char *path, const MapState *st,
                           void *base) {
        const ContractConf *c = base;
        char b1[ISO_DATE_MAX], b2[ISO_DATE_MAX];

        (void) map;
        (void) path;
        if (st_good(st, "start") && st_good(st, "end") && c->end < c->start)
                loader_error(l, st_value(st, "end"),
                             "'contract.end' (%s) is before 'contract.start' (%s)",
                             format_iso_date(c->end, b1), format_iso_date(c->start, b2));
}

static const Field contract_fields[] = {
        F("name", parse_string_field, offsetof(ContractConf, name), .max = 256),
        F("title", parse_string_field, offsetof(ContractConf, title), .max = 256),
        F("start", parse_date_field, offsetof(ContractConf, start), .flags = FIELD_REQUIRED),
        F("end", parse_date_field, offsetof(ContractConf, end), .flags = FIELD_REQUIRED),
        CHECKED("timezone", STRING_ZONE, offsetof(ContractConf, timezone)),
};

static const Section contract_section = {
        contract_fields, ELEMENTSOF(contract_fields), contract_check,
};

/* ------------------------------------------------------------------------ */
/* calendar */

/* "HH:MM-HH:MM", opening before closing. */
static void parse_hours(Loader *l, const Node *n, const char *path, const Field *f,
                        void *base) {
        CalendarConf *cal = base;
        char buf[SHOWN_MAX], open[8], close[8];
        const char *s = scalar_text(l, n, path, "hours");
        int o, c;

        (void) f;
        if (!s)
                return;
        if (strlen(s) != 11 || s[5] != '-') {
                loader_error(l, n, "invalid hours '%s' for '%s': expected HH:MM-HH:MM, e.g. "
                             "09:00-17:00", shown(s, buf), path);
                return;
        }
        memcpy(open, s, 5);
        open[5] = 0;
        memcpy(close, s + 6, 5);
        close[5] = 0;
        if (parse_hhmm(open, &o) < 0 || parse_hhmm(close, &c) < 0) {
                loader_error(l, n, "invalid hours '%s' for '%s': expected HH:MM-HH:MM, e.g. "
                             "09:00-17:00", shown(s, buf), path);
                return;
        }
        if (o >= c) {
                loader_error(l, n,
                             "reception window '%s' for '%s' is empty or reversed: the "
                             "opening must be before the closing",
                             s, path);
                return;
        }
        cal->open_sec = o;
        cal->close_sec = c;
}

/* "MM-DD..MM-DD" (may wrap the year end), or "" to disable. */
static void parse_closure(Loader *l, const Node *n, const char *path, const Field *f,
                          void *base) {
        CalendarConf *cal = base;
        char buf[SHOWN_MAX], first[8];
        const char *s = scalar_text(l, n, path, "a closure (MM-DD..MM-DD)");
        int sm, sd, em, ed;

        (void) f;
        if (!s)
                return;
        if (!*s) {
                cal->closure_enabled = false;
                return;
        }
        if (strlen(s) == 12 && s[5] == '.' && s[6] == '.') {
                memcpy(first, s, 5);
                first[5] = 0;
                if (parse_mmdd(first, &sm, &sd) >= 0 && parse_mmdd(s + 7, &em, &ed) >= 0) {
                        cal->closure_enabled = true;
                        cal->closure_start_month = sm;
                        cal->closure_start_day = sd;
                        cal->closure_end_month = em;
                        cal->closure_end_day = ed;
                        return;
                }
        }
        loader_error(l, n,
                     "invalid closure '%s' for '%s': expected MM-DD..MM-DD, e.g. "
                     "12-29..01-03, or \"\" for none",
                     shown(s, buf), path);
}

static int day_compare(const void *a, const void *b) {
        Day x = *(const Day *) a, y = *(const Day *) b;

        return (x > y) - (x < y);
}

/* A sequence of dates, no date twice; stored sorted. */
static void parse_extra_closed(Loader *l, const Node *n, const char *path, const Field *f,
                               void *base) {
        _cleanup_(freep) Day *days = NULL;
        CalendarConf *cal = base;
        char child[PATH_LEN], b[ISO_DATE_MAX];
        bool ok = true;

        (void) f;
        if (!expect_type(l, n, NODE_SEQUENCE, path))
                return;
        if (n->n_items > CONFIG_MAX_LIST) {
                loader_error(l, n, "'%s' lists too many dates (at most %u)", path,
                             CONFIG_MAX_LIST);
                return;
        }
        days = calloc(n->n_items ?: 1, sizeof(Day));
        if (!days) {
                l->oom = true;
                return;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                (void) snprintf(child, sizeof(child), "%s[%zu]", path, i);
                if (!scalar_date(l, n->items[i], child, &days[i])) {
                        days[i] = DAY_INVALID;
                        ok = false;
                        continue;
                }
                for (size_t j = 0; j < i; j++)
                        if (days[j] == days[i]) {
                                loader_error(l, n->items[i],
                                             "duplicate date %s in '%s' (first at line %u)",
                                             format_iso_date(days[i], b), path,
                                             n->items[j]->line);
                                ok = false;
                                break;
                        }
        }
        if (!ok)
                return;
        qsort(days, n->n_items, sizeof(Day), day_compare);
        free(cal->extra_closed);
        cal->extra_closed = n->n_items ? TAKE_PTR(days) : NULL;
        cal->n_extra_closed = n->n_items;
}

/* A path, relative to the configuration file's directory or absolute;
 * "" means the built-in rules. */
static void parse_holidays_file(Loader *l, const Node *n, const char *path, const Field *f,
                                void *base) {
        CalendarConf *cal = base;
        const char *s = scalar_text(l, n, path, "a path");

        if (!s || !string_ok(l, n, path, s, f))
                return;
        set_string(l, &cal->holidays_file, *s ? s : NULL);
        cal->holidays_file_mark = (ConfigMark) { n->line, n->column };
}

static const Field calendar_fields[] = {
        F("hours", parse_hours, 0),
        F("year_end_closure", parse_closure, 0),
        F("extra_closed", parse_extra_closed, 0),
        F("holidays_file", parse_holidays_file, 0, .max = PATH_MAX - 1),
};

static const Section calendar_section = {
        calendar_fields, ELEMENTSOF(calendar_fields), NULL,
};

/* ------------------------------------------------------------------------ */
/* sla */

/* "'a.b' (3h) must be shorter than 'a.c' (2h)", at the first given. */
static void check_shorter(Loader *l, const Node *map, const char *path, const MapState *st,
                          const char *short_key, uint64_t short_value, const char *long_key,
                          uint64_t long_value) {
        char b1[DURATION_MAX], b2[DURATION_MAX], p1[PATH_LEN], p2[PATH_LEN];
        const Node *at;

        if (!st_usable(st, short_key) || !st_usable(st, long_key) || short_value < long_value)
                return;
        at = st_value(st, short_key) ?: st_value(st, long_key) ?: map;
        path_join(p1, path, short_key);
        path_join(p2, path, long_key);
        loader_error(l, at, "'%s' (%s) must be shorter than '%s' (%s)", p1,
                     format_duration(short_value, b1), p2, format_duration(long_value, b2));
}

static void sla_check(Loader *l, const Node *map, const char *path, const MapState *st,
                      void *base) {
        const SlaConf *s = base;

        if (s->warn_before > 0)
                check_shorter(l, map, path, st, "warn_before", s->warn_before, "onsite_within",
                              s->onsite_within);
}

#define DURATION(k, type, member, lo, hi, ...)                                              \
        F(k, parse_duration_field, offsetof(type, member), .min = (int64_t) (lo),          \
          .max = (int64_t) (hi), __VA_ARGS__)

static const EnumName sla_reception_names[] = {
        { "detection", SLA_RECEPTION_DETECTION },
        { "call", SLA_RECEPTION_CALL },
        {},
};

static const EnumName sla_rule_names[] = {
        { "onsite", SLA_RULE_ONSITE },
        { "sendback", SLA_RULE_SENDBACK },
        {},
};

static const Field sla_devices_fields[] = {
        F("vpn", parse_enum_field, offsetof(SlaConf, devices.vpn), .data = sla_rule_names),
};

static const Section sla_devices_section = {
        sla_devices_fields, ELEMENTSOF(sla_devices_fields), NULL,
};

static const Field sla_fields[] = {
        DURATION("onsite_within", SlaConf, onsite_within, USEC_PER_MINUTE, 7 * USEC_PER_DAY),
        F("deferred_onsite_by", parse_time_field, offsetof(SlaConf, deferred_onsite_by)),
        DURATION("warn_before", SlaConf, warn_before, 0, 7 * USEC_PER_DAY),
        DURATION("recovery_report_within", SlaConf, recovery_report_within, USEC_PER_DAY,
                 365 * USEC_PER_DAY, .flags = FIELD_WHOLE_DAYS),
        DURATION("erasure_report_within", SlaConf, erasure_report_within, USEC_PER_DAY,
                 365 * USEC_PER_DAY, .flags = FIELD_WHOLE_DAYS),
        F("deferral_prompt_at", parse_time_field, offsetof(SlaConf, deferral_prompt_at)),
        DURATION("report_warn_before", SlaConf, report_warn_before, 0, 90 * USEC_PER_DAY),
        F("reception", parse_enum_field, offsetof(SlaConf, reception),
          .data = sla_reception_names),
        F("devices", parse_section_field, 0, .data = &sla_devices_section),
};

static const Section sla_section = {
        sla_fields, ELEMENTSOF(sla_fields), sla_check,
};

/* ------------------------------------------------------------------------ */
/* probes */

static void probe_check(Loader *l, const Node *map, const char *path, const MapState *st,
                        uint64_t interval, uint64_t timeout) {
        check_shorter(l, map, path, st, "timeout", timeout, "interval", interval);
}

static void camera_probe_check(Loader *l, const Node *map, const char *path,
                               const MapState *st, void *base) {
        const ProbesConf *p = base;

        probe_check(l, map, path, st, p->camera.interval, p->camera.timeout);
        if (p->camera.deep_interval < p->camera.interval)
                check_shorter(l, map, path, st, "interval", p->camera.interval,
                              "deep_interval", p->camera.deep_interval);
}

static void router_probe_check(Loader *l, const Node *map, const char *path,
                               const MapState *st, void *base) {
        const ProbesConf *p = base;

        probe_check(l, map, path, st, p->router.interval, p->router.timeout);
}

static void vpn_probe_check(Loader *l, const Node *map, const char *path, const MapState *st,
                            void *base) {
        const ProbesConf *p = base;

        probe_check(l, map, path, st, p->vpn.interval, p->vpn.timeout);
}

static void signal_check(Loader *l, const Node *map, const char *path, const MapState *st,
                         void *base) {
        SignalConf *s = base;
        char p1[PATH_LEN], p2[PATH_LEN];

        s->has_warn_below = st_good(st, "warn_below");
        s->has_warn_above = st_good(st, "warn_above");
        if (s->has_warn_below && s->has_warn_above && s->warn_below > s->warn_above) {
                path_join(p1, path, "warn_below");
                path_join(p2, path, "warn_above");
                loader_error(l, st_value(st, "warn_below") ?: map,
                             "'%s' (%g) must not be above '%s' (%g)", p1, s->warn_below, p2,
                             s->warn_above);
        }
}

static const Field signal_fields[] = {
        CHECKED("oid", STRING_OID, offsetof(SignalConf, oid), .flags = FIELD_REQUIRED),
        F("warn_below", parse_number_field, offsetof(SignalConf, warn_below), .min = -1000,
          .max = 1000),
        F("warn_above", parse_number_field, offsetof(SignalConf, warn_above), .min = -1000,
          .max = 1000),
};

static const Section signal_section = {
        signal_fields, ELEMENTSOF(signal_fields), signal_check,
};

/* probes.router.signal.<name>: appended to the router's signals. */
static void parse_signal(Loader *l, const Node *n, const char *path, const Field *f,
                         void *base) {
        ProbesConf *p = base;
        SignalConf *s;

        if (!expect_type(l, n, NODE_MAPPING, path))
                return;
        s = reallocarray(p->router.signals, p->router.n_signals + 1, sizeof(SignalConf));
        if (!s) {
                l->oom = true;
                return;
        }
        p->router.signals = s;
        s = &p->router.signals[p->router.n_signals++];
        *s = (SignalConf) { .name = strdup(f->key) };
        if (!s->name)
                l->oom = true;
        parse_section(l, n, path, &signal_section, s);
}

static const Field signals_fields[] = {
        F("rssi", parse_signal, 0),
        F("rsrp", parse_signal, 0),
        F("rsrq", parse_signal, 0),
        F("sinr", parse_signal, 0),
};

static const Section signals_section = {
        signals_fields, ELEMENTSOF(signals_fields), NULL,
};

static const EnumName camera_events_names[] = {
        { "pullpoint", CAMERA_EVENTS_PULLPOINT },
        { "off", CAMERA_EVENTS_OFF },
        {},
};

static const Field camera_probe_fields[] = {
        DURATION("interval", ProbesConf, camera.interval, USEC_PER_SEC, USEC_PER_DAY),
        DURATION("timeout", ProbesConf, camera.timeout, USEC_PER_MSEC, USEC_PER_HOUR),
        DURATION("deep_interval", ProbesConf, camera.deep_interval, USEC_PER_SEC,
                 7 * USEC_PER_DAY),
        DURATION("max_clock_skew", ProbesConf, camera.max_clock_skew, USEC_PER_SEC,
                 USEC_PER_DAY),
        DURATION("max_recording_lag", ProbesConf, camera.max_recording_lag, USEC_PER_SEC,
                 7 * USEC_PER_DAY),
        F("events", parse_enum_field, offsetof(ProbesConf, camera.events),
          .data = camera_events_names),
};

static const Section camera_probe_section = {
        camera_probe_fields, ELEMENTSOF(camera_probe_fields), camera_probe_check,
};

static const Field router_probe_fields[] = {
        DURATION("interval", ProbesConf, router.interval, USEC_PER_SEC, USEC_PER_DAY),
        DURATION("timeout", ProbesConf, router.timeout, USEC_PER_MSEC, USEC_PER_HOUR),
        F("retries", parse_unsigned_field, offsetof(ProbesConf, router.retries), .min = 0,
          .max = 10),
        F("signal", parse_section_field, 0, .data = &signals_section),
};

static const Section router_probe_section = {
        router_probe_fields, ELEMENTSOF(router_probe_fields), router_probe_check,
};

static const Field vpn_probe_fields[] = {
        DURATION("interval", ProbesConf, vpn.interval, USEC_PER_SEC, USEC_PER_DAY),
        DURATION("timeout", ProbesConf, vpn.timeout, USEC_PER_MSEC, USEC_PER_HOUR),
        F("retries", parse_unsigned_field, offsetof(ProbesConf, vpn.retries), .min = 0, .max = 10),
        F("max_cpu", parse_unsigned_field, offsetof(ProbesConf, vpn.max_cpu), .min = 0,
          .max = 100),
        F("max_memory", parse_unsigned_field, offsetof(ProbesConf, vpn.max_memory), .min = 0,
          .max = 100),
        F("max_temperature", parse_int_field, offsetof(ProbesConf, vpn.max_temperature),
          .min = -40, .max = 150),
};

static const Section vpn_probe_section = {
        vpn_probe_fields, ELEMENTSOF(vpn_probe_fields), vpn_probe_check,
};

static const Field probes_fields[] = {
        F("fail_after", parse_unsigned_field, offsetof(ProbesConf, fail_after), .min = 1,
          .max = 100),
        F("recover_after", parse_unsigned_field, offsetof(ProbesConf, recover_after), .min = 1,
          .max = 100),
        F("anomaly_transients", parse_unsigned_field, offsetof(ProbesConf, anomaly_transients),
          .min = 1, .max = 1000),
        DURATION("anomaly_window", ProbesConf, anomaly_window, USEC_PER_MINUTE,
                 30 * USEC_PER_DAY),
        CHECKED("source_address", STRING_SOURCE_ADDRESS, offsetof(ProbesConf, source_address)),
        F("camera", parse_section_field, 0, .data = &camera_probe_section),
        F("router", parse_section_field, 0, .data = &router_probe_section),
        F("vpn", parse_section_field, 0, .data = &vpn_probe_section),
};

static const Section probes_section = {
        probes_fields, ELEMENTSOF(probes_fields), NULL,
};

/* ------------------------------------------------------------------------ */
/* notify */

static const EnumName smtp_tls_names[] = {
        { "required", SMTP_TLS_REQUIRED },
        { "try", SMTP_TLS_TRY },
        { "optional", SMTP_TLS_TRY }, /* a synonym: to_string gives "try" */
        { "none", SMTP_TLS_NONE },
        {},
};

static const EnumName language_names[] = {
        { "ja", LANGUAGE_JA },
        { "en", LANGUAGE_EN },
        {},
};

/* A secret needs a name to go with it, and the other way round. */
static void check_pair(Loader *l, const Node *map, const char *path, const MapState *st,
                       const char *a, const char *b) {
        char wbuf[PATH_LEN + 8];

        if (!!st_value(st, a) == !!st_value(st, b))
                return;
        loader_error(l, map, "'%s' and '%s' go together %s: give both or neither", a, b,
                     where(path, wbuf));
}

static void smtp_check(Loader *l, const Node *map, const char *path, const MapState *st,
                       void *base) {
        const SmtpConf *s = base;

        check_pair(l, map, path, st, "username", "password_credential");
        if (st_good(st, "tls") && s->tls == SMTP_TLS_TRY && st_value(st, "password_credential") &&
            !(st_good(st, "url") && strncmp(s->url, "smtps://", 8) == 0))
                loader_error(l, st_value(st, "tls"),
                             "'tls: try' with a password would send the password in clear "
                             "when the server offers no STARTTLS: use 'tls: required' (or "
                             "'smtps://'), or no password");
        if (st_good(st, "url") && st_good(st, "tls") && s->tls == SMTP_TLS_NONE &&
            strncmp(s->url, "smtps://", 8) == 0)
                loader_error(l, st_value(st, "tls"),
                             "'tls: none' contradicts an smtps:// URL (TLS from the start)");
}

static const Field smtp_fields[] = {
        CHECKED("url", STRING_SMTP_URL, offsetof(SmtpConf, url), .flags = FIELD_REQUIRED),
        F("tls", parse_enum_field, offsetof(SmtpConf, tls), .data = smtp_tls_names),
        F("username", parse_string_field, offsetof(SmtpConf, username), .flags = FIELD_NONEMPTY,
          .max = 256),
        CHECKED("password_credential", STRING_CREDENTIAL,
                offsetof(SmtpConf, password_credential)),
        DURATION("timeout", SmtpConf, timeout, USEC_PER_SEC, 10 * USEC_PER_MINUTE),
        CHECKED("ca_file", STRING_ABSOLUTE_PATH, offsetof(SmtpConf, ca_file)),
};

static const Section smtp_section = {
        smtp_fields, ELEMENTSOF(smtp_fields), smtp_check,
};

static void notify_check(Loader *l, const Node *map, const char *path, const MapState *st,
                         void *base) {
        NotifyConf *nc = base;

        (void) l;
        (void) map;
        (void) path;
        (void) st;
        nc->configured = true;
}

static const Field notify_fields[] = {
        F("smtp", parse_section_field, offsetof(NotifyConf, smtp), .flags = FIELD_REQUIRED,
          .data = &smtp_section),
        CHECKED("from", STRING_MAILBOX, offsetof(NotifyConf, from), .flags = FIELD_REQUIRED),
        F("to", parse_mail_to, 0, .flags = FIELD_REQUIRED),
        F("escalate_to", parse_mail_escalate_to, 0),
        F("security_to", parse_mail_security_to, 0),
        F("language", parse_enum_field, offsetof(NotifyConf, language), .data = language_names),
        DURATION("renotify_every", NotifyConf, renotify_every, USEC_PER_MINUTE,
                 30 * USEC_PER_DAY, .flags = FIELD_ZERO_OK),
        F("digest_after", parse_unsigned_field, offsetof(NotifyConf, digest_after), .min = 1,
          .max = 1000),
        F("consent", parse_string_field, offsetof(NotifyConf, consent), .flags = FIELD_NONEMPTY,
          .max = 256),
};

const char *config_consent_warning(const Config *c) {
        if (!c->notify.configured || c->notify.consent)
                return NULL;
        return "notify.consent is not set: the fault mail leaves the workplace without a "
               "recorded consent of the city (別記2 第8条(2)); set notify.consent to the "
               "reference of the city's written consent (e.g. its document number)";
}

static const Section notify_section = {
        notify_fields, ELEMENTSOF(notify_fields), notify_check,
};

/* ------------------------------------------------------------------------ */
/* snmp, vpn */

static const EnumName snmp_version_names[] = {
        { "2c", SNMP_VERSION_V2C },
        { "3", SNMP_VERSION_V3 },
        {},
};

static const EnumName snmp_auth_names[] = {
        { "MD5", SNMP_AUTH_MD5 },
        { "SHA", SNMP_AUTH_SHA },
        { "SHA-256", SNMP_AUTH_SHA256 },
        {},
};

static const EnumName snmp_priv_names[] = {
        { "DES", SNMP_PRIV_DES },
        { "AES", SNMP_PRIV_AES },
        {},
};

static void snmp_check(Loader *l, const Node *map, const char *path, const MapState *st,
                       void *base) {
        static const char *const v3_keys[] = {
                "user", "auth", "auth_credential", "priv", "priv_credential", "context",
        };
        static const char *const v3_required[] = { "user", "auth_credential", "priv_credential" };
        const SnmpConf *s = base;
        char wbuf[PATH_LEN + 8], missing[64] = "";
        size_t n_missing = 0;

        if (!st_usable(st, "version"))
                return;
        if (s->version == SNMP_VERSION_V2C) {
                for (size_t i = 0; i < ELEMENTSOF(v3_keys); i++)
                        if (st_value(st, v3_keys[i]))
                                loader_error(l, st->key[section_lookup(st->section, v3_keys[i])],
                                             "'%s' %s is only valid with SNMP version 3",
                                             v3_keys[i], where(path, wbuf));
                if (!st_value(st, "community_credential"))
                        loader_error(l, map,
                                     "missing required key 'community_credential' %s (SNMP "
                                     "version 2c needs a community)",
                                     where(path, wbuf));
                return;
        }
        if (st_value(st, "community_credential"))
                loader_error(l, st->key[section_lookup(st->section, "community_credential")],
                             "'community_credential' %s is only valid with SNMP version 2c",
                             where(path, wbuf));
        for (size_t i = 0; i < ELEMENTSOF(v3_required); i++)
                if (!st_value(st, v3_required[i])) {
                        size_t len = strlen(missing);

                        (void) snprintf(missing + len, sizeof(missing) - len, "%s'%s'",
                                        len ? ", " : "", v3_required[i]);
                        n_missing++;
                }
        if (n_missing > 0)
                loader_error(l, map,
                             "missing required key%s %s %s (SNMP version 3 uses authPriv: user, "
                             "auth_credential, priv_credential)",
                             n_missing > 1 ? "s" : "", missing, where(path, wbuf));
}

static const Field snmp_fields[] = {
        F("version", parse_enum_field, offsetof(SnmpConf, version), .data = snmp_version_names),
        CHECKED("community_credential", STRING_CREDENTIAL,
                offsetof(SnmpConf, community_credential)),
        F("user", parse_string_field, offsetof(SnmpConf, user), .flags = FIELD_NONEMPTY,
          .max = 32),
        F("auth", parse_enum_field, offsetof(SnmpConf, auth), .flags = FIELD_ICASE,
          .data = snmp_auth_names),
        CHECKED("auth_credential", STRING_CREDENTIAL, offsetof(SnmpConf, auth_credential)),
        F("priv", parse_enum_field, offsetof(SnmpConf, priv), .flags = FIELD_ICASE,
          .data = snmp_priv_names),
        CHECKED("priv_credential", STRING_CREDENTIAL, offsetof(SnmpConf, priv_credential)),
        F("context", parse_string_field, offsetof(SnmpConf, context), .max = 32),
};

static const Section snmp_section = {
        snmp_fields, ELEMENTSOF(snmp_fields), snmp_check,
};

static void vpn_check(Loader *l, const Node *map, const char *path, const MapState *st,
                      void *base) {
        VpnConf *v = base;

        (void) l;
        (void) path;
        (void) st;
        v->mark = (ConfigMark) { map->line, map->column };
}

static const Field vpn_fields[] = {
        F("name", parse_string_field, offsetof(VpnConf, name), .flags = FIELD_NONEMPTY, .max = 64),
        CHECKED("address", STRING_ADDRESS, offsetof(VpnConf, address), .flags = FIELD_REQUIRED),
        F("port", parse_port_field, offsetof(VpnConf, port)),
        F("snmp", parse_section_field, offsetof(VpnConf, snmp), .flags = FIELD_REQUIRED,
          .data = &snmp_section),
};

static const Section vpn_section = {
        vpn_fields, ELEMENTSOF(vpn_fields), vpn_check,
};

/* ------------------------------------------------------------------------ */
/* sites */

static const EnumName mount_names[] = {
        { "stainless_band", MOUNT_STAINLESS_BAND },
        { "spear_arm", MOUNT_SPEAR_ARM },
        { "wall", MOUNT_WALL },
        {},
};

static const EnumName camera_scheme_names[] = {
        { "http", CAMERA_SCHEME_HTTP },
        { "https", CAMERA_SCHEME_HTTPS },
        {},
};

static const EnumName camera_auth_names[] = {
        { "digest", CAMERA_AUTH_DIGEST },
        { "wsse", CAMERA_AUTH_WSSE },
        {},
};

static const Field site_router_fields[] = {
        CHECKED("address", STRING_ADDRESS, offsetof(RouterConf, address), .flags = FIELD_REQUIRED),
        F("port", parse_port_field, offsetof(RouterConf, port)),
        F("snmp", parse_section_field, offsetof(RouterConf, snmp), .flags = FIELD_REQUIRED,
          .data = &snmp_section),
        F("wan_ifindex", parse_u32_field, offsetof(RouterConf, wan_ifindex), .min = 1,
          .max = INT32_MAX),
        F("sys_name", parse_string_field, offsetof(RouterConf, sys_name), .flags = FIELD_NONEMPTY),
};

static const Section site_router_section = {
        site_router_fields, ELEMENTSOF(site_router_fields), NULL,
};

static void site_camera_check(Loader *l, const Node *map, const char *path,
                              const MapState *st, void *base) {
        static const char *const https_keys[] = { "ca_file", "pinned_public_key" };
        CameraConf *c = base;
        char wbuf[PATH_LEN + 8];

        if (!st_usable(st, "scheme"))
                return;
        if (!st_value(st, "port"))
                c->port = c->scheme == CAMERA_SCHEME_HTTPS ? 443 : 80;
        if (c->scheme == CAMERA_SCHEME_HTTPS)
                return;
        for (size_t i = 0; i < ELEMENTSOF(https_keys); i++)
                if (st_value(st, https_keys[i]))
                        loader_error(l, st->key[section_lookup(st->section, https_keys[i])],
                                     "'%s' %s needs 'scheme: https'", https_keys[i],
                                     where(path, wbuf));
        (void) map;
}

static const Field site_camera_fields[] = {
        CHECKED("address", STRING_ADDRESS, offsetof(CameraConf, address), .flags = FIELD_REQUIRED),
        F("port", parse_port_field, offsetof(CameraConf, port)),
        F("scheme", parse_enum_field, offsetof(CameraConf, scheme), .data = camera_scheme_names),
        F("username", parse_string_field, offsetof(CameraConf, username),
          .flags = FIELD_REQUIRED | FIELD_NONEMPTY, .max = 64),
        CHECKED("password_credential", STRING_CREDENTIAL,
                offsetof(CameraConf, password_credential), .flags = FIELD_REQUIRED),
        F("auth", parse_enum_field, offsetof(CameraConf, auth), .data = camera_auth_names),
        F("model", parse_string_field, offsetof(CameraConf, model), .flags = FIELD_NONEMPTY,
          .max = 64),
        CHECKED("ca_file", STRING_ABSOLUTE_PATH, offsetof(CameraConf, ca_file)),
        CHECKED("pinned_public_key", STRING_PINNED_KEY,
                offsetof(CameraConf, pinned_public_key)),
};

static const Section site_camera_section = {
        site_camera_fields, ELEMENTSOF(site_camera_fields), site_camera_check,
};

static void site_check(Loader *l, const Node *map, const char *path, const MapState *st,
                       void *base) {
        SiteConf *s = base;
        SiteMarks *m = &l->site_marks[l->site_index];

        (void) path;
        s->mark = (ConfigMark) { map->line, map->column };
        *m = (SiteMarks) {
                .id = st_value(st, "id"),
                .tunnel = st_value(st, "tunnel"),
                .router = st_value(st, "router"),
                .camera = st_value(st, "camera"),
                .id_ok = st_good(st, "id"),
                .tunnel_ok = st_good(st, "tunnel"),
                .router_ok = st_good(st, "router"),
                .camera_ok = st_good(st, "camera"),
        };
}

static const Field site_fields[] = {
        CHECKED("id", STRING_SITE_ID, offsetof(SiteConf, id), .flags = FIELD_REQUIRED),
        F("name", parse_string_field, offsetof(SiteConf, name),
          .flags = FIELD_REQUIRED | FIELD_NONEMPTY, .max = 256),
        F("mount", parse_enum_field, offsetof(SiteConf, mount), .flags = FIELD_REQUIRED,
          .data = mount_names),
        F("tunnel", parse_u32_field, offsetof(SiteConf, tunnel), .min = 1, .max = 100),
        F("router", parse_section_field, offsetof(SiteConf, router), .flags = FIELD_REQUIRED,
          .data = &site_router_section),
        F("camera", parse_section_field, offsetof(SiteConf, camera), .flags = FIELD_REQUIRED,
          .data = &site_camera_section),
};

static const Section site_section = {
        site_fields, ELEMENTSOF(site_fields), site_check,
};

static void snmp_conf_init(SnmpConf *s) {
        *s = (SnmpConf) {
                .version = SNMP_VERSION_V3,
                .auth = SNMP_AUTH_SHA,
                .priv = SNMP_PRIV_AES,
        };
}

static int site_init(SiteConf *s) {
        *s = (SiteConf) {
                .mount = MOUNT_STAINLESS_BAND,
                .router = { .port = 161, .wan_ifindex = 1 },
                .camera = { .scheme = CAMERA_SCHEME_HTTP, .auth = CAMERA_AUTH_DIGEST },
        };
        snmp_conf_init(&s->router.snmp);
        s->camera.model = strdup(DEFAULT_MODEL);
        return s->camera.model ? 0 : -ENOMEM;
}

static void parse_sites(Loader *l, const Node *n, const char *path, const Field *f,
                        void *base) {
        Config *c = base;
        char child[PATH_LEN];

        (void) f;
        if (!expect_type(l, n, NODE_SEQUENCE, path))
                return;
        if (n->n_items == 0) {
                loader_error(l, n, "'%s' is empty: at least one site is required", path);
                return;
        }
        if (n->n_items > CONFIG_MAX_SITES) {
                loader_error(l, n, "too many sites (%zu, at most %u)", (size_t) n->n_items,
                             CONFIG_MAX_SITES);
                return;
        }
        c->sites = calloc(n->n_items, sizeof(SiteConf));
        l->site_marks = calloc(n->n_items, sizeof(SiteMarks));
        if (!c->sites || !l->site_marks) {
                l->oom = true;
                return;
        }
        c->n_sites = n->n_items;
        for (size_t i = 0; i < n->n_items; i++)
                if (site_init(&c->sites[i]) < 0) {
                        l->oom = true;
                        return;
                }
        for (size_t i = 0; i < n->n_items; i++) {
                (void) snprintf(child, sizeof(child), "%s[%zu]", path, i);
                l->site_index = i;
                parse_section(l, n->items[i], child, &site_section, &c->sites[i]);
        }
}

/* ------------------------------------------------------------------------ */
/* Checks across sections */

typedef struct SiteRef {
        const char *id;
        size_t index;
} SiteRef;

static int site_ref_compare(const void *a, const void *b) {
        const SiteRef *x = a, *y = b;
        int r = strcmp(x->id, y->id);

        return r ?: (x->index > y->index) - (x->index < y->index);
}

static void check_site_ids(Loader *l, const Config *c) {
        _cleanup_(freep) SiteRef *refs = calloc(c->n_sites ?: 1, sizeof(SiteRef));
        char buf[SHOWN_MAX];
        size_t n = 0;

        if (!refs) {
                l->oom = true;
                return;
        }
        for (size_t i = 0; i < c->n_sites; i++)
                if (l->site_marks[i].id_ok)
                        refs[n++] = (SiteRef) { c->sites[i].id, i };
        qsort(refs, n, sizeof(SiteRef), site_ref_compare);
        for (size_t i = 1, first = 0; i < n; i++) {
                if (!streq(refs[i].id, refs[first].id)) {
                        first = i;
                        continue;
                }
                loader_error(l, l->site_marks[refs[i].index].id,
                             "duplicate site id '%s' (first defined at line %u)",
                             shown(refs[i].id, buf), l->site_marks[refs[first].index].id->line);
        }
}

static void check_tunnels(Loader *l, const Config *c, bool has_vpn) {
        size_t first[101];
        char buf[SHOWN_MAX];

        for (size_t t = 0; t < ELEMENTSOF(first); t++)
                first[t] = SIZE_MAX;
        for (size_t i = 0; i < c->n_sites; i++) {
                const SiteMarks *m = &l->site_marks[i];
                uint32_t t = c->sites[i].tunnel;

                if (has_vpn && !m->tunnel && c->sites[i].mark.line > 0)
                        loader_error_at(l, c->sites[i].mark.line, c->sites[i].mark.column,
                                        "missing required key 'tunnel' in 'sites[%zu]' (every "
                                        "site needs its tunnel number when 'vpn' is set)",
                                        i);
                if (!m->tunnel_ok || t >= ELEMENTSOF(first))
                        continue;
                if (first[t] == SIZE_MAX) {
                        first[t] = i;
                        continue;
                }
                loader_error(l, m->tunnel, "tunnel %" PRIu32 " of site '%s' is already used by "
                             "site '%s' (line %u)", t,
                             shown(c->sites[i].id ?: "?", buf), c->sites[first[t]].id ?: "?",
                             l->site_marks[first[t]].tunnel->line);
        }
}

typedef struct Endpoint {
        char key[ENDPOINT_KEY_MAX];  /* canonical address ':' port */
        const Node *node;            /* the address */
        const char *kind;            /* "router", "camera", "VPN router" */
        const char *site;            /* NULL for the VPN router */
} Endpoint;

/* IP literals in their canonical form, names in lower case. */
static void endpoint_key(const char *address, uint16_t port, char buf[static ENDPOINT_KEY_MAX]) {
        unsigned char a[sizeof(struct in6_addr)];
        char text[INET6_ADDRSTRLEN] = "";

        if (inet_pton(AF_INET, address, a) == 1)
                (void) inet_ntop(AF_INET, a, text, sizeof(text));
        else if (inet_pton(AF_INET6, address, a) == 1 &&
                 inet_ntop(AF_INET6, a, text, sizeof(text))) {
                (void) snprintf(buf, ENDPOINT_KEY_MAX, "[%s]:%u", text, port);
                return;
        }
        (void) snprintf(buf, ENDPOINT_KEY_MAX, "%s:%u", text[0] ? text : address, port);
        for (char *p = buf; *p; p++)
                *p = (char) tolower((unsigned char) *p);
}

static int endpoint_compare(const void *a, const void *b) {
        const Endpoint *x = a, *y = b;
        int r = strcmp(x->key, y->key);

        if (r)
                return r;
        if (x->node->line != y->node->line)
                return x->node->line < y->node->line ? -1 : 1;
        return (x->node->column > y->node->column) - (x->node->column < y->node->column);
}

static void endpoint_describe(const Endpoint *e, char buf[static 128]) {
        char id[SHOWN_MAX];

        if (e->site)
                (void) snprintf(buf, 128, "the %s of site '%s'", e->kind, shown(e->site, id));
        else
                (void) snprintf(buf, 128, "the %s", e->kind);
}

static void endpoint_add(Endpoint *e, size_t *n, const Node *device, const char *address,
                         uint16_t port, const char *kind, const char *site) {
        const Node *at = node_get(device, "address");

        if (!address || !at)
                return;
        e[*n] = (Endpoint) { .node = at, .kind = kind, .site = site };
        endpoint_key(address, port, e[*n].key);
        (*n)++;
}

/* No two devices may be the same address and port. */
static void check_endpoints(Loader *l, const Config *c, const Node *vpn, bool vpn_ok) {
        _cleanup_(freep) Endpoint *e = calloc(2 * c->n_sites + 1, sizeof(Endpoint));
        char d1[128], d2[128];
        size_t n = 0;

        if (!e) {
                l->oom = true;
                return;
        }
        if (vpn && vpn_ok)
                endpoint_add(e, &n, vpn, c->vpn.address, c->vpn.port, "VPN router", NULL);
        for (size_t i = 0; i < c->n_sites; i++) {
                const SiteMarks *m = &l->site_marks[i];
                const SiteConf *s = &c->sites[i];

                if (m->router_ok)
                        endpoint_add(e, &n, m->router, s->router.address, s->router.port,
                                     "router", s->id ?: "?");
                if (m->camera_ok)
                        endpoint_add(e, &n, m->camera, s->camera.address, s->camera.port,
                                     "camera", s->id ?: "?");
        }
        qsort(e, n, sizeof(Endpoint), endpoint_compare);
        for (size_t i = 1, first = 0; i < n; i++) {
                if (!streq(e[i].key, e[first].key)) {
                        first = i;
                        continue;
                }
                endpoint_describe(&e[i], d1);
                endpoint_describe(&e[first], d2);
                loader_error(l, e[i].node, "%s is at %s, the same address and port as %s "
                             "(line %u)", d1, e[i].key, d2, e[first].node->line);
        }
}

/* The deferred deadline and the deferral prompt fall inside the window. */
static void check_sla_window(Loader *l, const Config *c, const Node *root) {
        const Node *sla = node_get(root, "sla"), *cal = node_get(root, "calendar");
        const Node *hours = node_get(cal, "hours");
        int open = c->calendar.open_sec, close = c->calendar.close_sec;
        char b1[8], b2[8], b3[8];
        struct {
                const char *key;
                int value;
                bool inside;
        } checks[] = {
                { "deferred_onsite_by", c->sla.deferred_onsite_by,
                  c->sla.deferred_onsite_by > open && c->sla.deferred_onsite_by <= close },
                { "deferral_prompt_at", c->sla.deferral_prompt_at,
                  c->sla.deferral_prompt_at >= open && c->sla.deferral_prompt_at < close },
        };

        for (size_t i = 0; i < ELEMENTSOF(checks); i++) {
                if (checks[i].inside)
                        continue;
                loader_error(l, node_get(sla, checks[i].key) ?: hours ?: root,
                             "'sla.%s' (%s) must be within the reception window %s-%s "
                             "('calendar.hours')",
                             checks[i].key, format_hhmm(checks[i].value, b1),
                             format_hhmm(open, b2), format_hhmm(close, b3));
        }
}

static void root_check(Loader *l, const Node *map, const char *path, const MapState *st,
                       void *base) {
        Config *c = base;

        (void) path;
        c->has_vpn = st_value(st, "vpn") != NULL;
        if (st_usable(st, "calendar") && st_usable(st, "sla"))
                check_sla_window(l, c, map);
        if (!l->site_marks)
                return;
        check_site_ids(l, c);
        check_tunnels(l, c, c->has_vpn);
        check_endpoints(l, c, st_value(st, "vpn"), st_good(st, "vpn"));
}

static const Field retention_fields[] = {
        DURATION("events", RetentionConf, events, USEC_PER_DAY, 36500 * USEC_PER_DAY,
                 .flags = FIELD_WHOLE_DAYS),
        DURATION("mail", RetentionConf, mail, USEC_PER_DAY, 36500 * USEC_PER_DAY,
                 .flags = FIELD_WHOLE_DAYS),
};

static const Section retention_section = {
        retention_fields, ELEMENTSOF(retention_fields), NULL,
};

int64_t config_retention_seconds(const Config *c, bool mail) {
        uint64_t v = mail ? c->retention.mail : c->retention.events;

        if (v > 0)
                return (int64_t) (v / USEC_PER_SEC);
        if (c->contract.start == DAY_INVALID || c->contract.end == DAY_INVALID)
                return 0;
        return ((int64_t) (c->contract.end - c->contract.start) + 1) * 86400;
}

/* ======================================================================== */
/* http: the web view */

/* "off", "ADDRESS:PORT" (IPv4) or "[ADDRESS]:PORT" (IPv6), numeric only. */
static void parse_listen_field(Loader *l, const Node *n, const char *path, const Field *f,
                               void *base) {
        HttpListen *h = FIELD_AT(base, f, HttpListen);
        unsigned char a[sizeof(struct in6_addr)];
        char buf[SHOWN_MAX], host[sizeof(h->address)], *end;
        const char *s = scalar_text(l, n, path, "an address:port or 'off'"), *colon, *p;
        unsigned long port;
        size_t len;
        int family;

        if (!s)
                return;
        if (streq(s, "off")) {
                h->enabled = false;
                return;
        }
        if (s[0] == '[') {
                p = strchr(s, ']');
                if (!p || p[1] != ':')
                        goto bad;
                len = (size_t) (p - s - 1);
                if (len >= sizeof(host))
                        goto bad;
                memcpy(host, s + 1, len);
                colon = p + 1;
                family = AF_INET6;
        } else {
                colon = strrchr(s, ':');
                if (!colon || strchr(s, ':') != colon)
                        goto bad;
                len = (size_t) (colon - s);
                if (len >= sizeof(host))
                        goto bad;
                memcpy(host, s, len);
                family = AF_INET;
        }
        host[len] = 0;
        if (inet_pton(family, host, a) != 1)
                goto bad;
        if (!isdigit((unsigned char) colon[1]))
                goto bad;
        errno = 0;
        port = strtoul(colon + 1, &end, 10);
        if (errno != 0 || *end || port < 1 || port > 65535)
                goto bad;

        h->enabled = true;
        memcpy(h->address, host, len + 1);
        h->port = (uint16_t) port;
        return;
bad:
        loader_error(l, n,
                     "invalid listen address '%s' for '%s': expected 'off', ADDRESS:PORT "
                     "(IPv4) or [ADDRESS]:PORT (IPv6), numeric, port 1-65535",
                     shown(s, buf), path);
}

static bool address_is_loopback(const char *address) {
        struct in_addr a4;
        struct in6_addr a6;

        if (inet_pton(AF_INET, address, &a4) == 1)
                return (ntohl(a4.s_addr) >> 24) == 127;
        if (inet_pton(AF_INET6, address, &a6) == 1)
                return IN6_IS_ADDR_LOOPBACK(&a6);
        return false;
}

static void http_check(Loader *l, const Node *map, const char *path, const MapState *st,
                       void *base) {
        HttpConf *h = base;
        char wbuf[PATH_LEN + 8];

        check_pair(l, map, path, st, "tls_cert", "tls_key");
        h->loopback = address_is_loopback(h->listen.address);
        if (!st_good(st, "listen") || !h->listen.enabled || h->loopback)
                return;
        if (!st_value(st, "tls_cert") || !st_value(st, "tls_key") ||
            !st_value(st, "auth_credential"))
                loader_error(l, st_value(st, "listen"),
                             "'listen: %s' %s is not a loopback address: the web view is "
                             "only served there over HTTPS with basic auth, so 'tls_cert', "
                             "'tls_key' and 'auth_credential' are all required",
                             h->listen.address, where(path, wbuf));
}

/* http.allowed_hosts: the names the view may be asked for (Host). */
static void parse_allowed_hosts(Loader *l, const Node *n, const char *path, const Field *f,
                                void *base) {
        HttpConf *h = base;

        (void) f;
        parse_checked_list(l, n, path, STRING_HOST_NAME, "host names", &h->allowed_hosts,
                           &h->n_allowed_hosts);
}

static const Field http_fields[] = {
        F("listen", parse_listen_field, offsetof(HttpConf, listen)),
        F("allowed_hosts", parse_allowed_hosts, 0),
        CHECKED("tls_cert", STRING_ABSOLUTE_PATH, offsetof(HttpConf, tls_cert)),
        CHECKED("tls_key", STRING_ABSOLUTE_PATH, offsetof(HttpConf, tls_key)),
        CHECKED("auth_credential", STRING_CREDENTIAL, offsetof(HttpConf, auth_credential)),
};

static const Section http_section = {
        http_fields, ELEMENTSOF(http_fields), http_check,
};

static const Field root_fields[] = {
        F("contract", parse_section_field, offsetof(Config, contract), .flags = FIELD_REQUIRED,
          .data = &contract_section),
        F("calendar", parse_section_field, offsetof(Config, calendar), .data = &calendar_section),
        F("sla", parse_section_field, offsetof(Config, sla), .data = &sla_section),
        F("probes", parse_section_field, offsetof(Config, probes), .data = &probes_section),
        F("notify", parse_section_field, offsetof(Config, notify), .data = &notify_section),
        F("retention", parse_section_field, offsetof(Config, retention),
          .data = &retention_section),
        F("vpn", parse_section_field, offsetof(Config, vpn), .data = &vpn_section),
        F("sites", parse_sites, 0, .flags = FIELD_REQUIRED),
        CHECKED("metrics_file", STRING_ABSOLUTE_PATH, offsetof(Config, metrics_file),
                .flags = FIELD_EMPTY_UNSETS),
        F("http", parse_section_field, offsetof(Config, http), .data = &http_section),
};

static const Section root_section = {
        root_fields, ELEMENTSOF(root_fields), root_check,
};

/* ======================================================================== */
/* The API */

static void snmp_conf_done(SnmpConf *s) {
        free(s->community_credential);
        free(s->user);
        free(s->auth_credential);
        free(s->priv_credential);
        free(s->context);
}

static void site_done(SiteConf *s) {
        free(s->id);
        free(s->name);
        free(s->router.address);
        snmp_conf_done(&s->router.snmp);
        free(s->camera.address);
        free(s->camera.username);
        free(s->camera.password_credential);
        free(s->camera.model);
        free(s->router.sys_name);
        free(s->camera.ca_file);
        free(s->camera.pinned_public_key);
}

Config *config_free(Config *c) {
        if (!c)
                return NULL;
        free(c->path);
        free(c->contract.name);
        free(c->contract.title);
        free(c->contract.timezone);
        free(c->calendar.extra_closed);
        free(c->calendar.holidays_file);
        for (size_t i = 0; i < c->probes.router.n_signals; i++) {
                free(c->probes.router.signals[i].name);
                free(c->probes.router.signals[i].oid);
        }
        free(c->probes.router.signals);
        free(c->probes.source_address);
        free(c->notify.smtp.url);
        free(c->notify.smtp.username);
        free(c->notify.smtp.password_credential);
        free(c->notify.smtp.ca_file);
        free(c->notify.from);
        free(c->notify.consent);
        for (size_t i = 0; i < c->notify.n_to; i++)
                free(c->notify.to[i]);
        free(c->notify.to);
        for (size_t i = 0; i < c->notify.n_escalate_to; i++)
                free(c->notify.escalate_to[i]);
        free(c->notify.escalate_to);
        for (size_t i = 0; i < c->notify.n_security_to; i++)
                free(c->notify.security_to[i]);
        free(c->notify.security_to);
        free(c->vpn.name);
        free(c->vpn.address);
        snmp_conf_done(&c->vpn.snmp);
        for (size_t i = 0; i < c->n_sites; i++)
                site_done(&c->sites[i]);
        free(c->sites);
        free(c->metrics_file);
        for (size_t i = 0; i < c->http.n_allowed_hosts; i++)
                free(c->http.allowed_hosts[i]);
        free(c->http.allowed_hosts);
        free(c->http.tls_cert);
        free(c->http.tls_key);
        free(c->http.auth_credential);
        free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

Config *config_new_default(void) {
        _cleanup_(config_freep) Config *c = calloc(1, sizeof(Config));

        if (!c)
                return NULL;
        c->contract = (ContractConf) { .start = DAY_INVALID, .end = DAY_INVALID };
        c->calendar = (CalendarConf) {
                .open_sec = 9 * 3600,
                .close_sec = 17 * 3600,
                .closure_enabled = true,
                .closure_start_month = 12,
                .closure_start_day = 29,
                .closure_end_month = 1,
                .closure_end_day = 3,
        };
        c->sla = (SlaConf) {
                .onsite_within = 2 * USEC_PER_HOUR,
                .deferred_onsite_by = 11 * 3600,
                .warn_before = 30 * USEC_PER_MINUTE,
                .recovery_report_within = 14 * USEC_PER_DAY,
                .erasure_report_within = 7 * USEC_PER_DAY,
                .deferral_prompt_at = 16 * 3600,
                .report_warn_before = 3 * USEC_PER_DAY,
        };
        c->probes = (ProbesConf) {
                .fail_after = 3,
                .recover_after = 2,
                .anomaly_transients = 3,
                .anomaly_window = 24 * USEC_PER_HOUR,
                .camera = {
                        .interval = 60 * USEC_PER_SEC,
                        .timeout = 10 * USEC_PER_SEC,
                        .deep_interval = 10 * USEC_PER_MINUTE,
                        .max_clock_skew = 10 * USEC_PER_SEC,
                        .max_recording_lag = 10 * USEC_PER_MINUTE,
                        .events = CAMERA_EVENTS_PULLPOINT,
                },
                .router = { .interval = 60 * USEC_PER_SEC, .timeout = 5 * USEC_PER_SEC,
                            .retries = 1 },
                .vpn = {
                        .interval = 30 * USEC_PER_SEC,
                        .timeout = 5 * USEC_PER_SEC,
                        .retries = 1,
                        .max_cpu = 90,
                        .max_memory = 90,
                        .max_temperature = 60,
                },
        };
        c->notify = (NotifyConf) {
                .smtp = { .tls = SMTP_TLS_REQUIRED, .timeout = 30 * USEC_PER_SEC },
                .language = LANGUAGE_JA,
                .renotify_every = 2 * USEC_PER_HOUR,
                .digest_after = 10,
        };
        c->vpn = (VpnConf) { .port = 161 };
        snmp_conf_init(&c->vpn.snmp);
        c->http = (HttpConf) {
                .listen = { .enabled = true, .address = HTTP_LISTEN_DEFAULT_ADDRESS,
                            .port = HTTP_LISTEN_DEFAULT_PORT },
                .loopback = true,
        };

        c->contract.name = strdup("");
        c->contract.timezone = strdup("Asia/Tokyo");
        c->vpn.name = strdup(DEFAULT_VPN_NAME);
        if (!c->contract.name || !c->contract.timezone || !c->vpn.name)
                return NULL;
        return TAKE_PTR(c);
}

int config_load_buffer(const char *name, const char *buf, size_t len, ConfigErrors *errs,
                       Config **ret) {
        _cleanup_(config_freep) Config *c = NULL;
        _cleanup_(tree_freep) Tree *tree = NULL;
        const Node *root = NULL;
        Loader l = { .file = name ?: "(configuration)", .errs = errs };
        size_t first = errs ? errs->n_errors : 0;
        int r;

        if (!buf && len > 0)
                return -EINVAL;
        if (len > CONFIG_MAX_FILE_SIZE) {
                loader_error_at(&l, 0, 0, "file too large (%zu bytes, at most %u)", len,
                                CONFIG_MAX_FILE_SIZE);
                return l.oom ? -ENOMEM : -EINVAL;
        }
        c = config_new_default();
        if (!c)
                return -ENOMEM;
        if (name) {
                c->path = strdup(name);
                if (!c->path)
                        return -ENOMEM;
        }

        if (!buf)
                buf = "";
        /* A UTF-8 byte order mark, as Windows editors write it. */
        if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
                buf += 3;
                len -= 3;
        }
        r = config_tree_build(&l, buf, len, &tree);
        if (r >= 0) {
                root = tree_root(tree);
                if (!root || node_is_null(root))
                        loader_error_at(&l, 0, 0,
                                        "empty configuration: expected a mapping with "
                                        "'sites' and 'contract'");
                else if (root->type != NODE_MAPPING)
                        loader_error(&l, root,
                                     "expected a mapping with 'sites' and 'contract' at the top "
                                     "level, got %s",
                                     node_kind(root));
                else
                        parse_section(&l, root, "", &root_section, c);
        }
        free(l.site_marks);
        l.site_marks = NULL;
        config_errors_sort(errs, first);

        if (l.oom || r == -ENOMEM)
                return -ENOMEM;
        if (l.n_errors > 0 || r < 0)
                return -EINVAL;
        *ret = TAKE_PTR(c);
        return 0;
}

int config_load_file(const char *path, ConfigErrors *errs, Config **ret) {
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0;
        int r;

        if (!path)
                return -EINVAL;
        r = read_full_file(path, CONFIG_MAX_FILE_SIZE, &buf, &len);
        if (r == -EFBIG) {
                if (config_errors_add(errs, path, 0, 0, "file too large (more than %u bytes)",
                                      CONFIG_MAX_FILE_SIZE) < 0)
                        return -ENOMEM;
                return -EINVAL;
        }
        if (r < 0) {
                if (config_errors_add(errs, path, 0, 0, "cannot read: %s", strerror(-r)) < 0)
                        return -ENOMEM;
                return r;
        }
        return config_load_buffer(path, buf, len, errs, ret);
}

const SiteConf *config_find_site(const Config *c, const char *id) {
        if (!c || !id)
                return NULL;
        for (size_t i = 0; i < c->n_sites; i++)
                if (streq_ptr(c->sites[i].id, id))
                        return &c->sites[i];
        return NULL;
}

const char *mount_to_string(Mount m) {
        return enum_to_string(mount_names, (int) m);
}

const char *language_to_string(Language l) {
        return enum_to_string(language_names, (int) l);
}

const char *snmp_version_to_string(SnmpVersion v) {
        return enum_to_string(snmp_version_names, (int) v);
}

const char *snmp_auth_to_string(SnmpAuth a) {
        return enum_to_string(snmp_auth_names, (int) a);
}

const char *snmp_priv_to_string(SnmpPriv p) {
        return enum_to_string(snmp_priv_names, (int) p);
}

const char *smtp_tls_to_string(SmtpTls t) {
        return enum_to_string(smtp_tls_names, (int) t);
}

const char *camera_scheme_to_string(CameraScheme s) {
        return enum_to_string(camera_scheme_names, (int) s);
}

const char *camera_auth_to_string(CameraAuth a) {
        return enum_to_string(camera_auth_names, (int) a);
}

