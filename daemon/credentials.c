/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "credentials.h"
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

int credential_read(const char *dir, const char *name, char **ret) {
        char path[4096], buf[CREDENTIAL_MAX + 1];
        ssize_t n, total = 0;
        char *s;
        int fd;

        if (!credential_name_valid(name))
                return -EINVAL;
        if ((size_t) snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
                return -ENAMETOOLONG;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        while (total < (ssize_t) sizeof(buf)) {
                n = read(fd, buf + total, sizeof(buf) - (size_t) total);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        int r = -errno;
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
