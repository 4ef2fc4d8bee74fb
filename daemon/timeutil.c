/* SPDX-License-Identifier: MIT */

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "timeutil.h"

#define ZONEINFO_DIR "/usr/share/zoneinfo"

static char *current_zone;

/* ======================================================================== */

static bool is_leap(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
        static const int dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        if (m < 1 || m > 12)
                return 0;
        return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

bool ymd_valid(int y, int m, int d) {
        return y >= 1900 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
Day day_from_ymd(int y, int m, int d) {
        y -= m <= 2;
        int era = (y >= 0 ? y : y - 399) / 400;
        int yoe = y - era * 400;
        int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

void day_to_ymd(Day day, int *ret_y, int *ret_m, int *ret_d) {
        int z = day + 719468;
        int era = (z >= 0 ? z : z - 146096) / 146097;
        int doe = z - era * 146097;
        int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int mp = (5 * doy + 2) / 153;
        int d = doy - (153 * mp + 2) / 5 + 1;
        int m = mp < 10 ? mp + 3 : mp - 9;

        *ret_y = yoe + era * 400 + (m <= 2);
        *ret_m = m;
        *ret_d = d;
}

int day_weekday(Day day) {
        /* 1970-01-01 was a Thursday (4). */
        return (int) (((int64_t) day % 7 + 11) % 7);
}

/* ======================================================================== */

static bool zone_name_valid(const char *zone) {
        size_t n = strlen(zone);

        if (n == 0 || n > 64 || zone[0] == '/' || strstr(zone, ".."))
                return false;
        for (const char *p = zone; *p; p++)
                if (!isalnum((unsigned char) *p) && !strchr("/_+-", *p))
                        return false;
        return true;
}

int tz_use(const char *zone) {
        char path[sizeof(ZONEINFO_DIR) + 80];
        char *copy;

        if (!zone || !zone_name_valid(zone))
                return -EINVAL;
        struct stat st;

        (void) snprintf(path, sizeof(path), ZONEINFO_DIR "/%s", zone);
        /* A directory such as "Asia" is no zone: glibc would fall back to UTC. */
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || access(path, R_OK) < 0)
                return -ENOENT;
        if (streq_ptr(current_zone, zone))
                return 0;
        copy = strdup(zone);
        if (!copy)
                return -ENOMEM;
        if (setenv("TZ", zone, 1) < 0) {
                free(copy);
                return -errno;
        }
        tzset();
        free(current_zone);
        current_zone = copy;
        return 0;
}

const char *tz_current(void) {
        return current_zone;
}

int local_from_instant(time_t t, Day *ret_day, int *ret_sec) {
        struct tm tm;

        if (!localtime_r(&t, &tm))
                return -EOVERFLOW;
        *ret_day = day_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        *ret_sec = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
        return 0;
}

int instant_from_local(Day day, int sec, time_t *ret) {
        struct tm tm = { .tm_isdst = -1 };
        int y, m, d;
        time_t t;

        day_to_ymd(day, &y, &m, &d);
        tm.tm_year = y - 1900;
        tm.tm_mon = m - 1;
        tm.tm_mday = d;
        tm.tm_hour = sec / 3600;
        tm.tm_min = sec / 60 % 60;
        tm.tm_sec = sec % 60;
        errno = 0;
        t = mktime(&tm);
        if (t == (time_t) -1 && errno != 0)
                return -EOVERFLOW;
        *ret = t;
        return 0;
}

/* ======================================================================== */

/* Reads exactly n digits. */
static bool read_digits(const char **p, int n, int *ret) {
        int v = 0;

        for (int i = 0; i < n; i++) {
                if (!isdigit((unsigned char) (*p)[i]))
                        return false;
                v = v * 10 + ((*p)[i] - '0');
        }
        *p += n;
        *ret = v;
        return true;
}

static bool read_date(const char **p, int *ret_y, int *ret_m, int *ret_d) {
        int y, m, d;

        if (!read_digits(p, 4, &y) || **p != '-')
                return false;
        (*p)++;
        if (!read_digits(p, 2, &m) || **p != '-')
                return false;
        (*p)++;
        if (!read_digits(p, 2, &d) || !ymd_valid(y, m, d))
                return false;
        *ret_y = y;
        *ret_m = m;
        *ret_d = d;
        return true;
}

int parse_iso_date(const char *s, Day *ret) {
        int y, m, d;

        if (!s || !read_date(&s, &y, &m, &d) || *s)
                return -EINVAL;
        *ret = day_from_ymd(y, m, d);
        return 0;
}

/* Parses Z, ±HH, ±HHMM or ±HH:MM into seconds east of UTC. */
static bool read_offset(const char **p, int *ret) {
        int sign, h, m = 0;

        if (**p == 'Z' || **p == 'z') {
                (*p)++;
                *ret = 0;
                return true;
        }
        if (**p != '+' && **p != '-')
                return false;
        sign = **p == '-' ? -1 : 1;
        (*p)++;
        if (!read_digits(p, 2, &h))
                return false;
        if (**p == ':')
                (*p)++;
        if (**p && !read_digits(p, 2, &m))
                return false;
        if (h > 23 || m > 59)
                return false;
        *ret = sign * (h * 3600 + m * 60);
        return true;
}

int parse_iso_datetime(const char *s, time_t *ret) {
        int y, mo, d, h = 0, mi = 0, se = 0, off;
        bool has_offset = false;
        time_t t;
        int r;

        if (!s || !read_date(&s, &y, &mo, &d))
                return -EINVAL;
        if (*s == 'T' || *s == 't' || *s == ' ') {
                s++;
                if (!read_digits(&s, 2, &h) || *s++ != ':' || !read_digits(&s, 2, &mi))
                        return -EINVAL;
                if (*s == ':') {
                        s++;
                        if (!read_digits(&s, 2, &se))
                                return -EINVAL;
                        if (*s == '.' || *s == ',') {
                                s++;
                                if (!isdigit((unsigned char) *s))
                                        return -EINVAL;
                                while (isdigit((unsigned char) *s))
                                        s++;
                        }
                }
                if (h > 23 || mi > 59 || se > 59)
                        return -EINVAL;
                if (*s) {
                        if (!read_offset(&s, &off))
                                return -EINVAL;
                        has_offset = true;
                }
        }
        if (*s)
                return -EINVAL;

        if (has_offset) {
                int64_t days = day_from_ymd(y, mo, d);
                t = (time_t) (days * 86400 + h * 3600 + mi * 60 + se - off);
        } else {
                r = instant_from_local(day_from_ymd(y, mo, d), h * 3600 + mi * 60 + se, &t);
                if (r < 0)
                        return r;
        }
        *ret = t;
        return 0;
}

char *format_iso_datetime(time_t t, char buf[static ISO_DATETIME_MAX]) {
        struct tm tm;
        size_t n;
        long off;

        if (!localtime_r(&t, &tm)) {
                (void) snprintf(buf, ISO_DATETIME_MAX, "(invalid)");
                return buf;
        }
        off = labs(tm.tm_gmtoff);
        n = strftime(buf, ISO_DATETIME_MAX, "%Y-%m-%dT%H:%M:%S", &tm);
        (void) snprintf(buf + n, ISO_DATETIME_MAX - n, "%c%02d:%02d", tm.tm_gmtoff < 0 ? '-' : '+',
                        (int) (off / 3600 % 24), (int) (off / 60 % 60));
        return buf;
}

char *format_iso_date(Day day, char buf[static ISO_DATE_MAX]) {
        int y, m, d;

        day_to_ymd(day, &y, &m, &d);
        (void) snprintf(buf, ISO_DATE_MAX, "%04d-%02d-%02d", y, m, d);
        return buf;
}

/* ======================================================================== */

static const struct {
        const char *suffix;
        uint64_t usec;
} duration_units[] = {
        /* Longest suffix first where one is a prefix of another ("ms" before "m"). */
        { "ms", USEC_PER_MSEC }, { "s", USEC_PER_SEC },     { "m", USEC_PER_MINUTE },
        { "h", USEC_PER_HOUR },  { "d", USEC_PER_DAY },     { "w", 7 * USEC_PER_DAY },
};

int parse_duration(const char *s, uint64_t *ret_usec) {
        uint64_t total = 0;

        if (!s || !*s)
                return -EINVAL;
        while (*s) {
                uint64_t v = 0, unit = 0;
                size_t len = 0;

                if (!isdigit((unsigned char) *s))
                        return -EINVAL;
                while (isdigit((unsigned char) *s)) {
                        if (v > (UINT64_MAX - 9) / 10)
                                return -ERANGE;
                        v = v * 10 + (uint64_t) (*s++ - '0');
                }
                for (size_t i = 0; i < ELEMENTSOF(duration_units); i++) {
                        len = strlen(duration_units[i].suffix);
                        if (strncmp(s, duration_units[i].suffix, len) == 0 &&
                            !isalpha((unsigned char) s[len])) {
                                unit = duration_units[i].usec;
                                break;
                        }
                }
                if (unit == 0)
                        return -EINVAL;
                s += len;
                if (v > UINT64_MAX / unit || total > UINT64_MAX - v * unit)
                        return -ERANGE;
                total += v * unit;
        }
        *ret_usec = total;
        return 0;
}

char *format_duration(uint64_t usec, char buf[static DURATION_MAX]) {
        static const struct {
                const char *suffix;
                uint64_t usec;
        } parts[] = {
                { "d", USEC_PER_DAY }, { "h", USEC_PER_HOUR },  { "m", USEC_PER_MINUTE },
                { "s", USEC_PER_SEC }, { "ms", USEC_PER_MSEC },
        };
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(parts) && usec > 0; i++) {
                uint64_t v = usec / parts[i].usec;

                if (v == 0)
                        continue;
                n += (size_t) snprintf(buf + n, DURATION_MAX - n, "%" PRIu64 "%s", v,
                                       parts[i].suffix);
                usec -= v * parts[i].usec;
                if (n >= DURATION_MAX)
                        break;
        }
        if (n == 0)
                (void) snprintf(buf, DURATION_MAX, "0s");
        return buf;
}

int parse_hhmm(const char *s, int *ret_sec) {
        int h, m;

        if (!s || !read_digits(&s, 2, &h) || *s++ != ':' || !read_digits(&s, 2, &m) || *s)
                return -EINVAL;
        if (m > 59 || h > 24 || (h == 24 && m != 0))
                return -EINVAL;
        *ret_sec = h * 3600 + m * 60;
        return 0;
}

int parse_mmdd(const char *s, int *ret_m, int *ret_d) {
        int m, d;

        if (!s || !read_digits(&s, 2, &m) || *s++ != '-' || !read_digits(&s, 2, &d) || *s)
                return -EINVAL;
        /* 2000 is a leap year, so 02-29 is accepted. */
        if (!ymd_valid(2000, m, d))
                return -EINVAL;
        *ret_m = m;
        *ret_d = d;
        return 0;
}

/* ======================================================================== */

uint64_t now_usec(clockid_t clock) {
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static bool pretending;
static time_t pretend_base;
static struct timespec pretend_mono;

bool wallclock_pretending(void) {
        return pretending;
}

void wallclock_pretend(time_t t) {
        pretending = true;
        pretend_base = t;
        (void) clock_gettime(CLOCK_MONOTONIC, &pretend_mono);
}

time_t wallclock_now(void) {
        struct timespec ts;

        if (!pretending)
                return time(NULL);
        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return pretend_base + (ts.tv_sec - pretend_mono.tv_sec) -
               (ts.tv_nsec < pretend_mono.tv_nsec ? 1 : 0);
}
