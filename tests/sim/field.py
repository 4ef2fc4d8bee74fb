#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The simulated field: every device of a fieldwatch configuration, on loopback.

From a fieldwatch YAML configuration and its credentials directory, brings up one
real snmpd per LTE router and one for the RTX1220 (snmp_field.py; values from
per-device state files that tests change at run time), and the ONVIF camera
simulator (onvif_sim.py) for every camera; and takes them down again.

Command line (run with /usr/bin/python3 from anywhere):

  field.py up --config config/lab.yaml --credentials tests/credentials --run-dir DIR
               [--no-cameras] [--timeout 20] [--camera-tls SITE=CERT,KEY ...]
  field.py down --run-dir DIR
  field.py status --run-dir DIR [--json]
  field.py set --run-dir DIR router 05 rsrp=-120 ifoper=2 reboot
  field.py set --run-dir DIR vpn tunnel.5=down cpu=95 alarm=on
  field.py set --run-dir DIR camera 05 fault=slow delay=5     (fault=none clears)
  field.py set --run-dir DIR camera 05 clock_skew=30          (simulator state)
  field.py set --run-dir DIR camera 05 event=tns1:Device/HardwareFailure/StorageFailure Failed=true
  field.py set --run-dir DIR camera 05 restart [downtime=2]
  field.py freeze|thaw --run-dir DIR router 05 | vpn

`up` returns 0 once every snmpd answers an snmpget and the camera simulator is
ready, leaving them running; DIR/field.json records every PID, address and the
camera control port. `down` stops exactly the processes recorded there.

Python API (for the tests):

  with Field("config/lab.yaml", "tests/credentials", run_dir) as f:
      f.router("05").set(rsrp=-120)          # any signal name of probes.router.signal
      f.router("05").set_ifoper(2)           # the WAN interface (wan_ifindex)
      f.router("05").reboot(); f.router("05").set_uptime(2**32 - 100)
      f.router("05").freeze(); f.router("05").thaw()
      f.router("05").impersonate("07")       # answer with router 07's values
      f.router("05").wrong_type("rsrp")      # serve rsrp as an OCTET STRING
      f.vpn.set_tunnel(5, False); f.vpn.set(cpu=95, memory=50, temperature=70, alarm=True)
      f.camera("05").fault("silent"); f.camera("05").clear()
      f.camera("05").state(clock_skew=30); f.camera("05").counters()
      f.camera("05").tls(cert, key)         # an https camera presents another certificate
      f.camera("05").event("tns1:VideoSource/GlobalSceneChange/ImagingService", State=True)
      f.camera("05").restart(downtime=2)     # drops its PullPoint subscriptions
      f.camera("05").subscriptions()         # the live PullPoint subscriptions
      f.pids()

  Cameras with `scheme: https` need their certificate and key, which the field
  does not make up: Field(..., camera_tls={"05": (cert_path, key_path)}). A
  camera_tls entry for an http camera makes that camera speak TLS anyway (a
  configuration that disagrees with the device).

  Every camera offers ONVIF events (PullPoint) with the simulator's default
  topics; Field(..., camera_events={"05": False}) makes site 05's camera offer
  none (no event service), {"05": ["tns1:...", ...]} other topics.
  Field(..., camera_keepalive={"05": 0.5}) makes site 05's camera close an idle
  connection 0.5 s after an answer (the simulator's default: 30 s).

Every change is in effect when the call returns.
"""

import argparse
import json
import os
import signal
import sys
import time
import urllib.error
import urllib.request

import yaml

if __package__:
    from . import snmp_field
    from . import snmp_pass
else:
    import snmp_field
    import snmp_pass

HERE = os.path.dirname(os.path.abspath(__file__))
ONVIF_SIM = os.path.join(HERE, "onvif_sim.py")
FIELD_JSON = "field.json"
DEFAULT_TIMEOUT = 60.0  # generous: three suites may start their fields at once (make blackbox)
DEFAULT_CAMERA_MODEL = "WV-S2536LNUX"
# Yamaha's default engine ID is 8000049e03 + the LAN1 MAC address (DEVICES.md §D);
# 00:a0:de is Yamaha's OUI.
VPN_ENGINE_ID = "0x8000049e0300a0de000001"

FieldError = snmp_field.FieldError


# ---------------------------------------------------------------------------
# The configuration

def _read_credential(directory, name):
    if not name:
        raise FieldError("a credential name is missing in the configuration")
    path = os.path.join(directory, name)
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().rstrip("\r\n")
    except OSError as e:
        raise FieldError("credential %s: %s" % (path, e.strerror)) from None


def _snmp_access(snmp, credentials, what):
    """(community, [V3User]) for a device's snmp: section."""
    version = str(snmp.get("version", "3")).lower()
    if version in ("2c", "2"):
        return _read_credential(credentials, snmp.get("community_credential")), []
    if version == "3":
        user = snmp_field.V3User(snmp.get("user", "monitor"), snmp.get("auth", "SHA"),
                                 _read_credential(credentials, snmp.get("auth_credential")),
                                 snmp.get("priv", "AES"),
                                 _read_credential(credentials, snmp.get("priv_credential")))
        return None, [user]
    raise FieldError("%s: unknown SNMP version %r" % (what, snmp.get("version")))


def _serial(site_id):
    return "LAB%s" % str(site_id).rjust(5, "0")


class Plan:
    """What a configuration asks for: agents (name -> SnmpAgent, initial state),
    cameras (the simulator's list) and the address of every device."""

    def __init__(self, config_path, credentials, run_dir, camera_tls=None, cameras=True,
                 camera_events=None, camera_keepalive=None):
        try:
            with open(config_path, encoding="utf-8") as f:
                cfg = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            raise FieldError("configuration %s: %s" % (config_path, e)) from None
        if not isinstance(cfg, dict) or not isinstance(cfg.get("sites"), list):
            raise FieldError("configuration %s: no sites" % config_path)
        snmp_dir = os.path.join(run_dir, "snmp")
        signals = ((cfg.get("probes") or {}).get("router") or {}).get("signal") or {}
        signal_oids = {}
        for name, spec in signals.items():
            oid = (spec or {}).get("oid")
            if not oid:
                raise FieldError("probes.router.signal.%s: no oid" % name)
            snmp_pass.parse_oid(oid)
            signal_oids[name] = oid.strip(".")
        now = time.time()
        self.agents = {}     # name -> (SnmpAgent, state)
        self.routers = {}    # site id -> agent name
        self.cameras = []    # the simulator's camera list
        camera_tls = {str(k): v for k, v in (camera_tls or {}).items()}
        camera_events = {str(k): v for k, v in (camera_events or {}).items()}
        camera_keepalive = {str(k): v for k, v in (camera_keepalive or {}).items()}
        used = {}

        def claim(kind, address, port, what):
            snmp_field.check_loopback(address)
            key = (kind, address, int(port))
            if key in used:
                raise FieldError("%s and %s both use %s %s:%s"
                                 % (used[key], what, kind, address, port))
            used[key] = what

        for site in cfg["sites"]:
            sid = str(site["id"])
            if sid in self.routers:
                raise FieldError("duplicate site id %s" % sid)
            router = site.get("router")
            if router:
                name = "router-%s" % sid
                address, port = str(router["address"]), int(router.get("port", 161))
                claim("udp", address, port, name)
                community, users = _snmp_access(router.get("snmp") or {}, credentials, name)
                wan = int(router.get("wan_ifindex", 1))
                agent = snmp_field.SnmpAgent(
                    name, [(address, port)], os.path.join(snmp_dir, name, "state.json"),
                    os.path.join(snmp_dir, name), community=community, users=users,
                    roots=snmp_field.pass_roots(signal_oids.values()),
                    probe_oids=[snmp_field.SYSTEM_ROOT + ".3.0",
                                snmp_field.INTERFACES_ROOT + ".1.0",
                                *list(signal_oids.values())[:1]])
                state = snmp_field.router_state(sid, signal_oids=signal_oids, wan_ifindex=wan,
                                                location=str(site.get("name", "")), now=now)
                self.agents[name] = (agent, state)
                self.routers[sid] = name
            camera = site.get("camera")
            if camera:
                address, port = str(camera["address"]), int(camera.get("port", 80))
                claim("tcp", address, port, "camera-%s" % sid)
                scheme = camera.get("scheme", "http")
                if scheme not in ("http", "https"):
                    raise FieldError("camera %s: unknown scheme %r" % (sid, scheme))
                if scheme == "https" and sid not in camera_tls and cameras:
                    raise FieldError("camera %s: scheme https needs its certificate and key: "
                                     "Field(..., camera_tls={%r: (cert, key)}), or "
                                     "--camera-tls %s=CERT,KEY" % (sid, sid, sid))
                tls = camera_tls.pop(sid, None)
                entry = {
                    "id": sid, "address": address, "port": port,
                    "username": str(camera.get("username", "admin")),
                    "password": _read_credential(credentials, camera.get("password_credential")),
                    "auth": str(camera.get("auth", "digest")),
                    "model": str(camera.get("model", DEFAULT_CAMERA_MODEL)),
                    "serial": _serial(sid),
                }
                if tls is not None:
                    cert, key = tls
                    entry["tls"] = {"cert": os.path.abspath(cert), "key": os.path.abspath(key)}
                events = camera_events.pop(sid, None)
                if events is False:
                    entry["events"] = False
                elif events is not None:
                    entry["event_topics"] = list(events)
                if sid in camera_keepalive:
                    entry["keepalive"] = camera_keepalive.pop(sid)
                self.cameras.append(entry)
        if camera_tls:
            raise FieldError("camera_tls for sites without a camera: %s"
                             % " ".join(sorted(camera_tls)))
        if camera_events:
            raise FieldError("camera_events for sites without a camera: %s"
                             % " ".join(sorted(camera_events)))
        if camera_keepalive:
            raise FieldError("camera_keepalive for sites without a camera: %s"
                             % " ".join(sorted(camera_keepalive)))
        vpn = cfg.get("vpn")
        self.vpn = None
        if vpn:
            address, port = str(vpn["address"]), int(vpn.get("port", 161))
            claim("udp", address, port, "vpn")
            community, users = _snmp_access(vpn.get("snmp") or {}, credentials, "vpn")
            tunnels = sorted({int(s["tunnel"]) for s in cfg["sites"] if "tunnel" in s})
            agent = snmp_field.SnmpAgent(
                "vpn", [(address, port)], os.path.join(snmp_dir, "vpn", "state.json"),
                os.path.join(snmp_dir, "vpn"), community=community, users=users,
                roots=[snmp_field.SYSTEM_ROOT, snmp_field.INTERFACES_ROOT, snmp_field.YAMAHA_ROOT],
                engine_id=VPN_ENGINE_ID,
                probe_oids=[snmp_field.SYSTEM_ROOT + ".3.0", snmp_field.INTERFACES_ROOT + ".1.0",
                            snmp_field.YAMAHA_ROOT + ".2.1.5.0"])
            self.agents["vpn"] = (agent, snmp_field.vpn_state(
                tunnels, name=str(vpn.get("name", "RTX1220")), now=now))
            self.vpn = "vpn"


# ---------------------------------------------------------------------------
# Device handles

class _SnmpDevice:
    def __init__(self, field, name):
        self._field = field
        self.name = name

    @property
    def info(self):
        return self._field.info["snmpd"][self.name]

    @property
    def pid(self):
        return self.info["pid"]

    @property
    def address(self):
        return self.info["listen"][0].rsplit(":", 1)[0]

    @property
    def port(self):
        return int(self.info["listen"][0].rsplit(":", 1)[1])

    @property
    def state_path(self):
        return self.info["state"]

    def state(self):
        """The device's current state (a copy)."""
        return snmp_field.read_json(self.state_path)

    def _update(self, change):
        return snmp_field.update_state(self.state_path, change)

    def set_uptime(self, ticks):
        """sysUpTime is `ticks` now (taken modulo 2^32) and counts on from there."""
        fields = snmp_field.reboot_fields(ticks=ticks)
        self._update(lambda s: s.update(fields))

    def reboot(self):
        """A reboot as the poller sees it: sysUpTime starts again from 0."""
        self.set_uptime(0)

    def uptime(self):
        """The sysUpTime the device serves now, in ticks."""
        return snmp_pass.uptime_ticks(self.state(), time.time())

    def _signal(self, sig):
        info = self.info
        if not snmp_field.proc_alive(info["pid"], info["starttime"]):
            raise FieldError("%s: snmpd (pid %s) is not running" % (self.name, info["pid"]))
        os.kill(info["pid"], sig)

    def freeze(self):
        """SIGSTOP the device's snmpd: it answers nothing until thaw()."""
        self._signal(signal.SIGSTOP)
        deadline = time.monotonic() + 2
        while (snmp_field.proc_stat(self.pid) or ("T",))[0] not in ("T", "t"):
            if time.monotonic() > deadline:
                raise FieldError("%s: snmpd did not stop" % self.name)
            time.sleep(0.005)

    def thaw(self):
        """SIGCONT the device's snmpd: it answers again (queued requests first)."""
        self._signal(signal.SIGCONT)
        deadline = time.monotonic() + 2
        while self.frozen():
            if time.monotonic() > deadline:
                raise FieldError("%s: snmpd did not continue" % self.name)
            time.sleep(0.005)

    def frozen(self):
        st = snmp_field.proc_stat(self.pid)
        return st is not None and st[0] in ("T", "t")

    def wrong_type(self, name, type="string"):
        """Serves the OID `name` (rsrp, uptime, ifoper, cpu, alarm, tunnel.5, ... or
        a dotted OID) with the wrong ASN.1 type (string, integer, gauge, counter,
        timeticks, objectid, ipaddress); type=None serves it right again."""
        snmp_pass.resolve_name(self.state(), name)
        if type is not None and type not in snmp_pass.TYPES:
            raise ValueError("unknown type %r (%s)" % (type, ", ".join(snmp_pass.TYPES)))

        def change(s):
            s.setdefault("wrong_type", {})
            if type is None:
                s["wrong_type"].pop(name, None)
            else:
                s["wrong_type"][name] = type
        self._update(change)

    def override(self, oid, type=None, value=None):
        """Serves `value` with `type` at `oid` (any OID under the device's subtrees);
        type=None makes the OID vanish (noSuchObject)."""
        oid = ".".join(map(str, snmp_pass.parse_oid(oid)))
        if type is not None and type not in snmp_pass.TYPES:
            raise ValueError("unknown type %r (%s)" % (type, ", ".join(snmp_pass.TYPES)))
        entry = None if type is None else [type, value]
        self._update(lambda s: s.setdefault("overrides", {}).__setitem__(oid, entry))

    def clear_oddities(self):
        """Undoes wrong_type(), override() and impersonate()."""
        self._update(lambda s: s.update({"wrong_type": {}, "overrides": {}, "impersonate": None}))


class Router(_SnmpDevice):
    """Site N's LTE router (RX220)."""

    def __init__(self, field, site_id):
        super().__init__(field, "router-%s" % site_id)
        self.site_id = site_id

    def set(self, **values):
        """Signal values (the names under probes.router.signal: rsrp=-120, sinr=3;
        None removes the OID), ifoper=, uptime=, sysName=, sysDescr=, sysLocation=."""
        state = self.state()
        for key in values:
            if key not in state.get("signal_oids", {}) and key not in (
                    "ifoper", "uptime", "sysName", "sysDescr", "sysLocation"):
                raise ValueError("%s: cannot set %r (signals: %s; ifoper, uptime, sysName, "
                                 "sysDescr, sysLocation)"
                                 % (self.name, key, ", ".join(state.get("signal_oids", {}))))
        uptime = snmp_field.reboot_fields(ticks=values["uptime"]) if "uptime" in values else None

        def change(s):
            for key, value in values.items():
                if key in s.get("signal_oids", {}):
                    s["signal"][key] = None if value is None else int(value)
                elif key == "ifoper":
                    s["ifaces"][str(s["wan_ifindex"])] = int(value)
                elif key == "uptime":
                    s.update(uptime)
                else:
                    s[key] = str(value)
        self._update(change)

    def set_ifoper(self, status, ifindex=None):
        """ifOperStatus of the WAN interface (or of ifindex): 1 up, 2 down, ... 7."""
        status = int(status)
        if not 1 <= status <= 7:
            raise ValueError("ifOperStatus is 1..7, not %d" % status)

        def change(s):
            index = str(s["wan_ifindex"] if ifindex is None else int(ifindex))
            s["ifaces"][index] = status
            s.setdefault("ifdescr", {}).setdefault(index, "if%s" % index)
        self._update(change)

    def impersonate(self, other_site_id):
        """Answers with router other_site_id's values (sysName, uptime, signal...):
        a wrongly addressed router. None stops it."""
        path = None
        if other_site_id is not None:
            path = self._field.router(str(other_site_id)).state_path
        self._update(lambda s: s.__setitem__("impersonate", path))


class Vpn(_SnmpDevice):
    """The RTX1220."""

    def __init__(self, field):
        super().__init__(field, "vpn")

    def set_tunnel(self, tunnel, up):
        """yrIfTunnelLink.<tunnel>: up (True or 1) or down (False or 2)."""
        link = 1 if up is True or up == 1 else 2 if up is False or up == 2 else None
        if link is None:
            raise ValueError("tunnel state is True/False or 1/2, not %r" % (up,))
        key = str(int(tunnel))
        if key not in self.state().get("tunnels", {}):
            raise ValueError("the RTX1220 has no tunnel %s in this configuration" % key)
        self._update(lambda s: s["tunnels"].__setitem__(key, link))

    def set(self, cpu=None, memory=None, temperature=None, alarm=None, uptime=None):
        """yrhCpuUtil (%), yrhMemoryUtil (%), yrhInboxTemperature (°C), the alarm LED
        (True on, False off), sysUpTime; only the ones given change."""
        change = {}
        for key, value in (("cpu", cpu), ("memory", memory), ("temperature", temperature)):
            if value is not None:
                change[key] = int(value)
        if alarm is not None:
            change["alarm"] = 1 if alarm is True or alarm == 1 else 2
        if uptime is not None:
            change.update(snmp_field.reboot_fields(ticks=uptime))
        self._update(lambda s: s.update(change))


class Camera:
    """Site N's camera, through the camera simulator's control API."""

    def __init__(self, field, site_id):
        self._field = field
        self.site_id = site_id
        cams = field.info.get("cameras") or {}
        if site_id not in cams.get("addresses", {}):
            which = "are " + " ".join(cams["addresses"]) if cams else "not running"
            raise FieldError("no simulated camera %s (cameras %s)" % (site_id, which))
        self.address, port = cams["addresses"][site_id].rsplit(":", 1)
        self.port = int(port)

    def fault(self, name, **params):
        """Injects fault `name` (down, silent, slow, http500, ...) with its parameters."""
        return self._field.camera_control("POST", "/cameras/%s" % self.site_id,
                                          dict(params, fault=name))

    def clear(self):
        return self._field.camera_control("POST", "/cameras/%s" % self.site_id, {"fault": None})

    def state(self, **values):
        """Changes the camera's state: serial, model, clock_skew, recording_lag, sd."""
        return self._field.camera_control("POST", "/cameras/%s/state" % self.site_id, values)

    def counters(self):
        return self._field.camera_control("GET", "/cameras/%s" % self.site_id)

    def tls(self, cert, key):
        """An https camera presents the certificate cert (with key) from its next
        handshake on; reset() restores the configured one."""
        return self._field.camera_control("POST", "/cameras/%s/tls" % self.site_id,
                                          {"cert": os.path.abspath(cert),
                                           "key": os.path.abspath(key)})

    def forget_auth_error(self):
        """Clears the counters' last_auth_error, and nothing else."""
        return self._field.camera_control("POST", "/cameras/%s/forget-auth-error" % self.site_id,
                                          {})

    def reset(self):
        """Restores the camera: state, fault, counters, certificate, subscriptions."""
        return self._field.camera_control("POST", "/cameras/%s/reset" % self.site_id, {})

    def event(self, topic, source=None, operation=None, **data):
        """Queues an ONVIF event to every live PullPoint subscription of the camera
        (and remembers it as the property's state), e.g.
        event("tns1:VideoSource/GlobalSceneChange/ImagingService", State=True).
        Returns the camera's state with "delivered": how many subscriptions got it."""
        body = {"topic": topic, "data": data}
        if source is not None:
            body["source"] = source
        if operation is not None:
            body["operation"] = operation
        return self._field.camera_control("POST", "/cameras/%s/event" % self.site_id, body)

    def restart(self, downtime=0):
        """The camera reboots: its subscriptions, Digest nonces and connections are
        lost; it listens again after downtime seconds."""
        return self._field.camera_control("POST", "/cameras/%s/restart" % self.site_id,
                                          {"downtime": downtime})

    def subscriptions(self):
        """The live PullPoint subscriptions (idx, address, termination_time, queued,
        waiting_pulls, pulls, delivered, renewals, ...)."""
        return self.counters()["events"]["subscriptions"]


# ---------------------------------------------------------------------------
# The field

class Field:
    """The simulated field of one configuration. `with Field(...) as f:` brings it
    up and always takes it down; Field.attach(run_dir) controls one that `field.py
    up` started."""

    def __init__(self, config, credentials, run_dir, *, cameras=True, timeout=DEFAULT_TIMEOUT,
                 die_with_parent=True, camera_tls=None, camera_events=None,
                 camera_keepalive=None):
        self.config = os.path.abspath(config) if config else None
        self.credentials = os.path.abspath(credentials) if credentials else None
        self.run_dir = os.path.abspath(run_dir)
        self.want_cameras = cameras
        self.timeout = timeout
        self.die_with_parent = die_with_parent
        self.camera_tls = dict(camera_tls or {})   # site id -> (cert path, key path)
        self.camera_events = dict(camera_events or {})  # site id -> False | [topic, ...]
        self.camera_keepalive = dict(camera_keepalive or {})  # site id -> seconds
        self.info = None
        self.startup_seconds = None
        self._popens = []
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- bring up ---------------------------------------------------------------

    @classmethod
    def attach(cls, run_dir):
        """The field recorded in run_dir/field.json."""
        f = cls(None, None, run_dir)
        path = os.path.join(f.run_dir, FIELD_JSON)
        try:
            f.info = snmp_field.read_json(path)
        except (OSError, ValueError) as e:
            raise FieldError("no field in %s (%s)" % (f.run_dir, e)) from None
        return f

    def _json_path(self):
        return os.path.join(self.run_dir, FIELD_JSON)

    def _save(self):
        snmp_field.write_json_atomic(self._json_path(), self.info)

    def _check_not_running(self):
        try:
            old = snmp_field.read_json(self._json_path())
        except (OSError, ValueError):
            return
        running = [p for p in _recorded(old) if snmp_field.proc_alive(*p)]
        if running:
            raise FieldError("a field is already up in %s (pids %s): field.py down --run-dir %s"
                             % (self.run_dir, " ".join(str(p) for p, _ in running), self.run_dir))

    def up(self):
        t0 = time.monotonic()
        deadline = t0 + self.timeout
        os.makedirs(self.run_dir, exist_ok=True)
        self._check_not_running()
        plan = Plan(self.config, self.credentials, self.run_dir, self.camera_tls,
                    cameras=self.want_cameras, camera_events=self.camera_events,
                    camera_keepalive=self.camera_keepalive)
        if self.want_cameras and plan.cameras and not os.path.exists(ONVIF_SIM):
            raise FieldError("the camera simulator %s does not exist (yet); "
                             "bring the field up without cameras (--no-cameras)" % ONVIF_SIM)
        self.info = {
            "version": 1, "status": "starting", "config": self.config,
            "credentials": self.credentials, "run_dir": self.run_dir,
            "started_at": time.time(), "snmpd": {}, "routers": plan.routers,
            "vpn": plan.vpn, "cameras": None,
        }
        try:
            for agent, state in plan.agents.values():
                agent.prepare(state)
            for agent, _ in plan.agents.values():
                self._popens.append(agent.start(die_with_parent=self.die_with_parent))
                self.info["snmpd"][agent.name] = agent.describe()
            if self.want_cameras and plan.cameras:
                self._start_cameras(plan.cameras)
            self._save()
            snmp_field.wait_answering([a for a, _ in plan.agents.values()], deadline,
                                      self.run_dir)
            if self.info["cameras"]:
                self._wait_cameras(deadline)
        except BaseException:
            self.down()
            raise
        self.startup_seconds = time.monotonic() - t0
        self.info["status"] = "up"
        self.info["startup_seconds"] = round(self.startup_seconds, 3)
        self._save()
        return self

    def _start_cameras(self, cameras):
        directory = os.path.join(self.run_dir, "camera")
        os.makedirs(directory, exist_ok=True)
        cameras_json = os.path.join(directory, "cameras.json")
        ready = os.path.join(directory, "ready")
        log = os.path.join(directory, "onvif_sim.log")
        if os.path.exists(ready):
            os.unlink(ready)
        fd = os.open(cameras_json, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(cameras, f, indent=1)
        control = "127.0.0.1:0"    # the simulator picks; the ready file says which
        argv = [snmp_field.PYTHON, ONVIF_SIM, "--cameras", cameras_json, "--control", control,
                "--ready-file", ready, "--log", log]
        p, start = snmp_field.spawn(argv, log_path=log + ".stderr",
                                    die_with_parent=self.die_with_parent)
        self._popens.append(p)
        self.info["cameras"] = {
            "pid": p.pid, "starttime": start, "control": control, "cameras_json": cameras_json,
            "ready_file": ready, "log": log,
            "addresses": {c["id"]: "%s:%d" % (c["address"], c["port"]) for c in cameras},
        }

    def _wait_cameras(self, deadline):
        cams = self.info["cameras"]
        while not os.path.exists(cams["ready_file"]):
            if not snmp_field.proc_alive(cams["pid"], cams["starttime"]):
                raise FieldError("the camera simulator exited before it was ready; log:\n%s\n%s"
                                 % (snmp_field.log_tail(cams["log"]),
                                    snmp_field.log_tail(cams["log"] + ".stderr")))
            if time.monotonic() > deadline:
                raise FieldError("the camera simulator was not ready in time (no %s)"
                                 % cams["ready_file"])
            time.sleep(0.02)
        try:
            ready = snmp_field.read_json(cams["ready_file"])
        except (OSError, ValueError) as e:
            raise FieldError("the camera simulator's ready file: %s" % e) from None
        cams["control"] = ready["control"]
        for c in ready.get("cameras", []):
            cams["addresses"][str(c["id"])] = "%s:%d" % (c["address"], int(c["port"]))

    # -- take down ------------------------------------------------------------

    def down(self):
        """Stops every process this field started (and their children): SIGTERM,
        then SIGKILL after a bound. Returns the (pid, starttime) pairs stopped."""
        if self.info is None:
            return []
        stopped = snmp_field.terminate(_recorded(self.info), popens=self._popens)
        for p in self._popens:
            try:
                p.wait(timeout=1)
            except Exception:
                pass
        self._popens = []
        self.info["status"] = "down"
        self.info["stopped_at"] = time.time()
        if os.path.isdir(self.run_dir):
            self._save()
        return stopped

    def __enter__(self):
        return self.up()

    def __exit__(self, *exc):
        self.down()
        return False

    # -- devices ----------------------------------------------------------------

    def router(self, site_id):
        site_id = str(site_id)
        if "router-%s" % site_id not in self.info["snmpd"]:
            raise FieldError("no router for site %s" % site_id)
        return Router(self, site_id)

    @property
    def vpn(self):
        if "vpn" not in self.info["snmpd"]:
            raise FieldError("no vpn in this configuration")
        return Vpn(self)

    def camera(self, site_id):
        return Camera(self, str(site_id))

    def sites(self):
        return sorted(self.info["routers"])

    def pids(self):
        """{"router-01": pid, ..., "vpn": pid, "cameras": pid}: the processes up() started."""
        pids = {name: a["pid"] for name, a in self.info["snmpd"].items()}
        if self.info.get("cameras"):
            pids["cameras"] = self.info["cameras"]["pid"]
        return pids

    def processes(self):
        """Every process of the field now, children (pass_persist responders)
        included, as (pid, starttime) pairs."""
        procs = [p for p in _recorded(self.info) if snmp_field.proc_alive(*p)]
        for pid, _ in list(procs):
            procs.extend(snmp_field.proc_tree(pid))
        return procs

    def status(self):
        """{name: {"pid", "state": running|frozen|gone, "listen"}}."""
        result = {}
        for name, a in self.info["snmpd"].items():
            result[name] = {"pid": a["pid"], "state": _proc_state(a["pid"], a["starttime"]),
                            "listen": a["listen"]}
        cams = self.info.get("cameras")
        if cams:
            result["cameras"] = {"pid": cams["pid"],
                                 "state": _proc_state(cams["pid"], cams["starttime"]),
                                 "control": cams["control"], "cameras": len(cams["addresses"])}
        return result

    def camera_control(self, method, path, body=None):
        """A request to the camera simulator's control API; returns its JSON."""
        cams = self.info.get("cameras")
        if not cams:
            raise FieldError("the camera simulator is not running in this field")
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request("http://%s%s" % (cams["control"], path), data=data,
                                     method=method, headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(req, timeout=5) as r:
                text = r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:300]
            raise FieldError("camera control %s %s: HTTP %d %s"
                             % (method, path, e.code, detail)) from None
        except OSError as e:
            raise FieldError("camera control %s %s: %s" % (method, path, e)) from None
        try:
            return json.loads(text) if text.strip() else {}
        except ValueError:
            return {"text": text}

    def reset_cameras(self):
        return self.camera_control("POST", "/reset", {})


def _recorded(info):
    procs = [(a["pid"], a["starttime"]) for a in info.get("snmpd", {}).values() if a.get("pid")]
    if info.get("cameras"):
        procs.append((info["cameras"]["pid"], info["cameras"]["starttime"]))
    return procs


def _proc_state(pid, starttime):
    if not snmp_field.proc_alive(pid, starttime):
        return "gone"
    return "frozen" if snmp_field.proc_stat(pid)[0] in ("T", "t") else "running"


# ---------------------------------------------------------------------------
# Command line

def _value(text):
    """A command-line value: JSON (numbers, true/false, null) or else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _split(token):
    if "=" not in token:
        return token, None
    key, value = token.split("=", 1)
    return key, value


def _set_snmp_common(dev, key, value):
    """The settings routers and the vpn share; False if key is not one of them."""
    if key == "reboot" and value is None:
        dev.reboot()
    elif key == "uptime":
        dev.set_uptime(int(value))
    elif key == "wrongtype":
        if value == "none":
            dev.clear_oddities()
        else:
            name, _, typ = value.partition(":")
            dev.wrong_type(name, typ or "string")
    elif key.startswith("override."):
        oid = key[len("override."):]
        if value == "absent":
            dev.override(oid, None)
        else:
            typ, _, text = value.partition(":")
            dev.override(oid, typ, text)
    elif key == "oddities" and value == "none":
        dev.clear_oddities()
    else:
        return False
    return True


SYS_KEYS = {"sysname": "sysName", "sysdescr": "sysDescr", "syslocation": "sysLocation"}


def _set_router(dev, tokens):
    signals = dev.state().get("signal_oids", {})
    for token in tokens:
        key, value = _split(token)
        if _set_snmp_common(dev, key, value):
            continue
        if value is None:
            raise FieldError("router: %r needs a value (key=value)" % key)
        if key in signals:
            dev.set(**{key: None if value == "none" else int(value)})
        elif key == "ifoper" or key.startswith("ifoper."):
            status = {"up": 1, "down": 2}.get(value, value)
            dev.set_ifoper(int(status), key.partition(".")[2] or None)
        elif key in SYS_KEYS:
            dev.set(**{SYS_KEYS[key]: value})
        elif key == "impersonate":
            dev.impersonate(None if value == "none" else value)
        else:
            raise FieldError("router: unknown setting %r (signals %s, ifoper[.N], uptime, reboot, "
                             "sysname, impersonate, wrongtype, override.OID)"
                             % (key, ", ".join(signals)))


def _set_vpn(dev, tokens):
    for token in tokens:
        key, value = _split(token)
        if _set_snmp_common(dev, key, value):
            continue
        if value is None:
            raise FieldError("vpn: %r needs a value (key=value)" % key)
        if key.startswith("tunnel."):
            up = {"up": True, "1": True, "down": False, "2": False}.get(value)
            if up is None:
                raise FieldError("vpn: %s=%s: up or down" % (key, value))
            dev.set_tunnel(int(key[len("tunnel."):]), up)
        elif key in ("cpu", "memory", "temperature"):
            dev.set(**{key: int(value)})
        elif key == "alarm":
            on = {"on": True, "1": True, "off": False, "2": False}.get(value)
            if on is None:
                raise FieldError("vpn: alarm=%s: on or off" % value)
            dev.set(alarm=on)
        else:
            raise FieldError("vpn: unknown setting %r (tunnel.N, cpu, memory, temperature, alarm, "
                             "uptime, reboot, wrongtype, override.OID)" % key)


def _set_camera(cam, tokens):
    if tokens and tokens[0] == "restart":
        params = dict(_split(t) for t in tokens[1:])
        if set(params) - {"downtime"} or None in params.values():
            raise FieldError("camera: restart takes only downtime=SECONDS")
        return cam.restart(_value(params.get("downtime", "0")))
    pairs = []
    for token in tokens:
        key, value = _split(token)
        if value is None:
            raise FieldError("camera: %r needs a value (key=value)" % key)
        pairs.append((key, value))
    keys = [k for k, _ in pairs]
    if "event" in keys:
        # Data items stay text: ONVIF SimpleItem values are strings.
        data = {k: v for k, v in pairs if k != "event"}
        return cam.event(dict(pairs)["event"], **data)
    if "fault" in keys:
        params = {k: _value(v) for k, v in pairs if k != "fault"}
        name = dict(pairs)["fault"]
        result = cam.clear() if name in ("none", "null") else cam.fault(name, **params)
    else:
        result = cam.state(**{k: _value(v) for k, v in pairs})
    return result


def _device_args(field, words, command):
    if not words:
        raise FieldError("%s: which device? router ID | vpn | camera ID" % command)
    kind = words[0]
    if kind in ("router", "camera"):
        if len(words) < 2:
            raise FieldError("%s %s: which site?" % (command, kind))
        dev = field.router(words[1]) if kind == "router" else field.camera(words[1])
        return kind, dev, words[2:]
    if kind == "vpn":
        return kind, field.vpn, words[1:]
    raise FieldError("%s: unknown device kind %r (router, vpn, camera)" % (command, kind))


def main(argv=None):
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    parser = argparse.ArgumentParser(
        prog="field.py", description="The simulated field of a fieldwatch configuration.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("up", help="start every simulated device and wait until all answer")
    p.add_argument("--config", required=True)
    p.add_argument("--credentials", required=True)
    p.add_argument("--run-dir", required=True)
    p.add_argument("--no-cameras", action="store_true", help="SNMP devices only")
    p.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds (default 20)")
    p.add_argument("--camera-tls", action="append", default=[], metavar="SITE=CERT,KEY",
                   help="the certificate and key site SITE's camera presents (https)")
    p = sub.add_parser("down", help="stop the processes that `up` started")
    p.add_argument("--run-dir", required=True)
    p = sub.add_parser("status", help="the processes and their states")
    p.add_argument("--run-dir", required=True)
    p.add_argument("--json", action="store_true")
    for name, text in (("set", "change a device: router ID k=v.. | vpn k=v.. | camera ID k=v.."),
                       ("freeze", "SIGSTOP a device's snmpd: router ID | vpn"),
                       ("thaw", "SIGCONT a frozen snmpd: router ID | vpn")):
        p = sub.add_parser(name, help=text)
        p.add_argument("--run-dir", required=True)
        p.add_argument("words", nargs="+")
    args = parser.parse_args(argv)

    try:
        if args.command == "up":
            camera_tls = {}
            for item in args.camera_tls:
                site, _, paths = item.partition("=")
                cert, _, key = paths.partition(",")
                if not site or not cert or not key:
                    raise FieldError("--camera-tls %s: SITE=CERT,KEY" % item)
                camera_tls[site] = (cert, key)
            f = Field(args.config, args.credentials, args.run_dir, cameras=not args.no_cameras,
                      timeout=args.timeout, die_with_parent=False, camera_tls=camera_tls)
            f.up()
            n_routers = len(f.info["routers"])
            cams = f.info["cameras"]
            print("field up in %.1f s: %d routers, %s, %s; %s" % (
                f.startup_seconds, n_routers, "vpn" if f.info["vpn"] else "no vpn",
                "%d cameras (control %s)" % (len(cams["addresses"]), cams["control"]) if cams
                else "no cameras", os.path.join(f.run_dir, FIELD_JSON)))
            return 0
        f = Field.attach(args.run_dir)
        if args.command == "down":
            stopped = f.down()
            print("field down: %d processes stopped" % len(stopped))
            return 0
        if args.command == "status":
            st = f.status()
            if args.json:
                print(json.dumps({"status": f.info.get("status"), "processes": st}, indent=1))
            else:
                print("field %s (%s)" % (f.info.get("status"), f.run_dir))
                for name, s in st.items():
                    where = " ".join(s["listen"]) if "listen" in s else "control %s, %d cameras" % (
                        s["control"], s["cameras"])
                    print("%-10s pid %-7s %-8s %s" % (name, s["pid"], s["state"], where))
            return 0 if all(s["state"] != "gone" for s in st.values()) and st else 1
        if f.info.get("status") != "up":
            raise FieldError("the field in %s is %s" % (f.run_dir, f.info.get("status")))
        kind, dev, rest = _device_args(f, args.words, args.command)
        if args.command in ("freeze", "thaw"):
            if kind == "camera" or rest:
                raise FieldError("%s takes router ID or vpn" % args.command)
            dev.freeze() if args.command == "freeze" else dev.thaw()
            return 0
        if not rest:
            raise FieldError("set %s: nothing to set" % kind)
        if kind == "router":
            _set_router(dev, rest)
        elif kind == "vpn":
            _set_vpn(dev, rest)
        else:
            result = _set_camera(dev, rest)
            if result:
                print(json.dumps(result))
        return 0
    except (FieldError, ValueError, KeyError) as e:
        print("field.py: %s" % (e.args[0] if isinstance(e, KeyError) and e.args else e),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
