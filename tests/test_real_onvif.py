#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""What real cameras say (issue 12, part 7): the answers recorded from real
cameras in ../shared/real-onvif/ (Axis, Bosch, Hikvision, Pelco, Milesight,
TP-Link, Dahua, an OEM gSOAP device, i-PRO and Panasonic AW CGI pages) are
replayed, unchanged, to the camera probe, and the test checks what fieldwatch
makes of them against what Python's own XML parser reads in the same files.

The files are read at test time from $FW_REAL_ONVIF (default: the directory
real-onvif/ beside the repository's, i.e. ../shared/real-onvif from the
workplace); they are never copied into the project. Without them the test
is skipped with a message saying where it looked.

Each replayed camera is a small HTTP server on its own loopback address
(127.N.9.x) that answers each operation the probe asks for with one recorded
file; the only changes ever made to a recorded answer are the times (for the
cameras that must come out up) — said where it happens.

Run from the repository root:
  FW_LAB_NET=8 BUILD=build /usr/bin/python3 tests/test_real_onvif.py
"""

import datetime
import http.server
import json
import os
import re
import shutil
import socketserver
import sys
import tempfile
import threading
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402
from sim.field import Field  # noqa: E402

REAL = os.environ.get("FW_REAL_ONVIF") or os.path.join(
    os.path.dirname(fwtest.ROOT), "shared", "real-onvif")
if not os.environ.get("FW_REAL_ONVIF") and not os.path.isdir(REAL):
    # The workplace layout: the checkout beside shared/.
    REAL = os.path.join(os.path.dirname(os.path.dirname(fwtest.ROOT)), "shared", "real-onvif")
PORT = 18080
OPS = ("GetSystemDateAndTime", "GetServices", "GetDeviceInformation", "GetRecordingSummary")


def real(name):
    with open(os.path.join(REAL, name), "rb") as f:
        return f.read()


def texts(name, tag):
    root = ET.fromstring(real(name))
    return [el.text.strip() for el in root.iter() if el.tag.split("}")[-1] == tag and el.text]


def utc_of(name):
    """The UTCDateTime of a recorded GetSystemDateAndTime answer."""
    root = ET.fromstring(real(name))
    utc = [el for el in root.iter() if el.tag.split("}")[-1] == "UTCDateTime"][0]
    v = {el.tag.split("}")[-1]: int(el.text) for el in utc.iter() if el.text and el.text.strip()}
    return datetime.datetime(v["Year"], v["Month"], v["Day"], v["Hour"], v["Minute"],
                             v["Second"], tzinfo=datetime.timezone.utc)


def now_in(name):
    """A recorded GetSystemDateAndTime answer with its UTC time set to now
    (the local time removed: only its UTC is read). The one change made."""
    text = real(name).decode("utf-8")
    now = datetime.datetime.now(datetime.timezone.utc)

    def fix(m):
        block = m.group(0)
        for field, value in (("Year", now.year), ("Month", now.month), ("Day", now.day),
                             ("Hour", now.hour), ("Minute", now.minute),
                             ("Second", now.second)):
            block = re.sub(rf"(<(\w+:)?{field}>)\d+(</(\w+:)?{field}>)",
                           rf"\g<1>{value}\g<3>", block)
        return block
    return re.sub(r"<(\w+:)?UTCDateTime>.*?</(\w+:)?UTCDateTime>", fix, text,
                  flags=re.S).encode("utf-8")


def recording_now(name):
    """The recorded GetRecordingSummary with DataUntil set to now."""
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return re.sub(rb"(<(\w+:)?DataUntil>)[^<]*", lambda m: m.group(1) + now.encode(),
                  real(name))


# Site -> what its camera answers: operation -> (HTTP status, recorded file,
# change). The changes: "now" sets a GetSystemDateAndTime's UTC time to now,
# "recording_now" a DataUntil, "stream2" switches SDrec2 to enable.
CAMERAS = {
    "01": {"GetSystemDateAndTime": (200, "axis-GetSystemDateAndTime-2014.xml", None),
           "GetServices": (200, "axis-GetServices-2014.xml", None),
           "GetDeviceInformation": (200, "axis-GetDeviceInformation.xml", None)},
    "02": {"GetSystemDateAndTime": (200, "axis-GetSystemDateAndTime.xml", None),
           "GetServices": (200, "axis-GetServices.xml", None),
           "GetDeviceInformation": (200, "hikvision-GetDeviceInformation.xml", None)},
    "03": {"GetSystemDateAndTime": (200, "bosch-GetSystemDateAndTime.xml", None),
           "GetServices": (200, "pelco-GetServices.xml", None),
           "GetDeviceInformation": (200, "bosch-GetDeviceInformation.xml", None)},
    "04": {"GetSystemDateAndTime": (200, "tplink-GetSystemDateAndTime.xml", None),
           "GetServices": (200, "hikvision-GetServices.xml", None),
           "GetDeviceInformation": (200, "hikvision-GetDeviceInformation-2CD2143G0.xml", None)},
    "05": {"GetSystemDateAndTime": (200, "axis-GetSystemDateAndTime.xml", None),
           "GetServices": (200, "pelco-GetServices.xml", None),
           "GetDeviceInformation": (200, "hikvision-GetDeviceInformation-2CD3T45P1.xml", None)},
    "06": {"GetSystemDateAndTime": (200, "axis-GetSystemDateAndTime.xml", None),
           "GetServices": (200, "axis-GetServices.xml", None),
           "GetDeviceInformation": (200, "milesight-GetDeviceInformation.xml", None)},
    "07": {"GetSystemDateAndTime": (200, "axis-GetSystemDateAndTime.xml", None),
           "GetServices": (200, "pelco-GetServices.xml", None),
           "GetDeviceInformation": (200, "pelco-GetDeviceInformation.xml", None)},
    # SOAP faults as the answer to the liveness check itself.
    "08": {"GetSystemDateAndTime": (500, "hikvision-Fault-ActionNotSupported.xml", None)},
    "09": {"GetSystemDateAndTime": (400, "hikvision-Fault-NotAuthorized.xml", None)},
    "10": {"GetSystemDateAndTime": (500, "hikvision-Fault-ActionNotSupported-2CD2143G0.xml",
                                    None)},
    # A well-formed answer to another question (Dahua's GetCapabilities).
    "11": {"GetSystemDateAndTime": (200, "dahua-GetCapabilities.xml", None)},
    # The i-PRO CGI as it really answers (BOM, empty line, SDrec=disable on
    # both streams); the clock set to now so that only the CGI speaks.
    "12": {"GetSystemDateAndTime": (200, "axis-GetSystemDateAndTime.xml", "now"),
           "GetServices": (200, "axis-GetServices.xml", None),
           "GetDeviceInformation": (200, "axis-GetDeviceInformation.xml", None),
           "GetRecordingSummary": (200, "oem-GetRecordingSummary.xml", "recording_now"),
           "getinfo": (200, "ipro-getinfo.txt", None)},
    # The CGI's 401 page, to the right password.
    "13": {"GetSystemDateAndTime": (200, "axis-GetSystemDateAndTime.xml", "now"),
           "GetServices": (200, "axis-GetServices.xml", None),
           "GetDeviceInformation": (200, "axis-GetDeviceInformation.xml", None),
           "GetRecordingSummary": (200, "oem-GetRecordingSummary.xml", "recording_now"),
           "getinfo": (401, "ipro-getinfo-401.html", None)},
    # Panasonic AW: one line of blank-separated pairs.
    "14": {"GetSystemDateAndTime": (200, "bosch-GetSystemDateAndTime.xml", "now"),
           "GetServices": (200, "pelco-GetServices.xml", None),
           "GetDeviceInformation": (200, "axis-GetDeviceInformation.xml", None),
           "GetRecordingSummary": (200, "oem-GetRecordingSummary.xml", "recording_now"),
           "getinfo": (200, "panasonic-aw-getinfo.txt", None)},
    # Everything fine: a recording summary as an OEM gSOAP camera sends it.
    "15": {"GetSystemDateAndTime": (200, "tplink-GetSystemDateAndTime.xml", "now"),
           "GetServices": (200, "hikvision-GetServices.xml", None),
           "GetDeviceInformation": (200, "axis-GetDeviceInformation.xml", None),
           "GetRecordingSummary": (200, "oem-GetRecordingSummary.xml", "recording_now"),
           "getinfo": (200, "ipro-getinfo.txt", "stream2")},
}


def answer(name, change):
    if change == "now":
        return now_in(name)
    if change == "recording_now":
        return recording_now(name)
    if change == "stream2":
        return real(name).replace(b"SDrec2=disable", b"SDrec2=enable")
    return real(name)


class Replay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    answers = {}

    def log_message(self, fmt, *args):
        pass

    def reply(self, op, challenge=False):
        status, name, change = self.answers.get(op, (404, None, None))
        data = answer(name, change) if name else b""
        if challenge or status == 401:
            status = 401
            data = real("ipro-getinfo-401.html") if op == "getinfo" else data
        self.send_response(status)
        if status == 401:
            # Challenged as a camera does; the answer is not checked here
            # (the simulator's tests check Digest itself).
            self.send_header("WWW-Authenticate",
                             'Digest realm="replay", qop="auth", nonce="%s", algorithm=MD5'
                             % os.urandom(8).hex())
        self.send_header("Content-Type", "text/html" if op == "getinfo"
                         else "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        if not challenge:
            self.server.seen.append(op)

    def do_GET(self):
        if not self.path.startswith("/cgi-bin/getinfo"):
            return self.reply("?")
        return self.reply("getinfo", challenge="Authorization" not in self.headers)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        if not body and "Authorization" not in self.headers:
            # libcurl's first, empty POST under Digest: it expects the challenge.
            return self.reply("?", challenge=True)
        m = re.search(r"<(?:\w+:)?Body[^>]*>\s*<(?:\w+:)?(\w+)", body)
        self.reply(m.group(1) if m else "?")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@unittest.skipUnless(os.path.isdir(REAL), f"no recorded camera answers at {REAL} "
                                          "(set FW_REAL_ONVIF)")
class RealCameras(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-real-onvif-")
        cls.servers = {}
        net = fwtest.LAB_NET
        cams = CAMERAS
        for site, answers in cams.items():
            handler = type(f"Replay{site}", (Replay,), {"answers": answers})
            srv = Server((f"127.{net}.9.{int(site)}", PORT), handler)
            srv.seen = []
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            cls.servers[site] = srv

        def edit(data):
            fwtest.fast_probes(data, camera="2s", timeout="1500ms")  # room on a loaded machine
            for s in data["sites"]:
                if s["id"] in cams:
                    s["camera"].update(address=f"127.{net}.9.{int(s['id'])}", port=PORT,
                                       auth="digest")
                    s["camera"].pop("scheme", None)
            # Where the CGI is to speak, the configured model is the file's.
            for s in data["sites"]:
                if s["id"] in ("12", "13", "14", "15"):
                    s["camera"]["model"] = texts("axis-GetDeviceInformation.xml", "Model")[0]
        cls.config = fwtest.lab_config(os.path.join(cls.tmp, "fieldwatch.yaml"), edit)
        # The routers and the VPN of the simulated field: a camera behind a
        # router that does not answer would be "unreachable", not judged.
        # (Its own cameras stay at the lab's addresses, unused.)
        field_config = fwtest.lab_config(os.path.join(cls.tmp, "field.yaml"))
        cls.field = Field(field_config, fwtest.CREDENTIALS, os.path.join(cls.tmp, "field"))
        cls.daemon = None
        try:
            cls.field.up()
            cls.daemon = fwtest.Daemon(cls.tmp, cls.config)
            cls.daemon.messages("READY=1", timeout=20)
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.daemon:
                rc = cls.daemon.stop()
                assert rc == 0, f"fieldwatchd exited {rc}; log:\n{cls.daemon.log()[-3000:]}"
        finally:
            cls.field.down()
            for srv in cls.servers.values():
                srv.shutdown()
                srv.server_close()
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    def device(self, site, pred, what):
        def check():
            d = self.daemon.status().get(f"{site}-camera")
            return d if d and pred(d) else None
        try:
            return fwtest.wait_for(check, 30, what=f"{site}-camera: {what}")
        except AssertionError as e:
            raise AssertionError(f"{e}; now {self.daemon.status().get(f'{site}-camera')!r}; "
                                 f"asked {self.servers[site].seen[-8:]}") from None

    def test_identity_and_clock(self):
        cams = CAMERAS
        for site in ("01", "02", "03", "04", "05", "06", "07"):
            with self.subTest(site=site):
                devinfo = cams[site]["GetDeviceInformation"][1]
                model = texts(devinfo, "Model")[0]
                d = self.device(site, lambda d: d["values"].get("model") == model,
                                f"model {model}")
                v = d["values"]
                self.assertEqual(v["firmware"], texts(devinfo, "FirmwareVersion")[0])
                self.assertEqual(v["serial"], texts(devinfo, "SerialNumber")[0])
                # The recorded clock is years behind: the skew says by how much.
                when = utc_of(cams[site]["GetSystemDateAndTime"][1])
                want = when.timestamp() - datetime.datetime.now().timestamp()
                self.assertAlmostEqual(v["clock_skew"], want, delta=60)
                self.assertEqual(d["state"], "degraded")
                self.assertIn("clock skew", d["reason"])

    def test_soap_faults(self):
        for site, name in (("08", "hikvision-Fault-ActionNotSupported.xml"),
                           ("09", "hikvision-Fault-NotAuthorized.xml"),
                           ("10", "hikvision-Fault-ActionNotSupported-2CD2143G0.xml")):
            with self.subTest(site=site):
                code, sub = texts(name, "Value")[:2]
                reason = texts(name, "Text")[0]
                d = self.device(site, lambda d: d["state"] == "down", "down")
                self.assertIn(f"SOAP fault {code} / {sub}", d["reason"])
                # The reason's text, as much as the probe keeps of it.
                self.assertIn(reason[:60], d["reason"])

    def test_an_answer_to_another_question(self):
        d = self.device("11", lambda d: d["state"] == "down", "down")
        self.assertIn("unexpected answer (no GetSystemDateAndTimeResponse)", d["reason"])

    def test_ipro_getinfo_as_it_is(self):
        body = real("ipro-getinfo.txt")
        self.assertTrue(body.startswith(b"\xef\xbb\xbf\r\n"), body[:10])  # what we replay
        self.assertGreater(body.count(b"\r\n"), 70)
        d = self.device("12", lambda d: "SD recording" in (d["reason"] or ""), "SD reason")
        self.assertEqual(d["state"], "degraded")
        self.assertEqual(d["reason"], "SD recording off (SDrec=disable, SDrec2=disable)")
        self.assertEqual(d["values"]["sd"], "disable")
        self.assertIn("getinfo", self.servers["12"].seen)

    def test_ipro_401_page(self):
        d = self.device("13", lambda d: "getinfo" in (d["reason"] or ""), "getinfo reason")
        self.assertEqual(d["reason"], "getinfo: authentication rejected (HTTP 401)")

    def test_panasonic_aw_pairs_on_one_line(self):
        d = self.device("14", lambda d: "SD recording" in (d["reason"] or ""), "SD reason")
        self.assertEqual(d["reason"], "SD recording off (SDrec=disable, SDrec2=disable)")

    def test_a_camera_that_is_fine(self):
        d = self.device("15", lambda d: d["state"] == "up" and d["values"].get("sd"), "up")
        v = d["values"]
        self.assertEqual(v["sd"], "enable (stream 2)")
        self.assertEqual(v["serial"], texts("axis-GetDeviceInformation.xml", "SerialNumber")[0])
        self.assertLess(abs(v["clock_skew"]), 5)
        self.assertLess(v["recording_lag"], 60)
        self.assertIn("GetRecordingSummary", self.servers["15"].seen)
        self.assertEqual(json.loads(json.dumps(d)), d)


if __name__ == "__main__":
    unittest.main(verbosity=2)
