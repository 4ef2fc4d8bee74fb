/* SPDX-License-Identifier: MIT */

/* fieldwatchctl's and fieldwatchd's global options: cli_take_global_options()
 * on any argument vector. Input: the arguments after argv[0], separated by
 * NUL bytes. What is left must be the other arguments, in their order, with
 * no global option before a "--", NULL-terminated; what is taken must be
 * what was given. */

#include <errno.h>

#include "cli.h"
#include "fuzz.h"
#include "timeutil.h"

#define ARGS_MAX 64

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        (void) unsetenv("STATE_DIRECTORY");
        (void) unsetenv("CREDENTIALS_DIRECTORY");
        if (tz_use("Asia/Tokyo") < 0)
                abort();
        return 0;
}

/* The global options as cli.c documents them: "--opt", and "--opt=X" for
 * those with a value. */
static bool is_global(const char *arg) {
        static const char *const with_value[] = { "--config", "--state-dir",
                                                  "--credentials-dir", "--pretend-now" };
        static const char *const flags[] = { "--help", "-h", "--version" };

        for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++) {
                size_t n = strlen(with_value[i]);

                if (strncmp(arg, with_value[i], n) == 0 && (arg[n] == 0 || arg[n] == '='))
                        return true;
        }
        for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
                if (strcmp(arg, flags[i]) == 0)
                        return true;
        return false;
}

static bool given(char *const *orig, int argc, const char *p) {
        for (int i = 1; i < argc; i++)
                if (orig[i] == p || (p >= orig[i] && p <= orig[i] + strlen(orig[i])))
                        return true;
        return false;
}

static void check_result(char *const *orig, int argc, char **argv, int n, const GlobalOptions *g) {
        int j = 1;
        bool dashdash = false;

        FUZZ_CHECK(n >= 1 && n <= argc, "%d arguments left of %d", n, argc);
        FUZZ_CHECK(argv[n] == NULL, "not NULL-terminated");
        FUZZ_CHECK(argv[0] == orig[0], "argv[0] moved");
        for (int i = 1; i < n; i++) {
                while (j < argc && orig[j] != argv[i])
                        j++;
                FUZZ_CHECK(j < argc, "argument %d ('%s') not in order, or not given", i, argv[i]);
                j++;
                if (strcmp(argv[i], "--") == 0)
                        dashdash = true;
                FUZZ_CHECK(dashdash || !is_global(argv[i]), "global option '%s' left", argv[i]);
        }
        FUZZ_CHECK(g->config_path && g->state_dir && g->credentials_dir, "a path is NULL");
        FUZZ_CHECK(!g->config_given || given(orig, argc, g->config_path),
                   "--config value not from the arguments");
        FUZZ_CHECK(g->config_given || strcmp(g->config_path, CONFIG_DEFAULT_PATH) == 0,
                   "config path changed without --config");
        if (g->pretend_now) {
                time_t t;

                FUZZ_CHECK(given(orig, argc, g->pretend_now),
                           "--pretend-now not from the arguments");
                FUZZ_CHECK(parse_iso_datetime(g->pretend_now, &t) == 0,
                           "--pretend-now '%s' taken, does not parse", g->pretend_now);
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *copy, *orig[ARGS_MAX + 2], *argv[ARGS_MAX + 2], err[512];
        GlobalOptions g;
        int argc = 1, n, r;

        if (size > 4096)
                return 0;
        copy = fuzz_strndup(data, size);
        orig[0] = (char *) "fieldwatchctl";
        /* Each NUL ends an argument; the input ends the last. */
        for (size_t i = 0; argc <= ARGS_MAX && i <= size; argc++) {
                orig[argc] = copy + i;
                i += strlen(copy + i) + 1;
        }
        orig[argc] = NULL;
        memcpy(argv, orig, sizeof(char *) * (size_t) (argc + 1));

        n = argc;
        memset(&g, 0x5A, sizeof(g));
        err[0] = 0;
        r = cli_take_global_options(&n, argv, &g, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r < 0)
                FUZZ_CHECK(err[0] && strnlen(err, sizeof(err)) < sizeof(err), "no error text");
        else
                check_result(orig, argc, argv, n, &g);
        free(copy);
        return 0;
}
