"""Misbehaving servers and documents for the hardening tests.

Handlers plug into `FeedServer` routes (`Route(handler=...)`); the bomb and the big body are
generated as streams so that the test process itself never holds them in memory.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpcore
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog import categories, feeds
from feedhub.db.models import Category, Feed

Handler = Callable[[BaseHTTPRequestHandler], None]

GIB = 1 << 30
MIB = 1 << 20

FEED_HEAD = (
    b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
    b"<title>Big</title><link>http://example.com/</link><description>d</description>"
)


@functools.cache
def gzip_bomb(decoded_size: int = GIB) -> bytes:
    """A valid gzip stream of `decoded_size` zero bytes, about 1 MB for 1 GiB, built fast.

    Compressing 1 GiB takes ~12 s; instead one MiB of zeros is compressed once and ended
    with a full flush (byte-aligned, no back-references past it), so the block can be
    repeated. The trailer carries the CRC and size of the whole 1 GiB, so it is a real
    gzip file that `gzip -d` would inflate to 1 GiB.
    """
    assert decoded_size % MIB == 0
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = compressor.compress(bytes(MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    repeats = decoded_size // MIB
    crc = 0
    zeros = bytes(MIB)
    for _ in range(repeats):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    final_empty_block = b"\x03\x00"
    trailer = struct.pack("<II", crc, decoded_size & 0xFFFFFFFF)
    return header + block * repeats + final_empty_block + trailer


def billion_laughs(levels: int = 10) -> bytes:
    """The classic entity bomb inside an RSS document: 10**levels 'lol's if expanded."""
    entities = ['<!ENTITY lol0 "lol">']
    for level in range(1, levels):
        refs = f"&lol{level - 1};" * 10
        entities.append(f'<!ENTITY lol{level} "{refs}">')
    doctype = "<!DOCTYPE rss [\n" + "\n".join(entities) + "\n]>"
    return (
        '<?xml version="1.0"?>\n'
        + doctype
        + '<rss version="2.0"><channel><title>Laughs</title><link>http://example.com/</link>'
        + f"<item><title>&lol{levels - 1};</title><guid>1</guid></item></channel></rss>"
    ).encode()


def quadratic_blowup(size: int = 50_000, refs: int = 50_000) -> bytes:
    """One long entity referenced many times: no nesting, still gigabytes if expanded."""
    value = "A" * size
    body = "&a;" * refs
    return (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [<!ENTITY a "{value}">]>'
        '<rss version="2.0"><channel><title>Q</title><link>http://example.com/</link>'
        f"<item><title>q</title><guid>1</guid><description>{body}</description></item>"
        "</channel></rss>"
    ).encode()


def _start(request: BaseHTTPRequestHandler, status: int, headers: dict[str, str]) -> None:
    request.send_response(status)
    for name, value in headers.items():
        request.send_header(name, value)
    request.end_headers()


def send_bytes(body: bytes, headers: dict[str, str]) -> Handler:
    """Answer 200 with `body` and a Content-Length (e.g. a gzip bomb, compressed)."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        _start(request, 200, {**headers, "Content-Length": str(len(body))})
        view = memoryview(body)
        for start in range(0, len(body), 64 * 1024):
            request.wfile.write(view[start : start + 64 * 1024])

    return handler


def stream_without_length(total: int, chunk: int = 256 * 1024) -> Handler:
    """A feed-looking body of `total` bytes with no Content-Length (the end is the close),
    generated chunk by chunk: only the client's running byte cap can stop it."""
    filler = (b"<item><title>x</title><description>" + b"y" * 200 + b"</description></item>") * (
        chunk // 256
    )

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        _start(request, 200, {"Content-Type": "application/rss+xml", "Connection": "close"})
        request.wfile.write(FEED_HEAD)
        sent = len(FEED_HEAD)
        while sent < total:
            piece = filler[: total - sent]
            request.wfile.write(piece)
            sent += len(piece)

    return handler


def trickle(stop: threading.Event, every: float = 1.0) -> Handler:
    """A server that sends one byte a second, forever (until the client leaves)."""

    def handler(request: BaseHTTPRequestHandler) -> None:
        request.close_connection = True
        _start(request, 200, {"Content-Type": "application/rss+xml", "Content-Length": "100000"})
        body = (FEED_HEAD * 1000)[:100000]
        for byte in body:
            if stop.is_set():
                return
            request.wfile.write(bytes([byte]))
            request.wfile.flush()
            time.sleep(every)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    def handler(request: BaseHTTPRequestHandler) -> None:
        _start(request, status, {"Location": location, "Content-Length": "0"})

    return handler


class LoopbackOnlyNetwork(httpcore.AsyncNetworkBackend):
    """The test's "network": the dialler under the SSRF guard, recording every dial.

    `aliases` map a name or address to the loopback address that plays it (a "public"
    server that is really a local FeedServer). Anything else that is not loopback raises
    before a socket exists, so a test can never send traffic to 10.0.0.1 or to a cloud
    metadata address, whatever the code under test gets wrong.
    """

    def __init__(self, aliases: dict[str, str] | None = None) -> None:
        self.aliases = aliases or {}
        self.dialled: list[tuple[str, int]] = []
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.dialled.append((host, port))
        target = self.aliases.get(host.strip("[]"), host)
        if target != "localhost" and not ipaddress.ip_address(target.strip("[]")).is_loopback:
            raise AssertionError(f"the test tried to reach a non-loopback address: {host}")
        return await self._inner.connect_tcp(target, port, timeout, local_address, socket_options)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise AssertionError("no unix sockets in these tests")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class V6FeedServer:
    """A one-document feed server on [::1], counting its requests."""

    def __init__(self, body: bytes) -> None:
        owner = self
        self.requests = 0

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                owner.requests += 1
                _start(
                    self, 200, {"Content-Type": "application/xml", "Content-Length": str(len(body))}
                )
                self.wfile.write(body)

        class Server(ThreadingHTTPServer):
            address_family = socket.AF_INET6

        self._httpd = Server(("::1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def url(self, path: str) -> str:
        return f"http://[::1]:{self.port}{path}"

    def __enter__(self) -> V6FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def rss_status_lines() -> dict[str, str]:
    """/proc/self/status as a dict (Linux)."""
    with open("/proc/self/status") as status:
        return dict(line.split(":", 1) for line in status if ":" in line)


def rss_bytes(field: str = "VmRSS") -> int:
    return int(rss_status_lines()[field].split()[0]) * 1024


def reset_peak_rss() -> bool:
    """Reset VmHWM (peak RSS) to the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


class ConcurrencyMeter:
    """A route handler that serves `body` slowly and counts requests in flight per Host."""

    def __init__(self, body: bytes, delay: float) -> None:
        self.body = body
        self.delay = delay
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.total_in_flight = 0
        self.max_total = 0
        self._lock = threading.Lock()

    def __call__(self, request: BaseHTTPRequestHandler) -> None:
        host = (request.headers.get("Host") or "").rsplit(":", 1)[0]
        with self._lock:
            self.in_flight[host] = self.in_flight.get(host, 0) + 1
            self.max_in_flight[host] = max(self.max_in_flight.get(host, 0), self.in_flight[host])
            self.total_in_flight += 1
            self.max_total = max(self.max_total, self.total_in_flight)
        try:
            time.sleep(self.delay)
            _start(
                request,
                200,
                {"Content-Type": "application/rss+xml", "Content-Length": str(len(self.body))},
            )
            request.wfile.write(self.body)
        finally:
            with self._lock:
                self.in_flight[host] -= 1
                self.total_in_flight -= 1


class FakeClock:
    """The poller's clock (`Poller(clock=...)`): time moves only when a test says so."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


async def add_feed(
    sessions: async_sessionmaker[AsyncSession],
    url: str,
    *,
    category: str = "tech",
    now: datetime | None = None,
) -> int:
    """Subscribe `url` the way the admin API does (catalog), creating the category once."""
    async with sessions() as session:
        if await session.scalar(select(Category.id).where(Category.slug == category)) is None:
            await categories.create_category(session, category.title(), category)
        feed = await feeds.create_feed(
            session, url=url, category=category, now=now or datetime.now(UTC)
        )
    return feed.id


async def feed_row(sessions: async_sessionmaker[AsyncSession], feed_id: int) -> Feed:
    async with sessions() as session:
        feed = await session.get(Feed, feed_id)
    assert feed is not None
    return feed
