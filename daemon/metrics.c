/* SPDX-License-Identifier: MIT */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "macro.h"
#include "metrics.h"

int metrics_begin(const char *path, FILE **ret_file, char **ret_tmp) {
        char *tmp;
        FILE *f;
        int fd;

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0) {
                int r = -errno;
                free(tmp);
                return r;
        }
        /* node_exporter runs as another user: the file is world-readable. */
        (void) fchmod(fd, 0644);
        f = fdopen(fd, "w");
        if (!f) {
                int r = -errno;
                (void) close(fd);
                (void) unlink(tmp);
                free(tmp);
                return r;
        }
        *ret_file = f;
        *ret_tmp = tmp;
        return 0;
}

int metrics_commit(FILE *f, char *tmp, const char *path) {
        int r = 0;

        if (fflush(f) != 0 || ferror(f))
                r = -errno ?: -EIO;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        free(tmp);
        return r;
}

void metrics_label(FILE *f, const char *value) {
        for (const char *p = value; *p; p++) {
                if (*p == '\\' || *p == '"')
                        fputc('\\', f);
                if (*p == '\n') {
                        fputs("\\n", f);
                        continue;
                }
                fputc(*p, f);
        }
}
