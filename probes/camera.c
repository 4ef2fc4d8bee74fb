/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <libxml/xmlsave.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "camera.h"
#include "macro.h"
#include "soap.h"
#include "timeutil.h"

#define ONVIF_DEVICE_PATH "/onvif/device_service"
#define GETINFO_PATH "/cgi-bin/getinfo?FILE=1"
#define SEARCH_PATH_MAX 256

typedef enum Step {
        STEP_TIME,
        STEP_SERVICES,
        STEP_DEVINFO,
        STEP_RECORDING,
        STEP_GETINFO,
        _STEP_MAX,
} Step;

static const struct {
        const char *name;            /* for reasons */
        const char *action;          /* SOAP action; NULL for the CGI */
        const char *body;
        bool search;                 /* sent to the Search service */
} steps[_STEP_MAX] = {
        [STEP_TIME] = { "GetSystemDateAndTime", NS_ONVIF_DEVICE "/GetSystemDateAndTime",
                        "<GetSystemDateAndTime xmlns=\"" NS_ONVIF_DEVICE "\"/>", false },
        [STEP_SERVICES] = { "GetServices", NS_ONVIF_DEVICE "/GetServices",
                            "<GetServices xmlns=\"" NS_ONVIF_DEVICE "\">"
                            "<IncludeCapability>false</IncludeCapability></GetServices>",
                            false },
        [STEP_DEVINFO] = { "GetDeviceInformation", NS_ONVIF_DEVICE "/GetDeviceInformation",
                           "<GetDeviceInformation xmlns=\"" NS_ONVIF_DEVICE "\"/>", false },
        [STEP_RECORDING] = { "GetRecordingSummary", NS_ONVIF_SEARCH "/GetRecordingSummary",
                             "<GetRecordingSummary xmlns=\"" NS_ONVIF_SEARCH "\"/>", true },
        [STEP_GETINFO] = { "getinfo", NULL, NULL, false },
};

struct CameraProbe {
        CurlGlue *glue;
        CurlSlot slot;
        ProbeDoneFn done;
        void *userdata;

        char *base_url;              /* "http://127.0.2.1:18080" */
        char *username, *username_xml, *password;
        CameraAuth auth;
        char *model;
        uint64_t timeout, max_skew, max_lag;
        struct curl_slist *headers[_STEP_MAX];

        bool services_known;         /* GetServices answered */
        char search_path[SEARCH_PATH_MAX]; /* "" when the camera has no Search service */
        bool has_skew;
        double skew;                 /* seconds; persists for WS-Security's Created */

        /* The running cycle. */
        bool deep_cycle;
        Step step;
        char *request;
        char *body;
        size_t body_len;
        bool too_large;
        char errbuf[CURL_ERROR_SIZE];
        struct timespec real_start;
        ProbeResult result;          /* liveness: status, latency, clock skew */
        ProbeResult deep;            /* the last deep checks: they hold until the next ones */
        bool has_deep;
};

/* ======================================================================== */

static size_t on_body(char *data, size_t size, size_t n, void *userdata) {
        CameraProbe *p = userdata;
        size_t len = size * n;
        char *b;

        if (p->body_len + len > PROBE_RESPONSE_MAX) {
                p->too_large = true;
                return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        b = realloc(p->body, p->body_len + len + 1);
        if (!b)
                return 0;
        memcpy(b + p->body_len, data, len);
        p->body = b;
        p->body_len += len;
        p->body[p->body_len] = 0;
        return len;
}

static int easy_setup(CameraProbe *p, const CameraConf *c) {
        CURL *e = p->slot.easy;
        long ms = (long) (p->timeout / USEC_PER_MSEC);
        bool ok;

        ok = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, ms) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_WRITEDATA, p) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->errbuf) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_USERAGENT, "fieldwatch/" FIELDWATCH_VERSION) ==
                     CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) PROBE_RESPONSE_MAX) ==
                     CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) == CURLE_OK;
        if (ok && c->ca_file)
                ok = curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) == CURLE_OK;
        if (ok && c->pinned_public_key)
                ok = curl_easy_setopt(e, CURLOPT_PINNEDPUBLICKEY, c->pinned_public_key) ==
                     CURLE_OK;
        return ok ? 0 : -EIO;
}

static int headers_setup(CameraProbe *p) {
        for (Step s = 0; s < _STEP_MAX; s++) {
                char h[256];

                if (!steps[s].action)
                        continue;
                (void) snprintf(h, sizeof(h),
                                "Content-Type: application/soap+xml; charset=utf-8; "
                                "action=\"%s\"",
                                steps[s].action);
                p->headers[s] = curl_slist_append(NULL, h);
                if (!p->headers[s])
                        return -ENOMEM;
                /* No "Expect: 100-continue" round trip. */
                p->headers[s] = curl_slist_append(p->headers[s], "Expect:");
        }
        return 0;
}

static void on_transfer_done(CurlSlot *slot, CURLcode code);

int camera_probe_new(CurlGlue *glue, const CameraProbeConf *conf, ProbeDoneFn done,
                     void *userdata, CameraProbe **ret) {
        const CameraConf *c = conf->camera;
        bool v6 = strchr(c->address, ':') != NULL;
        xmlChar *escaped;
        CameraProbe *p;
        int r;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->glue = glue;
        p->done = done;
        p->userdata = userdata;
        p->auth = c->auth;
        p->timeout = conf->timeout;
        p->max_skew = conf->max_clock_skew;
        p->max_lag = conf->max_recording_lag;
        p->slot.done = on_transfer_done;
        p->slot.userdata = p;
        if (asprintf(&p->base_url, "%s://%s%s%s:%u",
                     c->scheme == CAMERA_SCHEME_HTTPS ? "https" : "http", v6 ? "[" : "",
                     c->address, v6 ? "]" : "", c->port) < 0) {
                p->base_url = NULL;
                camera_probe_free(p);
                return -ENOMEM;
        }
        p->model = strdup(c->model ?: "WV-S2536LNUX");
        p->username = c->username ? strdup(c->username) : NULL;
        p->password = conf->password ? strdup(conf->password) : NULL;
        escaped = c->username ? xmlEncodeSpecialChars(NULL, BAD_CAST c->username) : NULL;
        p->username_xml = escaped ? strdup((const char *) escaped) : NULL;
        xmlFree(escaped);
        p->slot.easy = curl_easy_init();
        if (!p->model || (c->username && (!p->username || !p->username_xml)) ||
            (conf->password && !p->password) || !p->slot.easy) {
                camera_probe_free(p);
                return -ENOMEM;
        }
        r = easy_setup(p, c);
        if (r >= 0)
                r = headers_setup(p);
        if (r < 0) {
                camera_probe_free(p);
                return r;
        }
        *ret = p;
        return 0;
}

static void cycle_reset(CameraProbe *p) {
        free(p->request);
        p->request = NULL;
        free(p->body);
        p->body = NULL;
        p->body_len = 0;
        p->too_large = false;
}

CameraProbe *camera_probe_free(CameraProbe *p) {
        if (!p)
                return NULL;
        curl_glue_abort(p->glue, &p->slot);
        if (p->slot.easy)
                curl_easy_cleanup(p->slot.easy);
        for (Step s = 0; s < _STEP_MAX; s++)
                curl_slist_free_all(p->headers[s]);
        cycle_reset(p);
        free(p->base_url);
        free(p->model);
        free(p->username);
        free(p->username_xml);
        if (p->password) {
                explicit_bzero(p->password, strlen(p->password));
                free(p->password);
        }
        free(p);
        return NULL;
}

bool camera_probe_running(const CameraProbe *p) {
        return p->slot.running;
}

/* ======================================================================== */

static bool step_needs_auth(Step s) {
        return s == STEP_DEVINFO || s == STEP_RECORDING || s == STEP_GETINFO;
}

static int step_start(CameraProbe *p, Step s) {
        CURL *e = p->slot.easy;
        bool digest, wsse;
        char url[512];
        size_t len = 0;
        int r;

        cycle_reset(p);
        p->step = s;
        p->errbuf[0] = 0;
        digest = step_needs_auth(s) && p->password &&
                 (p->auth == CAMERA_AUTH_DIGEST || s == STEP_GETINFO);
        wsse = step_needs_auth(s) && p->password && !digest;

        (void) snprintf(url, sizeof(url), "%s%s", p->base_url,
                        s == STEP_GETINFO ? GETINFO_PATH
                        : steps[s].search ? p->search_path
                                          : ONVIF_DEVICE_PATH);
        if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK)
                return -EIO;

        /* Exactly one authentication, or none: ONVIF asks clients never to send both. */
        if (digest) {
                if (curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_DIGEST) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_USERNAME, p->username ?: "") != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_PASSWORD, p->password) != CURLE_OK)
                        return -EIO;
        } else {
                (void) curl_easy_setopt(e, CURLOPT_USERNAME, NULL);
                (void) curl_easy_setopt(e, CURLOPT_PASSWORD, NULL);
                (void) curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_NONE);
        }

        if (s == STEP_GETINFO) {
                if (curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_HTTPHEADER, NULL) != CURLE_OK)
                        return -EIO;
        } else {
                time_t created = time(NULL) + (time_t) lround(p->has_skew ? p->skew : 0);

                r = soap_build_request(steps[s].body, wsse ? p->username_xml ?: "" : NULL,
                                       wsse ? p->password : NULL, created, &p->request, &len);
                if (r < 0)
                        return r;
                if (curl_easy_setopt(e, CURLOPT_POSTFIELDS, p->request) != CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len) !=
                            CURLE_OK ||
                    curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers[s]) != CURLE_OK)
                        return -EIO;
        }
        (void) clock_gettime(CLOCK_REALTIME, &p->real_start);
        return curl_glue_start(p->glue, &p->slot);
}

/* Merges the last deep checks into the cycle's result: a camera whose
 * recording stopped stays degraded between deep checks. */
static void cycle_finish(CameraProbe *p) {
        ProbeResult r = p->result;
        const CameraValues *d = &p->deep.camera;

        cycle_reset(p);
        if (p->has_deep) {
                memcpy(r.camera.manufacturer, d->manufacturer, sizeof(d->manufacturer));
                memcpy(r.camera.model, d->model, sizeof(d->model));
                memcpy(r.camera.firmware, d->firmware, sizeof(d->firmware));
                memcpy(r.camera.serial, d->serial, sizeof(d->serial));
                memcpy(r.camera.sd_state, d->sd_state, sizeof(d->sd_state));
                r.camera.has_recording_lag = d->has_recording_lag;
                r.camera.recording_lag = d->recording_lag;
                if (r.status != PROBE_DOWN && p->deep.status != PROBE_UP)
                        probe_result_fail(&r, p->deep.status, "%s", p->deep.reason);
        }
        p->done(p->userdata, &r);
}

/* Describes a failed transfer, or an HTTP error without a SOAP body. */
static void describe_transfer_error(CameraProbe *p, CURLcode code, char *buf, size_t size) {
        char d[DURATION_MAX];
        long os_errno = 0;

        (void) curl_easy_getinfo(p->slot.easy, CURLINFO_OS_ERRNO, &os_errno);
        switch (code) {
        case CURLE_COULDNT_CONNECT:
                if (os_errno == ECONNREFUSED)
                        (void) snprintf(buf, size, "connection refused");
                else if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
                        (void) snprintf(buf, size, "no route to the camera (%s)",
                                        strerror((int) os_errno));
                else
                        (void) snprintf(buf, size, "cannot connect: %s",
                                        p->errbuf[0] ? p->errbuf : curl_easy_strerror(code));
                break;
        case CURLE_OPERATION_TIMEDOUT:
                if (p->body_len == 0)
                        (void) snprintf(buf, size, "no answer within %s (timeout)",
                                        format_duration(p->timeout, d));
                else
                        (void) snprintf(buf, size,
                                        "answer too slow: timed out after %s with %zu bytes",
                                        format_duration(p->timeout, d), p->body_len);
                break;
        case CURLE_WRITE_ERROR:
        case CURLE_FILESIZE_EXCEEDED:
                (void) snprintf(buf, size, "answer larger than %u KiB", PROBE_RESPONSE_MAX / 1024);
                break;
        case CURLE_GOT_NOTHING:
                (void) snprintf(buf, size, "connection closed without an answer");
                break;
        case CURLE_RECV_ERROR:
        case CURLE_SEND_ERROR:
                (void) snprintf(buf, size, "connection broken: %s",
                                p->errbuf[0] ? p->errbuf : curl_easy_strerror(code));
                break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_CONNECT_ERROR:
                (void) snprintf(buf, size, "TLS failure: %s",
                                p->errbuf[0] ? p->errbuf : curl_easy_strerror(code));
                break;
        default:
                (void) snprintf(buf, size, "%s",
                                p->errbuf[0] ? p->errbuf : curl_easy_strerror(code));
                break;
        }
}

/* Checks a finished SOAP transfer; on success returns 0 with the parsed
 * document, else records the failure with status s and returns < 0. */
static int soap_result(CameraProbe *p, CURLcode code, ProbeResult *target, ProbeStatus s,
                       xmlDoc **ret_doc, xmlNode **ret_body) {
        char why[PROBE_REASON_MAX], err[SOAP_ERROR_MAX];
        long http = 0;
        int r;

        if (code != CURLE_OK) {
                if (p->too_large)
                        code = CURLE_WRITE_ERROR;
                describe_transfer_error(p, code, why, sizeof(why));
                probe_result_fail(target, s, "%s: %s", steps[p->step].name, why);
                return -EIO;
        }
        (void) curl_easy_getinfo(p->slot.easy, CURLINFO_RESPONSE_CODE, &http);
        if (http == 401) {
                probe_result_fail(target, s, "%s: authentication rejected (HTTP 401)",
                                  steps[p->step].name);
                return -EACCES;
        }
        r = soap_parse_response(p->body, p->body_len, ret_doc, ret_body, err);
        if (r == -EPROTO) {
                probe_result_fail(target, s, "%s: %s", steps[p->step].name, err);
                return r;
        }
        if (http < 200 || http > 299) {
                if (r >= 0)
                        xmlFreeDoc(*ret_doc);
                probe_result_fail(target, s, "%s: HTTP %ld", steps[p->step].name, http);
                return -EIO;
        }
        if (r < 0) {
                probe_result_fail(target, s, "%s: %s", steps[p->step].name,
                                  r == -EBADMSG ? err : strerror(-r));
                return r;
        }
        return 0;
}

/* ======================================================================== */

static bool child_int(const xmlNode *n, const char *name, int lo, int hi, int *ret) {
        char buf[16], *end;
        long v;

        if (!xml_text(xml_child(n, NS_ONVIF_SCHEMA, name), buf, sizeof(buf)))
                return false;
        errno = 0;
        v = strtol(buf, &end, 10);
        if (errno || *end || v < lo || v > hi)
                return false;
        *ret = (int) v;
        return true;
}

/* tt:UTCDateTime {Time{Hour,Minute,Second}, Date{Year,Month,Day}} as an instant. */
static int parse_utc_datetime(const xmlNode *utc, time_t *ret) {
        const xmlNode *t = xml_child(utc, NS_ONVIF_SCHEMA, "Time");
        const xmlNode *d = xml_child(utc, NS_ONVIF_SCHEMA, "Date");
        int h, mi, s, y, mo, da;

        if (!t || !d || !child_int(t, "Hour", 0, 23, &h) || !child_int(t, "Minute", 0, 59, &mi) ||
            !child_int(t, "Second", 0, 60, &s) || !child_int(d, "Year", 1970, 9999, &y) ||
            !child_int(d, "Month", 1, 12, &mo) || !child_int(d, "Day", 1, 31, &da) ||
            !ymd_valid(y, mo, da))
                return -EINVAL;
        *ret = (time_t) day_from_ymd(y, mo, da) * 86400 + h * 3600 + mi * 60 + s;
        return 0;
}

static int handle_time(CameraProbe *p, xmlNode *body) {
        xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetSystemDateAndTimeResponse");
        xmlNode *utc = xml_descendant(resp, NS_ONVIF_SCHEMA, "UTCDateTime");
        curl_off_t total = 0;
        double mid;
        time_t cam;

        (void) curl_easy_getinfo(p->slot.easy, CURLINFO_TOTAL_TIME_T, &total);
        p->result.latency_usec = (uint64_t) total;
        if (!resp) {
                probe_result_fail(&p->result, PROBE_DOWN,
                                  "GetSystemDateAndTime: unexpected answer (no "
                                  "GetSystemDateAndTimeResponse)");
                return -EBADMSG;
        }
        if (!utc || parse_utc_datetime(utc, &cam) < 0) {
                probe_result_fail(&p->result, PROBE_DEGRADED,
                                  "GetSystemDateAndTime: no valid UTCDateTime, clock unknown");
                return 0;
        }
        /* The camera truncates to whole seconds: its clock read cam + 0.5 on
         * average, at about the middle of the round trip. */
        mid = (double) p->real_start.tv_sec + p->real_start.tv_nsec / 1e9 + (double) total / 2e6;
        p->skew = (double) cam + 0.5 - mid;
        p->has_skew = true;
        p->result.camera.has_clock_skew = true;
        p->result.camera.clock_skew = p->skew;
        if (fabs(p->skew) * USEC_PER_SEC > (double) p->max_skew) {
                char d[DURATION_MAX];

                probe_result_fail(&p->result, PROBE_DEGRADED, "clock skew %+.0f s (limit %s)",
                                  p->skew, format_duration(p->max_skew, d));
        }
        return 0;
}

/* Takes the path of an XAddr: a camera behind NAT may name an address we
 * cannot reach, so only the path is used, with the configured address. */
static void xaddr_path(const char *xaddr, char *buf, size_t size) {
        const char *s = strstr(xaddr, "://");

        s = s ? strchr(s + 3, '/') : NULL;
        (void) snprintf(buf, size, "%s", s ? s : "");
}

static void handle_services(CameraProbe *p, xmlNode *body) {
        xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetServicesResponse");
        char ns[128], xaddr[SEARCH_PATH_MAX];

        p->services_known = true;
        p->search_path[0] = 0;
        for (xmlNode *s = resp ? resp->children : NULL; s; s = s->next) {
                if (s->type != XML_ELEMENT_NODE || !xmlStrEqual(s->name, BAD_CAST "Service"))
                        continue;
                if (xml_text(xml_child(s, NS_ONVIF_DEVICE, "Namespace"), ns, sizeof(ns)) &&
                    streq(ns, NS_ONVIF_SEARCH) &&
                    xml_text(xml_child(s, NS_ONVIF_DEVICE, "XAddr"), xaddr, sizeof(xaddr))) {
                        xaddr_path(xaddr, p->search_path, sizeof(p->search_path));
                        break;
                }
        }
}

static void handle_devinfo(CameraProbe *p, xmlNode *body) {
        xmlNode *resp = xml_child(body, NS_ONVIF_DEVICE, "GetDeviceInformationResponse");
        CameraValues *v = &p->deep.camera;

        if (!resp) {
                probe_result_fail(&p->deep, PROBE_DEGRADED,
                                  "GetDeviceInformation: unexpected answer");
                return;
        }
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "Manufacturer"), v->manufacturer,
                        sizeof(v->manufacturer));
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "Model"), v->model, sizeof(v->model));
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "FirmwareVersion"), v->firmware,
                        sizeof(v->firmware));
        (void) xml_text(xml_child(resp, NS_ONVIF_DEVICE, "SerialNumber"), v->serial,
                        sizeof(v->serial));
        if (!streq(v->model, p->model))
                probe_result_fail(&p->deep, PROBE_DEGRADED, "wrong model %s, expected %s",
                                  v->model[0] ? v->model : "(none)", p->model);
}

static void handle_recording(CameraProbe *p, xmlNode *body) {
        xmlNode *sum = xml_descendant(xml_child(body, NS_ONVIF_SEARCH, "GetRecordingSummaryResponse"),
                                      NS_ONVIF_SEARCH, "Summary");
        char until[64], count[16], d[DURATION_MAX];
        time_t t, camera_now;

        if (!sum) {
                probe_result_fail(&p->deep, PROBE_DEGRADED,
                                  "GetRecordingSummary: unexpected answer");
                return;
        }
        if (xml_text(xml_child(sum, NS_ONVIF_SCHEMA, "NumberRecordings"), count, sizeof(count)) &&
            streq(count, "0")) {
                probe_result_fail(&p->deep, PROBE_DEGRADED,
                                  "recording stopped: the camera holds no recordings");
                return;
        }
        if (!xml_text(xml_child(sum, NS_ONVIF_SCHEMA, "DataUntil"), until, sizeof(until)) ||
            xml_parse_datetime(until, &t) < 0) {
                probe_result_fail(&p->deep, PROBE_DEGRADED,
                                  "GetRecordingSummary: no valid DataUntil");
                return;
        }
        camera_now = time(NULL) + (time_t) lround(p->has_skew ? p->skew : 0);
        p->deep.camera.has_recording_lag = true;
        p->deep.camera.recording_lag = (int64_t) (camera_now - t);
        if (camera_now > t && (uint64_t) (camera_now - t) * USEC_PER_SEC > p->max_lag)
                probe_result_fail(&p->deep, PROBE_DEGRADED,
                                  "recording stopped: newest recording %s old (DataUntil %s)",
                                  format_duration((uint64_t) (camera_now - t) * USEC_PER_SEC, d),
                                  until);
}

/* Finds "KEY=value" in the i-PRO CGI's text (lines, possibly inside HTML). */
static bool getinfo_value(const char *text, const char *key, char *buf, size_t size) {
        size_t klen = strlen(key);

        for (const char *s = text; (s = strstr(s, key)); s += klen) {
                size_t n;

                if (s != text && !strchr("\n\r> \t", s[-1]))
                        continue;
                if (s[klen] != '=')
                        continue;
                s += klen + 1;
                n = strcspn(s, "\r\n<&");
                if (n >= size)
                        n = size - 1;
                memcpy(buf, s, n);
                buf[n] = 0;
                return true;
        }
        return false;
}

static void handle_getinfo(CameraProbe *p, CURLcode code) {
        CameraValues *v = &p->deep.camera;
        char why[PROBE_REASON_MAX];
        long http = 0;

        if (code != CURLE_OK) {
                describe_transfer_error(p, p->too_large ? CURLE_WRITE_ERROR : code, why,
                                        sizeof(why));
                probe_result_fail(&p->deep, PROBE_DEGRADED, "getinfo: %s", why);
                return;
        }
        (void) curl_easy_getinfo(p->slot.easy, CURLINFO_RESPONSE_CODE, &http);
        if (http == 401) {
                probe_result_fail(&p->deep, PROBE_DEGRADED,
                                  "getinfo: authentication rejected (HTTP 401)");
                return;
        }
        if (http < 200 || http > 299 || !p->body) {
                probe_result_fail(&p->deep, PROBE_DEGRADED, "getinfo: HTTP %ld", http);
                return;
        }
        if (!getinfo_value(p->body, "SDrec", v->sd_state, sizeof(v->sd_state))) {
                probe_result_fail(&p->deep, PROBE_DEGRADED, "getinfo: no SDrec in the answer");
                return;
        }
        if (!v->serial[0])
                (void) getinfo_value(p->body, "SERIAL", v->serial, sizeof(v->serial));
        if (!streq(v->sd_state, "on") && !streq(v->sd_state, "enable"))
                probe_result_fail(&p->deep, PROBE_DEGRADED, "SD recording %s (SDrec=%s)",
                                  strstr(v->sd_state, "err") ? "error" : "not running",
                                  v->sd_state);
}

/* The step after s in a cycle, or _STEP_MAX when the cycle is over. */
static Step next_step(const CameraProbe *p, Step s) {
        switch (s) {
        case STEP_TIME:
                if (!p->deep_cycle || p->result.status == PROBE_DOWN)
                        return _STEP_MAX;
                return p->services_known ? STEP_DEVINFO : STEP_SERVICES;
        case STEP_SERVICES:
                return STEP_DEVINFO;
        case STEP_DEVINFO:
                return p->search_path[0] ? STEP_RECORDING : STEP_GETINFO;
        case STEP_RECORDING:
                return STEP_GETINFO;
        default:
                return _STEP_MAX;
        }
}

static void on_transfer_done(CurlSlot *slot, CURLcode code) {
        CameraProbe *p = slot->userdata;
        xmlNode *body = NULL;
        xmlDoc *doc = NULL;
        Step next;

        if (p->step == STEP_GETINFO)
                handle_getinfo(p, code);
        else if (soap_result(p, code, p->step == STEP_TIME ? &p->result : &p->deep,
                             p->step == STEP_TIME ? PROBE_DOWN : PROBE_DEGRADED, &doc, &body) >= 0) {
                switch (p->step) {
                case STEP_TIME:
                        (void) handle_time(p, body);
                        break;
                case STEP_SERVICES:
                        handle_services(p, body);
                        break;
                case STEP_DEVINFO:
                        handle_devinfo(p, body);
                        break;
                case STEP_RECORDING:
                        handle_recording(p, body);
                        break;
                default:
                        break;
                }
                xmlFreeDoc(doc);
        } else if (p->step == STEP_TIME) {
                (void) curl_easy_getinfo(p->slot.easy, CURLINFO_TOTAL_TIME_T,
                                         (curl_off_t *) &p->result.latency_usec);
        }

        next = next_step(p, p->step);
        if ((next == STEP_DEVINFO || next == STEP_SERVICES) && !p->password)
                next = _STEP_MAX;
        if (p->step == STEP_TIME && next != _STEP_MAX) {
                /* A deep round begins: its findings replace the last ones. */
                p->deep = (ProbeResult) { .status = PROBE_UP };
                p->has_deep = true;
        }
        if (next != _STEP_MAX) {
                int r = step_start(p, next);

                if (r >= 0)
                        return;
                probe_result_fail(&p->deep, PROBE_DEGRADED, "%s: cannot start: %s",
                                  steps[next].name, strerror(-r));
        }
        cycle_finish(p);
}

int camera_probe_start(CameraProbe *p, bool deep) {
        int r;

        if (p->slot.running)
                return -EBUSY;
        p->result = (ProbeResult) { .status = PROBE_UP };
        p->deep_cycle = deep;
        p->result.camera.deep = deep && p->password;
        r = step_start(p, STEP_TIME);
        if (r < 0)
                cycle_reset(p);
        return r;
}
