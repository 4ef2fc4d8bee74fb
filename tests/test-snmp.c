/* SPDX-License-Identifier: MIT */

/* The SNMP glue's data structures and its shared socket: the deadline queue,
 * the table of peers, the shared OID lists, and answers as a field sends
 * them: from the wrong address, late, twice, out of order, for another
 * session. probes/snmp.c, snmp-v2c.c and snmp-v3.c are compiled in (as
 * chrony's unit tests do) to reach their statics; the "agents" are plain UDP
 * sockets in this process that answer with hand-encoded SNMPv2c responses. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "snmp.c"
#include "snmp-v2c.c"
#include "snmp-v3.c"

/* ======================================================================== */
/* The deadlines: the program's priority queue (tests/test-prioq.c), with
 * the sessions' own index */

static void test_deadlines_order(void **state) {
        enum { N = 300 };
        SnmpSession *s = calloc(N, sizeof(*s));
        Prioq *q = NULL;
        uint64_t last = 0, at;
        unsigned seed = 7;
        size_t popped = 0;
        SnmpSession *t;

        (void) state;
        assert_non_null(s);
        assert_int_equal(prioq_new(0, &q), 0);
        for (size_t i = 0; i < N; i++)
                assert_int_equal(prioq_put(q, &s[i], (uint64_t) (rand_r(&seed) % 1000) + 1,
                                           &s[i].deadline_idx),
                                 0);
        /* Move some, remove some (the ones in the middle of the array too). */
        for (size_t i = 0; i < N; i += 3)
                assert_int_equal(prioq_put(q, &s[i], (uint64_t) (rand_r(&seed) % 1000) + 1,
                                           &s[i].deadline_idx),
                                 0);
        for (size_t i = 1; i < N; i += 5)
                assert_true(prioq_remove(q, &s[i], &s[i].deadline_idx));
        assert_false(prioq_remove(q, &s[1], &s[1].deadline_idx)); /* twice: a no-op */
        assert_int_equal(prioq_size(q), N - N / 5);
        while ((t = prioq_peek(q, &at))) {
                assert_true(at >= last);
                last = at;
                assert_true(prioq_remove(q, t, &t->deadline_idx));
                assert_int_equal(t->deadline_idx, PRIOQ_IDX_NULL);
                popped++;
        }
        assert_int_equal(popped, N - N / 5);
        for (size_t i = 0; i < N; i++)
                assert_int_equal(s[i].deadline_idx, PRIOQ_IDX_NULL);
        prioq_free(q);
        free(s);
}

/* ======================================================================== */
/* The peers */

static void set_peer(SnmpSession *s, const char *ip, uint16_t port) {
        struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(port) };

        assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
        memcpy(&s->addr.in, &in, sizeof(in));
        s->addr_len = sizeof(in);
        assert_int_equal(peer_key(&s->addr.sa, s->addr_len, &s->key), 0);
}

static void test_peers(void **state) {
        enum { N = 1000 };
        SnmpSession *s = calloc(N + 1, sizeof(*s));
        SnmpPeers p = {};
        PeerKey k;
        size_t found;

        (void) state;
        assert_non_null(s);
        for (size_t i = 0; i < N; i++) {
                char ip[32];

                (void) snprintf(ip, sizeof(ip), "127.21.%zu.%zu", i / 250, i % 250 + 1);
                set_peer(&s[i], ip, 16161);
                assert_int_equal(peers_add(&p, &s[i]), 0);
        }
        /* A second device at the address of the 500th. */
        set_peer(&s[N], "127.21.2.1", 16161);
        assert_int_equal(peers_add(&p, &s[N]), 0);
        assert_true(p.n_buckets >= p.n);
        for (size_t i = 0; i < N; i++) {
                SnmpSession *f = snmp_peers_find(&p, &s[i].key, NULL);

                assert_non_null(f);
                assert_memory_equal(&f->key, &s[i].key, sizeof(k));
        }
        found = 0;
        for (SnmpSession *f = snmp_peers_find(&p, &s[N].key, NULL); f;
             f = snmp_peers_find(&p, &s[N].key, f))
                found++;
        assert_int_equal(found, 2);
        /* Same address, another port: nobody. */
        set_peer(&s[N], "127.21.2.1", 16162);
        k = s[N].key;
        assert_null(snmp_peers_find(&p, &k, NULL));
        set_peer(&s[N], "127.21.2.1", 16161);

        peers_remove(&p, &s[500]);
        found = 0;
        for (SnmpSession *f = snmp_peers_find(&p, &s[N].key, NULL); f;
             f = snmp_peers_find(&p, &s[N].key, f)) {
                assert_ptr_equal(f, &s[N]);
                found++;
        }
        assert_int_equal(found, 1);
        assert_int_equal(p.n, N);
        free(p.buckets);
        free(s);
}

/* ======================================================================== */
/* The OID lists */

static void test_oid_list_shared(void **state) {
        SnmpEngine eng = {};
        SnmpOid o[3];
        SnmpOidList *a, *b, *c, *d;

        (void) state;
        assert_int_equal(snmp_oid_parse("1.3.6.1.2.1.1.3.0", &o[0]), 0);
        assert_int_equal(snmp_oid_parse("1.3.6.1.2.1.2.2.1.8.1", &o[1]), 0);
        assert_int_equal(snmp_oid_parse("1.3.6.1.4.1.99999.1.1.0", &o[2]), 0);
        assert_int_equal(snmp_oid_list_new(&eng, o, 3, &a), 0);
        assert_int_equal(snmp_oid_list_new(&eng, o, 3, &b), 0);
        assert_ptr_equal(a, b);
        assert_ptr_equal(eng.last_oid_list, a);
        /* Without an engine, nothing is shared. */
        assert_int_equal(snmp_oid_list_new(NULL, o, 3, &d), 0);
        assert_ptr_not_equal(a, d);
        assert_null(d->engine);
        snmp_oid_list_unref(d);
        assert_int_equal(a->n_ref, 2);
        assert_int_equal(snmp_oid_list_size(a), 3);
        {
                const oid want[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 1 };

                assert_true(snmp_oid_list_match(a, 1, want, ELEMENTSOF(want)));
                assert_false(snmp_oid_list_match(a, 0, want, ELEMENTSOF(want)));
                assert_false(snmp_oid_list_match(a, 1, want, ELEMENTSOF(want) - 1));
        }
        /* Another interface: another list. */
        o[1].sub[o[1].len - 1] = 2;
        assert_int_equal(snmp_oid_list_new(&eng, o, 3, &c), 0);
        assert_ptr_not_equal(a, c);
        assert_int_equal(c->n_ref, 1);
        /* The last one made is the one shared now. */
        assert_ptr_equal(eng.last_oid_list, c);
        assert_null(a->engine);
        snmp_oid_list_unref(c);
        assert_null(eng.last_oid_list);
        snmp_oid_list_unref(b);
        assert_int_equal(a->n_ref, 1);
        snmp_oid_list_unref(a);
        assert_null(eng.last_oid_list);
}

/* A list may outlive the engine it was made on (the engine goes with its
 * last session, the list with its last probe): neither points into freed
 * memory (the sanitizer build would say). */
static void test_oid_list_outlives_engine(void **state) {
        sd_event *e = NULL;
        SnmpEngine *eng = NULL;
        SnmpOid o;
        SnmpOidList *l, *m;

        (void) state;
        assert_int_equal(sd_event_new(&e), 0);
        assert_int_equal(snmp_engine_new(e, &eng), 0);
        assert_int_equal(snmp_oid_parse("1.3.6.1.2.1.1.3.0", &o), 0);
        assert_int_equal(snmp_oid_list_new(eng, &o, 1, &l), 0);
        assert_int_equal(snmp_oid_list_new(eng, &o, 1, &m), 0);
        assert_ptr_equal(l, m);
        assert_null(snmp_engine_unref(eng));
        assert_null(l->engine);
        snmp_oid_list_unref(m);
        snmp_oid_list_unref(l);
        /* And the other way round. */
        assert_int_equal(snmp_engine_new(e, &eng), 0);
        assert_int_equal(snmp_oid_list_new(eng, &o, 1, &l), 0);
        snmp_oid_list_unref(l);
        assert_null(eng->last_oid_list);
        snmp_engine_unref(eng);
        sd_event_unref(e);
}

/* ======================================================================== */
/* The SNMPv2c encoder, read back by net-snmp */

/* FNV-1a 64, the published test vectors: string answers compare by it. */
static void test_text_hash(void **state) {
        (void) state;
        assert_true(snmp_text_hash("", 0) == UINT64_C(0xcbf29ce484222325));
        assert_true(snmp_text_hash("a", 1) == UINT64_C(0xaf63dc4c8601ec8c));
        assert_true(snmp_text_hash("foobar", 6) == UINT64_C(0x85944171f73967e8));
        /* Every byte counts, NULs too. */
        assert_true(snmp_text_hash("rx220-site23", 12) != snmp_text_hash("rx220-site24", 12));
        assert_true(snmp_text_hash("a\0b", 3) != snmp_text_hash("a\0c", 3));
}

static void test_encode_roundtrip(void **state) {
        static const char *const texts[] = {
                "1.3.6.1.2.1.1.3.0", "1.3.6.1.4.1.4294967295.127.128.16383.16384.0",
                "2.999.1", "0.39", "1.3.6.1.4.1.1182.2.3.16.1.2.100",
        };
        SnmpOid o[ELEMENTSOF(texts)], bad;
        SnmpEngine eng = { .txbuf = malloc(SNMP_TX_MAX) };
        char community[200];
        SnmpSession s = { .engine = &eng, .community = community, .reqid = 0x3fffffff };
        const uint8_t *p;
        size_t len;
        netsnmp_variable_list *v;
        SnmpOidList *l;

        (void) state;
        assert_non_null(eng.txbuf);
        memset(community, 'c', sizeof(community)); /* a long one: two-byte lengths */
        s.community_len = sizeof(community);
        for (size_t i = 0; i < ELEMENTSOF(texts); i++)
                assert_int_equal(snmp_oid_parse(texts[i], &o[i]), 0);
        assert_int_equal(snmp_oid_list_new(NULL, o, ELEMENTSOF(o), &l), 0);
        s.oids = l;
        s.first = 1;
        s.n = ELEMENTSOF(o) - 1;
        assert_int_equal(v2c_encode(&s, &p, &len), 0);
        {
                u_char buf[1024], got_community[COMMUNITY_MAX_LEN];
                size_t n = len, got_len = sizeof(got_community);
                long version = -1;
                netsnmp_pdu *pdu = snmp_pdu_create(0);
                u_char *q;

                assert_true(len <= sizeof(buf));
                memcpy(buf, p, len);
                q = snmp_comstr_parse(buf, &n, got_community, &got_len, &version);
                assert_non_null(q);
                assert_int_equal(version, SNMP_VERSION_2c);
                assert_int_equal(got_len, sizeof(community));
                assert_memory_equal(got_community, community, sizeof(community));
                pdu->version = SNMP_VERSION_2c;
                assert_int_equal(snmp_pdu_parse(pdu, q, &n), 0);
                assert_int_equal(pdu->command, SNMP_MSG_GET);
                assert_int_equal(pdu->reqid, 0x3fffffff);
                v = pdu->variables;
                for (size_t i = 1; i < ELEMENTSOF(o); i++, v = v->next_variable) {
                        assert_non_null(v);
                        assert_int_equal(v->type, ASN_NULL);
                        assert_true(snmp_oid_list_match(l, i, v->name, v->name_length));
                }
                assert_null(v);
                snmp_free_pdu(pdu);
        }
        snmp_oid_list_unref(l);
        /* An OID BER cannot say (first arc 3) is refused, not sent garbled. */
        assert_int_equal(snmp_oid_parse("3.1.2", &bad), 0);
        assert_int_equal(snmp_oid_list_new(NULL, &bad, 1, &l), 0);
        s.oids = l;
        s.first = 0;
        s.n = 1;
        assert_int_equal(v2c_encode(&s, &p, &len), -EINVAL);
        snmp_oid_list_unref(l);
        free(eng.txbuf);
}

/* ======================================================================== */
/* Agents: UDP sockets that answer by hand */

typedef struct Agent {
        int fd;
        uint16_t port;
} Agent;

static Agent agent_new(const char *ip) {
        struct sockaddr_in in = { .sin_family = AF_INET };
        socklen_t len = sizeof(in);
        Agent a;

        assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
        a.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        assert_true(a.fd >= 0);
        assert_int_equal(bind(a.fd, (struct sockaddr *) &in, sizeof(in)), 0);
        assert_int_equal(getsockname(a.fd, (struct sockaddr *) &in, &len), 0);
        a.port = ntohs(in.sin_port);
        return a;
}

/* Reads a TLV at *p: its tag and content; *p moves past it. */
static const uint8_t *ber_next(const uint8_t **p, const uint8_t *end, uint8_t *ret_tag,
                               size_t *ret_len) {
        const uint8_t *q = *p;
        size_t len;

        assert_true(end - q >= 2);
        *ret_tag = *q++;
        len = *q++;
        if (len & 0x80) {
                size_t n = len & 0x7f;

                assert_true(n >= 1 && n <= 2 && (size_t) (end - q) >= n);
                len = 0;
                while (n--)
                        len = len << 8 | *q++;
        }
        assert_true((size_t) (end - q) >= len);
        *ret_len = len;
        *p = q + len;
        return q;
}

/* Receives a GET; returns its request id and where it came from. */
static long agent_recv(const Agent *a, struct sockaddr_in *ret_from) {
        struct pollfd pfd = { .fd = a->fd, .events = POLLIN };
        uint8_t buf[2048], tag;
        const uint8_t *p, *end, *c;
        socklen_t fl = sizeof(*ret_from);
        size_t len;
        ssize_t n;
        long v = 0;

        assert_int_equal(poll(&pfd, 1, 2000), 1);
        n = recvfrom(a->fd, buf, sizeof(buf), 0, (struct sockaddr *) ret_from, &fl);
        assert_true(n > 0);
        p = buf;
        end = buf + n;
        c = ber_next(&p, end, &tag, &len);              /* Message */
        assert_int_equal(tag, 0x30);
        p = c;
        end = c + len;
        (void) ber_next(&p, end, &tag, &len);           /* version */
        assert_int_equal(tag, 0x02);
        (void) ber_next(&p, end, &tag, &len);           /* community */
        assert_int_equal(tag, 0x04);
        assert_memory_equal(p - len, "public", 6);
        {
                /* The whole PDU as net-snmp reads it: the two OIDs of the tests. */
                netsnmp_pdu *pdu = snmp_pdu_create(0);
                const oid up[] = { 1, 3, 6, 1, 2, 1, 1, 3, 0 },
                          oper[] = { 1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 1 };
                size_t rest = (size_t) (end - p);
                netsnmp_variable_list *var;

                assert_non_null(pdu);
                pdu->version = SNMP_VERSION_2c;
                assert_int_equal(snmp_pdu_parse(pdu, (u_char *) p, &rest), 0);
                assert_int_equal(pdu->command, SNMP_MSG_GET);
                var = pdu->variables;
                assert_non_null(var);
                assert_int_equal(var->type, ASN_NULL);
                assert_int_equal(snmp_oid_compare(var->name, var->name_length, up,
                                                  ELEMENTSOF(up)),
                                 0);
                var = var->next_variable;
                assert_non_null(var);
                assert_int_equal(snmp_oid_compare(var->name, var->name_length, oper,
                                                  ELEMENTSOF(oper)),
                                 0);
                assert_null(var->next_variable);
                snmp_free_pdu(pdu);
        }
        c = ber_next(&p, end, &tag, &len);              /* GetRequest-PDU */
        assert_int_equal(tag, 0xa0);
        p = c;
        c = ber_next(&p, end, &tag, &len);              /* request-id */
        assert_int_equal(tag, 0x02);
        for (size_t i = 0; i < len; i++)
                v = (long) ((unsigned long) v << 8) | c[i];
        if (len > 0 && len < sizeof(long) && (c[0] & 0x80))
                v -= 1L << (8 * len);
        return v;
}

typedef struct Buf {
        uint8_t b[512];
        size_t n;
} Buf;

static void put(Buf *b, const void *p, size_t n) {
        assert_true(b->n + n <= sizeof(b->b));
        memcpy(b->b + b->n, p, n);
        b->n += n;
}

static void put_tlv(Buf *b, uint8_t tag, const Buf *content) {
        uint8_t h[3] = { tag };

        assert_true(content->n < 256);
        if (content->n < 128) {
                h[1] = (uint8_t) content->n;
                put(b, h, 2);
        } else {
                h[1] = 0x81;
                h[2] = (uint8_t) content->n;
                put(b, h, 3);
        }
        put(b, content->b, content->n);
}

static void put_uint(Buf *b, uint8_t tag, long v) {
        Buf c = {};
        uint8_t x[9];
        int n = 0;

        /* Big-endian two's complement, minimal. */
        for (int i = 7; i >= 0; i--)
                x[n++] = (uint8_t) ((unsigned long) v >> (8 * i));
        {
                int s = 0;

                while (s < 7 && ((x[s] == 0 && !(x[s + 1] & 0x80)) ||
                                 (x[s] == 0xff && (x[s + 1] & 0x80))))
                        s++;
                put(&c, x + s, (size_t) (8 - s));
        }
        put_tlv(b, tag, &c);
}

static void put_oid(Buf *b, const SnmpOid *o) {
        Buf c = {};
        uint8_t first = (uint8_t) (o->sub[0] * 40 + o->sub[1]);

        put(&c, &first, 1);
        for (size_t i = 2; i < o->len; i++) {
                uint8_t x[5];
                int n = 0;
                uint32_t v = o->sub[i];

                do
                        x[n++] = v & 0x7f;
                while ((v >>= 7));
                while (n--) {
                        uint8_t byte = (uint8_t) (x[n] | (n ? 0x80 : 0));

                        put(&c, &byte, 1);
                }
        }
        put_tlv(b, 0x06, &c);
}

/* A GetResponse of sysUpTime (ticks) and then oid2: an INTEGER 1, or the
 * OCTET STRING text when given. */
static Buf answer_datagram(long reqid, long ticks, const char *oid2, const char *text) {
        SnmpOid up, oper;
        Buf vb1 = {}, vb2 = {}, vbl = {}, pdu = {}, msg = {}, out = {};
        const Buf public = { .b = "public", .n = 6 };

        assert_int_equal(snmp_oid_parse("1.3.6.1.2.1.1.3.0", &up), 0);
        assert_int_equal(snmp_oid_parse(oid2, &oper), 0);
        put_oid(&vb1, &up);
        put_uint(&vb1, 0x43, ticks);
        put_oid(&vb2, &oper);
        if (text) {
                Buf str = { .n = strlen(text) };

                assert_true(str.n <= sizeof(str.b));
                memcpy(str.b, text, str.n);
                put_tlv(&vb2, 0x04, &str);
        } else
                put_uint(&vb2, 0x02, 1);
        put_tlv(&vbl, 0x30, &vb1);
        put_tlv(&vbl, 0x30, &vb2);
        put_uint(&pdu, 0x02, reqid);
        put_uint(&pdu, 0x02, 0);
        put_uint(&pdu, 0x02, 0);
        put_tlv(&pdu, 0x30, &vbl);
        put_uint(&msg, 0x02, 1);
        put_tlv(&msg, 0x04, &public);
        put_tlv(&msg, 0xa2, &pdu);
        put_tlv(&out, 0x30, &msg);
        return out;
}

/* Sends that answer from the socket fd to the engine's socket at to. */
static void agent_answer_with(int fd, const struct sockaddr_in *to, long reqid, long ticks,
                              const char *oid2, const char *text) {
        Buf out = answer_datagram(reqid, ticks, oid2, text);

        assert_int_equal(sendto(fd, out.b, out.n, 0, (const struct sockaddr *) to, sizeof(*to)),
                         (ssize_t) out.n);
}

static void agent_answer(int fd, const struct sockaddr_in *to, long reqid, long ticks) {
        agent_answer_with(fd, to, reqid, ticks, "1.3.6.1.2.1.2.2.1.8.1", NULL);
}

/* ======================================================================== */
/* Sessions on the shared socket */

typedef struct Done {
        unsigned calls;
        char error[SNMP_ERROR_MAX];
        SnmpValue values[2];
        uint64_t at;
} Done;

static void on_done(void *userdata, const char *error, const SnmpValue *values, size_t n) {
        Done *d = userdata;

        d->calls++;
        d->at = now_usec(CLOCK_MONOTONIC);
        (void) snprintf(d->error, sizeof(d->error), "%s", error ?: "");
        if (!error)
                memcpy(d->values, values, MIN(n, (size_t) 2) * sizeof(SnmpValue));
}

static void run_for(sd_event *e, uint64_t usec) {
        uint64_t until = now_usec(CLOCK_MONOTONIC) + usec;

        for (uint64_t now = now_usec(CLOCK_MONOTONIC); now < until; now = now_usec(CLOCK_MONOTONIC))
                assert_true(sd_event_run(e, until - now) >= 0);
}

typedef struct Env {
        sd_event *e;
        SnmpEngine *eng;
        SnmpConf conf;
        SnmpOidList *oids;
        SnmpValue values[4][2];
} Env;

static int env_setup(void **state) {
        Env *env = calloc(1, sizeof(*env));
        SnmpOid o[2];

        assert_non_null(env);
        assert_int_equal(sd_event_new(&env->e), 0);
        assert_int_equal(snmp_engine_new(env->e, &env->eng), 0);
        env->conf.version = SNMP_VERSION_V2C;
        assert_int_equal(snmp_oid_parse("1.3.6.1.2.1.1.3.0", &o[0]), 0);
        assert_int_equal(snmp_oid_parse("1.3.6.1.2.1.2.2.1.8.1", &o[1]), 0);
        assert_int_equal(snmp_oid_list_new(env->eng, o, 2, &env->oids), 0);
        *state = env;
        return 0;
}

static int env_teardown(void **state) {
        Env *env = *state;

        snmp_oid_list_unref(env->oids);
        /* Every session gone: the owner's reference is the last. */
        assert_int_equal(env->eng->n_ref, 1);
        assert_int_equal(env->eng->peers.n, 0);
        assert_int_equal(prioq_size(env->eng->deadlines), 0);
        assert_null(snmp_engine_unref(env->eng));
        sd_event_unref(env->e);
        free(env);
        return 0;
}

static SnmpSession *open_session_retries(Env *env, uint16_t port, uint64_t timeout,
                                         unsigned retries) {
        SnmpTarget t = {
                .address = "127.0.0.1",
                .port = port,
                .conf = &env->conf,
                .community = "public",
                .timeout = timeout,
                .retries = retries,
        };
        char err[SNMP_ERROR_MAX] = "";
        SnmpSession *s = NULL;

        assert_int_equal(snmp_session_new(env->eng, &t, &s, err), 0);
        return s;
}

static SnmpSession *open_session(Env *env, uint16_t port, uint64_t timeout) {
        return open_session_retries(env, port, timeout, 0);
}

/* Answers from the wrong address, with the wrong request id, twice, late
 * and out of order are all ignored; the right one is taken once. */
static void test_answers(void **state) {
        Env *env = *state;
        Agent a = agent_new("127.0.0.1"), wrong = agent_new("127.0.0.2");
        SnmpSession *s = open_session(env, a.port, 200 * USEC_PER_MSEC);
        struct sockaddr_in from;
        Done d = {};
        long reqid, old;

        /* Only one socket for however many sessions. */
        assert_ptr_equal(s->engine, env->eng);
        assert_true(env->eng->fd[0] >= 0);

        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d),
                         -EBUSY);
        reqid = agent_recv(&a, &from);

        /* The right request id from another address. */
        agent_answer(wrong.fd, &from, reqid, 111);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 0);
        assert_int_equal(env->eng->n_stray, 1);
        /* The right address, another request id. */
        agent_answer(a.fd, &from, reqid + 1000, 222);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 0);
        assert_int_equal(env->eng->n_stray, 2);
        /* The answer. */
        agent_answer(a.fd, &from, reqid, 333);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 1);
        assert_string_equal(d.error, "");
        assert_int_equal(d.values[0].type, SNMP_VALUE_TIMETICKS);
        assert_int_equal(d.values[0].unsigned_, 333);
        assert_int_equal(d.values[1].type, SNMP_VALUE_INTEGER);
        assert_int_equal(d.values[1].integer, 1);
        /* The caller's array holds them. */
        assert_int_equal(env->values[0][0].unsigned_, 333);
        /* Twice: nobody waits. */
        agent_answer(a.fd, &from, reqid, 444);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 1);
        assert_int_equal(d.values[0].unsigned_, 333);
        assert_int_equal(env->eng->n_stray, 3);
        assert_null(prioq_peek(env->eng->deadlines, NULL));

        /* No answer: a timeout, then the late answer is ignored. */
        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        old = agent_recv(&a, &from);
        assert_non_null(prioq_peek(env->eng->deadlines, NULL));
        run_for(env->e, 300 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 2);
        assert_non_null(strstr(d.error, "timeout"));
        assert_null(prioq_peek(env->eng->deadlines, NULL));

        /* Out of order: the late answer to the old request arrives while the
         * next one waits. */
        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        reqid = agent_recv(&a, &from);
        assert_true(reqid != old);
        agent_answer(a.fd, &from, old, 555);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 2);
        agent_answer(a.fd, &from, reqid, 666);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 3);
        assert_string_equal(d.error, "");
        assert_int_equal(d.values[0].unsigned_, 666);

        /* An answer for another OID than asked: an error, not a value. */
        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        reqid = agent_recv(&a, &from);
        agent_answer_with(a.fd, &from, reqid, 777, "1.3.6.1.2.1.2.2.1.8.2", NULL);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 4);
        assert_string_equal(d.error, "answer for another OID than requested");

        /* A string: its start for messages, its hash for comparing. */
        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        reqid = agent_recv(&a, &from);
        agent_answer_with(a.fd, &from, reqid, 888, "1.3.6.1.2.1.2.2.1.8.1",
                          "rx220-site24\001 and a tail longer than the text kept");
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 5);
        assert_string_equal(d.error, "");
        assert_int_equal(d.values[1].type, SNMP_VALUE_STRING);
        assert_string_equal(d.values[1].text, "rx220-site24\xef\xbf\xbd and ...");
        assert_true(d.values[1].unsigned_ ==
                    (unsigned long) snmp_text_hash("rx220-site24\001 and a tail longer than the "
                                                   "text kept", 50));

        /* UTF-8 kept, and cut between characters: 6 of 10 (18 bytes) and "...". */
        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        reqid = agent_recv(&a, &from);
        agent_answer_with(a.fd, &from, reqid, 999, "1.3.6.1.2.1.2.2.1.8.1",
                          "ルーター拠点二十四番");
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 6);
        assert_string_equal(d.values[1].text, "ルーター拠点...");

        snmp_session_free(s);
        (void) close(a.fd);
        (void) close(wrong.fd);
}

/* Several sessions, answered in reverse order, each gets its own; two
 * devices at one address are told apart by request id. */
static void test_many_sessions(void **state) {
        Env *env = *state;
        Agent a[3] = { agent_new("127.0.0.1"), agent_new("127.0.0.1"), agent_new("127.0.0.1") };
        SnmpSession *s[4];
        struct sockaddr_in from[4];
        long reqid[4];
        Done d[4] = {};

        for (size_t i = 0; i < 3; i++)
                s[i] = open_session(env, a[i].port, 1000 * USEC_PER_MSEC);
        s[3] = open_session(env, a[2].port, 1000 * USEC_PER_MSEC); /* a second at a[2] */
        assert_int_equal(env->eng->n_ref, 5); /* the owner's and the sessions' */
        assert_int_equal(env->eng->peers.n, 4);
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(snmp_session_get(s[i], env->oids, 0, 2, env->values[i], on_done,
                                                  &d[i]),
                                 0);
                reqid[i] = agent_recv(&a[MIN(i, (size_t) 2)], &from[i]);
        }
        /* s[2] first, while s[3] (at the same address, tried first) waits too. */
        for (size_t k = 0; k < 4; k++) {
                static const size_t order[] = { 2, 3, 1, 0 };
                size_t i = order[k];

                agent_answer(a[MIN(i, (size_t) 2)].fd, &from[i], reqid[i], 1000 + (long) i);
        }
        run_for(env->e, 50 * USEC_PER_MSEC);
        for (size_t i = 0; i < 4; i++) {
                assert_int_equal(d[i].calls, 1);
                assert_string_equal(d[i].error, "");
                assert_int_equal(d[i].values[0].unsigned_, 1000 + i);
        }
        assert_int_equal(env->eng->n_stray, 0);
        for (size_t i = 0; i < 4; i++)
                snmp_session_free(s[i]);
        for (size_t i = 0; i < 3; i++)
                (void) close(a[i].fd);
}

/* Answers that follow each other closely are read in batches
 * (SNMP_READ_WINDOW): the first at once, the next ones, arriving half a
 * millisecond apart while the loop waits, together at the window's end —
 * not a read each. All are delivered, none late by more than the window. */
static void test_answers_read_in_batches(void **state) {
        enum { N = 7 };
        Env *env = *state;
        Agent a = agent_new("127.0.0.1");
        SnmpSession *s[N];
        struct sockaddr_in from[N];
        long reqid[N];
        SnmpValue values[N][2];
        Done d[N] = {};
        Buf out[N];
        uint64_t t0;
        pid_t pid;
        int status;

        for (size_t i = 0; i < N; i++) {
                s[i] = open_session(env, a.port, 1000 * USEC_PER_MSEC);
                assert_int_equal(snmp_session_get(s[i], env->oids, 0, 2, values[i], on_done, &d[i]),
                                 0);
                reqid[i] = agent_recv(&a, &from[i]);
        }
        agent_answer(a.fd, &from[0], reqid[0], 1000);
        run_for(env->e, 2 * USEC_PER_MSEC);
        assert_int_equal(d[0].calls, 1);
        assert_int_equal(env->eng->n_reads, 1);
        /* The other answers, half a millisecond apart, from another process
         * while the loop waits for them (built here: the child only sends,
         * and says by its exit status whether every send went out). */
        for (size_t i = 1; i < N; i++)
                out[i] = answer_datagram(reqid[i], 1000 + (long) i, "1.3.6.1.2.1.2.2.1.8.1", NULL);
        t0 = now_usec(CLOCK_MONOTONIC);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                for (size_t i = 1; i < N; i++) {
                        (void) usleep(500);
                        if (sendto(a.fd, out[i].b, out[i].n, 0, (const struct sockaddr *) &from[i],
                                   sizeof(from[i])) != (ssize_t) out[i].n)
                                _exit(1);
                }
                _exit(0);
        }
        run_for(env->e, 60 * USEC_PER_MSEC);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        for (size_t i = 0; i < N; i++) {
                assert_int_equal(d[i].calls, 1);
                assert_string_equal(d[i].error, "");
                assert_int_equal(d[i].values[0].unsigned_, 1000 + i);
                if (i > 0)
                        assert_true(d[i].at > t0 && d[i].at - t0 < 50 * USEC_PER_MSEC);
        }
        /* Read at once, then one window (two or three, if a loaded machine
         * spread the answers past it); a read per answer would be N. */
        assert_in_range(env->eng->n_reads, 2, 4);
        for (size_t i = 0; i < N; i++)
                snmp_session_free(s[i]);
        (void) close(a.fd);
}

/* While the engine is corked (a slot of probes starting), the requests
 * wait; at the uncork they leave together, one sendmmsg(2) per
 * SNMP_TX_QUEUE. The answers are read once, at the end of the read window
 * (SNMP_READ_WINDOW) by the engine's timer, in recvmmsg(2) batches of
 * SNMP_RX_SLOTS, the last one short: every one reaches its session. */
static void test_corked_requests_leave_together(void **state) {
        enum { N = SNMP_TX_QUEUE + SNMP_RX_SLOTS / 2 + 1 };
        Env *env = *state;
        Agent a = agent_new("127.0.0.1");
        SnmpSession *s[N];
        struct sockaddr_in from[N];
        SnmpValue values[N][2];
        Done d[N] = {};
        uint8_t byte;
        uint64_t t_uncork;
        int enabled;

        assert_true(N % SNMP_RX_SLOTS != 0);
        snmp_engine_cork(env->eng);
        snmp_engine_cork(env->eng);   /* nested: the outer uncork sends */
        for (size_t i = 0; i < SNMP_TX_QUEUE; i++) {
                s[i] = open_session(env, a.port, 1000 * USEC_PER_MSEC);
                assert_int_equal(snmp_session_get(s[i], env->oids, 0, 2, values[i], on_done, &d[i]),
                                 0);
        }
        assert_int_equal(env->eng->n_sendmmsg, 0);
        assert_int_equal(recv(a.fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK), -1);
        assert_int_equal(errno, EAGAIN);
        /* The queue is full: the next request sends what waits first. */
        for (size_t i = SNMP_TX_QUEUE; i < N; i++) {
                s[i] = open_session(env, a.port, 1000 * USEC_PER_MSEC);
                assert_int_equal(snmp_session_get(s[i], env->oids, 0, 2, values[i], on_done, &d[i]),
                                 0);
        }
        assert_int_equal(env->eng->n_sendmmsg, 1);
        snmp_engine_uncork(env->eng);
        assert_int_equal(env->eng->n_sendmmsg, 1);
        t_uncork = now_usec(CLOCK_MONOTONIC);
        snmp_engine_uncork(env->eng);
        assert_int_equal(env->eng->n_sendmmsg, 2);
        /* A batch went out: its answers are read at the window's end, by the
         * timer, and the socket's io source rests till then. */
        assert_in_range(env->eng->read_at, t_uncork + SNMP_READ_WINDOW,
                        now_usec(CLOCK_MONOTONIC) + SNMP_READ_WINDOW);
        assert_true(sd_event_source_get_enabled(env->eng->io[0], &enabled) >= 0);
        assert_int_equal(enabled, SD_EVENT_OFF);
        for (size_t i = 0; i < N; i++) {
                long reqid = agent_recv(&a, &from[i]);
                size_t k;

                for (k = 0; k < N && s[k]->reqid != reqid; k++)
                        ;
                assert_true(k < N);
                agent_answer(a.fd, &from[i], reqid, 5000 + (long) k);
        }
        assert_int_equal(recv(a.fd, &byte, 1, MSG_DONTWAIT | MSG_PEEK), -1);
        run_for(env->e, 20 * USEC_PER_MSEC);
        for (size_t i = 0; i < N; i++) {
                assert_int_equal(d[i].calls, 1);
                assert_string_equal(d[i].error, "");
                assert_int_equal(d[i].values[0].unsigned_, 5000 + i);
                assert_true(d[i].at >= t_uncork + SNMP_READ_WINDOW);
        }
        assert_int_equal(env->eng->n_reads, 1);
        assert_int_equal(env->eng->n_stray, 0);
        assert_int_equal(env->eng->read_at, 0);
        assert_true(sd_event_source_get_enabled(env->eng->io[0], &enabled) >= 0);
        assert_int_equal(enabled, SD_EVENT_ON);
        /* Not corked: a request leaves at once. */
        assert_int_equal(snmp_session_get(s[0], env->oids, 0, 2, values[0], on_done, &d[0]), 0);
        assert_int_equal(env->eng->n_sendmmsg, 2);
        (void) agent_recv(&a, &from[0]);
        for (size_t i = 0; i < N; i++)
                snmp_session_free(s[i]);
        (void) close(a.fd);
}

/* One timer for all: the shorter timeout ends first, whatever the order of
 * the requests; a freed session's deadline goes with it. */
static void test_timeouts(void **state) {
        Env *env = *state;
        Agent a = agent_new("127.0.0.1");
        SnmpSession *slow = open_session(env, a.port, 300 * USEC_PER_MSEC),
                    *fast = open_session(env, a.port, 100 * USEC_PER_MSEC),
                    *gone = open_session(env, a.port, 50 * USEC_PER_MSEC);
        Done ds = {}, df = {}, dg = {};
        uint64_t start = now_usec(CLOCK_MONOTONIC);

        assert_int_equal(snmp_session_get(slow, env->oids, 0, 2, env->values[0], on_done, &ds), 0);
        assert_int_equal(snmp_session_get(fast, env->oids, 0, 2, env->values[1], on_done, &df), 0);
        assert_int_equal(snmp_session_get(gone, env->oids, 0, 2, env->values[2], on_done, &dg), 0);
        assert_int_equal(prioq_size(env->eng->deadlines), 3);
        assert_ptr_equal(prioq_peek(env->eng->deadlines, NULL), gone);
        gone = snmp_session_free(gone);
        assert_int_equal(prioq_size(env->eng->deadlines), 2);
        run_for(env->e, 450 * USEC_PER_MSEC);
        assert_int_equal(dg.calls, 0);
        assert_int_equal(df.calls, 1);
        assert_int_equal(ds.calls, 1);
        assert_true(df.at < ds.at);
        assert_true(df.at - start >= 100 * USEC_PER_MSEC);
        assert_true(ds.at - start >= 300 * USEC_PER_MSEC);
        assert_non_null(strstr(df.error, "no answer within 100ms"));
        assert_int_equal(prioq_size(env->eng->deadlines), 0);
        assert_int_equal(env->eng->armed, 0);
        snmp_session_free(slow);
        snmp_session_free(fast);
        (void) close(a.fd);
}

/* The timer is armed lazily (issue 18): a later deadline does not move it,
 * an answer does not either; when it fires with nothing due it arms for the
 * deadline left, and a timeout still ends on time. */
static void test_lazy_timer(void **state) {
        Env *env = *state;
        Agent a = agent_new("127.0.0.1");
        SnmpSession *first = open_session(env, a.port, 200 * USEC_PER_MSEC),
                    *second = open_session(env, a.port, 300 * USEC_PER_MSEC);
        struct sockaddr_in from;
        Done d1 = {}, d2 = {};
        uint64_t armed, start, deadline;
        long reqid;

        start = now_usec(CLOCK_MONOTONIC);
        assert_int_equal(snmp_session_get(first, env->oids, 0, 2, env->values[0], on_done, &d1),
                         0);
        reqid = agent_recv(&a, &from);
        armed = env->eng->armed;
        assert_true(armed != 0);
        assert_int_equal(snmp_session_get(second, env->oids, 0, 2, env->values[1], on_done, &d2),
                         0);
        (void) agent_recv(&a, &from);
        assert_int_equal(env->eng->armed, armed);
        agent_answer(a.fd, &from, reqid, 1);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d1.calls, 1);
        assert_string_equal(d1.error, "");
        /* Read at once (nothing read just before): no read window, and the
         * timer stays where it was, before the deadline left. */
        assert_int_equal(env->eng->read_at, 0);
        assert_int_equal(prioq_size(env->eng->deadlines), 1);
        assert_ptr_equal(prioq_peek(env->eng->deadlines, &deadline), second);
        assert_int_equal(env->eng->armed, armed);
        assert_true(armed < deadline);
        run_for(env->e, 450 * USEC_PER_MSEC);
        assert_int_equal(d2.calls, 1);
        assert_non_null(strstr(d2.error, "no answer within 300ms"));
        assert_true(d2.at - start >= 300 * USEC_PER_MSEC);
        assert_true(d2.at - start < 400 * USEC_PER_MSEC);
        assert_int_equal(env->eng->armed, 0);
        snmp_session_free(first);
        snmp_session_free(second);
        (void) close(a.fd);
}

/* A retry resends the same request: an answer to either try is taken; with
 * none, the error says retries were made. */
static void test_retries(void **state) {
        Env *env = *state;
        Agent a = agent_new("127.0.0.1");
        SnmpSession *s = open_session_retries(env, a.port, 100 * USEC_PER_MSEC, 1);
        struct sockaddr_in from;
        Done d = {};
        long first, second;

        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        first = agent_recv(&a, &from);
        run_for(env->e, 150 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 0);
        second = agent_recv(&a, &from);
        assert_int_equal(first, second);
        agent_answer(a.fd, &from, first, 777);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 1);
        assert_string_equal(d.error, "");
        assert_int_equal(d.values[0].unsigned_, 777);

        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        run_for(env->e, 300 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 2);
        assert_string_equal(d.error, "no answer within 100ms and retries (timeout)");
        (void) agent_recv(&a, &from);
        (void) agent_recv(&a, &from);
        snmp_session_free(s);
        (void) close(a.fd);
}

/* An answer that arrived while the loop was busy elsewhere, its deadline
 * passed since, is an answer, not a timeout. */
static void test_answer_waiting_at_deadline(void **state) {
        Env *env = *state;
        Agent a = agent_new("127.0.0.1");
        SnmpSession *s = open_session(env, a.port, 50 * USEC_PER_MSEC);
        struct sockaddr_in from;
        struct timespec ts = { .tv_nsec = 80 * 1000 * 1000 };
        Done d = {};
        long reqid;

        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        reqid = agent_recv(&a, &from);
        agent_answer(a.fd, &from, reqid, 888);
        (void) nanosleep(&ts, NULL);
        /* The timer's dispatch, before the socket's. */
        assert_int_equal(on_engine_timer(NULL, 0, env->eng), 0);
        assert_int_equal(d.calls, 1);
        assert_string_equal(d.error, "");
        assert_int_equal(d.values[0].unsigned_, 888);
        snmp_session_free(s);
        (void) close(a.fd);
}

/* The engine is its owner's and its sessions': dropped by its owner first,
 * it serves the sessions left, and goes with the last (the sanitizer build
 * would see a leak or a use after free). Without sessions it opens no
 * socket. */
static void test_engine_refs(void **state) {
        Env *env = *state;
        Agent a = agent_new("127.0.0.1");
        SnmpEngine *eng = NULL;
        SnmpConf conf = { .version = SNMP_VERSION_V2C };
        SnmpTarget t = {
                .address = "127.0.0.1",
                .port = a.port,
                .conf = &conf,
                .community = "public",
                .timeout = 1000 * USEC_PER_MSEC,
        };
        char err[SNMP_ERROR_MAX] = "";
        SnmpSession *s = NULL;
        struct sockaddr_in from;
        Done d = {};

        assert_int_equal(snmp_engine_new(env->e, &eng), 0);
        assert_int_equal(eng->fd[0], -1);
        assert_int_equal(eng->fd[1], -1);
        assert_int_equal(snmp_session_new(eng, &t, &s, err), 0);
        assert_true(eng->fd[0] >= 0);
        assert_int_equal(eng->n_ref, 2);
        assert_null(snmp_engine_unref(eng));
        assert_int_equal(s->engine->n_ref, 1);
        assert_int_equal(snmp_session_get(s, env->oids, 0, 2, env->values[0], on_done, &d), 0);
        agent_answer(a.fd, &from, agent_recv(&a, &from), 4242);
        run_for(env->e, 30 * USEC_PER_MSEC);
        assert_int_equal(d.calls, 1);
        assert_string_equal(d.error, "");
        assert_int_equal(d.values[0].unsigned_, 4242);
        snmp_session_free(s);
        (void) close(a.fd);
}

static void test_get_bounds(void **state) {
        Env *env = *state;
        SnmpSession *s = open_session(env, 9, 100 * USEC_PER_MSEC);
        Done d = {};

        assert_int_equal(snmp_session_get(s, env->oids, 0, 0, env->values[0], on_done, &d),
                         -EINVAL);
        assert_int_equal(snmp_session_get(s, env->oids, 1, 2, env->values[0], on_done, &d),
                         -EINVAL);
        assert_int_equal(snmp_session_get(s, env->oids, 3, 1, env->values[0], on_done, &d),
                         -EINVAL);
        assert_false(snmp_session_busy(s));
        snmp_session_free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_deadlines_order),
                cmocka_unit_test(test_peers),
                cmocka_unit_test(test_oid_list_shared),
                cmocka_unit_test(test_oid_list_outlives_engine),
                cmocka_unit_test(test_text_hash),
                cmocka_unit_test(test_encode_roundtrip),
                cmocka_unit_test_setup_teardown(test_answers, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(test_many_sessions, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(test_answers_read_in_batches, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(test_corked_requests_leave_together, env_setup,
                                                env_teardown),
                cmocka_unit_test_setup_teardown(test_timeouts, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(test_lazy_timer, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(test_retries, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(test_answer_waiting_at_deadline, env_setup,
                                                env_teardown),
                cmocka_unit_test_setup_teardown(test_engine_refs, env_setup, env_teardown),
                cmocka_unit_test_setup_teardown(test_get_bounds, env_setup, env_teardown),
        };

        snmp_library_init();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
