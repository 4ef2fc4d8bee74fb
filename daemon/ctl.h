/* SPDX-License-Identifier: MIT */
#pragma once

/* fieldwatchctl's commands. Each takes the global options and its own
 * argv (argv[0] is the command name) and returns the exit status:
 * CTL_EXIT_OK, CTL_EXIT_FAILURE (the thing asked about is bad or failed) or
 * CTL_EXIT_USAGE (the command line is wrong; usage went to stderr). */

#include <sys/types.h>

#include "cli.h"

enum {
        CTL_EXIT_OK = 0,
        CTL_EXIT_FAILURE = 1,
        CTL_EXIT_USAGE = 2,
};

typedef int (*CtlCommand)(const GlobalOptions *g, int argc, char **argv);

/* ctl-config.c */
int ctl_check_config(const GlobalOptions *g, int argc, char **argv);
int ctl_sites(const GlobalOptions *g, int argc, char **argv);

/* ctl-calendar.c */
int ctl_holidays(const GlobalOptions *g, int argc, char **argv);
int ctl_sla(const GlobalOptions *g, int argc, char **argv);
int ctl_deadlines(const GlobalOptions *g, int argc, char **argv);

/* ctl-actions.c */
int ctl_ack(const GlobalOptions *g, int argc, char **argv);
int ctl_onsite(const GlobalOptions *g, int argc, char **argv);
int ctl_defer(const GlobalOptions *g, int argc, char **argv);
int ctl_recover(const GlobalOptions *g, int argc, char **argv);
int ctl_report_submitted(const GlobalOptions *g, int argc, char **argv);
int ctl_close(const GlobalOptions *g, int argc, char **argv);
int ctl_work(const GlobalOptions *g, int argc, char **argv);
int ctl_parts(const GlobalOptions *g, int argc, char **argv);
int ctl_receive(const GlobalOptions *g, int argc, char **argv);
int ctl_open(const GlobalOptions *g, int argc, char **argv);
int ctl_investigate(const GlobalOptions *g, int argc, char **argv);
int ctl_escalate(const GlobalOptions *g, int argc, char **argv);
int ctl_anomalies(const GlobalOptions *g, int argc, char **argv);
int ctl_trap(const GlobalOptions *g, int argc, char **argv);
int ctl_snmptrapd_conf(const GlobalOptions *g, int argc, char **argv);

/* ctl-faults.c */
int ctl_faults(const GlobalOptions *g, int argc, char **argv);

/* ctl-handover.c: the contract's end */
int ctl_handover(const GlobalOptions *g, int argc, char **argv);
int ctl_purge(const GlobalOptions *g, int argc, char **argv);
struct Disposal;
struct Calendar;
/* The disposal report of a record (purge, report disposal). */
int ctl_disposal_report(const Config *config, const struct Calendar *cal, Language lang,
                        int format, const struct Disposal *rec, char **ret);

/* ctl-archive.c */
int ctl_archive(const GlobalOptions *g, int argc, char **argv);

/* ctl-report.c */
int ctl_report(const GlobalOptions *g, int argc, char **argv);

/* ctl-events.c */
int ctl_events(const GlobalOptions *g, int argc, char **argv);

/* ctl-status.c */
int ctl_status(const GlobalOptions *g, int argc, char **argv);

/* ctl-util.c */
/* Switches to the contract's time zone (from the configuration when there
 * is one, else the default), for printing times. */
int ctl_use_contract_zone(const GlobalOptions *g);

/* Opens the state database read-only, explaining failures on stderr. */
struct Store;
int ctl_open_store(const GlobalOptions *g, struct Store **ret);

/* Prints "fieldwatchctl COMMAND: message" and a pointer to --help to stderr;
 * returns CTL_EXIT_USAGE. */
int ctl_usage_error(const char *command, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses the options of a listing: --json, and --open where open_only is
 * given; no arguments. CTL_EXIT_OK, or the usage error's exit code. */
int ctl_parse_listing(int argc, char **argv, bool *json, bool *open_only);

/* Prints a JSON value (stolen) to stdout, indented, with a newline. */
struct json_t;
int ctl_print_json(struct json_t *j);

