"""This process's fan-out: bus doorbells in, encoded SSE bytes out to every subscriber.

A doorbell is turned into events once — one database read, one JSON encoding per article —
and the resulting bytes object is shared by every subscriber whose categories match, so a
batch of 50 new articles costs each subscriber one queue item and one socket write.
Doorbells are handled by a single worker, in arrival order: ids then reach each subscriber
in increasing order, which the stream's "skip what was already sent" rule relies on.

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.articles import articles_by_ids, newest_id
from feedhub.live.bus import Bus, BusListener, Doorbell
from feedhub.live.sse import encode_articles
from feedhub.models import Category

__all__ = ["Batch", "EndReason", "StreamHub", "Subscription"]

log = logging.getLogger(__name__)

# Why a stream was ended: its client fell behind, stopped reading or left; the process is
# stopping; the hub lost the bus or a doorbell (the client resumes from the database).
EndReason = Literal["overflow", "stalled", "disconnected", "shutdown", "error"]

# A client whose socket accepts nothing for this long is gone or stalled: end its stream.
WRITE_TIMEOUT = 10.0
# After reading the category slugs, a slug still unknown is answered 404 from memory for
# this long: made-up slugs cannot make every request a database read.
MISS_TTL = 2.0


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

    **Exactly once** (DESIGN.md "The stream"), the whole rule in three steps:

    1. `StreamHub.subscribe` registers the subscription and records the hub's newest id as
       `start_id` in the same step, with no await in between. `StreamHub.on_doorbell`
       raises `newest` and picks its targets before its first await. So every article is
       either offered to this subscription (its id is above `start_id`) or covered by
       `start_id` (it came before the stream, or the replay reads it from the database).
    2. The stream sends the replay from the database and sets `sent_upto` to the last id
       it sent (or `start_id` without a replay).
    3. `take()` hands out live batches minus every id up to `sent_upto`, and moves it: an
       article committed during the replay arrives both ways and is sent once.

    Its writer (`feedhub.live.stream`) takes batches from `items`, oldest first; when there
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
        "notes",
        "on_end",
        "sending",
        "sent_upto",
        "start_id",
    )

    def __init__(self, categories: frozenset[str] | None, maxsize: int, tick: int = 0) -> None:
        self.categories = categories
        self.maxsize = maxsize
        self.items: deque[Batch] = deque()
        # Pre-encoded events outside the article order (a signed-in user's `event: state`).
        self.notes: deque[bytes] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.ended: EndReason | None = None
        # Called once when it is ended: the stream cuts a writer stuck on a stalled socket.
        self.on_end: Callable[[], None] | None = None
        self.beat = False
        self.sending = -1
        self.last_write = tick
        self.start_id = 0  # set by StreamHub.subscribe
        self.sent_upto = 0  # set by the stream once its replay is sent

    def take(self) -> bytes | None:
        """The next queued bytes not sent yet (step 3 of the rule above), or None. Notes
        (no id, outside the article order) go first: they are small and timely."""
        if self.notes:
            return self.notes.popleft()
        items = self.items
        while items:
            batch = items.popleft()
            if batch.last_id <= self.sent_upto:
                continue
            data = batch.after(self.sent_upto)
            self.sent_upto = batch.last_id
            return data
        return None

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

    def note(self, data: bytes) -> None:
        """Queue an event that is not an article (no id, not replayed); bounded likewise."""
        if self.ended:
            return
        if len(self.notes) >= self.maxsize:
            self.end("overflow")
            return
        self.notes.append(data)
        self._wake()

    def heartbeat(self) -> None:
        self.beat = True
        self._wake()

    def end(self, reason: EndReason) -> None:
        """Drop what is queued and wake the writer: its client reconnects and replays."""
        if self.ended:
            return
        self.ended = reason
        self.items.clear()
        self.notes.clear()
        self._wake()
        if self.on_end is not None:
            self.on_end()


class StreamHub:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: Bus,
        *,
        queue_size: int,
        heartbeat_seconds: float = 15.0,
        write_timeout: float = WRITE_TIMEOUT,
        miss_ttl: float = MISS_TTL,
    ) -> None:
        self._sessions = sessions
        self._bus = bus
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._bus_listener: BusListener | None = None
        self._bells: asyncio.Queue[bytes] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        # Ticks every half heartbeat (or half write timeout, if shorter): a stream quiet for
        # `_beat_ticks` ticks gets a keep-alive, so none is ever silent for a whole heartbeat;
        # a writer stuck in one send for `_stall_ticks` ticks (≥ the write timeout) is ended.
        self.write_timeout = write_timeout
        self.tick_seconds = min(heartbeat_seconds, write_timeout) / 2
        self._beat_ticks = max(1, math.floor(heartbeat_seconds / self.tick_seconds + 1e-9))
        self._stall_ticks = math.ceil(write_timeout / self.tick_seconds - 1e-9) + 1
        self.tick = 0
        # The largest article id heard of (seeded from the database at start): a new stream
        # starts after it. Raised by `on_doorbell` (see Subscription: exactly once).
        self.newest = 0
        self._slugs: frozenset[str] = frozenset()
        # Category re-reads (issue 14, item 12): one at a time, shared by every request that
        # misses meanwhile, and none again within `miss_ttl` seconds of the last one.
        self.miss_ttl = miss_ttl
        self._reload: asyncio.Task[frozenset[str]] | None = None
        self._reloaded_at = -math.inf
        self.slug_reads = 0  # for /healthz and the tests: how often the slugs were read

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        async with self._sessions() as session:
            self.newest = max(self.newest, await newest_id(session))
            self._slugs = await self._load_slugs(session)
        self._worker = asyncio.create_task(self._work(), name="stream-hub")
        self._ticker = asyncio.create_task(self._tick_loop(), name="stream-hub-ticker")
        self._bus_listener = await self._bus.listen()
        self._listener = asyncio.create_task(self._listen(self._bus_listener))
        self._listener.add_done_callback(self._listener_done)

    def _listener_done(self, task: asyncio.Task[None]) -> None:
        # Without the bus every stream would get keep-alives only: end them loudly instead.
        if not task.cancelled():
            log.error("the stream hub stopped hearing the bus", exc_info=task.exception())
            self.end_all("error")

    async def stop(self) -> None:
        self.end_all("shutdown")
        tasks = [t for t in (self._worker, self._listener, self._ticker) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._bus_listener is not None:
            await self._bus_listener.close()
            self._bus_listener = None

    async def _listen(self, listener: BusListener) -> None:
        # Doorbells go to one queue so that one worker keeps their order.
        async for data in listener.messages():
            self._bells.put_nowait(data)

    # -- categories --------------------------------------------------------------------------
    @staticmethod
    async def _load_slugs(session: AsyncSession) -> frozenset[str]:
        return frozenset(await session.scalars(select(Category.slug)))

    async def unknown_categories(self, categories: Sequence[str]) -> list[str]:
        """The slugs that name no category. Answered from memory when all are known, or
        when the slugs were read less than `miss_ttl` seconds ago; otherwise read again
        (a category created by the CLI or another process), once for all the requests that
        miss meanwhile: the first wave of 10,000 streams for a new category made 10,000
        reads (issue 14, item 12)."""
        if all(c in self._slugs for c in categories):
            return []
        loop = asyncio.get_running_loop()
        if self._reload is None and loop.time() - self._reloaded_at >= self.miss_ttl:
            self._reload = loop.create_task(self._read_slugs(), name="stream-hub-slugs")
        if self._reload is not None:
            # Shielded: one request that goes away must not cancel the others' read.
            await asyncio.shield(self._reload)
        return [c for c in categories if c not in self._slugs]

    async def _read_slugs(self) -> frozenset[str]:
        try:
            self.slug_reads += 1
            async with self._sessions() as session:
                slugs = await self._load_slugs(session)
            # The database is the truth: a category deleted by another process goes too.
            self._slugs = slugs
            return slugs
        finally:
            self._reloaded_at = asyncio.get_running_loop().time()
            self._reload = None

    def learn_category(self, slug: str) -> None:
        """A category exists (created here, or named by a doorbell): no read needed."""
        if slug not in self._slugs:
            self._slugs = self._slugs | {slug}

    def forget_category(self, slug: str) -> None:
        """A category was deleted (admin API): a stream of it is a 404 again."""
        self._slugs = self._slugs - {slug}

    # -- subscriptions -----------------------------------------------------------------------
    def stats(self) -> dict[str, int]:
        """For /healthz: what open streams hold, so a leak shows (issue 3, test 5)."""
        return {
            "feedhub_stream_subscribers": len(self._subscriptions),
            "feedhub_stream_queued_batches": sum(len(s.items) for s in self._subscriptions),
            "feedhub_stream_pending_doorbells": self._bells.qsize(),
            "feedhub_stream_category_reads": self.slug_reads,
            # Every task of the process (server, scheduler, streams): a stream that left one
            # behind makes this grow with each connect/disconnect.
            "feedhub_asyncio_tasks": len(asyncio.all_tasks()),
        }

    def subscribe(self, categories: Sequence[str] | None) -> Subscription:
        """Register a stream; its `start_id` is the newest id at this moment (step 1 of
        the exactly-once rule, see Subscription)."""
        subscription = Subscription(
            frozenset(categories) if categories else None, self._queue_size, self.tick
        )
        self._subscriptions.add(subscription)
        subscription.start_id = subscription.sent_upto = self.newest
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def end_all(self, reason: EndReason) -> None:
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
        while True:
            data = await self._bells.get()
            try:
                await self.on_doorbell(Doorbell.decode(data))
            except Exception:
                # Never a silent gap (DESIGN.md): end the streams that wanted it, so that
                # their clients reconnect and replay from the database.
                log.exception("could not deliver doorbell %r", data[:200])
                self.end_all("error")

    async def on_doorbell(self, bell: Doorbell) -> None:
        """The receiving side: turn one doorbell into events for the matching streams."""
        # Before any await: raise `newest` and take the targets (step 1 of the exactly-once
        # rule, see Subscription).
        if bell.ids:
            self.newest = max(self.newest, *bell.ids)
        self.learn_category(bell.category)  # a category created in another process
        targets = [s for s in self._subscriptions if s.wants(bell.category)]
        if not targets:
            return
        async with self._sessions() as session:
            articles = await articles_by_ids(session, bell.ids)
        if not articles:
            return
        events = tuple(encode_articles(articles))
        batch = Batch(events, b"".join(data for _, data in events))
        category = articles[0].category
        for subscription in targets:
            if subscription.wants(category):
                subscription.offer(batch)  # (one that left meanwhile is simply dropped)
