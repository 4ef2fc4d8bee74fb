/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "cli.h"
#include "macro.h"
#include "timeutil.h"

/* ======================================================================== */

typedef enum GlobalOpt {
        OPT_CONFIG,
        OPT_STATE_DIR,
        OPT_CREDENTIALS_DIR,
        OPT_RUNTIME_DIR,
        OPT_PRETEND_NOW,
        OPT_HELP,
        OPT_VERSION,
} GlobalOpt;

static const struct {
        const char *name;
        GlobalOpt opt;
        bool has_arg;
} global_options[] = {
        { "--config", OPT_CONFIG, true },
        { "--state-dir", OPT_STATE_DIR, true },
        { "--credentials-dir", OPT_CREDENTIALS_DIR, true },
        { "--runtime-dir", OPT_RUNTIME_DIR, true },
        { "--pretend-now", OPT_PRETEND_NOW, true },
        { "--help", OPT_HELP, false },
        { "-h", OPT_HELP, false },
        { "--version", OPT_VERSION, false },
};

/* Matches arg against a global option; *ret_value gets "X" of "--opt=X". */
static int match_global(const char *arg, const char **ret_value) {
        for (size_t i = 0; i < ELEMENTSOF(global_options); i++) {
                size_t n = strlen(global_options[i].name);

                if (strncmp(arg, global_options[i].name, n) != 0)
                        continue;
                if (arg[n] == 0) {
                        *ret_value = NULL;
                        return (int) i;
                }
                if (arg[n] == '=' && global_options[i].has_arg) {
                        *ret_value = arg + n + 1;
                        return (int) i;
                }
        }
        return -1;
}

static int apply_global(GlobalOptions *g, GlobalOpt opt, const char *value, char *errbuf,
                        size_t errlen) {
        switch (opt) {
        case OPT_CONFIG:
                g->config_path = value;
                g->config_given = true;
                break;
        case OPT_STATE_DIR:
                g->state_dir = value;
                break;
        case OPT_CREDENTIALS_DIR:
                g->credentials_dir = value;
                break;
        case OPT_RUNTIME_DIR:
                g->runtime_dir = value;
                break;
        case OPT_PRETEND_NOW: {
                time_t t;

                /* Syntax only: the zone is applied in cli_setup(). */
                if (parse_iso_datetime(value, &t) < 0) {
                        (void) snprintf(errbuf, errlen,
                                        "--pretend-now: invalid time '%s': expected ISO 8601, "
                                        "e.g. 2026-04-30T16:30 or 2026-04-30T07:30:00Z",
                                        value);
                        return -EINVAL;
                }
                g->pretend_now = value;
                break;
        }
        case OPT_HELP:
                g->help = true;
                break;
        case OPT_VERSION:
                g->version = true;
                break;
        }
        return 0;
}

int cli_take_global_options(int *argc, char **argv, GlobalOptions *ret, char *errbuf,
                            size_t errlen) {
        GlobalOptions g = {
                .config_path = CONFIG_DEFAULT_PATH,
                .state_dir = getenv("STATE_DIRECTORY") ?: STATE_DIR_DEFAULT,
                .credentials_dir = getenv("CREDENTIALS_DIRECTORY") ?: CREDENTIALS_DIR_DEFAULT,
                .runtime_dir = getenv("RUNTIME_DIRECTORY") ?: RUNTIME_DIR_DEFAULT,
        };
        int in = 1, out = 1, r;

        if (*argc < 1) {
                (void) snprintf(errbuf, errlen, "no program name");
                return -EINVAL;
        }

        while (in < *argc) {
                const char *value;
                int i;

                if (streq(argv[in], "--")) {
                        while (in < *argc)
                                argv[out++] = argv[in++];
                        break;
                }
                i = match_global(argv[in], &value);
                if (i < 0) {
                        argv[out++] = argv[in++];
                        continue;
                }
                in++;
                if (global_options[i].has_arg && !value) {
                        if (in >= *argc) {
                                (void) snprintf(errbuf, errlen, "option %s needs a value",
                                                global_options[i].name);
                                return -EINVAL;
                        }
                        value = argv[in++];
                }
                if (global_options[i].has_arg && !*value) {
                        (void) snprintf(errbuf, errlen, "option %s needs a non-empty value",
                                        global_options[i].name);
                        return -EINVAL;
                }
                r = apply_global(&g, global_options[i].opt, value, errbuf, errlen);
                if (r < 0)
                        return r;
        }
        argv[out] = NULL;
        *argc = out;
        *ret = g;
        return 0;
}

/* ======================================================================== */

int cli_load_config(const GlobalOptions *g, bool allow_default, Config **ret) {
        ConfigErrors errs = {};
        Config *c = NULL;
        int r;

        if (!g->config_given && allow_default && access(g->config_path, F_OK) < 0 &&
            errno == ENOENT) {
                c = config_new_default();
                if (!c) {
                        fprintf(stderr, "Out of memory.\n");
                        return -ENOMEM;
                }
                *ret = c;
                return 0;
        }
        r = config_load_file(g->config_path, &errs, &c);
        for (size_t i = 0; i < errs.n_errors; i++) {
                const ConfigError *e = &errs.errors[i];

                if (e->line > 0)
                        fprintf(stderr, "%s:%u:%u: %s\n", e->file, e->line, e->column,
                                e->message);
                else
                        fprintf(stderr, "%s: %s\n", e->file, e->message);
        }
        config_errors_clear(&errs);
        if (r < 0)
                return r;
        *ret = c;
        return 0;
}

int cli_setup(const GlobalOptions *g, bool allow_default, Config **ret_config,
              Calendar **ret_calendar) {
        _cleanup_(freep) char *error = NULL, *dir = NULL;
        Calendar *cal = NULL;
        Config *c = NULL;
        time_t t;
        char *slash;
        int r;

        r = cli_load_config(g, allow_default, &c);
        if (r < 0)
                return r;
        r = tz_use(c->contract.timezone);
        if (r < 0) {
                fprintf(stderr, "Time zone '%s' is not usable: %s\n", c->contract.timezone,
                        strerror(-r));
                config_free(c);
                return r;
        }
        /* The holidays file may be named relative to the configuration file. */
        slash = c->path ? strrchr(c->path, '/') : NULL;
        if (!slash)
                dir = strdup(".");
        else if (slash == c->path)
                dir = strdup("/");
        else
                dir = strndup(c->path, (size_t) (slash - c->path));
        if (!dir) {
                config_free(c);
                return -ENOMEM;
        }
        r = calendar_new(&c->calendar, dir, &cal, &error);
        if (r < 0) {
                fprintf(stderr, "%s\n", error ?: strerror(-r));
                config_free(c);
                return r;
        }
        if (g->pretend_now) {
                r = parse_iso_datetime(g->pretend_now, &t);
                if (r < 0) {
                        fprintf(stderr, "--pretend-now: invalid time '%s'\n", g->pretend_now);
                        calendar_free(cal);
                        config_free(c);
                        return r;
                }
                /* Once: a reload (SIGHUP) keeps the pretended clock running
                 * from where the program started, it does not set it back. */
                if (!wallclock_pretending())
                        wallclock_pretend(t);
        }
        *ret_config = c;
        *ret_calendar = cal;
        return 0;
}
