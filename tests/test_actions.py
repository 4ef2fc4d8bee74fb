#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Operator actions end to end (issue 5): a fault taken through ack,
deferral, onsite work, recovery with a replaced medium and both reports,
with the daemon placed in time by --pretend-now; every action's bad input,
and a user outside the groups.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_actions.py
"""

import csv
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from sim.field import Field  # noqa: E402


class Workflow(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-actions-")
        os.chmod(cls.tmp, 0o755)  # the configuration is readable by everyone
        cls.port = fwtest.free_port()

        def edit(data):
            fwtest.fast_probes(data)
            data["http"] = {"listen": f"127.0.0.1:{cls.port}"}  # the web API lists events too
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), edit)
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        try:
            # Wednesday 16:30: a fault now is due after closing, so it may be deferred.
            cls.daemon = fwtest.Daemon(cls.tmp, cls.config,
                                       extra_args=["--pretend-now", "2026-11-25T16:30:00"])
            cls.daemon.messages("READY=1")
            cls.daemon.wait_device("05-camera", "up")
            cls.field.camera("05").fault("down")
            cls.fault = fwtest.wait_for(lambda: [f for f in cls.faults() if
                                                 f["device"] == "05-camera"], 15,
                                        what="the fault")[0]
        except BaseException:
            cls.field.down()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            assert cls.daemon.stop() == 0, cls.daemon.log()[-2000:]
        finally:
            cls.field.down()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def faults(cls):
        r = fwtest.ctl("faults", "--json", state_dir=cls.daemon.state_dir, config=cls.config)
        return json.loads(r.stdout) if r.returncode == 0 else []

    def ctl(self, *args, user=None):
        if user is None:
            return fwtest.ctl(*args, state_dir=self.daemon.state_dir, config=self.config)
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups",
                fwtest.CTL, "--config", self.config, "--state-dir", self.daemon.state_dir,
                "--runtime-dir", self.daemon.runtime_dir, *args]
        return subprocess.run(argv, capture_output=True, text=True, timeout=30)

    def get_fault(self, fid):
        return [f for f in self.faults() if f["id"] == fid][0]

    def db(self, sql, *params):
        con = sqlite3.connect(f"file:{self.daemon.state_dir}/fieldwatch.db?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def test_1_full_workflow(self):
        fid = self.fault["id"]
        self.assertIs(self.fault["deferral_eligible"], True)

        r = self.ctl("ack", str(fid), "--by", "山田 太郎", "--note", "向かいます")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"fault {fid} acknowledged", r.stdout)
        self.assertIsNotNone(self.get_fault(fid)["acknowledged_at"])

        r = self.ctl("defer", str(fid), "--approved-by", "監督員 佐藤", "--reason", "部品の手配")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2026-11-26T11:00:00+09:00", r.stdout)
        f = self.get_fault(fid)
        self.assertIsNotNone(f["deferral_approved_at"])

        r = self.ctl("onsite", str(fid), "--by", "山田 太郎")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("met the due time 2026-11-26T11:00:00+09:00", r.stdout)
        self.assertIsNotNone(self.get_fault(fid)["onsite_started_at"])

        r = self.ctl("recover", str(fid), "--by", "山田 太郎", "--cause", "microSDカードの故障",
                     "--action", "WV-SDB128Gを交換し録画を再開", "--prevention", "年次点検で確認",
                     "--parts", "WV-SDB128G", "--media-replaced")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("erasure report is due", r.stdout)

        for kind in ("recovery", "erasure"):
            r = self.ctl("report-submitted", str(fid), "--kind", kind, "--by", "山田 太郎")
            self.assertEqual(r.returncode, 0, r.stderr)

        row = self.db("SELECT acknowledged_by, ack_note, deferral_approved_by, deferral_reason,"
                      " onsite_by, recovered_by, cause, action, prevention, parts,"
                      " media_replaced, recovery_report_submitted_at IS NOT NULL,"
                      " erasure_report_submitted_at IS NOT NULL FROM faults WHERE id = ?", fid)[0]
        self.assertEqual(row, ("山田 太郎", "向かいます", "監督員 佐藤", "部品の手配", "山田 太郎",
                               "山田 太郎", "microSDカードの故障", "WV-SDB128Gを交換し録画を再開",
                               "年次点検で確認", '["WV-SDB128G"]', 1, 1, 1))
        events = self.db("SELECT type, by_name, os_user FROM events WHERE fault_id = ?"
                         " AND by_name != '' ORDER BY id", fid)
        self.assertEqual([e[0] for e in events],
                         ["acknowledged", "deferral_approved", "onsite_started", "recovered",
                          "report_submitted", "report_submitted"])
        self.assertEqual(events[1][1], "監督員 佐藤")
        self.assertRegex(events[0][2], r"^root \(uid 0\)$")

        # Fault work is work (issue 13): the quarter's only work was this
        # fault's visit, and the work report lists it in every format.
        work = self.db("SELECT person, title, content, notes, fault_id FROM work")
        self.assertEqual(work, [("山田 太郎", "障害対応（カメラ応答なし）",
                                 "原因: microSDカードの故障\n処置: WV-SDB128Gを交換し録画を再開",
                                 "交換部品: WV-SDB128G\n再発防止策: 年次点検で確認", fid)])
        for fmt in ("md", "html", "csv"):
            with self.subTest(fmt=fmt):
                r = self.ctl("--pretend-now", "2026-12-01T12:00:00", "report", "quarterly",
                             "2026Q4", "--format", fmt)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("障害対応（カメラ応答なし）", r.stdout)
                self.assertIn("WV-SDB128Gを交換し録画を再開", r.stdout)
                self.assertNotIn("作業実績はありません", r.stdout)
                # The fault is listed too, the CSV included (no section dropped).
                self.assertIn("障害対応", r.stdout.replace("障害対応（", ""))
                self.assertNotIn("障害はありません", r.stdout)
                if fmt == "csv":
                    rows = list(csv.reader(io.StringIO(r.stdout.lstrip("\ufeff"),
                                                       newline="")))
                    self.assertIn(["障害対応"] + [""] * 8, rows)
                    self.assertEqual(sum(1 for row in rows if row[0] == str(fid)
                                         and row[3] == "カメラ応答なし"), 1, rows)
        # Without --prevention a recovery is refused (再発防止策, L179-181).
        r = self.ctl("recover", str(fid), "--by", "x", "--cause", "c", "--action", "a")
        self.assertEqual(r.returncode, 2)
        self.assertIn("--prevention is required", r.stderr)

    def test_2_bad_input_changes_nothing(self):
        fid = str(self.fault["id"])
        before = self.db("SELECT * FROM faults")
        cases = [
            (["ack", "99999", "--by", "x"], 1, "there is no fault 99999"),
            (["ack", fid, "--by", "x"], 1, "acknowledged already"),
            (["onsite", fid, "--by", "x"], 1, "started already"),
            (["defer", fid, "--approved-by", "x"], 1, "has started already"),
            (["close", fid, "--by", "x", "--note", "n"], 1, "only a transient"),
            (["ack", fid], 2, "--by is required"),
            (["ack", "abc", "--by", "x"], 2, "invalid fault id"),
            (["ack", fid, "--by", "x" * 65], 2, "longer than"),
            (["ack", fid, "--by", "x", "--note", "a\x01b"], 2, "control characters"),
            # C1 (CSI) and a bidi override reach terminals: refused, the field named.
            (["ack", fid, "--by", "x", "--note", "a\u009b31mb"], 2,
             "the note must be UTF-8 text of at most 2000 bytes without control characters"),
            (["ack", fid, "--by", "x\u202egnp.exe", "--note", "n"], 2,
             "--by must be UTF-8 text of at most 64 bytes without control characters (C0, DEL,"
             " C1 U+0080-U+009F) or bidirectional overrides"),
            (["ack", fid, "--by", "x", "--note", "y" * 2001], 2, "at most 2000 bytes"),
            (["onsite", fid, "--by", "x", "--at", "tomorrow"], 2, "invalid --at"),
            (["recover", fid, "--by", "x", "--cause", "c"], 2, "--action is required"),
            (["report-submitted", fid, "--kind", "quarterly"], 2, "recovery or erasure"),
            (["work", "add", "--by", "x", "--title", "t", "--content", "c",
              "--start", "2026-11-25T12:00", "--end", "2026-11-25T11:00"], 2, "not before"),
            (["work", "add", "--by", "x", "--title", "t", "--content", "c",
              "--start", "2026-11-25T12:00", "--end", "2027-01-01T11:00"], 1, "in the future"),
            (["ack", fid, "--by", "x", "--bogus"], 2, "unknown"),
        ]
        for args, code, text in cases:
            with self.subTest(args=args):
                r = self.ctl(*args)
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                self.assertIn(text, r.stderr)
        # Not UTF-8 (bytes straight through argv).
        r = subprocess.run([fwtest.CTL, "--config", self.config, "--state-dir",
                            self.daemon.state_dir, "--runtime-dir", self.daemon.runtime_dir,
                            "ack", fid, "--by", b"\xff\xfe"],
                           capture_output=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.db("SELECT * FROM faults"), before)
        # Only the recovery's own record (test 1): no bad input added one.
        self.assertEqual(self.db("SELECT COUNT(*) FROM work WHERE fault_id IS NULL")[0][0], 0)

    def test_3_work_record(self):
        r = self.ctl("work", "add", "--start", "2026-11-25T10:00", "--end", "2026-11-25T11:30",
                     "--by", "鈴木", "--title", "定期点検", "--content", "全27箇所の外観点検",
                     "--notes", "異常なし")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = self.db("SELECT person, title, content, notes, end_at - start_at FROM work"
                       " WHERE fault_id IS NULL")
        self.assertEqual(rows, [("鈴木", "定期点検", "全27箇所の外観点検", "異常なし", 5400)])

    def test_3b_contract_deliverables(self):
        r = self.ctl("report-submitted", "--kind", "quarterly_report", "--due", "2027-01-15",
                     "--by", "鈴木")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("quarterly_report due 2027-01-15 submitted", r.stdout)
        r = self.ctl("report-submitted", "--kind", "quarterly_report", "--due", "2027-01-15")
        self.assertEqual(r.returncode, 1)
        self.assertIn("submitted already", r.stderr)
        r = self.ctl("report-submitted", "--kind", "annual_plan", "--due", "2027-01-15")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no annual_plan due on 2027-01-15", r.stderr)
        r = self.ctl("report-submitted", "1", "--kind", "annual_plan", "--due", "2027-04-15")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(self.db("SELECT kind, key, submitted_at IS NOT NULL FROM deliverables"),
                         [("quarterly_report", "2027-01-15", 1)])

    def test_3b_work_edit(self):
        """The record a recovery made is edited like any other (issue 13)."""
        wid, start, end = self.db("SELECT id, start_at, end_at FROM work "
                                  "WHERE fault_id IS NOT NULL")[0]
        r = self.ctl("work", "edit", str(wid), "--by", "山田 太郎", "--content",
                     "原因: microSDカードの寿命\n処置: 交換")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"work record {wid} edited: content", r.stdout)
        row = self.db("SELECT title, content, start_at, end_at, person, notes, edited FROM work"
                      " WHERE id = ?", wid)[0]
        self.assertEqual(row[:6], ("障害対応（カメラ応答なし）", "原因: microSDカードの寿命\n処置: 交換",
                                   start, end, "山田 太郎",
                                   "交換部品: WV-SDB128G\n再発防止策: 年次点検で確認"))
        # The editors are kept with the record, and no edit replaces them: a
        # report never shows one person's name above another's words.
        self.assertRegex(row[6], r"^修正: 2026-11-2\dT\d\d:\d\d:\d\d\+09:00 山田 太郎$")
        r = self.ctl("work", "edit", str(wid), "--by", "鈴木 一郎", "--notes", "追記")
        self.assertEqual(r.returncode, 0, r.stderr)
        notes, edited = self.db("SELECT notes, edited FROM work WHERE id = ?", wid)[0]
        self.assertEqual(notes, "追記")
        self.assertRegex(edited, r"^修正: \S+ 山田 太郎\n修正: \S+ 鈴木 一郎$")
        ev = self.db("SELECT text, by_name, os_user FROM events WHERE type = 'work_recorded'"
                     " ORDER BY id DESC LIMIT 1")[0]
        self.assertIn("edited: notes", ev[0])
        self.assertEqual(ev[1:], ("鈴木 一郎", "root (uid 0)"))
        # The work report shows the notes, then who edited the record.
        r = self.ctl("--pretend-now", "2026-12-01T12:00:00", "report", "quarterly", "2026Q4",
                     "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"追記\n修正: \S+ 山田 太郎\n修正: \S+ 鈴木 一郎")
        before = self.db("SELECT * FROM work")
        for args, code, text in (
                (["work", "edit", "99999", "--by", "x", "--title", "t"], 1,
                 "there is no work record 99999"),
                (["work", "edit", str(wid), "--by", "x"], 2, "nothing to change"),
                (["work", "edit", str(wid), "--by", "x", "--end", "2020-01-01T10:00"], 1,
                 "outside the contract period"),
                (["work", "edit", "abc", "--by", "x", "--title", "t"], 2, "invalid work record id"),
                (["work", "frob"], 2, "expected 'work add' or 'work edit ID'")):
            with self.subTest(args=args):
                r = self.ctl(*args)
                self.assertEqual(r.returncode, code, r.stdout + r.stderr)
                self.assertIn(text, r.stderr)
        self.assertEqual(self.db("SELECT * FROM work"), before)

    def test_4_outside_the_groups(self):
        fid = str(self.fault["id"])
        os.chmod(self.daemon.state_dir, 0o750)
        try:
            r = self.ctl("faults", user="65534")
            self.assertEqual(r.returncode, 1)
            self.assertIn("group fieldwatch", r.stderr)
            r = self.ctl("ack", fid, "--by", "x", user="65534")
            self.assertEqual(r.returncode, 1)
            self.assertIn("group fieldwatch-ops", r.stderr)
        finally:
            os.chmod(self.daemon.state_dir, 0o755)

    def test_5_no_daemon_no_change(self):
        fid = str(self.fault["id"])
        d = tempfile.mkdtemp(dir=self.tmp)
        r = fwtest.ctl("ack", fid, "--by", "x", state_dir=self.daemon.state_dir,
                       runtime_dir=d, config=self.config, timeout=60)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"fieldwatchd is not running (no control socket at {d}/control): "
                      "nothing was recorded", r.stderr)
        self.assertEqual(os.listdir(d), [])

    def web_json(self, path):
        """(status, parsed JSON or None) of GET path on the web view."""
        import urllib.error
        import urllib.request
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(f"http://127.0.0.1:{self.port}{path}", timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, None

    def test_6_long_notes_cut_on_a_character(self):
        """A note of 1200 bytes of Japanese is cut in the reply (1 KiB) and in
        the event (512 bytes): on a character boundary, whatever the fault id
        and prefix. The operator is told it was recorded (exit 0; told 500
        before, and a retry recorded it twice), and every listing of the
        events still works."""
        note = "あ" * 400
        for prefix in ("", "x", "xx"):
            with self.subTest(prefix=prefix):
                r = self.ctl("open", "--site", "07", "--device", "camera", "--kind",
                             "lens_misaligned", "--by", "山田", "--note", prefix + note)
                self.assertEqual(r.returncode, 0, r.stderr)
                fid = int(r.stdout.rsplit("(fault ", 1)[1].split(")")[0])
                r = self.ctl("ack", str(fid), "--by", "山田", "--note", prefix + note)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertIn(f"fault {fid} acknowledged: {prefix}ああ", r.stdout)
                # Recorded once: a second ack is refused.
                r = self.ctl("ack", str(fid), "--by", "山田", "--note", prefix + note)
                self.assertEqual(r.returncode, 1)
                self.assertIn("acknowledged already", r.stderr)
                self.assertEqual(self.db("SELECT COUNT(*) FROM events WHERE fault_id = ?"
                                         " AND type = 'acknowledged'", fid), [(1,)])
                # The note itself is kept whole in the fault's row.
                self.assertEqual(self.db("SELECT ack_note FROM faults WHERE id = ?", fid),
                                 [(prefix + note,)])
                text = self.db("SELECT text FROM events WHERE fault_id = ? AND type ="
                               " 'acknowledged'", fid)[0][0]
                self.assertTrue(text.startswith(f"07-camera: fault {fid} acknowledged: {prefix}"),
                                text)
                self.assertGreater(len(text.encode()), 500)
        r = self.ctl("events", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        acks = [e for e in json.loads(r.stdout) if e["type"] == "acknowledged"
                and e["device"] == "07-camera"]
        self.assertEqual(len(acks), 3, acks)
        self.assertTrue(all("ああ" in e["text"] for e in acks))
        r = self.ctl("events")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("acknowledged", r.stdout)
        status, events = fwtest.wait_for(
            lambda: (lambda x: x if x[0] == 200 else None)(self.web_json("/api/v1/events")),
            10, 0.2, "the web view's events")
        self.assertEqual(sum(e["type"] == "acknowledged" and e["device"] == "07-camera"
                             for e in events), 3)

    def test_7_bad_stored_text_breaks_no_listing(self):
        """An event row that is not UTF-8 (an older version's, cut inside a
        character) is shown repaired; the listings around it still work."""
        con = sqlite3.connect(f"{self.daemon.state_dir}/fieldwatch.db", timeout=10)
        try:
            with con:
                cur = con.execute("INSERT INTO events (type, at, device, text, by_name)"
                                  " VALUES ('work_recorded', strftime('%s', 'now'), '07-camera',"
                                  " CAST(? AS TEXT), CAST(? AS TEXT))",
                                  ("work recorded: あ".encode() + b"\xe3\x81", b"\xff\xfe"))
                bad = cur.lastrowid
        finally:
            con.close()
        r = self.ctl("events", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        row = [e for e in json.loads(r.stdout) if e["id"] == bad][0]
        self.assertEqual(row["text"], "work recorded: あ")  # the cut-short character left out
        self.assertEqual(row["by"], "\ufffd\ufffd")
        r = self.ctl("events")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("work recorded: あ", r.stdout)
        # An older row with a C1 control and a bidi override: the table a
        # terminal shows has neither (the JSON, for programs, has the row).
        con = sqlite3.connect(f"{self.daemon.state_dir}/fieldwatch.db", timeout=10)
        try:
            with con:
                con.execute("INSERT INTO events (type, at, device, text) VALUES"
                            " ('work_recorded', strftime('%s', 'now'), '07-camera', ?)",
                            ("csi \u009b31m rlo \u202eabc \u2066iso\u2069",))
        finally:
            con.close()
        r = self.ctl("events")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("csi \ufffd31m rlo \ufffdabc \ufffdiso\ufffd", r.stdout)
        for c in ("\u009b", "\u202e", "\u2066", "\u2069"):
            self.assertNotIn(c, r.stdout)
        status, events = self.web_json("/api/v1/events")
        self.assertEqual(status, 200)
        self.assertIn(bad, [e["id"] for e in events])
        import urllib.request
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{self.port}/", timeout=10) as page:
            self.assertEqual(page.status, 200)
            self.assertIn("work recorded: あ", page.read().decode())


if __name__ == "__main__":
    unittest.main(verbosity=2)
