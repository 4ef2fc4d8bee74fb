#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The control socket (issue 12): actions reach fieldwatchd over
$RUNTIME_DIRECTORY/control, and the record names the caller the kernel
names. With real throwaway accounts: two operators in fieldwatch-ops and an
outsider. Each is recorded under their own uid; one cannot make an action
appear as another's (a forged identity in a raw body is refused); the
outsider cannot connect; 1,000 actions from two operators at once are all
recorded exactly once under the right uid; an oversized body is refused; a
leftover spool directory is ignored with one log line; with the daemon
stopped nothing is recorded and the CLI says why.

Run from the repository root (as root: it adds users):
    BUILD=build /usr/bin/python3 tests/test_control.py
"""

import concurrent.futures
import json
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402

NOW = "2026-11-25T16:30:00"           # the daemon's pretended clock (contract time)
WORK = ["--start", "2026-11-25T10:00", "--end", "2026-11-25T11:30"]
N_EACH = 500                          # actions per operator in the concurrency test


class ControlSocket(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if os.geteuid() != 0:
            raise unittest.SkipTest("needs root (makes throwaway users)")
        cls.accounts = fwtest.Accounts()
        cls.addClassCleanup(cls.accounts.remove)
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-control-")
        cls.addClassCleanup(lambda: None if os.environ.get("KEEP_TEST_DIRS")
                            else shutil.rmtree(cls.tmp, ignore_errors=True))
        os.chmod(cls.tmp, 0o755)      # the configuration is readable by everyone
        ops = cls.accounts.ops_group()
        cls.a = cls.accounts.user("a", [ops])
        cls.b = cls.accounts.user("b", [ops])
        cls.outsider = cls.accounts.user("x")
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"),
                                       fwtest.fast_probes)
        os.chmod(cls.config, 0o644)
        # A spool of an earlier version, with an action in it: never read.
        spool = os.path.join(cls.tmp, "state", "actions")
        os.makedirs(spool)
        with open(os.path.join(spool, "old.json"), "w") as f:
            json.dump({"type": "work-add", "by": "spool", "os_user": "root"}, f)
        # No simulated field: the devices are simply unreachable, which is
        # all the actions here need.
        cls.daemon = fwtest.Daemon(cls.tmp, cls.config, extra_args=["--pretend-now", NOW])
        cls.addClassCleanup(cls.daemon.stop)
        cls.daemon.messages("READY=1")
        cls.sock = os.path.join(cls.daemon.runtime_dir, "control")

    def ctl(self, user, *args):
        argv = [fwtest.CTL, "--config", self.config, "--state-dir", self.daemon.state_dir,
                "--runtime-dir", self.daemon.runtime_dir, *args]
        if user:
            argv = fwtest.as_user(user, argv)
        return subprocess.run(argv, capture_output=True, text=True, timeout=90)

    def work(self, user, by, notes):
        return self.ctl(user, "work", "add", *WORK, "--by", by, "--title", "点検",
                        "--content", "外観", "--notes", notes)

    def curl(self, user, body, path="/v1/actions", *extra):
        argv = fwtest.as_user(user, ["curl", "-sS", "--max-time", "30", "--unix-socket",
                                     self.sock, "-H", "Content-Type: application/json",
                                     "-o", "-", "-w", "\n%{http_code}", *extra,
                                     "--data-binary", "@-", f"http://localhost{path}"])
        r = subprocess.run(argv, input=body, capture_output=True, timeout=60)
        out = r.stdout.decode("utf-8", "replace")
        answer, _, code = out.rpartition("\n")
        return int(code or 0), answer, r.stderr.decode("utf-8", "replace")

    def db(self, sql, *params):
        con = sqlite3.connect(f"file:{self.daemon.state_dir}/fieldwatch.db?mode=ro", uri=True)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()

    def raw_work(self, by, notes, **extra):
        body = {"type": "work-add", "fault": 0, "by": by, "requested_at": 0,
                "at": 1795568400, "end_at": 1795573800,  # 2026-11-25 10:00-11:30 +09:00
                "title": "点検", "content": "外観", "note": notes}
        body.update(extra)
        return json.dumps(body).encode()

    # -----------------------------------------------------------------------

    def test_1_socket_and_spool(self):
        st = os.stat(self.sock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        import grp
        self.assertEqual(grp.getgrgid(st.st_gid).gr_name, fwtest.OPS_GROUP)
        log = self.daemon.log()
        self.assertEqual(log.count("Ignoring "), 1, log)
        self.assertIn(f"Ignoring {self.daemon.state_dir}/actions: the action spool", log)
        # Its action was not taken.
        self.assertEqual(self.db("SELECT COUNT(*) FROM work WHERE person = 'spool'"), [(0,)])
        self.assertTrue(os.path.exists(os.path.join(self.daemon.state_dir, "actions",
                                                    "old.json")))

    def test_2_each_operator_is_recorded_as_themselves(self):
        for user in (self.a, self.b):
            r = self.work(user, f"name of {user}", f"identity {user}")
            self.assertEqual(r.returncode, 0, r.stderr)
        rows = self.db("SELECT person, os_user FROM work WHERE notes LIKE 'identity %'"
                       " ORDER BY id")
        self.assertEqual(rows, [
            (f"name of {self.a}", f"{self.a} (uid {self.accounts.uid(self.a)})"),
            (f"name of {self.b}", f"{self.b} (uid {self.accounts.uid(self.b)})"),
        ])
        # --by is a claim, recorded as such beside the real user: B may write
        # A's name, and the record still says it was B.
        r = self.work(self.b, self.a, "claims to be a")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.db("SELECT person, os_user FROM work WHERE notes = ?",
                                 "claims to be a"),
                         [(self.a, f"{self.b} (uid {self.accounts.uid(self.b)})")])

    def test_3_a_forged_identity_is_refused(self):
        a_uid = self.accounts.uid(self.a)
        for forged in ({"os_user": f"{self.a} (uid {a_uid})"}, {"uid": a_uid},
                       {"pid": 1}):
            with self.subTest(forged=forged):
                code, answer, err = self.curl(self.b, self.raw_work("x", "forged", **forged))
                self.assertEqual(code, 400, answer + err)
                self.assertIn("may not be given", json.loads(answer)["error"])
        self.assertEqual(self.db("SELECT COUNT(*) FROM work WHERE notes = 'forged'"), [(0,)])
        # The same body without the forgery is recorded as B, who sent it.
        code, answer, err = self.curl(self.b, self.raw_work("x", "raw from b"))
        self.assertEqual(code, 200, answer + err)
        self.assertTrue(json.loads(answer)["ok"])
        self.assertEqual(self.db("SELECT os_user FROM work WHERE notes = 'raw from b'"),
                         [(f"{self.b} (uid {self.accounts.uid(self.b)})",)])

    def test_4_an_outsider_cannot_connect(self):
        before = self.db("SELECT COUNT(*) FROM work")
        r = self.work(self.outsider, "x", "outsider")
        self.assertEqual(r.returncode, 1)
        self.assertIn("is for group fieldwatch-ops", r.stderr)
        self.assertIn("nothing was recorded", r.stderr)
        code, _, err = self.curl(self.outsider, self.raw_work("x", "outsider"))
        self.assertEqual(code, 0)
        self.assertIn("Couldn't connect", err)
        # What the kernel says to the outsider's connect(): EACCES.
        probe = ("import socket, sys\n"
                 "s = socket.socket(socket.AF_UNIX)\n"
                 "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n"
                 "    print('EACCES')\nelse:\n    print('connected')\n")
        r = subprocess.run(fwtest.as_user(self.outsider, [sys.executable, "-c", probe,
                                                          self.sock]),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout.strip(), "EACCES", r.stderr)
        # An operator's connect() succeeds, for comparison.
        r = subprocess.run(fwtest.as_user(self.a, [sys.executable, "-c", probe, self.sock]),
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.stdout.strip(), "connected", r.stderr)
        self.assertEqual(self.db("SELECT COUNT(*) FROM work"), before)

    def test_5_bad_requests(self):
        before = self.db("SELECT COUNT(*) FROM work")
        # Over the body cap (64 KiB): refused before it is read.
        # Sent as an HTTP/1.1 client should send a large body (Expect:
        # 100-continue): the 413 comes before any of it. Without it the answer
        # races the upload, and curl may see the closed socket first (EPIPE).
        big = self.raw_work("x", "big", content="y" * (70 * 1024))
        code, answer, err = self.curl(self.a, big, "/v1/actions", "-H", "Expect: 100-continue",
                                      "--expect100-timeout", "20")
        self.assertEqual(code, 413, answer + err)
        self.assertIn("exceeds 65536 bytes", answer)
        for body, want in ((b"{not json", 400), (b'{"type": "nonsense"}', 400),
                           (self.raw_work("x" * 65, "long name"), 400),
                           # Parts are never dropped silently: too many, or not text.
                           (self.raw_work("x", "parts", parts=["P"] * 17), 400),
                           (self.raw_work("x", "parts", parts=["P", 7]), 400)):
            with self.subTest(body=body[:30]):
                code, answer, err = self.curl(self.a, body)
                self.assertEqual(code, want, answer + err)
                self.assertFalse(json.loads(answer)["ok"])
        code, answer, _ = self.curl(self.a, b"", "/v1/nothing")
        self.assertEqual(code, 404)
        code, answer, _ = self.curl(self.a, b"", "/v1/actions", "-X", "GET")
        self.assertEqual(code, 405)
        # A refusal by the state: no such fault (404), not acknowledgeable.
        code, answer, _ = self.curl(self.a, json.dumps({
            "type": "ack", "fault": 99999, "by": "x", "requested_at": 0, "at": 0,
            "end_at": 0}).encode())
        self.assertEqual(code, 404, answer)
        self.assertIn("no fault 99999", answer)
        self.assertEqual(self.db("SELECT COUNT(*) FROM work"), before)
        # Still serving.
        r = self.work(self.a, "x", "after the bad ones")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_6_a_thousand_actions_from_two_operators(self):
        jobs = [(u, f"bulk {u} {i}") for i in range(N_EACH) for u in (self.a, self.b)]
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            results = list(pool.map(lambda j: self.work(j[0], "bulk", j[1]), jobs))
        failed = [(j, r.stderr) for j, r in zip(jobs, results) if r.returncode != 0]
        self.assertEqual(failed, [])
        rows = self.db("SELECT notes, os_user FROM work WHERE person = 'bulk'")
        self.assertEqual(len(rows), 2 * N_EACH)
        self.assertEqual(len({n for n, _ in rows}), 2 * N_EACH)   # each exactly once
        for notes, os_user in rows:
            user = notes.split()[1]
            self.assertEqual(os_user, f"{user} (uid {self.accounts.uid(user)})")

    def test_9_daemon_stopped(self):
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log()[-2000:])
        self.assertFalse(os.path.exists(self.sock))   # its socket went with it
        before = self.db("SELECT COUNT(*) FROM work")
        r = self.work(self.a, "x", "while stopped")
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"fieldwatchd is not running (no control socket at {self.sock}): "
                      "nothing was recorded", r.stderr)
        # A stale socket file (a daemon killed hard): the same, in other words.
        import socket
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(self.sock)
        s.close()
        os.chmod(self.sock, 0o666)
        r = self.work(self.a, "x", "while stopped")
        self.assertEqual(r.returncode, 1)
        self.assertIn("fieldwatchd is not running (nobody listens", r.stderr)
        self.assertEqual(self.db("SELECT COUNT(*) FROM work"), before)
        os.unlink(self.sock)


if __name__ == "__main__":
    unittest.main(verbosity=2)
