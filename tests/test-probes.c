/* SPDX-License-Identifier: MIT */

/* The probes' pure parts: WS-Security digests, SOAP response parsing
 * (faults, hostile XML), sysUpTime restarts across the 32-bit wrap, OIDs,
 * and when a camera's connection is kept from cycle to cycle. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <libxml/parser.h>
#include <openssl/evp.h>
#include <string.h>

#include "camera.h"
#include "events.h"
#include "macro.h"
#include "probe.h"
#include "snmp.h"
#include "soap.h"

static void test_wsse_digest_vector(void **state) {
        /* The ONVIF Application Programmer's Guide's example. */
        unsigned char nonce[32];
        char digest[29];
        int n;

        (void) state;
        n = EVP_DecodeBlock(nonce, (const unsigned char *) "LKqI6G/AikKCQrN0zqZFlg==", 24);
        assert_int_equal(n, 18); /* 16 bytes + 2 of padding */
        assert_int_equal(soap_wsse_digest(nonce, 16, "2010-09-16T07:50:45Z", "userpassword", digest),
                         0);
        assert_string_equal(digest, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
        assert_int_equal(soap_wsse_digest(nonce, 16, "2010-09-16T07:50:46Z", "userpassword", digest),
                         0);
        assert_string_not_equal(digest, "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
}

static void test_build_request(void **state) {
        char *req = NULL;
        size_t len = 0;

        (void) state;
        assert_int_equal(soap_build_request("<GetSystemDateAndTime xmlns=\"" NS_ONVIF_DEVICE "\"/>",
                                            NULL, NULL, 0, &req, &len),
                         0);
        assert_int_equal(strlen(req), len);
        assert_non_null(strstr(req, NS_SOAP_ENV));
        assert_null(strstr(req, "Security"));
        free(req);
        assert_int_equal(soap_build_request("<GetDeviceInformation xmlns=\"" NS_ONVIF_DEVICE "\"/>",
                                            "admin", "secret", 1795582800, &req, &len),
                         0);
        assert_non_null(strstr(req, "<wsu:Created>2026-11-25T05:00:00Z</wsu:Created>"));
        assert_non_null(strstr(req, "#PasswordDigest\">"));
        assert_null(strstr(req, "secret"));
        free(req);
}

static int parse(const char *xml, char err[static SOAP_ERROR_MAX]) {
        xmlNode *body = NULL;
        xmlDoc *doc = NULL;
        int r;

        err[0] = 0;
        r = soap_parse_response(xml, strlen(xml), &doc, &body, err);
        if (r >= 0) {
                assert_non_null(body);
                xmlFreeDoc(doc);
        }
        return r;
}

#define ENV_OPEN "<env:Envelope xmlns:env=\"" NS_SOAP_ENV "\"><env:Body>"
#define ENV_CLOSE "</env:Body></env:Envelope>"

static void test_parse_good_and_fault(void **state) {
        char err[SOAP_ERROR_MAX];

        (void) state;
        assert_int_equal(parse(ENV_OPEN "<x:R xmlns:x=\"urn:x\"/>" ENV_CLOSE, err), 0);
        assert_int_equal(
                parse(ENV_OPEN "<env:Fault><env:Code><env:Value>env:Sender</env:Value>"
                               "<env:Subcode><env:Value>ter:NotAuthorized</env:Value></env:Subcode>"
                               "</env:Code><env:Reason><env:Text xml:lang=\"en\">Sender not "
                               "authorized</env:Text></env:Reason></env:Fault>" ENV_CLOSE,
                      err),
                -EPROTO);
        assert_string_equal(err,
                            "SOAP fault env:Sender / ter:NotAuthorized: Sender not authorized");
}

static void test_parse_hostile(void **state) {
        static const char laughs[] =
                "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>"
                ENV_OPEN "<x>&lol3;</x>" ENV_CLOSE;
        static const char xxe[] = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM "
                                  "\"file:///etc/passwd\">]>" ENV_OPEN "<x>&e;</x>" ENV_CLOSE;
        char err[SOAP_ERROR_MAX], *deep;
        size_t n = 0;

        (void) state;
        assert_int_equal(parse(laughs, err), -EBADMSG);
        assert_non_null(strstr(err, "DTD"));
        assert_int_equal(parse(xxe, err), -EBADMSG);
        assert_non_null(strstr(err, "DTD"));
        assert_int_equal(parse("<env:Envelope xmlns:env=\"" NS_SOAP_ENV "\"><env:Body>", err),
                         -EBADMSG);
        assert_non_null(strstr(err, "invalid XML at line 1"));
        assert_int_equal(parse("this is not XML at all", err), -EBADMSG);
        assert_int_equal(parse("<html><body>hello</body></html>", err), -EBADMSG);
        assert_string_equal(err, "not a SOAP 1.2 envelope");
        /* SOAP 1.1's namespace is not SOAP 1.2. */
        assert_int_equal(parse("<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                               "<e:Body/></e:Envelope>",
                               err),
                         -EBADMSG);
        assert_int_equal(parse("<env:Envelope xmlns:env=\"" NS_SOAP_ENV "\"/>", err), -EBADMSG);
        assert_string_equal(err, "SOAP envelope without a Body");
        assert_int_equal(parse("", err), -EBADMSG);

        /* 100,000 nested elements: libxml2's depth limit, not our stack. */
        deep = malloc(100000 * 3 + 1);
        assert_non_null(deep);
        for (int i = 0; i < 100000; i++) {
                memcpy(deep + n, "<a>", 3);
                n += 3;
        }
        deep[n] = 0;
        assert_int_equal(parse(deep, err), -EBADMSG);
        free(deep);
}

/* The liveness answer read without a tree: the time when all is well,
 * -EAGAIN (take the full path) for everything else. */
#define GSDT(utc)                                                                          \
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                                         \
        "<s:Envelope xmlns:s=\"" NS_SOAP_ENV "\" xmlns:tds=\"" NS_ONVIF_DEVICE "\""          \
        " xmlns:tt=\"" NS_ONVIF_SCHEMA "\"><s:Header/><s:Body>"                               \
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"                        \
        "<tt:DateTimeType>NTP</tt:DateTimeType><tt:DaylightSavings>false</tt:DaylightSavings>" \
        "<tt:TimeZone><tt:TZ>JST-9</tt:TZ></tt:TimeZone>" utc                              \
        "<tt:LocalDateTime><tt:Time><tt:Hour>1</tt:Hour><tt:Minute>2</tt:Minute>"          \
        "<tt:Second>3</tt:Second></tt:Time><tt:Date><tt:Year>2000</tt:Year>"               \
        "<tt:Month>1</tt:Month><tt:Day>1</tt:Day></tt:Date></tt:LocalDateTime>"            \
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse></s:Body></s:Envelope>"
#define UTC(h, mi, s, y, mo, d)                                                            \
        "<tt:UTCDateTime><tt:Time><tt:Hour>" h "</tt:Hour><tt:Minute>" mi "</tt:Minute>"    \
        "<tt:Second>" s "</tt:Second></tt:Time><tt:Date><tt:Year>" y "</tt:Year>"          \
        "<tt:Month>" mo "</tt:Month><tt:Day>" d "</tt:Day></tt:Date></tt:UTCDateTime>"

static int fast(const char *xml, time_t *t) {
        return soap_parse_time_fast(xml, strlen(xml), t);
}

static void test_parse_time_fast(void **state) {
        time_t t = 0;

        (void) state;
        /* 2026-11-25 06:30:05 UTC; the local time after it does not count. */
        assert_int_equal(fast(GSDT(UTC("6", "30", "5", "2026", "11", "25")), &t), 0);
        assert_int_equal(t, 1795588205);
        /* Whitespace around the numbers, a leap second, the default namespace. */
        assert_int_equal(fast(GSDT(UTC(" 23\n", "59", "60", "2024", "2", "29")), &t), 0);
        assert_int_equal(t, 1709251200);
        assert_int_equal(fast("<Envelope xmlns=\"" NS_SOAP_ENV "\"><Body>"
                              "<GetSystemDateAndTimeResponse xmlns=\"" NS_ONVIF_DEVICE "\">"
                              "<SystemDateAndTime><UTCDateTime xmlns=\"" NS_ONVIF_SCHEMA "\">"
                              "<Time><Hour>0</Hour><Minute>0</Minute><Second>0</Second></Time>"
                              "<Date><Year>1970</Year><Month>1</Month><Day>2</Day></Date>"
                              "</UTCDateTime></SystemDateAndTime></GetSystemDateAndTimeResponse>"
                              "</Body></Envelope>",
                              &t),
                         0);
        assert_int_equal(t, 86400);
        /* Everything else: the full path says what is wrong. */
        assert_int_equal(fast(GSDT(UTC("24", "0", "0", "2026", "1", "1")), &t), -EAGAIN);
        assert_int_equal(fast(GSDT(UTC("1", "0", "0", "2026", "2", "30")), &t), -EAGAIN);
        assert_int_equal(fast(GSDT(UTC("1", "x", "0", "2026", "1", "1")), &t), -EAGAIN);
        assert_int_equal(fast(GSDT(UTC("1", "0", "0", "99999999999999999", "1", "1")), &t),
                         -EAGAIN);
        assert_int_equal(fast(GSDT(""), &t), -EAGAIN); /* no UTCDateTime */
        assert_int_equal(fast(ENV_OPEN "<env:Fault><env:Code><env:Value>env:Receiver"
                                       "</env:Value></env:Code></env:Fault>" ENV_CLOSE,
                              &t),
                         -EAGAIN);
        assert_int_equal(fast(ENV_OPEN "<x:R xmlns:x=\"urn:x\"/>" ENV_CLOSE, &t), -EAGAIN);
        assert_int_equal(fast("<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e \"6\">]>"
                              GSDT(UTC("&e;", "0", "0", "2026", "1", "1")),
                              &t),
                         -EAGAIN);
        assert_int_equal(fast("<e:Envelope xmlns:e=\"http://schemas.xmlsoap.org/soap/envelope/\">"
                              "<e:Body/></e:Envelope>", &t), -EAGAIN);
        assert_int_equal(fast("not XML", &t), -EAGAIN);
        assert_int_equal(fast("", &t), -EAGAIN);
        /* Cut anywhere: never a time from half an answer, and the parser recovers. */
        {
                static const char full[] = GSDT(UTC("6", "30", "5", "2026", "11", "25"));

                for (size_t n = 0; n < sizeof(full) - 1; n++)
                        assert_int_equal(soap_parse_time_fast(full, n, &t), -EAGAIN);
                assert_int_equal(fast(full, &t), 0);
                assert_int_equal(t, 1795588205);
        }
}

static void test_xml_helpers(void **state) {
        static const char xml[] =
                ENV_OPEN "<tds:R xmlns:tds=\"" NS_ONVIF_DEVICE "\" xmlns:tt=\"" NS_ONVIF_SCHEMA "\">"
                         "<tds:Model>  WV-S2536LNUX \n</tds:Model><tt:A><tt:B><tt:C>7</tt:C></tt:B>"
                         "</tt:A><other:Model xmlns:other=\"urn:other\">no</other:Model></tds:R>" ENV_CLOSE;
        char err[SOAP_ERROR_MAX], buf[64];
        xmlNode *body, *r;
        xmlDoc *doc;
        time_t t;

        (void) state;
        assert_int_equal(soap_parse_response(xml, strlen(xml), &doc, &body, err), 0);
        r = xml_child(body, NS_ONVIF_DEVICE, "R");
        assert_non_null(r);
        assert_true(xml_text(xml_child(r, NS_ONVIF_DEVICE, "Model"), buf, sizeof(buf)));
        assert_string_equal(buf, "WV-S2536LNUX");
        assert_true(xml_text(xml_descendant(r, NS_ONVIF_SCHEMA, "C"), buf, sizeof(buf)));
        assert_string_equal(buf, "7");
        assert_null(xml_child(r, NS_ONVIF_SCHEMA, "Model"));
        assert_null(xml_descendant(r, NS_ONVIF_SEARCH, "C"));
        xmlFreeDoc(doc);

        assert_int_equal(xml_parse_datetime("2026-11-25T05:00:00Z", &t), 0);
        assert_int_equal(t, 1795582800);
        assert_int_equal(xml_parse_datetime("2026-11-25T05:00:00", &t), 0);
        assert_int_equal(t, 1795582800);
        assert_int_equal(xml_parse_datetime("2026-11-25T14:00:00.123+09:00", &t), 0);
        assert_int_equal(t, 1795582800);
        assert_int_equal(xml_parse_datetime("yesterday", &t), -EINVAL);
}

static void test_uptime_restarted(void **state) {
        const uint64_t min = 60 * USEC_PER_SEC;

        (void) state;
        /* Counting up: no restart. */
        assert_false(uptime_restarted(1000, 7000, min));
        /* Went back: a restart. */
        assert_true(uptime_restarted(500000, 1200, min));
        assert_true(uptime_restarted(4294960000u, 100, 10 * USEC_PER_SEC));
        /* The 497-day wrap: 2^32 - 3000 ticks, a minute later 3000 ticks. */
        assert_false(uptime_restarted(4294964296u, 3000, min));
        /* ...but a value far below where the wrap would put it is a restart. */
        assert_true(uptime_restarted(4294964296u, 3000, 10 * min));
        /* Equal values (a frozen agent) are no restart. */
        assert_false(uptime_restarted(5000, 5000, min));
}

static void test_oid_parse(void **state) {
        SnmpOid o, t;

        (void) state;
        assert_int_equal(snmp_oid_parse("1.3.6.1.2.1.1.3.0", &o), 0);
        assert_int_equal(o.len, 9);
        assert_int_equal(o.sub[8], 0);
        assert_int_equal(snmp_oid_parse(".1.3.6.1.4.1.1182.2.3.16.1.2", &o), 0);
        assert_int_equal(o.len, 12);
        assert_int_equal(snmp_oid_append(&o, 27, &t), 0);
        assert_int_equal(t.len, 13);
        assert_int_equal(t.sub[12], 27);
        assert_int_equal(snmp_oid_parse("1.3.x", &o), -EINVAL);
        assert_int_equal(snmp_oid_parse("1..3", &o), -EINVAL);
        assert_int_equal(snmp_oid_parse("1.3.", &o), -EINVAL);
        assert_int_equal(snmp_oid_parse("1", &o), -EINVAL);
        assert_int_equal(snmp_oid_parse("1.4294967296", &o), -ERANGE);
}

static void test_result_fail_order(void **state) {
        ProbeResult r = { .status = PROBE_UP };

        (void) state;
        probe_result_fail(&r, PROBE_DEGRADED, "skew %d", 30);
        probe_result_fail(&r, PROBE_DEGRADED, "second");
        assert_int_equal(r.status, PROBE_DEGRADED);
        assert_string_equal(r.reason, "skew 30");
        probe_result_fail(&r, PROBE_DOWN, "timeout");
        assert_int_equal(r.status, PROBE_DOWN);
        assert_string_equal(r.reason, "timeout");
        probe_result_fail(&r, PROBE_DEGRADED, "later");
        assert_int_equal(r.status, PROBE_DOWN);
        assert_string_equal(r.reason, "timeout");
}

/* ONVIF events (probes/events.c): the topics offered, the messages of a
 * pull, as the ONVIF Event Service WSDL and the simulator write them. */
#define EV_ENV_HEAD                                                                         \
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"                                         \
        "<env:Envelope xmlns:env=\"http://www.w3.org/2003/05/soap-envelope\""                 \
        " xmlns:tev=\"http://www.onvif.org/ver10/events/wsdl\""                              \
        " xmlns:wsnt=\"http://docs.oasis-open.org/wsn/b-2\""                                 \
        " xmlns:wstop=\"http://docs.oasis-open.org/wsn/t-1\""                                \
        " xmlns:tt=\"http://www.onvif.org/ver10/schema\""                                    \
        " xmlns:tns1=\"http://www.onvif.org/ver10/topics\"><env:Body>"
#define EV_ENV_TAIL "</env:Body></env:Envelope>"

typedef struct Seen {
        CameraEvent ev[8];
        size_t n;
} Seen;

static void seen_event(void *userdata, const CameraEvent *ev) {
        Seen *s = userdata;

        if (s->n < ELEMENTSOF(s->ev))
                s->ev[s->n++] = *ev;
}

static void test_events_parse(void **state) {
        static const char props[] =
                EV_ENV_HEAD "<tev:GetEventPropertiesResponse><wstop:TopicSet>"
                "<tns1:VideoSource><GlobalSceneChange><ImagingService wstop:topic=\"true\"/>"
                "</GlobalSceneChange></tns1:VideoSource>"
                "<tns1:Device><HardwareFailure><StorageFailure wstop:topic=\"true\"/>"
                "</HardwareFailure></tns1:Device>"
                "</wstop:TopicSet></tev:GetEventPropertiesResponse>" EV_ENV_TAIL;
        static const char pull[] =
                EV_ENV_HEAD "<tev:PullMessagesResponse>"
                "<tev:CurrentTime>2026-11-25T01:00:00Z</tev:CurrentTime>"
                "<tev:TerminationTime>2026-11-25T01:00:45Z</tev:TerminationTime>"
                "<wsnt:NotificationMessage><wsnt:Topic Dialect=\"x\">"
                "tns1:VideoSource/GlobalSceneChange/ImagingService</wsnt:Topic><wsnt:Message>"
                "<tt:Message UtcTime=\"2026-11-25T01:00:00Z\" PropertyOperation=\"Changed\">"
                "<tt:Source><tt:SimpleItem Name=\"Source\" Value=\"1\"/></tt:Source>"
                "<tt:Data><tt:SimpleItem Name=\"State\" Value=\"true\"/></tt:Data>"
                "</tt:Message></wsnt:Message></wsnt:NotificationMessage>"
                "<wsnt:NotificationMessage><wsnt:Topic>tns1:Some/Other</wsnt:Topic>"
                "</wsnt:NotificationMessage>"
                "<wsnt:NotificationMessage><wsnt:Topic>tns1:RecordingConfig/JobState</wsnt:Topic>"
                "<wsnt:Message><tt:Message PropertyOperation=\"Initialized\"><tt:Data>"
                "<tt:SimpleItem Name=\"State\" Value=\"Idle\"/></tt:Data></tt:Message>"
                "</wsnt:Message></wsnt:NotificationMessage>"
                "</tev:PullMessagesResponse>" EV_ENV_TAIL;
        static const char fault[] =
                EV_ENV_HEAD "<env:Fault><env:Code><env:Value>env:Sender</env:Value></env:Code>"
                "<env:Reason><env:Text xml:lang=\"en\">unknown subscription</env:Text>"
                "</env:Reason></env:Fault>" EV_ENV_TAIL;
        char err[256], buf[512];
        Seen s = {};
        int64_t left = 0;
        unsigned offered;

        (void) state;
        (void) buf;
        offered = camera_events_parse_properties(props, strlen(props));
        assert_int_equal(__builtin_popcount(offered), 2);
        assert_int_equal(camera_events_parse_properties("<x/>", 4), 0);
        assert_int_equal(camera_events_parse_messages(pull, strlen(pull), seen_event, &s, &left,
                                                      err, sizeof(err)),
                         0);
        assert_int_equal(left, 45);
        assert_int_equal(s.n, 2); /* the unknown topic is left out */
        assert_int_equal(s.ev[0].kind, CAMERA_EVENT_TAMPER);
        assert_string_equal(s.ev[0].topic, "VideoSource/GlobalSceneChange/ImagingService");
        assert_true(s.ev[0].has_state && s.ev[0].state);
        assert_false(s.ev[0].initialized);
        assert_true(s.ev[0].at > 0);
        assert_int_equal(s.ev[1].kind, CAMERA_EVENT_RECORDING);
        assert_true(s.ev[1].initialized);
        assert_false(s.ev[1].has_state); /* "Idle" is no boolean */
        assert_int_equal(camera_events_parse_messages(fault, strlen(fault), seen_event, &s, &left,
                                                      err, sizeof(err)),
                         -EPROTO);
        assert_non_null(strstr(err, "unknown subscription"));
        assert_int_equal(camera_events_parse_messages("not xml", 7, seen_event, &s, &left, err,
                                                      sizeof(err)),
                         -EBADMSG);
}

/* A cycle: its start, then its first answer (ok, reconnected). */
static void keep_cycle(CameraKeep *k, bool ok, int reconnected) {
        camera_keep_cycle_start(k);
        camera_keep_answer(k, ok, reconnected);
}

static void test_camera_keep(void **state) {
        CameraKeep k = { .setting = true };

        (void) state;
        /* The first cycle opens the connection: no kept one to miss. */
        keep_cycle(&k, true, 1);
        assert_true(k.kept_alive);
        assert_int_equal(k.misses, 0);
        /* Served on the kept one: no miss. */
        keep_cycle(&k, true, 0);
        assert_int_equal(k.misses, 0);
        /* One miss, then a failure: the count starts again. */
        keep_cycle(&k, true, 1);
        assert_int_equal(k.misses, 1);
        keep_cycle(&k, false, -1);
        assert_int_equal(k.misses, 0);
        assert_false(k.kept_alive);
        assert_true(camera_keep_keeps(&k));
        /* Two misses in a row: given up, for CAMERA_KEEP_AGAIN_CYCLES cycle starts. */
        keep_cycle(&k, true, 1);       /* reopens after the failure: not kept_alive before */
        assert_int_equal(k.misses, 0);
        keep_cycle(&k, true, 1);
        keep_cycle(&k, true, 1);
        assert_false(camera_keep_keeps(&k));
        assert_false(k.kept_alive);
        for (int i = 1; i < CAMERA_KEEP_AGAIN_CYCLES; i++) {
                keep_cycle(&k, true, 1);
                assert_false(camera_keep_keeps(&k));
                assert_int_equal(k.misses, 0);
        }
        /* The 360th cycle start after giving up keeps it again. */
        camera_keep_cycle_start(&k);
        assert_true(camera_keep_keeps(&k));
        camera_keep_answer(&k, true, 1);
        assert_true(k.kept_alive);
        /* Not the monitor's setting: never kept, never counted. */
        k = (CameraKeep) { .setting = false };
        keep_cycle(&k, true, 1);
        keep_cycle(&k, true, 1);
        assert_false(camera_keep_keeps(&k));
        assert_false(k.kept_alive);
        assert_int_equal(k.misses, 0);
        assert_int_equal(k.again, 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_wsse_digest_vector), cmocka_unit_test(test_build_request),
                cmocka_unit_test(test_parse_good_and_fault), cmocka_unit_test(test_parse_hostile),
                cmocka_unit_test(test_xml_helpers),        cmocka_unit_test(test_parse_time_fast),        cmocka_unit_test(test_uptime_restarted),
                cmocka_unit_test(test_oid_parse),          cmocka_unit_test(test_result_fail_order),
                cmocka_unit_test(test_events_parse),       cmocka_unit_test(test_camera_keep),
        };

        return cmocka_run_group_tests_name("probes", tests, NULL, NULL);
}
