#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Real net-snmp snmpd agents for the simulated field, and their state files.

One SnmpAgent is one /usr/sbin/snmpd process with a generated configuration in a
directory of its own. It listens on one or more udp:ADDR:PORT (loopback only; one
agent may answer on many addresses with one shared value set, for the benchmark),
accepts a v2c community (restricted to 127.0.0.0/8) and/or v3 users (authPriv),
and serves its values from snmp_pass.py (pass_persist), which reads the agent's
JSON state file. Only the modules that SNMPv3 and pass_persist need are loaded
(-I MODULES): no system_mib, sysORTable, interfaces, ifTable, ifXTable, host
resources, ip or tcp tables, so sysUpTime, the system group and the ifTable are
ours and nothing of the host machine leaks into the simulated device.

router_state() and vpn_state() make the initial state of an RX220 and of the
RTX1220; update_state() changes a state file atomically (lock, temp + rename).
"""

import ctypes
import fcntl
import ipaddress
import json
import os
import signal
import subprocess
import tempfile
import time

if __package__:
    from . import snmp_pass
else:
    import snmp_pass

HERE = os.path.dirname(os.path.abspath(__file__))
PASS_SCRIPT = os.path.join(HERE, "snmp_pass.py")
PYTHON = "/usr/bin/python3"
SNMPD = "/usr/sbin/snmpd"
SNMPGET = "/usr/bin/snmpget"

# What SNMPv3 (USM, engine), the access directives and pass_persist need, and the
# snmp group counters; every other built-in module stays out.
SNMPD_MODULES = ("vacm_conf", "usmConf", "usmUser", "snmpEngine", "snmpMPDStats",
                 "usmStats", "pass_persist", "snmp_mib")

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA-224", "SHA-256", "SHA-384", "SHA-512")
PRIV_PROTOCOLS = ("DES", "AES")

SYSTEM_ROOT = "1.3.6.1.2.1.1"
INTERFACES_ROOT = "1.3.6.1.2.1.2"
YAMAHA_ROOT = "1.3.6.1.4.1.1182"

TICKS_PER_DAY = 100 * 86400

SIGNAL_DEFAULTS = {"rsrp": -95, "rsrq": -10, "sinr": 12, "rssi": -65}


class FieldError(Exception):
    """The field (or one of its devices) could not be brought up or changed."""


# ---------------------------------------------------------------------------
# State files

def write_json_atomic(path, obj):
    """Writes obj as JSON to path through a temporary file and rename(2)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, ensure_ascii=False, indent=1, sort_keys=True)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def update_state(path, change):
    """Calls change(state) on the state in path, under a lock, and writes the result
    atomically. Returns the new state. When this returns, the agent serves it."""
    with open(path + ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        state = read_json(path)
        result = change(state)
        if result is not None:
            state = result
        write_json_atomic(path, state)
        return state


def reboot_fields(now=None, ticks=0):
    """The state fields of an agent whose sysUpTime is `ticks` now."""
    return {"uptime_base_ticks": int(ticks) % snmp_pass.TWO32,
            "uptime_ref": time.time() if now is None else now}


def router_state(site_id, *, signal_oids, wan_ifindex=1, location="", uptime_ticks=None,
                 now=None):
    """The initial state of site site_id's LTE router (RX220)."""
    n = int(site_id) if str(site_id).isdigit() else 1
    if uptime_ticks is None:
        uptime_ticks = (10 + n) * TICKS_PER_DAY + n * 1234
    wan = int(wan_ifindex)
    lan = wan + 1
    state = {
        "kind": "router",
        "id": str(site_id),
        "sysDescr": "RX220 LTE router, site %s (fieldwatch lab simulator)" % site_id,
        # The RX220's enterprise OID is unknown (DEVICES.md §C): a lab number.
        "sysObjectID": ".1.3.6.1.4.1.99999.220",
        "sysContact": "fieldwatch lab",
        "sysName": "rx220-site%s" % site_id,
        "sysLocation": location,
        "sysServices": 6,
        "wan_ifindex": wan,
        "ifaces": {str(wan): 1, str(lan): 1},
        "ifdescr": {str(wan): "wwan0", str(lan): "lan0"},
        "iftype": {str(wan): 243, str(lan): 6},   # wwanPP, ethernetCsmacd
        "signal_oids": dict(signal_oids),
        "signal": {name: SIGNAL_DEFAULTS.get(name, 0) for name in signal_oids},
        "overrides": {},
        "wrong_type": {},
        "impersonate": None,
    }
    state.update(reboot_fields(now, uptime_ticks))
    return state


def vpn_state(tunnels, *, name="RTX1220", uptime_ticks=None, now=None):
    """The initial state of the RTX1220: every tunnel up, CPU, memory and
    temperature normal, the alarm LED off."""
    if uptime_ticks is None:
        uptime_ticks = 120 * TICKS_PER_DAY
    state = {
        "kind": "vpn",
        "sysDescr": "%s Rev.15.04.xx (fieldwatch lab simulator)" % name,
        # The RTX1220's own sysObjectID is unknown (DEVICES.md §D): Yamaha's
        # products branch without a model number.
        "sysObjectID": ".1.3.6.1.4.1.1182.1",
        "sysContact": "fieldwatch lab",
        "sysName": name.lower(),
        "sysLocation": "city hall",
        "sysServices": 6,
        "ifaces": {"1": 1, "2": 1, "3": 1},
        "ifdescr": {"1": "LAN1", "2": "LAN2", "3": "LAN3"},
        "iftype": {"1": 6, "2": 6, "3": 6},
        "tunnels": {str(int(t)): 1 for t in tunnels},
        "cpu": 8,
        "memory": 35,
        "temperature": 42,
        "alarm": 2,
        "overrides": {},
        "wrong_type": {},
        "impersonate": None,
    }
    state.update(reboot_fields(now, uptime_ticks))
    return state


def pass_roots(oids):
    """The subtrees a device's pass_persist must register: system, interfaces, and
    one per enterprise (or per parent, outside enterprises) of the extra OIDs, with
    nested ones folded into their parent."""
    roots = {SYSTEM_ROOT, INTERFACES_ROOT}
    for oid in oids:
        arcs = snmp_pass.parse_oid(oid)
        if arcs[:6] == (1, 3, 6, 1, 4, 1) and len(arcs) > 7:
            root = arcs[:7]
        else:
            root = arcs[:-1]
        if len(root) < 4:
            raise FieldError("OID %s is too short to be served" % oid)
        roots.add(".".join(map(str, root)))
    parsed = sorted(snmp_pass.parse_oid(r) for r in roots)
    kept = []
    for root in parsed:
        if not any(root[:len(k)] == k for k in kept):
            kept.append(root)
    return [".".join(map(str, r)) for r in kept]


# ---------------------------------------------------------------------------
# Processes

def proc_stat(pid):
    """(state letter, start time in clock ticks) of a process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[19])


def proc_alive(pid, starttime=None):
    """True while pid runs (a zombie counts as gone) and, if starttime is given, is
    still the process that was started then."""
    st = proc_stat(pid)
    if st is None or st[0] in ("Z", "X"):
        return False
    return starttime is None or st[1] == starttime


def proc_children(pid):
    """The PIDs whose parent is pid."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            children.append(int(entry))
    return children


def proc_tree(pid):
    """pid's descendants, deepest last, each as (pid, starttime)."""
    found = []
    pending = [pid]
    while pending:
        for child in proc_children(pending.pop()):
            st = proc_stat(child)
            if st is not None:
                found.append((child, st[1]))
                pending.append(child)
    return found


def _send(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(procs, timeout, popens):
    deadline = time.monotonic() + timeout
    while True:
        for p in popens:
            p.poll()
        left = [(pid, start) for pid, start in procs if proc_alive(pid, start)]
        if not left or time.monotonic() >= deadline:
            return left
        time.sleep(0.02)


def terminate(procs, timeout=5.0, popens=()):
    """Stops exactly the processes procs [(pid, starttime)] and their descendants:
    SIGTERM (and SIGCONT, for a frozen one), then SIGKILL after timeout. Returns
    the (pid, starttime) of every process it stopped, descendants included."""
    procs = [(pid, start) for pid, start in procs if proc_alive(pid, start)]
    tree = []
    for pid, _ in procs:
        tree.extend(proc_tree(pid))
    everything = procs + [p for p in tree if p not in procs]
    for pid, _ in procs:
        _send(pid, signal.SIGTERM)
        _send(pid, signal.SIGCONT)
    left = _wait_gone(procs, timeout, popens)
    for pid, _ in left:
        _send(pid, signal.SIGKILL)
    _wait_gone(procs, 2.0, popens)
    # The descendants (pass_persist responders) leave on EOF; make sure.
    left = _wait_gone(everything, 2.0, popens)
    for pid, start in left:
        if proc_alive(pid, start):
            _send(pid, signal.SIGKILL)
    left = _wait_gone(everything, 2.0, popens)
    if left:
        raise FieldError("processes still running after SIGKILL: %s"
                         % " ".join(str(pid) for pid, _ in left))
    return everything


_LIBC = None


def _die_with_parent():
    """preexec_fn: SIGKILL this child when the thread that started it ends, so a
    test killed hard leaves no simulator behind."""
    _LIBC.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


def spawn(argv, *, log_path, env=None, die_with_parent=False):
    """Starts argv in a session of its own, stdin from /dev/null, stdout and
    stderr to log_path. Returns (Popen, starttime)."""
    global _LIBC
    if die_with_parent and _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    with open(log_path, "ab") as log:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             env=env, start_new_session=True, close_fds=True,
                             preexec_fn=_die_with_parent if die_with_parent else None)
    st = proc_stat(p.pid)
    return p, (st[1] if st else None)


def log_tail(path, lines=15):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:]).rstrip()
    except OSError:
        return "(no log)"


# ---------------------------------------------------------------------------
# Agents

def check_loopback(address):
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise FieldError("%r is not an IP address" % address) from None
    if ip not in ipaddress.ip_network("127.0.0.0/8"):
        raise FieldError("%s is not a loopback address: the simulated field listens on "
                         "127.0.0.0/8 only" % address)


def _check_token(what, value, min_len=1):
    if not isinstance(value, str) or len(value) < min_len:
        raise FieldError("%s must be a string of at least %d characters" % (what, min_len))
    if any(c.isspace() or c in "\"'\\#" for c in value):
        raise FieldError("%s must not contain white space, quotes, '\\' or '#'" % what)


class V3User:
    """An SNMPv3 USM user with authPriv."""

    def __init__(self, name, auth, auth_pass, priv, priv_pass):
        if auth not in AUTH_PROTOCOLS:
            raise FieldError("unknown SNMPv3 auth protocol %r (%s)"
                             % (auth, ", ".join(AUTH_PROTOCOLS)))
        if priv not in PRIV_PROTOCOLS:
            raise FieldError("unknown SNMPv3 priv protocol %r (%s)"
                             % (priv, ", ".join(PRIV_PROTOCOLS)))
        _check_token("the SNMPv3 user name", name)
        # net-snmp refuses pass phrases shorter than 8 characters.
        _check_token("the SNMPv3 auth pass phrase", auth_pass, 8)
        _check_token("the SNMPv3 priv pass phrase", priv_pass, 8)
        self.name, self.auth, self.auth_pass = name, auth, auth_pass
        self.priv, self.priv_pass = priv, priv_pass

    def snmpget_args(self):
        return ["-v3", "-l", "authPriv", "-u", self.name, "-a", self.auth, "-A", self.auth_pass,
                "-x", self.priv, "-X", self.priv_pass]


class SnmpAgent:
    """One snmpd: listen = [(address, port), ...], all loopback; community (v2c) and/or
    users [V3User]; values from state_path for the OIDs under roots."""

    def __init__(self, name, listen, state_path, directory, *, community=None, users=(),
                 roots=(SYSTEM_ROOT, INTERFACES_ROOT), engine_id=None, probe_oids=None):
        if not listen:
            raise FieldError("%s: no address to listen on" % name)
        for address, port in listen:
            check_loopback(address)
            if not 0 < int(port) < 65536:
                raise FieldError("%s: bad port %r" % (name, port))
        if community is None and not users:
            raise FieldError("%s: neither a community nor a v3 user" % name)
        if community is not None:
            _check_token("the SNMP community", community)
        for path in (PASS_SCRIPT, os.path.abspath(state_path)):
            if any(c.isspace() for c in path):
                raise FieldError("pass_persist cannot run a path with white space: %r" % path)
        self.name = name
        self.listen = [(str(a), int(p)) for a, p in listen]
        self.state_path = os.path.abspath(state_path)
        self.directory = os.path.abspath(directory)
        self.community = community
        self.users = list(users)
        self.roots = list(roots)
        self.engine_id = engine_id
        # What the readiness snmpget reads: sysUpTime and one OID per root, so
        # that every pass_persist responder has started.
        self.probe_oids = list(probe_oids or [SYSTEM_ROOT + ".3.0", INTERFACES_ROOT + ".1.0"])
        self.conf_path = os.path.join(self.directory, "snmpd.conf")
        self.log_path = os.path.join(self.directory, "snmpd.log")
        self.pid_path = os.path.join(self.directory, "snmpd.pid")
        self.persist_dir = os.path.join(self.directory, "persist")
        self.popen = None
        self.starttime = None

    def config_text(self):
        lines = [
            "# snmpd.conf for %s, generated by tests/sim/snmp_field.py" % self.name,
            "master no",
            "dontLogTCPWrappersConnects yes",
        ]
        if self.engine_id:
            lines.append("exactEngineID %s" % self.engine_id)
        if self.community is not None:
            lines.append("rocommunity %s 127.0.0.0/8" % self.community)
        for u in self.users:
            lines.append('createUser %s %s "%s" %s "%s"'
                         % (u.name, u.auth, u.auth_pass, u.priv, u.priv_pass))
            lines.append("rouser %s priv" % u.name)
        for root in self.roots:
            lines.append("pass_persist .%s %s -S %s %s .%s"
                         % (root, PYTHON, PASS_SCRIPT, self.state_path, root))
        return "\n".join(lines) + "\n"

    def listen_spec(self):
        return ",".join("udp:%s:%d" % (a, p) for a, p in self.listen)

    def argv(self):
        # Every listening address an argument of its own (snmpd joins them): one
        # argument of them all would exceed the kernel's 128 KiB per argument
        # (MAX_ARG_STRLEN) from about 5,900 addresses on.
        return [SNMPD, "-f", "-C", "-c", self.conf_path, "-Lf", self.log_path,
                "-p", self.pid_path, "-I", ",".join(SNMPD_MODULES)] + \
            ["udp:%s:%d" % (a, p) for a, p in self.listen]

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("SNMP")}
        env.update({"SNMP_PERSISTENT_DIR": self.persist_dir, "MIBS": "", "HOME": self.directory})
        env.pop("MIBDIRS", None)
        return env

    def prepare(self, state):
        """Makes the directory (a fresh persistent directory: no USM keys or engine
        boots from an earlier run), the configuration and the state file."""
        os.makedirs(self.directory, exist_ok=True)
        if os.path.isdir(self.persist_dir):
            for root, dirs, files in os.walk(self.persist_dir, topdown=False):
                for f in files:
                    os.unlink(os.path.join(root, f))
                for d in dirs:
                    os.rmdir(os.path.join(root, d))
        os.makedirs(self.persist_dir, mode=0o700, exist_ok=True)
        for path in (self.log_path, self.pid_path):
            if os.path.exists(path):
                os.unlink(path)
        fd = os.open(self.conf_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.config_text())
        if state is not None:
            write_json_atomic(self.state_path, state)

    def start(self, die_with_parent=False):
        self.popen, self.starttime = spawn(self.argv(), log_path=self.log_path + ".stderr",
                                           env=self.env(), die_with_parent=die_with_parent)
        return self.popen

    @property
    def pid(self):
        return self.popen.pid if self.popen else None

    def alive(self):
        if self.popen is None:
            return False
        self.popen.poll()
        return proc_alive(self.popen.pid, self.starttime)

    def probe_argv(self, address=None, port=None, timeout=1.0, oids=None):
        """An snmpget command line that reads probe_oids (or oids) from this agent."""
        address = address or self.listen[0][0]
        port = port or self.listen[0][1]
        if self.community is not None:
            auth = ["-v2c", "-c", self.community]
        else:
            auth = self.users[0].snmpget_args()
        if oids is None:
            oids = self.probe_oids
        return [SNMPGET, *auth, "-t", str(timeout), "-r", "0", "-On",
                "%s:%d" % (address, port), *oids]

    def describe(self):
        return {
            "pid": self.pid,
            "starttime": self.starttime,
            "listen": ["%s:%d" % lp for lp in self.listen],
            "state": self.state_path,
            "conf": self.conf_path,
            "log": self.log_path,
            "directory": self.directory,
            "v2c": self.community is not None,
            "v3_users": [u.name for u in self.users],
        }


def client_env(run_dir):
    """The environment for snmpget/snmpwalk: no MIBs, persistent files in run_dir
    rather than /var/lib/snmp."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SNMP")}
    env.pop("MIBDIRS", None)
    env.update({"MIBS": "", "SNMP_PERSISTENT_DIR": os.path.join(run_dir, "snmp-client"),
                "SNMPCONFPATH": os.path.join(run_dir, "snmp-client")})
    os.makedirs(env["SNMP_PERSISTENT_DIR"], exist_ok=True)
    return env


def wait_answering(agents, deadline, run_dir, probe_timeout=1.0):
    """Waits until every agent answers an snmpget (all probed in parallel), or
    raises FieldError at the monotonic deadline, or as soon as an agent dies."""
    env = client_env(run_dir)
    pending = list(agents)
    last_error = {}
    while pending:
        for agent in pending:
            if not agent.alive():
                log = log_tail(agent.log_path)
                hint = ""
                if "Error opening specified endpoint" in log:
                    hint = (" (is %s already in use, by another field perhaps?)"
                            % agent.listen_spec())
                raise FieldError("%s: snmpd exited (status %s) before answering%s; log:\n%s\n%s"
                                 % (agent.name, agent.popen.returncode, hint, log,
                                    log_tail(agent.log_path + ".stderr")))
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            names = " ".join(a.name for a in pending)
            detail = "; ".join("%s: %s" % (a.name, last_error.get(a.name, "?"))
                               for a in pending[:3])
            raise FieldError("not answering snmpget in time: %s (%s)" % (names, detail))
        timeout = max(0.2, min(probe_timeout, remaining))
        probes = [(agent, subprocess.Popen(agent.probe_argv(timeout=timeout), env=env,
                                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True))
                  for agent in pending]
        still = []
        for agent, p in probes:
            try:
                out, _ = p.communicate(timeout=timeout + 5)
            except subprocess.TimeoutExpired:
                p.kill()
                out, _ = p.communicate()
            if p.returncode == 0 and "Timeticks" in out:
                continue
            last_error[agent.name] = out.strip().replace("\n", " | ")[:200]
            still.append(agent)
        pending = still
        if pending:
            time.sleep(0.05)
