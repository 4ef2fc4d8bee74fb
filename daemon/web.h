/* SPDX-License-Identifier: MIT */
#pragma once

/* The web view (SPEC §6, issue 15): a read-only TCP listener on http.listen,
 * served by the same HTTP server code as the control socket (httpd.h) on
 * the daemon's loop. On loopback it speaks plain HTTP; anywhere else HTTPS
 * (libmicrohttpd's GnuTLS, http.tls_cert and http.tls_key) with basic auth
 * (the credential http.auth_credential holds "user:password").
 *
 *     GET /                      the page: tiles, open faults and their clocks,
 *                                deadlines of the next 30 days, last 50 events
 *     GET /site/NN               one site: devices, faults, 30-day availability
 *     GET /events                Server-Sent Events: "change" when the page may
 *                                have changed (the page's live.js refetches)
 *     GET /live.js               that script
 *     GET /api/v1/status         = fieldwatchctl status --json
 *     GET /api/v1/faults[?open=1]  = fieldwatchctl faults [--open] --json
 *     GET /api/v1/deadlines[?from=DATE&to=DATE]  = fieldwatchctl deadlines --json
 *     GET /api/v1/events[?since=ID&limit=N]      = fieldwatchctl events --json
 *     GET /metrics               Prometheus text exposition
 *     GET /healthz               200 {"ok":true,...} while the monitor runs
 *
 * A Host that is neither an address, localhost nor a name of
 * http.allowed_hosts: 421 (DNS rebinding), before anything else. At most
 * WEB_PER_IP_MAX connections from one address; one silent WEB_TIMEOUT_SEC is
 * closed. Any other method: 405; a request body: 413. No operator action is ever
 * taken over TCP (they go over the control socket only). The JSON and the
 * pages are read from the state database through a read-only connection
 * (WAL: it never blocks the daemon's writes). */

#include <systemd/sd-event.h>

#include "calendar.h"
#include "config.h"
#include "macro.h"
#include "monitor.h"

#define WEB_SSE_CLIENTS_MAX 64U
#define WEB_CONNECTIONS_MAX (2U * WEB_SSE_CLIENTS_MAX) /* the live clients and as many others */
#define WEB_PER_IP_MAX 16U           /* connections from one address */
#define WEB_TIMEOUT_SEC 10U          /* a connection idle this long is closed (a live one
                                      * is written to every 5 s) */
#define WEB_SSE_BUFFER_MAX (16U * 1024U)   /* a client this far behind is dropped */
#define WEB_RESPONSE_MAX (4U * 1024U * 1024U)

typedef struct Web Web;

/* Listens on c->http.listen (nothing when it is off: *ret is NULL). Reads
 * the TLS key and certificate and the basic auth credential now (they are
 * not read again on reload). Errors are logged. */
int web_new(sd_event *e, const Config *c, const char *state_dir, const char *credentials_dir,
            Web **ret);
Web *web_free(Web *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(Web *, web_free);

/* What the view shows: the current monitor, its configuration and calendar
 * (they change on reload). Until set, pages answer 503. */
void web_set_state(Web *w, Monitor *m, const Config *c, const Calendar *cal);

/* The port it listens on (for tests with port 0 there is none: 0). */
uint16_t web_port(Web *w);
