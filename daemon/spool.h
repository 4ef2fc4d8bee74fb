/* SPDX-License-Identifier: MIT */
#pragma once

/* The action spool: $STATE_DIRECTORY/actions, writable by group
 * fieldwatch-ops. fieldwatchctl drops NAME.json (written as a temporary
 * file, then renamed); the daemon claims it by renaming it to NAME.taken,
 * applies it, and leaves NAME.result ({"ok": bool, "message": "..."}) for
 * fieldwatchctl, which removes it. A fieldwatchctl that waited in vain
 * cancels by renaming NAME.json away: whoever renames first wins, so an
 * action is applied once or not at all. */

#include <stdbool.h>
#include <systemd/sd-event.h>
#include <time.h>

#include "action.h"

typedef struct Spool Spool;

/* Called for each action taken; fills msg and returns 0 (applied) or < 0
 * (refused). The uid is the owner of the action's file. */
typedef int (*SpoolApplyFn)(void *userdata, const Action *a, unsigned uid, char *msg,
                            size_t msglen);

/* Creates the directory when missing (mode 2770, group fieldwatch-ops when
 * it exists) and watches it (inotify); actions queued before are taken at
 * once. */
int spool_new(sd_event *e, const char *state_dir, SpoolApplyFn apply, void *userdata,
              Spool **ret);
Spool *spool_free(Spool *s);

/* Takes every queued action now. */
void spool_run(Spool *s);

/* fieldwatchctl's side: queues a, waits up to timeout for the result.
 * Returns 0 with the daemon's message when applied, -EINVAL when the
 * daemon refused it (message in msg), -ETIMEDOUT when no daemon took it
 * (it was withdrawn: nothing changed), -EACCES when the spool is not
 * writable, or another -errno. */
int spool_submit(const char *state_dir, const Action *a, unsigned timeout_sec, char *msg,
                 size_t msglen);
