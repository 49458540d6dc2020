"""`GET /api/stream`: new articles as Server-Sent Events (DESIGN.md "The stream").

A raw ASGI handler rather than Litestar's ServerSentEvent response: that one re-encodes each
message per client and costs a thread hop per stream start (benchmarks/fanout.py); here the
hub's pre-encoded bytes go to the socket as they are. An open stream is its ASGI task (the
writer) plus one task waiting for the disconnect; it holds no timer and makes no database
read unless it resumes, or its reader is signed in (one read: the feeds they hid). The hub
keeps the newest id and the category slugs in memory, and its ticker sends keep-alives and
cuts stalled writers.

Order of work on connect: subscribe to the hub *first* (which records the hub's newest id
at the same moment), then read the database for the replay, then go live skipping any
event already replayed: `feedhub.live.hub.Subscription` states the exactly-once rule.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar import asgi
from litestar.handlers import ASGIRouteHandler
from litestar.types import HTTPResponseStartEvent, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.articles import articles_after, count_after, newest_id
from feedhub.core import metrics
from feedhub.core.logs import Throttled
from feedhub.core.types import MAX_ID
from feedhub.db.engine import DATABASE_DOWN, DATABASE_RETRY_AFTER
from feedhub.live.hub import StreamHub, Subscription
from feedhub.live.limits import StreamLimits
from feedhub.live.revocations import Revocations
from feedhub.live.sse import KEEPALIVE, encode_articles, sse_block
from feedhub.live.state_events import StateEvents
from feedhub.readers.hidden import hidden_feeds

__all__ = ["StreamConfig", "make_stream_handler", "parse_categories"]

log = logging.getLogger(__name__)
# Outage lines: one per 10 s at most, anonymous clients can open streams at will.
_DOWN = Throttled(log)

_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"connection", b"keep-alive"),
]
_START: HTTPResponseStartEvent = {
    "type": "http.response.start",
    "status": 200,
    "headers": _HEADERS,
}
_REPLAY_PAGE = 200
# Once the hub has ended a stream, how long its writer may take to send the closing chunk.
_END_GRACE = 1.0


class StreamConfig(msgspec.Struct, frozen=True):
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
    """A resume id, or None for anything that is not one of ours (a browser only sends ids
    we gave it). Beyond a BIGINT it is no id of ours either: answering it aborted the
    response and `hello` echoed it, so it is ignored and the stream goes
    live."""
    text = (raw or "").strip()
    # isdigit() alone would pass "²"; int() alone would take "+1", "1_0" and 4,300 digits.
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= MAX_ID else None


async def _send_json_error(
    send: Send, status: int, detail: str, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    body = msgspec.json.encode({"status_code": status, "detail": detail})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()), *headers],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _signed_in(scope: Scope) -> tuple[int, int] | None:
    """The signed-in user and session of this request (settled by feedhub.api.identity)."""
    identity = (scope.get("state") or {}).get("identity")
    if identity is None or identity.user is None or identity.session is None:
        return None
    user_id: int = identity.user.id
    session_id: int = identity.session.id
    return user_id, session_id


def make_stream_handler(
    hub: StreamHub,
    sessions: async_sessionmaker[AsyncSession],
    config: StreamConfig,
    limits: StreamLimits | None = None,
    state_events: StateEvents | None = None,
    revocations: Revocations | None = None,
) -> ASGIRouteHandler:
    limits = limits or StreamLimits(max_total=0, per_client=0)

    @asgi("/api/stream", is_mount=False, copy_scope=False)
    async def stream(scope: Scope, receive: Receive, send: Send) -> None:
        # Every path answers: a status of its own, or the stream's `http.response.start`
        # (uvicorn logs "returned without starting response" otherwise).
        try:
            # Most streams name no category and no resume point: nothing to parse.
            raw_query: bytes = scope.get("query_string", b"")
            query = parse_qsl(raw_query.decode("latin-1")) if raw_query else []
            categories = parse_categories([v for k, v in query if k == "category"]) or None
            header_id = next(
                (v.decode("latin-1") for k, v in scope["headers"] if k == b"last-event-id"),
                None,
            )
            query_id = next((v for k, v in query if k == "last_event_id"), None)
            last_id = _parse_last_id(header_id) if header_id else _parse_last_id(query_id)
            # No database read unless a slug is not in the hub's list.
            unknown = await hub.unknown_categories(categories) if categories else []
        except DATABASE_DOWN as exc:
            _DOWN.log("stream refused: the database is unavailable (%s)", type(exc).__name__)
            retry = [(b"retry-after", str(DATABASE_RETRY_AFTER).encode())]
            await _send_json_error(
                send, 503, "the database is unavailable; try again shortly", retry
            )
            return
        except Exception:
            log.exception("stream request failed")
            await _send_json_error(send, 503, "the stream is unavailable, try again")
            return
        if unknown:
            await _send_json_error(send, 404, f"unknown category: {', '.join(unknown)}")
            return

        peer = scope.get("client")
        client = peer[0] if peer else ""
        if refused := limits.admit(client):
            # Closed after the answer: a refused client must not keep its connection (and
            # its descriptor) either.
            retry = [
                (b"retry-after", str(limits.retry_after).encode()),
                (b"connection", b"close"),
            ]
            await _send_json_error(send, 503, f"too many streams: {refused}", retry)
            return
        try:
            signed_in = _signed_in(scope)
            hidden: frozenset[int] = frozenset()
            if signed_in is not None:
                # The one database read of a signed-in stream's start: the feeds its reader
                # hid are neither replayed nor sent live (read again at each reconnect).
                try:
                    async with sessions() as session:
                        hidden = await hidden_feeds(session, signed_in[0])
                except Exception:
                    log.exception("stream request failed")
                    await _send_json_error(send, 503, "the stream is unavailable, try again")
                    return
            subscription = hub.subscribe(categories, hidden)  # its start_id: see Subscription
            conn = Connection(receive, send, hub, subscription, sessions, config, last_id)
            # A signed-in reader's stream also carries their state changes (`event: state`),
            # and ends when its session is revoked, in whichever process that happens.
            stops: Sequence[Callable[[], None]] = ()
            if signed_in is not None:
                user_id, session_id = signed_in
                listening: list[Callable[[], None]] = []
                if state_events is not None:
                    listening.append(state_events.listen(user_id, subscription.note))
                if revocations is not None:
                    end = functools.partial(subscription.end, "revoked")
                    listening.append(revocations.watch(user_id, session_id, end))
                stops = listening
            try:
                await _serve(conn)
            finally:
                for stop in stops:
                    stop()
                hub.unsubscribe(subscription)
        finally:
            limits.release(client)

    return stream


@dataclass(frozen=True, slots=True)
class Connection:
    """One open stream: what its writer needs, in one place."""

    receive: Receive
    send: Send
    hub: StreamHub
    subscription: Subscription
    sessions: async_sessionmaker[AsyncSession]
    config: StreamConfig
    last_id: int | None  # the client's resume point, if it sent one

    async def write(self, data: bytes) -> None:
        # `sending` tells the hub's ticker this writer is in `send` since that tick: one
        # stuck past the write timeout is ended (no timer per write).
        sub = self.subscription
        sub.sending = tick = self.hub.tick
        await self.send({"type": "http.response.body", "body": data, "more_body": True})
        sub.sending = -1
        sub.last_write = tick


class _Cut:
    """Ends a stream's writer that the hub ended while it is stuck in `send`.

    One object rather than closures: an open stream holds it, and every object an open
    stream holds is one more for the garbage collector to walk (10,000 streams).
    """

    __slots__ = ("cutting", "handles", "task")

    def __init__(self, task: asyncio.Task[Any]) -> None:
        self.task = task
        self.cutting = False
        self.handles: list[asyncio.TimerHandle] | None = None

    def cut_now(self) -> None:
        self.cutting = True
        self.task.cancel()

    def on_end(self) -> None:
        # Ended by the hub (overflow, stalled writer, shutdown): the writer sends the closing
        # chunk at once, unless its client stopped reading and it is stuck in `send`. Then
        # cut it after a short grace, so the stream ends now (the server closes the
        # connection) and frees what it holds.
        handle = asyncio.get_running_loop().call_later(_END_GRACE, self.cut_now)
        if self.handles is None:
            self.handles = [handle]
        else:
            self.handles.append(handle)


async def _serve(conn: Connection) -> None:
    subscription = conn.subscription
    task = asyncio.current_task()
    assert task is not None
    watcher = asyncio.get_running_loop().create_task(_wait_disconnect(conn.receive, subscription))
    cut = _Cut(task)
    subscription.on_end = cut.on_end
    try:
        await _write(conn)
    except asyncio.CancelledError:
        # Our own cut, and nobody else's cancellation pending: the stream just ends.
        if not (cut.cutting and task.uncancel() == 0):
            raise
    except DATABASE_DOWN as exc:  # (resuming reads the database; the client retries)
        _DOWN.log("stream ended: the database is unavailable (%s)", type(exc).__name__)
    except Exception as exc:
        if not isinstance(exc, OSError | TimeoutError):
            log.error("stream writer failed", exc_info=exc)
    finally:
        subscription.on_end = None
        for handle in cut.handles or ():
            handle.cancel()
        watcher.cancel()
    if subscription.ended == "overflow":
        log.info("stream ended: its client fell behind (it will resume from the database)")
    elif subscription.ended == "stalled":
        log.info("stream ended: its client read nothing for %.0f s", conn.hub.write_timeout)
    elif subscription.ended == "revoked":
        log.info("stream ended: its session was revoked")


async def _wait_disconnect(receive: Receive, subscription: Subscription) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            subscription.end("disconnected")
            return


async def _write(conn: Connection) -> None:
    sub, send, write, last_id = conn.subscription, conn.send, conn.write, conn.last_id
    newest = sub.start_id
    await send(_START)
    # hello carries an id too: a client that drops before its first article then resumes
    # from here instead of losing what was committed while it was away.
    resume_from = newest if last_id is None else last_id
    if last_id is not None and last_id > newest:
        # Ahead of this process's newest id: maybe an article whose doorbell has not reached
        # this process yet (another process's stream gave the id). Ask the database.
        async with conn.sessions() as session:
            newest = max(newest, await newest_id(session))
    await write(_hello(conn.config.retry_ms, resume_from, newest))

    sub.sent_upto = newest
    if last_id is not None:
        categories = sorted(sub.categories) if sub.categories else None
        sub.sent_upto = await _replay(conn, categories, last_id, newest)

    while True:
        data = sub.take()  # the next live bytes not sent yet (the exactly-once rule)
        if data is None:
            if sub.ended:  # overflow, stalled, shutdown, disconnected
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            if not sub.beat:
                await sub.wait()
                continue
            sub.beat = False
            data = KEEPALIVE
        await write(data)


@functools.lru_cache(maxsize=8)
def _hello(retry_ms: int, resume_from: int, newest: int) -> bytes:
    """A stream's first bytes: the same for every stream that connects between two articles
    (a reconnect storm builds them once)."""
    return sse_block(retry=retry_ms) + sse_block(
        id=resume_from, event="hello", data=b'{"last_id":%d}' % newest
    )


async def _replay(conn: Connection, categories: list[str] | None, last_id: int, newest: int) -> int:
    """Send what the client missed, oldest first, in pages; return the last id sent."""
    write, sessions, config = conn.write, conn.sessions, conn.config
    subscription = conn.subscription
    async with sessions() as session:
        missed = await count_after(
            session, categories, last_id, config.replay_limit, subscription.hidden
        )
    metrics.RESUMES.inc()
    metrics.RESUME_SIZE.observe(missed)
    # A client ahead of the database (restored from a backup, or its newest article deleted)
    # would skip every new article up to its id: start it afresh too.
    if missed > config.replay_limit or last_id > newest:
        await write(sse_block(id=newest, event="reset", data=b'{"last_id": %d}' % newest))
        return newest
    sent_upto = last_id
    while not subscription.ended:
        async with sessions() as session:
            page = await articles_after(
                session, categories, sent_upto, _REPLAY_PAGE, subscription.hidden
            )
        if not page:
            break
        await write(b"".join(data for _, data in encode_articles(page)))
        sent_upto = page[-1].id
    return sent_upto
