#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Tests of the ONVIF camera simulator itself (tests/sim/onvif_sim.py): the
protocol it speaks, its authentication rules, every fault's observable effect
and the control API. The clients here are written with http.client, socket
and hashlib only, so that the simulator is checked against the specifications
and not against itself.

Run from anywhere: /usr/bin/python3 tests/test_onvif_sim.py
"""

import base64
import hashlib
import http.client
import io
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIM = os.path.join(ROOT, "tests", "sim", "onvif_sim.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable

NS = {
    "env": "http://www.w3.org/2003/05/soap-envelope",
    "tds": "http://www.onvif.org/ver10/device/wsdl",
    "tt": "http://www.onvif.org/ver10/schema",
    "tse": "http://www.onvif.org/ver10/search/wsdl",
    "ter": "http://www.onvif.org/ver10/error",
    "tev": "http://www.onvif.org/ver10/events/wsdl",
    "wsnt": "http://docs.oasis-open.org/wsn/b-2",
    "wsa": "http://www.w3.org/2005/08/addressing",
    "wstop": "http://docs.oasis-open.org/wsn/t-1",
    "wsrf-rw": "http://docs.oasis-open.org/wsrf/rw-2",
}
TNS1 = "http://www.onvif.org/ver10/topics"
TNSIPRO1 = "http://i-pro.com/2021/onvif/event/topics"
CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
PW_DIGEST = ("http://docs.oasis-open.org/wss/2004/01/"
             "oasis-200401-wss-username-token-profile-1.0#PasswordDigest")
PW_TEXT = ("http://docs.oasis-open.org/wss/2004/01/"
           "oasis-200401-wss-username-token-profile-1.0#PasswordText")
B64 = ("http://docs.oasis-open.org/wss/2004/01/"
       "oasis-200401-wss-soap-message-security-1.0#Base64Binary")
SOAP_CT = "application/soap+xml; charset=utf-8"
DEVICE = "/onvif/device_service"
SEARCH = "/onvif/search_service"
EVENT = "/onvif/event_service"
USER, PASSWORD = "admin", "s3cret-Pa55"
TIMEOUT = 3.0

# Requests written with other prefixes than the simulator's, to prove that it
# reads namespaces, not prefixes.
GSDT = '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
GDI = '<d:GetDeviceInformation xmlns:d="http://www.onvif.org/ver10/device/wsdl"/>'
GRS = '<GetRecordingSummary xmlns="http://www.onvif.org/ver10/search/wsdl"/>'
GS = ('<GetServices xmlns="http://www.onvif.org/ver10/device/wsdl">'
      '<IncludeCapability>true</IncludeCapability></GetServices>')


def envelope(op, header=""):
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://www.w3.org/2003/05/soap-envelope">'
            f'{header}<SOAP-ENV:Body>{op}</SOAP-ENV:Body></SOAP-ENV:Envelope>').encode()


def wsse_header(created=None, nonce=None, password=PASSWORD, user=USER, ptype=PW_DIGEST,
                with_nonce=True, with_created=True):
    nonce = nonce if nonce is not None else os.urandom(16)
    created = created or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    if ptype == PW_DIGEST:
        pw = base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode())
                              .digest()).decode()
    else:
        pw = password
    parts = [f"<o:Username>{user}</o:Username>", f'<o:Password Type="{ptype}">{pw}</o:Password>']
    if with_nonce:
        parts.append(f'<o:Nonce EncodingType="{B64}">{base64.b64encode(nonce).decode()}</o:Nonce>')
    if with_created:
        parts.append(f"<u:Created>{created}</u:Created>")
    return (f'<SOAP-ENV:Header><o:Security xmlns:o="{WSSE}" xmlns:u="{WSU}" '
            'SOAP-ENV:mustUnderstand="1"><o:UsernameToken>' + "".join(parts)
            + "</o:UsernameToken></o:Security></SOAP-ENV:Header>")


def utc_text(ts):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def request(cam, method, path, body=b"", headers=None, timeout=TIMEOUT):
    """(status, headers, body) of one request on a new connection."""
    conn = http.client.HTTPConnection(cam["address"], cam["port"], timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def soap(cam, op, path=DEVICE, header="", extra=None, timeout=TIMEOUT):
    headers = {"Content-Type": SOAP_CT}
    headers.update(extra or {})
    return request(cam, "POST", path, envelope(op, header), headers, timeout)


def parse_ns(body):
    """(root, {prefix: uri}) of an XML document, to resolve QName values."""
    nsmap = {}
    root = None
    for event, item in ET.iterparse(io.BytesIO(body), events=("start-ns", "start")):
        if event == "start-ns":
            nsmap[item[0]] = item[1]
        elif root is None:
            root = item
    return root, nsmap


def qname(text, nsmap):
    prefix, _, local = text.strip().partition(":")
    return nsmap.get(prefix), local


def soap_fault_of(body):
    """(code, subcode, reason, lang) of a SOAP 1.2 fault, QNames resolved."""
    root, nsmap = parse_ns(body)
    fault = root.find("env:Body/env:Fault", NS)
    code = qname(fault.find("env:Code/env:Value", NS).text, nsmap)
    sub = fault.find("env:Code/env:Subcode/env:Value", NS)
    text = fault.find("env:Reason/env:Text", NS)
    return (code, qname(sub.text, nsmap) if sub is not None else None, text.text,
            text.get("{http://www.w3.org/XML/1998/namespace}lang"))


def digest_challenges(headers):
    out = {}
    for value in headers.get_all("WWW-Authenticate") or []:
        scheme, _, rest = value.partition(" ")
        if scheme.lower() != "digest":
            continue
        params = {k.lower(): a or b for k, a, b in re.findall(r'(\w+)=(?:"([^"]*)"|([^\s,]+))', rest)}
        out[params.get("algorithm", "MD5").upper()] = params
    return out


def digest_authorization(ch, method, uri, nc=1, password=PASSWORD, user=USER, cnonce="a1b2c3d4"):
    algorithm = ch.get("algorithm", "MD5")
    name = "sha256" if algorithm.upper() == "SHA-256" else "md5"

    def h(text):
        return hashlib.new(name, text.encode()).hexdigest()
    ncs = f"{nc:08x}"
    ha1, ha2 = h(f"{user}:{ch['realm']}:{password}"), h(f"{method}:{uri}")
    response = h(f"{ha1}:{ch['nonce']}:{ncs}:{cnonce}:auth:{ha2}")
    return (f'Digest username="{user}", realm="{ch["realm"]}", nonce="{ch["nonce"]}", '
            f'uri="{uri}", algorithm={algorithm}, qop=auth, nc={ncs}, cnonce="{cnonce}", '
            f'response="{response}", opaque="{ch["opaque"]}"')


def challenge(cam, method="POST", path=DEVICE, algorithm="MD5"):
    """A fresh Digest challenge, the way libcurl gets one (empty probe)."""
    status, headers, _ = request(cam, method, path, b"", {"Content-Type": SOAP_CT})
    assert status == 401, status
    return digest_challenges(headers)[algorithm]


def digest_soap(cam, op, path=DEVICE, password=PASSWORD, algorithm="MD5"):
    ch = challenge(cam, path=path, algorithm=algorithm)
    return soap(cam, op, path, extra={"Authorization": digest_authorization(
        ch, "POST", path, password=password)})


def digest_get(cam, path, password=PASSWORD):
    ch = challenge(cam, "GET", path)
    return request(cam, "GET", path, headers={"Authorization": digest_authorization(
        ch, "GET", path, password=password)})


def text_of(body, path):
    root, _ = parse_ns(body)
    el = root.find(path, NS)
    assert el is not None, (path, body[:300])
    return el.text


def dt_of(body, which):
    """Seconds since the epoch of a tt:UTCDateTime / tt:LocalDateTime."""
    root, _ = parse_ns(body)
    base = root.find(f".//tds:SystemDateAndTime/tt:{which}", NS)
    get = {name: int(base.find(f".//tt:{name}", NS).text)
           for name in ("Year", "Month", "Day", "Hour", "Minute", "Second")}
    import calendar
    return calendar.timegm((get["Year"], get["Month"], get["Day"], get["Hour"],
                            get["Minute"], get["Second"]))


def xs_time(text):
    import calendar
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def getinfo_fields(body):
    text = body.decode()
    assert "<HTML>" in text, text
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


class Sim:
    """One simulator process, started by the test and stopped by PID."""

    def __init__(self, tmp, cameras, *extra):
        self.tmp = tmp
        self.cameras_path = os.path.join(tmp, "cameras.json")
        self.ready = os.path.join(tmp, "ready.json")
        self.log = os.path.join(tmp, "requests.log")
        with open(self.cameras_path, "w") as f:
            json.dump(cameras, f)
        self.stderr = open(os.path.join(tmp, "stderr"), "w+b")
        self.proc = subprocess.Popen(
            [PYTHON, SIM, "--cameras", self.cameras_path, "--control", "127.0.0.1:0",
             "--ready-file", self.ready, "--log", self.log, *extra],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.stderr)
        self.info = None

    def wait_ready(self, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.path.exists(self.ready):
                with open(self.ready) as f:
                    self.info = json.load(f)
                host, _, port = self.info["control"].rpartition(":")
                self.control = (host, int(port))
                return self.info
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        raise AssertionError(f"simulator not ready; stderr: {self.errors()!r}")

    def errors(self):
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def api(self, method, path, body=None):
        conn = http.client.HTTPConnection(*self.control, timeout=TIMEOUT)
        try:
            data = json.dumps(body).encode() if body is not None else None
            conn.request(method, path, body=data, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            return resp.status, json.loads(resp.read())
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.stderr.close()
        return self.proc.returncode


def free_port(address):
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


class SimulatorTest(unittest.TestCase):
    """Shared simulator with five cameras; every test starts from POST /reset."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="onvif-sim-test-")
        for attempt in range(3):    # another block if a port was taken meanwhile
            cls.sim = Sim(cls.tmp.name, cls.cameras(), "--idle-timeout", "1.5")
            try:
                cls.sim.wait_ready()
                break
            except AssertionError:
                if cls.sim.stop() != 1 or attempt == 2:
                    raise
        cls.cam = {c["id"]: c for c in cls.sim.info["cameras"]}

    @staticmethod
    def cameras():
        """Five cameras on a random loopback block, one port for all but 05."""
        base = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}"
        port = free_port(f"{base}.1")
        modes = {"01": "any", "02": "any", "03": "digest", "04": "wsse", "05": "any"}
        cameras = [{"id": cid, "address": f"{base}.{i + 1}", "port": port,
                    "username": USER, "password": PASSWORD, "auth": mode}
                   for i, (cid, mode) in enumerate(modes.items())]
        cameras[4]["port"] = 0          # an ephemeral port, reported back
        cameras[4]["serial"] = "ABC1234567"
        return cameras

    @classmethod
    def tearDownClass(cls):
        rc = cls.sim.stop()
        cls.tmp.cleanup()
        assert rc == 0, f"simulator exit status {rc}"

    def setUp(self):
        status, _ = self.sim.api("POST", "/reset")
        self.assertEqual(status, 200)

    def fault(self, cid, name, **params):
        status, state = self.sim.api("POST", f"/cameras/{cid}", {"fault": name, **params})
        self.assertEqual(status, 200, state)
        return state

    def state(self, cid, **changes):
        if changes:
            status, state = self.sim.api("POST", f"/cameras/{cid}/state", changes)
            self.assertEqual(status, 200, state)
            return state
        return self.sim.api("GET", f"/cameras/{cid}")[1]

    def camera_offset(self, cam):
        """The camera clock minus ours, as a client learns it (GetSystemDateAndTime)."""
        status, _, body = soap(cam, GSDT)
        self.assertEqual(status, 200)
        return dt_of(body, "UTCDateTime") - time.time()

    def assertNotAuthorized(self, result):
        status, headers, body = result
        self.assertEqual(status, 400, body[:300])
        self.assertTrue(headers["Content-Type"].startswith("application/soap+xml"))
        code, sub, _, _ = soap_fault_of(body)
        self.assertEqual(code, (NS["env"], "Sender"))
        self.assertEqual(sub, (NS["ter"], "NotAuthorized"))
        self.assertIsNone(headers.get("WWW-Authenticate"))


class ProtocolTest(SimulatorTest):

    def test_get_system_date_and_time_needs_no_auth(self):
        status, headers, body = soap(self.cam["01"], GSDT)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], SOAP_CT)
        self.assertEqual(text_of(body, ".//tt:DateTimeType"), "NTP")
        self.assertEqual(text_of(body, ".//tt:DaylightSavings"), "false")
        self.assertEqual(text_of(body, ".//tt:TimeZone/tt:TZ"), "JST-9")
        utc = dt_of(body, "UTCDateTime")
        self.assertLess(abs(utc - time.time()), 2)
        self.assertEqual(dt_of(body, "LocalDateTime") - utc, 9 * 3600)
        self.assertEqual(self.state("01")["auth_challenge"], 0)

    def test_get_services_lists_device_and_search(self):
        cam = self.cam["05"]
        self.assertNotEqual(cam["port"], 0)
        status, _, body = soap(cam, GS)
        self.assertEqual(status, 200)
        root, _ = parse_ns(body)
        xaddrs = {s.find("tds:Namespace", NS).text: s.find("tds:XAddr", NS).text
                  for s in root.iter(f"{{{NS['tds']}}}Service")}
        base = f"http://{cam['address']}:{cam['port']}"
        self.assertEqual(xaddrs, {NS["tds"]: base + DEVICE, NS["tse"]: base + SEARCH,
                                  NS["tev"]: base + EVENT})
        caps = root.find(".//tev:Capabilities", NS)
        self.assertEqual((caps.get("WSPullPointSupport"), caps.get("MaxPullPoints")), ("true", "6"))
        security = root.find(".//tds:Security", NS)
        self.assertEqual((security.get("HttpDigest"), security.get("UsernameToken")),
                         ("true", "true"))

    def test_device_information_with_digest_md5(self):
        status, _, body = digest_soap(self.cam["05"], GDI)
        self.assertEqual(status, 200, body)
        root, _ = parse_ns(body)
        info = root.find(".//tds:GetDeviceInformationResponse", NS)
        self.assertEqual([local.tag.split("}")[1] for local in info],
                         ["Manufacturer", "Model", "FirmwareVersion", "SerialNumber",
                          "HardwareId"])
        self.assertEqual(info.find("tds:Model", NS).text, "WV-S2536LNUX")
        self.assertEqual(info.find("tds:Manufacturer", NS).text, "i-PRO")
        self.assertEqual(info.find("tds:SerialNumber", NS).text, "ABC1234567")
        state = self.state("05")
        self.assertEqual((state["auth_ok"], state["last_auth"], state["last_digest_algorithm"]),
                         (1, "digest", "MD5"))

    def test_challenge_offers_md5_then_sha256(self):
        status, headers, body = soap(self.cam["01"], GDI)
        self.assertEqual(status, 401)
        values = headers.get_all("WWW-Authenticate")
        self.assertEqual(len(values), 2)
        self.assertIn("algorithm=MD5", values[0])
        self.assertIn("algorithm=SHA-256", values[1])
        ch = digest_challenges(headers)["MD5"]
        self.assertEqual(ch["qop"], "auth")
        self.assertTrue(ch["realm"] and ch["nonce"] and ch["opaque"])
        self.assertIn(b"401 Unauthorized", body)
        self.assertEqual(self.state("01")["auth_challenge"], 1)
        status, _, _ = digest_soap(self.cam["01"], GDI, algorithm="SHA-256")
        self.assertEqual(status, 200)
        self.assertEqual(self.state("01")["last_digest_algorithm"], "SHA-256")

    def test_digest_wrong_password_is_401(self):
        status, headers, _ = digest_soap(self.cam["01"], GDI, password="wrong")
        self.assertEqual(status, 401)
        self.assertIn("MD5", digest_challenges(headers))
        state = self.state("01")
        self.assertEqual((state["auth_ok"], state["auth_fail"]), (0, 1))
        self.assertIn("wrong response", state["last_auth_error"])

    def test_digest_nonce_reuse_needs_increasing_nc(self):
        cam = self.cam["01"]
        ch = challenge(cam)

        def send(nc):
            return soap(cam, GDI, extra={"Authorization": digest_authorization(
                ch, "POST", DEVICE, nc=nc)})[0]
        self.assertEqual(send(1), 200)
        self.assertEqual(send(2), 200)
        self.assertEqual(send(2), 401)      # replayed nc
        self.assertEqual(send(1), 401)
        self.assertEqual(send(3), 200)
        self.assertEqual(self.state("01")["last_auth_error"], "digest: replayed nc")

    def test_digest_unknown_nonce_is_stale(self):
        cam = self.cam["01"]
        ch = dict(challenge(cam), nonce="00112233445566778899aabbccddeeff")
        status, headers, _ = soap(cam, GDI, extra={
            "Authorization": digest_authorization(ch, "POST", DEVICE)})
        self.assertEqual(status, 401)
        self.assertEqual(digest_challenges(headers)["MD5"].get("stale"), "true")
        # A nonce of another camera is unknown here too.
        other = challenge(self.cam["02"])
        other["opaque"] = ch["opaque"]
        status, headers, _ = soap(cam, GDI, extra={
            "Authorization": digest_authorization(other, "POST", DEVICE)})
        self.assertEqual((status, digest_challenges(headers)["MD5"].get("stale")), (401, "true"))

    def test_digest_uri_must_match(self):
        cam = self.cam["01"]
        ch = challenge(cam)
        status, _, _ = soap(cam, GDI, extra={
            "Authorization": digest_authorization(ch, "POST", SEARCH)})
        self.assertEqual(status, 401)
        self.assertIn("uri", self.state("01")["last_auth_error"])

    def test_empty_probe_like_libcurl(self):
        cam = self.cam["01"]
        ch = challenge(cam)                 # 401 for the Content-Length: 0 probe
        status, _, _ = request(cam, "POST", DEVICE, b"", {
            "Content-Type": SOAP_CT,
            "Authorization": digest_authorization(ch, "POST", DEVICE)})
        self.assertEqual(status, 400)       # authenticated, but no SOAP message
        self.assertEqual(self.state("01")["requests"], {})

    def test_recording_summary(self):
        status, _, body = digest_soap(self.cam["01"], GRS, path=SEARCH)
        self.assertEqual(status, 200, body)
        until = text_of(body, ".//tse:Summary/tt:DataUntil")
        self.assertRegex(until, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertLess(abs(xs_time(until) - time.time()), 3)
        self.assertLess(xs_time(text_of(body, ".//tse:Summary/tt:DataFrom")), xs_time(until))
        self.assertEqual(text_of(body, ".//tse:Summary/tt:NumberRecordings"), "1")

    def test_recording_summary_needs_auth_and_the_search_endpoint(self):
        self.assertEqual(soap(self.cam["01"], GRS, path=SEARCH)[0], 401)
        status, _, body = soap(self.cam["01"], GRS, path=DEVICE)
        self.assertEqual(status, 500)
        code, sub, _, _ = soap_fault_of(body)
        self.assertEqual((code, sub), ((NS["env"], "Receiver"), (NS["ter"], "ActionNotSupported")))

    def test_getinfo_cgi(self):
        cam = self.cam["01"]
        status, headers, body = request(cam, "GET", "/cgi-bin/getinfo?FILE=1")
        self.assertEqual(status, 401)
        self.assertIn(b"401 Unauthorized", body)
        status, headers, body = digest_get(cam, "/cgi-bin/getinfo?FILE=1")
        self.assertEqual(status, 200)
        self.assertTrue(body.startswith(b"\xef\xbb\xbf\r\n<HTML>\r\n")
                        and body.endswith(b"</HTML>\r\n"), body[:40])
        fields = getinfo_fields(body)
        self.assertEqual((fields["SERIAL"], fields["NAME"], fields["PRODUCT_NAME"]),
                         ("SIM0000001", "WV-S2536LNUX", "WV-S2536LNUX"))
        self.assertEqual((fields["SDrec"], fields["SDrec2"], fields["VERSION"]),
                         ("enable", "disable", "2.30"))
        self.assertRegex(fields["MAC"], r"^([0-9A-F]{2}-){5}[0-9A-F]{2}$")
        self.assertIn("SDrec2", fields)
        # a GET names its operation, so each 401 round counts too
        self.assertEqual(self.state("01")["requests"], {"getinfo": 3})

    def test_unknown_operation(self):
        status, _, body = soap(self.cam["01"], '<GetFrobnicator xmlns="urn:example"/>')
        self.assertEqual(status, 500)
        code, sub, reason, lang = soap_fault_of(body)
        self.assertEqual((code, sub), ((NS["env"], "Receiver"), (NS["ter"], "ActionNotSupported")))
        self.assertEqual(lang, "en")

    def test_wrong_method_content_type_and_path(self):
        cam = self.cam["01"]
        status, headers, _ = request(cam, "GET", DEVICE)
        self.assertEqual((status, headers["Allow"]), (405, "POST"))
        status, _, _ = request(cam, "POST", DEVICE, envelope(GSDT), {"Content-Type": "text/xml"})
        self.assertEqual(status, 415)
        status, _, _ = request(cam, "POST", DEVICE, envelope(GSDT), {
            "Content-Type": 'application/soap+xml; charset=utf-8; '
                            'action="http://www.onvif.org/ver10/device/wsdl/GetSystemDateAndTime"'})
        self.assertEqual(status, 200)
        self.assertEqual(request(cam, "GET", "/index.html")[0], 404)

    def test_malformed_and_non_soap12_requests(self):
        cam = self.cam["01"]
        status, _, body = request(cam, "POST", DEVICE, b"<s:Envelope><oops", {"Content-Type": SOAP_CT})
        self.assertEqual(status, 400)
        code, sub, _, _ = soap_fault_of(body)
        self.assertEqual((code, sub), ((NS["env"], "Sender"), (NS["ter"], "WellFormed")))
        soap11 = (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                  b'<s:Body>' + GSDT.encode() + b'</s:Body></s:Envelope>')
        status, _, body = request(cam, "POST", DEVICE, soap11, {"Content-Type": SOAP_CT})
        self.assertEqual(status, 500)
        self.assertEqual(soap_fault_of(body)[0], (NS["env"], "VersionMismatch"))

    def test_http_limits(self):
        cam = self.cam["01"]
        status, _, _ = request(cam, "POST", DEVICE, b"x" * (64 * 1024 + 1), {"Content-Type": SOAP_CT})
        self.assertEqual(status, 413)
        status, _, _ = request(cam, "GET", DEVICE, headers={"X-Big": "y" * 20000})
        self.assertEqual(status, 431)

    def test_keep_alive_and_expect_continue(self):
        cam = self.cam["01"]
        body = envelope(GSDT)
        with socket.create_connection((cam["address"], cam["port"]), timeout=TIMEOUT) as s:
            head = (f"POST {DEVICE} HTTP/1.1\r\nHost: x\r\nContent-Type: {SOAP_CT}\r\n"
                    f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\n\r\n").encode()
            s.sendall(head)
            self.assertEqual(s.recv(100), b"HTTP/1.1 100 Continue\r\n\r\n")
            s.sendall(body)
            first = read_response(s)
            s.sendall(head.replace(b"Expect: 100-continue\r\n", b"") + body)
            second = read_response(s)
        self.assertTrue(first.startswith(b"HTTP/1.1 200 "), first[:80])
        self.assertTrue(second.startswith(b"HTTP/1.1 200 "), second[:80])
        state = self.state("01")
        self.assertEqual((state["connections"], state["requests"]),
                         (1, {"GetSystemDateAndTime": 2}))

    def test_idle_connection_is_closed(self):
        cam = self.cam["02"]
        with socket.create_connection((cam["address"], cam["port"]), timeout=TIMEOUT) as s:
            started = time.monotonic()
            self.assertEqual(s.recv(10), b"")     # the simulator closed it
            self.assertLess(time.monotonic() - started, 2.9)


def read_response(sock):
    """One HTTP response with a Content-Length, read from a raw socket."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, _, rest = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    while len(rest) < length:
        rest += sock.recv(65536)
    return head + b"\r\n\r\n" + rest


class WsseTest(SimulatorTest):

    def test_correct_token_accepted(self):
        status, _, body = soap(self.cam["01"], GDI, header=wsse_header())
        self.assertEqual(status, 200, body)
        self.assertEqual(text_of(body, ".//tds:Model"), "WV-S2536LNUX")
        state = self.state("01")
        self.assertEqual((state["auth_ok"], state["last_auth"], state["both_auth"]),
                         (1, "wsse", 0))

    def test_wrong_password(self):
        self.assertNotAuthorized(soap(self.cam["01"], GDI, header=wsse_header(password="nope")))
        self.assertIn("wrong digest", self.state("01")["last_auth_error"])

    def test_replayed_nonce(self):
        header = wsse_header()
        self.assertEqual(soap(self.cam["01"], GDI, header=header)[0], 200)
        self.assertNotAuthorized(soap(self.cam["01"], GDI, header=header))
        self.assertEqual(self.state("01")["last_auth_error"], "wsse: Nonce replayed")

    def test_stale_or_future_created(self):
        for offset in (-30, 30):
            with self.subTest(offset=offset):
                header = wsse_header(created=utc_text(time.time() + offset))
                self.assertNotAuthorized(soap(self.cam["01"], GDI, header=header))
                self.assertIn("off the camera clock", self.state("01")["last_auth_error"])

    def test_token_defects(self):
        cases = {
            "PasswordText": wsse_header(ptype=PW_TEXT),
            "no Nonce": wsse_header(with_nonce=False),
            "no Created": wsse_header(with_created=False),
            "unknown user": wsse_header(user="operator"),
        }
        for name, header in cases.items():
            with self.subTest(name):
                self.assertNotAuthorized(soap(self.cam["01"], GDI, header=header))
        self.assertEqual(self.state("01")["auth_fail"], len(cases))

    def test_skewed_camera_needs_camera_time(self):
        cam = self.cam["01"]
        self.state("01", clock_skew=3600)
        self.assertNotAuthorized(soap(cam, GDI, header=wsse_header()))
        offset = self.camera_offset(cam)
        self.assertAlmostEqual(offset, 3600, delta=2)
        header = wsse_header(created=utc_text(time.time() + offset))
        self.assertEqual(soap(cam, GDI, header=header)[0], 200)

    def test_auth_modes(self):
        # digest-only camera: a UsernameToken alone is refused.
        self.assertNotAuthorized(soap(self.cam["03"], GDI, header=wsse_header()))
        self.assertEqual(digest_soap(self.cam["03"], GDI)[0], 200)
        # wsse-only camera: no credentials -> 400 NotAuthorized, never a challenge.
        self.assertNotAuthorized(soap(self.cam["04"], GDI))
        self.assertEqual(soap(self.cam["04"], GDI, header=wsse_header())[0], 200)
        status, _, body = soap(self.cam["04"], GS)
        security = parse_ns(body)[0].find(".//tds:Security", NS)
        self.assertEqual((security.get("HttpDigest"), security.get("UsernameToken")),
                         ("false", "true"))

    def test_both_credentials_are_counted(self):
        cam = self.cam["01"]
        ch = challenge(cam)
        status, _, _ = soap(cam, GDI, header=wsse_header(), extra={
            "Authorization": digest_authorization(ch, "POST", DEVICE)})
        self.assertEqual(status, 200)
        state = self.state("01")
        self.assertEqual((state["both_auth"], state["last_auth"]), (1, "both"))


class FaultTest(SimulatorTest):

    def test_down_refuses_connections_and_clearing_rebinds(self):
        cam = self.cam["01"]
        self.fault("01", "down")
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((cam["address"], cam["port"]), timeout=TIMEOUT).close()
        self.assertEqual(soap(self.cam["02"], GSDT)[0], 200)
        state = self.fault("01", None)
        self.assertTrue(state["listening"])
        self.assertEqual(soap(cam, GSDT)[0], 200)

    def test_silent_holds_while_others_answer(self):
        self.fault("01", "silent")
        outcome = {}

        def client():
            started = time.monotonic()
            try:
                soap(self.cam["01"], GSDT, timeout=1.0)
                outcome["result"] = "answered"
            except (TimeoutError, socket.timeout):
                outcome["result"] = "timeout"
            outcome["elapsed"] = time.monotonic() - started
        thread = threading.Thread(target=client)
        thread.start()
        time.sleep(0.2)                      # the silent request is in flight
        started = time.monotonic()
        status, _, _ = soap(self.cam["02"], GSDT)
        self.assertEqual(status, 200)
        self.assertLess(time.monotonic() - started, 0.5)
        thread.join(5)
        self.assertEqual(outcome["result"], "timeout")
        self.assertGreaterEqual(outcome["elapsed"], 0.95)
        self.assertEqual(self.state("01")["requests"], {"GetSystemDateAndTime": 1})

    def test_slow(self):
        self.fault("01", "slow", delay=0.6)
        started = time.monotonic()
        status, _, _ = soap(self.cam["01"], GSDT)
        self.assertEqual(status, 200)
        self.assertGreaterEqual(time.monotonic() - started, 0.6)

    def test_http500(self):
        self.fault("01", "http500")
        status, headers, body = soap(self.cam["01"], GSDT)
        self.assertEqual(status, 500)
        self.assertFalse(headers["Content-Type"].startswith("application/soap+xml"))

    def test_soap_fault(self):
        self.fault("01", "soap_fault")
        self.assertEqual(soap(self.cam["01"], GDI)[0], 401)      # after authentication
        status, headers, body = digest_soap(self.cam["01"], GDI)
        self.assertEqual(status, 500)
        self.assertTrue(headers["Content-Type"].startswith("application/soap+xml"))
        code, sub, reason, lang = soap_fault_of(body)
        self.assertEqual(code, (NS["env"], "Receiver"))
        self.assertEqual(sub, (NS["ter"], "Action"))
        self.assertEqual((reason, lang), ("Action Failed", "en"))

    def test_garbage_xml(self):
        self.fault("01", "garbage_xml")
        status, headers, body = soap(self.cam["01"], GSDT)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], SOAP_CT)
        with self.assertRaises(ET.ParseError):
            ET.fromstring(body)

    def test_huge_body(self):
        self.fault("01", "huge_body")
        status, headers, body = soap(self.cam["01"], GSDT, timeout=10)
        self.assertEqual(status, 200)
        self.assertEqual(len(body), 8 * 1024 * 1024)
        self.assertEqual(int(headers["Content-Length"]), len(body))
        ET.fromstring(body)                 # padded inside a comment: still XML
        self.fault("01", "huge_body", size=100000)
        self.assertEqual(len(soap(self.cam["01"], GSDT)[2]), 100000)

    def test_huge_body_endless(self):
        self.fault("01", "huge_body", endless=True)
        conn = http.client.HTTPConnection(self.cam["01"]["address"], self.cam["01"]["port"],
                                          timeout=TIMEOUT)
        try:
            conn.request("POST", DEVICE, body=envelope(GSDT), headers={"Content-Type": SOAP_CT})
            resp = conn.getresponse()
            self.assertIsNone(resp.getheader("Content-Length"))
            got = 0
            while got < 16 * 1024 * 1024:
                got += len(resp.read(1 << 20))
        finally:
            conn.close()
        self.assertEqual(soap(self.cam["02"], GSDT)[0], 200)

    def test_auth_reject(self):
        self.fault("01", "auth_reject")
        self.assertEqual(soap(self.cam["01"], GSDT)[0], 200)      # PRE_AUTH still works
        self.assertEqual(digest_soap(self.cam["01"], GDI)[0], 401)
        self.assertNotAuthorized(soap(self.cam["01"], GDI, header=wsse_header()))
        self.assertEqual(digest_get(self.cam["01"], "/cgi-bin/getinfo?FILE=1")[0], 401)
        self.assertEqual(self.state("01")["auth_fail"], 3)

    def test_wrong_model(self):
        self.fault("01", "wrong_model")
        self.assertEqual(text_of(digest_soap(self.cam["01"], GDI)[2], ".//tds:Model"), "WV-S1111")
        fields = getinfo_fields(digest_get(self.cam["01"], "/cgi-bin/getinfo?FILE=1")[2])
        self.assertEqual(fields["PRODUCT_NAME"], "WV-S1111")

    def test_swapped_serial(self):
        self.fault("01", "swapped_serial", serial="XYZ9876543")
        self.assertEqual(text_of(digest_soap(self.cam["01"], GDI)[2], ".//tds:SerialNumber"),
                         "XYZ9876543")
        fields = getinfo_fields(digest_get(self.cam["01"], "/cgi-bin/getinfo?FILE=1")[2])
        self.assertEqual(fields["SERIAL"], "XYZ9876543")
        self.fault("01", "swapped_serial")
        serial = text_of(digest_soap(self.cam["01"], GDI)[2], ".//tds:SerialNumber")
        self.assertNotEqual(serial, "SIM0000001")

    def test_clock_skew(self):
        self.fault("01", "clock_skew", seconds=-600)
        self.assertAlmostEqual(self.camera_offset(self.cam["01"]), -600, delta=2)
        self.assertAlmostEqual(self.camera_offset(self.cam["02"]), 0, delta=2)

    def test_recording_stopped(self):
        self.fault("01", "recording_stopped")
        first = text_of(digest_soap(self.cam["01"], GRS, path=SEARCH)[2], ".//tt:DataUntil")
        self.assertAlmostEqual(xs_time(first), time.time() - 3600, delta=3)
        time.sleep(1.05)
        body = digest_soap(self.cam["01"], GRS, path=SEARCH)[2]
        self.assertEqual(text_of(body, ".//tt:DataUntil"), first)        # frozen
        self.assertEqual(text_of(body, ".//tt:NumberRecordings"), "1")
        self.state("02", recording_lag=900)
        until = text_of(digest_soap(self.cam["02"], GRS, path=SEARCH)[2], ".//tt:DataUntil")
        self.assertAlmostEqual(xs_time(until), time.time() - 900, delta=3)

    def test_sd_error(self):
        self.fault("01", "sd_error")
        fields = getinfo_fields(digest_get(self.cam["01"], "/cgi-bin/getinfo?FILE=1")[2])
        self.assertEqual(fields["SDrec"], "enable")  # the setting; the card fails
        body = digest_soap(self.cam["01"], GRS, path=SEARCH)[2]
        self.assertEqual(text_of(body, ".//tt:NumberRecordings"), "0")
        self.state("02", sd="stopped")
        fields = getinfo_fields(digest_get(self.cam["02"], "/cgi-bin/getinfo?FILE=1")[2])
        self.assertEqual(fields["SDrec"], "disable")

    def test_trickle(self):
        self.fault("01", "trickle", interval=0.005)
        started = time.monotonic()
        status, _, body = soap(self.cam["01"], GSDT, timeout=20)
        took = time.monotonic() - started
        self.assertEqual(status, 200)
        dt_of(body, "UTCDateTime")          # the whole, normal answer in the end
        self.assertGreater(took, 0.005 * 800)
        # Mid-answer, ending the fault sends the rest at once.
        self.fault("01", "trickle", interval=1)
        with socket.create_connection((self.cam["01"]["address"], self.cam["01"]["port"]),
                                      timeout=TIMEOUT) as s:
            body = envelope(GSDT)
            s.sendall(b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nContent-Type: "
                      + SOAP_CT.encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
            self.assertEqual(s.recv(100), b"H")
            self.sim.api("POST", "/cameras/01", {"fault": None})
            got = b"H"
            while b"</env:Envelope>" not in got:
                chunk = s.recv(65536)
                self.assertTrue(chunk)
                got += chunk
        self.assertTrue(got.startswith(b"HTTP/1.1 200 "))

    def test_hostile_xml(self):
        self.fault("01", "xml_bomb")
        status, headers, body = soap(self.cam["01"], GSDT)
        self.assertEqual((status, headers["Content-Type"]), (200, SOAP_CT))
        self.assertIn(b"<!ENTITY lol9 ", body)
        self.assertLess(len(body), 2048)
        self.fault("01", "xml_external_entity")
        body = soap(self.cam["01"], GSDT)[2]
        self.assertIn(b'<!ENTITY xxe SYSTEM "file:///etc/passwd">', body)
        self.assertIn(b"&xxe;", body)
        self.fault("01", "deep_xml", depth=300)
        status, _, body = soap(self.cam["01"], GSDT)
        self.assertEqual(status, 200)
        root, _ = parse_ns(body)             # well-formed: 300 levels, then the answer
        el = root.find("env:Body", NS)
        for _ in range(300):
            el = el.find("tt:Deep", NS)
        self.assertIsNotNone(el.find("tds:GetSystemDateAndTimeResponse", NS))
        self.fault("01", "deep_xml")
        self.assertEqual(soap(self.cam["01"], GSDT)[2].count(b"<tt:Deep>"), 10000)

    def test_ops_limits_a_fault(self):
        self.fault("01", "http500", ops=["GetDeviceInformation"])
        self.assertEqual(soap(self.cam["01"], GSDT)[0], 200)
        self.assertEqual(soap(self.cam["01"], GDI)[0], 500)


class ControlApiTest(SimulatorTest):

    def test_counters_and_reset(self):
        soap(self.cam["02"], GSDT)
        soap(self.cam["02"], GSDT)
        digest_soap(self.cam["02"], GDI)
        digest_soap(self.cam["02"], GDI, password="bad")
        state = self.state("02")
        self.assertEqual(state["requests"], {"GetSystemDateAndTime": 2, "GetDeviceInformation": 2})
        self.assertEqual((state["auth_ok"], state["auth_fail"], state["auth_challenge"]), (1, 1, 2))
        self.assertEqual(state["last_auth"], "digest")
        self.assertEqual(state["responses"]["200"], 3)
        self.assertEqual(self.state("01")["requests"], {})      # other cameras untouched
        self.assertEqual(self.sim.api("POST", "/reset")[0], 200)
        state = self.state("02")
        self.assertEqual((state["requests"], state["auth_ok"], state["last_auth"]), ({}, 0, None))

    def test_state_changes_and_listing(self):
        state = self.state("01", serial="NEW0000001", model="WV-S2136", clock_skew=30, sd="error")
        self.assertEqual(state["identity"]["serial"], "NEW0000001")
        self.assertEqual(state["state"]["sd"], "error")
        self.assertAlmostEqual(state["clock_offset"], 30, delta=1)
        self.assertEqual(text_of(digest_soap(self.cam["01"], GDI)[2], ".//tds:Model"), "WV-S2136")
        status, listing = self.sim.api("GET", "/cameras")
        self.assertEqual((status, [c["id"] for c in listing]), (200, ["01", "02", "03", "04", "05"]))

    def test_bad_requests(self):
        self.assertEqual(self.sim.api("GET", "/cameras/99")[0], 404)
        self.assertEqual(self.sim.api("POST", "/cameras/01", {"fault": "meteor"})[0], 400)
        self.assertEqual(self.sim.api("POST", "/cameras/01", {"fault": "slow", "delay": "x"})[0], 400)
        self.assertEqual(self.sim.api("POST", "/cameras/01", {"fault": "slow", "dealy": 1})[0], 400)
        self.assertEqual(self.sim.api("POST", "/cameras/01", {"fault": "clock_skew",
                                                              "ops": ["getinfo"]})[0], 400)
        self.assertEqual(self.sim.api("POST", "/cameras/01/state", {"sd": "melted"})[0], 400)
        self.assertEqual(self.sim.api("DELETE", "/reset")[0], 405)

    def test_no_secret_in_api_or_log(self):
        digest_soap(self.cam["01"], GDI)
        soap(self.cam["01"], GDI, header=wsse_header())
        _, listing = self.sim.api("GET", "/cameras")
        self.assertNotIn(PASSWORD, json.dumps(listing))
        with open(self.sim.log) as f:
            log = f.read()
        self.assertIn("op=GetDeviceInformation status=200 auth=digest", log)
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn("response=", log)


# ---------------------------------------------------------------- ONVIF events

TAMPER = ["tns1:VideoSource/GlobalSceneChange/ImagingService",
          "tns1:VideoSource/ImageTooDark/ImagingService",
          "tns1:VideoSource/ImageTooBlurry/ImagingService",
          "tns1:VideoSource/ImageTooBright/ImagingService"]
DEFAULT_TOPICS = TAMPER + ["tns1:Device/HardwareFailure/StorageFailure",
                           "tns1:RecordingConfig/JobState",
                           "tns1:RecordingHistory/Recording/State",
                           "tns1:Device/tnsipro1:SD/Capacity/Decreased"]
PROPERTY_TOPICS = DEFAULT_TOPICS[:-1]       # the i-PRO SD topic is not a property
GSC = TAMPER[0]
GEP = '<GetEventProperties xmlns="http://www.onvif.org/ver10/events/wsdl"/>'


def create_pull_point(termination=None, changed_only=False, filter_expr=None):
    parts = []
    if filter_expr is not None:
        parts.append('<Filter><w:TopicExpression xmlns:w="http://docs.oasis-open.org/wsn/b-2" '
                     f'xmlns:t="{TNS1}" Dialect="{CONCRETE_SET}">{filter_expr}'
                     '</w:TopicExpression></Filter>')
    if termination is not None:
        parts.append(f"<InitialTerminationTime>{termination}</InitialTerminationTime>")
    if changed_only:
        parts.append("<SubscriptionPolicy><ChangedOnly/></SubscriptionPolicy>")
    return ('<CreatePullPointSubscription xmlns="http://www.onvif.org/ver10/events/wsdl">'
            + "".join(parts) + "</CreatePullPointSubscription>")


def pull_messages(timeout="PT1S", limit=10):
    return ('<e:PullMessages xmlns:e="http://www.onvif.org/ver10/events/wsdl">'
            f"<e:Timeout>{timeout}</e:Timeout><e:MessageLimit>{limit}</e:MessageLimit>"
            "</e:PullMessages>")


def renew(termination):
    return ('<n:Renew xmlns:n="http://docs.oasis-open.org/wsn/b-2">'
            f"<n:TerminationTime>{termination}</n:TerminationTime></n:Renew>")


UNSUBSCRIBE = '<Unsubscribe xmlns="http://docs.oasis-open.org/wsn/b-2"/>'


def topic_of(el, nsmap):
    """A wsnt:Topic's text with its prefix resolved to ours (tns1 / tnsipro1)."""
    ns, local = qname(el.text, nsmap)
    ours = {TNS1: "tns1", TNSIPRO1: "tnsipro1"}[ns]
    return f"{ours}:{local}"


def notifications(body):
    """[(topic, operation, {source}, {data}, UtcTime)] of a PullMessagesResponse."""
    root, nsmap = parse_ns(body)
    out = []
    for n in root.iter(f"{{{NS['wsnt']}}}NotificationMessage"):
        topic_el = n.find("wsnt:Topic", NS)
        assert topic_el.get("Dialect") == CONCRETE_SET
        msg = n.find("wsnt:Message/tt:Message", NS)
        items = {part: {i.get("Name"): i.get("Value")
                        for i in msg.findall(f"tt:{part}/tt:SimpleItem", NS)}
                 for part in ("Source", "Data")}
        out.append((topic_of(topic_el, nsmap), msg.get("PropertyOperation"),
                    items["Source"], items["Data"], msg.get("UtcTime")))
    return out


class EventsTest(SimulatorTest):
    """The event service: GetEventProperties, PullPoint subscriptions and the
    control API's events and restarts."""

    @staticmethod
    def cameras():
        base = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}"
        port = free_port(f"{base}.1")
        cams = [{"id": cid, "address": f"{base}.{i + 1}", "port": port,
                 "username": USER, "password": PASSWORD}
                for i, cid in enumerate(("e1", "e2", "e3", "e4"))]
        cams[0]["max_pullpoints"] = 3
        cams[1]["auth"] = "wsse"
        cams[2]["events"] = False
        cams[3]["event_topics"] = ["tns1:VideoSource/GlobalSceneChange/AnalyticsService",
                                   "tns1:Device/Trigger/DigitalInput"]
        return cams

    def ev(self, op, cid="e1", path=EVENT, timeout=TIMEOUT):
        """An operation with HTTP Digest (WS-Security on the wsse-only camera)."""
        cam = self.cam[cid]
        if cid == "e2":
            return soap(cam, op, path, header=wsse_header(), timeout=timeout)
        ch = challenge(cam, path=path)
        return soap(cam, op, path, timeout=timeout, extra={
            "Authorization": digest_authorization(ch, "POST", path)})

    def subscribe(self, cid="e1", **kw):
        """(path of the subscription, CurrentTime, TerminationTime)."""
        status, _, body = self.ev(create_pull_point(**kw), cid)
        self.assertEqual(status, 200, body)
        address = text_of(body, ".//tev:SubscriptionReference/wsa:Address")
        cam = self.cam[cid]
        prefix = f"http://{cam['address']}:{cam['port']}"
        self.assertTrue(address.startswith(prefix + "/onvif/Subscription?Idx="), address)
        return (address[len(prefix):],
                xs_time(text_of(body, ".//tev:CreatePullPointSubscriptionResponse/wsnt:CurrentTime")),
                xs_time(text_of(body, ".//tev:CreatePullPointSubscriptionResponse/"
                                      "wsnt:TerminationTime")))

    def pull(self, path, cid="e1", timeout="PT1S", limit=10):
        status, _, body = self.ev(pull_messages(timeout, limit), cid, path, timeout=30)
        self.assertEqual(status, 200, body)
        return body

    def event(self, cid="e1", **body):
        return self.sim.api("POST", f"/cameras/{cid}/event", body)

    def assertResourceUnknown(self, result):
        status, _, body = result
        self.assertEqual(status, 400, body[:400])
        code, sub, _, _ = soap_fault_of(body)
        self.assertEqual((code, sub), ((NS["env"], "Sender"), (NS["wsrf-rw"], "ResourceUnknownFault")))
        self.assertIsNotNone(parse_ns(body)[0].find(".//env:Detail/wsrf-rw:ResourceUnknownFault", NS))

    def test_get_services_lists_the_event_service_unless_events_false(self):
        for cid, listed in (("e1", True), ("e3", False)):
            root, _ = parse_ns(soap(self.cam[cid], GS)[2])
            namespaces = [s.find("tds:Namespace", NS).text
                          for s in root.iter(f"{{{NS['tds']}}}Service")]
            self.assertEqual(NS["tev"] in namespaces, listed, cid)
        status, _, body = self.ev(GEP, "e3")
        self.assertEqual(status, 500)
        self.assertEqual(soap_fault_of(body)[1], (NS["ter"], "ActionNotSupported"))
        self.assertEqual(self.ev(create_pull_point(), "e3")[0], 500)
        status, state = self.event("e3", topic=GSC)
        self.assertEqual(status, 400)
        self.assertIn("offers no events", state["error"])

    def test_get_event_properties_lists_the_configured_topics(self):
        for cid, expected in (("e1", DEFAULT_TOPICS), ("e4", self.cameras()[3]["event_topics"])):
            status, _, body = self.ev(GEP, cid)
            self.assertEqual(status, 200, body)
            root, _ = parse_ns(body)
            response = root.find(".//tev:GetEventPropertiesResponse", NS)
            dialects = [d.text for d in response.findall("wsnt:TopicExpressionDialect", NS)]
            self.assertIn(CONCRETE_SET, dialects)
            self.assertEqual(response.find("wsnt:FixedTopicSet", NS).text, "true")
            found = {}

            def walk(el, path):
                for child in el:
                    ns, local = child.tag[1:].split("}") if child.tag.startswith("{") \
                        else ("", child.tag)
                    if ns == NS["tt"]:
                        continue
                    name = {TNS1: "tns1:", TNSIPRO1: "tnsipro1:", "": ""}[ns] + local
                    here = path + [name]
                    if child.get(f"{{{NS['wstop']}}}topic") == "true":
                        found["/".join(here)] = child.find("tt:MessageDescription", NS)
                    walk(child, here)
            walk(response.find("wstop:TopicSet", NS), [])
            self.assertEqual(sorted(found), sorted(expected), cid)
        root, _ = parse_ns(self.ev(GEP, "e1")[2])
        desc = root.find(".//wstop:TopicSet/{%s}VideoSource/GlobalSceneChange/ImagingService/"
                         "tt:MessageDescription" % TNS1, NS)
        self.assertEqual(desc.get("IsProperty"), "true")
        self.assertEqual(desc.find("tt:Data/tt:SimpleItemDescription", NS).get("Name"), "State")

    def test_event_operations_need_authentication(self):
        cam = self.cam["e1"]
        self.assertEqual(soap(cam, GEP, EVENT)[0], 401)
        self.assertEqual(soap(cam, create_pull_point(), EVENT)[0], 401)
        path, _, _ = self.subscribe()
        self.assertEqual(soap(cam, pull_messages(), path)[0], 401)
        self.assertEqual(soap(cam, renew("PT60S"), path)[0], 401)
        self.assertEqual(soap(cam, UNSUBSCRIBE, path)[0], 401)
        # a digest answer computed for another uri (another Idx) is refused
        ch = challenge(cam, path=path)
        status, _, _ = soap(cam, pull_messages(), path, extra={
            "Authorization": digest_authorization(ch, "POST", path + "1")})
        self.assertEqual(status, 401)
        self.assertNotAuthorized(soap(self.cam["e2"], create_pull_point(), EVENT))
        self.assertNotAuthorized(soap(cam, pull_messages(), path, header=wsse_header(password="x")))
        # GetServiceCapabilities is PRE_AUTH
        status, _, body = soap(cam, '<GetServiceCapabilities xmlns="%s"/>' % NS["tev"], EVENT)
        self.assertEqual(status, 200, body)
        self.assertEqual(parse_ns(body)[0].find(".//tev:Capabilities", NS).get("MaxPullPoints"), "3")
        # with WS-Security on the wsse-only camera, the whole cycle works
        path2, _, _ = self.subscribe("e2")
        self.assertEqual(len(notifications(self.pull(path2, "e2"))), len(PROPERTY_TOPICS))

    def test_subscribe_then_initialized_properties(self):
        started = time.time()
        path, current, termination = self.subscribe()
        self.assertLess(abs(current - started), 3)
        self.assertEqual(termination - current, 60)         # the default
        t0 = time.monotonic()
        got = notifications(self.pull(path, timeout="PT10S"))
        self.assertLess(time.monotonic() - t0, 2)            # queued: answered at once
        self.assertEqual(sorted(t for t, *_ in got), sorted(PROPERTY_TOPICS))
        self.assertTrue(all(op == "Initialized" for _, op, *_ in got))
        tamper = {t: (src, data) for t, _, src, data, _ in got}[GSC]
        self.assertEqual(tamper, ({"Source": "1"}, {"State": "false"}))
        # relative and absolute InitialTerminationTime
        _, current, termination = self.subscribe(termination="PT30S", changed_only=True)
        self.assertEqual(termination - current, 30)
        _, current, termination = self.subscribe(termination=utc_text(time.time() + 300))
        self.assertAlmostEqual(termination - current, 300, delta=2)
        status, _, body = self.ev(create_pull_point(termination="P30D"))
        self.assertEqual(status, 400)
        self.assertEqual(soap_fault_of(body)[1],
                         (NS["wsnt"], "UnacceptableInitialTerminationTimeFault"))
        state = self.state("e1")
        self.assertEqual(len(state["events"]["subscriptions"]), 3)
        self.assertEqual(state["requests"]["CreatePullPointSubscription"], 4)  # probes: no op

    def test_pull_without_messages_answers_at_timeout_and_blocks_nobody(self):
        path, _, _ = self.subscribe(changed_only=True)
        result = {}

        def long_poll():
            t0 = time.monotonic()
            result["body"] = self.pull(path, timeout="PT5S")
            result["took"] = time.monotonic() - t0
        thread = threading.Thread(target=long_poll)
        thread.start()
        time.sleep(0.3)
        t0 = time.monotonic()
        self.assertEqual(soap(self.cam["e4"], GSDT)[0], 200)      # another camera
        self.assertEqual(soap(self.cam["e1"], GSDT)[0], 200)      # the same camera
        self.assertEqual(self.sim.api("GET", "/cameras/e1")[0], 200)
        self.assertLess(time.monotonic() - t0, 2.5)         # the pull lasts 4.7 s more
        self.assertEqual(self.state("e1")["events"]["subscriptions"][0]["waiting_pulls"], 1)
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertGreaterEqual(result["took"], 4.9)
        self.assertLess(result["took"], 8.0)
        self.assertEqual(notifications(result["body"]), [])
        root, _ = parse_ns(result["body"])
        response = root.find(".//tev:PullMessagesResponse", NS)
        self.assertEqual([c.tag.split("}")[1] for c in response], ["CurrentTime", "TerminationTime"])
        # a pull renews a relative subscription: TerminationTime = pull time + 60 s
        self.assertAlmostEqual(xs_time(response.find("tev:TerminationTime", NS).text)
                               - time.time(), 60, delta=3)

    def test_injected_event_reaches_a_waiting_pull_promptly(self):
        path, _, _ = self.subscribe(changed_only=True)
        other, _, _ = self.subscribe(changed_only=True, filter_expr="t:Device//.")
        result = {}

        def long_poll():
            result["body"] = self.pull(path, timeout="PT20S")
            result["at"] = time.monotonic()
        thread = threading.Thread(target=long_poll)
        thread.start()
        time.sleep(0.5)
        sent = time.monotonic()
        status, state = self.event(topic=GSC, data={"State": True},
                                   source={"Source": "VideoSource_1"})
        self.assertEqual((status, state["delivered"]), (200, 1), state)   # not to the filtered one
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertLess(result["at"] - sent, 1.5)           # the pull would last 19.5 s
        (topic, op, source, data, utc), = notifications(result["body"])
        self.assertEqual((topic, op, source, data),
                         (GSC, "Changed", {"Source": "VideoSource_1"}, {"State": "true"}))
        self.assertLess(abs(xs_time(utc) - time.time()), 3)
        self.assertEqual(notifications(self.pull(other, timeout="PT0S")), [])
        # the new state is what a new subscription is initialized with
        path3, _, _ = self.subscribe(filter_expr="t:VideoSource/GlobalSceneChange/ImagingService")
        got = notifications(self.pull(path3))
        self.assertIn((GSC, "Initialized", {"Source": "VideoSource_1"}, {"State": "true"}),
                      [g[:4] for g in got])
        # queued events come at once, MessageLimit at a time, in order
        for i in range(3):
            self.event(topic="tns1:Device/HardwareFailure/StorageFailure",
                       data={"Failed": "true" if i % 2 == 0 else "false"})
        first = notifications(self.pull(other, timeout="PT10S", limit=2))
        second = notifications(self.pull(other, timeout="PT10S", limit=2))
        self.assertEqual([(g[0], g[3]["Failed"]) for g in first + second],
                         [("tns1:Device/HardwareFailure/StorageFailure", v)
                          for v in ("true", "false", "true")])
        self.assertEqual(first[0][2], {"Token": "SD1"})
        sub = [s for s in self.state("e1")["events"]["subscriptions"]
               if s["address"].endswith(other)][0]
        self.assertEqual((sub["delivered"], sub["queued"]), (3, 0))

    def test_renew_moves_the_termination_time(self):
        path, _, termination = self.subscribe(termination="PT10S")
        status, _, body = self.ev(renew("PT120S"), path=path)
        self.assertEqual(status, 200, body)
        new = xs_time(text_of(body, ".//wsnt:RenewResponse/wsnt:TerminationTime"))
        current = xs_time(text_of(body, ".//wsnt:RenewResponse/wsnt:CurrentTime"))
        self.assertEqual(new - current, 120)
        self.assertGreater(new, termination + 100)
        status, _, body = self.ev(renew(utc_text(time.time() + 600)), path=path)
        self.assertAlmostEqual(xs_time(text_of(body, ".//wsnt:TerminationTime")) - time.time(),
                               600, delta=3)
        status, _, body = self.ev(renew("P2D"), path=path)
        self.assertEqual(status, 400)
        self.assertEqual(soap_fault_of(body)[1], (NS["wsnt"], "UnacceptableTerminationTimeFault"))
        self.assertEqual(self.state("e1")["events"]["subscriptions"][0]["renewals"], 2)
        self.assertEqual(self.state("e1")["requests"]["Renew"], 3)

    def test_expired_unsubscribed_and_unknown_subscriptions_fault(self):
        expiring, _, _ = self.subscribe(termination="PT1S")
        ended, _, _ = self.subscribe()
        status, _, body = self.ev(UNSUBSCRIBE, path=ended)
        self.assertEqual(status, 200, body)
        self.assertIsNotNone(parse_ns(body)[0].find(".//wsnt:UnsubscribeResponse", NS))
        self.assertResourceUnknown(self.ev(pull_messages(), path=ended))
        self.assertResourceUnknown(self.ev(renew("PT60S"), path=ended))
        self.assertResourceUnknown(self.ev(pull_messages(), path="/onvif/Subscription?Idx=999"))
        self.assertResourceUnknown(self.ev(pull_messages(), path="/onvif/Subscription"))
        time.sleep(1.3)
        self.assertResourceUnknown(self.ev(pull_messages(), path=expiring))
        events = self.state("e1")["events"]
        self.assertEqual((events["subscriptions"], events["subscriptions_expired"]), ([], 1))
        # a waiting pull keeps a relative subscription alive past its duration ...
        kept, _, _ = self.subscribe(termination="PT1S", changed_only=True)
        self.assertEqual(notifications(self.pull(kept, timeout="PT2S")), [])
        self.assertEqual(self.ev(pull_messages("PT0S"), path=kept)[0], 200)
        # ... but an absolute one ends at its time, even during a pull
        absolute, _, _ = self.subscribe(termination=utc_text(time.time() + 2),
                                        changed_only=True)
        t0 = time.monotonic()
        self.assertResourceUnknown(self.ev(pull_messages("PT30S"), path=absolute, timeout=30))
        self.assertLess(time.monotonic() - t0, 4)
        # PullMessages belongs to the subscription, not to the event service
        status, _, body = self.ev(pull_messages())
        self.assertEqual((status, soap_fault_of(body)[1]), (500, (NS["ter"], "ActionNotSupported")))

    def test_restart_drops_subscriptions_and_waiting_pulls(self):
        path, _, _ = self.subscribe(changed_only=True)
        cam = self.cam["e1"]
        ch = challenge(cam, path=path)
        result = {}

        def long_poll():
            try:
                result["answer"] = soap(cam, pull_messages("PT20S"), path, timeout=30, extra={
                    "Authorization": digest_authorization(ch, "POST", path)})
            except (ConnectionError, http.client.HTTPException) as exc:
                result["error"] = exc
        thread = threading.Thread(target=long_poll)
        thread.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        status, state = self.sim.api("POST", "/cameras/e1/restart", {})
        self.assertEqual((status, state["events"]["restarts"], state["events"]["subscriptions"]),
                         (200, 1, []))
        thread.join(10)
        self.assertFalse(thread.is_alive())
        self.assertLess(time.monotonic() - t0, 2)
        self.assertIn("error", result)       # the reboot reset the connection
        self.assertResourceUnknown(self.ev(pull_messages(), path=path))
        # the camera forgot its Digest nonces: the old one is stale
        status, headers, _ = soap(cam, pull_messages(), path, extra={
            "Authorization": digest_authorization(ch, "POST", path, nc=2)})
        self.assertEqual((status, digest_challenges(headers)["MD5"].get("stale")), (401, "true"))
        # a restart with downtime: refused connections, then back
        self.subscribe()
        status, state = self.sim.api("POST", "/cameras/e1/restart", {"downtime": 1})
        self.assertEqual((status, state["listening"]), (200, False))
        with self.assertRaises(ConnectionRefusedError):
            soap(cam, GSDT)
        deadline = time.monotonic() + 5
        while not self.state("e1")["listening"] and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(soap(cam, GSDT)[0], 200)
        self.assertEqual(self.state("e1")["events"]["subscriptions"], [])
        self.assertEqual(self.sim.api("POST", "/cameras/e1/restart", {"downtime": -1})[0], 400)

    def test_subscription_limit(self):
        paths = [self.subscribe()[0] for _ in range(3)]
        status, _, body = self.ev(create_pull_point())
        self.assertEqual(status, 500)
        code, sub, _, _ = soap_fault_of(body)
        self.assertEqual((code, sub), ((NS["env"], "Receiver"),
                                       (NS["wsnt"], "SubscribeCreationFailedFault")))
        self.assertEqual(self.ev(UNSUBSCRIBE, path=paths[0])[0], 200)
        self.subscribe()
        self.assertEqual(self.state("e1")["events"]["subscriptions_refused"], 1)

    def test_event_injection_is_checked(self):
        self.subscribe()
        for body in ({"topic": "tns1:VideoSource/MotionAlarm"},
                     {"topic": GSC, "data": {"State": "\x00"}},
                     {"topic": GSC, "data": ["State"]},
                     {"topic": GSC, "operation": "Exploded"},
                     {"topic": GSC, "colour": "red"},
                     {"data": {"State": "true"}}):
            with self.subTest(body=body):
                status, answer = self.event(**body)
                self.assertEqual(status, 400, answer)
        self.assertEqual(self.state("e1")["events"]["events_injected"], 0)
        status, state = self.event("e4", topic="tns1:Device/Trigger/DigitalInput",
                                   data={"LogicalState": "true"})
        self.assertEqual((status, state["events"]["events_injected"]), (200, 1))
        self.assertEqual(self.event("e4", topic=GSC)[0], 400)     # not one of e4's topics

    def test_pull_limits_and_bad_requests(self):
        path, _, _ = self.subscribe(changed_only=True)
        status, _, body = self.ev(pull_messages("PT5M"), path=path)
        self.assertEqual(status, 400)
        root, _ = parse_ns(body)
        self.assertEqual(root.find(".//env:Detail/tev:PullMessagesFaultResponse/tev:MaxTimeout",
                                   NS).text, "PT60S")
        self.assertEqual(self.ev(pull_messages("soon"), path=path)[0], 400)
        self.assertEqual(self.ev(pull_messages("PT1S", 0), path=path)[0], 400)
        for expr, fault in (("t:VideoSource/MotionAlarm", "TopicNotSupportedFault"),
                            ("x:Nothing", "TopicNotSupportedFault"),
                            ("t:VideoSource/[bad]", "InvalidTopicExpressionFault")):
            with self.subTest(expr=expr):
                status, _, body = self.ev(create_pull_point(filter_expr=expr))
                self.assertEqual((status, soap_fault_of(body)[1]), (400, (NS["wsnt"], fault)))

    def test_filter_selects_topics(self):
        path, _, _ = self.subscribe(filter_expr="t:VideoSource//.|t:Device/HardwareFailure/"
                                                "StorageFailure")
        got = notifications(self.pull(path))
        self.assertEqual(sorted(t for t, *_ in got),
                         sorted(TAMPER + ["tns1:Device/HardwareFailure/StorageFailure"]))
        self.assertEqual(self.event(topic="tns1:RecordingConfig/JobState",
                                    data={"State": "Error"})[1]["delivered"], 0)
        self.assertEqual(self.event(topic=TAMPER[1], data={"State": "true"})[1]["delivered"], 1)
        # the prefix is the request's: another one bound to the topics namespace works
        status, _, body = self.ev(create_pull_point(filter_expr="t:Device//.").replace(
            'xmlns:t=', 'xmlns:q="%s" xmlns:t=' % TNS1).replace("t:Device", "q:Device"))
        self.assertEqual(status, 200, body)

    def test_injectable_faults_act_on_event_operations(self):
        path, _, _ = self.subscribe(changed_only=True)
        self.fault("e1", "soap_fault", ops=["Renew"])
        self.assertEqual(self.ev(renew("PT60S"), path=path)[0], 500)
        self.assertEqual(len(notifications(self.pull(path, timeout="PT0S"))), 0)
        self.fault("e1", "silent", ops=["PullMessages"])
        with self.assertRaises(socket.timeout):
            self.ev(pull_messages("PT0S"), path=path, timeout=1.0)
        self.fault("e1", "slow", delay=1.0, ops=["GetEventProperties"])
        t0 = time.monotonic()
        self.assertEqual(self.ev(GEP)[0], 200)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.fault("e1", "http500", ops=["CreatePullPointSubscription"])
        self.assertEqual(self.ev(create_pull_point())[0], 500)
        self.assertEqual(self.state("e1")["events"]["subscriptions_created"], 1)

    def test_times_follow_the_camera_clock_and_sync_point_repeats_states(self):
        self.state("e1", clock_skew=3600)
        path, current, termination = self.subscribe(changed_only=True)
        self.assertAlmostEqual(current - time.time(), 3600, delta=3)
        self.assertEqual(termination - current, 60)
        self.event(topic=TAMPER[2], data={"State": "true"})
        (_, _, _, _, utc), = notifications(self.pull(path))
        self.assertAlmostEqual(xs_time(utc) - time.time(), 3600, delta=3)
        status, _, body = self.ev('<SetSynchronizationPoint xmlns="%s"/>' % NS["tev"], path=path)
        self.assertEqual(status, 200, body)
        got = {t: (op, d) for t, op, _, d, _ in notifications(self.pull(path))}
        self.assertEqual(sorted(got), sorted(PROPERTY_TOPICS))
        self.assertEqual(got[TAMPER[2]], ("Initialized", {"State": "true"}))
        self.assertEqual(got[TAMPER[3]], ("Initialized", {"State": "false"}))

    def test_reset_ends_subscriptions_and_restores_properties(self):
        path, _, _ = self.subscribe()
        self.event(topic=GSC, data={"State": "true"})
        self.assertEqual(self.sim.api("POST", "/cameras/e1/reset")[0], 200)
        self.assertResourceUnknown(self.ev(pull_messages(), path=path))
        path, _, _ = self.subscribe(filter_expr="t:VideoSource/GlobalSceneChange/ImagingService")
        self.assertEqual([g[3] for g in notifications(self.pull(path))], [{"State": "false"}])


def openssl(*args, cwd):
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=30)


def self_signed(directory, name, address):
    """(cert, key) of a self-signed certificate for the IP address."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", name + ".key", "-out", name + ".pem", "-days", "1",
            "-subj", "/CN=" + name, "-addext", "subjectAltName=IP:" + address, cwd=directory)
    return os.path.join(directory, name + ".pem"), os.path.join(directory, name + ".key")


class TlsTest(unittest.TestCase):
    """A camera with "tls": HTTPS on its address, a certificate that the
    control API can replace; the certificates are made here (openssl)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="onvif-sim-tls-")
        base = f"127.{random.randint(100, 250)}.{random.randint(1, 250)}"
        cls.good = self_signed(cls.tmp.name, "camera", f"{base}.1")
        cls.impostor = self_signed(cls.tmp.name, "impostor", f"{base}.1")
        cameras = [{"id": "t", "address": f"{base}.1", "port": 0, "username": USER,
                    "password": PASSWORD, "tls": {"cert": cls.good[0], "key": cls.good[1]}},
                   {"id": "p", "address": f"{base}.2", "port": 0, "username": USER,
                    "password": PASSWORD}]
        cls.sim = Sim(cls.tmp.name, cameras)
        info = cls.sim.wait_ready()
        cls.cam = {c["id"]: c for c in info["cameras"]}

    @classmethod
    def tearDownClass(cls):
        rc = cls.sim.stop()
        cls.tmp.cleanup()
        assert rc == 0, f"simulator exit status {rc}"

    def https(self, body=None, trust=None):
        cam = self.cam["t"]
        ctx = ssl.create_default_context(cafile=trust or self.good[0])
        conn = http.client.HTTPSConnection(cam["address"], cam["port"], timeout=TIMEOUT,
                                           context=ctx)
        try:
            conn.request("POST", DEVICE, body=body or envelope(GSDT),
                         headers={"Content-Type": SOAP_CT})
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def test_https_with_the_right_certificate(self):
        self.assertEqual((self.cam["t"]["tls"], self.cam["p"]["tls"]), (True, False))
        status, body = self.https()
        self.assertEqual(status, 200)
        dt_of(body, "UTCDateTime")
        status, body = self.https(envelope(GS))
        self.assertIn(b"<tds:XAddr>https://%s:%d/onvif/device_service</tds:XAddr>"
                      % (self.cam["t"]["address"].encode(), self.cam["t"]["port"]), body)
        self.assertEqual(soap(self.cam["p"], GSDT)[0], 200)     # the other camera: plain HTTP
        self.assertEqual(self.sim.api("GET", "/cameras/t")[1]["tls"]["cert"], self.good[0])

    def test_untrusted_and_plain_clients_fail(self):
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.https(trust=self.impostor[0])
        with self.assertRaises((http.client.HTTPException, ConnectionError, socket.timeout)):
            soap(self.cam["t"], GSDT)       # plain HTTP to the TLS port
        self.assertEqual(self.https()[0], 200)

    def test_impostor_takes_over_until_reset(self):
        status, state = self.sim.api("POST", "/cameras/t/tls",
                                     {"cert": self.impostor[0], "key": self.impostor[1]})
        self.assertEqual((status, state["tls"]["cert"]), (200, self.impostor[0]))
        try:
            with self.assertRaises(ssl.SSLCertVerificationError):
                self.https()
            self.assertEqual(self.https(trust=self.impostor[0])[0], 200)
        finally:
            self.assertEqual(self.sim.api("POST", "/cameras/t/reset")[0], 200)
        self.assertEqual(self.https()[0], 200)

    def test_bad_tls_requests_and_entries(self):
        self.assertEqual(self.sim.api("POST", "/cameras/p/tls",
                                      {"cert": self.good[0], "key": self.good[1]})[0], 400)
        self.assertEqual(self.sim.api("POST", "/cameras/t/tls",
                                      {"cert": self.good[0], "key": self.impostor[1]})[0], 400)
        self.assertEqual(self.sim.api("POST", "/cameras/t/tls", {"cert": self.good[0]})[0], 400)
        self.assertEqual(self.https()[0], 200)
        with tempfile.TemporaryDirectory() as tmp:
            sim = Sim(tmp, [{"id": "x", "address": "127.0.0.1", "port": 0, "username": USER,
                             "password": PASSWORD, "tls": {"cert": os.path.join(tmp, "none.pem"),
                                                           "key": self.good[1]}}])
            try:
                self.assertEqual(sim.proc.wait(timeout=30), 2)
                self.assertIn("tls", sim.errors())
            finally:
                sim.stop()


class LifecycleTest(unittest.TestCase):

    def test_sigterm_exits_zero_promptly(self):
        with tempfile.TemporaryDirectory() as tmp:
            sim = Sim(tmp, [{"id": "x", "address": "127.0.0.1", "port": 0,
                             "username": USER, "password": PASSWORD}])
            try:
                info = sim.wait_ready()
                self.assertEqual(info["pid"], sim.proc.pid)
                cam = info["cameras"][0]
                # a held connection must not delay the exit
                sim.api("POST", "/cameras/x", {"fault": "silent"})
                held = socket.create_connection((cam["address"], cam["port"]), timeout=TIMEOUT)
                held.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                time.sleep(0.1)
                started = time.monotonic()
                sim.proc.send_signal(signal.SIGTERM)
                self.assertEqual(sim.proc.wait(timeout=3), 0)
                self.assertLess(time.monotonic() - started, 2)
                held.close()
            finally:
                sim.stop()

    def test_refuses_non_loopback_addresses(self):
        with tempfile.TemporaryDirectory() as tmp:
            sim = Sim(tmp, [{"id": "x", "address": "192.0.2.1", "port": 18080,
                             "username": USER, "password": PASSWORD}])
            try:
                self.assertEqual(sim.proc.wait(timeout=30), 2)
                self.assertIn("127.0.0.0/8", sim.errors())
                self.assertFalse(os.path.exists(sim.ready))
            finally:
                sim.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
