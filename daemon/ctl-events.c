/* SPDX-License-Identifier: MIT */

/* fieldwatchctl events: the event history, read while the daemon runs. */

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "macro.h"
#include "store.h"
#include "text.h"
#include "views.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(Store *, store_close);

static int parse_count(const char *s, uint64_t max, uint64_t *ret) {
        char *end;
        unsigned long long v;

        if (!s[0] || s[0] == '-' || s[0] == '+')
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || *end || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

static const char *jstr(const json_t *o, const char *key, const char *none) {
        return json_string_value(json_object_get(o, key)) ?: none;
}

int ctl_events(const GlobalOptions *g, int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "since", required_argument, NULL, 's' },
                { "limit", required_argument, NULL, 'l' },
                {},
        };
        _cleanup_(store_closep) Store *store = NULL;
        uint64_t since = 0, limit = 0;
        json_t *arr = NULL;
        bool json = false;
        int c, r;

        optind = 0;
        opterr = 0;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 's':
                        if (parse_count(optarg, INT64_MAX, &since) < 0)
                                return ctl_usage_error(argv[0], "invalid --since '%s': expected "
                                                       "an event id", optarg);
                        break;
                case 'l':
                        if (parse_count(optarg, VIEWS_EVENTS_MAX, &limit) < 0 || limit == 0)
                                return ctl_usage_error(argv[0], "invalid --limit '%s': expected "
                                                       "1-%u", optarg, VIEWS_EVENTS_MAX);
                        break;
                default:
                        return ctl_usage_error(argv[0], "unknown option '%s'", argv[optind - 1]);
                }
        if (optind < argc)
                return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        if (ctl_use_contract_zone(g) < 0)
                return CTL_EXIT_FAILURE;
        if (ctl_open_store(g, &store) < 0)
                return CTL_EXIT_FAILURE;
        r = views_events(store, (int64_t) since, (unsigned) limit, &arr);
        if (r < 0) {
                fprintf(stderr, "Cannot read the events: %s\n", store_strerror(store, r));
                return CTL_EXIT_FAILURE;
        }
        if (json)
                return ctl_print_json(arr);
        printf("%-6s %-25s %-20s %-10s %s\n", "ID", "AT", "TYPE", "DEVICE", "TEXT");
        for (size_t i = 0; i < json_array_size(arr); i++) {
                json_t *e = json_array_get(arr, i);
                /* For a terminal: no control or bidi character of a stored row. */
                _cleanup_(freep) char *type = text_clean_dup(jstr(e, "type", "")),
                                      *device = text_clean_dup(jstr(e, "device", "-")),
                                      *text = text_clean_dup(jstr(e, "text", ""));

                if (!type || !device || !text) {
                        json_decref(arr);
                        fprintf(stderr, "Cannot print the events: %s\n", strerror(ENOMEM));
                        return CTL_EXIT_FAILURE;
                }
                printf("%-6" JSON_INTEGER_FORMAT " %-25s %-20s %-10s %s\n",
                       json_integer_value(json_object_get(e, "id")), jstr(e, "at", "-"), type,
                       device, text);
        }
        json_decref(arr);
        return fflush(stdout) == 0 ? CTL_EXIT_OK : CTL_EXIT_FAILURE;
}
