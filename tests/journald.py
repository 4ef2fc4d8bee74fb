# SPDX-License-Identifier: MIT
"""A journald for the black-box tests, and reading back what reached it.

    with journald.Journal() as j:
        cursor = j.cursor()
        proc = subprocess.run([...])                 # something that logs natively
        got = j.wait_entries(3, since=cursor, _PID=str(proc.pid),
                             FIELDWATCH_EVENT="fault_raised")

Journal() makes sure a journald answers on /run/systemd/journal/socket. When
one does (the host's, or one started by an earlier test run), it is used as it
is. When none does — no socket, or a stale socket file left by a journald that
is gone — it starts Debian's systemd-journald standalone (root only; without
root the test is skipped), which writes to the volatile /run/log/journal until
someone asks it to flush, and waits (bounded) until the socket accepts.

Several test programs may use it at once (make check in two trees), so two
lock files in /run coordinate them: every user holds a shared flock() on
USERS_PATH while inside the context; starting and stopping happen under an
exclusive flock() on LOCK_PATH, which also records the journald a helper
started (PID and start time). The last user to leave stops exactly that
process — never a journald no helper started, and never one still in use.
A user killed with SIGKILL loses its locks with it; a journald it started is
stopped by the next last user.

entries() reads back with `journalctl -m -o json`: -m (merge) also shows the
files of a journald whose machine ID differs from ours (a container with an
empty /etc/machine-id writes /run/log/journal/system.journal directly); the
default local view covers both /run/log/journal and /var/log/journal. Every
wait is bounded.
"""

import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

SOCKET = "/run/systemd/journal/socket"
LOCK_PATH = "/run/fieldwatch-tests-journald.lock"
USERS_PATH = "/run/fieldwatch-tests-journald.users"
JOURNALD_CANDIDATES = ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald")
JOURNALCTL = shutil.which("journalctl") or "/usr/bin/journalctl"


def socket_answers(path=SOCKET):
    """Whether a process is bound to the journal's datagram socket. A stale
    socket file answers ECONNREFUSED, a missing one ENOENT."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def journald_path():
    for p in JOURNALD_CANDIDATES:
        if os.access(p, os.X_OK):
            return p
    return None


def _proc_start_time(pid):
    """Field 22 of /proc/PID/stat (clock ticks since boot), or None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            stat = f.read()
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        return None
    return rest[19]


def _is_journald(pid, start_time):
    """Whether pid is still the systemd-journald recorded with start_time."""
    try:
        with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
            comm = f.read().strip()
    except OSError:
        return False
    return comm.startswith("systemd-journal") and _proc_start_time(pid) == start_time


def _decode(value):
    """journalctl -o json: a string, null (too large), a list of byte values
    (binary data), or a list of those (a field given more than once)."""
    if isinstance(value, list) and value and isinstance(value[0], int):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, list):
        return [_decode(v) for v in value]
    return value


def _machine_id_set():
    try:
        with open("/etc/machine-id", encoding="ascii", errors="replace") as f:
            return len(f.read().strip()) == 32
    except OSError:
        return False


def _set_aside_unwritable_runtime_journal():
    """Without a machine ID (an empty /etc/machine-id, as some container
    images ship) journald writes /run/log/journal/system.journal, but a later
    journald refuses to reopen that file (ENOMEDIUM) and exits. Renamed like an
    archived file, it stays readable and the new journald starts a fresh one."""
    path = "/run/log/journal/system.journal"
    if not _machine_id_set() and os.path.exists(path):
        os.rename(path, f"/run/log/journal/system@fieldwatch-tests-{time.time_ns()}.journal")


def _lock(fd, kind, timeout):
    """flock() with a bound: polls LOCK_NB until timeout."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, kind | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise AssertionError(f"{LOCK_PATH}: still locked after {timeout}s") from None
            time.sleep(0.05)


class Journal:
    """Context manager: a journald answering on SOCKET while inside."""

    def __init__(self, start_timeout=15.0):
        self.start_timeout = start_timeout
        self.users_fd = None
        self.proc = None          # the journald this helper started, if any
        self.started = False
        self.log = None

    # -- the journald ----------------------------------------------------

    def __enter__(self):
        if os.geteuid() != 0:
            # Neither starts nor stops anything: the host's journald or none.
            if not socket_answers():
                raise unittest.SkipTest("no journald answers and starting one needs root")
            return self
        lock_fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _lock(lock_fd, fcntl.LOCK_EX, 60)
            if not socket_answers():
                self._start(lock_fd)
            self.users_fd = os.open(USERS_PATH, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            # Never blocks: an exclusive lock on it is only taken under LOCK_PATH.
            fcntl.flock(self.users_fd, fcntl.LOCK_SH)
        except BaseException:
            if self.proc and self.proc.poll() is None:
                self._terminate(self.proc.pid)
            raise
        finally:
            os.close(lock_fd)     # releases the exclusive lock
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def close(self):
        if self.users_fd is None:
            return
        lock_fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _lock(lock_fd, fcntl.LOCK_EX, 60)
            try:
                # Our shared lock becomes exclusive only if nobody else holds one.
                fcntl.flock(self.users_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass
            else:
                self._stop_recorded(lock_fd)
        finally:
            os.close(self.users_fd)
            self.users_fd = None
            os.close(lock_fd)
            if self.log:
                self.log.close()
                self.log = None

    def _start(self, lock_fd):
        path = journald_path()
        if not path:
            raise unittest.SkipTest("no journald answers and systemd-journald is not installed")
        os.makedirs(os.path.dirname(SOCKET), mode=0o755, exist_ok=True)
        _set_aside_unwritable_runtime_journal()
        env = {k: v for k, v in os.environ.items()
               if k not in ("NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                            "WATCHDOG_PID", "WATCHDOG_USEC", "JOURNAL_STREAM")}
        # Its own complaints to our log file, not to the kernel's ring buffer.
        env["SYSTEMD_LOG_TARGET"] = "console"
        self.log = tempfile.TemporaryFile(prefix="fieldwatch-journald-")
        self.proc = subprocess.Popen([path], stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not socket_answers():
            if self.proc.poll() is not None:
                raise AssertionError(f"{path} exited with {self.proc.returncode}: "
                                     f"{self._log_text()}")
            if time.monotonic() >= deadline:
                raise AssertionError(f"{path} (pid {self.proc.pid}) did not answer on {SOCKET} "
                                     f"within {self.start_timeout}s: {self._log_text()}")
            time.sleep(0.05)
        os.ftruncate(lock_fd, 0)
        os.pwrite(lock_fd, f"{self.proc.pid} {_proc_start_time(self.proc.pid)}\n".encode(), 0)
        self.started = True

    def away(self, while_away):
        """Stops the journald a helper started, calls while_away() with the
        socket dead, and starts a fresh journald (journald restarted). Returns
        while_away()'s value. Only a journald the helpers started is stopped:
        when it is the host's, the test is skipped."""
        lock_fd = os.open(LOCK_PATH, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            _lock(lock_fd, fcntl.LOCK_EX, 60)
            try:
                pid, start_time = os.pread(lock_fd, 100, 0).decode().split()
            except ValueError:
                raise unittest.SkipTest("the journald here is not one the tests started") from None
            if not _is_journald(int(pid), start_time):
                raise unittest.SkipTest("the recorded journald is gone")
            self._terminate(int(pid))
            os.ftruncate(lock_fd, 0)
            try:
                return while_away()
            finally:
                if self.log:
                    self.log.close()
                self._start(lock_fd)
        finally:
            os.close(lock_fd)

    def _log_text(self):
        self.log.seek(0)
        return self.log.read().decode("utf-8", "replace")[-2000:]

    def _stop_recorded(self, lock_fd):
        """Under both exclusive locks: stops the journald a helper started."""
        try:
            pid, start_time = os.pread(lock_fd, 100, 0).decode().split()
            pid = int(pid)
        except ValueError:
            return
        if _is_journald(pid, start_time):
            self._terminate(pid)
        os.ftruncate(lock_fd, 0)

    def _terminate(self, pid):
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if self.proc and self.proc.pid == pid:
                    if self.proc.poll() is not None:
                        return
                elif _proc_start_time(pid) is None:
                    return
                time.sleep(0.05)
        if self.proc and self.proc.pid == pid:
            try:
                self.proc.wait(1)
            except subprocess.TimeoutExpired:
                pass

    # -- reading back ----------------------------------------------------

    @staticmethod
    def journalctl(*args, timeout=20, root=None):
        argv = [JOURNALCTL, "--no-pager", "-q"]
        argv += [f"--root={root}"] if root else ["-m"]
        return subprocess.run(argv + list(args), capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, SYSTEMD_PAGER="cat",
                                                        SYSTEMD_COLORS="0", LC_ALL="C.UTF-8"))

    def cursor(self):
        """The cursor of the newest entry now (None for an empty journal): pass
        it as since= to see only what comes after."""
        r = self.journalctl("-n", "1", "-o", "json")
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                return json.loads(line)["__CURSOR"]
        return None

    def entries(self, since=None, **matches):
        """Entries matching every FIELD=value (after the cursor since), as dicts."""
        args = ["-o", "json"]
        if since:
            # Not --after-cursor: with a match the cursor's own entry does not
            # meet, journalctl 252 skips the first entry that does (it steps
            # over two). --cursor is inclusive; the cursor's entry is dropped below.
            args.append(f"--cursor={since}")
        args += [f"{k}={v}" for k, v in matches.items()]
        r = self.journalctl(*args)
        if r.returncode != 0:      # with -q, no entry at all is status 0
            raise AssertionError(f"journalctl {' '.join(args)}: {r.stderr.strip()}")
        out = []
        for line in r.stdout.splitlines():
            if line.startswith("{"):
                entry = {k: _decode(v) for k, v in json.loads(line).items()}
                if entry.get("__CURSOR") != since:
                    out.append(entry)
        return out

    def wait_entries(self, count, since=None, timeout=10.0, **matches):
        """Polls until at least count entries match (journald writes a moment
        after the send); returns them. Bounded: AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.entries(since=since, **matches)
            if len(got) >= count or time.monotonic() >= deadline:
                break
            time.sleep(0.1)
        if len(got) < count:
            raise AssertionError(f"{len(got)} of {count} journal entries matching {matches} "
                                 f"after {timeout}s")
        return got
