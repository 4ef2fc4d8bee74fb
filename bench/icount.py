#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Instructions per probe, fieldwatchd against the shared floor's `limit`, under
valgrind's callgrind: a count that stays the same on a loaded machine, where CPU
seconds do not.

  /usr/bin/python3 bench/icount.py [--n 100] [--interval 5] [--window 30]
      [--kind camera|snmp|both] [--build build] [--shared-floor PATH] [--keep]

The field is bench.py's (nginx cameras, snmpd routers, on 127.20/8 and up).
- limit: run twice under callgrind, with R and 2R rounds; the difference of the
  two totals over the difference of the probes is its cost per probe, without
  its set-up.
- fieldwatchd: under callgrind with instrumentation off, the measured kind every
  --interval (the other daily); after the warm-up, `callgrind_control -i on`,
  --window seconds, a dump; instructions of the dump over the liveness probes
  the targets answered in that window (nginx's log, snmpd's counter). The
  dump (callgrind_annotate-able) is kept with --keep.
fieldwatchd runs 20-50 times slower under callgrind: keep N * (1 / interval)
small (the default, 100 devices every 5 s, is 20 probes/s), else the probes
come late and time out, which the verdict line says (devices not up).

Prints a line per kind: `ICOUNT kind=... fieldwatchd_ir_per_probe=... limit_ir_per_probe=...
ratio=...`. A benchmark: it reports, never gates.
"""

import argparse
import glob
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import bench  # noqa: E402
import fwtest  # noqa: E402

TOTALS = re.compile(rb"^(?:summary|totals):\s+(\d+)", re.M)


def total_ir(paths):
    n = 0
    for p in paths:
        with open(p, "rb") as f:
            m = TOTALS.findall(f.read())
        if m:
            n += int(m[-1])
    return n


def callgrind(out):
    return ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]


def limit_per_probe(b, kind, rounds):
    addrs, port, extra = ((b.field.cameras, bench.CAMERA_PORT, ["-b", b.body])
                          if kind == "camera" else (b.field.routers, bench.ROUTER_PORT, []))
    targets = os.path.join(b.work, "icount-%s.txt" % kind)
    with open(targets, "w") as f:
        f.writelines(a + "\n" for a in addrs)
    got = []
    for r in (rounds, 2 * rounds):
        out = os.path.join(b.work, "limit-%s-%d.callgrind" % (kind, r))
        argv = callgrind(out) + [b.args.shared_floor, "http" if kind == "camera" else "snmp",
                                 "-n", str(bench.limit_inflight(b.n)), "-r", str(r),
                                 "-p", str(port), "-T", "600", *extra, targets]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=900,
                           env=dict(os.environ, MIBS=""))
        m = bench.RESULT_RE.search(p.stdout)
        if not m:
            raise bench.BenchError("limit under callgrind: %s" % p.stderr[-400:])
        fields = dict(kv.split("=", 1) for kv in m.group(1).split())
        got.append((int(fields["ok"]), total_ir([out])))
    (p1, i1), (p2, i2) = got
    return (i2 - i1) / max(1, p2 - p1), got


def fieldwatchd_per_probe(b, kind):
    out = os.path.join(b.work, "fw-%s.callgrind" % kind)
    iv = "%gs" % b.interval
    config = os.path.join(b.work, "fw-icount-%s.yaml" % kind)
    timeouts = {"camera_timeout": "%dms" % b.camera_timeout_ms,
                "router_timeout": "%dms" % b.router_timeout_ms}
    if kind == "camera":
        bench.fieldwatch_config(config, b.field, iv, "1d", "1d", **timeouts)
    else:
        bench.fieldwatch_config(config, b.field, "1d", iv, "1d", **timeouts)
    tmp = os.path.join(b.work, "fw-icount-%s" % kind)
    os.makedirs(tmp, exist_ok=True)
    d = fwtest.Daemon(tmp, config, credentials=bench.CREDENTIALS,
                      wrapper=callgrind(out) + ["--instr-atstart=no"])
    b.procs.adopt("fieldwatchd under callgrind", d.proc)
    try:
        d.messages("READY=1", timeout=120 + b.n)
        time.sleep(b.fieldwatch_warmup() + b.interval)
        counter = b.camera_counter if kind == "camera" else b.router_counter
        subprocess.run(["callgrind_control", "-i", "on", str(d.proc.pid)],
                       capture_output=True, timeout=60, check=True)
        c0 = counter()
        time.sleep(b.window)
        c1 = counter()
        subprocess.run(["callgrind_control", "-d", str(d.proc.pid)],
                       capture_output=True, timeout=120, check=True)
        probes = bench._delta(c0, c1)
        if isinstance(probes, tuple):
            probes = probes[0]
        not_up = bench.not_up(d, kind)
    finally:
        d.stop()
    dumps = [p for p in glob.glob(out + "*") if p != out]
    ir = total_ir(dumps)
    return ir / max(1, probes), probes, ir, not_up, dumps


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--interval", type=float, default=5.0)
    p.add_argument("--window", type=float, default=30.0)
    p.add_argument("--kind", choices=("camera", "snmp", "both"), default="both")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--build", default=os.path.join(bench.ROOT, "build"))
    p.add_argument("--shared-floor")
    p.add_argument("--cameras", choices=("nginx", "sim"), default="nginx")
    p.add_argument("--keep", action="store_true")
    a = p.parse_args(argv)
    args = bench.parse_args(["--n", str(a.n), "--interval", str(a.interval), "--window",
                             str(a.window), "--build", a.build, "--only", "fieldwatch,limit",
                             "--cameras", a.cameras, "--no-steady"]
                            + (["--shared-floor", a.shared_floor] if a.shared_floor else [])
                            + (["--keep"] if a.keep else []))
    if not args.shared_floor:
        print("the shared floor's limit is missing: make bench-floor", file=sys.stderr)
        return 1
    b = bench.Bench(args)
    b.body = os.path.join(b.work, "soap-request.xml")
    with open(b.body, "w") as f:
        f.write(bench.SOAP_TIME_REQUEST)
    try:
        b.prepare()
        for kind in (("camera", "snmp") if a.kind == "both" else (a.kind,)):
            lim, runs = limit_per_probe(b, kind, a.rounds)
            fw, probes, ir, not_up, dumps = fieldwatchd_per_probe(b, kind)
            print("ICOUNT kind=%s n=%d interval=%g window=%g fieldwatchd_ir_per_probe=%.0f "
                  "fieldwatchd_probes=%d fieldwatchd_ir=%d limit_ir_per_probe=%.0f "
                  "limit_runs=%s ratio=%.2f not_up=%s dumps=%s"
                  % (kind, a.n, a.interval, a.window, fw, probes, ir, lim,
                     ",".join("%d:%d" % r for r in runs), fw / lim if lim else 0,
                     "none" if not not_up else str(not_up).replace(" ", ""),
                     ",".join(dumps)), flush=True)
    except (bench.BenchError, OSError, subprocess.SubprocessError) as e:
        print("cannot go on: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 1
    finally:
        b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
