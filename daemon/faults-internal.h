/* SPDX-License-Identifier: MIT */
#pragma once

/* What the fault engine's files share (faults.c: results, clocks and
 * faults; faults-actions.c: operators' actions). Not for other modules. */

#include <stdint.h>

#include "faults.h"
#include "prioq.h"

typedef enum Hard {
        HARD_UNKNOWN,
        HARD_UP,
        HARD_DEGRADED,
        HARD_DOWN,
} Hard;

/* A node's site or parent: none (the VPN's site; a root's parent). */
#define NODE_NONE UINT32_MAX

typedef struct Node {
        /* Ordered by size: 144 bytes, not 176 (issue 18: three per site). */
        uint32_t site;               /* NODE_NONE for the VPN (CONFIG_MAX_SITES: fits) */
        uint32_t parent;             /* NODE_NONE for a root */
        char id[24];

        time_t last_at;
        char *last_reason;           /* NULL for none: most nodes are up */
        const char *streak_kind;     /* the degraded kind of the last results (static) */
        time_t held_since;
        Fault *fault;                /* its open fault */
        time_t prompt_received;      /* the fault's received_at that prompt is for */
        time_t prompt;               /* the deferral prompt's time (cached: calendar work) */
        time_t hint_at;              /* a trap or an event told about it then; 0: none */
        const char *hint_by;         /* "trap", "event" (static) */

        /* The anomaly window (L107-111): the times of its recent transient
         * faults and restarts, oldest first, and of its last anomaly. */
        time_t *recent;
        time_t anomaly_at;

        unsigned streak;
        unsigned kind_streak;
        NodeKind kind : 8;
        ProbeStatus last : 8;
        ProbeStatus streak_status : 8;
        Hard hard : 8;
        bool present;                /* tunnels exist only with a VPN */
        bool has_last;
        bool held;                   /* would be hard down; waiting for the parent */
        uint8_t n_recent, allocated_recent;
} Node;

struct FaultEngine {
        const Calendar *cal;
        SlaConf sla;
        const ContractConf *contract;
        bool has_vpn;
        const SiteConf *sites;
        size_t n_sites;
        unsigned fail_after, recover_after;
        uint64_t renotify_every;
        unsigned anomaly_after;      /* transients and restarts in the window make an anomaly */
        time_t anomaly_window;
        Node *nodes;
        size_t n_nodes;
        size_t vpn;                  /* SIZE_MAX without one */
        size_t site_base;
        Fault **faults;              /* open faults and those changed this round */
        size_t n_faults, allocated_faults;
        bool maybe_closed;           /* faults may have left the open state */
        Prioq *clocks;               /* per node, then per manual slot: the next clock of
                                      * its open fault (usec of the wall clock) */
        unsigned *clock_idx;         /* slot -> its place in clocks */
        Fault *manual[FAULTS_MANUAL_MAX]; /* open faults no probe clears (open, escalate) */
        size_t *by_id;               /* node indices sorted by id */

        /* The operator's action under way (faults-actions.c): what to undo
         * when its commit fails. */
        Fault *action_fault;
        Fault action_backup;
        bool action_created;         /* the action opened it */
        bool action_adopted;         /* a copy of a stored fault, for this action only */
};


/* Appends an event (of fault f, or none) to o, and f to o's faults. */
int faults_emit(FaultOutput *o, EventType type, time_t now, const char *device, Fault *f,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* The tracked fault with this id, or NULL. */
Fault *faults_lookup(FaultEngine *e, int64_t id);

/* Tracks a copy of f for the action under way (a fault no longer open, read
 * from the store). */
int faults_adopt(FaultEngine *e, const Fault *f, Fault **ret);

/* Stops tracking f (adopted for an action, or opened by one whose commit
 * failed) and frees it. */
void faults_untrack(FaultEngine *e, Fault *f);

/* After an action changed f: its clocks are looked at again; a manual fault
 * no longer open leaves its slot. */
void faults_reclock(FaultEngine *e, Fault *f);
