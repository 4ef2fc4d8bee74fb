/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "credentials.h"
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

int credential_read(const char *dir, const char *name, char **ret) {
        char path[4096], buf[CREDENTIAL_MAX + 1];
        ssize_t n, total = 0;
        bool systemds;
        char *s;
        int fd, r;

        if (!credential_name_valid(name))
                return -EINVAL;
        systemds = dir_is_systemds(dir);
        fd = -ENOENT;
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
                if (r < 0) {
                        (void) close(fd);
                        return r;
                }
        }
        while (total < (ssize_t) sizeof(buf)) {
                n = read(fd, buf + total, sizeof(buf) - (size_t) total);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        (void) close(fd);
                        explicit_bzero(buf, sizeof(buf));
                        return r;
                }
                if (n == 0)
                        break;
                total += n;
        }
        (void) close(fd);
        if (total > CREDENTIAL_MAX) {
                explicit_bzero(buf, sizeof(buf));
                return -EMSGSIZE;
        }
        if (total > 0 && buf[total - 1] == '\n')
                total--;
        if (total > 0 && buf[total - 1] == '\r')
                total--;
        if (total == 0 || memchr(buf, 0, (size_t) total)) {
                explicit_bzero(buf, sizeof(buf));
                return -ENODATA;
        }
        s = strndup(buf, (size_t) total);
        explicit_bzero(buf, sizeof(buf));
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

char *credential_free(char *secret) {
        if (secret) {
                explicit_bzero(secret, strlen(secret));
                free(secret);
        }
        return NULL;
}
