/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "curl_glue.h"
#include "log.h"
#include "macro.h"

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        int epfd;                    /* curl's sockets */
        sd_event_source *io;         /* epfd in the loop */
        sd_event_source *timer;
        unsigned running;
        CURL *pool[CURL_GLUE_POOL_MAX]; /* idle easy handles */
        unsigned n_pool;
};

/* curl_multi_assign() value of a socket in the epoll set. */
static char socket_registered;

static void curl_glue_drain(CurlGlue *g) {
        CURLMsg *msg;
        int left;

        while ((msg = curl_multi_info_read(g->multi, &left))) {
                CurlSlot *slot = NULL;
                CURLcode result = msg->data.result;
                CURL *easy = msg->easy_handle;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **) &slot) != CURLE_OK || !slot)
                        continue;
                (void) curl_multi_remove_handle(g->multi, easy);
                slot->running = false;
                g->running--;
                slot->done(slot, result);
        }
}

static int revents_to_cselect(uint32_t revents) {
        int flags = 0;

        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        return flags;
}

/* Serves the ready sockets, a batch at a time. Finished transfers are
 * handed on after each batch: their owners may start the next ones. A
 * socket curl closed in the same batch gets a stale event, which curl
 * ignores (it knows the socket no longer, or finds nothing to read). */
static int on_epoll(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct epoll_event ev[CURL_GLUE_BATCH];
        CurlGlue *g = userdata;
        int running;

        (void) s;
        (void) fd;
        (void) revents;
        for (unsigned b = 0; b < CURL_GLUE_BATCHES; b++) {
                int n = epoll_wait(g->epfd, ev, CURL_GLUE_BATCH, 0);

                if (n <= 0)
                        break;
                for (int i = 0; i < n; i++)
                        (void) curl_multi_socket_action(g->multi, ev[i].data.fd,
                                                        revents_to_cselect(ev[i].events),
                                                        &running);
                curl_glue_drain(g);
                if (n < CURL_GLUE_BATCH)
                        break;
        }
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        CurlGlue *g = userdata;
        struct epoll_event ev = { .data.fd = fd };

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                /* curl forgets the assignment itself. The socket may be
                 * closed already, which took it out of the set. */
                if (socketp)
                        (void) epoll_ctl(g->epfd, EPOLL_CTL_DEL, fd, NULL);
                return 0;
        }
        if (what & CURL_POLL_IN)
                ev.events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                ev.events |= EPOLLOUT;
        if (socketp)
                return epoll_ctl(g->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -1 : 0;
        if (epoll_ctl(g->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
                /* A reused descriptor number, still in the set. */
                if (errno != EEXIST || epoll_ctl(g->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
                        return -1;
        }
        if (curl_multi_assign(g->multi, fd, &socket_registered) != CURLM_OK) {
                (void) epoll_ctl(g->epfd, EPOLL_CTL_DEL, fd, NULL);
                return -1;
        }
        return 0;
}

static int on_curl_timer_fired(sd_event_source *s, uint64_t usec, void *userdata) {
        CurlGlue *g = userdata;
        int running;

        (void) s;
        (void) usec;
        (void) curl_multi_socket_action(g->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        curl_glue_drain(g);
        return 0;
}

/* Only arms the timer: calling libcurl from here would recurse. A timeout
 * of a second or more is a transfer's or a connection's deadline: it may
 * fire CURL_GLUE_TIMEOUT_ACCURACY late, so that it shares the probes'
 * wake-ups instead of waking the loop on a millisecond of its own (issue
 * 18); a shorter one is curl's own work, to be done at once. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userdata) {
        CurlGlue *g = userdata;

        (void) multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_accuracy(g->timer, timeout_ms >= 1000
                                                                ? CURL_GLUE_TIMEOUT_ACCURACY
                                                                : USEC_PER_MSEC) < 0 ||
            sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * USEC_PER_MSEC) < 0)
                return -1;
        return sd_event_source_set_enabled(g->timer, SD_EVENT_ONESHOT) < 0 ? -1 : 0;
}

int curl_glue_new(sd_event *e, CurlGlue **ret) {
        CurlGlue *g;
        int r;

        g = calloc(1, sizeof(*g));
        if (!g)
                return -ENOMEM;
        g->event = sd_event_ref(e);
        g->epfd = -1;
        g->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (g->epfd < 0) {
                r = -errno;
                curl_glue_free(g);
                return r;
        }
        g->multi = curl_multi_init();
        if (!g->multi) {
                curl_glue_free(g);
                return -ENOMEM;
        }
        r = sd_event_add_io(e, &g->io, g->epfd, EPOLLIN, on_epoll, g);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &g->timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
                                               USEC_PER_MSEC, on_curl_timer_fired, g);
        if (r < 0) {
                curl_glue_free(g);
                return r;
        }
        (void) sd_event_source_set_description(g->io, "curl-io");
        (void) sd_event_source_set_enabled(g->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(g->timer, "curl-timer");
        if (curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
            curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g) != CURLM_OK) {
                curl_glue_free(g);
                return -EIO;
        }
        *ret = g;
        return 0;
}

CurlGlue *curl_glue_free(CurlGlue *g) {
        if (!g)
                return NULL;
        /* curl_multi_cleanup() calls the socket callback: the epoll set goes
         * after it. Easy handles still attached belong to their owners, who
         * abort them. */
        if (g->multi)
                (void) curl_multi_cleanup(g->multi);
        for (unsigned i = 0; i < g->n_pool; i++)
                curl_easy_cleanup(g->pool[i]);
        (void) sd_event_source_disable_unref(g->io);
        (void) sd_event_source_disable_unref(g->timer);
        if (g->epfd >= 0)
                (void) close(g->epfd);
        sd_event_unref(g->event);
        free(g);
        return NULL;
}

int curl_glue_start(CurlGlue *g, CurlSlot *slot) {
        if (slot->running)
                return -EBUSY;
        if (curl_easy_setopt(slot->easy, CURLOPT_PRIVATE, slot) != CURLE_OK)
                return -EIO;
        if (curl_multi_add_handle(g->multi, slot->easy) != CURLM_OK)
                return -EIO;
        slot->running = true;
        g->running++;
        return 0;
}

void curl_glue_abort(CurlGlue *g, CurlSlot *slot) {
        if (!slot->running)
                return;
        (void) curl_multi_remove_handle(g->multi, slot->easy);
        slot->running = false;
        g->running--;
}

unsigned curl_glue_running(const CurlGlue *g) {
        return g->running;
}

int curl_glue_easy_get(CurlGlue *g, CURL **ret) {
        CURL *e;

        e = g->n_pool > 0 ? g->pool[--g->n_pool] : curl_easy_init();
        if (!e)
                return -ENOMEM;
        *ret = e;
        return 0;
}

CURL *curl_glue_easy_put(CurlGlue *g, CURL *easy) {
        if (!easy)
                return NULL;
        if (g->n_pool == CURL_GLUE_POOL_MAX) {
                curl_easy_cleanup(easy);
                return NULL;
        }
        /* Options go; the handle's own caches stay. */
        curl_easy_reset(easy);
        g->pool[g->n_pool++] = easy;
        return NULL;
}

unsigned curl_glue_pooled(const CurlGlue *g) {
        return g->n_pool;
}

int curl_glue_set_max_connections(CurlGlue *g, long n) {
        return curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS, n) == CURLM_OK ? 0 : -EINVAL;
}
