/* SPDX-License-Identifier: MIT */
#pragma once

/* Metrics for node_exporter's textfile collector (metrics_file:), in the
 * Prometheus text format, written atomically: a temporary file in the same
 * directory ("PATH.XXXXXX", which the collector's *.prom never matches),
 * then rename(), so the collector never reads half a file.
 *
 * Not fsync'd, on purpose (as node_exporter's own examples write them): the
 * file is rewritten every probe interval from the daemon's event loop, where
 * an fsync could stall every probe behind a busy disk, and it holds nothing
 * that must survive a crash: after one, the collector sees the old file or
 * at worst an empty one until the first write of the restarted daemon. */

#include <stdio.h>

/* Opens the temporary file next to path, mode 0644. */
int metrics_begin(const char *path, FILE **ret_file, char **ret_tmp);

/* Closes the temporary file and renames it over path (no fsync: see
 * above). Takes f and tmp in every case; on any failure, an earlier write
 * error included, removes the temporary file: path keeps its old content. */
int metrics_commit(FILE *f, char *tmp, const char *path);

/* Writes a label value with Prometheus escaping (\\, \", \n). */
void metrics_label(FILE *f, const char *value);
