/* SPDX-License-Identifier: MIT */

/* The configuration loader (SPEC §7).
 *
 * Two passes. First libyaml's event parser builds a small node tree that
 * keeps every node's line and column and whether a scalar was plain or
 * quoted. Anchors, aliases, tags and a second document are refused there,
 * and every resource the file controls is bounded: its size, the nesting
 * depth, the length of a scalar and the number of nodes.
 *
 * Then the tree is walked with one key table per mapping (Section); each
 * entry (Field) names a typed parser with its bounds. Errors are collected,
 * never fatal to the walk, so one run reports all of them with
 * file:line:column. Cross-field checks run after a mapping has been parsed,
 * and only on values that parsed cleanly, so one mistake gives one error. */

#include <arpa/inet.h>
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "config.h"
#include "fileio.h"
#include "macro.h"
#include "timeutil.h"

#define CONFIG_MAX_DEPTH 32            /* nested mappings and sequences */
#define CONFIG_MAX_SCALAR (64u * 1024u) /* bytes of one scalar */
#define CONFIG_MAX_NODES 1000000u
#define CONFIG_MAX_ERRORS 100u         /* reported per load; the rest are counted */
#define CONFIG_MAX_FIELDS 16           /* keys of one mapping of the schema */
#define CONFIG_MAX_LIST 1000u          /* items of extra_closed, to, escalate_to, security_to */
#define CONFIG_STRING_MAX 1024u        /* default bound of a string value */
#define ZONEINFO_DIR "/usr/share/zoneinfo"
#define DEFAULT_MODEL "WV-S2536LNUX"
#define DEFAULT_VPN_NAME "RTX1220"
#define PATH_LEN 128                   /* "sites[19999].router.snmp.community_credential" */
#define SHOWN_MAX 72                   /* a value quoted in a message */
#define LIST_MAX 512                   /* "expected one of: ..." */
#define ENDPOINT_KEY_MAX 272           /* a 253-byte host name, ':' and a port */

_Static_assert(sizeof(Mount) == sizeof(int), "enums are stored through int");
_Static_assert(sizeof(SnmpAuth) == sizeof(int), "enums are stored through int");

/* ======================================================================== */
/* The node tree */

typedef enum NodeType {
        NODE_SCALAR,
        NODE_SEQUENCE,
        NODE_MAPPING,
} NodeType;

typedef struct Node Node;
struct Node {
        NodeType type;
        unsigned line, column;       /* 1-based */
        bool plain;                  /* a plain (unquoted) scalar */
        char *value;                 /* scalar: the text, NUL-terminated */
        Node **items;                /* sequence: items; mapping: key, value, key, value... */
        size_t n_items, n_alloc;
};

static Node *node_free(Node *n) {
        if (!n)
                return NULL;
        for (size_t i = 0; i < n->n_items; i++)
                node_free(n->items[i]);
        free(n->items);
        free(n->value);
        free(n);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Node *, node_free);

static int node_append(Node *parent, Node *child) {
        if (parent->n_items == parent->n_alloc) {
                size_t n = parent->n_alloc ? parent->n_alloc * 2 : 8;
                Node **items = reallocarray(parent->items, n, sizeof(Node *));

                if (!items)
                        return -ENOMEM;
                parent->items = items;
                parent->n_alloc = n;
        }
        parent->items[parent->n_items++] = child;
        return 0;
}

/* A plain scalar that YAML reads as null: "key:" with nothing after it. */
static bool node_is_null(const Node *n) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

        if (n->type != NODE_SCALAR || !n->plain)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
                if (streq(n->value, nulls[i]))
                        return true;
        return false;
}

static const char *node_kind(const Node *n) {
        if (node_is_null(n))
                return "an empty value";
        switch (n->type) {
        case NODE_MAPPING:
                return "a mapping";
        case NODE_SEQUENCE:
                return "a sequence";
        default:
                return n->plain ? "a scalar" : "a quoted string";
        }
}

/* The value of key in mapping map, or NULL. */
static const Node *node_get(const Node *map, const char *key) {
        if (!map || map->type != NODE_MAPPING)
                return NULL;
        for (size_t i = 0; i + 1 < map->n_items; i += 2)
                if (map->items[i]->type == NODE_SCALAR && streq(map->items[i]->value, key))
                        return map->items[i + 1];
        return NULL;
}

/* ======================================================================== */
/* Errors */

typedef struct SiteMarks {
        const Node *id, *tunnel;     /* value nodes, NULL when absent */
        const Node *router, *camera;
        bool id_ok, tunnel_ok, router_ok, camera_ok;
} SiteMarks;

typedef struct Loader {
        const char *file;
        ConfigErrors *errs;
        unsigned n_errors;           /* found by this load, shown or not */
        bool oom;
        SiteMarks *site_marks;       /* one per site, while the sites are checked */
        size_t site_index;
} Loader;

int config_errors_add(ConfigErrors *errs, const char *file, unsigned line, unsigned column,
                      const char *fmt, ...) {
        _cleanup_(freep) char *f = NULL, *msg = NULL;
        ConfigError *e;
        va_list ap;
        int r;

        if (!errs)
                return 0;
        va_start(ap, fmt);
        r = vasprintf(&msg, fmt, ap);
        va_end(ap);
        if (r < 0) {
                msg = NULL;
                return -ENOMEM;
        }
        f = strdup(file ?: "");
        if (!f)
                return -ENOMEM;
        e = reallocarray(errs->errors, errs->n_errors + 1, sizeof(ConfigError));
        if (!e)
                return -ENOMEM;
        errs->errors = e;
        errs->errors[errs->n_errors++] = (ConfigError) {
                .file = TAKE_PTR(f),
                .line = line,
                .column = column,
                .message = TAKE_PTR(msg),
        };
        return 0;
}

void config_errors_clear(ConfigErrors *errs) {
        if (!errs)
                return;
        for (size_t i = 0; i < errs->n_errors; i++) {
                free(errs->errors[i].file);
                free(errs->errors[i].message);
        }
        free(errs->errors);
        *errs = (ConfigErrors) {};
}

/* Errors about the whole file sort after those with a position. */
static bool error_before(const ConfigError *a, const ConfigError *b) {
        unsigned la = a->line ?: UINT_MAX, lb = b->line ?: UINT_MAX;

        return la < lb || (la == lb && a->column < b->column);
}

/* Stable insertion sort of the errors from first on: there are at most
 * CONFIG_MAX_ERRORS + 1 of them. */
static void errors_sort(ConfigErrors *errs, size_t first) {
        if (!errs)
                return;
        for (size_t i = first + 1; i < errs->n_errors; i++) {
                ConfigError e = errs->errors[i];
                size_t j = i;

                for (; j > first && error_before(&e, &errs->errors[j - 1]); j--)
                        errs->errors[j] = errs->errors[j - 1];
                errs->errors[j] = e;
        }
}

_printf_(4, 0) static void loader_errorv(Loader *l, unsigned line, unsigned column,
                                          const char *fmt, va_list ap) {
        _cleanup_(freep) char *msg = NULL;

        l->n_errors++;
        if (!l->errs || l->n_errors > CONFIG_MAX_ERRORS + 1)
                return;
        if (l->n_errors == CONFIG_MAX_ERRORS + 1) {
                if (config_errors_add(l->errs, l->file, 0, 0,
                                      "too many errors: only the first %u are shown",
                                      CONFIG_MAX_ERRORS) < 0)
                        l->oom = true;
                return;
        }
        if (vasprintf(&msg, fmt, ap) < 0) {
                msg = NULL;
                l->oom = true;
                return;
        }
        if (config_errors_add(l->errs, l->file, line, column, "%s", msg) < 0)
                l->oom = true;
}

_printf_(4, 5) static void loader_error_at(Loader *l, unsigned line, unsigned column,
                                            const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        loader_errorv(l, line, column, fmt, ap);
        va_end(ap);
}

_printf_(3, 4) static void loader_error(Loader *l, const Node *n, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        loader_errorv(l, n ? n->line : 0, n ? n->column : 0, fmt, ap);
        va_end(ap);
}

static bool is_control(char c) {
        return (unsigned char) c < 0x20 || c == 0x7f;
}

/* A value from the file, fit for a message: control characters replaced,
 * long values cut (at a UTF-8 character boundary). */
static const char *shown(const char *s, char buf[static SHOWN_MAX]) {
        size_t n = strlen(s), lim = n, j = 0;
        bool cut = n > SHOWN_MAX - 1;

        if (cut) {
                lim = SHOWN_MAX - 4;
                while (lim > 0 && ((unsigned char) s[lim] & 0xc0) == 0x80)
                        lim--;
        }
        for (size_t i = 0; i < lim; i++)
                buf[j++] = is_control(s[i]) ? '?' : s[i];
        if (cut) {
                memcpy(buf + j, "...", 3);
                j += 3;
        }
        buf[j] = 0;
        return buf;
}

static void path_join(char buf[static PATH_LEN], const char *parent, const char *key) {
        if (parent[0])
                (void) snprintf(buf, PATH_LEN, "%s.%s", parent, key);
        else
                (void) snprintf(buf, PATH_LEN, "%s", key);
}

static char *format_hhmm(int sec, char buf[static 8]) {
        (void) snprintf(buf, 8, "%02d:%02d", sec / 3600 % 100, sec / 60 % 60);
        return buf;
}

/* ======================================================================== */
/* Pass 1: YAML events to the node tree */

typedef struct Builder {
        Loader *loader;
        Node *root;
        Node *stack[CONFIG_MAX_DEPTH];
        size_t depth, n_nodes;
        unsigned n_documents;
        bool failed;                 /* an error was reported: the tree is not walked */
} Builder;

/* The line and column (1-based, in characters) of a byte offset. */
static void offset_to_mark(const char *buf, size_t len, size_t offset, unsigned *ret_line,
                           unsigned *ret_column) {
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset && i < len; i++) {
                if (buf[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char) buf[i] & 0xc0) != 0x80) {
                        column++;
                }
        }
        *ret_line = line;
        *ret_column = column;
}

/* The byte at a libyaml mark (0-based line and column in characters), or 0. */
static char char_at_mark(const char *buf, size_t len, size_t line, size_t column) {
        size_t i = 0;

        for (; i < len && line > 0; i++)
                if (buf[i] == '\n')
                        line--;
        for (; i < len && buf[i] != '\n'; i++) {
                if (((unsigned char) buf[i] & 0xc0) == 0x80)
                        continue;
                if (column-- == 0)
                        return buf[i];
        }
        return 0;
}

static void builder_parser_error(Builder *b, const yaml_parser_t *p, const char *buf,
                                 size_t len) {
        Loader *l = b->loader;
        unsigned line, column;
        const char *problem = p->problem ?: "unknown error";

        switch (p->error) {
        case YAML_MEMORY_ERROR:
                l->oom = true;
                break;
        case YAML_READER_ERROR:
                offset_to_mark(buf, len, p->problem_offset, &line, &column);
                if (p->problem_value >= 0)
                        loader_error_at(l, line, column,
                                        "invalid input: %s (0x%02X): the file must be UTF-8 "
                                        "text",
                                        problem, (unsigned) p->problem_value);
                else
                        loader_error_at(l, line, column,
                                        "invalid input: %s: the file must be UTF-8 text",
                                        problem);
                break;
        case YAML_SCANNER_ERROR:
        case YAML_PARSER_ERROR:
                line = (unsigned) p->problem_mark.line + 1;
                column = (unsigned) p->problem_mark.column + 1;
                loader_error_at(l, line, column, "syntax error: %s%s%s%s%s", problem,
                                p->context ? " (" : "", p->context ?: "",
                                p->context ? ")" : "",
                                char_at_mark(buf, len, p->problem_mark.line,
                                             p->problem_mark.column) == '\t' ?
                                        "; YAML does not allow tabs for indentation" : "");
                break;
        default:
                loader_error_at(l, 0, 0, "cannot parse: %s", problem);
        }
}

/* Anchors and aliases defeat line numbers and allow exponential expansion;
 * tags would change the meaning of a value behind the schema's back. */
static void builder_check_properties(Builder *b, const yaml_event_t *ev,
                                     const yaml_char_t *anchor, const yaml_char_t *tag) {
        char buf[SHOWN_MAX];
        unsigned line = (unsigned) ev->start_mark.line + 1;
        unsigned column = (unsigned) ev->start_mark.column + 1;

        if (anchor) {
                loader_error_at(b->loader, line, column,
                                "anchors are not allowed (&%s): write the value out",
                                shown((const char *) anchor, buf));
                b->failed = true;
        }
        if (tag) {
                loader_error_at(b->loader, line, column, "tags are not allowed (%s)",
                                shown((const char *) tag, buf));
                b->failed = true;
        }
}

static int builder_add(Builder *b, const yaml_event_t *ev, NodeType type, Node **ret) {
        _cleanup_(node_freep) Node *n = NULL;
        Loader *l = b->loader;
        unsigned line = (unsigned) ev->start_mark.line + 1;
        unsigned column = (unsigned) ev->start_mark.column + 1;

        if (++b->n_nodes > CONFIG_MAX_NODES) {
                loader_error_at(l, line, column, "too many values in one file (at most %u)",
                                CONFIG_MAX_NODES);
                return -EINVAL;
        }
        n = calloc(1, sizeof(Node));
        if (!n)
                return -ENOMEM;
        *n = (Node) { .type = type, .line = line, .column = column };

        if (b->depth == 0) {
                if (b->root)
                        return -EINVAL; /* cannot happen: one document, one root */
                b->root = n;
        } else {
                Node *parent = b->stack[b->depth - 1];

                if (parent->type == NODE_MAPPING && parent->n_items % 2 == 0 &&
                    type != NODE_SCALAR) {
                        loader_error_at(l, line, column,
                                        "a mapping key must be a scalar, not %s",
                                        type == NODE_MAPPING ? "a mapping" : "a sequence");
                        b->failed = true;
                }
                if (node_append(parent, n) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(n);
        return 0;
}

static int builder_scalar(Builder *b, const yaml_event_t *ev) {
        Node *n;
        int r;

        builder_check_properties(b, ev, ev->data.scalar.anchor, ev->data.scalar.tag);
        if (ev->data.scalar.length > CONFIG_MAX_SCALAR) {
                loader_error_at(b->loader, (unsigned) ev->start_mark.line + 1,
                                (unsigned) ev->start_mark.column + 1,
                                "value too long (%zu bytes, at most %u)",
                                ev->data.scalar.length, CONFIG_MAX_SCALAR);
                return -EINVAL;
        }
        r = builder_add(b, ev, NODE_SCALAR, &n);
        if (r < 0)
                return r;
        n->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        n->value = strndup((const char *) ev->data.scalar.value, ev->data.scalar.length);
        if (!n->value)
                return -ENOMEM;
        if (strlen(n->value) != ev->data.scalar.length) {
                loader_error_at(b->loader, n->line, n->column,
                                "a value must not contain a NUL character");
                b->failed = true;
        }
        return 0;
}

static int builder_start(Builder *b, const yaml_event_t *ev, NodeType type) {
        bool seq = type == NODE_SEQUENCE;
        Node *n;
        int r;

        builder_check_properties(b, ev,
                                 seq ? ev->data.sequence_start.anchor :
                                       ev->data.mapping_start.anchor,
                                 seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag);
        if (b->depth >= CONFIG_MAX_DEPTH) {
                loader_error_at(b->loader, (unsigned) ev->start_mark.line + 1,
                                (unsigned) ev->start_mark.column + 1,
                                "nesting too deep (more than %u levels)", CONFIG_MAX_DEPTH);
                return -EINVAL;
        }
        r = builder_add(b, ev, type, &n);
        if (r < 0)
                return r;
        b->stack[b->depth++] = n;
        return 0;
}

static int builder_event(Builder *b, const yaml_event_t *ev) {
        Node *n;

        switch (ev->type) {
        case YAML_DOCUMENT_START_EVENT:
                if (++b->n_documents > 1) {
                        loader_error_at(b->loader, (unsigned) ev->start_mark.line + 1,
                                        (unsigned) ev->start_mark.column + 1,
                                        "a second document: the configuration must be one "
                                        "YAML document");
                        return -EINVAL;
                }
                return 0;
        case YAML_ALIAS_EVENT:
                loader_error_at(b->loader, (unsigned) ev->start_mark.line + 1,
                                (unsigned) ev->start_mark.column + 1,
                                "aliases are not allowed (*%.64s): write the value out",
                                (const char *) ev->data.alias.anchor);
                b->failed = true;
                /* A placeholder keeps the keys and values of the mapping paired. */
                if (builder_add(b, ev, NODE_SCALAR, &n) < 0)
                        return -ENOMEM;
                n->plain = true;
                n->value = strdup("");
                return n->value ? 0 : -ENOMEM;
        case YAML_SCALAR_EVENT:
                return builder_scalar(b, ev);
        case YAML_SEQUENCE_START_EVENT:
                return builder_start(b, ev, NODE_SEQUENCE);
        case YAML_MAPPING_START_EVENT:
                return builder_start(b, ev, NODE_MAPPING);
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                if (b->depth > 0)
                        b->depth--;
                return 0;
        default:
                return 0;
        }
}

/* Builds the tree of buf. *ret_root is NULL for a stream without a document.
 * Returns -EINVAL when an error was reported. */
static int tree_build(Loader *l, const char *buf, size_t len, Node **ret_root) {
        Builder b = { .loader = l };
        yaml_parser_t parser;
        int r = 0;

        if (!yaml_parser_initialize(&parser))
                return -ENOMEM;
        yaml_parser_set_input_string(&parser, (const unsigned char *) buf, len);
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
        for (bool done = false; !done && r >= 0;) {
                yaml_event_t ev;

                if (!yaml_parser_parse(&parser, &ev)) {
                        builder_parser_error(&b, &parser, buf, len);
                        r = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
                        break;
                }
                done = ev.type == YAML_STREAM_END_EVENT;
                r = builder_event(&b, &ev);
                yaml_event_delete(&ev);
        }
        yaml_parser_delete(&parser);
        if (r >= 0 && b.failed)
                r = -EINVAL;
        if (r < 0) {
                node_free(b.root);
                return r;
        }
        *ret_root = b.root;
        return 0;
}

/* ======================================================================== */
/* Pass 2: the schema */

typedef struct Field Field;
typedef struct Section Section;
typedef struct MapState MapState;

/* Parses the value n of a key into base (+ f->offset); reports its errors. */
typedef void (*FieldParser)(Loader *l, const Node *n, const char *path, const Field *f,
                            void *base);

/* Cross-field checks of a mapping, after all its keys were parsed. */
typedef void (*SectionCheck)(Loader *l, const Node *map, const char *path, const MapState *st,
                             void *base);

enum {
        FIELD_REQUIRED = 1 << 0,
        FIELD_NONEMPTY = 1 << 1,     /* strings: "" is an error */
        FIELD_EMPTY_UNSETS = 1 << 2, /* strings: "" leaves the value NULL */
        FIELD_ICASE = 1 << 3,        /* enums: case-insensitive */
        FIELD_ZERO_OK = 1 << 4,      /* durations: 0 is allowed below min */
        FIELD_WHOLE_DAYS = 1 << 5,   /* durations: a multiple of 1d */
};

struct Field {
        const char *key;
        FieldParser parse;
        size_t offset;
        unsigned flags;
        int64_t min, max;            /* integers; durations (µs); string length (max) */
        const void *data;            /* a Section, an EnumName table, or parser data */
};

struct Section {
        const Field *fields;
        size_t n_fields;
        SectionCheck check;
};

struct MapState {
        const Section *section;
        const Node *key[CONFIG_MAX_FIELDS];   /* first occurrence, or NULL */
        const Node *value[CONFIG_MAX_FIELDS];
        bool bad[CONFIG_MAX_FIELDS];          /* its value had errors */
};

typedef struct EnumName {
        const char *name;
        int value;
} EnumName;

/* A Field: key, parser, offset, then designated extras (.flags, .min, .max, .data). */
#define F(k, fn, off, ...) { .key = (k), .parse = (fn), .offset = (off), __VA_ARGS__ }

#define FIELD_AT(base, f, type) ((type *) (void *) ((char *) (base) + (f)->offset))

static size_t section_lookup(const Section *s, const char *key) {
        for (size_t i = 0; i < s->n_fields; i++)
                if (streq(s->fields[i].key, key))
                        return i;
        return SIZE_MAX;
}

/* The value node of key, when it was given. */
static const Node *st_value(const MapState *st, const char *key) {
        size_t i = section_lookup(st->section, key);

        return i == SIZE_MAX ? NULL : st->value[i];
}

/* Given and parsed without error. */
static bool st_good(const MapState *st, const char *key) {
        size_t i = section_lookup(st->section, key);

        return i != SIZE_MAX && st->value[i] && !st->bad[i];
}

/* Not given, or given and parsed without error: the struct holds a value. */
static bool st_usable(const MapState *st, const char *key) {
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

static const char *where(const char *path, char buf[static PATH_LEN + 8]) {
        if (!path[0])
                return "at the top level";
        (void) snprintf(buf, PATH_LEN + 8, "in '%s'", path);
        return buf;
}

static bool expect_type(Loader *l, const Node *n, NodeType type, const char *path) {
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

/* Parses a mapping with a key table. Unknown and duplicate keys are errors;
 * so are missing required ones, reported at the mapping. */
static void parse_section(Loader *l, const Node *map, const char *path, const Section *s,
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

static void parse_section_field(Loader *l, const Node *n, const char *path, const Field *f,
                                void *base) {
        parse_section(l, n, path, f->data, FIELD_AT(base, f, char));
}

/* ------------------------------------------------------------------------ */
/* Scalars */

/* The text of a scalar that is not null and has no control characters. */
static const char *scalar_text(Loader *l, const Node *n, const char *path, const char *what) {
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

/* A strict decimal integer: a plain scalar, no sign but '-', no leading
 * zeros (YAML 1.1 reads them as octal), no junk, in min..max. */
static bool scalar_integer(Loader *l, const Node *n, const char *path, int64_t min,
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

static bool string_ok(Loader *l, const Node *n, const char *path, const char *s,
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

static void set_string(Loader *l, char **target, const char *s) {
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

static void parse_string_field(Loader *l, const Node *n, const char *path, const Field *f,
                               void *base) {
        const char *s = scalar_text(l, n, path, "a string");

        if (!s || !string_ok(l, n, path, s, f))
                return;
        set_string(l, FIELD_AT(base, f, char *),
                   (f->flags & FIELD_EMPTY_UNSETS) && !*s ? NULL : s);
}

static void parse_unsigned_field(Loader *l, const Node *n, const char *path, const Field *f,
                                 void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, f->min, f->max, &v))
                *FIELD_AT(base, f, unsigned) = (unsigned) v;
}

static void parse_int_field(Loader *l, const Node *n, const char *path, const Field *f,
                            void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, f->min, f->max, &v))
                *FIELD_AT(base, f, int) = (int) v;
}

static void parse_u32_field(Loader *l, const Node *n, const char *path, const Field *f,
                            void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, f->min, f->max, &v))
                *FIELD_AT(base, f, uint32_t) = (uint32_t) v;
}

static void parse_port_field(Loader *l, const Node *n, const char *path, const Field *f,
                             void *base) {
        int64_t v;

        if (scalar_integer(l, n, path, 1, 65535, &v))
                *FIELD_AT(base, f, uint16_t) = (uint16_t) v;
}

/* A plain decimal number: -?[0-9]+(.[0-9]+)?, in min..max. */
static void parse_number_field(Loader *l, const Node *n, const char *path, const Field *f,
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

static void parse_duration_field(Loader *l, const Node *n, const char *path, const Field *f,
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

static void parse_time_field(Loader *l, const Node *n, const char *path, const Field *f,
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

static bool scalar_date(Loader *l, const Node *n, const char *path, Day *ret) {
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

static void parse_date_field(Loader *l, const Node *n, const char *path, const Field *f,
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

static void parse_enum_field(Loader *l, const Node *n, const char *path, const Field *f,
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

/* "Name <local@domain>" or a bare "local@domain". */
static bool mailbox_valid(const char *s) {
        const char *lt = strrchr(s, '<');
        size_t n = strlen(s);

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

/* A zone name as tz_use() takes it, that names a TZif file, checked without
 * touching the process's TZ. */
static int zone_check(const char *zone) {
        char path[sizeof(ZONEINFO_DIR) + 80], magic[4];
        struct stat st;
        ssize_t n;
        int fd;

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
/* Typed string fields */

static void parse_address_field(Loader *l, const Node *n, const char *path, const Field *f,
                                void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "an address");

        if (!s)
                return;
        if (!address_valid(s)) {
                loader_error(l, n,
                             "invalid address '%s' for '%s': expected an IPv4 or IPv6 address "
                             "or a host name",
                             shown(s, buf), path);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
}

/* An IPv4 or IPv6 literal, no host name: the local address to send from. */
static void parse_source_address_field(Loader *l, const Node *n, const char *path,
                                       const Field *f, void *base) {
        unsigned char a[sizeof(struct in6_addr)];
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "an address");

        if (!s)
                return;
        if (inet_pton(AF_INET, s, a) != 1 && inet_pton(AF_INET6, s, a) != 1) {
                loader_error(l, n,
                             "invalid address '%s' for '%s': expected an IPv4 or IPv6 address "
                             "of this machine (no host name)",
                             shown(s, buf), path);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
}

static void parse_credential_field(Loader *l, const Node *n, const char *path, const Field *f,
                                   void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a credential name");

        if (!s)
                return;
        if (!credential_valid(s)) {
                loader_error(l, n,
                             "invalid credential name '%s' for '%s': expected a file name in "
                             "the credentials directory (letters, digits, '.', '_', '-'; no "
                             "'/', not starting with '.')",
                             shown(s, buf), path);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
}

static void parse_oid_field(Loader *l, const Node *n, const char *path, const Field *f,
                            void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "an OID");

        if (!s)
                return;
        if (!oid_valid(s)) {
                loader_error(l, n,
                             "invalid OID '%s' for '%s': expected a numeric dotted OID such "
                             "as 1.3.6.1.2.1.1.3.0",
                             shown(s, buf), path);
                return;
        }
        /* Stored without the leading dot. */
        set_string(l, FIELD_AT(base, f, char *), s + (s[0] == '.'));
}

/* An absolute path; "" leaves it unset when FIELD_EMPTY_UNSETS. */
static void parse_abs_path_field(Loader *l, const Node *n, const char *path, const Field *f,
                                 void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a path");

        if (!s)
                return;
        if (!*s && (f->flags & FIELD_EMPTY_UNSETS)) {
                set_string(l, FIELD_AT(base, f, char *), NULL);
                return;
        }
        if (s[0] != '/' || strlen(s) >= PATH_MAX) {
                loader_error(l, n, "invalid path '%s' for '%s': expected an absolute path",
                             shown(s, buf), path);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
}

static void parse_zone_field(Loader *l, const Node *n, const char *path, const Field *f,
                             void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a time zone");
        int r;

        if (!s)
                return;
        r = zone_check(s);
        if (r == -EINVAL) {
                loader_error(l, n,
                             "invalid time zone '%s' for '%s': expected a zone name such as "
                             "Asia/Tokyo",
                             shown(s, buf), path);
                return;
        }
        if (r < 0) {
                loader_error(l, n, "unknown time zone '%s' for '%s': no such zone in "
                             ZONEINFO_DIR, shown(s, buf), path);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
}

static void parse_smtp_url_field(Loader *l, const Node *n, const char *path, const Field *f,
                                 void *base) {
        const char *s = scalar_text(l, n, path, "a URL"), *problem;

        if (!s || !string_ok(l, n, path, s, f))
                return;
        problem = smtp_url_problem(s);
        if (problem) {
                /* Not echoed: a URL with credentials would put them in the log. */
                loader_error(l, n, "invalid SMTP URL for '%s': %s", path, problem);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
}

static bool mailbox_ok(Loader *l, const Node *n, const char *path) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a mail address");

        if (!s)
                return false;
        if (strlen(s) > 512 || !mailbox_valid(s)) {
                loader_error(l, n,
                             "invalid mail address '%s' for '%s': expected user@domain or "
                             "Name <user@domain>",
                             shown(s, buf), path);
                return false;
        }
        return true;
}

static void parse_mailbox_field(Loader *l, const Node *n, const char *path, const Field *f,
                                void *base) {
        if (mailbox_ok(l, n, path))
                set_string(l, FIELD_AT(base, f, char *), n->value);
}

/* A non-empty sequence of mail addresses into *list and *n. */
static void parse_mail_list(Loader *l, const Node *n, const char *path, char ***list,
                            size_t *n_list) {
        char child[PATH_LEN];
        char **items;
        bool ok = true;

        if (!expect_type(l, n, NODE_SEQUENCE, path))
                return;
        if (n->n_items == 0 || n->n_items > CONFIG_MAX_LIST) {
                loader_error(l, n, "'%s' must list 1 to %u mail addresses", path,
                             CONFIG_MAX_LIST);
                return;
        }
        for (size_t i = 0; i < n->n_items; i++) {
                (void) snprintf(child, sizeof(child), "%s[%zu]", path, i);
                ok = mailbox_ok(l, n->items[i], child) && ok;
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

static void parse_pinned_key_field(Loader *l, const Node *n, const char *path, const Field *f,
                                   void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a public key pin");

        if (!s)
                return;
        if (strlen(s) >= PATH_MAX || !pinned_key_valid(s)) {
                loader_error(l, n,
                             "invalid public key pin '%s' for '%s': expected "
                             "sha256//<base64> (';'-separated) or an absolute path",
                             shown(s, buf), path);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
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
        F("timezone", parse_zone_field, offsetof(ContractConf, timezone)),
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
        F("oid", parse_oid_field, offsetof(SignalConf, oid), .flags = FIELD_REQUIRED),
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
        F("source_address", parse_source_address_field, offsetof(ProbesConf, source_address)),
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
        F("url", parse_smtp_url_field, offsetof(SmtpConf, url), .flags = FIELD_REQUIRED),
        F("tls", parse_enum_field, offsetof(SmtpConf, tls), .data = smtp_tls_names),
        F("username", parse_string_field, offsetof(SmtpConf, username), .flags = FIELD_NONEMPTY,
          .max = 256),
        F("password_credential", parse_credential_field,
          offsetof(SmtpConf, password_credential)),
        DURATION("timeout", SmtpConf, timeout, USEC_PER_SEC, 10 * USEC_PER_MINUTE),
        F("ca_file", parse_abs_path_field, offsetof(SmtpConf, ca_file)),
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
        F("from", parse_mailbox_field, offsetof(NotifyConf, from), .flags = FIELD_REQUIRED),
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
        F("community_credential", parse_credential_field,
          offsetof(SnmpConf, community_credential)),
        F("user", parse_string_field, offsetof(SnmpConf, user), .flags = FIELD_NONEMPTY,
          .max = 32),
        F("auth", parse_enum_field, offsetof(SnmpConf, auth), .flags = FIELD_ICASE,
          .data = snmp_auth_names),
        F("auth_credential", parse_credential_field, offsetof(SnmpConf, auth_credential)),
        F("priv", parse_enum_field, offsetof(SnmpConf, priv), .flags = FIELD_ICASE,
          .data = snmp_priv_names),
        F("priv_credential", parse_credential_field, offsetof(SnmpConf, priv_credential)),
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
        F("address", parse_address_field, offsetof(VpnConf, address), .flags = FIELD_REQUIRED),
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

/* 1..16 characters of [A-Za-z0-9_-], the scalar's text: a plain 01 stays "01". */
static void parse_site_id(Loader *l, const Node *n, const char *path, const Field *f,
                          void *base) {
        char buf[SHOWN_MAX];
        const char *s = scalar_text(l, n, path, "a site id");
        size_t len;

        if (!s)
                return;
        len = strlen(s);
        if (len < 1 || len > 16 ||
            strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-") !=
                    len) {
                loader_error(l, n,
                             "invalid site id '%s' for '%s': expected 1 to 16 letters, digits, "
                             "'_' or '-'",
                             shown(s, buf), path);
                return;
        }
        set_string(l, FIELD_AT(base, f, char *), s);
}

static const Field site_router_fields[] = {
        F("address", parse_address_field, offsetof(RouterConf, address), .flags = FIELD_REQUIRED),
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
        F("address", parse_address_field, offsetof(CameraConf, address), .flags = FIELD_REQUIRED),
        F("port", parse_port_field, offsetof(CameraConf, port)),
        F("scheme", parse_enum_field, offsetof(CameraConf, scheme), .data = camera_scheme_names),
        F("username", parse_string_field, offsetof(CameraConf, username),
          .flags = FIELD_REQUIRED | FIELD_NONEMPTY, .max = 64),
        F("password_credential", parse_credential_field,
          offsetof(CameraConf, password_credential), .flags = FIELD_REQUIRED),
        F("auth", parse_enum_field, offsetof(CameraConf, auth), .data = camera_auth_names),
        F("model", parse_string_field, offsetof(CameraConf, model), .flags = FIELD_NONEMPTY,
          .max = 64),
        F("ca_file", parse_abs_path_field, offsetof(CameraConf, ca_file)),
        F("pinned_public_key", parse_pinned_key_field,
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
        F("id", parse_site_id, offsetof(SiteConf, id), .flags = FIELD_REQUIRED),
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
                loader_error(l, n, "too many sites (%zu, at most %u)", n->n_items,
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

static const Field http_fields[] = {
        F("listen", parse_listen_field, offsetof(HttpConf, listen)),
        F("tls_cert", parse_abs_path_field, offsetof(HttpConf, tls_cert)),
        F("tls_key", parse_abs_path_field, offsetof(HttpConf, tls_key)),
        F("auth_credential", parse_credential_field, offsetof(HttpConf, auth_credential)),
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
        F("metrics_file", parse_abs_path_field, offsetof(Config, metrics_file),
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
        _cleanup_(node_freep) Node *root = NULL;
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
        r = tree_build(&l, buf, len, &root);
        if (r >= 0) {
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
        errors_sort(errs, first);

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

static const char *enum_to_string(const EnumName *names, int value) {
        for (size_t i = 0; names[i].name; i++)
                if (names[i].value == value)
                        return names[i].name;
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
