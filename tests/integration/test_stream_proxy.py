"""The stream through a real nginx on loopback (the classic SSE failure).

A buffering reverse proxy holds events back until its buffer fills or the response ends, so
the page never sees `hello` and falls back to polling. nginx is started by the test with
the configuration of docs/proxy.md, and also with a bare `proxy_pass`, which works too
because the stream answers `X-Accel-Buffering: no` (nginx then stops buffering it).

Needs the Debian `nginx` package (/usr/sbin/nginx). Without it the test is skipped, unless
the environment variable CI is set: then a missing nginx is a failure.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.feedserver import FeedServer
from tests.support.nginx import BARE, RECOMMENDED, Nginx, nginx_binary
from tests.support.server import ServerProcess
from tests.support.sse import Newsroom, RawStream


@pytest.fixture(scope="module")
def upstream(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Newsroom]:
    nginx_binary()  # skip (or fail under CI) before starting anything
    workdir = tmp_path_factory.mktemp("proxy")
    with FeedServer() as feeds:
        server = ServerProcess(
            workdir=workdir, env={"FEEDHUB_TICK_SECONDS": "3600", "FEEDHUB_HEARTBEAT_SECONDS": "1"}
        ).start()
        try:
            yield Newsroom(server, feeds, ("tech",))
        finally:
            server.kill()


# With the recommended block, even a server-wide gzip that names text/event-stream (which
# would hold events in the compressor) is kept off the stream by its `gzip off`.
GZIP_EVERYTHING = "gzip on; gzip_types text/event-stream application/json;"


@pytest.mark.parametrize(
    ("block", "http_extra"),
    [(RECOMMENDED, GZIP_EVERYTHING), (BARE, "")],
    ids=["recommended", "bare-proxy-pass"],
)
async def test_stream_through_nginx_delivers_live(
    upstream: Newsroom, tmp_path: Path, block: str, http_extra: str
) -> None:
    proxy = Nginx(tmp_path / "nginx", upstream.server.port, block, http_extra).start()
    try:
        started = time.monotonic()
        stream = await RawStream.open(
            f"{proxy.url}/api/stream?category=tech", headers={"Accept-Encoding": "gzip"}
        )
        try:
            assert stream.status == 200, stream.body
            assert stream.headers["content-type"].startswith("text/event-stream")
            assert "content-encoding" not in stream.headers  # gzip would buffer the stream
            hello = await stream.next_event(within=3)
            # The page's test: hello within a few seconds, else it assumes a buffering proxy.
            assert hello is not None and hello.event == "hello", proxy.log()
            assert time.monotonic() - started < 4  # the page's HELLO_TIMEOUT_MS

            ids = await upstream.apublish("tech")
            committed = time.monotonic()
            [event] = await stream.articles(1, within=5)
            assert int(event.id or 0) == ids[0]
            assert event.json()["category"] == "tech"
            # Through, not held: a buffering proxy keeps a small event for minutes.
            assert event.received_at - committed < 4.0
            # Heartbeats pass through too (they keep the proxy's read timeout from firing).
            comment = await stream.next_event(within=3, comments=True)
            assert comment is not None and comment.comment == "keep-alive"
        finally:
            await stream.close()
        # The catch-up API answers through the same proxy.
        r = await asyncio.to_thread(
            httpx.get, f"{proxy.url}/api/articles", params={"after": ids[0] - 1}
        )
        assert [a["id"] for a in r.json()] == ids
    finally:
        proxy.stop()


def test_the_documented_block_gives_each_reader_their_own_address(
    upstream: Newsroom, tmp_path: Path
) -> None:
    """Through the documented proxy (every route), one address's failed sign-ins lock out
    that address only: without `X-Forwarded-For` on `location /`, everyone shared nginx's
    127.0.0.1 and five failures locked every reader out."""
    server = upstream.server
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": "correct horse 1"})
        assert r.status_code in (201, 409), r.text
    proxy = Nginx(tmp_path / "nginx", server.port, RECOMMENDED).start()
    attacker = httpx.Client(
        base_url=proxy.url, transport=httpx.HTTPTransport(local_address="127.0.0.2"), timeout=10
    )
    try:
        with attacker:
            statuses = {
                attacker.post("/api/session", json={"name": "x", "password": "wrong"}).status_code
                for _ in range(8)
            }
        assert 429 in statuses, statuses
        r = httpx.post(
            f"{proxy.url}/api/session", json={"name": "ann", "password": "correct horse 1"}
        )
        assert r.status_code == 200, r.text
    finally:
        proxy.stop()


def test_the_docs_show_one_nginx_configuration() -> None:
    """README.md and docs/deploy.md show docs/proxy.md's configuration, the one the suite
    runs (tests/support/nginx.py reads it from there)."""
    root = Path(__file__).resolve().parents[2]

    def nginx_block(name: str) -> str:
        text = (root / name).read_text(encoding="utf-8")
        return text.split("```nginx\n", 1)[1].split("```", 1)[0]

    documented = nginx_block("docs/proxy.md")
    assert "X-Forwarded-For" in documented and "X-Forwarded-Proto" in documented
    for name in ("README.md", "docs/deploy.md"):
        assert nginx_block(name) == documented, name
