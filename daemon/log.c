/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "text.h"

static int max_level = LOG_INFO;

void log_set_max_level(int level) {
        max_level = level;
}

static void log_va(int level, const char *suffix, const char *fmt, va_list ap) {
        char buf[2048];

        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        /* One line, whatever a message quotes: under systemd stderr is a
         * journal stream, where a line starting "<N>" sets its priority. */
        text_clean_inplace(buf, sizeof(buf));
        if (getenv("JOURNAL_STREAM"))
                fprintf(stderr, "<%d>%s%s\n", level, buf, suffix);
        else
                fprintf(stderr, "%s%s\n", buf, suffix);
}

void log_full(int level, const char *fmt, ...) {
        int saved = errno;
        va_list ap;

        if (level <= max_level) {
                va_start(ap, fmt);
                log_va(level, "", fmt, ap);
                va_end(ap);
        }
        errno = saved;
}

int log_errno(int level, int r, const char *fmt, ...) {
        int saved = errno;
        char suffix[256];
        va_list ap;

        if (level <= max_level) {
                (void) snprintf(suffix, sizeof(suffix), ": %s", strerror(r < 0 ? -r : r));
                va_start(ap, fmt);
                log_va(level, suffix, fmt, ap);
                va_end(ap);
        }
        errno = saved;
        return r < 0 ? r : -r;
}
