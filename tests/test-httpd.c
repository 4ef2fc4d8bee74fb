/* SPDX-License-Identifier: MIT */

/* The HTTP server on a real sd-event loop, over a real unix socket in a
 * temporary directory, spoken to by libcurl (from a second thread: the
 * server itself has none, it runs in this thread's loop). */

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "httpd.h"
#include "log.h"
#include "macro.h"

typedef struct Test {
        sd_event *event;
        Httpd *httpd;
        char dir[64], path[128];
        unsigned handled;
} Test;

typedef struct Call {
        const char *method, *path, *body;
        size_t body_size;
        bool chunked;
        long timeout_sec;            /* 0: 20 */
        const char *socket_path;
        const char *host;            /* TCP: "127.0.0.1:PORT" instead of the socket */
        const char *userpwd;         /* basic auth "user:password" */
        /* results */
        long status;
        char *answer;
        size_t answer_size;
        CURLcode code;
        int efd;
} Call;

static size_t on_data(char *p, size_t size, size_t n, void *userdata) {
        Call *c = userdata;
        char *a = realloc(c->answer, c->answer_size + size * n + 1);

        if (!a)
                return 0;
        memcpy(a + c->answer_size, p, size * n);
        c->answer_size += size * n;
        a[c->answer_size] = 0;
        c->answer = a;
        return size * n;
}

static void *client(void *userdata) {
        Call *c = userdata;
        struct curl_slist *h = NULL;
        char url[256];
        CURL *e = curl_easy_init();
        uint64_t one = 1;

        (void) snprintf(url, sizeof(url), "http://%s%s", c->host ?: "localhost", c->path);
        if (!c->host)
                (void) curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, c->socket_path);
        (void) curl_easy_setopt(e, CURLOPT_URL, url);
        (void) curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method);
        (void) curl_easy_setopt(e, CURLOPT_TIMEOUT, c->timeout_sec ?: 20L);
        (void) curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
        (void) curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
        if (c->body) {
                (void) curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body);
                (void) curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) c->body_size);
                h = curl_slist_append(h, "Content-Type: application/json");
        }
        if (c->chunked)
                h = curl_slist_append(h, "Transfer-Encoding: chunked");
        if (c->userpwd) {
                (void) curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
                (void) curl_easy_setopt(e, CURLOPT_USERPWD, c->userpwd);
        }
        (void) curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
        c->code = curl_easy_perform(e);
        (void) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
        curl_easy_cleanup(e);
        curl_slist_free_all(h);
        (void) write(c->efd, &one, sizeof(one));
        return NULL;
}

static int on_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        (void) s;
        (void) fd;
        (void) revents;
        *(bool *) userdata = true;
        return 0;
}

/* One request; the loop runs (bounded) until the client has its answer. */
static void call(Test *t, Call *c) {
        sd_event_source *src = NULL;
        pthread_t th;
        bool done = false;

        c->socket_path = c->socket_path ?: t->path;
        if (c->body && !c->body_size)
                c->body_size = strlen(c->body);
        c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        assert_true(c->efd >= 0);
        assert_int_equal(sd_event_add_io(t->event, &src, c->efd, EPOLLIN, on_done, &done), 0);
        assert_int_equal(pthread_create(&th, NULL, client, c), 0);
        for (unsigned i = 0; !done && i < 300; i++)
                assert_true(sd_event_run(t->event, 100 * USEC_PER_MSEC) >= 0);
        assert_true(done);
        assert_int_equal(pthread_join(th, NULL), 0);
        (void) sd_event_source_disable_unref(src);
        (void) close(c->efd);
}

static void call_done(Call *c) {
        free(c->answer);
        c->answer = NULL;
}

/* ======================================================================== */

static int on_whoami(HttpdRequest *q, void *userdata) {
        Test *t = userdata;
        const HttpdPeer *p = httpd_request_peer(q);

        t->handled++;
        return httpd_reply_json(q, 200, json_pack("{s:b, s:I, s:I, s:s, s:s?}", "known",
                                                  p->known, "uid", (json_int_t) p->uid, "pid",
                                                  (json_int_t) p->pid, "path",
                                                  httpd_request_path(q), "q",
                                                  httpd_request_query(q, "q")));
}

static int on_echo(HttpdRequest *q, void *userdata) {
        Test *t = userdata;
        size_t n;
        const char *body = httpd_request_body(q, &n);
        char head[64];

        t->handled++;
        (void) snprintf(head, sizeof(head), "%zu", n);
        assert_int_equal(httpd_reply_header(q, "X-Body-Size", head), 0);
        return httpd_reply(q, 201, "application/octet-stream", body, n);
}

static int on_big(HttpdRequest *q, void *userdata) {
        Test *t = userdata;
        char buf[4096];

        t->handled++;
        memset(buf, 'x', sizeof(buf));
        /* Over the test's response cap of 1024: refused, the client gets 500. */
        assert_int_equal(httpd_reply(q, 200, "text/plain", buf, sizeof(buf)), -E2BIG);
        return 0;
}

static int on_fail(HttpdRequest *q, void *userdata) {
        Test *t = userdata;

        (void) q;
        t->handled++;
        return -ENOTRECOVERABLE;
}

static int on_error(HttpdRequest *q, void *userdata) {
        Test *t = userdata;

        t->handled++;
        return httpd_reply_error(q, 409, "fault %d is %s", 7, "closed");
}

static int setup(void **state) {
        Test *t = calloc(1, sizeof(*t));
        int fd;

        assert_non_null(t);
        (void) snprintf(t->dir, sizeof(t->dir), "/tmp/test-httpd.XXXXXX");
        assert_non_null(mkdtemp(t->dir));
        (void) snprintf(t->path, sizeof(t->path), "%s/control", t->dir);
        assert_int_equal(sd_event_new(&t->event), 0);
        assert_int_equal(httpd_listen_unix(t->path, 0660, NULL, &fd), 0);
        assert_int_equal(httpd_new(t->event,
                                   &(HttpdOptions) { .listen_fd = fd, .body_max = 1000,
                                                     .response_max = 1024 },
                                   &t->httpd),
                         0);
        assert_int_equal(httpd_add_route(t->httpd, "GET", "/v1/whoami",
                                         HTTPD_ROUTE_EXACT | HTTPD_ROUTE_NO_BODY, on_whoami, t),
                         0);
        assert_int_equal(httpd_add_route(t->httpd, "POST", "/v1/echo", 0, on_echo, t), 0);
        assert_int_equal(httpd_add_route(t->httpd, "GET", "/v1", 0, on_whoami, t), 0);
        assert_int_equal(httpd_add_route(t->httpd, "GET", "/v1/big", 0, on_big, t), 0);
        assert_int_equal(httpd_add_route(t->httpd, "GET", "/v1/fail", 0, on_fail, t), 0);
        assert_int_equal(httpd_add_route(t->httpd, "GET", "/v1/error", 0, on_error, t), 0);
        *state = t;
        return 0;
}

static int teardown(void **state) {
        Test *t = *state;

        httpd_free(t->httpd);
        sd_event_unref(t->event);
        (void) unlink(t->path);
        (void) rmdir(t->dir);
        free(t);
        return 0;
}

/* ======================================================================== */

static void test_peer_credentials(void **state) {
        Test *t = *state;
        Call c = { .method = "GET", .path = "/v1/whoami" };
        json_t *j;
        struct stat st;

        call(t, &c);
        assert_int_equal(c.code, CURLE_OK);
        assert_int_equal(c.status, 200);
        j = json_loads(c.answer, 0, NULL);
        assert_non_null(j);
        assert_true(json_is_true(json_object_get(j, "known")));
        assert_int_equal(json_integer_value(json_object_get(j, "uid")), getuid());
        assert_int_equal(json_integer_value(json_object_get(j, "pid")), getpid());
        json_decref(j);
        call_done(&c);
        assert_int_equal(t->handled, 1);
        /* The socket file has the mode asked for. */
        assert_int_equal(stat(t->path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0660);
}

static void test_routes(void **state) {
        Test *t = *state;
        Call c = { .method = "GET", .path = "/v1/some/thing?q=%C3%A9t%C3%A9" };
        json_t *j;

        /* The longest prefix wins; a prefix matches on a '/' boundary. */
        call(t, &c);
        assert_int_equal(c.status, 200);
        j = json_loads(c.answer, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "path")), "/v1/some/thing");
        assert_string_equal(json_string_value(json_object_get(j, "q")), "été");
        json_decref(j);
        call_done(&c);

        c = (Call) { .method = "GET", .path = "/v1x" };
        call(t, &c);
        assert_int_equal(c.status, 404);
        assert_non_null(strstr(c.answer, "\"ok\":false"));
        call_done(&c);

        c = (Call) { .method = "GET", .path = "/v1/whoami/more" };
        call(t, &c);
        assert_int_equal(c.status, 200);     /* the "/v1" route, not the exact one */
        call_done(&c);

        c = (Call) { .method = "DELETE", .path = "/v1/echo" };
        call(t, &c);
        assert_int_equal(c.status, 405);
        call_done(&c);

        c = (Call) { .method = "GET", .path = "/v1/error" };
        call(t, &c);
        assert_int_equal(c.status, 409);
        assert_string_equal(c.answer, "{\"ok\":false,\"error\":\"fault 7 is closed\"}");
        call_done(&c);

        c = (Call) { .method = "GET", .path = "/v1/fail" };
        call(t, &c);
        assert_int_equal(c.status, 500);
        call_done(&c);
        assert_int_equal(t->handled, 4);
}

static void test_body(void **state) {
        Test *t = *state;
        char body[1001];
        Call c = { .method = "POST", .path = "/v1/echo", .body = "{\"a\":1}" };

        call(t, &c);
        assert_int_equal(c.status, 201);
        assert_string_equal(c.answer, "{\"a\":1}");
        call_done(&c);

        /* Exactly the cap passes; one byte more is refused, the handler is
         * not called. */
        memset(body, 'b', sizeof(body));
        c = (Call) { .method = "POST", .path = "/v1/echo", .body = body, .body_size = 1000 };
        call(t, &c);
        assert_int_equal(c.status, 201);
        assert_int_equal(c.answer_size, 1000);
        call_done(&c);
        assert_int_equal(t->handled, 2);

        c = (Call) { .method = "POST", .path = "/v1/echo", .body = body, .body_size = 1001 };
        call(t, &c);
        assert_int_equal(c.status, 413);
        assert_non_null(strstr(c.answer, "exceeds 1000 bytes"));
        call_done(&c);

        /* Without a Content-Length (chunked) it is counted as it comes. */
        c = (Call) { .method = "POST", .path = "/v1/echo", .body = body, .body_size = 1001,
                     .chunked = true };
        call(t, &c);
        assert_int_equal(c.status, 413);
        call_done(&c);

        /* A route that takes no body. */
        c = (Call) { .method = "GET", .path = "/v1/whoami", .body = "x" };
        call(t, &c);
        assert_int_equal(c.status, 413);
        assert_non_null(strstr(c.answer, "takes no body"));
        call_done(&c);
        assert_int_equal(t->handled, 2);

        /* The server still serves after all that. */
        c = (Call) { .method = "POST", .path = "/v1/echo", .body = "again" };
        call(t, &c);
        assert_int_equal(c.status, 201);
        assert_string_equal(c.answer, "again");
        call_done(&c);
}

static void test_response_cap(void **state) {
        Test *t = *state;
        Call c = { .method = "GET", .path = "/v1/big" };

        call(t, &c);
        assert_int_equal(c.status, 500);
        assert_true(c.answer_size < 1024);
        assert_non_null(strstr(c.answer, "too large"));
        call_done(&c);
}

static void test_listen_unix(void **state) {
        Test *t = *state;
        char other[160];
        int fd;

        /* A regular file where the socket should be is left alone. */
        (void) snprintf(other, sizeof(other), "%s/file", t->dir);
        fd = open(other, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        assert_true(fd >= 0);
        (void) close(fd);
        assert_int_equal(httpd_listen_unix(other, 0660, NULL, &fd), -EEXIST);
        assert_int_equal(access(other, F_OK), 0);
        (void) unlink(other);

        /* A stale socket (no one listens) is replaced; the new one serves. */
        httpd_free(t->httpd);
        t->httpd = NULL;
        assert_int_equal(httpd_listen_unix(t->path, 0600, "no-such-group-fw", &fd), 0);
        assert_int_equal(httpd_new(t->event, &(HttpdOptions) { .listen_fd = fd }, &t->httpd), 0);
        assert_int_equal(httpd_add_route(t->httpd, "GET", "/", 0, on_whoami, t), 0);
        {
                Call c = { .method = "GET", .path = "/anything" };
                struct stat st;

                call(t, &c);
                assert_int_equal(c.status, 200);
                call_done(&c);
                assert_int_equal(stat(t->path, &st), 0);
                assert_int_equal(st.st_mode & 07777, 0600);
        }
}

/* The group that may connect: given, the socket is theirs (0660); missing
 * (or not found), it fails closed, for its owner only (0600), not for the
 * process's group. */
static void test_listen_unix_group(void **state) {
        Test *t = *state;
        struct group *own = getgrgid(getegid());
        char path[160];
        struct stat st;
        int fd;

        (void) snprintf(path, sizeof(path), "%s/grouped", t->dir);
        assert_non_null(own);
        assert_int_equal(httpd_listen_unix(path, 0660, own->gr_name, &fd), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0660);
        assert_int_equal(st.st_gid, own->gr_gid);
        (void) close(fd);
        assert_int_equal(httpd_listen_unix(path, 0660, "no-such-group-fw", &fd), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        (void) close(fd);
        (void) unlink(path);
}

/* The Host check against DNS rebinding: addresses and localhost, with or
 * without a port, and the names given; nothing a DNS server could point here. */
static void test_host_allowed(void **state) {
        static char *names[] = { "fieldwatch.example.lg.jp", "monitor" };
        static const char *const good[] = {
                "127.0.0.1", "127.0.0.1:9847", "192.0.2.10:443", "[::1]", "[::1]:9847",
                "[2001:db8::1]:80", "localhost", "LocalHost:9847", "fieldwatch.example.lg.jp",
                "FIELDWATCH.example.lg.jp:8443", "monitor:1",
        };
        static const char *const bad[] = {
                "", ":9847", "evil.example", "evil.example:9847", "127.0.0.1.nip.io",
                "localhost.evil.example", "fieldwatch.example.lg.jp.evil.example", "monitor2",
                "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:99999",
                "127.0.0.1:98x", "127.0.0.1:+80", "127.0.0.1:80:80", "::1", "[::1", "[::1]x",
                "[::1]:", "[]", "[evil]:80", "[127.0.0.1]", "localhost.", "127.1",
        };

        (void) state;
        assert_true(httpd_host_allowed(NULL, names, 2));  /* HTTP/1.0: no browser */
        for (size_t i = 0; i < ELEMENTSOF(good); i++)
                if (!httpd_host_allowed(good[i], names, 2))
                        fail_msg("refused: '%s'", good[i]);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (httpd_host_allowed(bad[i], names, 2))
                        fail_msg("allowed: '%s'", bad[i]);
        assert_false(httpd_host_allowed("monitor", NULL, 0));
}

static void test_connection_limit(void **state) {
        Test *t = *state;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        Call c = { .method = "GET", .path = "/v1/whoami" };
        int fd, idle;

        httpd_free(t->httpd);
        assert_int_equal(httpd_listen_unix(t->path, 0600, NULL, &fd), 0);
        assert_int_equal(httpd_new(t->event, &(HttpdOptions) { .listen_fd = fd,
                                                               .connections_max = 1 },
                                   &t->httpd),
                         0);
        assert_int_equal(httpd_add_route(t->httpd, "GET", "/v1/whoami", 0, on_whoami, t), 0);
        /* One idle client takes the only place ... */
        idle = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        assert_true(idle >= 0);
        memcpy(sa.sun_path, t->path, strlen(t->path));
        assert_int_equal(connect(idle, (struct sockaddr *) &sa, sizeof(sa)), 0);
        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(t->event, 50 * USEC_PER_MSEC) >= 0);
        /* ... so the next waits, unserved (in the kernel's backlog). */
        c.timeout_sec = 1;
        call(t, &c);
        assert_int_equal(c.code, CURLE_OPERATION_TIMEDOUT);
        assert_int_not_equal(c.status, 200);
        call_done(&c);
        assert_int_equal(t->handled, 0);
        /* Once it goes, the next is served: the server came off its limit. */
        (void) close(idle);
        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(t->event, 50 * USEC_PER_MSEC) >= 0);
        c = (Call) { .method = "GET", .path = "/v1/whoami" };
        call(t, &c);
        assert_int_equal(c.status, 200);
        call_done(&c);
        assert_int_equal(t->handled, 1);
}

static void test_tcp(void **state) {
        Test *t = *state;
        Httpd *h = NULL;
        Call c = { .method = "GET", .path = "/v1/whoami" };
        char url[64];
        uint16_t port = 0;

        /* A TCP listener on loopback: an ephemeral port found by trying. */
        for (unsigned i = 0; i < 50 && !h; i++) {
                port = (uint16_t) (20000 + (unsigned) (getpid() * 7 + i * 131) % 30000);
                if (httpd_new(t->event, &(HttpdOptions) { .tcp_address = "127.0.0.1",
                                                          .tcp_port = port },
                              &h) < 0)
                        h = NULL;
        }
        assert_non_null(h);
        assert_int_equal(httpd_port(h), port);
        assert_int_equal(httpd_add_route(h, "GET", "/v1/whoami", 0, on_whoami, t), 0);
        (void) snprintf(url, sizeof(url), "127.0.0.1:%u", port);
        c.host = url;
        call(t, &c);
        assert_int_equal(c.code, CURLE_OK);
        assert_int_equal(c.status, 200);
        /* No peer credentials on TCP. */
        assert_non_null(strstr(c.answer, "\"known\":false"));
        call_done(&c);
        httpd_free(h);
}

/* ======================================================================== */

typedef struct StreamTest {
        HttpdStream *stream;
        bool closed;
} StreamTest;

static void on_stream_close(HttpdStream *s, void *userdata) {
        StreamTest *st = userdata;

        assert_ptr_equal(s, st->stream);
        st->closed = true;
}

static int on_stream(HttpdRequest *q, void *userdata) {
        StreamTest *st = userdata;

        assert_null(st->stream);
        return httpd_reply_stream(q, 200, "text/event-stream", 8192, on_stream_close, st,
                                  &st->stream);
}

static int connect_unix(const char *path, int rcvbuf) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        assert_true(fd >= 0);
        if (rcvbuf)
                assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)), 0);
        memcpy(sa.sun_path, path, strlen(path));
        assert_int_equal(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        return fd;
}

static void run_until(Test *t, const bool *flag, unsigned max_rounds) {
        for (unsigned i = 0; !*flag && i < max_rounds; i++)
                assert_true(sd_event_run(t->event, 20 * USEC_PER_MSEC) >= 0);
}

static void test_stream(void **state) {
        static const char req[] = "GET /v1/stream HTTP/1.1\r\nHost: x\r\n\r\n";
        Test *t = *state;
        StreamTest st = {};
        char buf[8192];
        size_t got = 0;
        bool have = false;
        int fd, r = 0;

        assert_int_equal(httpd_add_route(t->httpd, "GET", "/v1/stream", 0, on_stream, &st), 0);

        /* A client that reads gets what is written, as it is written. */
        fd = connect_unix(t->path, 0);
        assert_int_equal(write(fd, req, strlen(req)), (ssize_t) strlen(req));
        for (unsigned i = 0; !st.stream && i < 200; i++)
                assert_true(sd_event_run(t->event, 20 * USEC_PER_MSEC) >= 0);
        assert_non_null(st.stream);
        assert_int_equal(httpd_stream_write(st.stream, "data: one\n\n", 11), 0);
        assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        for (unsigned i = 0; i < 200 && !strstr(buf, "data: one"); i++) {
                ssize_t n;

                assert_true(sd_event_run(t->event, 20 * USEC_PER_MSEC) >= 0);
                n = read(fd, buf + got, sizeof(buf) - 1 - got);
                if (n > 0)
                        got += (size_t) n;
                buf[got] = 0;
        }
        assert_non_null(strstr(buf, "200 OK"));
        assert_non_null(strstr(buf, "text/event-stream"));
        assert_non_null(strstr(buf, "data: one"));
        /* It leaves: the next write finds out, and the stream closes. */
        (void) close(fd);
        for (unsigned i = 0; i < 200 && !st.closed; i++) {
                if (!have)
                        have = httpd_stream_write(st.stream, "x", 1) < 0;
                assert_true(sd_event_run(t->event, 20 * USEC_PER_MSEC) >= 0);
        }
        assert_true(st.closed);

        /* A client that never reads: dropped once the buffer is full. */
        st = (StreamTest) {};
        fd = connect_unix(t->path, 4096);
        assert_int_equal(write(fd, req, strlen(req)), (ssize_t) strlen(req));
        for (unsigned i = 0; !st.stream && i < 200; i++)
                assert_true(sd_event_run(t->event, 20 * USEC_PER_MSEC) >= 0);
        assert_non_null(st.stream);
        memset(buf, 'x', 1024);
        for (unsigned i = 0; i < 5000 && r == 0; i++) {
                r = httpd_stream_write(st.stream, buf, 1024);
                assert_true(sd_event_run(t->event, 0) >= 0);
        }
        assert_int_equal(r, -ENOBUFS);
        run_until(t, &st.closed, 200);
        assert_true(st.closed);
        (void) close(fd);

        /* One still open when the server goes: closed with it. */
        st = (StreamTest) {};
        fd = connect_unix(t->path, 0);
        assert_int_equal(write(fd, req, strlen(req)), (ssize_t) strlen(req));
        for (unsigned i = 0; !st.stream && i < 200; i++)
                assert_true(sd_event_run(t->event, 20 * USEC_PER_MSEC) >= 0);
        assert_non_null(st.stream);
        for (unsigned i = 0; i < 5; i++)
                assert_true(sd_event_run(t->event, 10 * USEC_PER_MSEC) >= 0);
        t->httpd = httpd_free(t->httpd);
        assert_true(st.closed);
        (void) close(fd);
}

static void test_basic_auth(void **state) {
        Test *t = *state;
        Httpd *h = NULL;
        char path[160];
        int fd;

        (void) snprintf(path, sizeof(path), "%s/auth", t->dir);
        assert_int_equal(httpd_listen_unix(path, 0600, NULL, &fd), 0);
        assert_int_equal(httpd_new(t->event,
                                   &(HttpdOptions) { .listen_fd = fd,
                                                     .basic_auth = "kansa:pa:ss" },
                                   &h),
                         0);
        assert_int_equal(httpd_add_route(h, "GET", "/v1/whoami", 0, on_whoami, t), 0);
        {
                static const struct {
                        const char *userpwd, *path;
                        long status;
                } cases[] = {
                        { NULL, "/v1/whoami", 401 },
                        { "kansa:pa:sx", "/v1/whoami", 401 },
                        { "kansa:pa:s", "/v1/whoami", 401 },
                        { "kansb:pa:ss", "/v1/whoami", 401 },
                        { NULL, "/nothing", 401 },   /* not even a 404 */
                        { "kansa:pa:ss", "/v1/whoami", 200 },
                        { "kansa:pa:ss", "/nothing", 404 },
                };

                for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                        Call c = { .method = "GET", .path = cases[i].path,
                                   .userpwd = cases[i].userpwd, .socket_path = path };

                        call(t, &c);
                        assert_int_equal(c.code, CURLE_OK);
                        assert_int_equal(c.status, cases[i].status);
                        call_done(&c);
                }
        }
        httpd_free(h);
        (void) unlink(path);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_peer_credentials, setup, teardown),
                cmocka_unit_test_setup_teardown(test_routes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_body, setup, teardown),
                cmocka_unit_test_setup_teardown(test_response_cap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_listen_unix, setup, teardown),
                cmocka_unit_test_setup_teardown(test_listen_unix_group, setup, teardown),
                cmocka_unit_test(test_host_allowed),
                cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_tcp, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
                cmocka_unit_test_setup_teardown(test_basic_auth, setup, teardown),
        };

        curl_global_init(CURL_GLOBAL_DEFAULT);
        if (getenv("HTTPD_DEBUG"))
                log_set_max_level(LOG_DEBUG);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
