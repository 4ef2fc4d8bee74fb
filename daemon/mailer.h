/* SPDX-License-Identifier: MIT */
#pragma once

/* The mailer (SPEC §5 "Email"): a sink that empties the outbox of the
 * state database through SMTP (libcurl), without ever blocking the loop.
 *
 * libcurl's SMTP is not fully non-blocking even in the multi interface:
 * after DATA it waits for the server's reply inside the transfer's "done"
 * step, blocking, up to the server response timeout (curl issue #8555,
 * libcurl 7.88 in Debian 12). So the one transfer at a time runs on a
 * worker thread (curl_easy_perform) and reports to the loop through an
 * eventfd; the loop alone reads and writes the outbox. Every transfer is
 * bounded by notify.smtp.timeout, and a hanging server costs the loop
 * nothing.
 *
 * One mail at a time, the oldest due first (mailer-plan.h), to each of
 * its recipients in an SMTP transaction of its own (the same message and
 * Message-ID; the connection is kept between them while they go well), so
 * that a recipient the server refuses at RCPT (4xx greylisting, 452, 5xx)
 * is neither dropped silently nor holds back the others. The outbox row
 * records whom the mail reached (delivered_to); it is marked sent once it
 * reached every recipient (the 250 after DATA for each). An attempt that
 * some recipient refused is recorded with its error and tried again, for
 * those not reached only, after an exponential backoff (30 s, 1 min,
 * 2 min, ... up to 30 min), permanent (5xx) refusals included: those are
 * logged as errors, once per mail and recipient. Not forever: a recipient
 * is given up for a mail when the configuration no longer has it, after a
 * 5xx a day after the mail was queued, after any refusal a week after
 * (mailer-plan.h); a mail is sent once each recipient has it or was given
 * up. A fault's mails reach each recipient in order. Delivery is at-least-once: a crash between the
 * server's acceptance and the record sends that copy again (with the same
 * Message-ID); no mail is lost, and none goes twice to a recipient it was
 * recorded for. mailer_free() records whom a mail cut short had reached.
 * When the server cannot be reached at all (no SMTP reply, TLS or login
 * failure), the mailer waits for that mail's next attempt before trying
 * any other, instead of trying every queued mail against a dead server,
 * and reads nothing of the outbox meanwhile (a kick costs no row).
 * When the database will not record an attempt's outcome (disk full,
 * read-only, locked), the mailer keeps it in memory, the time of the
 * next attempt included, and sends nothing until it is recorded (tried
 * every 10 s): an accepted mail is not sent again, a refused one not
 * again at once.
 *
 * A mail storm (more than notify.digest_after mails queued in one minute)
 * is grouped: the outbox holds the later mails of the minute
 * (store-outbox.c), and once the minute is over the mailer turns them into
 * digests, one per recipients and language (at most MAIL_DIGEST_MAX mails
 * each), sent and retried like any mail; a digest's delivery marks every
 * mail it carries sent, in one transaction. It logs a warning once per
 * storm, and each digest queued and sent.
 *
 * The SMTP password is read from its credential once, at creation, kept
 * in memory only and wiped when the mailer is freed; it never appears in
 * a log or in the outbox's last_error. Diagnostics go to the log. */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "macro.h"
#include "store.h"

#define MAILER_BACKOFF_BASE_USEC (30 * USEC_PER_SEC)
#define MAILER_BACKOFF_MAX_USEC (30 * USEC_PER_MINUTE)

typedef struct Mailer Mailer;

/* Creates a mailer on the loop e with the notify: settings of c, which it
 * copies (on a reload, replace the mailer). store must outlive the mailer.
 * Reads the password credential from credentials_dir. Starts at once on
 * what the outbox holds. Logs what fails; -EINVAL when c has no notify:
 * section. (SMTP does not go through the loop's libcurl glue: see above.) */
int mailer_new(sd_event *e, const Config *c, Store *store, const char *credentials_dir,
               Mailer **ret);

/* Aborts a mail being sent (it stays unsent, to be sent again; this waits
 * for the worker, about a second at most), wipes the password and frees.
 * NULL-safe; returns NULL. */
Mailer *mailer_free(Mailer *m);

DEFINE_TRIVIAL_CLEANUP_FUNC(Mailer *, mailer_free);

/* Something new is in the outbox (committed): send it soon. NULL-safe. */
void mailer_kick(Mailer *m);

/* Sets the backoff: the delay after the first failure and the cap (for
 * tests; the defaults are MAILER_BACKOFF_*). Both are rounded up to whole
 * seconds, the outbox's resolution. */
void mailer_set_backoff(Mailer *m, uint64_t base_usec, uint64_t max_usec);

/* Whether a mail is on its way now. */
bool mailer_busy(const Mailer *m);

/* Records what the database would not take yet (a mail the server accepted,
 * a retry's time): 0 when nothing waits, else the database's error. A
 * reload waits for it (a new mailer would not know and send the mail again).
 * NULL-safe. */
int mailer_settle(Mailer *m);

/* The delay before the attempt after the attempts-th failure (1-based):
 * base, 2 base, 4 base, ... at most max. */
uint64_t mailer_backoff_usec(uint64_t base_usec, uint64_t max_usec, unsigned attempts);
