/* SPDX-License-Identifier: MIT */

/* Which mail goes next, and to whom (mailer-plan.h). */

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "macro.h"
#include "mail.h"
#include "mailer-plan.h"

#define PLAN_PAGE 64                 /* due mails read at a time */
#define SWEEP_PAGE 256               /* unsent mails a sweep step reads */

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

int mailer_undelivered(const char *recipients, const char *delivered_to, const char *abandoned,
                       char ***ret, size_t *ret_n) {
        _cleanup_(json_decrefp) json_t *d = NULL, *a = NULL;
        char **v;
        size_t n, k = 0;
        int r;

        r = delivered_parse(delivered_to, &d);
        if (r >= 0)
                r = delivered_parse(abandoned, &a);
        if (r < 0)
                return r;
        r = mail_addresses(recipients, &v, &n);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                if (delivered_has(d, v[i]) || delivered_has(a, v[i]) || listed(v, k, v[i]))
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
        char **drop;                 /* whom it would go to but the configuration lost */
        size_t n_drop;
        int error;                   /* its recipients cannot be read */
} Row;

static void rows_free(Row *rows, size_t n) {
        for (size_t i = 0; rows && i < n; i++) {
                mail_addresses_free(rows[i].pending, rows[i].n_pending);
                mail_addresses_free(rows[i].drop, rows[i].n_drop);
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

/* Moves the pending addresses that conf (NULL: any) lacks to x->drop: they
 * are to be given up, and hold back nothing. */
static int row_drop_unlisted(Row *x, char *const *conf, size_t n_conf) {
        size_t k = 0;

        if (!conf || x->n_pending == 0)
                return 0;
        x->drop = calloc(x->n_pending, sizeof(char *));
        if (!x->drop)
                return -ENOMEM;
        for (size_t a = 0; a < x->n_pending; a++) {
                if (listed(conf, n_conf, x->pending[a]))
                        x->pending[k++] = x->pending[a];
                else
                        x->drop[x->n_drop++] = x->pending[a];
        }
        x->n_pending = k;
        if (x->n_drop == 0)
                x->drop = mfree(x->drop);
        return 0;
}

static int rows_load(const OutboxPending *v, size_t n, char *const *conf, size_t n_conf,
                     Row **ret) {
        Row *rows = calloc(MAX(n, (size_t) 1), sizeof(Row));
        int r;

        if (!rows)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                Row *x = &rows[i];

                x->mail = &v[i];
                r = mailer_undelivered(v[i].recipients, v[i].delivered_to, v[i].abandoned,
                                       &x->pending, &x->n_pending);
                if (r >= 0)
                        r = row_drop_unlisted(x, conf, n_conf);
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

/* Whether the mail has something to do now: recipients to go to or to
 * give up, none left (it is to be marked sent), or recipients that cannot
 * be read. */
static bool row_ready(const Row *x) {
        return !x->mail->held &&
               (x->error < 0 || x->n_pending == 0 || x->n_now > 0 || x->n_drop > 0);
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
        p->drop = TAKE_PTR(x->drop);
        p->n_drop = x->n_drop;
        x->n_drop = 0;
        return 0;
}

/* The plan for v, choosing among v[from...] only (the others are older
 * mails of the same fault, for the order). */
static int plan_pick(const OutboxPending *v, size_t n, size_t from, char *const *conf,
                     size_t n_conf, time_t now, MailerPlan *ret) {
        MailerPlan p = {};
        Row *rows = NULL, *chosen = NULL;
        int r;

        r = rows_load(v, n, conf, n_conf, &rows);
        if (r >= 0)
                r = rows_order(rows, n);
        for (size_t i = from; r >= 0 && i < n; i++) {
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

int mailer_plan(const OutboxPending *v, size_t n, char *const *conf, size_t n_conf, time_t now,
                MailerPlan *ret) {
        return plan_pick(v, n, 0, conf, n_conf, now, ret);
}

/* The plan for the due mail c if it has something to do now, read with the
 * older unsent mails of its fault (an id in *ret), else none. */
static int plan_candidate(Store *s, const OutboxPending *c, char *const *conf, size_t n_conf,
                          time_t now, MailerPlan *ret) {
        OutboxPending *older = NULL, *v;
        size_t n = 0;
        int r;

        if (c->fault_id != 0) {
                r = store_outbox_fault_older(s, c->fault_id, c->id, &older, &n);
                if (r < 0)
                        return r;
        }
        /* The older ones and c, sharing their strings. */
        v = calloc(n + 1, sizeof(*v));
        if (!v) {
                outbox_pending_free(older, n);
                return -ENOMEM;
        }
        if (n > 0)
                memcpy(v, older, n * sizeof(*v));
        v[n] = *c;
        r = plan_pick(v, n + 1, n, conf, n_conf, now, ret);
        free(v);
        outbox_pending_free(older, n);
        return r;
}

/* The first due mail with something to do now, oldest first. */
static int plan_due(Store *s, char *const *conf, size_t n_conf, time_t now, MailerPlan *ret) {
        int64_t after = 0;
        int r = 0;

        for (bool more = true; r >= 0 && more && ret->id == 0;) {
                OutboxPending *v = NULL;
                size_t n = 0;

                r = store_outbox_due(s, now, after, PLAN_PAGE, &v, &n);
                for (size_t i = 0; r >= 0 && i < n && ret->id == 0; i++) {
                        r = plan_candidate(s, &v[i], conf, n_conf, now, ret);
                        after = v[i].id;
                }
                more = n == PLAN_PAGE;
                outbox_pending_free(v, n);
        }
        return r;
}

int mailer_plan_load(Store *s, char *const *conf, size_t n_conf, time_t now, MailerPlan *ret) {
        MailerPlan p = {};
        time_t until = 0, next = 0;
        size_t held = 0;
        int r;

        r = plan_due(s, conf, n_conf, now, &p);
        if (r >= 0)
                r = store_outbox_next_due(s, now, &next);
        if (r < 0) {
                mailer_plan_done(&p);
                return r;
        }
        if (p.id == 0)
                p.next = next;
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
        p->drop = mail_addresses_free(p->drop, p->n_drop);
        *p = (MailerPlan) {};
}

/* ======================================================================== */
/* Giving up */

static int addresses_append(char ***v, size_t *n, const char *list) {
        char **a, **w;
        size_t k;
        int r;

        r = mail_addresses(list, &a, &k);
        if (r < 0)
                return r;
        w = reallocarray(*v, *n + k + 1, sizeof(char *));
        if (!w) {
                mail_addresses_free(a, k);
                return -ENOMEM;
        }
        memcpy(w + *n, a, k * sizeof(char *));
        free(a);
        *v = w;
        *n += k;
        return 0;
}

int mailer_config_addresses(const Config *c, char ***ret, size_t *ret_n) {
        const NotifyConf *nc = &c->notify;
        struct {
                char **v;
                size_t n;
        } lists[] = { { nc->to, nc->n_to },
                      { nc->escalate_to, nc->n_escalate_to },
                      { nc->security_to, nc->n_security_to } };
        char **v = NULL;
        size_t n = 0;
        int r = 0;

        for (size_t l = 0; r >= 0 && l < ELEMENTSOF(lists); l++)
                for (size_t i = 0; r >= 0 && i < lists[l].n; i++)
                        r = addresses_append(&v, &n, lists[l].v[i]);
        if (r < 0) {
                mail_addresses_free(v, n);
                return r;
        }
        *ret = v;
        *ret_n = n;
        return 0;
}

bool mailer_give_up_due(long code, bool server_wide, time_t created_at, time_t now) {
        if (server_wide)
                return false;
        if (code >= 500 && code < 600)
                return now - created_at >= MAILER_GIVE_UP_SEC;
        return now - created_at >= MAILER_QUEUE_LIFETIME_SEC;
}

int mailer_give_up(Store *s, OutboxMail *mail, const char *delivered_to, char *const *v,
                   size_t n, const char *why) {
        _cleanup_(freep) char *a = strdup(mail->abandoned ?: "[]");
        char **left = NULL;
        size_t n_left = 0;
        int r = a ? 0 : -ENOMEM;

        for (size_t i = 0; r >= 0 && i < n; i++) {
                char *na;

                r = mailer_delivered_add(a, v[i], &na);
                if (r >= 0) {
                        free(a);
                        a = na;
                }
        }
        if (r >= 0)
                r = store_outbox_abandon(s, mail->id, a);
        if (r < 0)
                return log_errno(LOG_WARNING, r, "Mail %lld (%s): giving it up for %zu address%s "
                                 "cannot be recorded yet (%s); tried again at its next turn",
                                 (long long) mail->id, mail->message_id, n, n == 1 ? "" : "es",
                                 store_error(s));
        for (size_t i = 0; i < n; i++)
                log_error("Mail %lld (%s) given up for %s: %s; it will not be sent to this "
                          "address",
                          (long long) mail->id, mail->message_id, v[i], why);
        free(mail->abandoned);
        mail->abandoned = TAKE_PTR(a);
        delivered_to = delivered_to ?: mail->delivered_to;
        if (mailer_undelivered(mail->recipients, delivered_to, mail->abandoned, &left,
                               &n_left) >= 0 &&
            n_left == 0 && (!delivered_to || streq(delivered_to, "[]") || !*delivered_to))
                log_error("Mail %lld (%s) reached nobody: it is given up for every recipient "
                          "(%s)",
                          (long long) mail->id, mail->message_id, mail->recipients);
        mail_addresses_free(left, n_left);
        return 0;
}

/* Gives mail id up for the addresses of pending that conf lacks, and marks
 * it sent when nobody is left. */
static int sweep_one(Store *s, int64_t id, char **pending, size_t n, char *const *conf,
                     size_t n_conf, time_t now) {
        _cleanup_(outbox_mail_done) OutboxMail m = {};
        char **drop = calloc(MAX(n, (size_t) 1), sizeof(char *));
        size_t n_drop = 0;
        int r;

        if (!drop)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                if (!listed(conf, n_conf, pending[i]))
                        drop[n_drop++] = pending[i];
        r = n_drop == 0 ? 0 : store_outbox_get(s, id, &m);
        if (r >= 0 && n_drop > 0)
                r = mailer_give_up(s, &m, NULL, drop, n_drop, MAILER_WHY_UNLISTED);
        free(drop); /* the strings are pending's */
        if (r < 0 || n_drop < n)
                return r;
        r = store_outbox_sent(s, id, now, NULL);
        if (r >= 0)
                log_notice("Mail %lld (%s) had reached or was given up for every recipient: "
                           "marked sent",
                           (long long) id, m.message_id);
        return r == -ENOENT ? 0 : r;
}

int mailer_sweep(Store *s, char *const *conf, size_t n_conf, OutboxPending *after, time_t now) {
        OutboxPending *v = NULL;
        size_t n = 0;
        int r;

        r = store_outbox_unsent_after(s, after->id > 0 ? after : NULL, SWEEP_PAGE, &v, &n);
        for (size_t i = 0; r >= 0 && i < n; i++) {
                char **pending = NULL;
                size_t k = 0;

                *after = (OutboxPending) { .id = v[i].id, .next_attempt_at = v[i].next_attempt_at };
                if (mailer_undelivered(v[i].recipients, v[i].delivered_to, v[i].abandoned,
                                       &pending, &k) < 0)
                        continue; /* the plan records that error */
                /* Logged; a mail the database will not record waits for its turn. */
                (void) sweep_one(s, v[i].id, pending, k, conf, n_conf, now);
                mail_addresses_free(pending, k);
        }
        outbox_pending_free(v, n);
        if (r < 0)
                return r;
        return n == SWEEP_PAGE;
}
