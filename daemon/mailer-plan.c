/* SPDX-License-Identifier: MIT */

/* Which mail goes next, and to whom (mailer-plan.h). */

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "macro.h"
#include "mail.h"
#include "mailer-plan.h"

/* ======================================================================== */
/* Whom a mail reached */

/* delivered_to as a JSON array of strings (NULL or "" for none). */
static int delivered_parse(const char *delivered_to, json_t **ret) {
        json_t *j, *v;
        size_t i;

        j = json_loads(delivered_to && *delivered_to ? delivered_to : "[]", 0, NULL);
        if (!j)
                return -EINVAL;
        if (!json_is_array(j)) {
                json_decref(j);
                return -EINVAL;
        }
        json_array_foreach(j, i, v)
                if (!json_is_string(v)) {
                        json_decref(j);
                        return -EINVAL;
                }
        *ret = j;
        return 0;
}

/* Whether the array of strings a holds address (the case of letters aside). */
static bool delivered_has(const json_t *a, const char *address) {
        const json_t *v;
        size_t i;

        json_array_foreach(a, i, v)
                if (strcasecmp(json_string_value(v), address) == 0)
                        return true;
        return false;
}

static bool listed(char *const *v, size_t n, const char *address) {
        for (size_t i = 0; i < n; i++)
                if (strcasecmp(v[i], address) == 0)
                        return true;
        return false;
}

int mailer_undelivered(const char *recipients, const char *delivered_to, char ***ret,
                       size_t *ret_n) {
        _cleanup_(json_decrefp) json_t *d = NULL;
        char **v;
        size_t n, k = 0;
        int r;

        r = delivered_parse(delivered_to, &d);
        if (r < 0)
                return r;
        r = mail_addresses(recipients, &v, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (delivered_has(d, v[i]) || listed(v, k, v[i]))
                        free(v[i]);
                else
                        v[k++] = v[i];
        }
        if (k == 0)
                v = mfree(v);
        *ret = v;
        *ret_n = k;
        return 0;
}

int mailer_delivered_add(const char *delivered_to, const char *address, char **ret) {
        _cleanup_(json_decrefp) json_t *d = NULL;
        char *s;
        int r;

        r = delivered_parse(delivered_to, &d);
        if (r < 0)
                return r;
        if (!delivered_has(d, address) && json_array_append_new(d, json_string(address)) < 0)
                return -ENOMEM;
        s = json_dumps(d, JSON_COMPACT);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

/* ======================================================================== */
/* The plan */

typedef struct Row {
        const OutboxPending *mail;
        char **pending;              /* whom it has yet to reach */
        size_t n_pending;
        bool *now;                   /* pending[i] may go now (no older mail holds it back) */
        size_t n_now;
        int error;                   /* its recipients cannot be read */
} Row;

static void rows_free(Row *rows, size_t n) {
        for (size_t i = 0; rows && i < n; i++) {
                mail_addresses_free(rows[i].pending, rows[i].n_pending);
                free(rows[i].now);
        }
        free(rows);
}

/* By fault, then by id: a fault's mails in their order. */
static int by_fault(const void *a, const void *b) {
        const Row *x = *(const Row *const *) a, *y = *(const Row *const *) b;

        if (x->mail->fault_id != y->mail->fault_id)
                return x->mail->fault_id < y->mail->fault_id ? -1 : 1;
        return x->mail->id < y->mail->id ? -1 : x->mail->id > y->mail->id;
}

/* Whether an older mail of the same fault still has to reach address. */
static bool held_back(Row *const *group, size_t k, const char *address) {
        for (size_t j = 0; j < k; j++)
                if (listed(group[j]->pending, group[j]->n_pending, address))
                        return true;
        return false;
}

/* Marks who each mail may go to now: per fault, only the addresses no
 * older unsent mail of the fault still has to reach. */
static int rows_order(Row *rows, size_t n) {
        _cleanup_(freep) Row **by = calloc(MAX(n, (size_t) 1), sizeof(Row *));
        size_t start = 0;

        if (!by)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                by[i] = &rows[i];
        qsort(by, n, sizeof(Row *), by_fault);
        for (size_t i = 0; i < n; i++) {
                Row *x = by[i];

                if (i > 0 && by[i - 1]->mail->fault_id != x->mail->fault_id)
                        start = i;
                for (size_t a = 0; a < x->n_pending; a++) {
                        x->now[a] = x->mail->fault_id == 0 ||
                                    !held_back(by + start, i - start, x->pending[a]);
                        x->n_now += x->now[a];
                }
        }
        return 0;
}

static int rows_load(const OutboxPending *v, size_t n, Row **ret) {
        Row *rows = calloc(MAX(n, (size_t) 1), sizeof(Row));
        int r;

        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                Row *x = &rows[i];

                x->mail = &v[i];
                r = mailer_undelivered(v[i].recipients, v[i].delivered_to, &x->pending,
                                       &x->n_pending);
                if (r == -ENOMEM) {
                        rows_free(rows, n);
                        return r;
                }
                x->error = MIN(r, 0);
                x->now = calloc(MAX(x->n_pending, (size_t) 1), sizeof(bool));
                if (!x->now) {
                        rows_free(rows, n);
                        return -ENOMEM;
                }
        }
        *ret = rows;
        return 0;
}

/* Whether the mail has something to do now: recipients to go to, none
 * left (it is to be marked sent), or recipients that cannot be read. */
static bool row_ready(const Row *x) {
        return !x->mail->held && (x->error < 0 || x->n_pending == 0 || x->n_now > 0);
}

static int plan_take(Row *x, MailerPlan *p) {
        p->id = x->mail->id;
        p->error = x->error;
        p->rcpt = calloc(MAX(x->n_now, (size_t) 1), sizeof(char *));
        if (!p->rcpt)
                return -ENOMEM;
        for (size_t a = 0; a < x->n_pending; a++)
                if (x->now[a])
                        p->rcpt[p->n_rcpt++] = TAKE_PTR(x->pending[a]);
        return 0;
}

int mailer_plan(const OutboxPending *v, size_t n, time_t now, MailerPlan *ret) {
        MailerPlan p = {};
        Row *rows = NULL, *chosen = NULL;
        int r;

        r = rows_load(v, n, &rows);
        if (r >= 0)
                r = rows_order(rows, n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                Row *x = &rows[i];

                if (!row_ready(x))
                        continue;
                if (!chosen && x->mail->next_attempt_at <= now)
                        chosen = x;
                if (p.next == 0 || x->mail->next_attempt_at < p.next)
                        p.next = x->mail->next_attempt_at;
        }
        if (r >= 0 && chosen)
                r = plan_take(chosen, &p);
        rows_free(rows, n);
        if (r < 0) {
                mailer_plan_done(&p);
                return r;
        }
        *ret = p;
        return 0;
}

int mailer_plan_load(Store *s, time_t now, MailerPlan *ret) {
        OutboxPending *v = NULL;
        MailerPlan p = {};
        time_t until = 0;
        size_t n = 0, held = 0;
        int r;

        r = store_outbox_pending(s, &v, &n);
        if (r < 0)
                return r;
        r = mailer_plan(v, n, now, &p);
        outbox_pending_free(v, n);
        if (r < 0)
                return r;
        r = store_outbox_held_pending(s, &held, &until);
        if (r < 0) {
                mailer_plan_done(&p);
                return r;
        }
        if (held > 0 && until > 0 && (p.next == 0 || until < p.next))
                p.next = until;
        *ret = p;
        return 0;
}

void mailer_plan_done(MailerPlan *p) {
        if (!p)
                return;
        p->rcpt = mail_addresses_free(p->rcpt, p->n_rcpt);
        *p = (MailerPlan) {};
}
