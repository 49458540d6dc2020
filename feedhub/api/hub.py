"""This process's fan-out: bus doorbells in, encoded SSE bytes out to every subscriber.

A doorbell is turned into events once — one database read, one JSON encoding per article —
and the resulting bytes object is shared by every subscriber whose categories match, so a
batch of 50 new articles costs each subscriber one queue item and one socket write.
Doorbells are handled by a single worker, in arrival order: ids then reach each subscriber
in increasing order, which the stream's "skip what was already sent" rule relies on.

Across processes (issue 10) a doorbell is only a hint: pub/sub may lose one, and two
processes' doorbells may arrive out of commit order. So the hub never fans out by the ids a
doorbell names. It remembers the newest id it has fanned out and, on a doorbell, after every
bus (re)connection and on a slow safety timer, reads the articles after that id from the
database, oldest first, and fans those out. Ids are monotonic in commit order on every
database (ingest/store.py), so "after the newest fanned out" never skips a committed
article, and the stream's "skip what was already sent" rule keeps delivery exactly once.

Per stream the hub keeps as little as it can (issue 3's benchmark: 10,000 streams on one
core): a `Subscription` is a deque plus a future that exists only while its writer waits.
No timer per stream either: one ticker every half heartbeat sends the shared keep-alive to
streams that have been quiet, and ends streams whose writer has been stuck on a socket
longer than the write timeout. The hub also keeps, in memory, the newest article id it has
heard of and the category slugs, so that opening a stream costs no database read.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub import metrics
from feedhub.api.queries import articles_after, newest_id
from feedhub.api.schemas import ArticleJSON
from feedhub.bus import Doorbell
from feedhub.live.transport import Transport
from feedhub.models import Category

__all__ = ["Batch", "StreamHub", "Subscription", "encode_events"]

log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder()
# A client whose socket accepts nothing for this long is gone or stalled: end its stream.
WRITE_TIMEOUT = 10.0
# Articles read from the database per catch-up query.
_PAGE = 500
# After a failed catch-up read (database unreachable), wait this long before trying again.
_RETRY_SECONDS = 1.0


def encode_event(article: ArticleJSON) -> bytes:
    return b"id: %d\nevent: article\ndata: %s\n\n" % (article.id, _encoder.encode(article))


def encode_events(articles: Iterable[ArticleJSON]) -> list[tuple[int, bytes]]:
    return [(a.id, encode_event(a)) for a in articles]


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive events of one category, oldest first, with their bytes pre-joined."""

    events: tuple[tuple[int, bytes], ...]
    data: bytes

    @property
    def first_id(self) -> int:
        return self.events[0][0]

    @property
    def last_id(self) -> int:
        return self.events[-1][0]

    def after(self, sent_upto: int) -> bytes:
        """The bytes of events not yet sent; the shared object when none was."""
        if self.first_id > sent_upto:
            return self.data
        return b"".join(data for event_id, data in self.events if event_id > sent_upto)


class Subscription:
    """One open stream. Bounded: a client that falls behind is ended, never thinned.

    Its writer (`feedhub.api.stream`) takes batches from `items`, oldest first; when there
    is none it checks `ended`, then `beat` (a keep-alive is due), then awaits `wait()`.
    Around each socket write it sets `sending` to the hub's tick number (−1 when not
    writing) and `last_write` to the tick it started at; the hub's ticker reads both.
    """

    __slots__ = (
        "_waiter",
        "beat",
        "categories",
        "ended",
        "items",
        "last_write",
        "maxsize",
        "on_end",
        "sending",
    )

    def __init__(self, categories: frozenset[str] | None, maxsize: int, tick: int = 0) -> None:
        self.categories = categories
        self.maxsize = maxsize
        self.items: deque[Batch] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.ended: str | None = None  # why it was ended: "overflow", "shutdown", "stalled"…
        # Called once when it is ended: the stream cuts a writer stuck on a stalled socket.
        self.on_end: Callable[[], None] | None = None
        self.beat = False
        self.sending = -1
        self.last_write = tick

    def wants(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    def wait(self) -> asyncio.Future[None]:
        """A future done at the next offer, keep-alive or end (the writer awaits it)."""
        waiter = self._waiter = asyncio.get_running_loop().create_future()
        return waiter

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def offer(self, batch: Batch) -> None:
        if self.ended:
            return
        if len(self.items) >= self.maxsize:
            self.end("overflow")
            return
        self.items.append(batch)
        self._wake()

    def heartbeat(self) -> None:
        self.beat = True
        self._wake()

    def end(self, reason: str) -> None:
        """Drop what is queued and wake the writer: its client reconnects and replays."""
        if self.ended:
            return
        self.ended = reason
        if self.items and reason in ("overflow", "stalled"):
            metrics.EVENTS_DROPPED.inc(sum(len(batch.events) for batch in self.items))
        self.items.clear()
        self._wake()
        if self.on_end is not None:
            self.on_end()


class StreamHub:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        transport: Transport,
        *,
        queue_size: int,
        heartbeat_seconds: float = 15.0,
        write_timeout: float = WRITE_TIMEOUT,
        safety_seconds: float = 30.0,
    ) -> None:
        self._sessions = sessions
        self.transport = transport
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._due = asyncio.Event()
        self._worker: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        # Ticks every half heartbeat (or half write timeout, if shorter): a stream quiet for
        # `_beat_ticks` ticks gets a keep-alive, so none is ever silent for a whole heartbeat;
        # a writer stuck in one send for `_stall_ticks` ticks (≥ the write timeout) is ended.
        self.write_timeout = write_timeout
        self.tick_seconds = min(heartbeat_seconds, write_timeout) / 2
        self._beat_ticks = max(1, math.floor(heartbeat_seconds / self.tick_seconds + 1e-9))
        self._stall_ticks = math.ceil(write_timeout / self.tick_seconds - 1e-9) + 1
        # The safety catch-up (a doorbell lost without a reconnect) every this many ticks.
        self._safety_ticks = max(1, round(safety_seconds / self.tick_seconds))
        self.tick = 0
        # The newest article id fanned out (or, with no stream open, known committed): a new
        # stream starts after it. Raised only together with the fan-out, see `_fan_out`.
        self.newest = 0
        self._slugs: frozenset[str] = frozenset()
        self.catch_ups = 0
        self._connected_once = False

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        async with self._sessions() as session:
            self.newest = max(self.newest, await newest_id(session))
            self._slugs = await self._load_slugs(session)
        self._worker = asyncio.create_task(self._work(), name="stream-hub")
        self._worker.add_done_callback(self._worker_done)
        self._ticker = asyncio.create_task(self._tick_loop(), name="stream-hub-ticker")
        await self.transport.start(self._on_bell, self._on_connect)

    def _worker_done(self, task: asyncio.Task[None]) -> None:
        # Without its worker every stream would get keep-alives only: end them loudly.
        if not task.cancelled():
            log.error("the stream hub's worker stopped", exc_info=task.exception())
            self.end_all("error")

    async def stop(self) -> None:
        self.end_all("shutdown")
        await self.transport.stop()
        tasks = [t for t in (self._worker, self._ticker) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _on_bell(self, data: bytes) -> None:
        # Only checked, not used: whatever ids it names, the hub reads all that is newer.
        try:
            Doorbell.decode(data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("ignored a malformed doorbell: %r", data[:200])
            return
        metrics.BUS_MESSAGES.labels("received").inc()
        self._due.set()

    def _on_connect(self) -> None:
        # Whatever was published while the bus was away is not coming: read the database.
        if self._connected_once:
            metrics.BUS_RECONNECTS.inc()
        self._connected_once = True
        self._due.set()

    # -- categories --------------------------------------------------------------------------
    @staticmethod
    async def _load_slugs(session: AsyncSession) -> frozenset[str]:
        return frozenset(await session.scalars(select(Category.slug)))

    async def unknown_categories(self, categories: Sequence[str]) -> list[str]:
        """The slugs that name no category. Answered from memory when all are known; on a
        miss the list is read again from the database (a category created by the CLI or
        another process), so only what the database does not know is reported."""
        if all(c in self._slugs for c in categories):
            return []
        async with self._sessions() as session:
            self._slugs = await self._load_slugs(session)
        return [c for c in categories if c not in self._slugs]

    def forget_category(self, slug: str) -> None:
        """A category was deleted (admin API): a stream of it is a 404 again."""
        self._slugs = self._slugs - {slug}

    # -- subscriptions -----------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """For /healthz: what open streams hold, so a leak shows (issue 3, test 5)."""
        return {
            "feedhub_stream_subscribers": len(self._subscriptions),
            "feedhub_stream_queued_batches": sum(len(s.items) for s in self._subscriptions),
            "feedhub_stream_pending_doorbells": int(self._due.is_set()),
            # Every task of the process (server, scheduler, streams): a stream that left one
            # behind makes this grow with each connect/disconnect.
            "feedhub_asyncio_tasks": len(asyncio.all_tasks()),
        }

    @property
    def open_streams(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, categories: Sequence[str] | None) -> Subscription:
        """Register a stream. Read `newest` right after, with no await in between: every
        article with a larger id is then offered to it (see `_fan_out`)."""
        subscription = Subscription(
            frozenset(categories) if categories else None, self._queue_size, self.tick
        )
        self._subscriptions.add(subscription)
        metrics.OPEN_STREAMS.inc()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.discard(subscription)
            metrics.OPEN_STREAMS.dec()

    def end_all(self, reason: str) -> None:
        for subscription in list(self._subscriptions):
            subscription.end(reason)

    # -- keep-alives and stalled writers -----------------------------------------------------
    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            try:
                self.on_tick()
            except Exception:
                log.exception("stream hub tick failed")

    def on_tick(self) -> None:
        self.tick += 1
        tick, beat, stall = self.tick, self._beat_ticks, self._stall_ticks
        if tick % self._safety_ticks == 0:
            self._due.set()  # the safety catch-up: a doorbell may have been lost quietly
        for subscription in list(self._subscriptions):
            if subscription.ended:
                continue
            sending = subscription.sending
            if sending >= 0:
                if tick - sending >= stall:
                    subscription.end("stalled")
            elif (
                tick - subscription.last_write >= beat
                and not subscription.items
                and not subscription.beat
            ):
                subscription.heartbeat()

    # -- fan-out -----------------------------------------------------------------------------
    async def _work(self) -> None:
        """One worker, so fan-outs never overlap and ids reach every stream in order.
        Doorbells that ring while it reads coalesce into one more catch-up."""
        while True:
            await self._due.wait()
            self._due.clear()
            try:
                await self.catch_up()
            except Exception:
                # Not a gap: `newest` did not move, so the next try reads the same articles.
                log.exception("could not read new articles; trying again")
                await asyncio.sleep(_RETRY_SECONDS)
                self._due.set()

    async def catch_up(self) -> None:
        """Fan out every committed article after `newest`, oldest first."""
        self.catch_ups += 1
        while True:
            if not self._subscriptions:
                # Nobody to deliver to: only keep `newest` current for the next hello. (Read,
                # not taken from the doorbell: a bus shared with another installation could
                # name ids of another database.)
                async with self._sessions() as session:
                    newest = await newest_id(session)
                if not self._subscriptions:  # (else the next loop turn fans them out)
                    self.newest = max(self.newest, newest)
                    return
                continue
            async with self._sessions() as session:
                page = await articles_after(session, None, self.newest, _PAGE)
            if not page:
                return
            self._fan_out(page)
            if len(page) < _PAGE:
                return

    def _fan_out(self, articles: list[ArticleJSON]) -> None:
        """Offer the articles to the streams that want them, in id order, and raise
        `newest` past them, with no await: a stream subscribed before this call gets them
        here, one subscribed after reads a `newest` that already covers them."""
        if articles[0].id <= self.newest:
            articles = [a for a in articles if a.id > self.newest]
            if not articles:
                return
        for category, run in _runs(articles):
            events = tuple(encode_events(run))
            batch = Batch(events, b"".join(data for _, data in events))
            for subscription in list(self._subscriptions):
                if subscription.wants(category):
                    subscription.offer(batch)
        self.newest = articles[-1].id


def _runs(articles: list[ArticleJSON]) -> list[tuple[str, list[ArticleJSON]]]:
    """Consecutive articles of one category, in order: a stream of several categories gets
    their batches in id order, which its skip rule needs."""
    runs: list[tuple[str, list[ArticleJSON]]] = []
    for article in articles:
        if runs and runs[-1][0] == article.category:
            runs[-1][1].append(article)
        else:
            runs.append((article.category, [article]))
    return runs
