"""This process's fan-out: bus doorbells in, encoded SSE bytes out to every subscriber.

A doorbell is turned into events once — one database read, one JSON encoding per article —
and the resulting bytes object is shared by every subscriber whose categories match, so a
batch of 50 new articles costs each subscriber one queue item and one socket write.
Doorbells are handled by a single worker, in arrival order: ids then reach each subscriber
in increasing order, which the stream's "skip what was already sent" rule relies on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import msgspec
from litestar.channels import ChannelsPlugin, Subscriber
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.api.queries import articles_by_ids
from feedhub.api.schemas import ArticleJSON
from feedhub.bus import ALL_CHANNEL, Doorbell

__all__ = ["Batch", "StreamHub", "Subscription", "encode_events"]

log = logging.getLogger(__name__)

_encoder = msgspec.json.Encoder()
# How often the hub looks for categories created by other processes (seconds).


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


@dataclass(eq=False)
class Subscription:
    """One open stream. Bounded: a client that falls behind is ended, never thinned."""

    categories: frozenset[str] | None
    maxsize: int
    queue: asyncio.Queue[Batch | None] = field(init=False)
    ended: str | None = None  # why the hub ended it: "overflow", "shutdown"
    # Called once when the hub ends it: the stream cuts a writer stuck on a stalled socket.
    on_end: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(self.maxsize)

    def wants(self, category: str) -> bool:
        return self.categories is None or category in self.categories

    def offer(self, batch: Batch) -> None:
        if self.ended:
            return
        try:
            self.queue.put_nowait(batch)
        except asyncio.QueueFull:
            self.end("overflow")

    def end(self, reason: str) -> None:
        """Drop what is queued and wake the writer: its client reconnects and replays."""
        if self.ended:
            return
        self.ended = reason
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(None)
        if self.on_end is not None:
            self.on_end()


class StreamHub:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        channels: ChannelsPlugin,
        *,
        queue_size: int,
    ) -> None:
        self._sessions = sessions
        self._channels = channels
        self._queue_size = queue_size
        self._subscriptions: set[Subscription] = set()
        self._bus_subscriber: Subscriber | None = None
        self._bells: asyncio.Queue[bytes] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._listener: asyncio.Task[None] | None = None
        self.delivered_batches = 0

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="stream-hub")
        self._bus_subscriber = await self._channels.subscribe(ALL_CHANNEL)
        self._listener = asyncio.create_task(self._listen(self._bus_subscriber))

    async def stop(self) -> None:
        self.end_all("shutdown")
        tasks = [t for t in (self._worker, self._listener) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._bus_subscriber is not None:
            await self._channels.unsubscribe(self._bus_subscriber)
            self._bus_subscriber = None

    async def _listen(self, subscriber: Subscriber) -> None:
        # iter_events is consumed by one long-lived task and never wrapped in wait_for
        # (PITFALLS.md); doorbells go to one queue so that one worker keeps their order.
        async for data in subscriber.iter_events():
            self._bells.put_nowait(data)

    # -- subscriptions -----------------------------------------------------------------------
    @property
    def subscriber_count(self) -> int:
        return len(self._subscriptions)

    def stats(self) -> dict[str, int]:
        """For /healthz: what open streams hold, so a leak shows (issue 3, test 5)."""
        return {
            "feedhub_stream_subscribers": len(self._subscriptions),
            "feedhub_stream_queued_batches": sum(s.queue.qsize() for s in self._subscriptions),
            "feedhub_stream_pending_doorbells": self._bells.qsize(),
            # Every task of the process (server, scheduler, streams): a stream that left one
            # behind makes this grow with each connect/disconnect.
            "feedhub_asyncio_tasks": len(asyncio.all_tasks()),
        }

    def subscribe(self, categories: Sequence[str] | None) -> Subscription:
        subscription = Subscription(
            frozenset(categories) if categories else None, maxsize=self._queue_size
        )
        self._subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscriptions.discard(subscription)

    def end_all(self, reason: str) -> None:
        for subscription in list(self._subscriptions):
            subscription.end(reason)

    # -- fan-out -----------------------------------------------------------------------------
    async def _work(self) -> None:
        while True:
            data = await self._bells.get()
            try:
                await self.ring(Doorbell.decode(data))
            except Exception:
                log.exception("could not deliver doorbell %r", data[:200])

    async def ring(self, bell: Doorbell) -> None:
        if not any(s.wants(bell.category) for s in self._subscriptions):
            return
        async with self._sessions() as session:
            articles = await articles_by_ids(session, bell.ids)
        if not articles:
            return
        events = tuple(encode_events(articles))
        batch = Batch(events, b"".join(data for _, data in events))
        category = articles[0].category
        for subscription in list(self._subscriptions):
            if subscription.wants(category):
                subscription.offer(batch)
        self.delivered_batches += 1
