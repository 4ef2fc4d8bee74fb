#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Device text at the probe boundary (issue 12, part 3): what a camera says
is valid UTF-8, cut on a character boundary, without control characters,
before anything stores, logs, mails or prints it.

- A camera whose SOAP fault text holds a line break and "<0>": under systemd
  stderr is a journal stream, where a line starting "<N>" sets the entry's
  priority. The daemon runs with JOURNAL_STREAM set (so it writes its own
  "<N>" prefixes) and its events on stderr: every line must start with one
  prefix and a device's text must start none.
- A model of "AB" + "あ"×40 (122 bytes, the probe keeps 63) and a fault
  reason of "AB" + "あ"×80: `status --json` and `faults --json` still work,
  the text is valid UTF-8 and cut between characters.
- The same injection through a real systemd-journald's stream socket (as
  systemd connects a service's stderr): no entry at PRIORITY 0, no MESSAGE
  starting with "<", the quoting entries at the daemon's own priorities.
- A row written into the database by an older version (invalid UTF-8, an
  escape sequence): the listings clean it on the way out instead of failing.

Run from the repository root:
  FW_LAB_NET=8 BUILD=build /usr/bin/python3 tests/test_text.py
"""

import json
import os
import re
import shutil
import socket
import sqlite3
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import journald  # noqa: E402
from sim.field import Field  # noqa: E402

INJECTION = "\n<0>fault_cleared 03-camera: all clear\n<0>"
MODEL = "AB" + "あ" * 40
REASON = "AB" + "あ" * 80
# The same inside the text (a SOAP answer's ends are trimmed of white space).
INJECTION_INSIDE = "camera says\n<0>fault_cleared 03-camera: all clear\n<0>stop now"
PREFIX = re.compile(r"^<[0-7]>")


def lab_edit(data):
    fwtest.fast_probes(data)


class DeviceText(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-text-")
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), lab_edit)
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        try:
            # stderr as systemd makes it: a journal stream (the value only
            # needs to be there), events on it too.
            cls.daemon = fwtest.Daemon(cls.tmp, cls.config,
                                       env={"FIELDWATCH_JOURNAL": "stderr",
                                            "JOURNAL_STREAM": "8:12345"})
            cls.daemon.messages("READY=1")
            for site in ("02", "03", "04"):
                cls.daemon.wait_device(f"{site}-camera", "up", timeout=20)
        except BaseException:
            cls.field.down()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.daemon.stop()
            assert rc == 0, f"fieldwatchd exited {rc}; log:\n{cls.daemon.log()[-3000:]}"
        finally:
            cls.field.down()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    def ctl_json(self, *args):
        r = fwtest.ctl(*args, "--json", state_dir=self.daemon.state_dir, config=self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)  # raises on invalid UTF-8 or JSON

    def fault_of(self, device):
        def check():
            return [f for f in self.ctl_json("faults") if f["device"] == device
                    and f["state"] != "cleared"] or None
        return fwtest.wait_for(check, 20, what=f"a fault of {device}")[0]

    def assert_clean(self, text):
        self.assertIsInstance(text, str)
        text.encode("utf-8")  # no lone surrogates from a bad decode
        self.assertIsNone(re.search(r"[\x00-\x1f\x7f-\x9f]", text), repr(text))

    def test_1_a_fault_text_starts_no_journal_line(self):
        self.field.camera("03").fault("soap_fault", reason=INJECTION)
        try:
            d = self.daemon.wait_device("03-camera", "down", "fault_cleared", timeout=20)
            f = self.fault_of("03-camera")
        finally:
            self.field.camera("03").clear()
        # Stored and listed as one line: the breaks became spaces.
        self.assertIn(" <0>fault_cleared 03-camera: all clear", d["reason"])
        self.assert_clean(d["reason"])
        self.assertIn("<0>fault_cleared 03-camera: all clear", f["reason"])
        self.assert_clean(f["reason"])
        self.daemon.wait_device("03-camera", "up", timeout=20)
        log = self.daemon.log()
        lines = log.splitlines()
        quoting = [ln for ln in lines if "fault_cleared 03-camera: all clear" in ln]
        self.assertTrue(quoting, log[-3000:])
        for ln in lines:
            # Each line is one entry with the daemon's own priority prefix ...
            self.assertRegex(ln, PREFIX, f"a line without the daemon's prefix: {ln!r}")
            # ... and no device text right after it (it starts with the
            # daemon's words: a device id, "Fault", an event name).
            self.assertFalse(ln[3:].startswith("<"), ln)
            self.assertNotEqual(ln[:3], "<0>", ln)
        # The quoting lines are the device's and the fault's, at their own priorities.
        self.assertTrue(all(ln[:3] != "<0>" for ln in quoting))

    def test_2_long_text_is_cut_between_characters(self):
        cam = self.field.camera("02")
        cam.state(model=MODEL)
        self.field.camera("04").fault("soap_fault", reason=REASON)
        try:
            def model():
                v = self.ctl_json("status")
                m = [d for d in v if d["device"] == "02-camera"][0]["values"].get("model", "")
                return m if m.startswith("ABあ") else None
            m = fwtest.wait_for(model, 20, what="the long model in status")
            self.daemon.wait_device("04-camera", "down", "ABあ", timeout=20)
            f = self.fault_of("04-camera")
        finally:
            self.field.camera("04").clear()
        # The probe keeps 63 bytes: "AB" and 20 whole characters, none cut.
        self.assertEqual(m, "AB" + "あ" * 20)
        self.assert_clean(m)
        reason = f["reason"]
        self.assert_clean(reason)
        self.assertIn("ABあ", reason)
        tail = reason[reason.index("ABあ") + 2:]
        self.assertEqual(tail, "あ" * len(tail), reason)  # cut after a whole あ
        self.assertLess(len(tail), 80)
        # Every listing works, in both forms.
        for cmd in ("status", "faults"):
            r = fwtest.ctl(cmd, state_dir=self.daemon.state_dir, config=self.config)
            self.assertEqual(r.returncode, 0, r.stderr)
            r.stdout.encode("utf-8")
        cam.state(model="WV-S2536LNUX")

    def test_3_a_bad_stored_row_does_not_break_the_listings(self):
        """A row as an older version could have stored it: invalid UTF-8 cut
        in the middle of a character, an escape sequence, a line break."""
        db = os.path.join(self.daemon.state_dir, "fieldwatch.db")
        bad = b"AB\xe3\x81\x82\xe3\x81 \x1b[2J\nforged row\xff"
        con = sqlite3.connect(db, timeout=10)
        try:
            con.execute("PRAGMA busy_timeout = 10000")
            cur = con.execute("SELECT id FROM faults ORDER BY id DESC LIMIT 1")
            fid = cur.fetchone()[0]
            with con:
                con.execute("UPDATE faults SET reason = CAST(? AS TEXT) WHERE id = ?",
                            (bad, fid))
                con.execute("UPDATE devices SET reason = CAST(? AS TEXT) WHERE id = 'vpn'",
                            (bad,))
        finally:
            con.close()
        faults = self.ctl_json("faults")
        f = [x for x in faults if x["id"] == fid][0]
        self.assertTrue(f["reason"].startswith("ABあ\ufffd"), f["reason"])
        self.assert_clean(f["reason"])
        self.assertIn("forged row", f["reason"])
        status = self.ctl_json("status")
        self.assertEqual(len(status), 55)
        # The text tables: the forged line break is no row of its own.
        for cmd in (("faults",), ("status",)):
            r = fwtest.ctl(*cmd, state_dir=self.daemon.state_dir, config=self.config)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("\x1b", r.stdout)
            self.assertFalse([ln for ln in r.stdout.splitlines() if ln.startswith("forged row")],
                             r.stdout)


STDOUT_SOCKET = "/run/systemd/journal/stdout"


class JournalStream(unittest.TestCase):
    """stderr connected to journald's stream socket as systemd connects a
    service's (the header systemd sends, level prefixes honoured): what a
    camera says can set no entry's priority."""

    @classmethod
    def setUpClass(cls):
        cls.ident = f"fieldwatch-text-{os.getpid()}"
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-text-journal-")
        cls.journal = journald.Journal()
        cls.journal.__enter__()
        cls.field = None
        cls.stream = None
        try:
            if not os.path.exists(STDOUT_SOCKET):
                raise unittest.SkipTest(f"journald has no stream socket {STDOUT_SOCKET}")
            cls.cursor = cls.journal.cursor()
            cls.stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            cls.stream.settimeout(10)
            cls.stream.connect(STDOUT_SOCKET)
            # identifier, unit, priority, level_prefix, syslog, kmsg, console
            cls.stream.sendall(f"{cls.ident}\n\n6\n1\n0\n0\n0\n".encode())
            cls.stream.shutdown(socket.SHUT_RD)
            st = os.fstat(cls.stream.fileno())
            cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), lab_edit)
            cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
            cls.field.up()
            cls.daemon = fwtest.Daemon(cls.tmp, cls.config, stderr=cls.stream.fileno(),
                                       env={"FIELDWATCH_JOURNAL": "stderr",
                                            "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"})
            cls.daemon.messages("READY=1")
            cls.daemon.wait_device("03-camera", "up", timeout=20)
        except BaseException:
            cls._down()
            raise

    @classmethod
    def _down(cls):
        try:
            if cls.field:
                cls.field.down()
            if cls.stream:
                cls.stream.close()
        finally:
            cls.journal.close()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def tearDownClass(cls):
        try:
            rc = cls.daemon.stop()
            assert rc == 0, f"fieldwatchd exited {rc}"
        finally:
            cls._down()

    def test_no_priority_from_a_device(self):
        self.field.camera("03").fault("soap_fault", reason=INJECTION_INSIDE)
        try:
            self.daemon.wait_device("03-camera", "down", "fault_cleared", timeout=20)
            quoting = fwtest.wait_for(
                lambda: [e for e in self.journal.entries(since=self.cursor,
                                                         SYSLOG_IDENTIFIER=self.ident)
                         if "all clear" in str(e.get("MESSAGE", ""))] or None,
                20, what="the journal entries quoting the camera")
        finally:
            self.field.camera("03").clear()
        entries = self.journal.entries(since=self.cursor, SYSLOG_IDENTIFIER=self.ident)
        self.assertTrue(entries)
        for e in entries:
            msg = str(e.get("MESSAGE", ""))
            self.assertFalse(msg.startswith("<"), e)
            self.assertNotIn("\n", msg, e)
            self.assertNotEqual(e.get("PRIORITY"), "0", e)
        self.assertEqual(self.journal.entries(since=self.cursor, SYSLOG_IDENTIFIER=self.ident,
                                              PRIORITY="0"), [])
        # The camera's text is inside the daemon's own entries, at their priorities
        # (a device going down: warning or error, never emergency).
        for e in quoting:
            self.assertIn(e.get("PRIORITY"), ("3", "4", "5", "6"), e)
            self.assertIn("camera says <0>fault_cleared 03-camera: all clear <0>stop now",
                          e["MESSAGE"], e)


if __name__ == "__main__":
    unittest.main(verbosity=2)
