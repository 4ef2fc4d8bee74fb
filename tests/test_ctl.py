#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Black-box tests of fieldwatchctl: exit codes, usage, the calendar and
clock commands, and check-config on the shipped and the bad configurations.

Run from the repository root: BUILD=build python3 tests/test_ctl.py
"""

import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
CTL = os.path.join(BUILD, "fieldwatchctl")
ICHIKAWA = os.path.join(ROOT, "config", "ichikawa-2025.yaml")
LAB = os.path.join(ROOT, "config", "lab.yaml")

# The official lists (Cabinet Office), SPEC §2.
OFFICIAL = {
    2025: "01-01 01-13 02-11 02-23 02-24 03-20 04-29 05-03 05-04 05-05 05-06 07-21 08-11 "
          "09-15 09-23 10-13 11-03 11-23 11-24",
    2026: "01-01 01-12 02-11 02-23 03-20 04-29 05-03 05-04 05-05 05-06 07-20 08-11 09-21 "
          "09-22 09-23 10-12 11-03 11-23",
    2027: "01-01 01-11 02-11 02-23 03-21 03-22 04-29 05-03 05-04 05-05 07-19 08-11 09-20 "
          "09-23 10-11 11-03 11-23",
}


def ctl(*args, env=None, timeout=20):
    """Runs fieldwatchctl with a foreign TZ and no default config file."""
    e = dict(os.environ)
    e["TZ"] = "America/New_York"
    e.pop("STATE_DIRECTORY", None)
    e.pop("CREDENTIALS_DIRECTORY", None)
    if env:
        e.update(env)
    return subprocess.run([CTL, *args], capture_output=True, text=True, env=e,
                          timeout=timeout, cwd=ROOT)


class Usage(unittest.TestCase):
    def test_help_and_version(self):
        r = ctl("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("check-config", "holidays", "sla", "deadlines"):
            self.assertIn(cmd, r.stdout)
        r = ctl("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^fieldwatchctl \d+\.\d+\.\d+\n$")

    def test_wrong_command_and_arguments_exit_2(self):
        cases = [
            ("frobnicate",),
            (),
            ("holidays",),
            ("holidays", "20x6"),
            ("holidays", "2026", "2027"),
            ("holidays", "2026", "--bogus"),
            ("sla",),
            ("sla", "yesterday"),
            ("sla", "2026-11-25T25:00"),
            ("sla", "2026-11-25T10:00", "--recovered-at"),
            ("sla", "2026-11-25T10:00", "--recovered-at", "soon"),
            ("deadlines", "--from", "2026-13-01"),
            ("--config",),
            ("--pretend-now", "noon", "holidays", "2026"),
        ]
        for args in cases:
            with self.subTest(args=args):
                r = ctl(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertTrue(r.stderr.strip())

    def test_global_options_before_or_after(self):
        a = ctl("--config", ICHIKAWA, "sites")
        b = ctl("sites", "--config", ICHIKAWA)
        c = ctl("sites", f"--config={ICHIKAWA}")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)
        self.assertEqual(a.stdout, c.stdout)

    def test_missing_explicit_config_fails(self):
        r = ctl("--config", "/nonexistent/fieldwatch.yaml", "holidays", "2026")
        self.assertEqual(r.returncode, 1)
        self.assertIn("/nonexistent/fieldwatch.yaml", r.stderr)


class Holidays(unittest.TestCase):
    def test_official_lists(self):
        for year, days in OFFICIAL.items():
            with self.subTest(year=year):
                r = ctl("holidays", str(year))
                self.assertEqual(r.returncode, 0, r.stderr)
                lines = r.stdout.splitlines()
                got = [line.split("\t")[0] for line in lines]
                self.assertEqual(got, [f"{year}-{d}" for d in days.split()])
                for line in lines:
                    self.assertRegex(line, r"^\d{4}-\d\d-\d\d\t\S+$")

    def test_names(self):
        r = ctl("holidays", "2026")
        names = dict(line.split("\t") for line in r.stdout.splitlines())
        self.assertEqual(names["2026-10-12"], "スポーツの日")
        self.assertEqual(names["2026-05-06"], "振替休日")
        self.assertEqual(names["2026-09-22"], "国民の休日")
        self.assertEqual(names["2026-01-01"], "元日")

    def test_json(self):
        r = ctl("holidays", "2025", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(r.stdout)
        self.assertEqual(len(data), 19)
        self.assertEqual(data[4], {"date": "2025-02-24", "name": "振替休日"})

    def test_year_out_of_range(self):
        r = ctl("holidays", "1999")
        self.assertEqual(r.returncode, 1)
        self.assertIn("2000", r.stderr)


class Sla(unittest.TestCase):
    def sla(self, *args):
        r = ctl("sla", *args, "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def test_keys_and_late_afternoon(self):
        j = self.sla("2026-11-25T15:30", "--recovered-at", "2026-12-19T10:00")
        self.assertEqual(list(j), [
            "detected_at", "received_at", "onsite_due", "deferral_eligible",
            "deferred_onsite_due", "recovery_report_due", "recovery_report_deliver_by",
            "recovery_report_overdue_after", "erasure_report_due", "erasure_report_deliver_by",
            "erasure_report_overdue_after"])
        self.assertEqual(j["detected_at"], "2026-11-25T15:30:00+09:00")
        self.assertEqual(j["received_at"], "2026-11-25T15:30:00+09:00")
        self.assertEqual(j["onsite_due"], "2026-11-25T17:30:00+09:00")
        self.assertIs(j["deferral_eligible"], True)
        self.assertEqual(j["deferred_onsite_due"], "2026-11-26T11:00:00+09:00")
        self.assertEqual(j["recovery_report_due"], "2027-01-02")
        self.assertEqual(j["recovery_report_deliver_by"], "2026-12-28")
        # Due in the year-end closure: late only after it (民法第142条).
        self.assertEqual(j["recovery_report_overdue_after"], "2027-01-04")
        self.assertEqual(j["erasure_report_due"], "2026-12-26")
        self.assertEqual(j["erasure_report_deliver_by"], "2026-12-25")
        self.assertEqual(j["erasure_report_overdue_after"], "2026-12-28")

    def test_recovery_report_due_in_the_year_end_closure(self):
        """Issue 13: the 14th day is 2026-12-29 (closed): recommended 12-28,
        late only after 2027-01-04."""
        j = self.sla("2026-12-14T10:00", "--recovered-at", "2026-12-15T10:00")
        self.assertEqual(j["recovery_report_due"], "2026-12-29")
        self.assertEqual(j["recovery_report_deliver_by"], "2026-12-28")
        self.assertEqual(j["recovery_report_overdue_after"], "2027-01-04")

    def test_utc_input_after_hours(self):
        j = self.sla("2026-11-27T08:30:00Z")  # Friday 17:30 JST
        self.assertEqual(j["received_at"], "2026-11-30T09:00:00+09:00")
        self.assertEqual(j["onsite_due"], "2026-11-30T11:00:00+09:00")
        self.assertIs(j["deferral_eligible"], False)
        # Defined for every fault: the business day after the reception day.
        self.assertEqual(j["deferred_onsite_due"], "2026-12-01T11:00:00+09:00")
        self.assertNotIn("recovery_report_due", j)

    def test_text_output(self):
        r = ctl("sla", "2026-05-01T16:30")
        self.assertEqual(r.returncode, 0, r.stderr)
        fields = dict(line.split("\t") for line in r.stdout.splitlines())
        self.assertEqual(fields["deferral_eligible"], "yes")
        self.assertEqual(fields["deferred_onsite_due"], "2026-05-07T11:00:00+09:00")

    def test_recovered_before_detected(self):
        r = ctl("sla", "2026-11-25T15:30", "--recovered-at", "2026-11-25T15:29")
        self.assertEqual(r.returncode, 1)
        self.assertIn("before", r.stderr)

    def test_years_without_holidays(self):
        # 2100-02-11 would be 建国記念の日, but the calendar knows 2000-2099:
        # refused, not computed as a working day; so is a due past year 9999.
        for args in (("2100-02-11T10:00",), ("1999-12-31T10:00",),
                     ("2026-11-27T16:00", "--recovered-at", "9999-12-31T10:00")):
            with self.subTest(args=args):
                r = ctl("sla", *args)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn("outside the years whose holidays fieldwatch knows (2000 to 2099)",
                              r.stderr)
                self.assertEqual(r.stdout, "")
        # Inside them, but the clocks would run past them: refused too.
        for args in (("2099-12-31T17:30",),
                     ("2099-12-01T10:00", "--recovered-at", "2099-12-25T10:00")):
            with self.subTest(args=args):
                r = ctl("sla", *args)
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertIn("run past the years whose holidays fieldwatch knows", r.stderr)
        self.assertEqual(ctl("sla", "2099-02-11T10:00").returncode, 0)

    def test_configured_sla(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "c.yaml")
            with open(LAB, encoding="utf-8") as f:
                text = f.read()
            text = text.replace("onsite_within: 2h", "onsite_within: 4h")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            r = ctl("--config", path, "sla", "2026-11-25T13:30", "--json")
            self.assertEqual(r.returncode, 0, r.stderr)
            j = json.loads(r.stdout)
            self.assertEqual(j["onsite_due"], "2026-11-25T17:30:00+09:00")
            self.assertIs(j["deferral_eligible"], True)


class Deadlines(unittest.TestCase):
    def test_range_json(self):
        r = ctl("--config", ICHIKAWA, "deadlines", "--from", "2026-01-01", "--to",
                "2026-12-31", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        data = json.loads(r.stdout)
        # 中旬 runs to the 20th, 頃まで to its day, both moved to the next
        # business day (2026-07-20 is 海の日); fixed dates are their own end.
        self.assertEqual([(d["kind"], d["due"], d["deliver_by"], d["overdue_after"])
                          for d in data], [
            ("quarterly_report", "2026-01-15", "2026-01-15", "2026-01-20"),
            ("quarterly_report", "2026-03-31", "2026-03-31", "2026-03-31"),
            ("completion_notice", "2026-03-31", "2026-03-31", "2026-03-31"),
            ("archive", "2026-03-31", "2026-03-31", "2026-03-31"),
            ("annual_plan", "2026-04-15", "2026-04-15", "2026-04-15"),
            ("quarterly_report", "2026-07-15", "2026-07-15", "2026-07-21"),
            ("quarterly_report", "2026-10-15", "2026-10-15", "2026-10-20"),
        ])
        for d in data:
            self.assertEqual(sorted(d), ["deliver_by", "due", "kind", "overdue_after",
                                         "remaining_seconds", "title"])
            self.assertTrue(d["title"])

    def test_default_range_follows_pretend_now(self):
        r = ctl("--config", ICHIKAWA, "--pretend-now", "2031-06-01T12:00", "deadlines")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [line.split("\t") for line in r.stdout.splitlines()]
        # 2031-07-20 is a Sunday and the 21st 海の日: late after the 22nd.
        self.assertEqual(rows[0][:4], ["2031-07-15", "2031-07-15", "2031-07-22",
                                       "quarterly_report"])
        # The contract's end: a Sunday, handed in on Friday; nothing after it.
        self.assertEqual(rows[-2][:4], ["2031-11-30", "2031-11-28", "2031-11-30",
                                        "completion_notice"])
        self.assertEqual(rows[-1][:4], ["2031-11-30", "2031-11-28", "2031-11-30",
                                        "archive"])

    def test_needs_a_contract(self):
        r = ctl("deadlines")
        self.assertEqual(r.returncode, 1)

    def test_to_before_from(self):
        r = ctl("--config", ICHIKAWA, "deadlines", "--from", "2026-05-01", "--to", "2026-04-01")
        self.assertEqual(r.returncode, 2)


class CheckConfig(unittest.TestCase):
    def test_shipped_configs_are_valid(self):
        for path, sites in ((ICHIKAWA, 27), (LAB, 27)):
            with self.subTest(path=path):
                r = ctl("--config", path, "check-config")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn(f"{sites} sites", r.stdout)

    def test_ichikawa_sites(self):
        r = ctl("--config", ICHIKAWA, "sites", "--json")
        self.assertEqual(r.returncode, 0, r.stderr)
        sites = json.loads(r.stdout)
        self.assertEqual([s["id"] for s in sites], [f"{i:02d}" for i in range(1, 28)])
        mounts = [s["mount"] for s in sites]
        self.assertEqual((mounts.count("spear_arm"), mounts.count("stainless_band"),
                          mounts.count("wall")), (10, 11, 6))
        self.assertEqual(sites[8]["name"], "市川市新田4-12-17 地先 ゆうゆうロード商店会アーチ（北向き）")
        self.assertEqual(sorted(s["tunnel"] for s in sites), list(range(1, 28)))

    def test_bad_configs_report_line_and_column(self):
        files = sorted(glob.glob(os.path.join(ROOT, "tests", "configs", "bad", "*.yaml")))
        self.assertGreaterEqual(len(files), 20)
        for path in files:
            with open(path, "rb") as f:
                head = f.read(4096).decode("utf-8", "replace")
            expects = re.findall(r"^# expect: (\d+):(\d+): (.+)$", head, re.M)
            with self.subTest(path=os.path.basename(path)):
                r = ctl("--config", path, "check-config")
                self.assertEqual(r.returncode, 1, r.stdout)
                self.assertEqual(r.stdout, "")
                for line, col, text in expects:
                    # 0:0 is about the whole file (an empty one): no position.
                    where = f"{path}: " if line == "0" else f"{path}:{line}:{col}: "
                    self.assertIn(where, r.stderr)
                    self.assertIn(text.strip(), r.stderr)

    def test_garbage_never_crashes(self):
        with tempfile.TemporaryDirectory() as d:
            blobs = {
                "empty": b"",
                "binary": bytes(range(256)) * 64,
                "nul": b"sites:\x00\n",
                "huge": b"# x\n" * (2 * 1024 * 1024),
                "nested": b"[" * 100000,
            }
            for name, data in blobs.items():
                with self.subTest(name=name):
                    path = os.path.join(d, name + ".yaml")
                    with open(path, "wb") as f:
                        f.write(data)
                    r = ctl("--config", path, "check-config")
                    self.assertEqual(r.returncode, 1)
                    self.assertIn(path, r.stderr)


if __name__ == "__main__":
    if not os.access(CTL, os.X_OK):
        sys.exit(f"{CTL} is not built")
    unittest.main(verbosity=2)
