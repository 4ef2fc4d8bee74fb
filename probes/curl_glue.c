/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>

#include "curl_glue.h"
#include "log.h"
#include "macro.h"

struct CurlGlue {
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        unsigned running;
};

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

static int on_curl_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        CurlGlue *g = userdata;
        int flags = 0, running;

        (void) s;
        if (revents & EPOLLIN)
                flags |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                flags |= CURL_CSELECT_OUT;
        if (revents & (EPOLLERR | EPOLLHUP))
                flags |= CURL_CSELECT_ERR;
        (void) curl_multi_socket_action(g->multi, fd, flags, &running);
        curl_glue_drain(g);
        return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp) {
        CurlGlue *g = userdata;
        sd_event_source *io = socketp;
        uint32_t events = 0;

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                (void) sd_event_source_disable_unref(io);
                return 0;
        }
        if (what & CURL_POLL_IN)
                events |= EPOLLIN;
        if (what & CURL_POLL_OUT)
                events |= EPOLLOUT;
        if (io)
                return sd_event_source_set_io_events(io, events) < 0 ? -1 : 0;
        if (sd_event_add_io(g->event, &io, fd, events, on_curl_io, g) < 0)
                return -1;
        if (curl_multi_assign(g->multi, fd, io) != CURLM_OK) {
                (void) sd_event_source_disable_unref(io);
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

/* Only arms the timer: calling libcurl from here would recurse. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userdata) {
        CurlGlue *g = userdata;

        (void) multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(g->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_source_set_time_relative(g->timer, (uint64_t) timeout_ms * USEC_PER_MSEC) < 0)
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
        g->multi = curl_multi_init();
        if (!g->multi) {
                curl_glue_free(g);
                return -ENOMEM;
        }
        r = sd_event_add_time_relative(e, &g->timer, CLOCK_MONOTONIC, UINT64_MAX / 2,
                                       USEC_PER_MSEC, on_curl_timer_fired, g);
        if (r < 0) {
                curl_glue_free(g);
                return r;
        }
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
        /* curl_multi_cleanup() calls the socket callback: the sources go with it.
         * Easy handles still attached belong to their owners, who abort them. */
        if (g->multi)
                (void) curl_multi_cleanup(g->multi);
        (void) sd_event_source_disable_unref(g->timer);
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
