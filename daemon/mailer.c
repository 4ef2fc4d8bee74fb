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
#include "mailer-plan.h"
#include "mailer.h"

#define MAILER_STORE_RETRY_SEC 10    /* after a database error */
#define MAILER_TIMER_ACCURACY_USEC (10 * USEC_PER_MSEC)
#define MAILER_ERROR_MAX 512

/* One recipient of the mail on its way: an SMTP transaction of its own, so
 * that the server's answer to each RCPT counts (curl's
 * CURLOPT_MAIL_RCPT_ALLOWFAILS would drop a refused one silently). */
typedef struct MailerRcpt {
        char *address;
        struct curl_slist *rcpt;     /* "<address>", for RCPT TO */
        bool tried;                  /* its transaction ran (not skipped, not cut short) */
        bool given_up;               /* refused too long: the mail is given up for it */
        CURLcode result;
        long code;                   /* the server's last reply */
        char errbuf[CURL_ERROR_SIZE];
} MailerRcpt;

struct Mailer {
        sd_event *event;
        Store *store;
        bool curl_initialized;

        /* Copied from the configuration. */
        char *url, *username, *ca_file;
        char *from;                  /* the From: header, notify.from */
        char *envelope_from;         /* "<addr>", for MAIL FROM */
        char **addresses;            /* of notify.to, escalate_to, security_to: the others are
                                      * given up (mailer-plan.h) */
        size_t n_addresses;
        OutboxPending swept;         /* how far the sweep for those has come */
        bool sweep_done;
        SmtpTls tls;
        uint64_t timeout_usec;
        unsigned digest_after;       /* notify.digest_after, for the log */
        time_t storm_logged_until;   /* the minute whose storm the log told */

        char *password;              /* NULL: no authentication */
        char *secrets[3];            /* the password and the base64 forms AUTH sends it in */

        uint64_t backoff_base_usec, backoff_max_usec;
        time_t pause_until;          /* the server is unreachable: wait until then */
        /* The outcome of an attempt the database would not record (disk
         * full, read-only, locked): a mail the server accepted, whom an
         * attempt reached, a failed attempt and its backoff. Recorded before
         * anything else is sent, so that nobody gets a mail again and a
         * failed one is not sent again at once, in a loop, while the daemon
         * runs. */
        struct {
                int64_t id;          /* 0: none */
                bool sent;
                time_t at;           /* sent: when; else the next attempt */
                char *error;         /* NULL: the row's stays */
                char *delivered_to;  /* NULL: the row's stays */
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
        MailerRcpt *rcpts;           /* whom it goes to now, one transaction each */
        size_t n_rcpts;
        char *payload;
        size_t payload_len, payload_off;
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

static MailerRcpt *rcpts_free(MailerRcpt *v, size_t n) {
        for (size_t i = 0; v && i < n; i++) {
                free(v[i].address);
                curl_slist_free_all(v[i].rcpt);
        }
        free(v);
        return NULL;
}

/* Forgets the mail on its way (not the outbox row). */
static void mail_release(Mailer *m) {
        outbox_mail_done(&m->mail);
        m->mail = (OutboxMail) {};
        m->rcpts = rcpts_free(m->rcpts, m->n_rcpts);
        m->n_rcpts = 0;
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

/* The recipients of the plan (their addresses taken from it), each its
 * own transaction. */
static int rcpts_take(Mailer *m, MailerPlan *plan) {
        char buf[512];

        m->rcpts = calloc(MAX(plan->n_rcpt, (size_t) 1), sizeof(MailerRcpt));
        if (!m->rcpts)
                return -ENOMEM;
        for (size_t i = 0; i < plan->n_rcpt; i++) {
                MailerRcpt *x = &m->rcpts[m->n_rcpts++];

                x->address = TAKE_PTR(plan->rcpt[i]);
                if ((size_t) snprintf(buf, sizeof(buf), "<%s>", x->address) >= sizeof(buf))
                        return -ENAMETOOLONG;
                x->rcpt = curl_slist_append(NULL, buf);
                if (!x->rcpt)
                        return -ENOMEM;
        }
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
        /* At most one connection kept (between a mail's recipients). */
        ok = ok && curl_easy_setopt(c, CURLOPT_MAXCONNECTS, 1L) == CURLE_OK;
        if (m->ca_file)
                ok = ok && curl_easy_setopt(c, CURLOPT_CAINFO, m->ca_file) == CURLE_OK;
        if (m->username) {
                ok = ok && curl_easy_setopt(c, CURLOPT_USERNAME, m->username) == CURLE_OK;
                ok = ok && curl_easy_setopt(c, CURLOPT_PASSWORD, m->password) == CURLE_OK;
        }
        ok = ok && curl_easy_setopt(c, CURLOPT_MAIL_FROM, m->envelope_from) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_UPLOAD, 1L) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_READDATA, m) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE,
                                    (curl_off_t) m->payload_len) == CURLE_OK;
        return ok ? 0 : -EIO;
}

/* The options of the transaction to x. A mail's recipients share a
 * connection while they go well; the first one and any after a failure
 * take a fresh one (a connection must never be reused in an unknown state:
 * libcurl 7.88 keeps one open after an SMTP response timeout after DATA,
 * and the next transfer on it hangs), and the last closes it. */
static int rcpt_setopts(Mailer *m, MailerRcpt *x, bool fresh, bool last) {
        CURL *c = m->easy;
        bool ok = true;

        m->payload_off = 0;
        x->errbuf[0] = 0;
        ok = ok && curl_easy_setopt(c, CURLOPT_MAIL_RCPT, x->rcpt) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_ERRORBUFFER, x->errbuf) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_FRESH_CONNECT, fresh ? 1L : 0L) == CURLE_OK;
        ok = ok && curl_easy_setopt(c, CURLOPT_FORBID_REUSE, last ? 1L : 0L) == CURLE_OK;
        return ok ? 0 : -EIO;
}

/* Whether a failure says nothing about this mail but that the server
 * cannot be used at all: no SMTP reply, TLS or login refused, or the sender
 * refused at MAIL FROM (libcurl's "MAIL failed: CODE", before any
 * recipient): a relay that will not take our envelope sender takes no mail,
 * and nobody is given up for it (mailer_give_up_due()). */
static bool failure_is_server_wide(const MailerRcpt *x) {
        switch (x->result) {
        case CURLE_COULDNT_RESOLVE_HOST:
        case CURLE_COULDNT_CONNECT:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_USE_SSL_FAILED:
        case CURLE_LOGIN_DENIED:
                return true;
        default:
                return x->code < 200 || strncmp(x->errbuf, "MAIL failed", 11) == 0;
        }
}

/* The worker: one SMTP transaction per recipient, the same message (the
 * same Message-ID) each time. A server that cannot be used at all ends the
 * round: the others are not tried against it. */
static void *worker_main(void *userdata) {
        Mailer *m = userdata;
        bool fresh = true;
        uint64_t one = 1;

        for (size_t i = 0; i < m->n_rcpts && !atomic_load(&m->abort); i++) {
                MailerRcpt *x = &m->rcpts[i];

                x->tried = true;
                if (rcpt_setopts(m, x, fresh, i + 1 == m->n_rcpts) < 0) {
                        x->result = CURLE_FAILED_INIT;
                        break;
                }
                x->result = curl_easy_perform(m->easy);
                x->code = 0;
                (void) curl_easy_getinfo(m->easy, CURLINFO_RESPONSE_CODE, &x->code);
                if (x->result == CURLE_OK) {
                        fresh = false;
                        continue;
                }
                /* A transaction mailer_free() cut short was no attempt. */
                if (atomic_load(&m->abort)) {
                        x->tried = false;
                        break;
                }
                fresh = true;
                if (failure_is_server_wide(x))
                        break;
        }
        /* The recipients' buffers go with the mail: libcurl keeps no pointer. */
        (void) curl_easy_setopt(m->easy, CURLOPT_ERRORBUFFER, NULL);
        (void) curl_easy_setopt(m->easy, CURLOPT_MAIL_RCPT, NULL);
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

/* Starts sending m->mail to the plan's recipients. */
static int mail_start(Mailer *m, time_t now, MailerPlan *plan) {
        int r;

        r = mail_render(&m->mail, m->from, now, &m->payload, &m->payload_len);
        if (r < 0)
                return r;
        r = rcpts_take(m, plan);
        if (r < 0)
                return r;
        r = mail_setopts(m);
        if (r < 0)
                return r;
        r = worker_start(m);
        if (r < 0)
                return r;
        m->sending = true;
        log_debug("Sending mail %lld (%s), attempt %d, to %zu recipient%s",
                  (long long) m->mail.id, m->mail.message_id, m->mail.attempts + 1, m->n_rcpts,
                  m->n_rcpts == 1 ? "" : "s");
        return 0;
}

/* ======================================================================== */
/* Outcomes */

static void unrecorded_clear(Mailer *m) {
        m->unrecorded.error = mfree(m->unrecorded.error);
        m->unrecorded.delivered_to = mfree(m->unrecorded.delivered_to);
        m->unrecorded.id = 0;
}

static int outcome_write(Mailer *m, int64_t id, bool sent, time_t at, const char *error,
                         const char *delivered_to) {
        if (sent)
                return store_outbox_sent(m->store, id, at, delivered_to);
        return store_outbox_retry(m->store, id, at, error, delivered_to);
}

/* Records the outcome of an attempt of mail id: sent at `at` (to everybody),
 * or to be tried again at `at`, with the error (NULL: none new) and whom it
 * reached (NULL: as before). What the database will not take is kept (the
 * caller holds mail back then). */
static int outcome_record(Mailer *m, int64_t id, bool sent, time_t at, const char *error,
                          const char *delivered_to) {
        char when[ISO_DATETIME_MAX];
        int r;

        r = outcome_write(m, id, sent, at, error, delivered_to);
        if (r == -ENOENT) {
                log_warning("Mail %lld is no longer unsent in the outbox", (long long) id);
                return 0;
        }
        if (r >= 0)
                return 0;
        (void) format_iso_datetime(at, when);
        if (sent)
                log_errno(LOG_ERR, r, "Mail %lld was accepted by the server but cannot be "
                          "marked sent yet (%s); no other mail goes until it is",
                          (long long) id, store_error(m->store));
        else
                log_errno(LOG_ERR, r, "The attempt of mail %lld cannot be recorded yet (%s); no "
                          "mail goes until it is, and this one not before %s",
                          (long long) id, store_error(m->store), when);
        unrecorded_clear(m);
        m->unrecorded.id = id;
        m->unrecorded.sent = sent;
        m->unrecorded.at = at;
        m->unrecorded.error = error ? strdup(error) : NULL;
        m->unrecorded.delivered_to = delivered_to ? strdup(delivered_to) : NULL;
        if ((error && !m->unrecorded.error) || (delivered_to && !m->unrecorded.delivered_to))
                log_error("Out of memory: whom mail %lld reached may be forgotten; they may "
                          "get it twice", (long long) id);
        return r;
}

/* Writes the outcome the database would not take before: 0, or an error
 * (it stays to be written). */
static int unrecorded_write(Mailer *m) {
        int r;

        if (m->unrecorded.id == 0)
                return 0;
        r = outcome_write(m, m->unrecorded.id, m->unrecorded.sent, m->unrecorded.at,
                          m->unrecorded.error, m->unrecorded.delivered_to);
        if (r < 0 && r != -ENOENT)
                return r;
        log_notice("The outcome of mail %lld is recorded after all; mail goes on.",
                   (long long) m->unrecorded.id);
        unrecorded_clear(m);
        return 0;
}

/* What one recipient's failure says, without the address: "SMTP 450:
 * RCPT failed: 450", or curl's words when the server said nothing. */
static void rcpt_error(const Mailer *m, const MailerRcpt *x, char *buf, size_t size) {
        const char *what = curl_easy_strerror(x->result);

        if (x->code > 0)
                (void) snprintf(buf, size, "SMTP %03ld: %s%s%s", x->code, what,
                                x->errbuf[0] ? ": " : "", x->errbuf);
        else
                (void) snprintf(buf, size, "%s%s%s", what, x->errbuf[0] ? ": " : "", x->errbuf);
        redact(m, buf);
}

/* Whether the error recorded before says the server refused address for
 * good (5xx): its refusal was logged as an error then. */
static bool refused_before(const char *last_error, const char *address) {
        char needle[600];

        if (!last_error)
                return false;
        (void) snprintf(needle, sizeof(needle), "%s: SMTP 5", address);
        for (const char *p = last_error; (p = strstr(p, needle)); p++)
                if (p == last_error || (p >= last_error + 2 && strncmp(p - 2, "; ", 2) == 0))
                        return true;
        return false;
}

/* The addresses this attempt reached, for the log. */
static void rcpt_names(const Mailer *m, char *buf, size_t size) {
        size_t len = 0;

        buf[0] = 0;
        for (size_t i = 0; i < m->n_rcpts && len < size; i++) {
                const MailerRcpt *x = &m->rcpts[i];

                if (x->tried && x->result == CURLE_OK)
                        len += (size_t) snprintf(buf + len, size - len, "%s%s", len ? ", " : "",
                                                 x->address);
        }
}

/* An attempt that failed for some: logs each refusal (a permanent one as
 * an error, once per recipient), and records the error, whom it reached and
 * when to try again (pausing all mail when the server cannot be used). */
static void mail_failed(Mailer *m, const char *delivered_to) {
        const OutboxMail *mail = &m->mail;
        unsigned attempts = (unsigned) MAX(mail->attempts, 0) + 1;
        uint64_t delay = mailer_backoff_usec(m->backoff_base_usec, m->backoff_max_usec, attempts);
        time_t next = wallclock_now() + usec_to_sec_up(delay);
        char error[MAILER_ERROR_MAX] = "", one[MAILER_ERROR_MAX], at[ISO_DATETIME_MAX];
        bool server_wide = false;
        size_t len = 0;

        (void) format_iso_datetime(next, at);
        for (size_t i = 0; i < m->n_rcpts; i++) {
                const MailerRcpt *x = &m->rcpts[i];
                bool wide = failure_is_server_wide(x);

                if (!x->tried || x->result == CURLE_OK)
                        continue;
                rcpt_error(m, x, one, sizeof(one));
                server_wide = server_wide || wide;
                if (len < sizeof(error))
                        len += (size_t) snprintf(error + len, sizeof(error) - len, "%s%s%s%s",
                                                 len ? "; " : "", wide ? "" : x->address,
                                                 wide ? "" : ": ", one);
                if (x->given_up)
                        continue; /* said as an error by mailer_give_up() */
                if (x->code >= 500 && x->code < 600 &&
                    !refused_before(mail->last_error, x->address))
                        log_error("Mail %lld (%s) refused by the server for %s: %s; it will be "
                                  "retried for %s, next at %s: check the address and the server",
                                  (long long) mail->id, mail->message_id, x->address, one,
                                  x->address, at);
                else if (wide)
                        log_warning("Mail %lld (%s): attempt %u failed: %s; next attempt at %s",
                                    (long long) mail->id, mail->message_id, attempts, one, at);
                else
                        log_warning("Mail %lld (%s) to %s: attempt %u failed: %s; next attempt "
                                    "at %s",
                                    (long long) mail->id, mail->message_id, x->address, attempts,
                                    one, at);
        }
        (void) outcome_record(m, mail->id, false, next, error, delivered_to);
        if (server_wide)
                m->pause_until = next;
}

/* A mail that cannot even start (its recipients or message cannot be
 * made): recorded as a failed attempt, with its backoff. */
static void mail_not_started(Mailer *m, int error) {
        unsigned attempts = (unsigned) MAX(m->mail.attempts, 0) + 1;
        uint64_t delay = mailer_backoff_usec(m->backoff_base_usec, m->backoff_max_usec, attempts);
        time_t next = wallclock_now() + usec_to_sec_up(delay);
        char what[MAILER_ERROR_MAX], at[ISO_DATETIME_MAX];

        (void) format_iso_datetime(next, at);
        (void) snprintf(what, sizeof(what), "cannot start sending: %s", strerror(-error));
        log_error("Mail %lld (%s): attempt %u failed: %s; next attempt at %s",
                  (long long) m->mail.id, m->mail.message_id, attempts, what, at);
        (void) outcome_record(m, m->mail.id, false, next, what, NULL);
}

/* Whom the mail has reached now: the row's delivered_to and this attempt's
 * good transactions, as a JSON array in *ret; how many were good. */
static int delivered_now(const Mailer *m, char **ret, size_t *ret_ok) {
        _cleanup_(freep) char *d = strdup(m->mail.delivered_to ?: "[]");
        size_t ok = 0;
        int r;

        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < m->n_rcpts; i++) {
                char *nd;

                if (!m->rcpts[i].tried || m->rcpts[i].result != CURLE_OK)
                        continue;
                r = mailer_delivered_add(d, m->rcpts[i].address, &nd);
                if (r < 0)
                        return r;
                free(d);
                d = nd;
                ok++;
        }
        *ret = TAKE_PTR(d);
        *ret_ok = ok;
        return 0;
}

static void log_sent(const Mailer *m) {
        const OutboxMail *mail = &m->mail;
        char names[MAILER_ERROR_MAX];

        if (mail->digest_count > 0)
                log_info("Digest mail %lld (%s) sent to %s: it carried %d held mails, now all "
                         "sent",
                         (long long) mail->id, mail->message_id, mail->recipients,
                         mail->digest_count);
        else if (mail->delivered_to && !streq(mail->delivered_to, "[]")) {
                rcpt_names(m, names, sizeof(names));
                log_info("Mail %lld (%s) sent to %s (the last of them now: %s)",
                         (long long) mail->id, mail->message_id, mail->recipients, names);
        } else
                log_info("Mail %lld (%s) sent to %s", (long long) mail->id, mail->message_id,
                         mail->recipients);
}

/* Gives the mail up for the recipients this attempt found refusing it too
 * long (mailer-plan.h): a 5xx a day after it was queued, any refusal a
 * week after. */
static void give_up_refused(Mailer *m, const char *delivered) {
        time_t now = wallclock_now();
        char why[MAILER_ERROR_MAX], one[MAILER_ERROR_MAX];

        for (size_t i = 0; i < m->n_rcpts; i++) {
                MailerRcpt *x = &m->rcpts[i];
                bool wide = failure_is_server_wide(x);

                if (!x->tried || x->result == CURLE_OK ||
                    !mailer_give_up_due(x->code, wide, m->mail.created_at, now))
                        continue;
                rcpt_error(m, x, one, sizeof(one));
                (void) snprintf(why, sizeof(why), "refused (%s), %s after it was queued", one,
                                x->code >= 500 && x->code < 600 ? "a day or more"
                                                                : "a week or more");
                x->given_up = mailer_give_up(m->store, &m->mail, delivered, &x->address, 1,
                                             why) >= 0;
        }
}

/* The attempt of m->mail is over: whom it reached goes into the outbox;
 * the mail is sent once it reached everybody, else tried again (after a
 * backoff when someone refused it). */
static void mail_finished(Mailer *m) {
        _cleanup_(freep) char *delivered = NULL;
        char **left = NULL, names[MAILER_ERROR_MAX];
        size_t n_left = 0, ok = 0, tried = 0;
        int r;

        for (size_t i = 0; i < m->n_rcpts; i++)
                tried += m->rcpts[i].tried;
        if (tried == 0)
                goto done; /* cut short before anything happened */
        r = delivered_now(m, &delivered, &ok);
        if (r >= 0)
                give_up_refused(m, delivered);
        if (r >= 0)
                r = mailer_undelivered(m->mail.recipients, delivered, m->mail.abandoned, &left,
                                       &n_left);
        left = mail_addresses_free(left, n_left);
        if (r < 0) {
                log_errno(LOG_ERR, r, "Mail %lld: whom it reached cannot be recorded; they may "
                          "get it again", (long long) m->mail.id);
                delivered = mfree(delivered); /* the row's stays */
                n_left = 1;
        }
        if (ok > 0)
                m->pause_until = 0;
        if (n_left == 0) {
                if (outcome_record(m, m->mail.id, true, wallclock_now(), NULL, delivered) >= 0)
                        log_sent(m);
                goto done;
        }
        if (ok > 0) {
                rcpt_names(m, names, sizeof(names));
                log_info("Mail %lld (%s) delivered to %s; not yet to %zu more",
                         (long long) m->mail.id, m->mail.message_id, names, n_left);
        }
        if (ok < tried)
                mail_failed(m, delivered);
        else
                /* The others wait for an older mail of the fault, or were not
                 * tried: due as before. */
                (void) outcome_record(m, m->mail.id, false, m->mail.next_attempt_at, NULL,
                                      delivered);
done:
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

/* Sleeps until next (0: until kicked), and while paused, until then; never
 * spins on a time that has come without work. */
static void mailer_sleep(Mailer *m, time_t next) {
        time_t now = wallclock_now();

        if (next == 0) {
                (void) sd_event_source_set_enabled(m->timer, SD_EVENT_OFF);
                return;
        }
        mailer_arm(m, MAX(MAX(next, m->pause_until), now + 1));
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

/* Starts on the plan's mail: sends it, or marks it sent when it reached
 * everybody already, or records why it cannot go. */
static void mailer_start_plan(Mailer *m, time_t now, MailerPlan *plan) {
        int r;

        r = store_outbox_get(m->store, plan->id, &m->mail);
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Failed to read mail %lld: %s", (long long) plan->id,
                          store_error(m->store));
                mailer_arm(m, now + MAILER_STORE_RETRY_SEC);
                return;
        }
        if (plan->n_drop > 0 &&
            mailer_give_up(m->store, &m->mail, NULL, plan->drop, plan->n_drop,
                           MAILER_WHY_UNLISTED) < 0) {
                mail_release(m);
                mailer_arm(m, now + MAILER_STORE_RETRY_SEC);
                return;
        }
        if (plan->error < 0)
                r = plan->error;
        else if (plan->n_rcpt == 0) {
                if (outcome_record(m, m->mail.id, true, now, NULL, NULL) >= 0)
                        log_notice("Mail %lld (%s) had reached or was given up for every "
                                   "recipient: marked sent",
                                   (long long) m->mail.id, m->mail.message_id);
        } else
                r = mail_start(m, now, plan);
        if (r < 0)
                mail_not_started(m, r);
        if (!m->sending) {
                mail_release(m);
                mailer_arm(m, m->unrecorded.id > 0 ? now + MAILER_STORE_RETRY_SEC : 0);
        }
}

static void mailer_run(Mailer *m) {
        _cleanup_(mailer_plan_done) MailerPlan plan = {};
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
        /* Gives up the addresses the configuration lost, a page a run (what
         * the database refuses here, the plan does at each mail's turn). */
        if (!m->sweep_done) {
                r = mailer_sweep(m->store, m->addresses, m->n_addresses, &m->swept, now);
                if (r < 0)
                        log_errno(LOG_WARNING, r, "Failed to go through the outbox for removed "
                                  "addresses (%s); each mail's turn will do",
                                  store_error(m->store));
                m->sweep_done = r <= 0;
                if (r > 0) {
                        mailer_arm(m, 0);
                        return;
                }
        }
        /* The server cannot be used: nothing goes, so nothing is read. */
        if (now < m->pause_until) {
                mailer_sleep(m, m->pause_until);
                return;
        }
        r = mailer_plan_load(m->store, m->addresses, m->n_addresses, now, &plan);
        if (r < 0) {
                log_errno(LOG_WARNING, r, "Failed to read the outbox: %s", store_error(m->store));
                mailer_arm(m, now + MAILER_STORE_RETRY_SEC);
                return;
        }
        if (plan.id == 0) {
                mailer_sleep(m, plan.next);
                return;
        }
        mailer_start_plan(m, now, &plan);
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

int mailer_settle(Mailer *m) {
        return m ? unrecorded_write(m) : 0;
}

Mailer *mailer_free(Mailer *m) {
        if (!m)
                return NULL;
        /* The mail on its way stays unsent in the outbox, to be sent again
         * to whom it has not reached (recorded when the database takes it). */
        if (m->sending) {
                worker_join(m, true);
                mail_finished(m);
        }
        /* A last try at what the database would not take: forgotten, the
         * next mailer would send that mail again. */
        if (unrecorded_write(m) < 0)
                log_error("Mail %lld: its outcome cannot be recorded (%s); it may be sent "
                          "again after this restart",
                          (long long) m->unrecorded.id, store_error(m->store));
        if (m->easy)
                curl_easy_cleanup(m->easy);
        mail_release(m);
        unrecorded_clear(m);
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
        mail_addresses_free(m->addresses, m->n_addresses);
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
        r = mailer_config_addresses(c, &m->addresses, &m->n_addresses);
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
