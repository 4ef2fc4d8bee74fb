#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A scraper that drives a Prometheus exporter's multi-target endpoint the way
Prometheus would, for fieldwatch's benchmark.

  scrape.py --exporter 127.0.0.1:PORT
            --path '/probe?module=onvif&target=http://{target}/onvif/device_service'
            --targets FILE --interval SECONDS --duration SECONDS [--connections 16]
            [--success-regex 'probe_success 1']

FILE has one target a line ("ADDRESS:PORT"); {target} in --path is replaced by it.
Every target is scraped once per interval, the targets spread evenly over it
(target i at i * interval / N), over a pool of keep-alive HTTP/1.1 connections
with Prometheus's request headers (gzip accepted, scrape timeout 10 s). A target
whose last scrape has not finished when it is due again skips that turn.

Prints one JSON line at the end: {"sent", "ok", "failed", "skipped", "http_errors"}.
Standard library only; every wait is bounded; loopback exporters only.
"""

import argparse
import asyncio
import ipaddress
import json
import re
import sys
import time
import zlib

HEADERS = ("User-Agent: Prometheus/2.42.0\r\n"
           "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
           "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1\r\n"
           "Accept-Encoding: gzip\r\n"
           "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n")
REQUEST_TIMEOUT = 12.0
MAX_BODY = 16 * 1024 * 1024


class Stats:
    def __init__(self):
        self.sent = self.ok = self.failed = self.skipped = self.http_errors = 0


async def read_response(reader):
    """(status, body bytes) of one HTTP/1.1 response; raises on EOF or junk."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    if "content-length" in headers:
        n = int(headers["content-length"])
        if n > MAX_BODY:
            raise ValueError("body too large")
        body = await reader.readexactly(n)
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        parts = []
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                break
            total += size
            if total > MAX_BODY:
                raise ValueError("body too large")
            parts.append(await reader.readexactly(size))
            await reader.readexactly(2)
        body = b"".join(parts)
    else:
        raise ValueError("response without a length")
    if headers.get("content-encoding", "").lower() == "gzip":
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return status, body


class Worker:
    """One keep-alive connection to the exporter."""

    def __init__(self, host, port):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def close(self):
        if self.writer is not None:
            self.writer.close()
            try:
                await asyncio.wait_for(self.writer.wait_closed(), 1.0)
            except (OSError, asyncio.TimeoutError):
                pass
        self.reader = self.writer = None

    async def get(self, path):
        for attempt in (0, 1):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(
                    self.host, self.port, limit=1 << 20)
            self.writer.write(("GET %s HTTP/1.1\r\nHost: %s:%d\r\n%s\r\n"
                               % (path, self.host, self.port, HEADERS)).encode())
            try:
                await self.writer.drain()
                return await read_response(self.reader)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                await self.close()  # a closed keep-alive connection: once more
                if attempt:
                    raise
        raise OSError("unreachable")


async def worker_loop(worker, queue, stats, success, busy):
    while True:
        index, path = await queue.get()
        stats.sent += 1
        try:
            status, body = await asyncio.wait_for(worker.get(path), REQUEST_TIMEOUT)
            if status != 200:
                stats.http_errors += 1
                stats.failed += 1
            elif success.search(body.decode("utf-8", "replace")):
                stats.ok += 1
            else:
                stats.failed += 1
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            stats.failed += 1
            await worker.close()
        finally:
            busy.discard(index)
            queue.task_done()


async def run(args, targets):
    host, port = args.exporter.rsplit(":", 1)
    if ipaddress.ip_address(host) not in ipaddress.ip_network("127.0.0.0/8"):
        raise SystemExit("scrape.py: the exporter must be on loopback")
    stats = Stats()
    success = re.compile(args.success_regex, re.M)
    queue = asyncio.Queue()
    busy = set()
    workers = [Worker(host, int(port)) for _ in range(args.connections)]
    tasks = [asyncio.create_task(worker_loop(w, queue, stats, success, busy)) for w in workers]
    paths = [args.path.replace("{target}", t) for t in targets]
    n = len(targets)
    start = time.monotonic()
    end = start + args.duration
    cursor, rnd = 0, start
    while True:
        now = time.monotonic()
        if now >= end:
            break
        while True:
            due = rnd + args.interval * cursor / n
            if due > now:
                break
            if cursor in busy:
                stats.skipped += 1
            else:
                busy.add(cursor)
                queue.put_nowait((cursor, paths[cursor]))
            cursor += 1
            if cursor == n:
                cursor, rnd = 0, rnd + args.interval
        await asyncio.sleep(max(0.0, min(due, end) - time.monotonic()))
    # What was sent gets its answer (bounded), nothing new is sent.
    try:
        await asyncio.wait_for(queue.join(), REQUEST_TIMEOUT + 2)
    except asyncio.TimeoutError:
        pass
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for w in workers:
        await w.close()
    return stats


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--exporter", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--targets", required=True)
    p.add_argument("--interval", type=float, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--connections", type=int, default=16)
    p.add_argument("--success-regex", default=r"^probe_success 1")
    args = p.parse_args(argv)
    with open(args.targets, encoding="utf-8") as f:
        targets = [line.strip() for line in f if line.strip() and not line.startswith("#")]
    if not targets or args.interval <= 0 or args.duration <= 0:
        p.error("no targets, or a bad interval or duration")
    stats = asyncio.run(run(args, targets))
    print(json.dumps(vars(stats)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
