/* SPDX-License-Identifier: MIT */
#pragma once

/* A small HTTP/1.1 server on libmicrohttpd, driven from an sd-event loop
 * without threads of its own: MHD runs in external-select mode with
 * MHD_USE_EPOLL; its epoll descriptor is one sd-event io source and
 * MHD_get_timeout() one timer, and both call MHD_run().
 *
 * One Httpd is one listener (an AF_UNIX socket made by the caller, see
 * httpd_listen_unix(), or a TCP address) with its own route table. Handlers
 * run on the loop, one at a time, and answer before they return (the whole
 * request body has been read by then).
 *
 *     Httpd *h;
 *     int fd;
 *
 *     r = httpd_listen_unix("/run/fieldwatch/control", 0660, "fieldwatch-ops", &fd);
 *     r = httpd_new(event, &(HttpdOptions) { .listen_fd = fd }, &h);  (takes fd)
 *     r = httpd_add_route(h, "POST", "/v1/actions", HTTPD_ROUTE_EXACT, on_action, m);
 *
 *     static int on_action(HttpdRequest *q, void *userdata) {
 *             const HttpdPeer *p = httpd_request_peer(q);   (uid of the caller)
 *             ...
 *             return httpd_reply_json(q, 200, json_pack("{s:b}", "ok", 1));
 *     }
 *
 * TLS (for a TCP listener): pass MHD_USE_TLS in extra_flags and the key and
 * certificate as MHD_OPTION_HTTPS_MEM_KEY / _CERT items in extra_options.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macro.h"

struct MHD_OptionItem;

#define HTTPD_BODY_MAX_DEFAULT (64U * 1024U)           /* bytes of a request body */
#define HTTPD_RESPONSE_MAX_DEFAULT (16U * 1024U * 1024U) /* bytes of an answer */
#define HTTPD_CONNECTIONS_MAX_DEFAULT 64U
#define HTTPD_TIMEOUT_SEC_DEFAULT 30U                  /* an idle connection is closed */

typedef struct Httpd Httpd;
typedef struct HttpdRequest HttpdRequest;

typedef struct HttpdOptions {
        /* Either a listening socket (AF_UNIX or any other stream socket the
         * caller bound; httpd_new() takes it, also on failure) ... */
        int listen_fd;               /* -1 (or 0 with a tcp_port): none */
        /* ... or a TCP listener on address:port ("127.0.0.1", "::1"; NULL:
         * every address). Port 0: none. */
        const char *tcp_address;
        uint16_t tcp_port;
        size_t body_max;             /* 0: HTTPD_BODY_MAX_DEFAULT */
        size_t response_max;         /* 0: HTTPD_RESPONSE_MAX_DEFAULT */
        unsigned connections_max;    /* 0: HTTPD_CONNECTIONS_MAX_DEFAULT */
        unsigned timeout_sec;        /* 0: HTTPD_TIMEOUT_SEC_DEFAULT */
        /* Basic auth ("user:password"): every request must carry it, or it
         * is answered 401 before its route is looked up. NULL: none. The
         * comparison takes the same time whatever the client sent. */
        const char *basic_auth;
        const char *realm;           /* NULL: "fieldwatch" */
        /* The Host check (against DNS rebinding: a page of another site whose
         * name was made to resolve here): a request whose Host header is not
         * httpd_host_allowed() is answered 421, before basic auth and routes. */
        bool check_host;
        char *const *allowed_hosts;  /* names allowed besides addresses and localhost */
        size_t n_allowed_hosts;
        /* At most this many connections from one client address (TCP); 0: no limit. */
        unsigned per_ip_max;
        /* Passed on to MHD_start_daemon() (TLS, for instance). */
        unsigned extra_flags;
        const struct MHD_OptionItem *extra_options; /* ends with MHD_OPTION_END */
} HttpdOptions;

/* Who is on the other end of a unix socket (SO_PEERCRED when it connected).
 * known is false on TCP. */
typedef struct HttpdPeer {
        bool known;
        uid_t uid;
        gid_t gid;
        pid_t pid;
} HttpdPeer;

/* A handler answers with one httpd_reply*() and returns its result, or
 * returns < 0 without answering (the client gets 500). */
typedef int (*HttpdHandler)(HttpdRequest *q, void *userdata);

typedef enum HttpdRouteFlags {
        HTTPD_ROUTE_EXACT = 1 << 0,  /* the path must equal, not only start with, the route's */
        HTTPD_ROUTE_NO_BODY = 1 << 1, /* a request with a body is refused (413) */
} HttpdRouteFlags;

/* Makes an AF_UNIX stream socket listening at path: a stale socket file there
 * is removed first (anything else at path is left alone: -EEXIST); the file
 * gets mode and, when group is not NULL, that group. A group that cannot be
 * found is not an error, but the file is then its owner's only (mode & 0700,
 * logged as a warning): it fails closed, never open to the process's group.
 * Returns 0 and the descriptor (close-on-exec, non-blocking), or -errno. */
int httpd_listen_unix(const char *path, mode_t mode, const char *group, int *ret_fd);

int httpd_new(sd_event *e, const HttpdOptions *o, Httpd **ret);
Httpd *httpd_free(Httpd *h);
DEFINE_TRIVIAL_CLEANUP_FUNC(Httpd *, httpd_free);

/* Whether a Host header (NULL: none, as in HTTP/1.0) names this server for
 * a browser: absent; an IPv4 address, or an IPv6 one in brackets (the
 * browser then talks to that address itself, no DNS in between);
 * "localhost"; or one of names (case-insensitive); each with or without a
 * port. A name a DNS server could make resolve here is not enough. */
bool httpd_host_allowed(const char *host, char *const *names, size_t n_names);

/* Routes requests with this method ("GET", "POST", ...) and a path starting
 * with prefix (or equal to it with HTTPD_ROUTE_EXACT) to handler; the longest
 * matching prefix wins. No route for the path: 404; one for the path but
 * not the method: 405. May be called at any time. */
int httpd_add_route(Httpd *h, const char *method, const char *prefix, unsigned flags,
                    HttpdHandler handler, void *userdata);

/* The TCP port the listener is bound to (a caller's listen_fd may be bound
 * to port 0); 0 on AF_UNIX. */
uint16_t httpd_port(Httpd *h);

/* The request. Strings live as long as the request. */
const char *httpd_request_method(HttpdRequest *q);
const char *httpd_request_path(HttpdRequest *q);
const char *httpd_request_header(HttpdRequest *q, const char *name);  /* NULL: absent */
const char *httpd_request_query(HttpdRequest *q, const char *key);    /* NULL: absent */
/* The body, NUL-terminated (size excludes the NUL); "" when there is none. */
const char *httpd_request_body(HttpdRequest *q, size_t *ret_size);
const HttpdPeer *httpd_request_peer(HttpdRequest *q);

/* Answers. Each returns 0, or -E2BIG when the answer exceeds response_max
 * (the client then gets 500), or -ENOMEM. One answer per request. */
int httpd_reply(HttpdRequest *q, unsigned status, const char *content_type, const void *data,
                size_t size);
int httpd_reply_text(HttpdRequest *q, unsigned status, const char *text);
/* Takes the reference to j (json_pack() may be passed directly: NULL is
 * -ENOMEM). Sent compact, as application/json. */
int httpd_reply_json(HttpdRequest *q, unsigned status, json_t *j);
/* {"ok": false, "error": "..."} with status. */
int httpd_reply_error(HttpdRequest *q, unsigned status, const char *fmt, ...) _printf_(3, 4);
/* Adds a header to the answer (before httpd_reply*()). */
int httpd_reply_header(HttpdRequest *q, const char *name, const char *value);

/* A streamed answer of unknown length (Server-Sent Events): the handler
 * answers with httpd_reply_stream() and writes to the stream as long as it
 * likes, from the loop. What is written waits in a buffer of at most
 * buffer_max bytes; a client that does not read it in time is dropped. When
 * the connection ends (the client left, was dropped, or the server stops),
 * on_close is called once, and the stream is freed after it returns. */
typedef struct HttpdStream HttpdStream;
typedef void (*HttpdStreamClose)(HttpdStream *s, void *userdata);

int httpd_reply_stream(HttpdRequest *q, unsigned status, const char *content_type,
                       size_t buffer_max, HttpdStreamClose on_close, void *userdata,
                       HttpdStream **ret);
/* 0, -ENOBUFS when the client is too slow (it is dropped: on_close follows
 * from the loop), -EPIPE when the stream is ending already. */
int httpd_stream_write(HttpdStream *s, const void *data, size_t size);
/* Bytes written and not yet taken by the connection. */
size_t httpd_stream_pending(const HttpdStream *s);
/* Ends the stream: the connection closes once what was written is sent. */
void httpd_stream_end(HttpdStream *s);
