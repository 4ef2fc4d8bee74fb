/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "credentials.h"
#include "fileio.h"
#include "log.h"
#include "macro.h"

static bool credential_name_valid(const char *name) {
        size_t n = strlen(name);

        if (n == 0 || n > 64 || name[0] == '.')
                return false;
        for (const char *p = name; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
                        return false;
        return true;
}

/* Whether dir is the directory systemd made for this service: private to
 * it, read-only, its files copied there by the service manager. */
static bool dir_is_systemds(const char *dir) {
        const char *e = getenv("CREDENTIALS_DIRECTORY");

        return e && streq(e, dir);
}

/* A file outside $CREDENTIALS_DIRECTORY: a regular file owned by root or
 * by us, neither group nor others may read or write it. */
static int credential_check_file(int fd, const char *path) {
        struct stat st;

        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode)) {
                log_error("Refusing credential %s: not a regular file.", path);
                return -EPERM;
        }
        if (st.st_uid != 0 && st.st_uid != geteuid()) {
                log_error("Refusing credential %s: owned by uid %u, not by root or the service "
                          "user (uid %u).", path, (unsigned) st.st_uid, (unsigned) geteuid());
                return -EPERM;
        }
        if (st.st_mode & 077) {
                log_error("Refusing credential %s: mode %04o lets group or others at it; make "
                          "it 0600 (or 0400).", path, (unsigned) (st.st_mode & 07777));
                return -EPERM;
        }
        return 0;
}

static void closep(int *fd) {
        if (*fd >= 0)
                (void) close(*fd);
}

int credential_read(const char *dir, const char *name, char **ret) {
        _cleanup_(closep) int fd = -ENOENT;
        char path[4096], *buf = NULL;
        size_t size = 0, len;
        bool systemds;
        int r;

        if (!credential_name_valid(name))
                return -EINVAL;
        systemds = dir_is_systemds(dir);
        if (systemds) {
                /* LoadCredential=fieldwatch:DIR names each file fieldwatch_NAME. */
                if ((size_t) snprintf(path, sizeof(path), "%s/" CREDENTIAL_PREFIX "%s", dir,
                                      name) >= sizeof(path))
                        return -ENAMETOOLONG;
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0 && errno != ENOENT)
                        return -errno;
        }
        if (fd < 0) {
                if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
                        return -ENAMETOOLONG;
                fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd < 0)
                        return -errno;
        }
        if (!systemds) {
                r = credential_check_file(fd, path);
                if (r < 0)
                        return r;
        }
        r = read_full_fd(fd, CREDENTIAL_MAX, READ_FULL_FILE_SECURE, &buf, &size);
        if (r == -EFBIG)
                return -EMSGSIZE;
        if (r < 0)
                return r;
        len = size;
        if (len > 0 && buf[len - 1] == '\n')
                len--;
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        if (len == 0 || memchr(buf, 0, len)) {
                explicit_bzero(buf, size);
                free(buf);
                return -ENODATA;
        }
        /* What was cut off is wiped: only the secret stays in memory. */
        explicit_bzero(buf + len, size - len);
        *ret = buf;
        return 0;
}

char *credential_free(char *secret) {
        if (secret) {
                explicit_bzero(secret, strlen(secret));
                free(secret);
        }
        return NULL;
}

int credential_digest(const void *data, size_t size, unsigned char ret[static CREDENTIAL_DIGEST_SIZE]) {
        unsigned n = CREDENTIAL_DIGEST_SIZE;

        return EVP_Digest(data, size, ret, &n, EVP_sha256(), NULL) == 1 &&
                               n == CREDENTIAL_DIGEST_SIZE
                       ? 0
                       : -EIO;
}

bool credential_equal(const void *a, size_t a_size, const void *b, size_t b_size) {
        unsigned char da[CREDENTIAL_DIGEST_SIZE], db[CREDENTIAL_DIGEST_SIZE];

        return credential_digest(a, a_size, da) >= 0 && credential_digest(b, b_size, db) >= 0 &&
               CRYPTO_memcmp(da, db, sizeof(da)) == 0;
}
