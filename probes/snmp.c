/* SPDX-License-Identifier: MIT */

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "macro.h"
#include "snmp.h"
#include "timeutil.h"

typedef enum SnmpEvent {
        EV_NONE,
        EV_PROBED,                   /* the engine-discovery probe was answered */
        EV_ANSWER,                   /* the GET was answered (values or error below) */
        EV_FAILED,                   /* timed out or could not be sent */
} SnmpEvent;

struct SnmpSession {
        sd_event *event;
        void *sessp;
        sd_event_source *io, *timer;
        bool v3, discovered;
        uint64_t timeout;
        unsigned retries;
        char peer[80];

        /* The request in flight. */
        bool busy, probing;
        long reqid;                  /* of the PDU in flight: older answers are ignored */
        SnmpOid oids[SNMP_OIDS_PER_GET];
        size_t n;
        SnmpDoneFn done;
        void *userdata;

        /* What the net-snmp callback saw, handled once the library returns. */
        SnmpEvent ev;
        SnmpValue values[SNMP_OIDS_PER_GET];
        char error[SNMP_ERROR_MAX];
};

void snmp_library_init(void) {
        static bool done;

        if (done)
                return;
        done = true;
        /* No MIB files (numeric OIDs only), no files of net-snmp's own. */
        (void) setenv("MIBS", "", 1);
        (void) setenv("MIBDIRS", "/nonexistent", 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_QUICK_PRINT, 1);
        init_snmp("fieldwatch");
}

/* ======================================================================== */

int snmp_oid_parse(const char *s, SnmpOid *ret) {
        SnmpOid o = {};

        if (*s == '.')
                s++;
        while (*s) {
                unsigned long long v = 0;
                const char *start = s;

                while (*s >= '0' && *s <= '9') {
                        v = v * 10 + (unsigned) (*s++ - '0');
                        if (v > UINT32_MAX)
                                return -ERANGE;
                }
                if (s == start || o.len >= SNMP_OID_LEN_MAX)
                        return -EINVAL;
                o.sub[o.len++] = (uint32_t) v;
                if (*s == '.' && s[1])
                        s++;
                else if (*s)
                        return -EINVAL;
        }
        if (o.len < 2)
                return -EINVAL;
        *ret = o;
        return 0;
}

int snmp_oid_append(const SnmpOid *base, uint32_t suffix, SnmpOid *ret) {
        if (base->len >= SNMP_OID_LEN_MAX)
                return -ERANGE;
        *ret = *base;
        ret->sub[ret->len++] = suffix;
        return 0;
}

static bool oid_equal(const SnmpOid *a, const oid *b, size_t len) {
        if (a->len != len)
                return false;
        for (size_t i = 0; i < len; i++)
                if (a->sub[i] != b[i])
                        return false;
        return true;
}

/* ======================================================================== */

static void session_rearm(SnmpSession *s) {
        netsnmp_large_fd_set fds;
        struct timeval tv = {};
        int n = 0, block = 1;

        if (!s->sessp)
                return;
        netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
        (void) snmp_sess_select_info2(s->sessp, &n, &fds, &tv, &block);
        netsnmp_large_fd_set_cleanup(&fds);
        if (block) {
                (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
                return;
        }
        (void) sd_event_source_set_time_relative(s->timer, (uint64_t) tv.tv_sec * USEC_PER_SEC +
                                                                   (uint64_t) tv.tv_usec);
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

static void report_error(netsnmp_pdu *pdu, char err[static SNMP_ERROR_MAX]) {
        int t = snmpv3_get_report_type(pdu);

        switch (t) {
        case SNMPERR_AUTHENTICATION_FAILURE:
                (void) snprintf(err, SNMP_ERROR_MAX,
                                "SNMPv3 authentication failed (wrong auth password or protocol?)");
                break;
        case SNMPERR_UNKNOWN_USER_NAME:
                (void) snprintf(err, SNMP_ERROR_MAX, "SNMPv3 user unknown to the device");
                break;
        case SNMPERR_DECRYPTION_ERR:
                (void) snprintf(err, SNMP_ERROR_MAX,
                                "SNMPv3 decryption failed (wrong priv password or protocol?)");
                break;
        case SNMPERR_UNSUPPORTED_SEC_LEVEL:
                (void) snprintf(err, SNMP_ERROR_MAX, "SNMPv3 security level not supported");
                break;
        default:
                (void) snprintf(err, SNMP_ERROR_MAX, "SNMP report: %s", snmp_api_errstring(t));
                break;
        }
}

/* Copies the answer out: the library frees the PDU after the callback. */
static void take_answer(SnmpSession *s, netsnmp_pdu *pdu) {
        netsnmp_variable_list *v = pdu->variables;

        s->ev = EV_ANSWER;
        s->error[0] = 0;
        if (pdu->command == SNMP_MSG_REPORT) {
                report_error(pdu, s->error);
                return;
        }
        if (pdu->errstat != SNMP_ERR_NOERROR) {
                (void) snprintf(s->error, sizeof(s->error), "SNMP error: %s (index %ld)",
                                snmp_errstring(pdu->errstat), pdu->errindex);
                return;
        }
        for (size_t i = 0; i < s->n; i++, v = v ? v->next_variable : NULL) {
                SnmpValue *out = &s->values[i];

                if (!v) {
                        (void) snprintf(s->error, sizeof(s->error),
                                        "answer with %zu values for %zu requested", i, s->n);
                        return;
                }
                if (!oid_equal(&s->oids[i], v->name, v->name_length)) {
                        (void) snprintf(s->error, sizeof(s->error),
                                        "answer for another OID than requested");
                        return;
                }
                *out = (SnmpValue) { .type = SNMP_VALUE_OTHER };
                switch (v->type) {
                case ASN_INTEGER:
                        out->type = SNMP_VALUE_INTEGER;
                        out->integer = *v->val.integer;
                        break;
                case ASN_GAUGE:
                case ASN_COUNTER:
                        out->type = SNMP_VALUE_UNSIGNED;
                        out->unsigned_ = (unsigned long) *v->val.integer & 0xffffffffUL;
                        break;
                case ASN_TIMETICKS:
                        out->type = SNMP_VALUE_TIMETICKS;
                        out->unsigned_ = (unsigned long) *v->val.integer & 0xffffffffUL;
                        break;
                case SNMP_NOSUCHOBJECT:
                case SNMP_NOSUCHINSTANCE:
                case SNMP_ENDOFMIBVIEW:
                        out->type = SNMP_VALUE_NONE;
                        break;
                default:
                        break;
                }
        }
        if (v) {
                (void) snprintf(s->error, sizeof(s->error), "answer with more values than requested");
                return;
        }
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
                        take_answer(s, pdu);
                break;
        case NETSNMP_CALLBACK_OP_SEC_ERROR:
                /* A Report follows with the details (RECEIVED_MESSAGE). */
                s->ev = EV_FAILED;
                (void) snprintf(s->error, sizeof(s->error), "SNMPv3 security error");
                break;
        case NETSNMP_CALLBACK_OP_TIMED_OUT:
                s->ev = EV_FAILED;
                (void) snprintf(s->error, sizeof(s->error), "no answer within %s%s (timeout)",
                                format_duration(s->timeout, d),
                                s->retries ? " and retries" : "");
                break;
        default: {
                int e = errno;

                s->ev = EV_FAILED;
                if (e == ECONNREFUSED)
                        (void) snprintf(s->error, sizeof(s->error),
                                        "port unreachable: no SNMP agent answers (ICMP)");
                else
                        (void) snprintf(s->error, sizeof(s->error), "cannot exchange: %s",
                                        session->s_snmp_errno
                                                ? snmp_api_errstring(session->s_snmp_errno)
                                                : strerror(e));
                break;
        }
        }
        return 1;
}

static int send_pdu(SnmpSession *s, netsnmp_pdu *pdu) {
        int reqid = snmp_sess_async_send(s->sessp, pdu, on_pdu, s);

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
        oid o[SNMP_OID_LEN_MAX];

        if (!pdu)
                return -ENOMEM;
        for (size_t i = 0; i < s->n; i++) {
                for (size_t j = 0; j < s->oids[i].len; j++)
                        o[j] = s->oids[i].sub[j];
                if (!snmp_add_null_var(pdu, o, s->oids[i].len)) {
                        snmp_free_pdu(pdu);
                        return -ENOMEM;
                }
        }
        s->probing = false;
        return send_pdu(s, pdu);
}

static void finish(SnmpSession *s, const char *error) {
        SnmpDoneFn done = s->done;

        s->busy = false;
        s->done = NULL;
        done(s->userdata, error, error ? NULL : s->values, s->n);
}

/* Acts on what the callback recorded, outside the library's call stack. */
static void session_process(SnmpSession *s) {
        SnmpEvent ev = s->ev;
        netsnmp_session *ns;

        s->ev = EV_NONE;
        if (!s->busy)
                return;
        switch (ev) {
        case EV_PROBED:
                ns = snmp_sess_session(s->sessp);
                if (!ns || ns->securityEngineIDLen == 0) {
                        finish(s, "SNMPv3 engine discovery failed (no engine ID in the answer)");
                        return;
                }
                if (create_user_from_session(ns) != SNMPERR_SUCCESS) {
                        finish(s, "SNMPv3: cannot set up the user for this engine");
                        return;
                }
                s->discovered = true;
                if (send_get(s) < 0)
                        finish(s, "cannot send the SNMP request");
                break;
        case EV_ANSWER:
                finish(s, s->error[0] ? s->error : NULL);
                break;
        case EV_FAILED:
                if (s->probing)
                        s->discovered = false;
                finish(s, s->error);
                break;
        case EV_NONE:
                break;
        }
}

static int on_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        SnmpSession *s = userdata;
        netsnmp_large_fd_set fds;

        (void) src;
        (void) revents;
        netsnmp_large_fd_set_init(&fds, FD_SETSIZE);
        NETSNMP_LARGE_FD_SET(fd, &fds);
        (void) snmp_sess_read2(s->sessp, &fds);
        netsnmp_large_fd_set_cleanup(&fds);
        session_process(s);
        session_rearm(s);
        return 0;
}

static int on_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        SnmpSession *s = userdata;

        (void) src;
        (void) usec;
        snmp_sess_timeout(s->sessp);
        session_process(s);
        session_rearm(s);
        return 0;
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

int snmp_session_new(sd_event *e, const SnmpTarget *t, SnmpSession **ret,
                     char err[static SNMP_ERROR_MAX]) {
        netsnmp_session ns;
        netsnmp_transport *tr;
        SnmpSession *s;
        int r;

        snmp_library_init();
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->event = sd_event_ref(e);
        s->v3 = t->conf->version == SNMP_VERSION_V3;
        s->timeout = t->timeout;
        s->retries = t->retries;
        (void) snprintf(s->peer, sizeof(s->peer), strchr(t->address, ':') ? "udp6:[%s]:%u"
                                                                          : "udp:%s:%u",
                        t->address, t->port);

        snmp_sess_init(&ns);
        ns.peername = s->peer;
        ns.timeout = (long) t->timeout;
        ns.retries = (int) t->retries;
        ns.callback = on_pdu;
        ns.callback_magic = s;
        if (s->v3) {
                ns.version = SNMP_VERSION_3;
                r = set_v3(&ns, t, err);
        } else {
                ns.version = SNMP_VERSION_2c;
                ns.community = (u_char *) strdup(t->community ?: "");
                ns.community_len = strlen(t->community ?: "");
                r = ns.community ? 0 : -ENOMEM;
        }
        if (r >= 0) {
                s->sessp = snmp_sess_open(&ns);
                if (!s->sessp) {
                        (void) snprintf(err, SNMP_ERROR_MAX, "cannot open an SNMP session to %s: %s",
                                        s->peer, snmp_api_errstring(snmp_errno));
                        r = -EIO;
                }
        }
        /* snmp_sess_open() copied what it needs; wipe our copies of keys and secrets. */
        explicit_bzero(ns.securityAuthKey, sizeof(ns.securityAuthKey));
        explicit_bzero(ns.securityPrivKey, sizeof(ns.securityPrivKey));
        if (ns.community) {
                explicit_bzero(ns.community, ns.community_len);
                free(ns.community);
        }
        free(ns.securityName);
        free(ns.contextName);
        if (r < 0) {
                snmp_session_free(s);
                return r;
        }

        tr = snmp_sess_transport(s->sessp);
        r = tr ? sd_event_add_io(e, &s->io, tr->sock, EPOLLIN, on_io, s) : -EBADF;
        if (r >= 0)
                r = sd_event_add_time_relative(e, &s->timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
                                               USEC_PER_MSEC, on_timer, s);
        if (r < 0) {
                (void) snprintf(err, SNMP_ERROR_MAX, "cannot watch the SNMP socket: %s",
                                strerror(-r));
                snmp_session_free(s);
                return r;
        }
        (void) sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
        *ret = s;
        return 0;
}

SnmpSession *snmp_session_free(SnmpSession *s) {
        if (!s)
                return NULL;
        (void) sd_event_source_disable_unref(s->io);
        (void) sd_event_source_disable_unref(s->timer);
        if (s->sessp)
                (void) snmp_sess_close(s->sessp);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int snmp_session_get(SnmpSession *s, const SnmpOid *oids, size_t n, SnmpDoneFn done,
                     void *userdata) {
        int r;

        if (s->busy)
                return -EBUSY;
        if (n == 0 || n > SNMP_OIDS_PER_GET)
                return -EINVAL;
        memcpy(s->oids, oids, n * sizeof(SnmpOid));
        s->n = n;
        s->done = done;
        s->userdata = userdata;
        s->ev = EV_NONE;
        s->busy = true;
        r = s->v3 && !s->discovered ? send_probe(s) : send_get(s);
        if (r < 0) {
                s->busy = false;
                return r;
        }
        session_rearm(s);
        return 0;
}

bool snmp_session_busy(const SnmpSession *s) {
        return s->busy;
}
