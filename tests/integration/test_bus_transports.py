"""The Redis and PostgreSQL bus transports against real servers, faults included.

Two transports stand for two processes. Each reports every (re)connection (the hub catches
up from the database then), and messages published after a fault arrive again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from feedhub.live.pg_transport import LISTENER_NAME, PgTransport
from feedhub.live.redis_transport import RedisTransport
from feedhub.live.transport import Transport, backoff_delay
from tests.support.pgserver import PgServer
from tests.support.redisserver import RedisServer


class Ear:
    """What a hub would do with a transport: collect messages, count connections."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.connects = 0
        self.changed = asyncio.Event()

    def on_message(self, data: bytes) -> None:
        self.messages.append(data)
        self.changed.set()

    def on_connect(self) -> None:
        self.connects += 1
        self.changed.set()

    async def until(self, check: Callable[[], bool], within: float = 15.0) -> None:
        async with asyncio.timeout(within):
            while not check():
                self.changed.clear()
                await self.changed.wait()


async def _pair(
    make: Callable[[], Transport],
) -> AsyncIterator[tuple[Transport, Ear, Transport, Ear]]:
    a, b = make(), make()
    ears = Ear(), Ear()
    await a.start(ears[0].on_message, ears[0].on_connect)
    await b.start(ears[1].on_message, ears[1].on_connect)
    try:
        await ears[0].until(lambda: ears[0].connects == 1)
        await ears[1].until(lambda: ears[1].connects == 1)
        yield a, ears[0], b, ears[1]
    finally:
        await a.stop()
        await b.stop()


@pytest.fixture
async def redis_pair(redis_url: str) -> AsyncIterator[tuple[Transport, Ear, Transport, Ear]]:
    async for pair in _pair(lambda: RedisTransport(redis_url, channel="t_bus")):
        yield pair


@pytest.fixture
async def pg_pair(pg_server: PgServer) -> AsyncIterator[tuple[Transport, Ear, Transport, Ear]]:
    async for pair in _pair(lambda: PgTransport(pg_server.dsn(), channel="t_bus")):
        yield pair


@pytest.fixture(params=["redis", "postgresql"])
async def any_pair(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Transport, Ear, Transport, Ear]]:
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        make: Callable[[], Transport] = lambda: RedisTransport(url, channel="t_bus")  # noqa: E731
    else:
        dsn = request.getfixturevalue("pg_server").dsn()
        make = lambda: PgTransport(dsn, channel="t_bus")  # noqa: E731
    async for pair in _pair(make):
        yield pair


async def test_every_listener_hears_every_publish(
    any_pair: tuple[Transport, Ear, Transport, Ear],
) -> None:
    a, ear_a, b, ear_b = any_pair
    await a.publish(b"one")
    await b.publish(b"two")
    for ear in (ear_a, ear_b):
        await ear.until(lambda ear=ear: len(ear.messages) == 2)
        assert sorted(ear.messages) == [b"one", b"two"]
    await a.ping()
    assert a.stats.published == 1 and b.stats.received == 2


async def test_redis_restart_reconnects_and_reports_it(
    redis_pair: tuple[Transport, Ear, Transport, Ear], redis_server: RedisServer
) -> None:
    a, ear_a, b, ear_b = redis_pair
    await asyncio.to_thread(redis_server.restart)
    for ear in (ear_a, ear_b):
        await ear.until(lambda ear=ear: ear.connects == 2)
    assert a.stats.reconnects == 1 and a.stats.connected
    await a.publish(b"after")
    await ear_b.until(lambda: ear_b.messages == [b"after"])


async def test_postgres_listener_killed_by_the_server_reconnects(
    pg_pair: tuple[Transport, Ear, Transport, Ear], pg_server: PgServer
) -> None:
    a, ear_a, b, ear_b = pg_pair
    killed = pg_server.psql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        f"WHERE application_name = '{LISTENER_NAME}'"
    )
    assert killed.strip() == "2"
    for ear in (ear_a, ear_b):
        await ear.until(lambda ear=ear: ear.connects == 2)
    assert b.stats.reconnects == 1
    await a.publish(b"after")
    await ear_b.until(lambda: ear_b.messages == [b"after"])


@pytest.mark.parametrize(
    ("attempt", "jitter", "expected"),
    [(0, 0.0, 0.05), (0, 0.999999, 0.1), (3, 0.0, 0.4), (10, 0.0, 2.5), (50, 1.0, 5.0)],
)
def test_backoff_doubles_up_to_a_cap(attempt: int, jitter: float, expected: float) -> None:
    assert backoff_delay(attempt, jitter) == pytest.approx(expected, rel=1e-3)
