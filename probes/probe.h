/* SPDX-License-Identifier: MIT */
#pragma once

/* What a probe produces: one ProbeResult per cycle of one device. Probes
 * know devices and protocols only; what a result means for faults is
 * decided elsewhere. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <curl/curl.h>
#include <time.h>

#include "macro.h"

#define PROBE_REASON_MAX 256
#define PROBE_TEXT_MAX 64
#define PROBE_SIGNALS_MAX 4
#define PROBE_RESPONSE_MAX (256u * 1024u)
/* libcurl's receive buffer per transfer (CURLOPT_BUFFERSIZE; its default is 16 KiB). */
#define PROBE_RECV_BUFFER 4096L

/* An answer as it arrives, capped at PROBE_RESPONSE_MAX: the write callback
 * of the camera's requests and of its event subscription (libcurl's
 * CURLOPT_WRITEFUNCTION with CURLOPT_WRITEDATA the buffer). Beyond the cap
 * it sets too_large and stops the transfer (CURLE_WRITE_ERROR). data stays
 * NUL-terminated. */
typedef struct ProbeBuffer {
        char *data;
        size_t len, size;
        bool too_large;
} ProbeBuffer;

size_t probe_buffer_write(char *data, size_t size, size_t n, void *userdata);
/* Empties it for the next answer, keeping at most keep bytes allocated. */
void probe_buffer_clear(ProbeBuffer *b, size_t keep);

/* The options every camera request has, on an easy handle fresh or reset:
 * no signals, HTTP(S) only, no redirects, no proxy, the answer into `answer`
 * (at most PROBE_RESPONSE_MAX), curl's error text into errbuf
 * (CURL_ERROR_SIZE), TLS verified against ca_file (NULL: the system's)
 * and pinned_public_key, the source address `interface` ("host!ADDR"). */
int probe_easy_setup(CURL *h, ProbeBuffer *answer, char *errbuf, const char *ca_file,
                     const char *pinned_public_key, const char *interface);

typedef enum ProbeStatus {
        PROBE_UP,
        PROBE_DEGRADED,              /* answering, but a check failed */
        PROBE_DOWN,                  /* not answering properly */
} ProbeStatus;

typedef struct CameraValues {
        bool has_clock_skew;
        double clock_skew;           /* seconds, camera clock minus ours */
        bool deep;                   /* the identity/recording checks ran this cycle */
        char manufacturer[PROBE_TEXT_MAX], model[PROBE_TEXT_MAX];
        char firmware[PROBE_TEXT_MAX], serial[PROBE_TEXT_MAX];
        bool has_recording_lag;
        int64_t recording_lag;       /* seconds since DataUntil */
        char sd_state[PROBE_TEXT_MAX]; /* getinfo SDrec, e.g. "on" */
} CameraValues;

typedef struct SignalValue {
        bool has;
        long value;
} SignalValue;

typedef struct RouterValues {
        bool has_uptime;
        uint32_t uptime_ticks;       /* sysUpTime, 1/100 s */
        bool rebooted;               /* uptime went backwards (not a 32-bit wrap) */
        int if_oper;                 /* ifOperStatus of the WAN interface; 0 unknown */
        SignalValue signals[PROBE_SIGNALS_MAX]; /* in the order of the configuration */
} RouterValues;

typedef enum TunnelState {
        TUNNEL_UNKNOWN = 0,
        TUNNEL_UP = 1,
        TUNNEL_DOWN = 2,
} TunnelState;

typedef struct VpnValues {
        bool has_uptime;
        uint32_t uptime_ticks;
        bool rebooted;
        int cpu, memory, temperature; /* -1 unknown */
        int alarm;                   /* 1 on, 2 off, 0 unknown */
        const uint8_t *tunnels;      /* TunnelState per site, in site order; n_tunnels long */
        size_t n_tunnels;
} VpnValues;

typedef struct ProbeResult {
        ProbeStatus status;
        uint64_t latency_usec;       /* the round trip of the liveness request */
        char reason[PROBE_REASON_MAX]; /* why down or degraded; "" when up */
        union {
                CameraValues camera;
                RouterValues router;
                VpnValues vpn;
        };
} ProbeResult;

/* Called once per probe cycle, from the event loop. The result is valid
 * during the call only. */
typedef void (*ProbeDoneFn)(void *userdata, const ProbeResult *r);

const char *probe_status_to_string(ProbeStatus s);

/* Sets r->status (never improving it) and the reason, printf-style; the
 * first reason of the worst status wins. */
void probe_result_fail(ProbeResult *r, ProbeStatus s, const char *fmt, ...) _printf_(3, 4);

/* Whether a sysUpTime sample means the device restarted: new < previous and
 * not explained by the 32-bit wrap of TimeTicks (after ~497 days) given the
 * monotonic time elapsed between the samples. */
bool uptime_restarted(uint32_t prev_ticks, uint32_t new_ticks, uint64_t elapsed_usec);
