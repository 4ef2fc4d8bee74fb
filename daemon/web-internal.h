/* SPDX-License-Identifier: MIT */
#pragma once

/* Private to the web view (web.c, web-pages.c): the Web object and what the
 * server and the HTML pages share. */

#include <stdio.h>

#include "httpd.h"
#include "store.h"
#include "web.h"

typedef struct SseClient SseClient;   /* a live page (web.c) */

struct Web {
        sd_event *event;
        Httpd *httpd;
        char *state_dir;
        Store *store;                /* read-only, opened at the first use */
        Monitor *monitor;
        const Config *config;
        const Calendar *calendar;
        sd_event_source *tick, *change;
        uint64_t generation;
        unsigned ticks;
        SseClient *clients;
        size_t n_clients;
        char *tls_cert, *tls_key;
};

/* The read-only store, opened at the first use (-errno: the page is a 503). */
int web_store(Web *w, Store **ret);

/* Closes f (an open_memstream() over *buf and *size) and answers with it. */
int web_reply_memstream(HttpdRequest *q, const char *type, FILE *f, char **buf, size_t *size);

/* 503: the state cannot be read now (r). */
int web_not_ready(HttpdRequest *q, int r);

/* The HTML pages (web-pages.c): GET /, GET /site/NN, GET /live.js. */
int web_on_page(HttpdRequest *q, void *userdata);
int web_on_site(HttpdRequest *q, void *userdata);
int web_on_live_js(HttpdRequest *q, void *userdata);
