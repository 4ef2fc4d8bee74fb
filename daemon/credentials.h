/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Secrets from the credentials directory (systemd LoadCredential=,
 * $CREDENTIALS_DIRECTORY): one file per secret, named in the configuration.
 * Secrets are never logged; their memory is wiped when freed. */

#define CREDENTIAL_MAX 4096
/* The unit's LoadCredential=fieldwatch:/etc/fieldwatch/credentials loads each
 * file NAME of that directory as the credential fieldwatch_NAME. */
#define CREDENTIAL_PREFIX "fieldwatch_"

/* Reads the secret `name` from dir: the file's bytes without one trailing
 * newline. In $CREDENTIALS_DIRECTORY (systemd's), the file fieldwatch_NAME,
 * else NAME. Anywhere else the file must be regular, owned by root or the
 * effective uid and of mode 0600 or stricter: otherwise -EPERM, logged with
 * the file's path and what is wrong. -EINVAL for a name that is not a plain
 * file name, -EMSGSIZE for a file over CREDENTIAL_MAX, -ENODATA for an
 * empty one, -errno when it cannot be read. */
int credential_read(const char *dir, const char *name, char **ret);

/* Wipes and frees. NULL-safe; returns NULL. */
char *credential_free(char *secret);

#define CREDENTIAL_DIGEST_SIZE 32

/* The SHA-256 of a secret: what is kept of one that is only checked, never
 * sent (the web view's password). 0, or -EIO. */
int credential_digest(const void *data, size_t size, unsigned char ret[static CREDENTIAL_DIGEST_SIZE]);

/* Whether a secret given (a trap's community, a login) is the one held, in
 * a time that shows neither their lengths nor where they differ: their
 * digests are compared with CRYPTO_memcmp. */
bool credential_equal(const void *a, size_t a_size, const void *b, size_t b_size);
