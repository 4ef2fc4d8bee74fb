/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"
#include "words.h"

const char *fault_state_to_string(FaultState s) {
        switch (s) {
        case FAULT_OPEN:
                return "open";
        case FAULT_CLEARED:
                return "cleared";
        case FAULT_CLOSED:
                return "closed";
        }
        return "unknown";
}

const char *fault_severity_to_string(FaultSeverity s) {
        return s == FAULT_DOWN ? "down" : "degraded";
}

const char *fault_origin_to_string(FaultOrigin o) {
        switch (o) {
        case FAULT_ORIGIN_CALL:
                return "call";
        case FAULT_ORIGIN_ANOMALY:
                return "anomaly";
        default:
                return "probe";
        }
}

FaultOrigin fault_origin_from_string(const char *s) {
        return s && strcmp(s, "call") == 0      ? FAULT_ORIGIN_CALL
               : s && strcmp(s, "anomaly") == 0 ? FAULT_ORIGIN_ANOMALY
                                                : FAULT_ORIGIN_PROBE;
}

bool fault_clock_running(const Fault *f) {
        return f->state == FAULT_OPEN && f->onsite_started_at == 0 && f->received_at != 0 &&
               !f->sendback;
}

time_t fault_due(const Fault *f) {
        return f->deferral_approved_at && f->deferred_onsite_due ? f->deferred_onsite_due
                                                                 : f->onsite_due;
}

void fault_done(Fault *f) {
        free(f->hidden);
        f->hidden = NULL;
}

int fault_copy(Fault *dst, const Fault *src) {
        char *h = NULL;

        if (src->hidden) {
                h = strdup(src->hidden);
                if (!h)
                        return -ENOMEM;
        }
        *dst = *src;
        dst->hidden = h;
        return 0;
}

const char *fault_kind_word(const char *kind, bool ja) {
        return words_kind(kind, ja ? LANGUAGE_JA : LANGUAGE_EN);
}
