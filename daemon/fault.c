/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fault.h"

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
