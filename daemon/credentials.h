/* SPDX-License-Identifier: MIT */
#pragma once

/* Secrets from the credentials directory (systemd LoadCredential=,
 * $CREDENTIALS_DIRECTORY): one file per secret, named in the configuration.
 * Secrets are never logged; their memory is wiped when freed. */

#define CREDENTIAL_MAX 4096

/* Reads the secret `name` from dir: the file's bytes without one trailing
 * newline. -EINVAL for a name that is not a plain file name, -EMSGSIZE for
 * a file over CREDENTIAL_MAX, -ENODATA for an empty one, -errno when it
 * cannot be read. */
int credential_read(const char *dir, const char *name, char **ret);

/* Wipes and frees. NULL-safe; returns NULL. */
char *credential_free(char *secret);
