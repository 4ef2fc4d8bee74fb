/* SPDX-License-Identifier: MIT */

/* snmptrapd's handler input (daemon/trap.c): the sender, the trap's OID in
 * numeric and named forms, the community from %P; bad input refused. */

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "credentials.h"
#include "trap.h"

static int parse(const char *text, Trap *t) {
        char err[256];

        return trap_parse(text, strlen(text), t, err, sizeof(err));
}

/* As Debian 12's snmptrapd 5.9.3 wrote it with the shipped snippet. */
static void test_numeric(void **state) {
        Trap t;

        (void) state;
        assert_int_equal(parse("<UNKNOWN>\n"
                               "UDP: [127.0.1.5]:55944->[127.0.0.1]:16299\n"
                               ".1.3.6.1.2.1.1.3.0 0:11:14:37.38\n"
                               ".1.3.6.1.6.3.1.1.4.1.0 .1.3.6.1.6.3.1.1.5.3\n"
                               ".1.3.6.1.2.1.2.2.1.1.1 1\n"
                               "fieldwatch-security TRAP2, SNMP v2c, community sek, rit\n",
                               &t),
                         0);
        assert_string_equal(t.source, "127.0.1.5");
        assert_string_equal(t.oid, "1.3.6.1.6.3.1.1.5.3");
        assert_int_equal(trap_kind(t.oid), TRAP_LINK_DOWN);
        assert_true(t.has_community);
        assert_string_equal(t.community, "sek, rit");
}

/* With MIBs loaded, the default format, typed values; v3 has no community. */
static void test_named(void **state) {
        Trap t;

        (void) state;
        assert_int_equal(parse("router.example\r\n"
                               "[UDP: [192.0.2.11]:161->[192.0.2.1]:162]\r\n"
                               "DISMAN-EVENT-MIB::sysUpTimeInstance 0:0:00:01.00\r\n"
                               "SNMPv2-MIB::snmpTrapOID.0 OID: SNMPv2-MIB::coldStart\r\n"
                               "fieldwatch-security TRAP2, SNMP v3, user monitor, context \r\n",
                               &t),
                         0);
        assert_string_equal(t.source, "192.0.2.11");
        assert_int_equal(trap_kind(t.oid), TRAP_COLD_START);
        assert_false(t.has_community);
        assert_int_equal(parse("h\nUDP/IPv6: [::1]:40000->[::1]:162\n"
                               "iso.3.6.1.6.3.1.1.4.1.0 iso.3.6.1.4.1.1182.3.1.2\n",
                               &t),
                         0);
        assert_string_equal(t.source, "::1");
        assert_string_equal(t.oid, "1.3.6.1.4.1.1182.3.1.2");
        assert_int_equal(trap_kind(t.oid), TRAP_OTHER);
}

static void test_bad(void **state) {
        char *big;
        Trap t;

        (void) state;
        assert_int_equal(parse("", &t), -EINVAL);
        assert_int_equal(parse("host\n<UNKNOWN>\n.1.3.6.1.6.3.1.1.4.1.0 .1.3.6.1.6.3.1.1.5.3\n",
                               &t),
                         -EINVAL);
        assert_int_equal(parse("host\nUDP: [not-an-ip]:1->[127.0.0.1]:162\n"
                               ".1.3.6.1.6.3.1.1.4.1.0 .1.3.6.1.6.3.1.1.5.3\n",
                               &t),
                         -EINVAL);
        /* No snmpTrapOID.0, or one that is no OID. */
        assert_int_equal(parse("h\nUDP: [127.0.0.1]:1->[127.0.0.1]:162\n.1.3.6.1.2.1.1.3.0 0\n",
                               &t),
                         -EINVAL);
        assert_int_equal(parse("h\nUDP: [127.0.0.1]:1->[127.0.0.1]:162\n"
                               ".1.3.6.1.6.3.1.1.4.1.0 FOO-MIB::bar\n",
                               &t),
                         -EINVAL);
        big = calloc(1, TRAP_INPUT_MAX + 2);
        assert_non_null(big);
        memset(big, 'x', TRAP_INPUT_MAX + 1);
        assert_int_equal(trap_parse(big, TRAP_INPUT_MAX + 1, &t, (char[64]) {}, 64), -EINVAL);
        free(big);
}

/* The body of POST /v1/traps: a round trip; bad bodies refused. */
static void test_json(void **state) {
        Trap t = { .source = "127.0.1.5", .oid = "1.3.6.1.6.3.1.1.5.4", .has_community = true,
                   .community = "pub\"lic" }, u;
        char err[256], *s;

        (void) state;
        s = trap_to_json(&t);
        assert_non_null(s);
        assert_int_equal(trap_from_json(s, &u, err, sizeof(err)), 0);
        free(s);
        assert_string_equal(u.source, t.source);
        assert_string_equal(u.oid, t.oid);
        assert_true(u.has_community);
        assert_string_equal(u.community, t.community);
        assert_int_equal(trap_from_json("{\"source\":\"x\",\"oid\":\"1.2\"}", &u, err, sizeof(err)),
                         -EINVAL);
        assert_int_equal(trap_from_json("{\"source\":\"127.0.0.1\",\"oid\":\"1.a\"}", &u, err,
                                        sizeof(err)),
                         -EINVAL);
        assert_int_equal(trap_from_json("{\"source\":\"127.0.0.1\",\"oid\":\"1.2\",\"os_user\":\"x\"}",
                                        &u, err, sizeof(err)),
                         -EINVAL);
}

/* A trap's community against the router's (credential_equal): equal only
 * when the bytes are, whatever the lengths. */
static void test_community_equal(void **state) {
        (void) state;
        assert_true(credential_equal("public", 6, "public", 6));
        assert_false(credential_equal("public", 6, "publiC", 6));
        assert_false(credential_equal("public", 6, "publi", 5));
        assert_false(credential_equal("public", 6, "public ", 7));
        assert_false(credential_equal("", 0, "public", 6));
        assert_true(credential_equal("", 0, "", 0));
        /* Bytes, not C strings: what follows a NUL counts. */
        assert_false(credential_equal("ab\0c", 4, "ab\0d", 4));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_numeric),
                cmocka_unit_test(test_named),
                cmocka_unit_test(test_bad),
                cmocka_unit_test(test_json),
                cmocka_unit_test(test_community_equal),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
