/* SPDX-License-Identifier: MIT */

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "macro.h"
#include "trap.h"

#define OID_TRAP "1.3.6.1.6.3.1.1.4.1.0"
#define OID_COMMUNITY "1.3.6.1.6.3.18.1.4.0"

/* Names snmptrapd prints when the MIBs are loaded (Debian ships few), and
 * the prefixes it prints without them. */
static const struct {
        const char *name, *oid;
} names[] = {
        { "SNMPv2-MIB::snmpTrapOID.0", OID_TRAP },
        { "SNMP-COMMUNITY-MIB::snmpTrapCommunity.0", OID_COMMUNITY },
        { "SNMPv2-MIB::coldStart", "1.3.6.1.6.3.1.1.5.1" },
        { "SNMPv2-MIB::warmStart", "1.3.6.1.6.3.1.1.5.2" },
        { "IF-MIB::linkDown", "1.3.6.1.6.3.1.1.5.3" },
        { "IF-MIB::linkUp", "1.3.6.1.6.3.1.1.5.4" },
        { "SNMPv2-MIB::authenticationFailure", "1.3.6.1.6.3.1.1.5.5" },
}, prefixes[] = {
        { "SNMPv2-SMI::snmpModules.", "1.3.6.1.6.3." },
        { "SNMPv2-SMI::mib-2.", "1.3.6.1.2.1." },
        { "SNMPv2-SMI::enterprises.", "1.3.6.1.4.1." },
        { "SNMPv2-SMI::internet.", "1.3.6.1." },
        { "iso.", "1." },
        { ".", "" },
};

/* The numeric form of an OID as snmptrapd printed it, or "" when unknown. */
static void oid_normalize(const char *s, size_t n, char *buf, size_t size) {
        buf[0] = 0;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strlen(names[i].name) == n && strncmp(s, names[i].name, n) == 0) {
                        (void) snprintf(buf, size, "%s", names[i].oid);
                        return;
                }
        for (size_t i = 0; i < ELEMENTSOF(prefixes); i++) {
                size_t p = strlen(prefixes[i].name);

                if (n > p && strncmp(s, prefixes[i].name, p) == 0) {
                        (void) snprintf(buf, size, "%s%.*s", prefixes[i].oid, (int) (n - p),
                                        s + p);
                        break;
                }
        }
        if (!buf[0])
                (void) snprintf(buf, size, "%.*s", (int) n, s);
        /* Digits and dots only: anything else is a name we do not know. */
        for (const char *p = buf; *p; p++)
                if (!(*p == '.' || (*p >= '0' && *p <= '9'))) {
                        buf[0] = 0;
                        return;
                }
}

/* A value without its type ("OID: ", "STRING: ") and quotes. */
static void value_text(const char *s, size_t n, char *buf, size_t size) {
        static const char *const types[] = { "OID: ", "STRING: ", "Hex-STRING: ", "INTEGER: " };
        size_t o = 0;

        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (n >= strlen(types[i]) && strncmp(s, types[i], strlen(types[i])) == 0) {
                        s += strlen(types[i]);
                        n -= strlen(types[i]);
                        break;
                }
        if (n >= 2 && s[0] == '"' && s[n - 1] == '"') {
                s++;
                n -= 2;
        }
        for (size_t i = 0; i < n && o + 1 < size; i++) {
                if (s[i] == '\\' && i + 1 < n)
                        i++;
                buf[o++] = s[i];
        }
        buf[o] = 0;
}

/* "UDP: [127.0.1.5]:40000->[127.0.0.1]:162", also inside "[...]". */
static bool address_of(const char *line, size_t n, char *buf, size_t size) {
        unsigned char addr[16];
        const char *b = memmem(line, n, ": [", 3), *e;

        if (!b)
                return false;
        b += 3;
        e = memchr(b, ']', (size_t) (line + n - b));
        if (!e || (size_t) (e - b) >= size)
                return false;
        (void) snprintf(buf, size, "%.*s", (int) (e - b), b);
        return inet_pton(AF_INET, buf, addr) == 1 || inet_pton(AF_INET6, buf, addr) == 1;
}

int trap_parse(const char *text, size_t len, Trap *ret, char *err, size_t errlen) {
        Trap t = {};
        size_t line = 0;

        if (len > TRAP_INPUT_MAX) {
                (void) snprintf(err, errlen, "more than %u bytes", TRAP_INPUT_MAX);
                return -EINVAL;
        }
        for (const char *p = text, *end = text + len; p < end; line++) {
                const char *nl = memchr(p, '\n', (size_t) (end - p)), *sp;
                size_t n = (size_t) ((nl ?: end) - p);
                char oid[128], value[256];

                if (n > 0 && p[n - 1] == '\r')
                        n--;
                if (line == 1 && !address_of(p, n, t.source, sizeof(t.source))) {
                        (void) snprintf(err, errlen, "line 2: no sender address (expected "
                                                     "'UDP: [ADDRESS]:PORT->...')");
                        return -EINVAL;
                }
                sp = line >= 2 ? memchr(p, ' ', n) : NULL;
                if (line >= 2 && n > strlen(TRAP_SECURITY_LINE) &&
                    strncmp(p, TRAP_SECURITY_LINE, strlen(TRAP_SECURITY_LINE)) == 0) {
                        /* %P: "TRAP2, SNMP v2c, community NAME" (v3: "..., user NAME"). */
                        const char *c = memmem(p, n, ", community ", 12);

                        if (c) {
                                c += 12;
                                t.has_community = true;
                                (void) snprintf(t.community, sizeof(t.community), "%.*s",
                                                (int) (p + n - c), c);
                        }
                } else if (sp) {
                        oid_normalize(p, (size_t) (sp - p), oid, sizeof(oid));
                        value_text(sp + 1, (size_t) (p + n - sp - 1), value, sizeof(value));
                        if (streq(oid, OID_TRAP)) {
                                char v[128];

                                oid_normalize(value, strlen(value), v, sizeof(v));
                                (void) snprintf(t.oid, sizeof(t.oid), "%s", v);
                        } else if (streq(oid, OID_COMMUNITY)) {
                                t.has_community = true;
                                (void) snprintf(t.community, sizeof(t.community), "%s", value);
                        }
                }
                p = nl ? nl + 1 : end;
        }
        if (line < 2 || !t.source[0]) {
                (void) snprintf(err, errlen, "no sender address (line 2)");
                return -EINVAL;
        }
        if (!t.oid[0]) {
                (void) snprintf(err, errlen, "no snmpTrapOID.0 (or not an OID)");
                return -EINVAL;
        }
        *ret = t;
        return 0;
}

TrapKind trap_kind(const char *oid) {
        static const char *const kinds[] = {
                [TRAP_COLD_START] = "1.3.6.1.6.3.1.1.5.1",
                [TRAP_WARM_START] = "1.3.6.1.6.3.1.1.5.2",
                [TRAP_LINK_DOWN] = "1.3.6.1.6.3.1.1.5.3",
                [TRAP_LINK_UP] = "1.3.6.1.6.3.1.1.5.4",
                [TRAP_AUTH_FAILURE] = "1.3.6.1.6.3.1.1.5.5",
        };

        for (size_t k = 1; k < ELEMENTSOF(kinds); k++)
                if (streq(oid, kinds[k]))
                        return (TrapKind) k;
        return TRAP_OTHER;
}

const char *trap_kind_to_string(TrapKind k) {
        static const char *const s[] = {
                [TRAP_OTHER] = "trap",
                [TRAP_COLD_START] = "coldStart",
                [TRAP_WARM_START] = "warmStart",
                [TRAP_LINK_DOWN] = "linkDown",
                [TRAP_LINK_UP] = "linkUp",
                [TRAP_AUTH_FAILURE] = "authenticationFailure",
        };
        return k <= TRAP_AUTH_FAILURE ? s[k] : "trap";
}

char *trap_to_json(const Trap *t) {
        json_t *o = json_pack("{s:s, s:s}", "source", t->source, "oid", t->oid);
        char *s;

        /* A community that is not UTF-8 is sent as such a string could not be:
         * refused here, so it is never cut into another one. */
        if (o && t->has_community &&
            json_object_set_new(o, "community", json_string(t->community)) < 0) {
                json_decref(o);
                return NULL;
        }
        s = o ? json_dumps(o, JSON_COMPACT) : NULL;
        json_decref(o);
        return s;
}

int trap_from_json(const char *json, Trap *ret, char *err, size_t errlen) {
        const char *source, *oid, *community = NULL;
        unsigned char addr[16];
        json_error_t jerr;
        Trap t = {};
        json_t *o;

        o = json_loads(json, JSON_REJECT_DUPLICATES, &jerr);
        if (!o || json_unpack_ex(o, &jerr, JSON_STRICT, "{s:s, s:s, s?s}", "source", &source,
                                 "oid", &oid, "community", &community) < 0) {
                (void) snprintf(err, errlen, "not a trap: %s", jerr.text);
                json_decref(o);
                return -EINVAL;
        }
        if (strlen(source) >= sizeof(t.source) || strlen(oid) >= sizeof(t.oid) ||
            (community && strlen(community) >= sizeof(t.community)) ||
            (inet_pton(AF_INET, source, addr) != 1 && inet_pton(AF_INET6, source, addr) != 1) ||
            strspn(oid, "0123456789.") != strlen(oid) || !oid[0]) {
                (void) snprintf(err, errlen, "not a trap: a bad source address or OID");
                json_decref(o);
                return -EINVAL;
        }
        (void) snprintf(t.source, sizeof(t.source), "%s", source);
        (void) snprintf(t.oid, sizeof(t.oid), "%s", oid);
        if (community) {
                t.has_community = true;
                (void) snprintf(t.community, sizeof(t.community), "%s", community);
        }
        json_decref(o);
        *ret = t;
        return 0;
}
