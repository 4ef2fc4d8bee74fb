/* SPDX-License-Identifier: MIT */

/* A camera's SOAP answer: soap_parse_response() on any body, then the parsed
 * Body walked the way probes/camera.c walks it (its handlers are static, so
 * their lookups are repeated here through the public xml_* helpers). Checks
 * the return codes soap.h names, NUL-terminated error texts, and what
 * xml_text() promises: trimmed, non-empty on true, within the buffer. */

#include <ctype.h>
#include <errno.h>
#include <libxml/parser.h>

#include "fuzz.h"
#include "probe.h"
#include "soap.h"
#include "timeutil.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        xmlInitParser();
        if (tz_use("Asia/Tokyo") < 0)
                abort();
        return 0;
}

/* xml_text() into a buffer of size bytes, checked. */
static bool text(const xmlNode *n, char *buf, size_t size) {
        bool ok;
        size_t len;

        memset(buf, 0x5A, size);
        ok = xml_text(n, buf, size);
        if (!n)
                FUZZ_CHECK(!ok, "text of no node");
        if (!ok)
                return false;
        len = strnlen(buf, size);
        FUZZ_CHECK(len < size, "text not NUL-terminated within %zu bytes", size);
        FUZZ_CHECK(len > 0, "true with an empty text");
        FUZZ_CHECK(!isspace((unsigned char) buf[0]), "text not trimmed at the start");
        /* A cut can leave trailing blanks of the middle: only whole texts must end trimmed. */
        if (len < size - 1)
                FUZZ_CHECK(!isspace((unsigned char) buf[len - 1]), "text not trimmed at the end");
        return true;
}

/* camera.c child_int(). */
static bool child_int(const xmlNode *n, const char *name, int lo, int hi, int *ret) {
        char buf[16], *end;
        long v;

        if (!text(xml_child(n, NS_ONVIF_SCHEMA, name), buf, sizeof(buf)))
                return false;
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno || *end || v < lo || v > hi)
                return false;
        *ret = (int) v;
        return true;
}

/* camera.c handle_time() and parse_utc_datetime(). */
static void walk_time(const xmlNode *body) {
        const xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetSystemDateAndTimeResponse");
        const xmlNode *utc = xml_descendant(resp, NS_ONVIF_SCHEMA, "UTCDateTime");
        const xmlNode *t = xml_child(utc, NS_ONVIF_SCHEMA, "Time");
        const xmlNode *d = xml_child(utc, NS_ONVIF_SCHEMA, "Date");
        int h, mi, s, y, mo, da;
        time_t cam;

        if (!t || !d || !child_int(t, "Hour", 0, 23, &h) || !child_int(t, "Minute", 0, 59, &mi) ||
            !child_int(t, "Second", 0, 60, &s) || !child_int(d, "Year", 1970, 9999, &y) ||
            !child_int(d, "Month", 1, 12, &mo) || !child_int(d, "Day", 1, 31, &da) ||
            !ymd_valid(y, mo, da))
                return;
        cam = (time_t) day_from_ymd(y, mo, da) * 86400 + h * 3600 + mi * 60 + s;
        FUZZ_CHECK(cam >= 0, "camera time %lld before 1970", (long long) cam);
}

/* camera.c handle_services() and xaddr_path(). */
static void walk_services(const xmlNode *body) {
        const xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetServicesResponse");
        char ns[128], xaddr[256], path[256];

        for (const xmlNode *s = resp ? resp->children : NULL; s; s = s->next) {
                const char *p;

                if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, BAD_CAST "Service"))
                        continue;
                if (text(xml_child(s, NS_ONVIF_DEVICE, "Namespace"), ns, sizeof(ns)) &&
                    strcmp(ns, NS_ONVIF_SEARCH) == 0 &&
                    text(xml_child(s, NS_ONVIF_DEVICE, "XAddr"), xaddr, sizeof(xaddr))) {
                        p = strstr(xaddr, "://");
                        p = p ? strchr(p + 3, '/') : NULL;
                        (void) snprintf(path, sizeof(path), "%s", p ? p : "");
                        break;
                }
        }
}

/* camera.c handle_devinfo(). */
static void walk_devinfo(const xmlNode *body) {
        const xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetDeviceInformationResponse");
        static const char *const names[] = { "Manufacturer", "Model", "FirmwareVersion",
                                             "SerialNumber" };
        char buf[PROBE_TEXT_MAX];

        for (size_t i = 0; resp && i < sizeof(names) / sizeof(names[0]); i++)
                (void) text(xml_child(resp, NS_ONVIF_DEVICE, names[i]), buf, sizeof(buf));
}

/* camera.c handle_recording(). */
static void walk_recording(const xmlNode *body) {
        const xmlNode *sum = xml_descendant(
                xml_child(body, NS_ONVIF_SEARCH, "GetRecordingSummaryResponse"), NS_ONVIF_SEARCH,
                "Summary");
        char until[64], count[16];
        time_t t;

        if (!sum)
                return;
        (void) text(xml_child(sum, NS_ONVIF_SCHEMA, "NumberRecordings"), count, sizeof(count));
        if (text(xml_child(sum, NS_ONVIF_SCHEMA, "DataUntil"), until, sizeof(until)))
                (void) xml_parse_datetime(until, &t);
}

/* The helpers on the whole Body: the deepest lookups and the smallest buffers. */
static void walk_generic(const xmlNode *body) {
        char one[1], two[2], big[512];

        (void) text(body, one, sizeof(one));
        (void) text(body, two, sizeof(two));
        (void) text(body, big, sizeof(big));
        (void) text(xml_descendant(body, NS_ONVIF_SCHEMA, "DataUntil"), big, sizeof(big));
        (void) text(xml_descendant(body, NS_SOAP_ENV, "Text"), big, sizeof(big));
        FUZZ_CHECK(!xml_child(NULL, NS_SOAP_ENV, "Body") && !xml_descendant(NULL, "x", "y"),
                   "a child of no node");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char err[SOAP_ERROR_MAX];
        xmlDoc *doc = NULL;
        xmlNode *body = NULL;
        int r;

        /* The camera probe caps every answer at PROBE_RESPONSE_MAX. */
        if (size > PROBE_RESPONSE_MAX)
                return 0;
        memset(err, 0x5A, sizeof(err));
        r = soap_parse_response((const char *) data, size, &doc, &body, err);
        FUZZ_CHECK(r == 0 || r == -EBADMSG || r == -EPROTO || r == -ENOMEM,
                   "unexpected return %d", r);
        if (r == -EBADMSG || r == -EPROTO) {
                FUZZ_CHECK(strnlen(err, sizeof(err)) < sizeof(err), "error text not terminated");
                FUZZ_CHECK(err[0], "empty error text");
                FUZZ_CHECK(r != -EPROTO || strncmp(err, "SOAP fault ", 11) == 0,
                           "fault text '%s'", err);
        }
        if (r < 0)
                return 0;
        FUZZ_CHECK(doc && body, "success without a document or Body");
        FUZZ_CHECK(body->type == XML_ELEMENT_NODE && xmlStrEqual(body->name, BAD_CAST "Body"),
                   "Body is not a Body element");
        walk_time(body);
        walk_services(body);
        walk_devinfo(body);
        walk_recording(body);
        walk_generic(body);
        xmlFreeDoc(doc);
        return 0;
}
