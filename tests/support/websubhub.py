"""A small WebSub hub (W3C Recommendation, 2018) on 127.0.0.1, for protocol tests.

A real HTTP server: subscribers POST `hub.mode=subscribe|unsubscribe` to it, it answers
202 and verifies intent with a GET to the callback (§5.3), keeping the subscription only
when the challenge comes back. `publish` sends a signed fat ping (§7, §8) to every
subscriber of a topic; `hub.mode=publish&hub.url=…` from a publisher does the same after
fetching the topic. Tests may make it deny (§5.2), grant a short lease, or sign wrongly.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class HubSubscription:
    topic: str
    callback: str
    secret: str
    lease_seconds: int
    verified_at: float


@dataclass
class Verification:
    mode: str
    topic: str
    callback: str
    status: int
    echoed: bool


@dataclass
class WebSubHub:
    # Lease granted whatever is asked (None: the asked one).
    lease_seconds: int | None = None
    # Answer subscription requests with a denial (§5.2) instead of a verification.
    deny: bool = False
    subscriptions: dict[tuple[str, str], HubSubscription] = field(default_factory=dict)
    verifications: list[Verification] = field(default_factory=list)
    requests: list[dict[str, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
                status = hub._handle(form)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> WebSubHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    # -- the hub's side of the protocol ----------------------------------------------------
    def _handle(self, form: dict[str, str]) -> int:
        with self._lock:
            self.requests.append(form)
        mode = form.get("hub.mode", "")
        if mode == "publish":
            threading.Thread(target=self._fetch_and_distribute, args=(form["hub.url"],)).start()
            return 204
        if mode not in ("subscribe", "unsubscribe") or not form.get("hub.callback"):
            return 400
        threading.Thread(target=self._verify, args=(form,), daemon=True).start()
        return 202

    def _verify(self, form: dict[str, str]) -> None:
        mode, topic, callback = form["hub.mode"], form["hub.topic"], form["hub.callback"]
        lease = self.lease_seconds or int(form.get("hub.lease_seconds") or 864000)
        if self.deny and mode == "subscribe":
            query = {"hub.mode": "denied", "hub.topic": topic, "hub.reason": "not today"}
            status, _ = _get(callback, query)
            with self._lock:
                self.verifications.append(Verification("denied", topic, callback, status, False))
            return
        challenge = secrets.token_urlsafe(16)
        query = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": challenge}
        if mode == "subscribe":
            query["hub.lease_seconds"] = str(lease)
        status, body = _get(callback, query)
        echoed = status // 100 == 2 and body == challenge.encode()
        with self._lock:
            self.verifications.append(Verification(mode, topic, callback, status, echoed))
            if echoed and mode == "subscribe":
                self.subscriptions[(topic, callback)] = HubSubscription(
                    topic, callback, form.get("hub.secret", ""), lease, time.monotonic()
                )
            elif echoed:
                self.subscriptions.pop((topic, callback), None)

    def _fetch_and_distribute(self, topic: str) -> None:
        with urllib.request.urlopen(topic, timeout=10) as response:  # noqa: S310 (loopback)
            body = response.read()
            content_type = response.headers.get("Content-Type", "application/xml")
        self.publish(topic, body, content_type=content_type)

    # -- what tests use --------------------------------------------------------------------
    def subscribers(self, topic: str) -> list[HubSubscription]:
        with self._lock:
            return [s for s in self.subscriptions.values() if s.topic == topic]

    def verified(self, mode: str) -> list[Verification]:
        with self._lock:
            return [v for v in self.verifications if v.mode == mode and v.echoed]

    def publish(
        self,
        topic: str,
        body: bytes,
        *,
        content_type: str = "application/rss+xml",
        method: str = "sha256",
        secret: str | None = None,
        sign: bool = True,
    ) -> list[int]:
        """A fat ping of `body` to every subscriber of `topic`; their answers' statuses."""
        statuses = []
        for sub in self.subscribers(topic):
            headers = {"Content-Type": content_type}
            if sign:
                key = (sub.secret if secret is None else secret).encode()
                digest = hmac.new(key, body, getattr(hashlib, method)).hexdigest()
                headers["X-Hub-Signature"] = f"{method}={digest}"
            request = urllib.request.Request(sub.callback, body, headers, method="POST")
            statuses.append(_send(request)[0])
        return statuses


def _get(url: str, query: dict[str, str]) -> tuple[int, bytes]:
    separator = "&" if "?" in url else "?"
    return _send(urllib.request.Request(url + separator + urllib.parse.urlencode(query)))


def _send(request: urllib.request.Request) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
