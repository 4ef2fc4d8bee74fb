#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The fiscal year's archive (issue 14, item 1): deliverables 1-4 of fiscal
year 2026 for the CD-R, end to end. fieldwatchd runs against a simulated
field of three sites, placed by --pretend-now on 2026-05-12 (a reported
fault recovered with its SD card replaced, work recorded) and on 2026-11-10
(one fault recovered without a medium, one with); `fieldwatchctl archive`
then runs as of 2027-04-05. Every file is opened by a real parser (csv,
html.parser), `sha256sum -c` checks the manifest, the index links every
file, the scans are matched by fault id, `xorriso -indev` lists the image.
Bad input (an unknown fiscal year, a non-empty output directory, a CD-R's
worth exceeded) is refused with nothing written. The archive is listed in
`deadlines` at the year's end, struck as report_due by the daemon, and
closed by `report-submitted --kind archive --fiscal-year 2026`.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_archive.py
"""

import csv
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
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from sim.field import Field  # noqa: E402

ARCHIVE_NOW = "2027-04-05T10:00:00+09:00"
BOM = b"\xef\xbb\xbf"
XORRISO = shutil.which("xorriso")


def three_sites(data):
    fwtest.fast_probes(data)
    data["sites"] = data["sites"][:3]


class Page(html.parser.HTMLParser):
    """Strict enough: every element closed in order; the links and the text."""

    VOID = {"meta", "br", "link", "img", "hr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.links, self.texts = [], [], [], []
        self.doctype = None
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append("unclosed: %s" % self.stack)

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.links.append(dict(attrs).get("href"))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
            return
        self.stack.pop()

    def handle_data(self, data):
        self.texts.append(data)

    def text(self):
        return "".join(self.texts)


def tree(path):
    """Every file under path with its bytes."""
    out = {}
    for root, _, files in os.walk(path):
        for name in files:
            p = os.path.join(root, name)
            with open(p, "rb") as f:
                out[os.path.relpath(p, path)] = f.read()
    return out


class Archive(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-archive-")
        os.chmod(cls.tmp, 0o755)
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), three_sites)
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        cls.daemon = None
        try:
            cls.year()
        except BaseException:
            if cls.daemon:
                cls.daemon.stop()
            cls.field.down()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.daemon:
                assert cls.daemon.stop() == 0, cls.daemon.log()[-2000:]
        finally:
            cls.field.down()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def start(cls, now):
        if cls.daemon:
            assert cls.daemon.stop() == 0, cls.daemon.log()[-2000:]
        cls.daemon = fwtest.Daemon(cls.tmp, cls.config, extra_args=["--pretend-now", now])
        cls.daemon.messages("READY=1", timeout=20)
        cls.state = cls.daemon.state_dir

    @classmethod
    def act(cls, *args):
        r = fwtest.ctl(*args, state_dir=cls.state, config=cls.config)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    @classmethod
    def fault(cls, site, kind, media):
        cls.act("open", "--site", site, "--device", "camera", "--kind", kind, "--by", "山田 太郎",
                "--note", "通報: 映像が映らない")
        r = fwtest.ctl("faults", "--json", state_dir=cls.state, config=cls.config)
        fid = max(f["id"] for f in json.loads(r.stdout) if f["site"] == site)
        cls.act("onsite", str(fid), "--by", "山田 太郎")
        args = ["recover", str(fid), "--by", "山田 太郎", "--cause", "SDカードの故障",
                "--action", "交換, \"録画\"を再開", "--prevention", "=年次点検"]
        if media:
            args += ["--parts", "WV-SDB128G", "--media-replaced"]
        cls.act(*args)
        return fid

    @classmethod
    def year(cls):
        # Q1 (April-June): a fault with its medium replaced, and work.
        cls.start("2026-05-12T10:00:00")
        cls.a = cls.fault("01", "housing_damaged", True)
        cls.act("work", "add", "--start", "2026-05-12T08:00", "--end", "2026-05-12T09:00",
                "--by", "鈴木 一郎", "--title", "定期点検", "--content", "3箇所の外観点検")
        # Q3 (October-December): one fault without, one with a medium replaced.
        cls.start("2026-11-10T10:00:00")
        cls.b = cls.fault("02", "lens_misaligned", False)
        cls.c = cls.fault("03", "housing_damaged", True)
        cls.act("work", "add", "--start", "2026-11-10T07:00", "--end", "2026-11-10T09:00",
                "--by", "鈴木 一郎", "--title", "予防交換", "--content", "02番の電源")
        cls.daemon.stop()
        cls.daemon = None

    def archive(self, *args, now=ARCHIVE_NOW, env=None):
        return fwtest.ctl("--pretend-now", now, "archive", *args, state_dir=self.state,
                          config=self.config, timeout=120, env=env)

    def db(self, sql, *params):
        con = sqlite3.connect(f"file:{self.state}/fieldwatch.db?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    # -----------------------------------------------------------------------

    def test_1_archive(self):
        scans = os.path.join(self.tmp, "scans")
        os.makedirs(scans)
        with open(os.path.join(scans, f"fault-{self.a}_2026-05-20_署名.pdf"), "wb") as f:
            f.write(b"%PDF-1.4 scan of fault a\n")
        with open(os.path.join(scans, "memo.txt"), "w") as f:
            f.write("not a scan")
        plan = os.path.join(self.tmp, "plan.xlsx")
        with open(plan, "wb") as f:
            f.write(b"PK\x03\x04 the annual plan")
        out = os.path.join(self.tmp, "FY2026")
        iso = os.path.join(self.tmp, "FY2026.iso")
        with open(os.path.join(self.state, "fieldwatch.db"), "rb") as f:
            before = f.read()
        args = ["--fiscal-year", "2026", "--output", out, "--scans", scans, "--plan", plan]
        if XORRISO:
            args += ["--iso", iso]
        r = self.archive(*args)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Read-only: the state is untouched.
        with open(os.path.join(self.state, "fieldwatch.db"), "rb") as f:
            self.assertEqual(f.read(), before)
        self.assertIn("memo.txt", r.stderr)          # left out, said so
        self.assertIn(f"fault {self.a}\t2026-05-12\t01-camera\tscan included", r.stdout)
        self.assertIn(f"fault {self.c}\t2026-11-10\t03-camera\tscan MISSING", r.stdout)
        self.assertNotIn(f"fault {self.b}\t", r.stdout)  # no medium replaced

        files = tree(out)
        a5, b5, c5 = (f"{x:05d}" for x in (self.a, self.b, self.c))
        expected = {
            "2026-04-01_年間計画表及びサポート体制図.xlsx",
            "2026-05-12_障害復旧作業報告書_障害%s.html" % a5,
            "2026-05-12_障害復旧作業報告書_障害%s.csv" % a5,
            "2026-05-12_データ消去報告書_障害%s.html" % a5,
            "2026-05-12_データ消去報告書_障害%s.csv" % a5,
            "2026-05-12_データ消去報告書_障害%s_署名済スキャン.pdf" % a5,
            "2026-11-10_障害復旧作業報告書_障害%s.html" % b5,
            "2026-11-10_障害復旧作業報告書_障害%s.csv" % b5,
            "2026-11-10_障害復旧作業報告書_障害%s.html" % c5,
            "2026-11-10_障害復旧作業報告書_障害%s.csv" % c5,
            "2026-11-10_データ消去報告書_障害%s.html" % c5,
            "2026-11-10_データ消去報告書_障害%s.csv" % c5,
            "index.html", "SHA256SUMS",
        }
        for q, last in ((1, "2026-06-30"), (2, "2026-09-30"), (3, "2026-12-31"),
                        (4, "2027-03-31")):
            for ext in ("html", "csv"):
                expected.add(f"{last}_作業実績報告書_2026年度第{q}四半期.{ext}")
        self.assertEqual(set(files), expected)
        # The names sort by date: the dated ones in order of their days.
        dated = sorted(n for n in files if n[:4].isdigit())
        self.assertEqual([n[:10] for n in dated], sorted(n[:10] for n in dated))
        self.assertEqual(files["2026-04-01_年間計画表及びサポート体制図.xlsx"],
                         b"PK\x03\x04 the annual plan")
        self.assertEqual(files["2026-05-12_データ消去報告書_障害%s_署名済スキャン.pdf" % a5],
                         b"%PDF-1.4 scan of fault a\n")

        # Every report opens with a real parser.
        for name, data in files.items():
            if name.endswith(".html"):
                page = Page(data.decode("utf-8"))
                self.assertEqual(page.errors, [], name)
                self.assertEqual(page.doctype.lower(), "doctype html", name)
            elif name.endswith(".csv"):
                self.assertTrue(data.startswith(BOM), name)
                rows = list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))
                self.assertGreater(len(rows), 1, name)
        # The contents are the reports' own.
        q1 = Page(files["2026-06-30_作業実績報告書_2026年度第1四半期.html"].decode()).text()
        self.assertIn("作業実績報告書", q1)
        self.assertIn("定期点検", q1)
        self.assertIn("令和8年度 第1四半期", q1)
        q3csv = files["2026-12-31_作業実績報告書_2026年度第3四半期.csv"][3:].decode()
        self.assertIn("予防交換", q3csv)
        self.assertNotIn("定期点検", q3csv)
        er = Page(files["2026-11-10_データ消去報告書_障害%s.html" % c5].decode()).text()
        self.assertIn("データ消去報告書", er)
        fr = files["2026-05-12_障害復旧作業報告書_障害%s.csv" % a5][3:].decode()
        rows = list(csv.reader(io.StringIO(fr, newline="")))
        self.assertIn("'=年次点検", [c for r in rows for c in r])  # formula neutralised

        # sha256sum -c passes, and names every file but itself.
        r = subprocess.run(["sha256sum", "-c", "--strict", "SHA256SUMS"], cwd=out,
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        listed = {line.split("  ", 1)[1] for line in files["SHA256SUMS"].decode().splitlines()}
        self.assertEqual(listed, expected - {"SHA256SUMS"})
        # A changed file fails it: the check is real.
        broken = os.path.join(self.tmp, "broken")
        shutil.copytree(out, broken)
        with open(os.path.join(broken, "index.html"), "ab") as f:
            f.write(b"\n")
        r = subprocess.run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], cwd=broken,
                           capture_output=True, text=True, timeout=30)
        self.assertNotEqual(r.returncode, 0)

        # The index links every file, and lists the scans to make.
        self.assertIn("納品物件".encode(), files["index.html"])  # UTF-8, not &#...;
        index = Page(files["index.html"].decode("utf-8"))
        self.assertEqual(index.errors, [])
        links = {urllib.parse.unquote(h) for h in index.links}
        self.assertEqual(links, expected - {"index.html"})
        self.assertTrue(all(os.path.exists(os.path.join(out, urllib.parse.unquote(h)))
                            for h in index.links))
        text = index.text()
        self.assertIn("スキャンする署名済みデータ消去報告書", text)
        self.assertIn("未収録", text)
        self.assertIn("2026-04-01〜2027-03-31", text)

        # The image: ISO 9660 with Joliet names, every file in it.
        if not XORRISO:
            self.skipTest("xorriso is not installed (apt-get install xorriso): the --iso "
                          "path is not tested")
        self.assertTrue(os.path.getsize(iso) > 0)
        self.assertFalse([n for n in os.listdir(self.tmp) if ".partial" in n])
        r = subprocess.run(["xorriso", "-indev", iso, "-find", "/", "-type", "f"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        found = {line.strip().strip("'").lstrip("/") for line in r.stdout.splitlines()
                 if line.strip()}
        self.assertEqual(found, expected)
        # The Joliet tree (what Windows shows) carries the Japanese names too.
        r = subprocess.run(["xorriso", "-read_fs", "norock", "-indev", iso, "-find",
                            "/", "-type", "f"], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        joliet = {line.strip().strip("'").lstrip("/") for line in r.stdout.splitlines()
                  if line.strip()}
        self.assertEqual(joliet, expected)
        r = subprocess.run(["xorriso", "-indev", iso, "-osirrox", "on", "-extract",
                            "/SHA256SUMS", os.path.join(self.tmp, "from-iso")],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(os.path.join(self.tmp, "from-iso"), "rb") as f:
            self.assertEqual(f.read(), files["SHA256SUMS"])

    def test_2_refusals(self):
        out = os.path.join(self.tmp, "refused")
        for fy, what in (("2024", "outside the contract period"),
                         ("2032", "outside the contract period"),
                         ("2027", "has not begun")):
            r = self.archive("--fiscal-year", fy, "--output", out, now="2027-03-01T10:00")
            self.assertEqual(r.returncode, 1, (fy, r.stderr))
            self.assertIn(what, r.stderr)
            self.assertIn("2025-12-01", r.stderr) if "contract" in what else None
            self.assertFalse(os.path.exists(out))
        r = self.archive("--fiscal-year", "26", "--output", out)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--fiscal-year", r.stderr)
        r = self.archive("--output", out)
        self.assertEqual(r.returncode, 2, r.stderr)
        # An output directory that exists and is not empty: untouched.
        os.makedirs(out)
        with open(os.path.join(out, "keep.txt"), "w") as f:
            f.write("mine")
        r = self.archive("--fiscal-year", "2026", "--output", out)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not empty", r.stderr)
        self.assertEqual(tree(out), {"keep.txt": b"mine"})
        # An empty one is fine (and the first, partial year is a fiscal year too).
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        r = self.archive("--fiscal-year", "2025", "--output", empty)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("2025-12-01 to 2026-03-31", r.stdout)
        self.assertIn("2026-03-31_作業実績報告書_2025年度第4四半期.html", os.listdir(empty))
        # No --plan: said, and the index says the plan is not included.
        self.assertIn("no annual plan", r.stderr)
        with open(os.path.join(empty, "index.html"), encoding="utf-8") as f:
            self.assertIn("収録なし", Page(f.read()).text())
        # A scan whose name fits two erasure reports: refused, nothing written.
        scans = os.path.join(self.tmp, "ambiguous-scans")
        os.makedirs(scans)
        with open(os.path.join(scans, f"{self.a}-{self.c}.pdf"), "wb") as f:
            f.write(b"%PDF")
        amb = os.path.join(self.tmp, "ambiguous")
        r = self.archive("--fiscal-year", "2026", "--output", amb, "--scans", scans)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("more than one data erasure report", r.stderr)
        self.assertIn("Nothing was written", r.stderr)
        self.assertFalse(os.path.exists(amb))
        # More than a CD-R holds (a sparse scan of 701 MB): refused, nothing written.
        scans = os.path.join(self.tmp, "big-scans")
        os.makedirs(scans)
        with open(os.path.join(scans, f"障害{self.c}.pdf"), "wb") as f:
            f.truncate(701 * 1000 * 1000)
        big = os.path.join(self.tmp, "big")
        r = self.archive("--fiscal-year", "2026", "--output", big, "--scans", scans)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("more than a CD-R holds (700 MB)", r.stderr)
        self.assertFalse(os.path.exists(big))
        self.assertFalse([n for n in os.listdir(self.tmp) if ".partial" in n])
        # --iso without xorriso on PATH: a clear message, nothing written.
        r = self.archive("--fiscal-year", "2026", "--output", big, "--iso",
                         os.path.join(self.tmp, "x.iso"), env={"PATH": "/nonexistent"})
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("xorriso", r.stderr)
        self.assertIn("apt-get install xorriso", r.stderr)
        self.assertFalse(os.path.exists(big))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "x.iso")))

    def test_3_deadlines(self):
        def archives(now):
            r = fwtest.ctl("--pretend-now", now, "deadlines", "--json", "--from", "2027-03-01",
                           "--to", "2027-04-30", state_dir=self.state, config=self.config)
            self.assertEqual(r.returncode, 0, r.stderr)
            return [(d["kind"], d["due"], d["title"]) for d in json.loads(r.stdout)
                    if d["kind"] == "archive"]

        self.assertEqual(archives("2027-03-20T10:00"),
                         [("archive", "2027-03-31", "納品物件１～４の電子媒体（CD-R）（2026年度）")])
        # The contract's end (a Sunday): its last, partial year.
        r = fwtest.ctl("deadlines", "--json", "--from", "2031-11-01", "--to", "2031-12-31",
                       config=self.config)
        last = [d for d in json.loads(r.stdout) if d["kind"] == "archive"]
        self.assertEqual([(d["due"], d["deliver_by"]) for d in last],
                         [("2031-11-30", "2031-11-28")])
        self.assertIn("契約終了", last[0]["title"])
        # Near the year's end the daemon strikes report_due for it.
        self.__class__.start("2027-03-29T10:00:00")
        fwtest.wait_for(lambda: self.db("SELECT 1 FROM events WHERE type = 'report_due'"
                                        " AND kind = 'archive'"), 20, what="report_due archive")
        # report-submitted closes it; twice is refused.
        r = fwtest.ctl("report-submitted", "--kind", "archive", "--fiscal-year", "2026",
                       "--by", "山田 太郎", state_dir=self.state, config=self.config)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("archive due 2027-03-31 submitted", r.stdout)
        self.assertEqual(self.db("SELECT key, submitted_at IS NOT NULL FROM deliverables"
                                 " WHERE kind = 'archive'"), [("2027-03-31", 1)])
        self.assertEqual(archives("2027-03-20T10:00"), [])
        r = fwtest.ctl("report-submitted", "--kind", "archive", "--fiscal-year", "2026",
                       state_dir=self.state, config=self.config)
        self.assertEqual(r.returncode, 1)
        self.assertIn("submitted already", r.stderr)
        for args, code, what in (
                (["--fiscal-year", "2040"], 1, "outside the contract period"),
                (["--fiscal-year", "20x6"], 2, "--fiscal-year"),
                (["--fiscal-year", "2026", "--due", "2027-03-31"], 2, "without --due")):
            r = fwtest.ctl("report-submitted", "--kind", "archive", *args,
                           state_dir=self.state, config=self.config)
            self.assertEqual(r.returncode, code, (args, r.stderr))
            self.assertIn(what, r.stderr)
        r = fwtest.ctl("report-submitted", "--kind", "quarterly_report", "--fiscal-year",
                       "2026", state_dir=self.state, config=self.config)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(self.db("SELECT count(*) FROM deliverables WHERE submitted_at IS NOT"
                                 " NULL"), [(1,)])
        self.assertEqual(self.daemon.stop(), 0)
        self.__class__.daemon = None


if __name__ == "__main__":
    unittest.main(verbosity=2)
