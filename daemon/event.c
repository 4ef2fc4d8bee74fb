/* SPDX-License-Identifier: MIT */

#include "event.h"
#include "macro.h"

static const struct {
        const char *name;
        const char *message_id;
        int priority;
        bool mails;
} event_types[_EVENT_TYPE_MAX] = {
        [EVENT_FAULT_RAISED] = { "fault_raised", "ca0889625ff5497da2982e5278bbd421", LOG_ERR, true },
        [EVENT_FAULT_CLEARED] = { "fault_cleared", "f7ba3c65e9b0481b8c8d7976c6ead697", LOG_NOTICE,
                                  true },
        [EVENT_FAULT_TRANSIENT] = { "fault_transient", "623b3189fd7d46f294ff28784448bf65",
                                    LOG_NOTICE, true },
        [EVENT_ANOMALY] = { "anomaly", "c95febbca44e4611896a2ab02510c4a0", LOG_WARNING, true },
        [EVENT_DEVICE_RESTARTED] = { "device_restarted", "1062f835a4be49c4b9338767e5d66a53",
                                     LOG_NOTICE, false },
        [EVENT_DEVICE_SWAPPED] = { "device_swapped", "073836127e5e4d6c9fb3310388c4267b",
                                   LOG_NOTICE, false },
        [EVENT_SLA_WARNING] = { "sla_warning", "9702cb9fa9d54d8e80c7117702b28d54", LOG_WARNING,
                                true },
        [EVENT_SLA_BREACH] = { "sla_breach", "ffe96200cbba4d93bc82aaa98b1c9d2f", LOG_CRIT, true },
        [EVENT_DEFERRAL_NEEDED] = { "deferral_needed", "b8eb8b35e9f640b49e23080ce3d1c744",
                                    LOG_WARNING, true },
        [EVENT_RENOTIFY] = { "renotify", "fd90a1f0f27341f79055aaa37119e7d7", LOG_WARNING, true },
        [EVENT_ACKNOWLEDGED] = { "acknowledged", "8d73a7c8673341378fedac0ef14748c6", LOG_INFO,
                                 false },
        [EVENT_ONSITE_STARTED] = { "onsite_started", "dff151bc76194de6bd9116fbf657de27",
                                   LOG_INFO, false },
        [EVENT_DEFERRAL_APPROVED] = { "deferral_approved", "4d6622b19fed4a2e96d66d3d98b96828",
                                      LOG_NOTICE, false },
        [EVENT_RECOVERED] = { "recovered", "d1eab58befbd45ba91304b6708d8d363", LOG_INFO, false },
        [EVENT_REPORT_SUBMITTED] = { "report_submitted", "f5b07b13770a4aacb50afaf45a96226c",
                                     LOG_INFO, false },
        [EVENT_WORK_RECORDED] = { "work_recorded", "15eed4ae4b004f62880724ac67e20c04", LOG_INFO,
                                  false },
        [EVENT_FAULT_CLOSED] = { "fault_closed", "789ab0a9d40b4fb3a48c1f0ce4dd94c5", LOG_INFO,
                                 false },
        [EVENT_REPORT_DUE] = { "report_due", "2814618de90a479a9c99a53f84b6eb64", LOG_WARNING,
                               true },
        [EVENT_REPORT_OVERDUE] = { "report_overdue", "886ecd3a53064d6d98b84e34a0b61718", LOG_ERR,
                                   true },
        [EVENT_PARTS_QUOTED] = { "parts_quoted", "ca73b545738c4331acf5656ed01f2039", LOG_INFO,
                                 false },
        [EVENT_PARTS_APPROVED] = { "parts_approved", "ac7fae9e541b4945a064a72c30511873",
                                   LOG_INFO, false },
        [EVENT_FAULT_RECEIVED] = { "fault_received", "5a3d0c1e7b2f4e6a9c8d1f0b2e4a6c81",
                                   LOG_WARNING, true },
        [EVENT_INVESTIGATED] = { "anomaly_investigated", "0e9b7d5c3a1f4b2d8e6c4a2f0d8b6e13",
                                 LOG_INFO, false },
        [EVENT_SECURITY_INCIDENT] = { "security_incident", "21da383068a144d09348307a0d064569",
                                      LOG_ALERT, true },
        [EVENT_FAULT_CHANGED] = { "fault_changed", "3f1c9a7e52d84b0c9e6a1d27b85f4c30", LOG_ERR,
                                  true },
};

const char *event_type_to_string(EventType t) {
        return t >= 0 && t < _EVENT_TYPE_MAX ? event_types[t].name : "unknown";
}

int event_type_from_string(const char *s) {
        for (int t = 0; s && t < _EVENT_TYPE_MAX; t++)
                if (streq(event_types[t].name, s))
                        return t;
        return -EINVAL;
}

const char *event_type_message_id(EventType t) {
        return t >= 0 && t < _EVENT_TYPE_MAX ? event_types[t].message_id : NULL;
}

int event_type_priority(EventType t) {
        return t >= 0 && t < _EVENT_TYPE_MAX ? event_types[t].priority : LOG_INFO;
}

bool event_type_mails(EventType t) {
        return t >= 0 && t < _EVENT_TYPE_MAX && event_types[t].mails;
}
