/* SPDX-License-Identifier: MIT */

#include <curl/curl.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "cli.h"
#include "credentials.h"
#include "log.h"
#include "mail.h"
#include "mailer.h"

#define MAILER_STORE_RETRY_SEC 10    /* after a database error */
#define MAILER_TIMER_ACCURACY_USEC (10 * USEC_PER_MSEC)
#define MAILER_ERROR_MAX 512

struct Mailer {
        sd_event *event;
        Store *store;
        bool curl_initialized;

        /* Copied from the configuration. */
        char *url, *username, *ca_file;
        char *from;                  /* the From: header, notify.from */
        char *envelope_from;         /* "<addr>", for MAIL FROM */
        SmtpTls tls;
        uint64_t timeout_usec;
        unsigned digest_after;       /* notify.digest_after, for the log */
        time_t storm_logged_until;   /* the minute whose storm the log told */

        char *password;              /* NULL: no authentication */
        char *secrets[3];            /* the password and the base64 forms AUTH sends it in */

        uint64_t backoff_base_usec, backoff_max_usec;
        time_t pause_until;          /* the server is unreachable: wait until then */
        /* The outcome of an attempt the database would not record (disk
         * full, read-only, locked): a mail the server accepted, or a failed
         * attempt and its backoff. Recorded before anything else is sent,
         * so that an accepted mail is not sent again and a failed one not
         * at once, in a loop, while the daemon runs. */
        struct {
                int64_t id;          /* 0: none */
                bool sent;
                time_t at;           /* sent: when; else the next attempt */
                char error[MAILER_ERROR_MAX];
        } unrecorded;
        sd_event_source *timer;

        /* The mail on its way: the loop prepares it, the worker thread sends
         * it and says so on done_fd, the loop joins the worker and reads the
         * outcome. While the worker runs, the loop touches none of this. */
        bool sending;
        pthread_t worker;
        int done_fd;                 /* eventfd */
        sd_event_source *done_source;
        atomic_bool abort;           /* mailer_free(): end the transfer now */
        pthread_mutex_t sock_lock;   /* guards sock between the worker's open/close */
        int sock;                    /* the transfer's socket, -1 when none */
        CURL *easy;
        OutboxMail mail;
        struct curl_slist *rcpt;
        char *payload;
        size_t payload_len, payload_off;
        CURLcode result;
        long response_code;
        char errbuf[CURL_ERROR_SIZE];
};

uint64_t mailer_backoff_usec(uint64_t base_usec, uint64_t max_usec, unsigned attempts) {
        uint64_t d = base_usec;

        for (unsigned i = 1; i < attempts && d < max_usec; i++)
                d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
        return MIN(d, max_usec);
}

static time_t usec_to_sec_up(uint64_t usec) {
        return (time_t) MAX((usec + USEC_PER_SEC - 1) / USEC_PER_SEC, (uint64_t) 1);
}

/* ======================================================================== */
/* Secrets */

static char *base64_of(const void *data, size_t n) {
        char *s = malloc(4 * ((n + 2) / 3) + 1);

        if (s)
                (void) EVP_EncodeBlock((unsigned char *) s, data, (int) n);
        return s;
}

/* The password as it may travel: plain, AUTH LOGIN's base64 and AUTH
 * PLAIN's base64 of "\0user\0password". */
static int secrets_init(Mailer *m) {
        size_t u = strlen(m->username), p = strlen(m->password);
        char *plain;

        m->secrets[0] = strdup(m->password);
        m->secrets[1] = base64_of(m->password, p);
        plain = malloc(u + p + 2);
        if (plain) {
                plain[0] = 0;
                memcpy(plain + 1, m->username, u);
                plain[u + 1] = 0;
                memcpy(plain + u + 2, m->password, p);
                m->secrets[2] = base64_of(plain, u + p + 2);
                explicit_bzero(plain, u + p + 2);
                free(plain);
        }
        for (size_t i = 0; i < ELEMENTSOF(m->secrets); i++)
                if (!m->secrets[i])
                        return -ENOMEM;
        return 0;
}

/* Overwrites every occurrence of a secret in s with '*'. */
static void redact(const Mailer *m, char *s) {
        for (size_t i = 0; i < ELEMENTSOF(m->secrets); i++) {
                const char *secret = m->secrets[i];
                size_t n = secret ? strlen(secret) : 0;
                char *p = s;

                while (n > 0 && (p = strstr(p, secret))) {
                        memset(p, '*', n);
                        p += n;
                }
        }
}

/* ======================================================================== */
/* One mail */

static void mailer_arm(Mailer *m, time_t at);
static void mailer_arm_next(Mailer *m);

/* Forgets the mail on its way (not the outbox row). */
static void mail_release(Mailer *m) {
        outbox_mail_done(&m->mail);
        m->mail = (OutboxMail) {};
        curl_slist_free_all(m->rcpt);
        m->rcpt = NULL;
        free(m->payload);
        m->payload = NULL;
        m->payload_len = m->payload_off = 0;
}

static size_t on_read(char *buf, size_t size, size_t nitems, void *userdata) {
        Mailer *m = userdata;
        size_t n = MIN(size * nitems, m->payload_len - m->payload_off);

        memcpy(buf, m->payload + m->payload_off, n);
        m->payload_off += n;
        return n;
}

static int rcpt_list(const char *recipients, struct curl_slist **ret) {
        struct curl_slist *l = NULL, *t;
        char **addrs, buf[512];
        size_t n;
        int r;

        r = mail_addresses(recipients, &addrs, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if ((size_t) snprintf(buf, sizeof(buf), "<%s>", addrs[i]) >= sizeof(buf)) {
                        r = -ENAMETOOLONG;
                        break;
                }
                t = curl_slist_append(l, buf);
                if (!t) {
                        r = -ENOMEM;
                        break;
                }
                l = t;
        }
        mail_addresses_free(addrs, n);
        if (r < 0) {
                curl_slist_free_all(l);
                return r;
        }
        *ret = l;
        return 0;
}

static long use_ssl(SmtpTls t) {
        switch (t) {
        case SMTP_TLS_REQUIRED:
                return (long) CURLUSESSL_ALL;
        case SMTP_TLS_TRY:
                return (long) CURLUSESSL_TRY;
        case SMTP_TLS_NONE:
                break;
        }
        return (long) CURLUSESSL_NONE;
}

/* Called by libcurl in the worker, at least once a second while it
 * waits: a non-zero return ends the transfer. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
        Mailer *m = userdata;

        (void) dltotal;
        (void) dlnow;
        (void) ultotal;
        (void) ulnow;
        return atomic_load(&m->abort) ? 1 : 0;
}

/* libcurl opens and closes the transfer's socket through these, in the
 * worker: the loop may then shut it down to end a transfer at once. */
static curl_socket_t on_open_socket(void *userdata, curlsocktype purpose,
                                    struct curl_sockaddr *addr) {
        Mailer *m = userdata;
        curl_socket_t fd;

        (void) purpose;
        fd = socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
        (void) pthread_mutex_lock(&m->sock_lock);
        m->sock = fd;
        (void) pthread_mutex_unlock(&m->sock_lock);
        return fd;
}

static int on_close_socket(void *userdata, curl_socket_t fd) {
        Mailer *m = userdata;

        (void) pthread_mutex_lock(&m->sock_lock);
        if (m->sock == fd)
                m->sock = -1;
        (void) close(fd);
        (void) pthread_mutex_unlock(&m->sock_lock);
        return 0;
}

static int mail_setopts(Mailer *m) {
        long timeout_sec = (long) usec_to_sec_up(m->timeout_usec);
        CURL *c = m->easy;
        bool ok = true;

        curl_easy_reset(c);
        m->errbuf[0] = 0;
        ok = ok && curl_easy_setopt(c, CURLOPT_URL, m->url) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps") == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_USE_SSL, use_ssl(m->tls)) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_TIMEOUT_MS,
                                    (long) (m->timeout_usec / USEC_PER_MSEC)) == CURLE_OK;
        /* The wait for the reply after DATA obeys this one, not the above. */
#if LIBCURL_VERSION_NUM >= 0x080600
        ok = ok && curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT_MS,
                                    timeout_sec * 1000L) == CURLE_OK;
#else
        ok = ok && curl_easy_setopt(c, CURLOPT_SERVER_RESPONSE_TIMEOUT, timeout_sec) == CURLE_OK;
#endif
        ok = ok && curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_XFERINFODATA, m) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, on_open_socket) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, m) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_CLOSESOCKETFUNCTION, on_close_socket) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_CLOSESOCKETDATA, m) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, m->errbuf) == CURLE_OK;
        /* One connection per mail. Mails are few, and a connection must never
         * be reused in an unknown state: libcurl 7.88 keeps one open after an
         * SMTP response timeout (after DATA), and the next mail on it hangs. */
        ok = ok && curl_easy_setopt(c, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK;
        if (m->ca_file)
                ok = ok && curl_easy_setopt(c, CURLOPT_CAINFO, m->ca_file) == CURLE_OK;
        if (m->username) {
                ok = ok && curl_easy_setopt(c, CURLOPT_USERNAME, m->username) == CURLE_OK;
                ok = ok && curl_easy_setopt(c, CURLOPT_PASSWORD, m->password) == CURLE_OK;
        }
        ok = ok && curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->envelope_from) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_MAIL_RCPT, m->rcpt) == CURLE_OK;
        /* One bad address must not stop the mail to the others. */
#if LIBCURL_VERSION_NUM >= 0x080200
        ok = ok && curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLOWFAILS, 1L) == CURLE_OK;
#else
        ok = ok && curl_easy_setopt(c, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1L) == CURLE_OK;
#endif
        ok = ok && curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_READDATA, m) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                                    (curl_off_t) m->payload_len) == CURLE_OK;
        return ok ? 0 : -EIO;
}

static void *worker_main(void *userdata) {
        Mailer *m = userdata;
        uint64_t one = 1;

        m->result = curl_easy_perform(m->easy);
        m->response_code = 0;
        (void) curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &m->response_code);
        /* The last thing the worker does: the loop joins it after this. */
        while (write(m->done_fd, &one, sizeof(one)) < 0 && errno == EINTR)
                ;
        return NULL;
}

/* Starts the worker with every signal blocked: signals are the loop's. */
static int worker_start(Mailer *m) {
        sigset_t all, saved;
        int r;

        atomic_store(&m->abort, false);
        (void) sigfillset(&all);
        r = -pthread_sigmask(SIG_SETMASK, &all, &saved);
        if (r < 0)
                return r;
        r = -pthread_create(&m->worker, NULL, worker_main, m);
        (void) pthread_sigmask(SIG_SETMASK, &saved, NULL);
        return r;
}

/* Waits for the worker to end; with abort, makes it end at once: the
 * socket is shut down under libcurl's feet, and the progress callback
 * (called at least once a second) says stop in case it was not open yet. */
static void worker_join(Mailer *m, bool abort) {
        if (!m->sending)
                return;
        if (abort) {
                atomic_store(&m->abort, true);
                (void) pthread_mutex_lock(&m->sock_lock);
                if (m->sock >= 0)
                        (void) shutdown(m->sock, SHUT_RDWR);
                (void) pthread_mutex_unlock(&m->sock_lock);
        }
        (void) pthread_join(m->worker, NULL);
        m->sending = false;
}

/* Starts sending m->mail. */
static int mail_start(Mailer *m, time_t now) {
        int r;

        r = mail_render(&m->mail, m->from, now, &m->payload, &m->payload_len);
        if (r < 0)
                return r;
        r = rcpt_list(m->mail.recipients, &m->rcpt);
        if (r < 0)
                return r;
        r = mail_setopts(m);
        if (r < 0)
                return r;
        r = worker_start(m);
        if (r < 0)
                return r;
        m->sending = true;
        log_debug("Sending mail %lld (%s), attempt %d", (long long) m->mail.id,
                  m->mail.message_id, m->mail.attempts + 1);
        return 0;
}

/* Whether a failure says nothing about this mail but that the server
 * cannot be used at all: no SMTP reply, TLS or login refused. */
static bool failure_is_server_wide(CURLcode result, long code) {
        switch (result) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_USE_SSL_FAILED:
        case CURLE_LOGIN_DENIED:
                return true;
        default:
                return code < 200;
        }
}

/* Records a failed attempt of m->mail and when to try again. */
static void mail_failed(Mailer *m, const char *what, long code, bool server_wide) {
        const OutboxMail *mail = &m->mail;
        unsigned attempts = (unsigned) MAX(mail->attempts, 0) + 1;
        uint64_t delay = mailer_backoff_usec(m->backoff_base_usec, m->backoff_max_usec, attempts);
        time_t now = wallclock_now(), next = now + usec_to_sec_up(delay);
        bool permanent = code >= 500 && code < 600;
        char error[MAILER_ERROR_MAX], at[ISO_DATETIME_MAX];
        int r;

        if (code > 0)
                (void) snprintf(error, sizeof(error), "SMTP %03ld: %s", code, what);
        else
                (void) snprintf(error, sizeof(error), "%s", what);
        redact(m, error);
        (void) format_iso_datetime(next, at);
        if (permanent && !(mail->last_error && strncmp(mail->last_error, "SMTP 5", 6) == 0))
                /* Once per mail: later attempts find their error in last_error. */
                log_error("Mail %lld (%s) to %s refused by the server: %s; it will be retried, "
                          "next at %s: check the recipients and the server",
                          (long long) mail->id, mail->message_id, mail->recipients, error, at);
        else
                log_warning("Mail %lld (%s): attempt %u failed: %s; next attempt at %s",
                            (long long) mail->id, mail->message_id, attempts, error, at);
        r = store_outbox_retry(m->store, mail->id, next, error);
        if (r == -ENOENT)
                log_warning("Mail %lld is no longer in the outbox", (long long) mail->id);
        else if (r < 0) {
                log_errno(LOG_ERR, r, "The failed attempt of mail %lld cannot be recorded yet "
                          "(%s); no mail goes until it is, and this one not before %s",
                          (long long) mail->id, store_error(m->store), at);
                m->unrecorded.id = mail->id;
                m->unrecorded.sent = false;
                m->unrecorded.at = next;
                (void) snprintf(m->unrecorded.error, sizeof(m->unrecorded.error), "%s", error);
        }
        if (server_wide)
                m->pause_until = next;
}

/* Writes the outcome the database would not take before: 0, or an error
 * (it stays to be written). */
static int unrecorded_write(Mailer *m) {
        int r;

        if (m->unrecorded.id == 0)
                return 0;
        if (m->unrecorded.sent)
                r = store_outbox_sent(m->store, m->unrecorded.id, m->unrecorded.at);
        else
                r = store_outbox_retry(m->store, m->unrecorded.id, m->unrecorded.at,
                                       m->unrecorded.error);
        if (r < 0 && r != -ENOENT)
                return r;
        log_notice("The outcome of mail %lld is recorded after all; mail goes on.",
                   (long long) m->unrecorded.id);
        m->unrecorded.id = 0;
        return 0;
}

static void mail_finished(Mailer *m) {
        CURLcode result = m->result;
        long code = m->response_code;
        char what[MAILER_ERROR_MAX];
        int r;

        if (result == CURLE_OK) {
                r = store_outbox_sent(m->store, m->mail.id, wallclock_now());
                if (r == -ENOENT)
                        log_warning("Mail %lld was sent but is no longer in the outbox",
                                    (long long) m->mail.id);
                else if (r < 0) {
                        log_errno(LOG_ERR, r,
                                  "Mail %lld was accepted by the server but cannot be marked "
                                  "sent yet (%s); no other mail goes until it is",
                                  (long long) m->mail.id, store_error(m->store));
                        m->unrecorded.id = m->mail.id;
                        m->unrecorded.sent = true;
                        m->unrecorded.at = wallclock_now();
                } else if (m->mail.digest_count > 0)
                        log_info("Digest mail %lld (%s) sent to %s: it carried %d held mails, "
                                 "now all sent",
                                 (long long) m->mail.id, m->mail.message_id,
                                 m->mail.recipients, m->mail.digest_count);
                else
                        log_info("Mail %lld (%s) sent to %s", (long long) m->mail.id,
                                 m->mail.message_id, m->mail.recipients);
                m->pause_until = 0;
        } else {
                (void) snprintf(what, sizeof(what), "%s%s%s", curl_easy_strerror(result),
                                m->errbuf[0] ? ": " : "", m->errbuf);
                mail_failed(m, what, code, failure_is_server_wide(result, code));
        }
        mail_release(m);
        /* The next one at once (or the outcome's record, later). */
        mailer_arm(m, m->unrecorded.id > 0 ? wallclock_now() + MAILER_STORE_RETRY_SEC : 0);
}

static int on_worker_done(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Mailer *m = userdata;
        uint64_t n;

        (void) s;
        (void) revents;
        if (read(fd, &n, sizeof(n)) < 0 || !m->sending)
                return 0;
        worker_join(m, false); /* it has finished: this returns at once */
        mail_finished(m);
        return 0;
}

/* ======================================================================== */
/* Scheduling */

/* Wakes the mailer at the wall-clock time at (0: at once). */
static void mailer_arm(Mailer *m, time_t at) {
        time_t now = wallclock_now();
        uint64_t delay = at > now ? (uint64_t) (at - now) * USEC_PER_SEC : 0;
        int r;

        r = sd_event_source_set_time_relative(m->timer, delay);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->timer, SD_EVENT_ONESHOT);
        if (r < 0)
                log_errno(LOG_ERR, r, "Failed to arm the mail timer");
}

/* Sleeps until the earliest next attempt in the outbox, or until kicked. */
static void mailer_arm_next(Mailer *m) {
        time_t next = 0;
        int r;

        r = store_outbox_next_attempt(m->store, &next);
        if (r == -ENOENT) {
                (void) sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
                return;
        }
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Failed to read the outbox: %s", store_error(m->store));
                next = wallclock_now() + MAILER_STORE_RETRY_SEC;
        }
        mailer_arm(m, MAX(next, m->pause_until));
}

/* Says once per storm that mails are held for a digest. */
static void mailer_note_storm(Mailer *m) {
        char at[ISO_DATETIME_MAX];
        time_t until = 0;
        size_t n = 0;

        if (store_outbox_held_pending(m->store, &n, &until) < 0 || n == 0 ||
            until <= m->storm_logged_until)
                return;
        m->storm_logged_until = until;
        (void) format_iso_datetime(until, at);
        log_warning("Mail storm: more than %u mails were queued in one minute; the later ones "
                    "(%zu so far) are held and go in one digest mail when the minute ends, "
                    "at %s (notify.digest_after)",
                    m->digest_after, n, at);
}

/* Turns the held mails of every minute that ended into digests. */
static int mailer_make_digests(Mailer *m, time_t now) {
        int r;

        for (;;) {
                _cleanup_(outbox_held_done) OutboxHeld h = {};
                _cleanup_(outbox_mail_done) OutboxMail d = {};
                char minute[ISO_DATETIME_MAX];

                r = store_outbox_next_held(m->store, now, MAIL_DIGEST_MAX, &h);
                if (r == -ENOENT)
                        return 0;
                if (r < 0)
                        return log_errno(LOG_WARNING, r, "Failed to read the held mails: %s",
                                         store_error(m->store));
                r = mail_digest(&h, m->from, now, &d);
                if (r < 0)
                        return log_errno(LOG_ERR, r, "Failed to compose a digest of %zu mails",
                                         h.n);
                r = store_outbox_add_digest(m->store, &d, h.ids, h.n);
                if (r < 0)
                        return log_errno(LOG_WARNING, r, "Failed to queue a digest of %zu mails: "
                                         "%s", h.n, store_error(m->store));
                (void) format_iso_datetime(h.held_until - 60, minute);
                log_info("Digest mail %lld (%s) to %s queued: it carries %zu held mails of the "
                         "minute from %s",
                         (long long) d.id, d.message_id, d.recipients, h.n, minute);
        }
}

static void mailer_run(Mailer *m) {
        time_t now = wallclock_now();
        int r;

        if (m->sending)
                return;
        if (unrecorded_write(m) < 0) {
                mailer_arm(m, now + MAILER_STORE_RETRY_SEC);
                return;
        }
        mailer_note_storm(m);
        if (mailer_make_digests(m, now) < 0) {
                /* Nothing was written; the held mails wait, so does the rest. */
                mailer_arm(m, now + MAILER_STORE_RETRY_SEC);
                return;
        }
        if (now < m->pause_until) {
                mailer_arm_next(m);
                return;
        }
        r = store_outbox_next(m->store, now, &m->mail);
        if (r == -ENOENT) {
                mailer_arm_next(m);
                return;
        }
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Failed to read the outbox: %s", store_error(m->store));
                mailer_arm(m, now + MAILER_STORE_RETRY_SEC);
                return;
        }
        r = mail_start(m, now);
        if (r < 0) {
                char what[MAILER_ERROR_MAX];

                (void) snprintf(what, sizeof(what), "cannot start sending: %s", strerror(-r));
                mail_failed(m, what, 0, false);
                mail_release(m);
                mailer_arm(m, m->unrecorded.id > 0 ? now + MAILER_STORE_RETRY_SEC : 0);
        }
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        (void) s;
        (void) usec;
        mailer_run(userdata);
        return 0;
}

void mailer_kick(Mailer *m) {
        if (m && !m->sending)
                mailer_arm(m, 0);
}

void mailer_set_backoff(Mailer *m, uint64_t base_usec, uint64_t max_usec) {
        m->backoff_base_usec = MAX(base_usec, (uint64_t) 1);
        m->backoff_max_usec = MAX(max_usec, m->backoff_base_usec);
}

bool mailer_busy(const Mailer *m) {
        return m && m->sending;
}

/* ======================================================================== */
/* Life cycle */

Mailer *mailer_free(Mailer *m) {
        if (!m)
                return NULL;
        /* The mail on its way stays unsent in the outbox: sent again later. */
        worker_join(m, true);
        if (m->easy)
                curl_easy_cleanup(m->easy);
        mail_release(m);
        (void) sd_event_source_disable_unref(m->timer);
        (void) sd_event_source_disable_unref(m->done_source);
        if (m->done_fd >= 0)
                (void) close(m->done_fd);
        if (m->curl_initialized)
                curl_global_cleanup();
        sd_event_unref(m->event);
        m->password = credential_free(m->password);
        for (size_t i = 0; i < ELEMENTSOF(m->secrets); i++)
                m->secrets[i] = credential_free(m->secrets[i]);
        free(m->url);
        free(m->username);
        free(m->ca_file);
        free(m->from);
        free(m->envelope_from);
        (void) pthread_mutex_destroy(&m->sock_lock);
        free(m);
        return NULL;
}

static int dup_opt(const char *s, char **ret) {
        *ret = NULL;
        if (!s)
                return 0;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* The settings of the notify: section. */
static int mailer_configure(Mailer *m, const Config *c) {
        const NotifyConf *n = &c->notify;
        char **addrs, buf[512];
        size_t count;
        int r;

        m->tls = n->smtp.tls;
        m->timeout_usec = n->smtp.timeout;
        m->digest_after = n->digest_after;
        r = dup_opt(n->smtp.url, &m->url);
        if (r >= 0)
                r = dup_opt(n->smtp.username, &m->username);
        if (r >= 0)
                r = dup_opt(n->smtp.ca_file, &m->ca_file);
        if (r >= 0)
                r = dup_opt(n->from, &m->from);
        if (r < 0)
                return r;
        r = mail_addresses(n->from, &addrs, &count);
        if (r < 0)
                return r;
        (void) snprintf(buf, sizeof(buf), "<%s>", addrs[0]);
        mail_addresses_free(addrs, count);
        return dup_opt(buf, &m->envelope_from);
}

static int mailer_read_password(Mailer *m, const Config *c, const char *credentials_dir) {
        const char *name = c->notify.smtp.password_credential;
        int r;

        if (!m->username || !name)
                return 0;
        r = credential_read(credentials_dir, name, &m->password);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to read the SMTP password credential '%s' "
                                 "from %s", name, credentials_dir);
        r = secrets_init(m);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the mailer");
        if (m->tls != SMTP_TLS_REQUIRED && strncmp(m->url, "smtps://", 8) != 0)
                log_warning("notify.smtp: 'tls: %s' with a password: the password may cross the "
                            "network unencrypted; use 'tls: required'",
                            smtp_tls_to_string(m->tls));
        return 0;
}

int mailer_new(sd_event *e, const Config *c, Store *store, const char *credentials_dir,
               Mailer **ret) {
        _cleanup_(mailer_freep) Mailer *m = NULL;
        int r;

        if (!c->notify.configured || !c->notify.smtp.url || !c->notify.from)
                return log_errno(LOG_ERR, -EINVAL, "No notify: section: the mailer has nothing to "
                                 "send with");
        m = calloc(1, sizeof(*m));
        if (!m)
                return log_errno(LOG_ERR, -ENOMEM, "Failed to set up the mailer");
        m->done_fd = -1;
        m->sock = -1;
        (void) pthread_mutex_init(&m->sock_lock, NULL);
        m->event = sd_event_ref(e);
        m->store = store;
        m->backoff_base_usec = MAILER_BACKOFF_BASE_USEC;
        m->backoff_max_usec = MAILER_BACKOFF_MAX_USEC;
        r = mailer_configure(m, c);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the mailer");
        r = mailer_read_password(m, c, credentials_dir);
        if (r < 0)
                return r;
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return log_errno(LOG_ERR, -EIO, "Failed to set up libcurl for the mailer");
        m->curl_initialized = true;
        m->easy = curl_easy_init();
        if (!m->easy)
                return log_errno(LOG_ERR, -ENOMEM, "Failed to set up libcurl for the mailer");
        m->done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (m->done_fd < 0)
                return log_errno(LOG_ERR, -errno, "Failed to set up the mailer");
        r = sd_event_add_io(e, &m->done_source, m->done_fd, EPOLLIN, on_worker_done, m);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the mailer");
        (void) sd_event_source_set_description(m->done_source, "mailer-done");
        /* Due at once: whatever the outbox holds from before a restart. */
        r = sd_event_add_time_relative(e, &m->timer, CLOCK_MONOTONIC, 0,
                                       MAILER_TIMER_ACCURACY_USEC, on_timer, m);
        if (r < 0)
                return log_errno(LOG_ERR, r, "Failed to set up the mail timer");
        (void) sd_event_source_set_description(m->timer, "mailer");
        *ret = TAKE_PTR(m);
        return 0;
}
