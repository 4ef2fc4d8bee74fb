/* SPDX-License-Identifier: MIT */
#pragma once

/* libcurl's multi_socket API driven by sd-event (after systemd's
 * curl-util.c): curl says which sockets to watch and when to wake it; the
 * loop tells curl what happened. Transfers never block the loop. */

#include <curl/curl.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

typedef struct CurlGlue CurlGlue;
typedef struct CurlSlot CurlSlot;

/* Called once when a transfer ends, from the event loop, with the easy
 * handle already removed from the multi handle. */
typedef void (*CurlDoneFn)(CurlSlot *slot, CURLcode result);

/* A transfer's place in the glue. The owner keeps the easy handle (and may
 * reuse it for the next transfer, for connection reuse). */
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
