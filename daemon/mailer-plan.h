/* SPDX-License-Identifier: MIT */
#pragma once

/* Which mail the mailer sends next, and to whom (mailer.h): a mail goes to
 * each of its recipients in an SMTP transaction of its own, and the outbox
 * row records whom it reached (delivered_to, a JSON array of addresses),
 * so that a recipient the server refused (4xx, 5xx) is tried again, alone,
 * and nobody gets a mail twice.
 *
 * Order, per recipient: a mail goes to an address only after every older
 * unsent mail of the same fault has reached that address, so that a
 * fault's thread reads in order at every recipient; a recipient the server
 * keeps refusing holds back its own copies only, never the others' (nor
 * the mails of other faults, nor those of no fault). A mail held for a
 * digest counts as reaching whom its digest reached.
 *
 * Of the mails with a recipient to go to, the oldest due goes first. Pure
 * but for mailer_plan_load(), which reads the outbox, and mailer_give_up(),
 * which records.
 *
 * Giving up (abandoned, a JSON array of addresses, like delivered_to): a
 * mail that can never reach an address must not stay unsent, retried every
 * 30 min, forever. A recipient is given up for a mail
 *   - at once, without an attempt, when the address is no longer in the
 *     configuration's notify.to, escalate_to or security_to (the operator
 *     removed or corrected it and reloaded): a new mailer sweeps the
 *     unsent mails (mailer_sweep()), and the plan drops such an address of
 *     a mail queued later (a digest of mails held before the reload);
 *   - when the server refuses it for good (5xx, at RCPT or after DATA) and
 *     the mail was queued MAILER_GIVE_UP_SEC (24 h) ago or more: a 5xx in
 *     the first day is retried (the address or the server may be fixed);
 *   - when any other refusal of that address (4xx, a timeout after DATA)
 *     comes MAILER_QUEUE_LIFETIME_SEC (7 days, Postfix's
 *     maximal_queue_lifetime) or more after the mail was queued.
 * A server that cannot be used at all (no reply, TLS, login) gives nobody
 * up: the mails wait for it, one attempt per backoff. An address given up
 * counts as reached for the order rule (it holds back nothing) and for the
 * mail's end: a mail is marked sent once each recipient has it or was given
 * up. Giving up is an error in the log, per mail and address; a mail given
 * up for everybody says so once more ("reached nobody"). */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "config.h"
#include "store.h"

#define MAILER_GIVE_UP_SEC (24 * 3600)
#define MAILER_QUEUE_LIFETIME_SEC (7 * 24 * 3600)

typedef struct MailerPlan {
        int64_t id;                  /* the mail to send now; 0: none is due */
        char **rcpt;                 /* the addresses to send it to now */
        size_t n_rcpt;               /* 0 with id: it reached everybody already, or error */
        char **drop;                 /* its addresses the configuration no longer has */
        size_t n_drop;
        int error;                   /* its recipients cannot be read (-EINVAL) */
        time_t next;                 /* when a mail is due or a held minute ends; 0: never */
} MailerPlan;

/* The plan for the unsent mails v (by id, as store_outbox_pending() gives
 * them) at now, for the configured addresses conf (NULL: any address is).
 * -ENOMEM, or 0 and *ret. */
int mailer_plan(const OutboxPending *v, size_t n, char *const *conf, size_t n_conf, time_t now,
                MailerPlan *ret);

/* The plan from the outbox, reading only what it needs: the due mails
 * that are not held (store_outbox_due(), a page at a time) until
 * one has somebody to go to, each with the older unsent mails of its
 * fault (for the order); the earliest due after now, and the ends of the
 * minutes of held mails that no digest carries yet. The mails waiting out
 * a backoff are not read. */
int mailer_plan_load(Store *s, char *const *conf, size_t n_conf, time_t now, MailerPlan *ret);

void mailer_plan_done(MailerPlan *p);

/* The addresses of the address list recipients that neither delivered_to
 * nor abandoned (JSON arrays; NULL for none) holds, in order: *ret (NULL
 * when none). -EINVAL for a list without an address or an array that is
 * no array of strings. Free with mail_addresses_free(). */
int mailer_undelivered(const char *recipients, const char *delivered_to, const char *abandoned,
                       char ***ret, size_t *ret_n);

/* Every address of notify.to, escalate_to and security_to. */
int mailer_config_addresses(const Config *c, char ***ret, size_t *ret_n);

#define MAILER_WHY_UNLISTED "the address is no longer in notify.to, escalate_to or security_to"

/* One step of the sweep of a new mailer: of the unsent mails that are not
 * held after *after (in store_outbox_unsent_after() order; {} from the
 * first), at
 * most a page, gives up the addresses conf lacks, and marks sent a mail
 * left with nobody to go to. Moves *after on; 1 while more may follow, 0 at
 * the end, or an error. */
int mailer_sweep(Store *s, char *const *conf, size_t n_conf, OutboxPending *after, time_t now);

/* Whether a refusal of an address (the server's code; server_wide: the
 * server could not be used at all) gives the address up for a mail queued
 * at created_at. */
bool mailer_give_up_due(long code, bool server_wide, time_t created_at, time_t now);

/* Gives mail up for the addresses v, for the reason why: an error in the
 * log for each, and the mail's abandoned column; mail->abandoned is the new
 * array on success. delivered_to: whom it reached (NULL: mail's). Logs
 * what fails. */
int mailer_give_up(Store *s, OutboxMail *mail, const char *delivered_to, char *const *v,
                   size_t n, const char *why);

/* delivered_to (NULL: "[]") with address added unless it holds it, as a
 * JSON array. */
int mailer_delivered_add(const char *delivered_to, const char *address, char **ret);
