#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The soak (issue 8), short, in make check: bench/soak runs fieldwatchd against
the 27 simulated sites with random faults, a restart and two reloads for
SOAK_DURATION (default 90s), then checks that every injected fault was raised
and cleared once, no blip raised one, the journal and the mail match the event
history exactly once, RSS stayed within its bound and no file descriptor leaked.
bench/soak's report (JSON) is kept in the test's output on failure, with the
seed to replay it.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_soak.py
(SOAK_DURATION=10m for longer, SOAK_SEED=N to replay a run's choices).
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402

SOAK = os.path.join(fwtest.ROOT, "bench", "soak")


class Soak(unittest.TestCase):
    def test_soak(self):
        duration = os.environ.get("SOAK_DURATION", "90s")
        with tempfile.TemporaryDirectory(prefix="fieldwatch-test-soak-") as tmp:
            report_path = os.path.join(tmp, "soak.json")
            argv = ["/usr/bin/python3", SOAK, "--duration", duration, "--build", fwtest.BUILD,
                    "--report", report_path, "--quiet"]
            if os.environ.get("SOAK_SEED"):
                argv += ["--seed", os.environ["SOAK_SEED"]]
            # The soak bounds each of its waits; this bounds the whole: the
            # duration, the field and the end's draining (up to ~4 minutes).
            seconds = _seconds(duration)
            r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 300,
                               cwd=fwtest.ROOT)
            if r.returncode == 77:
                self.skipTest(r.stderr.strip())
            print(r.stdout, file=sys.stderr)
            self.assertTrue(os.path.exists(report_path),
                            f"no report (status {r.returncode}): {r.stderr[-3000:]}")
            with open(report_path, encoding="utf-8") as f:
                report = json.load(f)
            detail = json.dumps({k: report.get(k) for k in (
                "failures", "warnings", "faults", "mail", "journal", "rss", "fds", "seed",
                "tmp")}, ensure_ascii=False, indent=1)
            self.assertEqual(report["verdict"], "pass", detail)
            self.assertEqual(r.returncode, 0, r.stderr[-3000:])
            # The verdict's substance, as figures.
            f = report["faults"]
            self.assertGreaterEqual(f["injected"], 5, detail)
            self.assertEqual(f["raised"], f["injected"], detail)
            self.assertEqual(f["cleared"], f["injected"], detail)
            self.assertEqual(f["rows"], f["injected"], detail)
            self.assertEqual(f["unexplained"], [], detail)
            m = report["mail"]
            self.assertEqual(m["missing"], 0, detail)
            self.assertEqual(m["duplicates"], 0, detail)
            self.assertEqual(m["accepted"], m["outbox"], detail)
            self.assertGreaterEqual(m["mailing_events"], 2 * f["injected"], detail)
            self.assertGreater(m["restart"]["queued_mails"], 0, detail)
            self.assertEqual(len(report["reload"]["reloads"]), 2, detail)
            self.assertEqual([d["rc"] for d in report["daemons"]], [0, 0], detail)
            self.assertLessEqual(report["fds"]["end"], report["fds"]["baseline"], detail)
            if report["rss"]["gated"]:
                self.assertLessEqual(report["rss"]["growth_kib"], report["rss"]["bound_kib"],
                                     detail)


def _seconds(text):
    total, number = 0.0, ""
    for ch in text.strip():
        if ch.isdigit() or ch == ".":
            number += ch
        else:
            total += float(number or 0) * {"h": 3600, "m": 60, "s": 1}[ch]
            number = ""
    return total + float(number or 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
