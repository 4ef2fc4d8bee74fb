#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Writes the generated part of the fuzz seed corpora (tests/fuzz/corpus/).

The SOAP answers come from the ONVIF simulator itself (tests/sim/onvif_sim.py),
the SNMP answers are BER-encoded response PDUs as routers and the RTX1220
send them, the rest are the shapes fieldwatch reads. Configurations and
holidays files are copied from tests/configs and tests/data. Run it from the
top of the tree; it rewrites only the files it names.

    /usr/bin/python3 tests/fuzz/make_seeds.py
"""

import os
import shutil
import struct
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))

sys.dont_write_bytecode = True
import onvif_sim  # noqa: E402


def write(name, fname, data):
    d = os.path.join(CORPUS, name)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, fname), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- copies

def copy_files():
    for sub in ("good", "bad"):
        d = os.path.join(ROOT, "tests", "configs", sub)
        for f in sorted(os.listdir(d)):
            shutil.copy(os.path.join(d, f), os.path.join(CORPUS, "config", f"{sub}-{f}"))
    for f in ("lab.yaml", "ichikawa-2025.yaml"):
        shutil.copy(os.path.join(ROOT, "config", f), os.path.join(CORPUS, "config", f))
    d = os.path.join(ROOT, "tests", "data")
    for f in sorted(os.listdir(d)):
        if f.startswith("syukujitsu-"):
            shutil.copy(os.path.join(d, f), os.path.join(CORPUS, "calendar", f))


# ---------------------------------------------------------------- SOAP

class FakeSoap:
    """What the simulator's operations read from a request."""
    element = onvif_sim.ET.fromstring(f'<x xmlns:tds="{onvif_sim.NS_TDS}">'
                                      '<tds:IncludeCapability>true</tds:IncludeCapability></x>')


def soap_seeds():
    conf = onvif_sim.normalize_camera({"id": "05", "address": "127.0.2.5", "port": 18080,
                                       "username": "admin", "password": "x"}, 0)
    cam = onvif_sim.Camera(conf, None, None)
    # A fixed clock, so the seeds are the same at every run.
    cam.now = lambda: 1795000000.0
    soap = FakeSoap()
    write("soap", "time.xml", cam.op_get_system_date_and_time(soap).body)
    write("soap", "services.xml", cam.op_get_services(soap).body)
    write("soap", "devinfo.xml", cam.op_get_device_information(soap).body)
    write("soap", "recording.xml", cam.op_get_recording_summary(soap).body)
    cam.fault, cam.params = "wrong_model", {"model": "WV-S1111"}
    write("soap", "devinfo-wrong-model.xml", cam.op_get_device_information(soap).body)
    cam.fault, cam.params, cam.fault_frozen = "sd_error", {}, 1794990000.0
    write("soap", "recording-sd-error.xml", cam.op_get_recording_summary(soap).body)
    write("soap", "fault.xml", onvif_sim.soap_fault("Receiver", "ter:Action",
                                                     "Action Failed").body)
    write("soap", "fault-not-authorized.xml", onvif_sim.not_authorized().body)
    write("soap", "garbage.xml", onvif_sim.GARBAGE_XML)
    write("soap", "huge-comment.xml", onvif_sim.HUGE_SOAP_PREFIX + b"x" * 2000
          + onvif_sim.HUGE_SOAP_SUFFIX)
    env = onvif_sim.ENVELOPE_OPEN
    write("soap", "dtd.xml", '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          '<!ENTITY lol2 "&lol;&lol;&lol;">]>\n' + env[env.index("<env:"):]
          + "<tds:GetDeviceInformationResponse><tds:Model>&lol2;</tds:Model>"
          "</tds:GetDeviceInformationResponse>" + onvif_sim.ENVELOPE_CLOSE)
    write("soap", "soap11.xml", f'<s:Envelope xmlns:s="{onvif_sim.NS_SOAP11}"><s:Body/>'
          "</s:Envelope>")
    write("soap", "no-body.xml", f'<env:Envelope xmlns:env="{onvif_sim.NS_ENV}"/>')
    write("soap", "datauntil-offset.xml", env + "<tse:GetRecordingSummaryResponse><tse:Summary>"
          "<tt:DataFrom>2026-11-25T05:00:00.123+09:00</tt:DataFrom>"
          "<tt:DataUntil> 2026-11-25T05:00:00 </tt:DataUntil>"
          "<tt:NumberRecordings>0</tt:NumberRecordings>"
          "</tse:Summary></tse:GetRecordingSummaryResponse>" + onvif_sim.ENVELOPE_CLOSE)
    write("soap", "html.html", onvif_sim.html_page(500))


# ---------------------------------------------------------------- SNMP

def ber_len(n):
    if n < 0x80:
        return bytes([n])
    b = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(b)]) + b


def tlv(tag, body):
    return bytes([tag]) + ber_len(len(body)) + body


def ber_int(tag, v):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(tag, v.to_bytes(n, "big", signed=True))


def ber_uint(tag, v):
    n = max(1, (v.bit_length() + 8) // 8)
    return tlv(tag, v.to_bytes(n, "big"))


def ber_oid(text):
    arcs = [int(a) for a in text.strip(".").split(".")]
    out = bytes([arcs[0] * 40 + arcs[1]])
    for a in arcs[2:]:
        chunk = [a & 0x7F]
        a >>= 7
        while a:
            chunk.insert(0, 0x80 | (a & 0x7F))
            a >>= 7
        out += bytes(chunk)
    return tlv(0x06, out)


INTEGER, OCTETS, NULL, OID, COUNTER, GAUGE, TICKS = 0x02, 0x04, 0x05, 0x06, 0x41, 0x42, 0x43
NOSUCHOBJECT, NOSUCHINSTANCE, ENDOFMIB = 0x80, 0x81, 0x82


def value(kind, v=None):
    if kind == INTEGER:
        return ber_int(INTEGER, v)
    if kind in (COUNTER, GAUGE, TICKS):
        return ber_uint(kind, v)
    if kind == OCTETS:
        return tlv(OCTETS, v)
    if kind == OID:
        return ber_oid(v)
    return tlv(kind, b"")


def pdu(varbinds, tag=0xA2, reqid=1234, errstat=0, errindex=0):
    vbl = b"".join(tlv(0x30, ber_oid(o) + value(*v)) for o, v in varbinds)
    return tlv(tag, ber_int(INTEGER, reqid) + ber_int(INTEGER, errstat)
               + ber_int(INTEGER, errindex) + tlv(0x30, vbl))


def snmp_seeds():
    # The first byte is the harness's: how many OIDs were asked for (low 6
    # bits), whether they are the answer's own (bit 6 clear), SNMPv3 (bit 7).
    def seed(fname, varbinds, n=None, v3=False, **kw):
        n = len(varbinds) if n is None else n
        write("snmp-answer", fname, bytes([(n & 0x3F) | (0x80 if v3 else 0)])
              + pdu(varbinds, **kw))

    uptime = "1.3.6.1.2.1.1.3.0"
    seed("router.ber", [(uptime, (TICKS, 123456789)),
                        ("1.3.6.1.2.1.2.2.1.8.1", (INTEGER, 1)),
                        ("1.3.6.1.4.1.99999.1.1.0", (INTEGER, -95)),
                        ("1.3.6.1.4.1.99999.1.2.0", (INTEGER, -11))])
    seed("vpn.ber", [(uptime, (TICKS, 0xFFFFFFF0)),
                     ("1.3.6.1.4.1.1182.2.1.5.0", (GAUGE, 12)),
                     ("1.3.6.1.4.1.1182.2.1.4.0", (GAUGE, 40)),
                     ("1.3.6.1.4.1.1182.2.1.15.0", (INTEGER, 45)),
                     ("1.3.6.1.4.1.1182.2.1.16.0", (INTEGER, 2))]
         + [(f"1.3.6.1.4.1.1182.2.3.16.1.2.{t}", (INTEGER, 1 if t % 5 else 2))
            for t in range(1, 28)])
    seed("counter.ber", [("1.3.6.1.2.1.2.2.1.10.1", (COUNTER, 4000000000))])
    seed("string.ber", [("1.3.6.1.2.1.1.1.0", (OCTETS, b"RTX1220 Rev.14.01.42"))])
    seed("oid-value.ber", [("1.3.6.1.2.1.1.2.0", (OID, "1.3.6.1.4.1.1182.1.67"))])
    seed("nosuch.ber", [(uptime, (NOSUCHOBJECT,)), ("1.3.6.1.2.1.2.2.1.8.9", (NOSUCHINSTANCE,)),
                        ("1.3.6.1.2.1.99", (ENDOFMIB,))])
    seed("error.ber", [(uptime, (NULL,))], errstat=2, errindex=1)
    seed("fewer.ber", [(uptime, (TICKS, 5))], n=3)
    seed("more.ber", [(uptime, (TICKS, 5)), ("1.3.6.1.2.1.1.5.0", (OCTETS, b"x"))], n=1)
    write("snmp-answer", "other-oid.ber",
          bytes([0x40 | 1]) + pdu([("1.3.6.1.2.1.1.5.0", (OCTETS, b"rt-09"))]))
    seed("report.ber", [("1.3.6.1.6.3.15.1.1.3.0", (COUNTER, 7))], v3=True, tag=0xA8, reqid=0)
    seed("report-auth.ber", [("1.3.6.1.6.3.15.1.1.5.0", (COUNTER, 1))], v3=True, tag=0xA8,
         reqid=0)
    seed("v3-answer.ber", [(uptime, (TICKS, 42))], v3=True)
    seed("long-oid.ber", [("1.3." + ".".join(["4294967295"] * 126), (INTEGER, 0))])

    oids = ["1.3.6.1.2.1.1.3.0", ".1.3.6.1.4.1.1182.2.1.5.0", "1.3.6.1.2.1.2.2.1.8.1",
            "0.0", "2.999.4294967295", "1.3." + ".".join(["1"] * 126)]
    for i, o in enumerate(oids):
        write("snmp-oid", f"oid-{i}.txt", o)


# ---------------------------------------------------------------- strings

def timeutil_seeds():
    seeds = ["2026-11-25T16:30:06+09:00", "2026-11-25T07:30:00Z", "2026-04-30T16:30",
             "2026-04-30 16:30:59.123456", "2026-04-30t16:30:00,5-0330", "2026-11-25",
             "1900-01-01T00:00+23:59", "9999-12-31T23:59:59-2359", "2000-02-29T00:00Z",
             "1948-05-02T00:30", "90s", "10m", "2h", "14d", "500ms", "1h30m", "2w3d",
             "18446744073709551615ms", "0s", "09:00", "17:00", "24:00", "12-29", "02-29",
             "01-03", "2026-11-25T05:00:00", "20261125T050000Z"]
    for i, s in enumerate(seeds):
        write("timeutil", f"seed-{i:02d}.txt", s)


def action_seeds():
    import json
    base = {"type": "ack", "fault": 2, "by": "Yamada", "os_user": "operator",
            "requested_at": 1795000000, "at": 0, "end_at": 0, "parts": [],
            "media_replaced": False, "kind": ""}
    variants = [
        {},
        {"note": "現地確認します"},
        {"type": "onsite", "at": 1795003600},
        {"type": "defer", "by": "Suzuki (supervisor)", "note": "next morning"},
        {"type": "recover", "cause": "breaker tripped", "action": "reset the breaker\n"
         "and checked the line", "prevention": "RCD replaced", "parts": ["WV-S2536LNUX",
                                                                          "SD 64GB"],
         "media_replaced": True},
        {"type": "report-submitted", "kind": "recovery"},
        {"type": "report-submitted", "kind": "erasure"},
        {"type": "work-add", "fault": 0, "title": "年次点検", "content": "all sites",
         "at": 1795000000, "end_at": 1795010000, "note": "rain"},
        {"type": "close", "note": "transient: power blip"},
        {"type": "report-submitted", "fault": 0, "kind": "quarterly_report",
         "due": "2026-07-15"},
        {"type": "receive", "from": "市役所 危機管理課", "at": 1795001200},
        {"type": "open", "fault": 0, "site": "07", "device": "camera",
         "kind": "lens_misaligned", "note": "市民から: 下を向いている"},
        {"type": "investigate", "fault": 0, "anomaly": 311, "note": "LTE瞬断"},
        {"type": "escalate", "fault": 0, "anomaly": 311},
    ]
    for i, v in enumerate(variants):
        a = dict(base, **v)
        write("action", f"action-{i}.json", json.dumps(a, ensure_ascii=False,
                                                       separators=(",", ":")))
    write("action", "duplicate-key.json", '{"type":"ack","type":"close"}')


def argv_seeds():
    # NUL-separated arguments after the program name.
    def argv(*args):
        return b"\0".join(a.encode() for a in args)

    cli = [("status", "--json"), ("--config", "/etc/fieldwatch/fieldwatch.yaml", "faults",
                                  "--open"),
           ("--pretend-now=2026-04-30T16:30", "sla", "2026-04-30T16:00"),
           ("--state-dir", "/tmp/s", "--credentials-dir=/tmp/c", "deadlines", "--", "--help"),
           ("--version",), ("-h",), ("holidays", "2027", "--pretend-now"),
           ("--config=", "status")]
    for i, a in enumerate(cli):
        write("cli", f"argv-{i}.bin", argv(*a))
    ctl = [("ack", "2", "--by", "Yamada", "--note", "見ます"),
           ("onsite", "2", "--by=Yamada", "--at", "2026-11-25T16:45"),
           ("defer", "--approved-by", "Suzuki", "--reason", "night", "2"),
           ("recover", "2", "--by", "Yamada", "--cause", "breaker", "--action", "reset",
            "--parts", "WV-S2536LNUX,SD 64GB", "--media-replaced"),
           ("report-submitted", "2", "--kind", "recovery"),
           ("work", "add", "--start", "2026-11-25T09:00", "--end", "2026-11-25T12:00",
            "--by", "Yamada", "--title", "点検", "--content", "all", "--fault", "3"),
           ("close", "2", "--by", "Yamada", "--note", "blip", "--pretend-now",
            "2026-11-25T17:00+09:00"),
           ("ack", "--by", "x", "--", "2"),
           ("report-submitted", "--kind", "annual_plan", "--due", "2027-04-15", "--by", "Sato")]
    for i, a in enumerate(ctl):
        write("ctl", f"argv-{i}.bin", argv(*a))


def calendar_seeds():
    header = "国民の祝日・休日月日,国民の祝日・休日名称"
    rows = ["2031/1/1,元日", "2031/1/13,成人の日", "2031/2/11,建国記念の日"]
    write("calendar", "lf.csv", "\n".join([header] + rows) + "\n")
    write("calendar", "crlf-sjis.csv", ("\r\n".join([header] + rows) + "\r\n").encode("cp932"))
    write("calendar", "iso-dates.csv", "\n".join([header, "2031-01-01,元日"]))
    write("calendar", "duplicate.csv", "\n".join([header, rows[0], rows[0]]))
    write("calendar", "too-many.csv", "\n".join([header] + [f"2031/3/{d},x" for d in
                                                               range(1, 32)]
                                                 + [f"2031/4/{d},y" for d in range(1, 3)]))
    write("calendar", "bad-date.csv", "\n".join([header, "2031/2/29,x"]))
    write("calendar", "empty-line.csv", "\n".join([header, "", rows[0]]))
    write("calendar", "bad-sjis.csv", header.encode("cp932") + b"\n2031/1/1,\x81\x20\n")


def main():
    for name in ("config", "calendar"):
        os.makedirs(os.path.join(CORPUS, name), exist_ok=True)
    copy_files()
    soap_seeds()
    snmp_seeds()
    calendar_seeds()
    timeutil_seeds()
    action_seeds()
    argv_seeds()


if __name__ == "__main__":
    time.tzset()
    main()
