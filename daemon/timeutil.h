/* SPDX-License-Identifier: MIT */
#pragma once

/* Civil dates, the contract time zone, ISO 8601 and duration parsing.
 *
 * Instants are time_t (seconds since the epoch, UTC). Civil dates are Day:
 * days since 1970-01-01 in the proleptic Gregorian calendar. Conversions
 * between the two go through the tz database (glibc, TZ=<zone>): the
 * process's time zone is set once, by tz_use(), to the contract's zone,
 * whatever TZ the caller had. Nothing here reads the clock. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef int32_t Day;

#define DAY_INVALID INT32_MIN

/* Number of days of month m (1..12) of year y. */
int days_in_month(int y, int m);

/* True when y-m-d is a real date and y is in 1900..9999. */
bool ymd_valid(int y, int m, int d);

/* Day number of a valid y-m-d. */
Day day_from_ymd(int y, int m, int d);

/* y-m-d of a day number. */
void day_to_ymd(Day day, int *ret_y, int *ret_m, int *ret_d);

/* 0 = Sunday ... 6 = Saturday. */
int day_weekday(Day day);

/* Sets the process's time zone to zone (an IANA name such as "Asia/Tokyo").
 * Returns -EINVAL for a name that is not a plain zone name and -ENOENT when
 * the tz database has no such zone. */
int tz_use(const char *zone);

/* The zone set by tz_use(), or NULL. */
const char *tz_current(void);

/* Splits an instant into the contract-local day and second of the day. */
int local_from_instant(time_t t, Day *ret_day, int *ret_sec);

/* The instant of the contract-local day at sec seconds after midnight. */
int instant_from_local(Day day, int sec, time_t *ret);

/* Parses ISO 8601 date-time: YYYY-MM-DD[T ]HH:MM[:SS[.fff]][Z|±HH:MM|±HHMM|±HH].
 * Without an offset the time is contract-local. Also accepts a bare date
 * (midnight, contract-local). Returns -EINVAL on anything else. */
int parse_iso_datetime(const char *s, time_t *ret);

/* Parses YYYY-MM-DD. */
int parse_iso_date(const char *s, Day *ret);

/* Formats as YYYY-MM-DDTHH:MM:SS+09:00 in the contract zone. */
#define ISO_DATETIME_MAX 32
char *format_iso_datetime(time_t t, char buf[static ISO_DATETIME_MAX]);

/* Formats as YYYY-MM-DD. */
#define ISO_DATE_MAX 16
char *format_iso_date(Day d, char buf[static ISO_DATE_MAX]);

/* Parses durations such as "90s", "10m", "2h", "14d", "500ms", "1h30m".
 * Units: ms, s, m, h, d, w. Zero is allowed; the result must not overflow. */
int parse_duration(const char *s, uint64_t *ret_usec);

/* Formats a duration compactly ("2h", "1h30m", "90s" -> "1m30s"). */
#define DURATION_MAX 32
char *format_duration(uint64_t usec, char buf[static DURATION_MAX]);

/* Parses "HH:MM" (00:00..24:00) into seconds after midnight. */
int parse_hhmm(const char *s, int *ret_sec);

/* Parses "MM-DD" into month and day (29 February allowed). */
int parse_mmdd(const char *s, int *ret_m, int *ret_d);

/* The clock's time in microseconds (CLOCK_MONOTONIC, CLOCK_REALTIME, ...): the
 * one helper for it (named so as not to collide with the many locals "now"). */
uint64_t now_usec(clockid_t clock);

/* Starts the program's wall clock at t (--pretend-now); it runs on from there
 * at the pace of CLOCK_MONOTONIC. */
void wallclock_pretend(time_t t);

/* Whether wallclock_pretend() was called. */
bool wallclock_pretending(void);

/* The program's wall clock: the real time, or the pretended one. */
time_t wallclock_now(void);
