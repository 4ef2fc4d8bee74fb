/* SPDX-License-Identifier: MIT */
#pragma once

/* What the configuration loader's three files share, and nothing outside
 * config/ may use:
 *
 *   yaml-tree.c  the YAML document as a tree of nodes with their marks
 *                (line, column), built under limits, and the Loader's
 *                errors reported at those marks;
 *   schema.c     the generic schema engine: key tables (Field, Section),
 *                the state of a parsed mapping (MapState), typed scalar
 *                parsers and the checked-string parser;
 *   config.c     fieldwatch's own: value syntax, the section tables,
 *                cross-field checks and the API of config.h. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "macro.h"

#define PATH_LEN 128                   /* "sites[19999].router.snmp.community_credential" */
#define SHOWN_MAX 72                   /* a value quoted in a message */
#define LIST_MAX 512                   /* "expected one of: ..." */
#define CONFIG_MAX_FIELDS 16           /* keys of one mapping of the schema */

/* ======================================================================== */
/* The node tree (yaml-tree.c) */

typedef enum NodeType {
        NODE_SCALAR,
        NODE_SEQUENCE,
        NODE_MAPPING,
} NodeType;

/* 32 bytes: 10,000 sites are about 370,000 nodes (issue 18). */
typedef struct Node Node;
struct Node {
        NodeType type : 8;
        bool plain;                  /* a plain (unquoted) scalar */
        unsigned line, column;       /* 1-based */
        uint32_t n_items;
        char *value;                 /* scalar: the text, NUL-terminated */
        Node **items;                /* sequence: items; mapping: key, value, key, value... */
};

/* A document's nodes, their items and their text, in one arena: freed at
 * once. */
typedef struct Tree Tree;
Tree *tree_free(Tree *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tree *, tree_free);
const Node *tree_root(const Tree *t); /* NULL for a stream without a document */

/* A plain scalar that YAML reads as null: "key:" with nothing after it. */
bool node_is_null(const Node *n);

/* "a mapping", "a quoted string", "an empty value"...: for messages. */
const char *node_kind(const Node *n);

/* The value of key in mapping map, or NULL. */
const Node *node_get(const Node *map, const char *key);

/* What config.c keeps of each site while the sites are checked. */
typedef struct SiteMarks SiteMarks;

/* One load: where its errors go, and the state the checks share. */
typedef struct Loader {
        const char *file;
        ConfigErrors *errs;
        unsigned n_errors;           /* found by this load, shown or not */
        bool oom;
        SiteMarks *site_marks;       /* one per site, while the sites are checked */
        size_t site_index;
} Loader;

/* Reports an error at a line and column (0, 0: about the whole file), or
 * at a node (NULL: the whole file). The first CONFIG_MAX_ERRORS (100) are
 * kept, then one saying so; every one is counted in l->n_errors. */
_printf_(4, 5) void loader_error_at(Loader *l, unsigned line, unsigned column,
                                    const char *fmt, ...);
_printf_(3, 4) void loader_error(Loader *l, const Node *n, const char *fmt, ...);

/* Sorts the errors from first on by line and column (stable); those about
 * the whole file last. */
void config_errors_sort(ConfigErrors *errs, size_t first);

static inline bool is_control(char c) {
        return (unsigned char) c < 0x20 || c == 0x7f;
}

/* A value from the file, fit for a message: control characters replaced,
 * long values cut (at a UTF-8 character boundary). Returns buf. */
const char *shown(const char *s, char buf[static SHOWN_MAX]);

/* Pass 1: builds the tree of buf (UTF-8, one document; no anchors, aliases
 * or tags; bounded in depth, scalar length and nodes). Returns -EINVAL when
 * an error was reported, -ENOMEM. */
int config_tree_build(Loader *l, const char *buf, size_t len, Tree **ret);

/* ======================================================================== */
/* Pass 2: the schema engine (schema.c) */

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
        const void *data;            /* a Section, an EnumName table, a StringCheck, or
                                      * parser data */
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

/* A string whose syntax a function checks (parse_checked_field(), the
 * Field's data). When the check fails the error reads
 *     invalid NOUN 'VALUE' for 'PATH': EXPECTED
 * (without 'VALUE' with STRING_CHECK_HIDDEN), or with a lookup that says
 * -ENOENT: unknown NOUN 'VALUE' for 'PATH': UNKNOWN. */
typedef struct StringCheck {
        bool (*valid)(const char *s);
        /* Instead of valid: 0, -EINVAL (with *ret_problem, when set, in place
         * of expected) or -ENOENT. */
        int (*check)(const char *s, const char **ret_problem);
        const char *what;            /* "an address": what the scalar must be */
        const char *noun;            /* "address" */
        const char *expected;        /* "expected an IPv4 or IPv6 address or a host name" */
        const char *unknown;         /* after -ENOENT */
        unsigned flags;
} StringCheck;

enum {
        STRING_CHECK_HIDDEN = 1 << 0,      /* the value is not echoed (it may hold a secret) */
        STRING_CHECK_BOUNDED = 1 << 1,     /* the Field's length bound and FIELD_NONEMPTY first */
        STRING_CHECK_NO_DOT = 1 << 2,      /* stored without a leading '.' */
};

/* A Field: key, parser, offset, then designated extras (.flags, .min, .max, .data). */
#define F(k, fn, off, ...) { .key = (k), .parse = (fn), .offset = (off), __VA_ARGS__ }

#define FIELD_AT(base, f, type) ((type *) (void *) ((char *) (base) + (f)->offset))

/* The index of key in s, or SIZE_MAX. */
size_t section_lookup(const Section *s, const char *key);

/* The value node of key, when it was given. */
const Node *st_value(const MapState *st, const char *key);

/* Given and parsed without error. */
bool st_good(const MapState *st, const char *key);

/* Not given, or given and parsed without error: the struct holds a value. */
bool st_usable(const MapState *st, const char *key);

/* "in 'a.b'", or "at the top level" for "". Returns buf or a static text. */
const char *where(const char *path, char buf[static PATH_LEN + 8]);

/* "parent.key", or "key" at the top. */
void path_join(char buf[static PATH_LEN], const char *parent, const char *key);

/* Whether n is of type (a null is no mapping or sequence); reports if not. */
bool expect_type(Loader *l, const Node *n, NodeType type, const char *path);

/* Parses a mapping with a key table. Unknown and duplicate keys are errors;
 * so are missing required ones, reported at the mapping. */
void parse_section(Loader *l, const Node *map, const char *path, const Section *s,
                   void *base);

/* The text of a scalar that is not null and has no control characters. */
const char *scalar_text(Loader *l, const Node *n, const char *path, const char *what);

/* A strict decimal integer: a plain scalar, no sign but '-', no leading
 * zeros (YAML 1.1 reads them as octal), no junk, in min..max. */
bool scalar_integer(Loader *l, const Node *n, const char *path, int64_t min, int64_t max,
                    int64_t *ret);

/* A real date as YYYY-MM-DD. */
bool scalar_date(Loader *l, const Node *n, const char *path, Day *ret);

/* FIELD_NONEMPTY and the length bound (f->max, else CONFIG_STRING_MAX). */
bool string_ok(Loader *l, const Node *n, const char *path, const char *s, const Field *f);

/* Replaces *target with a copy of s (NULL: no string); l->oom on failure. */
void set_string(Loader *l, char **target, const char *s);

/* The text of n when c says it is good, else NULL (the error reported).
 * f (optional) gives STRING_CHECK_BOUNDED its bounds. */
const char *checked_text(Loader *l, const Node *n, const char *path, const StringCheck *c,
                         const Field *f);

/* Field parsers by type. */
void parse_section_field(Loader *l, const Node *n, const char *path, const Field *f,
                         void *base);                /* data: the Section */
void parse_string_field(Loader *l, const Node *n, const char *path, const Field *f,
                        void *base);                 /* char * */
void parse_checked_field(Loader *l, const Node *n, const char *path, const Field *f,
                         void *base);                /* char *; data: a StringCheck */
void parse_unsigned_field(Loader *l, const Node *n, const char *path, const Field *f,
                          void *base);               /* unsigned, min..max */
void parse_int_field(Loader *l, const Node *n, const char *path, const Field *f,
                     void *base);                    /* int, min..max */
void parse_u32_field(Loader *l, const Node *n, const char *path, const Field *f,
                     void *base);                    /* uint32_t, min..max */
void parse_port_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base);                   /* uint16_t, 1..65535 */
void parse_number_field(Loader *l, const Node *n, const char *path, const Field *f,
                        void *base);                 /* double, min..max */
void parse_duration_field(Loader *l, const Node *n, const char *path, const Field *f,
                          void *base);               /* uint64_t µs, min..max, flags */
void parse_time_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base);                   /* int seconds, HH:MM */
void parse_date_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base);                   /* Day */
void parse_enum_field(Loader *l, const Node *n, const char *path, const Field *f,
                      void *base);                   /* int; data: EnumName[], {} ends */

/* The name of value in names, or NULL. */
const char *enum_to_string(const EnumName *names, int value);
