/* SPDX-License-Identifier: MIT */
#pragma once

/* SNMP GETs driven by sd-event. An engine (SnmpEngine, one per event loop,
 * made by the program and handed to every session) holds what all devices
 * share: one UDP socket per address family, watched by a single io source,
 * and one timer; the devices waiting for an answer sit in a priority queue
 * ordered by deadline, an answer goes to the device at the address it comes
 * from that waits for its request id. Nothing here scans all devices.
 *
 * SNMPv2c is spoken here: the GET is encoded into a buffer of the shared
 * socket's, the answer decoded by net-snmp's snmp_pdu_parse(); a device costs
 * a few hundred bytes. SNMPv3 (USM keys, engine IDs, time windows) goes
 * through a net-snmp single session per device whose transport sends and
 * receives through the shared socket; its engine discovery is asynchronous
 * too (net-snmp's own probe would block). Nothing here blocks after the
 * session is open; opening resolves no names for literal addresses. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"

#define SNMP_OIDS_PER_GET 48
#define SNMP_OID_LEN_MAX 128
#define SNMP_ERROR_MAX 160

typedef struct SnmpEngine SnmpEngine;
typedef struct SnmpSession SnmpSession;

typedef enum SnmpValueType {
        SNMP_VALUE_NONE,             /* no such object/instance, end of view */
        SNMP_VALUE_INTEGER,
        SNMP_VALUE_UNSIGNED,         /* Gauge32, Unsigned32, Counter32 */
        SNMP_VALUE_TIMETICKS,
        SNMP_VALUE_STRING,           /* OCTET STRING */
        SNMP_VALUE_OTHER,            /* an OID, an address, ...: not a number */
} SnmpValueType;

#define SNMP_TEXT_MAX 24

typedef struct SnmpValue {
        SnmpValueType type;
        long integer;                /* INTEGER */
        unsigned long unsigned_;     /* Gauge32, Counter32, TimeTicks; strings: snmp_text_hash() */
        char text[SNMP_TEXT_MAX];    /* strings: the start, clean, for messages */
} SnmpValue;

/* The FNV-1a hash of a string's n bytes: a string answer compares by it. */
uint64_t snmp_text_hash(const void *s, size_t n);

/* An OID in numeric form. */
typedef struct SnmpOid {
        uint32_t sub[SNMP_OID_LEN_MAX];
        size_t len;
} SnmpOid;

/* Parses "1.3.6.1.2.1.1.3.0" (a leading dot allowed). */
int snmp_oid_parse(const char *s, SnmpOid *ret);

/* Builds base.suffix. */
int snmp_oid_append(const SnmpOid *base, uint32_t suffix, SnmpOid *ret);

/* An immutable list of OIDs, packed into one allocation and shared: a list
 * equal to the one the engine made last is that one, referenced again (the
 * routers of a field all ask for the same OIDs). */
typedef struct SnmpOidList SnmpOidList;

/* Makes the list of oids[0..n), or shares eng's last one when equal; eng
 * NULL shares nothing. */
int snmp_oid_list_new(SnmpEngine *eng, const SnmpOid *oids, size_t n, SnmpOidList **ret);

/* Drops a reference. NULL-safe. */
SnmpOidList *snmp_oid_list_unref(SnmpOidList *l);

/* How many OIDs the list holds. */
size_t snmp_oid_list_size(const SnmpOidList *l);

/* Called when a GET ends. On success error is NULL and values[i] answers
 * the i-th OID asked for; otherwise error says why, e.g. "no answer within
 * 5s (timeout)", "authentication failed (wrong password?)". values is the
 * caller's array given to snmp_session_get(). */
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
        const char *source_address;  /* an IP literal to send from; NULL: any. The
                                      * first session's decides (one socket per family) */
} SnmpTarget;

/* Initialises net-snmp once per process: no MIB files, no persistent state,
 * no configuration files of its own. */
void snmp_library_init(void);

/* The sessions' shared sockets, timer and deadlines on loop e. The sockets
 * are opened when a session first needs one. */
int snmp_engine_new(sd_event *e, SnmpEngine **ret);

/* Drops the caller's reference: the engine goes with its last session.
 * NULL-safe. */
SnmpEngine *snmp_engine_unref(SnmpEngine *eng);
DEFINE_TRIVIAL_CLEANUP_FUNC(SnmpEngine *, snmp_engine_unref);

/* Between snmp_engine_cork() and its snmp_engine_uncork(), the requests the
 * sessions send are queued and go out together at the uncork, with one
 * system call (a slot of probes starting). Nestable. */
void snmp_engine_cork(SnmpEngine *eng);
void snmp_engine_uncork(SnmpEngine *eng);

/* Opens a session on eng, which it references (secrets are turned into keys
 * and not kept). */
int snmp_session_new(SnmpEngine *eng, const SnmpTarget *t, SnmpSession **ret,
                     char err[static SNMP_ERROR_MAX]);

/* Cancels any request in flight (no callback) and closes. NULL-safe. */
SnmpSession *snmp_session_free(SnmpSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(SnmpSession *, snmp_session_free);

/* Whether community is the session's (SNMPv2c; false for v3), by
 * credential_equal(): a trap's is checked against it. */
bool snmp_session_community_is(const SnmpSession *s, const char *community);

/* GETs the OIDs [first, first + n) of the list, n at most
 * SNMP_OIDS_PER_GET, into values[0..n); done is called exactly once. The
 * list and values must stay until then. -EBUSY while a request is in
 * flight. */
int snmp_session_get(SnmpSession *s, const SnmpOidList *oids, size_t first, size_t n,
                     SnmpValue *values, SnmpDoneFn done, void *userdata);

bool snmp_session_busy(const SnmpSession *s);
