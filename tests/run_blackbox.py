#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the black-box suites, several at once (make blackbox).

Most of a suite's time is waiting: for probe intervals, clocks placed with
--pretend-now, a simulated device to fail. Run one after another the suites
take about 15 minutes; JOBS of them at once (default 3, `make check
BLACKBOX_JOBS=N`) take about a third of that on two cores.

What keeps them apart: each job slot has its own FW_LAB_NET (the simulated
field on 127.N.x.y, tests/fwtest.py); every other port is picked by the
kernel; state, runtime and credentials directories are temporary per suite.
One journald serves them all: this runner holds it (tests/journald.py lets
several programs share one and stops it only when the last leaves), so no
suite starts or stops it under another. The suites that change what the
others stand on run alone after the pool: EXCLUSIVE (test_surroundings
restarts journald and mounts tmpfs over directories; test_control makes
the system's group fieldwatch-ops, which a daemon running as nobody
elsewhere then cannot give its socket to).

A suite's output is printed whole when it ends, so that logs do not
interleave; the failures are named at the end. Every suite runs under
`timeout` (SUITE_TIMEOUT), so the run is bounded, in a process group of its
own that is ended with the suite (and with the runner): a daemon a suite
leaves behind would go on probing the next suite's field on the same
FW_LAB_NET (seen: a run killed by hand left two, and the simulated cameras
of later runs refused their stale Digest credentials).
"""

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import journald  # noqa: E402

EXCLUSIVE = {"test_surroundings.py", "test_control.py"}
# The longest first, so the pool ends together (seconds, measured alone).
EXPECTED = {"test_faults.py": 260, "test_surroundings.py": 120, "test_soak.py": 110,
            "test_mail_e2e.py": 95, "test_actions.py": 80, "test_systemd.py": 60,
            "test_hostile.py": 60, "test_valgrind.py": 55, "test_daemon.py": 30,
            "test_web_browser.py": 75, "test_web.py": 50}
SUITE_TIMEOUT = 600


def end_group(pgid):
    """Ends what is left of a suite's process group (the group the runner made)."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    time.sleep(0.5)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


RUNNING = {}                         # pgid -> suite, for the runner's own end


def run_pool(suites, jobs, env_base):
    """Runs suites with at most jobs at once; returns the failed ones."""
    pending = sorted(suites, key=lambda s: -EXPECTED.get(os.path.basename(s), 20))
    running = {}                     # slot -> (suite, proc, started)
    failed = []
    free = list(range(1, jobs + 1))
    while pending or running:
        while pending and free:
            slot = free.pop(0)
            suite = pending.pop(0)
            env = dict(env_base, FW_LAB_NET=str(slot))
            # Its own process group: whatever the suite leaves running (a
            # daemon it failed to stop) ends with it, and cannot go on probing
            # the next suite's field on the same FW_LAB_NET.
            proc = subprocess.Popen(["timeout", str(SUITE_TIMEOUT), sys.executable, suite],
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                    start_new_session=True)
            running[slot] = (suite, proc, time.monotonic())
            RUNNING[proc.pid] = suite
        time.sleep(0.2)
        for slot, (suite, proc, started) in list(running.items()):
            if proc.poll() is None:
                continue
            out = proc.stdout.read().decode("utf-8", "replace")
            proc.stdout.close()
            end_group(proc.pid)
            print(f"== {suite} (FW_LAB_NET={slot}, {time.monotonic() - started:.0f} s)")
            sys.stdout.write(out)
            if proc.returncode != 0:
                print(f"FAILED: {suite} (exit {proc.returncode})")
                failed.append(suite)
            sys.stdout.flush()
            del running[slot]
            RUNNING.pop(proc.pid, None)
            free.append(slot)
    return failed


def on_signal(signum, frame):
    """Interrupted (Ctrl-C, a CI timeout): the suites' groups end too."""
    for pgid in list(RUNNING):
        end_group(pgid)
    sys.exit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    suites = sys.argv[1:]
    jobs = max(1, int(os.environ.get("BLACKBOX_JOBS", "3")))
    env = dict(os.environ)
    env.pop("FW_LAB_NET", None)
    began = time.monotonic()
    pooled = [s for s in suites if os.path.basename(s) not in EXCLUSIVE]
    alone = [s for s in suites if os.path.basename(s) in EXCLUSIVE]
    with journald.Journal():
        failed = run_pool(pooled, jobs, env)
        failed += run_pool(alone, 1, env)
    print(f"blackbox: {len(suites) - len(failed)} suites passed, {len(failed)} failed "
          f"in {time.monotonic() - began:.0f} s ({jobs} at once)")
    for s in failed:
        print(f"FAILED: {s}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
