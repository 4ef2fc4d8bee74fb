/* SPDX-License-Identifier: MIT */

/* The journal module: the stderr line of events with and without a fault,
 * the "<N>" prefix under JOURNAL_STREAM, the modes and their environment
 * variable, hostile text.
 *
 * Also the driver of tests/test_journal.py:
 *   test-journal --emit [auto|native|stderr] [--again-after SECONDS]
 * sends one event of every type (contract zone Asia/Tokyo) and prints one
 * JSON object per event on stdout: its fields and the result (1: journald
 * took it, 0: stderr); without a mode argument the mode comes from
 * $FIELDWATCH_JOURNAL. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <fcntl.h>
#include <inttypes.h>
#include <unistd.h>

#include "event.h"
#include "journal.h"
#include "macro.h"
#include "timeutil.h"

static time_t T(const char *s) {
        time_t t = 0;

        if (parse_iso_datetime(s, &t) < 0)
                abort();
        return t;
}

/* The events the driver sends and the tests format: one per type, shaped
 * as the fault engine and the operator actions make them. */
static Event sample_event(EventType type) {
        Event e = { .type = type, .at = T("2026-11-25T14:00:00+09:00") };
        int64_t id = 100 + (int64_t) type;

        switch (type) {
        case EVENT_ANOMALY:
                snprintf(e.site, sizeof(e.site), "05");
                snprintf(e.device, sizeof(e.device), "05-router");
                snprintf(e.text, sizeof(e.text),
                         "anomaly to investigate: 3 transient faults or restarts recently");
                return e;
        case EVENT_DEVICE_RESTARTED:
                snprintf(e.device, sizeof(e.device), "vpn");
                snprintf(e.text, sizeof(e.text), "restarted (its uptime went back)");
                return e;
        case EVENT_DEVICE_SWAPPED:
                snprintf(e.site, sizeof(e.site), "05");
                snprintf(e.device, sizeof(e.device), "05-camera");
                snprintf(e.text, sizeof(e.text),
                         "serial number changed from AB123 to CD456: device swapped");
                return e;
        case EVENT_WORK_RECORDED:
                /* Work without a fault: no device at all. */
                snprintf(e.by, sizeof(e.by), "Tanaka Taro");
                snprintf(e.os_user, sizeof(e.os_user), "oper");
                snprintf(e.text, sizeof(e.text), "work recorded: inspection (by Tanaka Taro, "
                         "user oper)");
                return e;
        case EVENT_REPORT_DUE:
                snprintf(e.kind, sizeof(e.kind), "quarterly_report");
                snprintf(e.text, sizeof(e.text), "work report 2026Q3 due 2026-10-15");
                return e;
        default:
                break;
        }
        e.fault_id = id;
        snprintf(e.site, sizeof(e.site), "05");
        snprintf(e.device, sizeof(e.device), "05-camera");
        snprintf(e.kind, sizeof(e.kind), "camera_down");
        e.received_at = T("2026-11-25T14:00:00+09:00");
        e.onsite_due = T("2026-11-25T16:00:00+09:00");
        switch (type) {
        case EVENT_FAULT_CLEARED:
                /* As the fault engine writes it: the device first. */
                snprintf(e.text, sizeof(e.text), "05-camera: fault cleared: camera_down");
                break;
        case EVENT_ACKNOWLEDGED:
        case EVENT_ONSITE_STARTED:
        case EVENT_DEFERRAL_APPROVED:
        case EVENT_RECOVERED:
        case EVENT_REPORT_SUBMITTED:
        case EVENT_FAULT_CLOSED:
                snprintf(e.by, sizeof(e.by), "Tanaka Taro");
                snprintf(e.os_user, sizeof(e.os_user), "oper");
                snprintf(e.text, sizeof(e.text), "05-camera: fault %" PRIi64 " %s (by Tanaka "
                         "Taro, user oper)", id, event_type_to_string(type));
                break;
        default:
                snprintf(e.text, sizeof(e.text), "fault %" PRIi64 " %s: camera_down: connection "
                         "refused", id, event_type_to_string(type));
                break;
        }
        return e;
}

/* ======================================================================== */

typedef struct Capture {
        int saved;
        char path[64];
} Capture;

static void capture_begin(Capture *c) {
        int fd;

        snprintf(c->path, sizeof(c->path), "/tmp/test-journal-XXXXXX");
        fd = mkstemp(c->path);
        assert_true(fd >= 0);
        fflush(stderr);
        c->saved = dup(STDERR_FILENO);
        assert_true(c->saved >= 0);
        assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
        close(fd);
}

/* Restores stderr; returns what was written (to be freed). */
static char *capture_end(Capture *c) {
        char *buf = calloc(1, 8192);
        ssize_t n;
        int fd;

        fflush(stderr);
        assert_int_equal(dup2(c->saved, STDERR_FILENO), STDERR_FILENO);
        close(c->saved);
        fd = open(c->path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        assert_non_null(buf);
        n = read(fd, buf, 8191);
        assert_true(n >= 0);
        close(fd);
        unlink(c->path);
        return buf;
}

static char *send_captured(const Event *e, int *ret) {
        Capture c;

        capture_begin(&c);
        *ret = journal_send_event(e);
        return capture_end(&c);
}

/* ======================================================================== */

static int setup(void **state) {
        (void) state;
        /* The unit tests run with TZ=America/New_York: the contract zone wins. */
        if (tz_use("Asia/Tokyo") < 0)
                return -1;
        unsetenv("JOURNAL_STREAM");
        return 0;
}

/* Runs first: nothing has called journal_set_mode() yet. */
static void test_mode_env(void **state) {
        (void) state;
        unsetenv(JOURNAL_MODE_ENV);
        assert_int_equal(journal_get_mode(), JOURNAL_MODE_AUTO);
        setenv(JOURNAL_MODE_ENV, "stderr", 1);
        assert_int_equal(journal_get_mode(), JOURNAL_MODE_STDERR);
        setenv(JOURNAL_MODE_ENV, "native", 1);
        assert_int_equal(journal_get_mode(), JOURNAL_MODE_NATIVE);
        setenv(JOURNAL_MODE_ENV, "bogus", 1);
        assert_int_equal(journal_get_mode(), JOURNAL_MODE_AUTO);
        /* An explicit mode beats the environment. */
        setenv(JOURNAL_MODE_ENV, "native", 1);
        assert_int_equal(journal_set_mode(JOURNAL_MODE_STDERR), 0);
        assert_int_equal(journal_get_mode(), JOURNAL_MODE_STDERR);
        unsetenv(JOURNAL_MODE_ENV);
}

static void test_mode_names(void **state) {
        (void) state;
        for (JournalMode m = 0; m < _JOURNAL_MODE_MAX; m++)
                assert_int_equal(journal_mode_from_string(journal_mode_to_string(m)), m);
        assert_int_equal(journal_mode_from_string("Stderr"), -EINVAL);
        assert_int_equal(journal_mode_from_string(NULL), -EINVAL);
        assert_null(journal_mode_to_string(_JOURNAL_MODE_MAX));
        assert_int_equal(journal_set_mode(_JOURNAL_MODE_MAX), -EINVAL);
        assert_int_equal(journal_set_mode((JournalMode) -1), -EINVAL);
        assert_int_equal(journal_get_mode(), JOURNAL_MODE_STDERR);
}

static void test_line_with_fault(void **state) {
        Event e = sample_event(EVENT_FAULT_RAISED);
        char *out;
        int r;

        (void) state;
        assert_int_equal(journal_set_mode(JOURNAL_MODE_STDERR), 0);
        out = send_captured(&e, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out,
                            "fieldwatchd: fault_raised 05-camera: fault 100 fault_raised: "
                            "camera_down: connection refused [site=05 fault=100 kind=camera_down "
                            "received_at=2026-11-25T14:00:00+09:00 "
                            "onsite_due=2026-11-25T16:00:00+09:00]\n");
        free(out);
}

static void test_line_without_fault(void **state) {
        Event restarted = sample_event(EVENT_DEVICE_RESTARTED);
        Event swapped = sample_event(EVENT_DEVICE_SWAPPED);
        Event work = sample_event(EVENT_WORK_RECORDED);
        char *out;
        int r;

        (void) state;
        assert_int_equal(journal_set_mode(JOURNAL_MODE_STDERR), 0);
        out = send_captured(&restarted, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out, "fieldwatchd: device_restarted vpn: restarted (its uptime went "
                                 "back)\n");
        free(out);
        out = send_captured(&swapped, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out, "fieldwatchd: device_swapped 05-camera: serial number changed "
                                 "from AB123 to CD456: device swapped [site=05]\n");
        free(out);
        /* Work without a fault has no device either. */
        out = send_captured(&work, &r);
        assert_int_equal(r, 0);
        assert_string_equal(out, "fieldwatchd: work_recorded work recorded: inspection (by Tanaka "
                                 "Taro, user oper)\n");
        free(out);
}

/* Text that already names its device is not prefixed twice. */
static void test_device_not_doubled(void **state) {
        Event e = sample_event(EVENT_FAULT_CLEARED);
        char msg[JOURNAL_LINE_MAX];

        (void) state;
        assert_string_equal(journal_event_message(&e, msg, sizeof(msg)),
                            "05-camera: fault cleared: camera_down");
        /* Only "DEVICE: " counts, not a longer name starting the same way. */
        snprintf(e.text, sizeof(e.text), "05-cameras: x");
        assert_string_equal(journal_event_message(&e, msg, sizeof(msg)),
                            "05-camera: 05-cameras: x");
        e.device[0] = '\0';
        assert_string_equal(journal_event_message(&e, msg, sizeof(msg)), "05-cameras: x");
}

static void test_priority_prefix(void **state) {
        Event breach = sample_event(EVENT_SLA_BREACH);
        Event restarted = sample_event(EVENT_DEVICE_RESTARTED);
        char *out;
        int r;

        (void) state;
        assert_int_equal(journal_set_mode(JOURNAL_MODE_STDERR), 0);
        setenv("JOURNAL_STREAM", "8:12345", 1);
        out = send_captured(&breach, &r);
        assert_int_equal(r, 0);
        assert_true(strncmp(out, "<2>fieldwatchd: sla_breach 05-camera: ", 38) == 0);
        free(out);
        out = send_captured(&restarted, &r);
        assert_string_equal(out, "<5>fieldwatchd: device_restarted vpn: restarted (its uptime "
                                 "went back)\n");
        free(out);
        unsetenv("JOURNAL_STREAM");
}

/* Whatever a device answered, an event stays one line. */
static void test_control_characters(void **state) {
        Event e = sample_event(EVENT_FAULT_RAISED);
        char *out;
        int r;

        (void) state;
        assert_int_equal(journal_set_mode(JOURNAL_MODE_STDERR), 0);
        snprintf(e.text, sizeof(e.text), "SOAP fault:\nline two\r\tend\x1b[31m");
        snprintf(e.kind, sizeof(e.kind), "k\nind\xc2\x9b\xff");
        out = send_captured(&e, &r);
        assert_int_equal(r, 0);
        /* Line breaks and tabs a space, ESC, a C1 control (CSI) and a byte
         * that is no UTF-8 the replacement character. */
        assert_string_equal(out, "fieldwatchd: fault_raised 05-camera: SOAP fault: line two  "
                                 "end\xef\xbf\xbd[31m [site=05 fault=100 "
                                 "kind=k ind\xef\xbf\xbd\xef\xbf\xbd "
                                 "received_at=2026-11-25T14:00:00+09:00 "
                                 "onsite_due=2026-11-25T16:00:00+09:00]\n");
        free(out);
}

/* A text of the largest size still makes one closed line. */
static void test_long_text(void **state) {
        Event e = sample_event(EVENT_SLA_WARNING);
        char *out, *nl;
        int r;

        (void) state;
        assert_int_equal(journal_set_mode(JOURNAL_MODE_STDERR), 0);
        memset(e.text, 'x', sizeof(e.text) - 1);
        e.text[sizeof(e.text) - 1] = '\0';
        out = send_captured(&e, &r);
        assert_int_equal(r, 0);
        nl = strchr(out, '\n');
        assert_non_null(nl);
        assert_null(strchr(nl + 1, '\n'));
        assert_true(strstr(out, " [site=05 fault=106 kind=camera_down") != NULL);
        assert_int_equal(nl[-1], ']');
        free(out);
}

static void test_every_type(void **state) {
        char ids[_EVENT_TYPE_MAX][40];

        (void) state;
        assert_int_equal(journal_set_mode(JOURNAL_MODE_STDERR), 0);
        for (EventType t = 0; t < _EVENT_TYPE_MAX; t++) {
                Event e = sample_event(t);
                const char *id = event_type_message_id(t);
                char want[64], *out;
                int r;

                assert_non_null(id);
                assert_int_equal(strlen(id), 32);
                for (size_t i = 0; i < 32; i++)
                        assert_true(isxdigit((unsigned char) id[i]) &&
                                    !isupper((unsigned char) id[i]));
                for (EventType u = 0; u < t; u++)
                        assert_string_not_equal(ids[u], id);
                snprintf(ids[t], sizeof(ids[t]), "%s", id);

                out = send_captured(&e, &r);
                assert_int_equal(r, 0);
                snprintf(want, sizeof(want), "fieldwatchd: %s %s%s", event_type_to_string(t),
                         e.device, e.device[0] ? ": " : "");
                assert_true(strncmp(out, want, strlen(want)) == 0);
                assert_int_equal(strchr(out, '\n') - out, (ptrdiff_t) strlen(out) - 1);
                free(out);
        }
}

static void test_invalid(void **state) {
        Event e = sample_event(EVENT_FAULT_RAISED);

        (void) state;
        assert_int_equal(journal_send_event(NULL), -EINVAL);
        e.type = _EVENT_TYPE_MAX;
        assert_int_equal(journal_send_event(&e), -EINVAL);
}

/* ======================================================================== */

static void print_json_string(const char *key, const char *s) {
        printf("\"%s\": \"", key);
        for (; *s; s++)
                if (*s == '"' || *s == '\\')
                        printf("\\%c", *s);
                else if ((unsigned char) *s < 0x20)
                        printf("\\u%04x", (unsigned) *s);
                else
                        putchar(*s);
        printf("\", ");
}

/* One line of JSON: what was sent and journal_send_event()'s result. */
static void print_sent(const Event *e, int r) {
        printf("{");
        print_json_string("type", event_type_to_string(e->type));
        print_json_string("site", e->site);
        print_json_string("device", e->device);
        print_json_string("kind", e->kind);
        print_json_string("text", e->text);
        print_json_string("by", e->by);
        print_json_string("os_user", e->os_user);
        printf("\"fault_id\": %" PRIi64 ", \"received_at\": %lld, \"onsite_due\": %lld, "
               "\"result\": %d}\n", e->fault_id, (long long) e->received_at,
               (long long) e->onsite_due, r);
}

static int emit_all(void) {
        int failed = 0;

        for (EventType t = 0; t < _EVENT_TYPE_MAX; t++) {
                Event e = sample_event(t);
                int r = journal_send_event(&e);

                print_sent(&e, r);
                failed |= r < 0;
        }
        fflush(stdout);
        return failed;
}

/* --emit [MODE] [--again-after SECONDS]: the second round shows whether a
 * journald that appeared meanwhile is found. */
static int emit(int argc, char *argv[]) {
        const char *mode_name = argc >= 3 && argv[2][0] != '-' ? argv[2] : NULL;
        unsigned again = 0;
        int failed;

        if (argc >= 2 && streq(argv[argc - 2], "--again-after"))
                again = (unsigned) strtoul(argv[argc - 1], NULL, 10);
        if (tz_use("Asia/Tokyo") < 0)
                return 1;
        if (mode_name && journal_set_mode(journal_mode_from_string(mode_name)) < 0) {
                fprintf(stderr, "unknown mode %s\n", mode_name);
                return 2;
        }
        failed = emit_all();
        if (again > 0) {
                sleep(again);
                failed |= emit_all();
        }
        return failed;
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_mode_env),
                cmocka_unit_test(test_mode_names),
                cmocka_unit_test(test_line_with_fault),
                cmocka_unit_test(test_line_without_fault),
                cmocka_unit_test(test_device_not_doubled),
                cmocka_unit_test(test_priority_prefix),
                cmocka_unit_test(test_control_characters),
                cmocka_unit_test(test_long_text),
                cmocka_unit_test(test_every_type),
                cmocka_unit_test(test_invalid),
        };

        if (argc >= 2 && streq(argv[1], "--emit"))
                return emit(argc, argv);
        return cmocka_run_group_tests_name("journal", tests, setup, NULL);
}
