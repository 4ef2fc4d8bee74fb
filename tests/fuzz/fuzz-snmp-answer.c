/* SPDX-License-Identifier: MIT */

/* A device's SNMP answer as fieldwatch's net-snmp callback sees it: the
 * value handling, snmp_take_answer() of probes/snmp.c, shared by the SNMPv2c
 * and v3 paths and declared in probes/snmp-internal.h.
 *
 * Input: one control byte, then a BER-encoded PDU (GetResponse, Report, or
 * anything else a device may send), decoded by net-snmp's own
 * snmp_pdu_parse() as the library does before it calls back. Control byte:
 * bits 0-5 how many OIDs were asked for (1..SNMP_OIDS_PER_GET), bit 6 set
 * asks for OIDs other than the answer's, bit 7 makes it an SNMPv3 PDU. */

#include <stdlib.h>
#include <string.h>

#include "probes/snmp-internal.h"

#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        snmp_library_init();
        return 0;
}

/* The OIDs asked for: the answer's own where they fit, else sysUpTime. */
static SnmpOidList *requested(size_t n, const netsnmp_pdu *pdu, bool own) {
        static SnmpOid oids[SNMP_OIDS_PER_GET];
        const netsnmp_variable_list *v = pdu->variables;
        SnmpOidList *l;

        for (size_t i = 0; i < n; i++, v = v ? v->next_variable : NULL) {
                bool fits = own && v && v->name_length <= SNMP_OID_LEN_MAX;

                for (size_t j = 0; fits && j < v->name_length; j++)
                        fits = v->name[j] <= UINT32_MAX;
                if (fits) {
                        oids[i].len = v->name_length;
                        for (size_t j = 0; j < v->name_length; j++)
                                oids[i].sub[j] = (uint32_t) v->name[j];
                } else
                        (void) snmp_oid_parse("1.3.6.1.2.1.1.3.0", &oids[i]);
        }
        if (snmp_oid_list_new(NULL, oids, n, &l) < 0)
                abort();
        return l;
}

static void check(const SnmpSession *s, const netsnmp_pdu *pdu) {
        const netsnmp_variable_list *v = pdu->variables;

        FUZZ_CHECK(s->ev == EV_ANSWER, "event %d after an answer", (int) s->ev);
        /* The error buffer exists once an error was written (snmp_session_error). */
        FUZZ_CHECK(!s->error || strnlen(s->error, SNMP_ERROR_MAX) < SNMP_ERROR_MAX,
                   "error not terminated");
        if (s->error && s->error[0])
                return;
        FUZZ_CHECK(pdu->command != SNMP_MSG_REPORT, "a Report taken as values");
        FUZZ_CHECK(pdu->errstat == SNMP_ERR_NOERROR, "error-status %ld taken as values",
                   pdu->errstat);
        for (size_t i = 0; i < s->n; i++, v = v->next_variable) {
                const SnmpValue *out = &s->values[i];

                FUZZ_CHECK(v, "values taken for %zu OIDs, the answer has %zu", s->n, i);
                FUZZ_CHECK(snmp_oid_list_match(s->oids, s->first + i, v->name, v->name_length),
                           "value %zu for another OID", i);
                FUZZ_CHECK(out->type >= SNMP_VALUE_NONE && out->type <= SNMP_VALUE_OTHER,
                           "value type %d", (int) out->type);
                if (out->type == SNMP_VALUE_UNSIGNED || out->type == SNMP_VALUE_TIMETICKS)
                        FUZZ_CHECK(out->unsigned_ <= UINT32_MAX, "32-bit value %lu",
                                   out->unsigned_);
        }
        FUZZ_CHECK(!v, "more values in the answer than taken");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        SnmpSession s = {};
        SnmpValue values[SNMP_OIDS_PER_GET];
        SnmpOidList *oids;
        netsnmp_pdu *pdu;
        u_char *buf;
        size_t len;

        if (size < 2)
                return 0;
        pdu = snmp_pdu_create(0);
        if (!pdu)
                return 0;
        pdu->version = data[0] & 0x80 ? SNMP_VERSION_3 : SNMP_VERSION_2c;
        len = size - 1;
        buf = malloc(len);
        if (!buf)
                abort();
        memcpy(buf, data + 1, len);
        if (snmp_pdu_parse(pdu, buf, &len) != 0) {
                snmp_free_pdu(pdu);
                free(buf);
                return 0;
        }

        s.busy = true;
        s.n = data[0] & 0x3F;
        if (s.n == 0)
                s.n = 1;
        if (s.n > SNMP_OIDS_PER_GET)
                s.n = SNMP_OIDS_PER_GET;
        oids = requested(s.n, pdu, !(data[0] & 0x40));
        s.oids = oids;
        s.values = values;
        snmp_take_answer(&s, pdu);
        check(&s, pdu);
        free(s.error);

        snmp_oid_list_unref(oids);
        snmp_free_pdu(pdu);
        free(buf);
        return 0;
}
