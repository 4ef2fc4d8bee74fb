/* SPDX-License-Identifier: MIT */
#pragma once

/* Events to journald (SPEC §5): sent natively with sd_journal_sendv(), with
 * MESSAGE, PRIORITY, the type's fixed MESSAGE_ID (explained in
 * systemd/fieldwatch.catalog), SYSLOG_IDENTIFIER=fieldwatchd, FIELDWATCH_EVENT
 * and, when set, FIELDWATCH_SITE, FIELDWATCH_DEVICE, FIELDWATCH_FAULT_ID,
 * FIELDWATCH_KIND, FIELDWATCH_RECEIVED_AT and FIELDWATCH_ONSITE_DUE (ISO 8601
 * in the contract zone, "2026-11-25T14:00:00+09:00"), and for operator
 * actions FIELDWATCH_BY and FIELDWATCH_OS_USER. Where no journald answers, each
 * event becomes one line on stderr instead:
 *
 *   [<N>]fieldwatchd: EVENT DEVICE: TEXT [site=.. fault=.. kind=.. received_at=.. onsite_due=..]
 *
 * with "<N>" (the priority) only when JOURNAL_STREAM is set, as in log.c, and
 * only the bracketed keys that apply. No event is dropped silently: a send that
 * journald refuses goes to stderr. Not thread-safe (one event loop). */

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include "event.h"
#include "macro.h"

typedef enum JournalMode {
        JOURNAL_MODE_AUTO,           /* journald when its socket answers, else stderr */
        JOURNAL_MODE_NATIVE,         /* journald first for every event, stderr when it fails */
        JOURNAL_MODE_STDERR,         /* stderr only */
        _JOURNAL_MODE_MAX,
        _JOURNAL_MODE_INVALID = -EINVAL,
} JournalMode;

/* The socket journald's native protocol listens on (fixed in libsystemd). */
#define JOURNAL_SOCKET_PATH "/run/systemd/journal/socket"

/* While journald is away, AUTO probes its socket again at most this often. */
#define JOURNAL_RECHECK_USEC (5 * USEC_PER_SEC)

/* The environment variable that sets the mode until journal_set_mode() is
 * called: "auto", "native" or "stderr" (anything else means auto). */
#define JOURNAL_MODE_ENV "FIELDWATCH_JOURNAL"

/* "auto", "native", "stderr"; NULL for an invalid mode. */
const char *journal_mode_to_string(JournalMode m);

/* The mode of a name, or -EINVAL. */
JournalMode journal_mode_from_string(const char *s);

/* Sets the mode (overriding $FIELDWATCH_JOURNAL) and forgets what AUTO found. */
int journal_set_mode(JournalMode m);

/* The mode in force: the one set, else $FIELDWATCH_JOURNAL's, else AUTO. */
JournalMode journal_get_mode(void);

/* Whether a journald accepts connections on JOURNAL_SOCKET_PATH now. */
bool journal_socket_answers(void);

/* "05-camera: fault 12 raised: ..." — the event's text prefixed with its device
 * (unless it already starts with "DEVICE: "), control characters made spaces.
 * Truncates to size; returns buf. */
char *journal_event_message(const Event *e, char *buf, size_t size);

/* The stderr line of an event, without the "<N>" prefix and the newline.
 * Truncates to size; returns buf. */
#define JOURNAL_LINE_MAX 1024
char *journal_event_line(const Event *e, char buf[static JOURNAL_LINE_MAX]);

/* Sends one event. Returns 1 when journald took it, 0 when it went to stderr,
 * -EINVAL for a NULL event or an unknown type, or the negative errno of the
 * failed write to stderr when journald did not take it either. */
int journal_send_event(const Event *e);
