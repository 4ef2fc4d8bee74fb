/* SPDX-License-Identifier: MIT */

/* Mail composition and encoding (mail.c), the outbox (store-outbox.c) on a
 * real database, and the mailer's backoff. Sending itself is tested against
 * a real SMTP server by test-mailer.c. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "mail.h"
#include "mailer-plan.h"
#include "mailer.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);

#define PLACE_05 "市川市真間1-12-4 市川センタービル（南向き）"

static const char config_text[] =
        "contract: {name: 市川市 防犯カメラ保守, start: 2025-12-01, end: 2031-11-30}\n"
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
        "  - {id: '05', name: '" PLACE_05 "', mount: wall, tunnel: 5,"
        " router: {address: 127.0.1.5, snmp: {version: 2c, community_credential: rx-cred}},"
        " camera: {address: 127.0.2.5, username: cam-admin-user,"
        " password_credential: camera-cred-name}}\n"
        "  - {id: '06', name: evil, mount: wall, tunnel: 6,"
        " router: {address: 127.0.1.6, snmp: {version: 2c, community_credential: rx-cred}},"
        " camera: {address: 127.0.2.6, username: admin, password_credential: camera}}\n";

/* What must never reach a mail. */
static const char *const secret_words[] = {
        "smtp-cred-name", "fw-smtp-user", "camera-cred-name", "cam-admin-user",
        "vpn-community-cred", "rx-cred", "password", "smtp://",
};

static Config *load_config(const char *language) {
        char text[sizeof(config_text) + 8];
        ConfigErrors errs = {};
        Config *c = NULL;
        int n;

        n = snprintf(text, sizeof(text), config_text, language);
        assert_true(n > 0 && (size_t) n < sizeof(text));
        if (config_load_buffer("test.yaml", text, (size_t) n, &errs, &c) < 0) {
                for (size_t i = 0; i < errs.n_errors; i++)
                        print_message("%u:%u: %s\n", errs.errors[i].line, errs.errors[i].column,
                                      errs.errors[i].message);
                fail();
        }
        config_errors_clear(&errs);
        return c;
}

static time_t T(const char *s) {
        time_t t = 0;

        assert_int_equal(parse_iso_datetime(s, &t), 0);
        return t;
}

/* Fault 42 of site 05's camera, raised at 15:28 and received at once: due
 * at 17:28; deferral eligible, by 11:00 the next morning. */
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
}

static void make_event(Event *e, EventType t, const Fault *f) {
        *e = (Event) { .id = 7, .type = t, .at = T("2026-11-25T15:28:00") };
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

static const char *first_line_end(const char *s) {
        return s + strcspn(s, "\n");
}

static void assert_first_line(const char *body, const char *want) {
        size_t n = (size_t) (first_line_end(body) - body);

        if (n != strlen(want) || strncmp(body, want, n) != 0)
                fail_msg("first line '%.*s', want '%s'", (int) n, body, want);
}

static void assert_no_secret(const MailDraft *d) {
        for (size_t i = 0; i < ELEMENTSOF(secret_words); i++) {
                if (strstr(d->subject, secret_words[i]) || strstr(d->body, secret_words[i]))
                        fail_msg("'%s' in the mail:\n%s\n%s", secret_words[i], d->subject,
                                 d->body);
        }
}

/* ======================================================================== */
/* Composition */

static const struct {
        EventType type;
        const char *ja, *en;
} mailing_types[] = {
        { EVENT_FAULT_RAISED, "障害発生", "FAULT" },
        { EVENT_FAULT_CLEARED, "復旧", "CLEARED" },
        { EVENT_FAULT_TRANSIENT, "自然復旧（一時障害）", "TRANSIENT" },
        { EVENT_ANOMALY, "要調査", "ANOMALY" },
        { EVENT_SLA_WARNING, "着手期限接近", "SLA WARNING" },
        { EVENT_SLA_BREACH, "着手期限超過", "SLA BREACH" },
        { EVENT_DEFERRAL_NEEDED, "翌朝対応の承認依頼", "DEFERRAL NEEDED" },
        { EVENT_RENOTIFY, "再通知（未確認）", "REMINDER" },
        { EVENT_FAULT_RECEIVED, "障害受付", "RECEIVED" },
};

static void compose_each(const char *language) {
        _cleanup_(config_freep) Config *c = load_config(language);
        bool ja = streq(language, "ja");

        for (size_t i = 0; i < ELEMENTSOF(mailing_types); i++) {
                EventType t = mailing_types[i].type;
                bool with_fault = t != EVENT_ANOMALY;
                char want[512];
                MailDraft d = {};
                Fault f;
                Event e;

                make_fault(&f);
                if (t == EVENT_FAULT_CLEARED || t == EVENT_FAULT_TRANSIENT) {
                        f.state = FAULT_CLEARED;
                        f.cleared_at = T("2026-11-25T16:00:00");
                        f.onsite_started_at = t == EVENT_FAULT_CLEARED ? f.detected_at + 600 : 0;
                }
                make_event(&e, t, with_fault ? &f : NULL);
                assert_int_equal(mail_compose(c, &e, with_fault ? &f : NULL, &d), 0);

                (void) snprintf(want, sizeof(want), "[fieldwatch] %s 05 " PLACE_05 " %s",
                                ja ? mailing_types[i].ja : mailing_types[i].en,
                                !with_fault ? (ja ? "異常の繰り返し" : "repeated failures")
                                : ja        ? "カメラ応答なし"
                                            : "camera down");
                assert_string_equal(d.subject, want);
                if (!with_fault)
                        assert_first_line(d.body, ja ? "現地着手期限: なし" : "Onsite due: none");
                else if (t == EVENT_FAULT_CLEARED)
                        assert_first_line(d.body, ja ? "現地着手期限: 2026-11-25 17:28"
                                                       "（現地作業を開始済み）"
                                                     : "Onsite due: 2026-11-25 17:28 (onsite work "
                                                       "started)");
                else if (t == EVENT_FAULT_TRANSIENT)
                        assert_first_line(d.body, ja ? "現地着手期限: 2026-11-25 17:28（復旧済み）"
                                                     : "Onsite due: 2026-11-25 17:28 (cleared)");
                else
                        assert_first_line(d.body, ja ? "現地着手期限: 2026-11-25 17:28"
                                                     : "Onsite due: 2026-11-25 17:28");
                if (with_fault) {
                        assert_non_null(strstr(d.body, ja ? "障害ID: 42\n" : "Fault id: 42\n"));
                        assert_non_null(strstr(d.body, ja ? "受付時刻: 2026-11-25 15:28\n"
                                                          : "Received at: 2026-11-25 15:28\n"));
                        assert_non_null(strstr(d.body, ja ? "検知時刻: 2026-11-25 15:28\n"
                                                          : "Detected at: 2026-11-25 15:28\n"));
                        assert_non_null(strstr(d.body, "GetSystemDateAndTime"));
                        assert_non_null(strstr(d.body, ja ? "到達不能の機器: なし\n"
                                                          : "Unreachable devices: none\n"));
                        assert_non_null(strstr(d.body, "2026-11-26 11:00"));
                } else
                        assert_non_null(strstr(d.body, "fieldwatchctl status"));
                if (t == EVENT_FAULT_RAISED || t == EVENT_SLA_WARNING || t == EVENT_SLA_BREACH ||
                    t == EVENT_RENOTIFY || t == EVENT_DEFERRAL_NEEDED)
                        assert_non_null(strstr(d.body, ja ? "fieldwatchctl ack 42 --by 氏名"
                                                          : "fieldwatchctl ack 42 --by NAME"));
                if (t == EVENT_DEFERRAL_NEEDED)
                        assert_non_null(strstr(d.body, "fieldwatchctl defer 42 --approved-by"));
                if (t == EVENT_FAULT_CLEARED)
                        assert_non_null(strstr(d.body, "fieldwatchctl recover 42 --by"));
                assert_null(strchr(d.subject, '\n'));
                assert_null(strchr(d.body, '\r'));
                assert_no_secret(&d);
                mail_draft_done(&d);
                fault_done(&f);
        }
}

static void test_compose_ja(void **state) {
        (void) state;
        compose_each("ja");
}

static void test_compose_en(void **state) {
        (void) state;
        compose_each("en");
}

/* Every event type has a prefix of its own, in both languages. */
static void test_prefixes_distinct(void **state) {
        char seen[_EVENT_TYPE_MAX][256];

        (void) state;
        for (int lang = 0; lang < 2; lang++) {
                _cleanup_(config_freep) Config *c = load_config(lang ? "en" : "ja");

                for (int t = 0; t < _EVENT_TYPE_MAX; t++) {
                        MailDraft d = {};
                        Fault f;
                        Event e;

                        make_fault(&f);
                        make_event(&e, (EventType) t, &f);
                        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
                        /* "[fieldwatch] PREFIX 05 ...": the prefix ends before " 05 ". */
                        (void) snprintf(seen[t], sizeof(seen[t]), "%.*s",
                                        (int) (strstr(d.subject, " 05 ") - d.subject), d.subject);
                        for (int u = 0; u < t; u++)
                                if (streq(seen[t], seen[u]))
                                        fail_msg("types %d and %d share '%s'", u, t, seen[t]);
                        assert_no_secret(&d);
                        mail_draft_done(&d);
                        fault_done(&f);
                }
        }
}

static void test_compose_deferral_approved(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        MailDraft d = {};
        Fault f;
        Event e;

        (void) state;
        make_fault(&f);
        f.deferral_approved_at = T("2026-11-25T16:10:00");
        f.acknowledged_at = T("2026-11-25T15:40:00");
        f.n_hidden = 2;
        f.hidden = calloc(2, sizeof(char *));
        assert_non_null(f.hidden);
        f.hidden[0] = strdup("05-router");
        f.hidden[1] = strdup("05-camera");
        assert_true(f.hidden[0] && f.hidden[1]);
        make_event(&e, EVENT_SLA_WARNING, &f);
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_first_line(d.body, "現地着手期限: 2026-11-26 11:00（翌朝対応を承認済み）");
        assert_non_null(strstr(d.body, "翌朝対応: 承認済み（期限 2026-11-26 11:00）\n"));
        assert_non_null(strstr(d.body, "到達不能の機器: 05-router, 05-camera\n"));
        /* Acknowledged: no ack command; approved: no defer command. */
        assert_null(strstr(d.body, "fieldwatchctl ack"));
        assert_null(strstr(d.body, "fieldwatchctl defer"));
        assert_non_null(strstr(d.body, "fieldwatchctl onsite 42 --by 氏名"));
        mail_draft_done(&d);
        fault_done(&f);
}

/* A VPN router's fault hides three devices per site: 10,000 sites make
 * 30,000. The mail names the first MAIL_HIDDEN_MAX and counts the rest, in
 * both languages, and stays under the size limit. */
static void test_compose_hidden_capped(void **state) {
        static const struct {
                const char *language, *more;
        } cases[] = {
                { "ja", "到達不能の機器: 00000-tunnel, 00000-router, 00000-camera, " },
                { "en", "Unreachable devices: 00000-tunnel, 00000-router, 00000-camera, " },
        };
        static const char *const more[] = {
                "\n  …ほか 29900 台（全 30000 台。すべては fieldwatchctl faults --json "
                "で確認できます）\n",
                "\n  …and 29900 more (30000 in all; fieldwatchctl faults --json shows them "
                "all)\n",
        };
        static const char *const kinds[] = { "tunnel", "router", "camera" };
        Fault f;
        Event e;

        (void) state;
        make_fault(&f);
        f.site[0] = 0;
        strcpy(f.device, "vpn");
        strcpy(f.kind, "vpn_down");
        f.n_hidden = 30000;
        f.hidden = calloc(f.n_hidden, sizeof(char *));
        assert_non_null(f.hidden);
        for (size_t i = 0; i < f.n_hidden; i++)
                assert_true(asprintf(&f.hidden[i], "%05zu-%s", i / 3, kinds[i % 3]) > 0);
        make_event(&e, EVENT_FAULT_RAISED, &f);
        strcpy(e.device, "vpn");
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(config_freep) Config *c = load_config(cases[i].language);
                MailDraft d = {};
                const char *list;

                assert_int_equal(mail_compose(c, &e, &f, &d), 0);
                assert_true(strlen(d.body) < MAIL_BODY_MAX / 4);
                list = strstr(d.body, cases[i].more);
                assert_non_null(list);
                /* The first 100: 00033-tunnel is the 100th. */
                assert_non_null(strstr(list, ", 00033-tunnel\n"));
                assert_null(strstr(d.body, "00033-router"));
                assert_non_null(strstr(list, more[i]));
                mail_draft_done(&d);
        }
        /* Exactly MAIL_HIDDEN_MAX: all named, no count. */
        {
                _cleanup_(config_freep) Config *c = load_config("en");
                MailDraft d = {};

                f.n_hidden = MAIL_HIDDEN_MAX;
                assert_int_equal(mail_compose(c, &e, &f, &d), 0);
                assert_non_null(strstr(d.body, ", 00033-tunnel\n"));
                assert_null(strstr(d.body, "more ("));
                mail_draft_done(&d);
                f.n_hidden = 30000;
        }
        fault_done(&f);
}

/* sla.reception: call: before the call there is no due, and the mail says
 * how to record the call; send-back maintenance has no onsite due at all. */
static void test_compose_unreceived_and_sendback(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        MailDraft d = {};
        Fault f;
        Event e;

        (void) state;
        make_fault(&f);
        f.received_at = f.onsite_due = f.deferred_onsite_due = 0;
        f.deferral_eligible = false;
        make_event(&e, EVENT_FAULT_RAISED, &f);
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_first_line(d.body, "現地着手期限: 障害受付の連絡を受けた時から計時");
        assert_non_null(strstr(d.body, "受付時刻: 未受付（障害受付の連絡を待っています）\n"));
        assert_non_null(strstr(d.body, "fieldwatchctl receive 42 --from 連絡元 --by 氏名"));
        assert_null(strstr(d.body, "1970"));
        assert_null(strstr(d.body, "翌朝対応:"));
        mail_draft_done(&d);

        f.received_at = T("2026-11-25T15:40:00");
        (void) snprintf(f.received_from, sizeof(f.received_from), "市役所 危機管理課");
        f.sendback = true;
        make_event(&e, EVENT_FAULT_RECEIVED, &f);
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_first_line(d.body, "現地着手期限: なし（センドバック保守）");
        assert_non_null(strstr(d.body, "連絡元: 市役所 危機管理課\n"));
        assert_null(strstr(d.body, "fieldwatchctl receive"));
        assert_null(strstr(d.body, "1970"));
        mail_draft_done(&d);
        fault_done(&f);
}

static void test_compose_vpn_and_site_loss(void **state) {
        _cleanup_(config_freep) Config *c = load_config("en");
        MailDraft d = {};
        Fault f;
        Event e;

        (void) state;
        make_fault(&f);
        f.site[0] = 0;
        strcpy(f.device, "vpn");
        strcpy(f.kind, "vpn_down");
        make_event(&e, EVENT_FAULT_RAISED, &f);
        strcpy(e.device, "vpn");
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_string_equal(d.subject,
                            "[fieldwatch] FAULT VPN RTX1220 (city hall) VPN router down");
        assert_non_null(strstr(d.body, "Device: vpn (VPN router)\n"));
        mail_draft_done(&d);
        fault_done(&f);

        c = config_free(c);
        c = load_config("ja");
        make_fault(&f);
        strcpy(f.device, "05-tunnel");
        strcpy(f.kind, "site_down");
        strcpy(f.hint, "power, breaker or LTE at the site");
        make_event(&e, EVENT_FAULT_RAISED, &f);
        strcpy(e.device, "05-tunnel");
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_string_equal(d.subject, "[fieldwatch] 障害発生 05 " PLACE_05 " 現場全体が応答なし");
        assert_non_null(strstr(d.body, "確認箇所: 現場の電源・漏電ブレーカー・LTE回線\n"));
        mail_draft_done(&d);
        fault_done(&f);
}

/* An event about no device (a contract deliverable): no place, no device. */
static void test_compose_deliverable(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        MailDraft d = {};
        Event e = { .id = 9, .type = EVENT_REPORT_DUE, .at = T("2026-07-10T09:00:00") };

        (void) state;
        strcpy(e.kind, "quarterly_report");
        strcpy(e.text, "work report for 2026-04-01..2026-06-30 due 2026-07-15");
        assert_int_equal(mail_compose(c, &e, NULL, &d), 0);
        assert_string_equal(d.subject, "[fieldwatch] 提出期限接近 作業実績報告書");
        assert_first_line(d.body, "現地着手期限: なし");
        assert_null(strstr(d.body, "機器:"));
        assert_null(strstr(d.body, "現場:"));
        assert_non_null(strstr(d.body, "fieldwatchctl deadlines"));
        assert_non_null(strstr(d.body, "due 2026-07-15"));
        mail_draft_done(&d);
}

/* ======================================================================== */
/* RFC 2047 */

static size_t b64_decode(const char *in, size_t n, unsigned char *out) {
        int m;

        assert_true(n % 4 == 0);
        m = EVP_DecodeBlock(out, (const unsigned char *) in, (int) n);
        assert_true(m >= 0);
        /* EVP_DecodeBlock counts the padding's zero bytes. */
        if (n >= 1 && in[n - 1] == '=')
                m--;
        if (n >= 2 && in[n - 2] == '=')
                m--;
        return (size_t) m;
}

static bool utf8_valid(const unsigned char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                size_t len = s[i] < 0x80    ? 1
                             : s[i] >= 0xf0 ? 4
                             : s[i] >= 0xe0 ? 3
                             : s[i] >= 0xc0 ? 2
                                            : 0;

                if (len == 0 || i + len > n)
                        return false;
                for (size_t k = 1; k < len; k++)
                        if ((s[i + k] & 0xc0) != 0x80)
                                return false;
                i += len;
        }
        return true;
}

/* Decodes words joined by CRLF SP, checking each; returns the text. */
static char *decode_words(const char *words, size_t first_max) {
        char *out = calloc(1, strlen(words) + 1);
        size_t len = 0, max = first_max;

        assert_non_null(out);
        for (const char *w = words; *w;) {
                size_t n = strcspn(w, "\r");
                unsigned char raw[128];
                size_t m;

                assert_true(n <= max);
                assert_true(n <= 75);
                assert_true(n > 12);
                assert_memory_equal(w, "=?UTF-8?B?", 10);
                assert_memory_equal(w + n - 2, "?=", 2);
                m = b64_decode(w + 10, n - 12, raw);
                /* Each word stands alone: no character split across two. */
                assert_true(utf8_valid(raw, m));
                memcpy(out + len, raw, m);
                len += m;
                w += n;
                if (*w) {
                        assert_memory_equal(w, "\r\n ", 3);
                        w += 3;
                }
                max = 75;
        }
        out[len] = 0;
        return out;
}

static void test_encode_words(void **state) {
        static const char *const inputs[] = {
                "[fieldwatch] 障害発生 05 " PLACE_05 " カメラ応答なし",
                "[fieldwatch] FAULT 05 some ASCII place camera down",
                "x",
                "絵文字😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀 mixed ｶﾅ and é",
                "ああああああああああああああああああああああああああああああああああああ"
                "ああああああああああああああああああああああああああああああああああああ"
                "ああああああああ",
        };

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(inputs); i++)
                for (size_t first = 20; first <= 75; first += 11) {
                        _cleanup_(freep) char *enc = NULL, *dec = NULL;

                        assert_int_equal(mail_encode_words(inputs[i], first, &enc), 0);
                        dec = decode_words(enc, first);
                        assert_string_equal(dec, inputs[i]);
                }
}

static void test_encode_words_edge(void **state) {
        _cleanup_(freep) char *enc = NULL, *dec = NULL, *empty = NULL;
        char *p = NULL;

        (void) state;
        /* Invalid UTF-8 and control characters never reach the word. */
        assert_int_equal(mail_encode_words("a\xff\xc3(b\r\nc", 67, &enc), 0);
        dec = decode_words(enc, 67);
        assert_string_equal(dec, "a?" "?(b  c");
        assert_int_equal(mail_encode_words("", 67, &empty), 0);
        assert_string_equal(empty, "");
        assert_int_equal(mail_encode_words("x", 19, &p), -EINVAL);
        assert_int_equal(mail_encode_words("x", 76, &p), -EINVAL);
        assert_null(p);
}

/* ======================================================================== */
/* Rendering */

/* The header block of a rendered message, with its folded lines joined. */
static void split_message(const char *msg, size_t len, char **ret_headers, char **ret_body) {
        const char *sep = strstr(msg, "\r\n\r\n");

        assert_non_null(sep);
        assert_true((size_t) (sep - msg) < len);
        *ret_headers = strndup(msg, (size_t) (sep - msg) + 2);
        *ret_body = strdup(sep + 4);
        assert_non_null(*ret_headers);
        assert_non_null(*ret_body);
}

/* Checks the line structure of a header block; returns the number of
 * lines that start a field named name. */
static int count_fields(const char *headers, const char *name) {
        int n = 0;

        for (const char *l = headers; *l;) {
                const char *end = strstr(l, "\r\n");
                size_t len;

                assert_non_null(end);
                len = (size_t) (end - l);
                assert_null(memchr(l, '\n', len));
                assert_null(memchr(l, '\r', len));
                assert_true(len <= 78);
                if (memmem(l, len, "=?UTF-8?B?", 10))
                        assert_true(len <= 76);
                if (*l != ' ' && *l != '\t') {
                        assert_non_null(memchr(l, ':', len));
                        if (strncasecmp(l, name, strlen(name)) == 0 && l[strlen(name)] == ':')
                                n++;
                }
                l = end + 2;
        }
        return n;
}

/* The value of a field, unfolded (CRLF SP -> SP), or NULL. */
static char *field_value(const char *headers, const char *name) {
        for (const char *l = headers; *l; l = strstr(l, "\r\n") + 2)
                if (strncasecmp(l, name, strlen(name)) == 0 && l[strlen(name)] == ':') {
                        const char *v = l + strlen(name) + 1, *end = v;
                        char *out, *o;

                        while ((end = strstr(end, "\r\n")) && (end[2] == ' ' || end[2] == '\t'))
                                end += 2;
                        out = strndup(v, (size_t) (end - v));
                        assert_non_null(out);
                        for (o = out; (o = strstr(o, "\r\n"));)
                                memmove(o, o + 2, strlen(o + 2) + 1);
                        return out;
                }
        return NULL;
}

static char *decode_body(const char *body) {
        char *out = calloc(1, strlen(body) + 1);
        size_t len = 0;

        assert_non_null(out);
        for (const char *l = body; *l;) {
                size_t n = strcspn(l, "\r");

                assert_true(n <= 76);
                len += b64_decode(l, n, (unsigned char *) out + len);
                assert_memory_equal(l + n, "\r\n", 2);
                l += n + 2;
        }
        out[len] = 0;
        return out;
}

static OutboxMail sample_mail(void) {
        OutboxMail m = {
                .id = 1,
                .recipients = strdup("oncall@example.invalid, 保守担当 <second@example.invalid>,"
                                     " \"Doe, John\" <john@example.invalid>"),
                .message_id = strdup("<fw.8.42@city.example.invalid>"),
                .thread_id = strdup("<fw.7.42@city.example.invalid>"),
                .subject = strdup("[fieldwatch] 着手期限接近 05 " PLACE_05 " カメラ応答なし"),
                .body = strdup("現地着手期限: 2026-11-25 17:28\n\n.\n行 two\nthree"),
        };

        assert_non_null(m.recipients);
        assert_non_null(m.body);
        return m;
}

static void test_render(void **state) {
        _cleanup_(freep) char *msg = NULL, *headers = NULL, *body = NULL, *subject = NULL;
        _cleanup_(freep) char *to = NULL, *from = NULL, *date = NULL, *text = NULL, *dec = NULL;
        OutboxMail m = sample_mail();
        size_t len = 0;

        (void) state;
        assert_int_equal(mail_render(&m, "fieldwatch <fieldwatch@city.example.invalid>",
                                     T("2026-11-25T17:00:05"), &msg, &len),
                         0);
        assert_int_equal(strlen(msg), len);
        /* CRLF only. */
        for (size_t i = 0; i < len; i++) {
                if (msg[i] == '\n')
                        assert_true(i > 0 && msg[i - 1] == '\r');
                if (msg[i] == '\r')
                        assert_true(msg[i + 1] == '\n');
                assert_true((unsigned char) msg[i] < 0x80); /* 7 bit on the wire */
        }
        split_message(msg, len, &headers, &body);
        assert_int_equal(count_fields(headers, "From"), 1);
        assert_int_equal(count_fields(headers, "To"), 1);
        assert_int_equal(count_fields(headers, "Subject"), 1);
        assert_int_equal(count_fields(headers, "Date"), 1);
        assert_int_equal(count_fields(headers, "Message-ID"), 1);
        assert_int_equal(count_fields(headers, "In-Reply-To"), 1);
        assert_int_equal(count_fields(headers, "References"), 1);
        assert_int_equal(count_fields(headers, "MIME-Version"), 1);

        from = field_value(headers, "From");
        assert_string_equal(from, " fieldwatch <fieldwatch@city.example.invalid>");
        date = field_value(headers, "Date");
        assert_string_equal(date, " Wed, 25 Nov 2026 17:00:05 +0900");
        text = field_value(headers, "Message-ID");
        assert_string_equal(text, " <fw.8.42@city.example.invalid>");
        free(text);
        text = field_value(headers, "In-Reply-To");
        assert_string_equal(text, " <fw.7.42@city.example.invalid>");
        free(text);
        text = field_value(headers, "References");
        assert_string_equal(text, " <fw.7.42@city.example.invalid>");
        assert_non_null(strstr(headers, "Content-Type: text/plain; charset=UTF-8\r\n"));
        assert_non_null(strstr(headers, "Content-Transfer-Encoding: base64\r\n"));

        /* The subject decodes to itself. */
        subject = strdup(strstr(headers, "Subject: ") + 9);
        *strstr(subject, "\r\nDate:") = 0;
        dec = decode_words(subject, 67);
        assert_string_equal(dec, m.subject);
        free(dec);

        /* To: the Japanese display name as a word, the comma one quoted. */
        to = field_value(headers, "To");
        assert_non_null(strstr(to, "<oncall@example.invalid>,"));
        assert_non_null(strstr(to, "=?UTF-8?B?5L+d5a6I5ouF5b2T?= <second@example.invalid>,"));
        assert_non_null(strstr(to, "\"Doe, John\" <john@example.invalid>"));

        /* The body decodes to itself with CRLF line ends (dot-stuffing is curl's). */
        dec = decode_body(body);
        assert_string_equal(dec, "現地着手期限: 2026-11-25 17:28\r\n\r\n.\r\n行 two\r\nthree");
        outbox_mail_done(&m);
}

static void test_render_unthreaded(void **state) {
        _cleanup_(freep) char *msg = NULL, *headers = NULL, *body = NULL;
        OutboxMail m = sample_mail();
        size_t len;

        (void) state;
        free(m.thread_id);
        m.thread_id = NULL;
        assert_int_equal(mail_render(&m, "fw@example.invalid", T("2026-11-25T17:00:05"), &msg,
                                     &len),
                         0);
        split_message(msg, len, &headers, &body);
        assert_int_equal(count_fields(headers, "In-Reply-To"), 0);
        assert_int_equal(count_fields(headers, "References"), 0);
        assert_non_null(strstr(headers, "From: <fw@example.invalid>\r\n"));
        outbox_mail_done(&m);
}

/* CR and LF in any value cannot make a header of their own. */
static void test_header_injection(void **state) {
        _cleanup_(config_freep) Config *c = load_config("en");
        _cleanup_(freep) char *msg = NULL, *headers = NULL, *body = NULL, *dec = NULL;
        MailDraft d = {};
        OutboxMail m = {};
        size_t len;
        Fault f;
        Event e;

        (void) state;
        /* The loader refuses control characters; mail.c does not rely on it. */
        free(c->sites[1].name);
        c->sites[1].name = strdup("evil\r\nBcc: victim@example.invalid");
        assert_non_null(c->sites[1].name);
        make_fault(&f);
        strcpy(f.site, "06");
        strcpy(f.device, "06-camera");
        strcpy(f.reason, "bad\r\nX-Injected: reason");
        make_event(&e, EVENT_FAULT_RAISED, &f);
        strcpy(e.device, "06-camera");
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_null(strpbrk(d.subject, "\r\n"));
        assert_non_null(strstr(d.subject, "evil  Bcc: victim@example.invalid"));
        assert_null(strstr(d.body, "\nX-Injected"));
        assert_null(strstr(d.body, "\nBcc"));

        m = (OutboxMail) {
                .recipients = strdup("a@example.invalid\r\nBcc: victim@example.invalid"),
                .message_id = strdup("<fw.1.1@x.invalid>\r\nBcc: victim@example.invalid"),
                .thread_id = strdup("<fw.0.1@x.invalid>\nX-Evil: 1"),
                .subject = strdup("hello\r\nBcc: victim@example.invalid"),
                .body = strdup("body"),
        };
        assert_int_equal(mail_render(&m, "fw <fw@x.invalid>\r\nBcc: victim@example.invalid",
                                     T("2026-11-25T17:00:05"), &msg, &len),
                         0);
        split_message(msg, len, &headers, &body);
        assert_int_equal(count_fields(headers, "Bcc"), 0);
        assert_int_equal(count_fields(headers, "X-Evil"), 0);
        assert_int_equal(count_fields(headers, "Message-ID"), 1);
        assert_int_equal(count_fields(headers, "From"), 1);
        assert_int_equal(count_fields(headers, "To"), 1);
        mail_draft_done(&d);
        outbox_mail_done(&m);
        fault_done(&f);
}

/* ======================================================================== */
/* Message-IDs, threads, recipients */

static void test_message_id(void **state) {
        char buf[MAIL_MESSAGE_ID_MAX], small[8];

        (void) state;
        assert_int_equal(mail_domain("fieldwatch <fieldwatch@city.example.invalid>", buf,
                                     sizeof(buf)),
                         0);
        assert_string_equal(buf, "city.example.invalid");
        assert_int_equal(mail_domain("fw@[192.0.2.1]", buf, sizeof(buf)), 0);
        assert_string_equal(buf, "[192.0.2.1]");
        assert_int_equal(mail_domain("nobody", buf, sizeof(buf)), -EINVAL);
        assert_int_equal(mail_domain("a@example.invalid", small, sizeof(small)), -ENOBUFS);

        assert_int_equal(mail_message_id("example.invalid", 12, 3, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "<fw.12.3@example.invalid>");
        assert_int_equal(mail_message_id("example.invalid", 12, 0, buf, sizeof(buf)), 0);
        assert_string_equal(buf, "<fw.12.0@example.invalid>");
        assert_int_equal(mail_message_id("bad>\r\n", 1, 1, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(mail_message_id("", 1, 1, buf, sizeof(buf)), -EINVAL);
        assert_int_equal(mail_message_id("example.invalid", 1, 1, small, sizeof(small)),
                         -ENOBUFS);
}

static void test_threading(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        _cleanup_(freep) char *msg = NULL, *headers = NULL, *body = NULL, *v = NULL;
        OutboxMail first = {}, later = {}, again = {};
        size_t len;
        Fault f;
        Event e;

        (void) state;
        make_fault(&f);
        make_event(&e, EVENT_FAULT_RAISED, &f);
        e.id = 100;
        assert_int_equal(mail_prepare(c, &e, &f, 1000, &first), 0);
        assert_string_equal(first.message_id, "<fw.100.42@city.example.invalid>");
        assert_null(first.thread_id); /* it starts the thread */
        assert_int_equal(first.event_id, 100);
        assert_int_equal(first.fault_id, 42);
        assert_int_equal(first.created_at, 1000);
        assert_int_equal(first.next_attempt_at, 1000);
        assert_non_null(strstr(first.subject, "障害発生"));
        /* What the caller does: the first mail's Message-ID is the thread. */
        (void) snprintf(f.thread_id, sizeof(f.thread_id), "%s", first.message_id);

        /* The same event again: the same Message-ID (a resent mail is one message). */
        assert_int_equal(mail_prepare(c, &e, &f, 2000, &again), 0);
        assert_string_equal(again.message_id, first.message_id);
        assert_null(again.thread_id);

        make_event(&e, EVENT_SLA_BREACH, &f);
        e.id = 101;
        assert_int_equal(mail_prepare(c, &e, &f, 1100, &later), 0);
        assert_string_equal(later.message_id, "<fw.101.42@city.example.invalid>");
        assert_string_equal(later.thread_id, "<fw.100.42@city.example.invalid>");
        /* A breach goes to the supervisor too, once. */
        assert_string_equal(later.recipients,
                            "oncall@example.invalid, 保守担当 <second@example.invalid>, "
                            "\"Doe, John\" <john@example.invalid>, "
                            "監督員 <supervisor@example.invalid>");
        assert_string_equal(first.recipients,
                            "oncall@example.invalid, 保守担当 <second@example.invalid>, "
                            "\"Doe, John\" <john@example.invalid>");
        assert_int_equal(mail_render(&later, c->notify.from, 1100, &msg, &len), 0);
        split_message(msg, len, &headers, &body);
        v = field_value(headers, "In-Reply-To");
        assert_string_equal(v, " <fw.100.42@city.example.invalid>");
        free(v);
        v = field_value(headers, "References");
        assert_string_equal(v, " <fw.100.42@city.example.invalid>");

        /* An event not yet in the store has no id to name its mail by. */
        e.id = 0;
        assert_int_equal(mail_prepare(c, &e, &f, 1100, &again), -EINVAL);
        outbox_mail_done(&first);
        outbox_mail_done(&later);
        outbox_mail_done(&again);
        fault_done(&f);
}

static void test_recipients(void **state) {
        _cleanup_(config_freep) Config *c = load_config("en");
        _cleanup_(freep) char *list = NULL;
        char **v = NULL;
        size_t n = 0;

        (void) state;
        assert_false(mail_escalates(EVENT_FAULT_RAISED));
        assert_true(mail_escalates(EVENT_SLA_BREACH));
        assert_true(mail_escalates(EVENT_DEFERRAL_NEEDED));
        assert_int_equal(mail_recipients(c, EVENT_DEFERRAL_NEEDED, &list), 0);
        assert_int_equal(mail_addresses(list, &v, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(v[0], "oncall@example.invalid");
        assert_string_equal(v[1], "second@example.invalid");
        assert_string_equal(v[2], "john@example.invalid");
        assert_string_equal(v[3], "supervisor@example.invalid");
        v = mail_addresses_free(v, n);

        assert_int_equal(mail_addresses(" a@x.invalid ,\"q, \\\" <r>\" <b@x.invalid>,,", &v, &n),
                         0);
        assert_int_equal(n, 2);
        assert_string_equal(v[0], "a@x.invalid");
        assert_string_equal(v[1], "b@x.invalid");
        v = mail_addresses_free(v, n);
        assert_int_equal(mail_addresses(" , ", &v, &n), -EINVAL);
}

/* A security incident: to on-call and notify.security_to (each address
 * once), the incident's kind in the subject, alone (no digest entry). */
static void test_security_incident(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        _cleanup_(freep) char *list = NULL;
        _cleanup_(mail_draft_done) MailDraft d = {};
        OutboxMail m = {};
        char **v = NULL;
        size_t n = 0;
        Fault f;
        Event e;

        (void) state;
        assert_int_equal(mail_recipients(c, EVENT_SECURITY_INCIDENT, &list), 0);
        assert_int_equal(mail_addresses(list, &v, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(v[3], "security@city.example.invalid");
        v = mail_addresses_free(v, n);
        free(list);
        /* Other events do not go to the city's contact. */
        assert_int_equal(mail_recipients(c, EVENT_FAULT_RAISED, &list), 0);
        assert_null(strstr(list, "security@"));

        make_fault(&f);
        strcpy(f.kind, "auth_failed");
        f.severity = FAULT_DEGRADED;
        make_event(&e, EVENT_SECURITY_INCIDENT, &f);
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_non_null(strstr(d.subject, "情報セキュリティ事故"));
        assert_non_null(strstr(d.subject, "認証失敗"));
        assert_non_null(strstr(d.body, "別記1 第9条"));
        assert_no_secret(&d);
        /* The incident's kind, not the fault's, for a router's SNMPv3 failure. */
        strcpy(e.kind, "snmp_auth_failed");
        strcpy(f.kind, "router_down");
        mail_draft_done(&d);
        assert_int_equal(mail_compose(c, &e, &f, &d), 0);
        assert_non_null(strstr(d.subject, "SNMPv3認証失敗"));
        assert_int_equal(mail_prepare(c, &e, &f, 2000000, &m), 0);
        assert_null(m.digest_entry);
        assert_non_null(strstr(m.recipients, "security@city.example.invalid"));
        outbox_mail_done(&m);
        fault_done(&f);
}

/* ======================================================================== */
/* The outbox */

static char tmp_dir[] = "/tmp/test-mail-XXXXXX";

static int64_t add_mail(Store *s, int64_t fault_id, time_t now, const char *subject) {
        char id[64];
        OutboxMail m = {
                .event_id = 0,
                .fault_id = fault_id,
                .created_at = now,
                .recipients = (char *) "a@example.invalid",
                .message_id = id,
                .subject = (char *) subject,
                .body = (char *) "body",
        };

        (void) snprintf(id, sizeof(id), "<%s@example.invalid>", subject);
        assert_int_equal(store_outbox_add(s, &m), 0);
        assert_true(m.id > 0);
        return m.id;
}

/* The mail the mailer would send at now (mailer-plan.h), as the outbox holds it. */
static int outbox_next(Store *s, time_t now, OutboxMail *ret) {
        MailerPlan p = {};
        int r;

        r = mailer_plan_load(s, NULL, 0, now, &p);
        if (r >= 0 && p.id == 0)
                r = -ENOENT;
        if (r >= 0)
                r = store_outbox_get(s, p.id, ret);
        mailer_plan_done(&p);
        return r;
}

/* When the mailer has work next, after now. */
static int outbox_next_attempt(Store *s, time_t now, time_t *ret) {
        MailerPlan p = {};
        int r;

        r = mailer_plan_load(s, NULL, 0, now, &p);
        if (r >= 0 && p.next == 0)
                r = -ENOENT;
        if (r >= 0)
                *ret = p.next;
        mailer_plan_done(&p);
        return r;
}

static void assert_next(Store *s, time_t now, const char *subject) {
        OutboxMail m = {};
        int r = outbox_next(s, now, &m);

        if (!subject) {
                assert_int_equal(r, -ENOENT);
                assert_null(m.subject);
                return;
        }
        assert_int_equal(r, 0);
        assert_string_equal(m.subject, subject);
        outbox_mail_done(&m);
}

typedef struct Seen {
        int n;
        OutboxMail rows[8];
} Seen;

static int collect(const OutboxMail *m, void *userdata) {
        Seen *seen = userdata;
        OutboxMail *c = &seen->rows[seen->n++];

        *c = *m;
        c->recipients = strdup(m->recipients);
        c->message_id = strdup(m->message_id);
        c->thread_id = m->thread_id ? strdup(m->thread_id) : NULL;
        c->subject = strdup(m->subject);
        c->body = strdup(m->body);
        c->last_error = m->last_error ? strdup(m->last_error) : NULL;
        c->language = m->language ? strdup(m->language) : NULL;
        c->digest_entry = m->digest_entry ? strdup(m->digest_entry) : NULL;
        c->delivered_to = m->delivered_to ? strdup(m->delivered_to) : NULL;
        c->abandoned = m->abandoned ? strdup(m->abandoned) : NULL;
        return 0;
}

static void seen_done(Seen *seen) {
        for (int i = 0; i < seen->n; i++)
                outbox_mail_done(&seen->rows[i]);
        seen->n = 0;
}

static void test_outbox(void **state) {
        const time_t now = 1000000;
        char long_error[3000];
        Store *s = NULL;
        time_t next = 0;
        Seen seen = {};
        int64_t a1, b1, a2, x;

        (void) state;
        assert_non_null(mkdtemp(tmp_dir));
        assert_int_equal(store_open(tmp_dir, &s), 0);
        assert_next(s, now, NULL);
        assert_int_equal(outbox_next_attempt(s, 0, &next), -ENOENT);

        assert_int_equal(store_begin(s), 0);
        a1 = add_mail(s, 1, now, "a1");
        b1 = add_mail(s, 2, now, "b1");
        a2 = add_mail(s, 1, now, "a2");
        x = add_mail(s, 0, now, "x");
        assert_int_equal(store_commit(s), 0);
        assert_true(a1 < b1 && b1 < a2 && a2 < x);

        /* Oldest first; not before its time. */
        assert_next(s, now - 1, NULL);
        assert_int_equal(outbox_next_attempt(s, now - 1, &next), 0);
        assert_int_equal(next, now);
        assert_next(s, now, "a1");

        /* a1 fails: a2 (same fault) waits behind it, the others go. */
        assert_int_equal(store_outbox_retry(s, a1, now + 60, "SMTP 451: try later", NULL), 0);
        assert_next(s, now, "b1");
        assert_int_equal(store_outbox_sent(s, b1, now + 1, NULL), 0);
        assert_next(s, now, "x");
        assert_int_equal(store_outbox_sent(s, x, now + 2, NULL), 0);
        assert_next(s, now + 59, NULL);
        assert_int_equal(outbox_next_attempt(s, now + 59, &next), 0);
        assert_int_equal(next, now + 60); /* a1's retry: a2 is not ready before it */

        /* Twice more; the error is capped. */
        memset(long_error, 'e', sizeof(long_error) - 1);
        long_error[sizeof(long_error) - 1] = 0;
        assert_int_equal(store_outbox_retry(s, a1, now + 120, long_error, NULL), 0);
        assert_next(s, now + 60, NULL);
        assert_next(s, now + 120, "a1");
        assert_int_equal(store_outbox_sent(s, a1, now + 121, NULL), 0);
        assert_next(s, now + 121, "a2");
        assert_int_equal(store_outbox_sent(s, a2, now + 122, NULL), 0);
        assert_next(s, now + 1000, NULL);
        assert_int_equal(outbox_next_attempt(s, 0, &next), -ENOENT);

        /* Marks apply once, to existing mails. */
        assert_int_equal(store_outbox_sent(s, a1, now + 200, NULL), -ENOENT);
        assert_int_equal(store_outbox_retry(s, a1, now + 200, "late", NULL), -ENOENT);
        assert_int_equal(store_outbox_sent(s, 9999, now, NULL), -ENOENT);

        /* What stays, after a reopen. */
        s = store_close(s);
        assert_int_equal(store_open(tmp_dir, &s), 0);
        assert_int_equal(store_foreach_mail(s, collect, &seen), 0);
        assert_int_equal(seen.n, 4);
        assert_string_equal(seen.rows[0].subject, "a1");
        assert_int_equal(seen.rows[0].attempts, 3); /* two failures, then the good one */
        assert_int_equal(seen.rows[0].sent_at, now + 121);
        assert_int_equal(seen.rows[0].next_attempt_at, now + 120);
        assert_int_equal(strlen(seen.rows[0].last_error), 1024);
        assert_int_equal(seen.rows[0].fault_id, 1);
        assert_int_equal(seen.rows[0].event_id, 0);
        assert_null(seen.rows[0].thread_id);
        assert_string_equal(seen.rows[0].message_id, "<a1@example.invalid>");
        assert_string_equal(seen.rows[1].subject, "b1");
        assert_int_equal(seen.rows[1].attempts, 1);
        assert_null(seen.rows[1].last_error);
        assert_string_equal(seen.rows[2].subject, "a2");
        assert_int_equal(seen.rows[2].sent_at, now + 122);
        assert_string_equal(seen.rows[3].subject, "x");
        assert_int_equal(seen.rows[3].fault_id, 0);
        seen_done(&seen);
        store_close(s);
}

/* A mail written by mail_prepare() survives the outbox unchanged. */
static void test_outbox_prepared(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        OutboxMail m = {}, back = {};
        Store *s = NULL;
        Fault f;
        Event e;

        (void) state;
        assert_int_equal(store_open(tmp_dir, &s), 0);
        make_fault(&f);
        strcpy(f.thread_id, "<fw.1.42@city.example.invalid>");
        make_event(&e, EVENT_RENOTIFY, &f);
        e.id = 55;
        assert_int_equal(mail_prepare(c, &e, &f, 2000000, &m), 0);
        assert_int_equal(store_outbox_add(s, &m), 0);
        assert_int_equal(outbox_next(s, 2000000, &back), 0);
        assert_int_equal(back.id, m.id);
        assert_int_equal(back.event_id, 55);
        assert_int_equal(back.fault_id, 42);
        assert_string_equal(back.thread_id, m.thread_id);
        assert_string_equal(back.message_id, m.message_id);
        assert_string_equal(back.subject, m.subject);
        assert_string_equal(back.body, m.body);
        assert_string_equal(back.recipients, m.recipients);
        assert_int_equal(back.attempts, 0);
        assert_int_equal(back.sent_at, 0);
        outbox_mail_done(&m);
        outbox_mail_done(&back);
        fault_done(&f);
        store_close(s);
}

/* The stand-in of a mail that cannot be composed: the same subject, thread
 * and recipients, a short body that says why and how to see the event. */
static void test_prepare_fallback(void **state) {
        _cleanup_(config_freep) Config *c = load_config("en");
        OutboxMail m = {}, fb = {};
        Fault f;
        Event e;

        (void) state;
        make_fault(&f);
        strcpy(f.thread_id, "<fw.1.42@city.example.invalid>");
        make_event(&e, EVENT_SLA_WARNING, &f);
        e.id = 56;
        assert_int_equal(mail_prepare(c, &e, &f, 2000000, &m), 0);
        assert_int_equal(mail_prepare_fallback(c, &e, &f, 2000000, 0, &fb), -EINVAL);
        assert_int_equal(mail_prepare_fallback(c, &e, &f, 2000000, -E2BIG, &fb), 0);
        assert_string_equal(fb.subject, m.subject);
        assert_string_equal(fb.message_id, m.message_id);
        assert_string_equal(fb.thread_id, m.thread_id);
        assert_string_equal(fb.recipients, m.recipients);
        assert_int_equal(fb.event_id, 56);
        assert_int_equal(fb.fault_id, 42);
        assert_first_line(fb.body, "Onsite due: 2026-11-25 17:28");
        assert_non_null(strstr(fb.body, "\nThe full text of this notice could not be composed "
                                        "(its body would pass the 64 KiB limit). See what it is "
                                        "about with:\n"
                                        "  fieldwatchctl events --since 55 --limit 1\n"
                                        "  fieldwatchctl faults --json\n"));
        assert_non_null(strstr(fb.body, "Site: 05 " PLACE_05 "\n"));
        assert_non_null(strstr(fb.body, "Fault id: 42\n"));
        assert_non_null(strstr(fb.body, "fieldwatchctl ack 42 --by NAME"));
        assert_null(strstr(fb.body, "Unreachable devices"));
        outbox_mail_done(&fb);
        /* Another reason is named as the system names it. */
        assert_int_equal(mail_prepare_fallback(c, &e, &f, 2000000, -EINVAL, &fb), 0);
        assert_non_null(strstr(fb.body, "could not be composed (Invalid argument)."));
        outbox_mail_done(&fb);
        outbox_mail_done(&m);
        fault_done(&f);
}

/* ======================================================================== */
/* Digests */

static void test_digest_entry(void **state) {
        _cleanup_(config_freep) Config *ja = load_config("ja");
        _cleanup_(config_freep) Config *en = load_config("en");
        char *entry = NULL;
        OutboxMail m = {};
        Fault f;
        Event e;

        (void) state;
        make_fault(&f);
        make_event(&e, EVENT_FAULT_RAISED, &f);
        assert_int_equal(mail_digest_entry(ja, &e, &f, &entry), 0);
        assert_string_equal(entry, "[障害発生] 05 " PLACE_05 " カメラ応答なし\n"
                                   "    機器: 05-camera（カメラ）  障害ID: 42"
                                   "  通知事象の時刻: 2026-11-25 15:28"
                                   "  現地着手期限: 2026-11-25 17:28");
        free(entry);
        assert_int_equal(mail_digest_entry(en, &e, &f, &entry), 0);
        assert_string_equal(entry, "[FAULT] 05 " PLACE_05 " camera down\n"
                                   "    Device: 05-camera (camera)  Fault id: 42"
                                   "  Event at: 2026-11-25 15:28"
                                   "  Onsite due: 2026-11-25 17:28");
        free(entry);

        /* Cleared: no due any more. */
        f.state = FAULT_CLEARED;
        f.cleared_at = T("2026-11-25T16:00:00");
        make_event(&e, EVENT_FAULT_CLEARED, &f);
        e.at = f.cleared_at;
        assert_int_equal(mail_digest_entry(ja, &e, &f, &entry), 0);
        assert_string_equal(entry, "[復旧] 05 " PLACE_05 " カメラ応答なし\n"
                                   "    機器: 05-camera（カメラ）  障害ID: 42"
                                   "  通知事象の時刻: 2026-11-25 16:00");
        free(entry);

        /* mail_prepare() gives the mail its entry, language and hold rule. */
        f.state = FAULT_OPEN;
        f.cleared_at = 0;
        make_event(&e, EVENT_FAULT_RAISED, &f);
        assert_int_equal(mail_prepare(ja, &e, &f, 2000000, &m), 0);
        assert_int_equal(m.digest_after, 10);
        assert_string_equal(m.language, "ja");
        assert_non_null(m.digest_entry);
        assert_true(strncmp(m.digest_entry, "[障害発生] 05 ", strlen("[障害発生] 05 ")) == 0);
        assert_int_equal(m.onsite_due, T("2026-11-25T17:28:00"));
        for (size_t i = 0; i < ELEMENTSOF(secret_words); i++)
                assert_null(strstr(m.digest_entry, secret_words[i]));
        outbox_mail_done(&m);
        fault_done(&f);
}

static void test_digest_compose(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        int64_t ids[] = { 11, 12, 13 };
        char *entries[] = { (char *) "[障害発生] A\n    x", (char *) "[障害発生] B\n    y",
                            (char *) "[復旧] C\n    z" };
        OutboxHeld h = {
                .held_until = T("2026-11-25T15:29:00"),
                .recipients = (char *) "oncall@example.invalid",
                .language = (char *) "ja",
                .n = 3,
                .ids = ids,
                .entries = entries,
                .earliest_due = T("2026-11-25T17:28:00"),
        };
        OutboxMail d = {};
        char *wire = NULL;
        size_t len = 0;

        (void) state;
        assert_int_equal(mail_digest(&h, c->notify.from, 2000000, &d), 0);
        assert_string_equal(d.subject, "[fieldwatch] 3件の障害通知（まとめ 2026-11-25 15:28）");
        assert_first_line(d.body, "現地着手期限（最も早いもの）: 2026-11-25 17:28");
        assert_non_null(strstr(d.body, "\n1. [障害発生] A\n    x\n2. [障害発生] B\n    y\n"
                                       "3. [復旧] C\n    z\n"));
        assert_non_null(strstr(d.body, "fieldwatchctl faults --open"));
        assert_string_equal(d.message_id, "<fw.digest.11@city.example.invalid>");
        assert_string_equal(d.recipients, "oncall@example.invalid");
        assert_null(d.thread_id);
        assert_int_equal(d.digest_count, 3);
        assert_int_equal(d.event_id, 0);
        assert_int_equal(d.fault_id, 0);
        assert_int_equal(mail_render(&d, c->notify.from, 2000000, &wire, &len), 0);
        free(wire);
        outbox_mail_done(&d);

        h.language = (char *) "en";
        h.earliest_due = 0;
        assert_int_equal(mail_digest(&h, c->notify.from, 2000000, &d), 0);
        assert_string_equal(d.subject,
                            "[fieldwatch] 3 fault notices (digest of 2026-11-25 15:28)");
        assert_first_line(d.body, "Onsite due: none");
        outbox_mail_done(&d);

        h.n = 0;
        assert_int_equal(mail_digest(&h, c->notify.from, 2000000, &d), -EINVAL);
}

/* The largest digest (MAIL_DIGEST_MAX entries of the largest size) is
 * composed and rendered: the bounds fit together. */
static void test_digest_largest(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        static int64_t ids[MAIL_DIGEST_MAX + 1];
        static char *entries[MAIL_DIGEST_MAX + 1];
        char big[MAIL_DIGEST_ENTRY_MAX];
        OutboxHeld h = {
                .held_until = T("2026-11-25T15:29:00"),
                .recipients = (char *) "oncall@example.invalid",
                .language = (char *) "ja",
                .n = MAIL_DIGEST_MAX,
                .ids = ids,
                .entries = entries,
        };
        OutboxMail d = {};
        char *wire = NULL;
        size_t len = 0;

        (void) state;
        /* "あ" is 3 bytes: MAIL_DIGEST_ENTRY_MAX - 1 bytes of UTF-8. */
        for (size_t i = 0; i + 3 < sizeof(big); i += 3)
                memcpy(big + i, "あ", 3);
        big[(sizeof(big) - 1) / 3 * 3] = 0;
        for (size_t i = 0; i <= MAIL_DIGEST_MAX; i++) {
                ids[i] = (int64_t) i + 1;
                entries[i] = big;
        }
        assert_int_equal(mail_digest(&h, c->notify.from, 2000000, &d), 0);
        assert_int_equal(mail_render(&d, c->notify.from, 2000000, &wire, &len), 0);
        assert_true(len > (size_t) MAIL_DIGEST_MAX * strlen(big));
        free(wire);
        outbox_mail_done(&d);
        h.n = MAIL_DIGEST_MAX + 1;
        assert_int_equal(mail_digest(&h, c->notify.from, 2000000, &d), -EINVAL);
}

/* A mail as mail_prepare() makes it: held when its minute is full. */
static int64_t add_event_mail(Store *s, int64_t fault_id, time_t at, const char *recipients,
                              unsigned digest_after, time_t *ret_held_until) {
        char id[64], entry[64];
        OutboxMail m = {
                .fault_id = fault_id,
                .created_at = at,
                .recipients = (char *) recipients,
                .message_id = id,
                .subject = entry,
                .body = (char *) "body",
                .digest_after = digest_after,
                .language = (char *) "ja",
                .digest_entry = entry,
                .onsite_due = at + 7200,
        };

        (void) snprintf(entry, sizeof(entry), "fault %lld at %lld", (long long) fault_id,
                        (long long) at);
        (void) snprintf(id, sizeof(id), "<%lld.%lld@example.invalid>", (long long) fault_id,
                        (long long) at);
        assert_int_equal(store_outbox_add(s, &m), 0);
        assert_true(m.id > 0);
        if (ret_held_until)
                *ret_held_until = m.held_until;
        return m.id;
}

static void open_temp_store(char dir[static 64], Store **s) {
        (void) snprintf(dir, 64, "/tmp/test-mail-digest-XXXXXX");
        assert_non_null(mkdtemp(dir));
        assert_int_equal(store_open(dir, s), 0);
}

static void remove_temp_store(const char *dir) {
        char path[128];

        for (const char *const *x = (const char *const[]) { "", "-wal", "-shm", NULL }; *x; x++) {
                (void) snprintf(path, sizeof(path), "%s/" STORE_FILE "%s", dir, *x);
                (void) unlink(path);
        }
        (void) rmdir(dir);
}

typedef struct Tally {
        size_t rows, unsent, held, digests, carried;
} Tally;

static int tally(const OutboxMail *m, void *userdata) {
        Tally *t = userdata;

        t->rows++;
        t->unsent += m->sent_at == 0;
        t->held += m->held_until > 0;
        t->digests += m->digest_count > 0;
        t->carried += m->digest_id > 0;
        return 0;
}

static Tally tally_of(Store *s) {
        Tally t = {};

        assert_int_equal(store_foreach_mail(s, tally, &t), 0);
        return t;
}

/* 30 mails in a minute with digest_after 10: 10 go alone, 20 are held and
 * go in one digest once the minute is over; a later mail of a held mail's
 * fault waits for the digest; the digest's delivery marks all 20 sent. */
static void test_outbox_digest(void **state) {
        _cleanup_(config_freep) Config *c = load_config("ja");
        const time_t t0 = 1800000000; /* a minute's start */
        char dir[64];
        Store *s = NULL;
        OutboxHeld h = {};
        OutboxMail d = {}, m = {};
        int64_t ids[31], later, other, digest_id;
        time_t next = 0, until = 0;
        size_t n = 0;
        Tally t;

        (void) state;
        assert_int_equal(t0 % 60, 0);
        open_temp_store(dir, &s);
        assert_int_equal(store_begin(s), 0);
        for (int i = 1; i <= 30; i++) {
                ids[i] = add_event_mail(s, i, t0 + 5 + i, "a@example.invalid", 10, &until);
                assert_int_equal(until, i <= 10 ? 0 : t0 + 60);
        }
        assert_int_equal(store_commit(s), 0);
        assert_int_equal(store_outbox_held_pending(s, &n, &until), 0);
        assert_int_equal(n, 20);
        assert_int_equal(until, t0 + 60);

        /* The ten go alone, in order; the held ones never do. */
        for (int i = 1; i <= 10; i++) {
                assert_int_equal(outbox_next(s, t0 + 59, &m), 0);
                assert_int_equal(m.id, ids[i]);
                assert_int_equal(store_outbox_sent(s, m.id, t0 + 59, NULL), 0);
                outbox_mail_done(&m);
        }
        assert_int_equal(outbox_next(s, t0 + 59, &m), -ENOENT);
        assert_int_equal(outbox_next_attempt(s, t0 + 59, &next), 0);
        assert_int_equal(next, t0 + 60); /* the minute's end makes the digest */
        assert_int_equal(store_outbox_next_held(s, t0 + 59, MAIL_DIGEST_MAX, &h), -ENOENT);

        /* The next minute starts afresh: a mail of fault 15 (held above) and
         * one of a new fault go alone, but fault 15's waits for the digest. */
        later = add_event_mail(s, 15, t0 + 61, "a@example.invalid", 10, &until);
        assert_int_equal(until, 0);
        other = add_event_mail(s, 31, t0 + 61, "a@example.invalid", 10, &until);
        assert_int_equal(until, 0);
        assert_int_equal(outbox_next(s, t0 + 61, &m), 0);
        assert_int_equal(m.id, other);
        assert_int_equal(store_outbox_sent(s, other, t0 + 61, NULL), 0);
        outbox_mail_done(&m);
        assert_int_equal(outbox_next(s, t0 + 61, &m), -ENOENT);

        /* The digest: the 20, oldest first, the earliest due. */
        assert_int_equal(store_outbox_next_held(s, t0 + 61, MAIL_DIGEST_MAX, &h), 0);
        assert_int_equal(h.n, 20);
        assert_int_equal(h.held_until, t0 + 60);
        assert_string_equal(h.recipients, "a@example.invalid");
        assert_string_equal(h.language, "ja");
        assert_int_equal(h.earliest_due, t0 + 16 + 7200);
        for (size_t i = 0; i < 20; i++)
                assert_int_equal(h.ids[i], ids[11 + i]);
        assert_string_equal(h.entries[0], "fault 11 at 1800000016");
        assert_int_equal(mail_digest(&h, c->notify.from, t0 + 61, &d), 0);
        assert_int_equal(store_outbox_add_digest(s, &d, h.ids, h.n), 0);
        assert_true(d.id > later);
        digest_id = d.id;
        /* Carried once only: a second digest of them writes nothing. */
        outbox_mail_done(&d);
        assert_int_equal(mail_digest(&h, c->notify.from, t0 + 61, &d), 0);
        t = tally_of(s);
        assert_int_equal(store_outbox_add_digest(s, &d, h.ids, h.n), -ESTALE);
        assert_int_equal(tally_of(s).rows, t.rows);
        outbox_mail_done(&d);
        outbox_held_done(&h);
        assert_int_equal(store_outbox_next_held(s, t0 + 61, MAIL_DIGEST_MAX, &h), -ENOENT);
        assert_int_equal(store_outbox_held_pending(s, &n, &until), 0);
        assert_int_equal(n, 0);

        /* Sent after a reopen (a restart), and retried like any mail. */
        s = store_close(s);
        assert_int_equal(store_open(dir, &s), 0);
        assert_int_equal(outbox_next(s, t0 + 61, &m), 0);
        assert_int_equal(m.id, digest_id);
        assert_int_equal(m.digest_count, 20);
        assert_non_null(strstr(m.subject, "20件の障害通知（まとめ "));
        assert_int_equal(store_outbox_retry(s, m.id, t0 + 90, "SMTP 451: later", NULL), 0);
        assert_int_equal(outbox_next(s, t0 + 89, &d), -ENOENT);
        assert_int_equal(tally_of(s).unsent, 20 + 2);
        assert_int_equal(store_outbox_sent(s, m.id, t0 + 90, NULL), 0);
        outbox_mail_done(&m);
        t = tally_of(s);
        assert_int_equal(t.unsent, 1); /* fault 15's later mail, free now */
        assert_int_equal(t.held, 20);
        assert_int_equal(t.carried, 20);
        assert_int_equal(t.digests, 1);
        assert_int_equal(outbox_next(s, t0 + 90, &m), 0);
        assert_int_equal(m.id, later);
        assert_int_equal(store_outbox_sent(s, m.id, t0 + 90, NULL), 0);
        outbox_mail_done(&m);
        assert_int_equal(store_outbox_sent(s, digest_id, t0 + 91, NULL), -ENOENT);
        s = store_close(s);
        remove_temp_store(dir);
}

/* Digests group by recipients (and language), oldest first, at most max
 * mails each; a mail without an entry, or with digest_after 0, goes alone. */
static void test_outbox_digest_groups(void **state) {
        const time_t t0 = 1800000060;
        static const char *const to[] = { "a@x.invalid", "a@x.invalid", "a@x.invalid",
                                          "a@x.invalid", "a@x.invalid", "b@x.invalid",
                                          "b@x.invalid", "b@x.invalid", "a@x.invalid",
                                          "a@x.invalid" };
        static const size_t want[][3] = { { 3, 4, 5 }, { 6, 7, 8 }, { 9, 10, 0 } };
        char dir[64];
        Store *s = NULL;
        int64_t ids[11];
        time_t until;
        OutboxMail m = {
                .created_at = t0 + 1, .recipients = (char *) "a@x.invalid",
                .message_id = (char *) "<plain@x.invalid>", .subject = (char *) "plain",
                .body = (char *) "b", .digest_after = 1,
        };

        (void) state;
        open_temp_store(dir, &s);
        for (size_t i = 1; i <= 10; i++) {
                ids[i] = add_event_mail(s, (int64_t) i, t0 + 1, to[i - 1], 2, &until);
                assert_int_equal(until, i <= 2 ? 0 : t0 + 60);
        }
        /* No entry: alone, storm or not. */
        assert_int_equal(store_outbox_add(s, &m), 0);
        assert_int_equal(m.held_until, 0);
        assert_int_equal(add_event_mail(s, 20, t0 + 2, "a@x.invalid", 0, &until) > 0, 1);
        assert_int_equal(until, 0);
        for (size_t g = 0; g < ELEMENTSOF(want); g++) {
                OutboxHeld h = {};
                OutboxMail d = {
                        .created_at = t0 + 61, .recipients = (char *) to[want[g][0] - 1],
                        .message_id = (char *) "<d@x.invalid>", .subject = (char *) "d",
                        .body = (char *) "d",
                };
                size_t k = want[g][2] ? 3 : 2;

                assert_int_equal(store_outbox_next_held(s, t0 + 60, 3, &h), 0);
                assert_int_equal(h.n, k);
                for (size_t i = 0; i < k; i++)
                        assert_int_equal(h.ids[i], ids[want[g][i]]);
                assert_string_equal(h.recipients, to[want[g][0] - 1]);
                assert_int_equal(store_outbox_add_digest(s, &d, h.ids, h.n), 0);
                assert_int_equal(d.digest_count, (int) k);
                outbox_held_done(&h);
        }
        s = store_close(s);
        remove_temp_store(dir);
}

/* A database of schema 3 (before digests), as fieldwatch made it, opens,
 * and its unsent mail goes alone. */
static void test_outbox_migration(void **state) {
        char dir[64], path[128];
        sqlite3 *db = NULL;
        Store *s = NULL;
        OutboxMail m = {};

        (void) state;
        (void) snprintf(dir, sizeof(dir), "/tmp/test-mail-v3-XXXXXX");
        assert_non_null(mkdtemp(dir));
        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, dir);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                                      "CREATE TABLE faults (id INTEGER PRIMARY KEY,"
                                      " site TEXT NOT NULL, device TEXT NOT NULL,"
                                      " kind TEXT NOT NULL, severity TEXT NOT NULL,"
                                      " state TEXT NOT NULL, detected_at INTEGER NOT NULL,"
                                      " received_at INTEGER NOT NULL,"
                                      " onsite_due INTEGER NOT NULL,"
                                      " deferral_eligible INTEGER NOT NULL,"
                                      " deferred_onsite_due INTEGER, onsite_started_at INTEGER,"
                                      " acknowledged_at INTEGER, deferral_approved_at INTEGER,"
                                      " cleared_at INTEGER, transient INTEGER NOT NULL DEFAULT 0,"
                                      " reason TEXT NOT NULL DEFAULT '',"
                                      " hint TEXT NOT NULL DEFAULT '',"
                                      " hidden TEXT NOT NULL DEFAULT '[]',"
                                      " warned INTEGER NOT NULL DEFAULT 0,"
                                      " breached INTEGER NOT NULL DEFAULT 0,"
                                      " deferral_prompted INTEGER NOT NULL DEFAULT 0,"
                                      " last_notified_at INTEGER,"
                                      " thread_id TEXT NOT NULL DEFAULT '',"
                                      " acknowledged_by TEXT NOT NULL DEFAULT '',"
                                      " ack_note TEXT NOT NULL DEFAULT '',"
                                      " onsite_by TEXT NOT NULL DEFAULT '',"
                                      " deferral_approved_by TEXT NOT NULL DEFAULT '',"
                                      " deferral_reason TEXT NOT NULL DEFAULT '',"
                                      " recovered_at INTEGER,"
                                      " recovered_by TEXT NOT NULL DEFAULT '',"
                                      " cause TEXT NOT NULL DEFAULT '',"
                                      " action TEXT NOT NULL DEFAULT '',"
                                      " prevention TEXT NOT NULL DEFAULT '',"
                                      " parts TEXT NOT NULL DEFAULT '[]',"
                                      " media_replaced INTEGER NOT NULL DEFAULT 0,"
                                      " recovery_report_submitted_at INTEGER,"
                                      " erasure_report_submitted_at INTEGER,"
                                      " closed_at INTEGER, closed_by TEXT NOT NULL DEFAULT '',"
                                      " close_note TEXT NOT NULL DEFAULT '');"
                                      "CREATE TABLE events (id INTEGER PRIMARY KEY,"
                                      " type TEXT NOT NULL, at INTEGER NOT NULL,"
                                      " fault_id INTEGER, site TEXT NOT NULL DEFAULT '',"
                                      " device TEXT NOT NULL DEFAULT '',"
                                      " kind TEXT NOT NULL DEFAULT '', received_at INTEGER,"
                                      " onsite_due INTEGER, text TEXT NOT NULL DEFAULT '',"
                                      " os_user TEXT NOT NULL DEFAULT '',"
                                      " by_name TEXT NOT NULL DEFAULT '');"
                                      "CREATE TABLE work (id INTEGER PRIMARY KEY,"
                                      " start_at INTEGER NOT NULL, end_at INTEGER NOT NULL,"
                                      " person TEXT NOT NULL, title TEXT NOT NULL,"
                                      " content TEXT NOT NULL, notes TEXT NOT NULL DEFAULT '',"
                                      " fault_id INTEGER, os_user TEXT NOT NULL DEFAULT '',"
                                      " recorded_at INTEGER NOT NULL);"
                                      "CREATE TABLE deliverables (kind TEXT NOT NULL,"
                                      " key TEXT NOT NULL, due TEXT NOT NULL,"
                                      " due_warned INTEGER NOT NULL DEFAULT 0,"
                                      " overdue_sent INTEGER NOT NULL DEFAULT 0,"
                                      " submitted_at INTEGER, PRIMARY KEY (kind, key));"
                                      "CREATE TABLE devices (id TEXT PRIMARY KEY, site TEXT,"
                                      " kind TEXT NOT NULL, state TEXT NOT NULL,"
                                      " last_probe_at INTEGER, latency_usec INTEGER,"
                                      " reason TEXT NOT NULL DEFAULT '',"
                                      " values_json TEXT NOT NULL DEFAULT '{}');"
                                      "CREATE TABLE outbox (id INTEGER PRIMARY KEY,"
                                      " event_id INTEGER, fault_id INTEGER,"
                                      " created_at INTEGER NOT NULL, recipients TEXT NOT NULL,"
                                      " message_id TEXT NOT NULL, thread_id TEXT,"
                                      " subject TEXT NOT NULL, body TEXT NOT NULL,"
                                      " attempts INTEGER NOT NULL DEFAULT 0,"
                                      " next_attempt_at INTEGER NOT NULL, sent_at INTEGER,"
                                      " last_error TEXT);"
                                      "INSERT INTO outbox (event_id, fault_id, created_at,"
                                      " recipients, message_id, subject, body, next_attempt_at)"
                                      " VALUES (1, 1, 100, 'a@x.invalid', '<old@x.invalid>',"
                                      " 'old', 'body', 100);"
                                      "PRAGMA user_version = 3;",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(sqlite3_close(db), SQLITE_OK);
        assert_int_equal(store_open(dir, &s), 0);
        assert_int_equal(outbox_next(s, 100, &m), 0);
        assert_string_equal(m.subject, "old");
        assert_int_equal(m.held_until, 0);
        assert_int_equal(m.digest_count, 0);
        assert_null(m.digest_entry);
        assert_string_equal(m.language, "");
        assert_string_equal(m.delivered_to, "[]"); /* schema 8: reached nobody yet */
        outbox_mail_done(&m);
        s = store_close(s);
        assert_int_equal(store_open_readonly(dir, &s), 0);
        s = store_close(s);
        remove_temp_store(dir);
}

/* Which mail the mailer sends next, to whom (mailer-plan.h). */
#define PENDING(i, f, rcpt, done, next, h)                                                 \
        (OutboxPending) { .id = (i), .fault_id = (f), .recipients = (char *) (rcpt),        \
                          .delivered_to = (char *) (done), .next_attempt_at = (next),      \
                          .held = (h) }

static void assert_plan(const OutboxPending *v, size_t n, time_t now, int64_t id,
                        const char *rcpt, time_t next) {
        MailerPlan p = {};
        char got[256] = "";

        assert_int_equal(mailer_plan(v, n, NULL, 0, now, &p), 0);
        assert_int_equal(p.id, id);
        for (size_t i = 0; i < p.n_rcpt; i++)
                (void) snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
                                i ? " " : "", p.rcpt[i]);
        assert_string_equal(got, rcpt);
        assert_int_equal(p.next, next);
        assert_int_equal(p.error, 0);
        mailer_plan_done(&p);
}

static void test_plan(void **state) {
        static const char ab[] = "a@x.invalid, 'B' <b@x.invalid>";
        OutboxPending v[6] = {};
        MailerPlan p = {};
        char **left = NULL, *d = NULL;
        size_t n = 0;

        (void) state;
        /* Nothing: nothing to do, ever. */
        assert_plan(v, 0, 100, 0, "", 0);

        /* Fault 1's first, then fault 2's, then fault 1's second: oldest first. */
        v[0] = PENDING(1, 1, ab, "[]", 100, false);
        v[1] = PENDING(2, 2, ab, "[]", 100, false);
        v[2] = PENDING(3, 1, ab, "[]", 100, false);
        assert_plan(v, 3, 99, 0, "", 100);
        assert_plan(v, 3, 100, 1, "a@x.invalid b@x.invalid", 100);
        /* 1 reached a, b refused it (again at 160): 2 goes to both; 3 to a
         * only, b's copy waits for b's copy of 1. */
        v[0] = PENDING(1, 1, ab, "[\"a@x.invalid\"]", 160, false);
        assert_plan(v, 3, 100, 2, "a@x.invalid b@x.invalid", 100);
        assert_plan(v + 1, 1, 100, 2, "a@x.invalid b@x.invalid", 100);
        v[1] = v[2];
        assert_plan(v, 2, 100, 3, "a@x.invalid", 100);
        v[1] = PENDING(3, 1, ab, "[\"A@x.invalid\"]", 100, false);
        assert_plan(v, 2, 100, 0, "", 160);
        assert_plan(v, 2, 160, 1, "b@x.invalid", 160);
        /* 1 reached both (sent): 3 goes to b. */
        assert_plan(v + 1, 1, 160, 3, "b@x.invalid", 100);

        /* A held mail of fault 4 holds its fault's later mail back until its
         * digest (of no fault) reaches them; mails of no fault wait for none. */
        v[0] = PENDING(4, 4, ab, "[]", 100, true);
        v[1] = PENDING(5, 0, ab, "[]", 100, false);
        v[2] = PENDING(6, 4, ab, "[]", 100, false);
        v[3] = PENDING(7, 0, ab, "[]", 100, false);
        assert_plan(v + 2, 1, 100, 6, "a@x.invalid b@x.invalid", 100);
        v[1] = PENDING(5, 0, ab, "[\"b@x.invalid\"]", 200, false);
        assert_plan(v, 4, 100, 7, "a@x.invalid b@x.invalid", 100);
        assert_plan(v, 3, 100, 0, "", 200);
        v[0] = PENDING(4, 4, ab, "[\"b@x.invalid\"]", 100, true); /* the digest's */
        assert_plan(v, 3, 100, 6, "b@x.invalid", 100);

        /* A mail that reached everybody goes to nobody (to be marked sent);
         * one without a readable address list is an error to record. */
        v[0] = PENDING(8, 0, "a@x.invalid", "[\"a@x.invalid\"]", 100, false);
        assert_plan(v, 1, 100, 8, "", 100);
        v[0] = PENDING(9, 0, "", "[]", 100, false);
        assert_int_equal(mailer_plan(v, 1, NULL, 0, 100, &p), 0);
        assert_int_equal(p.id, 9);
        assert_int_equal(p.n_rcpt, 0);
        assert_int_equal(p.error, -EINVAL);
        mailer_plan_done(&p);

        /* Whom a mail reached, as JSON (jansson). */
        assert_int_equal(mailer_delivered_add(NULL, "a@x.invalid", &d), 0);
        assert_string_equal(d, "[\"a@x.invalid\"]");
        free(d);
        assert_int_equal(mailer_delivered_add("[\"a@x.invalid\"]", "A@x.invalid", &d), 0);
        assert_string_equal(d, "[\"a@x.invalid\"]");
        free(d);
        assert_int_equal(mailer_delivered_add("[\"a@x.invalid\"]", "b@x.invalid", &d), 0);
        assert_string_equal(d, "[\"a@x.invalid\",\"b@x.invalid\"]");
        free(d);
        assert_int_equal(mailer_delivered_add("{}", "b@x.invalid", &d), -EINVAL);
        assert_int_equal(mailer_delivered_add("[1]", "b@x.invalid", &d), -EINVAL);
        assert_int_equal(mailer_undelivered(ab, "[\"b@x.invalid\"]", NULL, &left, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(left[0], "a@x.invalid");
        left = mail_addresses_free(left, n);
        assert_int_equal(mailer_undelivered(ab, "[\"a@x.invalid\",\"b@x.invalid\"]", NULL, &left,
                                            &n),
                         0);
        assert_int_equal(n, 0);
        assert_null(left);
        assert_int_equal(mailer_undelivered(ab, "not json", NULL, &left, &n), -EINVAL);
}

/* Giving up (mailer-plan.h): an address the configuration lost is given
 * up (plan.drop) and, like one given up before (abandoned), holds back no
 * later mail of the fault; when a refusal gives an address up. */
static void test_plan_give_up(void **state) {
        static const char ab[] = "a@x.invalid, 'B' <b@x.invalid>";
        char *conf[] = { (char *) "a@x.invalid" };
        OutboxPending v[2] = {};
        MailerPlan p = {};
        char **left = NULL;
        size_t n = 0;

        (void) state;
        /* b is no longer configured: mail 1 goes to a, and b is to be given up. */
        v[0] = PENDING(1, 1, ab, "[]", 100, false);
        assert_int_equal(mailer_plan(v, 1, conf, 1, 100, &p), 0);
        assert_int_equal(p.id, 1);
        assert_int_equal(p.n_rcpt, 1);
        assert_string_equal(p.rcpt[0], "a@x.invalid");
        assert_int_equal(p.n_drop, 1);
        assert_string_equal(p.drop[0], "b@x.invalid");
        mailer_plan_done(&p);
        /* Mail 1 waits for its retry to a (at 160): mail 3 goes to nobody now
         * but b, which mail 1 no longer holds back (not configured). */
        v[0] = PENDING(1, 1, ab, "[]", 160, false);
        v[1] = PENDING(3, 1, ab, "[]", 100, false);
        assert_int_equal(mailer_plan(v, 2, conf, 1, 100, &p), 0);
        assert_int_equal(p.id, 3);
        assert_int_equal(p.n_rcpt, 0);
        assert_int_equal(p.n_drop, 1);
        mailer_plan_done(&p);
        /* Every address configured: b given up for mail 1 before holds mail 3
         * back no more, a still does. */
        v[0].abandoned = (char *) "[\"b@x.invalid\"]";
        assert_plan(v, 2, 100, 3, "b@x.invalid", 100);
        /* Given up for b, delivered to a: nobody left, to be marked sent. */
        v[0] = PENDING(1, 1, ab, "[\"a@x.invalid\"]", 160, false);
        v[0].abandoned = (char *) "[\"B@x.invalid\"]";
        assert_plan(v, 1, 160, 1, "", 160);
        assert_int_equal(mailer_undelivered(ab, "[]", "[\"b@x.invalid\"]", &left, &n), 0);
        assert_int_equal(n, 1);
        assert_string_equal(left[0], "a@x.invalid");
        left = mail_addresses_free(left, n);
        assert_int_equal(mailer_undelivered(ab, "[]", "{}", &left, &n), -EINVAL);

        /* 5xx: retried the first day, given up after; anything else that
         * one address gets, after a week; a server that cannot be used, never. */
        assert_false(mailer_give_up_due(550, false, 1000, 1000 + MAILER_GIVE_UP_SEC - 1));
        assert_true(mailer_give_up_due(550, false, 1000, 1000 + MAILER_GIVE_UP_SEC));
        assert_true(mailer_give_up_due(554, false, 1000, 1000 + 30 * 86400));
        assert_false(mailer_give_up_due(450, false, 1000, 1000 + MAILER_GIVE_UP_SEC));
        assert_false(mailer_give_up_due(450, false, 1000, 1000 + MAILER_QUEUE_LIFETIME_SEC - 1));
        assert_true(mailer_give_up_due(450, false, 1000, 1000 + MAILER_QUEUE_LIFETIME_SEC));
        assert_true(mailer_give_up_due(0, false, 1000, 1000 + MAILER_QUEUE_LIFETIME_SEC));
        assert_false(mailer_give_up_due(0, true, 1000, 1000 + 365 * 86400));
}

/* The cost of a plan in a mass outage: 20,000 unsent mails waiting out a
 * backoff, of as many faults. The plan reads the due ones only, and of a
 * candidate's fault its older unsent mails: a handful of rows, where
 * reading the whole outbox (as the mailer did before schema 10) reads
 * them all. Rows counted, not time (printed only). */
static void test_plan_reads_little(void **state) {
        const time_t now = 3000000;
        const size_t n = 20000;
        char dir[] = "/tmp/test-mail-plan-XXXXXX";
        Store *s = NULL;
        OutboxPending *all = NULL;
        MailerPlan p = {};
        size_t n_all = 0;
        uint64_t before, t;
        int64_t due = 0, later = 0;

        (void) state;
        assert_non_null(mkdtemp(dir));
        assert_int_equal(store_open(dir, &s), 0);
        assert_int_equal(store_begin(s), 0);
        for (size_t i = 0; i < n; i++) {
                int64_t id = add_mail(s, (int64_t) i + 1, now - 600, "m");

                assert_int_equal(store_outbox_retry(s, id, now + 600 + (time_t) i, "SMTP 451",
                                                    NULL),
                                 0);
        }
        /* Fault 7's second mail, due, waits for its first only for a. */
        due = add_mail(s, 7, now - 60, "due");
        assert_int_equal(store_commit(s), 0);

        before = store_rows_read(s);
        t = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(mailer_plan_load(s, NULL, 0, now, &p), 0);
        t = now_usec(CLOCK_MONOTONIC) - t;
        assert_int_equal(p.id, 0); /* held back by fault 7's first mail */
        assert_int_equal(p.next, now + 600);
        print_message("plan of %zu unsent mails: %" PRIu64 " rows read, %" PRIu64 " us\n",
                      n + 1, store_rows_read(s) - before, t);
        /* The due one, fault 7's older one, the earliest due, the held count. */
        assert_true(store_rows_read(s) - before <= 4);
        mailer_plan_done(&p);

        /* A mail of another fault, due: chosen, as few rows read. */
        assert_int_equal(store_begin(s), 0);
        later = add_mail(s, (int64_t) n + 100, now - 30, "later");
        assert_int_equal(store_commit(s), 0);
        before = store_rows_read(s);
        assert_int_equal(mailer_plan_load(s, NULL, 0, now, &p), 0);
        assert_int_equal(p.id, later);
        assert_true(store_rows_read(s) - before <= 6);
        mailer_plan_done(&p);
        assert_true(due < later);

        /* What reading them all costs. */
        before = store_rows_read(s);
        t = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(store_outbox_pending(s, &all, &n_all), 0);
        assert_int_equal(mailer_plan(all, n_all, NULL, 0, now, &p), 0);
        t = now_usec(CLOCK_MONOTONIC) - t;
        print_message("the whole outbox instead: %" PRIu64 " rows read, %" PRIu64 " us\n",
                      store_rows_read(s) - before, t);
        assert_int_equal(p.id, later);
        mailer_plan_done(&p);
        outbox_pending_free(all, n_all);
        s = store_close(s);
        remove_temp_store(dir);
}

static void test_backoff(void **state) {
        static const uint64_t want_sec[] = { 30, 60, 120, 240, 480, 960, 1800, 1800, 1800 };

        (void) state;
        for (unsigned i = 0; i < ELEMENTSOF(want_sec); i++)
                assert_int_equal(mailer_backoff_usec(MAILER_BACKOFF_BASE_USEC,
                                                     MAILER_BACKOFF_MAX_USEC, i + 1),
                                 want_sec[i] * USEC_PER_SEC);
        assert_int_equal(mailer_backoff_usec(MAILER_BACKOFF_BASE_USEC, MAILER_BACKOFF_MAX_USEC,
                                             UINT32_MAX),
                         MAILER_BACKOFF_MAX_USEC);
        assert_int_equal(mailer_backoff_usec(UINT64_MAX / 2, UINT64_MAX, 10), UINT64_MAX);
}

static int setup(void **state) {
        (void) state;
        return tz_use("Asia/Tokyo") < 0 ? -1 : 0;
}

static int teardown(void **state) {
        char path[256];

        (void) state;
        if (strcmp(tmp_dir + strlen(tmp_dir) - 6, "XXXXXX") == 0)
                return 0;
        for (const char *const *s = (const char *const[]) { "", "-wal", "-shm", NULL }; *s; s++) {
                (void) snprintf(path, sizeof(path), "%s/" STORE_FILE "%s", tmp_dir, *s);
                (void) unlink(path);
        }
        (void) rmdir(tmp_dir);
        return 0;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_compose_ja),
                cmocka_unit_test(test_compose_en),
                cmocka_unit_test(test_prefixes_distinct),
                cmocka_unit_test(test_compose_deferral_approved),
                cmocka_unit_test(test_compose_vpn_and_site_loss),
                cmocka_unit_test(test_compose_hidden_capped),
                cmocka_unit_test(test_compose_unreceived_and_sendback),
                cmocka_unit_test(test_compose_deliverable),
                cmocka_unit_test(test_encode_words),
                cmocka_unit_test(test_encode_words_edge),
                cmocka_unit_test(test_render),
                cmocka_unit_test(test_render_unthreaded),
                cmocka_unit_test(test_header_injection),
                cmocka_unit_test(test_message_id),
                cmocka_unit_test(test_threading),
                cmocka_unit_test(test_recipients),
                cmocka_unit_test(test_security_incident),
                cmocka_unit_test(test_outbox),
                cmocka_unit_test(test_outbox_prepared),
                cmocka_unit_test(test_prepare_fallback),
                cmocka_unit_test(test_digest_entry),
                cmocka_unit_test(test_digest_compose),
                cmocka_unit_test(test_digest_largest),
                cmocka_unit_test(test_outbox_digest),
                cmocka_unit_test(test_outbox_digest_groups),
                cmocka_unit_test(test_outbox_migration),
                cmocka_unit_test(test_plan),
                cmocka_unit_test(test_plan_give_up),
                cmocka_unit_test(test_plan_reads_little),
                cmocka_unit_test(test_backoff),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
