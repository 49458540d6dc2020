"""`GET /api/stream`: new articles as Server-Sent Events (DESIGN.md "The stream").

A raw ASGI handler rather than Litestar's ServerSentEvent response: that one re-encodes each
message per client and costs a thread hop per stream start (issue 3's measurements); here the
hub's pre-encoded bytes go to the socket as they are, and an idle stream is one coroutine
waiting on its queue plus one waiting for the disconnect.

Order of work on connect: subscribe to the hub *first*, then read the database for the
replay, then go live skipping any event already replayed — so an article committed during
the replay is delivered exactly once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import parse_qsl

import msgspec
from litestar import asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import Receive, Scope, Send
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.api.hub import StreamHub, Subscription, encode_events
from feedhub.api.queries import articles_after, count_after, newest_id
from feedhub.models import Category

__all__ = ["StreamConfig", "make_stream_handler", "parse_categories"]

log = logging.getLogger(__name__)

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
]
_KEEPALIVE = b": keep-alive\n\n"
_REPLAY_PAGE = 200
# A client whose socket accepts nothing for this long is gone or stalled: end its stream.
_WRITE_TIMEOUT = 10.0
# Once the hub has ended a stream, how long its writer may take to send the closing chunk.
_END_GRACE = 1.0


class StreamConfig(msgspec.Struct, frozen=True):
    heartbeat_seconds: float
    replay_limit: int
    retry_ms: int = 3000


def parse_categories(values: Sequence[str]) -> list[str]:
    """`?category=a&category=b` and `?category=a,b` alike; order kept, repeats dropped."""
    found: dict[str, None] = {}
    for value in values:
        for part in value.split(","):
            if part := part.strip():
                found[part] = None
    return list(found)


def _parse_last_id(raw: str | None) -> int | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None  # a browser only sends ids we gave it; ignore anything else
    return value if value >= 0 else None


async def _send_json_error(send: Send, status: int, detail: str) -> None:
    body = msgspec.json.encode({"status_code": status, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode())],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body, "more_body": False})


def make_stream_handler(
    hub: StreamHub, sessions: async_sessionmaker[AsyncSession], config: StreamConfig
) -> ASGIRouteHandler:
    @asgi("/api/stream", is_mount=False, copy_scope=False)
    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
        categories = parse_categories([v for k, v in query if k == "category"]) or None
        header_id = next(
            (v.decode("latin-1") for k, v in scope["headers"] if k == b"last-event-id"), None
        )
        query_id = next((v for k, v in query if k == "last_event_id"), None)
        last_id = _parse_last_id(header_id) if header_id else _parse_last_id(query_id)

        if categories:
            async with sessions() as session:
                lookup = select(Category.slug).where(Category.slug.in_(categories))
                known = set(await session.scalars(lookup))
            unknown = [c for c in categories if c not in known]
            if unknown:
                await _send_json_error(send, 404, f"unknown category: {', '.join(unknown)}")
                return

        subscription = hub.subscribe(categories)
        try:
            await _serve(scope, receive, send, subscription, sessions, config, last_id)
        finally:
            hub.unsubscribe(subscription)

    return stream


async def _serve(
    scope: Scope,
    receive: Receive,
    send: Send,
    subscription: Subscription,
    sessions: async_sessionmaker[AsyncSession],
    config: StreamConfig,
    last_id: int | None,
) -> None:
    loop = asyncio.get_running_loop()
    writer = asyncio.create_task(_write(send, subscription, sessions, config, last_id))
    watcher = asyncio.create_task(_wait_disconnect(receive))
    cut: list[asyncio.TimerHandle] = []

    def on_end() -> None:
        # Ended by the hub (overflow, shutdown): the writer sends the closing chunk at once,
        # unless its client stopped reading and it is stuck in `send`. Then cut it after a
        # short grace rather than the write timeout, so the stream ends now (the server
        # closes the connection) and frees what it holds.
        cut.append(loop.call_later(_END_GRACE, writer.cancel))

    subscription.on_end = on_end
    try:
        await asyncio.wait({writer, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        subscription.on_end = None
        for handle in cut:
            handle.cancel()
        for task in (writer, watcher):
            task.cancel()
        await asyncio.gather(writer, watcher, return_exceptions=True)
    if subscription.ended == "overflow":
        log.info("stream ended: its client fell behind (it will resume from the database)")
    if (
        writer.done()
        and not writer.cancelled()
        and (exc := writer.exception())
        and not isinstance(exc, OSError | TimeoutError)
    ):
        log.error("stream writer failed", exc_info=exc)


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _write(
    send: Send,
    subscription: Subscription,
    sessions: async_sessionmaker[AsyncSession],
    config: StreamConfig,
    last_id: int | None,
) -> None:
    async def write(data: bytes, more: bool = True) -> None:
        async with asyncio.timeout(_WRITE_TIMEOUT):
            await send({"type": "http.response.body", "body": data, "more_body": more})

    categories = sorted(subscription.categories) if subscription.categories else None
    async with sessions() as session:
        newest = await newest_id(session)
    await send({"type": "http.response.start", "status": 200, "headers": _HEADERS})
    # hello carries an id too: a client that drops before its first article then resumes
    # from here instead of losing what was committed while it was away.
    resume_from = newest if last_id is None else last_id
    hello = b"retry: %d\n\nid: %d\nevent: hello\ndata: %s\n\n" % (
        config.retry_ms, resume_from, msgspec.json.encode({"last_id": newest}),
    )  # fmt: skip
    await write(hello)

    sent_upto = newest
    if last_id is not None:
        sent_upto = await _replay(write, sessions, categories, last_id, newest, config)

    while True:
        try:
            async with asyncio.timeout(config.heartbeat_seconds):
                batch = await subscription.queue.get()
        except TimeoutError:
            await write(_KEEPALIVE)
            continue
        if batch is None:  # ended by the hub: overflow or shutdown
            await write(b"", more=False)
            return
        if batch.last_id <= sent_upto:
            continue
        await write(batch.after(sent_upto))
        sent_upto = batch.last_id


async def _replay(
    write: Callable[[bytes], Awaitable[None]],
    sessions: async_sessionmaker[AsyncSession],
    categories: list[str] | None,
    last_id: int,
    newest: int,
    config: StreamConfig,
) -> int:
    """Send what the client missed, oldest first, in pages; return the last id sent."""
    async with sessions() as session:
        missed = await count_after(session, categories, last_id, config.replay_limit)
    # A client ahead of the database (restored from a backup, or its newest article deleted)
    # would skip every new article up to its id: start it afresh too.
    if missed > config.replay_limit or last_id > newest:
        await write(b'id: %d\nevent: reset\ndata: {"last_id": %d}\n\n' % (newest, newest))
        return newest
    sent_upto = last_id
    while True:
        async with sessions() as session:
            page = await articles_after(session, categories, sent_upto, _REPLAY_PAGE)
        if not page:
            return sent_upto
        await write(b"".join(data for _, data in encode_events(page)))
        sent_upto = page[-1].id
