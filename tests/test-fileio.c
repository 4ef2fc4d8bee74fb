/* SPDX-License-Identifier: MIT */

/* fileio.c: the capped reader (over the cap, empty, NUL termination, what
 * is not a regular file, secrets) and the atomic writer (replaces and sets
 * the mode; a failure leaves the old file and no temporary file behind). */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "fileio.h"
#include "macro.h"

typedef struct Fixture {
        char dir[64];
        char path[128];
} Fixture;

static int setup(void **state) {
        Fixture *f = calloc(1, sizeof(Fixture));

        if (!f)
                return -1;
        strcpy(f->dir, "/tmp/test-fileio.XXXXXX");
        if (!mkdtemp(f->dir))
                return -1;
        (void) snprintf(f->path, sizeof(f->path), "%s/file", f->dir);
        *state = f;
        return 0;
}

static int teardown(void **state) {
        Fixture *f = *state;
        char cmd[128];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
        if (system(cmd) != 0)
                return -1;
        free(f);
        return 0;
}

static void put(const char *path, const void *data, size_t len) {
        FILE *fp = fopen(path, "wb");

        assert_non_null(fp);
        assert_int_equal(fwrite(data, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
}

/* The names in dir, sorted, joined by ' '. */
static void listing(const char *dir, char *buf, size_t size) {
        struct dirent **names;
        int n = scandir(dir, &names, NULL, alphasort);
        size_t len = 0;

        assert_true(n >= 0);
        buf[0] = 0;
        for (int i = 0; i < n; i++) {
                if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
                        len += (size_t) snprintf(buf + len, size - len, "%s%s", len ? " " : "",
                                                 names[i]->d_name);
                free(names[i]);
        }
        free(names);
}

static mode_t mode_of(const char *path) {
        struct stat st;

        assert_int_equal(stat(path, &st), 0);
        return st.st_mode & 07777;
}

static void expect_content(const char *path, const char *want) {
        char *buf = NULL;
        size_t len = 0;

        assert_int_equal(read_full_file(path, 1 << 20, &buf, &len), 0);
        assert_int_equal(len, strlen(want));
        assert_string_equal(buf, want);
        free(buf);
}

static void test_read_cap(void **state) {
        Fixture *f = *state;
        char data[100], *buf = (char *) 1;
        size_t len = 7;

        memset(data, 'x', sizeof(data));
        put(f->path, data, sizeof(data));
        /* One byte over: refused, nothing handed back. */
        assert_int_equal(read_full_file(f->path, 99, &buf, &len), -EFBIG);
        assert_ptr_equal(buf, (char *) 1);
        assert_int_equal(len, 7);
        assert_int_equal(read_full_file_flags(f->path, 0, READ_FULL_FILE_SECURE, &buf, &len),
                         -EFBIG);
        /* Exactly at the cap: read whole, NUL-terminated. */
        assert_int_equal(read_full_file(f->path, 100, &buf, &len), 0);
        assert_int_equal(len, 100);
        assert_memory_equal(buf, data, 100);
        assert_int_equal(buf[100], 0);
        free(buf);
}

/* What stat() cannot size (a pipe) is capped while it is read. */
static void test_read_cap_pipe(void **state) {
        char data[5000], *buf = NULL;
        size_t len = 0;
        int p[2];

        (void) state;
        memset(data, 'y', sizeof(data));
        assert_int_equal(pipe(p), 0);
        assert_int_equal(loop_write(p[1], data, sizeof(data)), 0);
        assert_int_equal(close(p[1]), 0);
        assert_int_equal(read_full_fd(p[0], 4999, 0, &buf, &len), -EFBIG);
        assert_null(buf);
        assert_int_equal(close(p[0]), 0);

        assert_int_equal(pipe(p), 0);
        assert_int_equal(loop_write(p[1], data, sizeof(data)), 0);
        assert_int_equal(close(p[1]), 0);
        assert_int_equal(read_full_fd(p[0], 5000, READ_FULL_FILE_SECURE, &buf, &len), 0);
        assert_int_equal(len, 5000);
        assert_memory_equal(buf, data, 5000);
        assert_int_equal(buf[5000], 0);
        free(buf);
        assert_int_equal(close(p[0]), 0);
}

static void test_read_empty_and_nul(void **state) {
        Fixture *f = *state;
        char *buf = NULL;
        size_t len = 99;

        put(f->path, "", 0);
        assert_int_equal(read_full_file(f->path, 10, &buf, &len), 0);
        assert_int_equal(len, 0);
        assert_non_null(buf);
        assert_int_equal(buf[0], 0);
        free(buf);

        /* Bytes after an embedded NUL are kept; one NUL more ends them. */
        put(f->path, "a\0b\n", 4);
        assert_int_equal(read_full_file(f->path, 10, &buf, &len), 0);
        assert_int_equal(len, 4);
        assert_memory_equal(buf, "a\0b\n\0", 5);
        free(buf);

        /* Larger than the first chunk, and than what stat() says of /proc. */
        assert_int_equal(read_full_file("/proc/self/maps", 1 << 20, &buf, &len), 0);
        assert_true(len > 0);
        assert_int_equal(strlen(buf), len);
        free(buf);
}

static void test_read_not_regular(void **state) {
        Fixture *f = *state;
        char fifo[160], *buf = NULL;
        size_t len = 0;

        assert_int_equal(read_full_file(f->dir, 10, &buf, &len), -EISDIR);
        assert_int_equal(read_full_file_flags(f->dir, 10, READ_FULL_FILE_REGULAR, &buf, &len),
                         -EISDIR);
        /* A FIFO without a writer: refused at once, not waited on. */
        (void) snprintf(fifo, sizeof(fifo), "%s/fifo", f->dir);
        assert_int_equal(mkfifo(fifo, 0600), 0);
        assert_int_equal(read_full_file_flags(fifo, 10, READ_FULL_FILE_REGULAR, &buf, &len),
                         -EINVAL);
        assert_null(buf);
}

static void test_read_missing(void **state) {
        Fixture *f = *state;
        char path[160], *buf = NULL;
        size_t len = 0;

        (void) snprintf(path, sizeof(path), "%s/none", f->dir);
        assert_int_equal(read_full_file(path, 10, &buf, &len), -ENOENT);
        assert_int_equal(read_full_file("", 10, &buf, &len), -ENOENT);
        assert_int_equal(read_full_file(NULL, 10, &buf, &len), -EINVAL);
        assert_null(buf);
}

static void test_write_replaces(void **state) {
        Fixture *f = *state;
        char names[256];
        mode_t old = umask(022);

        put(f->path, "old content, longer than the new\n", 33);
        assert_int_equal(chmod(f->path, 0600), 0);
        assert_int_equal(write_file_atomic(f->path, "new\n", 4, 0666, 0), 0);
        expect_content(f->path, "new\n");
        assert_int_equal(mode_of(f->path), 0644); /* 0666 less the umask */

        assert_int_equal(write_file_atomic(f->path, "", 0, 0600, WRITE_FILE_SYNC_DIR), 0);
        expect_content(f->path, "");
        assert_int_equal(mode_of(f->path), 0600);

        /* The mode exactly, whatever the umask. */
        (void) umask(077);
        assert_int_equal(write_file_atomic(f->path, "x", 1, 0644, WRITE_FILE_MODE_EXACT), 0);
        assert_int_equal(mode_of(f->path), 0644);
        (void) umask(old);

        listing(f->dir, names, sizeof(names));
        assert_string_equal(names, "file");
}

/* A path without a directory is in the working directory. */
static void test_write_short_path(void **state) {
        Fixture *f = *state;
        char cwd[4096], names[256];

        assert_non_null(getcwd(cwd, sizeof(cwd)));
        assert_int_equal(chdir(f->dir), 0);
        assert_int_equal(write_file_atomic("plain", "p", 1, 0600, WRITE_FILE_SYNC_DIR), 0);
        assert_int_equal(chdir(cwd), 0);
        listing(f->dir, names, sizeof(names));
        assert_string_equal(names, "plain");
        (void) snprintf(names, sizeof(names), "%s/plain", f->dir);
        expect_content(names, "p");

        assert_int_equal(write_file_atomic("", "p", 1, 0600, 0), -ENOENT);
        (void) snprintf(names, sizeof(names), "%s/", f->dir);
        assert_int_equal(write_file_atomic(names, "p", 1, 0600, 0), -EISDIR);
        (void) snprintf(names, sizeof(names), "%s/no/such/dir/file", f->dir);
        assert_int_equal(write_file_atomic(names, "p", 1, 0600, 0), -ENOENT);
}

/* The target is a directory: the rename fails after the temporary file
 * was written; the directory stays and the temporary file goes. */
static void test_write_over_directory(void **state) {
        Fixture *f = *state;
        char names[256];
        struct stat st;

        assert_int_equal(mkdir(f->path, 0700), 0);
        assert_true(write_file_atomic(f->path, "data", 4, 0600, WRITE_FILE_SYNC_DIR) < 0);
        assert_int_equal(stat(f->path, &st), 0);
        assert_true(S_ISDIR(st.st_mode));
        listing(f->dir, names, sizeof(names));
        assert_string_equal(names, "file");
}

/* Writes stop short at RLIMIT_FSIZE (short write, then EFBIG): the old file
 * keeps its content and no temporary file is left. */
static void test_write_fails_midway(void **state) {
        Fixture *f = *state;
        struct rlimit old, lim;
        char big[4096], names[256];
        FILE *fp = NULL;
        char *tmp = NULL;
        int r;

        put(f->path, "old\n", 4);
        memset(big, 'z', sizeof(big));
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        lim = (struct rlimit) { .rlim_cur = 1000, .rlim_max = old.rlim_max };
        (void) signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);

        r = write_file_atomic(f->path, big, sizeof(big), 0600, WRITE_FILE_SYNC_DIR);

        /* The streaming pair: the error of a write shows at the close. */
        assert_int_equal(fopen_atomic(f->path, 0644, WRITE_FILE_NO_SYNC, &fp, &tmp), 0);
        (void) fwrite(big, 1, sizeof(big), fp);
        assert_int_equal(fclose_atomic(fp, tmp, f->path, WRITE_FILE_NO_SYNC), -EFBIG);

        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        (void) signal(SIGXFSZ, SIG_DFL);
        assert_int_equal(r, -EFBIG);
        expect_content(f->path, "old\n");
        listing(f->dir, names, sizeof(names));
        assert_string_equal(names, "file");
}

static void test_stream(void **state) {
        Fixture *f = *state;
        char names[256];
        FILE *fp = NULL;
        char *tmp = NULL;

        put(f->path, "old\n", 4);
        assert_int_equal(fopen_atomic(f->path, 0644, WRITE_FILE_MODE_EXACT | WRITE_FILE_NO_SYNC,
                                      &fp, &tmp),
                         0);
        /* Until the close, readers see the old file; the new one is beside it. */
        fprintf(fp, "line %d\n", 1);
        assert_int_equal(fflush(fp), 0);
        expect_content(f->path, "old\n");
        assert_int_equal(strncmp(tmp, f->path, strlen(f->path)), 0);
        assert_int_equal(fclose_atomic(fp, tmp, f->path, WRITE_FILE_NO_SYNC), 0);
        expect_content(f->path, "line 1\n");
        assert_int_equal(mode_of(f->path), 0644);
        listing(f->dir, names, sizeof(names));
        assert_string_equal(names, "file");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_read_cap, setup, teardown),
                cmocka_unit_test(test_read_cap_pipe),
                cmocka_unit_test_setup_teardown(test_read_empty_and_nul, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_not_regular, setup, teardown),
                cmocka_unit_test_setup_teardown(test_read_missing, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_replaces, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_short_path, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_over_directory, setup, teardown),
                cmocka_unit_test_setup_teardown(test_write_fails_midway, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stream, setup, teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
