#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make install into a temporary DESTDIR, the unit's verification and its
sandboxing score, and make uninstall.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_install.py
"""

import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402

MAKE = ["make", "--no-print-directory", "-s", f"BUILD={os.path.relpath(fwtest.BUILD, fwtest.ROOT)}"]

FILES = {
    "usr/sbin/fieldwatchd": 0o755,
    "usr/bin/fieldwatchctl": 0o755,
    "usr/lib/systemd/system/fieldwatch.service": 0o644,
    "usr/lib/sysusers.d/fieldwatch.conf": 0o644,
    "usr/lib/tmpfiles.d/fieldwatch.conf": 0o644,
    "usr/lib/systemd/catalog/fieldwatch.catalog": 0o644,
    "usr/share/man/man8/fieldwatchd.8": 0o644,
    "usr/share/man/man1/fieldwatchctl.1": 0o644,
    "usr/share/fieldwatch/ichikawa-2025.yaml": 0o644,
    "usr/share/fieldwatch/snmptrapd.conf": 0o644,
    "etc/fieldwatch/fieldwatch.yaml": 0o644,
}


def make(*args):
    return subprocess.run(MAKE + list(args), cwd=fwtest.ROOT, capture_output=True, text=True,
                          timeout=300)


class Install(unittest.TestCase):
    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="fieldwatch-destdir-")

    def tearDown(self):
        shutil.rmtree(self.dest, ignore_errors=True)

    def install(self):
        r = make("install", f"DESTDIR={self.dest}", "PREFIX=/usr", "SYSCONFDIR=/etc")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_tree_and_uninstall(self):
        self.install()
        for path, mode in FILES.items():
            with self.subTest(path=path):
                st = os.stat(os.path.join(self.dest, path))
                self.assertEqual(stat.S_IMODE(st.st_mode), mode)
        creds = os.stat(os.path.join(self.dest, "etc/fieldwatch/credentials"))
        self.assertEqual(stat.S_IMODE(creds.st_mode), 0o700)
        with open(os.path.join(self.dest, "usr/lib/systemd/system/fieldwatch.service"),
                  encoding="utf-8") as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/sbin/fieldwatchd --config /etc/fieldwatch/fieldwatch.yaml", unit)
        self.assertNotRegex(unit, r"@[A-Z]+@")
        # The snmptrapd lines (issue 16) name the installed handler, with the
        # format `fieldwatchctl snmptrapd-conf` writes (what `trap` parses).
        with open(os.path.join(self.dest, "usr/share/fieldwatch/snmptrapd.conf"),
                  encoding="utf-8") as f:
            trapd = f.read()
        self.assertIn("\ntraphandle default /usr/bin/fieldwatchctl trap\n", trapd)
        self.assertIn("includeFile /usr/share/fieldwatch/snmptrapd.conf", trapd)
        generated = os.path.join(self.dest, "generated.conf")
        r = fwtest.ctl("--config", "config/lab.yaml", "--credentials-dir", fwtest.CREDENTIALS,
                       "snmptrapd-conf", "--output", generated)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(generated).st_mode), 0o600)
        with open(generated, encoding="utf-8") as f:
            gen = f.read()
        os.unlink(generated)
        fmt = [x for x in trapd.splitlines() if x.startswith("format execute ")]
        self.assertEqual(len(fmt), 1)
        self.assertIn(fmt[0] + "\n", gen)
        self.assertNotRegex(trapd, r"@[A-Z]+@")
        # The installed configuration is valid, and the programs run.
        r = subprocess.run([os.path.join(self.dest, "usr/bin/fieldwatchctl"), "--config",
                            os.path.join(self.dest, "etc/fieldwatch/fieldwatch.yaml"),
                            "check-config"], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        # A second install keeps an edited configuration.
        conf = os.path.join(self.dest, "etc/fieldwatch/fieldwatch.yaml")
        with open(conf, "a", encoding="utf-8") as f:
            f.write("# edited by the city\n")
        self.install()
        with open(conf, encoding="utf-8") as f:
            self.assertIn("# edited by the city", f.read())
        r = make("uninstall", f"DESTDIR={self.dest}", "PREFIX=/usr", "SYSCONFDIR=/etc")
        self.assertEqual(r.returncode, 0, r.stderr)
        left = sorted(os.path.relpath(os.path.join(d, f), self.dest)
                      for d, _, files in os.walk(self.dest) for f in files)
        self.assertEqual(left, ["etc/fieldwatch/fieldwatch.yaml"])

    def test_unit_verifies_and_is_sandboxed(self):
        self.install()
        unit = os.path.join(self.dest, "usr/lib/systemd/system/fieldwatch.service")
        # Verified against this machine's units, with the programs where DESTDIR put them.
        with open(unit, encoding="utf-8") as f:
            text = f.read().replace("=/usr/", f"={self.dest}/usr/")
        check = os.path.join(self.dest, "fieldwatch.service")
        with open(check, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run(["systemd-analyze", "verify", "--man=no", "--generators=no", check],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr.strip(), "")
        r = subprocess.run(["systemd-analyze", "security", "--offline=true", unit],
                           capture_output=True, text=True, timeout=60)
        m = re.search(r"Overall exposure level for fieldwatch.service: (\d+\.\d+)", r.stdout)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        self.assertLessEqual(float(m.group(1)), 2.0)
        # Identity survives the sandbox (issue 12): no PrivateUsers=, which would
        # map every operator on the control socket to nobody; the socket's
        # directory and group; every secret from one directory, none required.
        with open(unit, encoding="utf-8") as f:
            lines = [ln.strip() for ln in f if not ln.lstrip().startswith("#")]
        self.assertFalse([ln for ln in lines if ln.startswith("PrivateUsers")], lines)
        self.assertIn("RuntimeDirectory=fieldwatch", lines)
        self.assertIn("SupplementaryGroups=fieldwatch-ops", lines)
        self.assertEqual([ln for ln in lines if ln.startswith("LoadCredential")],
                         ["LoadCredential=fieldwatch:/etc/fieldwatch/credentials"])

    def test_catalog_lists_every_message_id(self):
        self.install()
        r = subprocess.run(["journalctl", f"--root={self.dest}", "--update-catalog"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run(["journalctl", f"--root={self.dest}", "--list-catalog"],
                           capture_output=True, text=True, timeout=60)
        ids = set(re.findall(r"^([0-9a-f]{32}) ", r.stdout, re.M))
        with open(os.path.join(fwtest.ROOT, "daemon", "event.c"), encoding="utf-8") as f:
            wanted = set(re.findall(r'"([0-9a-f]{32})"', f.read()))
        self.assertTrue(wanted)
        self.assertLessEqual(wanted, ids)


if __name__ == "__main__":
    unittest.main(verbosity=2)
