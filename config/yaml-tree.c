/* SPDX-License-Identifier: MIT */

/* The YAML document as a tree of nodes that keep their marks, and the
 * errors reported at those marks (pass 1 of the loader; config.c says the
 * whole of it).
 *
 * libyaml's event parser builds a small tree that keeps every node's line
 * and column and whether a scalar was plain or quoted. Anchors, aliases,
 * tags and a second document are refused there, and every resource the
 * file controls is bounded: its size (by the caller), the nesting depth,
 * the length of a scalar and the number of nodes. */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config-internal.h"

#define CONFIG_MAX_DEPTH 32            /* nested mappings and sequences */
#define CONFIG_MAX_SCALAR (64u * 1024u) /* bytes of one scalar */
#define CONFIG_MAX_NODES 2000000u      /* 30,000 sites in flow style: about 900,000 */
#define CONFIG_MAX_ERRORS 100u         /* reported per load; the rest are counted */

/* ======================================================================== */
/* The node tree */

/* The tree's memory: chunks that allocations are carved from, in order.
 * With a malloc per node and per value, checking a configuration of 10,000
 * sites peaked at 54 MB, more than the daemon then needs for all of them
 * (issue 18); with the arena, at 38 MB. */
#define CHUNK_SIZE (64u * 1024u)

typedef struct Chunk Chunk;
struct Chunk {
        Chunk *next;
        size_t used, size;
        max_align_t data[];
};

struct Tree {
        Chunk *chunks;               /* the newest first */
        Node *root;
};

Tree *tree_free(Tree *t) {
        if (!t)
                return NULL;
        while (t->chunks) {
                Chunk *c = t->chunks;

                t->chunks = c->next;
                free(c);
        }
        free(t);
        return NULL;
}

const Node *tree_root(const Tree *t) {
        return t ? t->root : NULL;
}

/* size bytes, aligned for a pointer, from the newest chunk, or a new one
 * when it is full. The few requests above a quarter of a chunk (a long
 * sequence's items, a long value) get a chunk of their own, of their size,
 * behind the newest: its free end stays in use. */
static void *tree_alloc(Tree *t, size_t size) {
        Chunk *c = t->chunks;
        bool own;

        size = (size + _Alignof(void *) - 1) & ~(size_t) (_Alignof(void *) - 1);
        own = size > CHUNK_SIZE / 4;
        if (own || !c || c->size - c->used < size) {
                size_t want = own ? size : CHUNK_SIZE - sizeof(Chunk);

                c = malloc(sizeof(Chunk) + want);
                if (!c)
                        return NULL;
                *c = (Chunk) { .size = want };
                if (own && t->chunks) {
                        c->next = t->chunks->next;
                        t->chunks->next = c;
                } else {
                        c->next = t->chunks;
                        t->chunks = c;
                }
        }
        c->used += size;
        return (char *) c->data + c->used - size;
}

bool node_is_null(const Node *n) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

        if (n->type != NODE_SCALAR || !n->plain)
                return false;
        for (size_t i = 0; i < ELEMENTSOF(nulls); i++)
                if (streq(n->value, nulls[i]))
                        return true;
        return false;
}

const char *node_kind(const Node *n) {
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

const Node *node_get(const Node *map, const char *key) {
        if (!map || map->type != NODE_MAPPING)
                return NULL;
        for (size_t i = 0; i + 1 < map->n_items; i += 2)
                if (map->items[i]->type == NODE_SCALAR && streq(map->items[i]->value, key))
                        return map->items[i + 1];
        return NULL;
}

/* ======================================================================== */
/* Errors */

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

/* A stable insertion sort: there are at most CONFIG_MAX_ERRORS + 1 of them. */
void config_errors_sort(ConfigErrors *errs, size_t first) {
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

void loader_error_at(Loader *l, unsigned line, unsigned column, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        loader_errorv(l, line, column, fmt, ap);
        va_end(ap);
}

void loader_error(Loader *l, const Node *n, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        loader_errorv(l, n ? n->line : 0, n ? n->column : 0, fmt, ap);
        va_end(ap);
}

const char *shown(const char *s, char buf[static SHOWN_MAX]) {
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

/* ======================================================================== */
/* Pass 1: YAML events to the node tree */

typedef struct Builder {
        Loader *loader;
        Tree *tree;
        Node *stack[CONFIG_MAX_DEPTH];
        /* The items of the open collections, the innermost last: stack[i]'s
         * from first[i] on, copied into the tree, exactly sized, at its end. */
        Node **pending;
        size_t n_pending, allocated_pending;
        size_t first[CONFIG_MAX_DEPTH];
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
        Node *n;
        Loader *l = b->loader;
        unsigned line = (unsigned) ev->start_mark.line + 1;
        unsigned column = (unsigned) ev->start_mark.column + 1;

        if (++b->n_nodes > CONFIG_MAX_NODES) {
                loader_error_at(l, line, column, "too many values in one file (at most %u)",
                                CONFIG_MAX_NODES);
                return -EINVAL;
        }
        n = tree_alloc(b->tree, sizeof(Node));
        if (!n)
                return -ENOMEM;
        *n = (Node) { .type = type, .line = line, .column = column };

        if (b->depth == 0) {
                if (b->tree->root)
                        return -EINVAL; /* cannot happen: one document, one root */
                b->tree->root = n;
        } else {
                Node *parent = b->stack[b->depth - 1];
                size_t n_items = b->n_pending - b->first[b->depth - 1];

                if (parent->type == NODE_MAPPING && n_items % 2 == 0 &&
                    type != NODE_SCALAR) {
                        loader_error_at(l, line, column,
                                        "a mapping key must be a scalar, not %s",
                                        type == NODE_MAPPING ? "a mapping" : "a sequence");
                        b->failed = true;
                }
                if (array_grow((void **) &b->pending, &b->allocated_pending, b->n_pending,
                               sizeof(Node *)) < 0)
                        return -ENOMEM;
                b->pending[b->n_pending++] = n;
        }
        *ret = n;
        return 0;
}

static char *builder_strndup(Builder *b, const char *s, size_t len) {
        char *p = tree_alloc(b->tree, len + 1);

        if (!p)
                return NULL;
        memcpy(p, s, len);
        p[len] = '\0';
        return p;
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
        n->value = builder_strndup(b, (const char *) ev->data.scalar.value,
                                   ev->data.scalar.length);
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
        b->first[b->depth] = b->n_pending;
        b->stack[b->depth++] = n;
        return 0;
}

/* The innermost collection's items, from pending into the tree. */
static int builder_end(Builder *b) {
        Node *n;
        size_t first, count;

        if (b->depth == 0)
                return 0;
        n = b->stack[--b->depth];
        first = b->first[b->depth];
        count = b->n_pending - first;
        if (count > 0) {
                /* At most CONFIG_MAX_NODES: fits. */
                n->items = tree_alloc(b->tree, count * sizeof(Node *));
                if (!n->items)
                        return -ENOMEM;
                memcpy(n->items, b->pending + first, count * sizeof(Node *));
                n->n_items = (uint32_t) count;
        }
        b->n_pending = first;
        return 0;
}

static int builder_event(Builder *b, const yaml_event_t *ev) {
        Node *n;
        int r;

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
                r = builder_add(b, ev, NODE_SCALAR, &n);
                if (r < 0)
                        return r;
                n->plain = true;
                n->value = builder_strndup(b, "", 0);
                return n->value ? 0 : -ENOMEM;
        case YAML_SCALAR_EVENT:
                return builder_scalar(b, ev);
        case YAML_SEQUENCE_START_EVENT:
                return builder_start(b, ev, NODE_SEQUENCE);
        case YAML_MAPPING_START_EVENT:
                return builder_start(b, ev, NODE_MAPPING);
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
                return builder_end(b);
        default:
                return 0;
        }
}

int config_tree_build(Loader *l, const char *buf, size_t len, Tree **ret) {
        _cleanup_(tree_freep) Tree *tree = calloc(1, sizeof(Tree));
        Builder b = { .loader = l, .tree = tree };
        yaml_parser_t parser;
        int r = 0;

        if (!tree || !yaml_parser_initialize(&parser))
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
        free(b.pending);
        if (r >= 0 && b.failed)
                r = -EINVAL;
        if (r < 0)
                return r;
        *ret = TAKE_PTR(tree);
        return 0;
}

