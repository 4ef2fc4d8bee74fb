/* SPDX-License-Identifier: MIT */
#pragma once

/* A fault (SPEC §4): raised when a device turns hard down or degraded,
 * with the contract's clocks fixed at that moment; cleared when it
 * recovers; closed by an operator. Kept in the state database under a
 * stable id. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum FaultState {
        FAULT_OPEN,
        FAULT_CLEARED,
        FAULT_CLOSED,
} FaultState;

typedef enum FaultSeverity {
        FAULT_DOWN,
        FAULT_DEGRADED,
} FaultSeverity;

/* Where a fault comes from: a probe (cleared by the probes), a call that
 * reported what no probe sees (fieldwatchctl open), or an anomaly the
 * investigation reproduced (fieldwatchctl escalate). The last two are
 * cleared by their recovery, never by a probe. */
typedef enum FaultOrigin {
        FAULT_ORIGIN_PROBE,
        FAULT_ORIGIN_CALL,
        FAULT_ORIGIN_ANOMALY,
} FaultOrigin;

#define FAULT_REASON_MAX 256

typedef struct Fault {
        int64_t id;
        char site[16];               /* "" for the VPN */
        char device[24];             /* "05-camera", "05-tunnel", "vpn" */
        char kind[32];               /* camera_down, router_down, vpn_down, tunnel_down,
                                      * site_down, lte_weak, clock_skew, ... */
        FaultSeverity severity;
        FaultState state;
        FaultOrigin origin;
        bool sendback;               /* send-back maintenance: no onsite clock (L511) */
        int64_t anomaly_id;          /* escalated: the anomaly event; else 0 */
        char received_from[65];      /* who called (fieldwatchctl receive --from) */
        time_t detected_at;          /* when it turned hard */
        time_t received_at, onsite_due; /* 0 until received (sla.reception: call) */
        bool deferral_eligible;
        time_t deferred_onsite_due;  /* 0 unless eligible */
        time_t onsite_started_at;    /* 0: not yet */
        time_t acknowledged_at;
        time_t deferral_approved_at;
        time_t cleared_at;
        bool transient;              /* cleared before any onsite work */
        char reason[FAULT_REASON_MAX];
        char hint[128];
        char **hidden;               /* the device ids it makes unreachable */
        size_t n_hidden;
        /* The clocks that struck (once each; they survive restarts). */
        bool warned, breached, deferral_prompted;
        time_t last_notified_at;
        char thread_id[128];         /* Message-ID of the fault's first mail */
        bool incident_reported;      /* its security incident went out (once a fault) */
} Fault;

const char *fault_state_to_string(FaultState s);
const char *fault_severity_to_string(FaultSeverity s);
const char *fault_origin_to_string(FaultOrigin o);
FaultOrigin fault_origin_from_string(const char *s);

/* Whether the onsite clock runs: received, open, no onsite work yet, not
 * send-back maintenance. */
bool fault_clock_running(const Fault *f);

/* Whether an approved deferral moves the due: it was approved before the due
 * passed (「監督職員に連絡し、承認を得た上で」: the approval comes first; one
 * recorded later does not undo a breach) and there is a deferred due. */
static inline bool deferral_counts(time_t approved_at, time_t onsite_due, time_t deferred_due) {
        return approved_at > 0 && deferred_due > 0 && approved_at <= onsite_due;
}

/* The due time that counts now: the approved deferral, else onsite_due;
 * 0 when there is none (not received yet, send-back maintenance). */
time_t fault_due(const Fault *f);

/* The words for a fault's (or a deliverable's) kind, in Japanese or
 * English, for mail and reports; NULL for a kind without words. */
const char *fault_kind_word(const char *kind, bool ja);

/* Frees what a Fault owns (hidden); the struct itself is the caller's. */
void fault_done(Fault *f);

/* Copies src into dst (deep). */
int fault_copy(Fault *dst, const Fault *src);

/* What actions recorded that the Fault struct does not carry. */
typedef struct FaultDetails {
        time_t recovered_at;
        bool media_replaced;
        time_t recovery_report_submitted_at, erasure_report_submitted_at;
        time_t closed_at;
        time_t temporary_recovered_at; /* a provisional recovery; 0: none */
        time_t quote_at, quote_approved_at; /* paid parts; 0: none */
        char quote_parts[512];       /* JSON array of the quoted models */
        char acknowledged_by[128];   /* --by of the ack; "" when not acknowledged */
        char deferral_approved_by[128]; /* --approved-by of the deferral; "" when none */
        char ack_note[1024];         /* its --note, cleaned, cut on a character */
} FaultDetails;
