/* SPDX-License-Identifier: MIT */
#pragma once

/* The contract's business calendar (SPEC §2): Japanese national holidays by
 * the National Holidays Act (国民の祝日に関する法律), the year-end closure,
 * configured extra closures, and the Cabinet Office's syukujitsu.csv as an
 * optional override. Pure: no clock, no global state; the only I/O is
 * reading the holidays file in calendar_new(). */

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "timeutil.h"

/* The first and last year the built-in rules are valid for. */
#define HOLIDAYS_YEAR_MIN 2000
#define HOLIDAYS_YEAR_MAX 2099
#define HOLIDAYS_PER_YEAR_MAX 32

typedef struct Holiday {
        Day day;
        const char *name;            /* Japanese name, e.g. "元日", "振替休日", "国民の休日" */
} Holiday;

typedef struct Calendar Calendar;

/* Computes the national holidays of year by the law's rules, in date
 * order, into out (room for HOLIDAYS_PER_YEAR_MAX). Returns the count, or
 * -ERANGE outside HOLIDAYS_YEAR_MIN..HOLIDAYS_YEAR_MAX. Names are static. */
int holidays_builtin(int year, Holiday out[static HOLIDAYS_PER_YEAR_MAX]);

/* Parses a Cabinet Office syukujitsu.csv (Shift_JIS or UTF-8, with or
 * without BOM, CRLF or LF, dates as YYYY/M/D). On success returns 0 with
 * an array sorted by day (names owned by the array; free with
 * holidays_free()). On a bad file returns -EINVAL with a message naming
 * path:line in *ret_error (caller frees); -errno when it cannot be read. */
int holidays_load_csv(const char *path, Holiday **ret, size_t *ret_n, char **ret_error);

/* Frees an array from holidays_load_csv(). NULL-safe. */
void holidays_free(Holiday *h, size_t n);

/* Builds a calendar from the configuration. conf->holidays_file, when set,
 * is resolved against base_dir (the configuration file's directory) when
 * relative; its years replace the built-in rules, other years keep them.
 * On a bad holidays file returns -EINVAL with *ret_error set. */
int calendar_new(const CalendarConf *conf, const char *base_dir, Calendar **ret,
                 char **ret_error);

/* NULL-safe; returns NULL. */
Calendar *calendar_free(Calendar *c);

/* The holidays of year as the calendar sees them (file or rules), in date
 * order. Returns the count (0 .. HOLIDAYS_PER_YEAR_MAX) or -ERANGE when the
 * year is covered by neither. */
int calendar_holidays(const Calendar *c, int year, Holiday out[static HOLIDAYS_PER_YEAR_MAX]);

/* True when day is a national holiday; *ret_name (optional) gets its name. */
bool calendar_is_holiday(const Calendar *c, Day day, const char **ret_name);

/* True when day is in the year-end closure or a configured extra closure. */
bool calendar_is_closed(const Calendar *c, Day day);

/* Monday–Friday, not a holiday, not closed. */
bool calendar_is_business_day(const Calendar *c, Day day);

/* The first business day strictly after day. */
Day calendar_next_business_day(const Calendar *c, Day day);

/* The last business day on or before day. */
Day calendar_business_day_on_or_before(const Calendar *c, Day day);

/* The reception window's opening and closing, seconds after midnight. */
int calendar_open_sec(const Calendar *c);
int calendar_close_sec(const Calendar *c);

/* Counts the business days of year. */
int calendar_business_days_in_year(const Calendar *c, int year);
