#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the simulated field (tests/sim/field.py): the lab's 27 routers and the
RTX1220 as real snmpd agents read with net-snmp's own snmpget, the camera
simulator's addresses, the command line, and that nothing is left behind.

Run from the repository root: /usr/bin/python3 tests/test_field.py
"""

import calendar
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import xml.etree.ElementTree as ET

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIM = os.path.join(ROOT, "tests", "sim")
sys.path.insert(0, SIM)

import field  # noqa: E402
import snmp_field  # noqa: E402

LAB = os.path.join(ROOT, "config", "lab.yaml")
ICHIKAWA = os.path.join(ROOT, "config", "ichikawa-2025.yaml")
CREDS = os.path.join(ROOT, "tests", "credentials")
FIELD_PY = os.path.join(SIM, "field.py")
PYTHON = "/usr/bin/python3"
HAVE_CAMERAS = os.path.exists(field.ONVIF_SIM)
NO_CAMERAS = "the camera simulator tests/sim/onvif_sim.py does not exist yet"

TWO32 = 1 << 32
SYS_UPTIME = "1.3.6.1.2.1.1.3.0"
SYS_NAME = "1.3.6.1.2.1.1.5.0"
SNMP_ENGINE_ID = "1.3.6.1.6.3.10.2.1.1.0"
IF_OPER = "1.3.6.1.2.1.2.2.1.8.%d"
RSRP = "1.3.6.1.4.1.99999.1.1.0"     # lab.yaml probes.router.signal
SINR = "1.3.6.1.4.1.99999.1.2.0"
TUNNEL = "1.3.6.1.4.1.1182.2.3.16.1.2.%d"
CPU = "1.3.6.1.4.1.1182.2.1.5.0"
MEMORY = "1.3.6.1.4.1.1182.2.1.4.0"
TEMPERATURE = "1.3.6.1.4.1.1182.2.1.15.0"
ALARM = "1.3.6.1.4.1.1182.2.1.16.0"



def credential(name):
    with open(os.path.join(CREDS, name), encoding="utf-8") as f:
        return f.read().rstrip("\r\n")


SECRET = {name: credential(name) for name in ("snmp-community", "snmp-auth", "snmp-priv")}


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def v2c(community=None):
    return ["-v2c", "-c", community or SECRET["snmp-community"]]


def v3(auth, auth_pass=None, priv_pass=None):
    return ["-v3", "-l", "authPriv", "-u", "monitor", "-a", auth,
            "-A", auth_pass or SECRET["snmp-auth"],
            "-x", "AES", "-X", priv_pass or SECRET["snmp-priv"]]


class Reply:
    """What snmpget printed: values[oid] = (ASN type as printed, value text)."""

    def __init__(self, proc):
        self.rc, self.out, self.err = proc.returncode, proc.stdout, proc.stderr
        self.values = {}
        for line in proc.stdout.splitlines():
            m = re.match(r"^\.?([\d.]+) = (?:([\w-]+): )?(.*)$", line)
            if m:
                self.values[m.group(1)] = (m.group(2), m.group(3))

    def type(self, oid):
        return self.values[oid][0]

    def int(self, oid):
        typ, text = self.values[oid]
        m = re.match(r"^\((\d+)\)", text) if typ == "Timeticks" else re.match(r"^(-?\d+)", text)
        if not m:
            raise AssertionError("%s: not a number: %r" % (oid, self.values[oid]))
        return int(m.group(1))

    def text(self, oid):
        return self.values[oid][1].strip('"')


def snmpget(env, address, auth, *oids, timeout=5, retries=0, command="/usr/bin/snmpget"):
    """snmpget's answer. The default timeout is long: a request that starts snmpd's
    pass_persist child (Python) took over 1 s in CI with three suites at once. A test
    that expects silence passes its own short timeout."""
    argv = [command, *auth, "-On", "-t", str(timeout), "-r", str(retries), address, *oids]
    proc = subprocess.run(argv, capture_output=True, text=True, env=env,
                          timeout=(timeout + 1) * (retries + 1) + 10)
    return Reply(proc)


def udp_tcp_listeners():
    """{(proto, 'a.b.c.d', port)} of every IPv4 socket bound on this machine."""
    found = set()
    for proto in ("udp", "tcp"):
        with open("/proc/net/%s" % proto) as f:
            next(f)
            for line in f:
                parts = line.split()
                hexaddr, hexport = parts[1].split(":")
                if proto == "tcp" and parts[3] != "0A":   # LISTEN only
                    continue
                addr = socket.inet_ntoa(bytes.fromhex(hexaddr)[::-1])
                found.add((proto, addr, int(hexport, 16)))
    return found


def field_listeners(cfg):
    """The (proto, address, port) of every device of the configuration dict cfg."""
    want = set()
    for site in cfg["sites"]:
        want.add(("udp", site["router"]["address"], site["router"]["port"]))
        if HAVE_CAMERAS:
            want.add(("tcp", site["camera"]["address"], site["camera"]["port"]))
    want.add(("udp", cfg["vpn"]["address"], cfg["vpn"]["port"]))
    return want


def small_config(directory, n_sites=3, net=5):
    """The lab configuration cut to n_sites sites, moved to 127.<net>.x so that it
    can run beside the lab field. Returns (path, dict)."""
    with open(LAB, encoding="utf-8") as f:
        cfg = yaml.safe_load(f)
    cfg["sites"] = cfg["sites"][:n_sites]
    for i, site in enumerate(cfg["sites"], 1):
        site["router"]["address"] = "127.%d.1.%d" % (net, i)
        site["camera"]["address"] = "127.%d.2.%d" % (net, i)
    cfg["vpn"]["address"] = "127.%d.3.1" % net
    path = os.path.join(directory, "small.yaml")
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(cfg, f, allow_unicode=True)
    return path, cfg


def get_system_date_and_time(address, port, timeout=5,
                             op='<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'):
    body = ('<?xml version="1.0" encoding="UTF-8"?>'
            '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
            + op + '</s:Body></s:Envelope>')
    conn = http.client.HTTPConnection(address, port, timeout=timeout)
    try:
        conn.request("POST", "/onvif/device_service", body.encode(), {
            "Content-Type": 'application/soap+xml; charset=utf-8; '
                            'action="http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime"'})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


class LabField(unittest.TestCase):
    """The whole lab field (27 sites), up once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="fieldwatch-field-")
        cls.field = field.Field(LAB, CREDS, os.path.join(cls.tmp.name, "run"), cameras=HAVE_CAMERAS,
                                camera_events={"19": False})
        try:
            cls.field.up()
        except BaseException:
            cls.tmp.cleanup()
            raise
        cls.env = snmp_field.client_env(cls.tmp.name)
        print("\n[lab field up in %.2f s: %d snmpd%s]" % (
            cls.field.startup_seconds, len(cls.field.info["snmpd"]),
            ", camera simulator" if HAVE_CAMERAS else ", no camera simulator"), file=sys.stderr)

    @classmethod
    def tearDownClass(cls):
        procs = cls.field.processes()
        cls.field.down()
        left = [pid for pid, start in procs if snmp_field.proc_alive(pid, start)]
        cls.tmp.cleanup()
        if left:
            raise AssertionError("processes left behind: %s" % left)

    def get(self, site, *oids, auth=None, **kw):
        r = self.field.router(site)
        return snmpget(self.env, "%s:%d" % (r.address, r.port), auth or v2c(), *oids, **kw)

    def get_vpn(self, *oids, auth=None, **kw):
        v = self.field.vpn
        return snmpget(self.env, "%s:%d" % (v.address, v.port), auth or v3("SHA"), *oids, **kw)

    def test_startup_is_quick(self):
        # A bound that catches a hang, not a benchmark: 28 snmpd on a loaded
        # 2-core machine took 12.5 s once (no timed assertions in the suite).
        self.assertLess(self.field.startup_seconds, 60.0)
        self.assertEqual(len(self.field.pids()), 28 + (1 if HAVE_CAMERAS else 0))
        for name, pid in self.field.pids().items():
            self.assertTrue(snmp_field.proc_alive(pid), name)
        info = load_json(os.path.join(self.field.run_dir, "field.json"))
        self.assertEqual(info["status"], "up")
        self.assertEqual(info["snmpd"]["router-05"]["listen"], ["127.0.1.5:16161"])
        self.assertEqual(info["snmpd"]["vpn"]["listen"], ["127.0.3.1:16161"])

    def test_every_router_and_the_vpn_answer(self):
        procs = []
        for site in self.field.sites():
            r = self.field.router(site)
            auth = v3("SHA-256") if site == "03" else v2c()
            procs.append((site, subprocess.Popen(
                ["/usr/bin/snmpget", *auth, "-On", "-t", "2", "-r", "1",
                 "%s:%d" % (r.address, r.port), SYS_NAME, SYS_UPTIME],
                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)))
        self.assertEqual(len(procs), 27)
        for site, p in procs:
            out, err = p.communicate(timeout=30)
            self.assertEqual(p.returncode, 0, err)
            self.assertIn('STRING: "rx220-site%s"' % site, out)
            self.assertIn("Timeticks", out)
        r = self.get_vpn(SYS_NAME)
        self.assertEqual(r.text(SYS_NAME), "rtx1220")

    def test_v2c_router_01_uptime_increases(self):
        a = self.get("01", SYS_UPTIME)
        self.assertEqual(a.rc, 0, a.err)
        self.assertEqual(a.type(SYS_UPTIME), "Timeticks")
        time.sleep(0.3)
        b = self.get("01", SYS_UPTIME)
        self.assertGreaterEqual(b.int(SYS_UPTIME) - a.int(SYS_UPTIME), 20)

    def test_v3_sha256_router_03(self):
        ok = self.get("03", SYS_UPTIME, SYS_NAME, auth=v3("SHA-256"))
        self.assertEqual(ok.rc, 0, ok.err)
        self.assertEqual(ok.type(SYS_UPTIME), "Timeticks")
        self.assertEqual(ok.text(SYS_NAME), "rx220-site03")
        bad = self.get("03", SYS_UPTIME, auth=v3("SHA-256", auth_pass="wrong-auth-secret"))
        self.assertNotEqual(bad.rc, 0)
        self.assertIn("Authentication failure", bad.err)
        self.assertEqual(bad.values, {})
        for auth in (v3("SHA"), v3("SHA-256", priv_pass="wrong-priv-secret"), v2c()):
            with self.subTest(auth=auth):
                bad = self.get("03", SYS_UPTIME, auth=auth, timeout=0.5)
                self.assertNotEqual(bad.rc, 0)
                self.assertEqual(bad.values, {})

    def test_v3_sha_vpn(self):
        ok = self.get_vpn(SYS_UPTIME, SNMP_ENGINE_ID)
        self.assertEqual(ok.rc, 0, ok.err)
        self.assertEqual(ok.type(SYS_UPTIME), "Timeticks")
        # Yamaha's engine ID format: 8000049e03 + a MAC address.
        self.assertTrue(ok.values[SNMP_ENGINE_ID][1].startswith("80 00 04 9E 03"), ok.out)
        bad = self.get_vpn(SYS_UPTIME, auth=v3("SHA", auth_pass="wrong-auth-secret"))
        self.assertNotEqual(bad.rc, 0)
        self.assertIn("Authentication failure", bad.err)
        for auth in (v3("SHA-256"), v2c()):
            with self.subTest(auth=auth):
                bad = self.get_vpn(SYS_UPTIME, auth=auth, timeout=0.5)
                self.assertNotEqual(bad.rc, 0)
                self.assertEqual(bad.values, {})

    def test_v2c_wrong_community_gets_nothing(self):
        bad = self.get("01", SYS_UPTIME, auth=v2c("public"), timeout=0.5)
        self.assertNotEqual(bad.rc, 0)
        self.assertEqual(bad.values, {})

    def test_reboot_makes_uptime_smaller(self):
        before = self.get("04", SYS_UPTIME).int(SYS_UPTIME)
        self.assertGreater(before, 100 * 86400)
        self.field.router("04").reboot()
        after = self.get("04", SYS_UPTIME).int(SYS_UPTIME)
        self.assertLess(after, 300)
        self.assertLess(after, before)

    def test_uptime_wraps_at_2_to_the_32(self):
        r = self.field.router("06")
        r.set_uptime(TWO32 - 100)                 # one second before the wrap
        near = self.get("06", SYS_UPTIME).int(SYS_UPTIME)
        self.assertGreaterEqual(near, TWO32 - 100)
        self.assertLess(near, TWO32)
        time.sleep(1.3)
        wrapped = self.get("06", SYS_UPTIME).int(SYS_UPTIME)
        self.assertLess(wrapped, 1000)
        r.set_uptime(12345 * 100)
        self.assertGreaterEqual(self.get("06", SYS_UPTIME).int(SYS_UPTIME), 1234500)

    def test_ifoperstatus_changes(self):
        r = self.get("07", IF_OPER % 1)
        self.assertEqual((r.type(IF_OPER % 1), r.int(IF_OPER % 1)), ("INTEGER", 1))
        self.field.router("07").set_ifoper(2)
        self.assertEqual(self.get("07", IF_OPER % 1).int(IF_OPER % 1), 2)
        self.field.router("07").set_ifoper(1)
        self.assertEqual(self.get("07", IF_OPER % 1).int(IF_OPER % 1), 1)

    def test_signal_changes(self):
        r = self.get("08", RSRP, SINR)
        self.assertEqual((r.type(RSRP), r.int(RSRP)), ("INTEGER", -95))
        self.assertEqual((r.type(SINR), r.int(SINR)), ("INTEGER", 12))
        self.field.router("08").set(rsrp=-120, sinr=-3)
        r = self.get("08", RSRP, SINR)
        self.assertEqual((r.type(RSRP), r.int(RSRP)), ("INTEGER", -120))
        self.assertEqual(r.int(SINR), -3)
        self.field.router("08").set(rsrp=None)
        r = self.get("08", RSRP)
        self.assertIn("No Such", r.out)
        self.field.router("08").set(rsrp=-95, sinr=12)
        with self.assertRaises(ValueError):
            self.field.router("08").set(rsrq=-10)    # not configured in lab.yaml

    def test_tunnel_goes_down(self):
        r = self.get_vpn(TUNNEL % 5, TUNNEL % 4, TUNNEL % 27)
        self.assertEqual(r.rc, 0, r.err)
        for t in (5, 4, 27):
            self.assertEqual((r.type(TUNNEL % t), r.int(TUNNEL % t)), ("INTEGER", 1))
        self.field.vpn.set_tunnel(5, False)
        r = self.get_vpn(TUNNEL % 5, TUNNEL % 4)
        self.assertEqual(r.int(TUNNEL % 5), 2)
        self.assertEqual(r.int(TUNNEL % 4), 1)
        self.field.vpn.set_tunnel(5, True)
        self.assertEqual(self.get_vpn(TUNNEL % 5).int(TUNNEL % 5), 1)
        self.assertIn("No Such", self.get_vpn(TUNNEL % 28).out)

    def test_vpn_health_values_and_types(self):
        vpn = self.field.vpn
        vpn.set(cpu=95, memory=50, temperature=70, alarm=True)
        r = self.get_vpn(CPU, MEMORY, TEMPERATURE, ALARM, SYS_UPTIME)
        self.assertEqual(r.rc, 0, r.err)
        self.assertEqual((r.type(CPU), r.int(CPU)), ("Gauge32", 95))
        self.assertEqual((r.type(MEMORY), r.int(MEMORY)), ("Gauge32", 50))
        self.assertEqual((r.type(TEMPERATURE), r.int(TEMPERATURE)), ("Gauge32", 70))
        self.assertEqual((r.type(ALARM), r.int(ALARM)), ("INTEGER", 1))
        self.assertEqual(r.type(SYS_UPTIME), "Timeticks")
        vpn.set(cpu=8, alarm=False)
        r = self.get_vpn(CPU, MEMORY, ALARM)
        self.assertEqual((r.int(CPU), r.int(MEMORY), r.int(ALARM)), (8, 50, 2))
        vpn.set(memory=35, temperature=42)

    def test_freeze_silences_one_router_only(self):
        r9 = self.field.router("09")
        r9.freeze()
        try:
            self.assertTrue(r9.frozen())
            t0 = time.monotonic()
            silent = self.get("09", SYS_UPTIME, timeout=0.5)
            self.assertNotEqual(silent.rc, 0)
            self.assertIn("Timeout", silent.err + silent.out)
            self.assertGreaterEqual(time.monotonic() - t0, 0.4)
            other = self.get("10", SYS_UPTIME)
            self.assertEqual(other.rc, 0, other.err)
        finally:
            r9.thaw()
        self.assertFalse(r9.frozen())
        self.assertEqual(self.get("09", SYS_UPTIME, timeout=2).rc, 0)

    def test_freeze_vpn(self):
        self.field.vpn.freeze()
        try:
            self.assertNotEqual(self.get_vpn(SYS_UPTIME, timeout=0.5).rc, 0)
        finally:
            self.field.vpn.thaw()
        self.assertEqual(self.get_vpn(SYS_UPTIME, timeout=2).rc, 0)

    def test_wrong_type(self):
        r = self.field.router("11")
        r.wrong_type("rsrp")
        r.wrong_type("uptime", "integer")
        got = self.get("11", RSRP, SYS_UPTIME, SINR)
        self.assertEqual((got.type(RSRP), got.text(RSRP)), ("STRING", "-95"))
        self.assertEqual(got.type(SYS_UPTIME), "INTEGER")
        self.assertEqual(got.type(SINR), "INTEGER")
        r.override(SYS_NAME, None)
        self.assertIn("No Such", self.get("11", SYS_NAME).out)
        r.clear_oddities()
        got = self.get("11", RSRP, SYS_UPTIME, SYS_NAME)
        self.assertEqual(got.type(RSRP), "INTEGER")
        self.assertEqual(got.type(SYS_UPTIME), "Timeticks")
        self.assertEqual(got.text(SYS_NAME), "rx220-site11")
        self.field.vpn.wrong_type("alarm", "gauge")
        self.assertEqual(self.get_vpn(ALARM).type(ALARM), "Gauge32")
        self.field.vpn.clear_oddities()
        self.assertEqual(self.get_vpn(ALARM).type(ALARM), "INTEGER")

    def test_answer_for_another_site(self):
        self.field.router("13").set(rsrp=-111)
        self.field.router("12").impersonate("13")
        got = self.get("12", SYS_NAME, RSRP)
        self.assertEqual(got.text(SYS_NAME), "rx220-site13")
        self.assertEqual(got.int(RSRP), -111)
        self.field.router("12").impersonate(None)
        self.assertEqual(self.get("12", SYS_NAME).text(SYS_NAME), "rx220-site12")
        self.field.router("13").set(rsrp=-95)

    def test_only_the_simulated_device_is_visible(self):
        r = self.field.router("14")
        walk = subprocess.run(["/usr/bin/snmpwalk", *v2c(), "-On", "-t", "2", "-r", "0",
                               "%s:%d" % (r.address, r.port), "1.3.6.1.2.1.2"],
                              capture_output=True, text=True, env=self.env, timeout=30)
        self.assertEqual(walk.returncode, 0, walk.stderr)
        self.assertIn('.1.3.6.1.2.1.2.2.1.2.1 = STRING: "wwan0"', walk.stdout)
        self.assertIn('.1.3.6.1.2.1.2.2.1.2.2 = STRING: "lan0"', walk.stdout)
        self.assertIn(".1.3.6.1.2.1.2.1.0 = INTEGER: 2", walk.stdout)
        self.assertNotIn('"lo"', walk.stdout)
        descr = self.get("14", "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.25.1.1.0")
        self.assertIn("RX220", descr.text("1.3.6.1.2.1.1.1.0"))
        self.assertNotIn("Linux", descr.out)
        self.assertIn("No Such Object", descr.out)     # no HOST-RESOURCES-MIB

    @unittest.skipUnless(HAVE_CAMERAS, NO_CAMERAS)
    def test_every_camera_answers_get_system_date_and_time(self):
        cams = self.field.info["cameras"]["addresses"]
        self.assertEqual(len(cams), 27)
        tt = "{http://www.onvif.org/ver10/schema}"
        for site, where in sorted(cams.items()):
            address, port = where.rsplit(":", 1)
            with self.subTest(site=site):
                status, body = get_system_date_and_time(address, int(port))
                self.assertEqual(status, 200, body[:300])
                root = ET.fromstring(body)
                self.assertIsNotNone(root.find(".//%sUTCDateTime" % tt), body[:300])

    @unittest.skipUnless(HAVE_CAMERAS, NO_CAMERAS)
    def test_camera_fault_and_clear(self):
        cam = self.field.camera("15")
        cam.fault("http500")
        try:
            status, _ = get_system_date_and_time(cam.address, cam.port)
            self.assertEqual(status, 500)
            other = self.field.camera("16")
            self.assertEqual(get_system_date_and_time(other.address, other.port)[0], 200)
        finally:
            cam.clear()
        self.assertEqual(get_system_date_and_time(cam.address, cam.port)[0], 200)
        self.assertIsInstance(cam.counters(), dict)

    @unittest.skipUnless(HAVE_CAMERAS, NO_CAMERAS)
    def test_camera_state_clock_skew(self):
        cam = self.field.camera("17")
        tt = "{http://www.onvif.org/ver10/schema}"

        def camera_clock_offset():
            status, body = get_system_date_and_time(cam.address, cam.port)
            self.assertEqual(status, 200)
            utc = ET.fromstring(body).find(".//%sUTCDateTime" % tt)
            v = {e.tag[len(tt):]: int(e.text) for e in utc.iter() if e.text and e.text.strip()}
            t = calendar.timegm((v["Year"], v["Month"], v["Day"], v["Hour"], v["Minute"],
                                 v["Second"]))
            return t - time.time()

        self.assertLess(abs(camera_clock_offset()), 3)
        cam.state(clock_skew=3600)
        try:
            self.assertLess(abs(camera_clock_offset() - 3600), 3)
        finally:
            cam.reset()
        self.assertLess(abs(camera_clock_offset()), 3)
        counters = cam.counters()
        self.assertEqual(counters["id"], "17")
        self.assertGreaterEqual(counters["requests"].get("GetSystemDateAndTime", 0), 1)


    @unittest.skipUnless(HAVE_CAMERAS, NO_CAMERAS)
    def test_camera_events_and_restart(self):
        gs = '<GetServices xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
        tev = b"<tds:Namespace>http://www.onvif.org/ver10/events/wsdl</tds:Namespace>"
        cam, quiet = self.field.camera("18"), self.field.camera("19")
        self.assertIn(tev, get_system_date_and_time(cam.address, cam.port, op=gs)[1])
        self.assertNotIn(tev, get_system_date_and_time(quiet.address, quiet.port, op=gs)[1])
        try:
            state = cam.event("tns1:VideoSource/GlobalSceneChange/ImagingService", State=True)
            self.assertEqual((state["delivered"], state["events"]["events_injected"]), (0, 1))
            self.assertEqual(cam.subscriptions(), [])
            with self.assertRaisesRegex(field.FieldError, "(?s)HTTP 400.*does not offer"):
                cam.event("tns1:VideoSource/MotionAlarm", State=True)
            with self.assertRaisesRegex(field.FieldError, "offers no events"):
                quiet.event("tns1:Device/HardwareFailure/StorageFailure", Failed=True)
            self.assertEqual(cam.restart()["events"]["restarts"], 1)
            self.assertEqual(get_system_date_and_time(cam.address, cam.port)[0], 200)
            rc = subprocess.run([PYTHON, FIELD_PY, "set", "--run-dir", self.field.run_dir,
                                 "camera", "18", "event=tns1:Device/HardwareFailure/StorageFailure",
                                 "Failed=true"], capture_output=True, text=True, timeout=30)
            self.assertEqual(rc.returncode, 0, rc.stderr)
            self.assertEqual(json.loads(rc.stdout)["events"]["events_injected"], 2)
            rc = subprocess.run([PYTHON, FIELD_PY, "set", "--run-dir", self.field.run_dir,
                                 "camera", "18", "restart", "downtime=0.5"],
                                capture_output=True, text=True, timeout=30)
            self.assertEqual(rc.returncode, 0, rc.stderr)
            self.assertEqual(json.loads(rc.stdout)["events"]["restarts"], 2)
        finally:
            cam.reset()


class SharedAgent(unittest.TestCase):
    """One snmpd answering on several addresses with one value set (the benchmark's)."""

    def test_one_snmpd_many_addresses(self):
        with tempfile.TemporaryDirectory(prefix="fieldwatch-shared-") as tmp:
            listen = [("127.0.4.%d" % i, 16162) for i in (1, 2, 3)]
            state = snmp_field.router_state("99", signal_oids={"rsrp": RSRP})
            agent = snmp_field.SnmpAgent("shared", listen, os.path.join(tmp, "state.json"), tmp,
                                         community=SECRET["snmp-community"],
                                         roots=snmp_field.pass_roots([RSRP]))
            agent.prepare(state)
            agent.start(die_with_parent=True)
            procs = [(agent.pid, agent.starttime)]
            try:
                env = snmp_field.client_env(tmp)
                snmp_field.wait_answering([agent], time.monotonic() + 20, tmp)
                procs += snmp_field.proc_tree(agent.pid)
                for address, port in listen:
                    r = snmpget(env, "%s:%d" % (address, port), v2c(), SYS_NAME, RSRP)
                    self.assertEqual(r.rc, 0, "%s:%d: %s" % (address, port, r.err))
                    self.assertEqual(r.text(SYS_NAME), "rx220-site99")
                snmp_field.update_state(agent.state_path, lambda s: s["signal"].update(rsrp=-101))
                for address, port in listen:
                    r = snmpget(env, "%s:%d" % (address, port), v2c(), RSRP)
                    self.assertEqual(r.rc, 0, "%s:%d: %s" % (address, port, r.err))
                    self.assertEqual(r.int(RSRP), -101)
            finally:
                snmp_field.terminate(procs, popens=[agent.popen])
            self.assertFalse(any(snmp_field.proc_alive(*p) for p in procs))
            self.assertFalse({("udp", a, p) for a, p in listen} & udp_tcp_listeners())

    def test_non_loopback_address_is_refused(self):
        with self.assertRaisesRegex(snmp_field.FieldError, "loopback"):
            snmp_field.SnmpAgent("x", [("192.0.2.1", 161)], "/tmp/x.json", "/tmp/x", community="c")


class Lifecycle(unittest.TestCase):
    """Up and down through the API and the command line, on a 3-site field moved to
    127.5.x / 127.6.x so that it does not meet the lab field."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="fieldwatch-lifecycle-")
        self.addCleanup(self.tmp.cleanup)

    def run_field(self, *args, timeout=60):
        return subprocess.run([PYTHON, FIELD_PY, *args], capture_output=True, text=True,
                              timeout=timeout, cwd=ROOT)

    def assert_all_gone(self, procs, cfg):
        self.assertTrue(procs)
        left = [pid for pid, start in procs if snmp_field.proc_alive(pid, start)]
        self.assertEqual(left, [])
        self.assertEqual(field_listeners(cfg) & udp_tcp_listeners(), set())

    def test_api_down_on_exception_leaves_nothing(self):
        path, cfg = small_config(self.tmp.name, net=5)
        run_dir = os.path.join(self.tmp.name, "run")
        procs = []
        with self.assertRaises(RuntimeError):
            with field.Field(path, CREDS, run_dir, cameras=HAVE_CAMERAS) as f:
                procs = f.processes()
                # snmpd + 3 pass_persist responders per router and for the vpn
                self.assertGreaterEqual(len(procs), 4 * 4 + (1 if HAVE_CAMERAS else 0))
                self.assertTrue(field_listeners(cfg) <= udp_tcp_listeners())
                raise RuntimeError("boom")
        self.assert_all_gone(procs, cfg)
        self.assertEqual(load_json(os.path.join(run_dir, "field.json"))["status"], "down")

    def test_command_line(self):
        path, cfg = small_config(self.tmp.name, net=6)
        run_dir = os.path.join(self.tmp.name, "run")
        args = ["up", "--config", path, "--credentials", CREDS, "--run-dir", run_dir]
        if not HAVE_CAMERAS:
            args.append("--no-cameras")
        up = self.run_field(*args)
        info = None
        try:
            self.assertEqual(up.returncode, 0, up.stderr)
            self.assertRegex(up.stdout, r"^field up in [\d.]+ s: 3 routers, vpn, ")
            self.assertEqual(len(up.stdout.splitlines()), 1)
            info = load_json(os.path.join(run_dir, "field.json"))
            env = snmp_field.client_env(self.tmp.name)

            again = self.run_field(*args)
            self.assertEqual(again.returncode, 1)
            self.assertIn("already up", again.stderr)

            r = self.run_field("set", "--run-dir", run_dir, "router", "01", "rsrp=-120", "ifoper=2",
                               "reboot")
            self.assertEqual(r.returncode, 0, r.stderr)
            got = snmpget(env, "127.6.1.1:16161", v2c(), RSRP, IF_OPER % 1, SYS_UPTIME)
            self.assertEqual((got.int(RSRP), got.int(IF_OPER % 1)), (-120, 2))
            self.assertLess(got.int(SYS_UPTIME), 500)

            r = self.run_field("set", "--run-dir", run_dir, "vpn", "tunnel.2=down", "cpu=95",
                               "alarm=on")
            self.assertEqual(r.returncode, 0, r.stderr)
            got = snmpget(env, "127.6.3.1:16161", v3("SHA"), TUNNEL % 2, TUNNEL % 1, CPU, ALARM)
            self.assertEqual([got.int(o) for o in (TUNNEL % 2, TUNNEL % 1, CPU, ALARM)],
                             [2, 1, 95, 1])

            for bad in (["router", "01", "bogus=1"], ["router", "99", "rsrp=1"],
                        ["vpn", "tunnel.2=sideways"], ["vpn", "tunnel.50=down"]):
                with self.subTest(bad=bad):
                    r = self.run_field("set", "--run-dir", run_dir, *bad)
                    self.assertEqual(r.returncode, 1)
                    self.assertTrue(r.stderr.startswith("field.py: "), r.stderr)

            r = self.run_field("freeze", "--run-dir", run_dir, "router", "02")
            self.assertEqual(r.returncode, 0, r.stderr)
            frozen = snmpget(env, "127.6.1.2:16161", v2c(), SYS_UPTIME, timeout=0.5)
            self.assertNotEqual(frozen.rc, 0)
            st = self.run_field("status", "--run-dir", run_dir, "--json")
            self.assertEqual(st.returncode, 0, st.stderr)
            states = json.loads(st.stdout)["processes"]
            self.assertEqual(states["router-02"]["state"], "frozen")
            self.assertEqual(states["router-01"]["state"], "running")
            r = self.run_field("thaw", "--run-dir", run_dir, "router", "02")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(snmpget(env, "127.6.1.2:16161", v2c(), SYS_UPTIME, timeout=2).rc, 0)

            if HAVE_CAMERAS:
                r = self.run_field("set", "--run-dir", run_dir, "camera", "01", "fault=http500")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(get_system_date_and_time("127.6.2.1", 18080)[0], 500)
                r = self.run_field("set", "--run-dir", run_dir, "camera", "01", "fault=none")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(get_system_date_and_time("127.6.2.1", 18080)[0], 200)

            self.run_field("freeze", "--run-dir", run_dir, "vpn")     # down must stop it too
            procs = field.Field.attach(run_dir).processes()
        finally:
            down = self.run_field("down", "--run-dir", run_dir)
        self.assertEqual(down.returncode, 0, down.stderr)
        self.assertIn("processes stopped", down.stdout)
        self.assert_all_gone(procs, cfg)
        recorded = [(a["pid"], a["starttime"]) for a in info["snmpd"].values()]
        self.assertFalse(any(snmp_field.proc_alive(*p) for p in recorded))
        st = self.run_field("status", "--run-dir", run_dir)
        self.assertEqual(st.returncode, 1)
        self.assertIn("gone", st.stdout)
        again = self.run_field("down", "--run-dir", run_dir)
        self.assertEqual(again.returncode, 0, again.stderr)

    def test_shipped_configuration_is_refused_cleanly(self):
        # The shipped file has documentation addresses: nothing may listen there.
        with tempfile.TemporaryDirectory() as run_dir:
            r = self.run_field("up", "--config", ICHIKAWA, "--credentials", CREDS,
                               "--run-dir", run_dir, "--no-cameras")
            self.assertEqual(r.returncode, 1)
            self.assertIn("loopback", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(run_dir, "field.json")))

    def test_usage(self):
        self.assertEqual(self.run_field().returncode, 2)
        self.assertEqual(self.run_field("frobnicate").returncode, 2)
        with tempfile.TemporaryDirectory() as run_dir:
            r = self.run_field("status", "--run-dir", run_dir)
            self.assertEqual(r.returncode, 1)
            self.assertIn("no field", r.stderr)

    def test_cameras_required_unless_disabled(self):
        path, _ = small_config(self.tmp.name, net=7)
        saved = field.ONVIF_SIM
        field.ONVIF_SIM = os.path.join(self.tmp.name, "no-such-onvif_sim.py")
        try:
            f = field.Field(path, CREDS, os.path.join(self.tmp.name, "run"))
            with self.assertRaisesRegex(field.FieldError, "no-such-onvif_sim.py.*--no-cameras"):
                f.up()
            self.assertIsNone(f.info)      # nothing was started
        finally:
            field.ONVIF_SIM = saved

    def test_killed_test_process_takes_the_field_with_it(self):
        # The API's processes die with the process that started them (SIGKILL
        # leaves it no chance to clean up).
        path, cfg = small_config(self.tmp.name, n_sites=1, net=8)
        run_dir = os.path.join(self.tmp.name, "run")
        script = ("import sys, time; sys.path.insert(0, %r); import field\n"
                  "f = field.Field(%r, %r, %r, cameras=False).up()\n"
                  "print('up', flush=True); time.sleep(60)\n" % (SIM, path, CREDS, run_dir))
        p = subprocess.Popen([PYTHON, "-c", script], stdout=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), "up")
            procs = field.Field.attach(run_dir).processes()
            self.assertGreaterEqual(len(procs), 2 * 4)
        finally:
            p.kill()
            p.wait(timeout=10)
            p.stdout.close()
        deadline = time.monotonic() + 10
        while any(snmp_field.proc_alive(*q) for q in procs) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual([q for q in procs if snmp_field.proc_alive(*q)], [])
        snmp = {x for x in field_listeners(cfg) if x[0] == "udp"}
        self.assertEqual(snmp & udp_tcp_listeners(), set())

if __name__ == "__main__":
    unittest.main(verbosity=2)
