/* SPDX-License-Identifier: MIT */

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>
#include <net-snmp/library/snmpUDPDomain.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "macro.h"
#include "snmp.h"
#include "text.h"
#include "timeutil.h"

/* The largest datagram read; a longer one is dropped (UDP's own limit). */
#define SNMP_RX_MAX 65536
/* Datagrams read per io dispatch, so that a flood cannot starve the loop. */
#define SNMP_RX_BATCH 64
/* Socket buffers asked for (the kernel caps them at net.core.[rw]mem_max). */
#define SNMP_SOCKET_BUFFER (4 * 1024 * 1024)
/* The largest SNMPv2c request: 48 OIDs of 128 arcs fit. */
#define SNMP_TX_MAX 65507

typedef enum SnmpEvent {
        EV_NONE,
        EV_PROBED,                   /* the engine-discovery probe was answered */
        EV_ANSWER,                   /* the GET was answered (values or error below) */
        EV_FAILED,                   /* timed out or could not be sent */
} SnmpEvent;

/* A peer's address as a hash key: no padding, compared with memcmp. */
typedef struct PeerKey {
        uint16_t family;
        uint16_t port;               /* network order */
        uint8_t addr[16];
} PeerKey;

typedef union PeerAddr {
        struct sockaddr sa;
        struct sockaddr_in in;
        struct sockaddr_in6 in6;
} PeerAddr;

typedef struct SnmpEngine SnmpEngine;

struct SnmpOidList {
        unsigned n_ref;
        size_t n;
        oid *arcs;                   /* every OID's arcs, back to back, after idx */
        struct {
                uint32_t off, len;
        } idx[];
};

struct SnmpSession {
        SnmpEngine *engine;
        void *sessp;
        PeerKey key;
        PeerAddr addr;
        socklen_t addr_len;
        SnmpSession *hash_next;      /* the engine's bucket of this key's hash */
        size_t heap_idx;             /* in the engine's heap, SIZE_MAX when not */
        uint64_t deadline;           /* CLOCK_MONOTONIC usec: the next resend or timeout */
        bool v3, discovered;
        uint64_t timeout;
        unsigned retries;
        /* SNMPv2c is spoken here, without a net-snmp session (sessp NULL):
         * the GET is encoded into the engine's buffer, the answer's PDU parsed
         * by net-snmp's snmp_pdu_parse(). SNMPv3 goes through net-snmp. */
        char *community;
        size_t community_len;
        unsigned tries;              /* sends of the request in flight */

        /* The request in flight. */
        bool busy, probing;
        long reqid;                  /* of the PDU in flight: older answers are ignored */
        const SnmpOidList *oids;
        size_t first, n;             /* oids[first, first + n) */
        SnmpValue *values;           /* the caller's, n of them */
        SnmpDoneFn done;
        void *userdata;

        /* What the net-snmp callback saw, handled once the library returns. */
        SnmpEvent ev;
        char error[SNMP_ERROR_MAX];
};

/* The sessions waiting for net-snmp's next look, by deadline: a binary
 * min-heap of pointers, each session knowing its index. */
typedef struct SnmpHeap {
        SnmpSession **items;
        size_t n, size;
} SnmpHeap;

/* Sessions by peer address: chained buckets, a power of two of them. */
typedef struct SnmpPeers {
        SnmpSession **buckets;
        size_t n_buckets, n;
} SnmpPeers;

/* What all sessions of the process share: the sockets, one io source per
 * socket, one timer. It lives while sessions (or a dispatch) hold it. */
struct SnmpEngine {
        unsigned n_ref;
        sd_event *event;
        int fd[2];                   /* AF_INET, AF_INET6; -1 until a peer needs it */
        sd_event_source *io[2], *timer;
        uint64_t armed;              /* the timer's deadline, 0 when off */
        bool in_timer;               /* arm once, after the timer's own dispatch */
        netsnmp_large_fd_set fds;    /* both sockets set: what snmp_sess_read2 looks for */
        SnmpPeers peers;
        SnmpHeap heap;
        const uint8_t *rx;           /* the datagram being handed to a session */
        size_t rx_len;
        uint8_t *rxbuf;
        uint8_t *txbuf;              /* SNMPv2c requests are encoded here, from the end */
        uint32_t next_reqid;         /* only when getrandom() fails */
        uint32_t random[64];         /* request ids from getrandom(), used from the end */
        size_t n_random;
        char *source;                /* the address to bind, or NULL */
        uint64_t n_stray;            /* datagrams no waiting session was asked from */
};

/* A session's transport: sends through the engine's socket to the peer,
 * "receives" the datagram the engine read for it. net-snmp frees it as a
 * netsnmp_transport (free()), so that comes first. */
typedef struct SharedTransport {
        netsnmp_transport t;
        SnmpSession *session;
} SharedTransport;

static SnmpEngine *the_engine;
static SnmpOidList *last_oid_list;     /* not a reference */

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

int snmp_oid_list_new(const SnmpOid *oids, size_t n, SnmpOidList **ret) {
        SnmpOidList *l;
        size_t arcs = 0, off = 0;

        if (last_oid_list && oid_list_equal(last_oid_list, oids, n)) {
                last_oid_list->n_ref++;
                *ret = last_oid_list;
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
        last_oid_list = l;
        *ret = l;
        return 0;
}

SnmpOidList *snmp_oid_list_unref(SnmpOidList *l) {
        if (!l || --l->n_ref > 0)
                return NULL;
        if (last_oid_list == l)
                last_oid_list = NULL;
        free(l);
        return NULL;
}

size_t snmp_oid_list_size(const SnmpOidList *l) {
        return l->n;
}

static bool oid_list_match(const SnmpOidList *l, size_t i, const oid *b, size_t len) {
        return l->idx[i].len == len &&
               memcmp(l->arcs + l->idx[i].off, b, len * sizeof(oid)) == 0;
}

/* ======================================================================== */

static bool heap_less(const SnmpHeap *h, size_t a, size_t b) {
        return h->items[a]->deadline < h->items[b]->deadline;
}

static void heap_swap(SnmpHeap *h, size_t a, size_t b) {
        SnmpSession *t = h->items[a];

        h->items[a] = h->items[b];
        h->items[b] = t;
        h->items[a]->heap_idx = a;
        h->items[b]->heap_idx = b;
}

static void heap_up(SnmpHeap *h, size_t i) {
        while (i > 0 && heap_less(h, i, (i - 1) / 2)) {
                heap_swap(h, i, (i - 1) / 2);
                i = (i - 1) / 2;
        }
}

static void heap_down(SnmpHeap *h, size_t i) {
        for (;;) {
                size_t l = 2 * i + 1, r = l + 1, m = i;

                if (l < h->n && heap_less(h, l, m))
                        m = l;
                if (r < h->n && heap_less(h, r, m))
                        m = r;
                if (m == i)
                        return;
                heap_swap(h, i, m);
                i = m;
        }
}

/* Makes room for size sessions, so that heap_put() cannot fail later. */
static int heap_reserve(SnmpHeap *h, size_t size) {
        SnmpSession **items;
        size_t want;

        if (size <= h->size)
                return 0;
        want = MAX(size, h->size * 2);
        items = reallocarray(h->items, want, sizeof(*items));
        if (!items)
                return -ENOMEM;
        h->items = items;
        h->size = want;
        return 0;
}

/* Puts s in the heap at deadline, or moves it there. */
static int heap_put(SnmpHeap *h, SnmpSession *s, uint64_t deadline) {
        int r;

        s->deadline = deadline;
        if (s->heap_idx != SIZE_MAX) {
                heap_up(h, s->heap_idx);
                heap_down(h, s->heap_idx);
                return 0;
        }
        r = heap_reserve(h, h->n + 1);
        if (r < 0)
                return r;
        s->heap_idx = h->n;
        h->items[h->n++] = s;
        heap_up(h, s->heap_idx);
        return 0;
}

static void heap_remove(SnmpHeap *h, SnmpSession *s) {
        size_t i = s->heap_idx;

        if (i == SIZE_MAX)
                return;
        s->heap_idx = SIZE_MAX;
        if (i == --h->n)
                return;
        h->items[i] = h->items[h->n];
        h->items[i]->heap_idx = i;
        heap_up(h, i);
        heap_down(h, h->items[i]->heap_idx);
}

static SnmpSession *heap_top(const SnmpHeap *h) {
        return h->n > 0 ? h->items[0] : NULL;
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
static SnmpSession *peers_find(const SnmpPeers *p, const PeerKey *k, SnmpSession *after) {
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

static SnmpEngine *engine_unref(SnmpEngine *eng) {
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
        free(eng->heap.items);
        free(eng->rxbuf);
        free(eng->source);
        free(eng->txbuf);
        sd_event_unref(eng->event);
        if (the_engine == eng)
                the_engine = NULL;
        free(eng);
        return NULL;
}

static SnmpEngine *engine_ref(SnmpEngine *eng) {
        eng->n_ref++;
        return eng;
}

/* The process's engine for loop e, made on first use. */
static int engine_get(sd_event *e, SnmpEngine **ret) {
        SnmpEngine *eng;
        int r;

        if (the_engine) {
                if (the_engine->event != e)
                        return -EXDEV;
                *ret = engine_ref(the_engine);
                return 0;
        }
        eng = calloc(1, sizeof(*eng));
        if (!eng)
                return -ENOMEM;
        eng->n_ref = 1;
        eng->fd[0] = eng->fd[1] = -1;
        eng->event = sd_event_ref(e);
        netsnmp_large_fd_set_init(&eng->fds, FD_SETSIZE);
        eng->rxbuf = malloc(SNMP_RX_MAX);
        eng->txbuf = malloc(SNMP_TX_MAX);
        r = eng->rxbuf && eng->txbuf ? 0 : -ENOMEM;
        eng->next_reqid = (uint32_t) now_usec(CLOCK_MONOTONIC) & 0x3fffffff;
        if (r >= 0)
                r = sd_event_add_time(e, &eng->timer, CLOCK_MONOTONIC, 0, USEC_PER_MSEC,
                                      on_engine_timer, eng);
        if (r >= 0)
                r = sd_event_source_set_enabled(eng->timer, SD_EVENT_OFF);
        if (r < 0) {
                engine_unref(eng);
                return r;
        }
        the_engine = eng;
        *ret = eng;
        return 0;
}

/* A request id that an off-path sender cannot guess (an answer must
 * carry it): 30 random bits from getrandom(2), fetched 64 at a time. */
static long engine_reqid(SnmpEngine *eng) {
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
        if (r < 0) {
                (void) close(fd);
                return r;
        }
        NETSNMP_LARGE_FD_SET(fd, &eng->fds);
        eng->fd[i] = fd;
        return fd;
}

/* Arms the one timer at the earliest deadline. */
static void engine_arm(SnmpEngine *eng) {
        SnmpSession *top = heap_top(&eng->heap);

        if (eng->in_timer)
                return;
        if (!top) {
                if (eng->armed != 0)
                        (void) sd_event_source_set_enabled(eng->timer, SD_EVENT_OFF);
                eng->armed = 0;
                return;
        }
        if (top->deadline == eng->armed)
                return;
        (void) sd_event_source_set_time(eng->timer, top->deadline);
        (void) sd_event_source_set_enabled(eng->timer, SD_EVENT_ONESHOT);
        eng->armed = top->deadline;
}

/* ======================================================================== */

static int transport_send(netsnmp_transport *t, const void *buf, int size, void **opaque,
                          int *olength) {
        SnmpSession *s = ((SharedTransport *) t)->session;
        ssize_t n;

        (void) opaque;
        (void) olength;
        n = sendto(t->sock, buf, (size_t) size, MSG_NOSIGNAL, &s->addr.sa, s->addr_len);
        return n < 0 ? -1 : (int) n;
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
 * timeout) and keeps the session in the heap for then. */
static void session_rearm(SnmpSession *s) {
        SnmpEngine *eng = s->engine;
        struct timeval tv = {};
        int n = 0, block = 1;
        uint64_t now;

        if (!s->sessp) {
                heap_remove(&eng->heap, s);
                engine_arm(eng);
                return;
        }
        (void) snmp_sess_select_info2_flags(s->sessp, &n, &eng->fds, &tv, &block,
                                            NETSNMP_SELECT_NOALARMS);
        if (block)
                heap_remove(&eng->heap, s);
        else {
                /* At least 1 µs ahead, so that the timer's loop ends. The heap
                 * has room for every session (heap_reserve at open). */
                now = now_usec(CLOCK_MONOTONIC);
                (void) heap_put(&eng->heap, s,
                                now + MAX((uint64_t) tv.tv_sec * USEC_PER_SEC +
                                                  (uint64_t) tv.tv_usec,
                                          (uint64_t) 1));
        }
        engine_arm(eng);
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
                if (!oid_list_match(s->oids, s->first + i, v->name, v->name_length)) {
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
        int reqid;

        /* net-snmp's own ids count up from a seed: ours are random. */
        pdu->reqid = engine_reqid(s->engine);
        pdu->msgid = engine_reqid(s->engine);
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

static void finish(SnmpSession *s, const char *error) {
        SnmpDoneFn done = s->done;

        s->busy = false;
        s->done = NULL;
        done(s->userdata, error, error ? NULL : s->values, s->n);
}

/* Acts on what the callback recorded, outside the library's call stack. The
 * done callback may free s: nothing touches it after. */
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
                else
                        session_rearm(s);
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


/* ======================================================================== */
/* SNMPv2c without a net-snmp session */

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
static int direct_encode(SnmpSession *s, const uint8_t **ret, size_t *ret_len) {
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
static int direct_send(SnmpSession *s) {
        SnmpEngine *eng = s->engine;
        const uint8_t *p;
        size_t n;
        int r;

        r = direct_encode(s, &p, &n);
        if (r < 0)
                return r;
        /* A full socket buffer loses the datagram as the network would. */
        if (sendto(eng->fd[s->addr.sa.sa_family == AF_INET6], p, n, MSG_NOSIGNAL, &s->addr.sa,
                   s->addr_len) < 0 &&
            errno != EAGAIN && errno != ENOBUFS)
                return -errno;
        s->tries++;
        (void) heap_put(&eng->heap, s, now_usec(CLOCK_MONOTONIC) + MAX(s->timeout, (uint64_t) 1));
        engine_arm(eng);
        return 0;
}

static int direct_get(SnmpSession *s) {
        s->reqid = engine_reqid(s->engine);
        s->tries = 0;
        return direct_send(s);
}

/* The deadline passed: send again, or give up. */
static void direct_timeout(SnmpSession *s) {
        char d[DURATION_MAX];
        int r;

        if (!s->busy)
                return;
        if (s->tries <= s->retries) {
                r = direct_send(s);
                if (r >= 0)
                        return;
                (void) snprintf(s->error, sizeof(s->error), "cannot exchange: %s", strerror(-r));
        } else
                (void) snprintf(s->error, sizeof(s->error), "no answer within %s%s (timeout)",
                                format_duration(s->timeout, d), s->retries ? " and retries" : "");
        s->ev = EV_FAILED;
        session_process(s);
}

/* Parses an SNMPv1/v2c message; NULL for anything else (SNMPv3 among them). */
static netsnmp_pdu *direct_parse(uint8_t *data, size_t len) {
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
static bool direct_deliver(SnmpEngine *eng, const PeerKey *key, netsnmp_pdu *pdu) {
        if (pdu->command != SNMP_MSG_RESPONSE && pdu->command != SNMP_MSG_REPORT)
                return false;
        for (SnmpSession *s = peers_find(&eng->peers, key, NULL); s;
             s = peers_find(&eng->peers, key, s)) {
                if (s->sessp || !s->busy || s->reqid != pdu->reqid)
                        continue;
                heap_remove(&eng->heap, s);
                engine_arm(eng);
                take_answer(s, pdu);
                session_process(s);
                return true;
        }
        return false;
}

/* Hands a datagram from key to the waiting session it answers. Several
 * sessions may talk to one address: the request id decides (ours for
 * SNMPv2c, net-snmp's match in on_pdu for SNMPv3). Returns whether a session
 * took it. */
static bool engine_deliver(SnmpEngine *eng, const PeerKey *key, uint8_t *data, size_t len) {
        netsnmp_pdu *pdu = direct_parse(data, len);

        if (pdu) {
                bool taken = direct_deliver(eng, key, pdu);

                snmp_free_pdu(pdu);
                return taken;
        }
        for (SnmpSession *s = peers_find(&eng->peers, key, NULL); s;
             s = peers_find(&eng->peers, key, s)) {
                if (!s->busy || !s->sessp)
                        continue;
                s->ev = EV_NONE;
                eng->rx = data;
                eng->rx_len = len;
                (void) snmp_sess_read2(s->sessp, &eng->fds);
                eng->rx = NULL;
                /* Whatever net-snmp did (a v3 resend after a time-window
                 * report, say), its next look may have moved. */
                session_rearm(s);
                if (s->ev != EV_NONE) {
                        session_process(s);
                        return true;
                }
        }
        return false;
}

/* Reads up to SNMP_RX_BATCH datagrams from fd and hands them out. The
 * caller holds a reference: n_ref 1 means no session is left. */
static void engine_read(SnmpEngine *eng, int fd) {
        for (unsigned i = 0; i < SNMP_RX_BATCH && eng->n_ref > 1; i++) {
                PeerAddr from;
                socklen_t from_len = sizeof(from);
                PeerKey key;
                ssize_t n;

                n = recvfrom(fd, eng->rxbuf, SNMP_RX_MAX, MSG_TRUNC, &from.sa, &from_len);
                if (n < 0)
                        break;   /* EAGAIN, or an ICMP error: the timeouts handle those */
                if ((size_t) n > SNMP_RX_MAX || peer_key(&from.sa, from_len, &key) < 0 ||
                    !engine_deliver(eng, &key, eng->rxbuf, (size_t) n))
                        eng->n_stray++;
        }
}

static int on_engine_io(sd_event_source *src, int fd, uint32_t revents, void *userdata) {
        SnmpEngine *eng = engine_ref(userdata);

        (void) src;
        (void) revents;
        engine_read(eng, fd);
        engine_unref(eng);
        return 0;
}

static int on_engine_timer(sd_event_source *src, uint64_t usec, void *userdata) {
        SnmpEngine *eng = engine_ref(userdata);
        uint64_t now = now_usec(CLOCK_MONOTONIC);
        SnmpSession *s;

        (void) src;
        (void) usec;
        eng->armed = 0;
        eng->in_timer = true;
        /* Answers that arrived but were not read yet (the loop was busy)
         * are not timeouts. */
        for (size_t i = 0; i < ELEMENTSOF(eng->fd); i++)
                if (eng->fd[i] >= 0)
                        engine_read(eng, eng->fd[i]);
        while ((s = heap_top(&eng->heap)) && s->deadline <= now) {
                heap_remove(&eng->heap, s);
                s->ev = EV_NONE;
                if (!s->sessp) {
                        direct_timeout(s);
                        continue;
                }
                snmp_sess_timeout(s->sessp);
                session_rearm(s);
                session_process(s);
        }
        eng->in_timer = false;
        engine_arm(eng);
        engine_unref(eng);
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

static int session_open(SnmpSession *s, const SnmpTarget *t, int fd,
                        char err[static SNMP_ERROR_MAX]) {
        netsnmp_session ns;
        netsnmp_transport *tr;
        int r;

        snmp_sess_init(&ns);
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
        /* net-snmp copied what it needs; wipe our copies of keys and secrets. */
        explicit_bzero(ns.securityAuthKey, sizeof(ns.securityAuthKey));
        explicit_bzero(ns.securityPrivKey, sizeof(ns.securityPrivKey));
        if (ns.community) {
                explicit_bzero(ns.community, ns.community_len);
                free(ns.community);
        }
        free(ns.securityName);
        free(ns.contextName);
        return r;
}

int snmp_session_new(sd_event *e, const SnmpTarget *t, SnmpSession **ret,
                     char err[static SNMP_ERROR_MAX]) {
        SnmpSession *s;
        int fd, r;

        snmp_library_init();
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->heap_idx = SIZE_MAX;
        s->v3 = t->conf->version == SNMP_VERSION_V3;
        s->timeout = t->timeout;
        s->retries = t->retries;
        r = engine_get(e, &s->engine);
        if (r < 0) {
                free(s);
                (void) snprintf(err, SNMP_ERROR_MAX, "cannot set up SNMP: %s", strerror(-r));
                return r;
        }
        if (t->source_address && !s->engine->source) {
                s->engine->source = strdup(t->source_address);
                if (!s->engine->source) {
                        (void) snmp_session_free(s);
                        return -ENOMEM;
                }
        }
        r = resolve_peer(s, t, err);
        if (r >= 0) {
                fd = engine_socket(s->engine, s->addr.sa.sa_family);
                r = fd;
                if (r == -EAFNOSUPPORT)
                        (void) snprintf(err, SNMP_ERROR_MAX,
                                        "cannot send from %s (probes.source_address) to %s: "
                                        "another address family", s->engine->source,
                                        t->address);
                else if (r < 0)
                        (void) snprintf(err, SNMP_ERROR_MAX, "cannot open the SNMP socket%s%s: %s",
                                        s->engine->source ? " from " : "",
                                        s->engine->source ?: "", strerror(-r));
        }
        if (r >= 0 && s->v3)
                r = session_open(s, t, fd, err);
        else if (r >= 0) {
                s->community_len = strlen(t->community ?: "");
                s->community = strndup(t->community ?: "", s->community_len);
                if (!s->community)
                        r = -ENOMEM;
                else if (s->community_len >= COMMUNITY_MAX_LEN) {
                        (void) snprintf(err, SNMP_ERROR_MAX, "SNMP community too long");
                        r = -EINVAL;
                }
        }
        /* Room for every session in the heap: arming never allocates. */
        if (r >= 0)
                r = heap_reserve(&s->engine->heap, s->engine->peers.n + 1);
        if (r >= 0)
                r = peers_add(&s->engine->peers, s);
        if (r < 0) {
                if (r == -ENOMEM)
                        (void) snprintf(err, SNMP_ERROR_MAX, "out of memory");
                snmp_session_free(s);
                return r;
        }
        *ret = s;
        return 0;
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
                heap_remove(&eng->heap, s);
                engine_arm(eng);
        }
        if (s->sessp)
                (void) snmp_sess_close(s->sessp);
        if (s->community) {
                explicit_bzero(s->community, s->community_len);
                free(s->community);
        }
        engine_unref(eng);
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
        if (!s->v3) {
                r = direct_get(s);
                if (r < 0)
                        s->busy = false;
                return r;
        }
        r = s->discovered ? send_get(s) : send_probe(s);
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
