#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""notify.consent (issue 14, item 4): the on-call mail takes information out
of the workplace, which the contract allows only with the city's consent
(別記2 第8条(2)). Without notify.consent, check-config warns (and the file is
still valid) and fieldwatchd logs it once at start, not again on reload;
with it, or without any mail configured, neither says a word about it.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_consent.py
"""

import os
import shutil
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402

WARNING = "notify.consent is not set"


def without_consent(data):
    data["notify"].pop("consent", None)


def with_consent(data):
    data["notify"]["consent"] = "市川市情報政策課 第1234号（2025-11-20）"


def without_mail(data):
    data.pop("notify", None)


class Consent(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fieldwatch-consent-")
        os.chmod(self.tmp, 0o755)
        self.daemon = None

    def tearDown(self):
        if self.daemon:
            self.daemon.stop()
        if not os.environ.get("KEEP_TEST_DIRS"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, edit, name="fieldwatch.yaml"):
        return fwtest.lab_config(os.path.join(self.tmp, name), edit)

    def test_check_config(self):
        for edit, warned in ((without_consent, True), (with_consent, False),
                             (without_mail, False)):
            with self.subTest(edit=edit.__name__):
                path = self.config(edit, edit.__name__ + ".yaml")
                r = fwtest.ctl("--config", path, "check-config")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("configuration OK", r.stdout)
                if warned:
                    self.assertIn(f"{path}: warning: {WARNING}", r.stderr)
                    self.assertIn("別記2 第8条(2)", r.stderr)
                else:
                    self.assertEqual(r.stderr, "")
                # --json: still valid, the warning on stderr only.
                r = fwtest.ctl("--config", path, "check-config", "--json")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn('"valid": true', r.stdout)
                self.assertEqual(WARNING in r.stderr, warned)

    def test_bad_consent(self):
        def empty(data):
            data["notify"]["consent"] = ""

        def listed(data):
            data["notify"]["consent"] = ["a", "b"]

        for edit in (empty, listed):
            with self.subTest(edit=edit.__name__):
                path = self.config(edit, edit.__name__ + ".yaml")
                r = fwtest.ctl("--config", path, "check-config")
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn(path + ":", r.stderr)
                self.assertIn("consent", r.stderr)

    def daemon_log(self, edit):
        path = self.config(edit)
        self.daemon = fwtest.Daemon(self.tmp, path,
                                    extra_args=["--pretend-now", "2026-11-25T10:00:00"])
        self.daemon.messages("READY=1", timeout=20)
        fwtest.wait_for(lambda: "watching" in self.daemon.log(), 10, what="the start line")
        # A reload: not said again.
        self.daemon.proc.send_signal(signal.SIGHUP)
        self.daemon.messages("READY=1", timeout=20)
        log = self.daemon.log()
        self.assertEqual(self.daemon.stop(), 0, log[-2000:])
        self.daemon = None
        return log

    def test_daemon_logs_once_at_start(self):
        log = self.daemon_log(without_consent)
        self.assertEqual(log.count(WARNING), 1, log[-3000:])
        line = [x for x in log.splitlines() if WARNING in x][0]
        self.assertIn("別記2 第8条(2)", line)

    def test_daemon_quiet_with_consent(self):
        log = self.daemon_log(with_consent)
        self.assertIn("watching", log)
        self.assertNotIn(WARNING, log)
        self.assertNotIn("別記2", log)
        # The reference is configuration, not something mail or logs repeat.
        self.assertNotIn("第1234号", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
