/* SPDX-License-Identifier: MIT */
#pragma once

/* What store.c and store-outbox.c share: the Store and two helpers.
 * Private to the store; nothing outside daemon/store*.c includes it. */

#include <errno.h>
#include <sqlite3.h>
#include <stdbool.h>

#include "store.h"

struct Store {
        sqlite3 *db;
        sqlite3_stmt *put_device;
        sqlite3_stmt *touch_device;
        bool relaxed;                /* synchronous = NORMAL: a device transaction */
};

static inline int sqlite_to_errno(int rc) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_DONE:
        case SQLITE_ROW:
                return 0;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_CANTOPEN:
                return -ENOENT;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        default:
                return -EIO;
        }
}

static inline const char *column_text(sqlite3_stmt *st, int i) {
        const unsigned char *t = sqlite3_column_text(st, i);

        return t ? (const char *) t : NULL;
}
