# SPDX-License-Identifier: MIT
"""Shared helpers of the black-box tests: the built programs, a daemon under
test with a notify socket of its own, bounded waits, and test configurations
derived from config/lab.yaml."""

import atexit
import json
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
DAEMON = os.path.join(BUILD, "fieldwatchd")
CTL = os.path.join(BUILD, "fieldwatchctl")
LAB_SOURCE = os.path.join(ROOT, "config", "lab.yaml")
# The test secrets as checked in (git keeps them 0644, which fieldwatchd
# refuses for a credential outside $CREDENTIALS_DIRECTORY) ...
CREDENTIALS_SOURCE = os.path.join(ROOT, "tests", "credentials")


def private_credentials(path, source=CREDENTIALS_SOURCE):
    """A copy of the test secrets as an administrator keeps them: a 0700
    directory of 0600 files, owned by whoever runs the test. Returns path."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    for name in sorted(os.listdir(source)):
        dest = os.path.join(path, name)
        with open(os.path.join(source, name), "rb") as f:
            data = f.read()
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(dest, 0o600)
    return path


def _credentials_dir():
    import shutil
    tmp = tempfile.mkdtemp(prefix="fieldwatch-credentials-")
    atexit.register(shutil.rmtree, tmp, True)
    return private_credentials(os.path.join(tmp, "credentials"))


# ... and the copy the tests hand to fieldwatchd (and the simulated field).
CREDENTIALS = _credentials_dir()

# FW_LAB_NET=N (1-19) moves the lab's field from 127.0.{1,2,3}.x to 127.N.{1,2,3}.x,
# so that two suites can run at once (make check -j, or two engineers). 0: as shipped.
LAB_NET = int(os.environ.get("FW_LAB_NET", "0"))
if not 0 <= LAB_NET <= 19:
    raise SystemExit(f"FW_LAB_NET={LAB_NET}: wanted 0-19 (127.20/8 and up are the benchmark's)")


def lab_text():
    """config/lab.yaml, its field moved to 127.FW_LAB_NET.x.y."""
    with open(LAB_SOURCE, encoding="utf-8") as f:
        text = f.read()
    if LAB_NET:
        text = re.sub(r"\b127\.0\.([123])\.", lambda m: f"127.{LAB_NET}.{m.group(1)}.", text)
    return text


def _lab_file():
    if not LAB_NET:
        return LAB_SOURCE
    fd, path = tempfile.mkstemp(prefix="fieldwatch-lab-", suffix=".yaml")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(lab_text())
    atexit.register(os.unlink, path)
    return path


LAB = _lab_file()


def lab_config(path, edit=None):
    """Writes a copy of the lab configuration, changed by edit(dict), to path."""
    data = yaml.safe_load(lab_text())
    # No web view unless a test asks for one: suites run three at once
    # (tests/run_blackbox.py) and would all want 127.0.0.1:9847.
    data.setdefault("http", {"listen": "off"})
    if edit:
        edit(data)
    # Dates must stay dates, site ids strings: safe_dump keeps both.
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, allow_unicode=True, sort_keys=False)
    return path


def fast_probes(data, camera="1s", timeout="500ms", deep="2s"):
    """Short intervals, for tests that watch state changes."""
    p = data["probes"]
    p["camera"].update(interval=camera, timeout=timeout, deep_interval=deep)
    p["router"].update(interval="1s", timeout="300ms", retries=0)
    p["vpn"].update(interval="1s", timeout="300ms", retries=0)


def wait_for(predicate, timeout=10.0, step=0.1, what="condition"):
    """Polls predicate() until it returns a true value (returned); bounded."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last: {last!r}")


def runtime_dir_of(state_dir):
    """The runtime directory (control socket) of a test daemon, beside its state."""
    return os.path.join(os.path.dirname(os.path.abspath(state_dir)), "run")


def ctl(*args, state_dir=None, config=None, timeout=20, env=None, runtime_dir=None):
    """fieldwatchctl; with state_dir, also the runtime directory beside it (Daemon's)."""
    e = dict(os.environ)
    e.pop("STATE_DIRECTORY", None)
    e.pop("CREDENTIALS_DIRECTORY", None)
    e.pop("RUNTIME_DIRECTORY", None)
    if env:
        e.update(env)
    argv = [CTL]
    if config:
        argv += ["--config", config]
    if state_dir:
        argv += ["--state-dir", state_dir]
    if runtime_dir or state_dir:
        argv += ["--runtime-dir", runtime_dir or runtime_dir_of(state_dir)]
    return subprocess.run(argv + list(args), capture_output=True, text=True, env=e,
                          timeout=timeout, cwd=ROOT)


class Daemon:
    """fieldwatchd in the foreground, with NOTIFY_SOCKET at a socket we own."""

    def __init__(self, tmp, config, credentials=CREDENTIALS, extra_args=(), env=None,
                 watchdog_usec=None, wrapper=(), stderr=None):
        self.tmp = tmp
        self.config = config
        self.state_dir = os.path.join(tmp, "state")
        os.makedirs(self.state_dir, exist_ok=True)
        self.runtime_dir = runtime_dir_of(self.state_dir)  # the control socket's
        self.sock_path = os.path.join(tmp, "notify.sock")
        if os.path.exists(self.sock_path):
            os.unlink(self.sock_path)  # an earlier daemon's of this test
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.sock_path)
        # Like systemd, read every notification at once: a full socket would
        # block the daemon's sd_notify().
        self.notes = []
        self.closing = False
        self.sock.settimeout(0.2)
        self.cond = threading.Condition()
        self.reader = threading.Thread(target=self._read_notes, daemon=True)
        self.reader.start()
        e = dict(os.environ, NOTIFY_SOCKET=self.sock_path, TZ="America/New_York")
        e.pop("WATCHDOG_PID", None)
        e.pop("JOURNAL_STREAM", None)
        e.pop("RUNTIME_DIRECTORY", None)
        if watchdog_usec:
            e["WATCHDOG_USEC"] = str(watchdog_usec)
        if env:
            e.update(env)
        self.log_path = os.path.join(tmp, "daemon.log")
        self.stderr = open(self.log_path, "w+b")
        # stderr= (a file or descriptor, e.g. a journal stream): the daemon
        # writes there instead, and log() is empty.
        self.proc = subprocess.Popen(
            [*wrapper, DAEMON, "--config", config, "--state-dir", self.state_dir,
             "--runtime-dir", self.runtime_dir, "--credentials-dir", credentials, *extra_args],
            env=e, stdout=subprocess.DEVNULL, stderr=self.stderr if stderr is None else stderr)
        # A suite whose setUpClass failed never calls stop(): the daemon must
        # not outlive the test program and probe the next run's field.
        atexit.register(self._reap)

    def _reap(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def _read_notes(self):
        while not self.closing:
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.cond:
                self.notes.append(data)
                self.cond.notify_all()

    def messages(self, until, timeout=10.0):
        """Notify messages not seen before, up to the first with a line starting
        with `until` (bounded); those are consumed."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, data in enumerate(self.notes):
                    if any(line.startswith(until) for line in data.split("\n")):
                        got, self.notes = self.notes[:i + 1], self.notes[i + 1:]
                        return got
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                if self.proc.poll() is not None:
                    # Gone: what it sent before is read within a turn of the reader.
                    deadline = min(deadline, time.monotonic() + 0.5)
                self.cond.wait(min(left, 0.5))
            got = list(self.notes)
        raise AssertionError(f"no {until!r} within {timeout}s; got {got!r}; "
                             f"log: {self.log()[-2000:]!r}")

    def count(self, line, within):
        """How many notifications carrying `line` arrive within `within` seconds."""
        time.sleep(within)
        with self.cond:
            n = sum(line in data.split("\n") for data in self.notes)
            self.notes = []
        return n

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def status(self):
        """fieldwatchctl status --json as {device id: object}."""
        r = ctl("status", "--json", state_dir=self.state_dir, config=self.config)
        if r.returncode != 0:
            return {}
        return {d["device"]: d for d in json.loads(r.stdout)}

    def wait_device(self, device, state, reason=None, timeout=10.0):
        """Waits until device has state (and reason containing `reason`)."""
        def check():
            d = self.status().get(device)
            if d and d["state"] == state and (reason is None or reason in (d["reason"] or "")):
                return d
            return None
        try:
            return wait_for(check, timeout, what=f"{device} {state} {reason or ''}")
        except AssertionError as e:
            raise AssertionError(f"{e}\nnow: {self.status().get(device)!r}") from None

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.closing = True
        self.reader.join(2)
        self.sock.close()
        self.stderr.close()
        return self.proc.returncode


# ---------------------------------------------------------------------------
# A real SMTP server (Debian's aiosmtpd) for the mail tests

SMTP_SERVER = os.path.join(ROOT, "tests", "smtp_server.py")


def inet_sockets(path):
    """The IPv4 sockets of a /proc/net/tcp or /proc/net/udp table (the system's, or
    /proc/PID/net/... for a process's namespace): (local address, local port, remote
    address, remote port, state, inode) each; state "0A" is a TCP listener. [] when
    the table cannot be read."""
    def endpoint(text):
        addr, port = text.split(":")
        # The address in network order, printed as a host int.
        return socket.inet_ntoa(struct.pack("=I", int(addr, 16))), int(port, 16)
    out = []
    try:
        with open(path, encoding="ascii") as f:
            next(f, None)
            for line in f:
                col = line.split()
                out.append((*endpoint(col[1]), *endpoint(col[2]), col[3], col[9]))
    except OSError:
        pass
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smtp:
    """tests/smtp_server.py on a port of ours, started and stopped by PID."""

    def __init__(self, tmp, port):
        self.port = port
        self.mailbox = os.path.join(tmp, "mailbox.jsonl")
        self.ready = os.path.join(tmp, f"smtp-ready-{port}")
        self.proc = None

    def start(self, *extra):
        if os.path.exists(self.ready):
            os.unlink(self.ready)
        self.proc = subprocess.Popen(["/usr/bin/python3", SMTP_SERVER, "--port", str(self.port),
                                      "--mailbox", self.mailbox, "--ready", self.ready,
                                      *extra],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.ready), 15, what="the SMTP server")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def mails(self):
        try:
            with open(self.mailbox, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []


# ---------------------------------------------------------------------------
# Throwaway accounts (real users and groups, removed again)

OPS_GROUP = "fieldwatch-ops"


class Accounts:
    """Real users and groups made for one test with a random suffix; remove()
    takes them away again (call it from a cleanup: it runs on failure too). The
    group fieldwatch-ops is made when missing and removed only then."""

    def __init__(self):
        self.suffix = os.urandom(3).hex()
        self.users = []
        self.groups = []

    def _run(self, *argv):
        r = subprocess.run(argv, capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            raise AssertionError(f"{' '.join(argv)}: {r.stderr.strip()}")

    def ops_group(self):
        if subprocess.run(["getent", "group", OPS_GROUP], capture_output=True).returncode != 0:
            self._run("groupadd", OPS_GROUP)
            self.groups.append(OPS_GROUP)
        return OPS_GROUP

    def user(self, name, groups=()):
        """Makes user NAME-SUFFIX (with its own group), member of groups; its name."""
        login = f"fwt{name}{self.suffix}"
        argv = ["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"]
        if groups:
            argv += ["--groups", ",".join(groups)]
        self._run(*argv, login)
        self.users.append(login)
        return login

    def uid(self, login):
        import pwd
        return pwd.getpwnam(login).pw_uid

    def remove(self):
        for u in self.users:
            subprocess.run(["userdel", u], capture_output=True, timeout=30)
            subprocess.run(["groupdel", u], capture_output=True, timeout=30)
        for g in self.groups:
            subprocess.run(["groupdel", g], capture_output=True, timeout=30)
        self.users, self.groups = [], []


def as_user(login, argv):
    """argv run as login with its groups (setpriv: no PAM session, cheap)."""
    return ["setpriv", f"--reuid={login}", f"--regid={login}", "--init-groups", *argv]
