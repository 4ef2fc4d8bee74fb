#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The contract's reports end to end (issue 5, item 4): fieldwatchd against
the simulated field, placed on Wednesday 2026-09-16 10:00 by --pretend-now;
one fault taken through ack, onsite, recovery with a replaced medium and the
recovery report, a router fault hiding its camera recovered without one, a
camera fault left open, work recorded through the daemon. Then every report
in every format, checked with real parsers: csv (after checking the BOM),
html.parser (well-formed tables, the texts, the escaping) and the Markdown
tables' columns. The reports are made as of 2026-10-05 (--pretend-now of
fieldwatchctl).

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_reports.py
"""

import csv
import html
import html.parser
import io
import json
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
from sim.field import Field  # noqa: E402

BOM = b"\xef\xbb\xbf"
REPORT_NOW = "2026-10-05T12:00:00+09:00"
SITE05 = "市川市真間1-12-4 市川センタービル（南向き）"

CAUSE = "microSDカードの故障, 書込みエラー"
ACTION = '交換し、"録画"を再開\n動作確認済み'
PREVENTION = "<script>alert('x')</script> & 年次点検"
WORK = [
    # Added in this order; the report lists them by start time.
    dict(start="2026-09-16T09:00", end="2026-09-16T09:45", by="山田 太郎", title="予防交換",
         content='05番の電源を点検, "異常なし"\n記録済み', notes="<b>要確認</b>"),
    dict(start="2026-07-10T10:00", end="2026-07-10T11:30", by="鈴木 一郎", title="定期点検",
         content="全27箇所の外観点検", notes=""),
]
WORK_HEADER_JA = ["No.", "開始日時", "終了日時", "作業時間", "担当者名", "作業名", "作業内容",
                  "特記事項", "障害番号"]


# ---------------------------------------------------------------------------
# Parsers

class Html(html.parser.HTMLParser):
    """A strict reading of a report: every element closed in order, the
    tables as lists of rows of cell texts."""

    VOID = {"meta", "br", "link", "img", "hr"}

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.starts = [], [], []
        self.doctype = None
        self.tables, self.cell = [], None
        self.texts, self.style = [], ""
        self.feed(text)
        self.close()
        if self.stack:
            self.errors.append("unclosed: %s" % self.stack)

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.starts.append((tag, dict(attrs)))
        if tag in self.VOID:
            return
        self.stack.append(tag)
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            if not self.tables or "table" not in self.stack:
                self.errors.append("tr outside a table")
            else:
                self.tables[-1].append([])
        elif tag in ("td", "th"):
            if self.stack[-2:-1] != ["tr"]:
                self.errors.append("%s outside a tr" % tag)
            self.cell = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append("</%s> closes %s" % (tag, self.stack[-1:] or "nothing"))
            return
        self.stack.pop()
        if tag in ("td", "th") and self.cell is not None:
            if self.tables and self.tables[-1]:
                self.tables[-1][-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)
        if self.stack[-1:] == ["style"]:
            self.style += data
        self.texts.append(data)

    def text(self):
        return "".join(self.texts)

    def fields(self):
        """Every two-column row as {label: value}."""
        return {r[0]: r[1] for t in self.tables for r in t if len(r) == 2}


def md_cells(line):
    """The cells of a Markdown table row, split on unescaped pipes, unescaped."""
    assert line.startswith("|") and line.endswith("|"), line
    parts = re.split(r"(?<!\\)\|", line[1:-1])
    out = []
    for p in parts:
        p = p.strip().replace("<br>", "\n")
        p = re.sub(r"\\(.)", r"\1", p)
        out.append(html.unescape(p))
    return out


def md_tables(text):
    """Every Markdown table as a list of rows (the header first, without the
    alignment row); asserts that every row has the header's columns."""
    tables, cur = [], None
    for line in text.split("\n"):
        if line.startswith("|"):
            if cur is None:
                cur = []
                tables.append(cur)
            cur.append(line)
        else:
            cur = None
    out = []
    for t in tables:
        assert len(t) >= 2, t
        header = md_cells(t[0])
        align = md_cells(t[1])
        assert all(re.fullmatch(r"-{3,}:?", a) for a in align), t[1]
        assert len(align) == len(header), t[:2]
        rows = [header]
        for line in t[2:]:
            cells = md_cells(line)
            assert len(cells) == len(header), (line, header)
            rows.append(cells)
        out.append(rows)
    return out


def read_csv(data):
    """The rows of a CSV report (bytes), after checking the BOM and CRLF."""
    assert data.startswith(BOM), data[:8]
    text = data[len(BOM):].decode("utf-8")
    assert text.endswith("\r\n"), text[-20:]
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    # Every record ends in CRLF: as many as rows (line breaks in fields are quoted).
    unquoted = re.sub(r'"(?:[^"]|"")*"', "", text)
    assert unquoted.count("\r\n") == len(rows), unquoted
    assert "\n" not in unquoted.replace("\r\n", ""), unquoted
    width = len(rows[0])
    assert all(len(r) == width for r in rows), rows
    return rows


def csv_line(row):
    """A line of text in a CSV of sections (a heading, a paragraph): the
    text in the first cell, the rest empty."""
    return row[0] != "" and not any(row[1:])


def csv_table(rows, header):
    """The rows of the table whose header row starts with header (the
    header included), up to the next line of text."""
    for i, r in enumerate(rows):
        if r[:len(header)] == header and not any(r[len(header):]):
            out = [header]
            for row in rows[i + 1:]:
                if csv_line(row):
                    break
                out.append(row[:len(header)])
            return out
    raise AssertionError(f"no table {header} in {rows}")


def csv_fields(data):
    rows = read_csv(data)
    assert len(rows[0]) == 2, rows[0]
    return {r[0]: r[1] for r in rows[1:]}


def hms(s):
    h, m, sec = (int(x) for x in s.split(":"))
    return h * 3600 + m * 60 + sec


# ---------------------------------------------------------------------------

class Reports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-reports-")
        os.chmod(cls.tmp, 0o755)
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"),
                                       fwtest.fast_probes)
        cls.field = Field(cls.config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.field.up()
        cls.daemon = None
        try:
            cls.daemon = fwtest.Daemon(cls.tmp, cls.config,
                                       extra_args=["--pretend-now", "2026-09-16T10:00:00"])
            cls.daemon.messages("READY=1")
            cls.workflow()
        except BaseException:
            if cls.daemon:
                cls.daemon.stop()
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
    def act(cls, *args):
        r = fwtest.ctl(*args, state_dir=cls.daemon.state_dir, config=cls.config)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
        return r

    @classmethod
    def wait_fault(cls, device, state="open"):
        def check():
            r = fwtest.ctl("faults", "--json", state_dir=cls.daemon.state_dir,
                           config=cls.config)
            if r.returncode != 0:
                return None
            return [f for f in json.loads(r.stdout)
                    if f["device"] == device and f["state"] == state]
        return fwtest.wait_for(check, 20, what=f"fault {device} {state}")[0]

    @classmethod
    def workflow(cls):
        d = cls.daemon
        for dev in ("05-camera", "07-camera", "08-router", "08-camera"):
            d.wait_device(dev, "up", timeout=20)
        # A: the camera at site 05, recovered with its SD card replaced.
        cls.field.camera("05").fault("down")
        cls.a = cls.wait_fault("05-camera")["id"]
        a = str(cls.a)
        cls.act("ack", a, "--by", "山田 太郎")
        cls.act("onsite", a, "--by", "山田 太郎")
        cls.act("recover", a, "--by", "山田 太郎", "--cause", CAUSE, "--action", ACTION,
                "--prevention", PREVENTION, "--parts", "WV-SDB128G", "--media-replaced")
        cls.act("report-submitted", a, "--kind", "recovery", "--by", "山田 太郎")
        cls.field.camera("05").clear()
        cls.wait_fault("05-camera", "cleared")
        # B: the router at site 08, hiding its camera; recovered without a medium, still open.
        cls.field.router("08").freeze()
        cls.field.camera("08").fault("down")
        f = cls.wait_fault("08-router")
        assert f["hidden"] == ["08-camera"], f
        cls.b = f["id"]
        cls.act("onsite", str(cls.b), "--by", "鈴木 一郎")
        cls.act("recover", str(cls.b), "--by", "鈴木 一郎", "--cause", "LTEルーターの停止",
                "--action", "再起動", "--prevention", "なし（一過性の停止）")
        # C: the camera at site 07, left open without onsite work.
        cls.field.camera("07").fault("down")
        cls.c = cls.wait_fault("07-camera")["id"]
        for w in WORK:
            args = ["work", "add", "--start", w["start"], "--end", w["end"], "--by", w["by"],
                    "--title", w["title"], "--content", w["content"]]
            if w["notes"]:
                args += ["--notes", w["notes"]]
            cls.act(*args)

    def report(self, *args, code=0, fmt="md", lang=None, now=REPORT_NOW):
        argv = ["--pretend-now", now, "report", *args, "--format", fmt]
        if lang:
            argv += ["--lang", lang]
        e = dict(os.environ)
        e.pop("STATE_DIRECTORY", None)
        r = subprocess.run([fwtest.CTL, "--config", self.config, "--state-dir",
                            self.daemon.state_dir, *argv],
                           capture_output=True, env=e, timeout=30, cwd=fwtest.ROOT)
        self.assertEqual(r.returncode, code, (argv, r.stderr.decode()))
        if code != 0:
            self.assertEqual(r.stdout, b"")
            return r.stderr.decode()
        self.assertEqual(r.stderr, b"")
        return r.stdout if fmt == "csv" else r.stdout.decode("utf-8")

    def html(self, *args, lang=None, title=None):
        text = self.report(*args, fmt="html", lang=lang)
        h = Html(text)
        self.assertEqual(h.errors, [])
        self.assertEqual(h.doctype, "DOCTYPE html")
        self.assertIn(("meta", {"charset": "utf-8"}), h.starts)
        self.assertIn("@page { size: A4; margin: 15mm }", h.style)
        self.assertIn("border: 1px solid", h.style)
        self.assertNotIn("script", [t for t, _ in h.starts])
        for t in h.tables:
            self.assertTrue(t, "an empty table")
            width = len(t[0])
            self.assertTrue(all(len(r) == width for r in t), t)
        if title:
            self.assertIn(("h1", {}), h.starts)
            self.assertIn(title, h.text())
        return h

    # -----------------------------------------------------------------------

    def test_quarterly(self):
        md = self.report("quarterly", "2026Q3")
        self.assertTrue(md.startswith("# 作業実績報告書\n"), md[:100])
        tables = md_tables(md)
        meta = {r[0]: r[1] for r in tables[0][1:]}
        self.assertEqual(meta["対象期間"], "2026-07-01 〜 2026-09-30")
        self.assertEqual(meta["提出期限"], "2026-10-15")
        self.assertEqual(meta["契約名"], "lab")
        work = tables[1]
        self.assertEqual(work[0], WORK_HEADER_JA)
        # By start time; fault work is work (issue 13): each recovery's onsite
        # work is listed with the rest, under its fault's number.
        self.assertEqual([r[5] for r in work[1:]], ["定期点検", "予防交換",
                                                     "障害対応（カメラ応答なし）",
                                                     "障害対応（LTEルーター応答なし）"])
        self.assertEqual(work[1][1:5], ["2026-07-10 10:00", "2026-07-10 11:30", "1:30", "鈴木 一郎"])
        self.assertEqual(work[2][6], WORK[0]["content"])
        self.assertEqual(work[2][7], "<b>要確認</b>")
        self.assertEqual(work[3][4], "山田 太郎")
        self.assertEqual(work[3][6], f"原因: {CAUSE}\n処置: {ACTION}")
        self.assertEqual(work[3][7], f"交換部品: WV-SDB128G\n再発防止策: {PREVENTION}")
        self.assertEqual(work[3][8], str(self.a))
        self.assertRegex(work[3][1], r"^2026-09-16 10:\d\d$")  # the onsite start
        self.assertEqual(work[4][4], "鈴木 一郎")
        self.assertEqual(work[4][8], str(self.b))
        self.assertEqual(work[4][7], "再発防止策: なし（一過性の停止）")
        self.assertIn("作業時間合計: 2:15（4件）", md)
        self.assertNotIn("作業実績はありません", md)
        faults = tables[2]
        self.assertEqual([int(r[0]) for r in faults[1:]], [self.a, self.b, self.c])
        self.assertEqual(faults[1][1], "05 " + SITE05)
        self.assertEqual(faults[1][3], "カメラ応答なし")
        self.assertRegex(faults[1][6], r"^2026-09-16 10:\d\d$")   # onsite started
        self.assertEqual(faults[3][6], "—")                        # C: no onsite

        h = self.html("quarterly", "2026Q3", lang="en", title="Work report (作業実績報告書)")
        rows = h.tables[1]
        self.assertEqual(rows[0][:3], ["No.", "Start", "End"])
        self.assertEqual(rows[2][6], WORK[0]["content"])  # newline kept, quotes as text
        self.assertEqual(rows[2][7], "<b>要確認</b>")      # text, not markup
        self.assertNotIn("b", [t for t, _ in h.starts])
        self.assertIn("Total work time: 2:15 (4 items)", h.text())

        # The CSV drops no section (issue 13): the fields, the work and the
        # faults, each under its heading line, every row as wide as the work.
        rows = read_csv(self.report("quarterly", "2026Q3", fmt="csv"))
        self.assertEqual(len(rows[0]), len(WORK_HEADER_JA))
        self.assertEqual(rows[0][0], "作業実績報告書")
        lines = [r[0] for r in rows if csv_line(r)]
        self.assertEqual(lines[:3], ["作業実績報告書", "作業実績", "作業時間合計: 2:15（4件）"])
        self.assertEqual(lines[3:], ["障害対応", "異常の調査", "当該期間に調査した異常はありません。",
                                     "時刻は契約の時間帯（Asia/Tokyo）で表示しています。"])
        fields = {r[0]: r[1] for r in rows[1:rows.index(["作業実績"] + [""] * 8)]}
        self.assertEqual(fields["対象期間"], meta["対象期間"])
        self.assertEqual(fields["提出期限"], "2026-10-15")
        self.assertEqual(fields["四半期"], "令和8年度 第2四半期（7月～9月）")
        work = csv_table(rows, WORK_HEADER_JA)
        self.assertEqual(len(work), 5)
        self.assertEqual([r[8] for r in work[3:]], [str(self.a), str(self.b)])
        self.assertEqual(work[3][6], f"原因: {CAUSE}\n処置: {ACTION}")
        self.assertEqual(work[2][6], WORK[0]["content"])
        self.assertEqual(work[2][1:4], ["2026-09-16 09:00", "2026-09-16 09:45", "0:45"])
        self.assertEqual(work[2][8], "")
        csv_faults = csv_table(rows, faults[0])
        self.assertEqual([int(r[0]) for r in csv_faults[1:]], [self.a, self.b, self.c])
        self.assertEqual(csv_faults[1][1], "05 " + SITE05)
        self.assertEqual(csv_faults[3][6], "")                    # C: no onsite

    def test_fiscal_quarters_and_the_title(self):
        """Issue 13: quarters as the city names them (by fiscal year and era);
        the CLI takes 2026Q3 and FY2026Q2 alike; contract.title is the 件名."""
        a = self.report("quarterly", "2026Q3")
        b = self.report("quarterly", "FY2026Q2")
        self.assertIn("| 四半期 | 令和8年度 第2四半期（7月～9月） |", a)
        self.assertEqual(md_tables(a)[1:], md_tables(b)[1:])
        self.assertEqual(md_tables(a)[0], md_tables(b)[0])
        en = self.report("quarterly", "FY2025Q4", lang="en")
        self.assertIn("| Quarter | FY2025 Q4 (January to March) |", en)
        self.assertIn("| Period | 2026-01-01 to 2026-03-31 |", en)
        ja = self.report("quarterly", "2026Q1")
        self.assertIn("| 四半期 | 令和7年度 第4四半期（1月～3月） |", ja)
        self.assertNotIn("件名", ja)
        for bad in ("FY2026Q5", "FY26Q1", "FY2026Q"):
            with self.subTest(bad=bad):
                self.assertIn("invalid quarter", self.report("quarterly", bad, code=2))
        # The title, from the configuration.
        titled = os.path.join(self.tmp, "titled.yaml")
        with open(self.config, encoding="utf-8") as f:
            text = f.read()
        title = "（長期継続契約）ネットワーク型街頭防犯カメラ令和７年度導入機器保守業務委託"
        text = text.replace('contract:\n', f'contract:\n  title: "{title}"\n', 1)
        with open(titled, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run([fwtest.CTL, "--config", titled, "--state-dir", self.daemon.state_dir,
                            "--pretend-now", REPORT_NOW, "report", "quarterly", "2026Q3"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"| 件名 | {title} |", r.stdout)

    def test_csv_cells_are_not_formulas(self):
        """Issue 12: a cell a spreadsheet would run as a formula (= + - @, tab,
        CR first) goes out with a leading apostrophe (OWASP); numbers stay."""
        self.act("work", "add", "--start", "2026-02-10T10:00", "--end", "2026-02-10T11:00",
                 "--by", "=1+1", "--title", "+cmd|' /C calc'!A0", "--content", "@SUM(1)",
                 "--notes", "-2+3")
        rows = csv_table(read_csv(self.report("quarterly", "2026Q1", fmt="csv")),
                         WORK_HEADER_JA)
        self.assertEqual(len(rows), 2, rows)
        row = rows[1]
        self.assertEqual(row[4:8], ["'=1+1", "'+cmd|' /C calc'!A0", "'@SUM(1)", "'-2+3"])
        self.assertEqual(row[1:4], ["2026-02-10 10:00", "2026-02-10 11:00", "1:00"])
        # Markdown and HTML show the text as it was written.
        md = self.report("quarterly", "2026Q1")
        self.assertIn("| =1+1 |", md)
        self.assertNotIn("'=1+1", md)

    def test_quarterly_without_work(self):
        md = self.report("quarterly", "2026Q2")
        self.assertIn("\n当該期間の作業実績はありません。\n", md)
        self.assertIn("当該期間の障害はありません。", md)
        self.assertIn("| 提出期限 | 2026-07-15 |", md)
        self.assertEqual(len(md_tables(md)), 1)
        h = self.html("quarterly", "2026Q2", lang="en")
        self.assertIn("There was no work in this period.", h.text())
        rows = read_csv(self.report("quarterly", "2026Q2", fmt="csv", lang="en"))
        lines = [r[0] for r in rows if csv_line(r)]
        self.assertEqual(lines, ["Work report (作業実績報告書)", "Work done",
                                 "There was no work in this period.", "Faults handled",
                                 "There were no faults in this period.",
                                 "Anomalies investigated",
                                 "No anomaly was investigated in this period.",
                                 "Times are contract time (Asia/Tokyo)."])
        self.assertIn(["Due", "2026-07-15"] + [""] * 7, rows)
        self.assertNotIn("No.", [r[0] for r in rows])
        # The contract's first quarter is clipped to its start.
        self.assertIn("| 対象期間 | 2025-12-01 〜 2025-12-31 |", self.report("quarterly", "2025Q4"))

    def test_fault(self):
        fields = csv_fields(self.report("fault", str(self.a), fmt="csv"))
        self.assertEqual(fields["障害番号"], str(self.a))
        self.assertEqual(fields["現場"], "05 " + SITE05)
        self.assertEqual(fields["機器"], "カメラ（05-camera）")
        self.assertEqual(fields["障害発生原因"], CAUSE)
        self.assertEqual(fields["対処作業の結果"], ACTION)
        self.assertEqual(fields["再発防止策"], PREVENTION)
        self.assertEqual(fields["交換部品"], "WV-SDB128G")
        self.assertTrue(fields["情報記録媒体の交換"].startswith("あり"))
        self.assertEqual(fields["現地着手期限の遵守"], "期限内")
        self.assertRegex(fields["受付確認者"], r"^山田 太郎（2026-09-16 10:\d\d）$")
        self.assertEqual(fields["現地作業者"].split("（")[0], "山田 太郎")
        self.assertRegex(fields["検知日時"], r"^2026-09-16 10:\d\d$")
        self.assertRegex(fields["復旧日時"], r"^2026-09-16 10:\d\d$")
        self.assertRegex(fields["機器の応答回復日時"], r"^2026-09-16 10:\d\d$")
        self.assertEqual(fields["延期の承認者"], "")
        self.assertEqual(fields["提出期限"], "2026-09-30")        # recovered + 14 days
        self.assertRegex(fields["提出日時"], r"^2026-09-16 10:\d\d$")

        h = self.html("fault", str(self.a), title="障害復旧作業報告書")
        f = h.fields()
        self.assertEqual(f["再発防止策"], PREVENTION)               # escaped, and back
        self.assertEqual(f["対処作業の結果"], ACTION)
        self.assertEqual(f["延期の承認者"], "—")

        md = self.report("fault", str(self.a), lang="en")
        self.assertTrue(md.startswith("# Fault recovery report (障害復旧作業報告書)\n"))
        f = {r[0]: r[1] for t in md_tables(md) for r in t[1:]}
        self.assertEqual(f["Cause"], CAUSE)
        self.assertEqual(f["Action taken and result"], ACTION)
        self.assertEqual(f["Prevention"], PREVENTION)
        self.assertEqual(f["Devices made unreachable"], "—")
        self.assertNotIn("<script>", md)

        b = csv_fields(self.report("fault", str(self.b), fmt="csv", lang="en"))
        self.assertEqual(b["Devices made unreachable"], "08-camera")
        self.assertEqual(b["Storage medium replaced"], "no")
        self.assertEqual(b["Handed in"], "not yet")

    def test_erasure(self):
        fields = csv_fields(self.report("erasure", str(self.a), fmt="csv"))
        self.assertEqual(fields["情報記録媒体"], "WV-SDB128G")
        self.assertEqual(fields["障害番号"], str(self.a))
        self.assertEqual(fields["障害復旧作業日"], "2026-09-16")
        # Recovered 09-16 + 7 days = 09-23 秋分の日: delivered Friday 09-18.
        self.assertEqual(fields["提出期限"], "2026-09-23（休日のため 2026-09-18 までに提出）")
        for blank in ("実施日時", "実施場所", "所属", "氏名", "署名又は印"):
            self.assertEqual(fields[blank], "", blank)
        self.assertIn("物理的破壊", fields["処理方法"])

        h = self.html("erasure", str(self.a), title="データ消去報告書")
        self.assertIn("立会者（発注者職員）", h.text())
        blanks = [a for t, a in h.starts if t == "td" and a.get("class") == "blank"]
        self.assertEqual(len(blanks), 6)
        md = self.report("erasure", str(self.a), lang="en")
        self.assertIn("## Witness (city official)", md)
        md_tables(md)

    def test_availability(self):
        rows = read_csv(self.report("availability", "--month", "2026-09", fmt="csv"))
        header, rows = rows[0], rows[1:]
        self.assertEqual(header[:4], ["現場", "設置場所", "機器", "停止"])
        by = {r[2]: r for r in rows}
        self.assertEqual(len(rows), 1 + 27 * 3)
        self.assertEqual(rows[0][2], "vpn")
        self.assertEqual(by["01-camera"][3:], ["0:00:00", "0:00:00", "100.00",
                                               "0:00:00", "0:00:00", "100.00"])
        # A: seconds of wall time, inside business hours.
        down = hms(by["05-camera"][3])
        self.assertTrue(0 < down < 600, by["05-camera"])
        self.assertEqual(by["05-camera"][6], by["05-camera"][3])
        # B hides the camera at 08: the camera inherits the router's downtime.
        self.assertEqual(by["08-camera"][3:], by["08-router"][3:])
        # C is open: down from ~10:00 on 09-16 to the month's end; business hours
        # 7 h on the 16th, 17, 18, 24, 25, 28, 29, 30 (Silver Week 21–23).
        c = by["07-camera"]
        self.assertTrue(14 * 86400 + 13 * 3600 + 50 * 60 < hms(c[3]) <= 14 * 86400 + 14 * 3600, c)
        self.assertTrue(62 * 3600 + 50 * 60 < hms(c[6]) <= 63 * 3600, c)
        self.assertEqual(by["05-tunnel"][5], "100.00")

        md = self.report("availability", "--month", "2026-09")
        t = md_tables(md)
        meta = {r[0]: r[1] for r in t[0][1:]}
        self.assertEqual(meta["対象時間（全時間）"], "720:00:00")
        self.assertEqual(meta["対象時間（業務時間）"], "152:00:00")
        self.assertEqual(len(t[1]), 1 + 1 + 27 * 3)
        h = self.html("availability", "--month", "2026-09", lang="en",
                      title="Availability report")
        self.assertEqual(len(h.tables[1]), 1 + 1 + 27 * 3)

    def test_sla(self):
        fields = csv_fields(self.report("sla", "2026Q3", fmt="csv", lang="en"))
        self.assertEqual(fields["Faults received"], "3")
        self.assertEqual(fields["With onsite work"], "2")
        self.assertEqual(fields["Met"], "2")
        self.assertEqual(fields["Breached"], "1")          # C: no onsite work, due long past
        self.assertEqual(fields["Pending"], "0")
        self.assertEqual(fields["Deferred with approval"], "0")
        self.assertTrue(0 <= hms(fields["Response time (median)"]) <=
                        hms(fields["Response time (maximum)"]) < 600, fields)
        # A's recovery report on time; its erasure report and B's recovery report overdue.
        self.assertEqual(fields["Reports handed in on time"], "1")
        self.assertEqual(fields["Reports handed in late"], "0")
        self.assertEqual(fields["Reports outstanding"], "2")
        self.assertEqual(fields["Reports outstanding and overdue"], "2")
        md = self.report("sla", "2026Q3")
        t = md_tables(md)
        self.assertEqual([int(r[0]) for r in t[2][1:]], [self.a, self.b, self.c])
        self.assertEqual([r[8] for r in t[2][1:]], ["期限内", "期限内", "期限超過"])
        self.html("sla", "2026Q3", title="現地対応時間（SLA）報告")
        self.assertIn("当該期間に受け付けた障害はありません。", self.report("sla", "2026Q2"))

    def test_output_file(self):
        out = os.path.join(self.tmp, "out")
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, "q3.html")
        old = os.umask(0o027)
        try:
            self.report("quarterly", "2026Q3", "--output", path, fmt="html")
        finally:
            os.umask(old)
        self.assertEqual(os.listdir(out), ["q3.html"])        # no temporary left behind
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o640)
        with open(path, encoding="utf-8") as f:
            self.assertEqual(f.read(), self.report("quarterly", "2026Q3", fmt="html"))
        # Replaced whole.
        self.report("quarterly", "2026Q2", "--output", path, fmt="html")
        with open(path, encoding="utf-8") as f:
            self.assertIn("当該期間の作業実績はありません。", f.read())
        err = self.report("quarterly", "2026Q3", "--output", os.path.join(out, "no", "x.md"),
                          code=1)
        self.assertIn("Cannot write", err)
        self.assertEqual(os.listdir(out), ["q3.html"])

    def test_bad_input(self):
        cases = [
            (["fault", str(self.c)], 1, "has no recovery recorded"),
            (["erasure", str(self.c)], 1, "has no recovery recorded"),
            (["erasure", str(self.b)], 1, "No storage medium was replaced"),
            (["fault", "99999"], 1, "There is no fault 99999"),
            (["fault", "x"], 2, "invalid fault id"),
            (["fault"], 2, "expects one argument"),
            (["quarterly", "2026Q5"], 2, "invalid quarter"),
            (["quarterly", "2026-Q3"], 2, "invalid quarter"),
            (["quarterly", "2025Q3"], 1, "outside the contract period"),
            (["quarterly", "2026Q4", "--lang", "fr"], 2, "invalid --lang"),
            (["sla", "2027Q1"], 1, "has not begun"),
            (["availability", "--month", "2026-11"], 1, "has not begun"),
            (["availability", "--month", "2026-9"], 2, "invalid --month"),
            (["availability", "2026-09"], 2, "--month"),
            (["availability"], 2, "needs --month"),
            (["quarterly", "2026Q3", "--month", "2026-09"], 2, "--month is for the availability"),
            (["weekly", "2026Q3"], 2, "unknown report"),
            ([], 2, "expected one of"),
            (["quarterly", "2026Q3", "--bogus"], 2, "unknown"),
        ]
        for args, code, text in cases:
            with self.subTest(args=args):
                self.assertIn(text, self.report(*args, code=code))
        err = self.report("quarterly", "2026Q3", code=2, fmt="pdf")
        self.assertIn("invalid --format", err)

    def test_read_access(self):
        """Reading needs group fieldwatch: with the group (here: the files'
        group, root) the reports work read-only; without it, a clear error."""
        sd = self.daemon.state_dir
        os.chmod(sd, 0o750)
        try:
            base = ["setpriv", "--reuid=65534", "--regid=65534", fwtest.CTL, "--config",
                    self.config, "--state-dir", sd, "--pretend-now", REPORT_NOW, "report",
                    "quarterly", "2026Q3"]
            r = subprocess.run(base[:3] + ["--clear-groups"] + base[3:], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("group fieldwatch", r.stderr)
            gid = os.stat(sd).st_gid
            r = subprocess.run(base[:3] + [f"--groups={gid}"] + base[3:], capture_output=True,
                               text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("# 作業実績報告書", r.stdout)
        finally:
            os.chmod(sd, 0o755)


if __name__ == "__main__":
    unittest.main(verbosity=2)
