/* SPDX-License-Identifier: MIT */
#pragma once

/* The mails of events (SPEC §5 "Email"): what they say (mail.c) and how
 * they look on the wire (mail-wire.c). Pure: no I/O, no clock (the caller passes the time), no
 * global state but the process's time zone (the contract's, tz_use()).
 *
 * Composition (mail_compose) writes the subject and body in UTF-8 in
 * notify.language, from the event, its fault and the configuration's
 * site names. It never reads a credential, so no secret can reach a mail.
 *
 * Threads: a fault's first mail starts its thread; its Message-ID is the
 * fault's thread id (Fault.thread_id, which the caller stores when it is
 * still empty). Every later mail of the fault carries In-Reply-To and
 * References naming it. Message-IDs are stable per event, so a mail sent
 * twice (at-least-once delivery) is one message to mail clients. */

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "event.h"
#include "fault.h"
#include "store.h"

#define MAIL_MESSAGE_ID_MAX 320
#define MAIL_BODY_MAX (64u * 1024u)
#define MAIL_HIDDEN_MAX 100          /* unreachable devices a mail names; the rest are counted */
#define MAIL_DIGEST_MAX 100          /* events in one digest; more make more digests */
#define MAIL_DIGEST_ENTRY_MAX 1024u
#define MAIL_DIGEST_BODY_MAX (MAIL_DIGEST_MAX * (MAIL_DIGEST_ENTRY_MAX + 16u) + 4096u)

/* A composed mail, before encoding. */
typedef struct MailDraft {
        char *subject;               /* one line, UTF-8 */
        char *body;                  /* UTF-8, LF line ends; the first line states the due */
} MailDraft;

/* Frees what a draft owns; the struct is the caller's. NULL-safe. */
void mail_draft_done(MailDraft *d);

/* Composes the mail about e; f is e's fault, or NULL for an event about
 * none (an anomaly). Subject: "[fieldwatch] PREFIX SITE PLACE KIND", with a
 * prefix per event type. Body: the due first, then the facts (of the
 * devices f hides, the first MAIL_HIDDEN_MAX and how many more) and what to
 * do. -ENOMEM, -E2BIG when the body would pass MAIL_BODY_MAX, or -EINVAL
 * for an event type out of range. */
int mail_compose(const Config *c, const Event *e, const Fault *f, MailDraft *ret);

/* The domain of a mailbox ("fieldwatch <fw@example.invalid>" gives
 * "example.invalid"). -EINVAL without one, -ENOBUFS when it does not fit. */
int mail_domain(const char *mailbox, char *buf, size_t size);

/* The Message-ID of an event's mail, "<fw.EVENTID.FAULTID@domain>" (FAULTID
 * 0 for none). -EINVAL for an empty or unsafe domain, -ENOBUFS. */
int mail_message_id(const char *domain, int64_t event_id, int64_t fault_id, char *buf,
                    size_t size);

/* Whether the events of type t go to notify.escalate_to as well (the
 * supervisor: SLA breaches and deferral approvals). */
bool mail_escalates(EventType t);

/* The recipients of an event's mail: notify.to, plus notify.escalate_to
 * when mail_escalates(t), each address once, as one address list ("a@b,
 * Name <c@d>"; display names quoted where they need it). */
int mail_recipients(const Config *c, EventType t, char **ret);

/* The outbox row of an event's mail (e->id must be set: the event is in
 * the store): composed, addressed, with its Message-ID and, when f already
 * has a thread, its thread id; created and due at now; with its digest
 * entry and notify.digest_after, so that store_outbox_add() holds it in a
 * mail storm (store-outbox.c). When f's thread id
 * is empty, the caller sets it to ret->message_id (this mail starts the
 * thread) and stores the fault. Free with outbox_mail_done(). */
int mail_prepare(const Config *c, const Event *e, const Fault *f, time_t now, OutboxMail *ret);

/* The outbox row that stands in for e's mail when mail_prepare() failed
 * with error for a reason of the mail's own (-E2BIG: its body would pass
 * MAIL_BODY_MAX): the same subject, Message-ID, thread and recipients; a
 * short body of bounded fields only: the due, that the full text could not
 * be composed and why, the fieldwatchctl commands that show the event and
 * its fault, the site, device, time and fault id, what to do. */
int mail_prepare_fallback(const Config *c, const Event *e, const Fault *f, time_t now, int error,
                          OutboxMail *ret);

/* An event's entry in a digest, two lines (no final LF): "[PREFIX] SITE
 * PLACE KIND", then the device, the fault id, the event's time and the
 * onsite due while the fault waits for onsite work, in notify.language.
 * -E2BIG beyond MAIL_DIGEST_ENTRY_MAX (the mail then always goes alone). */
int mail_digest_entry(const Config *c, const Event *e, const Fault *f, char **ret);

/* "<fw.digest.FIRSTID@domain>": FIRSTID is the outbox id of the digest's
 * first held mail, so the id is stable and unique. */
int mail_digest_message_id(const char *domain, int64_t first_id, char *buf, size_t size);

/* The digest of the held mails h (at most MAIL_DIGEST_MAX), as an outbox
 * row to add with store_outbox_add_digest(): to h's recipients, in h's
 * language; subject "[fieldwatch] N件の障害通知（まとめ MINUTE）" ("N fault
 * notices (digest of MINUTE)"); the body's first line is the earliest
 * onsite due, then one numbered entry per mail and what to do. Like every
 * mail, it holds no secret: only what the entries hold. */
int mail_digest(const OutboxHeld *h, const char *from, time_t now, OutboxMail *ret);

/* The RFC 5322 message of m, From from (notify.from), dated now: CRLF line
 * ends, the subject and non-ASCII display names as RFC 2047 encoded words,
 * the body in base64 (text/plain; charset=UTF-8). Every header value is
 * stripped of CR, LF and other control characters. SMTP dot-stuffing is
 * left to the transport. */
int mail_render(const OutboxMail *m, const char *from, time_t now, char **ret, size_t *ret_len);

/* Encodes s as RFC 2047 "=?UTF-8?B?...?=" words joined by CRLF SP, each at
 * most 75 characters, the first at most first_max (the room left on the
 * header's first line, >= 20), never splitting a UTF-8 character. Invalid
 * UTF-8 bytes become '?'. An empty s gives "". */
int mail_encode_words(const char *s, size_t first_max, char **ret);

/* The bare addresses of an address list (for SMTP RCPT TO), in order:
 * -EINVAL when there is none. Free with mail_addresses_free(). */
int mail_addresses(const char *list, char ***ret, size_t *ret_n);
char **mail_addresses_free(char **v, size_t n);
