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
            assert time.monotonic() - started < 3

            ids = await upstream.apublish("tech")
            committed = time.monotonic()
            [event] = await stream.articles(1, within=5)
            assert int(event.id or 0) == ids[0]
            assert event.json()["category"] == "tech"
            assert event.received_at - committed < 1.0
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
