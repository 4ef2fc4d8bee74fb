#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""End-to-end fault scenarios (issue 4): fieldwatchd against the simulated
field, placed at chosen dates with --pretend-now, asserting the faults that
`fieldwatchctl faults --json` shows and the event history in the state
database. Each test starts its own daemon with a fresh state directory; the
field is shared and restored after each test.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_faults.py
"""

import datetime
import json
import os
import re
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import journald  # noqa: E402
from sim.field import Field  # noqa: E402

JST = datetime.timezone(datetime.timedelta(hours=9))


def stat_mode(path):
    return os.stat(path).st_mode & 0o777


def iso(s):
    return datetime.datetime.fromisoformat(s)


def edit_fast(data):
    fwtest.fast_probes(data)
    data["probes"]["anomaly_transients"] = 3
    data["probes"]["anomaly_window"] = "1h"


class Scenarios(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-faults-")
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), edit_fast)
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        # A real journald (started standalone when none answers) for the events.
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
        self.daemon = None

    def tearDown(self):
        try:
            if self.daemon:
                self.assertEqual(self.daemon.stop(), 0, self.daemon.log()[-3000:])
        finally:
            self.restore_field()

    def restore_field(self):
        f = self.field
        f.reset_cameras()
        for site in f.sites():
            r = f.router(site)
            if r.frozen():
                r.thaw()
            r.set(rsrp=-95)
            r.set_ifoper(1)
        if f.vpn.frozen():
            f.vpn.thaw()
        for i in range(1, 28):
            f.vpn.set_tunnel(i, True)

    def start(self, pretend, config=None):
        self.daemon = fwtest.Daemon(self.dir, config or self.config,
                                    extra_args=["--pretend-now", pretend])
        self.daemon.messages("READY=1")
        return self.daemon

    def faults(self, open_only=False):
        args = ["faults", "--json"] + (["--open"] if open_only else [])
        r = fwtest.ctl(*args, state_dir=self.daemon.state_dir, config=self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def wait_fault(self, device, kind=None, state="open", timeout=15):
        def check():
            for f in self.faults():
                if f["device"] == device and f["state"] == state and (kind is None or
                                                                     f["kind"] == kind):
                    return f
            return None
        return fwtest.wait_for(check, timeout, what=f"fault {device} {kind} {state}")

    def events(self, device=None):
        db = sqlite3.connect(f"file:{self.daemon.state_dir}/fieldwatch.db?mode=ro", uri=True)
        try:
            q = "SELECT type, device, fault_id, kind, text FROM events"
            rows = db.execute(q + (" WHERE device = ?" if device else "") + " ORDER BY id",
                              (device,) if device else ()).fetchall()
        finally:
            db.close()
        return rows

    # -----------------------------------------------------------------------

    def test_camera_down_inside_business_hours(self):
        cursor = self.journal.cursor()
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("01-camera", "up")
        self.field.camera("04").fault("down")
        f = self.wait_fault("04-camera", "camera_down")
        det = iso(f["detected_at"])
        self.assertEqual(det.utcoffset(), datetime.timedelta(hours=9))
        self.assertEqual(det.date(), datetime.date(2026, 11, 25))
        # Inside the window: received when detected, due two hours later.
        self.assertEqual(f["received_at"], f["detected_at"])
        self.assertEqual(iso(f["onsite_due"]) - det, datetime.timedelta(hours=2))
        self.assertIs(f["deferral_eligible"], False)
        # Defined for every fault: 11:00 of the next business day (issue 13).
        self.assertEqual(f["deferred_onsite_due"], "2026-11-26T11:00:00+09:00")
        self.assertEqual(f["due"], f["onsite_due"])
        self.assertIsNone(f["acknowledged_by"])
        self.assertIsNone(f["ack_note"])
        self.assertEqual(f["site"], "04")
        self.assertEqual(f["hidden"], [])
        self.assertIn("connection refused", f["reason"])
        raised = [e for e in self.events("04-camera") if e[0] == "fault_raised"]
        self.assertEqual(len(raised), 1)
        self.assertEqual(raised[0][2], f["id"])
        # The same event in the journal, with its fields.
        j = self.journal.wait_entries(1, since=cursor, _PID=str(d.proc.pid),
                                      FIELDWATCH_EVENT="fault_raised")[0]
        self.assertEqual(j["FIELDWATCH_DEVICE"], "04-camera")
        self.assertEqual(j["FIELDWATCH_SITE"], "04")
        self.assertEqual(j["FIELDWATCH_KIND"], "camera_down")
        self.assertEqual(j["FIELDWATCH_FAULT_ID"], str(f["id"]))
        self.assertEqual(j["FIELDWATCH_RECEIVED_AT"], f["received_at"])
        self.assertEqual(j["FIELDWATCH_ONSITE_DUE"], f["onsite_due"])
        self.assertEqual(j["PRIORITY"], "3")
        self.assertEqual(j["MESSAGE_ID"], "ca0889625ff5497da2982e5278bbd421")
        self.assertEqual(j["FIELDWATCH_DUE"], f["onsite_due"])

        # A 10:00 fault deferred for parts (L125-131): at any hour, with a reason.
        def act(*args):
            return fwtest.ctl(*args, state_dir=d.state_dir, config=self.config)
        r = act("ack", str(f["id"]), "--by", "山田 太郎", "--note", "部品の在庫を確認中")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("部品の在庫を確認中", r.stdout)
        r = act("defer", str(f["id"]), "--approved-by", "監督員 佐藤")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("before closing time: a deferral needs --reason", r.stderr)
        g = [x for x in self.faults() if x["id"] == f["id"]][0]
        self.assertIsNone(g["deferral_approved_at"])
        self.assertEqual(g["due"], f["onsite_due"])
        self.assertEqual(g["acknowledged_by"], "山田 太郎")
        self.assertEqual(g["ack_note"], "部品の在庫を確認中")
        r = act("defer", str(f["id"]), "--approved-by", "監督員 佐藤", "--reason",
                "交換部品（WV-S2536LNUX）の手配")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("now due 2026-11-26T11:00:00+09:00", r.stdout)
        g = [x for x in self.faults() if x["id"] == f["id"]][0]
        self.assertIsNotNone(g["deferral_approved_at"])
        self.assertEqual(g["due"], "2026-11-26T11:00:00+09:00")
        self.assertEqual(g["onsite_due"], f["onsite_due"])  # the original stays on record
        j = self.journal.wait_entries(1, since=cursor, _PID=str(d.proc.pid),
                                      FIELDWATCH_EVENT="deferral_approved")[0]
        self.assertEqual(j["FIELDWATCH_DUE"], "2026-11-26T11:00:00+09:00")
        self.assertIn("交換部品", j["MESSAGE"])
        j = self.journal.wait_entries(1, since=cursor, _PID=str(d.proc.pid),
                                      FIELDWATCH_EVENT="acknowledged")[0]
        self.assertIn("部品の在庫を確認中", j["MESSAGE"])

    def test_camera_down_outside_business_hours(self):
        # Friday evening: received at Monday's opening.
        d = self.start("2026-11-27T18:00:00+09:00")
        d.wait_device("01-camera", "up")
        self.field.camera("06").fault("silent")
        f = self.wait_fault("06-camera", "camera_down")
        self.assertEqual(f["received_at"], "2026-11-30T09:00:00+09:00")
        self.assertEqual(f["onsite_due"], "2026-11-30T11:00:00+09:00")

    def test_router_down_hides_its_camera(self):
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("08-router", "up")
        self.field.router("08").freeze()
        self.field.camera("08").fault("down")
        f = self.wait_fault("08-router", "router_down")
        self.assertEqual(f["hidden"], ["08-camera"])
        d.wait_device("08-camera", "unreachable", timeout=10)
        time.sleep(4)
        self.assertEqual([x for x in self.faults() if x["site"] == "08"], [f])
        # The router comes back, the camera is still down: only now its own fault.
        self.field.router("08").thaw()
        self.wait_fault("08-router", "router_down", state="cleared")
        c = self.wait_fault("08-camera", "camera_down")
        self.assertGreater(c["id"], f["id"])

    def test_vpn_down_hides_all_sites_under_one_fault(self):
        cursor = self.journal.cursor()
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("vpn", "up")
        d.wait_device("27-camera", "up")
        self.field.vpn.freeze()
        # All sites are lost behind it (the routers' paths go through the VPN).
        for site in ("03", "11", "19"):
            self.field.router(site).freeze()
        f = self.wait_fault("vpn", "vpn_down")
        self.assertEqual(len(f["hidden"]), 27 * 3)
        self.assertIn("27-camera", f["hidden"])
        self.assertEqual(f["site"], "")
        time.sleep(5)
        self.assertEqual([x["device"] for x in self.faults()], ["vpn"])
        self.assertEqual(d.status()["11-router"]["state"], "unreachable")
        raised = self.journal.entries(since=cursor, _PID=str(d.proc.pid),
                                      FIELDWATCH_EVENT="fault_raised")
        self.assertEqual([e["FIELDWATCH_DEVICE"] for e in raised], ["vpn"])

    def test_site_power_loss_is_one_site_fault(self):
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("12-router", "up")
        self.field.vpn.set_tunnel(12, False)
        self.field.router("12").freeze()
        self.field.camera("12").fault("silent")
        f = self.wait_fault("12-tunnel", "site_down")
        self.assertEqual(f["hint"], "power, breaker or LTE at the site")
        self.assertEqual(f["hidden"], ["12-router", "12-camera"])
        time.sleep(3)
        self.assertEqual([x["device"] for x in self.faults()], ["12-tunnel"])

    def test_transient_fault(self):
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("14-camera", "up")
        self.field.camera("14").fault("http500")
        f = self.wait_fault("14-camera", "camera_down")
        self.field.camera("14").clear()
        c = self.wait_fault("14-camera", "camera_down", state="cleared")
        self.assertEqual(c["id"], f["id"])
        self.assertIs(c["transient"], True)
        self.assertIsNotNone(c["cleared_at"])
        types = [e[0] for e in self.events("14-camera")]
        self.assertEqual(types, ["fault_raised", "fault_transient"])

    def test_flapping_becomes_an_anomaly(self):
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("15-camera", "up")
        for _ in range(3):
            self.field.camera("15").fault("down")
            self.wait_fault("15-camera", "camera_down")
            self.field.camera("15").clear()
            fwtest.wait_for(lambda: not [x for x in self.faults(True)
                                         if x["device"] == "15-camera"], 15,
                            what="the fault to clear")
        types = [e[0] for e in self.events("15-camera")]
        self.assertEqual(types.count("fault_transient"), 3)
        self.assertEqual(types.count("anomaly"), 1)
        self.assertEqual(types[-1], "anomaly")
        # Issue 13 (L107-111): investigated, then escalated to a fault.

        def act(*args):
            return fwtest.ctl(*args, state_dir=d.state_dir, config=self.config)
        r = act("anomalies", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        (an,) = json.loads(r.stdout)
        self.assertEqual((an["device"], an["investigations"], an["fault_id"]),
                         ("15-camera", [], None))
        aid = str(an["id"])
        transient_event = str(sqlite3.connect(
            f"file:{d.state_dir}/fieldwatch.db?mode=ro", uri=True).execute(
                "SELECT MIN(id) FROM events WHERE type = 'fault_transient'").fetchone()[0])
        for args, code, text in (
                (["investigate", "99999", "--by", "山田", "--note", "x"], 1, "no anomaly 99999"),
                (["investigate", aid, "--by", "山田"], 2, "the note is required"),
                (["escalate", transient_event, "--by", "山田"], 1, "no anomaly"),
                (["investigate", "abc", "--by", "山田", "--note", "x"], 2, "invalid anomaly id"),
                (["investigate", aid, "--by", "山田", "--note", "x", "--at", "2026-11-25T09:00"],
                 1, "2026-11-25T09:00:00+09:00 is before the anomaly (2026-11-25T10:0")):
            with self.subTest(args=args):
                r = act(*args)
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertIn(text, r.stderr)
        r = act("investigate", aid, "--by", "山田 太郎", "--note", "LTE瞬断の可能性: ログを確認")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = act("escalate", aid, "--by", "山田 太郎", "--note", "再現: 電源アダプタの不良")
        self.assertEqual(r.returncode, 0, r.stderr)
        fid = int(re.search(r"\(fault (\d+)\)", r.stdout).group(1))
        r = act("escalate", aid, "--by", "山田 太郎")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(f"escalated already: fault {fid}", r.stderr)
        (an,) = json.loads(act("anomalies", "--json").stdout)
        self.assertEqual(an["fault_id"], fid)
        self.assertEqual([(i["by"], i["note"]) for i in an["investigations"]],
                         [("山田 太郎", "LTE瞬断の可能性: ログを確認")])
        f = [x for x in self.faults() if x["id"] == fid][0]
        self.assertEqual((f["kind"], f["origin"], f["anomaly_id"], f["state"], f["device"]),
                         ("anomaly", "anomaly", int(aid), "open", "15-camera"))
        self.assertEqual(iso(f["due"]) - iso(f["received_at"]), datetime.timedelta(hours=2))
        self.assertIn("電源アダプタ", f["reason"])
        r = act("--pretend-now", "2026-11-26T10:00:00", "report", "quarterly", "2026Q4")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("## 異常の調査", r.stdout)
        self.assertIn(f"| LTE瞬断の可能性: ログを確認 | 障害 {fid} |", r.stdout)

    def test_router_restart_is_an_event(self):
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("16-router", "up")
        time.sleep(1.5)
        self.field.router("16").reboot()
        fwtest.wait_for(lambda: [e for e in self.events("16-router")
                                 if e[0] == "device_restarted"], 10, what="the restart event")
        self.assertEqual(self.faults(), [])

    def test_sla_warning_and_breach_on_time(self):
        def edit(data):
            edit_fast(data)
            data["sla"].update(onsite_within="1m", warn_before="30s")
        config = fwtest.lab_config(os.path.join(self.dir, "short.yaml"), edit)
        d = self.start("2026-11-25T10:00:00+09:00", config)
        d.wait_device("17-camera", "up")
        self.field.camera("17").fault("down")
        f = self.wait_fault("17-camera", "camera_down")
        due = iso(f["onsite_due"])
        fwtest.wait_for(lambda: [e for e in self.events("17-camera") if e[0] == "sla_breach"],
                        90, what="the breach")
        db = sqlite3.connect(f"file:{d.state_dir}/fieldwatch.db?mode=ro", uri=True)
        at = dict(db.execute("SELECT type, at FROM events WHERE device = '17-camera'"))
        db.close()
        warn = datetime.datetime.fromtimestamp(at["sla_warning"], JST)
        breach = datetime.datetime.fromtimestamp(at["sla_breach"], JST)
        self.assertLessEqual(abs((warn - (due - datetime.timedelta(seconds=30))).total_seconds()),
                             1.5)
        self.assertLessEqual(abs((breach - due).total_seconds()), 1.5)

    def test_metrics_file(self):
        metrics = os.path.join(self.dir, "fieldwatch.prom")

        def edit(data):
            edit_fast(data)
            data["metrics_file"] = metrics
        config = fwtest.lab_config(os.path.join(self.dir, "metrics.yaml"), edit)
        d = self.start("2026-11-25T10:00:00+09:00", config)
        d.wait_device("19-camera", "up")
        self.field.camera("19").fault("down")
        self.field.router("20").set(rsrp=-101)
        f = self.wait_fault("19-camera", "camera_down")

        def read():
            try:
                with open(metrics, encoding="utf-8") as fh:
                    text = fh.read()
            except FileNotFoundError:
                return None
            return text if f'fault_id="{f["id"]}"' in text and "rsrp\"} -101" in text else None
        text = fwtest.wait_for(read, 15, what="the fault and the signal in the metrics")
        self.assertEqual(stat_mode(metrics), 0o644)
        up = re.findall(r'^fieldwatch_device_up\{device="([^"]+)",site="(\d*)",kind="(\w+)"\} ([01])$',
                        text, re.M)
        self.assertEqual(len(up), 55)
        self.assertIn(("19-camera", "19", "camera", "0"), up)
        self.assertIn(("01-camera", "01", "camera", "1"), up)
        self.assertIn('fieldwatch_device_state{device="19-camera",site="19",kind="camera",'
                      'state="down"} 1', text)
        self.assertIn('fieldwatch_lte_signal{device="20-router",site="20",kind="router",'
                      'signal="rsrp"} -101', text)
        due = re.search(r'^fieldwatch_fault_due_seconds\{fault_id="%d",device="19-camera",'
                        r'kind="camera_down",deferred="no"\} (-?\d+)$' % f["id"], text, re.M)
        self.assertIsNotNone(due)
        self.assertTrue(0 < int(due.group(1)) <= 7200)
        self.assertRegex(text, r"(?m)^fieldwatch_open_faults 1$")
        # Written whole each time: never a temporary file left behind.
        self.assertEqual([n for n in os.listdir(self.dir) if n.startswith("fieldwatch.prom.")], [])

    def test_reload_keeps_faults_of_remaining_devices(self):
        config = fwtest.lab_config(os.path.join(self.dir, "reload.yaml"), edit_fast)
        d = self.start("2026-11-25T10:00:00+09:00", config)
        d.wait_device("21-camera", "up")
        self.field.camera("21").fault("down")
        f = self.wait_fault("21-camera", "camera_down")

        def drop_27(data):
            edit_fast(data)
            data["sites"] = [x for x in data["sites"] if x["id"] != "27"]
        fwtest.lab_config(config, drop_27)
        d.proc.send_signal(signal.SIGHUP)
        d.messages("RELOADING=1")
        d.messages("READY=1")
        fwtest.wait_for(lambda: "27-camera" not in d.status(), 10, what="site 27 gone")
        self.assertEqual(len(d.status()), 26 * 2 + 1)
        time.sleep(3)
        mine = [x for x in self.faults() if x["device"] == "21-camera"]
        self.assertEqual([(x["id"], x["state"]) for x in mine], [(f["id"], "open")])
        self.assertEqual([e[0] for e in self.events("21-camera")], ["fault_raised"])
        # The fault still clears as itself after the reload.
        self.field.camera("21").clear()
        c = self.wait_fault("21-camera", "camera_down", state="cleared")
        self.assertEqual(c["id"], f["id"])

    def test_report_clocks(self):
        # Two days before the quarterly report of Oct–Dec 2025 (due 2026-01-15).
        d = self.start("2026-01-13T10:00:00+09:00")
        fwtest.wait_for(lambda: [e for e in self.events() if e[0] == "report_due"], 20,
                        what="report_due for the quarterly report")
        due = [e for e in self.events() if e[0] == "report_due"]
        self.assertEqual(len(due), 1)
        self.assertEqual(due[0][3], "quarterly_report")
        self.assertIn("due 2026-01-15", due[0][4])
        # A fault recovered, its report not handed in: overdue after its deliver-by day.
        d.wait_device("22-camera", "up")
        self.field.camera("22").fault("down")
        f = self.wait_fault("22-camera", "camera_down")
        fid = str(f["id"])
        for args in (["onsite", fid, "--by", "y"],
                     ["recover", fid, "--by", "y", "--cause", "c", "--action", "a",
                      "--prevention", "なし（単発の故障）"]):
            r = fwtest.ctl(*args, state_dir=d.state_dir, config=self.config)
            self.assertEqual(r.returncode, 0, r.stderr)
        r = fwtest.ctl("deadlines", "--json", "--pretend-now", "2026-01-13T10:01",
                       state_dir=d.state_dir, config=self.config)
        rows = [x for x in json.loads(r.stdout) if x.get("fault") == f["id"]]
        self.assertEqual([(x["kind"], x["due"], x["deliver_by"]) for x in rows],
                         [("recovery_report", "2026-01-27", "2026-01-27")])
        self.assertGreater(rows[0]["remaining_seconds"], 13 * 86400)
        self.assertEqual(d.stop(), 0)
        self.daemon = fwtest.Daemon(self.dir, self.config,
                                    extra_args=["--pretend-now", "2026-01-28T09:00:00+09:00"])
        self.daemon.messages("READY=1")
        fwtest.wait_for(lambda: [e for e in self.events() if e[0] == "report_overdue"], 20,
                        what="report_overdue")
        fwtest.wait_for(lambda: len([e for e in self.events() if e[0] == "report_overdue"]) >= 2,
                        10, what="both report_overdue")
        over = [e for e in self.events() if e[0] == "report_overdue"]
        # The recovery report, and the quarterly report of Oct–Dec 2025 never
        # handed in (late since 21 January: a week after its due, but within
        # a month of its legal end, the 20th).
        self.assertEqual(sorted([(e[2] or 0, e[3]) for e in over]),
                         [(0, "quarterly_report"), (f["id"], "recovery_report")])
        # Once only, also after a restart.
        self.assertEqual(self.daemon.stop(), 0)
        self.daemon = fwtest.Daemon(self.dir, self.config,
                                    extra_args=["--pretend-now", "2026-01-28T09:05:00+09:00"])
        self.daemon.messages("READY=1")
        time.sleep(12)
        self.assertEqual(len([e for e in self.events() if e[0] == "report_overdue"]), 2)

    def test_recovery_remote_provisional_with_a_loaner(self):
        """Issue 13: --remote needs no visit; --temporary is provisional, the
        final recovery follows; --loaner names the substitute; a recovery
        while the device still fails is recorded with a warning."""
        d = self.start("2026-11-25T10:00:00+09:00")

        def act(*args):
            return fwtest.ctl(*args, state_dir=d.state_dir, config=self.config)
        for site in ("24", "25"):
            d.wait_device(f"{site}-camera", "up", timeout=20)
            self.field.camera(site).fault("down")
        a = str(self.wait_fault("24-camera", "camera_down")["id"])
        b = str(self.wait_fault("25-camera", "camera_down")["id"])
        base = ["--by", "山田 太郎", "--cause", "設定の消失", "--action", "設定を再投入",
                "--prevention", "なし（単発）"]
        r = act("recover", a, *base)
        self.assertEqual(r.returncode, 1)
        self.assertIn("or --remote when no visit was needed", r.stderr)
        r = act("recover", a, *base, "--remote")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("recovered remotely", r.stdout)
        self.assertIn("warning: the device still fails its probes", r.stdout)

        r = act("onsite", b, "--by", "鈴木 一郎")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = act("recover", b, *base, "--temporary", "--loaner", "WV-S1111",
                "--parts", "WV-SDB128G", "--media-replaced")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("recovered provisionally", r.stdout)
        self.assertIn("loaner WV-S1111", r.stdout)
        r = act("recover", b, *base, "--temporary")
        self.assertEqual(r.returncode, 1)
        self.assertIn("record the final recovery without --temporary", r.stderr)
        self.field.camera("25").clear()
        self.wait_fault("25-camera", "camera_down", state="cleared", timeout=20)
        final = ["recover", b, "--by", "鈴木 一郎", "--cause", "カメラ故障", "--action",
                 "本体を交換", "--prevention", "なし（経年劣化）", "--parts", "WV-S2536LNUX"]
        # The final recovery is another visit's work: when did it begin?
        r = act(*final)
        self.assertEqual(r.returncode, 1, r.stdout)
        self.assertIn("give --start", r.stderr)

        def db_rows(sql, *args):
            db = sqlite3.connect(f"file:{d.state_dir}/fieldwatch.db?mode=ro", uri=True)
            try:
                return db.execute(sql, args).fetchall()
            finally:
                db.close()
        onsite_at, temporary_at = db_rows("SELECT onsite_started_at, temporary_recovered_at"
                                          " FROM faults WHERE id = ?", int(b))[0]
        start = datetime.datetime.fromtimestamp(
            temporary_at, datetime.timezone(datetime.timedelta(hours=9))).isoformat()
        r = act(*final, "--start", start)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("warning", r.stdout)

        work = db_rows("SELECT fault_id, title, notes FROM work ORDER BY id")
        row = db_rows("SELECT remote, temporary_recovered_at IS NOT NULL, loaner,"
                      " recovered_at IS NOT NULL FROM faults WHERE id = ?", int(b))[0]
        # Two visits, two spans: onsite start to the provisional recovery,
        # then --start to the final one; never one span over the days between.
        recovered_at = db_rows("SELECT recovered_at FROM faults WHERE id = ?", int(b))[0][0]
        self.assertEqual(db_rows("SELECT start_at, end_at FROM work WHERE fault_id = ?"
                                 " ORDER BY id", int(b)),
                         [(onsite_at, temporary_at), (temporary_at, recovered_at)])
        # The final recovery keeps the provisional's medium and parts.
        self.assertEqual(db_rows("SELECT parts, media_replaced FROM faults WHERE id = ?",
                                 int(b)), [('["WV-SDB128G","WV-S2536LNUX"]', 1)])
        self.assertEqual([(w[0], w[1]) for w in work], [
            (int(a), "障害対応（カメラ応答なし、遠隔）"),
            (int(b), "障害対応（カメラ応答なし、暫定復旧）"),
            (int(b), "障害対応（カメラ応答なし）")])
        self.assertIn("代替機: WV-S1111", work[1][2])
        self.assertEqual(row, (0, 1, "WV-S1111", 1))
        r = act("--pretend-now", "2026-11-26T12:00:00", "report", "fault", b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| 暫定復旧 | 2026-11-25 ", r.stdout)
        self.assertIn("| 代替機器 | WV-S1111 |", r.stdout)
        r = act("--pretend-now", "2026-11-26T12:00:00", "report", "fault", a)
        self.assertIn("| 対応方法 | 遠隔（現地作業なし） |", r.stdout)

    def test_paid_parts_need_an_approval(self):
        """Issue 13 (有償交換部品, L183-187): the quote, then the city's approval,
        then the recovery with the part; the fault report lists both."""
        d = self.start("2026-11-25T10:00:00+09:00")

        def act(*args):
            return fwtest.ctl(*args, state_dir=d.state_dir, config=self.config)
        d.wait_device("23-camera", "up", timeout=20)
        self.field.camera("23").fault("down")
        f = str(self.wait_fault("23-camera", "camera_down")["id"])
        self.assertEqual(act("onsite", f, "--by", "山田 太郎").returncode, 0)
        recover = ["recover", f, "--by", "山田 太郎", "--cause", "本体故障", "--action",
                   "本体を交換", "--prevention", "なし（経年劣化）", "--parts", "WV-S2536LNUX"]
        r = act("parts", "approved", f, "--by", "監督員 佐藤")
        self.assertEqual(r.returncode, 1)
        self.assertIn("no quote recorded", r.stderr)
        for bad, text in ((["parts", "quote", f, "--by", "x", "--parts", "A"], "--amount"),
                          (["parts", "quote", f, "--by", "x", "--amount", "-5", "--parts", "A"],
                           "expected yen"),
                          (["parts", "frob", f], "expected 'parts quote FAULT'")):
            with self.subTest(bad=bad):
                r = act(*bad)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(text, r.stderr)
        r = act("parts", "quote", f, "--by", "山田 太郎", "--parts", "WV-S2536LNUX",
                "--amount", "128000")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("quote for WV-S2536LNUX, 128000 yen", r.stdout)
        r = act(*recover)
        self.assertEqual(r.returncode, 1)
        self.assertIn("WV-S2536LNUX is a paid part quoted", r.stderr)
        r = act("parts", "approved", f, "--by", "監督員 佐藤")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = act("parts", "approved", f, "--by", "監督員 佐藤")
        self.assertEqual(r.returncode, 1)
        self.assertIn("approved already", r.stderr)
        r = act(*recover)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = act("--pretend-now", "2026-11-26T12:00:00", "report", "fault", f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"\| 有償交換部品の見積 \| WV-S2536LNUX（128000 円）提出 山田 太郎")
        self.assertRegex(r.stdout, r"\| 見積の承認 \| 監督員 佐藤（2026-11-25 ")
        types = [e[0] for e in self.events("23-camera")]
        self.assertIn("parts_quoted", types)
        self.assertIn("parts_approved", types)

    def fault(self, fid):
        return [x for x in self.faults() if x["id"] == int(fid)][0]

    def test_reception_by_call(self):
        """Issue 13 (L119-123): under sla.reception: call a detected fault waits,
        its clocks stopped, until `receive` records the call; every clock then
        runs from the call. The SLA report counts receptions, not detections."""
        def edit(data):
            edit_fast(data)
            data["sla"]["reception"] = "call"
        config = fwtest.lab_config(os.path.join(self.dir, "call.yaml"), edit)
        cursor = self.journal.cursor()
        # The call is recorded at 10:20 (fieldwatchctl takes times up to 2
        # minutes ahead of the daemon's clock: skew between machines).
        d = self.start("2026-11-25T10:19:00+09:00", config)

        def act(*args):
            return fwtest.ctl(*args, state_dir=d.state_dir, config=config)
        d.wait_device("05-camera", "up")
        d.wait_device("06-camera", "up")
        self.field.camera("05").fault("down")
        self.field.camera("06").fault("down")
        f = self.wait_fault("05-camera", "camera_down")
        self.wait_fault("06-camera", "camera_down")
        fid = str(f["id"])
        for key in ("received_at", "onsite_due", "due", "deferred_onsite_due",
                    "received_from"):
            self.assertIsNone(f[key], key)
        self.assertEqual(f["origin"], "probe")
        self.assertIs(f["deferral_eligible"], False)
        raised = self.journal.wait_entries(1, since=cursor, _PID=str(d.proc.pid),
                                           FIELDWATCH_EVENT="fault_raised",
                                           FIELDWATCH_DEVICE="05-camera")[0]
        self.assertNotIn("FIELDWATCH_RECEIVED_AT", raised)
        self.assertNotIn("FIELDWATCH_ONSITE_DUE", raised)
        self.assertIn("fieldwatchctl receive", raised["MESSAGE"])
        # Nothing to defer before the call; bad calls change nothing.
        r = act("defer", fid, "--approved-by", "監督員 佐藤", "--reason", "部品の手配")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("has not been received yet", r.stderr)
        # No onsite deadline before the call (not one of 1970, overdue).
        r = act("deadlines", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x for x in json.loads(r.stdout) if x.get("fault") == f["id"]], [])
        r = act("receive", fid, "--from", "市役所 危機管理課", "--by", "山田 太郎",
                "--at", "2026-11-26T10:00")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("is in the future", r.stderr)
        r = act("receive", fid, "--by", "山田 太郎")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--from is required", r.stderr)
        self.assertIsNone(self.fault(fid)["received_at"])
        # The call came at 10:20: due 12:20, the deferral 11:00 next morning.
        r = act("receive", fid, "--from", "市役所 危機管理課", "--by", "山田 太郎",
                "--at", "2026-11-25T10:20")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("onsite work due 2026-11-25T12:20:00+09:00", r.stdout)
        g = self.fault(fid)
        self.assertEqual(g["received_at"], "2026-11-25T10:20:00+09:00")
        self.assertEqual(g["onsite_due"], "2026-11-25T12:20:00+09:00")
        self.assertEqual(g["due"], g["onsite_due"])
        self.assertEqual(g["deferred_onsite_due"], "2026-11-26T11:00:00+09:00")
        self.assertEqual(g["received_from"], "市役所 危機管理課")
        self.assertEqual(g["detected_at"], f["detected_at"])
        r = act("receive", fid, "--from", "市役所", "--by", "山田 太郎")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("was received already", r.stderr)
        j = self.journal.wait_entries(1, since=cursor, _PID=str(d.proc.pid),
                                      FIELDWATCH_EVENT="fault_received")[0]
        self.assertEqual(j["FIELDWATCH_FAULT_ID"], fid)
        self.assertEqual(j["FIELDWATCH_RECEIVED_AT"], g["received_at"])
        self.assertEqual(j["FIELDWATCH_ONSITE_DUE"], g["onsite_due"])
        self.assertEqual(j["FIELDWATCH_BY"], "山田 太郎")
        self.assertEqual(j["PRIORITY"], "4")
        # The SLA report: one reception (06 was never called about).
        r = act("--pretend-now", "2026-11-25T12:30:00", "report", "sla", "2026Q4")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| 受付の基準 | 障害受付の連絡を受けた時 |", r.stdout)
        self.assertIn("| 受付件数 | 1 |", r.stdout)
        self.assertIn("| 期限超過 | 1 |", r.stdout)
        self.assertIn("05-camera", r.stdout)
        self.assertNotIn("06-camera", r.stdout)
        r = act("recover", fid, "--remote", "--by", "山田 太郎", "--cause", "設定の誤り",
                "--action", "遠隔で設定を戻した", "--prevention", "なし（作業手順を周知済み）")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = act("--pretend-now", "2026-11-25T12:30:00", "report", "fault", fid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("| 障害受付の連絡元 | 市役所 危機管理課 |", r.stdout)

    def test_fault_reported_by_phone(self):
        """Issue 13: `open` records a fault no probe sees; it keeps its own
        clocks while the device answers, survives a restart, and ends with its
        recovery, recorded as fault work."""
        metrics = os.path.join(self.dir, "fieldwatch.prom")

        def edit(data):
            edit_fast(data)
            data["metrics_file"] = metrics
        config = fwtest.lab_config(os.path.join(self.dir, "metrics.yaml"), edit)
        cursor = self.journal.cursor()
        d = self.start("2026-11-25T10:04:00+09:00", config)

        def act(*args):
            return fwtest.ctl(*args, state_dir=d.state_dir, config=config)
        d.wait_device("07-camera", "up")
        r = act("receive", "1", "--from", "市役所", "--by", "山田 太郎")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("sla.reception: detection", r.stderr)
        good = ["--site", "07", "--device", "camera", "--kind", "lens_misaligned", "--by",
                "山田 太郎", "--note", "市民から: カメラが下を向いている"]
        bad = [(["--site", "99"], 1, "there is no site '99'"),
               (["--device", "lens"], 2, "--device must be camera, router, vpn or site"),
               (["--kind", "Tilted Lens"], 2, "--kind must be a word"),
               (["--note", ""], 2, "the note is required"),
               (["--received-at", "2026-11-26T10:00"], 1, "is in the future"),
               (["--received-at", "2024-11-25T10:00"], 1, "outside the contract period")]
        for change, code, text in bad:
            with self.subTest(change=change):
                args = list(good)
                for k in range(0, len(change), 2):
                    if change[k] in args:
                        args[args.index(change[k]) + 1] = change[k + 1]
                    else:
                        args += change[k:k + 2]
                r = act("open", *args)
                self.assertEqual(r.returncode, code, r.stderr)
                self.assertIn(text, r.stderr)
        self.assertEqual(self.faults(), [])
        r = act("open", *good, "--received-at", "2026-11-25T10:05")
        self.assertEqual(r.returncode, 0, r.stderr)
        fid = re.search(r"\(fault (\d+)\)", r.stdout).group(1)
        self.assertIn("onsite work due 2026-11-25T12:05:00+09:00", r.stdout)
        f = self.fault(fid)
        self.assertEqual((f["origin"], f["device"], f["site"], f["kind"], f["state"]),
                         ("call", "07-camera", "07", "lens_misaligned", "open"))
        self.assertEqual(f["received_at"], "2026-11-25T10:05:00+09:00")
        self.assertEqual(f["due"], "2026-11-25T12:05:00+09:00")
        self.assertIn("下を向いている", f["reason"])
        j = self.journal.wait_entries(1, since=cursor, _PID=str(d.proc.pid),
                                      FIELDWATCH_EVENT="fault_raised",
                                      FIELDWATCH_DEVICE="07-camera")[0]
        self.assertEqual(j["FIELDWATCH_ONSITE_DUE"], f["due"])
        self.assertEqual(j["FIELDWATCH_BY"], "山田 太郎")
        # The camera answers all along: no probe clears a reported fault.
        time.sleep(3)
        self.assertEqual(d.status()["07-camera"]["state"], "up")
        self.assertEqual(self.fault(fid)["state"], "open")

        def metric():
            try:
                with open(metrics, encoding="utf-8") as m:
                    text = m.read()
            except FileNotFoundError:
                return None
            return re.search(r'(?m)^fieldwatch_fault_due_seconds\{fault_id="%s",'
                             r'device="07-camera",kind="lens_misaligned",deferred="no"\} (\d+)$'
                             % fid, text) and "\nfieldwatch_open_faults 1\n" in text and text
        fwtest.wait_for(metric, 15, what="the reported fault in the metrics")
        # A restart restores it; it is not raised again.
        self.assertEqual(d.stop(), 0)
        d = self.start("2026-11-25T10:30:00+09:00", config)
        d.wait_device("07-camera", "up")
        self.assertEqual([x["id"] for x in self.faults(True)], [int(fid)])
        self.assertEqual([e[0] for e in self.events("07-camera")].count("fault_raised"), 1)
        recover = ["recover", fid, "--by", "山田 太郎", "--cause", "取付金具の緩み",
                   "--action", "画角を調整し金具を増し締め", "--prevention",
                   "定期点検で金具を確認"]
        r = act(*recover)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("no onsite work recorded", r.stderr)
        self.assertEqual(act("onsite", fid, "--by", "山田 太郎").returncode, 0)
        r = act(*recover)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("still fails", r.stdout)
        g = self.fault(fid)
        self.assertEqual(g["state"], "cleared")
        self.assertIsNotNone(g["cleared_at"])
        self.assertEqual(self.faults(True), [])
        r = act("--pretend-now", "2026-11-26T10:00:00", "report", "quarterly", "2026Q4")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("障害対応（画角ずれ）", r.stdout)
        r = act("--pretend-now", "2026-11-26T10:00:00", "report", "fault", fid)
        self.assertIn("| 把握の経緯 | 通報（監視では検知できない障害） |", r.stdout)

    def test_vpn_sendback_has_no_onsite_clock(self):
        """Issue 13 (L511): with sla.devices.vpn: sendback the RTX1220's fault
        has no onsite due, nothing to defer, and no visit to record."""
        def edit(data):
            edit_fast(data)
            data["sla"]["devices"] = {"vpn": "sendback"}
        config = fwtest.lab_config(os.path.join(self.dir, "sendback.yaml"), edit)
        d = self.start("2026-11-25T10:00:00+09:00", config)

        def act(*args):
            return fwtest.ctl(*args, state_dir=d.state_dir, config=config)
        d.wait_device("vpn", "up")
        self.field.vpn.freeze()
        f = self.wait_fault("vpn", "vpn_down")
        fid = str(f["id"])
        self.assertEqual(f["sla_rule"], "sendback")
        self.assertEqual(f["received_at"], f["detected_at"])
        for key in ("onsite_due", "due", "deferred_onsite_due"):
            self.assertIsNone(f[key], key)
        r = act("defer", fid, "--approved-by", "監督員 佐藤", "--reason", "メーカー修理")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("send-back maintenance", r.stderr)
        # No onsite deadline to list (not one of 1970, overdue).
        r = act("deadlines", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([x for x in json.loads(r.stdout) if x.get("fault") == f["id"]], [])
        r = act("recover", fid, "--by", "山田 太郎", "--cause", "電源部の故障", "--action",
                "メーカーへ送付し修理品と交換", "--prevention", "なし（初期不良）")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = act("--pretend-now", "2026-11-26T10:00:00", "report", "fault", fid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("センドバック保守（現地着手期限なし）", r.stdout)
        types = [e[0] for e in self.events("vpn")]
        self.assertNotIn("sla_warning", types)
        self.assertNotIn("deferral_needed", types)

    def test_kill_9_keeps_the_fault_and_raises_it_once(self):
        d = self.start("2026-11-25T10:00:00+09:00")
        d.wait_device("18-camera", "up")
        self.field.camera("18").fault("down")
        f = self.wait_fault("18-camera", "camera_down")
        d.proc.kill()
        d.proc.wait(5)
        d.stop()
        self.daemon = None
        self.daemon = fwtest.Daemon(self.dir, self.config,
                                    extra_args=["--pretend-now", "2026-11-25T10:05:00+09:00"])
        self.daemon.messages("READY=1")
        time.sleep(5)
        mine = [x for x in self.faults() if x["device"] == "18-camera"]
        self.assertEqual(len(mine), 1)
        self.assertEqual(mine[0]["id"], f["id"])
        self.assertEqual(mine[0]["detected_at"], f["detected_at"])
        raised = [e for e in self.events("18-camera") if e[0] == "fault_raised"]
        self.assertEqual(len(raised), 1)
        # Recovery after the restart clears the same fault.
        self.field.camera("18").clear()
        c = self.wait_fault("18-camera", "camera_down", state="cleared")
        self.assertEqual(c["id"], f["id"])


if __name__ == "__main__":
    unittest.main(verbosity=2)
