/* SPDX-License-Identifier: MIT */
#pragma once

/* What the three files of the SNMP glue share, and nobody else sees: the
 * engine and session structures and the calls between the files.
 *
 *   snmp.c      the engine (the shared sockets, the one timer, the deadline
 *               queue, the peer table), OID lists, sessions and the answers'
 *               values;
 *   snmp-v2c.c  SNMPv2c spoken directly: the GET encoded by hand (BER), the
 *               answer matched by request id;
 *   snmp-v3.c   SNMPv3 through net-snmp: its transport over the engine's
 *               socket, USM keys, asynchronous engine discovery. */

#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "prioq.h"
#include "snmp.h"

/* The largest datagram read; a longer one is dropped (UDP's own limit). */
#define SNMP_RX_MAX 65536
/* Datagrams read per io dispatch, so that a flood cannot starve the loop. */
#define SNMP_RX_BATCH 256
/* Datagrams read by one recvmmsg(2) (issue 18: a system call per answer
 * was a fifth of a router probe's kernel time). Each has a buffer of
 * SNMP_RX_MAX, in pages of their own (mmap): the pages an answer does not
 * reach are never touched, so small answers keep a page of each resident. */
#define SNMP_RX_SLOTS 16
/* While the engine is corked (snmp_engine_cork: a slot of probes starting,
 * the timer's retries), requests of up to SNMP_TX_SLOT bytes are queued and
 * go out together with one sendmmsg(2) at the uncork, or when SNMP_TX_QUEUE
 * are waiting; a longer one goes out at once. */
#define SNMP_TX_QUEUE 64
#define SNMP_TX_SLOT 512
/* Answers are read in batches (issue 18): after a read, the sockets are
 * read again at most once per window (their io sources are off till its
 * end, when the engine's timer reads them and turns them on). The first
 * answer after a quiet spell is read at once; the ones that follow within
 * the window wait for its end, together, instead of a wake-up of the loop
 * each (routers answer a slot's requests one by one). A router's latency
 * may read up to this long. Timeouts are not affected: the engine's timer
 * reads what arrived before it judges.
 * Requests sent together (the uncork of a slot) wait the window before their
 * first read too: the engine's timer reads all the answers that came within
 * it in one dispatch, and only the stragglers wake the loop by themselves. */
#define SNMP_READ_WINDOW (10 * USEC_PER_MSEC)
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

struct SnmpOidList {
        unsigned n_ref;
        size_t n;
        SnmpEngine *engine;          /* while it is the engine's last list; not a reference */
        oid *arcs;                   /* every OID's arcs, back to back, after idx */
        struct {
                uint32_t off, len;
        } idx[];
};

struct SnmpSession {
        SnmpEngine *engine;
        void *sessp;                 /* SNMPv3: net-snmp's single session; NULL for v2c */
        PeerKey key;
        PeerAddr addr;
        socklen_t addr_len;
        SnmpSession *hash_next;      /* the engine's bucket of this key's hash */
        unsigned deadline_idx;       /* in the engine's deadlines; PRIOQ_IDX_NULL when not */
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
        char *error;                 /* SNMP_ERROR_MAX; allocated at the first failure */
};

/* The session's error buffer (SNMP_ERROR_MAX bytes), allocated when first
 * needed: most routers never fail (issue 18: 160 bytes fewer per router).
 * Out of memory, a buffer of the engine's: the error is reported still. */
char *snmp_session_error(SnmpSession *s);

/* Sessions by peer address: chained buckets, a power of two of them. */
typedef struct SnmpPeers {
        SnmpSession **buckets;
        size_t n_buckets, n;
} SnmpPeers;

/* Requests waiting for the uncork, per socket. */
typedef struct SnmpTxQueue {
        struct mmsghdr msg[SNMP_TX_QUEUE];
        struct iovec iov[SNMP_TX_QUEUE];
        PeerAddr addr[SNMP_TX_QUEUE];
        uint8_t (*buf)[SNMP_TX_SLOT]; /* SNMP_TX_QUEUE of them; allocated at the first cork */
        unsigned n;
} SnmpTxQueue;

/* What the sessions of one event loop share: the sockets, one io source per
 * socket, one timer, the deadlines. Its owner and every session hold a
 * reference, and so does a dispatch while it runs. */
struct SnmpEngine {
        unsigned n_ref;
        sd_event *event;
        int fd[2];                   /* AF_INET, AF_INET6; -1 until a peer needs it */
        sd_event_source *io[2], *timer;
        uint64_t armed;              /* the timer's deadline, 0 when off */
        bool in_timer;               /* arm once, after the timer's own dispatch */
        netsnmp_large_fd_set fds;    /* both sockets set: what snmp_sess_read2 looks for */
        SnmpPeers peers;
        Prioq *deadlines;            /* sessions by their next resend or timeout,
                                      * CLOCK_MONOTONIC usec; room for all of them */
        const uint8_t *rx;           /* the datagram being handed to a session */
        size_t rx_len;
        uint8_t *rxbuf;              /* SNMP_RX_SLOTS of SNMP_RX_MAX */
        uint8_t *txbuf;              /* SNMPv2c requests are encoded here, from the end */
        uint32_t next_reqid;         /* only when getrandom() fails */
        uint32_t random[64];         /* request ids from getrandom(), used from the end */
        size_t n_random;
        char *source;                /* the address to bind, or NULL */
        uint64_t n_stray;            /* datagrams no waiting session was asked from */
        uint64_t n_reads;            /* reads of the sockets that found answers */
        unsigned corked;             /* snmp_engine_cork() calls not yet undone */
        uint64_t last_read;          /* CLOCK_MONOTONIC: the last read of the sockets */
        uint64_t read_at;            /* CLOCK_MONOTONIC: the sockets are read then, by the
                                      * timer (their io sources are off); 0 when not */
        SnmpTxQueue *tx[2];          /* per socket; NULL until a cork needs it */
        uint64_t n_sendmmsg;         /* sendmmsg(2) calls, for the tests */
        SnmpOidList *last_oid_list;  /* the list made last, shared when asked again;
                                      * not a reference */
};

/* snmp.c */
SnmpEngine *snmp_engine_ref(SnmpEngine *eng);
long snmp_engine_reqid(SnmpEngine *eng);
void snmp_engine_arm(SnmpEngine *eng);
/* Sends a datagram on the socket of the peer's family, or queues it while
 * the engine is corked. A full socket buffer loses the datagram as the
 * network would (0); another failure of a send at once is -errno; a queued
 * datagram that cannot be sent at the uncork is lost likewise (its request
 * times out). */
int snmp_engine_send(SnmpEngine *eng, const void *buf, size_t len, const PeerAddr *to,
                     socklen_t to_len);
SnmpSession *snmp_peers_find(const SnmpPeers *p, const PeerKey *k, SnmpSession *after);
bool snmp_oid_list_match(const SnmpOidList *l, size_t i, const oid *b, size_t len);
void snmp_take_answer(SnmpSession *s, netsnmp_pdu *pdu);
void snmp_session_finish(SnmpSession *s, const char *error);
void snmp_session_process(SnmpSession *s);

/* snmp-v2c.c */
int snmp_v2c_open(SnmpSession *s, const SnmpTarget *t, char err[static SNMP_ERROR_MAX]);
int snmp_v2c_get(SnmpSession *s);
void snmp_v2c_timeout(SnmpSession *s);
netsnmp_pdu *snmp_v2c_parse(uint8_t *data, size_t len);
bool snmp_v2c_deliver(SnmpEngine *eng, const PeerKey *key, netsnmp_pdu *pdu);

/* snmp-v3.c */
int snmp_v3_open(SnmpSession *s, const SnmpTarget *t, int fd, char err[static SNMP_ERROR_MAX]);
void snmp_v3_close(SnmpSession *s);
int snmp_v3_get(SnmpSession *s);
void snmp_v3_timeout(SnmpSession *s);
void snmp_v3_discovered(SnmpSession *s);
bool snmp_v3_deliver(SnmpEngine *eng, const PeerKey *key, uint8_t *data, size_t len);
