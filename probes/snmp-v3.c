/* SPDX-License-Identifier: MIT */

/* SNMPv3 through net-snmp: a single session per device (USM keys, engine
 * IDs, time windows are the library's), whose custom transport sends through
 * the engine's shared socket and "receives" the datagram the engine read for
 * it; engine discovery is ours and asynchronous (net-snmp's own probe would
 * block the loop). */

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "snmp-internal.h"
#include "timeutil.h"

#include <net-snmp/library/snmpUDPDomain.h>

/* A session's transport: sends through the engine's socket to the peer,
 * "receives" the datagram the engine read for it. net-snmp frees it as a
 * netsnmp_transport (free()), so that comes first. */
typedef struct SharedTransport {
        netsnmp_transport t;
        SnmpSession *session;
} SharedTransport;

static int transport_send(netsnmp_transport *t, const void *buf, int size, void **opaque,
                          int *olength) {
        SnmpSession *s = ((SharedTransport *) t)->session;
        int r;

        (void) opaque;
        (void) olength;
        r = snmp_engine_send(s->engine, buf, (size_t) size, &s->addr, s->addr_len);
        if (r < 0) {
                errno = -r;
                return -1;
        }
        return size;
}

static int transport_recv(netsnmp_transport *t, void *buf, int size, void **opaque,
                          int *olength) {
        SnmpEngine *eng = ((SharedTransport *) t)->session->engine;

        *opaque = NULL;
        *olength = 0;
        if (!eng->rx || size < 0 || eng->rx_len > (size_t) size) {
                errno = EAGAIN;
                return -1;
        }
        memcpy(buf, eng->rx, eng->rx_len);
        eng->rx = NULL;
        return (int) eng->rx_len;
}

static int transport_close(netsnmp_transport *t) {
        /* The socket is the engine's. */
        t->sock = -1;
        return 0;
}

static char *transport_fmtaddr(netsnmp_transport *t, const void *data, int len) {
        SnmpSession *s = ((SharedTransport *) t)->session;
        char host[NI_MAXHOST], serv[NI_MAXSERV], *ret;

        (void) data;
        (void) len;
        if (getnameinfo(&s->addr.sa, s->addr_len, host, sizeof(host), serv, sizeof(serv),
                        NI_NUMERICHOST | NI_NUMERICSERV) != 0)
                return strdup("udp:?");
        if (asprintf(&ret, "udp:[%s]:%s", host, serv) < 0)
                return NULL;
        return ret;
}

static netsnmp_transport *transport_new(SnmpSession *s, int fd) {
        SharedTransport *st = calloc(1, sizeof(*st));

        if (!st)
                return NULL;
        st->session = s;
        st->t.domain = netsnmpUDPDomain;
        st->t.domain_length = (int) netsnmpUDPDomain_len;
        st->t.sock = fd;
        st->t.msgMaxSize = 0xffff - 8 - 40;
        st->t.f_send = transport_send;
        st->t.f_recv = transport_recv;
        st->t.f_close = transport_close;
        st->t.f_fmtaddr = transport_fmtaddr;
        return &st->t;
}

/* ======================================================================== */

/* Asks net-snmp when it next wants to look at the session (a resend or a
 * timeout) and keeps the session in the engine's deadlines for then. */
static void v3_rearm(SnmpSession *s) {
        SnmpEngine *eng = s->engine;
        struct timeval tv = {};
        int n = 0, block = 1;
        uint64_t now;

        (void) snmp_sess_select_info2_flags(s->sessp, &n, &eng->fds, &tv, &block,
                                            NETSNMP_SELECT_NOALARMS);
        if (block)
                (void) prioq_remove(eng->deadlines, s, &s->deadline_idx);
        else {
                /* At least 1 µs ahead, so that the timer's loop ends. The queue
                 * has room for every session (snmp_session_new). */
                now = now_usec(CLOCK_MONOTONIC);
                (void) prioq_put(eng->deadlines, s,
                                 now + MAX((uint64_t) tv.tv_sec * USEC_PER_SEC +
                                                   (uint64_t) tv.tv_usec,
                                           (uint64_t) 1),
                                 &s->deadline_idx);
        }
        snmp_engine_arm(eng);
}

static int on_pdu(int op, netsnmp_session *session, int reqid, netsnmp_pdu *pdu, void *magic) {
        SnmpSession *s = magic;
        char d[DURATION_MAX];

        /* One request at a time: anything else is about an earlier one. Reports
         * to a request that could not be authenticated come with reqid 0. */
        if (!s->busy || (reqid != s->reqid && reqid != 0))
                return 1;
        switch (op) {
        case NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE:
                if (s->probing)
                        s->ev = EV_PROBED;
                else
                        snmp_take_answer(s, pdu);
                break;
        case NETSNMP_CALLBACK_OP_SEC_ERROR:
                /* A Report follows with the details (RECEIVED_MESSAGE). */
                s->ev = EV_FAILED;
                (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX, "SNMPv3 security error");
                break;
        case NETSNMP_CALLBACK_OP_TIMED_OUT:
                s->ev = EV_FAILED;
                (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX, "no answer within %s%s (timeout)",
                                format_duration(s->timeout, d),
                                s->retries ? " and retries" : "");
                break;
        default: {
                int e = errno;

                s->ev = EV_FAILED;
                if (e == ECONNREFUSED)
                        (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX,
                                        "port unreachable: no SNMP agent answers (ICMP)");
                else
                        (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX, "cannot exchange: %s",
                                        session->s_snmp_errno
                                                ? snmp_api_errstring(session->s_snmp_errno)
                                                : strerror(e));
                break;
        }
        }
        return 1;
}

static int send_pdu(SnmpSession *s, netsnmp_pdu *pdu) {
        int reqid;

        /* net-snmp's own ids count up from a seed: ours are random. */
        pdu->reqid = snmp_engine_reqid(s->engine);
        pdu->msgid = snmp_engine_reqid(s->engine);
        reqid = snmp_sess_async_send(s->sessp, pdu, on_pdu, s);

        if (reqid == 0) {
                snmp_free_pdu(pdu);
                return -EIO;
        }
        s->reqid = reqid;
        return 0;
}

/* The engine-discovery probe (RFC 3414 §4): an empty noAuthNoPriv GET that
 * the agent answers with a Report carrying its engine ID. */
static int send_probe(SnmpSession *s) {
        netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
        netsnmp_session *ns = snmp_sess_session(s->sessp);

        if (!pdu)
                return -ENOMEM;
        /* net-snmp clears the flag after a failed discovery of its own: set it
         * again, or the send would probe synchronously, blocking the loop. */
        ns->flags |= SNMP_FLAGS_DONT_PROBE;
        pdu->version = SNMP_VERSION_3;
        pdu->securityName = strdup("");
        pdu->securityNameLen = 0;
        pdu->securityLevel = SNMP_SEC_LEVEL_NOAUTH;
        pdu->securityModel = SNMP_SEC_MODEL_USM;
        s->probing = true;
        return send_pdu(s, pdu);
}

static int send_get(SnmpSession *s) {
        netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);
        const SnmpOidList *l = s->oids;

        if (!pdu)
                return -ENOMEM;
        for (size_t i = s->first; i < s->first + s->n; i++)
                if (!snmp_add_null_var(pdu, l->arcs + l->idx[i].off, l->idx[i].len)) {
                        snmp_free_pdu(pdu);
                        return -ENOMEM;
                }
        s->probing = false;
        return send_pdu(s, pdu);
}

/* ======================================================================== */

static int set_v3(netsnmp_session *ns, const SnmpTarget *t, char err[static SNMP_ERROR_MAX]) {
        const SnmpConf *c = t->conf;

        ns->securityName = strdup(c->user);
        if (!ns->securityName)
                return -ENOMEM;
        ns->securityNameLen = strlen(c->user);
        ns->securityLevel = SNMP_SEC_LEVEL_AUTHPRIV;
        switch (c->auth) {
        case SNMP_AUTH_MD5:
                ns->securityAuthProto = usmHMACMD5AuthProtocol;
                ns->securityAuthProtoLen = OID_LENGTH(usmHMACMD5AuthProtocol);
                break;
        case SNMP_AUTH_SHA256:
                ns->securityAuthProto = usmHMAC192SHA256AuthProtocol;
                ns->securityAuthProtoLen = OID_LENGTH(usmHMAC192SHA256AuthProtocol);
                break;
        default:
                ns->securityAuthProto = usmHMACSHA1AuthProtocol;
                ns->securityAuthProtoLen = OID_LENGTH(usmHMACSHA1AuthProtocol);
                break;
        }
        if (c->priv == SNMP_PRIV_DES) {
                ns->securityPrivProto = usmDESPrivProtocol;
                ns->securityPrivProtoLen = OID_LENGTH(usmDESPrivProtocol);
        } else {
                ns->securityPrivProto = usmAESPrivProtocol;
                ns->securityPrivProtoLen = OID_LENGTH(usmAESPrivProtocol);
        }
        ns->securityAuthKeyLen = USM_AUTH_KU_LEN;
        ns->securityPrivKeyLen = USM_PRIV_KU_LEN;
        if (generate_Ku(ns->securityAuthProto, (u_int) ns->securityAuthProtoLen,
                        (const u_char *) t->auth_password, strlen(t->auth_password),
                        ns->securityAuthKey, &ns->securityAuthKeyLen) != SNMPERR_SUCCESS ||
            generate_Ku(ns->securityAuthProto, (u_int) ns->securityAuthProtoLen,
                        (const u_char *) t->priv_password, strlen(t->priv_password),
                        ns->securityPrivKey, &ns->securityPrivKeyLen) != SNMPERR_SUCCESS) {
                (void) snprintf(err, SNMP_ERROR_MAX,
                                "cannot derive SNMPv3 keys (passwords must have 8 or more characters)");
                return -EINVAL;
        }
        if (c->context) {
                ns->contextName = strdup(c->context);
                if (!ns->contextName)
                        return -ENOMEM;
                ns->contextNameLen = strlen(c->context);
        }
        /* Discovery is ours, asynchronous (send_probe). */
        ns->flags |= SNMP_FLAGS_DONT_PROBE;
        return 0;
}

/* Opens net-snmp's session for s, sending through fd. */
int snmp_v3_open(SnmpSession *s, const SnmpTarget *t, int fd, char err[static SNMP_ERROR_MAX]) {
        netsnmp_session ns;
        netsnmp_transport *tr;
        int r;

        snmp_sess_init(&ns);
        ns.timeout = (long) t->timeout;
        ns.retries = (int) t->retries;
        ns.callback = on_pdu;
        ns.callback_magic = s;
        ns.version = SNMP_VERSION_3;
        r = set_v3(&ns, t, err);
        if (r >= 0) {
                tr = transport_new(s, fd);
                /* snmp_sess_add() owns the transport, also when it fails. */
                s->sessp = tr ? snmp_sess_add(&ns, tr, NULL, NULL) : NULL;
                if (!s->sessp) {
                        (void) snprintf(err, SNMP_ERROR_MAX,
                                        "cannot open an SNMP session to %s:%u: %s", t->address,
                                        t->port, tr ? snmp_api_errstring(snmp_errno) : "no memory");
                        r = -EIO;
                }
        }
        /* net-snmp copied what it needs; wipe our copies of the keys. */
        explicit_bzero(ns.securityAuthKey, sizeof(ns.securityAuthKey));
        explicit_bzero(ns.securityPrivKey, sizeof(ns.securityPrivKey));
        free(ns.securityName);
        free(ns.contextName);
        return r;
}

/* ======================================================================== */

void snmp_v3_close(SnmpSession *s) {
        if (s->sessp)
                (void) snmp_sess_close(s->sessp);
        s->sessp = NULL;
}

/* The GET, after the engine discovery when the device's engine is not known
 * yet. */
int snmp_v3_get(SnmpSession *s) {
        int r;

        r = s->discovered ? send_get(s) : send_probe(s);
        if (r < 0)
                return r;
        v3_rearm(s);
        return 0;
}

/* The discovery probe was answered: the user is set up for the device's
 * engine, and the GET goes out. */
void snmp_v3_discovered(SnmpSession *s) {
        netsnmp_session *ns = snmp_sess_session(s->sessp);

        if (!ns || ns->securityEngineIDLen == 0) {
                snmp_session_finish(s, "SNMPv3 engine discovery failed "
                                       "(no engine ID in the answer)");
                return;
        }
        if (create_user_from_session(ns) != SNMPERR_SUCCESS) {
                snmp_session_finish(s, "SNMPv3: cannot set up the user for this engine");
                return;
        }
        s->discovered = true;
        if (send_get(s) < 0)
                snmp_session_finish(s, "cannot send the SNMP request");
        else
                v3_rearm(s);
}

/* net-snmp's next look came: a resend, or the timeout (on_pdu). */
void snmp_v3_timeout(SnmpSession *s) {
        snmp_sess_timeout(s->sessp);
        v3_rearm(s);
        snmp_session_process(s);
}

/* Hands a datagram from key to the SNMPv3 session at that address whose
 * request it answers (net-snmp's match, in on_pdu). Whether one took it. */
bool snmp_v3_deliver(SnmpEngine *eng, const PeerKey *key, uint8_t *data, size_t len) {
        for (SnmpSession *s = snmp_peers_find(&eng->peers, key, NULL); s;
             s = snmp_peers_find(&eng->peers, key, s)) {
                if (!s->busy || !s->sessp)
                        continue;
                s->ev = EV_NONE;
                eng->rx = data;
                eng->rx_len = len;
                (void) snmp_sess_read2(s->sessp, &eng->fds);
                eng->rx = NULL;
                /* Whatever net-snmp did (a v3 resend after a time-window
                 * report, say), its next look may have moved. */
                v3_rearm(s);
                if (s->ev != EV_NONE) {
                        snmp_session_process(s);
                        return true;
                }
        }
        return false;
}
