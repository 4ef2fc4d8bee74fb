/* SPDX-License-Identifier: MIT */
#pragma once

/* net-snmp's single-session API driven by sd-event: one session per device,
 * its socket watched by the loop, its retransmissions on a loop timer.
 * SNMPv3 engine discovery is done asynchronously too (net-snmp's own probe
 * would block in snmp_sess_open or the first send). Nothing here blocks
 * after the session is open; opening resolves no names for literal
 * addresses. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"

#define SNMP_OIDS_PER_GET 48
#define SNMP_OID_LEN_MAX 128
#define SNMP_ERROR_MAX 160

typedef struct SnmpSession SnmpSession;

typedef enum SnmpValueType {
        SNMP_VALUE_NONE,             /* no such object/instance, end of view */
        SNMP_VALUE_INTEGER,
        SNMP_VALUE_UNSIGNED,         /* Gauge32, Unsigned32, Counter32 */
        SNMP_VALUE_TIMETICKS,
        SNMP_VALUE_OTHER,            /* a string, an OID, ...: not a number */
} SnmpValueType;

typedef struct SnmpValue {
        SnmpValueType type;
        long integer;                /* INTEGER */
        unsigned long unsigned_;     /* Gauge32, Counter32, TimeTicks */
} SnmpValue;

/* An OID in numeric form. */
typedef struct SnmpOid {
        uint32_t sub[SNMP_OID_LEN_MAX];
        size_t len;
} SnmpOid;

/* Parses "1.3.6.1.2.1.1.3.0" (a leading dot allowed). */
int snmp_oid_parse(const char *s, SnmpOid *ret);

/* Builds base.suffix. */
int snmp_oid_append(const SnmpOid *base, uint32_t suffix, SnmpOid *ret);

/* Called when a GET ends. On success error is NULL and values[i] answers
 * oids[i] (in the order requested); otherwise error says why, e.g. "no
 * answer within 5s (timeout)", "authentication failed (wrong password?)". */
typedef void (*SnmpDoneFn)(void *userdata, const char *error, const SnmpValue *values, size_t n);

typedef struct SnmpTarget {
        const char *address;
        uint16_t port;
        const SnmpConf *conf;
        const char *community;       /* v2c secret */
        const char *auth_password;   /* v3 secrets */
        const char *priv_password;
        uint64_t timeout;            /* usec per try */
        unsigned retries;
} SnmpTarget;

/* Initialises net-snmp once per process: no MIB files, no persistent state,
 * no configuration files of its own. */
void snmp_library_init(void);

/* Opens a session (secrets are turned into keys and not kept). */
int snmp_session_new(sd_event *e, const SnmpTarget *t, SnmpSession **ret,
                     char err[static SNMP_ERROR_MAX]);

/* Cancels any request in flight (no callback) and closes. NULL-safe. */
SnmpSession *snmp_session_free(SnmpSession *s);

/* GETs up to SNMP_OIDS_PER_GET OIDs; done is called exactly once.
 * -EBUSY while a request is in flight. */
int snmp_session_get(SnmpSession *s, const SnmpOid *oids, size_t n, SnmpDoneFn done,
                     void *userdata);

bool snmp_session_busy(const SnmpSession *s);
