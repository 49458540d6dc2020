"""One poller at a time. Leader election by advisory lock, and claims on feeds.

Each `Leadership`/`Poller` here has its own engine, as a separate process would.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.db.engine import create_engine, session_factory
from feedhub.db.models import Feed
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.poller import Poller
from feedhub.service.leader import Leadership
from tests.conftest import BOTH_DATABASES, RecordingPublisher
from tests.support.feedserver import FeedServer, rss
from tests.support.hostile import add_feed
from tests.support.pgserver import PgServer


async def until_leader(leadership: Leadership, within: float = 10.0) -> bool:
    """The lock may still be held for a moment by a process a previous test SIGKILLed (its
    session ends when PostgreSQL notices the closed socket)."""
    deadline = time.monotonic() + within
    while not await leadership.check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True


async def test_one_leader_and_a_follower_takes_over_when_it_dies(
    pg_url: str, pg_server: PgServer
) -> None:
    first, second = Leadership(pg_url), Leadership(pg_url)
    try:
        assert await until_leader(first)
        assert await second.check() is False
        assert await first.check() is True  # stays the leader, tick after tick
        # The leader's session dies (as with kill -9 or a lost connection). The timeout makes
        # pg_terminate_backend wait until the backend has exited: without it, it returns once
        # the signal is sent, and the lock may be held a moment longer.
        pg_server.psql(
            "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks"
            " WHERE locktype = 'advisory' AND granted"
        )
        assert await second.check() is True  # at its very next tick
        assert await first.check() is False  # the old leader notices and steps down
        assert (first.elected, second.elected) == (1, 1)
    finally:
        await first.close()
        await second.close()


async def test_a_clean_shutdown_hands_over_at_once(pg_url: str) -> None:
    first, second = Leadership(pg_url), Leadership(pg_url)
    try:
        assert await until_leader(first)
        await first.close()
        assert await second.check()
    finally:
        await second.close()


def test_sqlite_is_always_its_own_leader(tmp_path: object) -> None:
    leadership = Leadership("sqlite+aiosqlite:///unused.db")
    assert leadership.is_leader and asyncio.run(leadership.check())


@pytest.fixture
async def two_pollers(
    settings: Settings, publisher: RecordingPublisher
) -> AsyncIterator[tuple[Poller, Poller, async_sessionmaker[AsyncSession]]]:
    engines = [create_engine(settings.database_url) for _ in range(2)]
    pollers = [Poller(settings, FeedStore(session_factory(e)), publisher) for e in engines]
    for poller in pollers:
        await poller.start()
    yield pollers[0], pollers[1], session_factory(engines[0])
    for poller in pollers:
        await poller.stop()
    for engine in engines:
        await engine.dispose()


@BOTH_DATABASES
async def test_two_pollers_claim_disjoint_feeds(
    two_pollers: tuple[Poller, Poller, async_sessionmaker[AsyncSession]],
    feed_server: FeedServer,
) -> None:
    a, b, sessions = two_pollers
    for i in range(30):
        feed_server.set(f"/{i}.xml", rss([{"guid": f"g{i}", "title": f"t{i}"}]))
        await add_feed(sessions, feed_server.url(f"/{i}.xml"))
    got_a, got_b = await asyncio.gather(a.claim_due(limit=20), b.claim_due(limit=20))
    assert not set(got_a) & set(got_b)
    assert len(got_a) + len(got_b) == 30
    assert await a.claim_due() == [] and await b.claim_due() == []  # all claimed
    # A poll releases its claim; the feed is then claimable when it falls due again.
    await asyncio.gather(*a.poll_feeds([got_a[0]]))  # as the scheduler polls what it claimed
    await a.feeds.flush()
    async with sessions() as session:
        claimed = await session.scalar(select(Feed.claimed_until).where(Feed.id == got_a[0]))
    assert claimed is None


@BOTH_DATABASES
async def test_refresh_now_waits_for_a_poll_claimed_elsewhere(
    two_pollers: tuple[Poller, Poller, async_sessionmaker[AsyncSession]],
    feed_server: FeedServer,
) -> None:
    a, b, sessions = two_pollers
    feed_server.set("/f.xml", rss([{"guid": "g", "title": "t"}]))
    feed_id = await add_feed(sessions, feed_server.url("/f.xml"))
    assert await a.claim_due() == [feed_id]  # "another process" is polling it

    released_at: list[float] = []

    async def release_later() -> None:
        await asyncio.sleep(0.6)
        await asyncio.gather(*a.poll_feeds([feed_id]))
        await a.feeds.flush()
        released_at.append(time.monotonic())

    releaser = asyncio.create_task(release_later())
    outcome = await b.poll_now(feed_id)
    answered_at = time.monotonic()
    await releaser
    assert answered_at > released_at[0]  # it waited for the other poll to end
    assert outcome.status in ("ok", "not_modified", "unchanged")


async def test_a_dead_claimers_claims_are_void_at_once(
    pg_url: str, pg_server: PgServer, feed_server: FeedServer, settings: Settings
) -> None:
    """A leader SIGKILLed mid-poll leaves claims with a long lease; its session is gone, so
    its successor may claim those feeds at once instead of after the lease."""
    settings = settings.with_(database_url=pg_url)
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    leadership = Leadership(pg_url)
    publisher = RecordingPublisher()
    dead = Poller(settings, FeedStore(sessions, claimer=lambda: leadership.backend_pid), publisher)
    alive = Poller(settings, FeedStore(sessions), publisher)
    try:
        feed_server.set("/f.xml", rss([{"guid": "g", "title": "t"}]))
        feed_id = await add_feed(sessions, feed_server.url("/f.xml"))
        assert await leadership.check()
        assert await dead.claim_due() == [feed_id]
        assert await alive.claim_due() == []  # held, by a live session
        # Waits until the backend has exited (and left pg_stat_activity), as above.
        pg_server.psql(f"SELECT pg_terminate_backend({leadership.backend_pid}, 10000)")
        assert await alive.claim_due() == [feed_id]
    finally:
        await leadership.close()
        await engine.dispose()


@BOTH_DATABASES
async def test_a_new_feed_is_polled_when_the_tick_claims_it_first(
    settings: Settings, feed_server: FeedServer
) -> None:
    """The admin call adds a feed and starts its poll (`poll_claimed`) while this process's
    tick claims the same feed, due at once: the tick leaves a feed in flight to its poll,
    whose own claim then finds the feed claimed — by this very process. It must poll, not
    defer: the feed would wait a whole lease (five minutes) for its first articles."""
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    leadership = Leadership(settings.database_url)
    claimer = lambda: leadership.backend_pid  # noqa: E731  (as feedhub.service.app wires it)
    poller = Poller(settings, FeedStore(sessions, claimer=claimer), RecordingPublisher())
    try:
        await poller.start()
        assert await leadership.check()
        feed_server.set("/f.xml", rss([{"guid": "g", "title": "t"}]))
        feed_id = await add_feed(sessions, feed_server.url("/f.xml"))
        assert await poller.claim_due() == [feed_id]  # the tick's claim lands first...
        outcome = await poller.poll_claimed([feed_id])[0]  # ...the admin call's poll starts
        assert (outcome.status, len(outcome.new_articles)) == ("ok", 1)
    finally:
        await poller.stop()
        await leadership.close()
        await engine.dispose()


async def test_a_new_feed_is_polled_when_leadership_arrives_during_its_claim(
    pg_url: str, settings: Settings, feed_server: FeedServer
) -> None:
    """On PostgreSQL a process claims as its leader session, known only once its first
    tick has checked the lock. The admin call's poll may start its claim before that (as
    nobody), the tick then become the leader and claim the feed: the poll must see that
    claim as its own, not defer the feed for a lease."""
    settings = settings.with_(database_url=pg_url)
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    leadership = Leadership(pg_url)
    before_leadership = [False]

    def claimer() -> int | None:
        if before_leadership[0]:  # the name the poll's claim started with
            before_leadership[0] = False
            return None
        return leadership.backend_pid

    poller = Poller(settings, FeedStore(sessions, claimer=claimer), RecordingPublisher())
    try:
        await poller.start()
        feed_server.set("/f.xml", rss([{"guid": "g", "title": "t"}]))
        feed_id = await add_feed(sessions, feed_server.url("/f.xml"))
        assert await leadership.check()
        assert await poller.claim_due() == [feed_id]  # the tick, now the leader
        before_leadership[0] = True
        outcome = await poller.poll_claimed([feed_id])[0]
        assert (outcome.status, len(outcome.new_articles)) == ("ok", 1)
    finally:
        await poller.stop()
        await leadership.close()
        await engine.dispose()
