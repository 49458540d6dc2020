"""Several real `feedhub serve` processes on one PostgreSQL database, with the Redis bus
and then the PostgreSQL bus.

Readers are spread over every process, each on a stream of one category, the other, or all.
Articles arrive both ways: polled by whichever process leads (feeds are due every second),
and by "refresh now" through each process in turn. Faults strike while readers are
connected and articles keep arriving. At the end every reader must hold exactly the
articles of its categories committed since it connected: none lost, none twice, in id order.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from feedhub.live.pg_transport import LISTENER_NAME
from tests.support.cluster import NewsDesk, Reader, all_articles, cluster_env, leader_of, wait_for
from tests.support.feedserver import FeedServer
from tests.support.nginx import RECOMMENDED, Nginx
from tests.support.pgserver import PgServer
from tests.support.redisserver import RedisServer
from tests.support.server import TOKEN, ServerProcess

pytestmark = pytest.mark.slow

FEEDS = {"tech": ["/tech/1.xml", "/tech/2.xml"], "science": ["/science/1.xml"]}
PROCESSES = 3


@pytest.fixture
def desk() -> Iterator[NewsDesk]:
    with FeedServer() as server:
        yield NewsDesk(server)


class Cluster:
    def __init__(self, servers: list[ServerProcess], desk: NewsDesk) -> None:
        self.servers = servers
        self.desk = desk
        self.feed_ids: dict[str, object] = {}
        self.readers: list[Reader] = []
        self._refresher = itertools.cycle(range(len(servers)))
        self._feeds = itertools.cycle([p for paths in FEEDS.values() for p in paths])

    @property
    def alive(self) -> list[ServerProcess]:
        return [s for s in self.servers if s.proc is not None and s.proc.poll() is None]

    def subscribe_everyone(self) -> None:
        urls = [s.url for s in self.servers]
        for i in range(len(urls)):
            rotated = urls[i:] + urls[:i]
            for categories in ({"tech"}, {"science"}, None):
                chosen = frozenset(categories) if categories else None
                self.readers.append(Reader(rotated, chosen).start())

    async def round(self) -> None:
        """New items in two feeds: one left to the leader's schedule, one refreshed now
        through the next live process."""
        scheduled, refreshed = next(self._feeds), next(self._feeds)
        self.desk.add(scheduled, 2)
        self.desk.add(refreshed, 1)
        alive = self.alive
        server = alive[next(self._refresher) % len(alive)]
        async with httpx.AsyncClient(
            base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        ) as client:
            r = await client.post(f"/api/admin/feeds/{self.feed_ids[refreshed]}/refresh")
        assert r.status_code == 200, r.text

    async def rounds(self, n: int, pause: float = 0.15) -> None:
        for _ in range(n):
            await self.round()
            await asyncio.sleep(pause)

    async def settle_and_count(self, within: float = 30.0) -> list[dict[str, object]]:
        """Wait until the feeds are polled dry and every reader caught up; then check each
        reader: lost, duplicated, order."""
        # The leader polls every feed each second: the last items are in within a few.
        desk_total = sum(len(items) for items in self.desk.items.values())
        url = self.alive[0].url

        def stored() -> list[dict[str, object]]:
            return all_articles(url)

        assert await wait_for(lambda: len(stored()) >= desk_total, within, step=0.5), (
            f"only {len(stored())} of {desk_total} items were stored"
        )
        articles = stored()

        def everyone_has_all() -> bool:
            return all(not r.check(articles)[0] for r in self.readers)

        await wait_for(everyone_has_all, within, step=0.2)
        report = []
        for reader in self.readers:
            lost, duplicated = reader.check(articles)
            report.append({"reader": (reader.urls[0], reader.categories), "lost": lost,
                           "duplicated": duplicated, "ordered": reader.ids == sorted(reader.ids),
                           "received": len(reader.ids)})  # fmt: skip
        return report


@pytest.fixture
async def cluster(
    server_factory: type[ServerProcess], pg_url: str, bus_url: str, desk: NewsDesk
) -> AsyncIterator[Cluster]:
    c = await start_cluster(server_factory, cluster_env(pg_url, bus_url), desk, PROCESSES)
    c.subscribe_everyone()
    await asyncio.gather(*(asyncio.wait_for(r.connected.wait(), 15) for r in c.readers))
    try:
        yield c
    finally:
        await asyncio.gather(*(r.stop() for r in c.readers))


async def start_cluster(
    server_factory: type[ServerProcess], env: dict[str, str], desk: NewsDesk, processes: int
) -> Cluster:
    """`processes` servers on one database and bus, with the categories and feeds of FEEDS."""
    env = {**env, "FEEDHUB_FETCH_DEADLINE_SECONDS": "5"}
    servers = [server_factory(env=env) for _ in range(processes)]
    await asyncio.gather(*(asyncio.to_thread(s.start, 60.0) for s in servers))
    c = Cluster(servers, desk)
    first = servers[0]
    await asyncio.to_thread(first.add_category, "Tech", "tech")
    await asyncio.to_thread(first.add_category, "Science", "science")
    for category, paths in FEEDS.items():
        for path in paths:
            url = desk.feed(path)
            desk.add(path, 1)
            feed = await asyncio.to_thread(first.add_feed, url, category)
            c.feed_ids[path] = feed["id"]
    return c


def assert_exactly_once(report: list[dict[str, object]]) -> None:
    bad = [r for r in report if r["lost"] or r["duplicated"] or not r["ordered"]]
    assert not bad, f"readers with lost/duplicated/out-of-order articles: {bad}"
    assert all(int(r["received"]) > 0 for r in report)  # type: ignore[call-overload]


def assert_one_poll_per_feed_at_a_time(desk: NewsDesk) -> None:
    assert desk.max_in_flight and max(desk.max_in_flight.values()) == 1, desk.max_in_flight


def moved(before: str, after: str, name: str) -> bool:
    """Whether the counter `name` grew between two /metrics texts."""

    def value(text: str) -> float:
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    return value(after) > value(before)


async def metrics_of(server: ServerProcess) -> str:
    return (await asyncio.to_thread(httpx.get, f"{server.url}/metrics", timeout=10)).text


@pytest.mark.long
async def test_scale_out_delivers_exactly_once_through_faults(
    cluster: Cluster, bus_url: str, pg_server: PgServer, request: pytest.FixtureRequest
) -> None:
    """One run per bus, four phases, the readers' counts checked after each: lost and
    duplicated articles must both be zero, and ids arrive in order."""
    # (2) no fault: every process polls or refreshes, every reader gets everything once.
    await cluster.rounds(10)
    assert_exactly_once(await cluster.settle_and_count())
    assert_one_poll_per_feed_at_a_time(cluster.desk)
    assert len(await asyncio.to_thread(leader_of, cluster.servers)) == 1

    # (3a) the bus fails: Redis restarted, or every LISTEN connection killed server-side.
    before = await metrics_of(cluster.servers[0])
    if bus_url.startswith("redis"):
        redis: RedisServer = request.getfixturevalue("redis_server")
        await cluster.rounds(2)
        await asyncio.to_thread(redis.restart, 0.5)
    else:
        await cluster.rounds(2)
        killed = await asyncio.to_thread(
            pg_server.psql,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            f"WHERE application_name = '{LISTENER_NAME}'",
            pg_database(cluster),
        )
        # Each process listens on four channels: doorbells, and the side channels of
        # readers' state changes, sign-in attempts and revoked sessions (Bus.topic).
        assert killed.strip() == str(4 * PROCESSES)
    await cluster.rounds(6)
    assert_exactly_once(await cluster.settle_and_count())
    assert moved(before, await metrics_of(cluster.servers[0]), "feedhub_bus_reconnects_total")

    # (3b) a web process SIGKILLed: its readers resume on another with Last-Event-ID.
    [leader] = await asyncio.to_thread(leader_of, cluster.servers)
    victim = next(s for s in cluster.servers if s is not leader)
    await cluster.rounds(2)
    victim.kill()
    await cluster.rounds(6)
    assert_exactly_once(await cluster.settle_and_count())
    assert all(r.reconnects >= 1 for r in cluster.readers if r.urls[0] == victim.url)

    # (3c) the leader SIGKILLed: another process leads within a tick (0.5 s here), no feed
    # is polled by two processes at once, and nothing is lost.
    await cluster.rounds(2)
    leader.kill()
    killed_at = time.monotonic()
    assert await wait_for(lambda: len(leader_of(cluster.servers)) == 1, within=10, step=0.05)
    takeover = time.monotonic() - killed_at
    assert takeover < 3.0, f"the new leader took {takeover:.1f} s"  # (+ /healthz round trips)
    await cluster.rounds(6)
    assert_exactly_once(await cluster.settle_and_count())
    assert_one_poll_per_feed_at_a_time(cluster.desk)


def pg_database(cluster: Cluster) -> str:
    url = cluster.servers[0].extra_env["FEEDHUB_DATABASE_URL"]
    return url.rsplit("/", 1)[1]


async def test_machines_behind_nginx_lose_nothing_when_one_dies(
    server_factory: type[ServerProcess],
    pg_url: str,
    redis_url: str,
    desk: NewsDesk,
    tmp_path: Path,
) -> None:
    """docs/scale-out.md's third topology: `feedhub serve` processes (machines) behind one
    nginx `upstream`, readers connected only to nginx. One upstream is SIGKILLed; nginx
    sends the readers' reconnections (Last-Event-ID) to the other: nothing lost, nothing
    twice."""
    c = await start_cluster(server_factory, cluster_env(pg_url, redis_url), desk, 2)
    proxy = Nginx(tmp_path / "nginx", [s.port for s in c.servers], RECOMMENDED).start()
    try:
        for categories in ({"tech"}, {"science"}, None) * 3:
            chosen = frozenset(categories) if categories else None
            c.readers.append(Reader([proxy.url], chosen).start())
        await asyncio.gather(*(asyncio.wait_for(r.connected.wait(), 15) for r in c.readers))
        await c.rounds(4)
        victim = c.servers[1]
        await asyncio.to_thread(victim.kill)
        await c.rounds(6)
        assert_exactly_once(await c.settle_and_count())
        assert any(r.reconnects >= 1 for r in c.readers), "nobody was on the killed upstream"
    finally:
        await asyncio.gather(*(r.stop() for r in c.readers))
        proxy.stop()
