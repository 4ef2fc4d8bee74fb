/* SPDX-License-Identifier: MIT */

/* The web view's server (web.h): the listener (HTTPS and basic auth when not
 * on loopback), its routes, the JSON API, metrics and health, and the
 * Server-Sent Events that tell the pages to refetch. The HTML is rendered in
 * web-pages.c. */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "credentials.h"
#include "httpd.h"
#include "log.h"
#include "macro.h"
#include "store.h"
#include "timeutil.h"
#include "views.h"
#include "web-internal.h"

#define TICK (1 * USEC_PER_SEC)
#define CHANGE_DELAY (400 * USEC_PER_MSEC) /* after a change: the rows are flushed by then */
/* Ticks between SSE keep-alives: a connection waiting for data is not
 * watched by the server, so a client that left is found by writing to it. */
#define PING_EVERY 5
#define PEM_MAX (1024 * 1024)

struct SseClient {
        Web *web;
        HttpdStream *stream;
        SseClient *prev, *next;
};

/* ======================================================================== */
/* Helpers */

static int read_pem(const char *path, bool secret, char **ret) {
        struct stat st;
        char *buf;
        ssize_t n;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return log_errno(LOG_ERR, -errno, "http: cannot open %s", path);
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
            st.st_size > PEM_MAX) {
                (void) close(fd);
                log_error("http: %s is not a regular file of 1 byte to 1 MiB.", path);
                return -EINVAL;
        }
        if (secret && (st.st_mode & 0077)) {
                (void) close(fd);
                log_error("http: %s (tls_key) is readable by others (mode %04o): make it 0600.",
                          path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        buf = calloc(1, (size_t) st.st_size + 1);
        if (!buf) {
                (void) close(fd);
                return -ENOMEM;
        }
        n = read(fd, buf, (size_t) st.st_size);
        r = n < 0 ? -errno : 0;
        (void) close(fd);
        if (n != st.st_size) {
                free(buf);
                return log_errno(LOG_ERR, r ?: -EIO, "http: cannot read %s", path);
        }
        *ret = buf;
        return 0;
}

int web_store(Web *w, Store **ret) {
        int r;

        if (!w->store) {
                r = store_open_readonly(w->state_dir, &w->store);
                if (r < 0)
                        return r;
                /* On the loop: a lock that is not free now is a 503, never a wait. */
                store_set_busy_timeout(w->store, 0);
        }
        *ret = w->store;
        return 0;
}

/* Closes f (an open_memstream() over *buf and *size) and answers with it. */
int web_reply_memstream(HttpdRequest *q, const char *type, FILE *f, char **buf,
                        size_t *size) {
        int r;

        if (fclose(f) != 0) {
                free(*buf);
                return -ENOMEM;
        }
        (void) httpd_reply_header(q, "Cache-Control", "no-store");
        (void) httpd_reply_header(q, "X-Content-Type-Options", "nosniff");
        if (strncmp(type, "text/html", 9) == 0)
                /* Our own script and the page's style only; never in a frame. */
                (void) httpd_reply_header(q, "Content-Security-Policy",
                                          "default-src 'none'; script-src 'self'; "
                                          "connect-src 'self'; style-src 'unsafe-inline'; "
                                          "img-src 'self'; frame-ancestors 'none'");
        r = httpd_reply(q, 200, type, *buf, *size);
        free(*buf);
        return r;
}

int web_not_ready(HttpdRequest *q, int r) {
        return httpd_reply_error(q, 503, "the state cannot be read now: %s", strerror(-r));
}

/* ======================================================================== */
/* Server-Sent Events */

static void sse_closed(HttpdStream *s, void *userdata) {
        SseClient *c = userdata;
        Web *w = c->web;

        (void) s;
        if (c->prev)
                c->prev->next = c->next;
        else
                w->clients = c->next;
        if (c->next)
                c->next->prev = c->prev;
        w->n_clients--;
        free(c);
}

static int on_sse(HttpdRequest *q, void *userdata) {
        static const char hello[] = "retry: 3000\n: fieldwatch\n\n";
        /* A browser's EventSource gives up for good on any answer but 200:
         * the page is told to come back in 30 s, and the stream ends. */
        static const char full[] = "retry: 30000\n: too many live clients\n\n";
        Web *w = userdata;
        SseClient *c;
        int r;

        if (w->n_clients >= WEB_SSE_CLIENTS_MAX) {
                (void) httpd_reply_header(q, "Cache-Control", "no-cache");
                (void) httpd_reply_header(q, "Connection", "close");
                return httpd_reply(q, 200, "text/event-stream", full, strlen(full));
        }
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->web = w;
        (void) httpd_reply_header(q, "Cache-Control", "no-cache");
        r = httpd_reply_stream(q, 200, "text/event-stream", WEB_SSE_BUFFER_MAX, sse_closed, c,
                               &c->stream);
        if (r < 0) {
                free(c);
                return r;
        }
        c->next = w->clients;
        if (c->next)
                c->next->prev = c;
        w->clients = c;
        w->n_clients++;
        (void) httpd_stream_write(c->stream, hello, strlen(hello));
        return 0;
}

static void sse_broadcast(Web *w, const char *msg) {
        for (SseClient *c = w->clients; c; c = c->next)
                /* A client too slow to take it is dropped by the server. */
                (void) httpd_stream_write(c->stream, msg, strlen(msg));
}

static int on_change(sd_event_source *s, uint64_t usec, void *userdata) {
        Web *w = userdata;
        char msg[64];

        (void) s;
        (void) usec;
        (void) snprintf(msg, sizeof(msg), "event: change\ndata: %" PRIu64 "\n\n", w->generation);
        sse_broadcast(w, msg);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        Web *w = userdata;
        uint64_t g;

        (void) sd_event_source_set_time(s, usec + TICK);
        if (!w->monitor)
                return 0;
        g = monitor_generation(w->monitor);
        if (g != w->generation) {
                w->generation = g;
                /* The rows are written within the monitor's flush delay. */
                (void) sd_event_source_set_time_relative(w->change, CHANGE_DELAY);
                (void) sd_event_source_set_enabled(w->change, SD_EVENT_ONESHOT);
        }
        if (++w->ticks % PING_EVERY == 0)
                sse_broadcast(w, ": ping\n\n");
        return 0;
}

/* ======================================================================== */
/* The API, metrics, health */

static int reply_view(HttpdRequest *q, int r, json_t *j) {
        if (r < 0)
                return web_not_ready(q, r);
        (void) httpd_reply_header(q, "Cache-Control", "no-store");
        return httpd_reply_json(q, 200, j);
}

static int on_api_status(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        json_t *j = NULL;
        Store *s;
        int r;

        r = web_store(w, &s);
        if (r >= 0)
                r = views_status(s, &j);
        return reply_view(q, r, j);
}

static int on_api_faults(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        const char *open = httpd_request_query(q, "open");
        json_t *j = NULL;
        Store *s;
        int r;

        if (open && !streq(open, "0") && !streq(open, "1") && !streq(open, ""))
                return httpd_reply_error(q, 400, "open: expected 0 or 1");
        r = web_store(w, &s);
        if (r >= 0)
                r = views_faults(s, open && !streq(open, "0"), &j);
        return reply_view(q, r, j);
}

static int on_api_deadlines(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        const char *from_s = httpd_request_query(q, "from"), *to_s = httpd_request_query(q, "to");
        time_t now = wallclock_now();
        json_t *j = NULL;
        Day from, to;
        Store *s;
        int sec, r;

        if (!w->config || !w->calendar)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        if (from_s && parse_iso_date(from_s, &from) < 0)
                return httpd_reply_error(q, 400, "from: expected YYYY-MM-DD");
        if (to_s && parse_iso_date(to_s, &to) < 0)
                return httpd_reply_error(q, 400, "to: expected YYYY-MM-DD");
        if (!from_s && local_from_instant(now, &from, &sec) < 0)
                return -EIO;
        if (!to_s)
                to = from + 365;
        if (to < from)
                return httpd_reply_error(q, 400, "to is before from");
        r = web_store(w, &s);
        if (r >= 0)
                r = views_deadlines(w->config, w->calendar, s, from, to, now, &j);
        return reply_view(q, r, j);
}

static int parse_uint(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s[0] || s[0] < '0' || s[0] > '9')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static int on_api_events(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        const char *since_s = httpd_request_query(q, "since");
        const char *limit_s = httpd_request_query(q, "limit");
        uint64_t since = 0, limit = 0;
        json_t *j = NULL;
        Store *s;
        int r;

        if (since_s && parse_uint(since_s, INT64_MAX, &since) < 0)
                return httpd_reply_error(q, 400, "since: expected an event id");
        if (limit_s && (parse_uint(limit_s, VIEWS_EVENTS_MAX, &limit) < 0 || limit == 0))
                return httpd_reply_error(q, 400, "limit: expected 1-%u", VIEWS_EVENTS_MAX);
        r = web_store(w, &s);
        if (r >= 0)
                r = views_events(s, (int64_t) since, (unsigned) limit, &j);
        return reply_view(q, r, j);
}

static int on_metrics(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        char *buf = NULL;
        size_t size = 0;
        FILE *f;

        if (!w->monitor)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        monitor_write_prometheus(w->monitor, f);
        return web_reply_memstream(q, "text/plain; version=0.0.4; charset=utf-8", f, &buf, &size);
}

static int on_healthz(HttpdRequest *q, void *userdata) {
        Web *w = userdata;
        char summary[256];

        if (!w->monitor)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        monitor_summary(w->monitor, summary, sizeof(summary));
        (void) httpd_reply_header(q, "Cache-Control", "no-store");
        return httpd_reply_json(q, 200, json_pack("{s:b, s:s, s:I}", "ok", 1, "summary", summary,
                                                  "live_clients", (json_int_t) w->n_clients));
}

/* ======================================================================== */
/* The routes and the server */

static const struct {
        const char *path;
        unsigned flags;
        HttpdHandler handler;
} routes[] = {
        { "/", HTTPD_ROUTE_EXACT, web_on_page },
        { "/site", 0, web_on_site },
        { "/live.js", HTTPD_ROUTE_EXACT, web_on_live_js },
        { "/events", HTTPD_ROUTE_EXACT, on_sse },
        { "/api/v1/status", HTTPD_ROUTE_EXACT, on_api_status },
        { "/api/v1/faults", HTTPD_ROUTE_EXACT, on_api_faults },
        { "/api/v1/deadlines", HTTPD_ROUTE_EXACT, on_api_deadlines },
        { "/api/v1/events", HTTPD_ROUTE_EXACT, on_api_events },
        { "/metrics", HTTPD_ROUTE_EXACT, on_metrics },
        { "/healthz", HTTPD_ROUTE_EXACT, on_healthz },
};

int web_new(sd_event *e, const Config *c, const char *state_dir, const char *credentials_dir,
            Web **ret) {
        _cleanup_(web_freep) Web *w = NULL;
        struct MHD_OptionItem tls[3];
        char *auth = NULL;
        int r;

        *ret = NULL;
        if (!c->http.listen.enabled)
                return 0;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->event = sd_event_ref(e);
        w->state_dir = strdup(state_dir);
        if (!w->state_dir)
                return -ENOMEM;
        if (c->http.tls_cert) {
                if (!MHD_is_feature_supported(MHD_FEATURE_TLS)) {
                        log_error("http: this libmicrohttpd has no TLS support; tls_cert cannot "
                                  "be used.");
                        return -EOPNOTSUPP;
                }
                r = read_pem(c->http.tls_cert, false, &w->tls_cert);
                if (r >= 0)
                        r = read_pem(c->http.tls_key, true, &w->tls_key);
                if (r < 0)
                        return r;
        }
        if (c->http.auth_credential) {
                r = credential_read(credentials_dir, c->http.auth_credential, &auth);
                if (r >= 0 && !strchr(auth, ':')) {
                        log_error("http: the credential %s is not of the form user:password.",
                                  c->http.auth_credential);
                        r = -EINVAL;
                }
                if (r < 0) {
                        if (r != -EINVAL)
                                log_errno(LOG_ERR, r, "http: cannot read the credential %s",
                                          c->http.auth_credential);
                        auth = credential_free(auth);
                        return r;
                }
        }
        tls[0] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_KEY, 0, w->tls_key };
        tls[1] = (struct MHD_OptionItem) { MHD_OPTION_HTTPS_MEM_CERT, 0, w->tls_cert };
        tls[2] = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };
        r = httpd_new(e,
                      &(HttpdOptions) {
                              .listen_fd = -1,
                              .tcp_address = c->http.listen.address,
                              .tcp_port = c->http.listen.port,
                              .response_max = WEB_RESPONSE_MAX,
                              .connections_max = WEB_CONNECTIONS_MAX,
                              /* No client holds every place, nor one for long without
                               * a word (a live client is pinged every PING_EVERY s). */
                              .per_ip_max = WEB_PER_IP_MAX,
                              .timeout_sec = WEB_TIMEOUT_SEC,
                              .basic_auth = auth,
                              .realm = "fieldwatch",
                              /* Against DNS rebinding: a page of another site must not
                               * read the view through a name that resolves here. */
                              .check_host = true,
                              .allowed_hosts = c->http.allowed_hosts,
                              .n_allowed_hosts = c->http.n_allowed_hosts,
                              .extra_flags = w->tls_cert ? MHD_USE_TLS : 0,
                              .extra_options = w->tls_cert ? tls : NULL,
                      },
                      &w->httpd);
        auth = credential_free(auth);
        if (r < 0) {
                /* Probing matters more than the view: the daemon runs on. */
                log_errno(LOG_ERR, r, "http: cannot listen on %s port %u; the web view is off",
                          c->http.listen.address, c->http.listen.port);
                return 0;
        }
        for (size_t i = 0; i < ELEMENTSOF(routes); i++) {
                r = httpd_add_route(w->httpd, "GET", routes[i].path,
                                    routes[i].flags | HTTPD_ROUTE_NO_BODY, routes[i].handler, w);
                if (r < 0)
                        return r;
        }
        r = sd_event_add_time_relative(e, &w->tick, CLOCK_MONOTONIC, TICK, 100 * USEC_PER_MSEC,
                                       on_tick, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->tick, SD_EVENT_ON);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &w->change, CLOCK_MONOTONIC, CHANGE_DELAY, 0,
                                               on_change, w);
        if (r >= 0)
                r = sd_event_source_set_enabled(w->change, SD_EVENT_OFF);
        if (r < 0)
                return r;
        log_info("Web view on %s://%s%s%s:%u/%s.", w->tls_cert ? "https" : "http",
                 strchr(c->http.listen.address, ':') ? "[" : "", c->http.listen.address,
                 strchr(c->http.listen.address, ':') ? "]" : "", c->http.listen.port,
                 c->http.auth_credential ? " (basic auth)" : "");
        *ret = TAKE_PTR(w);
        return 0;
}

Web *web_free(Web *w) {
        if (!w)
                return NULL;
        (void) sd_event_source_disable_unref(w->tick);
        (void) sd_event_source_disable_unref(w->change);
        /* Ends the live clients too (their sse_closed runs now). */
        httpd_free(w->httpd);
        store_close(w->store);
        if (w->tls_key) {
                explicit_bzero(w->tls_key, strlen(w->tls_key));
                free(w->tls_key);
        }
        free(w->tls_cert);
        free(w->state_dir);
        sd_event_unref(w->event);
        free(w);
        return NULL;
}

void web_set_state(Web *w, Monitor *m, const Config *c, const Calendar *cal) {
        if (!w)
                return;
        w->monitor = m;
        w->config = c;
        w->calendar = cal;
        w->generation = 0;
}

uint16_t web_port(Web *w) {
        return w && w->httpd ? httpd_port(w->httpd) : 0;
}
