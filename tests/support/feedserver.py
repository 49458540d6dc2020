"""A real HTTP server on 127.0.0.1 serving feed documents that tests change on the fly.

Runs `http.server.ThreadingHTTPServer` in a background thread. Each path maps to a `Route`
(body, headers, status, optional handler) and every request is recorded, so tests can
assert on conditional headers, counts and concurrency.
"""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    # Send ETag / Last-Modified validators and answer 304 when they match.
    validators: bool = True
    # A custom handler takes over the whole response: handler(request_handler) -> None.
    handler: Callable[[BaseHTTPRequestHandler], None] | None = None
    delay: float = 0.0


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    at: float


class FeedServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802
                server._handle(self)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        # A short poll interval: stopping takes ~50 ms, not up to the default 0.5 s (most
        # tests start a server of their own).
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FeedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- content ---------------------------------------------------------------------------
    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def set(self, path: str, body: bytes | str = b"", **kwargs: Any) -> Route:
        if isinstance(body, str):
            body = body.encode()
        route = Route(body=body, **kwargs)
        with self._lock:
            self.routes[path] = route
        return route

    def requests_to(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # -- serving ---------------------------------------------------------------------------
    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        path = request.path
        with self._lock:
            self.requests.append(
                RecordedRequest(
                    path, {k.lower(): v for k, v in request.headers.items()}, time.monotonic()
                )
            )
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            route = self.routes.get(path)
        try:
            if route is not None and route.delay:
                time.sleep(route.delay)
            if route is None:
                self._send(request, 404, {"Content-Type": "text/plain"}, b"not found")
            elif route.handler is not None:
                route.handler(request)
            else:
                self._serve_route(request, route)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with self._lock:
                self.in_flight -= 1

    def _serve_route(self, request: BaseHTTPRequestHandler, route: Route) -> None:
        headers = {"Content-Type": "application/xml"}
        headers.update(route.headers)
        if route.validators and route.status == 200:
            etag = '"' + hashlib.sha1(route.body).hexdigest()[:16] + '"'
            headers.setdefault("ETag", etag)
            headers.setdefault("Last-Modified", email.utils.formatdate(1_700_000_000, usegmt=True))
            if request.headers.get("If-None-Match") == headers["ETag"]:
                self._send(request, 304, {"ETag": headers["ETag"]}, b"")
                return
        self._send(request, route.status, headers, route.body)

    @staticmethod
    def _send(
        request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        request.send_response(status)
        for name, value in headers.items():
            request.send_header(name, value)
        if status != 304:
            request.send_header("Content-Length", str(len(body)))
        request.end_headers()
        if status != 304 and body:
            request.wfile.write(body)


def rss(
    items: list[dict[str, str]], title: str = "Test feed", link: str = "http://example.com/"
) -> str:
    """A small RSS 2.0 document; items may carry guid, link, title, description, pubDate,
    author, and `enclosure` (raw XML)."""
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
        f"<title>{title}</title><link>{link}</link><description>d</description>"
    ]
    for item in items:
        parts.append("<item>")
        for tag in ("title", "link", "guid", "description", "pubDate", "author"):
            if tag in item:
                parts.append(f"<{tag}>{item[tag]}</{tag}>")
        if "enclosure" in item:  # raw XML: <enclosure url=… length=… type=…/>
            parts.append(item["enclosure"])
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "".join(parts)
