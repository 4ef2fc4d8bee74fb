#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Broken surroundings (issue 8): fieldwatchd against the simulated field while
its own world fails. The state disk fills up or turns read-only, a long writer
holds the database, journald goes away and comes back, SIGHUPs arrive in a
storm, the wall clock is put forward and back between runs. In each case the
faults still reach journald (or stderr), the daemon says what it cannot store,
and when the surroundings heal it catches up: every fault and every mail ends
in the database and at the SMTP server exactly once.

The disk tests mount a small tmpfs (root only; skipped otherwise).

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_surroundings.py
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import journald  # noqa: E402
from sim.field import Field  # noqa: E402
from fwtest import Smtp, free_port  # noqa: E402

PRETEND = "2026-11-25T10:00:00+09:00"  # a Wednesday, inside business hours


def can_mount():
    if os.geteuid() != 0:
        return False
    d = tempfile.mkdtemp(prefix="fieldwatch-mnt-")
    try:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", d],
                           capture_output=True, timeout=10)
        if r.returncode != 0:
            return False
        subprocess.run(["umount", d], capture_output=True, timeout=10)
        return True
    finally:
        os.rmdir(d)


class Tmpfs:
    """A small tmpfs of ours: the state directory on a disk that can fill up."""

    # Room for the database and a WAL that grew while readers held its
    # checkpoint back (four suites at once on a loaded machine filled 8 MiB).
    def __init__(self, path, size="32m"):
        self.path = path
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", path],
                       check=True, timeout=10)
        self.filler = os.path.join(path, "filler")

    def fill(self):
        """Writes until the disk is full (bounded by the tmpfs's size)."""
        chunk = b"\0" * 65536
        try:
            with open(self.filler, "ab") as f:
                for _ in range(100000):
                    f.write(chunk)
                    f.flush()
        except OSError:
            pass
        return os.path.getsize(self.filler) if os.path.exists(self.filler) else 0

    def free(self):
        os.unlink(self.filler)

    def remount(self, mode):
        subprocess.run(["mount", "-o", f"remount,{mode}", self.path], check=True, timeout=10)

    def close(self):
        subprocess.run(["umount", "-l", self.path], capture_output=True, timeout=10)


class Surroundings(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-surroundings-")
        cls.port = free_port()

        def edit(data):
            fwtest.fast_probes(data)
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{cls.port}"
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), edit)
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        cls.journal = journald.Journal()
        cls.journal.__enter__()

    @classmethod
    def tearDownClass(cls):
        cls.journal.__exit__(None, None, None)
        cls.field.down()
        if not os.environ.get("KEEP_TEST_DIRS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="run-", dir=self.tmp)
        self.smtp = Smtp(self.dir, self.port)
        self.smtp.start()
        self.daemon = None
        self.disk = None

    def tearDown(self):
        try:
            if self.daemon:
                self.assertEqual(self.daemon.stop(), 0, self.daemon.log()[-3000:])
        finally:
            self.smtp.stop()
            if self.disk:
                self.disk.close()
            self.field.reset_cameras()

    # -- helpers ----------------------------------------------------------------

    def start(self, pretend=PRETEND, state_on_tmpfs=False):
        if state_on_tmpfs:
            self.disk = Tmpfs(os.path.join(self.dir, "state"))
        self.daemon = fwtest.Daemon(self.dir, self.config, extra_args=["--pretend-now", pretend])
        self.daemon.messages("READY=1")
        return self.daemon

    def db_rows(self, query, args=()):
        db = sqlite3.connect(f"file:{self.daemon.state_dir}/fieldwatch.db?mode=ro", uri=True,
                             timeout=5)
        try:
            return db.execute(query, args).fetchall()
        finally:
            db.close()

    def faults(self, device):
        return self.db_rows("SELECT id, state FROM faults WHERE device = ? ORDER BY id",
                            (device,))

    def events(self, device):
        return [r[0] for r in self.db_rows("SELECT type FROM events WHERE device = ? ORDER BY id",
                                           (device,))]

    def mails(self, device_text):
        return [m for m in self.smtp.mails()
                if m["status"] == "accepted" and device_text in m["subject"]]

    def raised_in_journal(self, device, since):
        return self.journal.entries(since=since, _PID=str(self.daemon.proc.pid),
                                    FIELDWATCH_EVENT="fault_raised", FIELDWATCH_DEVICE=device)

    def raise_while_broken(self, site, break_, heal):
        """Breaks the surroundings, takes the site's camera down, checks that the
        fault still reaches journald, heals, and checks the catch-up."""
        device = f"{site}-camera"
        d = self.daemon
        d.wait_device(device, "up", timeout=15)
        cursor = self.journal.cursor()
        break_()
        self.field.camera(site).fault("down")
        got = fwtest.wait_for(lambda: self.raised_in_journal(device, cursor), 20,
                              what=f"{device} fault_raised in journald while the state is broken")
        self.assertEqual(len(got), 1, got)
        fwtest.wait_for(lambda: "cannot store" in d.log().lower(), 10,
                        what="the daemon saying what it cannot store")
        self.assertEqual(d.proc.poll(), None, d.log()[-2000:])
        heal()
        rows = fwtest.wait_for(lambda: [r for r in self.faults(device) if r[1] == "open"], 20,
                               what=f"{device}'s fault in the database after healing")
        self.assertEqual(len(rows), 1, rows)
        self.assertEqual(self.events(device).count("fault_raised"), 1, self.events(device))
        mails = fwtest.wait_for(lambda: self.mails(site), 30, what="the fault's mail")
        fwtest.wait_for(lambda: "stored" in d.log().lower() and "delayed" in d.log().lower(), 10,
                        what="the daemon saying it caught up")
        # Recovery afterwards is stored as usual, and no mail went twice.
        self.field.camera(site).clear()
        fwtest.wait_for(lambda: [r for r in self.faults(device) if r[1] != "open"], 20,
                        what=f"{device}'s fault closed")
        time.sleep(1.5)
        subjects = [m["subject"] for m in self.mails(site)]
        self.assertEqual(len(set(m["message_id"] for m in self.smtp.mails()
                                 if m["status"] == "accepted")),
                         len([m for m in self.smtp.mails() if m["status"] == "accepted"]),
                         subjects)
        self.assertGreaterEqual(len(subjects), len(mails))

    # -- the state disk ---------------------------------------------------------

    @unittest.skipUnless(can_mount(), "needs root and tmpfs mounts")
    def test_disk_full_then_freed(self):
        self.start(state_on_tmpfs=True)
        self.raise_while_broken("05", self.disk.fill, self.disk.free)

    @unittest.skipUnless(can_mount(), "needs root and tmpfs mounts")
    def test_read_only_state_at_start(self):
        """Linux refuses to remount a file system read-only while the daemon
        has the database open for writing, so a read-only state disk is met at
        start: the daemon refuses clearly (systemd restarts it) and changes
        nothing; writable again, it starts with the faults it had."""
        d = self.start(state_on_tmpfs=True)
        d.wait_device("06-camera", "up", timeout=15)
        self.field.camera("06").fault("down")
        fwtest.wait_for(lambda: [r for r in self.faults("06-camera") if r[1] == "open"], 20,
                        what="the fault")
        self.assertEqual(d.stop(), 0, d.log()[-2000:])
        db = os.path.join(d.state_dir, "fieldwatch.db")
        with open(db, "rb") as f:
            before = f.read()
        self.disk.remount("ro")
        self.daemon = fwtest.Daemon(self.dir, self.config, extra_args=["--pretend-now", PRETEND])
        try:
            self.daemon.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.fail("the daemon runs on a read-only state directory: " + self.daemon.log())
        self.assertNotEqual(self.daemon.proc.returncode, 0)
        log = self.daemon.log()
        self.assertIn(d.state_dir, log)
        self.assertIn("Read-only file system", log)
        self.daemon.stop()
        with open(db, "rb") as f:
            self.assertEqual(f.read(), before)
        self.disk.remount("rw")
        self.start()
        self.assertEqual([r[1] for r in self.faults("06-camera")], ["open"])

    def test_database_held_by_a_long_writer(self):
        """Another program holds the write lock for longer than the busy timeout."""
        self.start()
        holder = {}

        def hold():
            db = sqlite3.connect(os.path.join(self.daemon.state_dir, "fieldwatch.db"),
                                 timeout=5, isolation_level=None)
            db.execute("BEGIN EXCLUSIVE")
            holder["db"] = db

        def release():
            holder["db"].execute("ROLLBACK")
            holder["db"].close()
        self.raise_while_broken("07", hold, release)

    # -- journald ---------------------------------------------------------------

    def test_journald_restarted(self):
        d = self.start()
        d.wait_device("08-camera", "up", timeout=15)

        def while_away():
            # journald gone: the event goes to stderr, with its fields.
            self.field.camera("08").fault("down")
            fwtest.wait_for(lambda: "fault_raised" in d.log() and "08-camera" in d.log(), 20,
                            what="the event on stderr while journald is away")
        self.journal.away(while_away)
        # The daemon looks for journald again every 5 s (JOURNAL_RECHECK_USEC);
        # until then events still go to stderr, which systemd also gives journald.
        time.sleep(6)
        self.field.camera("08").clear()
        # No cursor: the new journald's files have another sequence; the PID is ours.
        got = fwtest.wait_for(
            lambda: self.journal.entries(_PID=str(d.proc.pid),
                                         FIELDWATCH_DEVICE="08-camera",
                                         FIELDWATCH_EVENT="fault_transient"),
            20, what="the next event in the restarted journald")
        self.assertEqual(len(got), 1, got)
        self.assertEqual([r[1] for r in self.faults("08-camera")], ["cleared"])

    # -- signals ----------------------------------------------------------------

    def test_sighup_storm(self):
        """100 SIGHUPs in about a second: one reload at a time, nothing lost,
        probes go on, a fault raised during the storm is stored and mailed once."""
        d = self.start()
        d.wait_device("09-camera", "up", timeout=15)
        self.field.camera("09").fault("down")
        for _ in range(100):
            os.kill(d.proc.pid, signal.SIGHUP)
            time.sleep(0.01)
        self.assertIsNone(d.proc.poll(), d.log()[-2000:])
        d.messages("READY=1", timeout=20)
        fwtest.wait_for(lambda: [r for r in self.faults("09-camera") if r[1] == "open"], 30,
                        what="the fault raised during the storm")
        fwtest.wait_for(lambda: self.mails("09"), 30, what="its mail")
        time.sleep(2)
        self.assertEqual(len(self.faults("09-camera")), 1)
        self.assertEqual(len(self.mails("09")), 1, [m["subject"] for m in self.mails("09")])
        # Still probing: another camera's fault rises after the storm.
        self.field.camera("10").fault("down")
        fwtest.wait_for(lambda: [r for r in self.faults("10-camera") if r[1] == "open"], 30,
                        what="a fault after the storm")
        self.assertIsNone(d.proc.poll())

    def test_reload_keeps_a_deep_fault(self):
        """A fault a deep check found (recording stopped) survives a reload: the
        device looks deep at once, its liveness answers do not clear it."""
        def edit(data):
            fwtest.fast_probes(data, deep="20s")
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{self.port}"
        config = fwtest.lab_config(os.path.join(self.dir, "deep.yaml"), edit)
        d = self.daemon = fwtest.Daemon(self.dir, config, extra_args=["--pretend-now", PRETEND])
        d.messages("READY=1")
        d.wait_device("13-camera", "up", timeout=15)
        self.field.camera("13").fault("recording_stopped", lag=3600)
        fwtest.wait_for(lambda: [r for r in self.faults("13-camera") if r[1] == "open"], 40,
                        what="the recording fault")
        for _ in range(2):
            d.proc.send_signal(signal.SIGHUP)
            d.messages("READY=1", timeout=20)
            time.sleep(5)
            self.assertEqual([r[1] for r in self.faults("13-camera")], ["open"],
                             self.events("13-camera"))
        self.field.camera("13").clear()
        fwtest.wait_for(lambda: [r for r in self.faults("13-camera") if r[1] != "open"], 40,
                        what="the fault cleared once recording resumes")
        self.assertEqual(self.events("13-camera").count("fault_raised"), 1)

    # -- the wall clock ---------------------------------------------------------

    def test_reload_keeps_the_pretended_clock(self):
        """--pretend-now sets the clock once: a reload does not set it back
        (events would be stored with times before earlier ones)."""
        d = self.start()
        d.wait_device("12-camera", "up", timeout=15)
        time.sleep(3)
        before = max(x["last_probe_at"] or "" for x in d.status().values())
        d.proc.send_signal(signal.SIGHUP)
        d.messages("RELOADING=1", timeout=10)
        d.messages("READY=1", timeout=20)
        time.sleep(2.5)
        after = d.status()
        self.assertTrue(after)
        # ISO 8601 in one zone: text order is time order.
        late = {k: v["last_probe_at"] for k, v in after.items()
                if v["last_probe_at"] and v["last_probe_at"] < before}
        self.assertEqual(late, {}, f"probed before {before} after the reload")


    def test_clock_forward_and_back_across_runs(self):
        """A fault raised at 10:00; the clock put forward past its 12:00 onsite due
        fires the breach once; put back to 11:00, the breach neither fires again
        nor is undone; forward again, still one breach, one mail for it."""
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("11-camera", "up", timeout=15)
        self.field.camera("11").fault("down")
        fwtest.wait_for(lambda: [r for r in self.faults("11-camera") if r[1] == "open"], 20,
                        what="the fault")
        self.assertEqual(d.stop(), 0)
        state = d.state_dir

        def run(pretend):
            self.daemon = fwtest.Daemon(self.dir, self.config,
                                        extra_args=["--pretend-now", pretend])
            self.assertEqual(self.daemon.state_dir, state)
            self.daemon.messages("READY=1")
            time.sleep(3)
            self.assertEqual(self.daemon.stop(), 0, self.daemon.log()[-2000:])

        def breaches():
            return self.events("11-camera").count("sla_breach")
        run("2026-11-25T12:30:00+09:00")
        self.assertEqual(breaches(), 1, self.events("11-camera"))
        run("2026-11-25T11:00:00+09:00")
        self.assertEqual(breaches(), 1, self.events("11-camera"))
        run("2026-11-25T13:00:00+09:00")
        self.assertEqual(breaches(), 1, self.events("11-camera"))
        self.daemon = None
        fwtest.wait_for(lambda: [m for m in self.smtp.mails() if "11" in m["subject"]
                                 and m["status"] == "accepted"], 10, what="mails")
        self.field.camera("11").clear()


if __name__ == "__main__":
    unittest.main(verbosity=2)
