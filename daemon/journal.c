/* SPDX-License-Identifier: MIT */

#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "fileio.h"
#include "journal.h"
#include "text.h"
#include "log.h"
#include "timeutil.h"

#define JOURNAL_FIELDS_MAX 16
#define JOURNAL_FIELDS_BUF 2048

static const char *const journal_mode_names[_JOURNAL_MODE_MAX] = {
        [JOURNAL_MODE_AUTO] = "auto",
        [JOURNAL_MODE_NATIVE] = "native",
        [JOURNAL_MODE_STDERR] = "stderr",
};

/* The mode set by journal_set_mode(); until then $FIELDWATCH_JOURNAL's. */
static bool mode_set;
static JournalMode mode = JOURNAL_MODE_AUTO;

/* What the last send or probe found: -1 not known yet, 0 away, 1 answering. */
static int journald_state = -1;
static uint64_t recheck_at;

const char *journal_mode_to_string(JournalMode m) {
        return m >= 0 && m < _JOURNAL_MODE_MAX ? journal_mode_names[m] : NULL;
}

JournalMode journal_mode_from_string(const char *s) {
        for (JournalMode m = 0; s && m < _JOURNAL_MODE_MAX; m++)
                if (streq(s, journal_mode_names[m]))
                        return m;
        return _JOURNAL_MODE_INVALID;
}

int journal_set_mode(JournalMode m) {
        if (!journal_mode_to_string(m))
                return -EINVAL;
        mode = m;
        mode_set = true;
        journald_state = -1;
        return 0;
}

JournalMode journal_get_mode(void) {
        JournalMode m;

        if (mode_set)
                return mode;
        m = journal_mode_from_string(getenv(JOURNAL_MODE_ENV));
        return m < 0 ? JOURNAL_MODE_AUTO : m;
}

bool journal_socket_answers(void) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = JOURNAL_SOCKET_PATH };
        struct stat st;
        bool ok;
        int fd;

        /* connect() on a datagram socket sends nothing; a stale socket file
         * (journald gone) answers ECONNREFUSED. */
        if (stat(JOURNAL_SOCKET_PATH, &st) < 0 || !S_ISSOCK(st.st_mode))
                return false;
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return false;
        ok = connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
        (void) close(fd);
        return ok;
}

/* Whether this event should be offered to journald first. AUTO probes the
 * socket when it does not know, and again every JOURNAL_RECHECK_USEC while
 * journald is away; what a send finds is what counts (journal_send_event). */
static bool journald_worth_trying(JournalMode m) {
        if (m == JOURNAL_MODE_STDERR)
                return false;
        if (m == JOURNAL_MODE_NATIVE || journald_state == 1)
                return true;
        if (journald_state == 0 && now_usec(CLOCK_MONOTONIC) < recheck_at)
                return false;
        if (journal_socket_answers())
                return true;
        journald_state = 0;
        recheck_at = now_usec(CLOCK_MONOTONIC) + JOURNAL_RECHECK_USEC;
        return false;
}

/* ======================================================================== */

/* Copies src to dst (at most size - 1 bytes), control characters made spaces:
 * an event is one line, whatever a device answered. */
/* Event text as the journal's readers get it, in a field or a line: clean
 * (valid UTF-8 cut on a character boundary, no controls; see text.h). */
static void copy_printable(char *dst, size_t size, const char *src) {
        (void) text_clean(dst, size, src, strnlen(src, size > 0 ? size - 1 : 0));
}

static bool text_has_device(const Event *e) {
        size_t n = strnlen(e->device, sizeof(e->device) - 1);

        return n > 0 && strncmp(e->text, e->device, n) == 0 && e->text[n] == ':' &&
               e->text[n + 1] == ' ';
}

char *journal_event_message(const Event *e, char *buf, size_t size) {
        char device[sizeof(e->device)], text[EVENT_TEXT_MAX];

        copy_printable(device, sizeof(device), e->device);
        copy_printable(text, sizeof(text), e->text);
        if (device[0] && !text_has_device(e))
                (void) snprintf(buf, size, "%s: %s", device, text);
        else
                (void) snprintf(buf, size, "%s", text);
        text_clean_inplace(buf, size);  /* snprintf may have cut a character */
        return buf;
}

/* Appends " key=value" (the first one opening the brackets) to a line. */
static size_t line_add(char *buf, size_t len, size_t size, bool *opened, const char *key,
                       const char *value) {
        int n;

        if (len >= size)
                return len;
        n = snprintf(buf + len, size - len, "%s%s=%s", *opened ? " " : " [", key, value);
        *opened = true;
        return n < 0 ? len : MIN(len + (size_t) n, size - 1);
}

char *journal_event_line(const Event *e, char buf[static JOURNAL_LINE_MAX]) {
        char message[JOURNAL_LINE_MAX], v[MAX(ISO_DATETIME_MAX, sizeof(e->kind))];
        bool opened = false;
        size_t len;
        int n;

        n = snprintf(buf, JOURNAL_LINE_MAX, "fieldwatchd: %s %s", event_type_to_string(e->type),
                     journal_event_message(e, message, sizeof(message)));
        len = n < 0 ? 0 : MIN((size_t) n, JOURNAL_LINE_MAX - 1);
        if (e->site[0]) {
                copy_printable(v, sizeof(v), e->site);
                len = line_add(buf, len, JOURNAL_LINE_MAX, &opened, "site", v);
        }
        if (e->fault_id > 0) {
                (void) snprintf(v, sizeof(v), "%" PRIi64, e->fault_id);
                len = line_add(buf, len, JOURNAL_LINE_MAX, &opened, "fault", v);
        }
        if (e->kind[0]) {
                copy_printable(v, sizeof(v), e->kind);
                len = line_add(buf, len, JOURNAL_LINE_MAX, &opened, "kind", v);
        }
        if (e->received_at > 0)
                len = line_add(buf, len, JOURNAL_LINE_MAX, &opened, "received_at",
                               format_iso_datetime(e->received_at, v));
        if (e->onsite_due > 0)
                len = line_add(buf, len, JOURNAL_LINE_MAX, &opened, "onsite_due",
                               format_iso_datetime(e->onsite_due, v));
        if (opened && len < JOURNAL_LINE_MAX - 1) {
                buf[len++] = ']';
                buf[len] = '\0';
        }
        return buf;
}

static int send_stderr(const Event *e) {
        char line[JOURNAL_LINE_MAX], out[JOURNAL_LINE_MAX + 16];
        int n;

        (void) journal_event_line(e, line);
        /* One line: a name or a note with a line break in it starts no line
         * of its own (under systemd, a "<N>" there would set a priority). */
        text_clean_inplace(line, sizeof(line));
        if (getenv("JOURNAL_STREAM"))
                n = snprintf(out, sizeof(out), "<%d>%s\n", event_type_priority(e->type), line);
        else
                n = snprintf(out, sizeof(out), "%s\n", line);
        if (n < 0)
                return -EINVAL;
        return loop_write(STDERR_FILENO, out, MIN((size_t) n, sizeof(out) - 1));
}

/* ======================================================================== */

typedef struct JournalFields {
        struct iovec iov[JOURNAL_FIELDS_MAX];
        size_t n;
        char buf[JOURNAL_FIELDS_BUF];
        size_t used;
} JournalFields;

static void fields_add(JournalFields *f, const char *fmt, ...) _printf_(2, 3);

static void fields_add(JournalFields *f, const char *fmt, ...) {
        size_t room = sizeof(f->buf) - f->used;
        va_list ap;
        int n;

        if (f->n >= ELEMENTSOF(f->iov) || room == 0)
                return;
        va_start(ap, fmt);
        n = vsnprintf(f->buf + f->used, room, fmt, ap);
        va_end(ap);
        if (n < 0)
                return;
        f->iov[f->n++] = (struct iovec) { f->buf + f->used, MIN((size_t) n, room - 1) };
        f->used += MIN((size_t) n, room - 1) + 1;
}

static int send_native(const Event *e) {
        char message[JOURNAL_LINE_MAX], site[sizeof(e->site)], device[sizeof(e->device)],
                kind[sizeof(e->kind)], by[sizeof(e->by)], os_user[sizeof(e->os_user)],
                t[ISO_DATETIME_MAX];
        JournalFields f = { .n = 0 };
        struct stat st;

        /* sd_journal_sendv() returns 0 without sending anything when the
         * socket does not exist ("fail silently"): look first, so that such
         * an event goes to stderr instead of nowhere. */
        if (stat(JOURNAL_SOCKET_PATH, &st) < 0)
                return -errno;
        if (!S_ISSOCK(st.st_mode))
                return -ENOTSOCK;
        copy_printable(site, sizeof(site), e->site);
        copy_printable(device, sizeof(device), e->device);
        copy_printable(kind, sizeof(kind), e->kind);
        copy_printable(by, sizeof(by), e->by);
        copy_printable(os_user, sizeof(os_user), e->os_user);

        fields_add(&f, "MESSAGE=%s", journal_event_message(e, message, sizeof(message)));
        fields_add(&f, "PRIORITY=%d", event_type_priority(e->type));
        fields_add(&f, "MESSAGE_ID=%s", event_type_message_id(e->type));
        fields_add(&f, "SYSLOG_IDENTIFIER=fieldwatchd");
        fields_add(&f, "FIELDWATCH_EVENT=%s", event_type_to_string(e->type));
        if (site[0])
                fields_add(&f, "FIELDWATCH_SITE=%s", site);
        if (device[0])
                fields_add(&f, "FIELDWATCH_DEVICE=%s", device);
        if (e->fault_id > 0)
                fields_add(&f, "FIELDWATCH_FAULT_ID=%" PRIi64, e->fault_id);
        if (kind[0])
                fields_add(&f, "FIELDWATCH_KIND=%s", kind);
        if (e->received_at > 0)
                fields_add(&f, "FIELDWATCH_RECEIVED_AT=%s", format_iso_datetime(e->received_at, t));
        if (e->onsite_due > 0) {
                /* The due in force (an approved deferral's, else the onsite
                 * due): FIELDWATCH_DUE, and under its first name too. */
                fields_add(&f, "FIELDWATCH_ONSITE_DUE=%s", format_iso_datetime(e->onsite_due, t));
                fields_add(&f, "FIELDWATCH_DUE=%s", t);
        }
        /* Operator actions: who recorded them (the text says so too). */
        if (by[0])
                fields_add(&f, "FIELDWATCH_BY=%s", by);
        if (os_user[0])
                fields_add(&f, "FIELDWATCH_OS_USER=%s", os_user);
        return sd_journal_sendv(f.iov, (int) f.n);
}

int journal_send_event(const Event *e) {
        JournalMode m = journal_get_mode();
        int r;

        if (!e || !event_type_message_id(e->type))
                return -EINVAL;
        if (journald_worth_trying(m)) {
                r = send_native(e);
                if (r >= 0) {
                        if (journald_state == 0)
                                log_notice("journal: journald answers now, events go there");
                        journald_state = 1;
                        return 1;
                }
                if (journald_state != 0)
                        log_errno(LOG_WARNING, r,
                                  "journal: journald refused an event, events go to stderr "
                                  "until it answers again");
                journald_state = 0;
                recheck_at = now_usec(CLOCK_MONOTONIC) + JOURNAL_RECHECK_USEC;
        }
        r = send_stderr(e);
        return r < 0 ? r : 0;
}
