#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""make demo: fieldwatchd watching the 27 simulated sites of config/lab.yaml.

Checks the configurations, brings the simulated field up on loopback
(tests/sim/field.py), starts fieldwatchd against it, and shows the live
`fieldwatchctl status` while it injects a few faults on a schedule. Ctrl-C
(or DEMO_SECONDS, when set) ends it: the daemon and the field are stopped,
by the PIDs this program started.
"""

import datetime
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
from fwtest import Smtp, private_credentials  # noqa: E402

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


def web_url(config):
    """The web view's URL, from the configuration's http.listen (default 127.0.0.1:9847)."""
    import yaml
    with open(config, encoding="utf-8") as f:
        http = (yaml.safe_load(f) or {}).get("http") or {}
    listen = http.get("listen", "127.0.0.1:9847")
    if listen == "off":
        return None
    host, port = listen.rsplit(":", 1)
    return f"{'https' if http.get('tls_cert') else 'http'}://{host}:{port}/"


def clock(due):
    """Time left to an ISO 8601 due (with its offset), as 1h02m or -0h05m."""
    if not due:
        return "-"
    left = (datetime.datetime.fromisoformat(due)
            - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    a = int(abs(left))
    return f"{'-' if left < 0 else ''}{a // 3600}h{a % 3600 // 60:02d}m"


def show(state_dir, elapsed, events, url, smtp):
    r = ctl("--state-dir", state_dir, "status", "--json")
    devices = {d["device"]: d for d in json.loads(r.stdout)} if r.returncode == 0 else {}
    out = ["\033[H\033[J", f"fieldwatch demo — 27 simulated sites, {elapsed:.0f} s "
           "(Ctrl-C to stop)\n",
           f"web view: {url}\n\n" if url else "web view: off (http.listen)\n\n"]
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
    r = ctl("--state-dir", state_dir, "faults", "--open", "--json")
    faults = json.loads(r.stdout) if r.returncode == 0 else []
    out.append(f"\nopen faults: {len(faults)}\n")
    for f in faults[-6:]:
        out.append(f"  #{f['id']:<4}{f['device']:<11}{f['kind']:<20}clock {clock(f.get('due')):>8}"
                   f"  {'ack ' + f['acknowledged_by'] if f.get('acknowledged_by') else ''}\n")
    mails = smtp.mails() if smtp else []
    out.append(f"mails: {len(mails)}" + ("" if smtp else " (no SMTP sink: port 2525 busy)")
               + "\n")
    for m in mails[-4:]:
        out.append(f"  {m.get('subject', '')[:90]}\n")
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
    url = web_url(LAB)
    if url:
        print(f"The web view will be at {url}")
    # The mails go to a real SMTP sink on notify.smtp's port (lab: 2525).
    smtp = Smtp(tmp, 2525)
    try:
        smtp.start()
    except AssertionError:
        smtp.stop()
        smtp = None
    try:
        return run(tmp, state_dir, creds, limit, url, smtp)
    finally:
        if smtp:
            smtp.stop()


def run(tmp, state_dir, creds, limit, url, smtp):
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
                show(state_dir, elapsed, events, url, smtp)
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
    if url:
        print(f"(the web view was at {url})")
    return 0 if daemon.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
