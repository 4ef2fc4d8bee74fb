#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make demo: fieldwatchd watching the 27 simulated sites of config/lab.yaml.

Checks the configurations, brings the simulated field up on loopback
(tests/sim/field.py), starts fieldwatchd against it, and shows the live
`fieldwatchctl status` while it injects a few faults on a schedule. Ctrl-C
(or DEMO_SECONDS, when set) ends it: the daemon and the field are stopped,
by the PIDs this program started.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from sim.field import Field  # noqa: E402
from fwtest import private_credentials  # noqa: E402

BUILD = os.path.join(ROOT, sys.argv[1] if len(sys.argv) > 1 else "build")
CTL = os.path.join(BUILD, "fieldwatchctl")
DAEMON = os.path.join(BUILD, "fieldwatchd")
LAB = os.path.join(ROOT, "config", "lab.yaml")
CREDENTIALS = os.path.join(ROOT, "tests", "credentials")

# (seconds after start, what, action)
SCRIPT = [
    (15, "camera 05 stops answering", lambda f: f.camera("05").fault("silent")),
    (20, "router 12: LTE signal weak", lambda f: f.router("12").set(rsrp=-121)),
    (25, "camera 08: clock 40 s ahead", lambda f: f.camera("08").fault("clock_skew", seconds=40)),
    (30, "RTX1220: tunnel 20 down", lambda f: f.vpn.set_tunnel(20, False)),
    (35, "camera 17: SD card error", lambda f: f.camera("17").fault("sd_error")),
    (60, "camera 05 answers again", lambda f: f.camera("05").clear()),
    (65, "router 12: signal back", lambda f: f.router("12").set(rsrp=-95)),
    (70, "tunnel 20 up again", lambda f: f.vpn.set_tunnel(20, True)),
]

STOP = False


def on_signal(signum, frame):
    global STOP
    STOP = True


def ctl(*args):
    return subprocess.run([CTL, "--config", LAB, *args], capture_output=True, text=True,
                          timeout=20)


def show(state_dir, elapsed, events):
    r = ctl("--state-dir", state_dir, "status", "--json")
    devices = {d["device"]: d for d in json.loads(r.stdout)} if r.returncode == 0 else {}
    out = ["\033[H\033[J", f"fieldwatch demo — 27 simulated sites, {elapsed:.0f} s "
           "(Ctrl-C to stop)\n\n"]
    vpn = devices.get("vpn")
    if vpn:
        v = vpn["values"]
        out.append(f"RTX1220  {vpn['state']:<9} cpu {v.get('cpu', '?')}%  "
                   f"mem {v.get('memory', '?')}%  {v.get('temperature', '?')}°C  "
                   f"alarm {v.get('alarm', '?')}\n\n")
    out.append(f"{'site':<5}{'router':<10}{'tunnel':<8}{'rsrp':>6}  {'camera':<10}"
               f"{'skew':>7}  reason\n")
    for i in range(1, 28):
        s = f"{i:02d}"
        rt, cam = devices.get(f"{s}-router", {}), devices.get(f"{s}-camera", {})
        rv, cv = rt.get("values", {}), cam.get("values", {})
        skew = cv.get("clock_skew")
        reason = cam.get("reason") or rt.get("reason") or ""
        out.append(f"{s:<5}{rt.get('state', '?'):<10}{rv.get('tunnel', '?'):<8}"
                   f"{rv.get('rsrp', ''):>6}  {cam.get('state', '?'):<10}"
                   f"{'' if skew is None else f'{skew:+.1f}':>7}  {reason[:60]}\n")
    out.append("\ninjected: " + ("; ".join(events[-4:]) or "nothing yet") + "\n")
    sys.stdout.write("".join(out))
    sys.stdout.flush()


def main():
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    limit = float(os.environ.get("DEMO_SECONDS", "0") or 0)
    for config in ("ichikawa-2025.yaml", "lab.yaml"):
        r = subprocess.run([CTL, "--config", os.path.join(ROOT, "config", config),
                            "check-config"], capture_output=True, text=True, timeout=20)
        sys.stdout.write(r.stdout + r.stderr)
        if r.returncode != 0:
            return 1
    tmp = tempfile.mkdtemp(prefix="fieldwatch-demo-")
    state_dir = os.path.join(tmp, "state")
    os.makedirs(state_dir)
    # fieldwatchd refuses secrets that group or others may read: a 0600 copy.
    creds = private_credentials(os.path.join(tmp, "credentials"), CREDENTIALS)
    print(f"Bringing up the simulated field in {tmp} ...")
    with Field(LAB, CREDENTIALS, os.path.join(tmp, "field")) as field:
        log = open(os.path.join(tmp, "fieldwatchd.log"), "wb")
        daemon = subprocess.Popen([DAEMON, "--config", LAB, "--state-dir", state_dir,
                                   "--runtime-dir", os.path.join(tmp, "run"),
                                   "--credentials-dir", creds],
                                  stdout=log, stderr=subprocess.STDOUT)
        start = time.monotonic()
        events, script = [], list(SCRIPT)
        try:
            while not STOP and daemon.poll() is None:
                elapsed = time.monotonic() - start
                if limit and elapsed > limit:
                    break
                while script and script[0][0] <= elapsed:
                    _, what, action = script.pop(0)
                    action(field)
                    events.append(f"{elapsed:.0f}s {what}")
                show(state_dir, elapsed, events)
                time.sleep(1)
        finally:
            if daemon.poll() is None:
                daemon.send_signal(signal.SIGTERM)
                try:
                    daemon.wait(5)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait(5)
            log.close()
    print(f"\nfieldwatchd exited with {daemon.returncode}; its log: {tmp}/fieldwatchd.log")
    return 0 if daemon.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
