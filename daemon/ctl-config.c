/* SPDX-License-Identifier: MIT */

/* fieldwatchctl check-config and sites. */

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "calendar.h"
#include "ctl.h"
#include "macro.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Config *, config_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(Calendar *, calendar_free);

int ctl_check_config(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        char start[ISO_DATE_MAX], end[ISO_DATE_MAX];
        bool json;
        int r;

        r = ctl_parse_listing(argc, argv, &json, NULL);
        if (r != CTL_EXIT_OK)
                return r;
        /* cli_setup() prints every error: the file's, the zone's, the holidays file's. */
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        /* Valid all the same: a warning, on stderr. */
        if (config_consent_warning(config))
                fprintf(stderr, "%s: warning: %s.\n", config->path ?: "configuration",
                        config_consent_warning(config));
        if (json)
                return ctl_print_json(json_pack("{s:s, s:b, s:I, s:b}", "config", config->path,
                                                "valid", 1, "sites", (json_int_t) config->n_sites,
                                                "vpn", config->has_vpn));
        printf("%s: configuration OK: %zu site%s, %s, contract %s to %s\n", config->path,
               config->n_sites, config->n_sites == 1 ? "" : "s",
               config->has_vpn ? config->vpn.name : "no VPN router",
               format_iso_date(config->contract.start, start),
               format_iso_date(config->contract.end, end));
        return CTL_EXIT_OK;
}

int ctl_sites(const GlobalOptions *g, int argc, char **argv) {
        _cleanup_(config_freep) Config *config = NULL;
        _cleanup_(calendar_freep) Calendar *cal = NULL;
        bool json;
        int r;

        r = ctl_parse_listing(argc, argv, &json, NULL);
        if (r != CTL_EXIT_OK)
                return r;
        if (cli_setup(g, false, &config, &cal) < 0)
                return CTL_EXIT_FAILURE;
        if (json) {
                json_t *arr = json_array();

                for (size_t i = 0; arr && i < config->n_sites; i++) {
                        const SiteConf *s = &config->sites[i];

                        if (json_array_append_new(
                                    arr, json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "id", s->id,
                                                   "name", s->name, "mount",
                                                   mount_to_string(s->mount), "tunnel",
                                                   (int) s->tunnel, "router", s->router.address,
                                                   "camera", s->camera.address)) < 0) {
                                json_decref(arr);
                                arr = NULL;
                        }
                }
                return ctl_print_json(arr);
        }
        for (size_t i = 0; i < config->n_sites; i++) {
                const SiteConf *s = &config->sites[i];

                printf("%s\t%s\t%u\t%s\t%s\t%s\n", s->id, mount_to_string(s->mount), s->tunnel,
                       s->router.address, s->camera.address, s->name);
        }
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
