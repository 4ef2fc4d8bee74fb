/* SPDX-License-Identifier: MIT */
/*
 * floor: the practical floor for fieldwatch's probes, for the benchmark.
 *
 * The least a C program has to do to probe the same targets the same way:
 *
 *   floor camera --targets FILE --interval MS [--timeout MS] [--duration S]
 *       ONVIF GetSystemDateAndTime (SOAP 1.2 POST) to http://ADDR:PORT/onvif/device_service
 *       of every target once per interval, over libcurl's multi_socket interface on
 *       epoll, one easy handle per target and one kept-alive connection per target
 *       (--max-connections 0: libcurl's default cache, a few); each answer is
 *       parsed by libxml2 (a reused parser context, no network, no DTD) down to
 *       tt:UTCDateTime, as fieldwatch does.
 *   floor snmp --targets FILE --interval MS --community C [--timeout MS] [--retries N]
 *       One SNMPv2c GET of sysUpTime.0, ifOperStatus.1, 1.3.6.1.4.1.99999.1.1.0 and
 *       .1.2.0 to every target once per interval, over net-snmp's single-session API
 *       (one session per target, its socket on epoll), the values copied out.
 *
 * FILE has one "ADDRESS:PORT" per line. The targets are spread evenly over the
 * interval (target i is due at i * interval / N, then every interval); a target
 * still busy when it is due again skips that turn. No state is written and no
 * result is judged: that is the point of a floor.
 *
 * Runs until SIGTERM or SIGINT (or --duration seconds), then prints one JSON line
 * to stdout: {"mode", "targets", "sent", "ok", "failed", "skipped", "late_max_us"}.
 * Exit status 0, 1 on a setup failure, 2 on wrong usage.
 */

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <net-snmp/net-snmp-config.h>
#include <net-snmp/net-snmp-includes.h>
#include <net-snmp/library/large_fd_set.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define USEC_PER_MSEC 1000ULL
#define USEC_PER_SEC 1000000ULL
#define TARGETS_MAX 100000
#define BODY_MAX (256 * 1024)
#define EPOLL_BATCH 256

#define NS_SOAP_ENV "http://www.w3.org/2003/05/soap-envelope"
#define NS_TDS "http://www.onvif.org/ver10/device/wsdl"
#define NS_TT "http://www.onvif.org/ver10/schema"

static const char soap_request[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<s:Envelope xmlns:s=\"" NS_SOAP_ENV "\"><s:Body>"
        "<GetSystemDateAndTime xmlns=\"" NS_TDS "\"/>"
        "</s:Body></s:Envelope>";

typedef enum Mode {
        MODE_CAMERA,
        MODE_SNMP,
} Mode;

typedef struct Target Target;

struct Target {
        char address[64];
        unsigned port;
        bool busy;
        uint64_t sent_at;
        /* camera */
        CURL *easy;
        char *body;
        size_t body_len, body_cap;
        bool too_large;
        /* snmp */
        void *sessp;
        int fd;
        long values[4];               /* the last answer's, copied out as a poller would */
        uint64_t check_at;            /* next snmp_sess_timeout() */
        Target *prev, *next;          /* in the FIFO of outstanding requests */
};

typedef struct Stats {
        uint64_t sent, ok, failed, skipped, late_max_us;
} Stats;

static struct {
        Mode mode;
        Target *targets;
        size_t n;
        uint64_t interval, timeout;
        unsigned retries;
        long max_connections;         /* -1: one per camera */
        long dns_cache_timeout;       /* -2: libcurl's default */
        const char *community;
        int epoll_fd;
        CURLM *multi;
        struct curl_slist *headers;
        xmlParserCtxtPtr xml;
        uint64_t curl_deadline;       /* 0: no curl timer armed */
        Target *fifo_head, *fifo_tail;
        Stats stats;
} g = { .epoll_fd = -1 };

static volatile sig_atomic_t quit;

static const oid snmp_oids[][12] = {
        { 1, 3, 6, 1, 2, 1, 1, 3, 0 },
        { 1, 3, 6, 1, 2, 1, 2, 2, 1, 8, 1 },
        { 1, 3, 6, 1, 4, 1, 99999, 1, 1, 0 },
        { 1, 3, 6, 1, 4, 1, 99999, 1, 2, 0 },
};
static const size_t snmp_oid_lens[] = { 9, 11, 10, 10 };
_Static_assert(ELEMENTSOF(snmp_oids) == ELEMENTSOF(((Target *) NULL)->values),
               "a value per OID");

/* ======================================================================== */

static uint64_t now_usec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void on_signal(int sig) {
        (void) sig;
        quit = 1;
}

static void probe_done(Target *t, bool ok) {
        t->busy = false;
        if (ok)
                g.stats.ok++;
        else
                g.stats.failed++;
}

/* ======================================================================== */
/* Cameras: libcurl multi_socket on epoll, libxml2 */

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        Target *t = userdata;
        size_t len = size * n;

        if (t->body_len + len > BODY_MAX) {
                t->too_large = true;
                return 0;
        }
        if (t->body_len + len + 1 > t->body_cap) {
                size_t cap = t->body_cap ? t->body_cap : 4096;
                char *b;

                while (cap < t->body_len + len + 1)
                        cap *= 2;
                b = realloc(t->body, cap);
                if (!b)
                        return 0;
                t->body = b;
                t->body_cap = cap;
        }
        memcpy(t->body + t->body_len, data, len);
        t->body_len += len;
        t->body[t->body_len] = 0;
        return len;
}

static const xmlNode *child(const xmlNode *n, const char *ns, const char *name) {
        for (const xmlNode *c = n ? n->children : NULL; c; c = c->next)
                if (c->type == XML_ELEMENT_NODE && c->ns &&
                    xmlStrEqual(c->ns->href, BAD_CAST ns) && xmlStrEqual(c->name, BAD_CAST name))
                        return c;
        return NULL;
}

static bool child_int(const xmlNode *n, const char *name, long *ret) {
        const xmlNode *c = child(n, NS_TT, name);
        char *end;

        if (!c || !c->children || c->children->type != XML_TEXT_NODE || !c->children->content)
                return false;
        errno = 0;
        *ret = strtol((const char *) c->children->content, &end, 10);
        return errno == 0 && *end == 0;
}

/* The answer down to tt:UTCDateTime, as the camera's clock. */
static bool parse_time_answer(const char *buf, size_t len, time_t *ret) {
        const xmlNode *root, *utc, *tm, *date;
        long h, mi, s, y, mo, d;
        struct tm t = {};
        xmlDoc *doc;
        bool ok = false;

        doc = xmlCtxtReadMemory(g.xml, buf, (int) len, NULL, NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
        if (!doc)
                return false;
        root = xmlDocGetRootElement(doc);
        if (root && root->ns && xmlStrEqual(root->ns->href, BAD_CAST NS_SOAP_ENV) &&
            !doc->intSubset) {
                utc = child(child(child(child(root, NS_SOAP_ENV, "Body"), NS_TDS,
                                        "GetSystemDateAndTimeResponse"),
                                  NS_TDS, "SystemDateAndTime"),
                            NS_TT, "UTCDateTime");
                tm = child(utc, NS_TT, "Time");
                date = child(utc, NS_TT, "Date");
                if (tm && date && child_int(tm, "Hour", &h) && child_int(tm, "Minute", &mi) &&
                    child_int(tm, "Second", &s) && child_int(date, "Year", &y) &&
                    child_int(date, "Month", &mo) && child_int(date, "Day", &d)) {
                        t = (struct tm) { .tm_year = (int) y - 1900, .tm_mon = (int) mo - 1,
                                          .tm_mday = (int) d, .tm_hour = (int) h,
                                          .tm_min = (int) mi, .tm_sec = (int) s };
                        *ret = timegm(&t);
                        ok = true;
                }
        }
        xmlFreeDoc(doc);
        return ok;
}

static void curl_drain(void) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(g.multi, &left))) {
                Target *t = NULL;
                long http = 0;
                time_t cam;
                bool ok;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &t);
                (void) curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &http);
                ok = msg->data.result == CURLE_OK && http == 200 && !t->too_large &&
                     parse_time_answer(t->body, t->body_len, &cam);
                (void) curl_multi_remove_handle(g.multi, msg->easy_handle);
                probe_done(t, ok);
        }
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        struct epoll_event ev = { .data.fd = fd };

        (void) easy;
        (void) userdata;
        if (what == CURL_POLL_REMOVE) {
                (void) epoll_ctl(g.epoll_fd, EPOLL_CTL_DEL, fd, NULL);
                return 0;
        }
        ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
        if (socketp)
                return epoll_ctl(g.epoll_fd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -1 : 0;
        if (epoll_ctl(g.epoll_fd, EPOLL_CTL_ADD, fd, &ev) < 0)
                return -1;
        /* Any non-NULL pointer: the socket is known to epoll. */
        return curl_multi_assign(g.multi, fd, &g) == CURLM_OK ? 0 : -1;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userdata) {
        (void) multi;
        (void) userdata;
        g.curl_deadline = timeout_ms < 0 ? 0 : now_usec() + (uint64_t) timeout_ms * USEC_PER_MSEC;
        return 0;
}

static int camera_setup(Target *t) {
        char url[128];
        long ms = (long) (g.timeout / USEC_PER_MSEC);

        (void) snprintf(url, sizeof(url), "http://%s:%u/onvif/device_service", t->address,
                        t->port);
        t->easy = curl_easy_init();
        if (!t->easy)
                return -ENOMEM;
        if (curl_easy_setopt(t->easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, ms) != CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, soap_request) != CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, (long) strlen(soap_request)) !=
                    CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, g.headers) != CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_WRITEFUNCTION, on_body) != CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_WRITEDATA, t) != CURLE_OK ||
            curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t) != CURLE_OK)
                return -EIO;
        if (g.dns_cache_timeout != -2 &&
            curl_easy_setopt(t->easy, CURLOPT_DNS_CACHE_TIMEOUT, g.dns_cache_timeout) != CURLE_OK)
                return -EIO;
        return 0;
}

static int camera_init(void) {
        g.headers = curl_slist_append(NULL, "Content-Type: application/soap+xml; charset=utf-8");
        if (g.headers)
                g.headers = curl_slist_append(g.headers, "Expect:");
        g.multi = curl_multi_init();
        g.xml = xmlNewParserCtxt();
        if (!g.headers || !g.multi || !g.xml)
                return -ENOMEM;
        /* Keep one idle connection per camera, as a poller that reuses them would
         * (--max-connections 0: libcurl's default, a few; no reuse at this scale). */
        if (g.max_connections != 0)
                (void) curl_multi_setopt(g.multi, CURLMOPT_MAXCONNECTS,
                                         g.max_connections < 0 ? (long) g.n : g.max_connections);
        (void) curl_multi_setopt(g.multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
        (void) curl_multi_setopt(g.multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
        for (size_t i = 0; i < g.n; i++)
                if (camera_setup(&g.targets[i]) < 0)
                        return -ENOMEM;
        return 0;
}

static void camera_start(Target *t) {
        int running;

        t->body_len = 0;
        t->too_large = false;
        if (curl_multi_add_handle(g.multi, t->easy) != CURLM_OK) {
                probe_done(t, false);
                return;
        }
        /* Let libcurl start it now rather than at the next timer. */
        (void) curl_multi_socket_action(g.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        curl_drain();
}

static void camera_io(int fd, uint32_t events) {
        int flags = 0, running;

        if (events & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (events & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (events & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(g.multi, fd, flags, &running);
        curl_drain();
}

static void camera_timers(uint64_t now) {
        int running;

        if (g.curl_deadline == 0 || now < g.curl_deadline)
                return;
        g.curl_deadline = 0;
        (void) curl_multi_socket_action(g.multi, CURL_SOCKET_TIMEOUT, 0, &running);
        curl_drain();
}

/* ======================================================================== */
/* Routers: net-snmp single-session API, one session per target, on epoll */

static void fifo_remove(Target *t) {
        if (t->prev)
                t->prev->next = t->next;
        else if (g.fifo_head == t)
                g.fifo_head = t->next;
        if (t->next)
                t->next->prev = t->prev;
        else if (g.fifo_tail == t)
                g.fifo_tail = t->prev;
        t->prev = t->next = NULL;
}

static void fifo_push(Target *t, uint64_t check_at) {
        t->check_at = check_at;
        t->prev = g.fifo_tail;
        t->next = NULL;
        if (g.fifo_tail)
                g.fifo_tail->next = t;
        else
                g.fifo_head = t;
        g.fifo_tail = t;
}

static int on_snmp_pdu(int op, netsnmp_session *session, int reqid, netsnmp_pdu *pdu,
                       void *magic) {
        Target *t = magic;
        netsnmp_variable_list *v;
        size_t i = 0;
        bool ok = false;

        (void) session;
        (void) reqid;
        if (!t->busy)
                return 1;
        if (op == NETSNMP_CALLBACK_OP_RECEIVED_MESSAGE && pdu->errstat == SNMP_ERR_NOERROR) {
                for (v = pdu->variables; v && i < ELEMENTSOF(snmp_oids);
                     v = v->next_variable, i++) {
                        if (v->type != ASN_INTEGER && v->type != ASN_TIMETICKS)
                                break;
                        t->values[i] = *v->val.integer;
                }
                ok = i == ELEMENTSOF(snmp_oids) && !v;
        }
        fifo_remove(t);
        probe_done(t, ok);
        return 1;
}

static int snmp_setup(Target *t) {
        netsnmp_session s;
        char peer[96];

        snmp_sess_init(&s);
        (void) snprintf(peer, sizeof(peer), "udp:%s:%u", t->address, t->port);
        s.peername = peer;
        s.version = SNMP_VERSION_2c;
        s.community = (u_char *) g.community;
        s.community_len = strlen(g.community);
        s.timeout = (long) g.timeout;
        s.retries = (int) g.retries;
        s.callback = on_snmp_pdu;
        s.callback_magic = t;
        t->sessp = snmp_sess_open(&s);
        if (!t->sessp)
                return -EIO;
        t->fd = snmp_sess_transport(t->sessp)->sock;
        return epoll_ctl(g.epoll_fd, EPOLL_CTL_ADD, t->fd,
                         &(struct epoll_event) { .events = EPOLLIN, .data.ptr = t }) < 0
                       ? -errno
                       : 0;
}

static int snmp_init(void) {
        /* No MIBs, no configuration files: numeric OIDs only, as fieldwatch. */
        (void) setenv("MIBS", "", 1);
        (void) setenv("MIBDIRS", "/nonexistent", 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_READ_CONFIGS, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DONT_PERSIST_STATE, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_LOAD, 1);
        netsnmp_ds_set_boolean(NETSNMP_DS_LIBRARY_ID, NETSNMP_DS_LIB_DISABLE_PERSISTENT_SAVE, 1);
        init_snmp("fieldwatch-bench-floor");
        for (size_t i = 0; i < g.n; i++)
                if (snmp_setup(&g.targets[i]) < 0)
                        return -EIO;
        return 0;
}

static void snmp_start(Target *t, uint64_t now) {
        netsnmp_pdu *pdu = snmp_pdu_create(SNMP_MSG_GET);

        if (!pdu) {
                probe_done(t, false);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(snmp_oids); i++)
                (void) snmp_add_null_var(pdu, snmp_oids[i], snmp_oid_lens[i]);
        if (snmp_sess_send(t->sessp, pdu) == 0) {
                snmp_free_pdu(pdu);
                probe_done(t, false);
                return;
        }
        fifo_push(t, now + g.timeout);
}

static void snmp_io(Target *t) {
        netsnmp_large_fd_set fds;

        netsnmp_large_fd_set_init(&fds, t->fd + 1);
        NETSNMP_LARGE_FD_SET(t->fd, &fds);
        (void) snmp_sess_read2(t->sessp, &fds);
        netsnmp_large_fd_set_cleanup(&fds);
}

/* When net-snmp wants to look at the session's request again. */
static uint64_t snmp_next_timeout(Target *t) {
        netsnmp_large_fd_set fds;
        struct timeval tv = {};
        int n = 0, block = 1;

        netsnmp_large_fd_set_init(&fds, t->fd + 1);
        (void) snmp_sess_select_info2(t->sessp, &n, &fds, &tv, &block);
        netsnmp_large_fd_set_cleanup(&fds);
        if (block)
                return g.timeout;
        return (uint64_t) tv.tv_sec * USEC_PER_SEC + (uint64_t) tv.tv_usec + 1;
}

/* The outstanding requests are in sending order and share one timeout, so only
 * the head can be due: net-snmp resends or calls back with a timeout. */
static void snmp_timers(uint64_t now) {
        while (g.fifo_head && g.fifo_head->check_at <= now) {
                Target *t = g.fifo_head;

                fifo_remove(t);
                snmp_sess_timeout(t->sessp);
                if (t->busy)
                        fifo_push(t, now + snmp_next_timeout(t));
        }
}

/* ======================================================================== */

static int read_targets(const char *path) {
        char line[256];
        size_t cap = 0;
        FILE *f = fopen(path, "re");

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char *colon = strrchr(line, ':');
                Target *t;

                if (line[0] == '#' || line[0] == '\n')
                        continue;
                if (!colon || g.n >= TARGETS_MAX) {
                        (void) fclose(f);
                        return -EINVAL;
                }
                if (g.n == cap) {
                        cap = cap ? cap * 2 : 1024;
                        t = realloc(g.targets, cap * sizeof(Target));
                        if (!t) {
                                (void) fclose(f);
                                return -ENOMEM;
                        }
                        g.targets = t;
                }
                t = &g.targets[g.n++];
                *t = (Target) { .port = (unsigned) strtoul(colon + 1, NULL, 10), .fd = -1 };
                *colon = 0;
                (void) snprintf(t->address, sizeof(t->address), "%s", line);
        }
        (void) fclose(f);
        return g.n > 0 ? 0 : -EINVAL;
}

static void start_probe(Target *t, uint64_t due, uint64_t now) {
        if (t->busy) {
                g.stats.skipped++;
                return;
        }
        if (now - due > g.stats.late_max_us)
                g.stats.late_max_us = now - due;
        t->busy = true;
        t->sent_at = now;
        g.stats.sent++;
        if (g.mode == MODE_CAMERA)
                camera_start(t);
        else
                snmp_start(t, now);
}

static int run(uint64_t duration) {
        struct epoll_event events[EPOLL_BATCH];
        uint64_t start = now_usec(), end = duration ? start + duration : UINT64_MAX;
        uint64_t round = start;
        size_t cursor = 0;

        while (!quit) {
                uint64_t now = now_usec(), due, wake;
                int n, timeout_ms;

                if (now >= end)
                        break;
                /* Target cursor is due at round + cursor * interval / N. */
                for (;;) {
                        due = round + g.interval * cursor / g.n;
                        if (due > now)
                                break;
                        start_probe(&g.targets[cursor], due, now);
                        if (++cursor == g.n) {
                                cursor = 0;
                                round += g.interval;
                        }
                }
                wake = due;
                if (g.mode == MODE_CAMERA && g.curl_deadline && g.curl_deadline < wake)
                        wake = g.curl_deadline;
                if (g.mode == MODE_SNMP && g.fifo_head && g.fifo_head->check_at < wake)
                        wake = g.fifo_head->check_at;
                if (end < wake)
                        wake = end;
                timeout_ms = wake > now ? (int) ((wake - now + 999) / 1000) : 0;
                n = epoll_wait(g.epoll_fd, events, EPOLL_BATCH, timeout_ms);
                if (n < 0 && errno != EINTR)
                        return -errno;
                for (int i = 0; i < n; i++) {
                        if (g.mode == MODE_CAMERA)
                                camera_io(events[i].data.fd, events[i].events);
                        else
                                snmp_io(events[i].data.ptr);
                }
                now = now_usec();
                if (g.mode == MODE_CAMERA)
                        camera_timers(now);
                else
                        snmp_timers(now);
        }
        return 0;
}

static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
}

static void usage(FILE *f) {
        fputs("usage: floor camera|snmp --targets FILE --interval MS [--timeout MS]\n"
              "             [--retries N] [--community C] [--duration S]\n"
              "             [--max-connections N (camera; default one per target, 0: curl's)]\n"
              "             [--dns-cache-timeout S (camera; default curl's)]\n",
              f);
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "targets", required_argument, NULL, 't' },
                { "interval", required_argument, NULL, 'i' },
                { "timeout", required_argument, NULL, 'T' },
                { "retries", required_argument, NULL, 'r' },
                { "community", required_argument, NULL, 'c' },
                { "duration", required_argument, NULL, 'd' },
                { "max-connections", required_argument, NULL, 'm' },
                { "dns-cache-timeout", required_argument, NULL, 'D' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        const char *targets = NULL;
        uint64_t duration = 0;
        int c, r;

        g.timeout = 2 * USEC_PER_SEC;
        g.retries = 1;
        g.max_connections = -1;
        g.dns_cache_timeout = -2;
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 't':
                        targets = optarg;
                        break;
                case 'i':
                        g.interval = strtoull(optarg, NULL, 10) * USEC_PER_MSEC;
                        break;
                case 'T':
                        g.timeout = strtoull(optarg, NULL, 10) * USEC_PER_MSEC;
                        break;
                case 'r':
                        g.retries = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'c':
                        g.community = optarg;
                        break;
                case 'd':
                        duration = strtoull(optarg, NULL, 10) * USEC_PER_SEC;
                        break;
                case 'm':
                        g.max_connections = strtol(optarg, NULL, 10);
                        break;
                case 'D':
                        g.dns_cache_timeout = strtol(optarg, NULL, 10);
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        if (optind + 1 != argc || !targets || g.interval == 0 || g.timeout == 0) {
                usage(stderr);
                return 2;
        }
        if (strcmp(argv[optind], "camera") == 0)
                g.mode = MODE_CAMERA;
        else if (strcmp(argv[optind], "snmp") == 0 && g.community)
                g.mode = MODE_SNMP;
        else {
                usage(stderr);
                return 2;
        }
        raise_nofile();
        r = read_targets(targets);
        if (r < 0) {
                fprintf(stderr, "floor: %s: %s\n", targets, strerror(-r));
                return 1;
        }
        (void) signal(SIGTERM, on_signal);
        (void) signal(SIGINT, on_signal);
        (void) signal(SIGPIPE, SIG_IGN);
        g.epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        if (g.epoll_fd < 0)
                return 1;
        if (g.mode == MODE_CAMERA) {
                xmlInitParser();
                r = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? camera_init() : -EIO;
        } else
                r = snmp_init();
        if (r < 0) {
                fprintf(stderr, "floor: cannot set up %zu targets: %s\n", g.n, strerror(-r));
                return 1;
        }
        r = run(duration);
        if (r < 0) {
                fprintf(stderr, "floor: epoll_wait: %s\n", strerror(-r));
                return 1;
        }
        printf("{\"mode\": \"%s\", \"targets\": %zu, \"sent\": %" PRIu64 ", \"ok\": %" PRIu64
               ", \"failed\": %" PRIu64 ", \"skipped\": %" PRIu64 ", \"late_max_us\": %" PRIu64
               "}\n",
               g.mode == MODE_CAMERA ? "camera" : "snmp", g.n, g.stats.sent, g.stats.ok,
               g.stats.failed, g.stats.skipped, g.stats.late_max_us);
        return 0;
}
