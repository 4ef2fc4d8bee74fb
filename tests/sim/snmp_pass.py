#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The values behind one simulated SNMP device: a net-snmp pass_persist responder.

snmpd runs it as `pass_persist ROOT /usr/bin/python3 -S snmp_pass.py STATE ROOT`,
one process per registered subtree ROOT. It answers get and getnext under ROOT
from the device's JSON state file STATE, which it re-reads whenever the file
changes (it stats it on every request; writers replace it atomically), so tests
change what the device says at run time without restarting snmpd. set is
refused (not-writable).

The state file (written by snmp_field.py) says what the device is:

  common   kind ("router" | "vpn"), sysDescr, sysObjectID, sysContact, sysName,
           sysLocation, sysServices; uptime_base_ticks + uptime_ref (unix time):
           sysUpTime = (base + 100 * (now - ref)) mod 2^32, so the 497-day wrap
           can be simulated; ifaces {"ifIndex": ifOperStatus}, ifdescr
           {"ifIndex": text}, iftype {"ifIndex": IANAifType}
  router   signal {"rsrp": -95, ...} served as INTEGER at signal_oids {"rsrp": OID}
  vpn      tunnels {"5": 1|2} (yrIfTunnelLink), cpu, memory, temperature (Gauge32),
           alarm (1 on, 2 off)
  oddities overrides {OID: [type, value] | null (the OID vanishes)};
           wrong_type {name or OID: type}: the live value served with that type;
           impersonate: the path of another device's state file, whose values
           this device then serves (an answer "for another site").

Standard library only: snmpd starts it with -S.
"""

import bisect
import json
import os
import sys
import time

TWO32 = 1 << 32

SYSTEM = (1, 3, 6, 1, 2, 1, 1)
INTERFACES = (1, 3, 6, 1, 2, 1, 2)
IF_NUMBER = INTERFACES + (1, 0)
IF_ENTRY = INTERFACES + (2, 1)
YAMAHA_RT = (1, 3, 6, 1, 4, 1, 1182, 2)
YRH = YAMAHA_RT + (1,)
YR_IF_TUNNEL_LINK = YAMAHA_RT + (3, 16, 1, 2)

SYS_COLUMNS = {  # arc under system: (state key, type)
    1: ("sysDescr", "string"),
    2: ("sysObjectID", "objectid"),
    4: ("sysContact", "string"),
    5: ("sysName", "string"),
    6: ("sysLocation", "string"),
    7: ("sysServices", "integer"),
}

# Names that tests use for wrong_type (besides raw OIDs and signal names).
VPN_SCALARS = {  # name: (OID, state key)
    "memory": (YRH + (4, 0), "memory"),          # yrhMemoryUtil
    "cpu": (YRH + (5, 0), "cpu"),                # yrhCpuUtil5sec
    "cpu1min": (YRH + (6, 0), "cpu"),            # yrhCpuUtil1min
    "cpu5min": (YRH + (7, 0), "cpu"),            # yrhCpuUtil5min
    "temperature": (YRH + (15, 0), "temperature"),  # yrhInboxTemperature
}
YRH_SYSTEM_ALARM = YRH + (16, 0)

TYPES = ("integer", "gauge", "counter", "counter64", "timeticks", "ipaddress",
         "objectid", "string", "octet", "opaque")


def parse_oid(text):
    """'.1.3.6' or '1.3.6' -> (1, 3, 6); raises ValueError."""
    text = text.strip().strip(".")
    if not text:
        return ()
    return tuple(int(arc) for arc in text.split("."))


def format_oid(oid):
    return "." + ".".join(str(arc) for arc in oid)


def uptime_ticks(state, now):
    base = int(state.get("uptime_base_ticks", 0))
    ref = float(state.get("uptime_ref", now))
    return (base + int((now - ref) * 100)) % TWO32


def named_oids(state):
    """The names a test may use for an OID of this device: {name: OID tuple}."""
    names = {
        "sysdescr": SYSTEM + (1, 0),
        "sysobjectid": SYSTEM + (2, 0),
        "uptime": SYSTEM + (3, 0),
        "sysname": SYSTEM + (5, 0),
        "ifnumber": IF_NUMBER,
    }
    for index in state.get("ifaces", {}):
        names["ifoper.%s" % index] = IF_ENTRY + (8, int(index))
        names["ifdescr.%s" % index] = IF_ENTRY + (2, int(index))
    wan = state.get("wan_ifindex")
    if wan is not None:
        names["ifoper"] = IF_ENTRY + (8, int(wan))
    for name, oid in state.get("signal_oids", {}).items():
        names[name] = parse_oid(oid)
    if state.get("kind") == "vpn":
        for name, (oid, _) in VPN_SCALARS.items():
            names[name] = oid
        names["alarm"] = YRH_SYSTEM_ALARM
        for tunnel in state.get("tunnels", {}):
            names["tunnel.%s" % tunnel] = YR_IF_TUNNEL_LINK + (int(tunnel),)
    return names


def resolve_name(state, name):
    """A name from named_oids() or a dotted OID -> OID tuple; raises KeyError."""
    names = named_oids(state)
    if name in names:
        return names[name]
    try:
        oid = parse_oid(name)
    except ValueError:
        raise KeyError("unknown OID name %r (known: %s)"
                       % (name, ", ".join(sorted(names)))) from None
    if len(oid) < 2:
        raise KeyError("not an OID: %r" % name)
    return oid


def device_table(state, now):
    """The values a device with this state serves: {OID tuple: (type, value)}."""
    table = {}
    for arc, (key, typ) in SYS_COLUMNS.items():
        if key in state:
            table[SYSTEM + (arc, 0)] = (typ, state[key])
    table[SYSTEM + (3, 0)] = ("timeticks", uptime_ticks(state, now))

    ifaces = {int(k): int(v) for k, v in state.get("ifaces", {}).items()}
    ifdescr = state.get("ifdescr", {})
    iftype = state.get("iftype", {})
    table[IF_NUMBER] = ("integer", len(ifaces))
    for index, oper in ifaces.items():
        table[IF_ENTRY + (1, index)] = ("integer", index)
        table[IF_ENTRY + (2, index)] = ("string", ifdescr.get(str(index), "if%d" % index))
        table[IF_ENTRY + (3, index)] = ("integer", int(iftype.get(str(index), 6)))
        table[IF_ENTRY + (7, index)] = ("integer", 1)     # ifAdminStatus up
        table[IF_ENTRY + (8, index)] = ("integer", oper)  # ifOperStatus

    signal = state.get("signal", {})
    for name, oid in state.get("signal_oids", {}).items():
        if signal.get(name) is not None:
            table[parse_oid(oid)] = ("integer", int(signal[name]))

    if state.get("kind") == "vpn":
        for oid, key in VPN_SCALARS.values():
            if state.get(key) is not None:
                table[oid] = ("gauge", int(state[key]))
        table[YRH_SYSTEM_ALARM] = ("integer", int(state.get("alarm", 2)))
        for tunnel, link in state.get("tunnels", {}).items():
            table[YR_IF_TUNNEL_LINK + (int(tunnel),)] = ("integer", int(link))
    return table


def wrong_value(typ, value, new_type):
    """The value of (typ, value) re-typed as new_type, as a confused agent would."""
    if new_type in ("string", "octet", "opaque"):
        text = str(value)
        return text.encode().hex() if new_type != "string" else text
    if new_type == "objectid":
        return ".1.3.6.1.4.1.99999.0.%d" % (abs(int(value)) if typ != "objectid" else 0)
    if new_type == "ipaddress":
        return "127.0.0.1"
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = len(str(value))
    if new_type in ("gauge", "counter", "timeticks"):
        number %= TWO32
    return number


def serve_table(state, now, load=None):
    """device_table() with the oddities applied. load(path) -> state of another
    device, for impersonate."""
    source = state
    other = state.get("impersonate")
    if other and load is not None:
        source = load(other) or state
    table = device_table(source, now)
    for name, new_type in state.get("wrong_type", {}).items():
        try:
            oid = resolve_name(source, name)
        except KeyError:
            continue
        if oid in table:
            typ, value = table[oid]
            table[oid] = (new_type, wrong_value(typ, value, new_type))
    for oid_text, override in state.get("overrides", {}).items():
        oid = parse_oid(oid_text)
        if override is None:
            table.pop(oid, None)
        else:
            table[oid] = (override[0], override[1])
    return table


class StateFile:
    """A JSON state file, re-read when its inode, mtime or size changes. Keeps the
    last good contents when a read fails."""

    def __init__(self, path):
        self.path = path
        self.key = None
        self.state = None

    def get(self):
        try:
            st = os.stat(self.path)
        except OSError:
            return self.state
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self.key:
            try:
                with open(self.path, encoding="utf-8") as f:
                    self.state = json.load(f)
                self.key = key
            except (OSError, ValueError) as e:
                print("snmp_pass: %s: %s" % (self.path, e), file=sys.stderr)
        return self.state


def value_text(typ, value):
    text = str(value)
    # One line per value in the protocol.
    return text.replace("\r", " ").replace("\n", " ")


class Responder:
    def __init__(self, state_path, root):
        self.root = root
        self.files = {}
        self.main = self.file(state_path)

    def file(self, path):
        if path not in self.files:
            self.files[path] = StateFile(path)
        return self.files[path]

    def load(self, path):
        return self.file(path).get()

    def table(self):
        state = self.main.get()
        if state is None:
            return {}
        table = serve_table(state, time.time(), self.load)
        n = len(self.root)
        return {oid: v for oid, v in table.items() if oid[:n] == self.root}

    def get(self, oid):
        value = self.table().get(oid)
        return None if value is None else (oid, value)

    def getnext(self, oid):
        table = self.table()
        keys = sorted(table)
        i = bisect.bisect_right(keys, oid)
        if i == len(keys):
            return None
        return keys[i], table[keys[i]]


def answer(out, result):
    if result is None:
        out.write("NONE\n")
    else:
        oid, (typ, value) = result
        out.write("%s\n%s\n%s\n" % (format_oid(oid), typ, value_text(typ, value)))


def main(argv):
    if len(argv) != 3:
        print("usage: snmp_pass.py STATE_FILE ROOT_OID", file=sys.stderr)
        return 2
    responder = Responder(argv[1], parse_oid(argv[2]))
    stdin, out = sys.stdin, sys.stdout
    while True:
        line = stdin.readline()
        if not line:
            return 0
        cmd = line.strip()
        if cmd == "PING":
            out.write("PONG\n")
        elif cmd in ("get", "getnext"):
            try:
                oid = parse_oid(stdin.readline())
            except ValueError:
                out.write("NONE\n")
            else:
                try:
                    fn = responder.get if cmd == "get" else responder.getnext
                    answer(out, fn(oid))
                except Exception as e:  # a bad state must not kill the agent
                    print("snmp_pass: %s: %r" % (cmd, e), file=sys.stderr)
                    out.write("NONE\n")
        elif cmd == "set":
            stdin.readline()
            stdin.readline()
            out.write("not-writable\n")
        elif cmd == "":
            continue
        else:
            return 0
        out.flush()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
