#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""How fieldwatchd's cost grows with the field, and whether a silent 10 % delays
anyone else (issue 18, points 4 and 3), with bench.py's machinery: nginx cameras
(bench/nginx_cameras.py, a fresh connection per request), snmpd routers
(tests/sim/snmp_field.py), probes counted by the targets, CPU from /proc/PID,
RSS from /proc/PID/status, packet times from the kernel (bench/sniff.py).

  /usr/bin/python3 bench/scale.py [--sizes 100,1000,10000,20000,30000]
      [--intervals 5,5,60,60,60] [--windows 30,30,60,60,60] [--warmup S]
      [--target-n 10000] [--target-window 600] [--target-short 60] [--blackhole-n 1000]
      [--blackhole-interval 5] [--blackhole-window 60] [--blackhole-warmup 30]
      [--only scale,blackhole,target] [--shard 8000] [--build build]
      [--shared-floor build/bench-floor/limit] [--floor-n 1000] [--floor-probes 30000]
      [--results bench/RESULTS.md | --no-results] [--keep]

`make bench-scale` runs it (BENCH_SCALE_ARGS for options).

Scale (point 4). For each size N: N cameras (nginx, 127.22.x.y:18080) and N
routers (snmpd, 127.21.x.y:16161), and two fieldwatchd at once, each configured
with all N cameras and N routers: "camera" probes the cameras every interval and
the routers daily, "router" the routers every interval and the cameras daily
(deep checks daily). The targets count the probes (nginx's access log: the
GetSystemDateAndTime answered 200; snmpd's snmpInGetRequests); each daemon's CPU
(utime + stime, or the nanosecond schedstat) over a window of whole intervals is
divided by its kind's count. A daily device is still probed once within the
first 5 minutes (FIRST_SPREAD_MAX: the first probes and the first deep cycles
are spread over min(interval, 5 min)), so the window starts only after
--warmup (5 min + the longest interval + 5 s): then the camera daemon's window
holds liveness cycles only and the router daemon's router probes only (the deep cycles and other-kind
probes that still fell into the window are counted and reported). Peak RSS is
VmHWM (start and first cycles included), steady RSS VmRSS at the window's end.
At --target-n a third daemon probes its own N cameras and N routers every 60 s
(deep checks every 10 min), the issue's configuration: % of one core and RSS,
over one deep interval (--target-window, 600 s: every camera's deep cycle falls
in it once, as in a day's average) and over its first --target-short seconds
(60: before the second deep cycles fall due, the liveness probes alone).
After the session's windows, every daemon stopped, the shared floor's `limit`
(--shared-floor) probes the target's field back to back (`limit snmp` over its
routers, `limit http` over its first --floor-n cameras and over all of them,
--floor-probes probes each run), and the report sets the target beside the
floor's cost for the same requests. --only target runs the target's daemon and
the floor alone (no other daemon beside).
A size whose configuration `fieldwatchctl check-config` refuses (more than
30,000 sites, or more than 8 MiB) is reported with its words, not run.
Sizes whose fields fit together (<= 25,000 addresses of each kind) run in one
session: the daemons start together, then the windows follow one another,
largest size first (its runs in one window), each size's daemons stopped after
its window, the smaller sizes' daemons probing on meanwhile.

Silent 10 % (point 3). --blackhole-n cameras and routers, fieldwatchd probing
both every --blackhole-interval; 10 % of the cameras are served by an nginx of
their own that is stopped (SIGSTOP: the kernel completes the handshake, nobody
answers) and 10 % of the routers by an snmpd that is stopped, --blackhole-silence-after
seconds into the window. Measured are the devices of the sites without a silent
device (the fault engine re-probes the other device of such a site at once, by
design). Each device's probe start is the kernel's timestamp of the probe's first packet at
the target (the TCP SYN to :18080, the UDP datagram to :16161; AF_PACKET on lo,
root only); packets of one device within half an interval of the first are the
same cycle (a deep cycle's further connections, a retry). fieldwatchd schedules
a cycle an interval after the previous one started, so the start's delay from
its schedule is the spacing of consecutive cycles less the interval. The same
run with nobody silent is the comparison.

Reports, never gates: exit 0 when it ran, 1 when it could not, 2 for bad usage.
Every process it starts is stopped by PID at the end, also on SIGINT/SIGTERM.
"""

import argparse
import collections
import contextlib
import datetime
import os
import signal
import subprocess
import sys
import tempfile
import time
import types

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402  (it sets up the paths to tests/ and tests/sim/)
import fwtest  # noqa: E402
import nginx_cameras  # noqa: E402
import snmp_field  # noqa: E402
import sniff  # noqa: E402

from bench import BenchError, log  # noqa: E402

SHARD = 8000            # addresses per nginx or snmpd process (RLIMIT_NOFILE)
GROUP_MAX = 25000       # addresses of each kind in one session
MIB = 1024
LIVE_OP = "GetSystemDateAndTime"
DEEP_OP = "GetDeviceInformation"


def vm_kib(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class ScaleField:
    """N cameras (nginx shards) and N routers (snmpd shards) at addresses
    offset ... offset + N - 1; with silent=True, the 10 % to be silenced
    (cameras i % 10 == 0, routers i % 10 == 5) have an nginx and an snmpd of
    their own, to be stopped."""

    def __init__(self, name, n, offset, work, procs, silent=False):
        self.name, self.n, self.offset = name, n, offset
        self.work = os.path.join(work, name)
        os.makedirs(self.work, exist_ok=True)
        self.procs = procs
        self.cameras = [bench.address(bench.NGINX_NET, offset + i) for i in range(n)]
        self.routers = [bench.address(bench.ROUTER_NET, offset + i) for i in range(n)]
        every = bench.BLACKHOLE_EVERY
        self.silent_cameras = {i for i in range(n) if i % every == 0} if silent else set()
        self.frozen_routers = {i for i in range(n) if i % every == 5} if silent else set()
        self.nginx = []         # [(name, Popen, nginx_cameras.AccessLog)]
        self.agents = []
        self.silenced = False
        with open(bench.CREDENTIALS + "/snmp-community", encoding="utf-8") as f:
            self.community = f.read().strip()

    @staticmethod
    def _shards(items, prefix, silent_idx):
        quiet = [a for i, a in enumerate(items) if i in silent_idx]
        rest = [a for i, a in enumerate(items) if i not in silent_idx]
        out = [("%s-silent" % prefix, quiet)] if quiet else []
        for k in range(0, len(rest), SHARD):
            out.append(("%s-%d" % (prefix, k // SHARD), rest[k:k + SHARD]))
        return out

    def _check_free(self):
        """Another bench run on these addresses would answer for this one's
        targets (snmpd binds what it can and goes on): refuse to start."""
        tcp = {a for a, p, _, _, state, _ in fwtest.inet_sockets("/proc/net/tcp")
               if p == bench.CAMERA_PORT and state == "0A"}
        udp = {a for a, p, _, _, _, _ in fwtest.inet_sockets("/proc/net/udp")
               if p == bench.ROUTER_PORT}
        taken = (tcp & set(self.cameras)) | (udp & set(self.routers))
        if taken:
            raise BenchError("%d of the field's addresses are in use already (%s, ...): another "
                             "bench run? Run one at a time, or move this one with --offset"
                             % (len(taken), sorted(taken)[0]))

    def up(self):
        t = time.monotonic()
        self._check_free()
        for name, addrs in self._shards(self.cameras, "nginx", self.silent_cameras):
            directory = os.path.join(self.work, name)
            os.makedirs(directory, exist_ok=True)
            access = os.path.join(directory, "access.log")
            conf = nginx_cameras.prepare([(a, bench.CAMERA_PORT) for a in addrs], directory,
                                         access)
            p = self.procs.spawn("%s %s" % (self.name, name),
                                 nginx_cameras.argv(conf, directory),
                                 log_path=os.path.join(directory, "nginx.stderr"),
                                 env=dict(os.environ, TZ="UTC"))
            self.nginx.append((name, p, nginx_cameras.AccessLog(access)))
            self._wait_nginx(p, addrs[-1], directory, len(addrs))
        for name, addrs in self._shards(self.routers, "snmpd", self.frozen_routers):
            directory = os.path.join(self.work, name)
            agent = bench.ManyAddressAgent(
                name, [(a, bench.ROUTER_PORT) for a in addrs],
                os.path.join(directory, "state.json"), directory, community=self.community,
                roots=snmp_field.pass_roots(bench.SIGNAL_OIDS.values()))
            agent.prepare(snmp_field.router_state("1", signal_oids=bench.SIGNAL_OIDS))
            agent.start(die_with_parent=True)
            self.procs.adopt("%s %s" % (self.name, name), agent.popen)
            self.agents.append(agent)
        snmp_field.wait_answering(self.agents, time.monotonic() + 60 + self.n / 100, self.work)
        log("%s: %d cameras (%d nginx), %d routers (%d snmpd) up in %.0f s"
            % (self.name, self.n, len(self.nginx), self.n, len(self.agents),
               time.monotonic() - t))

    def _wait_nginx(self, p, last, directory, n):
        import socket

        def answering():
            if p.poll() is not None:
                raise BenchError("nginx exited with %s; see %s" % (
                    p.returncode, os.path.join(directory, "nginx.error.log")))
            with contextlib.suppress(OSError), socket.create_connection(
                    (last, bench.CAMERA_PORT), timeout=1):
                return True
            return False
        bench.wait_for(answering, 60 + n / 100, "nginx's cameras")

    def camera_ops(self):
        """Counter of (operation, status) over the answering shards."""
        total = collections.Counter()
        for name, _, log in self.nginx:
            if not name.endswith("-silent"):
                log.count()
                total.update(log.ops)
        return total

    def router_count(self):
        """snmpInGetRequests of the answering agents, less their own reads."""
        env = snmp_field.client_env(self.work)
        total = 0
        for agent in self.agents:
            if agent.frozen:
                total += agent.last_count   # as it was when it was stopped
                continue
            a, port = agent.listen[0]
            r = subprocess.run([bench.SNMPGET, "-v2c", "-c", self.community, "-On", "-Oqv",
                                "-t", "2", "-r", "2", "%s:%d" % (a, port),
                                bench.SNMP_IN_GET_REQUESTS],
                               capture_output=True, text=True, env=env, timeout=30)
            if r.returncode != 0:
                raise BenchError("snmpget of snmpInGetRequests from %s: %s"
                                 % (agent.name, r.stdout.strip() or r.stderr.strip()))
            agent.reads += 1
            agent.last_count = int(r.stdout.split()[-1]) - agent.reads
            total += agent.last_count
        return total

    def silence(self, on):
        if on:
            self.router_count()     # the counts of the agents to be stopped
        for name, p, _ in self.nginx:
            if name.endswith("-silent"):
                os.kill(p.pid, signal.SIGSTOP if on else signal.SIGCONT)
        for agent in self.agents:
            if agent.name.endswith("-silent"):
                agent.freeze(on)
        self.silenced = on


# A real site's name (config/ichikawa-2025.yaml's longest, 58 bytes of UTF-8).
REAL_NAME = "市川市真間1-12-4 市川センタービル（東向き）"


def daemon_config(path, field, camera_interval, router_interval, deep_interval,
                  real_names=False):
    """bench.py's configuration, with the sites in YAML flow style, one line each:
    the configuration may be at most 8 MiB (CONFIG_MAX_FILE_SIZE), which the
    block style exceeds from about 28,000 sites. real_names: the strings a real
    configuration has (a street address for a name, "admin", the credentials'
    full names), not the shortest ones: they cost memory per site too."""
    # The rest of the configuration comes from bench.py, built for one site.
    one_site = types.SimpleNamespace(n=1, routers=field.routers[:1], cameras=field.cameras[:1])
    bench.fieldwatch_config(path, one_site, camera_interval, router_interval, deep_interval)
    with open(path, encoding="utf-8") as f:
        data = yaml.safe_load(f)
    data.pop("sites")
    lines = [yaml.safe_dump(data, allow_unicode=True, sort_keys=False).rstrip("\n"), "sites:"]
    # As short as it gets (credentials "c" and "p": copies, see Scale.prepare):
    # 30,000 sites, the most a configuration may have, take about 6.3 MB.
    name, user, community, password = ("%s %%d" % REAL_NAME, "admin", "snmp-community",
                                       "camera") if real_names else ("b%d", "a", "c", "p")
    for i in range(field.n):
        lines.append("- {id: s%05d,name: '%s',mount: wall,router: {address: %s,port: %d,"
                     "snmp: {version: 2c,community_credential: %s}},camera: {address: %s,"
                     "port: %d,username: %s,password_credential: %s}}"
                     % (i, name % i, field.routers[i], bench.ROUTER_PORT, community,
                        field.cameras[i], bench.CAMERA_PORT, user, password))
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return path


def check_config(ctl, path, credentials):
    """None when fieldwatchctl check-config accepts it, else its words."""
    r = subprocess.run([ctl, "--config", path, "--credentials-dir", credentials,
                        "check-config"], capture_output=True, text=True, timeout=300)
    if r.returncode == 0:
        return None
    return (r.stderr.strip() or r.stdout.strip()).replace(path, os.path.basename(path))


class Scale:
    def __init__(self, args):
        self.args = args
        self.procs = bench.Processes()
        self.work = tempfile.mkdtemp(prefix="fieldwatch-scale-")
        self.daemon = os.path.join(self.work, "fieldwatchd")
        self.rows = []          # one per size
        self.target = None      # the --target-n run
        self.floor = None       # the shared floor over the --target-n run's field
        self.floor_error = None
        self.blackhole = {}     # "silent" / "none" -> result
        self.notes = []
        self.warmups = []
        self.started_at = datetime.datetime.now().astimezone()
        self.load = os.getloadavg()

    def prepare(self):
        for path, what in ((self.args.daemon, "fieldwatchd (make)"),
                           (nginx_cameras.NGINX, "nginx"), (snmp_field.SNMPD, "snmpd"),
                           (bench.SNMPGET, "snmp")):
            if not path or not os.access(path, os.X_OK):
                raise BenchError("%s is missing: %s" % (what, path))
        if self.args.shared_floor and not os.access(self.args.shared_floor, os.X_OK):
            raise BenchError("the shared floor is missing: %s (`make bench-floor`)"
                             % self.args.shared_floor)
        shutil_copy(self.args.daemon, self.daemon)
        fwtest.DAEMON = self.daemon
        # The lab's credentials, and the two the sites use under one-letter names.
        self.creds = os.path.join(self.work, "credentials")
        os.makedirs(self.creds, mode=0o700)
        for name in os.listdir(bench.CREDENTIALS):
            shutil_copy(os.path.join(bench.CREDENTIALS, name), os.path.join(self.creds, name))
        for short, name in (("c", "snmp-community"), ("p", "camera")):
            shutil_copy(os.path.join(bench.CREDENTIALS, name), os.path.join(self.creds, short))
        for name in os.listdir(self.creds):
            os.chmod(os.path.join(self.creds, name), 0o600)
        self.nofile = bench.raise_nofile(SHARD + 1024)
        log("work directory %s; load average %.2f %.2f %.2f" % ((self.work,) + self.load))

    def close(self):
        self.procs.stop_all()
        if not self.args.keep:
            import shutil
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            log("kept %s" % self.work)

    def start_daemon(self, name, config, n):
        tmp = os.path.join(self.work, name)
        os.makedirs(tmp, exist_ok=True)
        d = fwtest.Daemon(tmp, config, credentials=self.creds)
        self.procs.adopt("fieldwatchd " + name, d.proc)
        try:
            d.messages("READY=1", timeout=60 + n / 50)
        except Exception as e:
            raise BenchError("fieldwatchd %s did not get ready (%s); see %s"
                             % (name, e, d.log_path))
        return d

    # -- point 4

    def groups(self):
        sizes = list(zip(self.args.sizes, self.args.intervals, self.args.windows))
        groups, cur, used = [], [], 0
        for n, iv, w in sizes:
            need = n + (n if n == self.args.target_n else 0)
            if cur and used + need > GROUP_MAX:
                groups.append(cur)
                cur, used = [], 0
            cur.append((n, iv, w))
            used += need
        if cur:
            groups.append(cur)
        return groups

    def run_scale(self):
        for group in self.groups():
            try:
                self.run_group(group)
            except (BenchError, snmp_field.FieldError, OSError,
                    subprocess.SubprocessError) as e:
                sizes = ", ".join("%d" % n for n, _, _ in group)
                log("N = %s could not be measured: %s: %s" % (sizes, type(e).__name__, e))
                self.notes.append("N = %s: not measured: %s" % (sizes, e))
            finally:
                self.procs.stop_all()
            self.save()

    def run_group(self, group):
        log("session: N = %s" % ", ".join("%d (every %g s)" % (n, iv) for n, iv, _ in group))
        ctl = os.path.join(os.path.dirname(self.args.daemon), "fieldwatchctl")
        plan, offset = [], 0   # (n, interval, window, field, [(role, config)])
        target_only = "scale" not in self.args.only.split(",")

        def add_target(n, offset):
            t = ScaleField("n%d-both" % n, n, offset, self.work, self.procs)
            config = os.path.join(self.work, "n%d-both.yaml" % n)
            daemon_config(config, t, "60s", "60s", "10m")
            plan.append((n, 60.0, self.args.target_window, t, [("both", config)]))
            return offset + n
        for n, iv, w in group:
            if target_only:
                if n == self.args.target_n:
                    offset = add_target(n, offset)
                continue
            f = ScaleField("n%d" % n, n, offset, self.work, self.procs)
            ivs = "%gs" % iv
            roles = []
            for role, cam, rou in (("camera", ivs, "1d"), ("router", "1d", ivs)):
                config = os.path.join(self.work, "n%d-%s.yaml" % (n, role))
                daemon_config(config, f, cam, rou, "1d")
                roles.append((role, config))
            refused = check_config(ctl, roles[0][1], self.creds)
            if refused:
                log("N=%d: fieldwatchd refuses the configuration: %s" % (n, refused))
                self.notes.append("N = %s: not measured: fieldwatchctl check-config refuses "
                                  "its configuration: `%s`" % (format(n, ","), refused))
                continue
            offset += n
            plan.append((n, iv, w, f, roles))
            if n == self.args.target_n:
                offset = add_target(n, offset)
        if not plan:
            return
        target_field = next((f for _, _, _, f, roles in plan if roles[0][0] == "both"), None)
        for _, _, _, f, _ in plan:
            f.up()
        runs = []   # (n, iv, w, field, {role: daemon})
        for n, iv, w, f, roles in plan:
            daemons = {role: self.start_daemon("n%d-%s" % (n, role), config, 2 * n)
                       for role, config in roles}
            runs.append((n, iv, w, f, daemons))
        started = time.monotonic()
        # A daily device's first probe, and every first deep cycle, fall due at a
        # random time in the first 5 minutes, and go out at the first cycle after
        # it: up to 5 minutes and an interval from the start.
        warmup = self.args.warmup
        if warmup is None:
            warmup = 300.0 + max(r[1] for r in runs) + 5.0
        self.warmups.append(warmup)
        log("all daemons ready; warm-up of %.0f s" % warmup)
        rest = warmup - (time.monotonic() - started)
        if rest > 0:
            time.sleep(rest)
        # Largest first, all runs of one size in one window; then their daemons
        # stop, so that the smaller sizes are measured with less going on beside.
        # The target's daemon is also read after its first --target-short
        # seconds (no deep cycle falls due then: the liveness probes alone);
        # each daemon stops as soon as its window is over.
        for size in sorted({r[0] for r in runs}, reverse=True):
            now = [r for r in runs if r[0] == size]
            states = [self.measure_begin(*r) for r in now]
            events = [(st["t0"] + st["w"], 1, st) for st in states]
            events += [(st["t0"] + self.args.target_short, 0, st) for st in states
                       if "both" in st["pids"] and st["w"] > self.args.target_short]
            for at, end, st in sorted(events, key=lambda e: (e[0], e[1])):
                rest = at - time.monotonic()
                if rest > 0:
                    time.sleep(rest)
                if not end:
                    st["short"] = self.sample(st)
                    continue
                self.measure_end(st)
                for d in st["daemons"].values():
                    d.stop()
        if target_field and self.args.shared_floor:
            try:
                self.run_floor(target_field)
            except (BenchError, OSError, subprocess.SubprocessError, KeyError,
                    ValueError) as e:
                log("the shared floor could not be measured: %s: %s" % (type(e).__name__, e))
                self.floor_error = "%s: %s" % (type(e).__name__, e)

    def run_floor(self, f):
        """The shared floor's `limit` over the target's field, every daemon
        stopped: its CPU per probe, back to back, against the same targets,
        from which the report computes what the floor would spend on the
        target daemon's probes. `limit http` keeps libcurl's resolver cache,
        which holds an entry per address and is walked whole at every
        request (fieldwatchd turns it off for addresses: issue 7): over all
        N cameras that walk is most of its cost, so the floor's figure is
        taken over the first --floor-n of them (as `make bench` does), and
        the one over all N is reported beside it."""
        sub = f.cameras[:self.args.floor_n]
        runs = [("camera", sub)] + ([("camera_all", f.cameras)] if len(sub) < f.n else [])
        runs.append(("router", f.routers))
        floor = {}
        for kind, addrs in runs:
            rounds = max(1, -(-self.args.floor_probes // len(addrs)))
            fields, rc = bench.run_limit(self.args.shared_floor, kind != "router", addrs,
                                         self.work, rounds, kind)
            mode = "snmp" if kind == "router" else "http"
            ok, probes = int(fields["ok"]), int(fields["probes"])
            cpu = float(fields["cpu_s"])
            floor[kind] = {"ok": ok, "probes": probes, "fail": int(fields["fail"]),
                           "rc": rc, "cpu": cpu, "targets": len(addrs), "rounds": rounds,
                           "inflight": int(fields.get("inflight",
                                                      bench.limit_inflight(len(addrs)))),
                           "per_probe": cpu / ok if ok else None}
            log("shared floor: limit %s over %d targets, %d of %d probes ok, %.3f s CPU per "
                "1,000" % (mode, len(addrs), ok, probes,
                           1000 * cpu / ok if ok else float("nan")))
        self.floor = floor

    def measure_begin(self, n, iv, w, f, daemons):
        for name, d in daemons.items():
            if d.proc.poll() is not None:
                raise BenchError("fieldwatchd %s exited; see %s" % (name, d.log_path))
        pids = {role: d.proc.pid for role, d in daemons.items()}
        st = {"n": n, "iv": iv, "w": w, "f": f, "pids": pids, "daemons": daemons,
              "ops0": collections.Counter(f.camera_ops()), "r0": f.router_count()}
        st["c0"] = {role: bench.cpu_seconds(pid) for role, pid in pids.items()}
        st["t0"] = time.monotonic()
        return st

    def sample(self, st):
        """The target daemon's CPU and the probes since the window began."""
        c = bench.cpu_seconds(st["pids"]["both"])
        ops = collections.Counter(st["f"].camera_ops()) - st["ops0"]
        return {"window": time.monotonic() - st["t0"],
                "cpu": bench.cpu_delta(st["c0"]["both"], c),
                "camera_probes": ops[(LIVE_OP, "200")], "deep_cycles": ops[(DEEP_OP, "200")],
                "camera_requests": sum(ops.values()),
                "router_probes": st["f"].router_count() - st["r0"]}

    def measure_end(self, st):
        n, iv, f, pids = st["n"], st["iv"], st["f"], st["pids"]
        c0 = st["c0"]
        c1 = {role: bench.cpu_seconds(pid) for role, pid in pids.items()}
        wall = time.monotonic() - st["t0"]
        ops1, r1 = collections.Counter(f.camera_ops()), f.router_count()
        ops = ops1 - st["ops0"]
        r0 = st["r0"]
        live = ops[(LIVE_OP, "200")]
        deep = ops[(DEEP_OP, "200")]
        bad = {"%s %s" % k: v for k, v in ops.items() if k[1] not in ("200", "401")}
        failed = sum(bad.values())
        routers = r1 - r0
        res = {"n": n, "interval": iv, "window": wall, "camera_probes": live,
               "deep_cycles": deep, "camera_failed": failed, "camera_failed_ops": bad,
               "camera_requests": sum(ops.values()), "router_probes": routers}
        for role, pid in pids.items():
            res[role] = {"cpu": bench.cpu_delta(c0[role], c1[role]),
                         "hwm_kib": vm_kib(pid, "VmHWM"), "rss_kib": vm_kib(pid, "VmRSS")}
        if "both" in pids:
            b = res["both"]
            b["core_percent"] = 100 * b["cpu"] / wall
            res["warmup"] = self.warmups[-1]
            if "short" in st:
                sh = st["short"]
                sh["core_percent"] = 100 * sh["cpu"] / sh["window"]
                res["short"] = sh
                log("N=%d both kinds, first %.0f s: %.2f %% of one core, %d camera (%d deep) "
                    "+ %d router probes" % (n, sh["window"], sh["core_percent"],
                                            sh["camera_probes"], sh["deep_cycles"],
                                            sh["router_probes"]))
            self.target = res
            log("N=%d both kinds every 60 s: %.2f %% of one core, VmHWM %.1f MiB, VmRSS "
                "%.1f MiB, %d camera (%d deep) + %d router probes"
                % (n, b["core_percent"], b["hwm_kib"] / MIB, b["rss_kib"] / MIB, live, deep,
                   routers))
            return
        res["camera"]["per_1000"] = res["camera"]["cpu"] / live * 1000 if live else None
        res["router"]["per_1000"] = res["router"]["cpu"] / routers * 1000 if routers else None
        self.rows.append(res)
        log("N=%d every %g s, %.0f s: camera %d probes (%d deep, failed %s), %.3f s CPU "
            "per 1,000; router %d probes, %.3f s per 1,000; VmHWM %.1f / %.1f MiB"
            % (n, iv, wall, live, deep, bad, res["camera"]["per_1000"] or 0, routers,
               res["router"]["per_1000"] or 0, res["camera"]["hwm_kib"] / MIB,
               res["router"]["hwm_kib"] / MIB))

    # -- point 3

    def run_blackholes(self):
        a = self.args
        n, iv = a.blackhole_n, a.blackhole_interval
        f = ScaleField("bh%d" % n, n, 0, self.work, self.procs, silent=True)
        try:
            f.up()
            for case in ("none", "silent"):
                self.blackhole[case] = self.run_blackhole(f, case == "silent", n, iv)
        except (BenchError, snmp_field.FieldError, OSError, subprocess.SubprocessError) as e:
            log("the silent-10 %% runs could not be measured: %s: %s" % (type(e).__name__, e))
            self.notes.append("silent 10 %%: not measured: %s" % e)
        finally:
            self.procs.stop_all()

    def run_blackhole(self, f, silent, n, iv):
        a = self.args
        case = "silent" if silent else "none"
        config = os.path.join(self.work, "bh-%s.yaml" % case)
        daemon_config(config, f, "%gs" % iv, "%gs" % iv, "1d")
        f.silence(False)
        d = None
        sniffer = None
        silenced_at = None
        try:
            d = self.start_daemon("bh-" + case, config, 2 * n)
            time.sleep(a.blackhole_warmup)
            sniffer = sniff.Sniffer(udp_port=bench.ROUTER_PORT, tcp_port=bench.CAMERA_PORT,
                                    tcp_syn=True)
            sniffer.start()
            ops0, r0 = collections.Counter(f.camera_ops()), f.router_count()
            c0 = bench.cpu_seconds(d.proc.pid)
            w0 = time.time()
            # The 10 % fall silent within the window: their timeouts, retries and
            # faults opening are in it, then the steady state with them silent.
            time.sleep(a.blackhole_silence_after)
            if silent:
                f.silence(True)
                silenced_at = time.time()
            time.sleep(max(0.0, a.blackhole_window - a.blackhole_silence_after))
            w1 = time.time()
            cpu = bench.cpu_delta(c0, bench.cpu_seconds(d.proc.pid))
            events = sniffer.stop()
            sniffer = None
            ops = collections.Counter(f.camera_ops()) - ops0
            routers = f.router_count() - r0
            rss = vm_kib(d.proc.pid, "VmHWM")
            not_up = bench.not_up(d, None)
        finally:
            if sniffer is not None:
                sniffer.stop()
            if d is not None:
                d.stop()
            f.silence(False)
        # Only this field's devices (others' tests on this machine may use the same
        # ports on other loopback addresses), and only the sites without a silent
        # device: the other device of such a site is re-probed at once when the
        # fault engine asks about it (monitor_reprobe), by design, which moves
        # its schedule. The same devices in both runs.
        touched = f.silent_cameras | f.frozen_routers
        answering_cams = {a_ for i, a_ in enumerate(f.cameras) if i not in touched}
        answering_routers = {a_ for i, a_ in enumerate(f.routers) if i not in touched}
        res = {"n": n, "interval": iv, "window": w1 - w0, "cpu": cpu, "hwm_kib": rss,
               "camera_probes": ops[(LIVE_OP, "200")], "router_probes": routers,
               "not_up": not_up, "silent": silent,
               "silenced_after": silenced_at - w0 if silenced_at else None}
        ref = silenced_at or w0
        for kind, mine in (("syn", answering_cams), ("udp", answering_routers)):
            starts = cycle_starts(events, kind, mine, iv)
            delays = []     # (ms, seconds after the silencing, device)
            for dst, ss in starts.items():
                ss = [x for x in ss if w0 + iv / 2 <= x <= w1 - 0.2]
                delays += [((b - a_ - iv) * 1000, b - ref, dst) for a_, b in zip(ss, ss[1:])]
            res[kind] = bench.lateness_summary([x[0] for x in delays])
            res[kind]["over_50ms"] = sum(1 for x in delays if x[0] > 50)
            res[kind]["worst"] = sorted(delays, reverse=True)[:5]
        log("silent 10 %%: %s; cameras %s; routers %s; not up %s"
            % (case, res["syn"], res["udp"], not_up))
        return res

    def run(self):
        only = set(self.args.only.split(","))
        if "blackhole" in only:
            self.run_blackholes()
            self.save()
        if "scale" in only or "target" in only:
            self.run_scale()

    def save(self):
        """The results so far into --results: a run cut short keeps them."""
        if not self.args.no_results:
            write_results(self.args.results, report(self))


def shutil_copy(src, dst):
    import shutil
    shutil.copy2(src, dst)


def cycle_starts(events, kind, include, interval):
    """{destination: [cycle start]} of the destinations in include: the first
    packet of each cycle, packets within half an interval of a cycle's first
    belonging to it."""
    out = {}
    for stamp, k, dst in sorted(events):
        if k != kind or dst not in include:
            continue
        s = out.setdefault(dst, [])
        if not s or stamp - s[-1] >= interval / 2:
            s.append(stamp)
    return out


# ---------------------------------------------------------------------------
# Report

def mib(kib):
    return "%.1f" % (kib / MIB)


def late(s):
    if not s or not s.get("n"):
        return "–"
    return "%.1f / %.1f / %.1f" % (s["p50"], s["p99"], s["max"])


def report(sc):
    a = sc.args
    m = bench.machine_description()
    md = ["## Issue 18: how the cost grows, and a silent 10 %% (%s)"
          % sc.started_at.strftime("%Y-%m-%d %H:%M %Z"), ""]
    md.append("Machine: %s, %d cores, %s, kernel %s, Debian %s (virtualization: %s); load "
              "average at the start %.2f, %.2f, %.2f (1, 5, 15 min; the machine is shared "
              "with other sessions building and testing). fieldwatch %s; nginx %s, "
              "net-snmp %s. `make bench-scale`%s."
              % (m["cpu"], m["cores"], m["memory"], m["kernel"], m["debian"],
                 m["virtualization"], sc.load[0], sc.load[1], sc.load[2], bench.git_describe(),
                 bench.package_version("nginx"), bench.package_version("libsnmp40"),
                 " BENCH_SCALE_ARGS='%s'" % a.argv if a.argv else ""))
    md.append("")
    if sc.rows or sc.target:
        md.append("*Method (point 4).* For each N, N cameras (nginx answering as a camera, a "
                  "fresh connection per request) and N routers (snmpd), and two fieldwatchd "
                  "started together, each configured with all N cameras and N routers: one "
                  "probes the cameras every interval (routers and deep checks daily), the "
                  "other the routers (cameras daily). Probes are counted by the targets (nginx's "
                  "log: GetSystemDateAndTime answered 200; snmpd's snmpInGetRequests); CPU is "
                  "the daemon's user + system time over a window of whole intervals that "
                  "starts %s s after the start, once the first probes and first deep cycles "
                  "of the daily kind (due over the first 5 minutes) are over. Peak RSS is "
                  "VmHWM (start and first cycles included), steady RSS VmRSS at the window's "
                  "end. Sizes that fit together (≤ %s addresses of each kind) ran in one "
                  "session: all daemons started together, then the windows, largest size "
                  "first (its runs in one window), each size's daemons stopped after its "
                  "window, the smaller sizes' probing on beside. Intervals: the probe rate "
                  "stays within what 2 cores shared with nginx, snmpd and other sessions "
                  "serve." % (" / ".join("%.0f" % w for w in sc.warmups) or "–",
                              format(GROUP_MAX, ",")))
        md.append("")
        md.append("| devices (cameras + routers) | interval | window | camera: CPU s per "
                  "1,000 probes (probes) | router: CPU s per 1,000 probes (probes) | % of "
                  "one core, camera / router daemon | RSS peak / steady, MiB (camera "
                  "daemon) | RSS peak / steady, MiB (router daemon) |")
        md.append("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for r in sorted(sc.rows, key=lambda r: r["n"]):
            c, t = r["camera"], r["router"]
            md.append("| %s + %s | %g s | %.0f s | %s (%d%s) | %s (%d) | %.2f / %.2f | %s / %s "
                      "| %s / %s |"
                      % (format(r["n"], ","), format(r["n"], ","), r["interval"], r["window"],
                         "%.3f" % c["per_1000"] if c["per_1000"] else "–", r["camera_probes"],
                         ", %d deep" % r["deep_cycles"] if r["deep_cycles"] else "",
                         "%.3f" % t["per_1000"] if t["per_1000"] else "–", r["router_probes"],
                         100 * c["cpu"] / r["window"], 100 * t["cpu"] / r["window"],
                         mib(c["hwm_kib"]), mib(c["rss_kib"]), mib(t["hwm_kib"]),
                         mib(t["rss_kib"])))
        md.append("")
        fails = ["N = %d: %d camera requests not answered 200 (%s)"
                 % (r["n"], r["camera_failed"], ", ".join(
                     "%s: %d" % kv for kv in sorted(r["camera_failed_ops"].items())))
                 for r in sc.rows if r["camera_failed"]]
        if fails:
            md.append("Failures in the windows: %s." % "; ".join(fails))
            md.append("")
    if sc.target:
        t = sc.target
        b = t["both"]
        ok_cpu, ok_rss = b["core_percent"] < 3, b["hwm_kib"] < 48 * MIB
        md.append("*%s cameras + %s routers, both every 60 s, deep checks every 10 min* (one "
                  "fieldwatchd with its own field, %s, measured "
                  "over %.0f s after %.0f s, %s): **%.2f %% of one core** (target < 3 %%: "
                  "**%s**), peak RSS **%s MiB**, steady %s MiB (target < 48 MiB: **%s**); %d "
                  "camera probes (%d deep cycles) and %d router probes in the window."
                  % (format(t["n"], ","), format(t["n"], ","),
                     "started with the others above" if sc.rows else "nothing else running",
                     t["window"], t["warmup"],
                     "one deep interval: every camera's deep cycle once, as a day's average "
                     "has them" if a.target_window >= 600 else "a deep cycle only for cameras "
                     "that fall due in it",
                     b["core_percent"], "met" if ok_cpu else "not met", mib(b["hwm_kib"]),
                     mib(b["rss_kib"]), "met" if ok_rss else "not met", t["camera_probes"],
                     t["deep_cycles"], t["router_probes"]))
        if t.get("short"):
            sh = t["short"]
            md.append("")
            md.append("The same daemon over the first %.0f s of that window (with the default "
                      "warm-up no deep cycle falls due in it: the first ones went out in the "
                      "first 5 minutes, the next are 10 minutes after them): **%.2f %% of one "
                      "core**%s (%d camera probes, %d deep cycles, %d router probes)."
                      % (sh["window"], sh["core_percent"],
                         " for the liveness probes alone" if not sh["deep_cycles"] else "",
                         sh["camera_probes"], sh["deep_cycles"], sh["router_probes"]))
        md.append("")
        md.extend(floor_report(sc))
    if sc.blackhole:
        md.append("*Method (point 3).* %d cameras and %d routers, one fieldwatchd probing both "
                  "every %g s (camera timeout 2 s, router 1 s with 1 retry, deep checks "
                  "daily), a %.0f s window after %.0f s. Silent: 10 %% of the cameras served "
                  "by an nginx of their own that is stopped (SIGSTOP: the kernel completes "
                  "the handshake, nothing answers) and 10 %% of the routers by a stopped "
                  "snmpd, %.0f s into the window, so that their timeouts, retries and faults "
                  "opening fall in it, then the steady state with them silent. A probe's "
                  "start is the kernel's timestamp of its first packet at the target (the "
                  "SYN to :18080, the datagram to :16161; AF_PACKET on lo); "
                  "fieldwatchd schedules a cycle an interval after the last one began, so "
                  "the delay is the spacing of a device's consecutive cycles less the "
                  "interval (packets within half an interval of a cycle's first are that "
                  "cycle's). The devices of the 80 %% of sites without a silent device, in "
                  "both runs (the other device of a site with a silent one is re-probed at "
                  "once when the fault engine asks about it, by design, which moves its "
                  "schedule). Delay in ms, p50 / p99 / max:"
                  % (a.blackhole_n, a.blackhole_n, a.blackhole_interval, a.blackhole_window,
                     a.blackhole_warmup, a.blackhole_silence_after))
        md.append("")
        md.append("| silent | cameras: delay (cycles) | routers: delay (cycles) | > 50 ms | "
                  "devices not up at the end |")
        md.append("| --- | ---: | ---: | ---: | --- |")
        for case in ("none", "silent"):
            r = sc.blackhole.get(case)
            if not r:
                continue
            md.append("| %s | %s (%d) | %s (%d) | %d + %d | %s |"
                      % ("nobody" if case == "none" else "10 % of each kind",
                         late(r["syn"]), r["syn"].get("n", 0), late(r["udp"]),
                         r["udp"].get("n", 0), r["syn"].get("over_50ms", 0),
                         r["udp"].get("over_50ms", 0),
                         ", ".join("%s %d" % kv for kv in sorted(r["not_up"].items()))
                         or "none"))
        md.append("")
        for case in ("none", "silent"):
            r = sc.blackhole.get(case)
            if not r:
                continue
            worst = sorted([(d, t, "camera" if k == "syn" else "router", dst)
                            for k in ("syn", "udp") for d, t, dst in r[k].get("worst", [])],
                           reverse=True)[:3]
            if worst:
                md.append("Largest delays, %s: %s." % (
                    "nobody silent (seconds from the window's start)" if case == "none" else
                    "10 % silent (seconds from the moment they fell silent)",
                    "; ".join("%.1f ms (%s %s, %+.1f s)" % (d, kind, dst, t)
                              for d, t, kind, dst in worst)))
        md.append("")
        s = sc.blackhole.get("silent")
        if s:
            worst = max((s[k]["max"] for k in ("syn", "udp") if s[k].get("n")), default=None)
            ok = worst is not None and worst <= 50 and s["syn"].get("n") and s["udp"].get("n")
            md.append("Target: a silent 10 %% delays no other probe by more than 50 ms: "
                      "**%s** (largest delay %s ms)."
                      % ("met" if ok else "not met",
                         "%.1f" % worst if worst is not None else "–"))
            md.append("")
    for note in sc.notes:
        md.append("- %s" % note)
    if sc.notes:
        md.append("")
    return "\n".join(md) + "\n"


def floor_percent(floor, res):
    """% of one core the shared floor would spend on res's requests: its CPU per
    probe (back to back) times the camera requests and router probes, over
    res's window; None without both figures."""
    cam, rou = floor.get("camera", {}).get("per_probe"), floor.get("router", {}).get("per_probe")
    if cam is None or rou is None or not res.get("window"):
        return None
    return 100 * (cam * res["camera_requests"] + rou * res["router_probes"]) / res["window"]


def floor_report(sc):
    """The target beside the shared floor's cost for the same requests."""
    fl, t = sc.floor, sc.target
    if not fl:
        why = (sc.floor_error or "no `limit` (`make bench-scale` builds it)")
        return ["(The shared floor was not measured: %s.)" % why, ""]

    def ms(kind):
        v = fl.get(kind)
        return "%.3f ms" % (1000 * v["per_probe"]) if v and v["per_probe"] else "–"

    def how(kind):
        v = fl.get(kind)
        if not v:
            return "not run"
        return "%s targets, %d rounds, %d in flight" % (format(v["targets"], ","), v["rounds"],
                                                        v["inflight"])
    failed = ["limit %s over %s targets: %d of %d probes failed (exit %d)"
              % ("snmp" if k == "router" else "http", format(v["targets"], ","), v["fail"],
                 v["probes"], v["rc"])
              for k, v in sorted(fl.items()) if v["fail"] or v["rc"]]
    text = ("*Beside the shared floor.* After the session's windows, every daemon stopped, the "
            "shared floor's `limit` (../shared/bench-floor: probes back to back, a fresh "
            "connection per camera probe, the answer not parsed) against the target's own "
            "field: `limit http` %s of CPU a camera probe (%s), `limit snmp` %s a router "
            "probe (%s)." % (ms("camera"), how("camera"), ms("router"), how("router")))
    if "camera_all" in fl:
        text += (" Over all %s cameras `limit http` costs %s a probe (%s): libcurl's resolver "
                 "cache holds an entry per address and is walked whole at every request, "
                 "which fieldwatchd turns off for addresses (issue 7), so that figure is not "
                 "the floor's." % (format(fl["camera_all"]["targets"], ","), ms("camera_all"),
                                  how("camera_all")))
    rows = [("over the whole window (deep cycles in it)", t, t["both"]["core_percent"])]
    if t.get("short"):
        rows.append(("over the first %.0f s" % t["short"]["window"], t["short"],
                     t["short"]["core_percent"]))
    parts = []
    for label, res, pct in rows:
        fp = floor_percent(fl, res)
        if fp:
            parts.append("%s, the floor **%.2f %%** of one core for the same %s camera "
                         "requests and %s router probes, fieldwatchd %.2f %%: **%.2f×** the "
                         "floor (< 3 %% would be %.2f×)"
                         % (label, fp, format(res["camera_requests"], ","),
                            format(res["router_probes"], ","), pct, pct / fp, 3 / fp))
    if parts:
        text += (" At the target daemon's rate (each request of a deep cycle counted as one "
                 "of `limit`'s probes): " + "; ".join(parts) + ".")
    if failed:
        text += " Failures: " + "; ".join(failed) + " (the figures are per probe answered)."
    return [text, ""]


BEGIN, END = "<!-- BEGIN ISSUE18-SCALE -->", "<!-- END ISSUE18-SCALE -->"


def write_results(path, section):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    block = "%s\n%s%s\n" % (BEGIN, section, END)
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END) + 1:]
    else:
        text = text.rstrip("\n") + "\n\n" + block
    bench.write_text_atomic(path, text)


def parse_args(argv):
    p = argparse.ArgumentParser(description="issue 18, points 3 and 4 (see the module doc)")
    p.add_argument("--sizes", default="100,1000,10000,20000,30000")
    p.add_argument("--intervals", default="5,5,60,60,60", help="seconds, one per size")
    p.add_argument("--windows", default="30,30,60,60,60", help="seconds, one per size "
                   "(whole intervals)")
    p.add_argument("--warmup", type=float, help="seconds from the daemons' start to the "
                   "first window; default 5 minutes + the session's longest interval + 5 s "
                   "(the daily kind's first probes and the first deep cycles fall due over "
                   "the first 5 minutes, and go out at the next cycle)")
    p.add_argument("--target-n", type=int, default=10000, help="the size at which a daemon "
                   "probes both kinds every 60 s (0: none)")
    p.add_argument("--target-window", type=float, default=600.0,
                   help="seconds; the default, one deep interval, holds every camera's deep "
                   "cycle once (the first ones fall in the warm-up)")
    p.add_argument("--target-short", type=float, default=60.0,
                   help="seconds: the target is also read after these, before the deep "
                   "cycles fall due")
    p.add_argument("--blackhole-n", type=int, default=1000)
    p.add_argument("--blackhole-interval", type=float, default=5.0)
    p.add_argument("--blackhole-window", type=float, default=60.0)
    p.add_argument("--blackhole-warmup", type=float, default=30.0)
    p.add_argument("--blackhole-silence-after", type=float, default=10.0,
                   help="seconds into the window at which the 10 %% fall silent")
    p.add_argument("--shared-floor", help="the shared floor's `limit` (../shared/bench-floor), "
                   "run over the --target-n field after its window; default "
                   "BUILD/bench-floor/limit when it exists (`make bench-scale` builds it)")
    p.add_argument("--floor-probes", type=int, default=30000, help="probes of each run of "
                   "`limit` over the target's field (as many rounds over its targets as make "
                   "at least these)")
    p.add_argument("--floor-n", type=int, default=1000, help="cameras of the target's field "
                   "that `limit http`'s figure is taken over (libcurl's resolver cache, "
                   "walked whole at every request, grows with them)")
    p.add_argument("--only", default="blackhole,scale", help="blackhole, scale, target "
                   "(the --target-n daemon and the floor alone, no other daemon beside)")
    p.add_argument("--shard", type=int, default=SHARD, help="addresses per nginx or snmpd "
                   "process (each holds a socket per address: RLIMIT_NOFILE)")
    p.add_argument("--build", default=os.path.join(bench.ROOT, "build"))
    p.add_argument("--daemon")
    p.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    p.add_argument("--no-results", action="store_true")
    p.add_argument("--keep", action="store_true")
    args = p.parse_args(argv)
    # What BENCH_SCALE_ARGS added to `make bench-scale`'s own options.
    rest = list(argv)
    for opt in ("--build", "--shared-floor"):   # make's own, in its order
        if rest[:1] == [opt] and len(rest) > 1:
            rest = rest[2:]
    args.argv = " ".join(rest)
    try:
        args.sizes = [int(x) for x in args.sizes.split(",")]
        args.intervals = [float(x) for x in args.intervals.split(",")]
        args.windows = [float(x) for x in args.windows.split(",")]
    except ValueError:
        p.error("--sizes, --intervals, --windows: comma-separated numbers")
    if not (len(args.sizes) == len(args.intervals) == len(args.windows)):
        p.error("--sizes, --intervals and --windows need as many values each")
    if any(not 10 <= n <= 60000 for n in args.sizes) or not 10 <= args.blackhole_n <= 20000:
        p.error("sizes must be 10 ... 60,000 (the blackhole's 10 ... 20,000)")
    if any(w < iv for w, iv in zip(args.windows, args.intervals)):
        p.error("a window must hold at least one interval")
    args.daemon = args.daemon or os.path.join(args.build, "fieldwatchd")
    if args.shared_floor is None:
        default = os.path.join(args.build, "bench-floor", "limit")
        args.shared_floor = default if os.access(default, os.X_OK) else None
    if args.floor_probes < 1 or args.floor_n < 2:
        p.error("--floor-probes: at least 1; --floor-n: at least 2 (`limit` keeps fewer "
                "probes in flight than targets)")
    return args


def main(argv=None):
    global SHARD
    args = parse_args(sys.argv[1:] if argv is None else argv)
    SHARD = args.shard
    if os.geteuid() != 0:
        log("note: not root: no packet timestamps (AF_PACKET on lo)")
    sc = Scale(args)

    def on_signal(sig, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_signal)
    started = time.monotonic()
    try:
        sc.prepare()
        sc.run()
    except (BenchError, snmp_field.FieldError, OSError, subprocess.SubprocessError) as e:
        log("cannot go on: %s: %s" % (type(e).__name__, e))
        sc.close()
        return 1
    except BaseException:
        log("interrupted; stopping everything")
        sc.close()
        raise
    sc.close()
    text = report(sc)
    print()
    print(text)
    log("done in %.0f s" % (time.monotonic() - started))
    if not args.no_results:
        write_results(args.results, text)
        log("written to %s" % os.path.relpath(args.results, os.getcwd()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
