"""A bounded soak: about a minute of one hostile address against a real `feedhub serve`,
while a second address keeps being served.

From 127.0.0.2: 1,100 streams, a burst of 10 MB forms to the sign-in route, JSON nested
1,000 deep, and connections that trickle their headers. From 127.0.0.3, all along:
`/healthz`, a stream (its `hello`) and a sign-in must each answer (the latencies are
printed, and written down in benchmarks/README.md, "Soak"; no timed assertion), and the
server's RSS stays under a stated bound. 127.0.0.2 and .3 are loopback addresses on Linux.
"""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow

HOSTILE, HONEST = "127.0.0.2", "127.0.0.3"
SOAK_SECONDS = 45
RSS_BOUND_MB = 400
PASSWORD = "correct horse battery"


def _rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(x for x in status.splitlines() if x.startswith("VmRSS:")).split()[1]) / 1024


async def _connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
    with contextlib.suppress(OSError):
        return await asyncio.open_connection("127.0.0.1", port, local_addr=(HOSTILE, 0))
    return None


async def _streams(port: int, count: int, held: list[asyncio.StreamWriter]) -> None:
    request = b"GET /api/stream HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(count):
        opened = await _connect(port)
        if opened is None:
            continue
        _, writer = opened
        with contextlib.suppress(OSError):
            writer.write(request)
        held.append(writer)


async def _big_forms(port: int, stop: asyncio.Event) -> None:
    head = (
        b"POST /accounts/ClientLogin HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 10485760\r\n\r\n"
    )
    chunk = b"Email=a&" * 8192
    while not stop.is_set():
        opened = await _connect(port)
        if opened is None:
            await asyncio.sleep(0.05)
            continue
        reader, writer = opened
        # 10 MB, for as long as the server reads it (it should stop at the headers).
        with contextlib.suppress(ConnectionError, TimeoutError):
            writer.write(head)
            for _ in range(160):
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), 15)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(reader.read(), 2)
        writer.close()


async def _nested_json(port: int, stop: asyncio.Event) -> None:
    body = b"[" * 1000 + b"]" * 1000
    request = (
        b"POST /api/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)
    ) + body
    while not stop.is_set():
        opened = await _connect(port)
        if opened is None:
            await asyncio.sleep(0.05)
            continue
        reader, writer = opened
        with contextlib.suppress(Exception):
            writer.write(request)
            await asyncio.wait_for(reader.read(), 5)
        writer.close()


async def _slow_headers(port: int, stop: asyncio.Event) -> None:
    while not stop.is_set():
        opened = await _connect(port)
        if opened is None:
            await asyncio.sleep(0.2)
            continue
        _, writer = opened
        with contextlib.suppress(OSError):
            for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: ":
                writer.write(bytes([byte]))
                await asyncio.sleep(0.5)
                if stop.is_set():
                    break
        writer.close()


async def _honest(
    server: ServerProcess, stop: asyncio.Event, latencies: dict[str, list[float]]
) -> None:
    transport = httpx.AsyncHTTPTransport(local_address=HONEST)
    async with httpx.AsyncClient(base_url=server.url, transport=transport, timeout=10) as client:
        while not stop.is_set():
            started = time.monotonic()
            r = await client.get("/healthz")
            assert r.status_code == 200, r.text
            latencies["healthz"].append(time.monotonic() - started)

            started = time.monotonic()
            async with client.stream("GET", "/api/stream") as stream:
                assert stream.status_code == 200
                async for line in stream.aiter_lines():
                    if line.startswith("event: hello"):
                        break
            latencies["stream hello"].append(time.monotonic() - started)

            started = time.monotonic()
            r = await client.post("/api/session", json={"name": "ann", "password": PASSWORD})
            assert r.status_code == 200, r.text
            latencies["sign-in"].append(time.monotonic() - started)
            await asyncio.sleep(0.5)


def _summary(values: list[float]) -> str:
    ordered = sorted(values)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    top = ordered[-1]
    return f"n={len(ordered)} p50={p50 * 1e3:.0f} ms p99={p99 * 1e3:.0f} ms max={top * 1e3:.0f} ms"


@pytest.mark.long
async def test_one_hostile_address_does_not_take_the_service_down(
    server_factory: type[ServerProcess],
) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096 <= hard or hard == resource.RLIM_INFINITY:
        resource.setrlimit(resource.RLIMIT_NOFILE, (4096, hard))  # this side's 1,100 sockets
    server = server_factory(env={"FEEDHUB_TICK_SECONDS": "3600"}).start()
    assert server.proc is not None
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": PASSWORD})
        assert r.status_code == 201, r.text
    latencies: dict[str, list[float]] = {"healthz": [], "stream hello": [], "sign-in": []}
    stop = asyncio.Event()
    held: list[asyncio.StreamWriter] = []
    peak = 0.0
    honest = asyncio.create_task(_honest(server, stop, latencies))
    attacks = [
        asyncio.create_task(_streams(server.port, 1100, held)),
        *(asyncio.create_task(_big_forms(server.port, stop)) for _ in range(4)),
        asyncio.create_task(_nested_json(server.port, stop)),
        *(asyncio.create_task(_slow_headers(server.port, stop)) for _ in range(20)),
    ]
    try:
        deadline = time.monotonic() + SOAK_SECONDS
        while time.monotonic() < deadline and not honest.done():
            peak = max(peak, _rss_mb(server.proc.pid))
            await asyncio.sleep(0.5)
    finally:
        stop.set()
        await asyncio.wait_for(honest, 30)
        for task in attacks:
            task.cancel()
        await asyncio.gather(*attacks, return_exceptions=True)
        for writer in held:
            writer.close()
    print(f"soak: held {len(held)} stream connections; peak RSS {peak:.0f} MB")
    for name, values in latencies.items():
        print(f"soak: {name}: {_summary(values)}")
        assert values, f"{name} never answered"
    assert peak < RSS_BOUND_MB, f"the server grew to {peak:.0f} MB"
    assert "Traceback" not in server.log()
