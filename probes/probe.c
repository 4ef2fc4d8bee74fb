/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "probe.h"
#include "text.h"

const char *probe_status_to_string(ProbeStatus s) {
        switch (s) {
        case PROBE_UP:
                return "up";
        case PROBE_DEGRADED:
                return "degraded";
        case PROBE_DOWN:
                return "down";
        }
        return "unknown";
}

void probe_result_fail(ProbeResult *r, ProbeStatus s, const char *fmt, ...) {
        va_list ap;

        if (s <= r->status && r->reason[0])
                return;
        r->status = MAX(r->status, s);
        va_start(ap, fmt);
        (void) vsnprintf(r->reason, sizeof(r->reason), fmt, ap);
        va_end(ap);
        /* Reasons quote devices (a SOAP fault's text, an HTTP answer): clean,
         * and not cut inside a character by vsnprintf's limit. */
        text_clean_inplace(r->reason, sizeof(r->reason));
}

bool uptime_restarted(uint32_t prev_ticks, uint32_t new_ticks, uint64_t elapsed_usec) {
        /* Ticks are 1/100 s. Allow for the agent's and our clocks' disagreement. */
        uint64_t elapsed_ticks = elapsed_usec / 10000, slack = 100 + elapsed_ticks / 10;
        uint64_t expected = (uint64_t) prev_ticks + elapsed_ticks;

        if (new_ticks >= prev_ticks)
                return false;
        /* Wrapped: the expected count passed 2^32 and the new value sits near
         * where the wrap puts it. */
        if (expected + slack >= UINT64_C(1) << 32) {
                uint64_t wrapped = expected >= (UINT64_C(1) << 32) ? expected - (UINT64_C(1) << 32)
                                                                   : 0;
                if (new_ticks <= wrapped + slack && new_ticks + slack >= wrapped)
                        return false;
        }
        return true;
}

size_t probe_buffer_write(char *data, size_t size, size_t n, void *userdata) {
        ProbeBuffer *b = userdata;
        size_t len = size * n;

        if (b->len + len > PROBE_RESPONSE_MAX) {
                b->too_large = true;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        if (b->len + len + 1 > b->size) {
                size_t sz = MAX(b->size * 2, (size_t) 4096);
                char *d;

                while (sz < b->len + len + 1)
                        sz *= 2;
                d = realloc(b->data, sz);
                if (!d)
                        return 0;
                b->data = d;
                b->size = sz;
        }
        memcpy(b->data + b->len, data, len);
        b->len += len;
        b->data[b->len] = 0;
        return len;
}

void probe_buffer_clear(ProbeBuffer *b, size_t keep) {
        if (b->size > keep) {
                free(b->data);
                b->data = NULL;
                b->size = 0;
        }
        b->len = 0;
        b->too_large = false;
        if (b->data)
                b->data[0] = 0;
}

int probe_easy_setup(CURL *h, ProbeBuffer *answer, char *errbuf, const char *ca_file,
                     const char *pinned_public_key, const char *interface) {
        bool ok;

        ok = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
             /* Cameras are reached directly, never through a proxy from the
              * environment (http_proxy, no_proxy): and libcurl then looks up
              * none of those variables at every request (issue 18). */
             curl_easy_setopt(h, CURLOPT_NOPROXY, "*") == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, probe_buffer_write) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_WRITEDATA, answer) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_USERAGENT, "fieldwatch/" FIELDWATCH_VERSION) ==
                     CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) PROBE_RESPONSE_MAX) ==
                     CURLE_OK &&
             /* libcurl allocates its receive buffer for every transfer, 16 KiB
              * unless told: a slot's transfers hold one each at once (issue
              * 18: memory at 10,000 cameras). A camera's answers are 1-4 KB
              * (shared/real-onvif); a longer one takes a few reads. */
             curl_easy_setopt(h, CURLOPT_BUFFERSIZE, PROBE_RECV_BUFFER) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
             curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
        if (ok && ca_file)
                ok = curl_easy_setopt(h, CURLOPT_CAINFO, ca_file) == CURLE_OK;
        if (ok && interface)
                ok = curl_easy_setopt(h, CURLOPT_INTERFACE, interface) == CURLE_OK;
        if (ok && pinned_public_key)
                ok = curl_easy_setopt(h, CURLOPT_PINNEDPUBLICKEY, pinned_public_key) == CURLE_OK;
        return ok ? 0 : -EIO;
}
