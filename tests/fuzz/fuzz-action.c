/* SPDX-License-Identifier: MIT */

/* An operator action as the daemon takes it from the control socket: any
 * text through action_from_json() and action_validate(), the way control.c
 * and operator.c call them. A refused action leaves *ret alone (ret_* convention); an
 * accepted one holds the names the JSON gave, not cut; a valid one survives
 * action_to_json() and back unchanged; and text_valid() keeps its word on the
 * raw input: UTF-8, no control characters. */

#include <errno.h>
#include <jansson.h>

#include "action.h"
#include "fuzz.h"

/* The control socket takes request bodies of at most this size (control.c). */
#define ACTION_JSON_MAX (64 * 1024)

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        return 0;
}

static bool same_text(const char *a, const char *b) {
        return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void check_same(const Action *a, const Action *b) {
        FUZZ_CHECK(a->type == b->type && a->fault_id == b->fault_id &&
                           a->requested_at == b->requested_at && a->at == b->at &&
                           a->end_at == b->end_at && a->media_replaced == b->media_replaced &&
                           a->work_id == b->work_id && a->remote == b->remote &&
                           a->temporary == b->temporary && a->amount == b->amount &&
                           a->anomaly_id == b->anomaly_id,
                   "numbers changed in the round trip");
        FUZZ_CHECK(strcmp(a->loaner, b->loaner) == 0, "the loaner changed in the round trip");
        FUZZ_CHECK(strcmp(a->from, b->from) == 0 && strcmp(a->site, b->site) == 0 &&
                           strcmp(a->device, b->device) == 0,
                   "from/site/device changed in the round trip");
        FUZZ_CHECK(strcmp(a->by, b->by) == 0 && strcmp(a->os_user, b->os_user) == 0 &&
                           strcmp(a->kind, b->kind) == 0 && strcmp(a->due, b->due) == 0,
                   "by/os_user/kind/due changed in the round trip");
        FUZZ_CHECK(same_text(a->note, b->note) && same_text(a->cause, b->cause) &&
                           same_text(a->action, b->action) &&
                           same_text(a->prevention, b->prevention) &&
                           same_text(a->title, b->title) && same_text(a->content, b->content),
                   "a text changed in the round trip");
        FUZZ_CHECK(a->n_parts == b->n_parts, "%zu parts became %zu", a->n_parts, b->n_parts);
        for (size_t i = 0; i < a->n_parts; i++)
                FUZZ_CHECK(same_text(a->parts[i], b->parts[i]), "part %zu changed", i);
}

/* The fixed-size fields hold what the JSON said, or the action is refused;
 * os_user is never taken from the request (the daemon names the peer). */
static void check_not_cut(const char *text, const Action *a) {
        static const char *const keys[] = { "by", "kind", "due", "loaner", "from", "site",
                                            "device" };
        const char *fields[] = { a->by, a->kind, a->due, a->loaner, a->from, a->site, a->device };
        json_t *o = json_loads(text, JSON_REJECT_DUPLICATES, NULL);

        FUZZ_CHECK(o, "accepted JSON that jansson refuses");
        FUZZ_CHECK(a->os_user[0] == 0, "os_user taken from the request");
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                const char *given = json_string_value(json_object_get(o, keys[i]));

                FUZZ_CHECK(strcmp(given ?: "", fields[i]) == 0,
                           "%s of %zu bytes accepted as %zu bytes: cut, not refused", keys[i],
                           strlen(given ?: ""), strlen(fields[i]));
        }
        json_decref(o);
}

static void check_text_valid(const char *s, size_t size) {
        bool multi = text_valid(s, size, true), single = text_valid(s, size, false);

        if (single)
                FUZZ_CHECK(multi, "valid on one line but not on several");
        if (!multi)
                return;
        FUZZ_CHECK(fuzz_utf8_strict(s), "text_valid() took text that is not UTF-8");
        for (const unsigned char *p = (const unsigned char *) s; *p; p++)
                FUZZ_CHECK((*p >= 0x20 && *p != 0x7F) || *p == '\n' || *p == '\t',
                           "text_valid() took control character 0x%02X", *p);
        if (*s)
                FUZZ_CHECK(!text_valid(s, strlen(s) - 1, true), "text_valid() ignored its limit");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        Action a, untouched, b = {};
        char err[512], *text, *json;
        int r;

        if (size > ACTION_JSON_MAX)
                return 0;
        text = fuzz_strndup(data, size);
        check_text_valid(text, size);

        memset(&a, 0x5A, sizeof(a));
        memcpy(&untouched, &a, sizeof(a));
        err[0] = 0;
        r = action_from_json(text, &a, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r < 0) {
                FUZZ_CHECK(memcmp(&a, &untouched, sizeof(a)) == 0, "a refused action wrote *ret");
                FUZZ_CHECK(err[0] && strnlen(err, sizeof(err)) < sizeof(err), "no error text");
                free(text);
                return 0;
        }
        FUZZ_CHECK(a.type >= 0 && a.type < _ACTION_TYPE_MAX, "type %d", (int) a.type);
        FUZZ_CHECK(a.n_parts <= ACTION_PARTS_MAX, "%zu parts", a.n_parts);
        check_not_cut(text, &a);

        r = action_validate(&a, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r == 0) {
                json = action_to_json(&a);
                FUZZ_CHECK(json, "a valid action does not serialise");
                r = action_from_json(json, &b, err, sizeof(err));
                FUZZ_CHECK(r == 0, "its own JSON is refused: %s", err);
                check_same(&a, &b);
                FUZZ_CHECK(action_validate(&b, err, sizeof(err)) == 0, "valid no more: %s", err);
                action_done(&b);
                free(json);
        }
        action_done(&a);
        free(text);
        return 0;
}
