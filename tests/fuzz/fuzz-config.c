/* SPDX-License-Identifier: MIT */

/* The configuration loader on any bytes (config.h promises it "never crashes
 * on any bytes"). Besides the sanitizers, it checks that every error names
 * a line of the input, and that what the loader accepts the rest of the
 * program can use: the contract zone loads, the business calendar builds,
 * every signal OID parses for SNMP. */

#include <errno.h>

#include "calendar.h"
#include "config.h"
#include "fuzz.h"
#include "probe.h"
#include "snmp.h"
#include "timeutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        return 0;
}

/* Lines as libyaml counts them: CR LF, CR, LF, NEL, LS and PS each end one. */
static unsigned count_lines(const uint8_t *data, size_t size) {
        unsigned n = 1;

        for (size_t i = 0; i < size; i++) {
                if (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n')
                        i++;
                if (data[i] == '\r' || data[i] == '\n')
                        n++;
                else if (data[i] == 0xC2 && i + 1 < size && data[i + 1] == 0x85)
                        n++;
                else if (data[i] == 0xE2 && i + 2 < size && data[i + 1] == 0x80 &&
                         (data[i + 2] == 0xA8 || data[i + 2] == 0xA9))
                        n++;
        }
        return n;
}

static void check_errors(const ConfigErrors *errs, const uint8_t *data, size_t size) {
        unsigned lines = count_lines(data, size);

        for (size_t i = 0; i < errs->n_errors; i++) {
                const ConfigError *e = &errs->errors[i];

                FUZZ_CHECK(e->file && e->message, "error %zu without file or message", i);
                FUZZ_CHECK(e->message[0], "error %zu with an empty message", i);
                FUZZ_CHECK(e->line <= lines + 1, "error '%s' at line %u of a %u-line input",
                           e->message, e->line, lines);
                FUZZ_CHECK(e->line > 0 || e->column == 0, "error '%s' at 0:%u", e->message,
                           e->column);
        }
}

/* What the daemon does with an accepted configuration, short of the network. */
static void check_usable(const Config *c) {
        CalendarConf cal = c->calendar;
        Calendar *calendar = NULL;
        char *error = NULL;
        int r;

        FUZZ_CHECK(c->contract.timezone, "accepted without a time zone");
        r = tz_use(c->contract.timezone);
        FUZZ_CHECK(r == 0, "accepted zone '%s' that tz_use() refuses (%d)", c->contract.timezone,
                   r);

        /* The holidays file is read by calendar_new(), not by the loader: leave it out. */
        cal.holidays_file = NULL;
        r = calendar_new(&cal, NULL, &calendar, &error);
        FUZZ_CHECK(r == 0, "accepted calendar that calendar_new() refuses (%d): %s", r,
                   error ?: "");
        free(error);
        if (c->contract.start != DAY_INVALID)
                (void) calendar_next_business_day(calendar, c->contract.start);
        calendar_free(calendar);

        FUZZ_CHECK(c->probes.router.n_signals <= PROBE_SIGNALS_MAX,
                   "%zu signals accepted, the probe takes %d", c->probes.router.n_signals,
                   PROBE_SIGNALS_MAX);
        for (size_t i = 0; i < c->probes.router.n_signals; i++) {
                SnmpOid o;

                r = snmp_oid_parse(c->probes.router.signals[i].oid, &o);
                FUZZ_CHECK(r == 0, "accepted OID '%s' that snmp_oid_parse() refuses (%d)",
                           c->probes.router.signals[i].oid, r);
        }
        for (size_t i = 0; i < c->n_sites; i++)
                FUZZ_CHECK(config_find_site(c, c->sites[i].id) == &c->sites[i],
                           "site '%s' not found by its id (twice?)", c->sites[i].id);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ConfigErrors errs = {};
        Config *c = NULL;
        int r;

        r = config_load_buffer("fuzz.yaml", (const char *) data, size, &errs, &c);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ENOMEM, "unexpected return %d", r);
        check_errors(&errs, data, size);
        if (r == 0) {
                FUZZ_CHECK(c, "success without a Config");
                FUZZ_CHECK(errs.n_errors == 0, "success with %zu errors", errs.n_errors);
                check_usable(c);
        } else
                FUZZ_CHECK(r == -ENOMEM || errs.n_errors > 0, "refused without an error");
        config_free(c);
        config_errors_clear(&errs);
        return 0;
}
