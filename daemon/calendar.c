/* SPDX-License-Identifier: MIT */

/* The contract's business calendar (SPEC §2).
 *
 * Sources of the holiday rules (国民の祝日に関する法律, 昭和23年法律第178号, as
 * amended; the text in force at each date applies):
 *
 *   第2条  the 国民の祝日 and their dates:
 *          元日 1/1; 成人の日 the 2nd Monday of January (1/15 before 2000,
 *          平成10年法律第141号); 建国記念の日 2/11 (政令); 天皇誕生日 12/23
 *          until 2018, 2/23 from 2020 (平成29年法律第63号 附則); 春分の日 and
 *          秋分の日 on the equinox days the National Astronomical Observatory
 *          announces each February for the next year; 昭和の日 4/29 and
 *          みどりの日 5/4 from 2007, みどりの日 on 4/29 until 2006 (平成17年法律
 *          第43号); 憲法記念日 5/3; こどもの日 5/5; 海の日 7/20 until 2002,
 *          the 3rd Monday of July from 2003 (平成13年法律第59号); 山の日 8/11
 *          from 2016 (平成26年法律第43号); 敬老の日 9/15 until 2002, the 3rd
 *          Monday of September from 2003; 体育の日 the 2nd Monday of October
 *          2000–2019 (10/10 before), renamed
 *          スポーツの日 from 2020 (平成30年法律第57号); 文化の日 11/3;
 *          勤労感謝の日 11/23.
 *   第3条第1項  a 国民の祝日 is a 休日.
 *   第3条第2項  振替休日: from 2007, when a 国民の祝日 falls on a Sunday, the
 *          nearest following day that is not a 国民の祝日; until 2006, the
 *          next day (昭和48年法律第10号 text).
 *   第3条第3項  国民の休日: a day whose previous and next days are both 国民の
 *          祝日 and which is not itself one; until 2006 also not a Sunday and
 *          not a 振替休日 (昭和60年法律第103号 text).
 *   Special acts: 2019 — 天皇の即位の日 5/1 and 即位礼正殿の儀の行われる日
 *          10/22 are 休日 treated as 国民の祝日 for 第3条第2項・第3項
 *          (平成30年法律第99号), which makes 4/30 and 5/2 国民の休日; 2020
 *          and 2021 — the Tokyo Olympics special measures act (平成27年法律
 *          第33号 第32条, as amended in 2018 and 2020) moved 海の日, スポーツ
 *          の日 and 山の日 to 7/23, 7/24, 8/10 (2020) and 7/22, 7/23, 8/8 (2021).
 *
 * The equinox days use the usual projection (valid 1980–2099), computed in
 * exact integer arithmetic (millionths of a day) so nothing can misround:
 *   vernal    floor(20.8431 + 0.242194 (y − 1980) − floor((y − 1980) / 4))
 *   autumnal  floor(23.2488 + 0.242194 (y − 1980) − floor((y − 1980) / 4))
 * The Cabinet Office's syukujitsu.csv, when configured, overrides the rules
 * for every year it lists.
 *
 * Lookups are O(1): calendar_new() precomputes a holiday bitmap and a
 * business-day bitmap over every covered year (2000–2099 plus the file's). */

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calendar.h"
#include "fileio.h"
#include "macro.h"
#include "utf8.h"

/* The largest holidays file accepted; the official one is about 20 KiB. */
#define HOLIDAYS_FILE_MAX (1024u * 1024u)

/* The longest holiday name accepted from a file, in bytes of UTF-8. */
#define HOLIDAY_NAME_MAX 256

/* How far the business-day searches look before giving up: the rules never
 * leave more than about two weeks without a business day, so this is only
 * reached when the configured closures close (nearly) everything. */
#define BUSINESS_DAY_SEARCH_MAX 400

/* The Day range every function accepts (the years ymd_valid() accepts). */
#define CALENDAR_YEAR_MIN 1900
#define CALENDAR_YEAR_MAX 9999

#define HOLIDAYS_CSV_HEADER "国民の祝日・休日月日,国民の祝日・休日名称"

struct Calendar {
        int open_sec, close_sec;

        bool closure_enabled;
        int closure_start_md, closure_end_md;   /* month * 100 + day */

        Day *extra_closed;                      /* sorted, unique */
        size_t n_extra_closed;

        Holiday *file_holidays;                 /* owns the names of file years */
        size_t n_file_holidays;

        /* Years year_lo..year_hi: year_first[y - year_lo] indexes the first
         * holiday of y in holidays[] (one past the end: year_first[y + 1]);
         * covered[] tells whether the year has any rules at all. */
        int year_lo, year_hi;
        size_t *year_first;
        bool *covered;
        Holiday *holidays;
        size_t n_holidays;

        /* One bit per day from day_lo (1 January of year_lo) to day_hi. */
        Day day_lo, day_hi;
        uint64_t *holiday_bits;
        uint64_t *business_bits;

        Day day_min, day_max;                   /* 1900-01-01 .. 9999-12-31 */
};

/* ======================================================================== */
/* The rules. */

typedef struct YearRules {
        int year;
        Day jan1;
        int n_days;
        int jan1_weekday;
        const char *name[366];
        bool national[366];                     /* a 国民の祝日 (第3条第1項) */
        bool substitute[366];                   /* a 振替休日 */
} YearRules;

static int vernal_equinox_day(int year) {
        int k = year - 1980;

        return (int) ((INT64_C(20843100) + INT64_C(242194) * k) / 1000000) - k / 4;
}

static int autumnal_equinox_day(int year) {
        int k = year - 1980;

        return (int) ((INT64_C(23248800) + INT64_C(242194) * k) / 1000000) - k / 4;
}

static int weekday_of(const YearRules *r, int doy) {
        return (r->jan1_weekday + doy) % 7;
}

static void rules_set(YearRules *r, int month, int mday, const char *name) {
        int doy = (int) (day_from_ymd(r->year, month, mday) - r->jan1);

        r->name[doy] = name;
        r->national[doy] = true;
}

/* The nth (1-based) Monday of month. */
static void rules_set_monday(YearRules *r, int month, int nth, const char *name) {
        int first = day_weekday(day_from_ymd(r->year, month, 1));
        int first_monday = 1 + (8 - first) % 7;

        rules_set(r, month, first_monday + 7 * (nth - 1), name);
}

static void rules_national(YearRules *r) {
        int y = r->year;

        rules_set(r, 1, 1, "元日");
        rules_set_monday(r, 1, 2, "成人の日");
        rules_set(r, 2, 11, "建国記念の日");
        if (y >= 2020)
                rules_set(r, 2, 23, "天皇誕生日");
        rules_set(r, 3, vernal_equinox_day(y), "春分の日");
        rules_set(r, 4, 29, y >= 2007 ? "昭和の日" : "みどりの日");
        rules_set(r, 5, 3, "憲法記念日");
        if (y >= 2007)
                rules_set(r, 5, 4, "みどりの日");
        rules_set(r, 5, 5, "こどもの日");

        if (y == 2020)
                rules_set(r, 7, 23, "海の日");
        else if (y == 2021)
                rules_set(r, 7, 22, "海の日");
        else if (y >= 2003)
                rules_set_monday(r, 7, 3, "海の日");
        else
                rules_set(r, 7, 20, "海の日");

        if (y == 2020)
                rules_set(r, 8, 10, "山の日");
        else if (y == 2021)
                rules_set(r, 8, 8, "山の日");
        else if (y >= 2016)
                rules_set(r, 8, 11, "山の日");

        if (y >= 2003)
                rules_set_monday(r, 9, 3, "敬老の日");
        else
                rules_set(r, 9, 15, "敬老の日");
        rules_set(r, 9, autumnal_equinox_day(y), "秋分の日");

        if (y == 2020)
                rules_set(r, 7, 24, "スポーツの日");
        else if (y == 2021)
                rules_set(r, 7, 23, "スポーツの日");
        else
                rules_set_monday(r, 10, 2, y >= 2020 ? "スポーツの日" : "体育の日");

        rules_set(r, 11, 3, "文化の日");
        rules_set(r, 11, 23, "勤労感謝の日");
        if (y <= 2018)
                rules_set(r, 12, 23, "天皇誕生日");

        if (y == 2019) {
                rules_set(r, 5, 1, "天皇の即位の日");
                rules_set(r, 10, 22, "即位礼正殿の儀の行われる日");
        }
}

/* 第3条第2項. */
static void rules_substitute(YearRules *r) {
        for (int doy = 0; doy < r->n_days; doy++) {
                int t = doy + 1;

                if (!r->national[doy] || weekday_of(r, doy) != 0)
                        continue;
                if (r->year >= 2007)
                        while (t < r->n_days && r->national[t])
                                t++;
                if (t >= r->n_days || r->national[t])
                        continue;
                r->name[t] = "振替休日";
                r->substitute[t] = true;
        }
}

/* 第3条第3項. */
static void rules_citizens(YearRules *r) {
        for (int doy = 1; doy + 1 < r->n_days; doy++) {
                if (r->name[doy] || !r->national[doy - 1] || !r->national[doy + 1])
                        continue;
                if (r->year < 2007 && (weekday_of(r, doy) == 0 || r->substitute[doy]))
                        continue;
                r->name[doy] = "国民の休日";
        }
}

int holidays_builtin(int year, Holiday out[static HOLIDAYS_PER_YEAR_MAX]) {
        YearRules r;
        int n = 0;

        if (year < HOLIDAYS_YEAR_MIN || year > HOLIDAYS_YEAR_MAX)
                return -ERANGE;

        r = (YearRules) {
                .year = year,
                .jan1 = day_from_ymd(year, 1, 1),
        };
        r.n_days = (int) (day_from_ymd(year + 1, 1, 1) - r.jan1);
        r.jan1_weekday = day_weekday(r.jan1);

        rules_national(&r);
        rules_substitute(&r);
        rules_citizens(&r);

        for (int doy = 0; doy < r.n_days && n < HOLIDAYS_PER_YEAR_MAX; doy++)
                if (r.name[doy])
                        out[n++] = (Holiday) { .day = r.jan1 + doy, .name = r.name[doy] };
        return n;
}

/* ======================================================================== */
/* syukujitsu.csv */

typedef struct CsvRow {
        Holiday holiday;
        unsigned line;
} CsvRow;

typedef struct CsvParser {
        const char *path;
        char *error;
        CsvRow *rows;
        size_t n_rows, n_allocated;
} CsvParser;

_printf_(2, 3)
static int csv_fail(CsvParser *p, const char *fmt, ...) {
        va_list ap;

        free(p->error);
        p->error = NULL;
        va_start(ap, fmt);
        if (vasprintf(&p->error, fmt, ap) < 0)
                p->error = NULL;
        va_end(ap);
        return p->error ? -EINVAL : -ENOMEM;
}

static void csv_parser_done(CsvParser *p) {
        for (size_t i = 0; i < p->n_rows; i++)
                free((char *) p->rows[i].holiday.name);
        free(p->rows);
        free(p->error);
}

static unsigned line_at(const char *s, size_t offset) {
        unsigned line = 1;

        for (size_t i = 0; i < offset; i++)
                line += s[i] == '\n';
        return line;
}

/* Converts the Cabinet Office's Shift_JIS (as Windows writes it: CP932, a
 * superset of Shift_JIS) to UTF-8. */
static int csv_from_cp932(CsvParser *p, const char *in, size_t n, char **ret) {
        _cleanup_(freep) char *out = NULL;
        size_t out_size = 3 * n + 1, out_left = out_size - 1, in_left = n;
        char *src = (char *) in, *dst;
        iconv_t cd;

        cd = iconv_open("UTF-8", "CP932");
        if (cd == (iconv_t) -1)
                cd = iconv_open("UTF-8", "SHIFT_JIS");
        if (cd == (iconv_t) -1)
                return csv_fail(p, "%s: not UTF-8, and Shift_JIS is not supported here: %s",
                                p->path, strerror(errno));

        out = malloc(out_size);
        if (!out) {
                (void) iconv_close(cd);
                return -ENOMEM;
        }
        dst = out;
        /* Every CP932 character is one or two bytes and becomes at most three
         * bytes of UTF-8, so E2BIG cannot happen. */
        if (iconv(cd, &src, &in_left, &dst, &out_left) == (size_t) -1) {
                (void) iconv_close(cd);
                return csv_fail(p, "%s:%u: expected UTF-8 or Shift_JIS text, got invalid bytes",
                                p->path, line_at(in, (size_t) (src - in)));
        }
        (void) iconv_close(cd);
        *dst = '\0';
        *ret = TAKE_PTR(out);
        return 0;
}

/* Brings the file to UTF-8 text without a BOM: UTF-8 when it is valid
 * UTF-8, else CP932. */
static int csv_decode(CsvParser *p, char *buf, size_t n, char **ret_text, size_t *ret_len) {
        char *text = NULL, *nul;
        size_t bad;
        int r;

        if (n >= 3 && memcmp(buf, "\xEF\xBB\xBF", 3) == 0) {
                memmove(buf, buf + 3, n - 3 + 1);
                n -= 3;
                bad = utf8_invalid_at(buf, n);
                if (bad < n)
                        return csv_fail(p, "%s:%u: expected UTF-8 after the byte order mark, "
                                        "got invalid bytes", p->path, line_at(buf, bad));
        }
        nul = memchr(buf, '\0', n);
        if (nul)
                return csv_fail(p, "%s:%u: expected text, got a NUL byte (binary file?)",
                                p->path, line_at(buf, (size_t) (nul - buf)));

        bad = utf8_invalid_at(buf, n);
        if (bad < n && strncmp(buf, HOLIDAYS_CSV_HEADER, strlen(HOLIDAYS_CSV_HEADER)) == 0)
                /* A UTF-8 header: a UTF-8 file with a bad byte, not Shift_JIS. */
                return csv_fail(p, "%s:%u: expected UTF-8, got invalid bytes", p->path,
                                line_at(buf, bad));
        if (bad == n) {
                text = strdup(buf);
                if (!text)
                        return -ENOMEM;
        } else {
                r = csv_from_cp932(p, buf, n, &text);
                if (r < 0)
                        return r;
        }
        *ret_text = text;
        *ret_len = strlen(text);
        return 0;
}

/* A short, printable excerpt of s for an error message (s is valid UTF-8;
 * control characters become '?', the excerpt is cut at a character). */
static void excerpt(const char *s, char buf[static 64]) {
        size_t o = 0;

        for (size_t i = 0; s[i];) {
                size_t k = utf8_char_len(s + i, strnlen(s + i, 4));

                if (k == 0)
                        k = 1;
                if (o + k + 4 >= 64) {
                        memcpy(buf + o, "...", 3);
                        o += 3;
                        break;
                }
                if (k == 1 && ((unsigned char) s[i] < 0x20 || s[i] == 0x7F))
                        buf[o] = '?';
                else
                        memcpy(buf + o, s + i, k);
                o += k;
                i += k;
        }
        buf[o] = '\0';
}

/* Parses 1–max digits. */
static const char *parse_digits(const char *s, int max, int *ret) {
        int v = 0, n = 0;

        while (n < max && s[n] >= '0' && s[n] <= '9')
                v = v * 10 + (s[n++] - '0');
        if (n == 0)
                return NULL;
        *ret = v;
        return s + n;
}

/* "YYYY/M/D", "YYYY/MM/DD" or the same with '-'. Returns the rest of the
 * line, or NULL. */
static const char *parse_csv_date(const char *s, Day *ret) {
        const char *p = s;
        int y, m, d;
        char sep;

        p = parse_digits(p, 4, &y);
        if (!p || p - s != 4 || (*p != '/' && *p != '-'))
                return NULL;
        sep = *p++;
        p = parse_digits(p, 2, &m);
        if (!p || *p != sep)
                return NULL;
        p = parse_digits(p + 1, 2, &d);
        if (!p || !ymd_valid(y, m, d))
                return NULL;
        *ret = day_from_ymd(y, m, d);
        return p;
}

static bool holiday_name_valid(const char *s) {
        size_t n = strlen(s);

        if (n == 0 || n > HOLIDAY_NAME_MAX)
                return false;
        for (size_t i = 0; i < n; i++)
                if ((unsigned char) s[i] < 0x20 || s[i] == 0x7F || s[i] == ',' || s[i] == '"')
                        return false;
        return true;
}

static int csv_add(CsvParser *p, Day day, const char *name, unsigned line) {
        char *copy;

        if (p->n_rows == p->n_allocated) {
                size_t n = p->n_allocated ? p->n_allocated * 2 : 64;
                CsvRow *rows = reallocarray(p->rows, n, sizeof(CsvRow));

                if (!rows)
                        return -ENOMEM;
                p->rows = rows;
                p->n_allocated = n;
        }
        copy = strdup(name);
        if (!copy)
                return -ENOMEM;
        p->rows[p->n_rows++] = (CsvRow) { .holiday = { .day = day, .name = copy }, .line = line };
        return 0;
}

static int csv_parse_row(CsvParser *p, const char *s, unsigned line) {
        char what[64];
        const char *rest;
        Day day;

        rest = parse_csv_date(s, &day);
        if (!rest || *rest != ',') {
                excerpt(s, what);
                return csv_fail(p, "%s:%u: expected \"YYYY/M/D,name\" with a real date, "
                                "got \"%s\"", p->path, line, what);
        }
        if (!holiday_name_valid(rest + 1)) {
                excerpt(s, what);
                return csv_fail(p, "%s:%u: expected a holiday name of 1 to %d bytes without "
                                "commas, quotes or control characters after the date, got \"%s\"",
                                p->path, line, HOLIDAY_NAME_MAX, what);
        }
        return csv_add(p, day, rest + 1, line);
}

static int csv_parse_lines(CsvParser *p, char *text, size_t len) {
        char what[64], *s = text, *end = text + len;
        unsigned line = 0;
        int r;

        /* Trailing empty lines are allowed, empty lines elsewhere are not. */
        while (end > text && (end[-1] == '\n' || end[-1] == '\r'))
                end--;
        *end = '\0';

        while (s) {
                char *nl = strchr(s, '\n');
                size_t n;

                if (nl)
                        *nl = '\0';
                n = strlen(s);
                if (n > 0 && s[n - 1] == '\r')
                        s[n - 1] = '\0';
                line++;

                if (line == 1) {
                        if (!streq(s, HOLIDAYS_CSV_HEADER)) {
                                excerpt(s, what);
                                return csv_fail(p, "%s:1: expected the header \"%s\", got \"%s\"",
                                                p->path, HOLIDAYS_CSV_HEADER, what);
                        }
                } else {
                        r = csv_parse_row(p, s, line);
                        if (r < 0)
                                return r;
                }
                s = nl ? nl + 1 : NULL;
        }
        if (p->n_rows == 0)
                return csv_fail(p, "%s: expected at least one holiday, got none", p->path);
        return 0;
}

static int csv_row_compare(const void *a, const void *b) {
        const CsvRow *x = a, *y = b;

        if (x->holiday.day != y->holiday.day)
                return x->holiday.day < y->holiday.day ? -1 : 1;
        return x->line < y->line ? -1 : x->line > y->line;
}

/* Sorts the rows and checks there is one per day and at most
 * HOLIDAYS_PER_YEAR_MAX per year. */
static int csv_check(CsvParser *p) {
        size_t year_start = 0;
        int year_prev = 0;

        qsort(p->rows, p->n_rows, sizeof(CsvRow), csv_row_compare);
        for (size_t i = 0; i < p->n_rows; i++) {
                char date[ISO_DATE_MAX];
                int y, m, d;

                day_to_ymd(p->rows[i].holiday.day, &y, &m, &d);
                if (i > 0 && p->rows[i].holiday.day == p->rows[i - 1].holiday.day)
                        return csv_fail(p, "%s:%u: expected one row per date, got %s again "
                                        "(first on line %u)", p->path, p->rows[i].line,
                                        format_iso_date(p->rows[i].holiday.day, date),
                                        p->rows[i - 1].line);
                if (i == 0 || y != year_prev) {
                        year_start = i;
                        year_prev = y;
                }
                if (i - year_start >= HOLIDAYS_PER_YEAR_MAX)
                        return csv_fail(p, "%s:%u: expected at most %d holidays in %d",
                                        p->path, p->rows[i].line, HOLIDAYS_PER_YEAR_MAX, y);
        }
        return 0;
}

void holidays_free(Holiday *h, size_t n) {
        if (!h)
                return;
        for (size_t i = 0; i < n; i++)
                free((char *) h[i].name);
        free(h);
}

/* Reads, decodes, parses and checks the file into p->rows. */
static int csv_load(CsvParser *p) {
        _cleanup_(freep) char *raw = NULL, *text = NULL;
        size_t size = 0, len = 0;
        int r;

        r = read_full_file_flags(p->path, HOLIDAYS_FILE_MAX, READ_FULL_FILE_REGULAR, &raw,
                                 &size);
        if (r == -EFBIG)
                return csv_fail(p, "%s: expected a file of at most 1 MiB", p->path);
        if (r == -EINVAL)
                return csv_fail(p, "%s: expected a regular file", p->path);
        if (r < 0) {
                if (r != -ENOMEM)
                        (void) asprintf(&p->error, "%s: %s", p->path, strerror(-r));
                return r;
        }
        if (size == 0)
                return csv_fail(p, "%s: expected the holidays CSV, got an empty file", p->path);

        r = csv_decode(p, raw, size, &text, &len);
        if (r < 0)
                return r;
        r = csv_parse_lines(p, text, len);
        if (r < 0)
                return r;
        return csv_check(p);
}

/* Besides the header's contract: *ret_error (optional) also gets a message
 * on -errno failures, except -ENOMEM; it is left alone when there is none. */
int holidays_load_csv(const char *path, Holiday **ret, size_t *ret_n, char **ret_error) {
        CsvParser p = { .path = path };
        Holiday *h = NULL;
        int r;

        if (!path || !ret || !ret_n)
                return -EINVAL;

        r = csv_load(&p);
        if (r >= 0) {
                h = calloc(p.n_rows, sizeof(Holiday));
                if (!h)
                        r = -ENOMEM;
        }
        if (r < 0) {
                if (ret_error && p.error)
                        *ret_error = TAKE_PTR(p.error);
                csv_parser_done(&p);
                return r;
        }

        for (size_t i = 0; i < p.n_rows; i++)
                h[i] = p.rows[i].holiday;
        *ret = h;
        *ret_n = p.n_rows;
        p.n_rows = 0;           /* the names moved to h */
        csv_parser_done(&p);
        return 0;
}

/* ======================================================================== */
/* The calendar. */

static bool bit_get(const uint64_t *bits, size_t i) {
        return bits[i / 64] >> (i % 64) & 1;
}

static void bit_set(uint64_t *bits, size_t i) {
        bits[i / 64] |= UINT64_C(1) << (i % 64);
}

static bool day_in_range(const Calendar *c, Day day) {
        return day >= c->day_min && day <= c->day_max;
}

static int year_of(Day day) {
        int y, m, d;

        day_to_ymd(day, &y, &m, &d);
        return y;
}

Calendar *calendar_free(Calendar *c) {
        if (!c)
                return NULL;
        free(c->extra_closed);
        holidays_free(c->file_holidays, c->n_file_holidays);
        free(c->year_first);
        free(c->covered);
        free(c->holidays);
        free(c->holiday_bits);
        free(c->business_bits);
        free(c);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Calendar *, calendar_free);

static int day_compare(const void *a, const void *b) {
        Day x = *(const Day *) a, y = *(const Day *) b;

        return x < y ? -1 : x > y;
}

_printf_(2, 3)
static int conf_fail(char **ret_error, const char *fmt, ...) {
        va_list ap;

        if (ret_error) {
                va_start(ap, fmt);
                if (vasprintf(ret_error, fmt, ap) < 0)
                        *ret_error = NULL;
                va_end(ap);
        }
        return -EINVAL;
}

static int calendar_copy_conf(Calendar *c, const CalendarConf *conf, char **ret_error) {
        size_t n = 0;

        if (conf->open_sec < 0 || conf->open_sec >= conf->close_sec || conf->close_sec > 86400)
                return conf_fail(ret_error, "reception window: expected an opening before "
                                 "the closing within 00:00-24:00");
        c->open_sec = conf->open_sec;
        c->close_sec = conf->close_sec;

        c->closure_enabled = conf->closure_enabled;
        if (c->closure_enabled) {
                /* 2000 is a leap year: 29 February is a valid bound. */
                if (!ymd_valid(2000, conf->closure_start_month, conf->closure_start_day) ||
                    !ymd_valid(2000, conf->closure_end_month, conf->closure_end_day))
                        return conf_fail(ret_error, "year-end closure: expected MM-DD..MM-DD");
                c->closure_start_md = conf->closure_start_month * 100 + conf->closure_start_day;
                c->closure_end_md = conf->closure_end_month * 100 + conf->closure_end_day;
        }

        if (conf->n_extra_closed == 0)
                return 0;
        if (!conf->extra_closed)
                return conf_fail(ret_error, "extra closures: expected a list of days");
        c->extra_closed = reallocarray(NULL, conf->n_extra_closed, sizeof(Day));
        if (!c->extra_closed)
                return -ENOMEM;
        memcpy(c->extra_closed, conf->extra_closed, conf->n_extra_closed * sizeof(Day));
        qsort(c->extra_closed, conf->n_extra_closed, sizeof(Day), day_compare);
        for (size_t i = 0; i < conf->n_extra_closed; i++)
                if (n == 0 || c->extra_closed[i] != c->extra_closed[n - 1])
                        c->extra_closed[n++] = c->extra_closed[i];
        c->n_extra_closed = n;
        return 0;
}

static int calendar_load_file(Calendar *c, const char *file, const char *base_dir,
                              char **ret_error) {
        _cleanup_(freep) char *path = NULL;
        size_t n = strlen(base_dir ?: "");

        if (file[0] == '/' || n == 0)
                path = strdup(file);
        else if (asprintf(&path, "%s%s%s", base_dir, base_dir[n - 1] == '/' ? "" : "/",
                          file) < 0)
                path = NULL;
        if (!path)
                return -ENOMEM;

        return holidays_load_csv(path, &c->file_holidays, &c->n_file_holidays, ret_error);
}

static bool closure_contains(const Calendar *c, int month, int mday) {
        int md = month * 100 + mday;

        if (!c->closure_enabled)
                return false;
        if (c->closure_start_md <= c->closure_end_md)
                return md >= c->closure_start_md && md <= c->closure_end_md;
        return md >= c->closure_start_md || md <= c->closure_end_md;
}

static bool extra_closed_contains(const Calendar *c, Day day) {
        return c->n_extra_closed > 0 &&
               bsearch(&day, c->extra_closed, c->n_extra_closed, sizeof(Day), day_compare);
}

/* Collects every covered year's holidays into c->holidays, the file's years
 * in place of the rules'. */
static int calendar_build_years(Calendar *c) {
        size_t n_years, f = 0, cap;

        c->year_lo = HOLIDAYS_YEAR_MIN;
        c->year_hi = HOLIDAYS_YEAR_MAX;
        if (c->n_file_holidays > 0) {
                c->year_lo = MIN(c->year_lo, year_of(c->file_holidays[0].day));
                c->year_hi = MAX(c->year_hi,
                                 year_of(c->file_holidays[c->n_file_holidays - 1].day));
        }
        n_years = (size_t) (c->year_hi - c->year_lo + 1);
        cap = c->n_file_holidays + (size_t) (HOLIDAYS_YEAR_MAX - HOLIDAYS_YEAR_MIN + 1) *
                                           HOLIDAYS_PER_YEAR_MAX;

        c->year_first = calloc(n_years + 1, sizeof(size_t));
        c->covered = calloc(n_years, sizeof(bool));
        c->holidays = calloc(cap, sizeof(Holiday));
        if (!c->year_first || !c->covered || !c->holidays)
                return -ENOMEM;

        for (int y = c->year_lo; y <= c->year_hi; y++) {
                size_t i = (size_t) (y - c->year_lo);
                bool in_file = false;

                c->year_first[i] = c->n_holidays;
                while (f < c->n_file_holidays && year_of(c->file_holidays[f].day) == y) {
                        c->holidays[c->n_holidays++] = c->file_holidays[f++];
                        in_file = true;
                }
                if (in_file) {
                        c->covered[i] = true;
                        continue;
                }
                if (y >= HOLIDAYS_YEAR_MIN && y <= HOLIDAYS_YEAR_MAX) {
                        int k = holidays_builtin(y, c->holidays + c->n_holidays);

                        if (k < 0)
                                return k;
                        c->n_holidays += (size_t) k;
                        c->covered[i] = true;
                }
        }
        c->year_first[n_years] = c->n_holidays;
        return 0;
}

/* The business-day test without the bitmaps. */
static bool business_day_slow(const Calendar *c, Day day, int month, int mday, bool holiday) {
        int wd = day_weekday(day);

        return wd != 0 && wd != 6 && !holiday && !closure_contains(c, month, mday) &&
               !extra_closed_contains(c, day);
}

static int calendar_build_bits(Calendar *c) {
        size_t n_days, n_words, i = 0;

        c->day_lo = day_from_ymd(c->year_lo, 1, 1);
        c->day_hi = day_from_ymd(c->year_hi, 12, 31);
        n_days = (size_t) (c->day_hi - c->day_lo + 1);
        n_words = (n_days + 63) / 64;

        c->holiday_bits = calloc(n_words, sizeof(uint64_t));
        c->business_bits = calloc(n_words, sizeof(uint64_t));
        if (!c->holiday_bits || !c->business_bits)
                return -ENOMEM;

        for (size_t k = 0; k < c->n_holidays; k++)
                bit_set(c->holiday_bits, (size_t) (c->holidays[k].day - c->day_lo));

        for (int y = c->year_lo; y <= c->year_hi; y++)
                for (int m = 1; m <= 12; m++)
                        for (int d = 1; d <= days_in_month(y, m); d++, i++) {
                                bool holiday = bit_get(c->holiday_bits, i);

                                if (business_day_slow(c, c->day_lo + (Day) i, m, d, holiday))
                                        bit_set(c->business_bits, i);
                        }
        return 0;
}

int calendar_new(const CalendarConf *conf, const char *base_dir, Calendar **ret,
                 char **ret_error) {
        _cleanup_(calendar_freep) Calendar *c = NULL;
        int r;

        if (!conf || !ret)
                return -EINVAL;

        c = calloc(1, sizeof(Calendar));
        if (!c)
                return -ENOMEM;
        c->day_min = day_from_ymd(CALENDAR_YEAR_MIN, 1, 1);
        c->day_max = day_from_ymd(CALENDAR_YEAR_MAX, 12, 31);

        r = calendar_copy_conf(c, conf, ret_error);
        if (r < 0)
                return r;
        if (conf->holidays_file) {
                r = calendar_load_file(c, conf->holidays_file, base_dir, ret_error);
                if (r < 0)
                        return r;
        }
        r = calendar_build_years(c);
        if (r < 0)
                return r;
        r = calendar_build_bits(c);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(c);
        return 0;
}

int calendar_holidays(const Calendar *c, int year, Holiday out[static HOLIDAYS_PER_YEAR_MAX]) {
        size_t i, n;

        if (year < c->year_lo || year > c->year_hi || !c->covered[year - c->year_lo])
                return -ERANGE;
        i = (size_t) (year - c->year_lo);
        n = c->year_first[i + 1] - c->year_first[i];
        memcpy(out, c->holidays + c->year_first[i], n * sizeof(Holiday));
        return (int) n;
}

static bool in_bits(const Calendar *c, Day day) {
        return day >= c->day_lo && day <= c->day_hi;
}

bool calendar_is_holiday(const Calendar *c, Day day, const char **ret_name) {
        size_t i, lo, hi;

        if (!in_bits(c, day) || !bit_get(c->holiday_bits, (size_t) (day - c->day_lo)))
                return false;
        if (!ret_name)
                return true;

        i = (size_t) (year_of(day) - c->year_lo);
        lo = c->year_first[i];
        hi = c->year_first[i + 1];
        for (size_t k = lo; k < hi; k++)
                if (c->holidays[k].day == day) {
                        *ret_name = c->holidays[k].name;
                        return true;
                }
        return true;    /* not reached: the bit is set only for a listed day */
}

bool calendar_is_closed(const Calendar *c, Day day) {
        int y, m, d;

        if (!day_in_range(c, day))
                return false;
        day_to_ymd(day, &y, &m, &d);
        return closure_contains(c, m, d) || extra_closed_contains(c, day);
}

bool calendar_is_business_day(const Calendar *c, Day day) {
        int y, m, d;

        if (in_bits(c, day))
                return bit_get(c->business_bits, (size_t) (day - c->day_lo));
        if (!day_in_range(c, day))
                return false;
        /* Outside every covered year: no holidays are known. */
        day_to_ymd(day, &y, &m, &d);
        return business_day_slow(c, day, m, d, false);
}

/* Both searches give up after BUSINESS_DAY_SEARCH_MAX days, and at the ends
 * of the supported range, with DAY_INVALID: that happens only when the
 * configured closures leave no business day. */
Day calendar_next_business_day(const Calendar *c, Day day) {
        if (!day_in_range(c, day))
                return DAY_INVALID;
        for (int i = 1; i <= BUSINESS_DAY_SEARCH_MAX && day + i <= c->day_max; i++)
                if (calendar_is_business_day(c, day + i))
                        return day + i;
        return DAY_INVALID;
}

Day calendar_business_day_on_or_before(const Calendar *c, Day day) {
        if (!day_in_range(c, day))
                return DAY_INVALID;
        for (int i = 0; i < BUSINESS_DAY_SEARCH_MAX && day - i >= c->day_min; i++)
                if (calendar_is_business_day(c, day - i))
                        return day - i;
        return DAY_INVALID;
}

int calendar_open_sec(const Calendar *c) {
        return c->open_sec;
}

int calendar_close_sec(const Calendar *c) {
        return c->close_sec;
}

int calendar_business_days_in_year(const Calendar *c, int year) {
        Day first, last;
        int n = 0;

        if (year < CALENDAR_YEAR_MIN || year > CALENDAR_YEAR_MAX)
                return -ERANGE;
        first = day_from_ymd(year, 1, 1);
        last = day_from_ymd(year, 12, 31);
        for (Day d = first; d <= last; d++)
                n += calendar_is_business_day(c, d);
        return n;
}
