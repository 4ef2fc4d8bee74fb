/* SPDX-License-Identifier: MIT */

/* fieldwatchctl ack, onsite, defer, recover, report-submitted, work add,
 * close, receive, open, investigate, escalate: operator actions, handed to fieldwatchd over its control socket. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "clocks.h"
#include "ctl.h"
#include "macro.h"
#include "control.h"

enum {
        OPT_BY = 0x100,
        OPT_APPROVED_BY,
        OPT_NOTE,
        OPT_REASON,
        OPT_AT,
        OPT_CAUSE,
        OPT_ACTION,
        OPT_PREVENTION,
        OPT_PARTS,
        OPT_MEDIA,
        OPT_REMOTE,
        OPT_TEMPORARY,
        OPT_LOANER,
        OPT_AMOUNT,
        OPT_KIND,
        OPT_START,
        OPT_END,
        OPT_TITLE,
        OPT_CONTENT,
        OPT_NOTES,
        OPT_FAULT,
        OPT_DUE,
        OPT_FROM,
        OPT_SITE,
        OPT_DEVICE,
        OPT_RECEIVED_AT,
        OPT_FISCAL_YEAR,
};

static const struct option all_options[] = {
        { "by", required_argument, NULL, OPT_BY },
        { "approved-by", required_argument, NULL, OPT_APPROVED_BY },
        { "note", required_argument, NULL, OPT_NOTE },
        { "reason", required_argument, NULL, OPT_REASON },
        { "at", required_argument, NULL, OPT_AT },
        { "cause", required_argument, NULL, OPT_CAUSE },
        { "action", required_argument, NULL, OPT_ACTION },
        { "prevention", required_argument, NULL, OPT_PREVENTION },
        { "parts", required_argument, NULL, OPT_PARTS },
        { "media-replaced", no_argument, NULL, OPT_MEDIA },
        { "remote", no_argument, NULL, OPT_REMOTE },
        { "temporary", no_argument, NULL, OPT_TEMPORARY },
        { "loaner", required_argument, NULL, OPT_LOANER },
        { "amount", required_argument, NULL, OPT_AMOUNT },
        { "kind", required_argument, NULL, OPT_KIND },
        { "start", required_argument, NULL, OPT_START },
        { "end", required_argument, NULL, OPT_END },
        { "title", required_argument, NULL, OPT_TITLE },
        { "content", required_argument, NULL, OPT_CONTENT },
        { "notes", required_argument, NULL, OPT_NOTES },
        { "fault", required_argument, NULL, OPT_FAULT },
        { "due", required_argument, NULL, OPT_DUE },
        { "from", required_argument, NULL, OPT_FROM },
        { "site", required_argument, NULL, OPT_SITE },
        { "device", required_argument, NULL, OPT_DEVICE },
        { "received-at", required_argument, NULL, OPT_RECEIVED_AT },
        { "fiscal-year", required_argument, NULL, OPT_FISCAL_YEAR },
        {},
};

/* Which options each action takes (bits of OPT_* - OPT_BY). */
#define O(x) (1u << ((x) - OPT_BY))
static const unsigned allowed[_ACTION_TYPE_MAX] = {
        [ACTION_ACK] = O(OPT_BY) | O(OPT_NOTE),
        [ACTION_ONSITE] = O(OPT_BY) | O(OPT_AT),
        [ACTION_DEFER] = O(OPT_APPROVED_BY) | O(OPT_REASON) | O(OPT_AT),
        [ACTION_RECOVER] = O(OPT_BY) | O(OPT_AT) | O(OPT_CAUSE) | O(OPT_ACTION) |
                           O(OPT_PREVENTION) | O(OPT_PARTS) | O(OPT_MEDIA) | O(OPT_REMOTE) |
                           O(OPT_TEMPORARY) | O(OPT_LOANER) | O(OPT_START),
        [ACTION_REPORT_SUBMITTED] = O(OPT_BY) | O(OPT_KIND) | O(OPT_DUE) | O(OPT_FISCAL_YEAR),
        [ACTION_WORK_ADD] = O(OPT_BY) | O(OPT_START) | O(OPT_END) | O(OPT_TITLE) | O(OPT_CONTENT) |
                            O(OPT_NOTES) | O(OPT_FAULT),
        [ACTION_CLOSE] = O(OPT_BY) | O(OPT_NOTE),
        [ACTION_PARTS_QUOTE] = O(OPT_BY) | O(OPT_PARTS) | O(OPT_AMOUNT) | O(OPT_NOTE),
        [ACTION_PARTS_APPROVED] = O(OPT_BY) | O(OPT_NOTE),
        [ACTION_WORK_EDIT] = O(OPT_BY) | O(OPT_START) | O(OPT_END) | O(OPT_TITLE) |
                             O(OPT_CONTENT) | O(OPT_NOTES),
        [ACTION_RECEIVE] = O(OPT_BY) | O(OPT_AT) | O(OPT_FROM),
        [ACTION_OPEN] = O(OPT_BY) | O(OPT_SITE) | O(OPT_DEVICE) | O(OPT_KIND) |
                        O(OPT_RECEIVED_AT) | O(OPT_NOTE),
        [ACTION_INVESTIGATE] = O(OPT_BY) | O(OPT_AT) | O(OPT_NOTE),
        [ACTION_ESCALATE] = O(OPT_BY) | O(OPT_RECEIVED_AT) | O(OPT_NOTE),
};

static bool parse_id(const char *s, int64_t *ret) {
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno || end == s || *end || v <= 0 || s[0] == '+' || s[0] == ' ')
                return false;
        *ret = v;
        return true;
}

static int set_text(char **field, const char *value) {
        free(*field);
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

static int parse_time_opt(const char *cmd, const char *opt, const char *value, time_t *ret) {
        if (parse_iso_datetime(value, ret) < 0)
                return ctl_usage_error(cmd, "invalid %s '%s': expected ISO 8601, e.g. "
                                            "2026-11-25T14:30",
                                       opt, value);
        return CTL_EXIT_OK;
}

static int add_parts(Action *a, const char *list) {
        _cleanup_(freep) char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
                if (a->n_parts == ACTION_PARTS_MAX)
                        return -E2BIG;
                a->parts[a->n_parts] = strdup(p);
                if (!a->parts[a->n_parts])
                        return -ENOMEM;
                a->n_parts++;
        }
        return 0;
}

static int parse_option(Action *a, const char *cmd, int c, const char *arg) {
        int64_t id;
        int r = 0;

        switch (c) {
        case OPT_BY:
        case OPT_APPROVED_BY:
                if (strlen(arg) > ACTION_NAME_MAX)
                        return ctl_usage_error(cmd, "the name is longer than %d bytes",
                                               ACTION_NAME_MAX);
                (void) snprintf(a->by, sizeof(a->by), "%s", arg);
                break;
        case OPT_NOTE:
        case OPT_REASON:
        case OPT_NOTES:
                r = set_text(&a->note, arg);
                break;
        case OPT_AT:
        case OPT_START:
        case OPT_RECEIVED_AT:
                /* recover --at is the recovery's time, --start its visit's. */
                return parse_time_opt(cmd, c == OPT_AT      ? "--at"
                                           : c == OPT_START ? "--start"
                                                            : "--received-at",
                                      arg,
                                      c == OPT_START && a->type == ACTION_RECOVER ? &a->start_at
                                                                                  : &a->at);
        case OPT_FROM:
                if (strlen(arg) >= sizeof(a->from))
                        return ctl_usage_error(cmd, "--from: at most %zu bytes",
                                               sizeof(a->from) - 1);
                (void) snprintf(a->from, sizeof(a->from), "%s", arg);
                break;
        case OPT_SITE:
                if (strlen(arg) >= sizeof(a->site))
                        return ctl_usage_error(cmd, "--site: no such site '%s'", arg);
                (void) snprintf(a->site, sizeof(a->site), "%s", arg);
                break;
        case OPT_DEVICE:
                if (strlen(arg) >= sizeof(a->device))
                        return ctl_usage_error(cmd, "--device must be camera, router, vpn or "
                                                    "site");
                (void) snprintf(a->device, sizeof(a->device), "%s", arg);
                break;
        case OPT_END:
                return parse_time_opt(cmd, "--end", arg, &a->end_at);
        case OPT_CAUSE:
                r = set_text(&a->cause, arg);
                break;
        case OPT_ACTION:
                r = set_text(&a->action, arg);
                break;
        case OPT_PREVENTION:
                r = set_text(&a->prevention, arg);
                break;
        case OPT_PARTS:
                r = add_parts(a, arg);
                if (r == -E2BIG)
                        return ctl_usage_error(cmd, "at most %d parts", ACTION_PARTS_MAX);
                break;
        case OPT_MEDIA:
                a->media_replaced = true;
                break;
        case OPT_REMOTE:
                a->remote = true;
                break;
        case OPT_TEMPORARY:
                a->temporary = true;
                break;
        case OPT_AMOUNT: {
                char *end;
                long long v;

                errno = 0;
                v = strtoll(arg, &end, 10);
                if (errno || end == arg || *end || v <= 0)
                        return ctl_usage_error(cmd, "--amount: expected yen as a whole number, "
                                               "got '%s'", arg);
                a->amount = v;
                break;
        }
        case OPT_LOANER:
                if (strlen(arg) >= sizeof(a->loaner))
                        return ctl_usage_error(cmd, "--loaner: at most %zu bytes",
                                               sizeof(a->loaner) - 1);
                (void) snprintf(a->loaner, sizeof(a->loaner), "%s", arg);
                break;
        case OPT_KIND:
                if (strlen(arg) >= sizeof(a->kind))
                        return ctl_usage_error(cmd, "--kind: at most %zu bytes",
                                               sizeof(a->kind) - 1);
                (void) snprintf(a->kind, sizeof(a->kind), "%s", arg);
                break;
        case OPT_DUE: {
                Day d;

                if (parse_iso_date(arg, &d) < 0)
                        return ctl_usage_error(cmd, "invalid --due '%s': expected YYYY-MM-DD", arg);
                (void) snprintf(a->due, sizeof(a->due), "%s", arg);
                break;
        }
        case OPT_TITLE:
                r = set_text(&a->title, arg);
                break;
        case OPT_CONTENT:
                r = set_text(&a->content, arg);
                break;
        case OPT_FAULT:
                if (!parse_id(arg, &id))
                        return ctl_usage_error(cmd, "invalid fault id '%s'", arg);
                a->fault_id = id;
                break;
        default:
                return ctl_usage_error(cmd, "unknown option");
        }
        if (r < 0) {
                fprintf(stderr, "Out of memory.\n");
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

/* The login name, only as the default of report-submitted's --by (a name the
 * person gives): who acts is what the daemon sees on the socket. */
static void login_name(char *buf, size_t size) {
        struct passwd *pw = getpwuid(getuid());

        if (pw)
                (void) snprintf(buf, size, "%s", pw->pw_name);
        else
                (void) snprintf(buf, size, "uid %u", (unsigned) getuid());
}

/* report-submitted --kind archive --fiscal-year YEAR: the archive's due day
 * (the year's end, or the contract's) into a->due. */
static int archive_due(const char *cmd, const Config *config, const char *year, Action *a) {
        char start[ISO_DATE_MAX], end[ISO_DATE_MAX];
        Day first, last;
        char *e;
        long fy;

        if (!streq(a->kind, "archive") || a->due[0])
                return ctl_usage_error(cmd, "--fiscal-year goes with --kind archive, "
                                            "without --due");
        errno = 0;
        fy = strtol(year, &e, 10);
        if (errno || e == year || *e || strlen(year) != 4)
                return ctl_usage_error(cmd, "invalid --fiscal-year '%s': expected a year "
                                            "such as 2026 (April 2026 to March 2027)",
                                       year);
        if (config->contract.start == DAY_INVALID) {
                fprintf(stderr, "%s has no contract: section.\n",
                        config->path ?: "The configuration");
                return CTL_EXIT_FAILURE;
        }
        if (clocks_fiscal_year(&config->contract, (int) fy, &first, &last) < 0) {
                fprintf(stderr, "Fiscal year %ld is outside the contract period (%s to %s).\n",
                        fy, format_iso_date(config->contract.start, start),
                        format_iso_date(config->contract.end, end));
                return CTL_EXIT_FAILURE;
        }
        format_iso_date(last, a->due);
        return CTL_EXIT_OK;
}

/* Parses argv (argv[0] the command; the fault id positional unless work
 * add) into a, with the contract's zone in force for times. */
static int parse_action(const GlobalOptions *g, ActionType type, int argc, char **argv,
                        Action *a) {
        const char *cmd = argv[0], *fiscal_year = NULL;
        Calendar *cal = NULL;
        Config *config = NULL;
        int c, r;

        /* Times given without an offset are contract time: load the zone first. */
        if (cli_setup(g, true, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        calendar_free(cal);

        *a = (Action) { .type = type, .requested_at = wallclock_now() };
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", all_options, NULL)) >= 0) {
                if (c == '?' || c == ':' || c < OPT_BY || !(allowed[type] & O(c))) {
                        config_free(config);
                        return ctl_usage_error(cmd, "unknown or incomplete option '%s'",
                                               argv[optind - 1]);
                }
                if (c == OPT_FISCAL_YEAR) {
                        fiscal_year = optarg;
                        continue;
                }
                r = parse_option(a, cmd, c, optarg);
                if (r != CTL_EXIT_OK) {
                        config_free(config);
                        return r;
                }
        }
        r = fiscal_year ? archive_due(cmd, config, fiscal_year, a) : CTL_EXIT_OK;
        config_free(config);
        if (r != CTL_EXIT_OK)
                return r;
        if (type == ACTION_INVESTIGATE || type == ACTION_ESCALATE) {
                if (argc - optind != 1)
                        return ctl_usage_error(cmd, "expected one argument, the anomaly id");
                if (!parse_id(argv[optind], &a->anomaly_id))
                        return ctl_usage_error(cmd, "invalid anomaly id '%s'", argv[optind]);
        } else if (type == ACTION_WORK_ADD || type == ACTION_OPEN ||
                   (type == ACTION_REPORT_SUBMITTED && action_is_deliverable(a->kind))) {
                if (optind != argc)
                        return ctl_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
        } else if (type == ACTION_WORK_EDIT) {
                if (argc - optind != 1)
                        return ctl_usage_error(cmd, "expected one argument, the work record's id");
                if (!parse_id(argv[optind], &a->work_id))
                        return ctl_usage_error(cmd, "invalid work record id '%s'", argv[optind]);
        } else {
                if (argc - optind != 1)
                        return ctl_usage_error(cmd, "expected one argument, the fault id");
                if (!parse_id(argv[optind], &a->fault_id))
                        return ctl_usage_error(cmd, "invalid fault id '%s'", argv[optind]);
        }
        if (type == ACTION_REPORT_SUBMITTED && !a->by[0])
                login_name(a->by, sizeof(a->by));
        return CTL_EXIT_OK;
}

static int run_action(const GlobalOptions *g, ActionType type, int argc, char **argv) {
        char err[512], msg[512] = "";
        Action a = {};
        int r;

        r = parse_action(g, type, argc, argv, &a);
        if (r != CTL_EXIT_OK) {
                action_done(&a);
                return r;
        }
        if (action_validate(&a, err, sizeof(err)) < 0) {
                action_done(&a);
                return ctl_usage_error(argv[0], "%s", err);
        }
        r = control_submit(g->runtime_dir, &a, msg, sizeof(msg));
        action_done(&a);
        switch (r) {
        case 0:
                printf("%s\n", msg);
                return CTL_EXIT_OK;
        case -EINVAL:
                fprintf(stderr, "Refused: %s\n", msg);
                return CTL_EXIT_FAILURE;
        case -EACCES:
                fprintf(stderr,
                        "You may not record actions: the control socket %s/" CONTROL_SOCKET
                        " is for group " CONTROL_GROUP " (and root); nothing was recorded.\n",
                        g->runtime_dir);
                return CTL_EXIT_FAILURE;
        case -ENOENT:
                fprintf(stderr,
                        "fieldwatchd is not running (no control socket at %s/" CONTROL_SOCKET
                        "): nothing was recorded.\n",
                        g->runtime_dir);
                return CTL_EXIT_FAILURE;
        case -ECONNREFUSED:
                fprintf(stderr,
                        "fieldwatchd is not running (nobody listens on the control socket "
                        "%s/" CONTROL_SOCKET "): nothing was recorded.\n",
                        g->runtime_dir);
                return CTL_EXIT_FAILURE;
        case -EIO:
                fprintf(stderr, "%s: whether the action was recorded is not known; see "
                        "'fieldwatchctl faults' before trying again.\n", msg);
                return CTL_EXIT_FAILURE;
        default:
                fprintf(stderr, "Cannot hand the action to fieldwatchd: %s\n", strerror(-r));
                return CTL_EXIT_FAILURE;
        }
}

int ctl_ack(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_ACK, argc, argv);
}

int ctl_onsite(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_ONSITE, argc, argv);
}

int ctl_defer(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_DEFER, argc, argv);
}

int ctl_recover(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_RECOVER, argc, argv);
}

int ctl_report_submitted(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_REPORT_SUBMITTED, argc, argv);
}

int ctl_close(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_CLOSE, argc, argv);
}

int ctl_receive(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_RECEIVE, argc, argv);
}

int ctl_open(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_OPEN, argc, argv);
}

int ctl_investigate(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_INVESTIGATE, argc, argv);
}

int ctl_escalate(const GlobalOptions *g, int argc, char **argv) {
        return run_action(g, ACTION_ESCALATE, argc, argv);
}

int ctl_parts(const GlobalOptions *g, int argc, char **argv) {
        ActionType t;

        if (argc >= 2 && streq(argv[1], "quote"))
                t = ACTION_PARTS_QUOTE;
        else if (argc >= 2 && streq(argv[1], "approved"))
                t = ACTION_PARTS_APPROVED;
        else
                return ctl_usage_error(argv[0], "expected 'parts quote FAULT' or 'parts approved "
                                                "FAULT'");
        argv[1] = argv[0];
        return run_action(g, t, argc - 1, argv + 1);
}

int ctl_work(const GlobalOptions *g, int argc, char **argv) {
        ActionType t;

        if (argc >= 2 && streq(argv[1], "add"))
                t = ACTION_WORK_ADD;
        else if (argc >= 2 && streq(argv[1], "edit"))
                t = ACTION_WORK_EDIT;
        else
                return ctl_usage_error(argv[0], "expected 'work add' or 'work edit ID'");
        argv[1] = argv[0]; /* "work add ..." parses as "work ..." */
        return run_action(g, t, argc - 1, argv + 1);
}
