/* SPDX-License-Identifier: MIT */
#pragma once

/* SNMP notifications, as net-snmp's snmptrapd hands them to a traphandle
 * program (`traphandle default fieldwatchctl trap`; snmptrapd.conf(5)):
 *
 *     HOSTNAME
 *     UDP: [127.0.1.5]:40000->[127.0.0.1]:162
 *     .1.3.6.1.2.1.1.3.0 0:0:00:01.00
 *     .1.3.6.1.6.3.1.1.4.1.0 .1.3.6.1.6.3.1.1.5.3
 *     ...
 *     fieldwatch-security TRAP2, SNMP v2c, community public
 *
 * OIDs numeric (outputOption n, as the shipped snippet sets) or by the
 * names of the standard MIBs; values with or without their type ("OID:",
 * "STRING:"). A trap is a hint: fieldwatchd re-probes its sender, the
 * probe decides. */

#include <stdbool.h>
#include <stddef.h>

#define TRAP_INPUT_MAX (64U * 1024U)

/* The shipped snippet's last line: snmptrapd's %P, the PDU's security
 * (the community of v1/v2c), which snmptrapd gives a handler no other way:
 *     format execute %B\n%b\n%V\n%v\nfieldwatch-security %P\n */
#define TRAP_SECURITY_LINE "fieldwatch-security "
#define TRAP_EXECUTE_FORMAT "%B\\n%b\\n%V\\n%v\\n" TRAP_SECURITY_LINE "%P\\n"

typedef enum TrapKind {
        TRAP_OTHER,
        TRAP_COLD_START,
        TRAP_WARM_START,
        TRAP_LINK_DOWN,
        TRAP_LINK_UP,
        TRAP_AUTH_FAILURE,
} TrapKind;

typedef struct Trap {
        char source[64];             /* the sender's IP address, as text */
        char oid[128];               /* snmpTrapOID.0, numeric without a leading dot */
        bool has_community;          /* v1/v2c: snmpTrapCommunity.0 */
        char community[256];
} Trap;

/* Parses snmptrapd's handler input. -EINVAL with the reason in err when it
 * has no sender address or no snmpTrapOID.0. */
int trap_parse(const char *text, size_t len, Trap *ret, char *err, size_t errlen);

TrapKind trap_kind(const char *oid);
const char *trap_kind_to_string(TrapKind k);

/* {"source": ..., "oid": ..., "community": ...}: the body of POST /v1/traps. */
char *trap_to_json(const Trap *t);
int trap_from_json(const char *json, Trap *ret, char *err, size_t errlen);
