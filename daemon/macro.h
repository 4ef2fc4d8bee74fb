/* SPDX-License-Identifier: MIT */
#pragma once

/* Small helpers in the manner of systemd's macro.h: ownership through
 * _cleanup_() and TAKE_PTR(), NULL-safe destructors. */

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))

#define TAKE_PTR(p)                                                                         \
        ({                                                                                  \
                __typeof__(p) _p_ = (p);                                                    \
                (p) = NULL;                                                                 \
                _p_;                                                                        \
        })

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define USEC_PER_MSEC UINT64_C(1000)
#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MINUTE (UINT64_C(60) * USEC_PER_SEC)
#define USEC_PER_HOUR (UINT64_C(60) * USEC_PER_MINUTE)
#define USEC_PER_DAY (UINT64_C(24) * USEC_PER_HOUR)

static inline void freep(void *p) {
        free(*(void **) p);
}

/* Frees p and gives NULL, for "x = mfree(x)" (systemd's). */
static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void fclosep(FILE **f) {
        if (*f)
                fclose(*f);
}

static inline bool streq_ptr(const char *a, const char *b) {
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

#define streq(a, b) (strcmp((a), (b)) == 0)

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                             \
        static inline void func##p(type *p) {                                               \
                if (*p)                                                                     \
                        *p = func(*p);                                                      \
        }

/* Makes room for one more element in a doubling array *v of *allocated
 * elements holding n (systemd's GREEDY_REALLOC). 0, or -ENOMEM with *v kept. */
static inline int array_grow(void **v, size_t *allocated, size_t n, size_t size) {
        void *p;
        size_t a;

        if (n < *allocated)
                return 0;
        a = *allocated ? *allocated * 2 : 16;
        p = reallocarray(*v, a, size);
        if (!p)
                return -ENOMEM;
        *v = p;
        *allocated = a;
        return 0;
}
