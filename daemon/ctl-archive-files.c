/* SPDX-License-Identifier: MIT */

/* The archive on disk (ctl-archive.h): where it goes, checked before
 * anything is read or written; the file tree with SHA256SUMS, built in a
 * hidden directory and renamed into place; the ISO image by xorriso. */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl-archive.h"
#include "ctl.h"
#include "fileio.h"
#include "macro.h"

extern char **environ;

/* ======================================================================== */
/* Where it goes: checked before anything is read or written. */

/* The directory part of path ("." when none) and its last component. */
static int split_path(const char *path, char **ret_dir, char **ret_base) {
        _cleanup_(freep) char *copy = strdup(path);
        char *slash;
        size_t n;

        if (!copy)
                return -ENOMEM;
        n = strlen(copy);
        while (n > 1 && copy[n - 1] == '/')
                copy[--n] = '\0';
        slash = strrchr(copy, '/');
        if (!slash) {
                *ret_dir = strdup(".");
                *ret_base = strdup(copy);
        } else {
                *ret_base = strdup(slash + 1);
                *ret_dir = slash == copy ? strdup("/") : strndup(copy, (size_t) (slash - copy));
        }
        if (!*ret_dir || !*ret_base) {
                free(*ret_dir);
                free(*ret_base);
                return -ENOMEM;
        }
        return 0;
}

/* The output: a new directory (its parent exists), or an empty one. */
int archive_check_output(const char *path, bool *ret_exists) {
        _cleanup_(freep) char *dir = NULL, *base = NULL;
        struct stat st;
        DIR *d;

        if (split_path(path, &dir, &base) < 0)
                return -ENOMEM;
        if (!base[0] || streq(base, ".") || streq(base, "..") || streq(base, "/")) {
                fprintf(stderr, "--output %s: name a new or empty directory by its own name, "
                        "e.g. ./archive-2026.\n", path);
                return -EINVAL;
        }
        if (stat(path, &st) < 0) {
                if (errno != ENOENT) {
                        fprintf(stderr, "--output %s: %s\n", path, strerror(errno));
                        return -errno;
                }
                if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
                        fprintf(stderr, "--output %s: the directory %s does not exist.\n", path,
                                dir);
                        return -ENOENT;
                }
                *ret_exists = false;
                return 0;
        }
        if (!S_ISDIR(st.st_mode)) {
                fprintf(stderr, "--output %s exists and is not a directory: nothing was "
                        "written.\n", path);
                return -ENOTDIR;
        }
        d = opendir(path);
        if (!d) {
                fprintf(stderr, "--output %s: %s\n", path, strerror(errno));
                return -errno;
        }
        for (struct dirent *de; (de = readdir(d));)
                if (!streq(de->d_name, ".") && !streq(de->d_name, "..")) {
                        closedir(d);
                        fprintf(stderr, "--output %s exists and is not empty: nothing was "
                                "written (the archive goes into a new or empty directory).\n",
                                path);
                        return -ENOTEMPTY;
                }
        closedir(d);
        *ret_exists = true;
        return 0;
}

/* A program on $PATH, as execvp() would find it; -ENOENT when none. */
static int find_program(const char *name, char **ret) {
        const char *path = getenv("PATH") ?: "/usr/local/bin:/usr/bin:/bin";

        while (*path) {
                size_t n = strcspn(path, ":");
                char *full;

                if (asprintf(&full, "%.*s/%s", (int) n, n ? path : ".", name) < 0)
                        return -ENOMEM;
                if (access(full, X_OK) == 0) {
                        *ret = full;
                        return 0;
                }
                free(full);
                path += n;
                if (*path == ':')
                        path++;
        }
        return -ENOENT;
}

/* The image: a new file, outside the output directory. */
int archive_check_iso(const char *iso, const char *output) {
        _cleanup_(freep) char *dir = NULL, *base = NULL, *odir = NULL, *obase = NULL;
        _cleanup_(freep) char *real = NULL, *oreal = NULL, *prog = NULL;
        struct stat st;
        size_t n;

        if (find_program("xorriso", &prog) < 0) {
                fprintf(stderr, "--iso needs xorriso, which is not installed (no xorriso on "
                        "PATH): install the Debian package xorriso (apt-get install xorriso), "
                        "or leave --iso out and burn the directory with any CD writing "
                        "program. Nothing was written.\n");
                return -ENOENT;
        }
        if (lstat(iso, &st) == 0) {
                fprintf(stderr, "--iso %s exists: nothing was written (name a new file).\n",
                        iso);
                return -EEXIST;
        }
        if (split_path(iso, &dir, &base) < 0 || split_path(output, &odir, &obase) < 0)
                return -ENOMEM;
        real = realpath(dir, NULL);
        if (!real) {
                fprintf(stderr, "--iso %s: the directory %s does not exist.\n", iso, dir);
                return -ENOENT;
        }
        oreal = realpath(odir, NULL);
        if (!oreal)
                return -errno;
        /* The output's own path, whether it exists yet or not. */
        {
                char *o;

                if (asprintf(&o, "%s/%s", streq(oreal, "/") ? "" : oreal, obase) < 0)
                        return -ENOMEM;
                free(oreal);
                oreal = o;
        }
        n = strlen(oreal);
        if (strncmp(real, oreal, n) == 0 && (real[n] == '\0' || real[n] == '/')) {
                fprintf(stderr, "--iso %s is inside the output directory %s: nothing was "
                        "written (put the image next to it).\n", iso, output);
                return -EINVAL;
        }
        return 0;
}

/* ======================================================================== */
/* Writing */

/* Writes one entry into dirfd, computing its digest as it goes. */
static int write_entry(int dirfd, Entry *e) {
        EVP_MD_CTX *md = EVP_MD_CTX_new();
        int fd, in = -1, r = 0;
        uint64_t copied = 0;

        if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
                EVP_MD_CTX_free(md);
                return -ENOMEM;
        }
        fd = openat(dirfd, e->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
                EVP_MD_CTX_free(md);
                return -errno;
        }
        if (e->data) {
                r = loop_write(fd, e->data, e->size);
                if (r >= 0 && !EVP_DigestUpdate(md, e->data, e->size))
                        r = -ENOMEM;
        } else {
                in = open(e->source, O_RDONLY | O_CLOEXEC);
                if (in < 0)
                        r = -errno;
                while (r >= 0) {
                        char buf[1 << 16];
                        ssize_t n = read(in, buf, sizeof(buf));

                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0) {
                                r = -errno;
                                break;
                        }
                        if (n == 0)
                                break;
                        copied += (uint64_t) n;
                        /* A file that grew since it was measured: the size check stands. */
                        if (copied > e->size) {
                                r = -EFBIG;
                                break;
                        }
                        r = loop_write(fd, buf, (size_t) n);
                        if (r >= 0 && !EVP_DigestUpdate(md, buf, (size_t) n))
                                r = -ENOMEM;
                }
                if (in >= 0)
                        (void) close(in);
        }
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r >= 0)
                r = -errno;
        if (r >= 0 && !EVP_DigestFinal_ex(md, e->sha256, NULL))
                r = -ENOMEM;
        EVP_MD_CTX_free(md);
        return r;
}

/* .html before .csv before anything else of the same stem. */
static int extension_rank(const char *dot) {
        return !dot ? 2 : streq(dot, ".html") ? 0 : streq(dot, ".csv") ? 1 : 2;
}

/* By name (so by date), a report's HTML before its CSV. */
int archive_entry_name_compare(const void *x, const void *y) {
        const char *a = ((const Entry *) x)->name, *b = ((const Entry *) y)->name;
        const char *da = strrchr(a, '.'), *db = strrchr(b, '.');
        size_t la = da ? (size_t) (da - a) : strlen(a), lb = db ? (size_t) (db - b) : strlen(b);
        int c = memcmp(a, b, MIN(la, lb));

        if (c != 0)
                return c;
        if (la != lb)
                return la < lb ? -1 : 1;
        c = extension_rank(da) - extension_rank(db);
        return c != 0 ? c : strcmp(a, b);
}

/* Removes what we wrote into a directory we made, and the directory. */
static void remove_tree(const char *path, const Archive *a) {
        int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

        if (dirfd >= 0) {
                for (size_t i = 0; i < a->n; i++)
                        (void) unlinkat(dirfd, a->v[i].name, 0);
                (void) unlinkat(dirfd, "SHA256SUMS", 0);
                (void) close(dirfd);
        }
        (void) rmdir(path);
}

int archive_write(Archive *a, const char *output, bool exists) {
        _cleanup_(freep) char *dir = NULL, *base = NULL, *tmp = NULL, *sums = NULL;
        size_t sums_size = 0;
        FILE *f;
        int dirfd, r = 0;

        if (split_path(output, &dir, &base) < 0 ||
            asprintf(&tmp, "%s/.%s.partial-XXXXXX", dir, base) < 0)
                return -ENOMEM;
        if (!mkdtemp(tmp))
                return -errno;
        (void) chmod(tmp, 0755);
        dirfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                r = -errno;
                (void) rmdir(tmp);
                return r;
        }
        f = open_memstream(&sums, &sums_size);
        if (!f)
                r = -ENOMEM;
        for (size_t i = 0; r >= 0 && i < a->n; i++) {
                r = write_entry(dirfd, &a->v[i]);
                if (r < 0) {
                        fprintf(stderr, "Cannot write %s: %s\n", a->v[i].name, strerror(-r));
                        break;
                }
                /* sha256sum's format: the digest, two spaces (text mode), the name. */
                for (size_t k = 0; k < 32; k++)
                        fprintf(f, "%02x", a->v[i].sha256[k]);
                fprintf(f, "  %s\n", a->v[i].name);
        }
        if (f && (fclose(f) != 0 || !sums) && r >= 0)
                r = -ENOMEM;
        if (r >= 0) {
                Entry e = { .name = (char *) "SHA256SUMS", .data = sums, .size = sums_size };

                r = write_entry(dirfd, &e);
        }
        if (r >= 0 && fsync(dirfd) < 0)
                r = -errno;
        (void) close(dirfd);
        /* Into place: over the empty directory, or as a new one. */
        if (r >= 0 && rename(tmp, output) < 0) {
                r = -errno;
                fprintf(stderr, "Cannot move the archive to %s: %s%s\n", output, strerror(-r),
                        exists && r == -ENOTEMPTY ? " (it is no longer empty)" : "");
        }
        if (r < 0) {
                remove_tree(tmp, a);
                return r;
        }
        dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd >= 0) {
                (void) fsync(dirfd);
                (void) close(dirfd);
        }
        return 0;
}

/* xorriso's mkisofs emulation: ISO 9660 with Joliet names (what Windows
 * shows) and Rock Ridge, names taken as UTF-8 whatever the locale. Its
 * chatter goes to a memory file, shown only when it fails. */
int archive_write_iso(const Archive *a, const char *output, const char *iso) {
        _cleanup_(freep) char *tmp = NULL, *prog = NULL, *dir = NULL, *base = NULL;
        _cleanup_(freep) char *source = NULL;
        char volid[32];
        posix_spawn_file_actions_t fa;
        int log, status, r;
        pid_t pid;

        if (find_program("xorriso", &prog) < 0) {
                fprintf(stderr, "xorriso is no longer on PATH: no image was written.\n");
                return -ENOENT;
        }
        if (split_path(iso, &dir, &base) < 0 ||
            asprintf(&tmp, "%s%s/.%s.partial-%d", dir[0] == '/' ? "" : "./", dir, base,
                     (int) getpid()) < 0)
                return -ENOMEM;
        /* mkisofs's emulation knows no "--": a path never starts with a dash. */
        if (asprintf(&source, "%s%s", output[0] == '/' ? "" : "./", output) < 0)
                return -ENOMEM;
        (void) snprintf(volid, sizeof(volid), "FIELDWATCH_FY%d", a->fy);
        char *const argv[] = {
                prog, (char *) "-as", (char *) "mkisofs", (char *) "-quiet",
                (char *) "-input-charset", (char *) "utf-8", (char *) "-J", (char *) "-r",
                (char *) "-V", volid, (char *) "-o", tmp, source, NULL,
        };

        log = memfd_create("xorriso-log", MFD_CLOEXEC);
        if (log < 0)
                return -errno;
        (void) unlink(tmp);
        r = -posix_spawn_file_actions_init(&fa);
        if (r >= 0) {
                (void) posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
                (void) posix_spawn_file_actions_adddup2(&fa, log, 1);
                (void) posix_spawn_file_actions_adddup2(&fa, log, 2);
                r = -posix_spawn(&pid, prog, &fa, NULL, argv, environ);
                posix_spawn_file_actions_destroy(&fa);
        }
        if (r < 0) {
                (void) close(log);
                fprintf(stderr, "Cannot run %s: %s\n", prog, strerror(-r));
                return r;
        }
        while (waitpid(pid, &status, 0) < 0)
                if (errno != EINTR) {
                        r = -errno;
                        break;
                }
        if (r >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
                char buf[4096];
                ssize_t n = pread(log, buf, sizeof(buf) - 1, 0);

                buf[n > 0 ? n : 0] = '\0';
                fprintf(stderr, "xorriso failed (%s %d); no image was written:\n%s\n",
                        WIFEXITED(status) ? "exit status" : "signal",
                        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), buf);
                r = -EIO;
        }
        (void) close(log);
        if (r >= 0 && rename(tmp, iso) < 0) {
                r = -errno;
                fprintf(stderr, "Cannot move the image to %s: %s\n", iso, strerror(-r));
        }
        if (r < 0)
                (void) unlink(tmp);
        return r;
}
