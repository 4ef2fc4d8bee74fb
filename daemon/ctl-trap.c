/* SPDX-License-Identifier: MIT */

/* fieldwatchctl trap: snmptrapd's traphandle, handing a notification to
 * fieldwatchd over the control socket; fieldwatchctl snmptrapd-conf: the
 * snmptrapd.conf lines that set it up (issue 16). */

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calendar.h"
#include "control.h"
#include "credentials.h"
#include "ctl.h"
#include "fileio.h"
#include "macro.h"
#include "trap.h"

int ctl_trap(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(freep) char *buf = malloc(TRAP_INPUT_MAX + 1);
        char err[256], msg[512];
        size_t len = 0;
        Trap t;
        int r;

        if (argc > 1)
                return ctl_usage_error(argv[0], "unexpected argument '%s' (the notification "
                                                "comes on standard input, from snmptrapd)",
                                       argv[1]);
        if (!buf)
                return CTL_EXIT_FAILURE;
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf + len, TRAP_INPUT_MAX + 1 - len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        fprintf(stderr, "Cannot read the notification: %m\n");
                        return CTL_EXIT_FAILURE;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > TRAP_INPUT_MAX) {
                        fprintf(stderr, "The notification is longer than %u bytes: ignored.\n",
                                TRAP_INPUT_MAX);
                        return CTL_EXIT_FAILURE;
                }
        }
        if (trap_parse(buf, len, &t, err, sizeof(err)) < 0) {
                fprintf(stderr, "Not a notification from snmptrapd: %s.\n", err);
                return CTL_EXIT_FAILURE;
        }
        r = control_submit_trap(g->runtime_dir, &t, msg, sizeof(msg));
        explicit_bzero(t.community, sizeof(t.community));
        if (r < 0) {
                fprintf(stderr, "%s\n", msg[0] ? msg : strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        printf("%s\n", msg);
        return CTL_EXIT_OK;
}

static void credential_freep(char **p) {
        *p = credential_free(*p);
}

/* The v3 users of the routers and the VPN router, once each. */
static int append_users(FILE *f, const GlobalOptions *g, const Config *c) {
        const SnmpConf *seen[256];
        size_t n_seen = 0;

        for (size_t i = 0; i <= c->n_sites; i++) {
                const SnmpConf *s = i < c->n_sites ? &c->sites[i].router.snmp
                                    : c->has_vpn   ? &c->vpn.snmp
                                                   : NULL;
                _cleanup_(credential_freep) char *auth = NULL, *priv = NULL;
                bool dup = false;
                int r;

                if (!s || s->version != SNMP_VERSION_V3)
                        continue;
                for (size_t k = 0; k < n_seen; k++)
                        dup = dup || streq(seen[k]->user, s->user);
                if (dup || n_seen == ELEMENTSOF(seen))
                        continue;
                seen[n_seen++] = s;
                r = credential_read(g->credentials_dir, s->auth_credential, &auth);
                if (r >= 0)
                        r = credential_read(g->credentials_dir, s->priv_credential, &priv);
                if (r < 0) {
                        fprintf(stderr, "Cannot read the credentials of SNMP user %s in %s: %s\n",
                                s->user, g->credentials_dir, strerror(-r));
                        return r;
                }
                if (strpbrk(auth, "\"\n") || strpbrk(priv, "\"\n")) {
                        fprintf(stderr, "The credentials of SNMP user %s hold a quote or a "
                                        "newline: snmptrapd.conf cannot carry them.\n", s->user);
                        return -EINVAL;
                }
                fprintf(f, "createUser %s %s \"%s\" %s \"%s\"\n", s->user,
                        snmp_auth_to_string(s->auth), auth, snmp_priv_to_string(s->priv), priv);
        }
        return 0;
}

int ctl_snmptrapd_conf(const GlobalOptions *g, int argc, char **argv) {
        static const struct option options[] = {
                { "output", required_argument, NULL, 'o' },
                { "handler", required_argument, NULL, 'h' },
                {},
        };
        const char *output = NULL, *handler = "/usr/bin/fieldwatchctl";
        _cleanup_(freep) char *text = NULL;
        Calendar *cal = NULL;
        Config *config = NULL;
        size_t size = 0;
        FILE *f;
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (c == 'o')
                        output = optarg;
                else if (c == 'h')
                        handler = optarg;
                else
                        return ctl_usage_error(argv[0], "unknown option '%s'", argv[optind - 1]);
        }
        if (optind < argc)
                return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        /* It may hold SNMPv3 passwords: into a file of mode 0600, never stdout. */
        if (!output)
                return ctl_usage_error(argv[0], "--output FILE is required (the file may hold "
                                                "SNMPv3 passwords; it is written with mode 0600)");
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        f = open_memstream(&text, &size);
        if (!f) {
                calendar_free(cal);
                config_free(config);
                return CTL_EXIT_FAILURE;
        }
        fprintf(f,
                "# snmptrapd.conf for fieldwatch, written by fieldwatchctl snmptrapd-conf from\n"
                "# %s. Every notification goes to `fieldwatchctl trap`, which hands it to\n"
                "# fieldwatchd: fieldwatchd checks the sender's address and community itself\n"
                "# (and counts what it refuses), so snmptrapd's own access control is off.\n"
                "# SNMPv3 users below are for informs; for v3 traps add -e ENGINEID (each\n"
                "# sender's) to their createUser lines.\n"
                "disableAuthorization yes\n"
                "outputOption n\n"
                "format execute %s\n",
                config->path, TRAP_EXECUTE_FORMAT);
        r = append_users(f, g, config);
        fprintf(f, "traphandle default %s", handler);
        if (g->config_given)
                fprintf(f, " --config %s", g->config_path);
        fprintf(f, " --runtime-dir %s trap\n", g->runtime_dir);
        calendar_free(cal);
        config_free(config);
        if (fclose(f) != 0 || r < 0) {
                if (text)
                        explicit_bzero(text, size);
                return CTL_EXIT_FAILURE;
        }
        r = write_file_atomic(output, text, size, 0600, WRITE_FILE_SYNC_DIR);
        explicit_bzero(text, size);
        if (r < 0) {
                fprintf(stderr, "Cannot write %s: %s\n", output, strerror(-r));
                return CTL_EXIT_FAILURE;
        }
        printf("Wrote %s: include it in snmptrapd.conf (includeFile %s) and restart "
               "snmptrapd.\n", output, output);
        return CTL_EXIT_OK;
}
