"""The WebSub callback: the hub's verification of intent (GET) and its pushes (POST).

No session, no admin token and no CSRF: hubs call from their servers, not browsers. What
protects it is the unguessable token in the path (one per subscription) and, for pushes,
the HMAC signature over the exact body with the subscription's `hub.secret`. Bad or
missing signatures are acknowledged with 202 and dropped (WebSub §8: the hub must not
learn whether a forged push was taken); a body over FEEDHUB_MAX_FEED_BYTES is 413.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec
from litestar import MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import PathParameter, QueryParameter

from feedhub.api.deps import ServicesDep
from feedhub.api.openapi import errors
from feedhub.ingest.push import PushIntake

__all__ = ["PushReceipt", "websub_handlers"]

# secrets.token_urlsafe(32) is 43 characters; anything else is no token of ours (404, never
# a validation error: its detail would quote the request, challenge included).
Token = Annotated[str, PathParameter(max_length=64)]
_TOKEN = re.compile(r"[A-Za-z0-9_-]{32,64}")
Mode = Annotated[str, QueryParameter(name="hub.mode", max_length=16)]
Topic = Annotated[str, QueryParameter(name="hub.topic", max_length=2048)]
Challenge = Annotated[str, QueryParameter(name="hub.challenge", max_length=1024)]
Lease = Annotated[int | None, QueryParameter(name="hub.lease_seconds", ge=1, le=10 * 365 * 86400)]
_UNKNOWN = "no such subscription, or nothing of this kind awaits verification"


class PushReceipt(msgspec.Struct, frozen=True):
    # Always "received": whether the push was taken is not the sender's business (§8).
    status: str


def _intake(services: ServicesDep, token: str) -> PushIntake:
    if services.push is None or not _TOKEN.fullmatch(token):
        raise NotFoundException(detail=_UNKNOWN)
    return services.push


@get("/websub/{token:str}", media_type=MediaType.TEXT, responses=errors(400, 404), tags=["websub"])
async def websub_verify(
    token: Token,
    services: ServicesDep,
    mode: Mode = "",
    topic: Topic = "",
    challenge: Challenge = "",
    lease: Lease = None,
) -> str:
    """A hub verifies intent (§5.3): `hub.challenge` comes back only for a (mode, topic)
    feedhub asked for and still awaits; anything else is 404. `denied` (§5.2): 200."""
    answer = await _intake(services, token).subscriber.verify(token, mode, topic, challenge, lease)
    if answer is None:
        raise NotFoundException(detail=_UNKNOWN)
    return answer


@post(
    "/websub/{token:str}",
    status_code=202,
    responses=errors(400, 404, 413),
    tags=["websub"],
    # Our own cap (the feed body cap, a setting) is applied while reading, below.
    request_max_body_size=None,
)
async def websub_push(
    token: Token, request: Request[Any, Any, Any], services: ServicesDep
) -> Response[PushReceipt]:
    """A hub's push (content distribution, §7): the topic's new content, signed."""
    intake = _intake(services, token)
    cap = services.settings.max_feed_bytes
    declared = request.headers.get("content-length", "")
    chunks: list[bytes] = []
    size = 0
    too_large = declared.isdigit() and int(declared) > cap
    if not too_large:
        async for chunk in request.stream():
            size += len(chunk)
            if size > cap:
                too_large = True
                break
            chunks.append(chunk)
    if too_large:
        await intake.subscriber.reject(token, "too large a body for")
        raise HTTPException(status_code=413, detail=f"the body is over {cap} bytes")
    await intake.receive(
        token,
        b"".join(chunks),
        signature=request.headers.get("x-hub-signature"),
        content_type=request.headers.get("content-type"),
    )
    # 2xx whatever became of it (§8): a forger learns nothing, a hub does not retry forever.
    return Response(PushReceipt("received"), status_code=202)


def websub_handlers() -> list[Any]:
    return [websub_verify, websub_push]
