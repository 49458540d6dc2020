"""SSE clients for stream tests: a raw asyncio HTTP/1.1 client and a parser.

`RawStream` speaks HTTP/1.1 by hand on a plain connection and decodes the chunked body
itself, so a test sees every HTTP chunk the server wrote (uvicorn writes one chunk per ASGI
`send`, so chunk boundaries are the server's writes), can stop reading at will (a stalled
client), and can tell a stream that *ended* (the terminating zero-size chunk) from one that
was cut (EOF without it).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "Event",
    "Newsroom",
    "RawStream",
    "SSEParser",
    "dechunk",
    "drain_socket",
    "http_request",
    "parse_events",
    "stalled_socket",
]


@dataclass
class Event:
    """One dispatched SSE event, or a comment line (`comment` set, `event` "")."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    comment: str | None = None
    received_at: float = 0.0

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass
class SSEParser:
    """Incremental parser of text/event-stream, dispatching as a browser does: a block
    without `data:` dispatches nothing but still sets `retry` and the last event id."""

    retry: int | None = None
    last_event_id: str = ""
    _buffer: bytes = b""
    _fields: dict[str, Any] = field(default_factory=dict)
    _data: list[str] = field(default_factory=list)

    def feed(self, chunk: bytes) -> list[Event]:
        self._buffer += chunk
        out: list[Event] = []
        now = time.monotonic()
        while True:
            cut = self._buffer.find(b"\n")
            if cut < 0:
                return out
            line = self._buffer[:cut].rstrip(b"\r").decode()
            self._buffer = self._buffer[cut + 1 :]
            if not line:
                if self._data:
                    out.append(
                        Event(
                            event=self._fields.get("event", "message"),
                            data="\n".join(self._data),
                            id=self._fields.get("id"),
                            retry=self.retry,
                            received_at=now,
                        )
                    )
                self._fields, self._data = {}, []
                continue
            if line.startswith(":"):
                out.append(Event(event="", comment=line[1:].strip(), received_at=now))
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                self._data.append(value)
            elif name == "retry":
                self.retry = int(value)
            elif name == "id":
                self._fields["id"] = self.last_event_id = value
            elif name == "event":
                self._fields["event"] = value


def parse_events(body: bytes) -> list[Event]:
    return SSEParser().feed(body)


def _request_bytes(url: str, headers: dict[str, str] | None) -> tuple[str, int, bytes]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"GET {target} HTTP/1.1", f"Host: {host}:{port}", "Accept: text/event-stream"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return host, port, ("\r\n".join(lines) + "\r\n\r\n").encode()


class RawStream:
    """One SSE response read over a raw connection, chunk by chunk."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []  # body chunks as the server framed them
        self.events: list[Event] = []  # every event and comment, in order
        self.ended = False  # the terminating chunk arrived: the server ended the response
        self.cut = False  # EOF or reset before the terminating chunk
        self._parser = SSEParser()
        self._pending: list[Event] = []

    @classmethod
    async def open(
        cls,
        url: str,
        headers: dict[str, str] | None = None,
        within: float = 5.0,
        rcvbuf: int | None = None,
    ) -> RawStream:
        """Connect and read the response head. `rcvbuf` shrinks the socket's receive buffer
        (set before connecting), so that a test that stops reading stalls the server soon."""
        host, port, request = _request_bytes(url, headers)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (host, port)), within)
            # A small reader limit too: asyncio stops reading the socket past 2 × limit.
            reader, writer = await asyncio.open_connection(
                sock=sock, limit=16384 if rcvbuf else 2**16
            )
            writer.write(request)
            stream = cls(reader, writer)
            async with asyncio.timeout(within):
                await stream._read_head()
        except BaseException:
            # A server killed mid-connect (the fault tests) must not leave the socket to the
            # garbage collector: its ResourceWarning fails whichever test runs then.
            sock.close()
            raise
        return stream

    async def _read_head(self) -> None:
        head = await self.reader.readuntil(b"\r\n\r\n")
        status_line, *lines = head.decode("latin-1").split("\r\n")
        self.status = int(status_line.split()[1])
        for line in lines:
            if line:
                name, _, value = line.partition(":")
                self.headers[name.strip().lower()] = value.strip()
        if self.headers.get("transfer-encoding") != "chunked":
            length = int(self.headers.get("content-length", "0"))
            body = await self.reader.readexactly(length)
            self.chunks.append(body)
            self.ended = True

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)

    async def _read_chunk(self) -> bytes | None:
        """The next chunk's payload; None at the end (or cut) of the response."""
        try:
            size_line = await self.reader.readuntil(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            payload = await self.reader.readexactly(size)
            await self.reader.readexactly(2)
        except (asyncio.IncompleteReadError, ConnectionError):
            self.cut = True
            return None
        if size == 0:
            self.ended = True
            return None
        self.chunks.append(payload)
        return payload

    async def next_event(self, within: float = 5.0, comments: bool = False) -> Event | None:
        """The next event (and comment if asked); None once the response is over."""
        async with asyncio.timeout(within):
            while True:
                while self._pending:
                    event = self._pending.pop(0)
                    if comments or event.comment is None:
                        return event
                if self.ended or self.cut:
                    return None
                payload = await self._read_chunk()
                if payload is not None:
                    parsed = self._parser.feed(payload)
                    self.events.extend(parsed)
                    self._pending.extend(parsed)

    async def articles(self, count: int, within: float = 5.0) -> list[Event]:
        """The next `count` article events (hello, reset and comments are skipped)."""
        found: list[Event] = []
        deadline = time.monotonic() + within
        while len(found) < count:
            event = await self.next_event(max(0.01, deadline - time.monotonic()))
            if event is None:
                raise AssertionError(f"stream ended after {len(found)} of {count} articles")
            if event.event == "article":
                found.append(event)
        return found

    async def until_end(self, within: float = 5.0) -> list[Event]:
        """Read until the response is over; return the events read on the way."""
        found: list[Event] = []
        async with asyncio.timeout(within):
            while (event := await self.next_event(within, comments=True)) is not None:
                found.append(event)
        return found

    async def expect_quiet(self, seconds: float) -> list[Event]:
        """Events (not comments) that arrive within `seconds`: usually expected to be none."""
        found: list[Event] = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                event = await self.next_event(left)
            except TimeoutError:
                break
            if event is None:
                break
            found.append(event)
        return found

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


def stalled_socket(
    url: str, headers: dict[str, str] | None = None, rcvbuf: int = 4096
) -> socket.socket:
    """A blocking socket that sends the request and then reads nothing (a stalled client).

    A small receive buffer, set before connecting so the TCP window is small from the start,
    makes the server's send side fill up after a few kilobytes.
    """
    host, port, request = _request_bytes(url, headers)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect((host, port))
    sock.sendall(request)
    return sock


def drain_socket(sock: socket.socket, timeout: float = 10.0) -> tuple[bytes, bool]:
    """Read a socket to EOF; return (bytes, whether EOF came before the timeout)."""
    sock.settimeout(timeout)
    data = bytearray()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            part = sock.recv(1 << 20)
        except TimeoutError:
            return bytes(data), False
        except ConnectionResetError:
            return bytes(data), True
        if not part:
            return bytes(data), True
        data += part
    return bytes(data), False


def dechunk(raw: bytes) -> tuple[dict[str, str], bytes, bool]:
    """Split a raw HTTP/1.1 chunked response into (headers, body, whether it was terminated)."""
    head, _, rest = raw.partition(b"\r\n\r\n")
    headers = {}
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = bytearray()
    while rest:
        size_line, sep, rest = rest.partition(b"\r\n")
        if not sep:
            return headers, bytes(body), False
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return headers, bytes(body), True
        body += rest[:size]
        rest = rest[size + 2 :]
    return headers, bytes(body), False


def http_request(url: str, headers: dict[str, str] | None = None) -> bytes:
    """The request bytes a raw client sends (for tests that build their own sockets)."""
    return _request_bytes(url, headers)[2]


# -- a server with feeds that gain items on demand ----------------------------------------------
class Newsroom:
    """A running feedhub with one feed per category on a local feed server.

    `publish(slug, n)` puts `n` new items in that category's feed document (which keeps only
    the newest items, as real feeds do) and polls it through the admin refresh endpoint, so
    the articles are committed and announced by the real poller. Blocking: from async tests
    call it through `asyncio.to_thread` (see `apublish`) so streams keep being read.
    """

    def __init__(self, server: Any, feeds: Any, categories: tuple[str, ...] = ("tech", "science")):
        self.server = server
        self.feeds = feeds
        self.url = server.url
        self.feed_ids: dict[str, object] = {}
        self._count = 0
        for slug in categories:
            server.add_category(slug.title(), slug)
            feeds.set(f"/{slug}.xml", self.document(slug, 1, 0))
            self.feed_ids[slug] = server.add_feed(feeds.url(f"/{slug}.xml"), slug)["id"]
        # A new feed is polled at once: wait for the seed articles.
        deadline = time.monotonic() + 15
        while len(self.articles(after=0)) < len(categories):
            if time.monotonic() > deadline:
                raise AssertionError("the seed articles never arrived")
            time.sleep(0.05)

    def document(self, slug: str, n: int, size: int) -> str:
        from tests.support.feedserver import rss

        items = []
        for _ in range(n):
            self._count += 1
            k = self._count
            items.append({
                "guid": f"urn:feedhub-test:{slug}:{k}",
                "link": f"https://example.com/{slug}/{k}",
                "title": f"{slug} story {k}",
                "description": f"<p>Story {k}.</p>" + "x" * size,
                "author": "desk@example.com (The Desk)",
                "pubDate": "Mon, 06 Jan 2025 10:00:00 GMT",
            })  # fmt: skip
        return rss(list(reversed(items)), title=f"{slug.title()} Daily")

    def publish(self, slug: str, n: int = 1, size: int = 0) -> list[int]:
        """Commit `n` new articles of `slug` (summaries padded by `size` bytes); their ids."""
        before = self.newest_id()
        self.feeds.set(f"/{slug}.xml", self.document(slug, n, size))
        result = self.server.refresh(self.feed_ids[slug])
        assert result["new_articles"] == n, result
        return [a["id"] for a in self.articles(after=before, category=slug)]

    async def apublish(self, slug: str, n: int = 1, size: int = 0) -> list[int]:
        return await asyncio.to_thread(self.publish, slug, n, size)

    def articles(self, after: int, category: str | None = None) -> list[dict[str, Any]]:
        """Every article with a larger id, oldest first, through the catch-up API."""
        import httpx

        found: list[dict[str, Any]] = []
        while True:
            params: dict[str, Any] = {"after": after, "limit": 200}
            if category:
                params["category"] = category
            page = httpx.get(f"{self.url}/api/articles", params=params, timeout=10).json()
            found += page
            if len(page) < 200:
                return found
            after = page[-1]["id"]

    def newest_id(self) -> int:
        import httpx

        page = httpx.get(f"{self.url}/api/articles", params={"limit": 1}, timeout=10).json()
        return int(page[0]["id"]) if page else 0

    def health(self) -> dict[str, Any]:
        import httpx

        return dict(httpx.get(f"{self.url}/healthz", timeout=10).json())

    async def wait_health(self, check: Any, within: float = 5.0) -> dict[str, Any]:
        """Poll /healthz until `check(health)` holds; the last answer either way."""
        deadline = time.monotonic() + within
        while True:
            health = await asyncio.to_thread(self.health)
            if check(health) or time.monotonic() > deadline:
                return health
            await asyncio.sleep(0.05)

    async def streams_have_heard(self, newest: int | None = None, within: float = 10.0) -> None:
        """Until a new stream's hello says the server's streams know article `newest` (by
        default the newest committed). A refresh answers once the poll has committed and
        rung the doorbell; the streams hear of the articles a moment later, when the hub has
        read them (until then a resume is answered from the id they know, and the rest
        comes live)."""
        if newest is None:
            newest = await asyncio.to_thread(self.newest_id)
        deadline = time.monotonic() + within
        while True:
            probe = await RawStream.open(f"{self.url}/api/stream")
            try:
                hello = await probe.next_event()
            finally:
                await probe.close()
            heard = int(hello.id) if hello is not None and hello.id else -1
            if heard >= newest:
                return
            assert time.monotonic() < deadline, f"streams know {heard}, not {newest}"
            await asyncio.sleep(0.05)
