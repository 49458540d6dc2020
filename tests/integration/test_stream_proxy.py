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
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.feedserver import FeedServer
from tests.support.server import ServerProcess, free_port
from tests.support.sse import Newsroom, RawStream


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).is_file()), None
    )
    if found:
        return found
    reason = "nginx is not installed (Debian package `nginx`): the proxy test cannot run"
    if os.environ.get("CI"):
        pytest.fail(reason + " — and CI is set, so this is a failure")
    pytest.skip(reason)


# The recommended block, as in docs/proxy.md.
RECOMMENDED = """
    location /api/stream {
        proxy_pass http://feedhub;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_buffering off;
        proxy_cache off;
        proxy_read_timeout 3600s;
        gzip off;
    }
"""
# nginx's defaults: HTTP/1.0 to the upstream, proxy_buffering on, read timeout 60 s. It works
# because the stream answers `X-Accel-Buffering: no` and heartbeats more often than 60 s.
BARE = """
    location /api/stream {
        proxy_pass http://feedhub;
    }
"""


class Nginx:
    def __init__(
        self, workdir: Path, upstream_port: int, stream_block: str, http_extra: str = ""
    ) -> None:
        self.port = free_port()
        self.workdir = workdir
        for sub in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (workdir / sub).mkdir(parents=True, exist_ok=True)
        user = "user root root;" if os.geteuid() == 0 else ""
        (workdir / "nginx.conf").write_text(f"""
{user}
daemon off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log {workdir}/access.log;
    client_body_temp_path {workdir}/client_body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    {http_extra}
    upstream feedhub {{
        server 127.0.0.1:{upstream_port};
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        {stream_block}
        location / {{
            proxy_pass http://feedhub;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
""")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        path = self.workdir / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def start(self) -> Nginx:
        conf = self.workdir / "nginx.conf"
        self.proc = subprocess.Popen(
            [nginx_binary(), "-p", str(self.workdir), "-e", str(self.workdir / "error.log"),
             "-c", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"nginx exited: {err}\n{self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen in 10 s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # fast shutdown of master and workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()


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
