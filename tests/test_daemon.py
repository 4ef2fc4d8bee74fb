#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of fieldwatchd's life cycle as systemd sees it: READY=1 on
a socket the test owns (NOTIFY_SOCKET), watchdog pings, SIGHUP reloads that
keep the running configuration when the new one is invalid, and a clean stop
on SIGTERM.

Run from the repository root: BUILD=build python3 tests/test_daemon.py
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fwtest import LAB, Daemon  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
DAEMON = os.path.join(BUILD, "fieldwatchd")


class Lifecycle(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fieldwatch-test-")
        self.config = os.path.join(self.tmp, "fieldwatch.yaml")
        shutil.copy(LAB, self.config)
        self.d = None

    def tearDown(self):
        if self.d:
            self.d.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_ready_status_and_sigterm(self):
        self.d = Daemon(self.tmp, self.config)
        self.d.messages("READY=1")
        self.d.proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        rc = self.d.proc.wait(5)
        self.assertEqual(rc, 0, self.d.log())
        self.assertLess(time.monotonic() - t0, 1.0)
        rest = "\n".join(self.d.messages("STOPPING=1", 2))
        self.assertIn("STOPPING=1", rest)

    def test_status_names_the_sites(self):
        self.d = Daemon(self.tmp, self.config)
        self.d.messages("READY=1")
        msgs = self.d.messages("STATUS=27 sites: ", 5)
        self.assertRegex(msgs[-1], r"STATUS=27 sites: \d+ up, \d+ degraded, \d+ down, \d+ unknown")

    def test_watchdog_pings(self):
        self.d = Daemon(self.tmp, self.config, watchdog_usec=400000)
        self.d.messages("READY=1")
        # sd-event pings at a quarter to a half of WATCHDOG_USEC: several within 1.5 s.
        self.assertGreaterEqual(self.d.count("WATCHDOG=1", 1.5), 2)

    def test_reload_invalid_keeps_running_then_valid_applies(self):
        self.d = Daemon(self.tmp, self.config)
        self.d.messages("READY=1")
        with open(self.config, encoding="utf-8") as f:
            good = f.read()
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(good.replace("fail_after: 3", "fail_after: three"))
        self.d.proc.send_signal(signal.SIGHUP)
        self.d.messages("RELOADING=1")
        self.d.messages("READY=1")
        self.assertIsNone(self.d.proc.poll())
        log = self.d.log()
        self.assertIn(f"{self.config}:", log)
        self.assertIn("keeping the running one", log)
        # A valid file with one site fewer is applied.
        cut = good.index('  - id: "03"')
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(good[:cut])
        self.d.proc.send_signal(signal.SIGHUP)
        self.d.messages("RELOADING=1")
        self.d.messages("STATUS=2 sites: ")
        # Sites added back: all 27 again.
        with open(self.config, "w", encoding="utf-8") as f:
            f.write(good)
        self.d.proc.send_signal(signal.SIGHUP)
        self.d.messages("RELOADING=1")
        self.d.messages("STATUS=27 sites: ")
        self.d.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.d.proc.wait(5), 0)

    def test_invalid_config_refuses_to_start(self):
        with open(self.config, "a", encoding="utf-8") as f:
            f.write("bogus_key: 1\n")
        r = subprocess.run([DAEMON, "--config", self.config, "--state-dir", self.tmp],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, rf"{self.config}:\d+:1: .*bogus_key")

    def test_public_http_listen_without_tls_refuses_to_start(self):
        # The web view off loopback needs HTTPS and basic auth (issue 15).
        with open(self.config, "a", encoding="utf-8") as f:
            f.write("http: {listen: 0.0.0.0:9847}\n")
        r = subprocess.run([DAEMON, "--config", self.config, "--state-dir", self.tmp,
                            "--runtime-dir", self.tmp],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, rf"{self.config}:\d+:\d+: 'listen: 0.0.0.0' .*not a "
                                   r"loopback address.*tls_cert.*tls_key.*auth_credential")


if __name__ == "__main__":
    if not os.access(DAEMON, os.X_OK):
        sys.exit(f"{DAEMON} is not built")
    unittest.main(verbosity=2)
