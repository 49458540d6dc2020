"""The first thing every routed request meets: only HTTP passes, and a body only within its
route's limit (`feedhub.api.bodies`), read and checked before any middleware or handler
parses it.

Non-HTTP scopes: Litestar hands a WebSocket upgrade to any raw ASGI route whose path
matches (the stream is one), and the middleware and handlers behind this one are written
for HTTP. A WebSocket is closed before it is accepted, which uvicorn answers with 403.

Bodies: `Content-Length` over the limit is refused at once, and a body without one is
counted while it arrives; both with 413 and `Connection: close`, so the rest of the body is
never read. A complete body is then checked (form fields, JSON depth) and handed on.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPRequestEvent, Receive, ReceiveMessage, Scope, Send

from feedhub.api.bodies import BodyLimits
from feedhub.core.logs import Throttled

__all__ = ["RequestGuard"]

log = logging.getLogger("feedhub.api")
_REFUSED = Throttled(log)


class _Refused(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


class _Gone(Exception):
    """The client left before its body was complete: nothing to answer."""


class RequestGuard:
    def __init__(self, app: ASGIApp, limits: BodyLimits) -> None:
        self.app = app
        self.limits = limits

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A request with no body and a query within bounds (most, every stream among them)
        # goes straight on, without a coroutine of this layer: an open stream would hold it
        # for its whole life, one more object for the garbage collector per stream.
        if scope["type"] == ScopeType.HTTP and self._bodiless(scope):
            return self.app(scope, receive, send)
        return self._guard(scope, receive, send)

    def _bodiless(self, scope: Scope) -> bool:
        """True only when `_body` would let the request through without reading anything
        (anything unusual takes `_guard`, which decides)."""
        for key, value in scope["headers"]:
            if key == b"content-length":
                if not value.isdigit() or int(value) > 0:
                    return False
            elif key == b"transfer-encoding":
                return False
        query = scope.get("query_string", b"")
        return not (query and self.limits.refusal(b"", query, b""))

    async def _guard(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Litestar routes only HTTP and WebSocket scopes here (lifespan never is).
        if scope["type"] != ScopeType.HTTP:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1008, "reason": ""})
            return
        try:
            body = await self._body(scope, receive)
        except _Gone:
            return
        except _Refused as refused:
            peer = scope.get("client")
            _REFUSED.log(
                "refused a request from %s to %s: %s",
                peer[0] if peer else "?", scope["path"], refused.detail,
            )  # fmt: skip
            await _answer(send, refused.status, refused.detail, close=refused.status == 413)
            return
        if body is None:
            await self.app(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _body(self, scope: Scope, receive: Receive) -> bytes | None:
        """The whole body, checked; None when the request has none (nothing was read)."""
        length, chunked, content_type = -1, False, b""
        for key, value in scope["headers"]:
            if key == b"content-length":
                length = int(value) if value.isdigit() else -2
            elif key == b"transfer-encoding":
                chunked = True
            elif key == b"content-type":
                content_type = value
        query = scope.get("query_string", b"")
        if length == -2:
            raise _Refused(400, "Content-Length is not a number")
        if length <= 0 and not chunked:  # no body: no limit to look up (most requests)
            if query and (reason := self.limits.refusal(b"", query, b"")):
                raise _Refused(400, reason)
            return None
        limit = self.limits.for_path(scope["path"])
        if length > limit:
            raise _Refused(413, f"the request body is over this route's limit of {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                raise _Gone
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _Refused(413, f"the request body is over this route's limit of {limit} bytes")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if reason := self.limits.refusal(content_type, query, body):
            raise _Refused(400, reason)
        return body


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body already read, as one message; then the client's own (its disconnect)."""
    pending = True

    async def replay() -> ReceiveMessage:
        nonlocal pending
        if pending:
            pending = False
            message: HTTPRequestEvent = {"type": "http.request", "body": body, "more_body": False}
            return message
        return await receive()

    return replay


async def _answer(send: Send, status: int, detail: str, *, close: bool) -> None:
    body = msgspec.json.encode({"status_code": status, "detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    if close:  # the rest of the body is never read: end the connection after the answer
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
