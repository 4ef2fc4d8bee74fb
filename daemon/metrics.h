/* SPDX-License-Identifier: MIT */
#pragma once

/* Metrics for node_exporter's textfile collector (metrics_file:), in the
 * Prometheus text format, written atomically: a temporary file in the same
 * directory, then rename(). */

#include <stdio.h>

/* Opens the temporary file next to path. */
int metrics_begin(const char *path, FILE **ret_file, char **ret_tmp);

/* Closes, syncs and renames the temporary file over path; on failure
 * removes it. Both steps are undone on error: path keeps its old content. */
int metrics_commit(FILE *f, char *tmp, const char *path);

/* Writes a label value with Prometheus escaping (\\, \", \n). */
void metrics_label(FILE *f, const char *value);
