/* SPDX-License-Identifier: MIT */
#pragma once

/* The state database (SQLite, WAL) in the state directory: the only code
 * that speaks SQL, always through bound parameters. The schema is
 * versioned (PRAGMA user_version) and migrated forward on open. */

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define STORE_FILE "fieldwatch.db"
#define STORE_SCHEMA_VERSION 1

typedef struct Store Store;

/* One device's last known state, as `fieldwatchctl status` shows it. */
typedef struct DeviceRow {
        const char *id;              /* "01-camera", "01-router", "vpn" */
        const char *site;            /* "01"; NULL for the VPN */
        const char *kind;            /* camera | router | vpn */
        const char *state;           /* up | down | degraded | unreachable | unknown */
        time_t last_probe_at;        /* 0: never probed */
        int64_t latency_usec;        /* -1: unknown */
        const char *reason;          /* "" when none */
        const char *values_json;     /* a JSON object of key values */
} DeviceRow;

/* Opens (creating and migrating) the database for the daemon. */
int store_open(const char *state_dir, Store **ret);

/* Opens an existing database read-only, for fieldwatchctl. -ENOENT when
 * there is none yet. */
int store_open_readonly(const char *state_dir, Store **ret);

/* NULL-safe; returns NULL. */
Store *store_close(Store *s);

/* A transaction around a batch of writes (one per loop tick). */
int store_begin(Store *s);
int store_commit(Store *s);
void store_rollback(Store *s);

/* Inserts or replaces a device's row. */
int store_put_device(Store *s, const DeviceRow *d);

/* Deletes the rows of devices not named in keep (n ids). */
int store_prune_devices(Store *s, const char *const *keep, size_t n);

/* Calls fn for every device row in id order; stops when fn returns < 0. */
typedef int (*StoreDeviceFn)(const DeviceRow *d, void *userdata);
int store_foreach_device(Store *s, StoreDeviceFn fn, void *userdata);

/* The last error message of the database, for logs. */
const char *store_error(const Store *s);
