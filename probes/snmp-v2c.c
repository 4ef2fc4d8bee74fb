/* SPDX-License-Identifier: MIT */

/* SNMPv2c spoken directly, without a net-snmp session: the GetRequest is
 * encoded by hand (BER, back to front) into the engine's buffer and sent
 * through the engine's socket; the answer is parsed by net-snmp's
 * snmp_pdu_parse() and handed to the session at its address waiting for its
 * request id. A device costs a few hundred bytes, and 10,000 share one
 * socket (bench/RESULTS.md). */

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "snmp-internal.h"
#include "timeutil.h"

/* A BER writer that fills a buffer from its end: a length is known once
 * what it covers is written. */
typedef struct BerWriter {
        uint8_t *start, *p;
} BerWriter;

static bool ber_put(BerWriter *w, const void *b, size_t n) {
        if ((size_t) (w->p - w->start) < n)
                return false;
        w->p -= n;
        memcpy(w->p, b, n);
        return true;
}

/* Puts the tag and the length of what lies between w->p and end. */
static bool ber_header(BerWriter *w, uint8_t tag, const uint8_t *end) {
        size_t len = (size_t) (end - w->p), n = 0;
        uint8_t h[2 + sizeof(uint32_t)];

        if (len > UINT32_MAX)
                return false;
        if (len < 0x80)
                h[sizeof(h) - ++n] = (uint8_t) len;
        else {
                for (size_t l = len; l; l >>= 8)
                        h[sizeof(h) - ++n] = (uint8_t) l;
                h[sizeof(h) - n - 1] = (uint8_t) (0x80 | n);
                n++;
        }
        h[sizeof(h) - ++n] = tag;
        return ber_put(w, h + sizeof(h) - n, n);
}

static bool ber_uint(BerWriter *w, uint32_t v) {
        uint8_t *end = w->p, b[1 + sizeof(v)];
        size_t n = 0;

        do
                b[sizeof(b) - ++n] = (uint8_t) v;
        while ((v >>= 8));
        if (b[sizeof(b) - n] & 0x80)
                b[sizeof(b) - ++n] = 0;
        return ber_put(w, b + sizeof(b) - n, n) && ber_header(w, ASN_INTEGER, end);
}

/* An OBJECT IDENTIFIER: the first two arcs in one subidentifier, each in
 * base 128, most significant first. */
static bool ber_oid(BerWriter *w, const oid *arcs, size_t len) {
        uint8_t *end = w->p;

        if (len < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] >= 40))
                return false;
        for (size_t i = len; i-- > 1;) {
                unsigned long v = i == 1 ? arcs[0] * 40 + arcs[1] : arcs[i];
                uint8_t b[10];
                size_t n = 0;

                do {
                        b[sizeof(b) - 1 - n] = (uint8_t) ((v & 0x7f) | (n > 0 ? 0x80 : 0));
                        n++;
                } while ((v >>= 7));
                if (!ber_put(w, b + sizeof(b) - n, n))
                        return false;
        }
        return ber_header(w, ASN_OBJECT_ID, end);
}

/* Encodes the GetRequest for s's OIDs into the engine's buffer. */
static int v2c_encode(SnmpSession *s, const uint8_t **ret, size_t *ret_len) {
        static const uint8_t null_value[] = { ASN_NULL, 0 };
        SnmpEngine *eng = s->engine;
        const SnmpOidList *l = s->oids;
        uint8_t *end = eng->txbuf + SNMP_TX_MAX, *c_end;
        BerWriter w = { eng->txbuf, end };

        for (size_t i = s->first + s->n; i-- > s->first;) {
                uint8_t *vb_end = w.p;

                if (!ber_put(&w, null_value, sizeof(null_value)) ||
                    !ber_oid(&w, l->arcs + l->idx[i].off, l->idx[i].len) ||
                    !ber_header(&w, ASN_SEQUENCE | ASN_CONSTRUCTOR, vb_end))
                        return -EINVAL;
        }
        if (!ber_header(&w, ASN_SEQUENCE | ASN_CONSTRUCTOR, end) || /* variable-bindings */
            !ber_uint(&w, 0) || !ber_uint(&w, 0) ||                 /* error-index, -status */
            !ber_uint(&w, (uint32_t) s->reqid) || !ber_header(&w, SNMP_MSG_GET, end))
                return -EINVAL;
        c_end = w.p;
        if (!ber_put(&w, s->community, s->community_len) ||
            !ber_header(&w, ASN_OCTET_STR, c_end) || !ber_uint(&w, SNMP_VERSION_2c) ||
            !ber_header(&w, ASN_SEQUENCE | ASN_CONSTRUCTOR, end))
                return -EINVAL;
        *ret = w.p;
        *ret_len = (size_t) (end - w.p);
        return 0;
}

/* Sends (or sends again) the request in flight and sets its deadline. */
static int v2c_send(SnmpSession *s) {
        SnmpEngine *eng = s->engine;
        const uint8_t *p;
        size_t n;
        int r;

        r = v2c_encode(s, &p, &n);
        if (r < 0)
                return r;
        r = snmp_engine_send(eng, p, n, &s->addr, s->addr_len);
        if (r < 0)
                return r;
        s->tries++;
        /* The queue has room for every session (snmp_session_new). */
        (void) prioq_put(eng->deadlines, s,
                         now_usec(CLOCK_MONOTONIC) + MAX(s->timeout, (uint64_t) 1),
                         &s->deadline_idx);
        snmp_engine_arm(eng);
        return 0;
}

int snmp_v2c_get(SnmpSession *s) {
        s->reqid = snmp_engine_reqid(s->engine);
        s->tries = 0;
        return v2c_send(s);
}

/* The deadline passed: send again, or give up. */
void snmp_v2c_timeout(SnmpSession *s) {
        char d[DURATION_MAX];
        int r;

        if (!s->busy)
                return;
        if (s->tries <= s->retries) {
                r = v2c_send(s);
                if (r >= 0)
                        return;
                (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX, "cannot exchange: %s", strerror(-r));
        } else
                (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX, "no answer within %s%s (timeout)",
                                format_duration(s->timeout, d), s->retries ? " and retries" : "");
        s->ev = EV_FAILED;
        snmp_session_process(s);
}

/* Parses an SNMPv1/v2c message; NULL for anything else (SNMPv3 among them). */
netsnmp_pdu *snmp_v2c_parse(uint8_t *data, size_t len) {
        u_char community[COMMUNITY_MAX_LEN];
        size_t community_len = sizeof(community);
        netsnmp_pdu *pdu;
        long version = -1;
        u_char *p;

        p = snmp_comstr_parse(data, &len, community, &community_len, &version);
        if (!p || (version != SNMP_VERSION_2c && version != SNMP_VERSION_1))
                return NULL;
        pdu = snmp_pdu_create(0);
        if (!pdu)
                return NULL;
        pdu->version = version;
        if (snmp_pdu_parse(pdu, p, &len) != 0) {
                snmp_free_pdu(pdu);
                return NULL;
        }
        return pdu;
}

/* Hands an SNMPv2c answer to the session at key waiting for its request id. */
bool snmp_v2c_deliver(SnmpEngine *eng, const PeerKey *key, netsnmp_pdu *pdu) {
        if (pdu->command != SNMP_MSG_RESPONSE && pdu->command != SNMP_MSG_REPORT)
                return false;
        for (SnmpSession *s = snmp_peers_find(&eng->peers, key, NULL); s;
             s = snmp_peers_find(&eng->peers, key, s)) {
                if (s->sessp || !s->busy || s->reqid != pdu->reqid)
                        continue;
                (void) prioq_remove(eng->deadlines, s, &s->deadline_idx);
                snmp_engine_arm(eng);
                snmp_take_answer(s, pdu);
                snmp_session_process(s);
                return true;
        }
        return false;
}

/* ======================================================================== */

/* Keeps the community, the session's only secret, for the requests. */
int snmp_v2c_open(SnmpSession *s, const SnmpTarget *t, char err[static SNMP_ERROR_MAX]) {
        s->community_len = strlen(t->community ?: "");
        s->community = strndup(t->community ?: "", s->community_len);
        if (!s->community)
                return -ENOMEM;
        if (s->community_len >= COMMUNITY_MAX_LEN) {
                (void) snprintf(err, SNMP_ERROR_MAX, "SNMP community too long");
                return -EINVAL;
        }
        return 0;
}
