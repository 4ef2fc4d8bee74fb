/* SPDX-License-Identifier: MIT */

/* Byte-exact mails and reports: every report builder in every format and
 * language, every event type's mail (composed and rendered for the wire,
 * with and without a fault), digest entries and a digest, compared with
 * the files under tests/data/golden/. They were written by the code before
 * the reports and mails were split into files of one concern (issue 17),
 * so that a refactoring that changes a byte fails here.
 *
 *   FW_GOLDEN_UPDATE=1 build/tests/test-golden    rewrites the files (then
 *   review the diff: it is a change of what the city receives). */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar.h"
#include "clocks.h"
#include "config.h"
#include "macro.h"
#include "mail.h"
#include "report.h"
#include "store.h"
#include "timeutil.h"

#define GOLDEN_DIR "tests/data/golden/"

static const char config_text[] =
        "contract: {name: \"街頭防犯カメラ保守\", title: \"市川市 街頭防犯カメラ保守業務委託\","
        " start: 2025-12-01, end: 2031-11-30, timezone: Asia/Tokyo}\n"
        "notify:\n"
        "  smtp: {url: 'smtp://127.0.0.1:2525', tls: required, username: fw-smtp-user,"
        " password_credential: smtp-cred-name}\n"
        "  from: 'fieldwatch <fieldwatch@city.example.invalid>'\n"
        "  to: [oncall@example.invalid, '保守担当 <second@example.invalid>',"
        " 'Doe, John <john@example.invalid>']\n"
        "  escalate_to: ['監督員 <supervisor@example.invalid>', ONCALL@example.invalid]\n"
        "  security_to: ['市 情報政策課 <security@city.example.invalid>',"
        " second@example.invalid]\n"
        "  language: %s\n"
        "vpn: {name: RTX1220, address: 127.0.3.1,"
        " snmp: {version: 2c, community_credential: vpn-community-cred}}\n"
        "sites:\n"
        "  - {id: '05', name: '市川市真間1-12-4 市川センタービル（南向き）', mount: wall,"
        " tunnel: 5,"
        " router: {address: 127.0.1.5, snmp: {version: 2c, community_credential: rx-cred}},"
        " camera: {address: 127.0.2.5, username: cam-admin-user,"
        " password_credential: camera-cred-name}}\n"
        "  - {id: '07', name: '市川市新田5-18-13 地先 コンビニ前', mount: spear_arm,"
        " tunnel: 7,"
        " router: {address: 127.0.1.7, snmp: {version: 2c, community_credential: rx-cred}},"
        " camera: {address: 127.0.2.7, username: admin, password_credential: camera}}\n";

static Config *configs[2];           /* [0] ja, [1] en */
static Calendar *cal;
static int failures;

static Config *load_config(const char *language) {
        char text[sizeof(config_text) + 8];
        ConfigErrors errs = {};
        Config *c = NULL;
        int n;

        n = snprintf(text, sizeof(text), config_text, language);
        if (n < 0 || (size_t) n >= sizeof(text))
                return NULL;
        if (config_load_buffer("golden.yaml", text, (size_t) n, &errs, &c) < 0) {
                for (size_t i = 0; i < errs.n_errors; i++)
                        print_error("%u:%u: %s\n", errs.errors[i].line, errs.errors[i].column,
                                    errs.errors[i].message);
                config_errors_clear(&errs);
                return NULL;
        }
        return c;
}

static int setup(void **state) {
        char *error = NULL;

        (void) state;
        if (tz_use("Asia/Tokyo") < 0)
                return -1;
        configs[0] = load_config("ja");
        configs[1] = load_config("en");
        if (!configs[0] || !configs[1])
                return -1;
        if (calendar_new(&configs[0]->calendar, ".", &cal, &error) < 0) {
                free(error);
                return -1;
        }
        return 0;
}

static int teardown(void **state) {
        (void) state;
        cal = calendar_free(cal);
        configs[0] = config_free(configs[0]);
        configs[1] = config_free(configs[1]);
        return 0;
}

static time_t T(const char *s) {
        time_t t = 0;

        assert_int_equal(parse_iso_datetime(s, &t), 0);
        return t;
}

/* Compares data with the golden file name (or writes it under
 * FW_GOLDEN_UPDATE=1). A difference is reported with its offset and the
 * actual output is left beside the build for a diff. */
static void check_golden(const char *name, const char *data, size_t len) {
        char path[256];
        _cleanup_(freep) char *want = NULL;
        size_t want_len = 0;
        FILE *f;

        (void) snprintf(path, sizeof(path), GOLDEN_DIR "%s", name);
        if (getenv("FW_GOLDEN_UPDATE")) {
                f = fopen(path, "we");
                assert_non_null(f);
                assert_int_equal(fwrite(data, 1, len, f), len);
                assert_int_equal(fclose(f), 0);
                return;
        }
        f = fopen(path, "re");
        if (!f) {
                print_error("%s: %s (FW_GOLDEN_UPDATE=1 writes it)\n", path, strerror(errno));
                failures++;
                return;
        }
        want = malloc(8u << 20);
        assert_non_null(want);
        want_len = fread(want, 1, 8u << 20, f);
        (void) fclose(f);
        if (want_len != len || memcmp(want, data, len) != 0) {
                size_t i = 0;
                char actual[300];

                while (i < len && i < want_len && want[i] == data[i])
                        i++;
                (void) snprintf(actual, sizeof(actual), "/tmp/golden-actual-%s", name);
                f = fopen(actual, "we");
                if (f) {
                        (void) fwrite(data, 1, len, f);
                        (void) fclose(f);
                }
                print_error("%s: differs at byte %zu (%zu bytes, want %zu): see %s\n", path, i,
                            len, want_len, actual);
                failures++;
        }
}

static void check_golden_str(const char *name, const char *s) {
        check_golden(name, s, strlen(s));
}

/* ======================================================================== */
/* Reports */

static ReportWork work_item(const char *start, const char *end, const char *person,
                            const char *title, const char *content, const char *notes,
                            int64_t fault_id) {
        return (ReportWork) {
                .start_at = T(start), .end_at = T(end), .person = (char *) person,
                .title = (char *) title, .content = (char *) content, .notes = (char *) notes,
                .fault_id = fault_id,
        };
}

static char *hidden_devices[] = { "05-camera", "05-router" };
static char *parts[] = { "WV-SDB128G", "PoE injector" };
static char *quote_parts[] = { "WV-S1536LTN" };

/* A recovered fault with every record an operator can make. */
static ReportFault full_fault(void) {
        return (ReportFault) {
                .id = 12, .site = "05", .device = "05-tunnel", .kind = "tunnel_down",
                .severity = FAULT_DOWN, .state = FAULT_CLEARED,
                .detected_at = T("2026-09-16T16:40"), .received_at = T("2026-09-16T16:40"),
                .onsite_due = T("2026-09-17T10:40"), .deferral_eligible = true,
                .deferred_onsite_due = T("2026-09-17T11:00"),
                .onsite_started_at = T("2026-09-17T10:05"),
                .acknowledged_at = T("2026-09-16T16:45"),
                .deferral_approved_at = T("2026-09-16T16:50"),
                .cleared_at = T("2026-09-17T11:20"),
                .reason = (char *) "no answer to SNMP (timeout after 5 s); \"x\" <b>&|*_",
                .hint = (char *) "power, breaker or LTE at the site",
                .hidden = hidden_devices, .n_hidden = 2,
                .acknowledged_by = (char *) "山田 太郎", .onsite_by = (char *) "鈴木 一郎",
                .deferral_approved_by = (char *) "監督員 佐藤",
                .deferral_reason = (char *) "部品手配, =cmd",
                .ack_note = (char *) "電話で確認\n二行目",
                .temporary_recovered_at = T("2026-09-17T10:30"),
                .loaner = (char *) "WV-S1536",
                .quote_parts = quote_parts, .n_quote_parts = 1, .quote_amount = 54000,
                .quote_by = (char *) "山田 太郎", .quote_at = T("2026-09-17T09:00"),
                .quote_approved_by = (char *) "市 担当", .quote_approved_at = T("2026-09-17T09:30"),
                .origin = FAULT_ORIGIN_PROBE, .received_from = (char *) "",
                .recovered_at = T("2026-09-17T11:15"), .recovered_by = (char *) "鈴木 一郎",
                .cause = (char *) "ONU の電源断", .action = (char *) "電源を入れ直した",
                .prevention = (char *) "-1+1 @home", .parts = parts, .n_parts = 2,
                .media_replaced = true,
                .recovery_report_submitted_at = T("2026-09-18T10:00"),
        };
}

/* The faults of the quarter: the full one, a degraded one still open, a
 * late one by call, a transient, a send-back. */
static void quarter_faults(ReportFault f[static 5]) {
        f[0] = full_fault();
        f[1] = (ReportFault) {
                .id = 13, .site = "07", .device = "07-router", .kind = "lte_weak",
                .severity = FAULT_DEGRADED, .state = FAULT_OPEN,
                .detected_at = T("2026-09-29T09:00"), .received_at = T("2026-09-29T09:00"),
                .onsite_due = T("2026-09-29T11:00"), .reason = (char *) "RSRP -121 dBm",
        };
        f[2] = (ReportFault) {
                .id = 14, .site = "07", .device = "07-camera", .kind = "housing_damaged",
                .severity = FAULT_DOWN, .state = FAULT_CLOSED, .origin = FAULT_ORIGIN_CALL,
                .detected_at = T("2026-08-03T13:00"), .received_at = T("2026-08-03T13:10"),
                .received_from = (char *) "市 防犯課",
                .onsite_due = T("2026-08-03T15:10"), .onsite_started_at = T("2026-08-03T16:00"),
                .recovered_at = T("2026-08-03T17:00"), .recovered_by = (char *) "山田 太郎",
                .closed_at = T("2026-08-03T17:05"), .closed_by = (char *) "山田 太郎",
                .close_note = (char *) "交換済み",
        };
        f[3] = (ReportFault) {
                .id = 15, .site = "", .device = "vpn", .kind = "vpn_down",
                .severity = FAULT_DOWN, .state = FAULT_CLEARED, .transient = true,
                .detected_at = T("2026-07-04T02:00"), .received_at = T("2026-07-06T09:00"),
                .onsite_due = T("2026-07-06T11:00"), .cleared_at = T("2026-07-04T02:30"),
        };
        f[4] = (ReportFault) {
                .id = 16, .site = "05", .device = "05-camera", .kind = "storage_error",
                .severity = FAULT_DEGRADED, .state = FAULT_CLEARED, .sendback = true,
                .detected_at = T("2026-07-20T10:00"), .received_at = T("2026-07-20T10:00"),
                .cleared_at = T("2026-07-22T10:00"), .recovered_at = T("2026-07-22T10:00"),
                .media_replaced = true, .origin = FAULT_ORIGIN_ANOMALY,
        };
}

typedef struct Builder {
        const char *name;
        int (*build)(const ReportContext *c, char **ret);
} Builder;

static int build_quarterly(const ReportContext *c, char **ret) {
        ReportPeriod p;
        ReportFault f[5];
        ReportWork w[] = {
                work_item("2026-07-10T10:00", "2026-07-10T11:30", "鈴木 一郎", "定期点検",
                          "全27箇所の外観点検\n異常なし", "=SUM(A1)", 0),
                work_item("2026-09-17T10:05", "2026-09-17T11:15", "山田 太郎", "障害対応",
                          "05番トンネルの復旧, \"ONU\"", "", 12),
        };
        Investigation inv[] = {
                { .id = 1, .anomaly_id = 40, .fault_id = 0, .at = T("2026-08-10T10:00"),
                  .person = "鈴木 一郎", .note = "配線の緩み", .device = "07-camera" },
                { .id = 2, .anomaly_id = 41, .fault_id = 16, .at = T("2026-07-20T09:00"),
                  .person = "山田 太郎", .note = "SDカード不良", .device = "05-camera" },
        };

        assert_int_equal(report_quarter_parse("2026Q3", &c->config->contract, &p), 0);
        quarter_faults(f);
        return report_quarterly(c, &p, w, ELEMENTSOF(w), f, ELEMENTSOF(f), inv,
                                ELEMENTSOF(inv), ret);
}

static int build_quarterly_empty(const ReportContext *c, char **ret) {
        ReportPeriod p;

        assert_int_equal(report_quarter_parse("FY2026Q3", &c->config->contract, &p), 0);
        assert_int_equal(report_period_clip(&p, c->now), 0);
        return report_quarterly(c, &p, NULL, 0, NULL, 0, NULL, 0, ret);
}

static int build_fault(const ReportContext *c, char **ret) {
        ReportFault f = full_fault();

        return report_fault(c, &f, ret);
}

static int build_fault_call(const ReportContext *c, char **ret) {
        ReportFault f[5];

        quarter_faults(f);
        return report_fault(c, &f[2], ret);
}

static int build_erasure(const ReportContext *c, char **ret) {
        ReportFault f = full_fault();

        return report_erasure(c, &f, ret);
}

static int build_availability(const ReportContext *c, char **ret) {
        ReportPeriod p;
        ReportFault f[5];

        assert_int_equal(report_quarter_parse("2026Q3", &c->config->contract, &p), 0);
        quarter_faults(f);
        return report_availability(c, &p, f, ELEMENTSOF(f), ret);
}

static int build_sla(const ReportContext *c, char **ret) {
        ReportPeriod p;
        ReportFault f[5];

        assert_int_equal(report_quarter_parse("2026Q3", &c->config->contract, &p), 0);
        quarter_faults(f);
        return report_sla(c, &p, f, ELEMENTSOF(f), ret);
}

static int build_sla_month(const ReportContext *c, char **ret) {
        ReportPeriod p;

        assert_int_equal(report_month_parse("2026-10", &c->config->contract, &p), 0);
        assert_int_equal(report_period_clip(&p, c->now), 0);
        return report_sla(c, &p, NULL, 0, ret);
}

static ReportIncident incidents[] = {
        { .id = 301, .site = "05", .device = "05-camera", .kind = "auth_failed",
          .fault_id = 12, .fault_kind = "auth_failed", .fault_state = "open",
          .text = (char *) "05-camera: the camera refused the credentials, \"admin\"" },
        { .id = 302, .site = "", .device = "vpn", .kind = "device_swapped",
          .text = (char *) "vpn: serial <X1> -> <X2>" },
};

static int build_incidents(const ReportContext *c, char **ret) {
        ReportPeriod p;

        assert_int_equal(report_quarter_parse("2026Q3", &c->config->contract, &p), 0);
        incidents[0].at = T("2026-08-01T12:00");
        incidents[0].mailed_at = T("2026-08-01T12:00");
        incidents[1].at = T("2026-09-02T03:04");
        return report_incidents(c, &p, incidents, ELEMENTSOF(incidents), ret);
}

static int build_incidents_none(const ReportContext *c, char **ret) {
        ReportPeriod p;

        assert_int_equal(report_quarter_parse("2026Q2", &c->config->contract, &p), 0);
        return report_incidents(c, &p, NULL, 0, ret);
}

static int build_disposal(const ReportContext *c, char **ret) {
        static const char *const items[] = { "faults: names and notes", "12",
                                             "mail bodies", "340", "credentials", "5" };
        static const char *const methods[] = { "SQLite UPDATE then VACUUM", "shred -u" };
        ReportDisposal d = {
                .id = 2, .at = T("2031-12-01T10:00"), .by = "山田 太郎", .os_user = "fw-op",
                .state_dir = "/var/lib/fieldwatch", .credentials_dir = "/etc/fieldwatch/credentials",
                .items = items, .n_items = 3, .methods = methods, .n_methods = 2,
        };

        return report_disposal(c, &d, ret);
}

static const Builder builders[] = {
        { "quarterly", build_quarterly },
        { "quarterly-empty", build_quarterly_empty },
        { "fault", build_fault },
        { "fault-call", build_fault_call },
        { "erasure", build_erasure },
        { "availability", build_availability },
        { "sla", build_sla },
        { "sla-month", build_sla_month },
        { "incidents", build_incidents },
        { "incidents-none", build_incidents_none },
        { "disposal", build_disposal },
};

static void test_reports(void **state) {
        (void) state;
        failures = 0;
        for (size_t b = 0; b < ELEMENTSOF(builders); b++)
                for (int l = 0; l < 2; l++)
                        for (ReportFormat f = 0; f < _REPORT_FORMAT_MAX; f++) {
                                ReportContext c = {
                                        .config = configs[l], .cal = cal,
                                        .lang = l == 0 ? LANGUAGE_JA : LANGUAGE_EN,
                                        .format = f, .now = T("2026-10-02T10:00"),
                                };
                                _cleanup_(freep) char *doc = NULL;
                                char name[128];

                                assert_int_equal(builders[b].build(&c, &doc), 0);
                                (void) snprintf(name, sizeof(name), "report-%s-%s.%s",
                                                builders[b].name, l == 0 ? "ja" : "en",
                                                report_format_to_string(f));
                                check_golden_str(name, doc);
                        }
        assert_int_equal(failures, 0);
}

static void test_incidents_json(void **state) {
        ReportContext c = { .config = configs[0], .cal = cal, .lang = LANGUAGE_JA,
                            .now = T("2026-10-02T10:00") };
        _cleanup_(freep) char *doc = NULL;
        ReportPeriod p;

        (void) state;
        failures = 0;
        assert_int_equal(report_quarter_parse("2026Q3", &configs[0]->contract, &p), 0);
        incidents[0].at = T("2026-08-01T12:00");
        incidents[0].mailed_at = T("2026-08-01T12:00");
        incidents[1].at = T("2026-09-02T03:04");
        assert_int_equal(report_incidents_json(&c, &p, incidents, ELEMENTSOF(incidents), &doc), 0);
        check_golden_str("report-incidents.json", doc);
        assert_int_equal(failures, 0);
}

static void test_csv_cell(void **state) {
        static const char *const cells[] = { "plain", "a,b", "say \"hi\"", "=1+1", "-3",
                                             "+12.5", "@x", "\tTab", "two\nlines", "", NULL };
        _cleanup_(freep) char *out = NULL;
        size_t len = 0;
        FILE *f;

        (void) state;
        failures = 0;
        f = open_memstream(&out, &len);
        assert_non_null(f);
        for (size_t i = 0; i < ELEMENTSOF(cells); i++) {
                report_csv_cell(f, cells[i]);
                fputs("\r\n", f);
        }
        assert_int_equal(fclose(f), 0);
        check_golden("report-csv-cells.csv", out, len);
        assert_int_equal(failures, 0);
}

/* ======================================================================== */
/* Mails */

/* Fault 42 of site 05's camera, raised at 15:28 and received at once. */
static void make_fault(Fault *f) {
        *f = (Fault) {
                .id = 42,
                .severity = FAULT_DOWN,
                .state = FAULT_OPEN,
                .detected_at = T("2026-11-25T15:28:00"),
                .received_at = T("2026-11-25T15:28:00"),
                .onsite_due = T("2026-11-25T17:28:00"),
                .deferral_eligible = true,
                .deferred_onsite_due = T("2026-11-26T11:00:00"),
        };
        strcpy(f->site, "05");
        strcpy(f->device, "05-camera");
        strcpy(f->kind, "camera_down");
        strcpy(f->reason, "no answer to GetSystemDateAndTime (timeout after 10 s)");
        strcpy(f->hint, "power, breaker or LTE at the site");
        strcpy(f->thread_id, "<fw.1.42@city.example.invalid>");
}

/* The fault's state as the event finds it. */
static void fault_for(EventType t, Fault *f) {
        make_fault(f);
        switch (t) {
        case EVENT_FAULT_CLEARED:
        case EVENT_RECOVERED:
        case EVENT_REPORT_SUBMITTED:
                f->onsite_started_at = T("2026-11-25T16:10:00");
                f->state = FAULT_CLEARED;
                f->cleared_at = T("2026-11-25T16:40:00");
                break;
        case EVENT_FAULT_TRANSIENT:
                f->state = FAULT_CLEARED;
                f->transient = true;
                break;
        case EVENT_FAULT_CLOSED:
                f->state = FAULT_CLOSED;
                break;
        case EVENT_ACKNOWLEDGED:
                f->acknowledged_at = T("2026-11-25T15:40:00");
                break;
        case EVENT_ONSITE_STARTED:
                f->acknowledged_at = T("2026-11-25T15:40:00");
                f->onsite_started_at = T("2026-11-25T16:10:00");
                break;
        case EVENT_DEFERRAL_APPROVED:
                f->deferral_approved_at = T("2026-11-25T16:50:00");
                break;
        case EVENT_FAULT_RAISED:
                f->thread_id[0] = 0;
                break;
        case EVENT_SLA_WARNING:
                f->sendback = false;
                f->deferral_eligible = false;
                break;
        case EVENT_FAULT_RECEIVED:
                strcpy(f->received_from, "市 防犯課 (tel)");
                break;
        default:
                break;
        }
}

static void make_event(Event *e, EventType t, const Fault *f) {
        *e = (Event) { .id = 7 + t, .type = t, .at = T("2026-11-25T15:28:00") };
        strcpy(e->device, "05-camera");
        if (f) {
                e->fault_id = f->id;
                strcpy(e->site, f->site);
                strcpy(e->kind, f->kind);
                e->received_at = f->received_at;
                e->onsite_due = fault_due(f);
        }
        (void) snprintf(e->text, sizeof(e->text), "05-camera: %s", event_type_to_string(t));
}

/* One mail: its outbox row's fields, then the message on the wire. */
static void put_mail(FILE *out, const Config *c, const Event *e, const Fault *f, const char *what) {
        OutboxMail m = {};
        _cleanup_(freep) char *wire = NULL;
        size_t len = 0;

        fprintf(out, "==== %s %s\n", event_type_to_string(e->type), what);
        assert_int_equal(mail_prepare(c, e, f, T("2026-11-25T15:29:00"), &m), 0);
        fprintf(out, "to: %s\nmessage-id: %s\nthread: %s\nentry:\n%s\n", m.recipients,
                m.message_id, m.thread_id ?: "-", m.digest_entry ?: "-");
        assert_int_equal(mail_render(&m, c->notify.from, T("2026-11-25T15:29:00"), &wire, &len),
                         0);
        assert_int_equal(strlen(wire), len);
        fprintf(out, "subject: %s\n%s----\n%s", m.subject, m.body, wire);
        outbox_mail_done(&m);
}

static void test_mails(void **state) {
        (void) state;
        failures = 0;
        for (int l = 0; l < 2; l++) {
                const Config *c = configs[l];
                _cleanup_(freep) char *text = NULL;
                size_t len = 0;
                FILE *out = open_memstream(&text, &len);

                assert_non_null(out);
                for (EventType t = 0; t < _EVENT_TYPE_MAX; t++) {
                        Fault f;
                        Event e;

                        fault_for(t, &f);
                        make_event(&e, t, &f);
                        put_mail(out, c, &e, &f, "with its fault");
                        make_event(&e, t, NULL);
                        put_mail(out, c, &e, NULL, "alone");
                }
                {
                        /* The VPN router, a fault waiting for its call, send-back. */
                        Fault f;
                        Event e;

                        make_fault(&f);
                        strcpy(f.site, "");
                        strcpy(f.device, "vpn");
                        strcpy(f.kind, "vpn_down");
                        f.received_at = f.onsite_due = 0;
                        make_event(&e, EVENT_FAULT_RAISED, &f);
                        strcpy(e.device, "vpn");
                        put_mail(out, c, &e, &f, "vpn, not received");
                        f.sendback = true;
                        put_mail(out, c, &e, &f, "vpn, send-back");

                        /* A deliverable: no device, no fault. */
                        e = (Event) { .id = 90, .type = EVENT_REPORT_DUE,
                                      .at = T("2026-12-28T09:00:00") };
                        strcpy(e.kind, "quarterly_report");
                        strcpy(e.text, "quarterly_report due 2027-01-15");
                        put_mail(out, c, &e, NULL, "deliverable");

                        /* A tunnel and a router with odd text. */
                        make_fault(&f);
                        strcpy(f.device, "05-tunnel");
                        strcpy(f.kind, "tunnel_down");
                        strcpy(f.reason, "line\r\nBcc: evil@example.invalid\x01 \xff end");
                        make_event(&e, EVENT_SLA_BREACH, &f);
                        strcpy(e.device, "05-tunnel");
                        put_mail(out, c, &e, &f, "tunnel, hostile text");
                        make_event(&e, EVENT_ANOMALY, NULL);
                        strcpy(e.device, "05-router");
                        e.kind[0] = 0;
                        put_mail(out, c, &e, NULL, "router anomaly");
                }
                assert_int_equal(fclose(out), 0);
                check_golden(l == 0 ? "mail-ja.txt" : "mail-en.txt", text, len);
        }
        assert_int_equal(failures, 0);
}

static void test_digest(void **state) {
        (void) state;
        failures = 0;
        for (int l = 0; l < 2; l++) {
                const Config *c = configs[l];
                char *entries[4] = {};
                int64_t ids[4] = { 101, 102, 103, 104 };
                OutboxHeld h = {
                        .held_until = T("2026-11-25T15:30:00"),
                        .recipients = (char *) "oncall@example.invalid, \"Doe, John\" "
                                               "<john@example.invalid>",
                        .language = (char *) (l == 0 ? "ja" : "en"),
                        .n = 4, .ids = ids, .entries = entries,
                        .earliest_due = T("2026-11-25T17:28:00"),
                };
                static const EventType types[4] = { EVENT_FAULT_RAISED, EVENT_FAULT_TRANSIENT,
                                                    EVENT_SLA_WARNING, EVENT_ANOMALY };
                _cleanup_(freep) char *wire = NULL;
                OutboxMail m = {};
                size_t len = 0;

                for (int i = 0; i < 4; i++) {
                        Fault f;
                        Event e;

                        fault_for(types[i], &f);
                        make_event(&e, types[i], types[i] == EVENT_ANOMALY ? NULL : &f);
                        assert_int_equal(mail_digest_entry(c, &e,
                                                           types[i] == EVENT_ANOMALY ? NULL : &f,
                                                           &entries[i]),
                                         0);
                }
                assert_int_equal(mail_digest(&h, c->notify.from, T("2026-11-25T15:31:00"), &m),
                                 0);
                assert_int_equal(mail_render(&m, c->notify.from, T("2026-11-25T15:31:00"), &wire,
                                             &len),
                                 0);
                {
                        _cleanup_(freep) char *text = NULL;
                        size_t n = 0;
                        FILE *out = open_memstream(&text, &n);

                        assert_non_null(out);
                        fprintf(out, "subject: %s\nmessage-id: %s\n%s----\n%s", m.subject,
                                m.message_id, m.body, wire);
                        assert_int_equal(fclose(out), 0);
                        check_golden(l == 0 ? "digest-ja.txt" : "digest-en.txt", text, n);
                }
                outbox_mail_done(&m);
                for (int i = 0; i < 4; i++)
                        free(entries[i]);
        }
        assert_int_equal(failures, 0);
}

/* The titles of the contract's deliverables (deadlines, reminders, the web
 * view), every kind in both languages, mid-contract and at its end. */
static void test_deadline_titles(void **state) {
        _cleanup_(freep) char *text = NULL;
        size_t len = 0;
        FILE *out = open_memstream(&text, &len);

        (void) state;
        failures = 0;
        assert_non_null(out);
        for (DeadlineKind k = 0; k < _DEADLINE_KIND_MAX; k++)
                for (int end = 0; end < 2; end++)
                        for (int l = 0; l < 2; l++) {
                                Deadline d = {
                                        .kind = k, .fiscal_year = 2026, .contract_end = end,
                                        .period_start = day_from_ymd(2026, 10, 1),
                                        .period_end = day_from_ymd(2026, 12, 31),
                                };
                                char title[256];

                                assert_int_equal(deadline_title(&d, l == 0 ? LANGUAGE_JA
                                                                           : LANGUAGE_EN,
                                                                title, sizeof(title)),
                                                 0);
                                fprintf(out, "%s %d %s: %s\n", deadline_kind_to_string(k), end,
                                        l == 0 ? "ja" : "en", title);
                        }
        assert_int_equal(fclose(out), 0);
        check_golden("deadline-titles.txt", text, len);
        assert_int_equal(failures, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_reports),
                cmocka_unit_test(test_incidents_json),
                cmocka_unit_test(test_csv_cell),
                cmocka_unit_test(test_mails),
                cmocka_unit_test(test_digest),
                cmocka_unit_test(test_deadline_titles),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
