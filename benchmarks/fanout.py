"""Fan-out benchmark: feedhub's `GET /api/stream` against a bare ASGI SSE broadcaster.

    .venv/bin/python benchmarks/fanout.py [--sizes 1000,5000,10000] [--client-procs 1]
                                          [--category bench] [--profile DIR] [--json OUT]

For each N, for feedhub (`python -m feedhub serve`, a fresh subprocess per N on a fresh port,
one SQLite file for the run) and then for the baseline (benchmarks/_bare_sse.py on uvicorn),
with N subscribers held by separate client processes (uvloop, raw asyncio protocols, one
per connection) it measures:

  connect rate      a reconnect storm: N connections opened as fast as the server takes them
                    (at most --window handshakes in flight, below uvicorn's listen backlog of
                    2048 so that no SYN is dropped), rate = N / (first connect → last
                    `event: hello` received)
  RSS / subscriber  (server VmRSS with N idle streams − VmRSS with 0) / N
  one article       p50/p99/max of receipt − trigger over N clients × --rounds rounds
  burst of 50       the same for the LAST of 50 articles to reach each client

Trigger: feedhub — a local feed server (a thread of this process) gains 1 (or 50) items whose
title is `fanout <time.monotonic() at the trigger> <k>`, then `POST
/api/admin/feeds/{id}/refresh`; so feedhub's latency includes fetch + parse + commit of that
poll, whose own duration with no subscriber ("refresh idle") is printed to subtract. Baseline
— `POST /publish?t=<trigger>&n=<k>`, which builds the events and broadcasts them at once.
Clients read the trigger time back from the event's `title` (CLOCK_MONOTONIC is one clock for
every process of the machine).

Everything runs on 127.0.0.1. The run takes about 2-4 minutes for the default sizes.
Targets (2 cores, at 10,000 subscribers) are checked at the end for the largest N.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import gc
import http.client
import json
import os
import re
import resource
import shlex
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TOKEN = "x"
BURST = 50
TARGETS = {"p99_one_ms": 300.0, "vs_bare": 1.5, "p99_burst_ms": 1000.0, "rss_kb": 20.0,
           "connect_per_s": 5000.0}  # fmt: skip
_TICK = os.sysconf("SC_CLK_TCK")
Msg = dict[str, Any]  # one JSON line between the orchestrator and a client process
_TITLE = re.compile(rb'"title":"fanout ([0-9.]+) (\d+)"')


def _raise_nofile(want: int = 65536) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:  # root (or CAP_SYS_RESOURCE) may raise the hard limit too
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]


# =========================================================================================
# Client process: holds N/k SSE connections, answers JSON-line commands on stdin/stdout.
# =========================================================================================


def _now_rfc822() -> str:
    return email.utils.format_datetime(datetime.now(UTC), usegmt=True)


class _Phase:
    def __init__(self) -> None:
        self.expect = 0  # article events each client must see; 0 = waiting for hello only
        self.pending = 0
        self.done = asyncio.Event()

    def finished_one(self) -> None:
        self.pending -= 1
        if self.pending <= 0:
            self.done.set()


class _Sub(asyncio.Protocol):
    __slots__ = ("buf", "closed", "done_at", "hello", "phase", "request", "transport")

    def __init__(self, phase: _Phase, request: bytes) -> None:
        self.phase = phase
        self.request = request
        self.buf = bytearray()
        self.hello: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done_at: float | None = None
        self.closed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buf += data
        if not self.hello.done():
            if b"event: hello" in self.buf:
                self.hello.set_result(None)
                del self.buf[:]
            return
        expect = self.phase.expect
        if expect and self.done_at is None and self.buf.count(b"\nevent: article\n") >= expect:
            self.done_at = now
            self.phase.finished_one()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if not self.hello.done():
            self.hello.set_exception(ConnectionError("closed before hello"))
        elif self.done_at is None and self.phase.expect:
            self.phase.finished_one()  # counted as missing


def _greeted(sub: _Sub) -> bool:
    hello = sub.hello
    return hello.done() and not hello.cancelled() and hello.exception() is None


class _Client:
    def __init__(self) -> None:
        self.phase = _Phase()
        self.subs: list[_Sub] = []

    async def connect(self, port: int, path: str, n: int, window: int, deadline: float) -> Msg:
        loop = asyncio.get_running_loop()
        request = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
        ).encode()
        self.phase = _Phase()
        gate = asyncio.Semaphore(window)
        errors: dict[str, int] = {}

        async def one() -> None:
            async with gate:
                try:
                    _, sub = await loop.create_connection(
                        lambda: _Sub(self.phase, request), "127.0.0.1", port
                    )
                    self.subs.append(sub)
                    await sub.hello
                except Exception as exc:  # noqa: BLE001 - counted, reported
                    errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1

        t0 = time.monotonic()
        try:  # one deadline for the whole storm: a timer per connection would cost the client
            async with asyncio.timeout(deadline):
                await asyncio.gather(*(one() for _ in range(n)))
        except TimeoutError:
            errors["no hello before the deadline"] = (
                n - sum(errors.values()) - sum(1 for s in self.subs if _greeted(s))
            )
        t1 = time.monotonic()
        good = [s for s in self.subs if _greeted(s)]
        if len(good) < len(self.subs):
            kept = {id(s) for s in good}
            for sub in self.subs:
                if id(sub) not in kept and sub.transport is not None:
                    sub.transport.abort()
        self.subs = good
        ok = len(self.subs)
        gc.collect()
        gc.freeze()
        return {"ok": ok, "t0": t0, "t1": t1, "errors": errors}

    def arm(self, expect: int) -> Msg:
        self.phase.expect = expect
        self.phase.done.clear()
        live = [s for s in self.subs if not s.closed]
        self.phase.pending = len(live)
        for sub in self.subs:
            del sub.buf[:]
            sub.done_at = None
        if not live:
            self.phase.done.set()
        return {"armed": len(live)}

    async def wait(self, deadline: float) -> Msg:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(deadline):
                await self.phase.done.wait()
        latencies: list[float] = []
        missing = incomplete = 0
        for sub in self.subs:
            if sub.done_at is None:
                missing += 1
                continue
            found = _TITLE.findall(sub.buf)
            if len({k for _, k in found}) < self.phase.expect:
                incomplete += 1
                continue
            trigger = float(found[-1][0])
            latencies.append(round((sub.done_at - trigger) * 1000, 3))
        self.phase.expect = 0
        closed = sum(1 for s in self.subs if s.closed)
        return {"lat_ms": latencies, "missing": missing, "incomplete": incomplete,
                "closed": closed}  # fmt: skip

    def close(self) -> Msg:
        n = 0
        for sub in self.subs:
            if sub.transport is not None and not sub.closed:
                sock = sub.transport.get_extra_info("socket")
                with contextlib.suppress(Exception):  # RST: no TIME_WAIT left behind
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                sub.transport.abort()
                n += 1
        self.subs = []
        gc.unfreeze()
        gc.collect()
        return {"closed": n}


async def _client_main() -> None:
    _raise_nofile()
    gc.disable()  # the measuring instrument should not pause; collected between phases
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    client = _Client()
    out = sys.stdout
    while line := await reader.readline():
        cmd = json.loads(line)
        op = cmd.pop("op")
        if op == "connect":
            reply = await client.connect(**cmd)
        elif op == "arm":
            reply = client.arm(**cmd)
        elif op == "wait":
            reply = await client.wait(**cmd)
        elif op == "close":
            reply = client.close()
        elif op == "quit":
            return
        else:
            reply = {"error": f"unknown op {op}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


def client_main() -> None:
    try:
        import uvloop

        uvloop.run(_client_main())
    except ImportError:
        asyncio.run(_client_main())


# =========================================================================================
# Orchestrator
# =========================================================================================
class ClientPool:
    """k client processes; a command goes to all, replies are gathered in order."""

    def __init__(self, procs: int) -> None:
        self.procs = [
            subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--client"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                bufsize=1,
            )  # fmt: skip
            for _ in range(procs)
        ]

    def send(self, commands: list[Msg]) -> list[Msg]:
        for proc, cmd in zip(self.procs, commands, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(cmd) + "\n")
            proc.stdin.flush()
        replies = []
        for proc in self.procs:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError("a client process died")
            replies.append(json.loads(line))
        return replies

    def all(self, **cmd: Any) -> list[Msg]:
        return self.send([dict(cmd) for _ in self.procs])

    def connect(self, port: int, path: str, n: int, window: int) -> Msg:
        k = len(self.procs)
        shares = [n // k + (1 if i < n % k else 0) for i in range(k)]
        replies = self.send([
            {"op": "connect", "port": port, "path": path, "n": share,
             "window": max(1, window // k), "deadline": 120.0}
            for share in shares
        ])  # fmt: skip
        errors: dict[str, int] = {}
        for r in replies:
            for name, count in r["errors"].items():
                errors[name] = errors.get(name, 0) + count
        ok = sum(r["ok"] for r in replies)
        seconds = max(r["t1"] for r in replies) - min(r["t0"] for r in replies)
        return {"ok": ok, "seconds": seconds, "rate": ok / seconds if seconds else 0.0,
                "errors": errors}  # fmt: skip

    def measure(self, expect: int, trigger: Callable[[], float], deadline: float = 30.0) -> Msg:
        self.all(op="arm", expect=expect)
        refresh_ms = trigger()
        replies = self.all(op="wait", deadline=deadline)
        lat = [x for r in replies for x in r["lat_ms"]]
        return {"lat_ms": lat, "refresh_ms": refresh_ms,
                "missing": sum(r["missing"] for r in replies),
                "incomplete": sum(r["incomplete"] for r in replies),
                "closed": sum(r["closed"] for r in replies)}  # fmt: skip

    def close(self) -> None:
        self.all(op="close")

    def quit(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


# -- the local feed server -----------------------------------------------------------------
class FeedState:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.items: list[tuple[int, str, str]] = []  # (seq, title, pubDate), newest last
        self.seq = 0
        self.requests = 0
        self.add(1, 0.0)

    def add(self, count: int, trigger: float) -> None:
        with self.lock:
            for k in range(count):
                self.seq += 1
                # Dated now: an item older than FEEDHUB_BACKLOG_WINDOW_HOURS (72) would be
                # stored quietly as backlog and never announced.
                self.items.append((self.seq, f"fanout {trigger:.6f} {k}", _now_rfc822()))
            del self.items[:-200]

    def document(self) -> bytes:
        summary = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 5
        with self.lock:
            items = list(reversed(self.items))
        entries = "".join(
            f"<item><title>{title}</title><link>http://127.0.0.1/a/{seq}</link>"
            f'<guid isPermaLink="false">bench-{seq}</guid><description>{summary}</description>'
            f"<pubDate>{date}</pubDate></item>"
            for seq, title, date in items
        )
        return (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Bench feed</title><link>http://127.0.0.1/</link>"
            f"<description>fan-out benchmark</description>{entries}</channel></rss>"
        ).encode()


def start_feed_server(state: FeedState) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            state.requests += 1
            body = state.document()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


# -- servers under test ----------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _request(port: int, method: str, path: str, body: object = None,
             timeout: float = 60.0) -> tuple[int, Any]:  # fmt: skip
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {TOKEN}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")
    finally:
        conn.close()


def _preexec() -> None:
    _raise_nofile()
    os.setsid()  # own process group: a Ctrl-C of the benchmark does not hit it first


def _vm_rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", "rb") as fh:
        raw = fh.read()
    fields = raw[raw.rfind(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def wait_ready(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log}:\n"
                                   + self.log.read_text()[-3000:])  # fmt: skip
            with contextlib.suppress(OSError):
                status, _ = _request(self.port, "GET", "/healthz", timeout=2)
                if status == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not start; see {self.log}")

    def subscribers(self) -> int:
        status, body = _request(self.port, "GET", "/healthz")
        key = "feedhub_stream_subscribers" if self.name == "feedhub" else "subscribers"
        return int(body[key]) if status == 200 else -1

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_feedhub(workdir: Path, queue_size: int, command: str = "") -> Server:
    port = _free_port()
    env = {
        **os.environ,
        "FEEDHUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
        "FEEDHUB_PORT": str(port),
        "FEEDHUB_ADMIN_TOKEN": TOKEN,
        "FEEDHUB_ALLOW_PRIVATE_NETWORKS": "true",
        "FEEDHUB_TICK_SECONDS": "3600",
        "FEEDHUB_HEARTBEAT_SECONDS": "15",
        "FEEDHUB_STREAM_QUEUE_SIZE": str(queue_size),
        "FEEDHUB_PARSE_WORKERS": "0",
        # Every benchmark client comes from 127.0.0.1: no per-address stream limit here.
        "FEEDHUB_MAX_STREAMS_PER_CLIENT": "0",
        "FEEDHUB_HOST_MIN_GAP_SECONDS": "0",
    }
    log = workdir / f"feedhub-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            shlex.split(command) or [sys.executable, "-m", "feedhub", "serve"], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_preexec,
        )  # fmt: skip
    server = Server("feedhub", proc, port, log)
    server.wait_ready("/healthz")
    return server


def start_bare(workdir: Path) -> Server:
    port = _free_port()
    log = workdir / f"bare-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(HERE / "_bare_sse.py"), str(port)], cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT, preexec_fn=_preexec,
        )  # fmt: skip
    server = Server("bare", proc, port, log)
    server.wait_ready("/healthz")
    return server


# -- one system at one size --------------------------------------------------------------------
@dataclass
class Result:
    system: str
    n: int
    connected: int = 0
    connect_rate: float = 0.0
    connect_errors: dict[str, int] = field(default_factory=dict)
    connect_cpu_s: float = 0.0
    rss0_kb: int = 0
    rssn_kb: int = 0
    one: dict[str, float] = field(default_factory=dict)
    burst: dict[str, float] = field(default_factory=dict)
    refresh_idle_ms: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def kb_per_sub(self) -> float:
        return (self.rssn_kb - self.rss0_kb) / self.n if self.n else 0.0


def _summary(rounds: list[Msg], n: int, cpu_s: float) -> dict[str, float]:
    lat = [x for r in rounds for x in r["lat_ms"]]
    refresh = [r["refresh_ms"] for r in rounds]
    return {
        "p50": _pct(lat, 50), "p99": _pct(lat, 99), "max": max(lat, default=float("nan")),
        "samples": len(lat), "expected": n * len(rounds),
        "missing": sum(r["missing"] + r["incomplete"] for r in rounds),
        "closed": max((r["closed"] for r in rounds), default=0),
        "trigger_ms_p50": _pct(refresh, 50),
        "cpu_ms_per_round": cpu_s * 1000 / max(1, len(rounds)),
    }  # fmt: skip


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.feed = FeedState()
        self.feed_server, self.feed_port = start_feed_server(self.feed)
        self.feed_id: int | None = None
        self.clients = ClientPool(args.client_procs)

    # triggers: return the trigger request's own duration (ms)
    def _trigger_feedhub(self, server: Server, count: int) -> float:
        t = time.monotonic()
        self.feed.add(count, t)
        start = time.monotonic()
        status, body = _request(server.port, "POST", f"/api/admin/feeds/{self.feed_id}/refresh")
        took = (time.monotonic() - start) * 1000
        if status != 200 or body.get("new_articles") != count:
            raise RuntimeError(f"refresh answered {status} {body}")
        return took

    def _trigger_bare(self, server: Server, count: int) -> float:
        t = time.monotonic()
        status, _ = _request(server.port, "POST", f"/publish?t={t:.6f}&n={count}")
        if status != 200:
            raise RuntimeError(f"publish answered {status}")
        return (time.monotonic() - t) * 1000

    def _setup_feedhub(self, server: Server) -> None:
        if self.feed_id is not None:
            return
        status, body = _request(server.port, "POST", "/api/admin/categories",
                                {"name": "Bench", "slug": "bench"})  # fmt: skip
        if status not in (201, 409):
            raise RuntimeError(f"create category: {status} {body}")
        url = f"http://127.0.0.1:{self.feed_port}/feed.xml"
        status, body = _request(server.port, "POST", "/api/admin/feeds",
                                {"url": url, "category": "bench"})  # fmt: skip
        if status != 201:
            raise RuntimeError(f"create feed: {status} {body}")
        self.feed_id = body["id"]
        _request(server.port, "POST", f"/api/admin/feeds/{self.feed_id}/refresh")

    def _create_behind_the_back(self, slug: str) -> None:
        import sqlite3

        with contextlib.closing(sqlite3.connect(self.workdir / "bench.db")) as db, db:
            db.execute("INSERT INTO category (slug, name) VALUES (?, ?)", (slug, slug))

    def _spy(self, pid: int, name: str) -> subprocess.Popen[bytes]:
        """py-spy record (raw collapsed stacks, GIL-holding and waiting threads alike)."""
        out = Path(self.args.profile) / f"{name}.txt"
        spy = subprocess.Popen(
            [str(Path(sys.executable).with_name("py-spy")), "record", "-p", str(pid),
             "-r", "250", "--nonblocking", "-f", "raw", "-o", str(out)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        time.sleep(1.0)  # attached before the phase starts
        return spy

    @staticmethod
    def _unspy(spy: subprocess.Popen[bytes] | None) -> None:
        if spy is not None and spy.poll() is None:
            spy.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                spy.wait(30)

    def run_case(self, system: str, n: int, profile: bool) -> Result:
        args = self.args
        result = Result(system, n)
        late = ""
        if system == "feedhub":
            server = start_feedhub(self.workdir, args.queue_size, args.feedhub_cmd)
            self._setup_feedhub(server)
            path = f"/api/stream?category={args.category}" if args.category else "/api/stream"
            trigger: Callable[[int], float] = partial(self._trigger_feedhub, server)
        elif system == "feedhub-late":
            # The storm subscribes to a category created after the server started, behind
            # its back (as the CLI or another process would): the hub has not heard of it.
            server = start_feedhub(self.workdir, args.queue_size, args.feedhub_cmd)
            self._setup_feedhub(server)
            late = f"late-{n}-{os.getpid()}-{int(time.monotonic() * 1000)}"
            path = f"/api/stream?category={late}"
            trigger = partial(self._trigger_feedhub, server)
        else:
            server = start_bare(self.workdir)
            path = "/stream"
            trigger = partial(self._trigger_bare, server)
        spy: subprocess.Popen[bytes] | None = None
        try:
            pid = server.proc.pid
            # Warm up: first requests, lazy imports, the pool's connections, one delivery.
            idle = [trigger(1) for _ in range(5)]
            result.refresh_idle_ms = _pct(idle, 50)
            # (The late category's warm-up streams take all categories: the storm is the
            # first to name it.)
            self.clients.connect(server.port, "/api/stream" if late else path, 20, args.window)
            self.clients.measure(1, partial(trigger, 1))
            self.clients.close()
            time.sleep(1.0)
            result.rss0_kb = _vm_rss_kb(pid)

            if late:
                self._create_behind_the_back(late)
            spy = self._spy(pid, f"{system}-{n}-storm") if profile else None
            cpu = _cpu_seconds(pid)
            storm = self.clients.connect(server.port, path, n, args.window)
            result.connect_cpu_s = _cpu_seconds(pid) - cpu
            result.connected, result.connect_rate = storm["ok"], storm["rate"]
            result.connect_errors = storm["errors"]
            self._unspy(spy)
            spy = None
            time.sleep(2.0)  # settle: the storm's garbage collected, buffers released
            result.rssn_kb = _vm_rss_kb(pid)
            seen = server.subscribers()
            if seen != result.connected:
                result.notes.append(f"server counts {seen} subscribers, clients hold "
                                    f"{result.connected}")  # fmt: skip

            if late:  # the bench feed now publishes into the late category
                status, body = _request(server.port, "PATCH", f"/api/admin/feeds/{self.feed_id}",
                                        {"category": late})  # fmt: skip
                if status != 200:
                    raise RuntimeError(f"move feed: {status} {body}")
                _, health = _request(server.port, "GET", "/healthz")
                reads = health.get("feedhub_stream_category_reads", "?")
                result.notes.append(f"category reads during the storm: {reads}")
            spy = self._spy(pid, f"{system}-{n}-deliver") if profile else None
            for expect, rounds, key in (
                (1, args.rounds, "one"),
                (BURST, args.burst_rounds, "burst"),
            ):
                done = []
                cpu = _cpu_seconds(pid)
                for _ in range(rounds):
                    done.append(self.clients.measure(expect, partial(trigger, expect)))
                    time.sleep(args.pause)
                setattr(result, key, _summary(done, result.connected,
                                              _cpu_seconds(pid) - cpu))  # fmt: skip
        finally:
            self._unspy(spy)
            with contextlib.suppress(Exception):
                self.clients.close()
            if late:  # back home, for the next cases
                with contextlib.suppress(Exception):
                    _request(server.port, "PATCH", f"/api/admin/feeds/{self.feed_id}",
                             {"category": "bench"})  # fmt: skip
            server.stop()
            trouble = [
                line
                for line in server.log.read_text(errors="replace").splitlines()
                if "ERROR" in line or "Traceback" in line or "Error" in line
            ]
            if trouble:
                result.notes.append(f"{len(trouble)} error lines in the server log, first: "
                                    f"{trouble[0][:300]}")  # fmt: skip
        return result

    def close(self) -> None:
        self.clients.quit()
        self.feed_server.shutdown()


# -- report ------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return "   n/a" if x != x else f"{x:6.0f}"  # noqa: PLR0124 - NaN check


def print_table(results: list[Result]) -> None:
    print()
    print(f"{'system':8} {'N':>6} {'conn/s':>7} {'KB/sub':>6} | "
          f"{'one article ms: p50':>19} {'p99':>6} {'max':>6} | "
          f"{'burst 50 ms: p50':>16} {'p99':>6} {'max':>6} | "
          f"{'trigger ms':>10} {'lost':>5}")  # fmt: skip
    for r in results:
        o, b = r.one, r.burst
        lost = int(o.get("missing", 0) + b.get("missing", 0)) + (r.n - r.connected)
        print(f"{r.system:8} {r.n:6d} {r.connect_rate:7.0f} {r.kb_per_sub:6.1f} | "
              f"{_fmt(o.get('p50', float('nan'))):>19} {_fmt(o.get('p99', float('nan')))} "
              f"{_fmt(o.get('max', float('nan')))} | "
              f"{_fmt(b.get('p50', float('nan'))):>16} {_fmt(b.get('p99', float('nan')))} "
              f"{_fmt(b.get('max', float('nan')))} | "
              f"{_fmt(o.get('trigger_ms_p50', float('nan'))):>10} {lost:5d}")  # fmt: skip
    print()
    for r in results:
        extra = f"; errors {r.connect_errors}" if r.connect_errors else ""
        print(f"  {r.system} N={r.n}: RSS {r.rss0_kb / 1024:.0f} -> {r.rssn_kb / 1024:.0f} MiB; "
              f"server CPU {r.connect_cpu_s * 1000 / max(1, r.connected):.2f} ms/connection, "
              f"{r.one.get('cpu_ms_per_round', 0):.0f} ms per 1-article round, "
              f"{r.burst.get('cpu_ms_per_round', 0):.0f} ms per burst round; "
              f"trigger idle {r.refresh_idle_ms:.1f} ms, under load p50 "
              f"{r.one.get('trigger_ms_p50', 0):.1f} / {r.burst.get('trigger_ms_p50', 0):.1f}"
              f" ms{extra}" + "".join(f"; {note}" for note in r.notes))  # fmt: skip


def check_targets(results: list[Result]) -> None:
    top = max(r.n for r in results)
    fh = next((r for r in results if r.system == "feedhub" and r.n == top), None)
    bare = next((r for r in results if r.system == "bare" and r.n == top), None)
    if fh is None:
        return
    print(f"\nTargets at N={top} (they are set for 10,000 subscribers on 2 cores):")
    rows = [
        ("one article p99 <= 300 ms", fh.one["p99"], fh.one["p99"] <= TARGETS["p99_one_ms"]),
        ("50-article burst p99 <= 1 s", fh.burst["p99"],
         fh.burst["p99"] <= TARGETS["p99_burst_ms"]),
        ("<= 20 KB per idle subscriber", fh.kb_per_sub, fh.kb_per_sub <= TARGETS["rss_kb"]),
        (">= 5,000 connections/s", fh.connect_rate,
         fh.connect_rate >= TARGETS["connect_per_s"]),
    ]  # fmt: skip
    if bare is not None:
        ratio = fh.one["p99"] / bare.one["p99"]
        # feedhub's figure includes the poll (fetch+parse+commit); the ratio is also shown
        # with the idle refresh time subtracted, the closest to "commit -> receipt".
        net = (fh.one["p99"] - fh.refresh_idle_ms) / bare.one["p99"]
        rows.append((f"one article p99 within 1.5x bare ({bare.one['p99']:.0f} ms); "
                     f"net of poll {net:.2f}x", ratio, ratio <= TARGETS["vs_bare"]))  # fmt: skip
    for label, value, ok in rows:
        print(f"  {'MET   ' if ok else 'MISSED'} {label}: {value:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--client", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="1000,5000,10000")
    parser.add_argument(
        "--systems",
        default="feedhub,feedhub-late,bare",
        help="feedhub (streams of all categories, or --category), feedhub-late (a category "
        "created after start, behind the server's back), bare (the baseline)",
    )
    parser.add_argument(
        "--client-procs",
        type=int,
        default=1,
        help="client processes (the server needs one of the 2 cores)",
    )
    parser.add_argument(
        "--window", type=int, default=1000, help="connection handshakes in flight during the storm"
    )
    parser.add_argument(
        "--category", default="", help="subscribe feedhub's clients with ?category=SLUG (bench)"
    )
    parser.add_argument("--rounds", type=int, default=5, help="1-article rounds per size")
    parser.add_argument("--burst-rounds", type=int, default=3, help="50-article rounds")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between rounds")
    parser.add_argument("--queue-size", type=int, default=1024, help="FEEDHUB_STREAM_QUEUE_SIZE")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy record both servers at the largest N (storm, delivery)",
    )
    parser.add_argument(
        "--feedhub-cmd",
        default="",
        metavar="CMD",
        help="start feedhub with CMD instead of `python -m feedhub serve` "
        "(experiments with a patched server; same FEEDHUB_* environment)",
    )
    parser.add_argument("--json", metavar="OUT", help="write every figure as JSON")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    args = parser.parse_args()
    if args.smoke:
        args.sizes, args.rounds, args.burst_rounds, args.pause = "20", 1, 1, 0.1
    if args.client:
        client_main()
        return
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    limit = _raise_nofile()
    low, high = (int(x) for x in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    per_proc = max(sizes) // args.client_procs + 1
    if per_proc + 100 > limit:
        sys.exit(f"file descriptor limit {limit} is too low for {per_proc} connections")
    if max(sizes) > high - low:
        sys.exit(f"only {high - low + 1} ephemeral ports ({low}-{high}) for {max(sizes)}")
    if args.profile:
        Path(args.profile).mkdir(parents=True, exist_ok=True)
    path = f"?category={args.category}" if args.category else "(all categories)"
    print(f"fan-out benchmark: sizes {sizes}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f}, {args.client_procs} client process(es), window "
          f"{args.window}, feedhub path {path}", flush=True)  # fmt: skip
    started = time.monotonic()
    results: list[Result] = []
    with tempfile.TemporaryDirectory(prefix="feedhub-fanout-") as tmp:
        bench = Bench(args, Path(tmp))
        try:
            for n in sizes:
                for system in systems:
                    t = time.monotonic()
                    profile = bool(args.profile) and n == max(sizes)
                    r = bench.run_case(system, n, profile)
                    results.append(r)
                    print(f"  {system} N={n}: {r.connected} connected at {r.connect_rate:.0f}/s,"
                          f" {r.kb_per_sub:.1f} KB/sub, one p99 {r.one['p99']:.0f} ms, burst p99 "
                          f"{r.burst['p99']:.0f} ms ({time.monotonic() - t:.0f} s)",
                          flush=True)  # fmt: skip
        finally:
            bench.close()
    print_table(results)
    check_targets(results)
    print(
        f"\nload average at the end {os.getloadavg()[0]:.1f}; "
        f"total {time.monotonic() - started:.0f} s"
    )
    if args.json:
        Path(args.json).write_text(
            json.dumps([{**r.__dict__, "kb_per_sub": r.kb_per_sub} for r in results], indent=1)
        )


if __name__ == "__main__":
    main()
