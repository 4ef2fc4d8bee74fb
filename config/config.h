/* SPDX-License-Identifier: MIT */
#pragma once

/* The configuration (SPEC §7): parsed from YAML by the loader in config/
 * (config.c, on yaml-tree.c and schema.c) into plain structs, validated in
 * full, immutable afterwards. A reload replaces the whole Config. Nothing
 * else in fieldwatch reads YAML.
 *
 * Durations are in microseconds, times of day in seconds after midnight,
 * dates as Day (timeutil.h). Strings are owned by the Config. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"
#include "timeutil.h"

#define CONFIG_DEFAULT_PATH "/etc/fieldwatch/fieldwatch.yaml"
/* 30,000 sites (issue 18: 30,000 cameras and 30,000 routers) in flow
 * style take about 6.3 MB. */
#define CONFIG_MAX_SITES 30000
#define CONFIG_MAX_FILE_SIZE (8u * 1024u * 1024u)

typedef enum Language {
        LANGUAGE_JA,
        LANGUAGE_EN,
} Language;

typedef enum Mount {
        MOUNT_STAINLESS_BAND,
        MOUNT_SPEAR_ARM,
        MOUNT_WALL,
} Mount;

typedef enum SnmpVersion {
        SNMP_VERSION_V2C,
        SNMP_VERSION_V3,
} SnmpVersion;

typedef enum SnmpAuth {
        SNMP_AUTH_MD5,
        SNMP_AUTH_SHA,      /* HMAC-SHA1-96, what the RTX1220 offers */
        SNMP_AUTH_SHA256,
} SnmpAuth;

typedef enum SnmpPriv {
        SNMP_PRIV_DES,
        SNMP_PRIV_AES,      /* AES-128-CFB */
} SnmpPriv;

typedef enum SmtpTls {
        SMTP_TLS_REQUIRED,  /* STARTTLS required (or smtps://) */
        SMTP_TLS_TRY,       /* STARTTLS when offered ("try", or its synonym "optional") */
        SMTP_TLS_NONE,      /* plain; only sensible on loopback */
} SmtpTls;

typedef enum CameraScheme {
        CAMERA_SCHEME_HTTP,
        CAMERA_SCHEME_HTTPS,
} CameraScheme;

typedef enum CameraAuth {
        CAMERA_AUTH_DIGEST, /* HTTP Digest, the default */
        CAMERA_AUTH_WSSE,   /* WS-Security UsernameToken PasswordDigest */
} CameraAuth;

/* Where a value came from, for messages about it after loading. */
typedef struct ConfigMark {
        unsigned line, column; /* 1-based; 0 for a built-in default */
} ConfigMark;

typedef struct ContractConf {
        char *name;
        char *title;                 /* 件名, as the city's documents name the contract */
        Day start, end;
        char *timezone;              /* default "Asia/Tokyo" */
} ContractConf;

typedef struct CalendarConf {
        int open_sec, close_sec;     /* "09:00-17:00": 32400, 61200 */
        bool closure_enabled;        /* year_end_closure, "12-29..01-03"; "" disables */
        int closure_start_month, closure_start_day;
        int closure_end_month, closure_end_day;
        Day *extra_closed;           /* sorted, no day twice */
        size_t n_extra_closed;
        char *holidays_file;         /* NULL: built-in rules; relative to the config file */
        ConfigMark holidays_file_mark;
} CalendarConf;

/* detection: a fault is received when fieldwatch detects it (inside the
 * reception window; else at its next opening). call: when the fault call
 * is received (fieldwatchctl receive); a detected fault waits. */
typedef enum SlaReception {
        SLA_RECEPTION_DETECTION,
        SLA_RECEPTION_CALL,
} SlaReception;

/* onsite: the 2-hour onsite rule. sendback: send-back maintenance (the
 * device goes back to its maker), no onsite clock. */
typedef enum SlaRule {
        SLA_RULE_ONSITE,
        SLA_RULE_SENDBACK,
} SlaRule;

typedef struct SlaConf {
        uint64_t onsite_within;           /* 2h */
        int deferred_onsite_by;           /* "11:00" */
        uint64_t warn_before;             /* 30m */
        uint64_t recovery_report_within;  /* 14d */
        uint64_t erasure_report_within;   /* 7d */
        int deferral_prompt_at;           /* "16:00" */
        uint64_t report_warn_before;      /* 3d: report_due events before a deliverable */
        SlaReception reception;           /* when a fault's clocks start (L119-123) */
        struct {
                SlaRule vpn;              /* the RTX1220's rule (L511) */
        } devices;
} SlaConf;

typedef enum CameraEventsMode {
        CAMERA_EVENTS_PULLPOINT,
        CAMERA_EVENTS_OFF,
} CameraEventsMode;

typedef struct SignalConf {
        char *name;                  /* rssi | rsrp | rsrq | sinr */
        char *oid;                   /* numeric, dotted, without a leading dot */
        bool has_warn_below, has_warn_above;
        double warn_below, warn_above;
} SignalConf;

typedef struct ProbesConf {
        unsigned fail_after;         /* 3 */
        unsigned recover_after;      /* 2 */
        unsigned anomaly_transients; /* 3 */
        uint64_t anomaly_window;     /* 24h */
        char *source_address;        /* the probes' own address (an IP literal); NULL: any */
        struct {
                uint64_t interval, timeout, deep_interval; /* 60s, 10s, 10m */
                uint64_t max_clock_skew, max_recording_lag; /* 10s, 10m */
                CameraEventsMode events;     /* pullpoint (default): ONVIF events (issue 16); off */
        } camera;
        struct {
                uint64_t interval, timeout;  /* 60s, 5s */
                unsigned retries;            /* 1 */
                SignalConf *signals;
                size_t n_signals;
        } router;
        struct {
                uint64_t interval, timeout;  /* 30s, 5s */
                unsigned retries;            /* 1 */
                unsigned max_cpu;            /* 90 (%) */
                unsigned max_memory;         /* 90 (%) */
                int max_temperature;         /* 60 (°C) */
        } vpn;
} ProbesConf;

typedef struct SmtpConf {
        char *url;                   /* smtp://host:port or smtps://host:port */
        SmtpTls tls;
        char *username;              /* NULL: no authentication */
        char *password_credential;
        uint64_t timeout;            /* 30s */
        char *ca_file;               /* CA bundle to verify the server (NULL: the system's) */
} SmtpConf;

typedef struct NotifyConf {
        SmtpConf smtp;
        char *from;
        char **to;
        size_t n_to;
        char **escalate_to;          /* the supervisor: also gets SLA breaches and deferral
                                      * prompts; may be empty */
        size_t n_escalate_to;
        char **security_to;          /* the city's contact for security incidents (別記1
                                      * 第9条): also gets every security_incident; may be
                                      * empty */
        size_t n_security_to;
        Language language;           /* ja */
        uint64_t renotify_every;     /* 2h; 0 disables */
        unsigned digest_after;       /* 10: more faults than this in a minute go in one digest */
        char *consent;               /* the city's written consent to mail leaving the
                                      * workplace (別記2 第8条(2)), e.g. a document number;
                                      * NULL: none recorded */
        bool configured;             /* a notify: section was given */
} NotifyConf;

typedef struct SnmpConf {
        SnmpVersion version;
        char *community_credential;  /* v2c */
        char *user;                  /* v3 */
        SnmpAuth auth;
        char *auth_credential;
        SnmpPriv priv;
        char *priv_credential;
        char *context;               /* v3 context name, optional */
} SnmpConf;

typedef struct VpnConf {
        char *name;                  /* "RTX1220" */
        char *address;
        uint16_t port;               /* 161 */
        SnmpConf snmp;
        ConfigMark mark;
} VpnConf;

typedef struct RouterConf {
        char *address;
        uint16_t port;               /* 161 */
        SnmpConf snmp;
        uint32_t wan_ifindex;        /* 1 */
        char *sys_name;              /* its sysName, to tell it from another site's; NULL: unchecked */
} RouterConf;

typedef struct CameraConf {
        char *address;
        uint16_t port;               /* 80 for http, 443 for https */
        CameraScheme scheme;
        char *username;
        char *password_credential;
        CameraAuth auth;
        char *model;                 /* "WV-S2536LNUX" */
        char *ca_file;               /* https: CA bundle (NULL: the system's) */
        char *pinned_public_key;     /* https: "sha256//..." as libcurl takes it */
} CameraConf;

typedef struct SiteConf {
        char *id;                    /* "01" */
        char *name;
        Mount mount;
        uint32_t tunnel;             /* RTX1220 tunnel number, 1..100 */
        RouterConf router;
        CameraConf camera;
        ConfigMark mark;
} SiteConf;

/* How long the event history and sent mails are kept (issue 14): rows older
 * are deleted daily. 0: the contract period (its length, start to end). */
typedef struct RetentionConf {
        uint64_t events;
        uint64_t mail;
} RetentionConf;

/* The web view's TCP listener (http.listen). */
#define HTTP_LISTEN_DEFAULT_ADDRESS "127.0.0.1"
#define HTTP_LISTEN_DEFAULT_PORT 9847

typedef struct HttpListen {
        bool enabled;                /* false: 'listen: off' */
        char address[46];            /* numeric IPv4 or IPv6 (INET6_ADDRSTRLEN), no brackets */
        uint16_t port;
} HttpListen;

typedef struct HttpConf {
        HttpListen listen;           /* 127.0.0.1:9847 */
        bool loopback;               /* listen.address is in 127.0.0.0/8 or ::1 */
        char *tls_cert;              /* PEM certificate file: HTTPS (NULL: plain HTTP) */
        char *tls_key;               /* PEM private key file, 0600 */
        char *auth_credential;       /* credential holding "user:password" for basic auth */
        char **allowed_hosts;        /* names a request's Host may give besides addresses
                                      * and localhost (DNS rebinding) */
        size_t n_allowed_hosts;
} HttpConf;

typedef struct Config {
        char *path;                  /* the file it came from; NULL for defaults */
        ContractConf contract;
        CalendarConf calendar;
        SlaConf sla;
        ProbesConf probes;
        NotifyConf notify;
        RetentionConf retention;
        bool has_vpn;
        VpnConf vpn;
        SiteConf *sites;
        size_t n_sites;
        char *metrics_file;          /* NULL: no metrics */
        HttpConf http;
} Config;

/* The retention of events (mail: false) or sent mails, in seconds, the
 * contract period's length by default; 0: kept for ever (no contract). */
int64_t config_retention_seconds(const Config *c, bool mail);

typedef struct ConfigError {
        char *file;
        unsigned line, column;       /* 1-based; 0 when the error is about the whole file */
        char *message;
} ConfigError;

typedef struct ConfigErrors {
        ConfigError *errors;
        size_t n_errors;
} ConfigErrors;

/* Returns a Config holding the built-in defaults of SPEC §7 and no sites,
 * no VPN, no notification. NULL only on OOM. */
Config *config_new_default(void);

/* Loads and validates a file. On success returns 0 and *ret; on failure
 * returns -EINVAL (the file is invalid: every error found is appended to
 * errs), or -errno when the file cannot be read (also appended to errs).
 * Never crashes on any bytes. */
int config_load_file(const char *path, ConfigErrors *errs, Config **ret);

/* As config_load_file() on a buffer; name is used in error messages. */
int config_load_buffer(const char *name, const char *buf, size_t len, ConfigErrors *errs,
                       Config **ret);

/* NULL-safe; returns NULL. */
Config *config_free(Config *c);

/* Appends an error (printf-style message). Returns -ENOMEM on OOM, else 0. */
_printf_(5, 6) int config_errors_add(ConfigErrors *errs, const char *file, unsigned line,
                                    unsigned column, const char *fmt, ...);

/* Frees every error; the struct can be reused. */
void config_errors_clear(ConfigErrors *errs);

/* When mail is configured without notify.consent: the warning that mail
 * leaves the workplace without the city's recorded consent (別記2
 * 第8条(2)); else NULL. Static text. */
const char *config_consent_warning(const Config *c);

/* Finds a site by id, or NULL. */
const SiteConf *config_find_site(const Config *c, const char *id);

const char *mount_to_string(Mount m);
const char *language_to_string(Language l);
const char *snmp_version_to_string(SnmpVersion v);
const char *snmp_auth_to_string(SnmpAuth a);
const char *snmp_priv_to_string(SnmpPriv p);
const char *smtp_tls_to_string(SmtpTls t);
const char *camera_scheme_to_string(CameraScheme s);
const char *camera_auth_to_string(CameraAuth a);
