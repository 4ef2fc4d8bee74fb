#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Events in the journal (SPEC §5): the driver `BUILD/tests/test-journal --emit`
sends one event of every type through daemon/journal.c and prints what it sent
as JSON; these tests read the entries back with journalctl and check every
field, PRIORITY and MESSAGE_ID against daemon/event.c, the times in contract
time (+09:00, while the driver runs with TZ=America/New_York), the message
catalog (every MESSAGE_ID, in English and Japanese, and `journalctl -x`
explaining a real entry), and the stderr fallback without a journald.

Needs root to start a journald when none runs (tests/journald.py) and, for the
no-socket cases, to hide the journal socket in a private mount namespace
(unshare -m); without those the tests concerned are skipped.

Run from the repository root: BUILD=build /usr/bin/python3 tests/test_journal.py
"""

import datetime
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
import journald  # noqa: E402

DRIVER = os.path.join(fwtest.BUILD, "tests", "test-journal")
CATALOG = os.path.join(fwtest.ROOT, "systemd", "fieldwatch.catalog")
EVENT_C = os.path.join(fwtest.ROOT, "daemon", "event.c")
JST = datetime.timezone(datetime.timedelta(hours=9))
LEVELS = ["LOG_EMERG", "LOG_ALERT", "LOG_CRIT", "LOG_ERR", "LOG_WARNING", "LOG_NOTICE",
          "LOG_INFO", "LOG_DEBUG"]
# Every field journal.c may send besides MESSAGE, PRIORITY, MESSAGE_ID, SYSLOG_IDENTIFIER.
FIELDWATCH_FIELDS = ("FIELDWATCH_EVENT", "FIELDWATCH_SITE", "FIELDWATCH_DEVICE",
                     "FIELDWATCH_FAULT_ID", "FIELDWATCH_KIND", "FIELDWATCH_RECEIVED_AT",
                     "FIELDWATCH_ONSITE_DUE", "FIELDWATCH_DUE", "FIELDWATCH_BY",
                     "FIELDWATCH_OS_USER")


def event_types():
    """{name: (MESSAGE_ID, priority)} from daemon/event.c, the one source."""
    with open(EVENT_C, encoding="utf-8") as f:
        src = f.read()
    found = re.findall(r'\[EVENT_\w+\]\s*=\s*\{\s*"(\w+)",\s*"([0-9a-f]{32})",\s*(LOG_\w+)', src)
    return {name: (mid, LEVELS.index(level)) for name, mid, level in found}


def iso(epoch):
    return datetime.datetime.fromtimestamp(epoch, JST).isoformat()


def message(ev):
    """MESSAGE: the text, prefixed with the device unless it starts with it."""
    if ev["device"] and not ev["text"].startswith(ev["device"] + ": "):
        return f"{ev['device']}: {ev['text']}"
    return ev["text"]


def expected_fields(ev, types):
    """The journal fields of a sent event: {field: value or None (absent)}."""
    mid, prio = types[ev["type"]]
    want = {
        "MESSAGE": message(ev), "PRIORITY": str(prio), "MESSAGE_ID": mid,
        "SYSLOG_IDENTIFIER": "fieldwatchd", "FIELDWATCH_EVENT": ev["type"],
        "FIELDWATCH_SITE": ev["site"] or None,
        "FIELDWATCH_DEVICE": ev["device"] or None,
        "FIELDWATCH_FAULT_ID": str(ev["fault_id"]) if ev["fault_id"] > 0 else None,
        "FIELDWATCH_KIND": ev["kind"] or None,
        "FIELDWATCH_RECEIVED_AT": iso(ev["received_at"]) if ev["received_at"] > 0 else None,
        "FIELDWATCH_ONSITE_DUE": iso(ev["onsite_due"]) if ev["onsite_due"] > 0 else None,
        # The due in force: the same instant under the name issue 13 gave it.
        "FIELDWATCH_DUE": iso(ev["onsite_due"]) if ev["onsite_due"] > 0 else None,
        "FIELDWATCH_BY": ev["by"] or None,
        "FIELDWATCH_OS_USER": ev["os_user"] or None,
    }
    return want


def expected_line(ev, types, stream=False):
    """The stderr line of a sent event (without the newline)."""
    keys = [("site", ev["site"] or None),
            ("fault", str(ev["fault_id"]) if ev["fault_id"] > 0 else None),
            ("kind", ev["kind"] or None),
            ("received_at", iso(ev["received_at"]) if ev["received_at"] > 0 else None),
            ("onsite_due", iso(ev["onsite_due"]) if ev["onsite_due"] > 0 else None)]
    extra = " ".join(f"{k}={v}" for k, v in keys if v is not None)
    line = f"fieldwatchd: {ev['type']} {message(ev)}" + (f" [{extra}]" if extra else "")
    return (f"<{types[ev['type']][1]}>" if stream else "") + line


def run_driver(mode=None, env=None, argv_prefix=()):
    """Runs the driver; returns (pid, [sent events], stderr lines). Bounded."""
    if not os.access(DRIVER, os.X_OK):
        raise unittest.SkipTest(f"{DRIVER} is not built (make check builds it)")
    e = dict(os.environ, TZ="America/New_York")
    for k in ("JOURNAL_STREAM", "FIELDWATCH_JOURNAL"):
        e.pop(k, None)
    e.update(env or {})
    argv = list(argv_prefix) + [DRIVER, "--emit"] + ([mode] if mode else [])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                            text=True)
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(argv)}: exit {proc.returncode}\n{out}\n{err}")
    return proc.pid, [json.loads(line) for line in out.splitlines()], err.splitlines()


def catalog_root(tmp):
    """A root with the catalog installed and indexed (as the package does)."""
    root = os.path.join(tmp, "root")
    d = os.path.join(root, "usr", "lib", "systemd", "catalog")
    os.makedirs(d, exist_ok=True)
    shutil.copy(CATALOG, d)
    r = journald.Journal.journalctl("--update-catalog", root=root)
    if r.returncode != 0:
        raise AssertionError(f"journalctl --update-catalog: {r.stderr}")
    return root


def catalog_database(root):
    """The indexed entries of root's catalog database: [(id, language)]."""
    with open(os.path.join(root, "var", "lib", "systemd", "catalog", "database"), "rb") as f:
        data = f.read()
    sig, _, _, header_size, n_items, item_size = struct.unpack_from("<8sIIQQQ", data)
    assert sig == b"RHHHKSLP", sig
    items = []
    for i in range(n_items):
        raw_id, lang = struct.unpack_from("<16s32s", data, header_size + i * item_size)
        items.append((raw_id.hex(), lang.rstrip(b"\0").decode()))
    return items


def catalog_entries():
    """The catalog file parsed: {(id, language): (headers dict, body)}."""
    with open(CATALOG, encoding="utf-8") as f:
        text = f.read()
    entries = {}
    for chunk in re.split(r"^-- ", text, flags=re.M)[1:]:
        head, _, rest = chunk.partition("\n")
        parts = head.split()
        key = (parts[0], parts[1] if len(parts) > 1 else "")
        headers, _, body = rest.partition("\n\n")
        fields = {}
        for line in headers.splitlines():
            k, _, v = line.partition(": ")
            fields.setdefault(k, []).append(v)
        assert key not in entries, f"{key} twice"
        entries[key] = (fields, body.strip())
    return entries


def unshare_works():
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    try:
        return subprocess.run(["unshare", "-m", "true"], capture_output=True,
                              timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Native(unittest.TestCase):
    """A journald answers: every event goes there, natively."""

    @classmethod
    def setUpClass(cls):
        cls.types = event_types()
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-journal-")
        cls.journal = journald.Journal()
        cls.journal.__enter__()
        try:
            cls.cursor = cls.journal.cursor()
            cls.pid, cls.sent, cls.stderr = run_driver("native")
            cls.entries = cls.journal.wait_entries(len(cls.sent), since=cls.cursor,
                                                   _PID=str(cls.pid))
        except BaseException:
            cls.journal.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.journal.close()
        if not os.environ.get("KEEP_TEST_DIRS"):
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_every_type_sent_once(self):
        self.assertEqual(sorted(e["type"] for e in self.sent), sorted(self.types))
        self.assertEqual([e["result"] for e in self.sent], [1] * len(self.sent))
        self.assertEqual(self.stderr, [])
        self.assertEqual(sorted(e["FIELDWATCH_EVENT"] for e in self.entries),
                         sorted(self.types))

    def test_fields(self):
        by_type = {e["FIELDWATCH_EVENT"]: e for e in self.entries}
        for ev in self.sent:
            entry = by_type[ev["type"]]
            with self.subTest(ev["type"]):
                for field, value in expected_fields(ev, self.types).items():
                    self.assertEqual(entry.get(field), value, field)
                self.assertEqual(entry["_TRANSPORT"], "journal")
                # Only our fields (and no CODE_FILE etc. of a wrapper).
                ours = {k for k in entry if not k.startswith("_")}
                self.assertLessEqual(ours, {"MESSAGE", "PRIORITY", "MESSAGE_ID",
                                            "SYSLOG_IDENTIFIER", *FIELDWATCH_FIELDS})

    def test_times_in_contract_zone(self):
        raised = next(e for e in self.entries if e["FIELDWATCH_EVENT"] == "fault_raised")
        self.assertEqual(raised["FIELDWATCH_RECEIVED_AT"], "2026-11-25T14:00:00+09:00")
        self.assertEqual(raised["FIELDWATCH_ONSITE_DUE"], "2026-11-25T16:00:00+09:00")
        self.assertEqual(raised["PRIORITY"], "3")
        self.assertEqual(raised["MESSAGE"],
                         "05-camera: fault 100 fault_raised: camera_down: connection refused")
        cleared = next(e for e in self.entries if e["FIELDWATCH_EVENT"] == "fault_cleared")
        self.assertEqual(cleared["MESSAGE"], "05-camera: fault cleared: camera_down")
        restarted = next(e for e in self.entries if e["FIELDWATCH_EVENT"] == "device_restarted")
        for field in ("FIELDWATCH_SITE", "FIELDWATCH_FAULT_ID", "FIELDWATCH_KIND",
                      "FIELDWATCH_RECEIVED_AT", "FIELDWATCH_ONSITE_DUE", "FIELDWATCH_DUE"):
            self.assertNotIn(field, restarted)

    def test_match_on_fields(self):
        """What an operator types: journalctl FIELDWATCH_FAULT_ID=107 MESSAGE_ID=..."""
        breach = next(e for e in self.sent if e["type"] == "sla_breach")
        got = self.journal.entries(since=self.cursor, _PID=str(self.pid),
                                   MESSAGE_ID=self.types["sla_breach"][0],
                                   FIELDWATCH_FAULT_ID=str(breach["fault_id"]))
        self.assertEqual([e["FIELDWATCH_EVENT"] for e in got], ["sla_breach"])
        got = self.journal.entries(since=self.cursor, _PID=str(self.pid), PRIORITY="2")
        self.assertEqual([e["FIELDWATCH_EVENT"] for e in got], ["sla_breach"])

    def test_auto_mode_finds_journald(self):
        cursor = self.journal.cursor()
        pid, sent, err = run_driver()           # no mode: auto
        self.assertEqual([e["result"] for e in sent], [1] * len(sent))
        self.assertEqual(err, [])
        self.journal.wait_entries(len(sent), since=cursor, _PID=str(pid))

    def test_journalctl_x_explains_an_entry(self):
        """journalctl -x shows the catalog's explanation with the entry's fields
        filled in. sd_journal_get_catalog() reads the host's database only
        (/var/lib/systemd/catalog/database, --root does not apply to -x), so
        ours is bind-mounted over it in a private mount namespace."""
        if not unshare_works() or not os.path.isdir("/var/lib/systemd/catalog"):
            self.skipTest("needs root, unshare -m and /var/lib/systemd/catalog")
        root = catalog_root(os.path.join(self.tmp, "x"))
        breach = next(e for e in self.sent if e["type"] == "sla_breach")
        script = 'set -e; mount --bind "$1" /var/lib/systemd/catalog; shift; exec "$@"'
        r = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh",
                            os.path.join(root, "var", "lib", "systemd", "catalog"),
                            journald.JOURNALCTL, "--no-pager", "-q", "-m", "-x", "-o", "short",
                            f"_PID={self.pid}", f"MESSAGE_ID={self.types['sla_breach'][0]}"],
                           capture_output=True, text=True, timeout=30,
                           env=dict(os.environ, LC_ALL="C.UTF-8", SYSTEMD_COLORS="0"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("05-camera: fault 107 sla_breach: camera_down: connection refused",
                      r.stdout)
        self.assertIn(f"Subject: Fault {breach['fault_id']}: onsite due "
                      f"2026-11-25T16:00:00+09:00 passed", r.stdout)
        self.assertIn("Defined-By: fieldwatch", r.stdout)
        self.assertIn(f"fieldwatchctl onsite {breach['fault_id']} --by NAME", r.stdout)
        # Every field was substituted (a missing one shows as its name).
        self.assertNotIn("@", r.stdout)
        self.assertNotIn("FIELDWATCH_", r.stdout)


class Helper(unittest.TestCase):
    """tests/journald.py: users share one journald; leaving stops nothing in use."""

    def test_nested_users(self):
        with journald.Journal() as outer:
            self.assertTrue(journald.socket_answers())
            with journald.Journal() as inner:
                self.assertFalse(inner.started)
            # The inner user left; the outer one still holds the journald.
            self.assertTrue(journald.socket_answers())
            cursor = outer.cursor()
            pid, sent, _ = run_driver("native")
            self.assertEqual(len(outer.wait_entries(len(sent), since=cursor, _PID=str(pid))),
                             len(sent))
            self.assertEqual(outer.entries(since=cursor, _PID=str(pid), FIELDWATCH_EVENT="nope"),
                             [])


class Catalog(unittest.TestCase):
    """systemd/fieldwatch.catalog: every MESSAGE_ID of daemon/event.c, in
    English and Japanese, accepted and indexed by journalctl."""

    @classmethod
    def setUpClass(cls):
        cls.types = event_types()
        cls.ids = {mid for mid, _ in cls.types.values()}
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-catalog-")
        cls.root = catalog_root(cls.tmp)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_event_c_parsed(self):
        self.assertGreaterEqual(len(self.types), 10)
        self.assertEqual(len(self.ids), len(self.types), "MESSAGE_IDs must differ")

    def test_list_catalog_has_every_id(self):
        r = journald.Journal.journalctl("--list-catalog", root=self.root)
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = {line.split()[0] for line in r.stdout.splitlines() if line.strip()}
        self.assertEqual(listed, self.ids)
        for line in r.stdout.splitlines():
            self.assertRegex(line, r"^[0-9a-f]{32} fieldwatch: \S")

    def test_database_has_english_and_japanese(self):
        items = catalog_database(self.root)
        self.assertEqual(sorted(items), sorted((i, lang) for i in self.ids for lang in ("", "ja")))

    def test_dump_catalog_english(self):
        for name, (mid, _) in self.types.items():
            with self.subTest(name):
                r = journald.Journal.journalctl("--dump-catalog", mid, root=self.root)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith(f"-- {mid}\nSubject: "), r.stdout)
                self.assertIn("Defined-By: fieldwatch\n", r.stdout)
                self.assertIn("What to do", r.stdout)
                self.assertTrue(r.stdout.isascii(), "the default entry is English")

    def test_entries_well_formed(self):
        entries = catalog_entries()
        self.assertEqual(set(entries), {(i, lang) for i in self.ids for lang in ("", "ja")})
        allowed = {"MESSAGE", *FIELDWATCH_FIELDS}
        for (mid, lang), (headers, body) in entries.items():
            with self.subTest(id=mid, lang=lang):
                self.assertEqual(len(headers["Subject"]), 1)
                self.assertEqual(headers["Defined-By"], ["fieldwatch"])
                self.assertEqual(headers["Support"], ["man:fieldwatchd(8)"])
                self.assertTrue(headers["Documentation"])
                self.assertGreaterEqual(len(body.splitlines()), 4)
                self.assertIn("What to do:" if lang == "" else "対応:", body)
                if lang == "ja":
                    self.assertRegex(headers["Subject"][0] + body, r"[\u3040-\u30ff\u4e00-\u9fff]")
                # A misspelt field would be shown literally by journalctl -x.
                used = set(re.findall(r"@([A-Z0-9_]+)@", headers["Subject"][0] + body))
                self.assertLessEqual(used, allowed)

    def test_japanese_under_a_japanese_locale(self):
        """journalctl picks the ja entries under LANG=ja_JP.UTF-8 (a locale
        compiled for the test: Debian's `locales` package has the sources)."""
        if not (os.path.exists("/usr/share/i18n/locales/ja_JP") and shutil.which("localedef")):
            self.skipTest("no locale sources for ja_JP (package locales)")
        locpath = os.path.join(self.tmp, "locale")
        os.makedirs(locpath, exist_ok=True)
        r = subprocess.run(["localedef", "-i", "ja_JP", "-f", "UTF-8",
                            os.path.join(locpath, "ja_JP.UTF-8")],
                           capture_output=True, text=True, timeout=120)
        if r.returncode not in (0, 1):     # 1: warnings only
            self.skipTest(f"localedef failed: {r.stderr}")
        env = dict(os.environ, LOCPATH=locpath, LC_ALL="ja_JP.UTF-8")
        for name, (mid, _) in self.types.items():
            with self.subTest(name):
                r = subprocess.run([journald.JOURNALCTL, "--no-pager", f"--root={self.root}",
                                    "--dump-catalog", mid], capture_output=True, text=True,
                                   env=env, timeout=20)
                self.assertEqual(r.returncode, 0, r.stderr)
                subject = r.stdout.splitlines()[1]
                self.assertRegex(subject, r"^Subject: .*[\u3040-\u30ff\u4e00-\u9fff]")
                self.assertIn("対応:", r.stdout)


class Fallback(unittest.TestCase):
    """No journald: the same events, one line each, on stderr."""

    @classmethod
    def setUpClass(cls):
        cls.types = event_types()

    def check_stderr(self, sent, err, stream=False, warning=None):
        self.assertEqual([e["result"] for e in sent], [0] * len(sent))
        want = [expected_line(ev, self.types, stream) for ev in sent]
        if warning:
            self.assertRegex(err[0], r"^journal: journald refused an event, events go to "
                                     r"stderr until it answers again: " + warning + "$")
            err = err[1:]
        self.assertEqual(err, want)

    def test_forced_by_environment(self):
        _, sent, err = run_driver(env={"FIELDWATCH_JOURNAL": "stderr"})
        self.check_stderr(sent, err)
        self.assertIn("fieldwatchd: fault_raised 05-camera: fault 100 fault_raised: camera_down: "
                      "connection refused [site=05 fault=100 kind=camera_down "
                      "received_at=2026-11-25T14:00:00+09:00 "
                      "onsite_due=2026-11-25T16:00:00+09:00]", err)
        self.assertIn("fieldwatchd: device_restarted vpn: restarted (its uptime went back)", err)

    def test_priority_prefix_under_journal_stream(self):
        _, sent, err = run_driver("stderr", env={"JOURNAL_STREAM": "8:1234"})
        self.check_stderr(sent, err, stream=True)
        self.assertTrue(any(line.startswith("<2>fieldwatchd: sla_breach ") for line in err))

    def run_hidden(self, mode, stale):
        """The driver in a mount namespace whose /run/systemd/journal is an empty
        tmpfs (stale: holding a socket file nobody listens on)."""
        if not unshare_works():
            self.skipTest("needs root and unshare -m (a private mount namespace)")
        os.makedirs("/run/systemd/journal", exist_ok=True)
        script = ("set -e; mount -t tmpfs -o size=1m,mode=755 tmpfs /run/systemd/journal; "
                  'if [ "$STALE" = 1 ]; then "$PY" -c "import socket; '
                  "s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); "
                  "s.bind('/run/systemd/journal/socket'); s.close()\"; "
                  'test -S /run/systemd/journal/socket; fi; exec "$@"')
        return run_driver(mode, env={"STALE": "1" if stale else "0", "PY": sys.executable},
                          argv_prefix=["unshare", "-m", "sh", "-c", script, "sh"])

    def test_auto_without_socket(self):
        _, sent, err = self.run_hidden("auto", stale=False)
        self.check_stderr(sent, err)

    def test_auto_with_stale_socket(self):
        _, sent, err = self.run_hidden("auto", stale=True)
        self.check_stderr(sent, err)

    def test_native_without_socket(self):
        """A send that fails is not lost: stderr, with one warning."""
        _, sent, err = self.run_hidden("native", stale=False)
        self.check_stderr(sent, err, warning="No such file or directory")

    def test_native_with_stale_socket(self):
        _, sent, err = self.run_hidden("native", stale=True)
        self.check_stderr(sent, err, warning="Connection refused")

    def test_journald_appears(self):
        """AUTO probes again while journald is away: once a socket answers
        (here a stand-in bound in a private mount namespace), events go there
        in journald's native datagram format."""
        if not unshare_works():
            self.skipTest("needs root and unshare -m (a private mount namespace)")
        os.makedirs("/run/systemd/journal", exist_ok=True)
        script = r"""
import json, os, socket, subprocess, sys, time
subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs",
                "/run/systemd/journal"], check=True)
n = int(sys.argv[1])
drv = subprocess.Popen(sys.argv[2:], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
# The stand-in appears once the first round went to stderr (not after a
# fixed second: a slow start under load would meet the socket already).
first = []
deadline = time.monotonic() + 40
while len(first) < n and time.monotonic() < deadline and drv.poll() is None:
    line = drv.stderr.readline()
    if line:
        first.append(line)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/run/systemd/journal/socket")
s.settimeout(0.2)
got = []
deadline = time.monotonic() + 40
while time.monotonic() < deadline:
    try:
        got.append(s.recv(1 << 16).decode())
    except socket.timeout:
        if drv.poll() is not None:
            break
out, err = drv.communicate(timeout=10)
print(json.dumps({"rc": drv.returncode, "out": out, "err": "".join(first) + err, "got": got}))
"""
        if not os.access(DRIVER, os.X_OK):
            self.skipTest(f"{DRIVER} is not built (make check builds it)")
        env = dict(os.environ, TZ="America/New_York")
        env.pop("FIELDWATCH_JOURNAL", None)
        env.pop("JOURNAL_STREAM", None)
        r = subprocess.run(["unshare", "-m", sys.executable, "-c", script,
                            str(len(self.types)), DRIVER, "--emit", "auto", "--again-after", "6"],
                           capture_output=True, text=True, timeout=90, env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        res = json.loads(r.stdout)
        self.assertEqual(res["rc"], 0, res["err"])
        sent = [json.loads(line) for line in res["out"].splitlines()]
        n = len(self.types)
        self.assertEqual([e["result"] for e in sent], [0] * n + [1] * n)
        err = res["err"].splitlines()
        self.assertEqual(err[:n], [expected_line(ev, self.types) for ev in sent[:n]])
        self.assertEqual(err[n:], ["journal: journald answers now, events go there"])
        self.assertEqual(len(res["got"]), n)
        for ev, datagram in zip(sent[n:], res["got"]):
            fields = dict(line.split("=", 1) for line in datagram.splitlines())
            want = {k: v for k, v in expected_fields(ev, self.types).items() if v is not None}
            self.assertEqual(fields, want)


if __name__ == "__main__":
    unittest.main(verbosity=2)
