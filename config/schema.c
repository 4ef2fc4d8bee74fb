/* SPDX-License-Identifier: MIT */

/* The generic schema engine (pass 2 of the loader; config.c says the whole
 * of it): a mapping is walked with its key table (Section), each entry
 * (Field) naming a typed parser with its bounds; errors are collected,
 * never fatal to the walk, and a Section's check runs after its keys, on
 * what parsed cleanly (MapState). The typed scalar parsers are here; what
 * the values mean to fieldwatch is in config.c's tables. */

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config-internal.h"
#include "timeutil.h"

#define CONFIG_STRING_MAX 1024u        /* default bound of a string value */

/* ======================================================================== */
/* Pass 2: the schema */

size_t section_lookup(const Section *s, const char *key) {
        for (size_t i = 0; i < s->n_fields; i++)
                if (streq(s->fields[i].key, key))
                        return i;
        return SIZE_MAX;
}

const Node *st_value(const MapState *st, const char *key) {
        size_t i = section_lookup(st->section, key);

        return i == SIZE_MAX ? NULL : st->value[i];
}

bool st_good(const MapState *st, const char *key) {
        size_t i = section_lookup(st->section, key);

        return i != SIZE_MAX && st->value[i] && !st->bad[i];
}

bool st_usable(const MapState *st, const char *key) {
        size_t i = section_lookup(st->section, key);

        return i != SIZE_MAX && !st->bad[i];
}

static const char *section_keys(const Section *s, char buf[static LIST_MAX]) {
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < s->n_fields && n < LIST_MAX; i++)
                n += (size_t) snprintf(buf + n, LIST_MAX - n, "%s%s", i ? ", " : "",
                                       s->fields[i].key);
        return buf;
}

void path_join(char buf[static PATH_LEN], const char *parent, const char *key) {
        if (parent[0])
                (void) snprintf(buf, PATH_LEN, "%s.%s", parent, key);
        else
                (void) snprintf(buf, PATH_LEN, "%s", key);
}

const char *where(const char *path, char buf[static PATH_LEN + 8]) {
        if (!path[0])
                return "at the top level";
        (void) snprintf(buf, PATH_LEN + 8, "in '%s'", path);
        return buf;
}

bool expect_type(Loader *l, const Node *n, NodeType type, const char *path) {
        static const char *const names[] = {
                [NODE_SCALAR] = "a scalar",
                [NODE_SEQUENCE] = "a sequence",
                [NODE_MAPPING] = "a mapping",
        };

        if (n->type == type && !(type != NODE_SCALAR && node_is_null(n)))
                return true;
        loader_error(l, n, "expected %s for '%s', got %s", names[type], path, node_kind(n));
        return false;
}

void parse_section(Loader *l, const Node *map, const char *path, const Section *s,
                   void *base) {
        char child[PATH_LEN], list[LIST_MAX], wbuf[PATH_LEN + 8], kbuf[SHOWN_MAX];
        MapState st = { .section = s };

        assert(s->n_fields <= CONFIG_MAX_FIELDS);
        if (!expect_type(l, map, NODE_MAPPING, path[0] ? path : "the top level"))
                return;
        for (size_t i = 0; i + 1 < map->n_items; i += 2) {
                const Node *k = map->items[i], *v = map->items[i + 1];
                size_t idx = section_lookup(s, k->value);
                unsigned before = l->n_errors;

                if (idx == SIZE_MAX) {
                        loader_error(l, k, "unknown key '%s' %s (expected one of: %s)",
                                     shown(k->value, kbuf), where(path, wbuf),
                                     section_keys(s, list));
                        continue;
                }
                if (st.key[idx]) {
                        loader_error(l, k, "duplicate key '%s' %s (first given at line %u)",
                                     k->value, where(path, wbuf), st.key[idx]->line);
                        continue;
                }
                st.key[idx] = k;
                st.value[idx] = v;
                path_join(child, path, k->value);
                s->fields[idx].parse(l, v, child, &s->fields[idx], base);
                st.bad[idx] = l->n_errors != before;
        }
        for (size_t i = 0; i < s->n_fields; i++)
                if ((s->fields[i].flags & FIELD_REQUIRED) && !st.key[i])
                        loader_error(l, map, "missing required key '%s' %s", s->fields[i].key,
                                     where(path, wbuf));
        if (s->check)
                s->check(l, map, path, &st, base);
}

void parse_section_field(Loader *l, const Node *n, const char *path, const Field *f,
                         void *base) {
        parse_section(l, n, path, f->data, FIELD_AT(base, f, char));
}


/* ------------------------------------------------------------------------ */
/* Scalars */

const char *scalar_text(Loader *l, const Node *n, const char *path, const char *what) {
        if (n->type != NODE_SCALAR || node_is_null(n)) {
                loader_error(l, n, "expected %s for '%s', got %s", what, path, node_kind(n));
                return NULL;
        }
        for (const char *p = n->value; *p; p++)
                if (is_control(*p)) {
                        loader_error(l, n, "the value of '%s' contains a control character",
                                     path);
                        return NULL;
                }
        return n->value;
}

bool scalar_integer(Loader *l, const Node *n, const char *path, int64_t min,
                    int64_t max, int64_t *ret) {
        char buf[SHOWN_MAX];
        const char *s;
        bool neg, overflow = false;
        int64_t v = 0;

        if (n->type != NODE_SCALAR || !n->plain || node_is_null(n)) {
                loader_error(l, n, "expected an integer for '%s', got %s", path, node_kind(n));
                return false;
        }
        s = n->value;
        neg = *s == '-';
        if (neg)
                s++;
        if (!*s || strspn(s, "0123456789") != strlen(s) || (s[0] == '0' && s[1])) {
                loader_error(l, n, "invalid integer '%s' for '%s': expected a decimal number",
                             shown(n->value, buf), path);
                return false;
        }
        for (; *s; s++) {
                if (v > (INT64_MAX - (*s - '0')) / 10) {
                        overflow = true;
                        break;
                }
                v = v * 10 + (*s - '0');
        }
        if (neg)
                v = -v;
        if (overflow || v < min || v > max) {
                loader_error(l, n,
                             "value %s for '%s' is out of range (expected %" PRId64 "..%" PRId64
                             ")",
                             shown(n->value, buf), path, min, max);
                return false;
        }
        *ret = v;
        return true;
}

bool string_ok(Loader *l, const Node *n, const char *path, const char *s,
               const Field *f) {
        size_t max = f->max > 0 ? (size_t) f->max : CONFIG_STRING_MAX;

        if ((f->flags & FIELD_NONEMPTY) && !*s) {
                loader_error(l, n, "'%s' must not be empty", path);
                return false;
        }
        if (strlen(s) > max) {
                loader_error(l, n, "'%s' is too long (%zu bytes, at most %zu)", path,
                             strlen(s), max);
                return false;
        }
        return true;
}

void set_string(Loader *l, char **target, const char *s) {
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy) {
                        l->oom = true;
                        return;
                }
        }
        free(*target);
        *target = copy;
}

void parse_string_field(Loader *l, const Node *n, const char *path, const Field *f,
                        void *base) {
        const char *s = scalar_text(l, n, path, "a string");

        if (!s || !string_ok(l, n, path, s, f))
                return;
        set_string(l, FIELD_AT(base, f, char *),
                   (f->flags & FIELD_EMPTY_UNSETS) && !*s ? NULL : s);
}

void parse_unsigned_field(Loader *l, const Node *n, const char *path, const Field *f,
                          void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, f->min, f->max, &v))
                *FIELD_AT(base, f, unsigned) = (unsigned) v;
}

void parse_int_field(Loader *l, const Node *n, const char *path, const Field *f,
                     void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, f->min, f->max, &v))
                *FIELD_AT(base, f, int) = (int) v;
}

void parse_u32_field(Loader *l, const Node *n, const char *path, const Field *f,
                     void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, f->min, f->max, &v))
                *FIELD_AT(base, f, uint32_t) = (uint32_t) v;
}

void parse_port_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, 1, 65535, &v))
                *FIELD_AT(base, f, uint16_t) = (uint16_t) v;
}

/* A plain decimal number: -?[0-9]+(.[0-9]+)?, in min..max. */
void parse_number_field(Loader *l, const Node *n, const char *path, const Field *f,
                        void *base) {
        char buf[SHOWN_MAX];
        const char *s, *p;
        double v;

        if (n->type != NODE_SCALAR || !n->plain || node_is_null(n)) {
                loader_error(l, n, "expected a number for '%s', got %s", path, node_kind(n));
                return;
        }
        s = p = n->value;
        if (*p == '-')
                p++;
        p += strspn(p, "0123456789");
        if (*p == '.' && isdigit((unsigned char) p[1]))
                p += 1 + strspn(p + 1, "0123456789");
        if (p == s || !isdigit((unsigned char) s[*s == '-']) || *p || p - s > 32) {
                loader_error(l, n, "invalid number '%s' for '%s': expected e.g. -110 or 2.5",
                             shown(s, buf), path);
                return;
        }
        v = strtod(s, NULL);
        if (v < (double) f->min || v > (double) f->max) {
                loader_error(l, n,
                             "value %s for '%s' is out of range (expected %" PRId64 "..%" PRId64
                             ")",
                             s, path, f->min, f->max);
                return;
        }
        *FIELD_AT(base, f, double) = v;
}

void parse_duration_field(Loader *l, const Node *n, const char *path, const Field *f,
                          void *base) {
        char buf[SHOWN_MAX], b2[DURATION_MAX], b3[DURATION_MAX];
        const char *s = scalar_text(l, n, path, "a duration");
        uint64_t v = 0;
        int r = 0;

        if (!s)
                return;
        if (!streq(s, "0"))
                r = parse_duration(s, &v);
        if (r == -ERANGE) {
                loader_error(l, n, "duration '%s' for '%s' is too large", shown(s, buf), path);
                return;
        }
        if (r < 0) {
                loader_error(l, n,
                             "invalid duration '%s' for '%s': expected a number with a unit "
                             "(ms, s, m, h, d), e.g. 90s, 10m, 2h, 14d",
                             shown(s, buf), path);
                return;
        }
        if (!(v == 0 && (f->flags & FIELD_ZERO_OK)) &&
            (v < (uint64_t) f->min || v > (uint64_t) f->max)) {
                loader_error(l, n, "duration '%s' for '%s' is out of range (expected %s%s..%s)",
                             shown(s, buf), path,
                             f->flags & FIELD_ZERO_OK ? "0 or " : "",
                             format_duration((uint64_t) f->min, b2),
                             format_duration((uint64_t) f->max, b3));
                return;
        }
        if ((f->flags & FIELD_WHOLE_DAYS) && v % USEC_PER_DAY != 0) {
                loader_error(l, n, "duration '%s' for '%s' must be a whole number of days",
                             shown(s, buf), path);
                return;
        }
        *FIELD_AT(base, f, uint64_t) = v;
}

void parse_time_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a time of day");
        int sec;

        if (!s)
                return;
        if (parse_hhmm(s, &sec) < 0) {
                loader_error(l, n, "invalid time '%s' for '%s': expected HH:MM (00:00..24:00)",
                             shown(s, buf), path);
                return;
        }
        *FIELD_AT(base, f, int) = sec;
}

bool scalar_date(Loader *l, const Node *n, const char *path, Day *ret) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a date");

        if (!s)
                return false;
        if (parse_iso_date(s, ret) < 0) {
                loader_error(l, n,
                             "invalid date '%s' for '%s': expected a real date as YYYY-MM-DD",
                             shown(s, buf), path);
                return false;
        }
        return true;
}

void parse_date_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base) {
        Day d;

        if (scalar_date(l, n, path, &d))
                *FIELD_AT(base, f, Day) = d;
}

static const char *enum_names(const EnumName *names, char buf[static LIST_MAX]) {
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; names[i].name && n < LIST_MAX; i++)
                n += (size_t) snprintf(buf + n, LIST_MAX - n, "%s%s", i ? ", " : "",
                                       names[i].name);
        return buf;
}

void parse_enum_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base) {
        char buf[SHOWN_MAX], list[LIST_MAX];
        const EnumName *names = f->data;
        const char *s = scalar_text(l, n, path, "a string");

        if (!s)
                return;
        for (size_t i = 0; names[i].name; i++)
                if ((f->flags & FIELD_ICASE) ? strcasecmp(s, names[i].name) == 0 :
                                               streq(s, names[i].name)) {
                        *FIELD_AT(base, f, int) = names[i].value;
                        return;
                }
        loader_error(l, n, "invalid value '%s' for '%s': expected one of %s", shown(s, buf),
                     path, enum_names(names, list));
}


/* ------------------------------------------------------------------------ */
/* Strings checked by a function */

const char *checked_text(Loader *l, const Node *n, const char *path, const StringCheck *c,
                         const Field *f) {
        const char *s = scalar_text(l, n, path, c->what), *problem = NULL;
        char buf[SHOWN_MAX];
        int r;

        if (!s)
                return NULL;
        if ((c->flags & STRING_CHECK_BOUNDED) && f && !string_ok(l, n, path, s, f))
                return NULL;
        if (c->check)
                r = c->check(s, &problem);
        else
                r = c->valid(s) ? 0 : -EINVAL;
        if (r == 0)
                return s;
        if (r == -ENOENT && c->unknown)
                loader_error(l, n, "unknown %s '%s' for '%s': %s", c->noun, shown(s, buf), path,
                             c->unknown);
        else if (c->flags & STRING_CHECK_HIDDEN)
                loader_error(l, n, "invalid %s for '%s': %s", c->noun, path,
                             problem ?: c->expected);
        else
                loader_error(l, n, "invalid %s '%s' for '%s': %s", c->noun, shown(s, buf), path,
                             problem ?: c->expected);
        return NULL;
}

void parse_checked_field(Loader *l, const Node *n, const char *path, const Field *f,
                         void *base) {
        const StringCheck *c = f->data;
        const char *s = scalar_text(l, n, path, c->what);

        if (!s)
                return;
        /* "" unsets when the Field says so, before any check. */
        if (!*s && (f->flags & FIELD_EMPTY_UNSETS)) {
                set_string(l, FIELD_AT(base, f, char *), NULL);
                return;
        }
        s = checked_text(l, n, path, c, f);
        if (!s)
                return;
        if ((c->flags & STRING_CHECK_NO_DOT) && s[0] == '.')
                s++;
        set_string(l, FIELD_AT(base, f, char *), s);
}

const char *enum_to_string(const EnumName *names, int value) {
        for (size_t i = 0; names[i].name; i++)
                if (names[i].value == value)
                        return names[i].name;
        return NULL;
}
