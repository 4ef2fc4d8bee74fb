/* SPDX-License-Identifier: MIT */

/* The SNMP engine and its sessions: the sockets every session shares (one
 * per address family) with one io source each, the one timer over the
 * sessions' deadlines, the table of peers an answer is matched in, the OID
 * lists, and a session's request from snmp_session_get() to its done
 * callback, with the answer's values. How a request goes out and its answer
 * comes in is the protocol's: snmp-v2c.c, snmp-v3.c. */

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "credentials.h"
#include "macro.h"
#include "snmp-internal.h"
#include "text.h"
#include "timeutil.h"

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

uint64_t snmp_text_hash(const void *s, size_t n) {
        const unsigned char *p = s;
        uint64_t h = UINT64_C(14695981039346656037);

        for (size_t i = 0; i < n; i++) {
                h ^= p[i];
                h *= UINT64_C(1099511628211);
        }
        return h;
}

/* A string answer's start for messages: clean text (text.h; a router's
 * sysName or sysDescr is the device's to choose), "..." when it was longer. */
static void snmp_value_text(SnmpValue *out, const u_char *s, size_t len) {
        size_t n;

        if (len < SNMP_TEXT_MAX) {
                (void) text_clean(out->text, sizeof(out->text), (const char *) s, len);
                return;
        }
        n = text_clean(out->text, sizeof(out->text) - 3, (const char *) s, len);
        memcpy(out->text + n, "...", 4);
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

/* ======================================================================== */

static bool oid_list_equal(const SnmpOidList *l, const SnmpOid *oids, size_t n) {
        if (l->n != n)
                return false;
        for (size_t i = 0; i < n; i++) {
                const oid *a = l->arcs + l->idx[i].off;

                if (l->idx[i].len != oids[i].len)
                        return false;
                for (size_t j = 0; j < oids[i].len; j++)
                        if (a[j] != oids[i].sub[j])
                                return false;
        }
        return true;
}

/* Makes l the engine's last list (the one shared when asked again). */
static void engine_set_last(SnmpEngine *eng, SnmpOidList *l) {
        if (eng->last_oid_list)
                eng->last_oid_list->engine = NULL;
        eng->last_oid_list = l;
        l->engine = eng;
}

int snmp_oid_list_new(SnmpEngine *eng, const SnmpOid *oids, size_t n, SnmpOidList **ret) {
        SnmpOidList *l;
        size_t arcs = 0, off = 0;

        if (eng && eng->last_oid_list && oid_list_equal(eng->last_oid_list, oids, n)) {
                eng->last_oid_list->n_ref++;
                *ret = eng->last_oid_list;
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                arcs += oids[i].len;
        if (n > UINT32_MAX / 2 || arcs > UINT32_MAX / 2)
                return -E2BIG;
        /* The idx entries are 8 bytes, so the arcs after them are aligned. */
        l = calloc(1, sizeof(*l) + n * sizeof(l->idx[0]) + arcs * sizeof(oid));
        if (!l)
                return -ENOMEM;
        l->n_ref = 1;
        l->n = n;
        l->arcs = (oid *) (void *) &l->idx[n];
        for (size_t i = 0; i < n; i++) {
                l->idx[i].off = (uint32_t) off;
                l->idx[i].len = (uint32_t) oids[i].len;
                for (size_t j = 0; j < oids[i].len; j++)
                        l->arcs[off++] = oids[i].sub[j];
        }
        if (eng)
                engine_set_last(eng, l);
        *ret = l;
        return 0;
}

SnmpOidList *snmp_oid_list_unref(SnmpOidList *l) {
        if (!l || --l->n_ref > 0)
                return NULL;
        if (l->engine)
                l->engine->last_oid_list = NULL;
        free(l);
        return NULL;
}

size_t snmp_oid_list_size(const SnmpOidList *l) {
        return l->n;
}

bool snmp_oid_list_match(const SnmpOidList *l, size_t i, const oid *b, size_t len) {
        return l->idx[i].len == len &&
               memcmp(l->arcs + l->idx[i].off, b, len * sizeof(oid)) == 0;
}

/* ======================================================================== */

static int peer_key(const struct sockaddr *sa, socklen_t len, PeerKey *ret) {
        PeerKey k = { .family = sa->sa_family };

        if (sa->sa_family == AF_INET && len >= (socklen_t) sizeof(struct sockaddr_in)) {
                const struct sockaddr_in *in = (const struct sockaddr_in *) (const void *) sa;

                k.port = in->sin_port;
                memcpy(k.addr, &in->sin_addr, sizeof(in->sin_addr));
        } else if (sa->sa_family == AF_INET6 && len >= (socklen_t) sizeof(struct sockaddr_in6)) {
                const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) (const void *) sa;

                k.port = in6->sin6_port;
                memcpy(k.addr, &in6->sin6_addr, sizeof(in6->sin6_addr));
        } else
                return -EAFNOSUPPORT;
        *ret = k;
        return 0;
}

/* FNV-1a over the key's bytes. */
static size_t peer_hash(const PeerKey *k) {
        const uint8_t *p = (const uint8_t *) k;
        uint64_t h = 1469598103934665603ULL;

        for (size_t i = 0; i < sizeof(*k); i++)
                h = (h ^ p[i]) * 1099511628211ULL;
        return (size_t) (h ^ (h >> 32));
}

static SnmpSession **peers_bucket(const SnmpPeers *p, const PeerKey *k) {
        return &p->buckets[peer_hash(k) & (p->n_buckets - 1)];
}

/* Grows the table to keep at most one session per bucket on average. */
static int peers_reserve(SnmpPeers *p, size_t n) {
        SnmpSession **old = p->buckets;
        size_t n_old = p->n_buckets, size = MAX(n_old, (size_t) 16);

        while (size < n)
                size *= 2;
        if (size == n_old)
                return 0;
        p->buckets = calloc(size, sizeof(*p->buckets));
        if (!p->buckets) {
                p->buckets = old;
                return -ENOMEM;
        }
        p->n_buckets = size;
        for (size_t i = 0; i < n_old; i++)
                for (SnmpSession *s = old[i], *next; s; s = next) {
                        SnmpSession **b = peers_bucket(p, &s->key);

                        next = s->hash_next;
                        s->hash_next = *b;
                        *b = s;
                }
        free(old);
        return 0;
}

static int peers_add(SnmpPeers *p, SnmpSession *s) {
        SnmpSession **b;
        int r;

        r = peers_reserve(p, p->n + 1);
        if (r < 0)
                return r;
        b = peers_bucket(p, &s->key);
        s->hash_next = *b;
        *b = s;
        p->n++;
        return 0;
}

static void peers_remove(SnmpPeers *p, SnmpSession *s) {
        if (p->n_buckets == 0)
                return;
        for (SnmpSession **b = peers_bucket(p, &s->key); *b; b = &(*b)->hash_next)
                if (*b == s) {
                        *b = s->hash_next;
                        s->hash_next = NULL;
                        p->n--;
                        return;
                }
}

/* The first session after (or from the start of the bucket, when after is
 * NULL) that talks to key. */
SnmpSession *snmp_peers_find(const SnmpPeers *p, const PeerKey *k, SnmpSession *after) {
        SnmpSession *s;

        if (p->n_buckets == 0)
                return NULL;
        s = after ? after->hash_next : *peers_bucket(p, k);
        for (; s; s = s->hash_next)
                if (memcmp(&s->key, k, sizeof(*k)) == 0)
                        return s;
        return NULL;
}

/* ======================================================================== */

static int on_engine_io(sd_event_source *src, int fd, uint32_t revents, void *userdata);
static int on_engine_timer(sd_event_source *src, uint64_t usec, void *userdata);

SnmpEngine *snmp_engine_unref(SnmpEngine *eng) {
        if (!eng || --eng->n_ref > 0)
                return NULL;
        for (size_t i = 0; i < ELEMENTSOF(eng->fd); i++) {
                (void) sd_event_source_disable_unref(eng->io[i]);
                if (eng->fd[i] >= 0)
                        (void) close(eng->fd[i]);
        }
        (void) sd_event_source_disable_unref(eng->timer);
        netsnmp_large_fd_set_cleanup(&eng->fds);
        free(eng->peers.buckets);
        prioq_free(eng->deadlines);
        if (eng->rxbuf)
                (void) munmap(eng->rxbuf, (size_t) SNMP_RX_SLOTS * SNMP_RX_MAX);
        for (size_t i = 0; i < ELEMENTSOF(eng->tx); i++)
                if (eng->tx[i]) {
                        /* Requests carry a community: not left in freed memory
                         * (nor in the encoding buffer, below). */
                        explicit_bzero(eng->tx[i]->buf, sizeof(*eng->tx[i]->buf) * SNMP_TX_QUEUE);
                        free(eng->tx[i]->buf);
                        free(eng->tx[i]);
                }
        free(eng->source);
        if (eng->txbuf)
                explicit_bzero(eng->txbuf, SNMP_TX_MAX);
        free(eng->txbuf);
        if (eng->last_oid_list)
                eng->last_oid_list->engine = NULL;
        sd_event_unref(eng->event);
        free(eng);
        return NULL;
}

SnmpEngine *snmp_engine_ref(SnmpEngine *eng) {
        eng->n_ref++;
        return eng;
}

int snmp_engine_new(sd_event *e, SnmpEngine **ret) {
        _cleanup_(snmp_engine_unrefp) SnmpEngine *eng = NULL;
        int r;

        eng = calloc(1, sizeof(*eng));
        if (!eng)
                return -ENOMEM;
        eng->n_ref = 1;
        eng->fd[0] = eng->fd[1] = -1;
        eng->event = sd_event_ref(e);
        netsnmp_large_fd_set_init(&eng->fds, FD_SETSIZE);
        eng->next_reqid = (uint32_t) now_usec(CLOCK_MONOTONIC) & 0x3fffffff;
        /* Fresh pages, not the heap's: only what answers reach becomes resident. */
        eng->rxbuf = mmap(NULL, (size_t) SNMP_RX_SLOTS * SNMP_RX_MAX, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (eng->rxbuf == MAP_FAILED)
                eng->rxbuf = NULL;
        eng->txbuf = malloc(SNMP_TX_MAX);
        if (!eng->rxbuf || !eng->txbuf)
                return -ENOMEM;
        r = prioq_new(0, &eng->deadlines);
        if (r < 0)
                return r;
        r = sd_event_add_time(e, &eng->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC, on_engine_timer,
                              eng);
        if (r < 0)
                return r;
        r = sd_event_source_set_enabled(eng->timer, SD_EVENT_OFF);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(eng->timer, "snmp");
        *ret = TAKE_PTR(eng);
        return 0;
}

/* A request id that an off-path sender cannot guess (an answer must
 * carry it): 30 random bits from getrandom(2), fetched 64 at a time. */
long snmp_engine_reqid(SnmpEngine *eng) {
        uint32_t id;

        do {
                if (eng->n_random == 0) {
                        if (getrandom(eng->random, sizeof(eng->random), GRND_NONBLOCK) ==
                            (ssize_t) sizeof(eng->random))
                                eng->n_random = ELEMENTSOF(eng->random);
                        else {
                                /* No entropy yet (early boot): not repeating soon at least. */
                                eng->next_reqid = (eng->next_reqid + 1) & 0x3fffffff;
                                return eng->next_reqid ?: 1;
                        }
                }
                id = eng->random[--eng->n_random] & 0x3fffffff;
        } while (id == 0);
        return (long) id;
}

/* The engine's socket for family, opened and watched on first use. */
static int engine_socket(SnmpEngine *eng, int family) {
        size_t i = family == AF_INET6;
        int fd, buf = SNMP_SOCKET_BUFFER, r;

        if (eng->fd[i] >= 0)
                return eng->fd[i];
        fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_UDP);
        if (fd < 0)
                return -errno;
        if (eng->source) {
                union {
                        struct sockaddr sa;
                        struct sockaddr_in in;
                        struct sockaddr_in6 in6;
                } a = {};
                socklen_t len;

                if (family == AF_INET && inet_pton(AF_INET, eng->source, &a.in.sin_addr) == 1) {
                        a.in.sin_family = AF_INET;
                        len = sizeof(a.in);
                } else if (family == AF_INET6 &&
                           inet_pton(AF_INET6, eng->source, &a.in6.sin6_addr) == 1) {
                        a.in6.sin6_family = AF_INET6;
                        len = sizeof(a.in6);
                } else {
                        (void) close(fd);
                        return -EAFNOSUPPORT; /* the source is of the other family */
                }
                if (bind(fd, &a.sa, len) < 0) {
                        r = -errno;
                        (void) close(fd);
                        return r;
                }
        }
        /* Best effort: a burst of answers should wait in the kernel, not be lost. */
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof(buf)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
        if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof(buf)) < 0)
                (void) setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
        if (fd >= FD_SETSIZE && netsnmp_large_fd_set_resize(&eng->fds, fd + 1) == 0) {
                (void) close(fd);
                return -ENOMEM;
        }
        r = sd_event_add_io(eng->event, &eng->io[i], fd, EPOLLIN, on_engine_io, eng);
        /* Deferred reading in progress: this socket rests with the other. */
        if (r >= 0 && eng->read_at != 0)
                (void) sd_event_source_set_enabled(eng->io[i], SD_EVENT_OFF);
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        NETSNMP_LARGE_FD_SET(fd, &eng->fds);
        eng->fd[i] = fd;
        return fd;
}

/* Arms the one timer at the earliest deadline. */
void snmp_engine_arm(SnmpEngine *eng) {
        uint64_t deadline = UINT64_MAX;

        if (eng->in_timer)
                return;
        /* Armed lazily (issue 18: two timer updates per GET were a tenth of
         * a router probe's instructions): a timer that fires before the
         * earliest deadline, or with none left, finds nothing due and arms
         * for the next one. So it moves only when a deadline comes earlier
         * than it, not at every request and answer. */
        if (!prioq_peek(eng->deadlines, &deadline) && eng->read_at == 0)
                return;
        if (eng->read_at != 0)
                deadline = MIN(deadline, eng->read_at);
        if (eng->armed != 0 && eng->armed <= deadline)
                return;
        (void) sd_event_source_set_time(eng->timer, deadline);
        (void) sd_event_source_set_enabled(eng->timer, SD_EVENT_ONESHOT);
        eng->armed = deadline;
}

/* Sends what waits in a queue: one sendmmsg(2) for all (a datagram the
 * kernel refuses is lost like one the network drops; the rest are tried). */
static unsigned engine_flush(SnmpEngine *eng, size_t i) {
        SnmpTxQueue *q = eng->tx[i];
        unsigned done = 0;

        if (!q)
                return 0;
        while (done < q->n) {
                int n = sendmmsg(eng->fd[i], q->msg + done, q->n - done, MSG_NOSIGNAL);

                eng->n_sendmmsg++;
                if (n < 0 && errno == EINTR)
                        continue;
                done += n > 0 ? (unsigned) n : 1; /* the one that failed is lost */
        }
        q->n = 0;
        return done;
}

/* Turns the sockets' io sources on or off. */
static void engine_watch(SnmpEngine *eng, bool on) {
        for (size_t i = 0; i < ELEMENTSOF(eng->io); i++)
                if (eng->io[i])
                        (void) sd_event_source_set_enabled(eng->io[i],
                                                           on ? SD_EVENT_ON : SD_EVENT_OFF);
}

/* The sockets are read next at the window's end (read_at, or
 * SNMP_READ_WINDOW from now), by the timer, all at once: the io sources
 * rest till then. When an answer follows a read within the window (a rate
 * limit; not sd-event's own, whose sources must not be switched off and on
 * while limited: systemd 252 aborts in sleep_between()), and after a batch
 * of requests left together. */
static void engine_defer_read(SnmpEngine *eng, uint64_t at) {
        engine_watch(eng, false);
        if (eng->read_at == 0)
                eng->read_at = at;
        snmp_engine_arm(eng);
}

void snmp_engine_cork(SnmpEngine *eng) {
        eng->corked++;
}

void snmp_engine_uncork(SnmpEngine *eng) {
        unsigned sent = 0;

        assert(eng->corked > 0);
        if (--eng->corked > 0)
                return;
        for (size_t i = 0; i < ELEMENTSOF(eng->tx); i++)
                sent += engine_flush(eng, i);
        if (sent > 1)
                engine_defer_read(eng, now_usec(CLOCK_MONOTONIC) + SNMP_READ_WINDOW);
}

/* The queue of socket i, made on first use; NULL without memory (the
 * datagram then goes out at once). */
static SnmpTxQueue *engine_queue(SnmpEngine *eng, size_t i) {
        SnmpTxQueue *q = eng->tx[i];

        if (q)
                return q;
        q = calloc(1, sizeof(*q));
        if (!q)
                return NULL;
        q->buf = malloc(sizeof(*q->buf) * SNMP_TX_QUEUE);
        if (!q->buf) {
                free(q);
                return NULL;
        }
        for (size_t k = 0; k < SNMP_TX_QUEUE; k++) {
                q->iov[k].iov_base = q->buf[k];
                q->msg[k].msg_hdr.msg_iov = &q->iov[k];
                q->msg[k].msg_hdr.msg_iovlen = 1;
                q->msg[k].msg_hdr.msg_name = &q->addr[k];
        }
        return eng->tx[i] = q;
}

int snmp_engine_send(SnmpEngine *eng, const void *buf, size_t len, const PeerAddr *to,
                     socklen_t to_len) {
        size_t i = to->sa.sa_family == AF_INET6;
        SnmpTxQueue *q;

        if (eng->corked > 0 && len <= SNMP_TX_SLOT && to_len <= sizeof(PeerAddr) &&
            (q = engine_queue(eng, i))) {
                unsigned k;

                if (q->n == SNMP_TX_QUEUE)
                        engine_flush(eng, i);
                k = q->n++;
                memcpy(q->buf[k], buf, len);
                q->iov[k].iov_len = len;
                memcpy(&q->addr[k], to, to_len);
                q->msg[k].msg_hdr.msg_namelen = to_len;
                return 0;
        }
        if (sendto(eng->fd[i], buf, len, MSG_NOSIGNAL, &to->sa, to_len) < 0 && errno != EAGAIN &&
            errno != ENOBUFS)
                return -errno;
        return 0;
}

/* ======================================================================== */

/* A Report (RFC 3414 §3.2) as an error: the USM says why. */
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

/* Copies the answer's values out (SNMPv2c and v3 alike): the library frees
 * the PDU after. */
void snmp_take_answer(SnmpSession *s, netsnmp_pdu *pdu) {
        netsnmp_variable_list *v = pdu->variables;

        s->ev = EV_ANSWER;
        if (s->error)
                s->error[0] = 0;
        if (pdu->command == SNMP_MSG_REPORT) {
                report_error(pdu, snmp_session_error(s));
                return;
        }
        if (pdu->errstat != SNMP_ERR_NOERROR) {
                (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX, "SNMP error: %s (index %ld)",
                                snmp_errstring(pdu->errstat), pdu->errindex);
                return;
        }
        for (size_t i = 0; i < s->n; i++, v = v ? v->next_variable : NULL) {
                SnmpValue *out = &s->values[i];

                if (!v) {
                        (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX,
                                        "answer with %zu values for %zu requested", i, s->n);
                        return;
                }
                if (!snmp_oid_list_match(s->oids, s->first + i, v->name, v->name_length)) {
                        (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX,
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
                case ASN_OCTET_STR:
                        out->type = SNMP_VALUE_STRING;
                        out->unsigned_ = (unsigned long) snmp_text_hash(v->val.string, v->val_len);
                        snmp_value_text(out, v->val.string, v->val_len);
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
                (void) snprintf(snmp_session_error(s), SNMP_ERROR_MAX, "answer with more values than requested");
                return;
        }
}

void snmp_session_finish(SnmpSession *s, const char *error) {
        SnmpDoneFn done = s->done;

        s->busy = false;
        s->done = NULL;
        done(s->userdata, error, error ? NULL : s->values, s->n);
}

/* Acts on what the callback recorded, outside the library's call stack. The
 * done callback may free s: nothing touches it after. */
void snmp_session_process(SnmpSession *s) {
        SnmpEvent ev = s->ev;

        s->ev = EV_NONE;
        if (!s->busy)
                return;
        switch (ev) {
        case EV_PROBED:
                snmp_v3_discovered(s);
                break;
        case EV_ANSWER:
                snmp_session_finish(s, s->error && s->error[0] ? s->error : NULL);
                break;
        case EV_FAILED:
                if (s->probing)
                        s->discovered = false;
                snmp_session_finish(s, snmp_session_error(s));
                break;
        case EV_NONE:
                break;
        }
}

/* ======================================================================== */

/* Hands a datagram from key to the waiting session it answers. Several
 * sessions may talk to one address: the request id decides (ours for
 * SNMPv2c, net-snmp's match in on_pdu for SNMPv3). Returns whether a session
 * took it. */
static bool engine_deliver(SnmpEngine *eng, const PeerKey *key, uint8_t *data, size_t len) {
        netsnmp_pdu *pdu = snmp_v2c_parse(data, len);
        bool taken;

        if (!pdu)
                return snmp_v3_deliver(eng, key, data, len);
        taken = snmp_v2c_deliver(eng, key, pdu);
        snmp_free_pdu(pdu);
        return taken;
}

/* Reads up to SNMP_RX_BATCH datagrams from fd and hands them out, while
 * sessions are left (a done callback may free them). The caller holds a
 * reference. */
static void engine_read(SnmpEngine *eng, int fd) {
        struct mmsghdr msg[SNMP_RX_SLOTS];
        struct iovec iov[SNMP_RX_SLOTS];
        PeerAddr from[SNMP_RX_SLOTS];

        for (unsigned read = 0; read < SNMP_RX_BATCH && eng->peers.n > 0;) {
                unsigned want = MIN(SNMP_RX_SLOTS, SNMP_RX_BATCH - read);
                int n;

                for (unsigned k = 0; k < want; k++) {
                        iov[k] = (struct iovec) { eng->rxbuf + (size_t) k * SNMP_RX_MAX,
                                                  SNMP_RX_MAX };
                        msg[k].msg_hdr = (struct msghdr) { .msg_name = &from[k],
                                                           .msg_namelen = sizeof(from[k]),
                                                           .msg_iov = &iov[k],
                                                           .msg_iovlen = 1 };
                }
                n = recvmmsg(fd, msg, want, MSG_DONTWAIT, NULL);
                if (n <= 0)
                        break;   /* EAGAIN, or an ICMP error: the timeouts handle those */
                if (read == 0)
                        eng->n_reads++;
                read += (unsigned) n;
                for (int k = 0; k < n; k++) {
                        PeerKey key;

                        /* A done callback may have freed the last session. */
                        if (eng->peers.n == 0 || (msg[k].msg_hdr.msg_flags & MSG_TRUNC) ||
                            peer_key(&from[k].sa, msg[k].msg_hdr.msg_namelen, &key) < 0 ||
                            !engine_deliver(eng, &key, iov[k].iov_base, msg[k].msg_len))
                                eng->n_stray++;
                }
                if ((unsigned) n < want)
                        break;   /* the queue is empty: no call to hear EAGAIN */
        }
}

static int on_engine_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        SnmpEngine *eng = snmp_engine_ref(userdata);
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        (void) src;
        (void) revents;
        /* An answer within the window of the last read waits for its end,
         * with the others that come meanwhile; one after a quiet spell is
         * read at once. */
        if (eng->last_read != 0 && now < eng->last_read + SNMP_READ_WINDOW)
                engine_defer_read(eng, eng->last_read + SNMP_READ_WINDOW);
        else {
                eng->last_read = now;
                engine_read(eng, fd);
        }
        snmp_engine_unref(eng);
        return 0;
}

static int on_engine_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        SnmpEngine *eng = snmp_engine_ref(userdata);
        uint64_t now = now_usec(CLOCK_MONOTONIC), deadline;
        SnmpSession *s;

        (void) src;
        (void) usec;
        eng->armed = 0;
        eng->in_timer = true;
        /* The window after a batch of requests is over: the io sources
         * watch again for what comes later. */
        if (eng->read_at != 0 && eng->read_at <= now) {
                eng->read_at = 0;
                eng->last_read = now;
                engine_watch(eng, true);
        }
        snmp_engine_cork(eng); /* the retries go out together */
        /* Answers that arrived but were not read yet (the loop was busy)
         * are not timeouts. */
        for (size_t i = 0; i < ELEMENTSOF(eng->fd); i++)
                if (eng->fd[i] >= 0)
                        engine_read(eng, eng->fd[i]);
        while ((s = prioq_peek(eng->deadlines, &deadline)) && deadline <= now) {
                (void) prioq_remove(eng->deadlines, s, &s->deadline_idx);
                s->ev = EV_NONE;
                if (s->sessp)
                        snmp_v3_timeout(s);
                else
                        snmp_v2c_timeout(s);
        }
        snmp_engine_uncork(eng);
        eng->in_timer = false;
        snmp_engine_arm(eng);
        snmp_engine_unref(eng);
        return 0;
}

/* Resolves the peer (numeric addresses without a lookup; a name is looked up
 * here, once, before the daemon is ready). */
static int resolve_peer(SnmpSession *s, const SnmpTarget *t, char err[static SNMP_ERROR_MAX]) {
        struct addrinfo hints = {
                .ai_family = AF_UNSPEC,
                .ai_socktype = SOCK_DGRAM,
                .ai_flags = AI_NUMERICSERV,
        };
        struct addrinfo *ai = NULL;
        char port[8];
        int r;

        (void) snprintf(port, sizeof(port), "%u", t->port);
        hints.ai_flags |= AI_NUMERICHOST;
        r = getaddrinfo(t->address, port, &hints, &ai);
        if (r == EAI_NONAME) {
                hints.ai_flags &= ~AI_NUMERICHOST;
                r = getaddrinfo(t->address, port, &hints, &ai);
        }
        if (r != 0 || !ai || ai->ai_addrlen > sizeof(s->addr)) {
                (void) snprintf(err, SNMP_ERROR_MAX, "cannot resolve %s: %s", t->address,
                                r != 0 ? gai_strerror(r) : "no usable address");
                if (ai)
                        freeaddrinfo(ai);
                return -EADDRNOTAVAIL;
        }
        memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
        s->addr_len = ai->ai_addrlen;
        freeaddrinfo(ai);
        return peer_key(&s->addr.sa, s->addr_len, &s->key);
}

/* ======================================================================== */

int snmp_session_new(SnmpEngine *eng, const SnmpTarget *t, SnmpSession **ret,
                     char err[static SNMP_ERROR_MAX]) {
        _cleanup_(snmp_session_freep) SnmpSession *s = NULL;
        int fd, r;

        snmp_library_init();
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->engine = snmp_engine_ref(eng);
        s->v3 = t->conf->version == SNMP_VERSION_V3;
        s->timeout = t->timeout;
        s->retries = t->retries;
        if (t->source_address && !eng->source) {
                eng->source = strdup(t->source_address);
                if (!eng->source)
                        return -ENOMEM;
        }
        r = resolve_peer(s, t, err);
        if (r >= 0) {
                fd = engine_socket(eng, s->addr.sa.sa_family);
                r = fd;
                if (r == -EAFNOSUPPORT)
                        (void) snprintf(err, SNMP_ERROR_MAX,
                                        "cannot send from %s (probes.source_address) to %s: "
                                        "another address family", eng->source, t->address);
                else if (r < 0)
                        (void) snprintf(err, SNMP_ERROR_MAX, "cannot open the SNMP socket%s%s: %s",
                                        eng->source ? " from " : "", eng->source ?: "",
                                        strerror(-r));
        }
        if (r >= 0)
                r = s->v3 ? snmp_v3_open(s, t, fd, err) : snmp_v2c_open(s, t, err);
        /* Room for every session in the deadlines: arming never allocates. */
        if (r >= 0)
                r = prioq_reserve(eng->deadlines, eng->peers.n + 1);
        if (r >= 0)
                r = peers_add(&eng->peers, s);
        if (r < 0) {
                if (r == -ENOMEM)
                        (void) snprintf(err, SNMP_ERROR_MAX, "out of memory");
                return r;
        }
        *ret = TAKE_PTR(s);
        return 0;
}

/* Out of memory, the sessions' errors share this one. */
static char error_fallback[SNMP_ERROR_MAX];

char *snmp_session_error(SnmpSession *s) {
        if (!s->error) {
                s->error = malloc(SNMP_ERROR_MAX);
                if (!s->error)
                        s->error = error_fallback;
                s->error[0] = 0;
        }
        return s->error;
}

bool snmp_session_community_is(const SnmpSession *s, const char *community) {
        return s->community && community &&
               credential_equal(s->community, s->community_len, community, strlen(community));
}

SnmpSession *snmp_session_free(SnmpSession *s) {
        SnmpEngine *eng;

        if (!s)
                return NULL;
        eng = s->engine;
        /* Closing calls back for the request in flight: not for us any more. */
        s->busy = false;
        if (eng) {
                peers_remove(&eng->peers, s);
                (void) prioq_remove(eng->deadlines, s, &s->deadline_idx);
                snmp_engine_arm(eng);
        }
        snmp_v3_close(s);
        if (s->community) {
                explicit_bzero(s->community, s->community_len);
                free(s->community);
        }
        snmp_engine_unref(eng);
        if (s->error != error_fallback)
                free(s->error);
        free(s);
        return NULL;
}

int snmp_session_get(SnmpSession *s, const SnmpOidList *oids, size_t first, size_t n,
                     SnmpValue *values, SnmpDoneFn done, void *userdata) {
        int r;

        if (s->busy)
                return -EBUSY;
        if (n == 0 || n > SNMP_OIDS_PER_GET || first > oids->n || n > oids->n - first)
                return -EINVAL;
        s->oids = oids;
        s->first = first;
        s->n = n;
        s->values = values;
        s->done = done;
        s->userdata = userdata;
        s->ev = EV_NONE;
        s->busy = true;
        r = s->v3 ? snmp_v3_get(s) : snmp_v2c_get(s);
        if (r < 0)
                s->busy = false;
        return r;
}

bool snmp_session_busy(const SnmpSession *s) {
        return s->busy;
}
