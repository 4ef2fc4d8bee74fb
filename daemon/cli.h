/* SPDX-License-Identifier: MIT */
#pragma once

/* What fieldwatchd and fieldwatchctl share on their command lines (SPEC §6):
 * the global options, accepted before or after the command. The program's
 * wall clock (--pretend-now) is in timeutil.h. */

#include <stdbool.h>
#include <time.h>

#include "config.h"

#define STATE_DIR_DEFAULT "/var/lib/fieldwatch"
#define CREDENTIALS_DIR_DEFAULT "/etc/fieldwatch/credentials"
#define RUNTIME_DIR_DEFAULT "/run/fieldwatch"

typedef struct GlobalOptions {
        const char *config_path;     /* --config, else CONFIG_DEFAULT_PATH */
        bool config_given;           /* --config was on the command line */
        const char *state_dir;       /* --state-dir, $STATE_DIRECTORY, STATE_DIR_DEFAULT */
        const char *credentials_dir; /* --credentials-dir, $CREDENTIALS_DIRECTORY, default */
        const char *runtime_dir;     /* --runtime-dir, $RUNTIME_DIRECTORY, RUNTIME_DIR_DEFAULT:
                                      * where the control socket is */
        const char *pretend_now;     /* --pretend-now, as given; NULL: the real clock */
        bool help, version;
} GlobalOptions;

/* Takes the global options out of argv wherever they stand (up to a "--"),
 * leaving the command and its own arguments in order; *argc is updated.
 * Values are checked for syntax here; --pretend-now takes effect in
 * cli_setup(), once the contract's zone is known.
 * Returns 0, or -EINVAL with a message in errbuf. */
int cli_take_global_options(int *argc, char **argv, GlobalOptions *ret, char *errbuf,
                            size_t errlen);

/* Loads the configuration the global options name. Without --config, a
 * missing default file yields the built-in defaults (no sites) when
 * allow_default is set. Prints every error to stderr as file:line:column:
 * message. Returns 0 or a negative errno. */
int cli_load_config(const GlobalOptions *g, bool allow_default, Config **ret);

/* Loads the configuration (as cli_load_config()), switches the process to
 * the contract's time zone, builds the business calendar and starts the
 * wall clock (--pretend-now). Prints what fails to stderr. */
typedef struct Calendar Calendar;
int cli_setup(const GlobalOptions *g, bool allow_default, Config **ret_config,
              Calendar **ret_calendar);
