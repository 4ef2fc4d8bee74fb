/* SPDX-License-Identifier: MIT */
#pragma once

/* libcurl's multi_socket API driven by sd-event (after systemd's
 * curl-util.c and curl's ephiperfifo.c): curl says which sockets to watch
 * and when to wake it; the loop tells curl what happened. Transfers never
 * block the loop.
 *
 * curl's sockets sit in an epoll set of the glue's own, which is a single
 * io source of the loop: one wakeup serves every ready socket at once, and
 * the loop's cost does not grow with the number of transfers in flight.
 * Idle easy handles are pooled: a device holds one only while it has a
 * transfer running (connections live in the multi handle's cache, not in
 * the easy handle). */

#include <curl/curl.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

/* At most this many idle easy handles are kept for reuse; more are freed. */
#define CURL_GLUE_POOL_MAX 256u
/* Ready sockets handled per epoll_wait(), and batches per wakeup of the
 * loop: the rest waits for the next iteration, so that timers due (the
 * probes' starts) wait no more than a few milliseconds. */
#define CURL_GLUE_BATCH 64
#define CURL_GLUE_BATCHES 4
/* How late libcurl's deadlines of a second or more may be served. */
#define CURL_GLUE_TIMEOUT_ACCURACY (50 * USEC_PER_MSEC)

typedef struct CurlGlue CurlGlue;
typedef struct CurlSlot CurlSlot;

/* Called once when a transfer ends, from the event loop, with the easy
 * handle already removed from the multi handle. */
typedef void (*CurlDoneFn)(CurlSlot *slot, CURLcode result);

/* A transfer's place in the glue. The owner provides the easy handle (its
 * own, or one from curl_glue_easy_get()) and keeps it after the transfer. */
struct CurlSlot {
        CURL *easy;
        CurlDoneFn done;
        void *userdata;
        bool running;
};

/* Creates the glue on an event loop. */
int curl_glue_new(sd_event *e, CurlGlue **ret);

/* Aborts every running transfer (without callbacks) and frees. NULL-safe. */
CurlGlue *curl_glue_free(CurlGlue *g);

/* Starts slot->easy; slot->done is called when it ends. The slot must stay
 * valid until then or until curl_glue_abort(). */
int curl_glue_start(CurlGlue *g, CurlSlot *slot);

/* Stops a running transfer without calling done. No-op when not running. */
void curl_glue_abort(CurlGlue *g, CurlSlot *slot);

/* Number of transfers running. */
unsigned curl_glue_running(const CurlGlue *g);

/* An easy handle with default options: an idle one from the pool, or a
 * new one. Give it back with curl_glue_easy_put(). */
int curl_glue_easy_get(CurlGlue *g, CURL **ret);

/* Takes back an easy handle that is not running: its options are reset and
 * it waits in the pool for the next transfer (or is freed when the pool is
 * full). Returns NULL, for `p->easy = curl_glue_easy_put(g, p->easy)`. */
CURL *curl_glue_easy_put(CurlGlue *g, CURL *easy);

/* Number of idle easy handles in the pool. */
unsigned curl_glue_pooled(const CurlGlue *g);

/* The size of the multi handle's connection cache (CURLMOPT_MAXCONNECTS). */
int curl_glue_set_max_connections(CurlGlue *g, long n);
