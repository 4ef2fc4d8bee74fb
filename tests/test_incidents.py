#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Security incidents (issue 14, part 3; 別記1 第9条, 別記2 第10条): a camera
refusing the credentials, another camera model, another site's router
answering, an SNMPv3 authentication failure and a swapped camera each become
one security_incident event (journal PRIORITY 1, its catalog MESSAGE_ID),
mailed at once to notify.security_to as well as on-call, and listed by
`fieldwatchctl report incidents --from --to` (md, html, csv, json).

Real pieces: the ONVIF simulator and snmpd field, a real journald
(tests/journald.py), a real SMTP server (tests/smtp_server.py, aiosmtpd),
the real SQLite file.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_incidents.py
"""

import csv
import html.parser
import io
import json
import os
import re
import shutil
import sqlite3
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import journald  # noqa: E402
from sim.field import Field  # noqa: E402

from fwtest import Smtp, free_port  # noqa: E402

SECURITY = "security@city.invalid"
ONCALL = "oncall@lab.invalid"
EVENT_C = os.path.join(fwtest.ROOT, "daemon", "event.c")


def incident_message_id():
    with open(EVENT_C, encoding="utf-8") as f:
        m = re.search(r'\[EVENT_SECURITY_INCIDENT\]\s*=\s*\{\s*"security_incident",\s*'
                      r'"([0-9a-f]{32})",\s*LOG_ALERT', f.read())
    return m.group(1)


class Tags(html.parser.HTMLParser):
    """Checks that a document parses and collects its table cells."""

    def __init__(self):
        super().__init__()
        self.cells = []
        self.in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag in ("td", "th"):
            self.in_cell = True
            self.cells.append("")

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.cells[-1] += data


class Incidents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-incidents-")
        cls.port = free_port()
        cls.creds = os.path.join(cls.tmp, "credentials")
        shutil.copytree(fwtest.CREDENTIALS, cls.creds)
        wrong = os.path.join(cls.creds, "wrong-auth")
        with open(wrong, "w", encoding="utf-8") as f:
            f.write("not-the-password")
        os.chmod(wrong, 0o600)

        def edit(data):
            fwtest.fast_probes(data)
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{cls.port}"
            data["notify"]["security_to"] = [f"市 情報政策課 <{SECURITY}>"]
            data["notify"]["renotify_every"] = 0
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), edit)

        def edit_wrong(data):
            edit(data)
            data["sites"][2]["router"]["snmp"]["auth_credential"] = "wrong-auth"
        cls.config_wrong = fwtest.lab_config(os.path.join(cls.tmp, "wrong.yaml"), edit_wrong)
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        cls.journal = journald.Journal()
        cls.journal.__enter__()
        cls.mid = incident_message_id()

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

    def tearDown(self):
        try:
            if self.daemon:
                self.assertEqual(self.daemon.stop(), 0, self.daemon.log()[-3000:])
        finally:
            self.smtp.stop()
            self.field.reset_cameras()
            for site in self.field.sites():
                self.field.router(site).clear_oddities()

    def start(self, pretend="2026-11-25T10:00:00+09:00", config=None):
        self.daemon = fwtest.Daemon(self.dir, config or self.config,
                                    credentials=self.creds, extra_args=["--pretend-now", pretend])
        self.daemon.messages("READY=1")
        return self.daemon

    def sql(self, query, *args):
        db = sqlite3.connect(f"file:{self.daemon.state_dir}/fieldwatch.db?mode=ro", uri=True)
        try:
            return db.execute(query, args).fetchall()
        finally:
            db.close()

    def incidents(self):
        return self.sql("SELECT device, kind, fault_id, text FROM events"
                        " WHERE type = 'security_incident' ORDER BY id")

    def accepted(self):
        return [m for m in self.smtp.mails() if m["status"] == "accepted"]

    def incident_mails(self):
        """The incident mails, one per Message-ID (the mailer sends a mail to
        each recipient in an SMTP transaction of its own), each with
        "rcpt_tos" every recipient that got it, once each."""
        mails = {}
        for m in self.accepted():
            if "情報セキュリティ事故" not in m["subject"]:
                continue
            if m["message_id"] in mails:
                mails[m["message_id"]]["rcpt_tos"] += m["rcpt_tos"]
            else:
                mails[m["message_id"]] = dict(m, rcpt_tos=list(m["rcpt_tos"]))
        return list(mails.values())

    def incident_mails_to_both(self, n):
        mails = self.incident_mails()
        return len(mails) >= n and all(len(m["rcpt_tos"]) >= 2 for m in mails) and mails

    def report(self, *args):
        r = fwtest.ctl("report", "incidents", *args, state_dir=self.daemon.state_dir,
                       config=self.config)
        return r

    # -----------------------------------------------------------------------

    def test_camera_auth_failure_one_incident_mailed_to_security(self):
        cursor = self.journal.cursor()
        d = self.start()
        d.wait_device("05-camera", "up")
        self.field.camera("05").fault("auth_reject")
        mail = fwtest.wait_for(lambda: self.incident_mails_to_both(1), 30,
                               what="the security incident mail")[0]
        self.assertEqual(sorted(mail["rcpt_tos"]), sorted([ONCALL, SECURITY]))
        self.assertIn("05", mail["subject"])
        self.assertIn("認証失敗", mail["subject"])
        self.assertIn("別記1 第9条", mail["body"])
        self.assertIn("auth_failed", mail["body"])
        self.assertNotIn("lab-camera-secret", json.dumps(self.smtp.mails()))
        # The fault's own mail goes to on-call only.
        raised = [m for m in self.accepted() if m["subject"].startswith("[fieldwatch] 障害発生")]
        self.assertEqual([m["rcpt_tos"] for m in raised], [[ONCALL]])

        # The journal: PRIORITY 1 (alert), the catalog's MESSAGE_ID, the incident's kind.
        entries = self.journal.wait_entries(1, since=cursor, timeout=15,
                                            _PID=str(d.proc.pid),
                                            FIELDWATCH_EVENT="security_incident")
        self.assertEqual(len(entries), 1)
        e = entries[0]
        self.assertEqual(e["PRIORITY"], "1")
        self.assertEqual(e["MESSAGE_ID"], self.mid)
        self.assertEqual(e["FIELDWATCH_KIND"], "auth_failed")
        self.assertEqual(e["FIELDWATCH_DEVICE"], "05-camera")
        fault_id = int(e["FIELDWATCH_FAULT_ID"])

        # One incident per fault, not per probe: more deep checks fail (every
        # 2 s), nothing more is reported.
        time.sleep(8)
        self.assertEqual(len(self.incident_mails()), 1)
        self.assertEqual(sorted(self.incident_mails()[0]["rcpt_tos"]),
                         sorted([ONCALL, SECURITY]))
        self.assertEqual([(r[0], r[1], r[2]) for r in self.incidents()],
                         [("05-camera", "auth_failed", fault_id)])
        self.assertEqual(len(self.journal.entries(since=cursor, _PID=str(d.proc.pid),
                                                  FIELDWATCH_EVENT="security_incident")), 1)
        # A restart restores the fault: no second incident.
        self.assertEqual(d.stop(), 0)
        d = self.start("2026-11-25T10:05:00+09:00")
        time.sleep(6)
        self.assertEqual(len(self.incidents()), 1)
        self.assertEqual(len(self.incident_mails()), 1)
        self.assertEqual(len(self.incident_mails()[0]["rcpt_tos"]), 2)

        # The report lists it, in every format.
        r = self.report("--from", "2026-11-25", "--to", "2026-11-25", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(len(doc["incidents"]), 1)
        inc = doc["incidents"][0]
        self.assertEqual((inc["device"], inc["kind"], inc["fault_id"], inc["fault_kind"],
                          inc["site"]), ("05-camera", "auth_failed", fault_id, "auth_failed",
                                         "05"))
        self.assertTrue(inc["at"].startswith("2026-11-25T10:"))
        self.assertTrue(inc["mailed_at"].startswith("2026-11-25T10:"))
        r = self.report("--from", "2026-11-25", "--to", "2026-11-25", "--format", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = list(csv.reader(io.StringIO(r.stdout.lstrip("\ufeff"))))
        self.assertEqual(len(rows), 2, rows)
        self.assertIn("認証失敗 (auth_failed)", rows[1])
        self.assertIn(str(fault_id), rows[1])
        r = self.report("--from", "2026-11-25", "--to", "2026-11-25", "--format", "html")
        self.assertEqual(r.returncode, 0, r.stderr)
        p = Tags()
        p.feed(r.stdout)
        p.close()
        self.assertIn("05-camera", " ".join(p.cells))
        r = self.report("--from", "2026-11-25", "--to", "2026-11-25")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("# 情報セキュリティ事故報告", r.stdout)
        # Another period: none.
        r = self.report("--from", "2026-11-26", "--to", "2026-11-30", "--format", "json")
        self.assertEqual(json.loads(r.stdout)["incidents"], [])
        r = self.report("--from", "2026-11-26", "--to", "2026-11-30", "--lang", "en")
        self.assertIn("No security incident in this period.", r.stdout)

    def test_identity_model_and_swap(self):
        d = self.start()
        for dev in ("06-camera", "07-camera", "08-router", "09-camera"):
            d.wait_device(dev, "up", timeout=20)
        # A swap is a serial unlike the one seen: the first deep check must have run.
        fwtest.wait_for(lambda: (d.status().get("07-camera", {}).get("values") or {})
                        .get("serial"), 20, what="07-camera's serial")
        self.field.router("08").impersonate("10")
        self.field.camera("06").fault("wrong_model")
        self.field.camera("07").fault("swapped_serial")
        try:
            fwtest.wait_for(lambda: len(self.incidents()) >= 3, 40, what="three incidents")
        except AssertionError as e:
            raise AssertionError(f"{e}: {self.incidents()!r}; faults "
                                 f"{self.sql('SELECT device, kind, state FROM faults')!r}; "
                                 f"status {[(k, v['state'], v['reason']) for k, v in d.status().items() if k[:2] in ('06', '07', '08')]!r}")
        time.sleep(6)
        got = sorted((r[0], r[1], r[2] is not None) for r in self.incidents())
        self.assertEqual(got, [("06-camera", "model_mismatch", True),
                               ("07-camera", "device_swapped", False),
                               ("08-router", "identity_mismatch", True)])
        mails = fwtest.wait_for(lambda: self.incident_mails_to_both(3), 30,
                                what="three incident mails")
        self.assertEqual(len(mails), 3)
        for m in mails:
            self.assertEqual(sorted(m["rcpt_tos"]), sorted([ONCALL, SECURITY]))
        # The router's fault is of its own kind now, no longer a bare "degraded".
        kinds = {r[0]: r[1] for r in self.sql("SELECT device, kind FROM faults")}
        self.assertEqual(kinds.get("08-router"), "identity_mismatch")
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox WHERE held_until IS NOT NULL"),
                         [(0,)])

    def test_snmpv3_authentication_failure(self):
        d = self.start(config=self.config_wrong)
        d.wait_device("03-router", "down", "SNMPv3 authentication failed", timeout=20)
        fwtest.wait_for(lambda: self.incidents(), 20, what="the incident")
        time.sleep(4)
        rows = self.incidents()
        self.assertEqual([(r[0], r[1]) for r in rows], [("03-router", "snmp_auth_failed")])
        self.assertNotIn("not-the-password", d.log())
        mail = fwtest.wait_for(lambda: self.incident_mails_to_both(1), 20, what="the mail")[0]
        self.assertIn(SECURITY, mail["rcpt_tos"])
        self.assertNotIn("not-the-password", json.dumps(self.smtp.mails()))

    def test_report_bad_input(self):
        self.start()
        for args, want in ((["--from", "2026-11-25"], "needs --from DATE and --to DATE"),
                           (["--from", "2026-13-01", "--to", "2026-12-01"], "invalid --from"),
                           (["--from", "2026-12-02", "--to", "2026-12-01"], "before --from")):
            r = self.report(*args)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn(want, r.stderr)
        r = fwtest.ctl("report", "sla", "2026Q4", "--format", "json",
                       state_dir=self.daemon.state_dir, config=self.config)
        self.assertEqual(r.returncode, 2)
        self.assertIn("--format json is for the incidents report", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
