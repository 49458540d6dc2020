"""Several real `feedhub serve` processes on one PostgreSQL database, and clients that count.

- `NewsDesk`: feeds on a local HTTP server whose items grow on demand; it also measures how
  many requests for one feed are in flight at once (two pollers on one feed would show).
- `Reader`: an SSE client that keeps reading across failures the way a browser does: when
  its stream ends or its server dies it reconnects — to the next server — with
  Last-Event-ID, and it records every article id it receives, so a test can count lost and
  duplicated articles.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import httpx

from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess
from tests.support.sse import RawStream

__all__ = ["NewsDesk", "Reader", "all_articles", "wait_for"]


class NewsDesk:
    """One feed per (category, number); `add(path, n)` puts n new items in that feed."""

    def __init__(self, server: FeedServer, delay: float = 0.05) -> None:
        self.server = server
        self.delay = delay
        self.items: dict[str, list[dict[str, str]]] = {}
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.fetches: dict[str, int] = {}
        self._count = 0
        self._lock = threading.Lock()

    def feed(self, path: str) -> str:
        with self._lock:
            self.items.setdefault(path, [])
        self.server.set(path, handler=self._serve)
        return self.server.url(path)

    def add(self, path: str, n: int = 1) -> None:
        with self._lock:
            for _ in range(n):
                self._count += 1
                k = self._count
                self.items[path].append({
                    "guid": f"urn:desk:{path}:{k}", "link": f"https://example.com{path}/{k}",
                    "title": f"story {k}", "description": f"<p>Story {k}.</p>",
                    "pubDate": "Mon, 06 Jan 2025 10:00:00 GMT",
                })  # fmt: skip
            # Keep the newest 50 items, as real feeds do (none are missed: tests add fewer
            # than that between two polls).
            self.items[path] = self.items[path][-50:]

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        with self._lock:
            self.in_flight[path] = self.in_flight.get(path, 0) + 1
            self.max_in_flight[path] = max(self.max_in_flight.get(path, 0), self.in_flight[path])
            self.fetches[path] = self.fetches.get(path, 0) + 1
            body = rss(list(reversed(self.items[path]))).encode()
        try:
            time.sleep(self.delay)  # a window in which a second poller would overlap
            request.send_response(200)
            request.send_header("Content-Type", "application/rss+xml")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        finally:
            with self._lock:
                self.in_flight[path] -= 1


@dataclass
class Reader:
    """A resilient stream client over `urls` (it starts on `urls[0]`)."""

    urls: Sequence[str]
    categories: frozenset[str] | None = None
    ids: list[int] = field(default_factory=list)
    start_after: int | None = None  # the hello's last_id on the first connection
    reconnects: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _server: int = 0

    @property
    def query(self) -> str:
        return f"?category={','.join(sorted(self.categories))}" if self.categories else ""

    def start(self) -> Reader:
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        while True:
            url = self.urls[self._server % len(self.urls)]
            headers = {"Last-Event-ID": str(self._last())} if self.start_after is not None else {}
            try:
                stream = await RawStream.open(f"{url}/api/stream{self.query}", headers=headers)
            except (OSError, TimeoutError):
                self._server += 1  # that server is down: try the next one
                await asyncio.sleep(0.2)
                continue
            try:
                await self._read(stream)
            except (OSError, TimeoutError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    await stream.close()
            self.reconnects += 1
            self._server += 1
            await asyncio.sleep(0.1)

    def _last(self) -> int:
        return self.ids[-1] if self.ids else (self.start_after or 0)

    async def _read(self, stream: RawStream) -> None:
        while True:
            event = await stream.next_event(within=3600)
            if event is None:
                return  # ended by the server, or cut: reconnect
            if event.event == "hello":
                if self.start_after is None:
                    self.start_after = int(event.json()["last_id"])
                self.connected.set()
            elif event.event == "article" and event.id is not None:
                self.ids.append(int(event.id))
            elif event.event == "reset":
                raise AssertionError(f"a reset: the reader was too far behind ({event.data})")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    def check(self, articles: Sequence[dict[str, Any]]) -> tuple[list[int], list[int]]:
        """(lost, duplicated) against every article committed after this reader started."""
        assert self.start_after is not None
        expected = [
            a["id"]
            for a in articles
            if a["id"] > self.start_after
            and (self.categories is None or a["category"] in self.categories)
        ]
        seen = set(self.ids)
        lost = [i for i in expected if i not in seen]
        duplicated = sorted({i for i in self.ids if self.ids.count(i) > 1})
        return lost, duplicated


def all_articles(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = 0
    while True:
        page = httpx.get(
            f"{url}/api/articles", params={"after": after, "limit": 200}, timeout=10
        ).json()
        found += page
        if len(page) < 200:
            return found
        after = page[-1]["id"]


async def wait_for(check: Any, within: float, step: float = 0.1) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if check():
            return True
        await asyncio.sleep(step)
    return bool(check())


def cluster_env(database_url: str, bus_url: str, **extra: str) -> dict[str, str]:
    """Environment of a scale-out test server: PostgreSQL, a shared bus, everyone may lead,
    feeds polled every second by the leader."""
    env = {
        "FEEDHUB_DATABASE_URL": database_url,
        "FEEDHUB_BUS_URL": bus_url,
        "FEEDHUB_SCHEDULER": "true",
        "FEEDHUB_TICK_SECONDS": "0.5",
        "FEEDHUB_MIN_POLL_INTERVAL": "1",
        "FEEDHUB_DEFAULT_POLL_INTERVAL": "1",
        "FEEDHUB_HEARTBEAT_SECONDS": "2",
        "FEEDHUB_STREAM_QUEUE_SIZE": "10000",
        # No safety read during a test: what reaches readers came by doorbell or by the
        # catch-up after a bus reconnect, the paths under test.
        "FEEDHUB_BUS_SAFETY_SECONDS": "600",
    }
    env.update(extra)
    return env


def leader_of(servers: Sequence[ServerProcess]) -> list[ServerProcess]:
    """The servers whose /healthz says they lead now (expected: exactly one)."""
    leaders = []
    for server in servers:
        if server.proc is None or server.proc.poll() is not None:
            continue
        try:
            if httpx.get(f"{server.url}/healthz", timeout=2).json().get("leader"):
                leaders.append(server)
        except httpx.HTTPError:
            continue
    return leaders
