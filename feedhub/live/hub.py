"""This process's fan-out: bus doorbells in, encoded SSE bytes out to every subscriber.

New articles are turned into events once (one database read, one JSON encoding each) and
the bytes are shared by every matching subscriber: 50 new articles cost each subscriber one
queue item and one socket write. One worker fans out, so ids arrive in increasing order.

A doorbell is only a hint: pub/sub may lose one, and two processes' doorbells
may arrive out of commit order. So on a doorbell, after every bus (re)connection and on a
safety timer, the hub reads the articles after the newest id it fanned out, oldest first.
Ids follow commit order on every database (ingest/store.py): nothing committed is skipped.

Per stream the hub keeps as little as it can (the fan-out benchmark: 10,000 streams on one
core): a `Subscription` is a deque plus a future that exists only while its writer waits.
No timer per stream either: one ticker every half heartbeat sends the shared keep-alive to
streams that have been quiet, and ends streams whose writer has been stuck on a socket
longer than the write timeout. The newest id and the category slugs are kept in memory:
opening a stream costs no database read.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Sequence

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.articles import articles_after, newest_id
from feedhub.catalog.views import ArticleInfo
from feedhub.core import metrics
from feedhub.db.models import Category
from feedhub.live.bus import RECONNECTED, Bus, BusListener, Doorbell
from feedhub.live.sse import encode_articles
from feedhub.live.subscription import Batch, EndReason, Subscription

__all__ = ["Batch", "EndReason", "StreamHub", "Subscription"]

log = logging.getLogger(__name__)

# A client whose socket accepts nothing for this long is gone or stalled: end its stream.
WRITE_TIMEOUT = 10.0
# Articles read from the database per catch-up query.
_PAGE = 500
# After a failed catch-up read (database unreachable), wait this long before trying again.
_RETRY_SECONDS = 1.0
# After reading the category slugs, a slug still unknown is answered 404 from memory for
# this long: made-up slugs cannot make every request a database read.
MISS_TTL = 2.0


class StreamHub:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        bus: Bus,
        *,
        queue_size: int,
        heartbeat_seconds: float = 15.0,
        write_timeout: float = WRITE_TIMEOUT,
        safety_seconds: float = 30.0,
        miss_ttl: float = MISS_TTL,
    ) -> None:
        self._sessions = sessions
        self.bus = bus
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._bus_listener: BusListener | None = None
        self._due = asyncio.Event()  # a doorbell, a (re)connection, the safety timer
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
        # The safety catch-up (a doorbell lost without a reconnect) every this many ticks.
        self._safety_ticks = max(1, round(safety_seconds / self.tick_seconds))
        self.tick = 0
        # The newest id fanned out (with no stream open: committed); raised by `_fan_out`.
        self.newest = 0
        self._slugs: frozenset[str] = frozenset()
        self._connected_once = False
        # Category re-reads: one at a time, shared by every request that
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
        self._worker.add_done_callback(self._task_done)
        self._ticker = asyncio.create_task(self._tick_loop(), name="stream-hub-ticker")
        self._bus_listener = await self.bus.listen()
        self._listener = asyncio.create_task(self._listen(self._bus_listener))
        self._listener.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        # Without the bus or the worker, streams would get keep-alives only: end them.
        if not task.cancelled():
            log.error("the stream hub stopped: %s", task.get_name(), exc_info=task.exception())
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
        async for data in listener.messages():
            if data == RECONNECTED:
                # Whatever was published while the bus was away is not coming: read.
                if self._connected_once:
                    metrics.BUS_RECONNECTS.inc()
                self._connected_once = True
                self._due.set()
                continue
            try:
                bell = Doorbell.decode(data)
            except (msgspec.DecodeError, msgspec.ValidationError):
                log.warning("ignored a malformed doorbell: %r", data[:200])
                continue
            await self.on_doorbell(bell)

    async def on_doorbell(self, bell: Doorbell) -> None:
        """A doorbell: whatever ids it names, the worker reads all that is newer."""
        metrics.BUS_MESSAGES.labels("received").inc()
        self.learn_category(bell.category)  # a category created in another process
        self._due.set()

    # -- categories --------------------------------------------------------------------------
    @staticmethod
    async def _load_slugs(session: AsyncSession) -> frozenset[str]:
        return frozenset(await session.scalars(select(Category.slug)))

    async def unknown_categories(self, categories: Sequence[str]) -> list[str]:
        """The slugs that name no category. Answered from memory when all are known, or
        when the slugs were read less than `miss_ttl` seconds ago; otherwise read again
        (a category created by the CLI or another process), once for all the requests that
        miss meanwhile: the first wave of 10,000 streams for a new category made 10,000
        reads."""
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
        """For /healthz: what open streams hold, so a leak shows."""
        return {
            "feedhub_stream_subscribers": len(self._subscriptions),
            "feedhub_stream_queued_batches": sum(len(s.items) for s in self._subscriptions),
            "feedhub_stream_pending_doorbells": int(self._due.is_set()),
            "feedhub_stream_category_reads": self.slug_reads,
            # Every task of the process (server, scheduler, streams): a stream that left one
            # behind makes this grow with each connect/disconnect.
            "feedhub_asyncio_tasks": len(asyncio.all_tasks()),
        }

    def subscribe(
        self, categories: Sequence[str] | None, hidden: frozenset[int] = frozenset()
    ) -> Subscription:
        """Register a stream; its `start_id` is the newest id at this moment (step 1 of
        the exactly-once rule, see Subscription). `hidden`: feeds its reader hid."""
        subscription = Subscription(
            frozenset(categories) if categories else None, self._queue_size, self.tick, hidden
        )
        self._subscriptions.add(subscription)
        subscription.start_id = subscription.sent_upto = self.newest
        metrics.OPEN_STREAMS.inc()
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.discard(subscription)
            metrics.OPEN_STREAMS.dec()

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
        """One worker: fan-outs never overlap; doorbells that ring meanwhile coalesce."""
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
        while True:
            if not self._subscriptions:
                # Nobody to deliver to: keep `newest` current for the next hello (read, not
                # taken from a doorbell, which could come from another installation).
                async with self._sessions() as session:
                    newest = await newest_id(session)
                if not self._subscriptions:  # (else the next turn fans them out)
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

    def _fan_out(self, articles: list[ArticleInfo]) -> None:
        """Offer the articles to the streams that want them and raise `newest`, with no
        await (step 1 of the exactly-once rule, see Subscription)."""
        articles = [a for a in articles if a.id > self.newest]
        if not articles:
            return
        for category, run in _runs(articles):
            events = tuple(encode_articles(run))
            feeds = tuple(article.feed_id for article in run)
            batch = Batch(events, b"".join(data for _, data in events), feeds)
            for subscription in list(self._subscriptions):
                if subscription.wants(category):
                    subscription.offer(batch)  # (one that left meanwhile is simply dropped)
        self.newest = articles[-1].id


def _runs(articles: list[ArticleInfo]) -> list[tuple[str, list[ArticleInfo]]]:
    """Consecutive articles of one category, in order: a stream of several categories gets
    their batches in id order, which its skip rule needs."""
    runs: list[tuple[str, list[ArticleInfo]]] = []
    for article in articles:
        if runs and runs[-1][0] == article.category:
            runs[-1][1].append(article)
        else:
            runs.append((article.category, [article]))
    return runs
