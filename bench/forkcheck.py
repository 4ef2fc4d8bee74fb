#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The fork-per-check way, for fieldwatch's benchmark: one plugin process per
target and turn, as Nagios, Icinga or a cron loop run monitoring-plugins.

  forkcheck.py --targets FILE --interval SECONDS --duration SECONDS
               [--concurrency 8] -- COMMAND ARG... ({addr} and {port} replaced)

FILE has one "ADDRESS:PORT" a line. Every target is checked once per interval,
the targets spread evenly over it; a check is started when it is due and fewer
than --concurrency checks run, else that turn is skipped (counted). After
--duration no new check starts and the running ones are waited for (bounded:
they carry their own -t timeout; stragglers are killed after 30 s).

Prints one JSON line: {"started", "ok", "failed", "skipped", "cpu_user",
"cpu_system", "maxrss_kib"} where the CPU seconds and the peak RSS are those of
the checks (and their own children, such as check_snmp's snmpget) from
getrusage(RUSAGE_CHILDREN), not this scheduler's.
"""

import argparse
import json
import os
import resource
import signal
import sys
import time

STRAGGLER_TIMEOUT = 30.0


def reap(running, stats, block=False):
    """Collects finished checks; with block, waits for one (bounded by the caller)."""
    while running:
        try:
            pid, status = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            running.clear()
            return
        if pid == 0:
            return
        if running.pop(pid, None) is not None:
            if os.waitstatus_to_exitcode(status) == 0:
                stats["ok"] += 1
            else:
                stats["failed"] += 1
        block = False


def main(argv=None):
    if argv is None:
        argv = sys.argv[1:]
    if "--" not in argv:
        print("usage: forkcheck.py OPTIONS -- COMMAND ARG...", file=sys.stderr)
        return 2
    split = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--targets", required=True)
    p.add_argument("--interval", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--concurrency", type=int, default=8)
    args = p.parse_args(argv[:split])
    command = argv[split + 1:]
    with open(args.targets, encoding="utf-8") as f:
        targets = [line.strip().rsplit(":", 1) for line in f if line.strip()]
    if not command or not targets:
        p.error("no command or no targets")
    devnull = os.open(os.devnull, os.O_RDWR)
    stats = {"started": 0, "ok": 0, "failed": 0, "skipped": 0}
    running = {}
    n = len(targets)
    start = time.monotonic()
    end = start + args.duration
    cursor, rnd = 0, start
    signal.signal(signal.SIGTERM, lambda *_: None)  # the driver waits for the JSON line
    while time.monotonic() < end:
        reap(running, stats)
        now = time.monotonic()
        while True:
            due = rnd + args.interval * cursor / n
            if due > now:
                break
            if len(running) >= args.concurrency:
                stats["skipped"] += 1
            else:
                addr, port = targets[cursor]
                argv_i = [a.replace("{addr}", addr).replace("{port}", port) for a in command]
                pid = os.posix_spawn(argv_i[0], argv_i, os.environ,
                                     file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0),
                                                   (os.POSIX_SPAWN_DUP2, devnull, 1),
                                                   (os.POSIX_SPAWN_DUP2, devnull, 2)])
                running[pid] = time.monotonic()
                stats["started"] += 1
            cursor += 1
            if cursor == n:
                cursor, rnd = 0, rnd + args.interval
        wait = max(0.0, min(due, end) - time.monotonic())
        time.sleep(min(wait, 0.002) if running else wait)
    deadline = time.monotonic() + STRAGGLER_TIMEOUT
    while running and time.monotonic() < deadline:
        reap(running, stats)
        time.sleep(0.01)
    for pid in list(running):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    while running:
        reap(running, stats, block=True)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    stats.update(cpu_user=ru.ru_utime, cpu_system=ru.ru_stime, maxrss_kib=ru.ru_maxrss)
    print(json.dumps(stats))
    return 0


if __name__ == "__main__":
    sys.exit(main())
