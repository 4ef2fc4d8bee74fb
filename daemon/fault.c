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
        return deferral_counts(f->deferral_approved_at, f->onsite_due, f->deferred_onsite_due)
                       ? f->deferred_onsite_due
                       : f->onsite_due;
}

void fault_done(Fault *f) {
        for (size_t i = 0; f->hidden && i < f->n_hidden; i++)
                free(f->hidden[i]);
        free(f->hidden);
        f->hidden = NULL;
        f->n_hidden = 0;
}

int fault_copy(Fault *dst, const Fault *src) {
        Fault f = *src;

        f.hidden = NULL;
        f.n_hidden = 0;
        if (src->n_hidden > 0) {
                f.hidden = calloc(src->n_hidden, sizeof(char *));
                if (!f.hidden)
                        return -ENOMEM;
                for (; f.n_hidden < src->n_hidden; f.n_hidden++) {
                        f.hidden[f.n_hidden] = strdup(src->hidden[f.n_hidden]);
                        if (!f.hidden[f.n_hidden]) {
                                fault_done(&f);
                                return -ENOMEM;
                        }
                }
        }
        *dst = f;
        return 0;
}

const char *fault_kind_word(const char *kind, bool ja) {
        return words_kind(kind, ja ? LANGUAGE_JA : LANGUAGE_EN);
}
