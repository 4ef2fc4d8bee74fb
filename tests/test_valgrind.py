#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""One end-to-end scenario under valgrind (issue 8): fieldwatchd runs under
`valgrind --error-exitcode=1 --leak-check=full` against the simulated field
and a real SMTP server while a camera fault rises and is mailed, an operator
acknowledges it, the configuration is reloaded, the camera recovers, and the
daemon is stopped. Valgrind must report no error and no lost memory, and the
daemon must exit 0.

Skipped for the sanitizer build (ASan and valgrind do not mix).

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_valgrind.py
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from sim.field import Field  # noqa: E402
from fwtest import Smtp, free_port  # noqa: E402

VALGRIND = shutil.which("valgrind")
PRETEND = "2026-11-25T10:00:00+09:00"
SITES = 5      # the first five sites: v2c and v3 routers, Digest and WS-Security cameras


def sanitized():
    r = subprocess.run(["ldd", fwtest.DAEMON], capture_output=True, text=True, timeout=10)
    return "libasan" in r.stdout or "libubsan" in r.stdout


@unittest.skipUnless(VALGRIND, "valgrind is not installed (make deps installs it)")
class UnderValgrind(unittest.TestCase):
    def setUp(self):
        if sanitized():
            self.skipTest("the sanitizer build does not run under valgrind")
        self.tmp = tempfile.mkdtemp(prefix="fieldwatch-valgrind-")
        self.port = free_port()

        def edit(data):
            fwtest.fast_probes(data, camera="3s", timeout="2s", deep="6s")
            for kind in ("router", "vpn"):
                data["probes"][kind].update(interval="3s", timeout="2s")
            data["sites"] = data["sites"][:SITES]
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{self.port}"
        self.config = fwtest.lab_config(os.path.join(self.tmp, "fieldwatch.yaml"), edit)
        self.field = Field(self.config, fwtest.CREDENTIALS, os.path.join(self.tmp, "field"))
        self.field.up()
        self.smtp = Smtp(self.tmp, self.port)
        self.smtp.start()
        self.daemon = None

    def tearDown(self):
        try:
            if self.daemon:
                self.daemon.stop(timeout=60)
        finally:
            self.smtp.stop()
            self.field.down()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(self.tmp, ignore_errors=True)

    def faults(self):
        r = fwtest.ctl("faults", "--json", state_dir=self.daemon.state_dir, config=self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_scenario(self):
        d = self.daemon = fwtest.Daemon(
            self.tmp, self.config, extra_args=["--pretend-now", PRETEND],
            wrapper=[VALGRIND, "--error-exitcode=1", "--leak-check=full",
                     "--errors-for-leak-kinds=definite,indirect,possible",
                     "--show-leak-kinds=definite,indirect,possible", "--track-fds=no",
                     "--quiet"])
        d.messages("READY=1", timeout=120)
        d.wait_device("02-camera", "up", timeout=90)
        self.field.camera("02").fault("down")
        fault = fwtest.wait_for(lambda: [f for f in self.faults() if f["device"] == "02-camera"],
                                90, what="the camera fault")[0]
        fwtest.wait_for(lambda: [m for m in self.smtp.mails() if m["status"] == "accepted"],
                        90, what="its mail")
        r = fwtest.ctl("ack", str(fault["id"]), "--by", "valgrind", state_dir=d.state_dir,
                       config=self.config, timeout=90)
        self.assertEqual(r.returncode, 0, r.stderr + r.stdout)
        d.proc.send_signal(signal.SIGHUP)
        d.messages("RELOADING=1", timeout=60)
        d.messages("READY=1", timeout=120)
        self.field.camera("02").clear()
        fwtest.wait_for(lambda: [f for f in self.faults()
                                 if f["id"] == fault["id"] and f["state"] != "open"],
                        90, what="the fault cleared")
        d.proc.send_signal(signal.SIGTERM)
        try:
            code = d.proc.wait(90)
        except subprocess.TimeoutExpired:
            self.fail("no exit within 90 s of SIGTERM under valgrind")
        log = d.log()
        self.daemon.stop()
        self.daemon = None
        # --quiet: valgrind prints only its findings, each line "==PID== ...".
        findings = [line for line in log.splitlines() if re.match(r"==\d+== ", line)]
        self.assertEqual(findings, [], "\n".join(findings[:80]))
        self.assertEqual(code, 0, log[-3000:])


if __name__ == "__main__":
    unittest.main(verbosity=2)
