/* SPDX-License-Identifier: MIT */
#pragma once

/* Events: every transition of a fault and every contract clock that
 * strikes (SPEC §4, §5). The fault engine makes them, the store commits
 * them (with the mails they cause), and then the journal and the mailer
 * carry them out. Each type has a fixed 128-bit MESSAGE_ID, explained in
 * systemd/fieldwatch.catalog. */

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

typedef enum EventType {
        EVENT_FAULT_RAISED,          /* a fault turned hard */
        EVENT_FAULT_CLEARED,         /* it recovered after onsite work began */
        EVENT_FAULT_TRANSIENT,       /* it cleared by itself before onsite: its clock stops */
        EVENT_ANOMALY,               /* repeated transients/restarts: investigate (§7(1)④) */
        EVENT_DEVICE_RESTARTED,      /* uptime went backwards */
        EVENT_DEVICE_SWAPPED,        /* the serial number changed */
        EVENT_SLA_WARNING,           /* warn_before the onsite due */
        EVENT_SLA_BREACH,            /* the onsite due passed without onsite work */
        EVENT_DEFERRAL_NEEDED,       /* the supervisor must approve a next-morning visit */
        EVENT_RENOTIFY,              /* still open and unacknowledged */
        /* What operators record (fieldwatchctl). */
        EVENT_ACKNOWLEDGED,
        EVENT_ONSITE_STARTED,        /* the onsite clock stops */
        EVENT_DEFERRAL_APPROVED,     /* the due moves to the next business morning */
        EVENT_RECOVERED,             /* the report clocks start */
        EVENT_REPORT_SUBMITTED,
        EVENT_WORK_RECORDED,
        EVENT_FAULT_CLOSED,          /* a transient that needs no visit */
        /* The contract's deliverables. */
        EVENT_REPORT_DUE,
        EVENT_REPORT_OVERDUE,
        EVENT_PARTS_QUOTED,          /* a paid part's quote went to the supervisor */
        EVENT_PARTS_APPROVED,        /* ... and the city approved it */
        EVENT_FAULT_RECEIVED,        /* the fault call came (sla.reception: call): clocks start */
        EVENT_INVESTIGATED,          /* an anomaly was investigated (L107-111) */
        EVENT_SECURITY_INCIDENT,     /* reported at once (別記1 第9条, 別記2 第10条):
                                      * kind is the incident's (security_incident_kind()) */
        EVENT_FAULT_CHANGED,         /* an open fault changed kind or severity (degraded to
                                      * down, say): the same fault, its clocks kept */
        _EVENT_TYPE_MAX,
} EventType;

#define EVENT_TEXT_MAX 512

/* The site of a device id, "05" of "05-camera": what comes before the last
 * '-' (a site id may hold '-' itself: "north-01-camera"); 0 for "vpn". */
static inline int device_site_len(const char *device) {
        const char *dash = strrchr(device, '-');

        return dash ? (int) (dash - device) : 0;
}

typedef struct Event {
        int64_t id;                  /* set by the store */
        EventType type;
        time_t at;                   /* the program's wall clock */
        int64_t fault_id;            /* 0: not about a fault */
        char site[16];               /* "" for the VPN */
        char device[24];             /* "05-camera", "05-tunnel", "vpn" */
        char kind[32];               /* the fault's kind, e.g. "camera_down" */
        time_t received_at, onsite_due; /* 0 where they do not apply */
        char text[EVENT_TEXT_MAX];   /* one line for people, in English */
        char os_user[64];            /* operator actions: who ran fieldwatchctl */
        char by[72];                 /* ... and the name they gave (--by) */
} Event;

/* "fault_raised", "fault_cleared", ... */
const char *event_type_to_string(EventType t);
/* The type of a name event_type_to_string() gave, or -EINVAL. */
int event_type_from_string(const char *s);

/* The fixed MESSAGE_ID, 32 hex digits. */
const char *event_type_message_id(EventType t);

/* The syslog priority of the type. */
int event_type_priority(EventType t);

/* Whether the type sends mail to the on-call addresses. */
bool event_type_mails(EventType t);
