#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""On-call mail end to end (issue 4): fieldwatchd against the simulated field
and a real SMTP server (Debian's python3-aiosmtpd, tests/smtp_server.py):
a fault's mails form one thread, Japanese subjects with the site and place,
the due in the first line; an SMTP outage loses nothing and sends nothing
twice; a restart does not send a mail again; a recipient the server refuses
(greylisting) gets the mail on the retry, the others once.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_mail_e2e.py
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from sim.field import Field  # noqa: E402

from fwtest import Smtp, free_port  # noqa: E402


class Mail(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fieldwatch-mail-")
        self.port = free_port()

        def edit(data):
            fwtest.fast_probes(data)
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{self.port}"
        self.config = fwtest.lab_config(os.path.join(self.tmp, "fieldwatch.yaml"), edit)
        self.field = Field(self.config, fwtest.CREDENTIALS, os.path.join(self.tmp, "field"))
        self.field.up()
        self.smtp = Smtp(self.tmp, self.port)
        self.daemon = None

    def tearDown(self):
        try:
            if self.daemon:
                self.assertEqual(self.daemon.stop(), 0, self.daemon.log()[-2000:])
        finally:
            self.smtp.stop()
            self.field.down()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, pretend="2026-11-25T10:00:00+09:00"):
        self.daemon = fwtest.Daemon(self.tmp, self.config, extra_args=["--pretend-now", pretend])
        self.daemon.messages("READY=1")

    def accepted(self):
        return [m for m in self.smtp.mails() if m["status"] == "accepted"]

    def test_thread_japanese_and_the_due_first(self):
        self.smtp.start()
        self.start()
        self.daemon.wait_device("05-camera", "up")
        self.field.camera("05").fault("down")
        raised = fwtest.wait_for(lambda: self.accepted(), 20, what="the first mail")[0]
        self.assertIn("05", raised["subject"])
        self.assertIn("市川市真間1-12-4 市川センタービル（南向き）", raised["subject"])
        self.assertEqual(raised["rcpt_tos"], ["oncall@lab.invalid"])
        self.assertIn("2026-11-25", raised["body"].splitlines()[0])
        self.assertNotIn("lab-camera-secret", json.dumps(self.smtp.mails()))
        self.field.camera("05").clear()
        mails = fwtest.wait_for(lambda: len(self.accepted()) >= 2 and self.accepted(), 20,
                                what="the clearing mail")
        self.assertEqual(mails[1]["in_reply_to"], raised["message_id"])
        self.assertIn(raised["message_id"], mails[1]["references"])
        self.assertNotEqual(mails[1]["message_id"], raised["message_id"])

    def test_smtp_outage_loses_nothing_and_repeats_nothing(self):
        # No SMTP server at first.
        self.start()
        self.daemon.wait_device("07-camera", "up")
        self.field.camera("07").fault("down")
        self.field.camera("08").fault("down")
        fwtest.wait_for(lambda: len(fwtest.ctl("faults", "--json",
                                               state_dir=self.daemon.state_dir,
                                               config=self.config).stdout.split('"id"')) == 3,
                        20, what="two faults")
        self.assertEqual(self.smtp.mails(), [])
        self.smtp.start()
        # The first retry comes after the back-off (30 s): everything, once, in order.
        mails = fwtest.wait_for(lambda: len(self.accepted()) >= 2 and self.accepted(), 75,
                                what="the delayed mails")
        time.sleep(3)
        mails = self.accepted()
        self.assertEqual(len(mails), 2)
        self.assertEqual(len({m["message_id"] for m in mails}), 2)
        subjects = [m["subject"] for m in mails]
        self.assertTrue(any("07" in s for s in subjects) and any("08" in s for s in subjects))
        db_ids = subprocess.run(["sqlite3", os.path.join(self.daemon.state_dir, "fieldwatch.db"),
                                 "SELECT message_id FROM outbox ORDER BY id"],
                                capture_output=True, text=True, timeout=10).stdout.split()
        self.assertEqual([m["message_id"] for m in mails], db_ids)

    def test_sigterm_during_a_mail_send(self):
        # The server takes the first mail's DATA and never answers.
        self.smtp.start("--hang-first", "1")
        self.start()
        self.daemon.wait_device("10-camera", "up")
        self.field.camera("10").fault("down")
        fwtest.wait_for(lambda: [m for m in self.smtp.mails() if m["status"] == "hang"], 20,
                        what="the mail hanging after DATA")
        t0 = time.monotonic()
        self.daemon.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.daemon.proc.wait(5), 0)
        self.assertLess(time.monotonic() - t0, 1.5)
        self.daemon.stop()
        self.daemon = None
        unsent = subprocess.run(["sqlite3", os.path.join(self.tmp, "state", "fieldwatch.db"),
                                 "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"],
                                capture_output=True, text=True, timeout=10).stdout.strip()
        self.assertEqual(unsent, "1")
        # Started again, it sends that mail (the server now answers), once.
        self.start("2026-11-25T10:01:00+09:00")
        mails = fwtest.wait_for(lambda: self.accepted(), 60, what="the mail after the restart")
        time.sleep(2)
        self.assertEqual(len(self.accepted()), 1)
        self.assertIn("10", mails[0]["subject"])

    def test_restart_sends_nothing_twice(self):
        self.smtp.start()
        self.start()
        self.daemon.wait_device("09-camera", "up")
        self.field.camera("09").fault("down")
        fwtest.wait_for(lambda: self.accepted(), 20, what="the first mail")
        # Marked sent (a kill -9 between the server's 250 and the mark may send
        # that one mail again, by design: at-least-once, the same Message-ID).
        fwtest.wait_for(lambda: self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NOT NULL")
                        == "1", 20, what="the mail marked sent")
        self.daemon.proc.kill()
        self.daemon.proc.wait(5)
        self.daemon.stop()
        self.start("2026-11-25T10:02:00+09:00")
        time.sleep(6)
        self.assertEqual(len(self.accepted()), 1)

    def test_refused_recipient_gets_it_on_retry(self):
        # Greylisting: the server answers 450 to RCPT TO the second on-call
        # address, once. Each address is its own SMTP transaction: on-call gets
        # the mail at once, the second address on the retry, nobody twice.
        def edit(data):
            fwtest.fast_probes(data)
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{self.port}"
            data["notify"]["to"] = ["oncall@lab.invalid", "second@lab.invalid"]
        fwtest.lab_config(self.config, edit)
        self.smtp.start("--refuse-rcpt", "second@lab.invalid", "1", "450")
        self.start()
        self.daemon.wait_device("06-camera", "up")
        self.field.camera("06").fault("down")
        first = fwtest.wait_for(lambda: self.accepted(), 20, what="the mail to on-call")[0]
        self.assertEqual(first["rcpt_tos"], ["oncall@lab.invalid"])
        self.assertEqual([m["rcpt"] for m in self.smtp.mails() if m["status"] == "rcpt-450"],
                         ["second@lab.invalid"])
        fwtest.wait_for(lambda: self.sql("SELECT delivered_to FROM outbox")
                        == '["oncall@lab.invalid"]', 10, what="on-call recorded as reached")
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"), "1")
        # The retry, after the back-off (30 s), goes to the second address only.
        fwtest.wait_for(lambda: len(self.accepted()) >= 2, 75, what="the retry")
        time.sleep(3)
        mails = self.accepted()
        self.assertEqual([m["rcpt_tos"] for m in mails],
                         [["oncall@lab.invalid"], ["second@lab.invalid"]])
        self.assertEqual([m["message_id"] for m in mails], [first["message_id"]] * 2)
        self.assertEqual(mails[1]["body"], first["body"])
        self.assertEqual(self.sql("SELECT delivered_to FROM outbox"),
                         '["oncall@lab.invalid","second@lab.invalid"]')
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"), "0")
        log = self.daemon.log()
        self.assertIn("delivered to oncall@lab.invalid; not yet to 1 more", log)
        self.assertIn("to second@lab.invalid: attempt 1 failed: SMTP 450", log)

    def sql(self, query):
        return subprocess.run(["sqlite3", os.path.join(self.tmp, "state", "fieldwatch.db"), query],
                              capture_output=True, text=True, timeout=10).stdout.strip()

    def test_mail_storm_goes_in_a_digest(self):
        # Every camera stops at once: 27 faults rise together. notify.digest_after
        # is 10 (the default): per minute, 10 mails alone, the rest in one digest.
        self.smtp.start()
        self.start()
        with open(self.config, encoding="utf-8") as f:
            sites = [s["id"] for s in fwtest.yaml.safe_load(f)["sites"]]
        self.assertEqual(len(sites), 27)
        fwtest.wait_for(lambda: all(self.daemon.status().get(f"{s}-camera", {}).get("state")
                                    == "up" for s in sites), 30, what="every camera up")
        for s in sites:
            self.field.camera(s).fault("down")
        fwtest.wait_for(lambda: self.sql("SELECT COUNT(*) FROM faults") == "27", 30,
                        what="27 faults")
        # The ten alone arrive; the rest is held in the outbox, durably.
        fwtest.wait_for(lambda: len(self.accepted()) >= 10, 30, what="the first ten mails")
        held = int(self.sql("SELECT COUNT(*) FROM outbox WHERE held_until IS NOT NULL"))
        per_minute = [int(n) for n in self.sql(
            "SELECT COUNT(*) FROM events WHERE type = 'fault_raised'"
            " GROUP BY at / 60 ORDER BY at / 60").split()]
        self.assertEqual(sum(per_minute), 27)
        self.assertEqual(held, sum(max(n - 10, 0) for n in per_minute))
        self.assertGreater(held, 0)
        self.assertIn("Mail storm: more than 10 mails", self.daemon.log())

        # kill -9 before the minute ends; started again after it: the digest goes, once.
        self.daemon.proc.kill()
        self.daemon.proc.wait(5)
        self.daemon.stop()
        self.start("2026-11-25T10:03:00+09:00")
        digests = len([n for n in per_minute if n > 10])
        want = sum(min(n, 10) for n in per_minute) + digests
        fwtest.wait_for(lambda: len(self.accepted()) >= want, 60, what=f"{want} mails")
        time.sleep(3)
        mails = self.accepted()
        self.assertEqual(len(mails), want)
        self.assertLess(len(mails), 27)
        self.assertEqual(len({m["message_id"] for m in mails}), want)

        # Every fault in exactly one mail: alone (its Message-ID names it) or in a digest.
        faults = self.sql("SELECT id FROM faults ORDER BY id").split()
        seen = {f: 0 for f in faults}
        listed = 0
        for m in mails:
            if m["message_id"].startswith("<fw.digest."):
                self.assertIn("件の障害通知（まとめ", m["subject"])
                self.assertTrue(m["body"].startswith("現地着手期限（最も早いもの）: 2026-11-25"))
                self.assertIsNone(m["in_reply_to"])
                for f in faults:
                    seen[f] += m["body"].count(f"障害ID: {f}  ")
                listed += m["body"].count(". [障害発生] ")
            else:
                seen[m["message_id"].split("@")[0].split(".")[2]] += 1
        self.assertEqual(seen, {f: 1 for f in faults})
        self.assertEqual(listed, held)
        self.assertNotIn("lab-camera-secret", json.dumps(mails))
        self.assertEqual(self.sql("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL"), "0")
        self.assertIn("it carried", self.daemon.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
