#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""One fieldwatchd against a field of N nginx cameras and N snmpd routers
(bench/scale.py's), its CPU and RSS every 10 s: the quick look at memory and
cost per site that issue 18's RSS figures come from, and the way to run the
daemon under a profiler (--wrap "valgrind --tool=massif ...").

  /usr/bin/python3 bench/fieldrun.py [--n 10000] [--t 90] [--ci 60s] [--ri 60s]
      [--di 10m] [--wrap "CMD ..."] [--env NAME=VALUE ...] [--offset K]
      [--daemon build/fieldwatchd]

--offset K puts the field at addresses K ... K + N - 1, so that two runs (with
different --env, say) can compare side by side.

Prints `t=SECONDS cpu=S rss=KIB hwm=KIB` lines from READY on, then the user and
system CPU and what the targets counted. A benchmark: it reports, never gates.
Every process it starts is stopped at the end.
"""
import argparse
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import scale  # noqa: E402  (it imports bench.py, which sets up the paths to tests/)
import fwtest  # noqa: E402


def cpu_times(pid):
    s = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    tck = os.sysconf("SC_CLK_TCK")
    return int(s[11]) / tck, int(s[12]) / tck


def print_smaps(pid):
    """The RSS at the end by mapping (summed per file; [heap], anonymous), largest first,
    and smaps_rollup's split into anonymous and file-backed pages."""
    by, name = {}, None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts[0].endswith(":"):
                name = parts[5] if len(parts) > 5 else "[anonymous]"
            elif parts[0] == "Rss:":
                by[name] = by.get(name, 0) + int(parts[1])
    for name, kib in sorted(by.items(), key=lambda kv: -kv[1])[:25]:
        print("  %8d KiB  %s" % (kib, name))
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.split(":")[0] in ("Rss", "Pss", "Anonymous", "Pss_Anon", "Pss_File",
                                      "Private_Dirty", "Shared_Clean", "Private_Clean"):
                print("  " + line.strip())


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, default=10000)
    p.add_argument("--t", type=float, default=90, help="seconds measured after READY")
    p.add_argument("--ci", default="60s", help="the cameras' interval")
    p.add_argument("--ri", default="60s", help="the routers' interval")
    p.add_argument("--di", default="10m", help="the deep checks' interval")
    p.add_argument("--wrap", default="", help="a command to run the daemon under")
    p.add_argument("--env", action="append", default=[], help="NAME=VALUE for the daemon")
    p.add_argument("--offset", type=int, default=0, help="the field's first address index")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    p.add_argument("--smaps", action="store_true",
                   help="at the end, where the RSS is: anonymous or file-backed, by mapping")
    p.add_argument("--real-names", action="store_true",
                   help="sites named like real ones (a street address, \"admin\", the "
                        "credentials' full names), not with the shortest strings")
    p.add_argument("--daemon", default=os.path.join(HERE, "..", "build", "fieldwatchd"))
    a = p.parse_args()
    sc = scale.Scale(argparse.Namespace(daemon=os.path.abspath(a.daemon), keep=a.keep,
                                        shared_floor=None))

    def on_signal(sig, frame):
        a.signal = sig
        raise KeyboardInterrupt   # the field and the daemon are stopped on the way out
    a.signal = signal.SIGINT
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)   # ignored in a background job otherwise
    try:
        sc.prepare()
        f = scale.ScaleField("f", a.n, a.offset, sc.work, sc.procs)
        f.up()
        cfg = scale.daemon_config(os.path.join(sc.work, "fw.yaml"), f, a.ci, a.ri, a.di,
                                  real_names=a.real_names)
        tmp = os.path.join(sc.work, "d")
        os.makedirs(tmp)
        d = fwtest.Daemon(tmp, cfg, credentials=sc.creds,
                          wrapper=a.wrap.split() if a.wrap else (),
                          env=dict(e.split("=", 1) for e in a.env))
        sc.procs.adopt("fieldwatchd", d.proc)
        d.messages("READY=1", timeout=600)
        pid = d.proc.pid
        t0, c0 = time.monotonic(), sum(cpu_times(pid))
        while time.monotonic() - t0 < a.t:
            time.sleep(min(10.0, max(0.0, a.t - (time.monotonic() - t0))))
            print("t=%4.0f cpu=%.2f rss=%s hwm=%s" % (
                time.monotonic() - t0, sum(cpu_times(pid)) - c0,
                scale.vm_kib(pid, "VmRSS"), scale.vm_kib(pid, "VmHWM")), flush=True)
        print("user/sys since start: %.2f %.2f" % cpu_times(pid))
        if a.smaps:
            print_smaps(pid)
        print("camera operations:", dict(f.camera_ops()))
        print("router GETs:", f.router_count())
        os.kill(pid, signal.SIGTERM)
        d.proc.wait(60)
        return 0
    except scale.BenchError as e:
        print("fieldrun: cannot go on: %s" % e, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fieldrun: stopped", file=sys.stderr)
        return 128 + a.signal
    finally:
        # A second signal must not cut the clean-up short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sc.close()


if __name__ == "__main__":
    sys.exit(main())
