"""A real nginx on loopback in front of feedhub (Debian's `nginx` package), configured as
docs/proxy.md says: for the stream-through-a-proxy tests and the several-machines test."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.ports import free_port

__all__ = ["BARE", "RECOMMENDED", "Nginx", "documented_locations", "nginx_binary"]

ROOT = Path(__file__).resolve().parents[2]


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


def documented_locations(document: Path = ROOT / "docs" / "proxy.md") -> str:
    """The `location` blocks of the document's nginx configuration, as written there: the
    suite runs what readers copy, so the two cannot drift apart."""
    text = document.read_text(encoding="utf-8")
    config = text.split("```nginx\n", 1)[1].split("```", 1)[0]
    blocks = re.findall(r"^ *location [^{]*\{[^}]*\}", config, re.M)
    assert blocks, f"no nginx location block in {document}"
    return "\n".join(blocks)


# The recommended blocks (the stream and everything else), from docs/proxy.md.
RECOMMENDED = documented_locations()
# nginx's defaults: HTTP/1.0 to the upstream, proxy_buffering on, read timeout 60 s. It works
# because the stream answers `X-Accel-Buffering: no` and heartbeats more often than 60 s.
BARE = """
    location /api/stream {
        proxy_pass http://feedhub;
    }
"""


# Everything but the stream, for configurations that give only a stream block (BARE).
_REST = """
        location / {
            proxy_pass http://feedhub;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }
"""


class Nginx:
    def __init__(
        self,
        workdir: Path,
        upstream_ports: int | list[int],
        stream_block: str,
        http_extra: str = "",
    ) -> None:
        ports = [upstream_ports] if isinstance(upstream_ports, int) else upstream_ports
        servers = "\n        ".join(f"server 127.0.0.1:{port};" for port in ports)
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
        {servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        {stream_block}
        {"" if re.search(r"location / *[{]", stream_block) else _REST}
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
