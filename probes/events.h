/* SPDX-License-Identifier: MIT */
#pragma once

/* ONVIF events of a camera (issue 16), the PullPoint way (ONVIF Core,
 * "Event handling"; the Event Service WSDL): GetEventProperties once (which
 * topics the camera offers), CreatePullPointSubscription, then PullMessages
 * long-polls one after the other, Renew before the subscription ends, and
 * after any failure a new subscription later (a restarted camera forgets
 * its subscriptions). On the camera probe's libcurl multi loop, with the
 * probe's authentication (Digest, or WS-Security with the camera's clock).
 *
 * An event is a hint: the monitor probes the camera at once (deep for
 * storage and recording topics); an image-tampering state is kept until
 * the camera says it ended, and makes the camera's results degraded. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "curl_glue.h"

#define CAMERA_EVENT_TOPIC_MAX 128

typedef enum CameraEventKind {
        CAMERA_EVENT_TAMPER,         /* GlobalSceneChange, ImageTooDark/Blurry/Bright */
        CAMERA_EVENT_STORAGE,        /* a storage failure */
        CAMERA_EVENT_RECORDING,      /* a recording job's state */
        _CAMERA_EVENT_KIND_MAX,
} CameraEventKind;

typedef struct CameraEvent {
        CameraEventKind kind;
        const char *topic;           /* without its prefix: "VideoSource/..." (static) */
        bool has_state, state;       /* the first boolean data item (State, IsTooDark, ...) */
        bool initialized;            /* a property's state as a subscription begins, not news */
        unsigned topic_bit;          /* 1 << the topic's index among the known ones */
        bool changed;                /* tampering: the camera's tampered state changed (set
                                      * by the camera probe, which keeps that state) */
        time_t at;                   /* the message's UtcTime; 0 when it has none */
} CameraEvent;

typedef void (*CameraEventFn)(void *userdata, const CameraEvent *ev);

typedef struct CameraEvents CameraEvents;

/* How to reach a camera: the camera probe's, owned and freed by it, and
 * borrowed by its events (issue 18: not a copy per camera). */
typedef struct CameraConn {
        char *base_url;              /* "http://127.0.2.1:18080" */
        const char *username;        /* the configuration's */
        char *username_xml, *password;
        const char *ca_file, *pinned_public_key; /* the configuration's */
        char *interface;             /* "host!ADDR" (probes.source_address) or NULL */
        CameraAuth auth;
        uint64_t timeout;            /* per request, usec; a pull waits pull_wait longer */
        uint64_t pull_wait;          /* PullMessages' Timeout, usec */
} CameraConn;

/* conn is borrowed: it must outlive the object (the camera probe's). */
int camera_events_new(CurlGlue *glue, const CameraConn *conn, CameraEventFn fn,
                      void *userdata, CameraEvents **ret);
CameraEvents *camera_events_free(CameraEvents *e);

/* The Event service's path, from GetServices. */
int camera_events_set_path(CameraEvents *e, const char *path);

/* Called at every probe cycle: starts the subscription when there is none
 * (or when its retry is due). */
void camera_events_poke(CameraEvents *e);

/* The camera's clock offset as the probe has just measured it: the
 * subscription's next requests sign their tokens with it. */
void camera_events_set_skew(CameraEvents *e, double skew);

/* "subscribed", "subscribing", "unsupported" (no Event service), "failing
 * (REASON)", "off" (not started). */
const char *camera_events_state(const CameraEvents *e, char *buf, size_t size);

/* The kinds of topic the camera does not offer (GetEventProperties), as a
 * comma-separated list of topics; "" when all are offered or unknown. */
const char *camera_events_missing(const CameraEvents *e, char *buf, size_t size);

/* Parsers, for the unit tests and the fuzzer. */
/* The topics a GetEventPropertiesResponse offers, as a bit per known
 * topic (bit i: known_topics[i]). */
unsigned camera_events_parse_properties(const char *buf, size_t len);
/* The messages of a PullMessagesResponse: fn for each known topic; the
 * subscription's TerminationTime minus its CurrentTime in *ret_left
 * (seconds; -1 when absent). -EBADMSG / -EPROTO (a fault) on a bad answer. */
int camera_events_parse_messages(const char *buf, size_t len, CameraEventFn fn, void *userdata,
                                 int64_t *ret_left, char *err, size_t errlen);
