/* SPDX-License-Identifier: MIT */

/* trap_parse() on any input, as snmptrapd (or anyone who may run
 * fieldwatchctl trap) could feed it: no crash, no read beyond the input;
 * what parses names an IP address and a numeric OID, survives the JSON of
 * POST /v1/traps unchanged, and the JSON parser never accepts what it
 * should not. */

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "trap.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
        (void) argc;
        (void) argv;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        unsigned char addr[16];
        char err[256], *json, *s;
        Trap t, u;
        int r;

        /* Exactly the bytes given: no terminating NUL to lean on. */
        s = malloc(size ? size : 1);
        FUZZ_CHECK(s, "out of memory");
        memcpy(s, data, size);
        r = trap_parse(s, size, &t, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r == 0) {
                FUZZ_CHECK(inet_pton(AF_INET, t.source, addr) == 1 ||
                                   inet_pton(AF_INET6, t.source, addr) == 1,
                           "source '%s' is no address", t.source);
                FUZZ_CHECK(t.oid[0] && strspn(t.oid, "0123456789.") == strlen(t.oid),
                           "OID '%s' is not numeric", t.oid);
                (void) trap_kind(t.oid);
                json = trap_to_json(&t);
                /* A community that is not UTF-8 cannot travel as JSON: refused. */
                if (json) {
                        r = trap_from_json(json, &u, err, sizeof(err));
                        FUZZ_CHECK(r == 0 && strcmp(u.source, t.source) == 0 &&
                                           strcmp(u.oid, t.oid) == 0 &&
                                           u.has_community == t.has_community &&
                                           strcmp(u.community, t.community) == 0,
                                   "the trap changed in the JSON round trip");
                        free(json);
                }
        } else
                FUZZ_CHECK(err[0], "refused without a reason");
        free(s);
        /* The same bytes as a request body. */
        s = fuzz_strndup(data, size);
        r = trap_from_json(s, &u, err, sizeof(err));
        FUZZ_CHECK(r == 0 || r == -EINVAL, "unexpected return %d", r);
        if (r == 0)
                FUZZ_CHECK(inet_pton(AF_INET, u.source, addr) == 1 ||
                                   inet_pton(AF_INET6, u.source, addr) == 1,
                           "accepted source '%s'", u.source);
        free(s);
        return 0;
}
