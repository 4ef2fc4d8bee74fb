/* SPDX-License-Identifier: MIT */
#pragma once

/* Diagnostics of the program itself (not fault events: those go through the
 * journal module). To stderr; under systemd (JOURNAL_STREAM set) each line
 * carries its syslog priority as a "<N>" prefix, which journald understands.
 * errno is preserved across every call. */

#include <syslog.h>

#include "macro.h"

/* Sets the most verbose priority that is printed (default LOG_INFO). */
void log_set_max_level(int level);

void log_full(int level, const char *fmt, ...) _printf_(2, 3);

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

/* Logs at level with ": strerror(-r)" appended; returns r (negative). */
int log_errno(int level, int r, const char *fmt, ...) _printf_(3, 4);
