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
 * but for mailer_plan_load(), which reads the outbox. */

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "store.h"

typedef struct MailerPlan {
        int64_t id;                  /* the mail to send now; 0: none is due */
        char **rcpt;                 /* the addresses to send it to now */
        size_t n_rcpt;               /* 0 with id: it reached everybody already, or error */
        int error;                   /* its recipients cannot be read (-EINVAL) */
        time_t next;                 /* when a mail is due or a held minute ends; 0: never */
} MailerPlan;

/* The plan for the unsent mails v (by id, as store_outbox_pending() gives
 * them) at now. -ENOMEM, or 0 and *ret. */
int mailer_plan(const OutboxPending *v, size_t n, time_t now, MailerPlan *ret);

/* The plan from the outbox: its unsent mails, and the ends of the minutes
 * of held mails that no digest carries yet. */
int mailer_plan_load(Store *s, time_t now, MailerPlan *ret);

void mailer_plan_done(MailerPlan *p);

/* The addresses of the address list recipients that delivered_to (a JSON
 * array; NULL for none) does not hold, in order: *ret (NULL when none).
 * -EINVAL for a list without an address or a delivered_to that is no
 * array of strings. Free with mail_addresses_free(). */
int mailer_undelivered(const char *recipients, const char *delivered_to, char ***ret,
                       size_t *ret_n);

/* delivered_to (NULL: "[]") with address added unless it holds it, as a
 * JSON array. */
int mailer_delivered_add(const char *delivered_to, const char *address, char **ret);
