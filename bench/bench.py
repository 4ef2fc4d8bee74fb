#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""fieldwatch's benchmark: fieldwatchd side by side with what its users would
otherwise run, against the same simulated cameras and routers on loopback.

  /usr/bin/python3 bench/bench.py [--n 1000] [--runs 3] [--interval S] [--window S]
      [--build build] [--daemon PATH] [--floor PATH] [--steady | --no-steady]
      [--steady-window 180] [--profile] [--only TOOLS] [--results bench/RESULTS.md]
      [--keep]

`make bench` (BENCH_N=10000 for the large field) runs it. What it does, all on
127.0.0.0/8, every wait bounded, every process it starts stopped by PID at the
end, also on SIGINT and SIGTERM (and, but for fieldwatchd, which tests/fwtest.py
starts, killed with the driver if it dies: PR_SET_PDEATHSIG):

 1. The field: N cameras (tests/sim/onvif_sim.py, one process, 127.20.x.y:18080,
    with its request log) and N routers (tests/sim/snmp_field.py, one real snmpd
    answering on 90 % of the addresses 127.21.x.y:16161 and a second one on the
    other 10 %, which is frozen (SIGSTOP) to blackhole them in the blackhole
    phase; values from snmp_pass.py).
 2. Per run (--runs, default 3), each tool against the same targets at the same
    rate (every target once per --interval):
      fieldwatchd, twice: cameras every interval (routers every day), and
        routers every interval (cameras every day); the CPU of the window after
        the warm-up (first probes, deep cycles) per 1,000 probes;
      bench/floor (C: libcurl multi + libxml2; net-snmp async), both kinds;
      the shared floor's `limit http` and `limit snmp` (--shared-floor, built by
        `make bench` from ../shared/bench-floor into build/bench-floor): back to
        back probes (a fresh TCP connection per camera probe, SOAP POST, body
        not parsed; one v2c GET of 3 OIDs per router probe), its own
        getrusage() figure; the routers' snmpd also accept the community
        "public" for it (compiled into `limit`), the cameras answer it without
        authentication (GetSystemDateAndTime needs none);
      prometheus-blackbox-exporter (http prober, SOAP POST) and
        prometheus-snmp-exporter (GET of the same four OIDs), each driven by
        bench/scrape.py as Prometheus would scrape /probe and /snmp;
      monitoring-plugins check_http and check_snmp, one process per target and
        turn (bench/forkcheck.py; the CPU of the checks, not of the scheduler).
    Probes are counted by the simulators (onvif_sim's GetSystemDateAndTime
    counters, snmpd's snmpInGetRequests), CPU from /proc/PID (utime + stime, and
    the nanosecond schedstat where it exists), peak RSS from VmHWM.
 3. The blackhole phase: fieldwatchd with both kinds at the interval while 10 %
    of the cameras are silent (onvif_sim fault) and 10 % of the routers frozen;
    the lateness of every other probe against its schedule (the interval since
    the device's last probe), from the simulator's request log and from the
    kernel's timestamps of the packets on lo (bench/sniff.py).
 4. With --steady (default when N >= 10,000): fieldwatchd at the 60 s interval
    (cameras, deep checks every 10 min, routers) for --steady-window seconds:
    average CPU in % of one core and peak RSS.
 5. One table, printed and written with the machine's description into
    --results (a section per N, replaced by the next run of that N), and the
    targets of issues 7 and 18 as met or missed. --profile adds one more fieldwatchd run
    per kind under `perf record` (not counted) and keeps `perf report` excerpts.

Exit status 0 when the benchmark ran (targets are reported, never gated), 1 when
it could not run, 2 for bad usage.
"""

import argparse
import contextlib
import ctypes
import datetime
import http.client
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests"))
sys.path.insert(0, os.path.join(ROOT, "tests", "sim"))
sys.path.insert(0, HERE)

import fwtest  # noqa: E402
import nginx_cameras  # noqa: E402
import snmp_field  # noqa: E402
import sniff  # noqa: E402

PYTHON = "/usr/bin/python3"
ONVIF_SIM = os.path.join(ROOT, "tests", "sim", "onvif_sim.py")
CREDENTIALS = fwtest.CREDENTIALS  # a 0600 copy: fieldwatchd refuses 0644 secrets
SCRAPE = os.path.join(HERE, "scrape.py")
FORKCHECK = os.path.join(HERE, "forkcheck.py")
PLUGINS = "/usr/lib/nagios/plugins"
BLACKBOX = "/usr/bin/prometheus-blackbox-exporter"
SNMP_EXPORTER = "/usr/bin/prometheus-snmp-exporter"
SNMPGET = "/usr/bin/snmpget"

CAMERA_PORT = 18080
ROUTER_PORT = 16161
CAMERA_NET = 20          # cameras on 127.20.x.y (onvif_sim)
NGINX_NET = 22           # cameras as an outsider measures with, on 127.22.x.y (nginx)
ROUTER_NET = 21          # routers on 127.21.x.y
PER_OCTET = 250          # hosts .1 ... .250 of each 127.NET.x
BLACKHOLE_EVERY = 10     # 10 %: cameras of sites i % 10 == 0, routers of i % 10 == 5

SIGNAL_OIDS = {"rsrp": "1.3.6.1.4.1.99999.1.1.0", "sinr": "1.3.6.1.4.1.99999.1.2.0"}
ROUTER_OIDS = ["1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.2.2.1.8.1", *SIGNAL_OIDS.values()]
SNMP_IN_GET_REQUESTS = "1.3.6.1.2.1.11.15.0"
SHARED_FLOOR_COMMUNITY = "public"   # compiled into ../shared/bench-floor/limit.c
RESULT_RE = re.compile(r"^RESULT (.*)$", re.M)
SOAP_TIME_REQUEST = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
    '<GetSystemDateAndTime xmlns="http://www.onvif.org/ver10/device/wsdl"/>'
    '</s:Body></s:Envelope>')
SOAP_CONTENT_TYPE = "application/soap+xml; charset=utf-8"

CLK_TCK = os.sysconf("SC_CLK_TCK")
_LIBC = ctypes.CDLL(None, use_errno=True)


class BenchError(Exception):
    """The benchmark cannot go on."""


def log(msg):
    print("bench: %s" % msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# Processes: every one we start is recorded and stopped by PID.

def _die_with_parent():
    _LIBC.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG


class Processes:
    def __init__(self):
        self.started = []   # (Popen, starttime, name)

    def spawn(self, name, argv, log_path=None, env=None, stdout=None):
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                 stdout=stdout if stdout is not None else out,
                                 stderr=out, env=env, start_new_session=True,
                                 close_fds=True, preexec_fn=_die_with_parent)
        finally:
            if log_path:
                out.close()
        st = snmp_field.proc_stat(p.pid)
        self.started.append((p, st[1] if st else None, name))
        return p

    def adopt(self, name, popen):
        st = snmp_field.proc_stat(popen.pid)
        self.started.append((popen, st[1] if st else None, name))

    def stop(self, popen, timeout=10.0):
        """SIGTERM (and SIGCONT), then SIGKILL, for one process and its children."""
        for p, start, _ in self.started:
            if p is popen:
                if p.poll() is None:
                    snmp_field.terminate([(p.pid, start)], timeout=timeout, popens=[p])
                p.poll()
                return

    def stop_all(self):
        for p, start, name in reversed(self.started):
            try:
                if p.poll() is None:
                    snmp_field.terminate([(p.pid, start)], timeout=5.0, popens=[p])
                p.poll()
            except snmp_field.FieldError as e:
                log("could not stop %s (pid %d): %s" % (name, p.pid, e))
        self.started = []


def wait_for(predicate, timeout, what, step=0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise BenchError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(step)


# ---------------------------------------------------------------------------
# /proc

def cpu_seconds(pid):
    """(utime + stime from /proc/PID/stat, the sum of the live threads' schedstat run
    time) in seconds; the second is None where schedstat is missing."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = (int(fields[11]) + int(fields[12])) / CLK_TCK
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return ticks, None
    return ticks, total / 1e9


def cpu_delta(before, after):
    """CPU seconds between two cpu_seconds() samples: the nanosecond schedstat when
    both have it and it agrees with the tick count (threads that ended are missing
    from it), else the ticks."""
    ticks = after[0] - before[0]
    if before[1] is None or after[1] is None:
        return ticks
    precise = after[1] - before[1]
    if precise < 0 or abs(precise - ticks) > 0.05 + 0.1 * ticks:
        return ticks
    return precise


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def machine_description():
    model = "?"
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    debian = "?"
    with contextlib.suppress(OSError):
        with open("/etc/debian_version") as f:
            debian = f.read().strip()
    mem = "?"
    with contextlib.suppress(OSError):
        with open("/proc/meminfo") as f:
            mem = "%.0f GiB" % (int(f.readline().split()[1]) / 1048576)
    virt = []
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        for line in subprocess.run(["lscpu"], capture_output=True, text=True,
                                   timeout=5).stdout.splitlines():
            if line.startswith("Hypervisor vendor:"):
                virt.append(line.split(":", 1)[1].strip() + " guest")
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        v = subprocess.run(["systemd-detect-virt", "--container"], capture_output=True,
                           text=True, timeout=5).stdout.strip()
        if v and v != "none":
            virt.append("%s container" % v)
    virt = ", ".join(virt)
    return {"cpu": model, "cores": os.cpu_count(), "memory": mem,
            "kernel": platform.release(), "debian": debian,
            "virtualization": virt or "none"}


def package_version(name):
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", name], capture_output=True,
                           text=True, timeout=10)
        if r.returncode == 0:
            return r.stdout.strip()
    return "?"


def git_describe():
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "daemon",
                                "probes", "config"], capture_output=True, text=True,
                               timeout=10).stdout.strip()
        return head + ("+local changes" if dirty else "")
    return "?"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def raise_nofile(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(need, soft)
    for target in (max(need, 1 << 20), want):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, max(target, hard)))
            break
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        log("warning: RLIMIT_NOFILE is %d, about %d file descriptors are wanted by the "
            "busiest process (fieldwatchd: a socket per router and per camera)" % (soft, need))
    return soft


# ---------------------------------------------------------------------------
# The field

def address(net, i):
    return "127.%d.%d.%d" % (net, i // PER_OCTET, i % PER_OCTET + 1)


class Field:
    """The cameras (one onvif_sim) and routers (two snmpd: the main one and the
    blackhole one) of N sites."""

    def __init__(self, n, work, procs, camera_server="nginx"):
        self.n = n
        self.work = work
        self.procs = procs
        self.sim_cameras = [address(CAMERA_NET, i) for i in range(n)]
        self.nginx_cameras = [address(NGINX_NET, i) for i in range(n)]
        self.routers = [address(ROUTER_NET, i) for i in range(n)]
        self.silent_cameras = {i for i in range(n) if i % BLACKHOLE_EVERY == 0}
        self.frozen_routers = {i for i in range(n) if i % BLACKHOLE_EVERY == 5}
        self.sim_targets = os.path.join(work, "cameras.txt")
        self.nginx_targets = os.path.join(work, "cameras-nginx.txt")
        self.router_targets = os.path.join(work, "routers.txt")
        self.sim_log = os.path.join(work, "onvif_sim.log")
        self.nginx_dir = os.path.join(work, "nginx")
        self.nginx_log = nginx_cameras.AccessLog(os.path.join(self.nginx_dir, "access.log"))
        self.nginx = None
        # The cameras the per-probe runs measure against: nginx (the default) or
        # onvif_sim; the blackhole and steady phases always use onvif_sim (it can
        # silence a camera).
        self.camera_server = camera_server
        self.use(camera_server)
        self.sim = None
        self.control = None
        self.agents = []
        with open(CREDENTIALS + "/camera", encoding="utf-8") as f:
            self.camera_password = f.read().strip()
        with open(CREDENTIALS + "/snmp-community", encoding="utf-8") as f:
            self.community = f.read().strip()

    def use(self, server):
        """Point the camera probes (addresses, targets file, counters, log) at
        "nginx" or "sim"."""
        self.active = server
        if server == "nginx":
            self.cameras, self.camera_targets = self.nginx_cameras, self.nginx_targets
        else:
            self.cameras, self.camera_targets = self.sim_cameras, self.sim_targets

    def up(self):
        for path, addrs in ((self.sim_targets, self.sim_cameras),
                            (self.nginx_targets, self.nginx_cameras)):
            with open(path, "w") as f:
                f.writelines("%s:%d\n" % (a, CAMERA_PORT) for a in addrs)
        with open(self.router_targets, "w") as f:
            f.writelines("%s:%d\n" % (a, ROUTER_PORT) for a in self.routers)
        self._cameras_up()
        if self.camera_server == "nginx":
            self._nginx_up()
        self._routers_up()

    def _nginx_up(self):
        os.makedirs(self.nginx_dir, exist_ok=True)
        conf = nginx_cameras.prepare([(a, CAMERA_PORT) for a in self.nginx_cameras],
                                     self.nginx_dir, self.nginx_log.path)
        self.nginx = self.procs.spawn("nginx", nginx_cameras.argv(conf, self.nginx_dir),
                                      log_path=os.path.join(self.nginx_dir, "nginx.stderr"),
                                      env=dict(os.environ, TZ="UTC"))
        last = self.nginx_cameras[-1]

        def answering():
            if self.nginx.poll() is not None:
                raise BenchError("nginx exited with %s; see %s" % (
                    self.nginx.returncode, os.path.join(self.nginx_dir, "nginx.error.log")))
            with contextlib.suppress(OSError), socket.create_connection((last, CAMERA_PORT),
                                                                        timeout=1):
                return True
            return False
        wait_for(answering, 60 + self.n / 100, "nginx's cameras")

    def _cameras_up(self):
        cams = [{"id": "c%05d" % i, "address": a, "port": CAMERA_PORT, "username": "admin",
                 "password": self.camera_password, "auth": "digest"}
                for i, a in enumerate(self.sim_cameras)]
        path = os.path.join(self.work, "cameras.json")
        with open(path, "w") as f:
            json.dump(cams, f)
        ready = os.path.join(self.work, "onvif_sim.ready")
        self.sim = self.procs.spawn("onvif_sim", [PYTHON, ONVIF_SIM, "--cameras", path,
                                                  "--control", "127.0.0.1:0", "--ready-file",
                                                  ready, "--log", self.sim_log],
                                    log_path=os.path.join(self.work, "onvif_sim.stderr"))

        def is_ready():
            if self.sim.poll() is not None:
                raise BenchError("onvif_sim exited with %s; see %s" % (
                    self.sim.returncode, os.path.join(self.work, "onvif_sim.stderr")))
            return os.path.exists(ready)
        wait_for(is_ready, 60 + self.n / 100, "the camera simulator")
        with open(ready) as f:
            host, port = json.load(f)["control"].rsplit(":", 1)
        self.control = (host, int(port))

    def _routers_up(self):
        main = [(a, ROUTER_PORT) for i, a in enumerate(self.routers)
                if i not in self.frozen_routers]
        hole = [(a, ROUTER_PORT) for i, a in enumerate(self.routers) if i in self.frozen_routers]
        for name, listen in (("routers", main), ("blackhole-routers", hole)):
            if not listen:
                continue
            directory = os.path.join(self.work, name)
            agent = ManyAddressAgent(name, listen, os.path.join(directory, "state.json"),
                                     directory, community=self.community,
                                     roots=snmp_field.pass_roots(SIGNAL_OIDS.values()))
            agent.prepare(snmp_field.router_state("1", signal_oids=SIGNAL_OIDS))
            agent.start(die_with_parent=True)
            self.procs.adopt("snmpd " + name, agent.popen)
            self.agents.append(agent)
        snmp_field.wait_answering(self.agents, time.monotonic() + 60 + self.n / 100, self.work)

    # -- counters

    def _control(self, method, path, body=None):
        for attempt in (1, 2):
            conn = http.client.HTTPConnection(*self.control, timeout=120)
            try:
                conn.request(method, path, body=None if body is None else json.dumps(body),
                             headers={"Content-Type": "application/json"})
                r = conn.getresponse()
                data = r.read()
                if r.status != 200:
                    raise BenchError("onvif_sim %s %s: HTTP %d %s" % (method, path, r.status,
                                                                      data[:200]))
                return json.loads(data)
            except (OSError, http.client.HTTPException) as e:
                if attempt == 2 or self.sim.poll() is not None:
                    raise BenchError("onvif_sim's control API, %s %s: %s (see %s)"
                                     % (method, path, e, self.sim_log + " and onvif_sim.stderr"))
            finally:
                conn.close()
        raise BenchError("unreachable")

    def camera_count(self):
        """GetSystemDateAndTime requests answered so far, over all cameras, and all
        HTTP requests."""
        if self.active == "nginx":
            return self.nginx_log.count()
        cams = self._control("GET", "/cameras")
        return (sum(c["requests"].get("GetSystemDateAndTime", 0) for c in cams),
                sum(c["http_requests"] for c in cams))

    def router_count(self):
        """GET PDUs the snmpd agents have processed (snmpInGetRequests), less the
        ones this reading costs."""
        env = snmp_field.client_env(self.work)
        total = 0
        for agent in self.agents:
            if agent.frozen:
                total += agent.last_count
                continue
            a, port = agent.listen[0]
            r = subprocess.run([SNMPGET, "-v2c", "-c", self.community, "-On", "-Oqv", "-t", "2",
                                "-r", "2", "%s:%d" % (a, port), SNMP_IN_GET_REQUESTS],
                               capture_output=True, text=True, env=env, timeout=30)
            if r.returncode != 0:
                raise BenchError("snmpget of snmpInGetRequests from %s: %s"
                                 % (agent.name, r.stdout.strip() or r.stderr.strip()))
            agent.reads += 1
            agent.last_count = int(r.stdout.split()[-1]) - agent.reads
            total += agent.last_count
        return total

    def log_offset(self):
        if self.active == "nginx":
            return self.nginx_log.size()
        try:
            return os.path.getsize(self.sim_log)
        except OSError:
            return 0

    def camera_starts(self, begin, end, exclude_ids=()):
        """{camera: [liveness request starts]} between two offsets of the active log."""
        if self.active == "nginx":
            return nginx_cameras.starts(self.nginx_log.path, begin, end)
        return sim_log_starts(self.sim_log, begin, end, exclude_ids)

    # -- the blackhole

    def blackhole(self, on):
        for i in sorted(self.silent_cameras):
            self._control("POST", "/cameras/c%05d" % i, {"fault": "silent" if on else None})
        for agent in self.agents:
            if agent.name == "blackhole-routers":
                if on:
                    self.router_count()  # its count, kept while it is frozen
                agent.freeze(on)


def limit_inflight(n):
    return max(1, min(64, n // 4))


def run_limit(floor, camera, addrs, work, rounds, name):
    """The shared floor's `limit` over addrs, ROUNDS rounds: `limit http` with
    the SOAP time request for cameras (camera true), else `limit snmp`; its
    files in work, named after name. Its RESULT line's fields and its exit
    status. Its default 64 in flight; fewer on a small field, where a target
    would come round again while its last probe is still out (which it
    counts as a failure)."""
    mode, port, extra = ("snmp", ROUTER_PORT, [])
    if camera:
        body = os.path.join(work, "soap-request.xml")
        with open(body, "w") as f:
            f.write(SOAP_TIME_REQUEST)
        mode, port, extra = "http", CAMERA_PORT, ["-b", body]
    targets = os.path.join(work, "limit-%s.txt" % name)
    with open(targets, "w") as f:
        f.writelines(a + "\n" for a in addrs)
    argv = [floor, mode, "-n", str(limit_inflight(len(addrs))), "-r", str(rounds), "-p",
            str(port), "-T", "300", *extra, targets]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=400,
                       env=dict(os.environ, MIBS=""))
    m = RESULT_RE.search(r.stdout)
    if not m:
        raise BenchError("%s printed no RESULT line (exit %d): %s"
                         % (" ".join(argv), r.returncode, r.stderr.strip()[-400:]))
    fields = dict(kv.split("=", 1) for kv in m.group(1).split())
    if r.returncode != 0 and r.stderr.strip():
        log("  %s %s: %s" % (os.path.basename(argv[0]), mode,
                             "; ".join(r.stderr.strip().splitlines()[:5])))
    return fields, r.returncode


class ManyAddressAgent(snmp_field.SnmpAgent):
    """snmp_field.SnmpAgent that can be frozen (SIGSTOP) to blackhole its addresses.
    (SnmpAgent.argv() gives every listening address an argument of its own.)
    It also answers the community the shared floor's `limit snmp` has compiled in."""

    def config_text(self):
        return super().config_text() + "rocommunity %s 127.0.0.0/8\n" % SHARED_FLOOR_COMMUNITY

    frozen = False
    reads = 0
    last_count = 0

    def freeze(self, on):
        os.kill(self.popen.pid, signal.SIGSTOP if on else signal.SIGCONT)
        self.frozen = on


# ---------------------------------------------------------------------------
# Configurations

# daemon/monitor-internal.h: the first probes are spread over up to this long.
FIRST_SPREAD_MAX = 300.0


def fieldwatch_config(path, field, camera_interval, router_interval, deep_interval,
                      camera_timeout="2000ms", router_timeout="1000ms"):
    def edit(data):
        data.pop("vpn", None)
        data.pop("notify", None)
        data.pop("metrics_file", None)
        p = data["probes"]
        p.pop("vpn", None)
        p["camera"].update(interval=camera_interval, timeout=camera_timeout,
                           deep_interval=deep_interval)
        p["router"].update(interval=router_interval, timeout=router_timeout, retries=1)
        p["router"]["signal"] = {name: {"oid": oid, "warn_below": -110 if name == "rsrp" else 0}
                                 for name, oid in SIGNAL_OIDS.items()}
        data["sites"] = [{
            "id": "s%05d" % i,
            "name": "bench site %d" % i,
            "mount": "wall",
            "router": {"address": field.routers[i], "port": ROUTER_PORT,
                       "snmp": {"version": "2c", "community_credential": "snmp-community"}},
            "camera": {"address": field.cameras[i], "port": CAMERA_PORT, "scheme": "http",
                       "username": "admin", "password_credential": "camera"},
        } for i in range(field.n)]
    return fwtest.lab_config(path, edit)


def blackbox_config(path, timeout):
    body = SOAP_TIME_REQUEST.replace("'", "''")
    with open(path, "w") as f:
        f.write("modules:\n"
                "  onvif_time:\n"
                "    prober: http\n"
                "    timeout: %s\n"
                "    http:\n"
                "      method: POST\n"
                "      headers:\n"
                "        Content-Type: '%s'\n"
                "      body: '%s'\n"
                "      valid_status_codes: [200]\n"
                "      fail_if_body_not_matches_regexp: ['GetSystemDateAndTimeResponse']\n"
                "      preferred_ip_protocol: ip4\n"
                "      ip_protocol_fallback: false\n" % (timeout, SOAP_CONTENT_TYPE, body))


def snmp_exporter_config(path, community, timeout):
    """The module of a generated snmp.yml (what prometheus-snmp-generator writes for
    these objects), with the lab's OIDs and the router probe's timeout and retries."""
    with open(path, "w") as f:
        f.write("fieldwatch_router:\n"
                "  get:\n%s"
                "  metrics:\n"
                "  - name: sysUpTime\n"
                "    oid: 1.3.6.1.2.1.1.3\n"
                "    type: gauge\n"
                "    help: The time since the network management portion of the system was"
                " last re-initialized.\n"
                "  - name: ifOperStatus\n"
                "    oid: 1.3.6.1.2.1.2.2.1.8\n"
                "    type: gauge\n"
                "    help: The current operational state of the interface.\n"
                "    indexes:\n"
                "    - labelname: ifIndex\n"
                "      type: gauge\n"
                "  - name: lteRsrp\n"
                "    oid: 1.3.6.1.4.1.99999.1.1\n"
                "    type: gauge\n"
                "    help: LTE RSRP (lab OID).\n"
                "  - name: lteSinr\n"
                "    oid: 1.3.6.1.4.1.99999.1.2\n"
                "    type: gauge\n"
                "    help: LTE SINR (lab OID).\n"
                "  version: 2\n"
                "  retries: 1\n"
                "  timeout: %s\n"
                "  auth:\n"
                "    community: %s\n"
                % ("".join("  - %s\n" % o for o in ROUTER_OIDS), timeout, community))


# ---------------------------------------------------------------------------
# Lateness

def percentile(values, q):
    if not values:
        return None
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


def lateness_summary(lates_ms):
    if not lates_ms:
        return {"n": 0}
    return {"n": len(lates_ms), "p50": percentile(lates_ms, 50), "p99": percentile(lates_ms, 99),
            "max": max(lates_ms), "over_100ms": sum(1 for x in lates_ms if x > 100)}


LOG_LINE = re.compile(r"^(\S+) cam=(\S+) .* op=GetSystemDateAndTime status=(\S+) .* ([\d.]+)ms$")


def sim_log_starts(path, begin, end, exclude_ids=()):
    """{camera id: [request start, unix seconds]} from the simulator's request log
    between two byte offsets: the stamp is written with the answer, less the time
    the answer took."""
    starts = {}
    with open(path, "rb") as f:
        f.seek(begin)
        data = f.read(max(0, end - begin)).decode("utf-8", "replace")
    for line in data.splitlines():
        m = LOG_LINE.match(line)
        if not m or m.group(2) in exclude_ids:
            continue
        try:
            stamp = datetime.datetime.fromisoformat(m.group(1)).timestamp()
        except ValueError:
            continue
        starts.setdefault(m.group(2), []).append(stamp - float(m.group(4)) / 1000)
    return starts


def lateness(starts_by_target, interval, t0=None, t1=None):
    """How late each probe started against its schedule, the device's last start
    plus the interval (ms; early is negative). Pairs are taken within [t0, t1]."""
    lates = []
    for starts in starts_by_target.values():
        s = sorted(x for x in starts if (t0 is None or x >= t0) and (t1 is None or x <= t1))
        for a, b in zip(s, s[1:]):
            lates.append((b - a - interval) * 1000)
    return lates


def sniff_starts(events, kind, exclude=()):
    out = {}
    for stamp, k, dst in events:
        if k == kind and dst not in exclude:
            out.setdefault(dst, []).append(stamp)
    return out


# ---------------------------------------------------------------------------
# The benchmark

class Bench:
    def __init__(self, args):
        self.args = args
        self.n = args.n
        self.interval = args.interval
        self.window = args.window
        self.procs = Processes()
        self.work = tempfile.mkdtemp(prefix="fieldwatch-bench-")
        self.field = Field(self.n, self.work, self.procs, args.cameras)
        self.results = []       # one dict per tool run
        self.extra = {}         # blackhole, steady, profiles
        self.interleaved = False  # limit's runs right after fieldwatchd's windows (run())
        self.daemon = os.path.join(self.work, "fieldwatchd")
        # The probes' timeouts: fieldwatchd's defaults for the lab, shorter than
        # the interval (the configuration insists).
        self.camera_timeout_ms = int(min(2000, self.interval * 500))
        self.router_timeout_ms = int(min(1000, self.interval * 500))
        self.floor = args.floor
        self.started_at = datetime.datetime.now().astimezone()

    # -- setup

    def prepare(self):
        only = set(self.args.only.split(",")) if self.args.only else None
        needs = [(None, self.args.daemon, "fieldwatchd (make)"),
                 ("floor", self.floor, "the floor prober (make bench builds it)"),
                 ("limit", self.args.shared_floor,
                  "the shared floor's limit (make bench builds it)"),
                 ("exporters", BLACKBOX, "prometheus-blackbox-exporter"),
                 ("exporters", SNMP_EXPORTER, "prometheus-snmp-exporter"),
                 ("fork", PLUGINS + "/check_http", "monitoring-plugins-basic"),
                 ("fork", PLUGINS + "/check_snmp", "monitoring-plugins-standard"),
                 (None, SNMPGET, "snmp"), (None, snmp_field.SNMPD, "snmpd")]
        if self.args.cameras == "nginx":
            needs.append((None, nginx_cameras.NGINX, "nginx"))
        for tool, path, what in needs:
            if tool is not None and only is not None and tool not in only:
                continue
            if not path or not os.access(path, os.X_OK):
                raise BenchError("%s is missing: %s" % (what, path))
        # A copy: others may rebuild build/ while this runs.
        shutil.copy2(self.args.daemon, self.daemon)
        fwtest.DAEMON = self.daemon
        self.nofile = raise_nofile(2 * self.n + 512)
        log("work directory %s, N=%d, interval %gs, window %gs, %d runs"
            % (self.work, self.n, self.interval, self.window, self.args.runs))
        t = time.monotonic()
        self.field.up()
        log("field up in %.1f s: %d cameras, %d routers" % (time.monotonic() - t, self.n, self.n))

    def close(self):
        self.procs.stop_all()
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log("kept %s" % self.work)

    # -- measuring

    def measure(self, pids, window, counters):
        """CPU of pids and the counters' deltas over window seconds."""
        c0 = {k: fn() for k, fn in counters.items()}
        s0 = {pid: cpu_seconds(pid) for pid in pids}
        t0 = time.monotonic()
        w0 = time.time()
        off0 = self.field.log_offset()
        time.sleep(window)
        s1 = {pid: cpu_seconds(pid) for pid in pids}
        t1 = time.monotonic()
        w1 = time.time()
        off1 = self.field.log_offset()
        c1 = {k: fn() for k, fn in counters.items()}
        return {"cpu": {pid: cpu_delta(s0[pid], s1[pid]) for pid in pids},
                "wall": t1 - t0, "counts": {k: _delta(c0[k], c1[k]) for k in counters},
                "log": (off0, off1), "unix": (w0, w1)}

    def record(self, tool, kind, run, probes, cpu, rss_kib, **extra):
        row = {"tool": tool, "kind": kind, "run": run, "probes": probes, "cpu": cpu,
               "rss_kib": rss_kib, "per_1000": cpu / probes * 1000 if probes else None}
        row.update(extra)
        self.results.append(row)
        log("  %-22s %-6s run %d: %6d probes, %.3f s CPU, %.4f s/1000, peak RSS %.1f MiB%s"
            % (tool, kind, run, probes, cpu, row["per_1000"] or 0, rss_kib / 1024,
               "".join(", %s %s" % (k, v) for k, v in extra.items() if k in ("note",))))

    def camera_counter(self):
        return self.field.camera_count()

    def router_counter(self):
        return self.field.router_count()

    # -- fieldwatchd

    def fieldwatch_warmup(self):
        # fieldwatchd starts every device at a random point of its first
        # min(interval, FIRST_SPREAD_MAX = 5 min) (daemon/monitor-internal.h), the
        # daily ones too, and a camera's first deep cycle likewise. The window
        # begins once all of that is over: else the other kind's first probes and
        # the first deep cycles fall into it and count as the measured kind's.
        return FIRST_SPREAD_MAX + 3.0 + self.n / 500.0

    def start_fieldwatch(self, name, config):
        tmp = os.path.join(self.work, name)
        os.makedirs(tmp, exist_ok=True)
        d = fwtest.Daemon(tmp, config, credentials=CREDENTIALS)
        self.procs.adopt("fieldwatchd " + name, d.proc)
        d.messages("READY=1", timeout=60 + self.n / 50)
        return d

    def stop_fieldwatch(self, d):
        d.stop()

    def run_fieldwatch(self, kind, runs, profile=False, between=None):
        """One daemon for all of the kind's runs: after its warm-up (FIRST_SPREAD_MAX,
        5 minutes), each run is the next window. between(run), when given, runs
        right after each window (the shared floor's `limit` of the same kind):
        a ratio then compares two measurements taken a minute apart, not a
        quarter of an hour (the host's speed drifts; issue 18)."""
        iv = "%gs" % self.interval
        name = "fw-%s%s" % (kind, "-perf" if profile else "")
        config = os.path.join(self.work, name + ".yaml")
        timeouts = {"camera_timeout": "%dms" % self.camera_timeout_ms,
                    "router_timeout": "%dms" % self.router_timeout_ms}
        if kind == "camera":
            fieldwatch_config(config, self.field, iv, "1d", "1d", **timeouts)
        else:
            fieldwatch_config(config, self.field, "1d", iv, "1d", **timeouts)
        d = self.start_fieldwatch(name, config)
        try:
            warmup = self.fieldwatch_warmup()
            log("  fieldwatchd %s: %.0f s of warm-up (the first probes' spread), then %d "
                "window(s)" % (kind, warmup, len(runs)))
            time.sleep(max(0.0, warmup - self.interval))
            for run in runs:
                # The log from an interval before the window on, for the lateness of
                # the window's first probes (each against the probe before it).
                log_from, unix_from = self.field.log_offset(), time.time()
                time.sleep(min(self.interval, warmup))
                perf = None
                if profile:
                    perf = self.start_perf(d.proc.pid, name)
                counter = self.camera_counter if kind == "camera" else self.router_counter
                m = self.measure([d.proc.pid], self.window * (3 if profile else 1),
                                 {"probes": counter})
                if perf is not None:
                    self.finish_perf(perf, name, kind)
                    continue
                rss = vm_hwm_kib(d.proc.pid)
                probes = m["counts"]["probes"]
                extra = {"not_up": not_up(d, kind)}
                if kind == "camera":
                    starts = self.field.camera_starts(log_from, m["log"][1])
                    extra["lateness"] = lateness_summary(
                        lateness(starts, self.interval, unix_from + 0.5, m["unix"][1] - 0.5))
                if d.proc.poll() is not None:
                    raise BenchError("fieldwatchd exited during the run; see %s" % d.log_path)
                self.record("fieldwatchd", kind, run, probes, m["cpu"][d.proc.pid], rss, **extra)
                if between is not None:
                    between(run)
        finally:
            self.stop_fieldwatch(d)

    # -- perf

    def start_perf(self, pid, name):
        out = os.path.join(self.work, name + ".perf.data")
        p = self.procs.spawn("perf " + name, ["perf", "record", "-e", "cpu-clock", "-F", "999",
                                              "--call-graph", "dwarf,16384", "-p", str(pid),
                                              "-o", out],
                             log_path=os.path.join(self.work, name + ".perf.log"))
        time.sleep(0.5)
        return p, out

    def finish_perf(self, perf, name, kind):
        p, out = perf
        p.send_signal(signal.SIGINT)
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            self.procs.stop(p)
        reports = {}
        for label, extra in (("by library", ["--no-children", "--sort", "dso"]),
                             ("self", ["--no-children", "--sort", "dso,sym"]),
                             ("children", ["--children", "--sort", "sym"])):
            r = subprocess.run(["perf", "report", "--stdio", "-i", out, "--percent-limit", "0.7",
                                "-g", "none", *extra], capture_output=True, text=True,
                               timeout=600)
            # Unnamed addresses (stripped libraries) say nothing: left out.
            reports[label] = "\n".join(line for line in r.stdout.splitlines()
                                       if line.strip() and not line.startswith("#")
                                       and "] 0x0000" not in line)
        path = os.path.join(self.args.profile_dir, "perf-%s-N%d.txt" % (kind, self.n))
        os.makedirs(self.args.profile_dir, exist_ok=True)
        with open(path, "w") as f:
            f.write("# perf record -e cpu-clock -F 999 --call-graph dwarf on fieldwatchd, %s "
                    "probes every %gs, N=%d, %gs window\n" % (kind, self.interval, self.n,
                                                              3 * self.window))
            for label in ("by library", "self", "children"):
                f.write("\n## %s\n%s\n" % (label, reports[label]))
        self.extra.setdefault("profiles", []).append(path)
        log("  profile of fieldwatchd (%s): %s" % (kind, path))

    # -- the floor

    def floor_connections(self):
        """The floor keeps one connection per camera when the simulator has the file
        descriptors for them (a listener and a connection per camera), else none."""
        return -1 if self.nofile >= 2 * self.n + 1000 else 0

    def run_floor(self, run):
        env = dict(os.environ, MIBS="")
        log_from, unix_from = self.field.log_offset(), time.time()
        common = ["--interval", "%d" % (self.interval * 1000)]
        cam = self.procs.spawn("floor camera", [self.floor, "camera", "--targets",
                                                self.field.camera_targets, "--timeout",
                                                str(self.camera_timeout_ms),
                                                "--max-connections",
                                                str(self.floor_connections()),
                                                *common], stdout=subprocess.PIPE,
                               log_path=os.path.join(self.work, "floor.log"), env=env)
        snmp = self.procs.spawn("floor snmp", [self.floor, "snmp", "--targets",
                                               self.field.router_targets, "--timeout",
                                               str(self.router_timeout_ms),
                                               "--retries", "1", "--community",
                                               self.field.community, *common],
                                stdout=subprocess.PIPE,
                                log_path=os.path.join(self.work, "floor.log"), env=env)
        try:
            time.sleep(min(self.interval, 3.0) + 1.0)
            m = self.measure([cam.pid, snmp.pid], self.window,
                             {"camera": self.camera_counter, "snmp": self.router_counter})
            rss = {p.pid: vm_hwm_kib(p.pid) for p in (cam, snmp)}
        finally:
            outs = {}
            for p in (cam, snmp):
                p.send_signal(signal.SIGTERM)
                try:
                    outs[p.pid] = json.loads(p.communicate(timeout=20)[0] or "{}")
                except (subprocess.TimeoutExpired, ValueError):
                    self.procs.stop(p)
                    outs[p.pid] = {}
        starts = self.field.camera_starts(log_from, m["log"][1])
        late = lateness_summary(lateness(starts, self.interval, unix_from + 1.0,
                                         m["unix"][1] - 0.5))
        self.record("floor", "camera", run, m["counts"]["camera"], m["cpu"][cam.pid],
                    rss[cam.pid], lateness=late, own=outs[cam.pid])
        self.record("floor", "snmp", run, m["counts"]["snmp"], m["cpu"][snmp.pid],
                    rss[snmp.pid], own=outs[snmp.pid])

    # -- the shared floor (../shared/bench-floor, `limit`)

    def shared_floor_rounds(self):
        # About as many probes as fieldwatchd makes in its window, at least 3 rounds.
        return max(3, int(self.window / self.interval + 0.5))

    def run_shared_floor(self, run, kinds=("camera", "snmp")):
        """`limit` counts its own probes and CPU (getrusage around its probe
        loop): it may run while a fieldwatchd between its windows probes the
        same targets."""
        for kind, addrs in (("camera", self.field.cameras), ("snmp", self.field.routers)):
            if kind not in kinds:
                continue
            fields, rc = run_limit(self.args.shared_floor, kind == "camera", addrs, self.work,
                                   self.shared_floor_rounds(), kind)
            probes, failed = int(fields["probes"]), int(fields["fail"])
            note = None
            if rc != 0 or failed:
                note = "%d of %d probes failed (exit %d)" % (failed, probes, rc)
            self.record("limit", kind, run, int(fields["ok"]), float(fields["cpu_s"]),
                        int(fields["maxrss_kb"]), own=fields,
                        **({"note": note} if note else {}))

    # -- the exporters

    def run_exporters(self, run):
        bb_port, se_port = free_port(), free_port()
        bb_conf = os.path.join(self.work, "blackbox.yml")
        se_conf = os.path.join(self.work, "snmp.yml")
        blackbox_config(bb_conf, "%dms" % self.camera_timeout_ms)
        snmp_exporter_config(se_conf, self.field.community, "%dms" % self.router_timeout_ms)
        bb = self.procs.spawn("blackbox_exporter", [
            BLACKBOX, "--config.file=" + bb_conf, "--web.listen-address=127.0.0.1:%d" % bb_port,
            "--log.level=warn"], log_path=os.path.join(self.work, "blackbox.log"))
        se = self.procs.spawn("snmp_exporter", [
            SNMP_EXPORTER, "--config.file=" + se_conf,
            "--web.listen-address=127.0.0.1:%d" % se_port, "--log.level=warn"],
            log_path=os.path.join(self.work, "snmp_exporter.log"))
        scrapers = []
        try:
            for p, port in ((bb, bb_port), (se, se_port)):
                wait_for(lambda port=port, p=p: _listening(port, p), 30, "an exporter to listen")
            warmup = min(self.interval, 3.0) + 1.0
            duration = warmup + self.window + 2.0
            for name, port, path, regex, targets in (
                    ("scrape blackbox", bb_port,
                     "/probe?module=onvif_time&target=http://{target}/onvif/device_service",
                     r"^probe_success 1", self.field.camera_targets),
                    ("scrape snmp", se_port, "/snmp?module=fieldwatch_router&target={target}",
                     r"^lteSinr ", self.field.router_targets)):
                scrapers.append(self.procs.spawn(name, [
                    PYTHON, SCRAPE, "--exporter", "127.0.0.1:%d" % port, "--path", path,
                    "--targets", targets, "--interval", str(self.interval), "--duration",
                    str(duration), "--success-regex", regex],
                    stdout=subprocess.PIPE, log_path=os.path.join(self.work, "scrape.log")))
            time.sleep(warmup)
            m = self.measure([bb.pid, se.pid], self.window,
                             {"camera": self.camera_counter, "snmp": self.router_counter})
            rss = {p.pid: vm_hwm_kib(p.pid) for p in (bb, se)}
            outs = []
            for s in scrapers:
                try:
                    outs.append(json.loads(s.communicate(timeout=60)[0] or "{}"))
                except (subprocess.TimeoutExpired, ValueError):
                    self.procs.stop(s)
                    outs.append({})
        finally:
            for p in scrapers + [bb, se]:
                self.procs.stop(p)
        self.record("blackbox_exporter", "camera", run, m["counts"]["camera"], m["cpu"][bb.pid],
                    rss[bb.pid], own=outs[0])
        self.record("snmp_exporter", "snmp", run, m["counts"]["snmp"], m["cpu"][se.pid],
                    rss[se.pid], own=outs[1])

    # -- fork per check

    def run_forkchecks(self, run):
        http_cmd = [PLUGINS + "/check_http", "-H", "{addr}", "-I", "{addr}", "-p", "{port}",
                    "-u", "/onvif/device_service", "-P", SOAP_TIME_REQUEST, "-T",
                    SOAP_CONTENT_TYPE, "-r", "GetSystemDateAndTimeResponse", "-t",
                    str(max(1, self.camera_timeout_ms // 1000))]
        snmp_cmd = [PLUGINS + "/check_snmp", "-H", "{addr}", "-p", "{port}", "-P", "2c", "-C",
                    self.field.community, "-o", ",".join(ROUTER_OIDS), "-t", "2", "-e", "1"]
        c0 = {"camera": self.camera_counter(), "snmp": self.router_counter()}
        runners = []
        for name, targets, cmd in (("check_http", self.field.camera_targets, http_cmd),
                                   ("check_snmp", self.field.router_targets, snmp_cmd)):
            runners.append(self.procs.spawn(name, [
                PYTHON, FORKCHECK, "--targets", targets, "--interval", str(self.interval),
                "--duration", str(self.window), "--concurrency", str(self.args.fork_concurrency),
                "--", *cmd], stdout=subprocess.PIPE,
                log_path=os.path.join(self.work, "forkcheck.log")))
        outs = []
        for r in runners:
            try:
                outs.append(json.loads(r.communicate(timeout=self.window + 90)[0] or "{}"))
            except (subprocess.TimeoutExpired, ValueError):
                self.procs.stop(r)
                outs.append({})
        c1 = {"camera": self.camera_counter(), "snmp": self.router_counter()}
        for (tool, kind), out in zip((("check_http", "camera"), ("check_snmp", "snmp")), outs):
            if not out:
                log("  %s: no result" % tool)
                continue
            self.record(tool, kind, run, _delta(c0[kind], c1[kind]),
                        out["cpu_user"] + out["cpu_system"], out["maxrss_kib"], own=out,
                        note="%d of %d due checks run" % (out["started"],
                                                          out["started"] + out["skipped"]))


    # -- the blackhole

    def run_blackhole(self):
        self.field.use("sim")
        try:
            self._run_blackhole()
        finally:
            self.field.use(self.field.camera_server)

    def _run_blackhole(self):
        log("blackhole: 10 %% of cameras silent, 10 %% of routers frozen; both every %gs"
            % self.interval)
        iv = "%gs" % self.interval
        config = os.path.join(self.work, "fw-blackhole.yaml")
        fieldwatch_config(config, self.field, iv, iv, "1d",
                          camera_timeout="%dms" % self.camera_timeout_ms,
                          router_timeout="%dms" % self.router_timeout_ms)
        self.field.blackhole(True)
        sniffer = None
        d = None
        try:
            d = self.start_fieldwatch("fw-blackhole", config)
            time.sleep(self.fieldwatch_warmup())
            sniffer = sniff.Sniffer(udp_port=ROUTER_PORT, tcp_port=CAMERA_PORT)
            try:
                sniffer.start()
            except OSError as e:
                log("  no packet timestamps (%s); the simulator's log only" % e)
                sniffer = None
            window = max(3 * self.interval, 15.0)
            m = self.measure([d.proc.pid], window, {"camera": self.camera_counter,
                                                    "snmp": self.router_counter})
            events = sniffer.stop() if sniffer else []
            rss = vm_hwm_kib(d.proc.pid)
        finally:
            if d is not None:
                self.stop_fieldwatch(d)
            if sniffer is not None:
                sniffer.stop()
            self.field.blackhole(False)
        t0, t1 = m["unix"][0] + 0.5, m["unix"][1] - 0.5
        silent_ids = {"c%05d" % i for i in self.field.silent_cameras}
        silent_addr = {self.field.cameras[i] for i in self.field.silent_cameras}
        frozen_addr = {self.field.routers[i] for i in self.field.frozen_routers}
        res = {
            "window": m["wall"], "cpu": m["cpu"][d.proc.pid], "rss_kib": rss,
            "camera_probes": m["counts"]["camera"], "snmp_probes": m["counts"]["snmp"],
            "camera_log": lateness_summary(lateness(
                sim_log_starts(self.field.sim_log, *m["log"], exclude_ids=silent_ids),
                self.interval, t0, t1)),
        }
        if events:
            res["camera_wire"] = lateness_summary(lateness(
                sniff_starts(events, "tcp", silent_addr), self.interval, t0, t1))
            res["snmp_wire"] = lateness_summary(lateness(
                sniff_starts(events, "udp", frozen_addr), self.interval, t0, t1))
        self.extra["blackhole"] = res
        log("  lateness (ms) cameras (log) %s; cameras (wire) %s; routers (wire) %s"
            % (res["camera_log"], res.get("camera_wire"), res.get("snmp_wire")))

    # -- steady state at the 60 s interval

    def run_steady(self):
        self.field.use("sim")
        try:
            self._run_steady()
        finally:
            self.field.use(self.field.camera_server)

    def _run_steady(self):
        window, warmup = self.args.steady_window, self.args.steady_warmup
        log("steady: cameras (deep every 10m) and routers every 60s; %.0f s warm-up, "
            "%.0f s window" % (warmup, window))
        config = os.path.join(self.work, "fw-steady.yaml")
        fieldwatch_config(config, self.field, "60s", "60s", "10m")
        d = self.start_fieldwatch("fw-steady", config)
        try:
            c0 = cpu_seconds(d.proc.pid)
            time.sleep(warmup)
            startup_cpu = cpu_delta(c0, cpu_seconds(d.proc.pid))
            startup_not_up = not_up(d, None)
            m = self.measure([d.proc.pid], window, {"camera": self.camera_counter,
                                                    "snmp": self.router_counter})
            rss = vm_hwm_kib(d.proc.pid)
            starts = sim_log_starts(self.field.sim_log, *m["log"])
            end_not_up = not_up(d, None)
        finally:
            self.stop_fieldwatch(d)
        res = {"window": m["wall"], "cpu": m["cpu"][d.proc.pid], "warmup": warmup,
               "startup_cpu": startup_cpu, "startup_not_up": startup_not_up,
               "end_not_up": end_not_up,
               "core_percent": 100 * m["cpu"][d.proc.pid] / m["wall"], "rss_kib": rss,
               "camera_probes": m["counts"]["camera"], "snmp_probes": m["counts"]["snmp"],
               "lateness": lateness_summary(lateness(starts, 60.0, m["unix"][0] + 0.5,
                                                     m["unix"][1] - 0.5))}
        self.extra["steady"] = res
        log("  %.2f %% of one core, peak RSS %.1f MiB, %d camera + %d router probes"
            % (res["core_percent"], rss / 1024, res["camera_probes"], res["snmp_probes"]))

    # -- all of it

    def run(self):
        only = set(self.args.only.split(",")) if self.args.only else None

        def wanted(name):
            return only is None or name in only
        runs = range(1, self.args.runs + 1)
        limit = wanted("limit") and self.args.shared_floor
        interleaved = self.interleaved = bool(limit and wanted("fieldwatch"))
        if wanted("fieldwatch"):
            # fieldwatchd's runs first, one daemon per kind (its warm-up is long):
            # nothing else probes the targets during its windows. `limit` of the
            # same kind runs right after each window, while the daemon goes on
            # probing (limit counts its own probes and CPU): the ratio the
            # targets are about is of measurements a minute apart.
            for kind in ("camera", "snmp"):
                self.run_fieldwatch(kind, runs, between=(
                    (lambda run, kind=kind: self.run_shared_floor(run, (kind,)))
                    if interleaved else None))
        for run in runs:
            log("run %d of %d" % (run, self.args.runs))
            if wanted("floor"):
                self.run_floor(run)
            if limit and not interleaved:
                self.run_shared_floor(run)
            if wanted("exporters"):
                self.run_exporters(run)
            if wanted("fork"):
                self.run_forkchecks(run)
        if self.args.profile:
            log("profiling fieldwatchd (an extra run of each kind, not counted)")
            self.run_fieldwatch("camera", [0], profile=True)
            self.run_fieldwatch("snmp", [0], profile=True)
        if wanted("blackhole"):
            self.run_blackhole()
        if self.args.steady and wanted("steady"):
            self.run_steady()


def not_up(daemon, kind):
    """{state: count} of the devices (of kind: "camera", "snmp" for routers, None
    for all) that are not up, as fieldwatchctl status says."""
    want = {"camera": "camera", "snmp": "router"}.get(kind)
    counts = {}
    try:
        devices = daemon.status().values()
    except (subprocess.SubprocessError, OSError, ValueError) as e:
        return {"fieldwatchctl status failed": str(e)[:80]}
    for dev in devices:
        if (want is None or dev["kind"] == want) and dev["state"] != "up":
            counts[dev["state"]] = counts.get(dev["state"], 0) + 1
    return counts


def _delta(a, b):
    if isinstance(a, tuple):
        return b[0] - a[0]
    return b - a


def _listening(port, proc):
    if proc.poll() is not None:
        raise BenchError("an exporter exited with %s" % proc.returncode)
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


# ---------------------------------------------------------------------------
# Report

TOOLS = [  # (tool, kind, label)
    ("fieldwatchd", "camera", "fieldwatchd"),
    ("floor", "camera", "floor (C: libcurl multi + libxml2)"),
    ("limit", "camera", "shared floor `limit http` (libcurl multi, fresh connection, "
     "back to back)"),
    ("blackbox_exporter", "camera", "prometheus-blackbox-exporter %s"),
    ("check_http", "camera", "check_http, a process per check (monitoring-plugins %s)"),
    ("fieldwatchd", "snmp", "fieldwatchd"),
    ("floor", "snmp", "floor (C: net-snmp async)"),
    ("limit", "snmp", "shared floor `limit snmp` (net-snmp async, back to back)"),
    ("snmp_exporter", "snmp", "prometheus-snmp-exporter %s"),
    ("check_snmp", "snmp", "check_snmp, a process per check (monitoring-plugins %s)"),
]


def summarize(results):
    out = {}
    for tool, kind, _ in TOOLS:
        rows = [r for r in results if r["tool"] == tool and r["kind"] == kind and r["per_1000"]]
        if not rows:
            continue
        per = [r["per_1000"] for r in rows]
        out[(tool, kind)] = {
            "median": statistics.median(per), "min": min(per), "max": max(per),
            "probes": int(statistics.median([r["probes"] for r in rows])),
            "rss_kib": max(r["rss_kib"] for r in rows), "runs": len(rows),
            "lateness": [r["lateness"] for r in rows if r.get("lateness")],
            "not_up": [r["not_up"] for r in rows if r.get("not_up")],
            "due_share": [r["own"]["started"] / max(1, r["own"]["started"] + r["own"]["skipped"])
                          for r in rows if "started" in r.get("own", {})],
        }
    return out


def fmt_mib(kib):
    return "%.1f MiB" % (kib / 1024)


def table(summary, versions):
    lines = ["| tool | probe | probes (median run) | CPU s per 1,000 probes: median (min–max) "
             "| peak RSS | ratio to fieldwatchd |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for tool, kind, label in TOOLS:
        s = summary.get((tool, kind))
        if not s:
            continue
        if "%s" in label:
            label = label % versions.get(tool, "?")
        fw = summary.get(("fieldwatchd", kind))
        ratio = "%.2f×" % (s["median"] / fw["median"]) if fw and fw["median"] else "–"
        probe = "ONVIF GetSystemDateAndTime" if kind == "camera" else "SNMP GET (4 OIDs)"
        rss = fmt_mib(s["rss_kib"])
        if tool.startswith("check_"):
            rss += " per check"
        lines.append("| %s | %s | %d | %.3f (%.3f–%.3f) | %s | %s |"
                     % (label, probe, s["probes"], s["median"], s["min"], s["max"], rss, ratio))
    return "\n".join(lines)


def late_text(s):
    if s is None:
        return "not measured"
    if not s.get("n"):
        return "no device was probed twice in the window"
    return ("p50 %.1f ms, p99 %.1f ms, max %.1f ms over %d probes (%d later than 100 ms)"
            % (s["p50"], s["p99"], s["max"], s["n"], s["over_100ms"]))


def targets(summary, extra, n):
    """[(target, verdict, detail)]"""
    out = []

    def ratio(kind, other, limit, bigger_is_other, name):
        fw, o = summary.get(("fieldwatchd", kind)), summary.get((other, kind))
        if not fw or not o:
            out.append((name, "not measured", ""))
            return
        if bigger_is_other:      # fieldwatch <= o / limit
            r = o["median"] / fw["median"]
            ok = r >= limit
            detail = ("%s uses %.2f× fieldwatchd's CPU per probe (wanted ≥ %g×)"
                      % (other, r, limit))
        else:                    # fieldwatch <= limit * o
            r = fw["median"] / o["median"]
            ok = r <= limit
            detail = ("fieldwatchd uses %.2f× %s's CPU per probe (wanted ≤ %g×)"
                      % (r, other, limit))
        out.append((name, "met" if ok else "MISSED", detail))
    ratio("camera", "blackbox_exporter", 5, True, "camera probes ≤ 1/5 of blackbox_exporter")
    ratio("camera", "limit", 2, False, "camera probes ≤ 2× the shared floor's `limit http`")
    ratio("camera", "floor", 2, False, "camera probes ≤ 2× the project's floor")
    ratio("snmp", "snmp_exporter", 8, True, "SNMP probes ≤ 1/8 of snmp_exporter")
    ratio("snmp", "limit", 2, False, "SNMP probes ≤ 2× the shared floor's `limit snmp`")
    ratio("snmp", "floor", 2, False, "SNMP probes ≤ 2× the project's floor")
    st = extra.get("steady")
    if st:
        ok = st["core_percent"] < 3 and st["rss_kib"] < 48 * 1024
        out.append(("N=%d at 60 s: < 3 %% of a core, < 48 MiB" % n, "met" if ok else "MISSED",
                    "%.2f %% of one core, peak RSS %s" % (st["core_percent"],
                                                         fmt_mib(st["rss_kib"]))))
    else:
        out.append(("N=10,000 at 60 s: < 3 % of a core, < 48 MiB", "not measured here",
                    "run BENCH_N=10000"))
    bh = extra.get("blackhole")
    if bh:
        kinds = {"cameras": bh.get("camera_wire") or bh.get("camera_log"),
                 "routers": bh.get("snmp_wire")}
        measured = {k: v for k, v in kinds.items() if v is not None}
        late_max = max((v["max"] for v in measured.values() if v.get("n")), default=None)
        unprobed = [k for k, v in measured.items() if not v.get("n")]
        ok = late_max is not None and late_max <= 50 and not unprobed
        detail = "max lateness %.1f ms" % late_max if late_max is not None else "no data"
        if unprobed:
            detail += "; no %s probed twice in the window" % " or ".join(unprobed)
        out.append(("10 % blackholed: the others start within 50 ms", "met" if ok else "MISSED",
                    detail))
    return out


def report(bench, machine):
    summary = summarize(bench.results)
    versions = {"blackbox_exporter": package_version("prometheus-blackbox-exporter"),
                "snmp_exporter": package_version("prometheus-snmp-exporter"),
                "check_http": package_version("monitoring-plugins-basic"),
                "check_snmp": package_version("monitoring-plugins-standard")}
    a = bench.args
    md = []
    md.append("## N = %d (%s)" % (bench.n, bench.started_at.strftime("%Y-%m-%d %H:%M %Z")))
    md.append("")
    md.append("Machine: %s, %d cores, %s, kernel %s, Debian %s (virtualization: %s). "
              "fieldwatch %s; libcurl %s, libxml2 %s, net-snmp %s."
              % (machine["cpu"], machine["cores"], machine["memory"], machine["kernel"],
                 machine["debian"], machine["virtualization"], git_describe(),
                 package_version("libcurl4"), package_version("libxml2"),
                 package_version("libsnmp40")))
    md.append("")
    md.append("%d cameras and %d routers on loopback, every one probed once every %g s "
              "(%.0f probes/s of each kind); %d runs of each tool, each measured over a "
              "%g s window after its warm-up (fieldwatchd: one daemon per kind, its runs "
              "consecutive windows after 5 minutes, when the first probes of the devices "
              "probed daily and the first deep cycles, spread over that time, are over); "
              "`make bench%s`."
              % (bench.n, bench.n, bench.interval, bench.n / bench.interval, a.runs,
                 bench.window, "" if bench.n == 1000 else " BENCH_N=%d" % bench.n))
    md.append("")
    if bench.field.camera_server == "nginx":
        md.append("Cameras: one nginx %s answering as a camera would (bench/nginx_cameras.py): "
                  "GetSystemDateAndTime with the fresh time, GetServices, and the deep checks "
                  "behind a Digest challenge (401 first; the answer's Digest is not verified: "
                  "nginx has no Digest module), a fresh connection per request "
                  "(keepalive_timeout 0). Routers: snmpd. The blackhole and steady phases use "
                  "the project's onvif_sim (it can silence a camera)."
                  % package_version("nginx"))
    else:
        md.append("Cameras: the project's onvif_sim (--cameras sim). Routers: snmpd.")
    md.append("")
    md.append("Two floors, both in this run: the shared floor's `limit` (../shared/bench-floor, "
              "built by `make bench` into build/bench-floor; probes back to back, 64 in "
              "flight, no idle wake-ups; a fresh connection and a SOAP POST per camera probe, "
              "its answer not parsed; one v2c GET of 3 OIDs per router probe; CPU from its "
              "own getrusage() around the probe loop; %s) and the project's bench/floor (probes "
              "spread over the interval like fieldwatchd, answers parsed with libxml2; 4 "
              "OIDs). The ratios to reach are against `limit`."
              % ("each of its runs right after a window of fieldwatchd's of the same kind, "
                 "while that daemon goes on probing the same targets, so that each ratio "
                 "compares measurements about a minute apart"
                 if bench.interleaved else "after fieldwatchd's runs"))
    md.append("")
    md.append(table(summary, versions))
    md.append("")
    md.append("CPU is user + system time of the tool's process(es) only: not the simulators', "
              "nor the scraper's or the check scheduler's. check_* rows: the checks and their "
              "children (check_snmp runs snmpget), from getrusage(RUSAGE_CHILDREN); peak RSS "
              "is that of the largest single check.")
    if summary.get(("floor", "camera")):
        md.append("The floor %s." % (
            "keeps one connection per camera (fieldwatchd reconnects for every probe)"
            if bench.floor_connections() else
            "reconnects for every probe, as fieldwatchd does: RLIMIT_NOFILE (%d) is too low "
            "for the simulator to hold a listener and a connection per camera" % bench.nofile))
    shares = ["%s %.0f–%.0f %%" % (tool, 100 * min(s["due_share"]), 100 * max(s["due_share"]))
              for (tool, _), s in summary.items() if s["due_share"]]
    if shares:
        md.append("The fork-per-check scheduler runs at most %d checks at once and skips a "
                  "check that is due while all are busy; share of the due checks run: %s "
                  "(the CPU per check does not depend on it)." % (a.fork_concurrency,
                                                                 ", ".join(shares)))
    for kind in ("camera", "snmp"):
        s = summary.get(("fieldwatchd", kind))
        if s and s["not_up"]:
            md.append("fieldwatchd's %s runs ended with devices not up: %s (every simulated "
                      "device is healthy: false alarms of fieldwatchd's own overload — "
                      "timeouts, and deep-check timeouts that hold until the next deep check)."
                      % (kind, "; ".join(json.dumps(x, sort_keys=True) for x in s["not_up"])))
    md.append("")
    lat = [("fieldwatchd", summary.get(("fieldwatchd", "camera"))),
           ("floor", summary.get(("floor", "camera")))]
    for name, s in lat:
        if s and s["lateness"]:
            md.append("- Probe start lateness, %s cameras (%s's log, last run): %s"
                      % (name, "nginx" if bench.field.camera_server == "nginx" else
                         "the simulator", late_text(s["lateness"][-1])))
    bh = bench.extra.get("blackhole")
    if bh:
        md.append("- 10 %% blackholed (cameras silent, routers frozen), fieldwatchd with both "
                  "kinds every %g s, %.0f s window: the other cameras %s (kernel timestamps: %s); "
                  "the other routers (kernel timestamps) %s. CPU %.2f s for %d + %d probes, "
                  "peak RSS %s."
                  % (bench.interval, bh["window"], late_text(bh["camera_log"]),
                     late_text(bh.get("camera_wire")), late_text(bh.get("snmp_wire")), bh["cpu"],
                     bh["camera_probes"], bh["snmp_probes"], fmt_mib(bh["rss_kib"])))
    st = bench.extra.get("steady")
    if st:
        md.append("- Steady state at the 60 s interval (cameras with deep checks every 10 min, "
                  "routers), a %.0f s window after %.0f s: **%.2f %% of one core**, peak RSS "
                  "**%s**, %d camera and %d router probes (deep checks fall outside the "
                  "window); camera probe lateness %s. The first %.0f s (start, first deep "
                  "cycles) took %.1f s CPU (%.0f %% of a core); devices not up after them: %s, "
                  "at the end of the window: %s."
                  % (st["window"], st["warmup"], st["core_percent"], fmt_mib(st["rss_kib"]),
                     st["camera_probes"], st["snmp_probes"], late_text(st["lateness"]),
                     st["warmup"], st["startup_cpu"], 100 * st["startup_cpu"] / st["warmup"],
                     json.dumps(st["startup_not_up"], sort_keys=True) or "none",
                     json.dumps(st["end_not_up"], sort_keys=True) or "none"))
    md.append("")
    md.append("Targets (issues 7 and 18; reported, not gated):")
    md.append("")
    for name, verdict, detail in targets(summary, bench.extra, bench.n):
        md.append("- %s: **%s**%s" % (name, verdict, " — " + detail if detail else ""))
    for path in bench.extra.get("profiles", []):
        md.append("- profile: `%s`" % os.path.relpath(path, ROOT))
    return "\n".join(md) + "\n", summary


def write_results(path, n, section):
    begin, end = "<!-- BEGIN N=%d -->" % n, "<!-- END N=%d -->" % n
    head = ("# fieldwatch benchmark results\n\n"
            "Written by `make bench` (bench/bench.py); each section is replaced by the next "
            "run with the same N. See bench/README.md for what is measured and how.\n\n")
    text = head
    with contextlib.suppress(OSError):
        with open(path, encoding="utf-8") as f:
            text = f.read()
    block = "%s\n%s%s\n" % (begin, section, end)
    if begin in text and end in text:
        text = text[:text.index(begin)] + block + text[text.index(end) + len(end) + 1:]
    else:
        sections = re.findall(r"<!-- BEGIN N=(\d+) -->", text)
        later = [int(x) for x in sections if int(x) > n]
        if later:
            at = text.index("<!-- BEGIN N=%d -->" % min(later))
            text = text[:at] + block + "\n" + text[at:]
        else:
            text = text.rstrip("\n") + "\n\n" + block
    write_text_atomic(path, text)


def write_text_atomic(path, text):
    """Writes path whole or not at all (a results file half written is worse
    than the last one)."""
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description="fieldwatch's benchmark (see the module doc).")
    p.add_argument("--n", type=int, default=int(os.environ.get("BENCH_N", "1000")))
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--interval", type=float, help="seconds; default 5 for N <= 1000, else "
                   "N / 500 (a probe rate of 500/s of each kind: what the simulators, the "
                   "exporters and their scrapers can share two cores with)")
    p.add_argument("--window", type=float, help="seconds measured per run; default 3 "
                   "intervals for N <= 1000, else 1 (at least 15 s)")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--daemon", help="fieldwatchd to measure (default BUILD/fieldwatchd)")
    p.add_argument("--floor", help="the floor prober (default BUILD/bench/floor)")
    p.add_argument("--shared-floor", help="the shared floor's `limit` (default "
                   "BUILD/bench-floor/limit when it exists; `make bench` builds it)")
    p.add_argument("--cameras", choices=("nginx", "sim"), default="nginx",
                   help="what answers the per-probe runs' cameras: nginx, as an outsider "
                   "measures with (default), or the project's onvif_sim")
    p.add_argument("--steady", dest="steady", action="store_true", default=None)
    p.add_argument("--no-steady", dest="steady", action="store_false")
    p.add_argument("--steady-window", type=float, default=180.0)
    p.add_argument("--steady-warmup", type=float, help="seconds; default 30 + N / 100")
    p.add_argument("--fork-concurrency", type=int, default=8)
    p.add_argument("--profile", action="store_true",
                   default=os.environ.get("BENCH_PROFILE") == "1")
    p.add_argument("--profile-dir", default=os.path.join(HERE, "profiles"))
    p.add_argument("--only", help="comma-separated: fieldwatch,floor,limit,exporters,fork,"
                   "blackhole,steady")
    p.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    p.add_argument("--no-results", action="store_true", help="print only")
    p.add_argument("--keep", action="store_true", help="keep the work directory")
    args = p.parse_args(argv)
    if not 10 <= args.n <= 20000 or args.runs < 1:
        p.error("--n must be 10 ... 20000 and --runs at least 1")
    if args.interval is None:
        args.interval = 5.0 if args.n <= 1000 else args.n / 500.0
    if args.window is None:
        args.window = max(15.0, (3 if args.n <= 1000 else 1) * args.interval)
    args.daemon = args.daemon or os.path.join(args.build, "fieldwatchd")
    args.floor = args.floor or os.path.join(args.build, "bench", "floor")
    if args.shared_floor is None:
        default = os.path.join(args.build, "bench-floor", "limit")
        args.shared_floor = default if os.access(default, os.X_OK) else None
    if args.steady is None:
        args.steady = args.n >= 10000
    if args.steady_warmup is None:
        args.steady_warmup = 30.0 + args.n / 100.0
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.geteuid() != 0:
        log("note: not root: no packet timestamps (AF_PACKET) and perhaps too few file "
            "descriptors")
    bench = Bench(args)
    stop = {"signal": None}

    def on_signal(sig, frame):
        stop["signal"] = sig
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        bench.prepare()
        bench.run()
    except (BenchError, snmp_field.FieldError, OSError, AssertionError,
            subprocess.SubprocessError) as e:
        log("cannot go on: %s: %s" % (type(e).__name__, e))
        bench.close()
        return 1
    except BaseException:
        bench.close()
        raise
    except KeyboardInterrupt:
        log("interrupted; stopping everything")
        bench.close()
        return 1
    bench.close()
    machine = machine_description()
    text, _ = report(bench, machine)
    print()
    print(text)
    log("done in %.0f s" % (time.monotonic() - started))
    if not args.no_results:
        write_results(args.results, args.n, text)
        log("written to %s" % os.path.relpath(args.results, os.getcwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
