/* SPDX-License-Identifier: MIT */
#pragma once

/* The control socket (SPEC §6): operators' actions reach fieldwatchd over
 * $RUNTIME_DIRECTORY/control, an AF_UNIX stream socket of mode 0660 and
 * group fieldwatch-ops (when that group exists): who may connect is who
 * may act (root always may). The protocol is HTTP/1.1 with JSON bodies
 * (daemon/httpd.h):
 *
 *     POST /v1/traps      body: an SNMP notification (trap_to_json()), handed on
 *                         by `fieldwatchctl trap` from snmptrapd
 *         200 {"ok": true, "message": "..."}     its sender is re-probed
 *         403 / 404                              a wrong community / an unknown
 *                                                sender: counted, not acted on
 *
 *     POST /v1/actions    body: an action (action_to_json(), no identity)
 *         200 {"ok": true, "message": "..."}     applied and committed
 *         400 {"ok": false, "error": "..."}      not a valid action
 *         404                                    no such fault
 *         409                                    refused by the fault's state
 *         503                                    the database refuses writes now
 *
 * The caller is who the kernel says (SO_PEERCRED on the connection: uid,
 * pid), named by the daemon (getpwuid); the action is recorded with
 * os_user "NAME (uid N)". Nothing the client says about its identity is
 * believed: a body naming os_user, uid or pid is refused. --by (the
 * person's name) is a claim, recorded as such beside the OS user. */

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "action.h"
#include "httpd.h"
#include "trap.h"

#define CONTROL_SOCKET "control"
#define CONTROL_GROUP "fieldwatch-ops"
#define CONTROL_BODY_MAX (64U * 1024U)

typedef struct Control Control;

/* Applies an action for the daemon: 0 with a message, or < 0 with the
 * reason in msg: -EINVAL refused (the fault's state, or the action's times
 * against it), -ENOENT no such fault, anything else the database. os_user
 * is filled in from the peer. */
typedef int (*ControlApplyFn)(void *userdata, const Action *a, char *msg, size_t msglen);

/* Listens on runtime_dir/control (runtime_dir is made when missing, mode
 * 0755); a leftover spool directory (state_dir/actions, from versions
 * before the control socket) is noted once in the log and left alone. */
int control_new(sd_event *e, const char *runtime_dir, const char *state_dir, Control **ret);
/* Closes the socket and removes its file (when it is still ours). */
Control *control_free(Control *c);

/* Who applies actions (the current monitor; changes on reload). Until it is
 * set actions are answered 503. */
void control_set_apply(Control *c, ControlApplyFn apply, void *userdata);

/* Who takes traps: 0 (re-probing, message in msg), -ENOENT (an unknown
 * sender), -EPERM (a wrong community). */
typedef int (*ControlTrapFn)(void *userdata, const Trap *t, char *msg, size_t msglen);
void control_set_trap(Control *c, ControlTrapFn trap, void *userdata);

/* fieldwatchctl trap's side: posts t; as control_submit(). */
int control_submit_trap(const char *runtime_dir, const Trap *t, char *msg, size_t msglen);

/* The server, for other modules' routes. */
Httpd *control_httpd(Control *c);

/* fieldwatchctl's side: posts a to runtime_dir/control and waits for the
 * answer. Returns 0 with the daemon's message, -EINVAL when refused
 * (reason in msg), -ENOENT (no socket) or -ECONNREFUSED (a stale one) when
 * fieldwatchd is not running, -EACCES when the caller may not connect,
 * -EIO when no answer came (the outcome is unknown; msg says why). */
int control_submit(const char *runtime_dir, const Action *a, char *msg, size_t msglen);
