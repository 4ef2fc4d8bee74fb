/* SPDX-License-Identifier: MIT */
#pragma once

/* Operator actions (SPEC §6): fieldwatchctl posts one as JSON to the
 * daemon's control socket (control.h; group fieldwatch-ops may connect);
 * fieldwatchd names the caller from the connection, checks the action
 * against the fault, applies it in one transaction with its event, and
 * answers once it is committed. The daemon is the only writer of the
 * database. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "text.h" /* text_valid(), which action_validate() applies */

#define ACTIONS_DIR "actions"          /* the spool of earlier versions, now ignored */
#define ACTION_TEXT_MAX 2000         /* bytes of UTF-8 in one text field */
#define ACTION_NAME_MAX 64           /* bytes of a person's name */
#define ACTION_PARTS_MAX 16

typedef enum ActionType {
        ACTION_ACK,
        ACTION_ONSITE,
        ACTION_DEFER,
        ACTION_RECOVER,
        ACTION_REPORT_SUBMITTED,
        ACTION_WORK_ADD,
        ACTION_CLOSE,
        ACTION_WORK_EDIT,            /* a work record's title, content, notes or times */
        ACTION_PARTS_QUOTE,          /* 有償交換部品: the quote handed to the supervisor */
        ACTION_PARTS_APPROVED,       /* ... and the city's approval of it */
        ACTION_RECEIVE,              /* the fault call came (sla.reception: call) */
        ACTION_OPEN,                 /* a fault reported by phone that no probe sees */
        ACTION_INVESTIGATE,          /* an anomaly investigated (L107-111) */
        ACTION_ESCALATE,             /* ... and reproduced: handled as a fault */
        _ACTION_TYPE_MAX,
} ActionType;

typedef struct Action {
        ActionType type;
        int64_t fault_id;            /* 0 for work without a fault */
        int64_t work_id;             /* work edit: the record */
        char by[ACTION_NAME_MAX + 1];
        char os_user[64];            /* set by the daemon from the connection's peer,
                                      * never taken from the request */
        time_t requested_at;         /* the program's wall clock when asked */
        time_t at;                   /* onsite --at, work start; 0: now */
        time_t end_at;               /* work end */
        time_t start_at;             /* recover: when this visit's work began (--start) */
        char *note;                  /* ack/close note, defer reason, work notes */
        char *cause, *action, *prevention;
        char *title, *content;       /* work */
        char *parts[ACTION_PARTS_MAX];
        size_t n_parts;
        bool media_replaced;
        bool remote;                 /* recover: no onsite visit was needed */
        bool temporary;              /* recover: provisional, approved; the final follows */
        char loaner[64];             /* recover: the model of a substitute installed */
        int64_t amount;              /* parts quote: yen, tax included */
        char kind[32];               /* report-submitted: recovery | erasure, or a contract
                                      * deliverable: quarterly_report | annual_plan |
                                      * completion_notice | archive (then due names it) */
        char due[16];                /* a deliverable's due day, YYYY-MM-DD */
        char from[ACTION_NAME_MAX + 1]; /* receive: who called */
        char site[16];               /* open: the site id */
        char device[16];             /* open: camera | router | vpn | site */
        int64_t anomaly_id;          /* investigate, escalate: the anomaly (an event id) */
} Action;

const char *action_type_to_string(ActionType t);
int action_type_from_string(const char *s);

/* Whether kind names a contract deliverable (not a fault's report). */
bool action_is_deliverable(const char *kind);

/* Frees the owned strings. */
void action_done(Action *a);

/* Checks what can be checked without the database: lengths, UTF-8 without
 * control characters (but newlines in long texts), required fields,
 * end after start. On failure returns -EINVAL with a message in err. */
int action_validate(const Action *a, char *err, size_t errlen);

/* JSON, the body of POST /v1/actions. No identity: os_user is neither
 * written nor read. */
char *action_to_json(const Action *a);
int action_from_json(const char *json, Action *ret, char *err, size_t errlen);
