"""HTTP concerns of every response: the error shape, logged 500s, security headers.

Why a raw ASGI middleware for the headers: the static files router and the raw stream
handler answer outside Litestar's response objects, and every HTML answer must carry the
headers, whoever produced it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.exceptions import HTTPException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from feedhub.core.errors import (
    AuthError,
    ConfigError,
    ConflictError,
    FeedhubError,
    ForbiddenError,
    NotFoundError,
    ParseError,
    RateLimitedError,
    ValidationError,
)
from feedhub.core.logs import Throttled
from feedhub.db.engine import DATABASE_DOWN, DATABASE_RETRY_AFTER

__all__ = [
    "SecurityHeaders",
    "database_unavailable",
    "feedhub_error",
    "http_error",
    "internal_error",
    "log_unhandled",
]

log = logging.getLogger("feedhub.api")

_STATUS = {
    AuthError: 401,
    ForbiddenError: 403,
    RateLimitedError: 429,
    ValidationError: 422,
    ParseError: 422,
    NotFoundError: 404,
    ConflictError: 409,
    ConfigError: 500,
}


# Errors are JSON whatever the route's media type: Litestar's default answered the guard's
# 401 on `GET /api/admin/opml` as `text/x-opml`, and a 404 of an output feed as Atom (found
# by the API fuzzer).
def feedhub_error(_: Request[Any, Any, State], exc: FeedhubError) -> Response[object]:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
    if status >= 500:
        log.error("request failed: %s", exc, exc_info=exc)
    body = {"status_code": status, "detail": str(exc)}
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimitedError) else None
    return Response(body, status_code=status, media_type=MediaType.JSON, headers=headers)


def http_error(_: Request[Any, Any, State], exc: HTTPException) -> Response[object]:
    body: dict[str, object] = {"status_code": exc.status_code, "detail": exc.detail}
    if exc.extra is not None:
        body["extra"] = exc.extra
    if exc.status_code >= 500:
        body["detail"] = "Internal Server Error"
    return Response(
        body, status_code=exc.status_code, headers=exc.headers, media_type=MediaType.JSON
    )


_DOWN = Throttled(log)


def database_unavailable(request: Request[Any, Any, State], exc: Exception) -> Response[object]:
    """The database did not answer: 503 with Retry-After, one log line per 10 s at most."""
    _DOWN.log("database unavailable answering %s %s: %s", request.method, request.url.path,
              type(exc).__name__, level=logging.ERROR)  # fmt: skip
    body = {"status_code": 503, "detail": "the database is unavailable; try again shortly"}
    return Response(
        body,
        status_code=503,
        media_type=MediaType.JSON,
        headers={"Retry-After": str(DATABASE_RETRY_AFTER)},
    )


def internal_error(_: Request[Any, Any, State], exc: Exception) -> Response[object]:
    """Any other exception: a 500 in JSON, without internals (logged by `log_unhandled`)."""
    body = {"status_code": 500, "detail": "Internal Server Error"}
    return Response(body, status_code=500, media_type=MediaType.JSON)


async def log_unhandled(exc: Exception, scope: Scope) -> None:
    """`after_exception` hook: every exception that becomes a 500 is logged with its
    traceback (otherwise a 500 leaves no trace at all).

    HTTP exceptions below 500 are answers, not failures; FeedhubErrors are mapped (and a
    5xx among them logged) by `feedhub_error`.
    """
    if isinstance(exc, FeedhubError):
        return
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return
    if isinstance(exc, DATABASE_DOWN):  # answered and logged by `database_unavailable`
        return
    method = scope.get("method", "")
    path = scope.get("path", "")
    log.error("unhandled error answering %s %s", method, path, exc_info=exc)


# The page needs its own scripts, styles and API; articles show images and media from
# anywhere. No inline script, no plugin, no framing (clickjacking of the admin page).
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src * data:; "
    "media-src *; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_HTML = [
    (b"content-security-policy", _CSP.encode()),
    (b"x-frame-options", b"DENY"),
]
_NUL_BODY = msgspec.json.encode({"status_code": 400, "detail": "the path contains a NUL character"})


class SecurityHeaders:
    """Adds nosniff and Referrer-Policy to every response, CSP and framing rules to every
    HTML one; refuses a path with a NUL byte (the static files router answered it 500)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # The stream is no page: it goes straight on, without even a coroutine of this layer
        # (an open stream would hold it for its whole life).
        if scope["type"] != ScopeType.HTTP or scope["path"] == "/api/stream":
            return self.app(scope, receive, send)
        return self._secure(scope, receive, send)

    async def _secure(self, scope: Scope, receive: Receive, send: Send) -> None:
        if "\x00" in scope["path"]:
            await send(
                {
                    "type": "http.response.start",
                    "status": 400,
                    "headers": [*_ALWAYS, (b"content-type", b"application/json"),
                                (b"content-length", str(len(_NUL_BODY)).encode())],
                }
            )  # fmt: skip
            await send({"type": "http.response.body", "body": _NUL_BODY, "more_body": False})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                content_type = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                headers.extend(_ALWAYS)
                if content_type.lower().startswith(b"text/html"):
                    headers.extend(_HTML)
                # A copy: the stream handler's start message is a shared constant.
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
