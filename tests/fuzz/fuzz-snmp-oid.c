/* SPDX-License-Identifier: MIT */

/* snmp_oid_parse() on any string: a parsed OID prints back to the text it
 * came from (less a leading dot and leading zeros), parses again to itself,
 * and snmp_oid_append() keeps to SNMP_OID_LEN_MAX. */

#include <errno.h>
#include <inttypes.h>

#include "fuzz.h"
#include "snmp.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        return 0;
}

static void print_oid(const SnmpOid *o, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = 0;
        for (size_t i = 0; i < o->len && n < size; i++)
                n += (size_t) snprintf(buf + n, size - n, "%s%" PRIu32, i ? "." : "", o->sub[i]);
        FUZZ_CHECK(n < size, "OID longer than the buffer");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *s, text[SNMP_OID_LEN_MAX * 11 + 1];
        SnmpOid o, again, longer;
        int r;

        s = fuzz_strndup(data, size);
        memset(&o, 0x5A, sizeof(o));
        r = snmp_oid_parse(s, &o);
        FUZZ_CHECK(r == 0 || r == -EINVAL || r == -ERANGE, "unexpected return %d", r);
        if (r == 0) {
                FUZZ_CHECK(o.len >= 2 && o.len <= SNMP_OID_LEN_MAX, "length %zu", o.len);
                print_oid(&o, text, sizeof(text));
                r = snmp_oid_parse(text, &again);
                FUZZ_CHECK(r == 0 && again.len == o.len &&
                                   memcmp(again.sub, o.sub, o.len * sizeof(o.sub[0])) == 0,
                           "'%s' printed as '%s' does not parse back", s, text);
                r = snmp_oid_append(&o, UINT32_MAX, &longer);
                if (o.len < SNMP_OID_LEN_MAX)
                        FUZZ_CHECK(r == 0 && longer.len == o.len + 1 &&
                                           longer.sub[o.len] == UINT32_MAX,
                                   "append to %zu arcs", o.len);
                else
                        FUZZ_CHECK(r == -ERANGE, "append beyond %d arcs: %d", SNMP_OID_LEN_MAX, r);
        }
        free(s);
        return 0;
}
