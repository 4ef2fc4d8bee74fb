/* SPDX-License-Identifier: MIT */
#pragma once

/* Whole files in and out (after systemd's basic/fileio): read a file with a
 * hard cap on its size, write one atomically. Every reader and writer of a
 * whole file in fieldwatch goes through these. */

#include <stdio.h>
#include <sys/types.h>

typedef enum ReadFullFileFlags {
        /* Only a regular file: -EISDIR for a directory, -EINVAL for anything
         * else. The file is opened O_NONBLOCK, so a FIFO does not hang. */
        READ_FULL_FILE_REGULAR = 1 << 0,
        /* A secret: every buffer is wiped before it is freed or grown, and
         * on every failure. */
        READ_FULL_FILE_SECURE = 1 << 1,
} ReadFullFileFlags;

/* Reads the whole file at path, of at most max bytes, into *ret (allocated,
 * NUL-terminated after its *ret_len bytes; an empty file gives ""). -EFBIG
 * when it holds more than max bytes (a regular file is refused by its size,
 * unread), -EISDIR for a directory, -errno when it cannot be opened or read.
 * Anything readable is read (a pipe, /dev/stdin) unless REGULAR is asked. */
int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len);
int read_full_file_flags(const char *path, size_t max, ReadFullFileFlags flags, char **ret,
                         size_t *ret_len);

/* The same from an open file descriptor, read from where it stands; fd is
 * left open. */
int read_full_fd(int fd, size_t max, ReadFullFileFlags flags, char **ret, size_t *ret_len);

/* Writes all of data to fd, looping over short writes and EINTR. */
int loop_write(int fd, const void *data, size_t len);

typedef enum WriteFileFlags {
        /* After the rename, fsync the directory too: the new name is on disk. */
        WRITE_FILE_SYNC_DIR = 1 << 0,
        /* No fsync at all (for a file rewritten every few seconds whose loss
         * in a crash costs nothing; see metrics.h). Not for write_file_atomic(). */
        WRITE_FILE_NO_SYNC = 1 << 1,
        /* The mode exactly as given; by default it is reduced by the umask,
         * as open(2) would. */
        WRITE_FILE_MODE_EXACT = 1 << 2,
} WriteFileFlags;

/* Replaces the file at path with data, atomically: a temporary file in the
 * same directory ("PATH.XXXXXX") gets all the bytes and mode, is synced
 * to disk and renamed over path (and the directory synced, with
 * WRITE_FILE_SYNC_DIR). On any failure the temporary file is removed and
 * path keeps its old content (or stays absent). -EISDIR for a path ending
 * in '/'; -errno otherwise. */
int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      WriteFileFlags flags);

/* The same in two steps, for a writer that streams: fopen_atomic() opens
 * the temporary file next to path (with mode, as above) as *ret_file and
 * its name as *ret_tmp; fclose_atomic() takes both back (always: they are
 * freed or closed whatever happens), flushes, syncs (unless
 * WRITE_FILE_NO_SYNC) and renames over path, or removes the temporary file
 * on failure, an earlier write error included. */
int fopen_atomic(const char *path, mode_t mode, WriteFileFlags flags, FILE **ret_file,
                 char **ret_tmp);
int fclose_atomic(FILE *f, char *tmp, const char *path, WriteFileFlags flags);
