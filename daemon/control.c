/* SPDX-License-Identifier: MIT */

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "log.h"
#include "macro.h"
#include "text.h"

#define SUBMIT_TIMEOUT_SEC 60L

struct Control {
        Httpd *httpd;
        char *path;
        dev_t dev;                   /* of the socket file we made */
        ino_t ino;
        ControlApplyFn apply;
        void *userdata;
        ControlTrapFn trap;
        void *trap_userdata;
};

/* "NAME (uid N)", named here from the kernel's uid, never from the client. */
static void control_name_peer(uid_t uid, char *buf, size_t size) {
        struct passwd *pw = getpwuid(uid);

        if (pw && pw->pw_name && pw->pw_name[0])
                (void) snprintf(buf, size, "%.40s (uid %u)", pw->pw_name, (unsigned) uid);
        else
                (void) snprintf(buf, size, "uid %u", (unsigned) uid);
}

static unsigned status_of(int r) {
        switch (r) {
        case -EINVAL:
                return 409;
        case -ENOENT:
                return 404;
        default:
                return 503;
        }
}

/* The action is recorded: whatever happens to its message, the operator is
 * told so (a retried action would be recorded twice). */
static int reply_applied(HttpdRequest *q, const char *msg) {
        static const char fallback[] = "{\"ok\":true,\"message\":\"recorded\"}";
        int r;

        r = httpd_reply_json(q, 200, json_pack("{s:b, s:s}", "ok", 1, "message", msg));
        if (r == -ENOMEM)
                r = httpd_reply(q, 200, "application/json", fallback, strlen(fallback));
        return r;
}

static int on_action(HttpdRequest *q, void *userdata) {
        static const char *const identity[] = { "os_user", "uid", "pid", "user" };
        Control *c = userdata;
        const HttpdPeer *p = httpd_request_peer(q);
        const char *body = httpd_request_body(q, NULL);
        char err[512], msg[1024] = "";
        json_t *o;
        Action a = {};
        int r;

        if (!p->known)
                return httpd_reply_error(q, 403, "the caller is not known (not a unix socket)");
        o = json_loads(body, 0, NULL);
        for (size_t i = 0; json_is_object(o) && i < ELEMENTSOF(identity); i++)
                if (json_object_get(o, identity[i])) {
                        json_decref(o);
                        return httpd_reply_error(q, 400, "'%s' may not be given: the caller is "
                                                 "who the connection says", identity[i]);
                }
        json_decref(o);
        if (action_from_json(body, &a, err, sizeof(err)) < 0)
                return httpd_reply_error(q, 400, "%s", err);
        if (action_validate(&a, err, sizeof(err)) < 0) {
                action_done(&a);
                return httpd_reply_error(q, 400, "%s", err);
        }
        control_name_peer(p->uid, a.os_user, sizeof(a.os_user));
        if (!c->apply) {
                action_done(&a);
                return httpd_reply_error(q, 503, "fieldwatchd is starting; nothing was recorded");
        }
        r = c->apply(c->userdata, &a, msg, sizeof(msg));
        log_debug("Action %s by %s (pid %u): %s", action_type_to_string(a.type), a.os_user,
                  (unsigned) p->pid, r < 0 ? "refused" : "applied");
        action_done(&a);
        /* The message quotes the operator's text, perhaps cut inside a character. */
        text_clean_inplace(msg, sizeof(msg));
        if (r < 0)
                return httpd_reply_error(q, status_of(r), "%s", msg[0] ? msg : strerror(-r));
        return reply_applied(q, msg);
}

static int on_trap(HttpdRequest *q, void *userdata) {
        Control *c = userdata;
        const HttpdPeer *p = httpd_request_peer(q);
        char err[256], msg[512] = "";
        Trap t;
        int r;

        if (!p->known)
                return httpd_reply_error(q, 403, "the caller is not known (not a unix socket)");
        if (trap_from_json(httpd_request_body(q, NULL), &t, err, sizeof(err)) < 0)
                return httpd_reply_error(q, 400, "%s", err);
        if (!c->trap)
                return httpd_reply_error(q, 503, "fieldwatchd is starting");
        r = c->trap(c->trap_userdata, &t, msg, sizeof(msg));
        explicit_bzero(t.community, sizeof(t.community));
        if (r < 0)
                return httpd_reply_error(q, r == -EPERM ? 403 : r == -ENOENT ? 404 : 503, "%s",
                                         msg[0] ? msg : strerror(-r));
        return httpd_reply_json(q, 200, json_pack("{s:b, s:s}", "ok", 1, "message", msg));
}

int control_new(sd_event *e, const char *runtime_dir, const char *state_dir, Control **ret) {
        char spool[4096];
        struct stat st;
        Control *c;
        int fd = -1, r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        if (asprintf(&c->path, "%s/" CONTROL_SOCKET, runtime_dir) < 0) {
                free(c);
                return -ENOMEM;
        }
        if (mkdir(runtime_dir, 0755) < 0 && errno != EEXIST) {
                r = log_errno(LOG_ERR, -errno, "Cannot make the runtime directory %s",
                              runtime_dir);
                goto fail;
        }
        r = httpd_listen_unix(c->path, 0660, CONTROL_GROUP, &fd);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Cannot listen on the control socket %s (group %s, mode "
                          "0660)", c->path, CONTROL_GROUP);
                goto fail;
        }
        if (stat(c->path, &st) == 0) {
                c->dev = st.st_dev;
                c->ino = st.st_ino;
        }
        r = httpd_new(e, &(HttpdOptions) { .listen_fd = fd, .body_max = CONTROL_BODY_MAX },
                      &c->httpd);
        if (r >= 0)
                r = httpd_add_route(c->httpd, "POST", "/v1/actions", HTTPD_ROUTE_EXACT, on_action,
                                    c);
        if (r >= 0)
                r = httpd_add_route(c->httpd, "POST", "/v1/traps", HTTPD_ROUTE_EXACT, on_trap, c);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Cannot serve the control socket %s", c->path);
                goto fail;
        }
        (void) snprintf(spool, sizeof(spool), "%s/" ACTIONS_DIR, state_dir ?: ".");
        if (state_dir && stat(spool, &st) == 0 && S_ISDIR(st.st_mode))
                log_notice("Ignoring %s: the action spool of earlier versions is not read any "
                           "more (actions come through %s); it may be removed.", spool, c->path);
        *ret = c;
        return 0;

fail:
        control_free(c);
        return r;
}

Control *control_free(Control *c) {
        struct stat st;

        if (!c)
                return NULL;
        if (c->httpd) {
                c->httpd = httpd_free(c->httpd);
                /* Only our own file: a newer one may have replaced it. */
                if (c->ino && stat(c->path, &st) == 0 && st.st_dev == c->dev &&
                    st.st_ino == c->ino)
                        (void) unlink(c->path);
        } else if (c->ino)
                (void) unlink(c->path);
        free(c->path);
        free(c);
        return NULL;
}

void control_set_apply(Control *c, ControlApplyFn apply, void *userdata) {
        c->apply = apply;
        c->userdata = userdata;
}

void control_set_trap(Control *c, ControlTrapFn trap, void *userdata) {
        c->trap = trap;
        c->trap_userdata = userdata;
}

Httpd *control_httpd(Control *c) {
        return c->httpd;
}

/* ======================================================================== */

typedef struct Answer {
        char *data;
        size_t size;
} Answer;

static size_t on_answer(char *p, size_t size, size_t n, void *userdata) {
        Answer *a = userdata;
        char *d;

        if (a->size + size * n > CONTROL_BODY_MAX)
                return 0;
        d = realloc(a->data, a->size + size * n + 1);
        if (!d)
                return 0;
        memcpy(d + a->size, p, size * n);
        a->size += size * n;
        d[a->size] = 0;
        a->data = d;
        return size * n;
}

static int control_post(const char *runtime_dir, const char *url, char *body, char *msg,
                        size_t msglen);

int control_submit(const char *runtime_dir, const Action *a, char *msg, size_t msglen) {
        char *body = action_to_json(a);

        msg[0] = 0;
        if (!body)
                return -ENOMEM;
        return control_post(runtime_dir, "http://localhost/v1/actions", body, msg, msglen);
}

int control_submit_trap(const char *runtime_dir, const Trap *t, char *msg, size_t msglen) {
        char *body = trap_to_json(t);

        msg[0] = 0;
        if (!body)
                return -ENOMEM;
        return control_post(runtime_dir, "http://localhost/v1/traps", body, msg, msglen);
}

/* Posts body (freed here, wiped first: a trap's carries a community). */
static int control_post(const char *runtime_dir, const char *url, char *body, char *msg,
                        size_t msglen) {
        struct curl_slist *headers = NULL;
        char path[4096], errbuf[CURL_ERROR_SIZE] = "";
        Answer ans = {};
        long status = 0, os_errno = 0;
        json_t *o = NULL;
        CURLcode code;
        CURL *e;
        int r;

        msg[0] = 0;
        (void) snprintf(path, sizeof(path), "%s/" CONTROL_SOCKET, runtime_dir);
        if (access(path, F_OK) < 0 && errno == ENOENT) {
                explicit_bzero(body, strlen(body));
                free(body);
                return -ENOENT;
        }
        e = curl_easy_init();
        headers = curl_slist_append(NULL, "Content-Type: application/json");
        if (!e || !headers) {
                explicit_bzero(body, strlen(body));
                free(body);
                curl_easy_cleanup(e);
                curl_slist_free_all(headers);
                return -ENOMEM;
        }
        (void) curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, path);
        (void) curl_easy_setopt(e, CURLOPT_URL, url);
        (void) curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        (void) curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
        (void) curl_easy_setopt(e, CURLOPT_TIMEOUT, SUBMIT_TIMEOUT_SEC);
        (void) curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        (void) curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
        (void) curl_easy_setopt(e, CURLOPT_WRITEDATA, &ans);
        (void) curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
        code = curl_easy_perform(e);
        (void) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        (void) curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &os_errno);
        curl_easy_cleanup(e);
        curl_slist_free_all(headers);
        explicit_bzero(body, strlen(body));
        free(body);

        if (code == CURLE_COULDNT_CONNECT) {
                r = os_errno == EACCES || os_errno == EPERM ? -EACCES
                    : os_errno == ENOENT                    ? -ENOENT
                    : os_errno == ECONNREFUSED              ? -ECONNREFUSED
                                                            : -EIO;
                if (r == -EIO)
                        (void) snprintf(msg, msglen, "cannot connect to %s: %s", path,
                                        os_errno ? strerror((int) os_errno) : errbuf);
                goto done;
        }
        if (code != CURLE_OK) {
                (void) snprintf(msg, msglen, "no answer from fieldwatchd (%s)",
                                errbuf[0] ? errbuf : curl_easy_strerror(code));
                r = -EIO;
                goto done;
        }
        o = ans.data ? json_loads(ans.data, 0, NULL) : NULL;
        if (!json_is_object(o)) {
                (void) snprintf(msg, msglen, "fieldwatchd's answer (HTTP %ld) is not understood",
                                status);
                r = -EIO;
                goto done;
        }
        if (status == 200 && json_is_true(json_object_get(o, "ok"))) {
                (void) snprintf(msg, msglen, "%s",
                                json_string_value(json_object_get(o, "message")) ?: "done");
                r = 0;
        } else {
                (void) snprintf(msg, msglen, "%s",
                                json_string_value(json_object_get(o, "error")) ?: "refused");
                r = -EINVAL;
        }
        text_clean_inplace(msg, msglen);  /* cut to msglen: on a character */
done:
        json_decref(o);
        free(ans.data);
        return r;
}
