/* SPDX-License-Identifier: MIT */

/* The metrics file for node_exporter's textfile collector. */

#include <stdio.h>

#include "fileio.h"
#include "metrics.h"

/* Rewritten every probe interval from the daemon's event loop: no fsync
 * (see metrics.h). node_exporter runs as another user: the file is
 * world-readable, whatever the daemon's umask. */
#define METRICS_WRITE_FLAGS (WRITE_FILE_NO_SYNC | WRITE_FILE_MODE_EXACT)

int metrics_begin(const char *path, FILE **ret_file, char **ret_tmp) {
        return fopen_atomic(path, 0644, METRICS_WRITE_FLAGS, ret_file, ret_tmp);
}

int metrics_commit(FILE *f, char *tmp, const char *path) {
        return fclose_atomic(f, tmp, path, METRICS_WRITE_FLAGS);
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
