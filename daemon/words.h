/* SPDX-License-Identifier: MIT */
#pragma once

/* The one table of the nouns that mail, reports, the contract's
 * deadlines and the work record share, in Japanese and English, keyed by
 * enum: device kinds, fault kinds, a fault's severity, the contract's
 * deliverables. Sentences used once stay where they are used. */

#include <stddef.h>

#include "config.h"

typedef enum Word {
        /* Devices and places */
        WORD_CAMERA,
        WORD_LTE_ROUTER,
        WORD_VPN_TUNNEL,
        WORD_VPN_ROUTER,
        WORD_CITY_HALL,              /* where the VPN router stands */
        /* A fault's severity (and the kind "degraded") */
        WORD_DOWN,
        WORD_DEGRADED,
        /* Fault kinds (Fault.kind) */
        WORD_CAMERA_DOWN,
        WORD_ROUTER_DOWN,
        WORD_TUNNEL_DOWN,
        WORD_VPN_DOWN,
        WORD_SITE_DOWN,
        WORD_LTE_WEAK,
        WORD_WAN_DOWN,
        WORD_CLOCK_SKEW,
        WORD_RECORDING_STOPPED,
        WORD_STORAGE_ERROR,
        WORD_MODEL_MISMATCH,
        WORD_AUTH_FAILED,
        WORD_IDENTITY_MISMATCH,
        WORD_SNMP_AUTH_FAILED,
        WORD_DEVICE_SWAPPED,
        WORD_VPN_OVERLOAD,
        WORD_VPN_TEMPERATURE,
        WORD_VPN_ALARM,
        WORD_CAMERA_TAMPERED,
        WORD_ANOMALY,
        WORD_HOUSING_DAMAGED,
        WORD_LENS_MISALIGNED,
        WORD_REPORTED,
        /* The contract's deliverables (DeadlineKind, report-submitted) */
        WORD_QUARTERLY_REPORT,
        WORD_ANNUAL_PLAN,
        WORD_COMPLETION_NOTICE,
        WORD_RECOVERY_REPORT,
        WORD_ERASURE_REPORT,
        WORD_ARCHIVE,
        _WORD_MAX,
        _WORD_INVALID = -1,
} Word;

#define WORD_MAX 128                 /* bytes of the longest word, NUL included */

/* The word in l; NULL for a Word out of range. */
const char *word(Word w, Language l);

/* The word with its first letter upper-case (English; Japanese has none):
 * "Fault recovery report". Returns buf. */
char *word_capitalized(Word w, Language l, char buf[static WORD_MAX]);

/* The Word of a fault's or a deliverable's kind ("camera_down",
 * "quarterly_report"), or _WORD_INVALID. */
Word word_from_kind(const char *kind);

/* The Word of a device id: "05-camera", "05-router", "05-tunnel" (the part
 * after the last '-', or the whole id) and "vpn"; _WORD_INVALID else. */
Word word_from_device(const char *device);

/* word(word_from_kind(kind), l), or NULL for a kind without words. */
const char *words_kind(const char *kind, Language l);

/* word(word_from_device(device), l), or NULL. */
const char *words_device(const char *device, Language l);
