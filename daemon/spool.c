/* SPDX-License-Identifier: MIT */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "macro.h"
#include "spool.h"

#define SPOOL_FILE_MAX (64 * 1024)
#define SPOOL_BATCH_MAX 256
#define OPS_GROUP "fieldwatch-ops"

struct Spool {
        char *dir;
        sd_event_source *watch;
        SpoolApplyFn apply;
        void *userdata;
};

static int write_file_atomic(const char *dir, const char *name, const char *data, mode_t mode) {
        char tmp[4096], path[4096];
        size_t len = strlen(data);
        int fd, r = 0;

        (void) snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, name);
        (void) snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return -errno;
        (void) fchmod(fd, mode);
        if (write(fd, data, len) != (ssize_t) len)
                r = -errno ?: -EIO;
        if (r == 0 && fsync(fd) < 0)
                r = -errno;
        if (close(fd) < 0 && r == 0)
                r = -errno;
        if (r == 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0)
                (void) unlink(tmp);
        return r;
}

static char *read_small_file(int fd, unsigned *ret_uid) {
        struct stat st;
        char *buf;
        ssize_t n;

        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > SPOOL_FILE_MAX)
                return NULL;
        buf = calloc(1, (size_t) st.st_size + 1);
        if (!buf)
                return NULL;
        n = read(fd, buf, (size_t) st.st_size);
        if (n != st.st_size) {
                free(buf);
                return NULL;
        }
        *ret_uid = st.st_uid;
        return buf;
}

static void result(const Spool *s, const char *base, bool ok, const char *message) {
        json_t *o = json_pack("{s:b, s:s}", "ok", ok, "message", message);
        char name[300], *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
        int r;

        json_decref(o);
        (void) snprintf(name, sizeof(name), "%s.result", base);
        r = text ? write_file_atomic(s->dir, name, text, 0660) : -ENOMEM;
        if (r < 0)
                log_errno(LOG_ERR, r, "Cannot write the result of action %s", base);
        free(text);
}

/* Claims one queued action, applies it, leaves its result. */
static void spool_take(Spool *s, const char *name) {
        char base[256], from[4096], taken[4096], msg[512] = "";
        size_t n = strlen(name) - strlen(".json");
        unsigned uid = 0;
        char *text;
        Action a = {};
        int fd, r;

        if (n >= sizeof(base))
                return;
        memcpy(base, name, n);
        base[n] = 0;
        (void) snprintf(from, sizeof(from), "%s/%s", s->dir, name);
        (void) snprintf(taken, sizeof(taken), "%s/%s.taken", s->dir, base);
        if (rename(from, taken) < 0)
                return; /* withdrawn meanwhile */
        fd = open(taken, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        text = fd >= 0 ? read_small_file(fd, &uid) : NULL;
        if (fd >= 0)
                (void) close(fd);
        if (!text) {
                r = -EINVAL;
                (void) snprintf(msg, sizeof(msg), "unreadable action file");
        } else
                r = action_from_json(text, &a, msg, sizeof(msg));
        if (r >= 0) {
                char user[sizeof(a.os_user)];

                /* The file's owner is who asked; the name given is kept beside it. */
                (void) snprintf(user, sizeof(user), "%.40s (uid %u)", a.os_user, uid);
                (void) snprintf(a.os_user, sizeof(a.os_user), "%s", user);
                r = s->apply(s->userdata, &a, uid, msg, sizeof(msg));
        }
        result(s, base, r >= 0, msg);
        if (r < 0)
                log_notice("Action %s refused: %s", base, msg);
        (void) unlink(taken);
        action_done(&a);
        free(text);
}

static int name_compare(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void spool_run(Spool *s) {
        char *names[SPOOL_BATCH_MAX];
        size_t n = 0;
        struct dirent *de;
        DIR *d;

        d = opendir(s->dir);
        if (!d)
                return;
        while (n < SPOOL_BATCH_MAX && (de = readdir(d))) {
                size_t len = strlen(de->d_name);

                if (de->d_name[0] == '.' || len < 6 || !streq(de->d_name + len - 5, ".json"))
                        continue;
                names[n] = strdup(de->d_name);
                if (names[n])
                        n++;
        }
        (void) closedir(d);
        /* Names begin with the time they were made: oldest first. */
        qsort(names, n, sizeof(char *), name_compare);
        for (size_t i = 0; i < n; i++) {
                spool_take(s, names[i]);
                free(names[i]);
        }
}

static int on_inotify(sd_event_source *src, const struct inotify_event *ev, void *userdata) {
        (void) src;
        (void) ev;
        spool_run(userdata);
        return 0;
}

int spool_new(sd_event *e, const char *state_dir, SpoolApplyFn apply, void *userdata,
              Spool **ret) {
        struct group *g;
        Spool *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->apply = apply;
        s->userdata = userdata;
        if (asprintf(&s->dir, "%s/" ACTIONS_DIR, state_dir) < 0) {
                free(s);
                return -ENOMEM;
        }
        if (mkdir(s->dir, 02770) < 0 && errno != EEXIST) {
                r = -errno;
                spool_free(s);
                return r;
        }
        /* Operators write here: group fieldwatch-ops, when the system has it
         * (getgrnam() runs once, before the loop). */
        g = getgrnam(OPS_GROUP);
        if (g && chown(s->dir, (uid_t) -1, g->gr_gid) < 0)
                log_warning("Cannot give %s to group " OPS_GROUP ": %s", s->dir, strerror(errno));
        (void) chmod(s->dir, 02770);
        r = sd_event_add_inotify(e, &s->watch, s->dir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR,
                                 on_inotify, s);
        if (r < 0) {
                spool_free(s);
                return r;
        }
        *ret = s;
        return 0;
}

Spool *spool_free(Spool *s) {
        if (!s)
                return NULL;
        (void) sd_event_source_disable_unref(s->watch);
        free(s->dir);
        free(s);
        return NULL;
}

/* ======================================================================== */

static void sleep_ms(long ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

        (void) nanosleep(&ts, NULL);
}

static int read_result(const char *path, char *msg, size_t msglen) {
        json_t *o, *message;
        int ok;

        o = json_load_file(path, 0, NULL);
        if (!o)
                return -EAGAIN; /* not there (yet) */
        ok = json_is_true(json_object_get(o, "ok"));
        message = json_object_get(o, "message");
        (void) snprintf(msg, msglen, "%s", json_is_string(message) ? json_string_value(message) : "");
        json_decref(o);
        (void) unlink(path);
        return ok ? 0 : -EINVAL;
}

int spool_submit(const char *state_dir, const Action *a, unsigned timeout_sec, char *msg,
                 size_t msglen) {
        char dir[4096], name[128], path[4096], res[4096], cancelled[4096];
        struct timespec now;
        char *text;
        int r;

        (void) snprintf(dir, sizeof(dir), "%s/" ACTIONS_DIR, state_dir);
        if (access(dir, W_OK | X_OK) < 0)
                return errno == ENOENT ? -ENOENT : -EACCES;
        (void) clock_gettime(CLOCK_REALTIME, &now);
        (void) snprintf(name, sizeof(name), "%lld.%09ld-%d", (long long) now.tv_sec, now.tv_nsec,
                        (int) getpid());
        text = action_to_json(a);
        if (!text)
                return -ENOMEM;
        (void) snprintf(path, sizeof(path), "%s.json", name);
        r = write_file_atomic(dir, path, text, 0660);
        free(text);
        if (r < 0)
                return r;
        (void) snprintf(path, sizeof(path), "%s/%s.json", dir, name);
        (void) snprintf(res, sizeof(res), "%s/%s.result", dir, name);
        (void) snprintf(cancelled, sizeof(cancelled), "%s/.%s.cancelled", dir, name);
        for (unsigned i = 0; i < timeout_sec * 20; i++) {
                r = read_result(res, msg, msglen);
                if (r != -EAGAIN)
                        return r;
                sleep_ms(50);
        }
        /* Nobody took it: withdraw it, unless the daemon claimed it just now. */
        if (rename(path, cancelled) == 0) {
                (void) unlink(cancelled);
                return -ETIMEDOUT;
        }
        for (unsigned i = 0; i < timeout_sec * 20; i++) {
                r = read_result(res, msg, msglen);
                if (r != -EAGAIN)
                        return r;
                sleep_ms(50);
        }
        return -ETIMEDOUT;
}
