/* SPDX-License-Identifier: MIT */

/* A syukujitsu.csv as the operator may configure it: holidays_load_csv()
 * reads a path, so the input is written to a memfd and read through
 * /proc/self/fd. What loads must be sorted, one row a day, at most
 * HOLIDAYS_PER_YEAR_MAX a year, with names that are UTF-8 text; and a
 * calendar built on it (calendar_new(), as the daemon does) must list
 * exactly those days as the holidays of the file's years. */

#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "calendar.h"
#include "config.h"
#include "fuzz.h"

/* The loader reads at most 1 MiB; beyond it the file is refused unread. */
#define CSV_MAX (1024 * 1024 + 16)

static int fd = -1;
static char path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        fd = memfd_create("syukujitsu.csv", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        (void) snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        if (tz_use("Asia/Tokyo") < 0)
                abort();
        return 0;
}

static void put(const uint8_t *data, size_t size) {
        size_t done = 0;

        if (ftruncate(fd, 0) < 0 || lseek(fd, 0, SEEK_SET) < 0)
                abort();
        while (done < size) {
                ssize_t k = write(fd, data + done, size - done);

                if (k <= 0)
                        abort();
                done += (size_t) k;
        }
}

static void check_holidays(const Holiday *h, size_t n) {
        FUZZ_CHECK(n > 0, "success with no holidays");
        for (size_t i = 0, year_start = 0; i < n; i++) {
                int y, m, d, y0, m0, d0;

                day_to_ymd(h[i].day, &y, &m, &d);
                FUZZ_CHECK(ymd_valid(y, m, d), "holiday %zu is day %d", i, h[i].day);
                FUZZ_CHECK(h[i].name && h[i].name[0], "holiday %zu without a name", i);
                FUZZ_CHECK(fuzz_utf8_strict(h[i].name), "name of holiday %zu is not UTF-8", i);
                if (i == 0)
                        continue;
                FUZZ_CHECK(h[i - 1].day < h[i].day, "holidays %zu and %zu out of order", i - 1, i);
                day_to_ymd(h[year_start].day, &y0, &m0, &d0);
                if (y0 != y)
                        year_start = i;
                FUZZ_CHECK(i - year_start < HOLIDAYS_PER_YEAR_MAX, "more than %d holidays in %d",
                           HOLIDAYS_PER_YEAR_MAX, y);
        }
}

static void check_calendar(const Holiday *h, size_t n) {
        Holiday year[HOLIDAYS_PER_YEAR_MAX];
        CalendarConf conf;
        Calendar *c = NULL;
        Config *defaults;
        char *error = NULL;
        int r, first_year, y, m, d;

        /* The built-in calendar of SPEC §7, on the file. */
        defaults = config_new_default();
        if (!defaults)
                abort();
        conf = defaults->calendar;
        conf.holidays_file = path;
        r = calendar_new(&conf, NULL, &c, &error);
        config_free(defaults);
        FUZZ_CHECK(r == 0, "the file loads, the calendar on it does not (%d): %s", r,
                   error ?: "");
        free(error);

        /* The first year of the file: its holidays are the file's, nothing else. */
        day_to_ymd(h[0].day, &first_year, &m, &d);
        r = calendar_holidays(c, first_year, year);
        FUZZ_CHECK(r > 0, "year %d of the file has %d holidays", first_year, r);
        for (size_t i = 0; i < n; i++) {
                const char *name = NULL;

                day_to_ymd(h[i].day, &y, &m, &d);
                if (y != first_year)
                        break;
                FUZZ_CHECK(i < (size_t) r && year[i].day == h[i].day, "holiday %zu of %d", i, y);
                FUZZ_CHECK(calendar_is_holiday(c, h[i].day, &name) && name &&
                                   strcmp(name, h[i].name) == 0,
                           "%d-%02d-%02d is not the file's holiday", y, m, d);
                FUZZ_CHECK(!calendar_is_business_day(c, h[i].day), "holiday %d-%02d-%02d is a "
                           "business day", y, m, d);
        }
        (void) calendar_next_business_day(c, h[n - 1].day);
        (void) calendar_business_day_on_or_before(c, h[0].day);
        calendar_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Holiday *h = NULL;
        size_t n = 0;
        char *error = NULL;
        int r;

        if (size > CSV_MAX)
                return 0;
        put(data, size);
        r = holidays_load_csv(path, &h, &n, &error);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM, "unexpected return %d", r);
        if (r == -EINVAL)
                FUZZ_CHECK(error && strncmp(error, path, strlen(path)) == 0,
                           "error without the path: %s", error ?: "(none)");
        if (error)
                FUZZ_CHECK(fuzz_utf8_strict(error), "error message is not UTF-8");
        free(error);
        if (r < 0)
                return 0;
        check_holidays(h, n);
        check_calendar(h, n);
        holidays_free(h, n);
        return 0;
}
