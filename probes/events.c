/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events.h"
#include "macro.h"
#include "probe.h"
#include "soap.h"
#include "text.h"

#define NS_WSNT "http://docs.oasis-open.org/wsn/b-2"
#define NS_WSA "http://www.w3.org/2005/08/addressing"
#define NS_WSTOP "http://docs.oasis-open.org/wsn/t-1"

#define EVENTS_PATH_DEFAULT "/onvif/event_service"
/* A subscription lives two minutes and is renewed when a minute is left;
 * a failure is retried after 5 s, doubling up to 10 minutes; a camera
 * without an Event service is asked again after an hour. */
#define TERMINATION "PT120S"
#define RENEW_LEFT 60
#define RETRY_FIRST 5
#define RETRY_MAX 600
#define UNSUPPORTED_RETRY 3600
#define MESSAGE_LIMIT "16"
#define PATH_MAX_LEN 256
/* The answer buffer kept between the requests of a subscription: a
 * PullMessages answer with a few messages fits; a larger one is freed. */
#define ANSWER_KEEP (16u * 1024u)

static const struct {
        const char *path;
        CameraEventKind kind;
} known_topics[] = {
        { "VideoSource/GlobalSceneChange/ImagingService", CAMERA_EVENT_TAMPER },
        { "VideoSource/ImageTooDark/ImagingService", CAMERA_EVENT_TAMPER },
        { "VideoSource/ImageTooBlurry/ImagingService", CAMERA_EVENT_TAMPER },
        { "VideoSource/ImageTooBright/ImagingService", CAMERA_EVENT_TAMPER },
        { "Device/HardwareFailure/StorageFailure", CAMERA_EVENT_STORAGE },
        { "RecordingConfig/JobState", CAMERA_EVENT_RECORDING },
};

typedef enum Op {
        OP_NONE,
        OP_PROPERTIES,
        OP_SUBSCRIBE,
        OP_PULL,
        OP_RENEW,
        OP_UNSUBSCRIBE,
} Op;

static const char *const op_names[] = {
        [OP_PROPERTIES] = "GetEventProperties",
        [OP_SUBSCRIBE] = "CreatePullPointSubscription",
        [OP_PULL] = "PullMessages",
        [OP_RENEW] = "Renew",
        [OP_UNSUBSCRIBE] = "Unsubscribe",
};

struct CameraEvents {
        CurlGlue *glue;
        CurlSlot slot;               /* its own easy handle (not the glue's pool's) */
        CameraEventFn fn;
        void *userdata;
        const CameraConn *conn;      /* the camera probe's */

        char *path;                  /* the Event service's; NULL: EVENTS_PATH_DEFAULT */
        char *sub_path;              /* the subscription's; NULL: none */
        uint64_t retry_at;           /* CLOCK_MONOTONIC seconds; 0: now */
        char *error;                 /* the last failure; NULL: none */
        double skew;
        Op op;                       /* running; OP_NONE when idle */
        unsigned offered;            /* bit i: known_topics[i] */
        unsigned backoff;            /* seconds */
        bool properties_known, unsupported;
        bool has_skew;

        /* Only while an exchange runs or a subscription lives (issue 18: a
         * camera at rest costs its events about 150 bytes). */
        char *request;
        ProbeBuffer answer;
        char *errbuf;                /* CURL_ERROR_SIZE, with the easy handle */
};

static uint64_t mono_sec(void) {
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec;
}

/* ======================================================================== */
/* Parsing */

/* "tns1:VideoSource/..." -> the index of the known topic, or -1. */
static int topic_index(const char *text) {
        const char *colon = strchr(text, ':'), *slash = strchr(text, '/');
        const char *path = colon && (!slash || colon < slash) ? colon + 1 : text;

        for (size_t i = 0; i < ELEMENTSOF(known_topics); i++)
                if (streq(path, known_topics[i].path))
                        return (int) i;
        return -1;
}

/* Walks the TopicSet: an element's path is its ancestors' local names. */
static void walk_topics(const xmlNode *n, char *path, size_t len, unsigned depth,
                        unsigned *offered) {
        for (const xmlNode *c = n ? n->children : NULL; c; c = c->next) {
                size_t l = strlen((const char *) c->name);
                int i;

                if (c->type != XML_ELEMENT_NODE || depth > 8 || len + l + 2 >= PATH_MAX_LEN)
                        continue;
                if (len)
                        path[len] = '/';
                memcpy(path + len + (len ? 1 : 0), c->name, l + 1);
                i = topic_index(path);
                if (i >= 0)
                        *offered |= 1u << i;
                walk_topics(c, path, len + l + (len ? 1 : 0), depth + 1, offered);
                path[len] = 0;
        }
}

unsigned camera_events_parse_properties(const char *buf, size_t len) {
        char err[SOAP_ERROR_MAX], path[PATH_MAX_LEN] = "";
        xmlNode *body = NULL, *resp;
        xmlDoc *doc = NULL;
        unsigned offered = 0;

        if (soap_parse_response(buf, len, &doc, &body, err) < 0)
                return 0;
        resp = xml_child(body, NS_ONVIF_EVENTS, "GetEventPropertiesResponse");
        walk_topics(xml_child(resp, NS_WSTOP, "TopicSet"), path, 0, 0, &offered);
        xmlFreeDoc(doc);
        return offered;
}

static bool bool_value(const char *v, bool *ret) {
        if (streq(v, "true") || streq(v, "1")) {
                *ret = true;
                return true;
        }
        if (streq(v, "false") || streq(v, "0")) {
                *ret = false;
                return true;
        }
        return false;
}

static void message_event(const xmlNode *nm, CameraEventFn fn, void *userdata) {
        char topic[CAMERA_EVENT_TOPIC_MAX * 2];
        const xmlNode *msg, *data;
        CameraEvent ev = {};
        xmlChar *utc, *op;
        int i;

        if (!xml_text(xml_child(nm, NS_WSNT, "Topic"), topic, sizeof(topic)))
                return;
        i = topic_index(topic);
        if (i < 0)
                return;
        ev.kind = known_topics[i].kind;
        ev.topic_bit = 1u << i;
        ev.topic = known_topics[i].path;
        msg = xml_child(xml_child(nm, NS_WSNT, "Message"), NS_ONVIF_SCHEMA, "Message");
        op = msg ? xmlGetProp(msg, BAD_CAST "PropertyOperation") : NULL;
        ev.initialized = op && xmlStrEqual(op, BAD_CAST "Initialized");
        xmlFree(op);
        utc = msg ? xmlGetProp(msg, BAD_CAST "UtcTime") : NULL;
        if (utc && xml_parse_datetime((const char *) utc, &ev.at) < 0)
                ev.at = 0;
        xmlFree(utc);
        data = xml_child(msg, NS_ONVIF_SCHEMA, "Data");
        for (const xmlNode *s = data ? data->children : NULL; s && !ev.has_state; s = s->next) {
                xmlChar *v;

                if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, BAD_CAST "SimpleItem"))
                        continue;
                v = xmlGetProp(s, BAD_CAST "Value");
                ev.has_state = v && bool_value((const char *) v, &ev.state);
                xmlFree(v);
        }
        fn(userdata, &ev);
}

/* The seconds between two xs:dateTime children of resp; -1 without them. */
static int64_t time_left(const xmlNode *resp, const char *ns, const char *now_name,
                         const char *end_name) {
        char a[64], b[64];
        time_t now, end;

        if (!xml_text(xml_child(resp, ns, now_name), a, sizeof(a)) ||
            !xml_text(xml_child(resp, ns, end_name), b, sizeof(b)) ||
            xml_parse_datetime(a, &now) < 0 || xml_parse_datetime(b, &end) < 0)
                return -1;
        return (int64_t) (end - now);
}

int camera_events_parse_messages(const char *buf, size_t len, CameraEventFn fn, void *userdata,
                                 int64_t *ret_left, char *err, size_t errlen) {
        char e[SOAP_ERROR_MAX];
        xmlNode *body = NULL, *resp;
        xmlDoc *doc = NULL;
        int r;

        r = soap_parse_response(buf, len, &doc, &body, e);
        if (r < 0) {
                (void) snprintf(err, errlen, "%s", e);
                return r;
        }
        resp = xml_child(body, NS_ONVIF_EVENTS, "PullMessagesResponse");
        if (!resp) {
                xmlFreeDoc(doc);
                (void) snprintf(err, errlen, "no PullMessagesResponse");
                return -EBADMSG;
        }
        *ret_left = time_left(resp, NS_ONVIF_EVENTS, "CurrentTime", "TerminationTime");
        for (const xmlNode *n = resp->children; n; n = n->next)
                if (n->type == XML_ELEMENT_NODE && n->ns &&
                    xmlStrEqual(n->ns->href, BAD_CAST NS_WSNT) &&
                    xmlStrEqual(n->name, BAD_CAST "NotificationMessage"))
                        message_event(n, fn, userdata);
        xmlFreeDoc(doc);
        return 0;
}

/* ======================================================================== */
/* Requests */

static void on_done(CurlSlot *slot, CURLcode code);

static int easy_setup(CameraEvents *e) {
        const CameraConn *c = e->conn;
        CURL *h = e->slot.easy;
        bool ok;

        ok = probe_easy_setup(h, &e->answer, e->errbuf, c->ca_file, c->pinned_public_key,
                              c->interface) >= 0;
        if (ok && c->password && c->auth == CAMERA_AUTH_DIGEST)
                ok = curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_DIGEST) == CURLE_OK &&
                     curl_easy_setopt(h, CURLOPT_USERNAME, c->username ?: "") == CURLE_OK &&
                     curl_easy_setopt(h, CURLOPT_PASSWORD, c->password) == CURLE_OK;
        return ok ? 0 : -EIO;
}

static int op_start(CameraEvents *e, Op op) {
        static struct curl_slist no_expect = { (char *) "Expect:", NULL };
        static struct curl_slist headers[] = {
                [OP_PROPERTIES] = { (char *) "Content-Type: application/soap+xml; "
                                             "charset=utf-8; action=\"" NS_ONVIF_EVENTS
                                             "/EventPortType/GetEventPropertiesRequest\"",
                                    &no_expect },
                [OP_SUBSCRIBE] = { (char *) "Content-Type: application/soap+xml; charset=utf-8; "
                                            "action=\"" NS_ONVIF_EVENTS "/EventPortType/"
                                            "CreatePullPointSubscriptionRequest\"",
                                   &no_expect },
                [OP_PULL] = { (char *) "Content-Type: application/soap+xml; charset=utf-8; "
                                       "action=\"" NS_ONVIF_EVENTS "/PullPointSubscription/"
                                       "PullMessagesRequest\"",
                              &no_expect },
                [OP_RENEW] = { (char *) "Content-Type: application/soap+xml; charset=utf-8; "
                                        "action=\"http://docs.oasis-open.org/wsn/bw-2/"
                                        "SubscriptionManager/RenewRequest\"",
                               &no_expect },
                [OP_UNSUBSCRIBE] = { (char *) "Content-Type: application/soap+xml; "
                                              "charset=utf-8; action=\"http://docs.oasis-open.org/"
                                              "wsn/bw-2/SubscriptionManager/UnsubscribeRequest\"",
                                     &no_expect },
        };
        static const char *const bodies[] = {
                [OP_PROPERTIES] = "<GetEventProperties xmlns=\"" NS_ONVIF_EVENTS "\"/>",
                [OP_SUBSCRIBE] = "<CreatePullPointSubscription xmlns=\"" NS_ONVIF_EVENTS "\">"
                                 "<InitialTerminationTime>" TERMINATION
                                 "</InitialTerminationTime></CreatePullPointSubscription>",
                [OP_RENEW] = "<Renew xmlns=\"" NS_WSNT "\"><TerminationTime>" TERMINATION
                             "</TerminationTime></Renew>",
                [OP_UNSUBSCRIBE] = "<Unsubscribe xmlns=\"" NS_WSNT "\"/>",
        };
        char url[PATH_MAX_LEN + 256], pull[160];
        const char *body = bodies[op];
        const CameraConn *c = e->conn;
        uint64_t ms = c->timeout / USEC_PER_MSEC;
        time_t created;
        bool once;  /* an exchange that ends the conversation */
        size_t len;
        int r;

        if (op == OP_PULL) {
                (void) snprintf(pull, sizeof(pull),
                                "<PullMessages xmlns=\"" NS_ONVIF_EVENTS "\"><Timeout>PT%" PRIu64
                                "S</Timeout><MessageLimit>" MESSAGE_LIMIT
                                "</MessageLimit></PullMessages>",
                                MAX(c->pull_wait / USEC_PER_SEC, (uint64_t) 1));
                body = pull;
                ms += c->pull_wait / USEC_PER_MSEC;
        }
        (void) snprintf(url, sizeof(url), "%s%s", c->base_url,
                        op == OP_PULL || op == OP_RENEW || op == OP_UNSUBSCRIBE ? e->sub_path
                                                        : e->path ?: EVENTS_PATH_DEFAULT);
        /* A handle of its own, never from the glue's pool: Digest state (a
         * nonce, an opaque) must not travel between cameras or into a probe's
         * handle. A new one after a failure (fail() frees it): a camera that
         * restarted refuses the old nonce and opaque as a wrong password. */
        if (!e->slot.easy) {
                if (!e->errbuf && !(e->errbuf = malloc(CURL_ERROR_SIZE)))
                        return -ENOMEM;
                e->slot.easy = curl_easy_init();
                if (!e->slot.easy)
                        return -ENOMEM;
                r = easy_setup(e);
                if (r < 0)
                        return r;
        }
        free(e->request);
        e->request = NULL;
        created = time(NULL) + (time_t) lround(e->has_skew ? e->skew : 0);
        r = soap_build_request(body, c->auth == CAMERA_AUTH_WSSE ? c->username_xml ?: "" : NULL,
                               c->auth == CAMERA_AUTH_WSSE ? c->password : NULL, created,
                               &e->request, &len);
        if (r < 0)
                return r;
        probe_buffer_clear(&e->answer, ANSWER_KEEP);
        e->errbuf[0] = 0;
        /* Only a pull or a renewal is followed at once by another request (the
         * next pull). The other exchanges close their connection: a camera
         * that keeps it would otherwise leave it idle in the multi handle's
         * cache after a failure (a camera without an Event service, thousands
         * at a start), where libcurl polls every idle one once a second and
         * walks the whole cache again for every dead one it drops (issue 18:
         * 10,000 cameras that keep connections 5 s and have no Event service,
         * side by side: 14.4 CPU s over the first 100 s before, 8.9 after). Such
         * an exchange opens a connection of its own too: it must not take, and
         * close, the one the camera's probe keeps for its next cycle
         * (camera.c). It costs up to three connections more per subscription
         * (a new handle's Digest challenge, the properties, the subscription;
         * the first pull opens the one the pulls share). */
        once = op != OP_PULL && op != OP_RENEW;
        if (curl_easy_setopt(e->slot.easy, CURLOPT_URL, url) != CURLE_OK ||
            curl_easy_setopt(e->slot.easy, CURLOPT_FORBID_REUSE, once ? 1L : 0L) != CURLE_OK ||
            curl_easy_setopt(e->slot.easy, CURLOPT_FRESH_CONNECT, once ? 1L : 0L) != CURLE_OK ||
            curl_easy_setopt(e->slot.easy, CURLOPT_TIMEOUT_MS, (long) ms) != CURLE_OK ||
            curl_easy_setopt(e->slot.easy, CURLOPT_CONNECTTIMEOUT_MS,
                             (long) (c->timeout / USEC_PER_MSEC)) != CURLE_OK ||
            curl_easy_setopt(e->slot.easy, CURLOPT_POSTFIELDS, e->request) != CURLE_OK ||
            curl_easy_setopt(e->slot.easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len) !=
                    CURLE_OK ||
            curl_easy_setopt(e->slot.easy, CURLOPT_HTTPHEADER, &headers[op]) != CURLE_OK)
                return -EIO;
        e->op = op;
        r = curl_glue_start(e->glue, &e->slot);
        if (r < 0)
                e->op = OP_NONE;
        return r;
}

/* Gives back what only a running exchange needs (issue 18): while it backs
 * off (for an hour, from a camera without an Event service), a camera's
 * events cost no easy handle (5 KiB of libcurl state) and no buffers. */
static void release_idle(CameraEvents *e) {
        if (e->slot.easy) {
                curl_glue_abort(e->glue, &e->slot);
                curl_easy_cleanup(e->slot.easy);
                e->slot.easy = NULL;
        }
        free(e->request);
        e->request = NULL;
        free(e->answer.data);
        e->answer = (ProbeBuffer) {};
        free(e->errbuf);
        e->errbuf = NULL;
}

static void set_error(CameraEvents *e, const char *text) {
        char clean[PROBE_REASON_MAX];

        free(e->error);
        e->error = NULL;
        if (!text)
                return;
        (void) text_clean(clean, sizeof(clean), text, strlen(text));
        e->error = strdup(clean); /* NULL when out of memory: the state says "off" */
}

/* Drops the subscription; a new one after the back-off. */
static void back_off(CameraEvents *e) {
        free(e->sub_path);
        e->sub_path = NULL;
        e->op = OP_NONE;
        e->backoff = e->backoff ? MIN(e->backoff * 2, (unsigned) RETRY_MAX) : RETRY_FIRST;
        e->retry_at = mono_sec() + e->backoff;
        release_idle(e);
}

static void fail(CameraEvents *e, bool unsubscribe, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Records the failure, then backs off. With unsubscribe, a pull or a
 * renewal failed while the camera may still hold the subscription: it is
 * cancelled first (WS-BaseNotification Unsubscribe), as a camera has few
 * pull points (an i-PRO six) and a forgotten one would hold its place until
 * it expires (TERMINATION). One try only: whatever the answer, the back-off
 * follows (on_done). A subscription left when the daemon stops expires on
 * the camera within TERMINATION. */
static void fail(CameraEvents *e, bool unsubscribe, const char *fmt, ...) {
        char raw[PROBE_REASON_MAX];
        va_list ap;

        va_start(ap, fmt);
        (void) vsnprintf(raw, sizeof(raw), fmt, ap);
        va_end(ap);
        set_error(e, raw);
        if (!unsubscribe || !e->sub_path || !e->slot.easy || op_start(e, OP_UNSUBSCRIBE) < 0)
                back_off(e);
}

/* The camera answered that the subscription is unknown to it (expired,
 * lost to a restart): WS-ResourceFramework's ResourceUnknownFault. */
static bool resource_unknown(const CameraEvents *e) {
        return e->answer.data && strstr(e->answer.data, "ResourceUnknownFault");
}

static void next(CameraEvents *e, Op op) {
        int r = op_start(e, op);

        if (r < 0)
                fail(e, false, "%s: cannot start: %s", op_names[op], strerror(-r));
}

static void deliver(void *userdata, const CameraEvent *ev) {
        CameraEvents *e = userdata;

        e->fn(e->userdata, ev);
}

/* Takes the path of the subscription's address: only the configured
 * address is ever contacted (a camera behind NAT names one we cannot reach). */
static bool subscription_path(const char *buf, size_t len, char *ret, size_t size) {
        char err[SOAP_ERROR_MAX], addr[PATH_MAX_LEN + 128];
        xmlNode *body = NULL, *resp;
        xmlDoc *doc = NULL;
        const char *s;
        bool ok;

        if (soap_parse_response(buf, len, &doc, &body, err) < 0)
                return false;
        resp = xml_child(body, NS_ONVIF_EVENTS, "CreatePullPointSubscriptionResponse");
        ok = xml_text(xml_child(xml_child(resp, NS_ONVIF_EVENTS, "SubscriptionReference"), NS_WSA,
                                "Address"),
                      addr, sizeof(addr));
        xmlFreeDoc(doc);
        s = ok ? strstr(addr, "://") : NULL;
        s = s ? strchr(s + 3, '/') : NULL;
        if (!s || strlen(s) >= size || strpbrk(s, " \t\r\n"))
                return false;
        (void) snprintf(ret, size, "%s", s);
        return true;
}

static void on_done(CurlSlot *slot, CURLcode code) {
        CameraEvents *e = slot->userdata;
        char err[SOAP_ERROR_MAX], path[PATH_MAX_LEN];
        Op op = e->op;
        int64_t left = -1;
        long http = 0;
        int r;

        e->op = OP_NONE;
        (void) curl_easy_getinfo(slot->easy, CURLINFO_RESPONSE_CODE, &http);
        if (op == OP_UNSUBSCRIBE) {
                /* Done or not, the pull's failure stands and backs off. */
                back_off(e);
                return;
        }
        if (code != CURLE_OK) {
                fail(e, op == OP_PULL || op == OP_RENEW, "%s: %s", op_names[op],
                     e->answer.too_large         ? "answer too large"
                     : e->errbuf && e->errbuf[0] ? e->errbuf
                                                 : curl_easy_strerror(code));
                return;
        }
        if (http == 401) {
                fail(e, false, "%s: authentication rejected (HTTP 401)", op_names[op]);
                return;
        }
        switch (op) {
        case OP_PROPERTIES:
                if (http == 404 || (http >= 400 && e->answer.len &&
                                    strstr(e->answer.data, "ActionNotSupported"))) {
                        /* No Event service: polling alone, asked again later. */
                        e->unsupported = true;
                        e->retry_at = mono_sec() + UNSUPPORTED_RETRY;
                        set_error(e, "no Event service");
                        release_idle(e);
                        return;
                }
                if (http < 200 || http > 299) {
                        fail(e, false, "%s: HTTP %ld", op_names[op], http);
                        return;
                }
                e->unsupported = false;
                e->offered = camera_events_parse_properties(e->answer.data, e->answer.len);
                e->properties_known = true;
                next(e, OP_SUBSCRIBE);
                return;
        case OP_SUBSCRIBE:
                if (http < 200 || http > 299 ||
                    !subscription_path(e->answer.data, e->answer.len, path, sizeof(path))) {
                        fail(e, false, "%s: HTTP %ld, no subscription address", op_names[op], http);
                        return;
                }
                free(e->sub_path);
                e->sub_path = strdup(path);
                if (!e->sub_path) {
                        fail(e, false, "%s: out of memory", op_names[op]);
                        return;
                }
                e->backoff = 0;
                set_error(e, NULL);
                next(e, OP_PULL);
                return;
        case OP_PULL:
                r = camera_events_parse_messages(e->answer.data, e->answer.len, deliver, e,
                                                 &left, err, sizeof(err));
                if (r < 0 || http < 200 || http > 299) {
                        /* Expired, or the camera restarted: subscribe anew later. */
                        fail(e, !resource_unknown(e), "%s: %s", op_names[op],
                             r < 0 ? err : "HTTP error");
                        return;
                }
                next(e, left >= 0 && left < RENEW_LEFT ? OP_RENEW : OP_PULL);
                return;
        case OP_RENEW:
                if (http < 200 || http > 299) {
                        fail(e, !resource_unknown(e), "%s: HTTP %ld", op_names[op], http);
                        return;
                }
                next(e, OP_PULL);
                return;
        default:
                return;
        }
}

/* ======================================================================== */

int camera_events_new(CurlGlue *glue, const CameraConn *conn, CameraEventFn fn,
                      void *userdata, CameraEvents **ret) {
        CameraEvents *e = calloc(1, sizeof(*e));

        if (!e)
                return -ENOMEM;
        e->glue = glue;
        e->fn = fn;
        e->userdata = userdata;
        e->conn = conn;
        e->slot = (CurlSlot) { .done = on_done, .userdata = e };
        *ret = e;
        return 0;
}

CameraEvents *camera_events_free(CameraEvents *e) {
        if (!e)
                return NULL;
        release_idle(e);
        free(e->path);
        free(e->sub_path);
        free(e->error);
        free(e);
        return NULL;
}

int camera_events_set_path(CameraEvents *e, const char *path) {
        char *p;

        if (!path || !path[0] || streq(path, e->path ?: EVENTS_PATH_DEFAULT))
                return 0;
        p = strdup(path);
        if (!p)
                return -ENOMEM;
        free(e->path);
        e->path = p;
        return 0;
}

void camera_events_poke(CameraEvents *e) {
        if (e->op != OP_NONE || e->sub_path || (e->retry_at && mono_sec() < e->retry_at))
                return;
        next(e, e->properties_known && !e->unsupported ? OP_SUBSCRIBE : OP_PROPERTIES);
}

void camera_events_set_skew(CameraEvents *e, double skew) {
        e->has_skew = true;
        e->skew = skew;
}

const char *camera_events_state(const CameraEvents *e, char *buf, size_t size) {
        if (e->sub_path && e->op != OP_UNSUBSCRIBE)
                (void) snprintf(buf, size, "subscribed");
        else if (e->unsupported)
                (void) snprintf(buf, size, "unsupported");
        else if (e->op != OP_NONE && e->op != OP_UNSUBSCRIBE)
                (void) snprintf(buf, size, "subscribing");
        else if (e->error)
                (void) snprintf(buf, size, "failing (%s)", e->error);
        else
                (void) snprintf(buf, size, "off");
        return buf;
}

const char *camera_events_missing(const CameraEvents *e, char *buf, size_t size) {
        size_t n = 0;

        buf[0] = 0;
        if (!e->properties_known)
                return buf;
        for (size_t i = 0; i < ELEMENTSOF(known_topics) && n < size; i++)
                if (!(e->offered & (1u << i)))
                        n += (size_t) snprintf(buf + n, size - n, "%s%s", n ? ", " : "",
                                               known_topics[i].path);
        return buf;
}
