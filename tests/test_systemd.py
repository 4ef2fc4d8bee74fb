#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""fieldwatch under a real systemd (issue 12, part 5).

systemd 252 boots as PID 1 in its own namespaces (unshare --fork --pid
--mount --cgroup --uts --ipc --net), its root an overlay of / with a tmpfs
upper layer (so nothing it does reaches the machine), cgroup2 mounted from a
child of the machine's unified hierarchy, /sys and /proc/sys read-only, the
root made rshared after pivot_root (LoadCredential= needs mount propagation)
and a pty from script(1) as its console. fieldwatch is installed into the
overlay with `make install DESTDIR=`; the simulated field and the SMTP sink
run inside as transient units (systemd-run). The test drives the booted
system through nsenter.

Checked: the unit is active after READY=1; the devices come up; a fault is
in `journalctl -u fieldwatch` with its catalog text; `systemctl reload`; no
watchdog restart in 45 s; two operators act through the control socket and
are recorded with their own uids; `systemctl stop` is clean; a reader in
group fieldwatch reads `faults` after the stop; the configuration names no
SMTP password and no such credential exists (LoadCredential= of the
directory requires none); `systemd-analyze security` rates the unit <= 2.0.

Root only (mounts, namespaces); skipped otherwise, or when the kernel refuses
the namespaces or the overlay (said so).

Run from the repository root:
  FW_LAB_NET=8 BUILD=build /usr/bin/python3 tests/test_systemd.py
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fwtest  # noqa: E402

UNIFIED = "/sys/fs/cgroup/unified"
PREFIX = "/usr/local"
SMTP_PORT = 2525

INNER = r"""
set -eu
T="$1"
mount --make-rprivate /
mount -t tmpfs -o size=512m,mode=755 tmpfs "$T/t"
mkdir -p "$T/t/upper" "$T/t/work" "$T/t/root"
cp -a "$T/stage/." "$T/t/upper/"
N="$T/t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$T/t/upper,workdir=$T/t/work" "$N"
mount -t proc proc "$N/proc"
mount --bind "$N/proc/sys" "$N/proc/sys"
mount -o remount,bind,ro "$N/proc/sys"
mount -t sysfs -o ro sysfs "$N/sys"
mount -t cgroup2 cgroup2 "$N/sys/fs/cgroup"
mount -t tmpfs -o mode=755 tmpfs "$N/dev"
for d in null zero full random urandom tty; do
    touch "$N/dev/$d"
    mount --bind "/dev/$d" "$N/dev/$d"
done
mkdir -p "$N/dev/pts" "$N/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$N/dev/pts"
ln -s pts/ptmx "$N/dev/ptmx"
touch "$N/dev/console"
mount --bind "$(tty)" "$N/dev/console"
mount -t tmpfs -o mode=755 tmpfs "$N/run"
mount -t tmpfs -o mode=1777 tmpfs "$N/tmp"
cd "$N"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot
mount --make-rshared /
exec env -i container=fieldwatch-test TERM=dumb /lib/systemd/systemd --unit=fwtest.target
"""

TARGET = """[Unit]
Description=fieldwatch test boot
Requires=sysinit.target sockets.target
After=sysinit.target sockets.target
AllowIsolate=yes
"""


def can_run():
    if os.geteuid() != 0:
        return "not root"
    for tool in ("unshare", "nsenter", "script", "setpriv"):
        if not shutil.which(tool):
            return f"{tool} missing"
    if not os.path.exists("/lib/systemd/systemd"):
        return "no /lib/systemd/systemd"
    if not os.path.exists(os.path.join(UNIFIED, "cgroup.procs")):
        if not os.path.exists("/sys/fs/cgroup/cgroup.procs"):
            return "no cgroup2 hierarchy"
    # The kernel's word: the namespaces and an overlay of / with a tmpfs upper layer.
    probe = ("set -e; mount --make-rprivate /; mount -t tmpfs tmpfs /mnt; "
             "mkdir /mnt/u /mnt/w /mnt/r; "
             "mount -t overlay overlay -o lowerdir=/,upperdir=/mnt/u,workdir=/mnt/w /mnt/r; "
             "test -x /mnt/r/lib/systemd/systemd")
    try:
        r = subprocess.run(["unshare", "--fork", "--pid", "--mount", "--cgroup", "--uts",
                            "--ipc", "--net", "/bin/sh", "-c", probe],
                           capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "the namespace probe did not finish in 30 s"
    if r.returncode != 0:
        return "the kernel refuses the namespaces or an overlay of /: " + r.stderr.strip()
    return None


def cgroup2_root():
    return UNIFIED if os.path.exists(os.path.join(UNIFIED, "cgroup.procs")) else "/sys/fs/cgroup"


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            with open(f"/proc/{p}/task/{p}/children") as f:
                kids = [int(x) for x in f.read().split()]
        except OSError:
            kids = []
        out += kids
        todo += kids
    return out


def ns_pid1(pid):
    """The descendant of pid that is PID 1 of its own namespace."""
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("NSpid:"):
                        ids = line.split()[1:]
                        if len(ids) == 2 and ids[1] == "1":
                            return p
        except OSError:
            pass
    return None


SKIP = can_run()
if SKIP:
    print(f"test_systemd: SKIPPED: {SKIP}", file=sys.stderr)


@unittest.skipIf(SKIP, f"cannot boot systemd here: {SKIP}")
class UnderSystemd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="fieldwatch-systemd-")
        cls.proc = None
        cls.pid1 = None
        cls.cgroup = os.path.join(cgroup2_root(), f"fieldwatch-test-{os.getpid()}")
        try:
            cls.stage()
            cls.boot()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def stage(cls):
        stage = os.path.join(cls.tmp, "stage")
        os.makedirs(os.path.join(cls.tmp, "t"))
        # The binaries as built (make check SANITIZE=1 tests the sanitized ones).
        with open(os.path.join(fwtest.BUILD, "fieldwatchd"), "rb") as f:
            sanitized = b"__asan_init" in f.read()
        r = subprocess.run(["make", "--no-print-directory", "install", f"DESTDIR={stage}",
                            f"BUILD={os.path.relpath(fwtest.BUILD, fwtest.ROOT)}",
                            f"SANITIZE={1 if sanitized else ''}"],
                           cwd=fwtest.ROOT, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        etc = os.path.join(stage, "etc")

        def edit(data):
            fwtest.fast_probes(data)
            data["notify"]["smtp"]["url"] = f"smtp://127.0.0.1:{SMTP_PORT}"
        config = os.path.join(etc, "fieldwatch", "fieldwatch.yaml")
        fwtest.lab_config(config, edit)
        os.chmod(config, 0o644)
        creds = os.path.join(etc, "fieldwatch", "credentials")
        fwtest.private_credentials(creds)
        os.chmod(creds, 0o700)
        # The lab names no SMTP password: no such file may be needed.
        assert not os.path.exists(os.path.join(creds, "smtp"))
        os.makedirs(os.path.join(etc, "systemd", "system"), exist_ok=True)
        if sanitized:
            # make check SANITIZE=1: LeakSanitizer stops the world with ptrace(2),
            # which the unit's SystemCallFilter= refuses (so it would fail every
            # exit). ASan and UBSan stay on; the leak checks are the other suites'.
            # A drop-in of the test's own, in the overlay: the unit stays as shipped.
            dropin = os.path.join(etc, "systemd", "system", "fieldwatch.service.d")
            os.makedirs(dropin)
            with open(os.path.join(dropin, "sanitize.conf"), "w") as f:
                f.write("[Service]\nEnvironment=ASAN_OPTIONS=detect_leaks=0\n")
        with open(os.path.join(etc, "systemd", "system", "fwtest.target"), "w") as f:
            f.write(TARGET)
        with open(os.path.join(cls.tmp, "inner.sh"), "w") as f:
            f.write(INNER)

    @classmethod
    def boot(cls):
        os.mkdir(cls.cgroup)
        inner = os.path.join(cls.tmp, "inner.sh")
        # Into the child cgroup first: the new cgroup namespace is rooted there.
        cmd = (f"echo $$ > {cls.cgroup}/cgroup.procs && exec unshare --fork --pid --mount "
               f"--cgroup --uts --ipc --net /bin/sh {inner} {cls.tmp}")
        cls.console = open(os.path.join(cls.tmp, "console.log"), "wb")
        booting = time.monotonic()
        cls.proc = subprocess.Popen(["script", "-qfec", cmd, "/dev/null"],
                                    stdin=subprocess.DEVNULL, stdout=cls.console,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if cls.proc.poll() is not None:
                raise AssertionError("the namespace ended: " + cls.console_text())
            cls.pid1 = ns_pid1(cls.proc.pid)
            if cls.pid1 and os.readlink(f"/proc/{cls.pid1}/exe").endswith("systemd"):
                break
            time.sleep(0.1)
        else:
            raise AssertionError("systemd did not start: " + cls.console_text())
        # Its private socket comes first, then systemctl can ask.
        fwtest.wait_for(lambda: cls.run_in("test", "-S", "/run/systemd/private",
                                           check=False).returncode == 0,
                        30, what="/run/systemd/private")
        r = cls.run_in("systemctl", "is-system-running", "--wait", timeout=60, check=False)
        state = r.stdout.strip()
        if state not in ("running", "degraded"):
            raise AssertionError(f"system {state!r}: {r.stderr}\n" + cls.console_text())
        cls.booted = state
        # About half a second on an idle machine; generous for a loaded one.
        cls.boot_seconds = time.monotonic() - booting
        print(f"\nsystemd booted ({state}) in {cls.boot_seconds:.2f} s", file=sys.stderr)
        assert cls.boot_seconds < 30, cls.boot_seconds

    @classmethod
    def console_text(cls):
        try:
            with open(os.path.join(cls.tmp, "console.log"), "rb") as f:
                return f.read()[-3000:].decode("utf-8", "replace")
        except OSError:
            return ""

    @classmethod
    def tearDownClass(cls):
        try:
            if cls.pid1:
                try:
                    os.kill(cls.pid1, signal.SIGKILL)  # the namespace ends with its PID 1
                except ProcessLookupError:
                    pass
            if cls.proc:
                try:
                    cls.proc.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(cls.proc.pid, signal.SIGKILL)
                    cls.proc.wait(10)
                cls.console.close()
        finally:
            # The cgroups systemd made, deepest first (empty once PID 1 is gone).
            if os.path.isdir(cls.cgroup):
                for _ in range(50):
                    dirs = sorted((d for d, _, _ in os.walk(cls.cgroup)), key=len, reverse=True)
                    for d in dirs:
                        try:
                            os.rmdir(d)
                        except OSError:
                            pass
                    if not os.path.isdir(cls.cgroup):
                        break
                    time.sleep(0.1)
            if not os.environ.get("KEEP_TEST_DIRS"):
                shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def run_in(cls, *argv, timeout=30, check=True, user=None, input=None):
        if user:
            argv = ("setpriv", f"--reuid={user}", f"--regid={user}", "--init-groups", *argv)
        r = subprocess.run(["nsenter", "-t", str(cls.pid1), "-m", "-u", "-i", "-n", "-p", "-C",
                            "-r", "-w", "env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:"
                            "/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8", *argv],
                           capture_output=True, text=True, timeout=timeout, input=input)
        if check:
            assert r.returncode == 0, f"{argv}: {r.returncode}\n{r.stdout}\n{r.stderr}"
        return r

    def journal(self):
        return self.run_in("journalctl", "-u", "fieldwatch", "--no-pager", "-n", "40",
                           check=False).stdout

    def prop(self, unit, name):
        return self.run_in("systemctl", "show", "-P", name, unit).stdout.strip()

    def test_fieldwatch_under_systemd(self):
        # Users and directories as the package's postinst would make them.
        self.run_in("systemd-sysusers")
        self.run_in("systemd-tmpfiles", "--create")
        self.run_in("journalctl", "--update-catalog")
        for login, groups in (("alice", "fieldwatch-ops,fieldwatch"),
                              ("bob", "fieldwatch-ops,fieldwatch"), ("carol", "fieldwatch")):
            self.run_in("useradd", "--no-create-home", "--user-group", "--groups", groups, login)
        st = self.run_in("stat", "-c", "%U:%G %a", "/var/lib/fieldwatch").stdout.split()
        self.assertEqual(st, ["fieldwatch:fieldwatch", "750"])

        # The field and the SMTP sink, as transient units.
        sim = os.path.join(fwtest.ROOT, "tests", "sim", "field.py")
        self.run_in("systemd-run", "--unit=fw-field", "-p", "Type=oneshot", "-p",
                    "RemainAfterExit=yes", "/usr/bin/python3", sim, "up", "--config",
                    "/etc/fieldwatch/fieldwatch.yaml", "--credentials",
                    "/etc/fieldwatch/credentials", "--run-dir", "/run/fw-field", timeout=120)
        self.run_in("systemd-run", "--unit=fw-smtp", "/usr/bin/python3",
                    os.path.join(fwtest.ROOT, "tests", "smtp_server.py"), "--port",
                    str(SMTP_PORT), "--mailbox", "/run/fw-mailbox", "--ready", "/run/fw-smtp")

        fwtest.wait_for(lambda: self.run_in("test", "-e", "/run/fw-smtp",
                                            check=False).returncode == 0,
                        30, what="the SMTP sink ready")

        # Start: systemctl returns once READY=1 came.
        started = time.monotonic()
        r = self.run_in("systemctl", "start", "fieldwatch", timeout=60, check=False)
        self.assertEqual(r.returncode, 0, r.stderr + self.journal())
        self.assertEqual(self.prop("fieldwatch", "ActiveState"), "active")
        self.assertEqual(self.prop("fieldwatch", "SubState"), "running")
        self.assertEqual(self.prop("fieldwatch", "User"), "fieldwatch")
        print(f"fieldwatch active after READY=1 in {time.monotonic() - started:.2f} s",
              file=sys.stderr)
        # The directories and the socket with their owners from the first start.
        for path, want in (("/var/lib/fieldwatch", "fieldwatch:fieldwatch 750"),
                           ("/run/fieldwatch", "fieldwatch:fieldwatch 755"),
                           ("/run/fieldwatch/control", "fieldwatch:fieldwatch-ops 660")):
            got = self.run_in("stat", "-c", "%U:%G %a", path).stdout.strip()
            self.assertEqual(got, want, path)

        def status():
            r = self.run_in("fieldwatchctl", "status", "--json", check=False)
            return json.loads(r.stdout) if r.returncode == 0 else []
        fwtest.wait_for(lambda: len(status()) == 55 and all(d["state"] == "up"
                                                            for d in status()),
                        30, what="55 devices up under systemd")

        # A fault, in the unit's journal with its catalog text.
        self.run_in("/usr/bin/python3", sim, "set", "--run-dir", "/run/fw-field", "camera",
                    "05", "fault=down")

        def fault_entry():
            r = self.run_in("journalctl", "-u", "fieldwatch", "-o", "json", "--no-pager",
                            check=False)
            for line in r.stdout.splitlines():
                e = json.loads(line)
                if e.get("FIELDWATCH_EVENT") == "fault_raised" and \
                        e.get("FIELDWATCH_DEVICE") == "05-camera":
                    return e
            return None
        e = fwtest.wait_for(fault_entry, 30, what="fault_raised of 05-camera in the journal")
        self.assertIn("MESSAGE_ID", e)
        x = self.run_in("journalctl", "-u", "fieldwatch", "-x", "--no-pager",
                        f"MESSAGE_ID={e['MESSAGE_ID']}").stdout
        # The catalog's text, installed by make install, beneath the entry.
        self.assertIn("░░ Subject: Fault ", x, x[-2000:])
        self.assertIn("░░ What to do: acknowledge the fault", x)

        # Its mail, out through the sandbox to the sink.
        def mails():
            r = self.run_in("cat", "/run/fw-mailbox", check=False)
            return [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
        mail = fwtest.wait_for(lambda: [m for m in mails() if m.get("status") == "accepted"],
                               30, what="the fault's mail at the sink")[0]
        self.assertIn("05", mail["subject"])
        self.assertEqual(mail["rcpt_tos"], ["oncall@lab.invalid"])
        self.assertNotIn("lab-camera-secret", json.dumps(mails()))

        # Two operators, each recorded with their own uid.
        for login in ("alice", "bob"):
            r = self.run_in("fieldwatchctl", "work", "add", "--start", "2026-01-05T10:00",
                            "--end", "2026-01-05T11:00", "--by", login, "--title",
                            f"by {login}", "--content", "c", user=login, check=False)
            self.assertEqual(r.returncode, 0, r.stderr)
        uid = {u: self.run_in("id", "-u", u).stdout.strip() for u in ("alice", "bob")}
        text = self.run_in("sqlite3", "file:/var/lib/fieldwatch/fieldwatch.db?mode=ro",
                           "SELECT by_name || ' ' || os_user FROM events "
                           "WHERE type = 'work_recorded'").stdout
        for u in ("alice", "bob"):
            self.assertIn(f"{u} {u} (uid {uid[u]})", text)
        # A reader alone (carol) may not act.
        r = self.run_in("fieldwatchctl", "work", "add", "--start", "2026-01-05T10:00",
                        "--end", "2026-01-05T11:00", "--by", "carol", "--title", "t",
                        "--content", "c", user="carol", check=False)
        self.assertNotEqual(r.returncode, 0)

        # Reload.
        self.run_in("systemctl", "reload", "fieldwatch", timeout=60)
        self.assertEqual(self.prop("fieldwatch", "ActiveState"), "active")

        # No watchdog restart for 45 s (WatchdogSec=30s).
        left = 45 - (time.monotonic() - started)
        if left > 0:
            time.sleep(left)
        self.assertEqual(self.prop("fieldwatch", "NRestarts"), "0")
        self.assertEqual(self.prop("fieldwatch", "ActiveState"), "active")
        self.assertEqual(self.prop("fieldwatch", "Result"), "success")

        # The sandbox's exposure.
        sec = self.run_in("systemd-analyze", "security", "--no-pager", "fieldwatch.service",
                          check=False).stdout
        m = re.search(r"Overall exposure level for fieldwatch\.service: (\d+\.\d+)", sec)
        self.assertTrue(m, sec[-1000:])
        self.assertLessEqual(float(m.group(1)), 2.0, sec[-3000:])
        print(f"\nsystemd-analyze security: {m.group(0)}", file=sys.stderr)

        # Stop, then a reader reads the stopped daemon's state.
        stopping = time.monotonic()
        self.run_in("systemctl", "stop", "fieldwatch", timeout=30)
        self.assertLess(time.monotonic() - stopping, 10)  # TimeoutStopSec: no SIGKILL
        self.assertEqual(self.prop("fieldwatch", "ActiveState"), "inactive")
        self.assertEqual(self.prop("fieldwatch", "Result"), "success")
        r = self.run_in("fieldwatchctl", "faults", "--json", user="carol", check=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("05-camera", r.stdout)


if __name__ == "__main__":
    unittest.main(verbosity=2)
