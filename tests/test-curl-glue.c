/* SPDX-License-Identifier: MIT */

/* The curl glue on a real loop: many transfers at once against a small
 * HTTP server in the same loop (more ready sockets than one epoll batch),
 * the pool of easy handles, and aborts. */

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "curl_glue.h"
#include "macro.h"

#define TRANSFERS 300                /* > CURL_GLUE_BATCH: batches of ready sockets */

typedef struct Server {
        int fd;
        uint16_t port;
        bool silent;                 /* accept, never answer */
        unsigned accepted;
} Server;

typedef struct Conn {
        Server *server;
        char buf[1024];
        size_t len;
} Conn;

typedef struct Test {
        sd_event *event;
        CurlGlue *glue;
        Server server;
        CurlSlot slots[TRANSFERS];
        unsigned done, ok;
        char url[64];
} Test;

static int on_conn(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        static const char answer[] =
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        Conn *c = userdata;
        ssize_t n;

        (void) revents;
        n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
        if (n < 0 && errno == EAGAIN)
                return 0;
        if (n > 0) {
                c->len += (size_t) n;
                c->buf[c->len] = 0;
                if (!strstr(c->buf, "\r\n\r\n"))
                        return 0;
                if (c->server->silent)
                        return 0;
                assert_int_equal(write(fd, answer, sizeof(answer) - 1), sizeof(answer) - 1);
        }
        /* Closes the connection and frees c (its destroy callback). */
        sd_event_source_disable_unref(s);
        return 0;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Server *srv = userdata;
        int cfd;

        (void) s;
        (void) revents;
        while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                Conn *c = calloc(1, sizeof(*c));
                sd_event_source *src;

                assert_non_null(c);
                c->server = srv;
                srv->accepted++;
                assert_true(sd_event_add_io(sd_event_source_get_event(s), &src, cfd, EPOLLIN,
                                            on_conn, c) >= 0);
                /* The source owns the connection and c; the loop owns the
                 * source, until on_conn() ends it or the loop goes. */
                assert_true(sd_event_source_set_io_fd_own(src, true) >= 0);
                assert_true(sd_event_source_set_destroy_callback(src, free) >= 0);
                assert_true(sd_event_source_set_floating(src, true) >= 0);
                sd_event_source_unref(src);
        }
        return 0;
}

static void server_start(Test *t) {
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t len = sizeof(a);

        t->server.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        assert_true(t->server.fd >= 0);
        assert_int_equal(bind(t->server.fd, (struct sockaddr *) &a, sizeof(a)), 0);
        assert_int_equal(listen(t->server.fd, 1024), 0);
        assert_int_equal(getsockname(t->server.fd, (struct sockaddr *) &a, &len), 0);
        t->server.port = ntohs(a.sin_port);
        assert_true(sd_event_add_io(t->event, NULL, t->server.fd, EPOLLIN, on_accept,
                                    &t->server) >= 0);
        (void) snprintf(t->url, sizeof(t->url), "http://127.0.0.1:%u/x", t->server.port);
}

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        (void) data;
        (void) userdata;
        return size * n;
}

static void on_done(CurlSlot *slot, CURLcode result) {
        Test *t = slot->userdata;
        long http = 0;

        assert_false(slot->running);
        (void) curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &http);
        t->done++;
        t->ok += result == CURLE_OK && http == 200;
        slot->easy = curl_glue_easy_put(t->glue, slot->easy);
}

/* Runs the loop until *counter reaches want (never to its end: it is used again). */
static void run_until(Test *t, const unsigned *counter, unsigned want) {
        while (*counter < want)
                assert_true(sd_event_run(t->event, 10 * USEC_PER_SEC) >= 0);
}

static void start(Test *t, CurlSlot *slot) {
        assert_int_equal(curl_glue_easy_get(t->glue, &slot->easy), 0);
        slot->done = on_done;
        slot->userdata = t;
        assert_int_equal(curl_easy_setopt(slot->easy, CURLOPT_URL, t->url), CURLE_OK);
        assert_int_equal(curl_easy_setopt(slot->easy, CURLOPT_WRITEFUNCTION, on_body), CURLE_OK);
        assert_int_equal(curl_easy_setopt(slot->easy, CURLOPT_TIMEOUT_MS, 10000L), CURLE_OK);
        assert_int_equal(curl_easy_setopt(slot->easy, CURLOPT_NOSIGNAL, 1L), CURLE_OK);
        assert_int_equal(curl_glue_start(t->glue, slot), 0);
}

static int setup(void **state) {
        Test *t = calloc(1, sizeof(*t));

        assert_non_null(t);
        assert_int_equal(sd_event_new(&t->event), 0);
        assert_int_equal(curl_glue_new(t->event, &t->glue), 0);
        server_start(t);
        *state = t;
        return 0;
}

static int teardown(void **state) {
        Test *t = *state;

        for (size_t i = 0; i < TRANSFERS; i++) {
                curl_glue_abort(t->glue, &t->slots[i]);
                t->slots[i].easy = curl_glue_easy_put(t->glue, t->slots[i].easy);
        }
        curl_glue_free(t->glue);
        sd_event_unref(t->event);
        close(t->server.fd);
        free(t);
        return 0;
}

static void test_many_at_once(void **state) {
        Test *t = *state;

        for (int round = 0; round < 2; round++) {
                CURL *first_pooled = NULL;

                t->done = t->ok = 0;
                for (size_t i = 0; i < TRANSFERS; i++) {
                        if (round == 1 && i == 0)
                                assert_true(curl_glue_pooled(t->glue) > 0);
                        start(t, &t->slots[i]);
                        if (i == 0)
                                first_pooled = t->slots[i].easy;
                }
                assert_non_null(first_pooled);
                assert_int_equal(curl_glue_running(t->glue), TRANSFERS);
                assert_int_equal(curl_glue_pooled(t->glue), 0);
                run_until(t, &t->done, TRANSFERS);
                assert_int_equal(t->done, TRANSFERS);
                assert_int_equal(t->ok, TRANSFERS);
                assert_int_equal(curl_glue_running(t->glue), 0);
                /* Every handle came back; the pool keeps at most its maximum. */
                assert_int_equal(curl_glue_pooled(t->glue), MIN(TRANSFERS, CURL_GLUE_POOL_MAX));
                for (size_t i = 0; i < TRANSFERS; i++)
                        assert_null(t->slots[i].easy);
        }
        assert_int_equal(t->server.accepted, 2 * TRANSFERS);
}

static void test_pool_reuses(void **state) {
        Test *t = *state;
        CURL *a, *b;

        assert_int_equal(curl_glue_easy_get(t->glue, &a), 0);
        assert_int_equal(curl_easy_setopt(a, CURLOPT_PRIVATE, t), CURLE_OK);
        assert_null(curl_glue_easy_put(t->glue, a));
        assert_int_equal(curl_glue_pooled(t->glue), 1);
        assert_int_equal(curl_glue_easy_get(t->glue, &b), 0);
        assert_ptr_equal(a, b);
        assert_int_equal(curl_glue_pooled(t->glue), 0);
        /* Reset: the options of its last user are gone. */
        {
                char *private = (char *) "set";

                assert_int_equal(curl_easy_getinfo(b, CURLINFO_PRIVATE, &private), CURLE_OK);
                assert_null(private);
        }
        assert_null(curl_glue_easy_put(t->glue, b));
        assert_null(curl_glue_easy_put(t->glue, NULL));
}

static int on_deadline(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        (*(unsigned *) userdata)++;
        return 0;
}

static void test_abort(void **state) {
        Test *t = *state;
        unsigned passed = 0;

        t->server.silent = true;
        t->done = 0;
        start(t, &t->slots[0]);
        start(t, &t->slots[1]);
        /* Let both connect and send; the server never answers. */
        assert_true(sd_event_add_time_relative(t->event, NULL, CLOCK_MONOTONIC,
                                               200 * USEC_PER_MSEC, 0, on_deadline,
                                               &passed) >= 0);
        run_until(t, &passed, 1);
        assert_int_equal(t->server.accepted, 2);
        assert_int_equal(curl_glue_running(t->glue), 2);
        curl_glue_abort(t->glue, &t->slots[0]);
        assert_false(t->slots[0].running);
        assert_int_equal(curl_glue_running(t->glue), 1);
        /* Aborting twice is harmless. */
        curl_glue_abort(t->glue, &t->slots[0]);
        assert_int_equal(curl_glue_running(t->glue), 1);
        assert_int_equal(t->done, 0);
        /* The other one is left running: curl_glue_free() copes. */
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_many_at_once, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pool_reuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_abort, setup, teardown),
        };

        (void) curl_global_init(CURL_GLOBAL_DEFAULT);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
