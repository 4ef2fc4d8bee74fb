/* SPDX-License-Identifier: MIT */

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "credentials.h"
#include "httpd.h"
#include "log.h"
#include "macro.h"
#include "text.h"

typedef struct Route {
        char *method, *prefix;
        unsigned flags;
        HttpdHandler handler;
        void *userdata;
} Route;

struct HttpdStream {
        Httpd *httpd;
        struct MHD_Connection *connection;
        char *buf;
        size_t start, size, allocated, max;
        bool suspended, ending, dropped;
        HttpdStreamClose on_close;
        void *userdata;
        HttpdStream *prev, *next;
};

struct Httpd {
        sd_event *event;
        sd_event_source *io, *timer;
        struct MHD_Daemon *daemon;
        int listen_fd;               /* owned by MHD once it started */
        bool unix_socket;
        bool starting;
        size_t body_max, response_max;
        Route *routes;
        size_t n_routes, n_routes_allocated;
        bool check_host;             /* Host must be httpd_host_allowed() */
        char **hosts;                /* its names */
        size_t n_hosts;
        bool auth;                   /* basic auth required */
        unsigned char auth_digest[CREDENTIAL_DIGEST_SIZE]; /* of "user:password" */
        char *realm;
        HttpdStream *streams;
};

typedef struct Header {
        char *name, *value;
} Header;

struct HttpdRequest {
        Httpd *httpd;
        struct MHD_Connection *connection;
        const char *method, *path;
        const Route *route;
        HttpdPeer peer;
        char *body;
        size_t body_size, body_allocated;
        bool too_big, answered;
        Header *headers;
        size_t n_headers, n_headers_allocated;
};

/* ======================================================================== */

int httpd_listen_unix(const char *path, mode_t mode, const char *group, int *ret_fd) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct stat st;
        mode_t old_umask;
        int fd, r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path));
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                /* A stale socket of an earlier run. */
                if (unlink(path) < 0)
                        return -errno;
        } else if (errno != ENOENT)
                return -errno;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* Nobody but root can connect until the mode and group are right. */
        old_umask = umask(0777);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        (void) umask(old_umask);
        if (r < 0) {
                r = -errno;
                goto fail;
        }
        if (group) {
                struct group *g = getgrnam(group);

                if (!g) {
                        /* Not the process's group instead (readers, perhaps): closed. */
                        log_warning("Group %s not found: %s is for its owner only (mode 0600); "
                                    "create the group and restart to let its members connect.",
                                    group, path);
                        mode &= 0700;
                } else if (chown(path, (uid_t) -1, g->gr_gid) < 0) {
                        r = -errno;
                        goto fail_unlink;
                }
        }
        if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                goto fail_unlink;
        }
        *ret_fd = fd;
        return 0;

fail_unlink:
        (void) unlink(path);
fail:
        (void) close(fd);
        return r;
}

/* ======================================================================== */

static void httpd_arm(Httpd *h) {
        MHD_UNSIGNED_LONG_LONG ms;
        uint64_t now;

        if (MHD_get_timeout(h->daemon, &ms) != MHD_YES) {
                (void) sd_event_source_set_enabled(h->timer, SD_EVENT_OFF);
                return;
        }
        if (sd_event_now(h->event, CLOCK_MONOTONIC, &now) < 0)
                return;
        (void) sd_event_source_set_time(h->timer, now + MIN(ms, UINT64_C(3600000)) * USEC_PER_MSEC);
        (void) sd_event_source_set_enabled(h->timer, SD_EVENT_ONESHOT);
}

static void httpd_run(Httpd *h) {
        (void) MHD_run(h->daemon);
        /* Once more: a connection closed in the first run may have taken
         * the server off its connection limit, and MHD puts its listening
         * socket back into its epoll set only at the start of a run; no
         * event would come to call it (a non-blocking round, cheap). */
        (void) MHD_run(h->daemon);
        httpd_arm(h);
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) s;
        (void) fd;
        (void) revents;
        httpd_run(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        httpd_run(userdata);
        return 0;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
        Httpd *h = cls;
        char buf[512];
        size_t n;

        (void) vsnprintf(buf, sizeof(buf), fmt, ap);
        n = strlen(buf);
        while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
                buf[--n] = 0;
        /* What a client does wrong is no news for the journal. */
        log_full(h->starting ? LOG_WARNING : LOG_DEBUG, "HTTP server: %s", buf);
}

/* ======================================================================== */

static bool route_matches(const Route *rt, const char *path) {
        size_t n = strlen(rt->prefix);

        if (strncmp(path, rt->prefix, n) != 0)
                return false;
        if (path[n] == 0)
                return true;
        if (rt->flags & HTTPD_ROUTE_EXACT)
                return false;
        return n > 0 && (rt->prefix[n - 1] == '/' || path[n] == '/');
}

/* The route for method and path; *ret_path_known tells a 405 from a 404. */
static const Route *route_find(Httpd *h, const char *method, const char *path,
                               bool *ret_path_known) {
        const Route *best = NULL;
        size_t best_len = 0;

        *ret_path_known = false;
        for (size_t i = 0; i < h->n_routes; i++) {
                const Route *rt = &h->routes[i];
                size_t n = strlen(rt->prefix);

                if (!route_matches(rt, path))
                        continue;
                *ret_path_known = true;
                if (!streq(rt->method, method))
                        continue;
                if (!best || n > best_len) {
                        best = rt;
                        best_len = n;
                }
        }
        return best;
}

static void request_peer(HttpdRequest *q) {
        const union MHD_ConnectionInfo *ci;
        struct ucred uc;
        socklen_t len = sizeof(uc);

        if (!q->httpd->unix_socket)
                return;
        ci = MHD_get_connection_info(q->connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci || getsockopt(ci->connect_fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0 ||
            len != sizeof(uc))
                return;
        q->peer = (HttpdPeer) { .known = true, .uid = uc.uid, .gid = uc.gid, .pid = uc.pid };
}

static void request_free(HttpdRequest *q) {
        if (!q)
                return;
        for (size_t i = 0; i < q->n_headers; i++) {
                free(q->headers[i].name);
                free(q->headers[i].value);
        }
        free(q->headers);
        free(q->body);
        free(q);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
        (void) cls;
        (void) c;
        (void) toe;
        request_free(*con_cls);
        *con_cls = NULL;
}

static int body_append(HttpdRequest *q, const char *data, size_t size) {
        if (q->too_big || q->answered)
                return 0;
        if (size > q->httpd->body_max - q->body_size ||
            (q->route->flags & HTTPD_ROUTE_NO_BODY)) {
                q->too_big = true;
                return 0;
        }
        if (q->body_size + size + 1 > q->body_allocated) {
                size_t a = MAX(q->body_allocated * 2, q->body_size + size + 1);
                char *p = realloc(q->body, a);

                if (!p)
                        return -ENOMEM;
                q->body = p;
                q->body_allocated = a;
        }
        memcpy(q->body + q->body_size, data, size);
        q->body_size += size;
        q->body[q->body_size] = 0;
        return 0;
}

bool httpd_host_allowed(const char *host, char *const *names, size_t n_names) {
        unsigned char a[sizeof(struct in6_addr)];
        char name[256];
        const char *port = NULL;
        size_t len;

        if (!host)
                return true;
        if (host[0] == '[') {
                const char *end = strchr(host, ']');

                len = end ? (size_t) (end - host - 1) : 0;
                if (!end || len == 0 || len >= sizeof(name))
                        return false;
                memcpy(name, host + 1, len);
                name[len] = '\0';
                if (inet_pton(AF_INET6, name, a) != 1)
                        return false;
                if (end[1] && end[1] != ':')
                        return false;
                port = end[1] ? end + 2 : NULL;
        } else {
                const char *colon = strchr(host, ':');

                len = colon ? (size_t) (colon - host) : strlen(host);
                if (len == 0 || len >= sizeof(name))
                        return false;
                memcpy(name, host, len);
                name[len] = '\0';
                port = colon ? colon + 1 : NULL;
        }
        if (port) {
                size_t digits = strspn(port, "0123456789");
                unsigned long p = digits > 0 && digits <= 5 ? strtoul(port, NULL, 10) : 0;

                if (digits == 0 || port[digits] || p < 1 || p > 65535)
                        return false;
        }
        if (host[0] == '[' || inet_pton(AF_INET, name, a) == 1 ||
            strcasecmp(name, "localhost") == 0)
                return true;
        for (size_t i = 0; i < n_names; i++)
                if (strcasecmp(name, names[i]) == 0)
                        return true;
        return false;
}

/* Whether the request carries the credentials: their digests are compared
 * in constant time, so neither the length nor a prefix of the secret shows. */
static bool request_authorized(Httpd *h, struct MHD_Connection *c) {
        unsigned char digest[CREDENTIAL_DIGEST_SIZE];
        char *user, *password = NULL, *both = NULL;
        bool ok = false;
        int n;

        user = MHD_basic_auth_get_username_password(c, &password);
        if (!user || !password)
                goto done;
        n = asprintf(&both, "%s:%s", user, password);
        if (n < 0) {
                both = NULL;
                goto done;
        }
        ok = credential_digest(both, (size_t) n, digest) >= 0 &&
             CRYPTO_memcmp(digest, h->auth_digest, sizeof(digest)) == 0;
        explicit_bzero(both, (size_t) n);
done:
        free(both);
        if (password) {
                explicit_bzero(password, strlen(password));
                MHD_free(password);
        }
        if (user)
                MHD_free(user);
        return ok;
}

static int request_refuse_auth(HttpdRequest *q) {
        static const char body[] = "{\"ok\":false,\"error\":\"authentication required\"}";
        struct MHD_Response *resp;
        enum MHD_Result ok;

        resp = MHD_create_response_from_buffer(strlen(body), (void *) body,
                                               MHD_RESPMEM_PERSISTENT);
        if (!resp)
                return -ENOMEM;
        (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
        ok = MHD_queue_basic_auth_fail_response(q->connection, q->httpd->realm, resp);
        MHD_destroy_response(resp);
        if (ok != MHD_YES)
                return -EIO;
        q->answered = true;
        return 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
        Httpd *h = cls;
        HttpdRequest *q = *con_cls;
        int r;

        (void) version;
        if (!q) {
                const char *cl;
                bool path_known;

                q = calloc(1, sizeof(*q));
                if (!q)
                        return MHD_NO;
                *con_cls = q;
                q->httpd = h;
                q->connection = c;
                q->method = method;
                q->path = url;
                request_peer(q);
                if (h->check_host &&
                    !httpd_host_allowed(MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                                    MHD_HTTP_HEADER_HOST),
                                        h->hosts, h->n_hosts))
                        return httpd_reply_error(q, 421, "misdirected request: the Host header "
                                                 "names another server (ask by address, "
                                                 "localhost, or a name in "
                                                 "http.allowed_hosts)") < 0
                                       ? MHD_NO
                                       : MHD_YES;
                if (h->auth && !request_authorized(h, c))
                        return request_refuse_auth(q) < 0 ? MHD_NO : MHD_YES;
                q->route = route_find(h, method, url, &path_known);
                if (!q->route)
                        return httpd_reply_error(q, path_known ? 405 : 404, "%s",
                                                 path_known ? "method not allowed here"
                                                            : "no such resource") < 0
                                       ? MHD_NO
                                       : MHD_YES;
                cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
                if (cl && (strtoull(cl, NULL, 10) > h->body_max ||
                           ((q->route->flags & HTTPD_ROUTE_NO_BODY) && strtoull(cl, NULL, 10) > 0)))
                        q->too_big = true;
                /* Refused before the body is read: MHD closes the connection
                 * after the answer. */
                if (q->too_big)
                        goto refuse_body;
                return MHD_YES;
        }
        if (*upload_data_size > 0) {
                r = body_append(q, upload_data, *upload_data_size);
                *upload_data_size = 0;
                return r < 0 ? MHD_NO : MHD_YES;
        }
        if (q->answered)
                return MHD_YES;
        if (!q->route)
                return MHD_NO;
        if (q->too_big)
                goto refuse_body;
        if (!q->body && body_append(q, "", 0) < 0)
                return MHD_NO;
        r = q->route->handler(q, q->route->userdata);
        if (!q->answered && httpd_reply_error(q, 500, "internal error: %s", strerror(r < 0 ? -r : EIO)) < 0)
                return MHD_NO;
        return MHD_YES;

refuse_body:
        if (q->route->flags & HTTPD_ROUTE_NO_BODY)
                r = httpd_reply_error(q, 413, "this request takes no body");
        else
                r = httpd_reply_error(q, 413, "the request body exceeds %zu bytes", h->body_max);
        return r < 0 ? MHD_NO : MHD_YES;
}

/* ======================================================================== */

int httpd_new(sd_event *e, const HttpdOptions *o, Httpd **ret) {
        struct MHD_OptionItem opts[12];
        const union MHD_DaemonInfo *di;
        struct sockaddr_storage ss = {};
        unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                         o->extra_flags;
        size_t n = 0;
        Httpd *h;
        int r;

        h = calloc(1, sizeof(*h));
        if (!h) {
                if (o->listen_fd >= 0 && !o->tcp_port)
                        (void) close(o->listen_fd);
                return -ENOMEM;
        }
        h->event = sd_event_ref(e);
        h->listen_fd = -1;
        h->body_max = o->body_max ?: HTTPD_BODY_MAX_DEFAULT;
        h->response_max = o->response_max ?: HTTPD_RESPONSE_MAX_DEFAULT;
        h->check_host = o->check_host;
        if (o->n_allowed_hosts > 0) {
                h->hosts = calloc(o->n_allowed_hosts, sizeof(char *));
                for (size_t i = 0; h->hosts && i < o->n_allowed_hosts; i++) {
                        h->hosts[h->n_hosts] = strdup(o->allowed_hosts[i]);
                        if (!h->hosts[h->n_hosts])
                                break;
                        h->n_hosts++;
                }
                if (h->n_hosts < o->n_allowed_hosts) {
                        if (o->listen_fd >= 0 && !o->tcp_port)
                                (void) close(o->listen_fd);
                        httpd_free(h);
                        return -ENOMEM;
                }
        }
        if (o->basic_auth) {
                h->auth = true;
                r = credential_digest(o->basic_auth, strlen(o->basic_auth), h->auth_digest);
                h->realm = strdup(o->realm ?: "fieldwatch");
                if (r < 0 || !h->realm) {
                        if (o->listen_fd >= 0 && !o->tcp_port)
                                (void) close(o->listen_fd);
                        httpd_free(h);
                        return -ENOMEM;
                }
        }

        /* The logger first, or MHD complains through its own. */
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_EXTERNAL_LOGGER,
                                              (intptr_t) on_mhd_log, h };
        if (o->tcp_port) {
                struct sockaddr_in *in4 = (struct sockaddr_in *) &ss;
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &ss;
                const char *a = o->tcp_address;

                if (a && inet_pton(AF_INET, a, &in4->sin_addr) == 1) {
                        in4->sin_family = AF_INET;
                        in4->sin_port = htons(o->tcp_port);
                } else if (a && inet_pton(AF_INET6, a, &in6->sin6_addr) == 1) {
                        in6->sin6_family = AF_INET6;
                        in6->sin6_port = htons(o->tcp_port);
                        flags |= MHD_USE_IPv6;
                } else if (!a) {
                        in6->sin6_family = AF_INET6;
                        in6->sin6_addr = in6addr_any;
                        in6->sin6_port = htons(o->tcp_port);
                        flags |= MHD_USE_DUAL_STACK;
                } else {
                        httpd_free(h);
                        return -EINVAL;
                }
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_SOCK_ADDR, 0, &ss };
        } else if (o->listen_fd >= 0) {
                struct sockaddr_storage local;
                socklen_t len = sizeof(local);

                h->listen_fd = o->listen_fd;
                if (getsockname(o->listen_fd, (struct sockaddr *) &local, &len) < 0) {
                        r = -errno;
                        httpd_free(h);
                        return r;
                }
                h->unix_socket = local.ss_family == AF_UNIX;
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_LISTEN_SOCKET, o->listen_fd, NULL };
        } else {
                httpd_free(h);
                return -EINVAL;
        }
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_LIMIT,
                                              o->connections_max ?: HTTPD_CONNECTIONS_MAX_DEFAULT,
                                              NULL };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_CONNECTION_TIMEOUT,
                                              o->timeout_sec ?: HTTPD_TIMEOUT_SEC_DEFAULT, NULL };
        if (o->per_ip_max > 0)
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                                      o->per_ip_max, NULL };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_NOTIFY_COMPLETED,
                                              (intptr_t) on_completed, h };
        if (o->extra_options)
                opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_ARRAY, 0,
                                                      (void *) o->extra_options };
        opts[n++] = (struct MHD_OptionItem) { MHD_OPTION_END, 0, NULL };

        h->starting = true;
        h->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_ARRAY, opts,
                                     MHD_OPTION_END);
        h->starting = false;
        if (!h->daemon) {
                httpd_free(h);
                return -EADDRNOTAVAIL;
        }
        h->listen_fd = -1;           /* MHD closes it */
        di = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
        if (!di) {
                httpd_free(h);
                return -EIO;
        }
        r = sd_event_add_io(e, &h->io, di->epoll_fd, EPOLLIN, on_io, h);
        if (r >= 0)
                r = sd_event_add_time(e, &h->timer, CLOCK_MONOTONIC, 0, 0, on_timer, h);
        if (r < 0) {
                httpd_free(h);
                return r;
        }
        (void) sd_event_source_set_description(h->io, "httpd-io");
        (void) sd_event_source_set_description(h->timer, "httpd-timer");
        httpd_arm(h);
        *ret = h;
        return 0;
}

Httpd *httpd_free(Httpd *h) {
        if (!h)
                return NULL;
        (void) sd_event_source_disable_unref(h->io);
        (void) sd_event_source_disable_unref(h->timer);
        /* Streams end with the server: resumed, so that MHD closes them. */
        for (HttpdStream *s = h->streams; s; s = s->next) {
                s->dropped = true;
                if (s->suspended) {
                        s->suspended = false;
                        MHD_resume_connection(s->connection);
                }
        }
        if (h->daemon && h->streams)
                (void) MHD_run(h->daemon);
        if (h->daemon)
                MHD_stop_daemon(h->daemon);
        /* Whatever MHD did not free (it frees each response it had). */
        while (h->streams) {
                HttpdStream *s = h->streams;

                h->streams = s->next;
                s->httpd = NULL;
                if (s->on_close)
                        s->on_close(s, s->userdata);
                free(s->buf);
                free(s);
        }
        if (h->auth)
                explicit_bzero(h->auth_digest, sizeof(h->auth_digest));
        free(h->realm);
        for (size_t i = 0; i < h->n_hosts; i++)
                free(h->hosts[i]);
        free(h->hosts);
        if (h->listen_fd >= 0)
                (void) close(h->listen_fd);
        for (size_t i = 0; i < h->n_routes; i++) {
                free(h->routes[i].method);
                free(h->routes[i].prefix);
        }
        free(h->routes);
        sd_event_unref(h->event);
        free(h);
        return NULL;
}

int httpd_add_route(Httpd *h, const char *method, const char *prefix, unsigned flags,
                    HttpdHandler handler, void *userdata) {
        Route rt = { .flags = flags, .handler = handler, .userdata = userdata };

        if (!method || !prefix || prefix[0] != '/' || !handler)
                return -EINVAL;
        if (array_grow((void **) &h->routes, &h->n_routes_allocated, h->n_routes,
                       sizeof(Route)) < 0)
                return -ENOMEM;
        rt.method = strdup(method);
        rt.prefix = strdup(prefix);
        if (!rt.method || !rt.prefix) {
                free(rt.method);
                free(rt.prefix);
                return -ENOMEM;
        }
        h->routes[h->n_routes++] = rt;
        return 0;
}

uint16_t httpd_port(Httpd *h) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->daemon,
                                                             MHD_DAEMON_INFO_LISTEN_FD);
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);

        if (!di || getsockname(di->listen_fd, (struct sockaddr *) &ss, &len) < 0)
                return 0;
        if (ss.ss_family == AF_INET)
                return ntohs(((struct sockaddr_in *) &ss)->sin_port);
        if (ss.ss_family == AF_INET6)
                return ntohs(((struct sockaddr_in6 *) &ss)->sin6_port);
        return 0;
}

/* ======================================================================== */

const char *httpd_request_method(HttpdRequest *q) {
        return q->method;
}

const char *httpd_request_path(HttpdRequest *q) {
        return q->path;
}

const char *httpd_request_header(HttpdRequest *q, const char *name) {
        return MHD_lookup_connection_value(q->connection, MHD_HEADER_KIND, name);
}

const char *httpd_request_query(HttpdRequest *q, const char *key) {
        return MHD_lookup_connection_value(q->connection, MHD_GET_ARGUMENT_KIND, key);
}

const char *httpd_request_body(HttpdRequest *q, size_t *ret_size) {
        if (ret_size)
                *ret_size = q->body_size;
        return q->body ?: "";
}

const HttpdPeer *httpd_request_peer(HttpdRequest *q) {
        return &q->peer;
}

int httpd_reply_header(HttpdRequest *q, const char *name, const char *value) {
        Header hd;

        if (array_grow((void **) &q->headers, &q->n_headers_allocated, q->n_headers,
                       sizeof(Header)) < 0)
                return -ENOMEM;
        hd.name = strdup(name);
        hd.value = strdup(value);
        if (!hd.name || !hd.value) {
                free(hd.name);
                free(hd.value);
                return -ENOMEM;
        }
        q->headers[q->n_headers++] = hd;
        return 0;
}

int httpd_reply(HttpdRequest *q, unsigned status, const char *content_type, const void *data,
                size_t size) {
        static const char too_big[] = "{\"ok\":false,\"error\":\"the answer is too large\"}";
        struct MHD_Response *resp;
        bool over = size > q->httpd->response_max;
        enum MHD_Result ok;

        if (q->answered)
                return -EALREADY;
        if (over) {
                status = 500;
                content_type = "application/json";
                data = too_big;
                size = strlen(too_big);
        }
        resp = MHD_create_response_from_buffer(size, (void *) data, MHD_RESPMEM_MUST_COPY);
        if (!resp)
                return -ENOMEM;
        if (content_type)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        for (size_t i = 0; !over && i < q->n_headers; i++)
                (void) MHD_add_response_header(resp, q->headers[i].name, q->headers[i].value);
        ok = MHD_queue_response(q->connection, status, resp);
        MHD_destroy_response(resp);
        if (ok != MHD_YES)
                return -EIO;
        q->answered = true;
        return over ? -E2BIG : 0;
}

int httpd_reply_text(HttpdRequest *q, unsigned status, const char *text) {
        return httpd_reply(q, status, "text/plain; charset=utf-8", text, strlen(text));
}

int httpd_reply_json(HttpdRequest *q, unsigned status, json_t *j) {
        char *s;
        int r;

        if (!j)
                return -ENOMEM;
        s = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        if (!s)
                return -ENOMEM;
        r = httpd_reply(q, status, "application/json", s, strlen(s));
        free(s);
        return r;
}

int httpd_reply_error(HttpdRequest *q, unsigned status, const char *fmt, ...) {
        char msg[1024];
        va_list ap;

        json_t *j;

        va_start(ap, fmt);
        (void) vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        /* Cut inside a character, or a client's bytes: made valid, the reason stays. */
        text_clean_inplace(msg, sizeof(msg));
        j = json_pack("{s:b, s:s}", "ok", 0, "error", msg);
        if (!j) {
                static const char oom[] = "{\"ok\":false,\"error\":\"out of memory\"}";

                return httpd_reply(q, status, "application/json", oom, strlen(oom));
        }
        return httpd_reply_json(q, status, j);
}

/* ======================================================================== */

static void stream_resume(HttpdStream *s) {
        if (!s->suspended || !s->httpd)
                return;
        s->suspended = false;
        MHD_resume_connection(s->connection);
        /* MHD takes it back at its next run: make that soon. */
        (void) sd_event_source_set_time(s->httpd->timer, 1);
        (void) sd_event_source_set_enabled(s->httpd->timer, SD_EVENT_ONESHOT);
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max) {
        HttpdStream *s = cls;
        size_t n;

        (void) pos;
        if (s->dropped)
                return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->size > 0) {
                n = MIN(max, s->size);
                memcpy(out, s->buf + s->start, n);
                s->start += n;
                s->size -= n;
                if (s->size == 0)
                        s->start = 0;
                return (ssize_t) n;
        }
        if (s->ending)
                return MHD_CONTENT_READER_END_OF_STREAM;
        /* Nothing to send: off MHD's loop until there is. */
        MHD_suspend_connection(s->connection);
        s->suspended = true;
        return 0;
}

static void stream_free(void *cls) {
        HttpdStream *s = cls;

        if (s->httpd) {
                if (s->prev)
                        s->prev->next = s->next;
                else
                        s->httpd->streams = s->next;
                if (s->next)
                        s->next->prev = s->prev;
        }
        if (s->on_close)
                s->on_close(s, s->userdata);
        free(s->buf);
        free(s);
}

int httpd_reply_stream(HttpdRequest *q, unsigned status, const char *content_type,
                       size_t buffer_max, HttpdStreamClose on_close, void *userdata,
                       HttpdStream **ret) {
        struct MHD_Response *resp;
        HttpdStream *s;
        enum MHD_Result ok;

        if (q->answered)
                return -EALREADY;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->httpd = q->httpd;
        s->connection = q->connection;
        s->max = buffer_max ?: 64U * 1024U;
        resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, s,
                                                 stream_free);
        if (!resp) {
                free(s);
                return -ENOMEM;
        }
        if (content_type)
                (void) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
        for (size_t i = 0; i < q->n_headers; i++)
                (void) MHD_add_response_header(resp, q->headers[i].name, q->headers[i].value);
        ok = MHD_queue_response(q->connection, status, resp);
        if (ok != MHD_YES) {
                MHD_destroy_response(resp);
                free(s);
                return -EIO;
        }
        /* From here MHD frees s with the response (stream_free). */
        s->on_close = on_close;
        s->userdata = userdata;
        s->next = q->httpd->streams;
        if (s->next)
                s->next->prev = s;
        q->httpd->streams = s;
        q->answered = true;
        MHD_destroy_response(resp);
        *ret = s;
        return 0;
}

int httpd_stream_write(HttpdStream *s, const void *data, size_t size) {
        if (s->dropped || s->ending)
                return -EPIPE;
        if (size > s->max - s->size) {
                const union MHD_ConnectionInfo *ci =
                        MHD_get_connection_info(s->connection, MHD_CONNECTION_INFO_CONNECTION_FD);

                /* The connection may be stuck on a full socket, where MHD
                 * would not ask for more (and find the end) until its
                 * timeout: shut the socket down, MHD closes it at once. */
                s->dropped = true;
                if (ci)
                        (void) shutdown(ci->connect_fd, SHUT_RDWR);
                stream_resume(s);
                return -ENOBUFS;
        }
        if (s->start + s->size + size > s->allocated) {
                if (s->start > 0) {
                        memmove(s->buf, s->buf + s->start, s->size);
                        s->start = 0;
                }
                if (s->size + size > s->allocated) {
                        size_t a = MAX(s->allocated * 2, s->size + size);
                        char *p = realloc(s->buf, a);

                        if (!p)
                                return -ENOMEM;
                        s->buf = p;
                        s->allocated = a;
                }
        }
        memcpy(s->buf + s->start + s->size, data, size);
        s->size += size;
        stream_resume(s);
        return 0;
}

size_t httpd_stream_pending(const HttpdStream *s) {
        return s->size;
}

void httpd_stream_end(HttpdStream *s) {
        s->ending = true;
        stream_resume(s);
}
