"""Connection limits. Streams over the total or per-address limit get
503 with Retry-After (and a log line) while `/healthz` still answers; request headers and
bodies that trickle are cut at their deadlines. Against a real `feedhub serve`.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import TOKEN, ServerProcess
from tests.support.sse import RawStream

ENV = {
    "FEEDHUB_MAX_STREAMS": "4",
    "FEEDHUB_MAX_STREAMS_PER_CLIENT": "2",
    "FEEDHUB_HEADER_TIMEOUT_SECONDS": "1",
    "FEEDHUB_BODY_TIMEOUT_SECONDS": "1",
    "FEEDHUB_TICK_SECONDS": "3600",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = ServerProcess(workdir=tmp_path_factory.mktemp("limits"), env=ENV).start()
    try:
        yield process
    finally:
        process.kill()


async def _open(server: ServerProcess, client: str | None = None) -> RawStream:
    # uvicorn trusts X-Forwarded-For from 127.0.0.1 (a local reverse proxy): a way to be
    # several clients from one test.
    headers = {"X-Forwarded-For": client} if client else None
    return await RawStream.open(f"{server.url}/api/stream", headers=headers)


def _healthy(server: ServerProcess) -> None:
    r = httpx.get(f"{server.url}/healthz", timeout=5)
    assert r.status_code == 200, r.text


async def test_streams_over_a_limit_get_503_and_healthz_still_answers(
    server: ServerProcess,
) -> None:
    opened: list[RawStream] = []
    try:
        for _ in range(2):
            opened.append(await _open(server))
            assert opened[-1].status == 200
        refused = await _open(server)
        opened.append(refused)
        assert refused.status == 503
        assert refused.headers["retry-after"].isdigit()
        assert "this address" in json.loads(refused.body)["detail"]
        await asyncio.to_thread(_healthy, server)

        for _ in range(2):
            opened.append(await _open(server, "10.0.0.1"))
            assert opened[-1].status == 200
        over_total = await _open(server, "10.0.0.2")
        opened.append(over_total)
        assert over_total.status == 503
        assert "the server holds its limit of 4" in json.loads(over_total.body)["detail"]
        await asyncio.to_thread(_healthy, server)
        assert "stream refused with 503" in server.log()

        # A closed stream frees its place.
        await opened.pop(-2).close()  # the last one opened with status 200
        deadline = time.monotonic() + 5
        while True:
            again = await _open(server, "10.0.0.2")
            opened.append(again)
            if again.status == 200 or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert again.status == 200
    finally:
        for stream in opened:
            await stream.close()


def _closed_within(sock: socket.socket, seconds: float) -> float:
    """Seconds until the server closed the connection (EOF or reset), or fail."""
    start = time.monotonic()
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"the server kept a trickling connection open past {seconds} s")
    return time.monotonic() - start


@pytest.mark.parametrize(
    ("request_bytes", "what"),
    [
        (b"", "request headers"),  # connected, says nothing
        (b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ", "request headers"),
        # A kept-alive connection's next request: its own deadline, after the first's.
        (
            b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ",
            "request headers",
        ),
        (
            b"POST /api/admin/categories HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n"
            b"Authorization: Bearer " + TOKEN.encode() + b'\r\n\r\n{"name": "Sl',
            "request body",
        ),
    ],
)
def test_trickling_headers_and_bodies_are_cut(
    server: ServerProcess, request_bytes: bytes, what: str
) -> None:
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        if request_bytes:
            sock.sendall(request_bytes)
        took = _closed_within(sock, 6)
    assert took < 5
    deadline = time.monotonic() + 3
    while f"{what} not complete within 1 s" not in server.log() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert f"{what} not complete within 1 s" in server.log()
    _healthy(server)


def test_ordinary_requests_are_not_cut(server: ServerProcess, tmp_path: Path) -> None:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        for _ in range(3):  # keep-alive: several requests on one connection
            assert client.get("/healthz").status_code == 200
            time.sleep(0.4)


def _connect_from(address: str, port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), source_address=(address, 0))


def _held_open(sock: socket.socket, seconds: float) -> bool:
    """Whether the server keeps this idle connection open for `seconds`."""
    sock.settimeout(seconds)
    try:
        return sock.recv(1) != b""
    except TimeoutError:
        return True
    except (ConnectionResetError, BrokenPipeError):
        return False


def test_connections_are_counted_per_address_when_accepted(
    server_factory: type[ServerProcess],
) -> None:
    """One address's idle connections past its limit are closed at once (and logged in one
    line); another address, `/healthz` and a stream included, is not affected."""
    server = server_factory(
        env={
            **ENV,
            "FEEDHUB_MAX_CONNECTIONS_PER_CLIENT": "6",
            "FEEDHUB_MAX_STREAMS": "50",
            "FEEDHUB_HEADER_TIMEOUT_SECONDS": "30",  # idle connections are not cut meanwhile
        }
    ).start()
    held: list[socket.socket] = []
    try:
        for _ in range(6):
            held.append(
                socket.create_connection(
                    ("127.0.0.1", server.port), source_address=("127.0.0.2", 0)
                )
            )
        over = [
            socket.create_connection(("127.0.0.1", server.port), source_address=("127.0.0.2", 0))
            for _ in range(5)
        ]
        held.extend(over)
        for sock in over:  # closed at once; a held one would wait for the 30 s header timeout
            _closed_within(sock, 10)
        assert _held_open(held[0], 0.2)
        with httpx.Client(transport=httpx.HTTPTransport(local_address="127.0.0.3")) as other:
            assert other.get(f"{server.url}/healthz", timeout=5).status_code == 200
        assert server.log().count("the limit per address") == 1
    finally:
        for sock in held:
            sock.close()


async def test_a_refused_stream_closes_its_connection(server: ServerProcess) -> None:
    opened = [await _open(server, "10.0.0.9") for _ in range(3)]
    try:
        assert [s.status for s in opened] == [200, 200, 503]
        assert opened[2].headers.get("connection") == "close"
    finally:
        for stream in opened:
            await stream.close()
