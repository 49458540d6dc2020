"""What every Google Reader route shares: its caller, its parameters, its answers."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec
from litestar import Request, Response
from litestar.datastructures import MultiDict

from feedhub.api.identity import identity_of
from feedhub.core.errors import AuthError, NotFoundError, ValidationError
from feedhub.greader import protocol
from feedhub.readers.accounts import SessionInfo, UserInfo

__all__ = [
    "BadToken",
    "bad_token",
    "caller",
    "check_token",
    "cursor_of",
    "json_response",
    "params_of",
    "parse_param",
    "path_stream_id",
    "stream_of",
    "text_response",
]

AnyRequest = Request[Any, Any, Any]
_TEXT = "text/plain"
_JSON = "application/json"


def json_response(body: object) -> Response[bytes]:
    return Response(msgspec.json.encode(body), media_type=_JSON, status_code=200)


def text_response(
    body: str, status: int = 200, headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(body, media_type=_TEXT, status_code=status, headers=headers)


def caller(request: AnyRequest) -> tuple[UserInfo, SessionInfo]:
    identity = identity_of(request)
    if identity is None or identity.via != "googlelogin" or identity.session is None:
        raise AuthError("send Authorization: GoogleLogin auth=<token> (from ClientLogin)")
    assert identity.user is not None
    return identity.user, identity.session


async def params_of(request: AnyRequest) -> MultiDict[str]:
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


async def change_of(request: AnyRequest) -> tuple[UserInfo, MultiDict[str]]:
    """The caller and the parameters of a change (POST): its `T` token checked."""
    user, session = caller(request)
    params = await params_of(request)
    check_token(params, session)
    return user, params


class BadToken(Exception):
    pass


def bad_token(_: AnyRequest, __: BadToken) -> Response[str]:
    return text_response("Unauthorized: bad T token", 401, {"X-Reader-Google-Bad-Token": "true"})


def parse_param(params: MultiDict[str], name: str, parse: Any, **kwargs: Any) -> Any:
    try:
        return parse(params.get(name), **kwargs)
    except ValueError as exc:
        raise ValidationError(f"{name}: {exc}") from None


def cursor_of(params: MultiDict[str]) -> int | None:
    raw = params.get("c")
    if raw is None or not raw.strip():
        return None
    try:
        return protocol.parse_decimal_id(raw.strip())
    except ValueError:
        raise ValidationError("c: not a continuation this server gave") from None


def stream_of(raw: str | None) -> protocol.Stream:
    try:
        return protocol.parse_stream(raw or "")
    except ValueError as exc:
        raise NotFoundError(str(exc)) from None


def path_stream_id(request: AnyRequest, marker: str, routed: str) -> str:
    """The stream id of a path form (`.../stream/contents/<id>`, `/reader/atom/<id>`), read
    from the raw path after `marker`: routing collapses `//`, and `feed/http://host/x`
    must keep its own (`?s=` never had the problem). Percent-decoded once, as the router
    would; `routed` (the router's path parameter) when the server gave no raw path."""
    raw = request.scope.get("raw_path")
    if not isinstance(raw, bytes):
        return routed
    # Some servers (and httpx's test transport) keep the query string in raw_path.
    _, found, rest = raw.partition(b"?")[0].partition(marker.encode())
    if not found:
        return routed
    return unquote_to_bytes(rest).decode("utf-8", "replace")
