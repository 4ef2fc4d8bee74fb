/* SPDX-License-Identifier: MIT */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "macro.h"
#include "timeutil.h"

static int setup_tokyo(void **state) {
        (void) state;
        /* The unit tests run with TZ=America/New_York: tz_use must override it. */
        return tz_use("Asia/Tokyo");
}

static void test_day_roundtrip(void **state) {
        (void) state;
        assert_int_equal(day_from_ymd(1970, 1, 1), 0);
        assert_int_equal(day_from_ymd(2000, 3, 1), 11017);
        for (Day d = day_from_ymd(1999, 12, 1); d < day_from_ymd(2101, 1, 1); d++) {
                int y, m, dd;

                day_to_ymd(d, &y, &m, &dd);
                assert_true(ymd_valid(y, m, dd));
                assert_int_equal(day_from_ymd(y, m, dd), d);
        }
}

static void test_weekday(void **state) {
        (void) state;
        assert_int_equal(day_weekday(0), 4);                           /* Thursday */
        assert_int_equal(day_weekday(day_from_ymd(2026, 11, 25)), 3);  /* Wednesday */
        assert_int_equal(day_weekday(day_from_ymd(2027, 3, 21)), 0);   /* Sunday */
        assert_int_equal(day_weekday(day_from_ymd(1969, 12, 31)), 3);
}

static void test_month_lengths(void **state) {
        (void) state;
        assert_int_equal(days_in_month(2024, 2), 29);
        assert_int_equal(days_in_month(2100, 2), 28);
        assert_int_equal(days_in_month(2000, 2), 29);
        assert_int_equal(days_in_month(2025, 4), 30);
        assert_false(ymd_valid(2025, 2, 29));
        assert_false(ymd_valid(2025, 13, 1));
        assert_false(ymd_valid(2025, 0, 1));
        assert_false(ymd_valid(2025, 1, 0));
}

static void test_parse_date(void **state) {
        Day d;

        (void) state;
        assert_int_equal(parse_iso_date("2025-12-01", &d), 0);
        assert_int_equal(d, day_from_ymd(2025, 12, 1));
        assert_int_equal(parse_iso_date("2025-02-30", &d), -EINVAL);
        assert_int_equal(parse_iso_date("2025-2-3", &d), -EINVAL);
        assert_int_equal(parse_iso_date("2025-12-01x", &d), -EINVAL);
        assert_int_equal(parse_iso_date("", &d), -EINVAL);
}

static void test_parse_datetime(void **state) {
        char buf[ISO_DATETIME_MAX];
        time_t t, u;

        (void) state;
        /* Contract-local without an offset. */
        assert_int_equal(parse_iso_datetime("2026-11-25T14:00", &t), 0);
        assert_string_equal(format_iso_datetime(t, buf), "2026-11-25T14:00:00+09:00");
        assert_int_equal(parse_iso_datetime("2026-11-25 14:00:30", &u), 0);
        assert_int_equal(u - t, 30);
        /* Z and other offsets. */
        assert_int_equal(parse_iso_datetime("2026-11-25T05:00:00Z", &u), 0);
        assert_int_equal(u, t);
        assert_int_equal(parse_iso_datetime("2026-11-25T00:00:00-05:00", &u), 0);
        assert_int_equal(u, t);
        assert_int_equal(parse_iso_datetime("2026-11-25T10:30:00+0530", &u), 0);
        assert_int_equal(u, t);
        assert_int_equal(parse_iso_datetime("2026-11-25T14:00:00.250+09", &u), 0);
        assert_int_equal(u, t);
        assert_int_equal(t, (time_t) 1795582800);
        /* A bare date is midnight, contract time. */
        assert_int_equal(parse_iso_datetime("2026-11-25", &u), 0);
        assert_string_equal(format_iso_datetime(u, buf), "2026-11-25T00:00:00+09:00");
        /* Rejections. */
        assert_int_equal(parse_iso_datetime("2026-11-25T24:00", &u), -EINVAL);
        assert_int_equal(parse_iso_datetime("2026-11-25T14:60", &u), -EINVAL);
        assert_int_equal(parse_iso_datetime("2026-11-25T14", &u), -EINVAL);
        assert_int_equal(parse_iso_datetime("2026-11-25T14:00+25:00", &u), -EINVAL);
        assert_int_equal(parse_iso_datetime("2026-11-25T14:00Zjunk", &u), -EINVAL);
        assert_int_equal(parse_iso_datetime("2026-11-25T14:00:00.", &u), -EINVAL);
        assert_int_equal(parse_iso_datetime("tomorrow", &u), -EINVAL);
}

static void test_local_split(void **state) {
        time_t t;
        Day d;
        int sec;

        (void) state;
        assert_int_equal(parse_iso_datetime("2026-01-01T00:30:00+09:00", &t), 0);
        assert_int_equal(local_from_instant(t, &d, &sec), 0);
        assert_int_equal(d, day_from_ymd(2026, 1, 1));
        assert_int_equal(sec, 1800);
        assert_int_equal(instant_from_local(d, sec, &t), 0);
        assert_int_equal(parse_iso_datetime("2025-12-31T15:30:00Z", &t), 0);
        assert_int_equal(local_from_instant(t, &d, &sec), 0);
        assert_int_equal(d, day_from_ymd(2026, 1, 1));
}

static void test_tz_use(void **state) {
        (void) state;
        assert_int_equal(tz_use("../etc/passwd"), -EINVAL);
        assert_int_equal(tz_use("/etc/localtime"), -EINVAL);
        assert_int_equal(tz_use("Asia/Nowhere"), -ENOENT);
        assert_int_equal(tz_use("Asia"), -ENOENT);
        assert_int_equal(tz_use(""), -EINVAL);
        assert_string_equal(tz_current(), "Asia/Tokyo");
}

static void test_duration(void **state) {
        char buf[DURATION_MAX];
        uint64_t u;

        (void) state;
        assert_int_equal(parse_duration("90s", &u), 0);
        assert_int_equal(u, 90 * USEC_PER_SEC);
        assert_int_equal(parse_duration("10m", &u), 0);
        assert_int_equal(u, 600 * USEC_PER_SEC);
        assert_int_equal(parse_duration("2h", &u), 0);
        assert_int_equal(u, 2 * USEC_PER_HOUR);
        assert_int_equal(parse_duration("14d", &u), 0);
        assert_int_equal(u, 14 * USEC_PER_DAY);
        assert_int_equal(parse_duration("500ms", &u), 0);
        assert_int_equal(u, 500 * USEC_PER_MSEC);
        assert_int_equal(parse_duration("1h30m", &u), 0);
        assert_int_equal(u, 90 * USEC_PER_MINUTE);
        assert_int_equal(parse_duration("0s", &u), 0);
        assert_int_equal(u, 0);
        assert_int_equal(parse_duration("", &u), -EINVAL);
        assert_int_equal(parse_duration("10", &u), -EINVAL);
        assert_int_equal(parse_duration("s", &u), -EINVAL);
        assert_int_equal(parse_duration("10x", &u), -EINVAL);
        assert_int_equal(parse_duration("10 m", &u), -EINVAL);
        assert_int_equal(parse_duration("-5s", &u), -EINVAL);
        assert_int_equal(parse_duration("10min", &u), -EINVAL);
        assert_int_equal(parse_duration("99999999999999999999d", &u), -ERANGE);
        assert_int_equal(parse_duration("9999999999999d", &u), -ERANGE);
        assert_string_equal(format_duration(90 * USEC_PER_SEC, buf), "1m30s");
        assert_string_equal(format_duration(14 * USEC_PER_DAY, buf), "14d");
        assert_string_equal(format_duration(0, buf), "0s");
}

static void test_hhmm_mmdd(void **state) {
        int s, m, d;

        (void) state;
        assert_int_equal(parse_hhmm("09:00", &s), 0);
        assert_int_equal(s, 32400);
        assert_int_equal(parse_hhmm("24:00", &s), 0);
        assert_int_equal(s, 86400);
        assert_int_equal(parse_hhmm("24:01", &s), -EINVAL);
        assert_int_equal(parse_hhmm("9:00", &s), -EINVAL);
        assert_int_equal(parse_hhmm("09:60", &s), -EINVAL);
        assert_int_equal(parse_mmdd("12-29", &m, &d), 0);
        assert_int_equal(m, 12);
        assert_int_equal(d, 29);
        assert_int_equal(parse_mmdd("02-29", &m, &d), 0);
        assert_int_equal(parse_mmdd("02-30", &m, &d), -EINVAL);
        assert_int_equal(parse_mmdd("13-01", &m, &d), -EINVAL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_day_roundtrip),   cmocka_unit_test(test_weekday),
                cmocka_unit_test(test_month_lengths),   cmocka_unit_test(test_parse_date),
                cmocka_unit_test(test_parse_datetime),  cmocka_unit_test(test_local_split),
                cmocka_unit_test(test_tz_use),          cmocka_unit_test(test_duration),
                cmocka_unit_test(test_hhmm_mmdd),
        };

        return cmocka_run_group_tests_name("timeutil", tests, setup_tokyo, NULL);
}
