"""Backoff that never gives up, host pauses, per-host limits.

Real feed server on 127.0.0.1; the poller's clock is a `FakeClock`, so a day of backoff
takes no time. "Another host" is the same server reached as `localhost`: the host gate
keys on the host name, as it would for two sites behind one address.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.ingest.cadence import (
    ScheduleInputs,
    ScheduleLimits,
    backoff_seconds,
    next_poll_at,
    rate_interval,
)
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.poller import Poller
from tests.conftest import BOTH_DATABASES, RecordingPublisher
from tests.support.feedserver import FeedServer, rss
from tests.support.hostile import ConcurrencyMeter, FakeClock, add_feed, feed_row

# Database behaviour: every test here runs on SQLite and on PostgreSQL.
pytestmark = BOTH_DATABASES

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
ITEMS = [
    {"guid": f"s-{i}", "link": f"http://example.com/s/{i}", "title": f"Story {i}",
     "pubDate": f"Mon, 0{i} Jan 2024 10:00:00 GMT"}
    for i in range(1, 4)
]  # fmt: skip


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
async def timed_poller(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    clock: FakeClock,
) -> AsyncIterator[Poller]:
    async with Poller(settings, FeedStore(sessions), publisher, clock=clock) as poller:
        yield poller


async def test_feed_failing_ten_times_is_still_polled_and_recovers(
    feed_server: FeedServer,
    timed_poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    feed_server.set("/flaky", "down", status=500, headers={"Content-Type": "text/plain"})
    feed_id = await add_feed(sessions, feed_server.url("/flaky"), now=T0)
    limits = ScheduleLimits()
    delays: list[float] = []
    for failures in range(1, 11):
        assert await timed_poller.due_feed_ids() == [feed_id], "the feed must stay due"
        outcome = await timed_poller.poll_now(feed_id)
        assert outcome.status == "error"
        feed = await feed_row(sessions, feed_id)
        assert feed.enabled and feed.error_count == failures
        assert feed.last_error == "HTTP 500: the server had an internal error"
        assert feed.next_poll_at is not None
        delay = (feed.next_poll_at - clock.now).total_seconds()
        expected = backoff_seconds(failures, limits)
        assert expected <= delay <= expected * (1 + limits.jitter_fraction)
        delays.append(delay)
        # Not due a second before its backoff ends, due right after.
        clock.now = feed.next_poll_at - timedelta(seconds=1)
        assert await timed_poller.due_feed_ids() == []
        clock.now = feed.next_poll_at
    assert len(feed_server.requests_to("/flaky")) == 10
    assert delays == sorted(delays) and delays[0] < 70 and delays[-1] >= 60 * 2**9
    # The server heals: the 11th poll stores the articles and clears the health.
    feed_server.set("/flaky", rss(ITEMS))
    assert await timed_poller.due_feed_ids() == [feed_id]
    outcome = await timed_poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 3
    feed = await feed_row(sessions, feed_id)
    assert feed.error_count == 0 and feed.last_error is None and feed.last_status == 200
    assert feed.next_poll_at is not None and feed.next_poll_at > clock.now


def _retry_after(kind: str) -> str:
    if kind == "seconds":
        return "120"
    return email.utils.format_datetime(T0 + timedelta(seconds=120), usegmt=True)


@pytest.mark.parametrize("kind", ["seconds", "http-date"])
async def test_429_pauses_the_whole_host_but_not_other_hosts(
    feed_server: FeedServer,
    timed_poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    kind: str,
) -> None:
    feed_server.set(
        "/limited", "slow down", status=429, headers={"Retry-After": _retry_after(kind)}
    )
    feed_server.set("/sibling", rss(ITEMS))
    feed_server.set("/elsewhere", rss(ITEMS))
    limited = await add_feed(sessions, feed_server.url("/limited"), now=T0)
    sibling = await add_feed(sessions, feed_server.url("/sibling"), now=T0)
    elsewhere = await add_feed(sessions, feed_server.url("/elsewhere", host="localhost"), now=T0)

    outcome = await timed_poller.poll_now(limited)
    assert outcome.status == "error" and outcome.http_status == 429
    feed = await feed_row(sessions, limited)
    assert feed.last_error == "HTTP 429: the server says too many requests"
    assert feed.next_poll_at is not None and feed.next_poll_at >= T0 + timedelta(seconds=120)

    # The same host is left alone until the Retry-After instant; another host is polled.
    outcomes = {o.feed_id: o.status for o in await timed_poller.poll_due()}
    assert outcomes == {sibling: "deferred", elsewhere: "ok"}
    assert feed_server.requests_to("/sibling") == []
    assert len(feed_server.requests_to("/elsewhere")) == 1
    assert (await feed_row(sessions, sibling)).next_poll_at == T0 + timedelta(seconds=120)

    clock.advance(60)  # still paused: nothing of that host is due, nothing is sent
    assert sibling not in await timed_poller.due_feed_ids()
    assert (await timed_poller.poll_now(sibling)).status == "deferred"
    assert feed_server.requests_to("/sibling") == []

    clock.advance(61)  # past the pause
    assert sibling in await timed_poller.due_feed_ids()
    assert (await timed_poller.poll_now(sibling)).status == "ok"
    assert len(feed_server.requests_to("/sibling")) == 1


async def test_429_also_stops_feeds_already_queued_for_the_host(
    feed_server: FeedServer,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    clock: FakeClock,
) -> None:
    """A batch of due feeds of one host waits in the host's queue (2 at a time); once a
    429 arrives, the ones still queued must not be sent: the pause is checked again when
    a feed gets its turn, not only when it joined the queue."""
    for i in range(6):
        feed_server.set(f"/rl/{i}", "no", status=429, headers={"Retry-After": "600"}, delay=0.2)
        await add_feed(sessions, feed_server.url(f"/rl/{i}"), now=T0)
    polite = settings.with_(max_polls_per_host=2)
    async with Poller(polite, FeedStore(sessions), publisher, clock=clock) as poller:
        outcomes = await poller.poll_due()
    statuses = sorted(o.status for o in outcomes)
    assert statuses == ["deferred"] * 4 + ["error"] * 2
    assert len([r for r in feed_server.requests if r.path.startswith("/rl/")]) == 2


async def test_503_without_retry_after_pauses_nothing(
    feed_server: FeedServer,
    timed_poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    feed_server.set("/busy", "busy", status=503)
    feed_server.set("/fine", rss(ITEMS))
    busy = await add_feed(sessions, feed_server.url("/busy"), now=T0)
    fine = await add_feed(sessions, feed_server.url("/fine"), now=T0)
    assert (await timed_poller.poll_now(busy)).http_status == 503
    assert (await timed_poller.poll_now(fine)).status == "ok"


async def test_at_most_two_requests_in_flight_per_host(
    feed_server: FeedServer,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    meter = ConcurrencyMeter(rss(ITEMS).encode(), delay=0.25)
    ids = []
    for i in range(6):
        for host in ("127.0.0.1", "localhost"):
            path = f"/slow/{host}/{i}"
            feed_server.set(path, handler=meter)
            ids.append(await add_feed(sessions, feed_server.url(path, host=host)))
    polite = settings.with_(max_polls_per_host=2, max_concurrent_polls=12)
    async with Poller(polite, FeedStore(sessions), publisher) as poller:
        outcomes = await poller.poll_due()
    assert sorted(o.feed_id for o in outcomes if o.status == "ok") == sorted(ids)
    assert meter.max_in_flight == {"127.0.0.1": 2, "localhost": 2}
    # The two hosts did not wait for each other: 4 requests were in flight at once.
    assert meter.max_total == 4


async def test_minimum_gap_between_requests_to_one_host(
    feed_server: FeedServer,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    for i in range(4):
        feed_server.set(f"/gap/{i}", rss(ITEMS))
        await add_feed(sessions, feed_server.url(f"/gap/{i}"))
    gapped = settings.with_(max_polls_per_host=2, host_min_gap_seconds=0.2)
    async with Poller(gapped, FeedStore(sessions), publisher) as poller:
        # When the gate lets each request go, as the poller sees it. Arrivals at the feed
        # server, and even these moments, carry the machine's scheduling: a request woken
        # late comes closer to the next (two arrivals 0.13 s apart had left 0.2 s apart).
        # Lateness only ever adds, and the first request goes without waiting, so the
        # k-th to go is at least k gaps after the first.
        let_go: list[float] = []
        slot = poller.hosts.slot

        @asynccontextmanager
        async def recorded_slot(host: str) -> AsyncIterator[None]:
            async with slot(host):
                let_go.append(time.monotonic())
                yield

        poller.hosts.slot = recorded_slot  # type: ignore[method-assign]
        await poller.poll_due()
    assert len([r for r in feed_server.requests if r.path.startswith("/gap/")]) == 4
    assert len(let_go) == 4
    after_first = [moment - min(let_go) for moment in sorted(let_go)]
    for k, seconds in enumerate(after_first):
        assert seconds >= k * 0.2 - 0.001, after_first  # (a timer may fire a tick early)


# -- the square-root rate rule (pure; the median-gap arithmetic is in tests/unit) ----------

HOUR = 3600.0


def _every(gap_seconds: float, count: int = 20) -> tuple[datetime, ...]:
    return tuple(T0 - timedelta(seconds=gap_seconds * i) for i in range(count))


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        pytest.param(_every(600), HOUR, id="10-min-polled-hourly"),
        pytest.param(_every(300), (300 * 6 * HOUR) ** 0.5, id="5-min-polled-every-42-min"),
        # sqrt(3 min * 6 h) is 33 min, but 10 of its 20 entries go by in 30.
        pytest.param(_every(180), 1800.0, id="3-min-polled-every-30-min"),
        # Feeds quieter than every 10 minutes: the hourly bound.
        pytest.param(_every(HOUR), HOUR, id="hourly-polled-hourly"),
        pytest.param(_every(4 * HOUR), HOUR, id="4-hourly-polled-hourly"),
        pytest.param(_every(30 * 24 * HOUR), HOUR, id="monthly-polled-hourly"),
        pytest.param(_every(20), 200.0, id="fast-capped-at-half-the-window"),
        pytest.param(_every(5), 60.0, id="very-fast-clamped-to-min"),
        # Never let more than half the visible entries go by: 4 dates -> at most 2 gaps.
        pytest.param(_every(120, count=4), 240.0, id="short-window-cap"),
        pytest.param(_every(HOUR, count=1), 900.0, id="no-rate-default"),
    ],
)
def test_square_root_rate_rule(published: tuple[datetime, ...], expected: float) -> None:
    assert rate_interval(published, ScheduleLimits()) == pytest.approx(expected)


def test_hints_still_floor_the_square_root_rule() -> None:
    limits = ScheduleLimits(jitter_fraction=0.0)
    inputs = ScheduleInputs(recent_published=_every(300), ttl_seconds=2 * 3600)
    assert next_poll_at(T0, inputs, limits, 0.0) == T0 + timedelta(hours=2)
