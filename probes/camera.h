/* SPDX-License-Identifier: MIT */
#pragma once

/* The camera probe (SPEC §3): ONVIF over HTTP with libcurl's multi
 * interface, never blocking the loop.
 *
 *   every cycle   GetSystemDateAndTime, unauthenticated: round trip, clock skew;
 *   deep cycles   GetServices (once, for the Search service's path),
 *                 GetDeviceInformation (model, serial), GetRecordingSummary
 *                 (DataUntil lag), and the i-PRO CGI getinfo?FILE=1 (SDrec).
 *
 * Authentication is HTTP Digest, or WS-Security UsernameToken with `auth:
 * wsse` — never both in one request; WS-Security's Created follows the
 * camera's clock. Every response is capped at PROBE_RESPONSE_MAX. */

#include <stdbool.h>

#include "config.h"
#include "curl_glue.h"
#include "events.h"
#include "probe.h"

typedef struct CameraProbe CameraProbe;

/* Whether a camera's connection is kept from one cycle to the next
 * (camera.c says why and when); apart, so that tests walk it. */
#define CAMERA_KEEP_MISSES_MAX 2
#define CAMERA_KEEP_AGAIN_CYCLES 360
typedef struct CameraKeep {
        bool setting;                /* the monitor's: short intervals */
        bool kept_alive;             /* the last answer left its connection open */
        uint8_t misses;              /* cycles in a row that found it closed */
        uint16_t again;              /* cycle starts until kept again; 0: not given up */
} CameraKeep;

bool camera_keep_keeps(const CameraKeep *k);
void camera_keep_cycle_start(CameraKeep *k);
/* An answer: ok; reconnected (a cycle's first request only, else -1):
 * whether it needed a new connection. */
void camera_keep_answer(CameraKeep *k, bool ok, int reconnected);

typedef struct CameraProbeConf {
        const CameraConf *camera;    /* borrowed: must outlive the probe (the field's) */
        const char *password;        /* copied; NULL: no authenticated checks */
        uint64_t timeout;            /* per request, usec */
        uint64_t max_clock_skew;     /* usec */
        uint64_t max_recording_lag;  /* usec */
        bool keep_connection;        /* from one cycle to the next (see camera.c) */
        const char *source_address;  /* an IP literal to connect from; NULL: any */
        CameraEventFn on_event;      /* ONVIF events (with a password); NULL: none */
        uint64_t pull_wait;          /* PullMessages' Timeout, usec */
} CameraProbeConf;

/* Creates a probe; what it needs is copied from conf, but conf->camera's
 * strings, which it borrows (issue 18: not a copy per camera). */
int camera_probe_new(CurlGlue *glue, const CameraProbeConf *conf, ProbeDoneFn done,
                     void *userdata, CameraProbe **ret);

/* Aborts a running cycle (no callback) and frees. NULL-safe. */
CameraProbe *camera_probe_free(CameraProbe *p);

/* Starts a cycle; with deep, the identity and recording checks too.
 * -EBUSY while a cycle runs. done is called exactly once per started cycle. */
int camera_probe_start(CameraProbe *p, bool deep);

bool camera_probe_running(const CameraProbe *p);

/* The events' state and the topics the camera lacks (camera_events_*());
 * "off" and "" without events. */
const char *camera_probe_events_state(const CameraProbe *p, char *buf, size_t size);
const char *camera_probe_events_missing(const CameraProbe *p, char *buf, size_t size);

/* Frees the idle cycle state kept for reuse (at exit). */
void camera_cycle_pool_release(void);
