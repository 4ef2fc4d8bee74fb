#!/usr/bin/python3
"""The architecture's rules, checked on the sources (issue 17): each is a
line of the design that a later change could quietly break.

  - only the pipeline writes events: no other module opens a transaction
    that writes them, nor inserts an event;
  - the monitor decides nothing and writes no records: monitor.c includes at
    most 10 project headers, none of the store, mail, mailer, journal,
    operator or reminders;
  - the fault engine owns its faults: no faults_get()/faults_refresh()
    that hand its live faults out, no anomaly counted outside it;
  - SQL is prepared in the store's open functions only;
  - the basic helpers exist once (no private copies of the clock, the
    capped-file reader, the atomic writer, the UTF-8 checker);
  - no source file much over 1,000 lines but the configuration tables.

Run from the top of the tree: python3 tests/check_architecture.py
"""

import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCES = sorted(glob.glob(os.path.join(ROOT, "daemon", "*.[ch]")) +
                 glob.glob(os.path.join(ROOT, "probes", "*.[ch]")) +
                 glob.glob(os.path.join(ROOT, "config", "*.[ch]")))

# Over this many lines a file is "much over 1,000"; the configuration's
# tables are allowed to be longer (the issue names them).
LINES_MAX = 1200
LONG_ALLOWED = {"config/config.c"}

problems = []


def rel(path):
    return os.path.relpath(path, ROOT)


def text(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def code(path):
    """The source without comments and string literals (a name in a comment
    is no call)."""
    s = text(path)
    s = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), s, flags=re.S)
    s = re.sub(r"//[^\n]*", "", s)
    s = re.sub(r'"(?:\\.|[^"\\\n])*"', '""', s)
    return s


def calls(path, name):
    """Line numbers where name( is called (not declared or defined)."""
    found = []
    for no, line in enumerate(code(path).split("\n"), 1):
        for m in re.finditer(r"\b" + re.escape(name) + r"\s*\(", line):
            before = line[:m.start()]
            # A definition or declaration starts the line with a type.
            if re.match(r"^\s*(static\s+)?(inline\s+)?[A-Za-z_][\w\s\*]*$", before) and \
                    not re.search(r"(=|return|\(|,|&&|\|\||!)\s*$", before) and before.strip():
                continue
            found.append(no)
    return found


def only_in(name, allowed, why):
    for path in SOURCES:
        r = rel(path)
        if any(re.fullmatch(a, r) for a in allowed):
            continue
        for no in calls(path, name):
            problems.append(f"{r}:{no}: {name}() outside {', '.join(allowed)}: {why}")


only_in("store_begin", [r"daemon/pipeline\.c", r"daemon/store.*\.c"],
        "only the pipeline opens a transaction that writes events")
only_in("store_event_insert", [r"daemon/pipeline\.c", r"daemon/store.*\.c"],
        "only the pipeline writes events")
only_in("store_outbox_add", [r"daemon/pipeline\.c", r"daemon/store.*\.c"],
        "only the pipeline queues the mails of events")
only_in("store_begin_relaxed", [r"daemon/monitor-rows\.c", r"daemon/store.*\.c"],
        "the relaxed transaction is for the device rows, which are no record")

monitor = os.path.join(ROOT, "daemon", "monitor.c")
includes = re.findall(r'^#include "([^"]+)"', text(monitor), flags=re.M)
if len(includes) > 10:
    problems.append(f"daemon/monitor.c includes {len(includes)} project headers (at most 10): "
                    f"{', '.join(includes)}")
for banned in ("store.h", "mail.h", "mailer.h", "journal.h", "operator.h", "reminders.h",
               "backlog.h"):
    if banned in includes:
        problems.append(f"daemon/monitor.c includes {banned}: the monitor hands results to "
                        "the engine and its output to the pipeline; it writes no records")

faults_h = code(os.path.join(ROOT, "daemon", "faults.h"))
for gone in ("faults_get", "faults_refresh", "faults_anomaly"):
    if re.search(r"\b" + gone + r"\s*\(", faults_h):
        problems.append(f"daemon/faults.h declares {gone}(): the engine's faults and its "
                        "decisions stay inside it")

for path in SOURCES:
    r = rel(path)
    c = code(path)
    for no, line in enumerate(c.split("\n"), 1):
        if re.search(r"\bsqlite3_exec\s*\(", line) and not r.startswith("daemon/store"):
            problems.append(f"{r}:{no}: SQL outside the store")
        if re.search(r"\bsqlite3_prepare\w*\s*\(", line):
            # Every statement is prepared once, when the database opens.
            fn = [m.group(1) for m in re.finditer(r"^(?:static\s+)?\w[\w\s\*]*?\b(\w+)\s*\([^;{]*\)\s*\{",
                                                  "\n".join(c.split("\n")[:no]), flags=re.M)]
            if r != "daemon/store.c" or not fn or fn[-1] != "prepare_statements":
                problems.append(f"{r}:{no}: a statement prepared outside the store's "
                                "prepare_statements() (in {})".format(fn[-1] if fn else "?"))

PRIVATE_COPIES = [
    (r"static\s+uint64_t\s+now_\w*\s*\(\s*void\s*\)", "a private clock: use now_usec(clockid)"),
    (r"static\s+[\w\s\*]*\butf8_\w*\s*\(", "a private UTF-8 helper: use utf8.h"),
    (r"\bmk(o|s)?s?temp\w*\s*\(", "a private atomic writer: use fileio.h"),
    (r"int\s+\w*write_all\s*\(", "a private write loop: use loop_write() (fileio.h)"),
]
for path in SOURCES:
    if rel(path) in ("daemon/fileio.c", "daemon/utf8.c", "daemon/timeutil.c"):
        continue
    c = code(path)
    for pattern, why in PRIVATE_COPIES:
        for m in re.finditer(pattern, c):
            no = c.count("\n", 0, m.start()) + 1
            problems.append(f"{rel(path)}:{no}: {why}")

for path in SOURCES:
    r = rel(path)
    n = text(path).count("\n")
    if n > LINES_MAX and r not in LONG_ALLOWED:
        problems.append(f"{r}: {n} lines (more than {LINES_MAX}): one concern per file")

for p in problems:
    print(p)
if problems:
    print(f"check_architecture: {len(problems)} problem(s)")
    sys.exit(1)
print(f"check_architecture: {len(SOURCES)} files, the architecture's rules hold")
