/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

#include "calendar.h"
#include "ctl.h"
#include "macro.h"
#include "store.h"

int ctl_usage_error(const char *command, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "fieldwatchctl %s: ", command);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fprintf(stderr, "\nTry 'fieldwatchctl --help'.\n");
        return CTL_EXIT_USAGE;
}

int ctl_print_json(json_t *j) {
        int r;

        if (!j) {
                fprintf(stderr, "Out of memory.\n");
                return CTL_EXIT_FAILURE;
        }
        r = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(j);
        if (r < 0 || fputc('\n', stdout) == EOF || fflush(stdout) == EOF) {
                fprintf(stderr, "Failed to write to standard output.\n");
                return CTL_EXIT_FAILURE;
        }
        return CTL_EXIT_OK;
}

int ctl_use_contract_zone(const GlobalOptions *g) {
        Calendar *cal = NULL;
        Config *c = NULL;
        int r;

        r = cli_setup(g, true, &c, &cal);
        calendar_free(cal);
        config_free(c);
        return r;
}

int ctl_open_store(const GlobalOptions *g, Store **ret) {
        char path[4096];
        int r;

        /* Checked up front: SQLite would only say it cannot open the file. */
        (void) snprintf(path, sizeof(path), "%s/" STORE_FILE, g->state_dir);
        if (access(g->state_dir, R_OK | X_OK) < 0 || (access(path, R_OK) < 0 && errno != ENOENT))
                r = errno == ENOENT ? -ENOENT : -EACCES;
        else
                r = store_open_readonly(g->state_dir, ret);
        if (r < 0)
                fprintf(stderr, "Cannot read the state in %s: %s\n", g->state_dir,
                        r == -ENOENT   ? "no database yet (has fieldwatchd run?)"
                        : r == -EACCES ? "permission denied (are you in group fieldwatch?)"
                                       : strerror(-r));
        return r;
}

int ctl_parse_listing(int argc, char **argv, bool *json, bool *open_only) {
        static const struct option all[] = {
                { "json", no_argument, NULL, 'j' },
                { "open", no_argument, NULL, 'o' },
                {},
        };
        static const struct option json_only[] = {
                { "json", no_argument, NULL, 'j' },
                {},
        };
        int c;

        *json = false;
        if (open_only)
                *open_only = false;
        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", open_only ? all : json_only, NULL)) >= 0) {
                if (c == 'j')
                        *json = true;
                else if (c == 'o')
                        *open_only = true;
                else
                        return ctl_usage_error(argv[0], "unknown option '%s'", argv[optind - 1]);
        }
        if (optind < argc)
                return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        return CTL_EXIT_OK;
}
