/* SPDX-License-Identifier: MIT */

#include <arpa/inet.h>
#include <errno.h>
#include <libxml/xmlsave.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera.h"
#include "text.h"
#include "macro.h"
#include "soap.h"
#include "timeutil.h"

#define ONVIF_DEVICE_PATH "/onvif/device_service"
#define GETINFO_PATH "/cgi-bin/getinfo?FILE=1"
#define SEARCH_PATH_MAX 256

typedef enum Step {
        STEP_TIME,
        STEP_SERVICES,
        STEP_DEVINFO,
        STEP_RECORDING,
        STEP_GETINFO,
        _STEP_MAX,
} Step;

#define CONTENT_TYPE(action)                                                                \
        "Content-Type: application/soap+xml; charset=utf-8; action=\"" action "\""

/* The header lists are the same for every camera: constant lists, which
 * libcurl only reads. No "Expect: 100-continue" round trip. */
static struct curl_slist no_expect = { (char *) "Expect:", NULL };
static struct curl_slist step_headers[_STEP_MAX] = {
        [STEP_TIME] = { (char *) CONTENT_TYPE(NS_ONVIF_DEVICE "/GetSystemDateAndTime"),
                        &no_expect },
        [STEP_SERVICES] = { (char *) CONTENT_TYPE(NS_ONVIF_DEVICE "/GetServices"), &no_expect },
        [STEP_DEVINFO] = { (char *) CONTENT_TYPE(NS_ONVIF_DEVICE "/GetDeviceInformation"),
                           &no_expect },
        [STEP_RECORDING] = { (char *) CONTENT_TYPE(NS_ONVIF_SEARCH "/GetRecordingSummary"),
                             &no_expect },
};

#define BODY_TIME "<GetSystemDateAndTime xmlns=\"" NS_ONVIF_DEVICE "\"/>"
#define BODY_SERVICES                                                                       \
        "<GetServices xmlns=\"" NS_ONVIF_DEVICE "\">"                                        \
        "<IncludeCapability>false</IncludeCapability></GetServices>"
#define BODY_DEVINFO "<GetDeviceInformation xmlns=\"" NS_ONVIF_DEVICE "\"/>"
#define BODY_RECORDING "<GetRecordingSummary xmlns=\"" NS_ONVIF_SEARCH "\"/>"

static const struct {
        const char *name;            /* for reasons */
        const char *body;            /* NULL for the CGI */
        const char *request;         /* the whole request without WS-Security */
        bool search;                 /* sent to the Search service */
} steps[_STEP_MAX] = {
        [STEP_TIME] = { "GetSystemDateAndTime", BODY_TIME, SOAP_ENVELOPE(BODY_TIME), false },
        [STEP_SERVICES] = { "GetServices", BODY_SERVICES, SOAP_ENVELOPE(BODY_SERVICES), false },
        [STEP_DEVINFO] = { "GetDeviceInformation", BODY_DEVINFO, SOAP_ENVELOPE(BODY_DEVINFO),
                           false },
        [STEP_RECORDING] = { "GetRecordingSummary", BODY_RECORDING,
                             SOAP_ENVELOPE(BODY_RECORDING), true },
        [STEP_GETINFO] = { "getinfo", NULL, NULL, false },
};

/* Connections (issue 7, measured with bench/bench.py): the requests of one
 * cycle share a connection (a deep cycle sends up to five). Whether it is
 * kept for the next cycle depends on the interval (keep_connection, set by
 * the monitor for intervals up to 10 s and fields up to 2,000 cameras):
 *   - 1,000 cameras every 5 s: kept, a probe costs 0.149 ms of CPU instead
 *     of 0.184 (no connect, no TIME_WAIT). The camera keeps its easy handle
 *     too, and with it the Digest nonce: no 401 round trip before the
 *     authenticated requests. It costs 8 KiB per camera (the handle and
 *     2.2 KiB of libcurl state per idle connection: +8.2 MiB RSS for 1,000)
 *     and a descriptor each;
 *   - every minute (10,000 cameras): closed after the last request. The
 *     cameras drop idle connections first (keep-alive timeouts of 5-30 s:
 *     a kept one would be dead when reused), and 10,000 of them would take
 *     22 MiB of the 64 MiB budget and 10,000 descriptors.
 * A camera that drops a kept connection before its next cycle (its
 * keep-alive is shorter than the interval), twice in a row, has its
 * connections closed after every cycle for the next 360 (connection_kept_check):
 * a kept connection is then dearer than a fresh one, as libcurl polls every
 * idle connection in its cache once a second and walks the whole cache again
 * for every dead one it drops (issue 18: 1,000 cameras every 5 s that keep a
 * connection 3 s used 12-14 % of a core, against 4 % with fresh connections
 * and 2.6 % kept 30 s). */

/* What a cycle needs only while it runs: pooled, so that an idle camera
 * costs little and a cycle allocates nothing once the pool is warm. */
typedef struct CameraCycle {
        struct CameraCycle *next;    /* in the pool */
        CameraProbe *probe;
        CurlSlot slot;               /* its easy handle comes from the glue's pool */
        Step step;
        bool deep_cycle;
        char *request;               /* with WS-Security; else a constant */
        ProbeBuffer answer;          /* the running request's */
        char errbuf[CURL_ERROR_SIZE];
        struct timespec real_start;
        ProbeResult result;          /* liveness: status, latency, clock skew */
        bool deep_round;             /* the deep checks ran (past GetSystemDateAndTime) */
        ProbeResult deep;            /* their findings, kept in CameraDeep at the end */
} CameraCycle;

/* The last deep checks, compact: they hold until the next ones. */
typedef struct CameraDeep {
        ProbeStatus status;
        bool has_recording_lag;
        int64_t recording_lag;
        char *reason;                /* NULL when up */
        char *text;                  /* manufacturer, model, firmware, serial, SD state: each
                                      * NUL-terminated, one after the other */
} CameraDeep;

/* Idle cycles kept; and the answer buffer a pooled cycle keeps. */
#define CYCLE_POOL_MAX 256u
#define BODY_KEEP (16u * 1024u)

static CameraCycle *cycle_pool;
static unsigned n_cycle_pool;

struct CameraProbe {
        CurlGlue *glue;
        ProbeDoneFn done;
        void *userdata;

        CameraConn conn;             /* its events borrow it */
        const char *model;           /* the configuration's, or a constant */
        uint64_t max_skew, max_lag;
        CURL *easy;                  /* with keep_connection, between cycles: the
                                      * handle keeps the Digest nonce, the cache the
                                      * connection */
        char *search_path;           /* NULL when the camera has no Search service */
        double skew;                 /* seconds; persists for WS-Security's Created */

        CameraEvents *events;        /* ONVIF events; NULL: none */
        CameraEventFn on_event;      /* the monitor's */
        const char *tamper_topic;    /* the last one that turned on (static); NULL: none */
        CameraCycle *cycle;          /* the running cycle, or NULL */
        CameraDeep deep;             /* the last deep checks; text NULL before the first */
        unsigned tampered;           /* the tampering topics whose state is on (topic_bit) */

        /* Together, after the rest: no padding between (issue 18). */
        CameraKeep keep;             /* the connection from cycle to cycle */
        bool literal;                /* the address is an IP address, not a name */
        bool services_known;         /* GetServices answered */
        bool has_skew;
};

/* ======================================================================== */

/* The options of the camera on a (pooled, reset) easy handle. */
static int easy_setup(CameraProbe *p, CameraCycle *c) {
        CURL *e = c->slot.easy;
        long ms = (long) (p->conn.timeout / USEC_PER_MSEC);
        bool ok;

        ok = probe_easy_setup(e, &c->answer, c->errbuf, p->conn.ca_file, p->conn.pinned_public_key,
                              p->conn.interface) >= 0 &&
             curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK;
        /* An address needs no resolver cache; and libcurl's cache, with an
         * entry per camera, is pruned by a walk over all of it at every
         * request (issue 7: the cost of a probe grew with N). */
        if (ok && p->literal)
                ok = curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L) == CURLE_OK;
        return ok ? 0 : -EIO;
}

static void on_transfer_done(CurlSlot *slot, CURLcode code);

/* Clears what one request of a cycle leaves behind. */
static void request_reset(CameraCycle *c) {
        free(c->request);
        c->request = NULL;
        probe_buffer_clear(&c->answer, SIZE_MAX);
}

/* Whether the connection outlives the cycle: the monitor asks it, and the
 * camera has not dropped kept ones lately (camera_keep_answer). */
bool camera_keep_keeps(const CameraKeep *k) {
        return k->setting && k->again == 0;
}

static bool keeps_connection(const CameraProbe *p) {
        return camera_keep_keeps(&p->keep);
}

/* Ends a cycle: the easy handle back to the glue, the cycle to the pool. */
static void cycle_put(CameraProbe *p) {
        CameraCycle *c = TAKE_PTR(p->cycle);

        if (!c)
                return;
        curl_glue_abort(p->glue, &c->slot);
        if (keeps_connection(p) && !p->easy)
                p->easy = TAKE_PTR(c->slot.easy);
        else
                c->slot.easy = curl_glue_easy_put(p->glue, c->slot.easy);
        request_reset(c);
        if (n_cycle_pool == CYCLE_POOL_MAX) {
                free(c->answer.data);
                free(c);
                return;
        }
        probe_buffer_clear(&c->answer, BODY_KEEP);
        c->next = cycle_pool;
        cycle_pool = c;
        n_cycle_pool++;
}

/* Begins a cycle: a cycle from the pool with the camera's easy handle
 * (kept with its connection) or one from the glue. */
static int cycle_get(CameraProbe *p) {
        CameraCycle *c = cycle_pool;
        int r;

        if (c) {
                cycle_pool = c->next;
                n_cycle_pool--;
        } else {
                c = calloc(1, sizeof(*c));
                if (!c)
                        return -ENOMEM;
        }
        c->next = NULL;
        c->probe = p;
        c->deep_round = false;
        c->slot = (CurlSlot) { .done = on_transfer_done, .userdata = c };
        p->cycle = c;
        if (p->easy) {
                /* Its options stay, but those that point into the cycle. */
                c->slot.easy = TAKE_PTR(p->easy);
                r = curl_easy_setopt(c->slot.easy, CURLOPT_WRITEDATA, &c->answer) == CURLE_OK &&
                    curl_easy_setopt(c->slot.easy, CURLOPT_ERRORBUFFER, c->errbuf) == CURLE_OK
                            ? 0 : -EIO;
        } else {
                r = curl_glue_easy_get(p->glue, &c->slot.easy);
                if (r >= 0)
                        r = easy_setup(p, c);
        }
        if (r < 0)
                cycle_put(p);
        return r;
}

void camera_cycle_pool_release(void) {
        while (cycle_pool) {
                CameraCycle *c = cycle_pool;

                cycle_pool = c->next;
                free(c->answer.data);
                free(c);
        }
        n_cycle_pool = 0;
}

static bool address_is_literal(const char *a) {
        unsigned char buf[sizeof(struct in6_addr)];

        return inet_pton(AF_INET, a, buf) == 1 || inet_pton(AF_INET6, a, buf) == 1;
}

static char *strdup_or_null(const char *s, bool *failed) {
        char *d;

        if (!s)
                return NULL;
        d = strdup(s);
        if (!d)
                *failed = true;
        return d;
}

static void camera_on_event(void *userdata, const CameraEvent *event);

int camera_probe_new(CurlGlue *glue, const CameraProbeConf *conf, ProbeDoneFn done,
                     void *userdata, CameraProbe **ret) {
        const CameraConf *c = conf->camera;
        bool v6 = strchr(c->address, ':') != NULL, failed = false;
        xmlChar *escaped;
        CameraProbe *p;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->glue = glue;
        p->done = done;
        p->userdata = userdata;
        p->conn.auth = c->auth;
        p->conn.timeout = conf->timeout;
        p->conn.pull_wait = conf->pull_wait;
        p->max_skew = conf->max_clock_skew;
        p->max_lag = conf->max_recording_lag;
        p->keep.setting = conf->keep_connection;
        p->literal = address_is_literal(c->address);
        if (asprintf(&p->conn.base_url, "%s://%s%s%s:%u",
                     c->scheme == CAMERA_SCHEME_HTTPS ? "https" : "http", v6 ? "[" : "",
                     c->address, v6 ? "]" : "", c->port) < 0) {
                p->conn.base_url = NULL;
                camera_probe_free(p);
                return -ENOMEM;
        }
        p->model = c->model ?: "WV-S2536LNUX";
        p->conn.username = c->username;
        p->conn.password = strdup_or_null(conf->password, &failed);
        p->conn.ca_file = c->ca_file;
        p->conn.pinned_public_key = c->pinned_public_key;
        if (conf->source_address &&
            asprintf(&p->conn.interface, "host!%s", conf->source_address) < 0) {
                p->conn.interface = NULL;
                failed = true;
        }
        escaped = c->username ? xmlEncodeSpecialChars(NULL, BAD_CAST c->username) : NULL;
        p->conn.username_xml = strdup_or_null((const char *) escaped, &failed);
        xmlFree(escaped);
        if (failed || (c->username && !p->conn.username_xml)) {
                camera_probe_free(p);
                return -ENOMEM;
        }
        p->on_event = conf->on_event;
        /* Events need the authenticated operations. */
        if (conf->on_event && p->conn.password &&
            camera_events_new(glue, &p->conn, camera_on_event, p, &p->events) < 0) {
                camera_probe_free(p);
                return -ENOMEM;
        }
        *ret = p;
        return 0;
}

CameraProbe *camera_probe_free(CameraProbe *p) {
        if (!p)
                return NULL;
        cycle_put(p);
        p->events = camera_events_free(p->events);
        p->easy = curl_glue_easy_put(p->glue, p->easy);
        free(p->conn.base_url);
        free(p->conn.username_xml);
        free(p->conn.interface);
        free(p->search_path);
        free(p->deep.reason);
        free(p->deep.text);
        if (p->conn.password) {
                explicit_bzero(p->conn.password, strlen(p->conn.password));
                free(p->conn.password);
        }
        free(p);
        return NULL;
}

bool camera_probe_running(const CameraProbe *p) {
        return p->cycle && p->cycle->slot.running;
}

const char *camera_probe_events_state(const CameraProbe *p, char *buf, size_t size) {
        if (!p->events) {
                (void) snprintf(buf, size, "off");
                return buf;
        }
        return camera_events_state(p->events, buf, size);
}

const char *camera_probe_events_missing(const CameraProbe *p, char *buf, size_t size) {
        if (!p->events) {
                buf[0] = 0;
                return buf;
        }
        return camera_events_missing(p->events, buf, size);
}

/* ======================================================================== */

static bool step_needs_auth(Step s) {
        return s == STEP_DEVINFO || s == STEP_RECORDING || s == STEP_GETINFO;
}

/* The last request of a cycle closes its connection, unless it is kept
 * for the next cycle (see above). */
static bool step_closes(const CameraProbe *p, Step s) {
        if (keeps_connection(p))
                return false;
        return !p->cycle->deep_cycle || !p->conn.password || s == STEP_GETINFO;
}

static int step_start(CameraProbe *p, Step s) {
        CameraCycle *c = p->cycle;
        CURL *e = c->slot.easy;
        bool digest, wsse;
        char url[512];
        size_t len = 0;
        int r;

        request_reset(c);
        c->step = s;
        c->errbuf[0] = 0;
        digest = step_needs_auth(s) && p->conn.password &&
                 (p->conn.auth == CAMERA_AUTH_DIGEST || s == STEP_GETINFO);
        wsse = step_needs_auth(s) && p->conn.password && !digest;

        (void) snprintf(url, sizeof(url), "%s%s", p->conn.base_url,
                        s == STEP_GETINFO ? GETINFO_PATH
                        : steps[s].search ? p->search_path ?: ""
                                          : ONVIF_DEVICE_PATH);
        if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(e, CURLOPT_FORBID_REUSE, step_closes(p, s) ? 1L : 0L) != CURLE_OK)
                return -EIO;

        /* Exactly one authentication, or none: ONVIF asks clients never to send both. */
        if (digest) {
                if (curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_DIGEST) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_USERNAME, p->conn.username ?: "") != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_PASSWORD, p->conn.password) != CURLE_OK)
                        return -EIO;
        } else {
                (void) curl_easy_setopt(e, CURLOPT_USERNAME, NULL);
                (void) curl_easy_setopt(e, CURLOPT_PASSWORD, NULL);
                (void) curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_NONE);
        }

        if (s == STEP_GETINFO) {
                if (curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL) != CURLE_OK)
                        return -EIO;
        } else {
                const char *request = steps[s].request;

                len = strlen(request);
                if (wsse) {
                        /* A fresh nonce and Created for every request. */
                        time_t created = time(NULL) + (time_t) lround(p->has_skew ? p->skew : 0);

                        r = soap_build_request(steps[s].body, p->conn.username_xml ?: "", p->conn.password,
                                               created, &c->request, &len);
                        if (r < 0)
                                return r;
                        request = c->request;
                }
                if (curl_easy_setopt(e, CURLOPT_POSTFIELDS, request) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len) !=
                            CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_HTTPHEADER, &step_headers[s]) != CURLE_OK)
                        return -EIO;
        }
        (void) clock_gettime(CLOCK_REALTIME, &c->real_start);
        return curl_glue_start(p->glue, &c->slot);
}

/* Keeps the findings of a deep round in little memory (an idle camera
 * should cost little). Without memory, the last findings stay. */
static void deep_keep(CameraProbe *p, const ProbeResult *d) {
        const CameraValues *v = &d->camera;
        const char *fields[] = { v->manufacturer, v->model, v->firmware, v->serial, v->sd_state };
        char clean[ELEMENTSOF(fields)][PROBE_TEXT_MAX];
        char *text = NULL, *reason = NULL;

        /* Cleaned once here, not at every liveness result that repeats them
         * (issue 18). */
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                (void) text_clean(clean[i], PROBE_TEXT_MAX, fields[i], strlen(fields[i]));
        if (asprintf(&text, "%s%c%s%c%s%c%s%c%s", clean[0], 0, clean[1], 0, clean[2], 0,
                     clean[3], 0, clean[4]) < 0)
                return;
        if (d->reason[0]) {
                reason = strdup(d->reason);
                if (!reason) {
                        free(text);
                        return;
                }
        }
        free(p->deep.text);
        free(p->deep.reason);
        p->deep = (CameraDeep) {
                .status = d->status,
                .has_recording_lag = v->has_recording_lag,
                .recording_lag = v->recording_lag,
                .reason = reason,
                .text = text,
        };
}

/* An event of the camera's: a tampering state is kept here, where it makes
 * the results degraded, then the monitor hears of it. */
static void camera_on_event(void *userdata, const CameraEvent *event) {
        CameraProbe *p = userdata;
        CameraEvent ev = *event;
        unsigned before = p->tampered;

        if (ev.kind == CAMERA_EVENT_TAMPER && ev.has_state) {
                if (ev.state) {
                        p->tampered |= ev.topic_bit;
                        p->tamper_topic = ev.topic;
                } else
                        p->tampered &= ~ev.topic_bit;
                ev.changed = (before != 0) != (p->tampered != 0);
        }
        p->on_event(p->userdata, &ev);
}

/* Merges the last deep checks into the cycle's result: a camera whose
 * recording stopped stays degraded between deep checks. */
static void cycle_finish(CameraProbe *p) {
        ProbeResult r = p->cycle->result;
        CameraValues *v = &r.camera;

        if (p->cycle->deep_round)
                deep_keep(p, &p->cycle->deep);
        cycle_put(p);
        if (p->deep.text) {
                char *fields[] = { v->manufacturer, v->model, v->firmware, v->serial,
                                   v->sd_state };
                const char *t = p->deep.text;

                for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                        size_t l = strnlen(t, PROBE_TEXT_MAX - 1); /* clean (deep_keep) */

                        memcpy(fields[i], t, l);
                        fields[i][l] = 0;
                        t += strlen(t) + 1;
                }
                v->has_recording_lag = p->deep.has_recording_lag;
                v->recording_lag = p->deep.recording_lag;
                if (r.status != PROBE_DOWN && p->deep.status != PROBE_UP)
                        probe_result_fail(&r, p->deep.status, "%s", p->deep.reason ?: "");
        }
        /* The camera answers, but says its image is tampered with. */
        if (p->tampered && r.status == PROBE_UP)
                probe_result_fail(&r, PROBE_DEGRADED, "image tampering reported by the camera "
                                  "(%s)", p->tamper_topic);
        p->done(p->userdata, &r);
}

/* Describes a failed transfer, or an HTTP error without a SOAP body. */
static void describe_transfer_error(CameraProbe *p, CURLcode code, char *buf, size_t size) {
        const char *err = p->cycle->errbuf[0] ? p->cycle->errbuf : curl_easy_strerror(code);
        char d[DURATION_MAX];
        long os_errno = 0;

        (void) curl_easy_getinfo(p->cycle->slot.easy, CURLINFO_OS_ERRNO, &os_errno);
        switch (code) {
        case CURLE_COULDNT_CONNECT:
                if (os_errno == ECONNREFUSED)
                        (void) snprintf(buf, size, "connection refused");
                else if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
                        (void) snprintf(buf, size, "no route to the camera (%s)",
                                        strerror((int) os_errno));
                else
                        (void) snprintf(buf, size, "cannot connect: %s",
                                        err);
                break;
        case CURLE_OPERATION_TIMEDOUT:
                if (p->cycle->answer.len == 0)
                        (void) snprintf(buf, size, "no answer within %s (timeout)",
                                        format_duration(p->conn.timeout, d));
                else
                        (void) snprintf(buf, size,
                                        "answer too slow: timed out after %s with %zu bytes",
                                        format_duration(p->conn.timeout, d), p->cycle->answer.len);
                break;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                (void) snprintf(buf, size, "answer larger than %u KiB", PROBE_RESPONSE_MAX / 1024);
                break;
        case CURLE_GOT_NOTHING:
                (void) snprintf(buf, size, "connection closed without an answer");
                break;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
                (void) snprintf(buf, size, "connection broken: %s",
                                err);
                break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CONNECT_ERROR:
                (void) snprintf(buf, size, "TLS failure: %s",
                                err);
                break;
        default:
                (void) snprintf(buf, size, "%s",
                                err);
                break;
        }
}

/* Checks a finished SOAP transfer; on success returns 0 with the parsed
 * document, else records the failure with status s and returns < 0. */
static int soap_result(CameraProbe *p, CURLcode code, ProbeResult *target, ProbeStatus s,
                       xmlDoc **ret_doc, xmlNode **ret_body) {
        char why[PROBE_REASON_MAX], err[SOAP_ERROR_MAX];
        long http = 0;
        int r;

        if (code != CURLE_OK) {
                if (p->cycle->answer.too_large)
                        code = CURLE_WRITE_ERROR;
                describe_transfer_error(p, code, why, sizeof(why));
                probe_result_fail(target, s, "%s: %s", steps[p->cycle->step].name, why);
                return -EIO;
        }
        (void) curl_easy_getinfo(p->cycle->slot.easy, CURLINFO_RESPONSE_CODE, &http);
        if (http == 401) {
                probe_result_fail(target, s, "%s: authentication rejected (HTTP 401)",
                                  steps[p->cycle->step].name);
                return -EACCES;
        }
        r = soap_parse_response(p->cycle->answer.data, p->cycle->answer.len, ret_doc, ret_body,
                                err);
        if (r == -EPROTO) {
                probe_result_fail(target, s, "%s: %s", steps[p->cycle->step].name, err);
                return r;
        }
        if (http < 200 || http > 299) {
                if (r >= 0)
                        xmlFreeDoc(*ret_doc);
                probe_result_fail(target, s, "%s: HTTP %ld", steps[p->cycle->step].name, http);
                return -EIO;
        }
        if (r < 0) {
                probe_result_fail(target, s, "%s: %s", steps[p->cycle->step].name,
                                  r == -EBADMSG ? err : strerror(-r));
                return r;
        }
        return 0;
}

/* ======================================================================== */

static bool child_int(const xmlNode *n, const char *name, int lo, int hi, int *ret) {
        char buf[16], *end;
        long v;

        if (!xml_text(xml_child(n, NS_ONVIF_SCHEMA, name), buf, sizeof(buf)))
                return false;
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno || *end || v < lo || v > hi)
                return false;
        *ret = (int) v;
        return true;
}

/* tt:UTCDateTime {Time{Hour,Minute,Second}, Date{Year,Month,Day}} as an instant. */
static int parse_utc_datetime(const xmlNode *utc, time_t *ret) {
        const xmlNode *t = xml_child(utc, NS_ONVIF_SCHEMA, "Time");
        const xmlNode *d = xml_child(utc, NS_ONVIF_SCHEMA, "Date");
        int h, mi, s, y, mo, da;

        if (!t || !d || !child_int(t, "Hour", 0, 23, &h) || !child_int(t, "Minute", 0, 59, &mi) ||
            !child_int(t, "Second", 0, 60, &s) || !child_int(d, "Year", 1970, 9999, &y) ||
            !child_int(d, "Month", 1, 12, &mo) || !child_int(d, "Day", 1, 31, &da) ||
            !ymd_valid(y, mo, da))
                return -EINVAL;
        *ret = (time_t) day_from_ymd(y, mo, da) * 86400 + h * 3600 + mi * 60 + s;
        return 0;
}

/* The camera's UTC time cam, read at the end of the transfer: skew and latency. */
static void time_apply(CameraProbe *p, time_t cam) {
        curl_off_t total = 0;
        double mid;

        (void) curl_easy_getinfo(p->cycle->slot.easy, CURLINFO_TOTAL_TIME_T, &total);
        p->cycle->result.latency_usec = (uint64_t) total;
        /* The camera truncates to whole seconds: its clock read cam + 0.5 on
         * average, at about the middle of the round trip. */
        mid = (double) p->cycle->real_start.tv_sec + p->cycle->real_start.tv_nsec / 1e9 +
              (double) total / 2e6;
        p->skew = (double) cam + 0.5 - mid;
        p->has_skew = true;
        if (p->events)
                camera_events_set_skew(p->events, p->skew);
        p->cycle->result.camera.has_clock_skew = true;
        p->cycle->result.camera.clock_skew = p->skew;
        if (fabs(p->skew) * USEC_PER_SEC > (double) p->max_skew) {
                char d[DURATION_MAX];

                probe_result_fail(&p->cycle->result, PROBE_DEGRADED,
                                  "clock skew %+.0f s (limit %s)", p->skew,
                                  format_duration(p->max_skew, d));
        }
}

static int handle_time(CameraProbe *p, xmlNode *body) {
        xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetSystemDateAndTimeResponse");
        xmlNode *utc = xml_descendant(resp, NS_ONVIF_SCHEMA, "UTCDateTime");
        curl_off_t total = 0;
        time_t cam;

        (void) curl_easy_getinfo(p->cycle->slot.easy, CURLINFO_TOTAL_TIME_T, &total);
        p->cycle->result.latency_usec = (uint64_t) total;
        if (!resp) {
                probe_result_fail(&p->cycle->result, PROBE_DOWN,
                                  "GetSystemDateAndTime: unexpected answer (no "
                                  "GetSystemDateAndTimeResponse)");
                return -EBADMSG;
        }
        if (!utc || parse_utc_datetime(utc, &cam) < 0) {
                probe_result_fail(&p->cycle->result, PROBE_DEGRADED,
                                  "GetSystemDateAndTime: no valid UTCDateTime, clock unknown");
                return 0;
        }
        time_apply(p, cam);
        return 0;
}

/* The liveness answer as most cameras give it: 2xx, a well-formed envelope
 * with the time. Anything else takes the full path, which names the fault. */
static bool time_fast(CameraProbe *p, CURLcode code) {
        long http = 0;
        time_t cam;

        if (code != CURLE_OK || p->cycle->answer.too_large || !p->cycle->answer.data)
                return false;
        (void) curl_easy_getinfo(p->cycle->slot.easy, CURLINFO_RESPONSE_CODE, &http);
        if (http < 200 || http > 299 ||
            soap_parse_time_fast(p->cycle->answer.data, p->cycle->answer.len, &cam) < 0)
                return false;
        time_apply(p, cam);
        return true;
}

/* Takes the path of an XAddr: a camera behind NAT may name an address we
 * cannot reach, so only the path is used, with the configured address. */
static void xaddr_path(const char *xaddr, char *buf, size_t size) {
        const char *s = strstr(xaddr, "://");

        s = s ? strchr(s + 3, '/') : NULL;
        (void) snprintf(buf, size, "%s", s ? s : "");
}

static void handle_services(CameraProbe *p, xmlNode *body) {
        xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetServicesResponse");
        char ns[128], xaddr[SEARCH_PATH_MAX];

        p->services_known = true;
        free(p->search_path);
        p->search_path = NULL;
        for (xmlNode *s = resp ? resp->children : NULL; s; s = s->next) {
                if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, BAD_CAST "Service"))
                        continue;
                if (!xml_text(xml_child(s, NS_ONVIF_DEVICE, "Namespace"), ns, sizeof(ns)) ||
                    !xml_text(xml_child(s, NS_ONVIF_DEVICE, "XAddr"), xaddr, sizeof(xaddr)))
                        continue;
                if (streq(ns, NS_ONVIF_SEARCH)) {
                        char path[SEARCH_PATH_MAX];

                        xaddr_path(xaddr, path, sizeof(path));
                        /* Without memory, no recording check: degraded, not wrong. */
                        free(p->search_path);
                        p->search_path = path[0] ? strdup(path) : NULL;
                } else if (streq(ns, NS_ONVIF_EVENTS) && p->events) {
                        char path[SEARCH_PATH_MAX];

                        xaddr_path(xaddr, path, sizeof(path));
                        (void) camera_events_set_path(p->events, path);
                }
        }
}

static void handle_devinfo(CameraProbe *p, xmlNode *body) {
        xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetDeviceInformationResponse");
        CameraValues *v = &p->cycle->deep.camera;

        if (!resp) {
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "GetDeviceInformation: unexpected answer");
                return;
        }
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "Manufacturer"), v->manufacturer,
                        sizeof(v->manufacturer));
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "Model"), v->model, sizeof(v->model));
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "FirmwareVersion"), v->firmware,
                        sizeof(v->firmware));
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "SerialNumber"), v->serial,
                        sizeof(v->serial));
        if (!streq(v->model, p->model))
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "wrong model %s, expected %s",
                                  v->model[0] ? v->model : "(none)", p->model);
}

static void handle_recording(CameraProbe *p, xmlNode *body) {
        xmlNode *sum = xml_descendant(xml_child(body, NS_ONVIF_SEARCH, "GetRecordingSummaryResponse"),
                                      NS_ONVIF_SEARCH, "Summary");
        char until[64], count[16], d[DURATION_MAX];
        time_t t, camera_now;

        if (!sum) {
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "GetRecordingSummary: unexpected answer");
                return;
        }
        if (xml_text(xml_child(sum, NS_ONVIF_SCHEMA, "NumberRecordings"), count, sizeof(count)) &&
            streq(count, "0")) {
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "recording stopped: the camera holds no recordings");
                return;
        }
        if (!xml_text(xml_child(sum, NS_ONVIF_SCHEMA, "DataUntil"), until, sizeof(until)) ||
            xml_parse_datetime(until, &t) < 0) {
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "GetRecordingSummary: no valid DataUntil");
                return;
        }
        camera_now = time(NULL) + (time_t) lround(p->has_skew ? p->skew : 0);
        p->cycle->deep.camera.has_recording_lag = true;
        p->cycle->deep.camera.recording_lag = (int64_t) (camera_now - t);
        if (camera_now > t && (uint64_t) (camera_now - t) * USEC_PER_SEC > p->max_lag)
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "recording stopped: newest recording %s old (DataUntil %s)",
                                  format_duration((uint64_t) (camera_now - t) * USEC_PER_SEC, d),
                                  until);
}

/* Finds "KEY=value" in the Panasonic CGI's text (lines inside HTML, or
 * pairs separated by blanks). */
static bool getinfo_value(const char *text, const char *key, char *buf, size_t size) {
        size_t klen = strlen(key);

        for (const char *s = text; (s = strstr(s, key)); s += klen) {
                size_t n;

                if (s != text && !strchr("\n\r> \t", s[-1]))
                        continue;
                if (s[klen] != '=')
                        continue;
                s += klen + 1;
                /* Lines (i-PRO) or one line of space-separated pairs (the
                 * AW series): the values asked for hold no blanks. */
                n = strcspn(s, " \t\r\n<&");
                (void) text_clean(buf, size, s, n);
                return true;
        }
        return false;
}

static bool sd_recording(const char *v) {
        return streq(v, "enable") || streq(v, "on");
}

static void handle_getinfo(CameraProbe *p, CURLcode code) {
        CameraValues *v = &p->cycle->deep.camera;
        char why[PROBE_REASON_MAX], sd1[PROBE_TEXT_MAX] = "", sd2[PROBE_TEXT_MAX] = "";
        long http = 0;

        if (code != CURLE_OK) {
                describe_transfer_error(p, p->cycle->answer.too_large ? CURLE_WRITE_ERROR : code,
                                        why, sizeof(why));
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED, "getinfo: %s", why);
                return;
        }
        (void) curl_easy_getinfo(p->cycle->slot.easy, CURLINFO_RESPONSE_CODE, &http);
        if (http == 401) {
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "getinfo: authentication rejected (HTTP 401)");
                return;
        }
        if (http < 200 || http > 299 || !p->cycle->answer.data) {
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED, "getinfo: HTTP %ld", http);
                return;
        }
        /* i-PRO says SDrec=enable|disable for stream 1 and SDrec2= for
         * stream 2 (older firmware: on|off). Recording on either counts; a
         * failing card shows in GetRecordingSummary, not here (no "error"
         * value was ever seen from a real camera). */
        if (!getinfo_value(p->cycle->answer.data, "SDrec", sd1, sizeof(sd1))) {
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "getinfo: no SDrec in the answer");
                return;
        }
        (void) getinfo_value(p->cycle->answer.data, "SDrec2", sd2, sizeof(sd2));
        if (!v->serial[0])
                (void) getinfo_value(p->cycle->answer.data, "SERIAL", v->serial, sizeof(v->serial));
        if (sd_recording(sd1))
                (void) snprintf(v->sd_state, sizeof(v->sd_state), "%s", sd1);
        else if (sd_recording(sd2))
                (void) snprintf(v->sd_state, sizeof(v->sd_state), "%s (stream 2)", sd2);
        else {
                (void) snprintf(v->sd_state, sizeof(v->sd_state), "%s", sd1);
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED,
                                  "SD recording off (SDrec=%s%s%s)", sd1, sd2[0] ? ", SDrec2=" : "",
                                  sd2);
        }
}

/* The step after s in a cycle, or _STEP_MAX when the cycle is over. */
static Step next_step(const CameraProbe *p, Step s) {
        switch (s) {
        case STEP_TIME:
                if (!p->cycle->deep_cycle || p->cycle->result.status == PROBE_DOWN)
                        return _STEP_MAX;
                return p->services_known ? STEP_DEVINFO : STEP_SERVICES;
        case STEP_SERVICES:
                return STEP_DEVINFO;
        case STEP_DEVINFO:
                return p->search_path ? STEP_RECORDING : STEP_GETINFO;
        case STEP_RECORDING:
                return STEP_GETINFO;
        default:
                return _STEP_MAX;
        }
}

/* At every answer: a cycle's first request after a cycle that left its
 * connection open needed a new connection when the camera closed the kept
 * one (or the cycle's last answer said Connection: close). Two such cycles in
 * a row and the camera's connections are no longer kept (see above): one
 * miss may be a failed pull of the camera's events that had taken the
 * connection (the multi handle's cache is shared by host), or the cache full
 * for a moment at a start. A failed request in between starts the count
 * again. A camera whose keep-alive is about the interval loses the race on
 * some cycles and may stay kept: a miss now and then costs a connection, as
 * without. The cycle that gives up leaves its connection open (its requests
 * went out allowed to keep it): one idle connection, once. Given up, the
 * camera is tried again after CAMERA_KEEP_AGAIN_CYCLES (a camera whose settings or
 * firmware changed, a network that dropped connections for a while). */
void camera_keep_answer(CameraKeep *k, bool ok, int reconnected) {
        if (k->kept_alive && ok && reconnected >= 0) {
                k->misses = reconnected ? k->misses + 1 : 0;
                if (k->misses >= CAMERA_KEEP_MISSES_MAX) {
                        k->again = CAMERA_KEEP_AGAIN_CYCLES;
                        k->misses = 0;
                }
        } else if (!ok)
                k->misses = 0;
        k->kept_alive = camera_keep_keeps(k) && ok;
}

/* A camera given up on is tried again in time. */
void camera_keep_cycle_start(CameraKeep *k) {
        if (k->again > 0)
                k->again--;
}

static void connection_kept_check(CameraProbe *p, CURLcode code) {
        CameraCycle *c = p->cycle;
        long connects = 0;
        int reconnected = -1;

        if (c->step == STEP_TIME && code == CURLE_OK &&
            curl_easy_getinfo(c->slot.easy, CURLINFO_NUM_CONNECTS, &connects) == CURLE_OK)
                reconnected = connects > 0;
        camera_keep_answer(&p->keep, code == CURLE_OK, reconnected);
}

static void on_transfer_done(CurlSlot *slot, CURLcode code) {
        CameraCycle *c = slot->userdata;
        CameraProbe *p = c->probe;
        xmlNode *body = NULL;
        xmlDoc *doc = NULL;
        Step next;

        connection_kept_check(p, code);
        if (p->cycle->step == STEP_GETINFO)
                handle_getinfo(p, code);
        else if (p->cycle->step == STEP_TIME && time_fast(p, code))
                ; /* no tree needed */
        else if (soap_result(p, code, c->step == STEP_TIME ? &c->result : &c->deep,
                             c->step == STEP_TIME ? PROBE_DOWN : PROBE_DEGRADED, &doc,
                             &body) >= 0) {
                switch (p->cycle->step) {
                case STEP_TIME:
                        (void) handle_time(p, body);
                        break;
                case STEP_SERVICES:
                        handle_services(p, body);
                        break;
                case STEP_DEVINFO:
                        handle_devinfo(p, body);
                        break;
                case STEP_RECORDING:
                        handle_recording(p, body);
                        break;
                default:
                        break;
                }
                xmlFreeDoc(doc);
        } else if (p->cycle->step == STEP_TIME) {
                (void) curl_easy_getinfo(p->cycle->slot.easy, CURLINFO_TOTAL_TIME_T,
                                         (curl_off_t *) &p->cycle->result.latency_usec);
        }

        next = next_step(p, p->cycle->step);
        if ((next == STEP_DEVINFO || next == STEP_SERVICES) && !p->conn.password)
                next = _STEP_MAX;
        if (p->cycle->step == STEP_TIME && next != _STEP_MAX) {
                /* A deep round begins: its findings replace the last ones. */
                p->cycle->deep = (ProbeResult) { .status = PROBE_UP };
                p->cycle->deep_round = true;
        }
        if (next != _STEP_MAX) {
                int r = step_start(p, next);

                if (r >= 0)
                        return;
                probe_result_fail(&p->cycle->deep, PROBE_DEGRADED, "%s: cannot start: %s",
                                  steps[next].name, strerror(-r));
        }
        cycle_finish(p);
}

int camera_probe_start(CameraProbe *p, bool deep) {
        int r;

        if (p->cycle)
                return -EBUSY;
        camera_keep_cycle_start(&p->keep);
        r = cycle_get(p);
        if (r < 0)
                return r;
        if (p->events)
                camera_events_poke(p->events);
        p->cycle->result = (ProbeResult) { .status = PROBE_UP };
        p->cycle->deep_cycle = deep;
        p->cycle->result.camera.deep = deep && p->conn.password;
        r = step_start(p, STEP_TIME);
        if (r < 0)
                cycle_put(p);
        return r;
}
