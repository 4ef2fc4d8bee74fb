/* SPDX-License-Identifier: MIT */

/* config.c: the good fixtures field by field, every bad fixture against
 * the errors its "# expect: LINE:COLUMN: text" lines announce, and
 * robustness against random, truncated, huge and deeply nested input.
 * Runs from the repository root (as `make unit` does). */

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "fileio.h"
#include "macro.h"
#include "timeutil.h"

#ifndef TEST_CONFIGS_DIR
#define TEST_CONFIGS_DIR "tests/configs"
#endif

#define GOOD_FULL TEST_CONFIGS_DIR "/good/full.yaml"
#define GOOD_MINIMAL TEST_CONFIGS_DIR "/good/minimal.yaml"
#define GOOD_SPEC TEST_CONFIGS_DIR "/good/spec-example.yaml"
#define BAD_DIR TEST_CONFIGS_DIR "/bad"
#define MAX_EXPECT 16

static void dump_errors(const ConfigErrors *errs) {
        for (size_t i = 0; i < errs->n_errors; i++)
                print_message("    %s:%u:%u: %s\n", errs->errors[i].file, errs->errors[i].line,
                              errs->errors[i].column, errs->errors[i].message);
}

static Config *load_good(const char *path) {
        ConfigErrors errs = {};
        Config *c = NULL;
        int r;

        r = config_load_file(path, &errs, &c);
        if (r != 0 || errs.n_errors != 0) {
                print_message("%s: r=%d\n", path, r);
                dump_errors(&errs);
        }
        assert_int_equal(r, 0);
        assert_int_equal(errs.n_errors, 0);
        assert_non_null(c);
        config_errors_clear(&errs);
        return c;
}

static char *read_all(const char *path, size_t *ret_len) {
        char *buf = NULL;

        assert_int_equal(read_full_file(path, 2 * CONFIG_MAX_FILE_SIZE, &buf, ret_len), 0);
        return buf;
}

static bool has_error(const ConfigErrors *errs, unsigned line, unsigned column,
                      const char *text) {
        for (size_t i = 0; i < errs->n_errors; i++)
                if (errs->errors[i].line == line && errs->errors[i].column == column &&
                    strstr(errs->errors[i].message, text))
                        return true;
        return false;
}

/* Loads a buffer that must be refused; returns the number of errors. */
static size_t load_bad_buffer(const char *name, const char *buf, size_t len) {
        ConfigErrors errs = {};
        Config *c = NULL;
        size_t n;
        int r;

        r = config_load_buffer(name, buf, len, &errs, &c);
        assert_int_equal(r, -EINVAL);
        assert_null(c);
        assert_true(errs.n_errors >= 1);
        for (size_t i = 0; i < errs.n_errors; i++) {
                assert_string_equal(errs.errors[i].file, name);
                assert_non_null(errs.errors[i].message);
        }
        n = errs.n_errors;
        config_errors_clear(&errs);
        return n;
}

/* ======================================================================== */

static void test_defaults(void **state) {
        Config *c = config_new_default();

        (void) state;
        assert_non_null(c);
        assert_null(c->path);
        assert_string_equal(c->contract.name, "");
        assert_int_equal(c->contract.start, DAY_INVALID);
        assert_int_equal(c->contract.end, DAY_INVALID);
        assert_string_equal(c->contract.timezone, "Asia/Tokyo");

        assert_int_equal(c->calendar.open_sec, 9 * 3600);
        assert_int_equal(c->calendar.close_sec, 17 * 3600);
        assert_true(c->calendar.closure_enabled);
        assert_int_equal(c->calendar.closure_start_month, 12);
        assert_int_equal(c->calendar.closure_start_day, 29);
        assert_int_equal(c->calendar.closure_end_month, 1);
        assert_int_equal(c->calendar.closure_end_day, 3);
        assert_int_equal(c->calendar.n_extra_closed, 0);
        assert_null(c->calendar.holidays_file);

        assert_int_equal(c->sla.onsite_within, 2 * USEC_PER_HOUR);
        assert_int_equal(c->sla.deferred_onsite_by, 11 * 3600);
        assert_int_equal(c->sla.warn_before, 30 * USEC_PER_MINUTE);
        assert_int_equal(c->sla.recovery_report_within, 14 * USEC_PER_DAY);
        assert_int_equal(c->sla.erasure_report_within, 7 * USEC_PER_DAY);
        assert_int_equal(c->sla.deferral_prompt_at, 16 * 3600);
        assert_int_equal(c->sla.report_warn_before, 3 * USEC_PER_DAY);

        assert_int_equal(c->probes.fail_after, 3);
        assert_int_equal(c->probes.recover_after, 2);
        assert_int_equal(c->probes.anomaly_transients, 3);
        assert_int_equal(c->probes.anomaly_window, 24 * USEC_PER_HOUR);
        assert_int_equal(c->probes.camera.interval, 60 * USEC_PER_SEC);
        assert_int_equal(c->probes.camera.timeout, 10 * USEC_PER_SEC);
        assert_int_equal(c->probes.camera.deep_interval, 10 * USEC_PER_MINUTE);
        assert_int_equal(c->probes.camera.max_clock_skew, 10 * USEC_PER_SEC);
        assert_int_equal(c->probes.camera.max_recording_lag, 10 * USEC_PER_MINUTE);
        assert_int_equal(c->probes.router.interval, 60 * USEC_PER_SEC);
        assert_int_equal(c->probes.router.timeout, 5 * USEC_PER_SEC);
        assert_int_equal(c->probes.router.retries, 1);
        assert_int_equal(c->probes.router.n_signals, 0);
        assert_int_equal(c->probes.vpn.interval, 30 * USEC_PER_SEC);
        assert_int_equal(c->probes.vpn.timeout, 5 * USEC_PER_SEC);
        assert_int_equal(c->probes.vpn.retries, 1);
        assert_int_equal(c->probes.vpn.max_cpu, 90);
        assert_int_equal(c->probes.vpn.max_memory, 90);
        assert_int_equal(c->probes.vpn.max_temperature, 60);

        assert_false(c->notify.configured);
        assert_null(c->notify.smtp.url);
        assert_int_equal(c->notify.smtp.tls, SMTP_TLS_REQUIRED);
        assert_int_equal(c->notify.smtp.timeout, 30 * USEC_PER_SEC);
        assert_null(c->notify.smtp.ca_file);
        assert_int_equal(c->notify.n_escalate_to, 0);
        assert_int_equal(c->notify.language, LANGUAGE_JA);
        assert_int_equal(c->notify.renotify_every, 2 * USEC_PER_HOUR);
        assert_int_equal(c->notify.digest_after, 10);
        assert_int_equal(c->notify.n_to, 0);

        assert_false(c->has_vpn);
        assert_int_equal(c->n_sites, 0);
        assert_null(c->sites);
        assert_null(c->metrics_file);
        assert_true(c->http.listen.enabled);
        assert_string_equal(c->http.listen.address, "127.0.0.1");
        assert_int_equal(c->http.listen.port, 9847);
        assert_true(c->http.loopback);
        assert_null(c->http.tls_cert);
        assert_null(c->http.tls_key);
        assert_null(c->http.auth_credential);
        assert_null(config_free(c));
        assert_null(config_free(NULL));
}

static void test_full(void **state) {
        Config *c = load_good(GOOD_FULL);
        const SiteConf *s;
        const SignalConf *sig;

        (void) state;
        assert_string_equal(c->path, GOOD_FULL);
        assert_string_equal(c->contract.name, "市川市 防犯カメラ保守");
        assert_int_equal(c->contract.start, day_from_ymd(2025, 12, 1));
        assert_int_equal(c->contract.end, day_from_ymd(2031, 11, 30));
        assert_string_equal(c->contract.timezone, "Asia/Tokyo");

        assert_int_equal(c->calendar.open_sec, 8 * 3600 + 30 * 60);
        assert_int_equal(c->calendar.close_sec, 17 * 3600 + 15 * 60);
        assert_true(c->calendar.closure_enabled);
        assert_int_equal(c->calendar.closure_start_month, 12);
        assert_int_equal(c->calendar.closure_start_day, 28);
        assert_int_equal(c->calendar.closure_end_month, 1);
        assert_int_equal(c->calendar.closure_end_day, 4);
        assert_int_equal(c->calendar.n_extra_closed, 2);
        /* Stored sorted. */
        assert_int_equal(c->calendar.extra_closed[0], day_from_ymd(2026, 4, 30));
        assert_int_equal(c->calendar.extra_closed[1], day_from_ymd(2026, 5, 1));
        assert_string_equal(c->calendar.holidays_file, "syukujitsu.csv");
        assert_int_equal(c->calendar.holidays_file_mark.line, 12);
        assert_int_equal(c->calendar.holidays_file_mark.column, 18);

        assert_int_equal(c->sla.onsite_within, 3 * USEC_PER_HOUR);
        assert_int_equal(c->sla.deferred_onsite_by, 11 * 3600 + 30 * 60);
        assert_int_equal(c->sla.warn_before, 45 * USEC_PER_MINUTE);
        assert_int_equal(c->sla.recovery_report_within, 10 * USEC_PER_DAY);
        assert_int_equal(c->sla.erasure_report_within, 5 * USEC_PER_DAY);
        assert_int_equal(c->sla.deferral_prompt_at, 15 * 3600 + 30 * 60);
        assert_int_equal(c->sla.report_warn_before, 2 * USEC_PER_DAY);

        assert_int_equal(c->probes.fail_after, 4);
        assert_int_equal(c->probes.recover_after, 3);
        assert_int_equal(c->probes.anomaly_transients, 5);
        assert_int_equal(c->probes.anomaly_window, 12 * USEC_PER_HOUR);
        assert_int_equal(c->probes.camera.interval, 90 * USEC_PER_SEC);
        assert_int_equal(c->probes.camera.timeout, 15 * USEC_PER_SEC);
        assert_int_equal(c->probes.camera.deep_interval, 15 * USEC_PER_MINUTE);
        assert_int_equal(c->probes.camera.max_clock_skew, 5 * USEC_PER_SEC);
        assert_int_equal(c->probes.camera.max_recording_lag, 20 * USEC_PER_MINUTE);
        assert_int_equal(c->probes.router.interval, 2 * USEC_PER_MINUTE);
        assert_int_equal(c->probes.router.timeout, 7 * USEC_PER_SEC);
        assert_int_equal(c->probes.router.retries, 2);
        assert_int_equal(c->probes.router.n_signals, 2);
        sig = &c->probes.router.signals[0];
        assert_string_equal(sig->name, "rsrp");
        assert_string_equal(sig->oid, "1.3.6.1.4.1.99999.1.2.3.0");
        assert_true(sig->has_warn_below);
        assert_false(sig->has_warn_above);
        assert_true(sig->warn_below == -110.0);
        sig = &c->probes.router.signals[1];
        assert_string_equal(sig->name, "sinr");
        assert_string_equal(sig->oid, "1.3.6.1.4.1.99999.1.2.4.0"); /* leading dot dropped */
        assert_true(sig->has_warn_below);
        assert_true(sig->has_warn_above);
        assert_true(sig->warn_below == 0.5);
        assert_true(sig->warn_above == 30.0);
        assert_int_equal(c->probes.vpn.interval, 45 * USEC_PER_SEC);
        assert_int_equal(c->probes.vpn.timeout, 4 * USEC_PER_SEC);
        assert_int_equal(c->probes.vpn.retries, 0);
        assert_int_equal(c->probes.vpn.max_cpu, 80);
        assert_int_equal(c->probes.vpn.max_memory, 85);
        assert_int_equal(c->probes.vpn.max_temperature, 55);

        assert_true(c->notify.configured);
        assert_string_equal(c->notify.smtp.url, "smtps://mail.example.invalid:465");
        assert_int_equal(c->notify.smtp.tls, SMTP_TLS_TRY); /* "optional", a synonym */
        assert_string_equal(c->notify.smtp.username, "fieldwatch");
        assert_string_equal(c->notify.smtp.password_credential, "smtp");
        assert_int_equal(c->notify.smtp.timeout, 20 * USEC_PER_SEC);
        assert_string_equal(c->notify.smtp.ca_file, "/etc/fieldwatch/smtp-ca.pem");
        assert_string_equal(c->notify.from, "fieldwatch <fieldwatch@example.invalid>");
        assert_int_equal(c->notify.n_to, 2);
        assert_string_equal(c->notify.to[0], "oncall@example.invalid");
        assert_string_equal(c->notify.to[1], "保守担当 <second@example.invalid>");
        assert_int_equal(c->notify.n_escalate_to, 1);
        assert_string_equal(c->notify.escalate_to[0], "監督員 <supervisor@example.invalid>");
        assert_int_equal(c->notify.language, LANGUAGE_EN);
        assert_int_equal(c->notify.renotify_every, 0);
        assert_int_equal(c->notify.digest_after, 20);

        assert_true(c->has_vpn);
        assert_string_equal(c->vpn.name, "RTX1220-main");
        assert_string_equal(c->vpn.address, "192.0.2.1");
        assert_int_equal(c->vpn.port, 1161);
        assert_int_equal(c->vpn.mark.line, 61);
        assert_int_equal(c->vpn.mark.column, 3);
        assert_int_equal(c->vpn.snmp.version, SNMP_VERSION_V3);
        assert_string_equal(c->vpn.snmp.user, "monitor");
        assert_int_equal(c->vpn.snmp.auth, SNMP_AUTH_SHA256);
        assert_string_equal(c->vpn.snmp.auth_credential, "snmp-auth");
        assert_int_equal(c->vpn.snmp.priv, SNMP_PRIV_DES);
        assert_string_equal(c->vpn.snmp.priv_credential, "snmp-priv");
        assert_string_equal(c->vpn.snmp.context, "vpn");
        assert_null(c->vpn.snmp.community_credential);

        assert_int_equal(c->n_sites, 3);
        s = &c->sites[0];
        assert_string_equal(s->id, "01"); /* a plain 01 keeps its text */
        assert_string_equal(s->name, "市川市行徳駅前1-24 地先");
        assert_int_equal(s->mount, MOUNT_STAINLESS_BAND);
        assert_int_equal(s->tunnel, 1);
        assert_int_equal(s->mark.line, 67);
        assert_int_equal(s->mark.column, 5);
        assert_string_equal(s->router.address, "192.0.2.11");
        assert_int_equal(s->router.port, 161);
        assert_int_equal(s->router.wan_ifindex, 1);
        assert_null(s->router.sys_name);
        assert_int_equal(s->router.snmp.version, SNMP_VERSION_V2C);
        assert_string_equal(s->router.snmp.community_credential, "snmp-community");
        assert_null(s->router.snmp.user);
        assert_string_equal(s->camera.address, "192.0.2.12");
        assert_int_equal(s->camera.port, 80);
        assert_int_equal(s->camera.scheme, CAMERA_SCHEME_HTTP);
        assert_string_equal(s->camera.username, "admin");
        assert_string_equal(s->camera.password_credential, "camera");
        assert_int_equal(s->camera.auth, CAMERA_AUTH_DIGEST);
        assert_string_equal(s->camera.model, "WV-S2536LNUX");
        assert_null(s->camera.ca_file);
        assert_null(s->camera.pinned_public_key);

        s = &c->sites[1];
        assert_string_equal(s->id, "27");
        assert_string_equal(s->name, "市川市大町176-21 地先");
        assert_int_equal(s->mount, MOUNT_SPEAR_ARM);
        assert_int_equal(s->tunnel, 27);
        assert_string_equal(s->router.address, "rx220-27.example.invalid");
        assert_int_equal(s->router.port, 161);
        assert_int_equal(s->router.wan_ifindex, 3);
        assert_string_equal(s->router.sys_name, "RX220-site27");
        assert_int_equal(s->router.snmp.version, SNMP_VERSION_V3);
        assert_string_equal(s->router.snmp.user, "site27");
        assert_int_equal(s->router.snmp.auth, SNMP_AUTH_MD5);
        assert_string_equal(s->router.snmp.auth_credential, "rx-auth");
        assert_int_equal(s->router.snmp.priv, SNMP_PRIV_AES);
        assert_string_equal(s->router.snmp.priv_credential, "rx-priv");
        assert_null(s->router.snmp.context);
        assert_string_equal(s->camera.address, "2001:db8::27");
        assert_int_equal(s->camera.port, 8443);
        assert_int_equal(s->camera.scheme, CAMERA_SCHEME_HTTPS);
        assert_string_equal(s->camera.username, "operator");
        assert_string_equal(s->camera.password_credential, "camera-27");
        assert_int_equal(s->camera.auth, CAMERA_AUTH_WSSE);
        assert_string_equal(s->camera.model, "WV-S2136");
        assert_string_equal(s->camera.ca_file, "/etc/fieldwatch/ca.pem");
        assert_string_equal(s->camera.pinned_public_key,
                            "sha256//YhKJKSzoTt2b5FP18fvpHo7fJYqQCjAa3HWY3tvRMwE=");

        s = &c->sites[2];
        assert_string_equal(s->id, "wall_03");
        assert_int_equal(s->mount, MOUNT_WALL);
        assert_int_equal(s->tunnel, 3);
        assert_int_equal(s->camera.scheme, CAMERA_SCHEME_HTTPS);
        assert_int_equal(s->camera.port, 443); /* the https default */

        assert_string_equal(c->metrics_file, "/var/lib/prometheus/node-exporter/fieldwatch.prom");
        assert_true(c->http.listen.enabled);
        assert_string_equal(c->http.listen.address, "0.0.0.0");
        assert_int_equal(c->http.listen.port, 8443);
        assert_false(c->http.loopback);
        assert_string_equal(c->http.tls_cert, "/etc/fieldwatch/web.crt");
        assert_string_equal(c->http.tls_key, "/etc/fieldwatch/web.key");
        assert_string_equal(c->http.auth_credential, "web-auth");
        assert_int_equal(c->http.n_allowed_hosts, 2);
        assert_string_equal(c->http.allowed_hosts[0], "fieldwatch.example.lg.jp");
        assert_string_equal(c->http.allowed_hosts[1], "monitor");

        assert_ptr_equal(config_find_site(c, "01"), &c->sites[0]);
        assert_ptr_equal(config_find_site(c, "wall_03"), &c->sites[2]);
        assert_null(config_find_site(c, "1"));
        assert_null(config_find_site(c, NULL));
        assert_null(config_find_site(NULL, "01"));
        config_free(c);
}

static void test_minimal(void **state) {
        Config *c = load_good(GOOD_MINIMAL), *d = config_new_default();
        const SiteConf *s;

        (void) state;
        assert_non_null(d);
        assert_string_equal(c->contract.name, "");
        assert_string_equal(c->contract.timezone, "Asia/Tokyo");
        assert_int_equal(c->contract.start, day_from_ymd(2025, 12, 1));
        assert_int_equal(c->contract.end, day_from_ymd(2031, 11, 30));
        /* Everything but contract and sites is the default, byte for byte. */
        assert_memory_equal(&c->sla, &d->sla, sizeof(SlaConf));
        assert_int_equal(c->calendar.open_sec, d->calendar.open_sec);
        assert_int_equal(c->calendar.close_sec, d->calendar.close_sec);
        assert_true(c->calendar.closure_enabled);
        assert_int_equal(c->calendar.closure_start_day, 29);
        assert_null(c->calendar.holidays_file);
        assert_int_equal(c->probes.fail_after, d->probes.fail_after);
        assert_int_equal(c->probes.camera.interval, d->probes.camera.interval);
        assert_int_equal(c->probes.router.timeout, d->probes.router.timeout);
        assert_int_equal(c->probes.vpn.max_temperature, d->probes.vpn.max_temperature);
        assert_int_equal(c->probes.router.n_signals, 0);
        assert_false(c->notify.configured);
        assert_int_equal(c->notify.language, LANGUAGE_JA);
        assert_int_equal(c->notify.renotify_every, 2 * USEC_PER_HOUR);
        assert_false(c->has_vpn);
        assert_null(c->metrics_file);

        assert_int_equal(c->n_sites, 1);
        s = &c->sites[0];
        assert_string_equal(s->id, "01");
        assert_int_equal(s->tunnel, 0);
        assert_int_equal(s->router.port, 161);
        assert_int_equal(s->router.wan_ifindex, 1);
        assert_int_equal(s->router.snmp.version, SNMP_VERSION_V3);
        assert_int_equal(s->router.snmp.auth, SNMP_AUTH_SHA);
        assert_int_equal(s->router.snmp.priv, SNMP_PRIV_AES);
        assert_string_equal(s->router.snmp.user, "monitor");
        assert_int_equal(s->camera.port, 80);
        assert_int_equal(s->camera.scheme, CAMERA_SCHEME_HTTP);
        assert_int_equal(s->camera.auth, CAMERA_AUTH_DIGEST);
        assert_string_equal(s->camera.model, "WV-S2536LNUX");
        config_free(c);
        config_free(d);
}

/* The example of SPEC §7 loads as written there. */
static void test_spec_example(void **state) {
        Config *c = load_good(GOOD_SPEC);

        (void) state;
        assert_string_equal(c->contract.name, "...");
        assert_int_equal(c->calendar.n_extra_closed, 0);
        assert_null(c->calendar.holidays_file);
        assert_int_equal(c->probes.router.n_signals, 1);
        assert_true(c->probes.router.signals[0].warn_below == -110.0);
        assert_string_equal(c->notify.smtp.url, "smtp://127.0.0.1:25");
        assert_true(c->has_vpn);
        assert_string_equal(c->vpn.name, "RTX1220");
        assert_int_equal(c->vpn.snmp.version, SNMP_VERSION_V3);
        assert_int_equal(c->vpn.snmp.auth, SNMP_AUTH_SHA);
        assert_int_equal(c->vpn.snmp.priv, SNMP_PRIV_AES);
        assert_int_equal(c->n_sites, 1);
        assert_string_equal(c->sites[0].id, "01");
        assert_int_equal(c->sites[0].tunnel, 1);
        assert_int_equal(c->sites[0].router.snmp.version, SNMP_VERSION_V2C);
        assert_int_equal(c->sites[0].camera.port, 80);
        config_free(c);
}

/* http.listen: off, IPv6 loopback, another loopback address: no TLS needed. */
static void test_http_listen(void **state) {
        static const struct {
                const char *value;
                bool enabled;
                const char *address;
                unsigned port;
        } cases[] = {
                { "off", false, "127.0.0.1", 9847 },
                { "'[::1]:8080'", true, "::1", 8080 },
                { "127.0.0.2:80", true, "127.0.0.2", 80 },
        };
        const char *head = "contract: {start: 2025-12-01, end: 2031-11-30}\n"
                           "sites:\n"
                           "  - id: \"01\"\n"
                           "    name: x\n"
                           "    mount: stainless_band\n"
                           "    router: {address: 192.0.2.11, snmp: {version: 2c, "
                           "community_credential: c}}\n"
                           "    camera: {address: 192.0.2.12, username: a, "
                           "password_credential: p}\n";
        char buf[1024];

        (void) state;
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                ConfigErrors errs = {};
                Config *c = NULL;
                int n = snprintf(buf, sizeof(buf), "%shttp: {listen: %s}\n", head,
                                 cases[i].value);

                assert_true(n > 0 && (size_t) n < sizeof(buf));
                if (config_load_buffer("http.yaml", buf, (size_t) n, &errs, &c) != 0)
                        dump_errors(&errs);
                assert_non_null(c);
                assert_int_equal(c->http.listen.enabled, cases[i].enabled);
                assert_string_equal(c->http.listen.address, cases[i].address);
                assert_int_equal(c->http.listen.port, cases[i].port);
                assert_true(c->http.loopback);
                config_free(c);
                config_errors_clear(&errs);
        }
}

/* A UTF-8 byte order mark and CRLF line ends, as Windows editors write. */
static void test_bom_crlf(void **state) {
        size_t len, m = 0;
        char *min = read_all(GOOD_MINIMAL, &len);
        char *buf = malloc(2 * len + 4);
        ConfigErrors errs = {};
        Config *c = NULL;

        (void) state;
        assert_non_null(buf);
        memcpy(buf, "\xef\xbb\xbf", 3);
        m = 3;
        for (size_t i = 0; i < len; i++) {
                if (min[i] == '\n')
                        buf[m++] = '\r';
                buf[m++] = min[i];
        }
        assert_int_equal(config_load_buffer("bom", buf, m, &errs, &c), 0);
        assert_int_equal(errs.n_errors, 0);
        assert_string_equal(c->sites[0].id, "01");
        assert_string_equal(c->sites[0].name, "市川市行徳駅前1-24 地先");
        config_free(c);

        /* Line and column stay those an editor shows. */
        memcpy(buf + 3, "\r\nsites: 1\r\n", 12);
        assert_int_equal(config_load_buffer("bom", buf, 15, &errs, &c), -EINVAL);
        assert_true(has_error(&errs, 2, 8, "expected a sequence for 'sites', got a scalar"));
        config_errors_clear(&errs);
        free(buf);
        free(min);
}

typedef struct Expect {
        unsigned line, column;
        char text[512];
} Expect;

/* The "# expect: L:C: text" lines at the top of a fixture. */
static size_t read_expectations(const char *path, Expect out[static MAX_EXPECT]) {
        char line[1024];
        size_t n = 0;
        FILE *f = fopen(path, "rb");

        assert_non_null(f);
        while (fgets(line, sizeof(line), f) && strncmp(line, "# expect: ", 10) == 0) {
                int used = 0;

                assert_true(n < MAX_EXPECT);
                line[strcspn(line, "\n")] = 0;
                assert_int_equal(sscanf(line + 10, "%u:%u: %n", &out[n].line, &out[n].column,
                                        &used) >= 2, 1);
                assert_true(used > 0 && line[10 + used]);
                (void) snprintf(out[n].text, sizeof(out[n].text), "%s", line + 10 + used);
                n++;
        }
        fclose(f);
        return n;
}

static int yaml_filter(const struct dirent *d) {
        size_t n = strlen(d->d_name);

        return n > 5 && streq(d->d_name + n - 5, ".yaml");
}

/* Returns whether the fixture gave exactly the errors it announces. */
static bool check_bad_fixture(const char *path) {
        Expect expect[MAX_EXPECT];
        ConfigErrors errs = {};
        Config *c = NULL;
        size_t n = read_expectations(path, expect);
        bool ok;
        int r;

        if (n == 0)
                fail_msg("%s: no '# expect: LINE:COLUMN: text' line", path);
        r = config_load_file(path, &errs, &c);
        ok = r == -EINVAL && !c && errs.n_errors == n;
        for (size_t i = 0; i < n && ok; i++)
                ok = has_error(&errs, expect[i].line, expect[i].column, expect[i].text);
        if (!ok) {
                print_message("%s: r=%d, %zu error(s), expected %zu:\n", path, r, errs.n_errors,
                              n);
                for (size_t i = 0; i < n; i++)
                        print_message("  want %u:%u: %s\n", expect[i].line, expect[i].column,
                                      expect[i].text);
                dump_errors(&errs);
        }
        for (size_t i = 0; i < errs.n_errors; i++)
                assert_string_equal(errs.errors[i].file, path);
        config_errors_clear(&errs);
        config_free(c);
        return ok;
}

static void test_bad_fixtures(void **state) {
        struct dirent **names = NULL;
        char path[1024];
        int n, failed = 0;

        (void) state;
        n = scandir(BAD_DIR, &names, yaml_filter, alphasort);
        assert_true(n >= 25);
        for (int i = 0; i < n; i++) {
                (void) snprintf(path, sizeof(path), "%s/%s", BAD_DIR, names[i]->d_name);
                failed += !check_bad_fixture(path);
                free(names[i]);
        }
        free(names);
        assert_int_equal(failed, 0);
}

/* ======================================================================== */
/* Robustness */

static uint64_t rng_state = 0x5eed2025u;

static uint64_t rng(void) {
        /* xorshift64* */
        rng_state ^= rng_state >> 12;
        rng_state ^= rng_state << 25;
        rng_state ^= rng_state >> 27;
        return rng_state * UINT64_C(2685821657736338717);
}

static void test_random_bytes(void **state) {
        static const char yamlish[] = "{}[],:-?&*!|>'\"#%@` \n\t\r abcsite01.:\\";
        char *buf = malloc(4096);

        (void) state;
        assert_non_null(buf);
        for (int i = 0; i < 400; i++) {
                size_t len = i == 0 ? 0 : (size_t) (rng() % 4096);

                for (size_t j = 0; j < len; j++)
                        buf[j] = i % 2 ? (char) rng() : yamlish[rng() % (sizeof(yamlish) - 1)];
                (void) load_bad_buffer("random", buf, len);
        }
        free(buf);
}

static void test_truncated(void **state) {
        size_t len, refused = 0;
        char *full = read_all(GOOD_FULL, &len);

        (void) state;
        for (size_t n = 0; n <= len; n++) {
                ConfigErrors errs = {};
                Config *c = NULL;
                int r = config_load_buffer("truncated", full, n, &errs, &c);

                assert_true(r == 0 || r == -EINVAL);
                assert_true((r == 0) == (errs.n_errors == 0));
                assert_true((r == 0) == (c != NULL));
                refused += r < 0;
                if (n == len)
                        assert_int_equal(r, 0);
                config_errors_clear(&errs);
                config_free(c);
        }
        /* Only cuts after a complete site, mostly in the last lines, still load. */
        assert_true(refused > len - len / 10);
        free(full);
}

/* The tree of a large file (issue 18: its nodes, items and text in an
 * arena): every site's values arrive intact, a long sequence's items and a
 * long value (both larger than a quarter of the arena's chunk) too. */
static char *many_sites(size_t n, size_t long_at, size_t long_len) {
        size_t cap = 256 + n * 256 + long_len;
        char *buf = malloc(cap), *p;

        assert_non_null(buf);
        p = stpcpy(buf, "contract: {start: 2025-12-01, end: 2031-11-30}\nsites:\n");
        for (size_t i = 0; i < n; i++) {
                p += sprintf(p, "- {id: s%05zu, name: ", i);
                if (i == long_at) {
                        memset(p, 'x', long_len);
                        p += long_len;
                } else
                        p += sprintf(p, "site %zu", i);
                p += sprintf(p, ", mount: wall, router: {address: 10.%zu.%zu.1, snmp: {user: u%zu, "
                                "auth_credential: a, priv_credential: p}}, camera: "
                                "{address: 10.%zu.%zu.2, username: c%zu, "
                                "password_credential: c}}\n",
                             i / 256, i % 256, i, i / 256, i % 256, i);
        }
        assert_true((size_t) (p - buf) < cap);
        return buf;
}

static void test_many_sites(void **state) {
        size_t n = 5000;
        ConfigErrors errs = {};
        Config *c = NULL;
        char *buf = many_sites(n, SIZE_MAX, 0), expected[64];
        bool found = false;

        (void) state;
        assert_int_equal(config_load_buffer("many", buf, strlen(buf), &errs, &c), 0);
        assert_int_equal(errs.n_errors, 0);
        assert_int_equal(c->n_sites, n);
        for (size_t i = 0; i < n; i += 1249) {
                char want[32];

                (void) snprintf(want, sizeof(want), "s%05zu", i);
                assert_string_equal(c->sites[i].id, want);
                (void) snprintf(want, sizeof(want), "site %zu", i);
                assert_string_equal(c->sites[i].name, want);
                (void) snprintf(want, sizeof(want), "10.%zu.%zu.2", i / 256, i % 256);
                assert_string_equal(c->sites[i].camera.address, want);
                (void) snprintf(want, sizeof(want), "u%zu", i);
                assert_string_equal(c->sites[i].router.snmp.user, want);
        }
        config_free(c);
        c = NULL;
        free(buf);

        /* A value of 40,000 bytes (a site's name: at most 256) is read
         * whole: the error gives its length, at its line. */
        buf = many_sites(n, 2500, 40000);
        assert_int_equal(config_load_buffer("many", buf, strlen(buf), &errs, &c), -EINVAL);
        assert_null(c);
        (void) snprintf(expected, sizeof(expected), "(40000 bytes, at most 256)");
        for (size_t i = 0; i < errs.n_errors; i++)
                if (strstr(errs.errors[i].message, expected) && errs.errors[i].line == 2 + 2500 + 1)
                        found = true;
        assert_true(found);
        config_errors_clear(&errs);
        free(buf);
}

/* At most CONFIG_MAX_SITES sites (issue 18: 30,000 cameras and 30,000
 * routers can be configured); one more is refused, naming the list. */
static void test_too_many_sites(void **state) {
        const char *item = "- {}\n";
        size_t n = CONFIG_MAX_SITES + 1, len = strlen("sites:\n") + n * strlen(item);
        ConfigErrors errs = {};
        Config *c = NULL;
        char *buf = malloc(len + 1), *p, expected[64];
        bool found = false;

        (void) state;
        assert_true(CONFIG_MAX_SITES >= 30000);
        assert_non_null(buf);
        p = stpcpy(buf, "sites:\n");
        for (size_t i = 0; i < n; i++)
                p = stpcpy(p, item);
        assert_int_equal(config_load_buffer("many", buf, len, &errs, &c), -EINVAL);
        assert_null(c);
        (void) snprintf(expected, sizeof(expected), "too many sites (%zu, at most %u)", n,
                        CONFIG_MAX_SITES);
        for (size_t i = 0; i < errs.n_errors; i++)
                if (strstr(errs.errors[i].message, expected) &&
                    errs.errors[i].line >= 1)
                        found = true;
        assert_true(found);
        config_errors_clear(&errs);
        free(buf);
}

static void test_too_large(void **state) {
        char path[] = "/tmp/test-config-XXXXXX";
        ConfigErrors errs = {};
        Config *c = NULL;
        size_t big = CONFIG_MAX_FILE_SIZE + 1024u * 1024u;
        char *buf;
        int fd;

        (void) state;
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t) big), 0);
        close(fd);
        assert_int_equal(config_load_file(path, &errs, &c), -EINVAL);
        assert_null(c);
        assert_int_equal(errs.n_errors, 1);
        assert_int_equal(errs.errors[0].line, 0);
        assert_non_null(strstr(errs.errors[0].message, "file too large"));
        config_errors_clear(&errs);
        unlink(path);

        /* Not a regular file: the read itself is capped. */
        assert_int_equal(config_load_file("/dev/zero", &errs, &c), -EINVAL);
        assert_int_equal(errs.n_errors, 1);
        assert_non_null(strstr(errs.errors[0].message, "file too large"));
        config_errors_clear(&errs);

        buf = malloc(big);
        assert_non_null(buf);
        memset(buf, '#', big);
        assert_int_equal(config_load_buffer("big", buf, CONFIG_MAX_FILE_SIZE + 1, &errs, &c),
                         -EINVAL);
        assert_int_equal(errs.n_errors, 1);
        assert_non_null(strstr(errs.errors[0].message, "file too large"));
        config_errors_clear(&errs);
        free(buf);
}

static void test_deep_nesting(void **state) {
        static const char *const openers[] = { "[", "{a: ", "- " };
        ConfigErrors errs = {};
        Config *c = NULL;
        size_t depth = 10000;

        (void) state;
        for (size_t k = 0; k < ELEMENTSOF(openers); k++) {
                size_t w = strlen(openers[k]);
                char *buf = malloc(depth * w + 1);

                assert_non_null(buf);
                for (size_t i = 0; i < depth; i++)
                        memcpy(buf + i * w, openers[k], w);
                buf[depth * w] = 0;
                assert_int_equal(config_load_buffer("deep", buf, depth * w, &errs, &c), -EINVAL);
                assert_null(c);
                assert_int_equal(errs.n_errors, 1);
                assert_non_null(strstr(errs.errors[0].message, "nesting too deep"));
                assert_int_equal(errs.errors[0].line, 1);
                assert_int_equal(errs.errors[0].column, 32 * w + 1);
                config_errors_clear(&errs);
                free(buf);
        }
}

static void test_empty(void **state) {
        static const char *const empties[] = { "", "\n\n", "# only a comment\n", "---\n",
                                               "--- ~\n", "null\n" };
        ConfigErrors errs = {};
        Config *c = NULL;

        (void) state;
        assert_int_equal(config_load_buffer("empty", NULL, 0, &errs, &c), -EINVAL);
        assert_int_equal(errs.n_errors, 1);
        assert_non_null(strstr(errs.errors[0].message, "empty configuration"));
        config_errors_clear(&errs);
        for (size_t i = 0; i < ELEMENTSOF(empties); i++) {
                assert_int_equal(config_load_buffer("empty", empties[i], strlen(empties[i]),
                                                    &errs, &c),
                                 -EINVAL);
                assert_null(c);
                assert_int_equal(errs.n_errors, 1);
                assert_int_equal(errs.errors[0].line, 0);
                assert_non_null(strstr(errs.errors[0].message, "empty configuration"));
                config_errors_clear(&errs);
        }
}

/* Too many errors: the first 100 are kept, and a last one says so. */
static void test_error_cap(void **state) {
        ConfigErrors errs = {};
        Config *c = NULL;
        char *buf = malloc(64 * 1024);
        size_t n = 0;

        (void) state;
        assert_non_null(buf);
        n += (size_t) sprintf(buf + n, "contract: {start: 2025-12-01, end: 2031-11-30}\n");
        for (int i = 0; i < 300; i++)
                n += (size_t) sprintf(buf + n, "unknown_%d: 1\n", i);
        assert_int_equal(config_load_buffer("many", buf, n, &errs, &c), -EINVAL);
        assert_int_equal(errs.n_errors, 101);
        /* In the order found: the missing 'sites' would come after them. */
        assert_int_equal(errs.errors[0].line, 2);
        assert_non_null(strstr(errs.errors[0].message, "unknown key 'unknown_0'"));
        assert_int_equal(errs.errors[99].line, 101);
        assert_non_null(strstr(errs.errors[99].message, "unknown key 'unknown_99'"));
        assert_int_equal(errs.errors[100].line, 0);
        assert_non_null(strstr(errs.errors[100].message, "too many errors"));
        config_errors_clear(&errs);
        free(buf);
}

static void test_unreadable(void **state) {
        ConfigErrors errs = {};
        Config *c = NULL;

        (void) state;
        assert_int_equal(config_load_file(TEST_CONFIGS_DIR "/no-such-file.yaml", &errs, &c),
                         -ENOENT);
        assert_null(c);
        assert_int_equal(errs.n_errors, 1);
        assert_string_equal(errs.errors[0].file, TEST_CONFIGS_DIR "/no-such-file.yaml");
        assert_int_equal(errs.errors[0].line, 0);
        assert_non_null(strstr(errs.errors[0].message, "cannot read"));
        config_errors_clear(&errs);

        assert_int_equal(config_load_file(TEST_CONFIGS_DIR, &errs, &c), -EISDIR);
        assert_int_equal(errs.n_errors, 1);
        config_errors_clear(&errs);
}

/* Errors are appended to what the caller already has; NULL errs works. */
static void test_errors_api(void **state) {
        ConfigErrors errs = {};
        Config *c = NULL;

        (void) state;
        assert_int_equal(config_errors_add(NULL, "f", 1, 2, "ignored %d", 1), 0);
        assert_int_equal(config_errors_add(&errs, "f", 1, 2, "first %s", "error"), 0);
        assert_int_equal(config_load_buffer("x", "a: 1\n", 5, &errs, &c), -EINVAL);
        assert_true(errs.n_errors >= 2);
        assert_string_equal(errs.errors[0].file, "f");
        assert_string_equal(errs.errors[0].message, "first error");
        assert_int_equal(errs.errors[0].line, 1);
        assert_int_equal(errs.errors[0].column, 2);
        config_errors_clear(&errs);
        assert_int_equal(errs.n_errors, 0);
        assert_null(errs.errors);
        config_errors_clear(NULL);

        assert_int_equal(config_load_buffer("x", "a: 1\n", 5, NULL, &c), -EINVAL);
        assert_null(c);
}

/* Checking the zone does not switch the process's time zone. */
static void test_timezone_untouched(void **state) {
        const char *before = getenv("TZ");
        char *saved = before ? strdup(before) : NULL;
        Config *c;

        (void) state;
        c = load_good(GOOD_FULL);
        assert_true(streq_ptr(getenv("TZ"), saved));
        assert_null(tz_current());
        config_free(c);
        free(saved);
}

/* The checked strings (one parser, one table in config.c): every kind's
 * error word for word, as the black-box suites and operators see it. */
#define CHECKED_BASE                                                                         \
        "contract: {start: 2025-12-01, end: 2031-11-30, timezone: %s}\n"                     \
        "probes: {source_address: %s, router: {signal: {rssi: {oid: %s}}}}\n"                \
        "metrics_file: %s\n"                                                                 \
        "notify:\n"                                                                          \
        "  smtp: {url: %s}\n"                                                                \
        "  from: %s\n"                                                                       \
        "  to: [ops@example.org, %s]\n"                                                      \
        "sites:\n"                                                                           \
        "  - id: %s\n"                                                                       \
        "    name: x\n"                                                                      \
        "    mount: wall\n"                                                                  \
        "    router:\n"                                                                      \
        "      address: %s\n"                                                                \
        "      snmp: {user: m, auth_credential: a, priv_credential: p}\n"                    \
        "    camera:\n"                                                                      \
        "      {address: 192.0.2.12, username: admin, password_credential: %s,\n"            \
        "       scheme: https, pinned_public_key: %s}\n"

typedef struct CheckedValues {
        const char *zone, *source, *oid, *metrics, *url, *from, *to, *id, *address, *cred,
                *pin;
} CheckedValues;

static const CheckedValues checked_good = {
        "Asia/Tokyo", "192.0.2.1", ".1.3.6.1.4.1.1182.2.1.10", "/run/m.prom", "smtp://mx:25",
        "Ops <ops@example.org>", "b@example.org", "01", "router-01.example", "cam.pw",
        "/etc/pin.pem",
};

static char *checked_yaml(const CheckedValues *v) {
        char *s = NULL;

        assert_true(asprintf(&s, CHECKED_BASE, v->zone, v->source, v->oid, v->metrics, v->url,
                             v->from, v->to, v->id, v->address, v->cred, v->pin) > 0);
        return s;
}

static void expect_checked_error(const CheckedValues *v, const char *want) {
        ConfigErrors errs = {};
        Config *c = NULL;
        char *yaml = checked_yaml(v);
        bool found = false;

        assert_int_equal(config_load_buffer("checked.yaml", yaml, strlen(yaml), &errs, &c),
                         -EINVAL);
        for (size_t i = 0; i < errs.n_errors; i++)
                found = found || streq(errs.errors[i].message, want);
        if (!found) {
                print_message("wanted: %s\n", want);
                dump_errors(&errs);
        }
        assert_true(found);
        config_errors_clear(&errs);
        free(yaml);
}

static void test_checked_strings(void **state) {
        ConfigErrors errs = {};
        CheckedValues v = checked_good;
        Config *c = NULL;
        char *yaml = checked_yaml(&v);

        (void) state;
        assert_int_equal(config_load_buffer("checked.yaml", yaml, strlen(yaml), &errs, &c), 0);
        free(yaml);
        assert_string_equal(c->probes.router.signals[0].oid, "1.3.6.1.4.1.1182.2.1.10");
        assert_string_equal(c->sites[0].camera.pinned_public_key, "/etc/pin.pem");
        assert_string_equal(c->metrics_file, "/run/m.prom");
        config_free(c);
        v.metrics = "\"\"";
        yaml = checked_yaml(&v);
        assert_int_equal(config_load_buffer("checked.yaml", yaml, strlen(yaml), &errs, &c), 0);
        free(yaml);
        assert_null(c->metrics_file);
        config_free(c);

        v = checked_good;
        v.zone = "Asia/Nowhere";
        expect_checked_error(&v, "unknown time zone 'Asia/Nowhere' for 'contract.timezone': no "
                                 "such zone in /usr/share/zoneinfo");
        v.zone = "../etc";
        expect_checked_error(&v, "invalid time zone '../etc' for 'contract.timezone': expected "
                                 "a zone name such as Asia/Tokyo");
        v = checked_good;
        v.source = "example.org";
        expect_checked_error(&v, "invalid address 'example.org' for 'probes.source_address': "
                                 "expected an IPv4 or IPv6 address of this machine (no host "
                                 "name)");
        v = checked_good;
        v.oid = "1.3.x";
        expect_checked_error(&v, "invalid OID '1.3.x' for 'probes.router.signal.rssi.oid': "
                                 "expected a numeric dotted OID such as 1.3.6.1.2.1.1.3.0");
        v = checked_good;
        v.metrics = "run/m.prom";
        expect_checked_error(&v, "invalid path 'run/m.prom' for 'metrics_file': expected an "
                                 "absolute path");
        v = checked_good;
        v.url = "smtp://user:secret@mx";
        expect_checked_error(&v, "invalid SMTP URL for 'notify.smtp.url': the URL must not "
                                 "contain credentials: use 'username' and "
                                 "'password_credential'");
        v.url = "http://mx";
        expect_checked_error(&v, "invalid SMTP URL for 'notify.smtp.url': expected "
                                 "smtp://host[:port] or smtps://host[:port]");
        v = checked_good;
        v.from = "no-at-sign";
        expect_checked_error(&v, "invalid mail address 'no-at-sign' for 'notify.from': expected "
                                 "user@domain or Name <user@domain>");
        v = checked_good;
        v.to = "a@b@";
        expect_checked_error(&v, "invalid mail address 'a@b@' for 'notify.to[1]': expected "
                                 "user@domain or Name <user@domain>");
        v = checked_good;
        v.id = "\"has space\"";
        expect_checked_error(&v, "invalid site id 'has space' for 'sites[0].id': expected 1 to "
                                 "15 letters, digits, '_' or '-'");
        /* 16 characters do not fit the 16 bytes a site id is kept in. */
        v.id = "abcdefghijklmnop";
        expect_checked_error(&v, "invalid site id 'abcdefghijklmnop' for 'sites[0].id': expected "
                                 "1 to 15 letters, digits, '_' or '-'");
        v = checked_good;
        v.address = "bad_host!";
        expect_checked_error(&v, "invalid address 'bad_host!' for 'sites[0].router.address': "
                                 "expected an IPv4 or IPv6 address or a host name");
        v.address = "[1, 2]";
        expect_checked_error(&v, "expected an address for 'sites[0].router.address', got a "
                                 "sequence");
        v = checked_good;
        v.cred = ".hidden";
        expect_checked_error(&v, "invalid credential name '.hidden' for "
                                 "'sites[0].camera.password_credential': expected a file name "
                                 "in the credentials directory (letters, digits, '.', '_', '-'; "
                                 "no '/', not starting with '.')");
        v = checked_good;
        v.pin = "md5//abc";
        expect_checked_error(&v, "invalid public key pin 'md5//abc' for "
                                 "'sites[0].camera.pinned_public_key': expected sha256//<base64> "
                                 "(';'-separated) or an absolute path");
}

static void test_to_string(void **state) {
        (void) state;
        assert_string_equal(mount_to_string(MOUNT_STAINLESS_BAND), "stainless_band");
        assert_string_equal(mount_to_string(MOUNT_SPEAR_ARM), "spear_arm");
        assert_string_equal(mount_to_string(MOUNT_WALL), "wall");
        assert_string_equal(language_to_string(LANGUAGE_JA), "ja");
        assert_string_equal(language_to_string(LANGUAGE_EN), "en");
        assert_string_equal(snmp_version_to_string(SNMP_VERSION_V2C), "2c");
        assert_string_equal(snmp_version_to_string(SNMP_VERSION_V3), "3");
        assert_string_equal(snmp_auth_to_string(SNMP_AUTH_SHA256), "SHA-256");
        assert_string_equal(snmp_priv_to_string(SNMP_PRIV_AES), "AES");
        assert_string_equal(smtp_tls_to_string(SMTP_TLS_TRY), "try");
        assert_string_equal(camera_scheme_to_string(CAMERA_SCHEME_HTTPS), "https");
        assert_string_equal(camera_auth_to_string(CAMERA_AUTH_WSSE), "wsse");
        assert_null(mount_to_string((Mount) 42));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_defaults),
                cmocka_unit_test(test_full),
                cmocka_unit_test(test_minimal),
                cmocka_unit_test(test_spec_example),
                cmocka_unit_test(test_http_listen),
                cmocka_unit_test(test_bom_crlf),
                cmocka_unit_test(test_bad_fixtures),
                cmocka_unit_test(test_random_bytes),
                cmocka_unit_test(test_truncated),
                cmocka_unit_test(test_too_large),
                cmocka_unit_test(test_too_many_sites),
                cmocka_unit_test(test_deep_nesting),
                cmocka_unit_test(test_empty),
                cmocka_unit_test(test_error_cap),
                cmocka_unit_test(test_many_sites),
                cmocka_unit_test(test_unreadable),
                cmocka_unit_test(test_errors_api),
                cmocka_unit_test(test_timezone_untouched),
                cmocka_unit_test(test_checked_strings),
                cmocka_unit_test(test_to_string),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
