#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Detection latency by poll, by trap and by event (issue 16), side by side in
one run against the simulated field, every device probed every 60 s as in
production (timeouts 300 ms for the routers, 1 s for the cameras, no retries,
fail_after 3):

  poll   router 07's agent stops answering at a random moment; nothing tells us
  trap   router 08's agent stops answering and it sends linkDown through a real
         snmptrapd (the lines `fieldwatchctl snmptrapd-conf` writes)
  event  camera 09 reports image tampering on its PullPoint subscription

Each figure is the time from the moment the device failed (or said so) to the
fault's entry in the journal (its __REALTIME_TIMESTAMP). The poll case waits
for fail_after probes: two to three minutes.

  BUILD=build FW_LAB_NET=12 /usr/bin/python3 bench/detection.py [--rounds N]
"""

import argparse
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
import fwtest  # noqa: E402
import journald  # noqa: E402
import yaml  # noqa: E402
from sim.field import Field  # noqa: E402

TAMPER = "tns1:VideoSource/GlobalSceneChange/ImagingService"


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="fieldwatch-detection-")

    def edit(data):
        p = data["probes"]
        p["camera"].update(interval="60s", timeout="1s", deep_interval="10m",
                           events="pullpoint")
        p["router"].update(interval="60s", timeout="300ms", retries=0)
        p["vpn"].update(interval="60s", timeout="300ms", retries=0)
    config = fwtest.lab_config(os.path.join(tmp, "fieldwatch.yaml"), edit)
    with open(config, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    with open(os.path.join(fwtest.CREDENTIALS, "snmp-community"), encoding="utf-8") as f:
        community = f.read().strip()
    addr = {s["id"]: s["router"]["address"] for s in data["sites"]}
    field = Field(config, fwtest.CREDENTIALS, os.path.join(tmp, "field"))
    field.up()
    trapd = None
    results = {"poll": [], "trap": [], "event": []}
    try:
        with journald.Journal() as journal:
            daemon = fwtest.Daemon(os.path.join(tmp, "run"), config,
                                   extra_args=["--pretend-now", "2026-11-25T10:00:00+09:00"])
            daemon.messages("READY=1")
            conf = os.path.join(tmp, "snmptrapd.conf")
            r = fwtest.ctl("--credentials-dir", fwtest.CREDENTIALS, "snmptrapd-conf",
                           "--output", conf, "--handler", fwtest.CTL, config=config,
                           state_dir=daemon.state_dir)
            assert r.returncode == 0, r.stderr
            port = free_udp_port()
            persist = os.path.join(tmp, "persist")
            os.makedirs(persist)
            trapd = subprocess.Popen(["snmptrapd", "-f", "-Lo", "-C", "-c", conf, "-M",
                                      "/dev/null", "-m", "", f"udp:127.0.0.1:{port}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     env=dict(os.environ, SNMP_PERSISTENT_DIR=persist))
            # Every device probed once and the cameras subscribed: a minute.
            cam = field.camera("09")
            fwtest.wait_for(lambda: [s for s in cam.subscriptions() if s["waiting_pulls"]],
                            90, what="camera 09 subscribed")
            time.sleep(random.uniform(0, 60))

            def entry(device, since, timeout):
                return journal.wait_entries(1, since=since, _PID=str(daemon.proc.pid),
                                            FIELDWATCH_EVENT="fault_raised",
                                            FIELDWATCH_DEVICE=device, timeout=timeout)[0]

            for _ in range(args.rounds):
                cursor = journal.cursor()
                # Poll: the agent goes silent, nobody says so.
                field.router("07").freeze()
                t_poll = time.time()
                # Trap: the agent goes silent and says linkDown.
                field.router("08").freeze()
                t_trap = time.time()
                subprocess.run(["snmptrap", "-v", "2c", "-c", community,
                                f"--clientaddr={addr['08']}", "-M", "/dev/null", "-m", "",
                                f"127.0.0.1:{port}", "", "1.3.6.1.6.3.1.1.5.3",
                                "1.3.6.1.2.1.2.2.1.1.1", "i", "1"],
                               check=True, capture_output=True, timeout=10)
                # Event: the camera says it was turned away.
                t_event = time.time()
                cam.event(TAMPER, State=True)
                for kind, device, t0, bound in (("trap", "08-router", t_trap, 30),
                                                ("event", "09-camera", t_event, 30),
                                                ("poll", "07-router", t_poll, 300)):
                    e = entry(device, cursor, bound)
                    results[kind].append(int(e["__REALTIME_TIMESTAMP"]) / 1e6 - t0)
                field.router("07").thaw()
                field.router("08").thaw()
                cam.event(TAMPER, State=False)
                time.sleep(70)
            daemon.stop()
    finally:
        if trapd:
            trapd.send_signal(signal.SIGTERM)
            trapd.wait(timeout=10)
        field.down()
        shutil.rmtree(tmp, ignore_errors=True)
    for kind in ("poll", "trap", "event"):
        v = results[kind]
        print(f"DETECTION kind={kind} n={len(v)} seconds=" + ",".join(f"{x:.2f}" for x in v))
    return 0


if __name__ == "__main__":
    sys.exit(main())
