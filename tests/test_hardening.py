#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The daemon's surroundings, hardened (issue 12, part 6):

- a credential file that group or others may read is refused, with its path
  and mode in the message, and the daemon does not start on it;
- fieldwatchd makes itself non-dumpable at start: run as an unprivileged
  user, its /proc/PID files belong to root, not to that user (so the
  user's other processes cannot read its memory or environment);
- probes.source_address: the routers' SNMP datagrams and the cameras' TCP
  connections come from that address; SNMP request ids are random (not a
  counter) — seen by a UDP socket and a TCP listener standing in for a
  router and a camera;
- work outside the contract period (a raw action dated 1970 too) is
  refused, and nothing is recorded.

Run from the repository root:
  FW_LAB_NET=8 BUILD=build /usr/bin/python3 tests/test_hardening.py
"""

import os
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402

NOBODY = 65534


def ber_length(data, i):
    n = data[i]
    if n < 0x80:
        return n, i + 1
    k = n & 0x7F
    return int.from_bytes(data[i + 1:i + 1 + k], "big"), i + 1 + k


def ber_tlv(data, i):
    tag = data[i]
    length, j = ber_length(data, i + 1)
    return tag, data[j:j + length], j + length


def snmp_v2c_reqid(data):
    """The request id of a v2c GET (SEQUENCE { version, community, PDU { id ... } })."""
    tag, msg, _ = ber_tlv(data, 0)
    if tag != 0x30:
        return None
    _, _, i = ber_tlv(msg, 0)          # version
    _, community, i = ber_tlv(msg, i)  # community
    tag, pdu, _ = ber_tlv(msg, i)
    if tag != 0xA0:                    # GetRequest-PDU
        return None
    tag, rid, _ = ber_tlv(pdu, 0)
    return int.from_bytes(rid, "big", signed=True) if tag == 0x02 else None


class Hardening(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fieldwatch-hardening-")
        os.chmod(self.tmp, 0o755)
        self.daemons = []

    def tearDown(self):
        for d in self.daemons:
            d.stop()
        if not os.environ.get("KEEP_TEST_DIRS"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, edit=None):
        def both(data):
            fwtest.fast_probes(data)
            if edit:
                edit(data)
        return fwtest.lab_config(os.path.join(self.tmp, "fieldwatch.yaml"), both)

    def credentials(self, owner=None):
        path = fwtest.private_credentials(os.path.join(self.tmp, "credentials"))
        if owner is not None:
            os.chown(path, owner, owner)
            for name in os.listdir(path):
                os.chown(os.path.join(path, name), owner, owner)
        return path

    def test_a_credential_others_may_read_is_refused(self):
        creds = self.credentials()
        camera = os.path.join(creds, "camera")
        os.chmod(camera, 0o644)
        d = fwtest.Daemon(self.tmp, self.config(), credentials=creds)
        self.daemons.append(d)
        try:
            rc = d.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.fail("fieldwatchd started on a 0644 credential: " + d.log()[-2000:])
        self.assertNotEqual(rc, 0)
        log = d.log()
        self.assertIn(f"Refusing credential {camera}: mode 0644", log)
        self.assertIn("make it 0600", log)
        with open(camera, encoding="utf-8") as f:
            secret = f.read().strip()
        self.assertNotIn(secret, log)
        # 0600 again: it starts.
        os.chmod(camera, 0o600)
        d2 = fwtest.Daemon(self.tmp, self.config(), credentials=creds)
        self.daemons.append(d2)
        d2.messages("READY=1", timeout=20)

    def test_b_the_daemon_is_not_dumpable(self):
        creds = self.credentials(owner=NOBODY)
        os.chmod(self.tmp, 0o777)
        state = os.path.join(self.tmp, "state")
        os.makedirs(state)
        os.chown(state, NOBODY, NOBODY)
        d = fwtest.Daemon(self.tmp, self.config(), credentials=creds,
                          wrapper=("setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}",
                                   "--clear-groups"))
        self.daemons.append(d)
        # Its READY=1 cannot reach our root-owned notify socket: read its log.
        fwtest.wait_for(lambda: "watching 27 sites" in d.log(), 60, what="the daemon up")
        pid = d.proc.pid
        # setpriv execs fieldwatchd in place: the same pid.
        with open(f"/proc/{pid}/status", encoding="utf-8") as f:
            uids = [ln for ln in f if ln.startswith("Uid:")][0].split()[1:]
        self.assertEqual(uids, [str(NOBODY)] * 4)
        for name in ("environ", "mem", "maps"):
            st = os.stat(f"/proc/{pid}/{name}")
            self.assertEqual((st.st_uid, st.st_gid), (0, 0),
                             f"/proc/{pid}/{name} belongs to {st.st_uid}: dumpable")

    def test_c_source_address_and_random_request_ids(self):
        source = "127.0.0.77"
        agent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        agent.bind(("127.0.0.1", 0))
        agent.settimeout(0.2)
        camera = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        camera.bind(("127.0.0.1", 0))
        camera.listen(16)
        camera.settimeout(0.2)
        seen = {"udp": [], "tcp": []}
        stop = threading.Event()

        def serve():
            while not stop.is_set():
                try:
                    data, peer = agent.recvfrom(4096)
                    seen["udp"].append((peer[0], snmp_v2c_reqid(data)))
                except socket.timeout:
                    pass
                try:
                    conn, peer = camera.accept()
                    seen["tcp"].append(peer[0])
                    conn.close()  # no answer: the camera is down, which is fine here
                except socket.timeout:
                    pass
        t = threading.Thread(target=serve, daemon=True)
        t.start()

        def edit(data):
            data["probes"]["source_address"] = source
            site = data["sites"][0]
            site["router"].update(address="127.0.0.1", port=agent.getsockname()[1])
            site["camera"].update(address="127.0.0.1", port=camera.getsockname()[1])
        try:
            d = fwtest.Daemon(self.tmp, self.config(edit))
            self.daemons.append(d)
            d.messages("READY=1", timeout=20)
            fwtest.wait_for(lambda: len(seen["udp"]) >= 12 and seen["tcp"], 30,
                            what="12 SNMP requests and a camera connection")
        finally:
            stop.set()
            t.join(5)
            agent.close()
            camera.close()
        self.assertEqual({a for a, _ in seen["udp"]}, {source}, seen["udp"])
        self.assertEqual(set(seen["tcp"]), {source}, seen["tcp"])
        ids = [i for _, i in seen["udp"]]
        self.assertNotIn(None, ids)
        self.assertTrue(all(0 < i < 2 ** 30 for i in ids), ids)
        self.assertEqual(len(set(ids)), len(ids), ids)  # retries=0: every GET a new id
        steps = [b - a for a, b in zip(ids, ids[1:])]
        # A counter steps by one; random ids jump by about 2^29 on average.
        self.assertGreater(sum(abs(s) > 2 ** 20 for s in steps), len(steps) // 2, ids)

    def test_d_source_address_not_on_this_machine(self):
        d = fwtest.Daemon(self.tmp, self.config(
            lambda data: data["probes"].update(source_address="192.0.2.99")))
        self.daemons.append(d)
        try:
            rc = d.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.fail("fieldwatchd started with a source address it cannot bind")
        self.assertNotEqual(rc, 0)
        self.assertIn("from 192.0.2.99", d.log())

    def test_e_work_outside_the_contract_is_refused(self):
        config = self.config()
        d = fwtest.Daemon(self.tmp, config)
        self.daemons.append(d)
        d.messages("READY=1", timeout=20)
        for start, end in (("1970-01-02T10:00", "1970-01-02T11:00"),
                           ("2025-11-30T10:00", "2025-12-01T11:00"),
                           ("2031-11-30T23:00", "2031-12-01T01:00")):
            with self.subTest(start=start):
                r = fwtest.ctl("--pretend-now", "2031-12-02T12:00:00+09:00", "work", "add",
                               "--start", start, "--end", end, "--by", "x", "--title", "t",
                               "--content", "c", state_dir=d.state_dir, config=config)
                self.assertNotEqual(r.returncode, 0, r.stdout)
                self.assertIn("outside the contract period (2025-12-01 to 2031-11-30)",
                              r.stderr)
        r = fwtest.ctl("work", "add", "--start", "2026-01-05T10:00", "--end",
                       "2026-01-05T11:00", "--by", "x", "--title", "inside", "--content", "c",
                       state_dir=d.state_dir, config=config)
        self.assertEqual(r.returncode, 0, r.stderr)
        con = sqlite3.connect(f"file:{d.state_dir}/fieldwatch.db?mode=ro", uri=True)
        try:
            rows = con.execute("SELECT title FROM work").fetchall()
        finally:
            con.close()
        self.assertEqual(rows, [("inside",)])


if __name__ == "__main__":
    unittest.main(verbosity=2)
