/* SPDX-License-Identifier: MIT */

/* fieldwatchctl's action commands up to the spool: the global options
 * (cli_take_global_options), then the command's own (parse_action, static
 * in daemon/ctl-actions.c, which is compiled into this harness; the sources
 * are not changed), then action_validate(). An action fieldwatchctl finds
 * valid must serialise for the spool (action_to_json) and come back from
 * it unchanged and still valid, or the operator is told something false.
 *
 * Input: the arguments after argv[0], separated by NUL bytes, e.g.
 * "ack\0" "2\0" "--by\0" "Yamada". --config is ignored: the built-in
 * defaults are used, and nothing is read but the time zone. */

#include "daemon/ctl-actions.c"

#include "fuzz.h"

#define ARGS_MAX 64

static const struct {
        const char *name;
        ActionType type;
} commands[] = {
        { "ack", ACTION_ACK },         { "onsite", ACTION_ONSITE },
        { "defer", ACTION_DEFER },     { "recover", ACTION_RECOVER },
        { "close", ACTION_CLOSE },     { "report-submitted", ACTION_REPORT_SUBMITTED },
        { "work", ACTION_WORK_ADD },
};

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        (void) unsetenv("STATE_DIRECTORY");
        (void) unsetenv("CREDENTIALS_DIRECTORY");
        return 0;
}

static void check_round_trip(const Action *a) {
        char err[512];
        Action b = {};
        char *json;
        int r;

        json = action_to_json(a);
        FUZZ_CHECK(json, "fieldwatchctl validated a %s action that does not serialise for the "
                   "spool", action_type_to_string(a->type));
        r = action_from_json(json, &b, err, sizeof(err));
        FUZZ_CHECK(r == 0, "the daemon refuses fieldwatchctl's JSON: %s", err);
        FUZZ_CHECK(b.type == a->type && b.fault_id == a->fault_id && b.at == a->at &&
                           b.end_at == a->end_at && b.media_replaced == a->media_replaced,
                   "numbers changed on the way through the spool");
        FUZZ_CHECK(strcmp(b.by, a->by) == 0 && strcmp(b.kind, a->kind) == 0 &&
                           strcmp(b.due, a->due) == 0,
                   "'%s'/'%s'/'%s' became '%s'/'%s'/'%s' on the way through the spool", a->by,
                   a->kind, a->due, b.by, b.kind, b.due);
        FUZZ_CHECK(b.n_parts == a->n_parts, "%zu parts became %zu on the way through the spool",
                   a->n_parts, b.n_parts);
        r = action_validate(&b, err, sizeof(err));
        FUZZ_CHECK(r == 0, "valid in fieldwatchctl, invalid in the daemon: %s", err);
        action_done(&b);
        free(json);
}

static void run(int argc, char **argv) {
        GlobalOptions g;
        char err[512];
        Action a = {};
        ActionType type = _ACTION_TYPE_MAX;
        int r;

        r = cli_take_global_options(&argc, argv, &g, err, sizeof(err));
        if (r < 0 || g.help || g.version || argc < 2)
                return;
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (streq(argv[1], commands[i].name))
                        type = commands[i].type;
        if (type == _ACTION_TYPE_MAX)
                return;
        argc--, argv++;
        if (type == ACTION_WORK_ADD) {
                /* ctl_work(): "work add ..." parses as "work ...". */
                if (argc < 2 || !streq(argv[1], "add"))
                        return;
                argv[1] = argv[0];
                argc--, argv++;
        }
        g.config_path = "/nonexistent/fieldwatch-fuzz.yaml";
        g.config_given = false;

        r = parse_action(&g, type, argc, argv, &a);
        FUZZ_CHECK(r == CTL_EXIT_OK || r == CTL_EXIT_USAGE || r == CTL_EXIT_FAILURE,
                   "exit status %d", r);
        if (r == CTL_EXIT_OK) {
                FUZZ_CHECK(a.type == type, "type %d for %s", (int) a.type, argv[0]);
                /* Work and contract deliverables need no fault; the rest name one. */
                FUZZ_CHECK(type == ACTION_WORK_ADD || a.fault_id > 0 ||
                                   (type == ACTION_REPORT_SUBMITTED &&
                                    action_is_deliverable(a.kind)),
                           "fault id %lld", (long long) a.fault_id);
                FUZZ_CHECK(strlen(a.by) <= ACTION_NAME_MAX, "name of %zu bytes", strlen(a.by));
                if (action_validate(&a, err, sizeof(err)) == 0)
                        check_round_trip(&a);
        }
        action_done(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *copy, *argv[ARGS_MAX + 2];
        int argc = 1;

        if (size > 8192)
                return 0;
        copy = fuzz_strndup(data, size);
        argv[0] = (char *) "fieldwatchctl";
        for (size_t i = 0; argc <= ARGS_MAX && i <= size; argc++) {
                argv[argc] = copy + i;
                i += strlen(copy + i) + 1;
        }
        argv[argc] = NULL;
        run(argc, argv);
        free(copy);
        return 0;
}
