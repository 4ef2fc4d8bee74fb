/* SPDX-License-Identifier: MIT */

/* Whole files in and out: the capped reader and the atomic writer. */

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

#define READ_CHUNK 4096u
#define TMP_ATTEMPTS 64

static void erase_and_free(char *p, size_t n) {
        if (p)
                explicit_bzero(p, n);
        free(p);
}

int read_full_fd(int fd, size_t max, ReadFullFileFlags flags, char **ret, size_t *ret_len) {
        bool secure = flags & READ_FULL_FILE_SECURE;
        char *buf = NULL;
        size_t len = 0, cap = 0, first = READ_CHUNK;
        struct stat st;
        int r = 0;

        if (fd < 0 || !ret || !ret_len)
                return -EINVAL;
        /* One byte more than allowed is read, to tell "too large" from "just fits". */
        max = MIN(max, SIZE_MAX - 2);
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if ((flags & READ_FULL_FILE_REGULAR) && !S_ISREG(st.st_mode))
                return -EINVAL;
        if (S_ISREG(st.st_mode)) {
                if ((uint64_t) st.st_size > max)
                        return -EFBIG;
                if (st.st_size > 0)
                        first = (size_t) st.st_size + 1;
        }
        for (;;) {
                ssize_t n;

                if (len == cap) {
                        size_t want = cap ? MIN(cap * 2, max + 1) : MIN(first, max + 1);
                        char *p;

                        if (len > max) {
                                r = -EFBIG;
                                break;
                        }
                        if (secure) {
                                /* realloc() could leave a copy behind. */
                                p = malloc(want + 1);
                                if (p && len > 0)
                                        memcpy(p, buf, len);
                                if (p) {
                                        erase_and_free(buf, cap);
                                        buf = NULL;
                                }
                        } else
                                p = realloc(buf, want + 1);
                        if (!p) {
                                r = -ENOMEM;
                                break;
                        }
                        buf = p;
                        cap = want;
                }
                n = read(fd, buf + len, cap - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = -errno;
                        break;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
        }
        if (r == 0 && len > max)
                r = -EFBIG;
        if (r < 0) {
                if (secure)
                        erase_and_free(buf, cap);
                else
                        free(buf);
                return r;
        }
        buf[len] = 0;
        *ret = buf;
        *ret_len = len;
        return 0;
}

int read_full_file_flags(const char *path, size_t max, ReadFullFileFlags flags, char **ret,
                         size_t *ret_len) {
        int fd, r;

        if (!path || !ret || !ret_len)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
                                (flags & READ_FULL_FILE_REGULAR ? O_NONBLOCK : 0));
        if (fd < 0)
                return -errno;
        r = read_full_fd(fd, max, flags, ret, ret_len);
        (void) close(fd);
        return r;
}

int read_full_file(const char *path, size_t max, char **ret, size_t *ret_len) {
        return read_full_file_flags(path, max, 0, ret, ret_len);
}

int loop_write(int fd, const void *data, size_t len) {
        const char *p = data;

        while (len > 0) {
                ssize_t n = write(fd, p, len);

                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        return -EIO;
                p += n;
                len -= (size_t) n;
        }
        return 0;
}

/* Creates "PATH.XXXXXX" (6 random letters and digits), created with mode
 * (less the umask, by the kernel) or exactly mode. */
static int tmp_open(const char *path, mode_t mode, WriteFileFlags flags, int *ret_fd,
                    char **ret_tmp) {
        static const char chars[] =
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        _cleanup_(freep) char *tmp = NULL;
        const char *slash, *base;
        size_t n;
        int fd = -1;

        if (!path || !path[0])
                return -ENOENT;
        slash = strrchr(path, '/');
        base = slash ? slash + 1 : path;
        if (!base[0])
                return -EISDIR;
        if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
                tmp = NULL;
                return -ENOMEM;
        }
        n = strlen(tmp);
        for (int i = 0; i < TMP_ATTEMPTS && fd < 0; i++) {
                uint8_t rnd[6];

                if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
                        return errno > 0 ? -errno : -EIO;
                for (size_t k = 0; k < sizeof(rnd); k++)
                        tmp[n - 6 + k] = chars[rnd[k] % (sizeof(chars) - 1)];
                fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, mode);
                if (fd < 0 && errno != EEXIST)
                        return -errno;
        }
        if (fd < 0)
                return -EEXIST;
        if ((flags & WRITE_FILE_MODE_EXACT) && fchmod(fd, mode) < 0) {
                int r = -errno;

                (void) close(fd);
                (void) unlink(tmp);
                return r;
        }
        *ret_fd = fd;
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

static void sync_dir_of(const char *path) {
        _cleanup_(freep) char *dir = NULL;
        const char *slash = strrchr(path, '/');
        int fd;

        if (slash == path)
                dir = strdup("/");
        else
                dir = slash ? strndup(path, (size_t) (slash - path)) : strdup(".");
        if (!dir)
                return;
        fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return;
        (void) fsync(fd);
        (void) close(fd);
}

/* After the file was written, synced and closed (r: how that went): the
 * rename, or the temporary file removed. Frees tmp. */
static int tmp_commit(char *tmp, const char *path, WriteFileFlags flags, int r) {
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        free(tmp);
        if (r == 0 && (flags & WRITE_FILE_SYNC_DIR))
                sync_dir_of(path);
        return r;
}

int write_file_atomic(const char *path, const void *data, size_t len, mode_t mode,
                      WriteFileFlags flags) {
        char *tmp = NULL;
        int fd, r;

        if (!data && len > 0)
                return -EINVAL;
        r = tmp_open(path, mode, flags, &fd, &tmp);
        if (r < 0)
                return r;
        r = loop_write(fd, data, len);
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        return tmp_commit(tmp, path, flags, r);
}

int fopen_atomic(const char *path, mode_t mode, WriteFileFlags flags, FILE **ret_file,
                 char **ret_tmp) {
        _cleanup_(freep) char *tmp = NULL;
        FILE *f;
        int fd, r;

        if (!ret_file || !ret_tmp)
                return -EINVAL;
        r = tmp_open(path, mode, flags, &fd, &tmp);
        if (r < 0)
                return r;
        f = fdopen(fd, "w");
        if (!f) {
                r = -errno;
                (void) close(fd);
                (void) unlink(tmp);
                return r;
        }
        *ret_file = f;
        *ret_tmp = TAKE_PTR(tmp);
        return 0;
}

int fclose_atomic(FILE *f, char *tmp, const char *path, WriteFileFlags flags) {
        int r = 0;

        if (fflush(f) != 0 || ferror(f))
                r = errno > 0 ? -errno : -EIO;
        if (r == 0 && !(flags & WRITE_FILE_NO_SYNC) && fsync(fileno(f)) < 0)
                r = -errno;
        if (fclose(f) != 0 && r == 0)
                r = -errno;
        return tmp_commit(tmp, path, flags, r);
}
