/* SPDX-License-Identifier: MIT */

/* Every text-to-time parser on the same string: parse_iso_datetime,
 * parse_iso_date, parse_duration, parse_hhmm, parse_mmdd (timeutil.c) and
 * xml_parse_datetime (soap.c, a camera's xs:dateTime). What parses must
 * format and parse back to the same value, in the contract zone. */

#include <errno.h>
#include <inttypes.h>

#include "fuzz.h"
#include "soap.h"
#include "timeutil.h"

#define TEXT_MAX 128

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        if (tz_use("Asia/Tokyo") < 0)
                abort();
        return 0;
}

static void check_datetime(const char *s) {
        char buf[ISO_DATETIME_MAX];
        time_t t, again;
        int r;

        r = parse_iso_datetime(s, &t);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EOVERFLOW, "unexpected return %d", r);
        if (r < 0)
                return;
        /* The formatted form must be parseable where it has a 4-digit year of
         * 1900 or later: everything but the first and last hours of the range. */
        if (t < (time_t) day_from_ymd(1900, 1, 2) * 86400 ||
            t > (time_t) day_from_ymd(9999, 12, 30) * 86400)
                return;
        (void) format_iso_datetime(t, buf);
        r = parse_iso_datetime(buf, &again);
        FUZZ_CHECK(r == 0 && again == t, "'%s' -> %lld -> '%s' -> %lld (%d)", s, (long long) t, buf,
                   (long long) again, r);
}

static void check_date(const char *s) {
        char buf[ISO_DATE_MAX];
        Day d, again;
        int r, y, m, dd;

        r = parse_iso_date(s, &d);
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r < 0)
                return;
        day_to_ymd(d, &y, &m, &dd);
        FUZZ_CHECK(ymd_valid(y, m, dd), "'%s' is day %d, %d-%d-%d", s, d, y, m, dd);
        (void) format_iso_date(d, buf);
        FUZZ_CHECK(strcmp(buf, s) == 0, "'%s' formats as '%s'", s, buf);
        r = parse_iso_date(buf, &again);
        FUZZ_CHECK(r == 0 && again == d, "'%s' does not parse back", buf);
}

static void check_duration(const char *s) {
        char buf[DURATION_MAX];
        uint64_t u, again;
        int r;

        r = parse_duration(s, &u);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE, "unexpected return %d", r);
        if (r < 0)
                return;
        FUZZ_CHECK(u % 1000 == 0, "'%s' is %" PRIu64 " usec, not whole ms", s, u);
        (void) format_duration(u, buf);
        FUZZ_CHECK(strnlen(buf, sizeof(buf)) < sizeof(buf), "format not terminated");
        r = parse_duration(buf, &again);
        FUZZ_CHECK(r == 0 && again == u, "'%s' -> %" PRIu64 " -> '%s' -> %" PRIu64 " (%d)", s, u,
                   buf, again, r);
}

static void check_hhmm_mmdd(const char *s) {
        char buf[16];
        int sec, m, d, again, r;

        r = parse_hhmm(s, &sec);
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r == 0) {
                FUZZ_CHECK(sec >= 0 && sec <= 86400 && sec % 60 == 0, "'%s' is %d s", s, sec);
                (void) snprintf(buf, sizeof(buf), "%02d:%02d", sec / 3600, sec / 60 % 60);
                FUZZ_CHECK(strcmp(buf, s) == 0, "'%s' is %s", s, buf);
                FUZZ_CHECK(parse_hhmm(buf, &again) == 0 && again == sec, "'%s' not back", buf);
        }
        r = parse_mmdd(s, &m, &d);
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r == 0)
                FUZZ_CHECK(ymd_valid(2000, m, d), "'%s' is %d-%d", s, m, d);
}

static void check_xs_datetime(const char *s) {
        time_t t, iso;
        int r;

        r = xml_parse_datetime(s, &t);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -EOVERFLOW, "unexpected return %d", r);
        /* With a zone of its own it is plain ISO 8601. */
        if (r == 0 && strchr(s, 'T') && strpbrk(strchr(s, 'T'), "Zz+-"))
                FUZZ_CHECK(parse_iso_datetime(s, &iso) == 0 && iso == t, "'%s' differs", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s;

        if (size > TEXT_MAX)
                return 0;
        s = fuzz_strndup(data, size);
        check_datetime(s);
        check_date(s);
        check_duration(s);
        check_hhmm_mmdd(s);
        check_xs_datetime(s);
        free(s);
        return 0;
}
