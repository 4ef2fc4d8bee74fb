/* SPDX-License-Identifier: MIT */

/* Tests of the business calendar (SPEC §2): the National Holidays Act's
 * rules against the Cabinet Office's lists and an independent model of the
 * Act, business days and closures, and the syukujitsu.csv loader. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "calendar.h"
#include "macro.h"

#define HEADER "国民の祝日・休日月日,国民の祝日・休日名称"
/* The same in Shift_JIS. */
#define HEADER_SJIS \
        "\x8d\x91\x96\xaf\x82\xcc\x8f\x6a\x93\xfa\x81\x45\x8b\x78\x93\xfa\x8c\x8e\x93\xfa" \
        ",\x8d\x91\x96\xaf\x82\xcc\x8f\x6a\x93\xfa\x81\x45\x8b\x78\x93\xfa\x96\xbc\x8f\xcc"

static char data_dir[PATH_MAX];
static char tmp_dir[64];

/* ======================================================================== */
/* Helpers. */

static Day D(int y, int m, int d) {
        return day_from_ymd(y, m, d);
}

static const CalendarConf default_conf = {
        .open_sec = 9 * 3600,
        .close_sec = 17 * 3600,
        .closure_enabled = true,
        .closure_start_month = 12,
        .closure_start_day = 29,
        .closure_end_month = 1,
        .closure_end_day = 3,
};

static Calendar *calendar_from(const CalendarConf *conf) {
        Calendar *c = NULL;
        char *error = NULL;
        int r;

        r = calendar_new(conf, data_dir, &c, &error);
        if (r < 0)
                fprintf(stderr, "calendar_new: %s\n", error ?: strerror(-r));
        free(error);
        assert_int_equal(r, 0);
        assert_non_null(c);
        return c;
}

/* "MM-DD MM-DD ..." for holidays in year; a day in another year is written
 * as YYYY-MM-DD so that it cannot match. With kinds, 振替休日 gets a "振"
 * and 国民の休日 a "国" suffix. */
static void days_string(const Holiday *h, int n, int year, bool kinds, char *buf, size_t size) {
        size_t o = 0;

        buf[0] = '\0';
        for (int i = 0; i < n; i++) {
                const char *suffix = "";
                int y, m, d;

                day_to_ymd(h[i].day, &y, &m, &d);
                if (kinds && streq(h[i].name, "振替休日"))
                        suffix = "振";
                else if (kinds && streq(h[i].name, "国民の休日"))
                        suffix = "国";
                if (y == year)
                        o += (size_t) snprintf(buf + o, size - o, "%s%02d-%02d%s",
                                               i ? " " : "", m, d, suffix);
                else
                        o += (size_t) snprintf(buf + o, size - o, "%s%04d-%02d-%02d%s",
                                               i ? " " : "", y, m, d, suffix);
                assert_true(o < size);
        }
}

static void assert_builtin(int year, bool kinds, const char *expected) {
        Holiday h[HOLIDAYS_PER_YEAR_MAX];
        char buf[1024];
        int n;

        n = holidays_builtin(year, h);
        assert_true(n > 0);
        days_string(h, n, year, kinds, buf, sizeof(buf));
        if (!streq(buf, expected))
                fprintf(stderr, "year %d\n  got      %s\n  expected %s\n", year, buf, expected);
        assert_string_equal(buf, expected);
}

static const char *builtin_name(Day day) {
        Holiday h[HOLIDAYS_PER_YEAR_MAX];
        int y, m, d, n;

        day_to_ymd(day, &y, &m, &d);
        n = holidays_builtin(y, h);
        for (int i = 0; i < n; i++)
                if (h[i].day == day)
                        return h[i].name;
        return "(none)";
}

static char *write_temp(const char *name, const void *data, size_t size) {
        char *path = NULL;
        FILE *f;

        assert_true(asprintf(&path, "%s/%s", tmp_dir, name) > 0);
        f = fopen(path, "we");
        assert_non_null(f);
        assert_int_equal(fwrite(data, 1, size, f), size);
        assert_int_equal(fclose(f), 0);
        return path;
}

static char *write_temp_str(const char *name, const char *text) {
        return write_temp(name, text, strlen(text));
}

static void *read_whole(const char *path, size_t *ret_size) {
        char *buf = malloc(64 * 1024);
        FILE *f = fopen(path, "re");
        size_t n;

        assert_non_null(buf);
        assert_non_null(f);
        n = fread(buf, 1, 64 * 1024, f);
        assert_true(n > 0 && n < 64 * 1024);
        fclose(f);
        *ret_size = n;
        return buf;
}

/* ======================================================================== */
/* An independent model of the Act as in force from 2022: its own weekday
 * arithmetic (Sakamoto), its own nth-Monday search, the equinox days from
 * the table below or the floating-point formula. It is checked against the
 * Cabinet Office's 2025–2027 lists before it is trusted for other years. */

static bool model_leap(int y) {
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int model_mdays(int y, int m) {
        static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

        return m == 2 && model_leap(y) ? 29 : n[m - 1];
}

static int model_weekday(int y, int m, int d) {
        static const int t[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };

        if (m < 3)
                y--;
        return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int model_nth_monday(int y, int m, int nth) {
        int d = 1;

        while (model_weekday(y, m, d) != 1)
                d++;
        return d + 7 * (nth - 1);
}

/* The projection for 2028–2031, worked out by hand from the formula:
 * k = y − 1980, vernal = ⌊(20843100 + 242194 k) / 10⁶⌋ − ⌊k/4⌋, e.g. 2031:
 * ⌊33194994 / 10⁶⌋ − 12 = 21. */
static const struct {
        int year, vernal, autumnal;
} equinox_2028[] = {
        { 2028, 20, 22 },
        { 2029, 20, 23 },
        { 2030, 20, 23 },
        { 2031, 21, 23 },
};

static int model_equinox(int y, bool autumnal) {
        int k = y - 1980;

        for (size_t i = 0; i < ELEMENTSOF(equinox_2028); i++)
                if (equinox_2028[i].year == y)
                        return autumnal ? equinox_2028[i].autumnal : equinox_2028[i].vernal;
        /* In 2000–2099 the exact value is never within 5e-5 of an integer,
         * far more than a double's error here. */
        return (int) floor((autumnal ? 23.2488 : 20.8431) + 0.242194 * k - floor(k / 4.0));
}

typedef struct Model {
        char kind[13][32];       /* 0, 'N' 国民の祝日, 'S' 振替休日, 'C' 国民の休日 */
} Model;

static void model_year(int y, Model *mo) {
        static const int fixed[][2] = {
                { 1, 1 }, { 2, 11 }, { 2, 23 }, { 4, 29 }, { 5, 3 }, { 5, 4 },
                { 5, 5 }, { 8, 11 }, { 11, 3 }, { 11, 23 },
        };

        memset(mo, 0, sizeof(*mo));
        for (size_t i = 0; i < ELEMENTSOF(fixed); i++)
                mo->kind[fixed[i][0]][fixed[i][1]] = 'N';
        mo->kind[1][model_nth_monday(y, 1, 2)] = 'N';
        mo->kind[3][model_equinox(y, false)] = 'N';
        mo->kind[7][model_nth_monday(y, 7, 3)] = 'N';
        mo->kind[9][model_nth_monday(y, 9, 3)] = 'N';
        mo->kind[9][model_equinox(y, true)] = 'N';
        mo->kind[10][model_nth_monday(y, 10, 2)] = 'N';

        /* Art. 3(2): a Sunday 国民の祝日 moves to the nearest later day that
         * is not one. */
        for (int m = 1; m <= 12; m++)
                for (int d = 1; d <= model_mdays(y, m); d++) {
                        int m2 = m, d2 = d;

                        if (mo->kind[m][d] != 'N' || model_weekday(y, m, d) != 0)
                                continue;
                        do {
                                if (++d2 > model_mdays(y, m2)) {
                                        d2 = 1;
                                        m2++;
                                }
                        } while (m2 <= 12 && mo->kind[m2][d2] == 'N');
                        if (m2 <= 12)
                                mo->kind[m2][d2] = 'S';
                }

        /* Art. 3(3): a day between two 国民の祝日. */
        for (int m = 1; m <= 12; m++)
                for (int d = 1; d <= model_mdays(y, m); d++) {
                        int pm = d > 1 ? m : m - 1, pd = d > 1 ? d - 1 : 0;
                        int nm = d < model_mdays(y, m) ? m : m + 1;
                        int nd = d < model_mdays(y, m) ? d + 1 : 1;

                        if (pm < 1 || nm > 12 || mo->kind[m][d])
                                continue;
                        if (pd == 0)
                                pd = model_mdays(y, pm);
                        if (mo->kind[pm][pd] == 'N' && mo->kind[nm][nd] == 'N')
                                mo->kind[m][d] = 'C';
                }
}

static void model_string(int y, bool kinds, char *buf, size_t size) {
        Model mo;
        size_t o = 0;

        model_year(y, &mo);
        buf[0] = '\0';
        for (int m = 1; m <= 12; m++)
                for (int d = 1; d <= model_mdays(y, m); d++) {
                        char k = mo.kind[m][d];
                        const char *suffix = "";

                        if (!k)
                                continue;
                        if (kinds && k == 'S')
                                suffix = "振";
                        else if (kinds && k == 'C')
                                suffix = "国";
                        o += (size_t) snprintf(buf + o, size - o, "%s%02d-%02d%s", o ? " " : "",
                                               m, d, suffix);
                        assert_true(o < size);
                }
}

/* ======================================================================== */
/* The rules. */

static const char *official_2025 = "01-01 01-13 02-11 02-23 02-24 03-20 04-29 05-03 05-04 "
                                   "05-05 05-06 07-21 08-11 09-15 09-23 10-13 11-03 11-23 11-24";
static const char *official_2026 = "01-01 01-12 02-11 02-23 03-20 04-29 05-03 05-04 05-05 "
                                   "05-06 07-20 08-11 09-21 09-22 09-23 10-12 11-03 11-23";
static const char *official_2027 = "01-01 01-11 02-11 02-23 03-21 03-22 04-29 05-03 05-04 "
                                   "05-05 07-19 08-11 09-20 09-23 10-11 11-03 11-23";

static void test_official_lists(void **state) {
        (void) state;
        assert_builtin(2025, false, official_2025);
        assert_builtin(2026, false, official_2026);
        assert_builtin(2027, false, official_2027);
}

static void test_official_names(void **state) {
        (void) state;
        assert_string_equal(builtin_name(D(2025, 2, 24)), "振替休日");
        assert_string_equal(builtin_name(D(2025, 11, 24)), "振替休日");
        assert_string_equal(builtin_name(D(2025, 5, 6)), "振替休日");
        assert_string_equal(builtin_name(D(2026, 5, 6)), "振替休日");
        assert_string_equal(builtin_name(D(2026, 9, 22)), "国民の休日");
        assert_string_equal(builtin_name(D(2026, 10, 12)), "スポーツの日");
        assert_string_equal(builtin_name(D(2027, 3, 22)), "振替休日");
        assert_string_equal(builtin_name(D(2025, 1, 1)), "元日");
        assert_string_equal(builtin_name(D(2025, 1, 13)), "成人の日");
        assert_string_equal(builtin_name(D(2025, 2, 11)), "建国記念の日");
        assert_string_equal(builtin_name(D(2025, 2, 23)), "天皇誕生日");
        assert_string_equal(builtin_name(D(2025, 3, 20)), "春分の日");
        assert_string_equal(builtin_name(D(2025, 4, 29)), "昭和の日");
        assert_string_equal(builtin_name(D(2025, 5, 3)), "憲法記念日");
        assert_string_equal(builtin_name(D(2025, 5, 4)), "みどりの日");
        assert_string_equal(builtin_name(D(2025, 5, 5)), "こどもの日");
        assert_string_equal(builtin_name(D(2025, 7, 21)), "海の日");
        assert_string_equal(builtin_name(D(2025, 8, 11)), "山の日");
        assert_string_equal(builtin_name(D(2025, 9, 15)), "敬老の日");
        assert_string_equal(builtin_name(D(2025, 9, 23)), "秋分の日");
        assert_string_equal(builtin_name(D(2025, 11, 3)), "文化の日");
        assert_string_equal(builtin_name(D(2025, 11, 23)), "勤労感謝の日");
}

/* The model reproduces the official lists, kinds included. */
static void test_model_matches_official(void **state) {
        char buf[1024];

        (void) state;
        model_string(2025, false, buf, sizeof(buf));
        assert_string_equal(buf, official_2025);
        model_string(2026, false, buf, sizeof(buf));
        assert_string_equal(buf, official_2026);
        model_string(2027, false, buf, sizeof(buf));
        assert_string_equal(buf, official_2027);
        model_string(2026, true, buf, sizeof(buf));
        assert_non_null(strstr(buf, "05-06振 "));
        assert_non_null(strstr(buf, "09-22国 "));
}

static void test_rules_2028_2031(void **state) {
        char expected[1024];

        (void) state;
        for (int y = 2028; y <= 2031; y++) {
                model_string(y, true, expected, sizeof(expected));
                assert_builtin(y, true, expected);
        }
        /* Spot checks written out by hand. */
        assert_builtin(2029, true, "01-01 01-08 02-11 02-12振 02-23 03-20 04-29 04-30振 05-03 "
                       "05-04 05-05 07-16 08-11 09-17 09-23 09-24振 10-08 11-03 11-23");
        assert_builtin(2031, true, "01-01 01-13 02-11 02-23 02-24振 03-21 04-29 05-03 05-04 "
                       "05-05 05-06振 07-21 08-11 09-15 09-23 10-13 11-03 11-23 11-24振");
}

/* Every year under the current text of the Act. */
static void test_rules_2022_2099(void **state) {
        char expected[1024];

        (void) state;
        for (int y = 2022; y <= HOLIDAYS_YEAR_MAX; y++) {
                model_string(y, true, expected, sizeof(expected));
                assert_builtin(y, true, expected);
        }
}

static int builtin_find(int year, const char *name) {
        Holiday h[HOLIDAYS_PER_YEAR_MAX];
        int n = holidays_builtin(year, h), y, m, d;

        for (int i = 0; i < n; i++)
                if (streq(h[i].name, name)) {
                        day_to_ymd(h[i].day, &y, &m, &d);
                        return m * 100 + d;
                }
        return 0;
}

static void test_equinox(void **state) {
        /* The days the National Astronomical Observatory announced (暦要項),
         * 2000–2027, then the projection of the table above. */
        static const int vernal[] = {
                20, 20, 21, 21, 20, 20, 21, 21, 20, 20, 21, 21, 20, 20,
                21, 21, 20, 20, 21, 21, 20, 20, 21, 21, 20, 20, 20, 21,
        };
        static const int autumnal[] = {
                23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 23, 22, 23,
                23, 23, 22, 23, 23, 23, 22, 23, 23, 23, 22, 23, 23, 23,
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(vernal); i++) {
                int y = 2000 + (int) i;

                assert_int_equal(builtin_find(y, "春分の日"), 300 + vernal[i]);
                assert_int_equal(builtin_find(y, "秋分の日"), 900 + autumnal[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(equinox_2028); i++) {
                int y = equinox_2028[i].year, k = y - 1980;

                assert_int_equal(builtin_find(y, "春分の日"), 300 + equinox_2028[i].vernal);
                assert_int_equal(builtin_find(y, "秋分の日"), 900 + equinox_2028[i].autumnal);
                /* The hand-worked table agrees with the formula. */
                assert_int_equal(equinox_2028[i].vernal,
                                 (int) floor(20.8431 + 0.242194 * k - floor(k / 4.0)));
                assert_int_equal(equinox_2028[i].autumnal,
                                 (int) floor(23.2488 + 0.242194 * k - floor(k / 4.0)));
        }
        for (int y = 2000; y <= 2099; y++) {
                assert_int_equal(builtin_find(y, "春分の日"), 300 + model_equinox(y, false));
                assert_int_equal(builtin_find(y, "秋分の日"), 900 + model_equinox(y, true));
        }
}

static void test_special_years(void **state) {
        (void) state;
        /* Happy Monday begins: 成人の日 and 体育の日 move, 海の日 and 敬老の日
         * not yet; 5/4 between two 祝日 is a 国民の休日. */
        assert_builtin(2000, true, "01-01 01-10 02-11 03-20 04-29 05-03 05-04国 05-05 07-20 "
                       "09-15 09-23 10-09 11-03 11-23 12-23");
        /* Old rules: Sunday 5/4 is no 国民の休日 and moves nothing. */
        assert_builtin(2003, true, "01-01 01-13 02-11 03-21 04-29 05-03 05-05 07-21 09-15 "
                       "09-23 10-13 11-03 11-23 11-24振 12-23");
        assert_builtin(2006, true, "01-01 01-02振 01-09 02-11 03-21 04-29 05-03 05-04国 05-05 "
                       "07-17 09-18 09-23 10-09 11-03 11-23 12-23");
        assert_builtin(2007, true, "01-01 01-08 02-11 02-12振 03-21 04-29 04-30振 05-03 05-04 "
                       "05-05 07-16 09-17 09-23 09-24振 10-08 11-03 11-23 12-23 12-24振");
        /* 5/4 Sunday, 5/5 Monday: the substitute skips to 5/6. */
        assert_builtin(2008, true, "01-01 01-14 02-11 03-20 04-29 05-03 05-04 05-05 05-06振 "
                       "07-21 09-15 09-23 10-13 11-03 11-23 11-24振 12-23");
        /* Silver Weeks. */
        assert_builtin(2009, true, "01-01 01-12 02-11 03-20 04-29 05-03 05-04 05-05 05-06振 "
                       "07-20 09-21 09-22国 09-23 10-12 11-03 11-23 12-23");
        assert_builtin(2015, true, "01-01 01-12 02-11 03-21 04-29 05-03 05-04 05-05 05-06振 "
                       "07-20 09-21 09-22国 09-23 10-12 11-03 11-23 12-23");
        /* The enthronement; no 天皇誕生日. */
        assert_builtin(2019, true, "01-01 01-14 02-11 03-21 04-29 04-30国 05-01 05-02国 05-03 "
                       "05-04 05-05 05-06振 07-15 08-11 08-12振 09-16 09-23 10-14 10-22 "
                       "11-03 11-04振 11-23");
        /* The Olympics. */
        assert_builtin(2020, true, "01-01 01-13 02-11 02-23 02-24振 03-20 04-29 05-03 05-04 "
                       "05-05 05-06振 07-23 07-24 08-10 09-21 09-22 11-03 11-23");
        assert_builtin(2021, true, "01-01 01-11 02-11 02-23 03-20 04-29 05-03 05-04 05-05 "
                       "07-22 07-23 08-08 08-09振 09-20 09-23 11-03 11-23");

        assert_string_equal(builtin_name(D(2006, 4, 29)), "みどりの日");
        assert_string_equal(builtin_name(D(2007, 4, 29)), "昭和の日");
        assert_string_equal(builtin_name(D(2007, 5, 4)), "みどりの日");
        assert_string_equal(builtin_name(D(2015, 9, 22)), "国民の休日");
        assert_string_equal(builtin_name(D(2016, 8, 11)), "山の日");
        assert_string_equal(builtin_name(D(2018, 12, 23)), "天皇誕生日");
        assert_string_equal(builtin_name(D(2019, 4, 30)), "国民の休日");
        assert_string_equal(builtin_name(D(2019, 5, 1)), "天皇の即位の日");
        assert_string_equal(builtin_name(D(2019, 5, 2)), "国民の休日");
        assert_string_equal(builtin_name(D(2019, 10, 14)), "体育の日");
        assert_string_equal(builtin_name(D(2019, 10, 22)), "即位礼正殿の儀の行われる日");
        assert_string_equal(builtin_name(D(2020, 7, 24)), "スポーツの日");
        assert_string_equal(builtin_name(D(2020, 8, 10)), "山の日");
        assert_string_equal(builtin_name(D(2021, 7, 22)), "海の日");
        assert_string_equal(builtin_name(D(2021, 8, 8)), "山の日");
        assert_string_equal(builtin_name(D(2021, 8, 9)), "振替休日");
}

static void test_builtin_range(void **state) {
        Holiday h[HOLIDAYS_PER_YEAR_MAX];

        (void) state;
        assert_int_equal(holidays_builtin(HOLIDAYS_YEAR_MIN - 1, h), -ERANGE);
        assert_int_equal(holidays_builtin(HOLIDAYS_YEAR_MAX + 1, h), -ERANGE);
        assert_int_equal(holidays_builtin(-5, h), -ERANGE);
        for (int y = HOLIDAYS_YEAR_MIN; y <= HOLIDAYS_YEAR_MAX; y++) {
                int n = holidays_builtin(y, h);

                assert_in_range(n, 15, 22);
                for (int i = 0; i < n; i++) {
                        int hy, m, d;

                        day_to_ymd(h[i].day, &hy, &m, &d);
                        assert_int_equal(hy, y);
                        assert_non_null(h[i].name);
                        if (i > 0)
                                assert_true(h[i - 1].day < h[i].day);
                }
        }
}

/* ======================================================================== */
/* Business days. */

static void test_business_day_counts(void **state) {
        Calendar *c = calendar_from(&default_conf);

        (void) state;
        assert_int_equal(calendar_business_days_in_year(c, 2025), 241);
        assert_int_equal(calendar_business_days_in_year(c, 2026), 240);
        assert_int_equal(calendar_business_days_in_year(c, 2027), 242);
        assert_int_equal(calendar_business_days_in_year(c, 0), -ERANGE);
        assert_int_equal(calendar_open_sec(c), 9 * 3600);
        assert_int_equal(calendar_close_sec(c), 17 * 3600);
        c = calendar_free(c);
        assert_null(c);
        assert_null(calendar_free(NULL));
}

static void test_calendar_queries(void **state) {
        Calendar *c = calendar_from(&default_conf);
        Holiday h[HOLIDAYS_PER_YEAR_MAX];
        const char *name = NULL;
        char buf[1024];
        int n;

        (void) state;
        n = calendar_holidays(c, 2026, h);
        assert_int_equal(n, 18);
        days_string(h, n, 2026, false, buf, sizeof(buf));
        assert_string_equal(buf, official_2026);
        assert_int_equal(calendar_holidays(c, 1999, h), -ERANGE);
        assert_int_equal(calendar_holidays(c, 2100, h), -ERANGE);

        assert_true(calendar_is_holiday(c, D(2026, 9, 22), &name));
        assert_string_equal(name, "国民の休日");
        assert_true(calendar_is_holiday(c, D(2026, 5, 6), NULL));
        name = "untouched";
        assert_false(calendar_is_holiday(c, D(2026, 5, 7), &name));
        assert_string_equal(name, "untouched");
        assert_false(calendar_is_holiday(c, D(2150, 1, 1), NULL));
        assert_false(calendar_is_holiday(c, DAY_INVALID, NULL));

        /* Saturday, Sunday, holiday, closure, an ordinary Friday. */
        assert_false(calendar_is_business_day(c, D(2026, 5, 2)));
        assert_false(calendar_is_business_day(c, D(2026, 5, 3)));
        assert_false(calendar_is_business_day(c, D(2026, 5, 6)));
        assert_false(calendar_is_business_day(c, D(2026, 12, 29)));
        assert_true(calendar_is_business_day(c, D(2026, 5, 1)));
        assert_true(calendar_is_closed(c, D(2026, 12, 31)));
        assert_true(calendar_is_closed(c, D(2027, 1, 3)));
        assert_false(calendar_is_closed(c, D(2027, 1, 4)));
        assert_false(calendar_is_closed(c, D(2026, 12, 28)));
        assert_false(calendar_is_closed(c, D(2026, 5, 6)));     /* a holiday, not a closure */
        /* Beyond the rules' years: weekdays and the closure only. */
        assert_true(calendar_is_business_day(c, D(2150, 1, 5)));
        assert_false(calendar_is_business_day(c, D(2150, 1, 2)));
        assert_false(calendar_is_business_day(c, DAY_INVALID));
        assert_false(calendar_is_business_day(c, INT32_MAX));
        c = calendar_free(c);
}

static void test_next_business_day(void **state) {
        Calendar *c = calendar_from(&default_conf);

        (void) state;
        /* Golden Week 2026. */
        assert_int_equal(calendar_next_business_day(c, D(2026, 4, 28)), D(2026, 4, 30));
        assert_int_equal(calendar_next_business_day(c, D(2026, 4, 30)), D(2026, 5, 1));
        assert_int_equal(calendar_next_business_day(c, D(2026, 5, 1)), D(2026, 5, 7));
        assert_int_equal(calendar_next_business_day(c, D(2026, 5, 3)), D(2026, 5, 7));
        /* Silver Week 2026: 9/19 Sat .. 9/23 Wed. */
        assert_int_equal(calendar_next_business_day(c, D(2026, 9, 18)), D(2026, 9, 24));
        /* The year-end closure. */
        assert_int_equal(calendar_next_business_day(c, D(2025, 12, 26)), D(2026, 1, 5));
        assert_int_equal(calendar_next_business_day(c, D(2026, 12, 28)), D(2027, 1, 4));
        assert_int_equal(calendar_next_business_day(c, D(2027, 12, 28)), D(2028, 1, 4));
        assert_int_equal(calendar_next_business_day(c, D(2099, 12, 28)), D(2100, 1, 4));

        assert_int_equal(calendar_business_day_on_or_before(c, D(2026, 5, 7)), D(2026, 5, 7));
        assert_int_equal(calendar_business_day_on_or_before(c, D(2026, 5, 6)), D(2026, 5, 1));
        assert_int_equal(calendar_business_day_on_or_before(c, D(2027, 1, 3)), D(2026, 12, 28));
        assert_int_equal(calendar_business_day_on_or_before(c, D(2028, 1, 3)), D(2027, 12, 28));
        assert_int_equal(calendar_business_day_on_or_before(c, D(2026, 9, 23)), D(2026, 9, 18));

        assert_int_equal(calendar_next_business_day(c, DAY_INVALID), DAY_INVALID);
        assert_int_equal(calendar_business_day_on_or_before(c, DAY_INVALID), DAY_INVALID);
        assert_int_equal(calendar_next_business_day(c, D(9999, 12, 31)), DAY_INVALID);
        c = calendar_free(c);
}

static void test_closures(void **state) {
        CalendarConf conf = default_conf;
        Day extra[] = { D(2026, 6, 1), D(2026, 6, 1), D(2025, 6, 2) };
        Calendar *c;

        (void) state;
        /* Without the year-end closure: 12/29–12/31 (Tue–Thu) and 1/2 (Fri). */
        conf.closure_enabled = false;
        c = calendar_from(&conf);
        assert_int_equal(calendar_business_days_in_year(c, 2026), 244);
        assert_true(calendar_is_business_day(c, D(2026, 12, 29)));
        assert_false(calendar_is_closed(c, D(2026, 12, 29)));
        assert_false(calendar_is_business_day(c, D(2027, 1, 1)));
        assert_int_equal(calendar_next_business_day(c, D(2026, 12, 28)), D(2026, 12, 29));
        c = calendar_free(c);

        /* A range that does not wrap: 8/13 Thu .. 8/16 Sun. */
        conf.closure_enabled = true;
        conf.closure_start_month = 8;
        conf.closure_start_day = 13;
        conf.closure_end_month = 8;
        conf.closure_end_day = 16;
        c = calendar_from(&conf);
        assert_int_equal(calendar_business_days_in_year(c, 2026), 242);
        assert_false(calendar_is_closed(c, D(2026, 8, 12)));
        assert_true(calendar_is_closed(c, D(2026, 8, 13)));
        assert_true(calendar_is_closed(c, D(2026, 8, 16)));
        assert_false(calendar_is_closed(c, D(2026, 8, 17)));
        assert_false(calendar_is_closed(c, D(2026, 12, 30)));
        assert_int_equal(calendar_next_business_day(c, D(2026, 8, 12)), D(2026, 8, 17));
        c = calendar_free(c);

        /* Extra closures, given unsorted with a duplicate. */
        conf = default_conf;
        conf.extra_closed = extra;
        conf.n_extra_closed = ELEMENTSOF(extra);
        c = calendar_from(&conf);
        assert_int_equal(calendar_business_days_in_year(c, 2026), 239);
        assert_int_equal(calendar_business_days_in_year(c, 2025), 240);
        assert_true(calendar_is_closed(c, D(2026, 6, 1)));
        assert_false(calendar_is_business_day(c, D(2026, 6, 1)));
        assert_int_equal(calendar_next_business_day(c, D(2026, 5, 29)), D(2026, 6, 2));
        assert_int_equal(calendar_business_day_on_or_before(c, D(2026, 6, 1)), D(2026, 5, 29));
        c = calendar_free(c);
}

static void test_everything_closed(void **state) {
        CalendarConf conf = default_conf;
        Calendar *c;

        (void) state;
        conf.closure_start_month = 1;
        conf.closure_start_day = 1;
        conf.closure_end_month = 12;
        conf.closure_end_day = 31;
        c = calendar_from(&conf);
        assert_int_equal(calendar_business_days_in_year(c, 2026), 0);
        assert_int_equal(calendar_next_business_day(c, D(2026, 6, 1)), DAY_INVALID);
        assert_int_equal(calendar_business_day_on_or_before(c, D(2026, 6, 1)), DAY_INVALID);
        c = calendar_free(c);
}

static void test_conf_is_copied(void **state) {
        CalendarConf conf = default_conf;
        Calendar *c;

        (void) state;
        conf.extra_closed = malloc(sizeof(Day));
        assert_non_null(conf.extra_closed);
        conf.extra_closed[0] = D(2026, 6, 1);
        conf.n_extra_closed = 1;
        conf.holidays_file = strdup("syukujitsu-2030.csv");
        assert_non_null(conf.holidays_file);
        c = calendar_from(&conf);

        /* The configuration goes away, as on a reload. */
        conf.extra_closed[0] = D(2026, 6, 2);
        free(conf.extra_closed);
        free(conf.holidays_file);
        conf = (CalendarConf) { 0 };

        assert_true(calendar_is_closed(c, D(2026, 6, 1)));
        assert_false(calendar_is_closed(c, D(2026, 6, 2)));
        assert_true(calendar_is_holiday(c, D(2030, 6, 4), NULL));
        assert_int_equal(calendar_open_sec(c), 9 * 3600);
        c = calendar_free(c);
}

static void test_bad_conf(void **state) {
        CalendarConf conf = default_conf;
        Calendar *c = NULL;
        char *error = NULL;

        (void) state;
        conf.closure_start_month = 13;
        assert_int_equal(calendar_new(&conf, NULL, &c, &error), -EINVAL);
        assert_null(c);
        assert_non_null(error);
        free(error);
        error = NULL;

        conf = default_conf;
        conf.open_sec = conf.close_sec;
        assert_int_equal(calendar_new(&conf, NULL, &c, &error), -EINVAL);
        assert_null(c);
        free(error);
}

/* ======================================================================== */
/* syukujitsu.csv */

static void load_ok(const char *path, Holiday **ret, size_t *ret_n) {
        char *error = NULL;
        int r;

        r = holidays_load_csv(path, ret, ret_n, &error);
        if (r < 0)
                fprintf(stderr, "%s: %s\n", path, error ?: strerror(-r));
        assert_int_equal(r, 0);
        assert_null(error);
}

static void data_path(const char *name, char *buf, size_t size) {
        assert_true((size_t) snprintf(buf, size, "%s/%s", data_dir, name) < size);
}

static const char *find_name(const Holiday *h, size_t n, Day day) {
        for (size_t i = 0; i < n; i++)
                if (h[i].day == day)
                        return h[i].name;
        return "(none)";
}

static void test_csv_sjis_equals_utf8_bom(void **state) {
        Holiday *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        char path[PATH_MAX + 64], buf[1024];

        (void) state;
        data_path("syukujitsu-sjis.csv", path, sizeof(path));
        load_ok(path, &a, &na);
        data_path("syukujitsu-utf8bom.csv", path, sizeof(path));
        load_ok(path, &b, &nb);

        assert_int_equal(na, 22 + 19 + 18 + 17);
        assert_int_equal(na, nb);
        for (size_t i = 0; i < na; i++) {
                assert_int_equal(a[i].day, b[i].day);
                assert_string_equal(a[i].name, b[i].name);
        }
        /* 2025 is rows 22..40, in order. */
        days_string(a + 22, 19, 2025, false, buf, sizeof(buf));
        assert_string_equal(buf, official_2025);
        days_string(a + 41, 18, 2026, false, buf, sizeof(buf));
        assert_string_equal(buf, official_2026);
        days_string(a + 59, 17, 2027, false, buf, sizeof(buf));
        assert_string_equal(buf, official_2027);
        assert_string_equal(find_name(a, na, D(2019, 5, 1)), "休日（祝日扱い）");
        assert_string_equal(find_name(a, na, D(2025, 1, 1)), "元日");
        assert_string_equal(find_name(a, na, D(2026, 10, 12)), "スポーツの日");
        assert_string_equal(find_name(a, na, D(2025, 2, 24)), "休日");

        holidays_free(a, na);
        holidays_free(b, nb);
        holidays_free(NULL, 0);
}

static void test_csv_variants(void **state) {
        static const char *variants[] = {
                /* Zero-padded, dashes, LF, no final newline. */
                HEADER "\n2026-01-01,元日\n2026-05-06,休日\n2026-09-22,休日",
                /* CRLF and a trailing empty line. */
                HEADER "\r\n2026/1/1,元日\r\n2026/5/6,休日\r\n2026/9/22,休日\r\n\r\n",
                /* Zero-padded slashes, out of order. */
                HEADER "\n2026/09/22,休日\n2026/01/01,元日\n2026/05/06,休日\n",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(variants); i++) {
                _cleanup_(freep) char *path = write_temp_str("variant.csv", variants[i]);
                Holiday *h = NULL;
                size_t n = 0;

                load_ok(path, &h, &n);
                assert_int_equal(n, 3);
                assert_int_equal(h[0].day, D(2026, 1, 1));
                assert_string_equal(h[0].name, "元日");
                assert_int_equal(h[1].day, D(2026, 5, 6));
                assert_int_equal(h[2].day, D(2026, 9, 22));
                assert_string_equal(h[2].name, "休日");
                holidays_free(h, n);
        }
}

static void test_csv_overrides_years(void **state) {
        CalendarConf conf = default_conf;
        Calendar *c, *plain;
        const char *name = NULL;
        Holiday h[HOLIDAYS_PER_YEAR_MAX];

        (void) state;
        plain = calendar_from(&default_conf);
        conf.holidays_file = (char *) "syukujitsu-2030.csv";   /* relative to data_dir */
        c = calendar_from(&conf);

        /* The made-up holiday of Tuesday 4 June 2030 costs one business day;
         * 2029 keeps the rules. */
        assert_int_equal(calendar_business_days_in_year(plain, 2030), 244);
        assert_int_equal(calendar_business_days_in_year(c, 2030), 243);
        assert_int_equal(calendar_business_days_in_year(plain, 2029), 245);
        assert_int_equal(calendar_business_days_in_year(c, 2029), 245);
        assert_true(calendar_is_holiday(c, D(2030, 6, 4), &name));
        assert_string_equal(name, "試験の日");
        assert_false(calendar_is_holiday(plain, D(2030, 6, 4), NULL));
        assert_int_equal(calendar_next_business_day(c, D(2030, 6, 3)), D(2030, 6, 5));

        /* The file's names for its years, the rules' for the others. */
        assert_true(calendar_is_holiday(c, D(2030, 5, 6), &name));
        assert_string_equal(name, "休日");
        assert_true(calendar_is_holiday(c, D(2029, 2, 12), &name));
        assert_string_equal(name, "振替休日");
        assert_int_equal(calendar_holidays(c, 2030, h), 20);
        assert_int_equal(calendar_holidays(c, 2029, h), 19);
        c = calendar_free(c);

        /* The Shift_JIS file by absolute path: same business days. */
        conf.holidays_file = malloc(PATH_MAX + 64);
        assert_non_null(conf.holidays_file);
        data_path("syukujitsu-sjis.csv", conf.holidays_file, PATH_MAX + 64);
        c = NULL;
        assert_int_equal(calendar_new(&conf, "/nonexistent", &c, NULL), 0);
        assert_non_null(c);
        free(conf.holidays_file);
        assert_int_equal(calendar_business_days_in_year(c, 2025), 241);
        assert_int_equal(calendar_business_days_in_year(c, 2026), 240);
        assert_int_equal(calendar_business_days_in_year(c, 2027), 242);
        assert_true(calendar_is_holiday(c, D(2019, 5, 1), &name));
        assert_string_equal(name, "休日（祝日扱い）");
        assert_true(calendar_is_holiday(c, D(2024, 2, 12), &name));
        assert_string_equal(name, "振替休日");
        c = calendar_free(c);
        plain = calendar_free(plain);
}

static void test_csv_years_outside_rules(void **state) {
        _cleanup_(freep) char *path = NULL;
        CalendarConf conf = default_conf;
        Holiday h[HOLIDAYS_PER_YEAR_MAX];
        Calendar *c;

        (void) state;
        path = write_temp_str("old.csv", HEADER "\n1990/1/1,元日\n1990/1/15,成人の日\n"
                              "2150/1/1,元日\n");
        conf.holidays_file = path;
        c = calendar_from(&conf);
        assert_int_equal(calendar_holidays(c, 1990, h), 2);
        assert_int_equal(h[1].day, D(1990, 1, 15));
        assert_int_equal(calendar_holidays(c, 1991, h), -ERANGE);
        assert_int_equal(calendar_holidays(c, 2150, h), 1);
        assert_int_equal(calendar_holidays(c, 2025, h), 19);
        assert_false(calendar_is_business_day(c, D(1990, 1, 15)));
        assert_true(calendar_is_business_day(c, D(1991, 1, 14)));
        assert_int_equal(calendar_next_business_day(c, D(1990, 1, 12)), D(1990, 1, 16));
        c = calendar_free(c);
}

static void expect_invalid(const char *content, size_t size, unsigned line) {
        _cleanup_(freep) char *path = write_temp("bad.csv", content, size);
        _cleanup_(freep) char *error = NULL, *want = NULL;
        Holiday *h = NULL;
        size_t n = 0;
        int r;

        r = holidays_load_csv(path, &h, &n, &error);
        assert_int_equal(r, -EINVAL);
        assert_null(h);
        assert_non_null(error);
        if (line > 0)
                assert_true(asprintf(&want, "%s:%u: ", path, line) > 0);
        else
                assert_true(asprintf(&want, "%s: ", path) > 0);
        if (strncmp(error, want, strlen(want)) != 0)
                fprintf(stderr, "error \"%s\" does not start with \"%s\"\n", error, want);
        assert_memory_equal(error, want, strlen(want));
}

static void test_csv_malformed(void **state) {
        static const struct {
                const char *content;
                unsigned line;
        } cases[] = {
                { "date,name\n2025/1/1,元日\n", 1 },
                { "2025/1/1,元日\n", 1 },
                { HEADER "\n2025/1/1,元日\n2025/13/1,x\n", 3 },
                { HEADER "\n2025/2/29,x\n", 2 },
                { HEADER "\n2025/1/1\n", 2 },
                { HEADER "\n2025/1/1,\n", 2 },
                { HEADER "\n\n2025/1/1,元日\n", 2 },
                { HEADER "\n2025/1/1,元日\n2025/1/1,元日\n", 3 },
                { HEADER "\n25/1/1,元日\n", 2 },
                { HEADER "\n2025/1-1,元日\n", 2 },
                { HEADER "\n2025/1/1,元日,extra\n", 2 },
                { HEADER "\n 2025/1/1,元日\n", 2 },
                { HEADER "\n2025/1/1 ,元日\n", 2 },
                { HEADER "\n2025/001/1,元日\n", 2 },
                { HEADER "\r\n2025/1/1,元日\r\n2025/01/x,y\r\n", 3 },
                { HEADER "\n2025/1/1,\"元日\"\n", 2 },
                { HEADER "\n2025/1/1,\x1b[31m\n", 2 },
                { HEADER "\n1899/12/31,x\n", 2 },
                { "\xEF\xBB\xBF" HEADER "\n2025/1/1,元日\n2025/1/2,\xff\n", 3 },
                { HEADER "\n2025/1/1,元日\n2025/1/2,\xe5\x85\n", 3 },
                /* Not UTF-8, and not Shift_JIS either (0x81 0x20). */
                { HEADER_SJIS "\r\n2025/1/1,x\r\n2025/1/2,\x81\x20\r\n", 3 },
                { HEADER "\n", 0 },
                { HEADER, 0 },
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                expect_invalid(cases[i].content, strlen(cases[i].content), cases[i].line);

        /* A NUL byte on line 2. */
        expect_invalid(HEADER "\n2025/1/1,元\0日\n", sizeof(HEADER "\n2025/1/1,元\0日\n") - 1, 2);
}

static void test_csv_too_many_in_a_year(void **state) {
        char buf[4096];
        size_t o;

        (void) state;
        o = (size_t) snprintf(buf, sizeof(buf), "%s\n", HEADER);
        for (int i = 1; i <= HOLIDAYS_PER_YEAR_MAX + 1; i++)
                o += (size_t) snprintf(buf + o, sizeof(buf) - o, "2025/%d/%d,x\n",
                                       1 + (i - 1) / 28, 1 + (i - 1) % 28);
        /* Row i is on line i + 1. */
        expect_invalid(buf, o, HOLIDAYS_PER_YEAR_MAX + 2);
}

static void test_csv_unreadable(void **state) {
        _cleanup_(freep) char *big = NULL, *dir = NULL, *missing = NULL, *error = NULL;
        CalendarConf conf = default_conf;
        Calendar *c = NULL;
        Holiday *h = NULL;
        size_t n = 0;

        (void) state;
        expect_invalid("", 0, 0);
        expect_invalid("\xEF\xBB\xBF", 3, 1);

        big = malloc(1024 * 1024 + 1);
        assert_non_null(big);
        memset(big, 'a', 1024 * 1024 + 1);
        expect_invalid(big, 1024 * 1024 + 1, 0);

        assert_true(asprintf(&dir, "%s/dir.csv", tmp_dir) > 0);
        assert_int_equal(mkdir(dir, 0700), 0);
        assert_int_equal(holidays_load_csv(dir, &h, &n, NULL), -EISDIR);
        assert_int_equal(rmdir(dir), 0);

        assert_true(asprintf(&missing, "%s/missing.csv", tmp_dir) > 0);
        assert_int_equal(holidays_load_csv(missing, &h, &n, &error), -ENOENT);
        assert_null(h);
        assert_non_null(error);
        assert_non_null(strstr(error, missing));
        free(TAKE_PTR(error));

        /* Through calendar_new(): relative to base_dir, nothing returned. */
        conf.holidays_file = (char *) "missing.csv";
        assert_int_equal(calendar_new(&conf, tmp_dir, &c, &error), -ENOENT);
        assert_null(c);
        assert_non_null(error);
        assert_non_null(strstr(error, missing));
        free(TAKE_PTR(error));

        free(write_temp_str("bad2.csv", HEADER "\n2025/1/1,元日\n2025/2/30,x\n"));
        conf.holidays_file = (char *) "bad2.csv";
        assert_int_equal(calendar_new(&conf, tmp_dir, &c, &error), -EINVAL);
        assert_null(c);
        assert_non_null(error);
        assert_non_null(strstr(error, "/bad2.csv:3: "));
}

static uint64_t rng_state = 0x9E3779B97F4A7C15u;

static uint64_t rng(void) {
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        return rng_state;
}

static void load_anything(const void *data, size_t size) {
        _cleanup_(freep) char *path = write_temp("fuzz.csv", data, size);
        char *error = NULL;
        Holiday *h = NULL;
        size_t n = 0;
        int r;

        r = holidays_load_csv(path, &h, &n, &error);
        if (r == 0) {
                assert_non_null(h);
                assert_true(n > 0);
                for (size_t i = 1; i < n; i++)
                        assert_true(h[i - 1].day < h[i].day);
                holidays_free(h, n);
                assert_null(error);
        } else {
                assert_int_equal(r, -EINVAL);
                assert_non_null(error);
                assert_memory_equal(error, path, strlen(path));
                free(error);
        }
}

/* Random bytes and mutated files: an error or a result, never a crash
 * (run under ASan/UBSan with SANITIZE=1). */
static void test_csv_garbage(void **state) {
        static const char *fixtures[] = { "syukujitsu-sjis.csv", "syukujitsu-utf8bom.csv" };
        unsigned char buf[4096];

        (void) state;
        for (int i = 0; i < 150; i++) {
                size_t size = 1 + rng() % sizeof(buf);

                for (size_t k = 0; k < size; k++)
                        buf[k] = (unsigned char) rng();
                load_anything(buf, size);
        }

        for (size_t f = 0; f < ELEMENTSOF(fixtures); f++) {
                _cleanup_(freep) char *orig = NULL;
                char path[PATH_MAX + 64];
                size_t size;

                data_path(fixtures[f], path, sizeof(path));
                orig = read_whole(path, &size);
                load_anything(orig, size);
                for (int i = 0; i < 150; i++) {
                        size_t cut = size;

                        memcpy(buf, orig, size);
                        for (int k = 0, m = 1 + (int) (rng() % 4); k < m; k++)
                                buf[rng() % size] = (unsigned char) rng();
                        if (rng() % 4 == 0)
                                cut = rng() % size;
                        load_anything(buf, cut);
                }
        }
}

/* ======================================================================== */

static int setup(void **state) {
        const char *env = getenv("FIELDWATCH_TEST_DATA");
        const char *slash = strrchr(__FILE__, '/');
        char resolved[PATH_MAX];

        (void) state;
        if (env)
                snprintf(data_dir, sizeof(data_dir), "%s", env);
        else if (slash)
                snprintf(data_dir, sizeof(data_dir), "%.*s/data", (int) (slash - __FILE__),
                         __FILE__);
        else
                snprintf(data_dir, sizeof(data_dir), "data");

        /* Absolute, so that it does not depend on calendar_new()'s base_dir. */
        if (!realpath(data_dir, resolved))
                return -1;
        snprintf(data_dir, sizeof(data_dir), "%s", resolved);

        snprintf(tmp_dir, sizeof(tmp_dir), "/tmp/test-calendar.XXXXXX");
        return mkdtemp(tmp_dir) ? 0 : -1;
}

static int teardown(void **state) {
        DIR *d = opendir(tmp_dir);
        struct dirent *de;

        (void) state;
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (de->d_name[0] != '.')
                        (void) unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
        return rmdir(tmp_dir);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_official_lists),
                cmocka_unit_test(test_official_names),
                cmocka_unit_test(test_model_matches_official),
                cmocka_unit_test(test_rules_2028_2031),
                cmocka_unit_test(test_rules_2022_2099),
                cmocka_unit_test(test_equinox),
                cmocka_unit_test(test_special_years),
                cmocka_unit_test(test_builtin_range),
                cmocka_unit_test(test_business_day_counts),
                cmocka_unit_test(test_calendar_queries),
                cmocka_unit_test(test_next_business_day),
                cmocka_unit_test(test_closures),
                cmocka_unit_test(test_everything_closed),
                cmocka_unit_test(test_conf_is_copied),
                cmocka_unit_test(test_bad_conf),
                cmocka_unit_test(test_csv_sjis_equals_utf8_bom),
                cmocka_unit_test(test_csv_variants),
                cmocka_unit_test(test_csv_overrides_years),
                cmocka_unit_test(test_csv_years_outside_rules),
                cmocka_unit_test(test_csv_malformed),
                cmocka_unit_test(test_csv_too_many_in_a_year),
                cmocka_unit_test(test_csv_unreadable),
                cmocka_unit_test(test_csv_garbage),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
