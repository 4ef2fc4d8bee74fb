#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The contract's end (issue 14, part 2; 別記1 第10条, 別記2 第12条):
`fieldwatchctl handover --output DIR` exports every record and report (CSV
and JSON, a SHA256SUMS that `sha256sum -c` accepts); `fieldwatchctl purge
--confirm`, with the daemon stopped and no fault open, leaves no name, note
or mail body in the database file or its -wal (their raw bytes scanned), the
credentials directory gone, a disposal record and the disposal report.
Refusals (no --confirm, the daemon running, a fault open) change nothing.

Real pieces: the simulated field, a real SMTP server (aiosmtpd), the daemon's
control socket, the real SQLite file.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_handover.py
"""

import csv
import hashlib
import html.parser
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

from fwtest import Smtp, free_port  # noqa: E402

# What people typed: none of it may survive the purge.
ACK_BY, ONSITE_BY, RECOVER_BY, WORK_BY = "山田太郎", "鈴木花子", "佐藤次郎", "高橋美咲"
SECRETS_OF_PEOPLE = [ACK_BY, ONSITE_BY, RECOVER_BY, WORK_BY, "ACKNOTE-7f3a", "CAUSE-91be",
                     "ACTION-22c4", "PREVENT-5d0e", "WORKNOTE-c8e1", "WORKTITLE-03aa",
                     "WORKCONTENT-6b2f", "oncall@lab.invalid"]
PURGER = "廃棄担当者"


class Parses(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.text = []

    def handle_data(self, data):
        self.text.append(data)


def files_digest(*paths):
    h = hashlib.sha256()
    for p in paths:
        if os.path.exists(p):
            with open(p, "rb") as f:
                h.update(f.read())
        h.update(b"\0")
    return h.hexdigest()


class Handover(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fieldwatch-handover-")
        self.port = free_port()

        def edit(data):
            fwtest.fast_probes(data)
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{self.port}"
        self.config = fwtest.lab_config(os.path.join(self.tmp, "fieldwatch.yaml"), edit)
        # The daemon's own copy of the secrets: purge erases it.
        self.creds = fwtest.private_credentials(os.path.join(self.tmp, "credentials"))
        self.field = Field(self.config, fwtest.CREDENTIALS, os.path.join(self.tmp, "field"))
        self.field.up()
        self.smtp = Smtp(self.tmp, self.port)
        self.smtp.start()
        self.daemon = None

    def tearDown(self):
        try:
            if self.daemon:
                self.daemon.stop()
        finally:
            self.smtp.stop()
            self.field.down()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, pretend="2026-11-25T10:00:00+09:00"):
        self.daemon = fwtest.Daemon(self.tmp, self.config, credentials=self.creds,
                                    extra_args=["--pretend-now", pretend])
        self.daemon.messages("READY=1")
        return self.daemon

    def stop(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log()[-3000:])
        self.daemon = None

    @property
    def state(self):
        return os.path.join(self.tmp, "state")

    def ctl(self, *args):
        return fwtest.ctl("--credentials-dir", self.creds, *args, state_dir=self.state,
                          config=self.config)

    def ok(self, *args):
        r = self.ctl(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r

    def sql(self, query):
        db = sqlite3.connect(f"file:{self.state}/fieldwatch.db?mode=ro", uri=True)
        try:
            return db.execute(query).fetchall()
        finally:
            db.close()

    def db_files(self):
        base = os.path.join(self.state, "fieldwatch.db")
        return [base, base + "-wal"]

    def raw_db(self):
        data = b""
        for p in self.db_files():
            if os.path.exists(p):
                with open(p, "rb") as f:
                    data += f.read()
        return data

    def fault_and_work(self):
        """A fault handled to the end with names and notes, a work record, mails."""
        d = self.start()
        d.wait_device("04-camera", "up")
        self.field.camera("04").fault("down")
        fid = fwtest.wait_for(lambda: self.sql("SELECT id FROM faults WHERE state = 'open'"),
                              20, what="the fault")[0][0]
        self.ok("ack", str(fid), "--by", ACK_BY, "--note", "ACKNOTE-7f3a")
        self.ok("onsite", str(fid), "--by", ONSITE_BY)
        self.field.camera("04").clear()
        fwtest.wait_for(lambda: self.sql(f"SELECT state FROM faults WHERE id = {fid}")
                        != [("open",)], 20, what="the fault cleared")
        self.ok("recover", str(fid), "--by", RECOVER_BY, "--cause", "CAUSE-91be",
                "--action", "ACTION-22c4", "--prevention", "PREVENT-5d0e",
                "--media-replaced", "--parts", "WV-SDB128G")
        self.ok("work", "add", "--start", "2026-11-25T09:00", "--end", "2026-11-25T09:30",
                "--by", WORK_BY, "--title", "WORKTITLE-03aa", "--content", "WORKCONTENT-6b2f",
                "--notes", "WORKNOTE-c8e1")
        fwtest.wait_for(lambda: [m for m in self.smtp.mails() if m["status"] == "accepted"],
                        20, what="a mail sent")
        # A mail still unsent: the SMTP server goes away, another fault is raised and cleared.
        self.smtp.stop()
        self.field.camera("06").fault("down")
        fwtest.wait_for(lambda: self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
                        [0][0] > 0, 20, what="an unsent mail")
        self.field.camera("06").clear()
        fwtest.wait_for(lambda: self.sql("SELECT COUNT(*) FROM faults WHERE state = 'open'")
                        == [(0,)], 20, what="no fault open")
        return fid

    # -----------------------------------------------------------------------

    def test_handover_then_purge(self):
        fid = self.fault_and_work()
        raw = self.raw_db()
        for s in SECRETS_OF_PEOPLE:
            self.assertIn(s.encode(), raw, f"{s} is not in the database to begin with")
        self.assertGreater(self.sql("SELECT COUNT(*) FROM outbox")[0][0], 1)

        # Handover reads while the daemon runs.
        out = os.path.join(self.tmp, "handover")
        r = self.ok("handover", "--output", out)
        self.assertIn("SHA256SUMS", r.stdout)
        c = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=out,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(c.returncode, 0, c.stdout + c.stderr)
        with open(os.path.join(out, "SHA256SUMS"), encoding="utf-8") as f:
            listed = [line.split("  ", 1)[1] for line in f.read().splitlines()]
        on_disk = sorted(os.path.relpath(os.path.join(dp, f), out)
                         for dp, _, fs in os.walk(out) for f in fs if f != "SHA256SUMS")
        self.assertEqual(sorted(listed), on_disk)
        for table in ("faults", "events", "work", "investigations", "deliverables"):
            with self.subTest(table):
                with open(os.path.join(out, "data", table + ".json"), encoding="utf-8") as f:
                    rows = json.load(f)
                with open(os.path.join(out, "data", table + ".csv"), encoding="utf-8-sig",
                          newline="") as f:
                    table_csv = list(csv.reader(f))
                self.assertEqual(len(table_csv), len(rows) + (1 if rows else 0))
                if rows:
                    self.assertEqual(table_csv[0], list(rows[0]))
        with open(os.path.join(out, "data", "faults.json"), encoding="utf-8") as f:
            faults = {x["id"]: x for x in json.load(f)}
        self.assertEqual(faults[fid]["acknowledged_by"], ACK_BY)
        self.assertEqual(faults[fid]["cause"], "CAUSE-91be")
        self.assertTrue(faults[fid]["detected_at"].startswith("2026-11-25T10:"))
        self.assertTrue(faults[fid]["detected_at"].endswith("+09:00"))
        with open(os.path.join(out, "data", "work.json"), encoding="utf-8") as f:
            self.assertIn(WORK_BY, [w["person"] for w in json.load(f)])
        reports = os.listdir(os.path.join(out, "reports"))
        for name in ("quarterly-2026Q4.html", "quarterly-2026Q4.csv", "incidents.html",
                     f"fault-{fid}.html", f"erasure-{fid}.html"):
            self.assertIn(name, reports)
        for name in reports:
            if name.endswith(".html"):
                p = Parses()
                with open(os.path.join(out, "reports", name), encoding="utf-8") as f:
                    p.feed(f.read())
                p.close()
        with open(os.path.join(out, "config", "fieldwatch.yaml"), encoding="utf-8") as f:
            conf = f.read()
        with open(self.config, encoding="utf-8") as f:
            self.assertEqual(conf, f.read())
        for secret_file in os.listdir(self.creds):
            with open(os.path.join(self.creds, secret_file), encoding="utf-8") as f:
                secret = f.read().strip()
            for dp, _, fs in os.walk(out):
                for name in fs:
                    with open(os.path.join(dp, name), "rb") as f:
                        self.assertNotIn(secret.encode(), f.read(), name)
        # Never over an existing directory's content.
        r = self.ctl("handover", "--output", out)
        self.assertEqual(r.returncode, 1)
        self.assertIn("exists and is not empty", r.stderr)

        # Purge refused: no --confirm; the daemon running. Nothing changes.
        before = files_digest(*self.db_files())
        creds_before = sorted(os.listdir(self.creds))
        r = self.ctl("purge")
        self.assertEqual(r.returncode, 2)
        self.assertIn("nothing was erased", r.stderr)
        self.assertIn("--confirm", r.stderr)
        r = self.ctl("purge", "--confirm")
        self.assertEqual(r.returncode, 1)
        self.assertIn("fieldwatchd is running", r.stderr)
        self.stop()
        before = files_digest(*self.db_files())
        r = self.ctl("purge")
        self.assertEqual(r.returncode, 2)
        self.assertEqual(files_digest(*self.db_files()), before)
        self.assertEqual(sorted(os.listdir(self.creds)), creds_before)

        # Purge.
        n_faults = self.sql("SELECT COUNT(*) FROM faults")[0][0]
        report = os.path.join(self.tmp, "disposal.html")
        r = self.ok("purge", "--confirm", "--by", PURGER, "--format", "html", "--output", report)
        raw = self.raw_db()
        for s in SECRETS_OF_PEOPLE:
            self.assertNotIn(s.encode(), raw, f"{s} survived the purge")
        # No mail body: the phrases every body has.
        self.assertNotIn("自動送信です".encode(), raw)
        self.assertNotIn(b"fieldwatchctl ack", raw)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox"), [(0,)])
        wal = self.db_files()[1]
        self.assertEqual(os.path.getsize(wal) if os.path.exists(wal) else 0, 0)
        self.assertFalse(os.path.exists(self.creds))
        # The records stay, without the people.
        self.assertEqual(self.sql("SELECT COUNT(*) FROM faults")[0][0], n_faults)
        self.assertEqual(self.sql(f"SELECT kind, acknowledged_by, cause FROM faults"
                                  f" WHERE id = {fid}"), [("camera_down", "", "")])
        rec = self.sql("SELECT by_name, os_user, what, how FROM disposals")
        self.assertEqual(len(rec), 1)
        self.assertEqual(rec[0][0], PURGER)
        self.assertIn("uid", rec[0][1])
        what = json.loads(rec[0][2])
        self.assertGreater(what["outbox_mails_deleted"], 1)
        self.assertEqual(what["credential_files_erased"], len(creds_before))
        self.assertTrue(what["credentials_directory_removed"])
        self.assertIn("secure_delete", rec[0][3])
        self.assertIn("VACUUM", rec[0][3])
        with open(report, encoding="utf-8") as f:
            page = f.read()
        p = Parses()
        p.feed(page)
        p.close()
        text = "".join(p.text)
        self.assertIn("データ廃棄（消去）報告書", text)
        self.assertIn(PURGER, text)
        self.assertIn("secure_delete", text)
        self.assertIn("VACUUM", text)
        self.assertIn("別記2 第12条", text)
        # The report again, from the record (Markdown, English).
        r = self.ok("report", "disposal", "--lang", "en")
        self.assertIn("# Data disposal report", r.stdout)
        self.assertIn(PURGER, r.stdout)
        self.assertIn(f"| Credential files (device passwords, ...) | {len(creds_before)} |",
                      r.stdout)
        self.assertIn(f"| Mails (bodies, subjects, recipients) | {what['outbox_mails_deleted']} |",
                      r.stdout)
        self.assertEqual(self.ok("report", "disposal", "1", "--format", "html").stdout.count(
            PURGER), 1)
        r = self.ctl("report", "disposal", "2")
        self.assertEqual(r.returncode, 1)
        self.assertIn("There is no disposal record 2.", r.stderr)
        # The other reports still work on the purged database.
        r = self.ok("report", "incidents", "--from", "2026-11-01", "--to", "2026-11-30")
        self.assertIn("情報セキュリティ事故報告", r.stdout)
        r = self.ok("report", "quarterly", "2026Q4")

    def test_purge_refused_while_a_fault_is_open(self):
        d = self.start()
        d.wait_device("05-camera", "up")
        self.field.camera("05").fault("down")
        fid = fwtest.wait_for(lambda: self.sql("SELECT id FROM faults WHERE state = 'open'"),
                              20, what="the fault")[0][0]
        self.ok("ack", str(fid), "--by", ACK_BY, "--note", "ACKNOTE-7f3a")
        self.stop()
        before = files_digest(*self.db_files())
        creds_before = sorted(os.listdir(self.creds))
        r = self.ctl("purge", "--confirm")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"1 fault is still open ({fid})", r.stderr)
        self.assertIn("nothing was erased", r.stderr)
        self.assertEqual(files_digest(*self.db_files()), before)
        self.assertEqual(sorted(os.listdir(self.creds)), creds_before)
        self.assertIn(ACK_BY.encode(), self.raw_db())

    def test_no_disposal_yet(self):
        d = self.start()
        d.wait_device("05-camera", "up")
        r = self.ctl("report", "disposal")
        self.assertEqual(r.returncode, 1)
        self.assertIn("There is no disposal record", r.stderr)

    def test_purge_refused_with_a_directory_among_the_credentials(self):
        d = self.start()
        d.wait_device("05-camera", "up")
        self.stop()
        os.mkdir(os.path.join(self.creds, "subdir"))
        before = files_digest(*self.db_files())
        r = self.ctl("purge", "--confirm")
        self.assertEqual(r.returncode, 1)
        self.assertIn("subdir is neither a file nor a symbolic link", r.stderr)
        self.assertEqual(files_digest(*self.db_files()), before)
        self.assertIn("camera", os.listdir(self.creds))


    def test_retention_deletes_old_events_and_sent_mails(self):
        def edit(data):
            fwtest.fast_probes(data)
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{self.port}"
            data["retention"] = {"events": "2d", "mail": "1d"}
        self.config = fwtest.lab_config(os.path.join(self.tmp, "retention.yaml"), edit)
        d = self.start()
        d.wait_device("04-camera", "up")
        self.field.camera("04").fault("down")
        fwtest.wait_for(lambda: self.sql("SELECT id FROM faults WHERE state = 'open'"),
                        20, what="the fault")
        self.field.camera("04").clear()
        fwtest.wait_for(lambda: self.sql("SELECT COUNT(*) FROM faults WHERE state = 'open'")
                        == [(0,)], 20, what="the fault cleared")
        fwtest.wait_for(lambda: self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
                        == [(0,)] and self.sql("SELECT COUNT(*) FROM outbox")[0][0] >= 2,
                        20, what="the mails sent")
        # An unsent mail stays whatever its age.
        self.smtp.stop()
        self.field.camera("07").fault("down")
        fwtest.wait_for(lambda: self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")
                        [0][0] > 0, 20, what="an unsent mail")
        self.stop()
        n_events = self.sql("SELECT COUNT(*) FROM events")[0][0]
        n_open_events = self.sql("SELECT COUNT(*) FROM events WHERE fault_id IN"
                                 " (SELECT id FROM faults WHERE state = 'open')")[0][0]
        unsent = self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")[0][0]
        self.assertGreater(n_events, n_open_events)
        # One day later: the mails (1d) go, the events (2d) stay.
        d = self.start("2026-11-26T10:30:00+09:00")
        fwtest.wait_for(lambda: "Retention: deleted 0 events" in d.log(), 30,
                        what="the retention run")
        # 2026-11-25T10:30 JST: the first run's mails are older than a day.
        first = "strftime('%s', '2026-11-25T01:30:00')"
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL"
                                  f" AND created_at < {first}"), [(0,)])
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"
                                  f" AND created_at < {first}"), [(unsent,)])
        self.assertEqual(self.sql(f"SELECT COUNT(*) FROM events WHERE at < {first}"),
                         [(n_events,)])
        self.stop()
        # Three days later: the events of the cleared fault go; the open one's stay.
        d = self.start("2026-11-28T10:00:00+09:00")
        fwtest.wait_for(lambda: "Retention: deleted" in d.log() and
                        "Retention: deleted 0 events" not in d.log(), 30,
                        what="the retention run")
        left = self.sql("SELECT COUNT(*) FROM events WHERE at < strftime('%s', "
                        "'2026-11-26T01:30:00')")[0][0]
        self.assertEqual(left, n_open_events)
        self.assertGreater(self.sql("SELECT COUNT(*) FROM faults")[0][0], 1)
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"
                                  f" AND created_at < {first}"), [(unsent,)])

    def test_retention_configuration(self):
        def edit(data):
            data["retention"] = {"events": "12h"}
        bad = fwtest.lab_config(os.path.join(self.tmp, "bad.yaml"), edit)
        r = fwtest.ctl("check-config", config=bad)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad.yaml:", r.stderr)
        self.assertIn("retention.events", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
