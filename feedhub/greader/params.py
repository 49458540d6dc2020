"""Parameters of Google Reader API requests: query and form merged, the `T` token, counts,
continuations and stream ids, each refused in words (a 4xx) when malformed."""

from __future__ import annotations

import hmac
from typing import Any

from litestar import Request, Response
from litestar.datastructures import MultiDict

from feedhub.errors import NotFoundError, ValidationError
from feedhub.greader import protocol
from feedhub.readers.accounts import SessionInfo

__all__ = [
    "BadToken",
    "bad_token",
    "check_token",
    "continuation",
    "int_param",
    "request_params",
    "stream_or_404",
]

AnyRequest = Request[Any, Any, Any]


async def request_params(request: AnyRequest) -> MultiDict[str]:
    """Query and form parameters together (apps put them in either, repeated `i`, `a`…)."""
    merged: MultiDict[str] = MultiDict(list(request.query_params.multi_items()))
    if request.method == "POST":
        form = await request.form()
        merged.extend([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    return merged


def check_token(params: MultiDict[str], session: SessionInfo) -> None:
    token = params.get("T")
    if token is not None and not hmac.compare_digest(token.encode(), session.csrf_token.encode()):
        raise BadToken()


class BadToken(Exception):
    """A `T` token that is not this session's: apps expect a 401 with a marker header."""


def bad_token(_: AnyRequest, __: BadToken) -> Response[str]:
    return Response(
        "Unauthorized: bad T token",
        media_type="text/plain",
        status_code=401,
        headers={"X-Reader-Google-Bad-Token": "true"},
    )


def int_param(params: MultiDict[str], name: str, parse: Any, **kwargs: Any) -> Any:
    try:
        return parse(params.get(name), **kwargs)
    except ValueError as exc:
        raise ValidationError(f"{name}: {exc}") from None


def continuation(params: MultiDict[str]) -> int | None:
    raw = params.get("c")
    if raw is None or not raw.strip():
        return None
    if not raw.strip().isdigit():
        raise ValidationError("c: not a continuation this server gave")
    return int(raw)


def stream_or_404(raw: str | None) -> protocol.Stream:
    try:
        return protocol.parse_stream(raw or "")
    except ValueError as exc:
        raise NotFoundError(str(exc)) from None
