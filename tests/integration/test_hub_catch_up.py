"""The hub delivers by reading the database, so doorbells that are lost, late or
out of order cost nothing. A real hub on a real database, its bus rung by hand."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.types import EntryData
from feedhub.ingest.decide import FeedUpdate
from feedhub.ingest.feedstore import FeedStore
from feedhub.live.bus import RECONNECTED, BusListener, Doorbell
from feedhub.live.hub import StreamHub, Subscription
from tests.conftest import BOTH_DATABASES
from tests.support.hostile import add_feed

pytestmark = BOTH_DATABASES


class HandBus:
    """A bus rung by hand, at its interface (feedhub.live.bus.Bus): doorbells in the order
    the test gives them, and a reconnection when the test says so."""

    plugins = ()

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    async def publish(self, bell: Doorbell) -> None:
        self.queue.put_nowait(bell.encode())

    async def reconnected(self) -> None:
        self.queue.put_nowait(RECONNECTED)

    async def listen(self) -> BusListener:
        bus = self

        class Listener:
            async def messages(self) -> AsyncIterator[bytes]:
                while True:
                    yield await bus.queue.get()

            async def close(self) -> None:
                return None

        return Listener()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


@pytest.fixture
async def hub(sessions: async_sessionmaker[AsyncSession]) -> AsyncIterator[StreamHub]:
    h = StreamHub(sessions, HandBus(), queue_size=100, heartbeat_seconds=0.2,
                  safety_seconds=3600)  # fmt: skip
    await h.start()
    yield h
    await h.stop()


async def store_one(sessions: async_sessionmaker[AsyncSession], feed_id: int, key: str) -> int:
    entry = EntryData(key=key, guid=key, url=None, title=key, summary="", content="",
                      author=None, published_at=datetime.now(UTC), content_hash=key)  # fmt: skip
    saved = await FeedStore(sessions).save_poll(
        feed_id, [entry], fetched_at=datetime.now(UTC),
        change=FeedUpdate(status="ok", last_status=200), recent_published=(),
    )  # fmt: skip
    return saved.new_ids[0]


async def received(sub: Subscription, count: int, within: float = 5.0) -> list[int]:
    ids: list[int] = []
    async with asyncio.timeout(within):
        while len(ids) < count:
            while sub.items:
                ids += [i for i, _ in sub.items.popleft().events]
            if len(ids) < count:
                await sub.wait()
    return ids


async def test_lost_late_and_reordered_doorbells_lose_nothing(
    hub: StreamHub, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed = await add_feed(sessions, "http://127.0.0.1:9/f.xml")
    everything = hub.subscribe(None)
    tech = hub.subscribe(["tech"])
    first = await store_one(sessions, feed, "a")
    second = await store_one(sessions, feed, "b")
    # Only the second doorbell arrives (the first was lost): both articles, in order.
    await hub.bus.publish(Doorbell(feed, "tech", (second,)))
    assert await received(everything, 2) == [first, second]
    assert await received(tech, 2) == [first, second]
    # The first doorbell arrives late: nothing is sent twice.
    await hub.bus.publish(Doorbell(feed, "tech", (first,)))
    await asyncio.sleep(0.3)
    assert not everything.items
    # No doorbell at all, then the bus reconnects: the catch-up read delivers.
    third = await store_one(sessions, feed, "c")
    await hub.bus.reconnected()  # type: ignore[attr-defined]
    assert await received(everything, 1) == [third]
    assert hub.newest == third


async def test_the_safety_timer_delivers_without_any_doorbell(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    hub = StreamHub(sessions, HandBus(), queue_size=100, heartbeat_seconds=0.2,
                    safety_seconds=0.2)  # fmt: skip
    await hub.start()
    try:
        feed = await add_feed(sessions, "http://127.0.0.1:9/f.xml")
        sub = hub.subscribe(None)
        article = await store_one(sessions, feed, "quiet")
        assert await received(sub, 1) == [article]
    finally:
        await hub.stop()


async def test_with_no_stream_open_newest_follows_the_database(
    hub: StreamHub, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed = await add_feed(sessions, "http://127.0.0.1:9/f.xml")
    article = await store_one(sessions, feed, "x")
    # A doorbell naming an id of some other database changes nothing but a read.
    await hub.bus.publish(Doorbell(feed, "tech", (article + 1000,)))
    for _ in range(50):
        if hub.newest == article:
            break
        await asyncio.sleep(0.02)
    assert hub.newest == article
