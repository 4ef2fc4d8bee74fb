/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "action.h"
#include "macro.h"
#include "timeutil.h"

static const char *const action_types[_ACTION_TYPE_MAX] = {
        [ACTION_ACK] = "ack",
        [ACTION_ONSITE] = "onsite",
        [ACTION_DEFER] = "defer",
        [ACTION_RECOVER] = "recover",
        [ACTION_REPORT_SUBMITTED] = "report-submitted",
        [ACTION_WORK_ADD] = "work-add",
        [ACTION_WORK_EDIT] = "work-edit",
        [ACTION_PARTS_QUOTE] = "parts-quote",
        [ACTION_PARTS_APPROVED] = "parts-approved",
        [ACTION_CLOSE] = "close",
        [ACTION_RECEIVE] = "receive",
        [ACTION_OPEN] = "open",
        [ACTION_INVESTIGATE] = "investigate",
        [ACTION_ESCALATE] = "escalate",
};

const char *action_type_to_string(ActionType t) {
        return t >= 0 && t < _ACTION_TYPE_MAX ? action_types[t] : "unknown";
}

int action_type_from_string(const char *s) {
        for (int t = 0; t < _ACTION_TYPE_MAX; t++)
                if (streq_ptr(s, action_types[t]))
                        return t;
        return -EINVAL;
}

void action_done(Action *a) {
        free(a->note);
        free(a->cause);
        free(a->action);
        free(a->prevention);
        free(a->title);
        free(a->content);
        for (size_t i = 0; i < a->n_parts; i++)
                free(a->parts[i]);
        *a = (Action) {};
}

static int check_text(const char *what, const char *s, size_t max, bool multiline, bool required,
                      char *err, size_t errlen) {
        if (required && (!s || !*s)) {
                (void) snprintf(err, errlen, "%s is required", what);
                return -EINVAL;
        }
        if (!text_valid(s, max, multiline)) {
                (void) snprintf(err, errlen,
                                "%s must be UTF-8 text of at most %zu bytes without control "
                                "characters (C0, DEL, C1 U+0080-U+009F) or bidirectional "
                                "overrides (U+202A-U+202E, U+2066-U+2069)",
                                what, max);
                return -EINVAL;
        }
        return 0;
}

bool action_is_deliverable(const char *kind) {
        return streq(kind, "quarterly_report") || streq(kind, "annual_plan") ||
               streq(kind, "completion_notice") || streq(kind, "archive");
}

/* A fault kind given by an operator: [a-z][a-z0-9_]*, as the probes' kinds. */
static bool kind_valid(const char *s) {
        if (!s[0] || s[0] < 'a' || s[0] > 'z')
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
                        return false;
        return true;
}

static bool site_id_valid(const char *s) {
        if (!s[0])
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                        return false;
        return true;
}

int action_validate(const Action *a, char *err, size_t errlen) {
        bool needs_fault = a->type != ACTION_WORK_ADD && a->type != ACTION_WORK_EDIT &&
                           a->type != ACTION_OPEN && a->type != ACTION_INVESTIGATE &&
                           a->type != ACTION_ESCALATE;
        int r;

        if (a->type < 0 || a->type >= _ACTION_TYPE_MAX) {
                (void) snprintf(err, errlen, "unknown action");
                return -EINVAL;
        }
        if (a->type == ACTION_REPORT_SUBMITTED && action_is_deliverable(a->kind)) {
                Day d;

                if (a->fault_id > 0 || parse_iso_date(a->due, &d) < 0) {
                        (void) snprintf(err, errlen,
                                        "a contract deliverable is named by --due YYYY-MM-DD, "
                                        "without a fault");
                        return -EINVAL;
                }
                needs_fault = false;
        }
        if (needs_fault && a->fault_id <= 0) {
                (void) snprintf(err, errlen, "a fault id is required");
                return -EINVAL;
        }
        if ((a->type == ACTION_INVESTIGATE || a->type == ACTION_ESCALATE) && a->anomaly_id <= 0) {
                (void) snprintf(err, errlen, "an anomaly id is required (fieldwatchctl "
                                             "anomalies lists them)");
                return -EINVAL;
        }
        r = check_text(a->type == ACTION_DEFER ? "--approved-by" : "--by", a->by, ACTION_NAME_MAX,
                       false, true, err, errlen);
        if (r >= 0)
                r = check_text("the note", a->note, ACTION_TEXT_MAX, true,
                               a->type == ACTION_CLOSE || a->type == ACTION_OPEN ||
                                       a->type == ACTION_INVESTIGATE,
                               err, errlen);
        if (r >= 0)
                r = check_text("--from", a->from, ACTION_NAME_MAX, false,
                               a->type == ACTION_RECEIVE, err, errlen);
        if (r >= 0)
                r = check_text("--cause", a->cause, ACTION_TEXT_MAX, true,
                               a->type == ACTION_RECOVER, err, errlen);
        if (r >= 0)
                r = check_text("--action", a->action, ACTION_TEXT_MAX, true,
                               a->type == ACTION_RECOVER, err, errlen);
        if (r >= 0)
                /* 再発防止策 (L179-181) is part of every recovery; 「なし（理由）」 is an answer. */
                r = check_text("--prevention", a->prevention, ACTION_TEXT_MAX, true,
                               a->type == ACTION_RECOVER, err, errlen);
        if (r >= 0)
                r = check_text("--title", a->title, 200, false, a->type == ACTION_WORK_ADD, err,
                               errlen);
        if (r >= 0)
                r = check_text("--content", a->content, ACTION_TEXT_MAX, true,
                               a->type == ACTION_WORK_ADD, err, errlen);
        for (size_t i = 0; r >= 0 && i < a->n_parts; i++)
                r = check_text("--parts", a->parts[i], 64, false, true, err, errlen);
        if (r >= 0 && a->loaner[0])
                r = check_text("--loaner", a->loaner, sizeof(a->loaner) - 1, false, true, err,
                               errlen);
        if (r < 0)
                return r;
        if (a->type == ACTION_REPORT_SUBMITTED && !streq(a->kind, "recovery") &&
            !streq(a->kind, "erasure") && !action_is_deliverable(a->kind)) {
                (void) snprintf(err, errlen,
                                "--kind must be recovery or erasure (with a fault), or "
                                "quarterly_report, annual_plan, completion_notice or archive "
                                "(with --due)");
                return -EINVAL;
        }
        if (a->type == ACTION_OPEN) {
                if (!site_id_valid(a->site) && !streq(a->device, "vpn")) {
                        (void) snprintf(err, errlen, "--site is required (a site id of the "
                                                     "configuration)");
                        return -EINVAL;
                }
                if (!streq(a->device, "camera") && !streq(a->device, "router") &&
                    !streq(a->device, "vpn") && !streq(a->device, "site")) {
                        (void) snprintf(err, errlen, "--device must be camera, router, vpn or "
                                                     "site");
                        return -EINVAL;
                }
                if (!kind_valid(a->kind)) {
                        (void) snprintf(err, errlen, "--kind must be a word of a-z, 0-9 and _ "
                                                     "starting with a letter (e.g. "
                                                     "housing_damaged, lens_misaligned)");
                        return -EINVAL;
                }
        }
        if (a->type == ACTION_PARTS_QUOTE && (a->n_parts == 0 || a->amount <= 0 ||
                                              a->amount > INT64_C(1000000000))) {
                (void) snprintf(err, errlen, "a quote needs --parts and --amount (yen, 1 to "
                                             "1,000,000,000)");
                return -EINVAL;
        }
        if (a->type == ACTION_WORK_EDIT) {
                if (a->work_id <= 0) {
                        (void) snprintf(err, errlen, "a work record id is required");
                        return -EINVAL;
                }
                if (!a->title && !a->content && !a->note && !a->at && !a->end_at) {
                        (void) snprintf(err, errlen, "nothing to change: give --title, "
                                                     "--content, --notes, --start or --end");
                        return -EINVAL;
                }
                if (a->at && a->end_at && a->end_at < a->at) {
                        (void) snprintf(err, errlen, "the end is before the start");
                        return -EINVAL;
                }
        }
        if (a->type == ACTION_WORK_ADD && (a->at <= 0 || a->end_at <= 0 || a->end_at < a->at)) {
                (void) snprintf(err, errlen, "--start and --end are required, the end not "
                                             "before the start");
                return -EINVAL;
        }
        return 0;
}

char *action_to_json(const Action *a) {
        json_t *o, *parts;
        char *s;

        parts = json_array();
        for (size_t i = 0; parts && i < a->n_parts; i++)
                if (json_array_append_new(parts, json_string(a->parts[i])) < 0) {
                        /* Not UTF-8: never drop a part silently. */
                        json_decref(parts);
                        return NULL;
                }
        o = json_pack("{s:s, s:I, s:I, s:s, s:I, s:I, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?,"
                      " s:o, s:b, s:s, s:s, s:b, s:b, s:s, s:I}",
                      "type", action_type_to_string(a->type), "fault", (json_int_t) a->fault_id,
                      "work", (json_int_t) a->work_id,
                      "by", a->by, "requested_at",
                      (json_int_t) a->requested_at, "at", (json_int_t) a->at, "end_at",
                      (json_int_t) a->end_at, "note", a->note, "cause", a->cause, "action",
                      a->action, "prevention", a->prevention, "title", a->title, "content",
                      a->content, "parts", parts ?: json_array(), "media_replaced",
                      a->media_replaced, "kind", a->kind, "due", a->due, "remote", a->remote,
                      "temporary", a->temporary, "loaner", a->loaner, "amount",
                      (json_int_t) a->amount);
        if (!o)
                return NULL;
        if (json_object_set_new(o, "start_at", json_integer(a->start_at)) < 0 ||
            json_object_set_new(o, "from", json_string(a->from)) < 0 ||
            json_object_set_new(o, "site", json_string(a->site)) < 0 ||
            json_object_set_new(o, "device", json_string(a->device)) < 0 ||
            json_object_set_new(o, "anomaly", json_integer(a->anomaly_id)) < 0) {
                json_decref(o);
                return NULL;
        }
        s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return s;
}

static char *dup_opt(json_t *o, const char *key) {
        json_t *v = json_object_get(o, key);

        return json_is_string(v) ? strdup(json_string_value(v)) : NULL;
}

int action_from_json(const char *text, Action *ret, char *err, size_t errlen) {
        json_error_t jerr;
        json_t *o, *parts;
        Action a = {};
        const char *type, *by, *kind = "", *due = "", *loaner = "", *from = "", *site = "",
                   *device = "";
        json_int_t fault = 0, work = 0, requested = 0, at = 0, end_at = 0, amount = 0,
                   anomaly = 0, start_at = 0;
        int media = 0, remote = 0, temporary = 0;

        o = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
        if (!o) {
                (void) snprintf(err, errlen, "not an action: %s", jerr.text);
                return -EINVAL;
        }
        if (json_unpack_ex(o, &jerr, 0,
                           "{s:s, s:I, s?I, s:s, s:I, s:I, s:I, s?b, s?s, s?s, s?b, s?b, s?s, s?I}",
                           "type", &type, "fault", &fault, "work", &work, "by", &by,
                           "requested_at", &requested, "at", &at, "end_at", &end_at,
                           "media_replaced", &media, "kind", &kind, "due", &due, "remote",
                           &remote, "temporary", &temporary, "loaner", &loaner, "amount",
                           &amount) < 0 ||
            json_unpack_ex(o, &jerr, 0, "{s?s, s?s, s?s, s?I, s?I}", "from", &from, "site",
                           &site, "device", &device, "anomaly", &anomaly, "start_at",
                           &start_at) < 0 ||
            action_type_from_string(type) < 0) {
                (void) snprintf(err, errlen, "not an action: %s", jerr.text);
                json_decref(o);
                return -EINVAL;
        }
        if (strlen(by) > ACTION_NAME_MAX ||
            strlen(kind) >= sizeof(a.kind) || strlen(due) >= sizeof(a.due) ||
            strlen(loaner) >= sizeof(a.loaner) || strlen(from) >= sizeof(a.from) ||
            strlen(site) >= sizeof(a.site) || strlen(device) >= sizeof(a.device)) {
                (void) snprintf(err, errlen, "not an action: a field is too long");
                json_decref(o);
                return -EINVAL;
        }
        a.type = action_type_from_string(type);
        a.fault_id = fault;
        a.work_id = work;
        a.requested_at = (time_t) requested;
        a.at = (time_t) at;
        a.end_at = (time_t) end_at;
        a.start_at = (time_t) start_at;
        a.media_replaced = media;
        a.remote = remote;
        a.amount = amount;
        a.temporary = temporary;
        (void) snprintf(a.loaner, sizeof(a.loaner), "%s", loaner);
        (void) snprintf(a.by, sizeof(a.by), "%s", by);
        (void) snprintf(a.kind, sizeof(a.kind), "%s", kind);
        (void) snprintf(a.due, sizeof(a.due), "%s", due);
        (void) snprintf(a.from, sizeof(a.from), "%s", from);
        (void) snprintf(a.site, sizeof(a.site), "%s", site);
        (void) snprintf(a.device, sizeof(a.device), "%s", device);
        a.anomaly_id = anomaly;
        a.note = dup_opt(o, "note");
        a.cause = dup_opt(o, "cause");
        a.action = dup_opt(o, "action");
        a.prevention = dup_opt(o, "prevention");
        a.title = dup_opt(o, "title");
        a.content = dup_opt(o, "content");
        parts = json_object_get(o, "parts");
        /* Never a part dropped silently: too many, or not a string, refuses. */
        if (parts && (!json_is_array(parts) || json_array_size(parts) > ACTION_PARTS_MAX)) {
                (void) snprintf(err, errlen, "not an action: parts: at most %d model names",
                                ACTION_PARTS_MAX);
                json_decref(o);
                action_done(&a);
                return -EINVAL;
        }
        for (size_t i = 0; i < json_array_size(parts); i++) {
                if (!json_is_string(json_array_get(parts, i))) {
                        (void) snprintf(err, errlen, "not an action: parts[%zu] is not a string",
                                        i);
                        json_decref(o);
                        action_done(&a);
                        return -EINVAL;
                }
                a.parts[a.n_parts++] = strdup(json_string_value(json_array_get(parts, i)));
        }
        json_decref(o);
        *ret = a;
        return 0;
}
