/* SPDX-License-Identifier: MIT */
#pragma once

/* What mail.c (composition) and mail-wire.c (the wire format) share. */

#include <stddef.h>

#include "buf.h"
#include "mail.h"

#define MAIL_RENDER_MAX (4u * MAIL_BODY_MAX)

/* Appends s as one line of text: control characters become spaces and
 * invalid UTF-8 bytes '?', so that nothing interpolated can start a line
 * (or a header) of its own. */
void mail_put_clean(Buf *b, const char *s);

/* The span [*ret_start, *ret_end) of the addr-spec of one mailbox of n
 * bytes at s ("Name <a@b>" or "a@b"). */
void mail_mailbox_address(const char *s, size_t n, const char **ret_start, const char **ret_end);

/* Appends one configured mailbox to an address list, its display name
 * quoted when it holds specials, so that the list splits where it should. */
void mail_put_mailbox(Buf *b, const char *mailbox);
