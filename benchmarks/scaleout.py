"""Scale-out benchmark: bus latency, leader failover, subscribers per process.

    .venv/bin/python benchmarks/scaleout.py [--subs 1000] [--rounds 20] [--json OUT]

Starts its own throwaway PostgreSQL cluster and redis-server (tests/support), a local feed
server, and real `feedhub serve` processes on PostgreSQL. Subscribers are raw asyncio
connections in this process. It measures, in one run:

  A. refresh-to-delivery, p50/p99 over every (subscriber, article):
       memory bus, 1 process, --subs subscribers;
       Redis bus and PostgreSQL bus, 2 processes, --subs subscribers on each.
     An item whose title carries `time.monotonic()` is added to a feed, and "refresh now"
     is called on the processes in turn; latency = receipt − that time, so it includes the
     fetch, parse and commit of the poll. The bus's own cost is the difference between a
     bus row and the memory row ("bus adds").
  B. commit-to-delivery on the two buses: this process commits articles itself (feedhub's
     ArticleStore, advisory lock included) and rings the bus after the commit, as a poller
     in another process would; latency = receipt − the moment after COMMIT returned.
  C. leader SIGKILL -> first poll by its successor: 2 processes, tick 1 s, one feed due
     every second; the time from the SIGKILL to the feed server's next request.
  E. the bus alone: publish on one transport -> heard by another (two connections, as two
     processes have), p50/p99 over --bus-messages doorbells; no database, no sockets to
     clients: what the bus itself adds to every delivery.
  D. subscribers: 1 process (memory bus) with 2 × --subs subscribers against the 2-process
     rows of A (same total), p99 side by side.

Everything runs on 127.0.0.1 on a shared machine: the clients compete with the servers
for the same cores, which bounds D (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.cluster import cluster_env, leader_of  # noqa: E402
from tests.support.feedserver import FeedServer, rss  # noqa: E402
from tests.support.pgserver import PgServer, find_pg_bin  # noqa: E402
from tests.support.redisserver import RedisServer, find_redis_server  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402

# Rounds not measured at the start of each run (first requests warm caches and pools).
WARMUP = 2
_TITLE = re.compile(rb'"title":"bench ([0-9.]+) (\d+)"')
_ID = re.compile(rb"^id: (\d+)$", re.M)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Sub(asyncio.Protocol):
    """One SSE subscriber: records (receipt time, title time, id) of every article."""

    def __init__(self, sink: Callable[[float, bytes], None]) -> None:
        self.sink = sink
        self.hello = asyncio.get_running_loop().create_future()
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.buffer += data
        *blocks, self.buffer = self.buffer.split(b"\n\n")
        for block in blocks:
            if b"event: hello" in block and not self.hello.done():
                self.hello.set_result(None)
            elif b"event: article" in block:
                self.sink(now, block)


async def connect(url: str, n: int, sink: Callable[[float, bytes], None]) -> list[Any]:
    host, port = url.removeprefix("http://").split(":")
    loop = asyncio.get_running_loop()
    transports = []
    request = f"GET /api/stream HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    for start in range(0, n, 200):
        batch = []
        for _ in range(min(200, n - start)):
            transport, sub = await loop.create_connection(lambda: Sub(sink), host, int(port))
            transport.write(request)
            batch.append((transport, sub))
        await asyncio.wait_for(asyncio.gather(*(s.hello for _, s in batch)), 60)
        transports += [t for t, _ in batch]
    return transports


class Run:
    def __init__(self, pg: PgServer, workdir: Path, feeds: FeedServer) -> None:
        self.pg = pg
        self.workdir = workdir
        self.feeds = feeds
        self.k = 0
        self.started: list[ServerProcess] = []  # every server, killed at the end whatever

    def servers(self, n: int, bus: str, db: str, **env: str) -> list[ServerProcess]:
        base = cluster_env(db, bus, FEEDHUB_SCHEDULER="false", FEEDHUB_TICK_SECONDS="3600")
        base.update(FEEDHUB_HEARTBEAT_SECONDS="15", FEEDHUB_LOG_LEVEL="WARNING", **env)
        base["FEEDHUB_MAX_STREAMS_PER_CLIENT"] = "0"  # every subscriber is on 127.0.0.1
        started = [ServerProcess(workdir=self.workdir, env=base) for _ in range(n)]
        self.started += started
        for s in started:
            s.start(90)
        return started

    async def refresh_latency(
        self, urls: list[str], servers: list[ServerProcess], subs: int, rounds: int
    ) -> list[float]:
        latencies: list[float] = []
        got: dict[int, int] = {}

        warmup = self.k + WARMUP

        def sink(now: float, block: bytes) -> None:
            if m := _TITLE.search(block):
                k = int(m.group(2))
                if k > warmup:
                    latencies.append(now - float(m.group(1)))
                got[k] = got.get(k, 0) + 1

        first = servers[0]
        first.add_category("Bench", "bench")
        self.feeds.set("/bench.xml", rss([]))
        feed = first.add_feed(self.feeds.url("/bench.xml"), "bench")
        transports = []
        for url in urls:
            transports += await connect(url, subs, sink)
        total = subs * len(urls)
        items: list[dict[str, str]] = []
        for r in range(rounds + WARMUP):
            self.k += 1
            items.insert(0, {"guid": f"b{self.k}", "title": f"bench {time.monotonic()} {self.k}"})
            self.feeds.set("/bench.xml", rss(items[:20]))
            server = servers[r % len(servers)]
            async with httpx.AsyncClient(timeout=60) as client:
                await client.post(
                    f"{server.url}/api/admin/feeds/{feed['id']}/refresh",
                    headers={"Authorization": "Bearer test-admin-token"},
                )
            deadline = time.monotonic() + 30
            while got.get(self.k, 0) < total and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
        for t in transports:
            t.close()
        return latencies

    async def commit_latency(
        self, bus: str, db: str, urls: list[str], subs: int, rounds: int
    ) -> list[float]:
        from feedhub.core.types import EntryData
        from feedhub.db.engine import create_engine, session_factory
        from feedhub.ingest.decide import FeedUpdate
        from feedhub.ingest.feedstore import FeedStore
        from feedhub.live.bus import Doorbell, open_bus

        committed: dict[int, float] = {}
        arrivals: list[tuple[int, float]] = []

        def sink(now: float, block: bytes) -> None:
            if m := _ID.search(block):
                arrivals.append((int(m.group(1)), now))

        transports = []
        for url in urls:
            transports += await connect(url, subs, sink)
        engine = create_engine(db)
        store = FeedStore(session_factory(engine))
        publisher = open_bus(bus)
        async with engine.connect() as conn:
            from sqlalchemy import text

            feed_id = await conn.scalar(text("SELECT min(id) FROM feed"))
        for _ in range(rounds):
            self.k += 1
            key = f"c{self.k}"
            entry = EntryData(
                key=key, guid=key, url=None, title=f"commit {self.k}", summary="", content="",
                author=None, published_at=datetime.now(UTC), content_hash=key,
            )  # fmt: skip

            async def rang(ids: tuple[int, ...]) -> None:
                committed[ids[0]] = time.monotonic()
                await publisher.publish(Doorbell(int(feed_id), "bench", ids))

            await store.save_poll(
                int(feed_id),
                [entry],
                fetched_at=datetime.now(UTC),
                change=FeedUpdate(status="ok", last_status=200),
                recent_published=(),
                on_commit=rang,
            )
            await asyncio.sleep(0.25)
        await asyncio.sleep(1)
        await publisher.close()
        await engine.dispose()
        for t in transports:
            t.close()
        return [now - committed[i] for i, now in arrivals if i in committed]


async def bus_round_trip(url: str, messages: int) -> list[float]:
    from feedhub.live.pg_transport import PgTransport
    from feedhub.live.redis_transport import RedisTransport
    from feedhub.live.transport import Transport

    def make() -> Transport:
        return RedisTransport(url) if url.startswith("redis") else PgTransport(url)

    sender, listener = make(), make()
    heard: asyncio.Queue[float] = asyncio.Queue()
    ready = asyncio.Event()
    await sender.start(lambda _d: None, lambda: None)
    await listener.start(lambda _d: heard.put_nowait(time.monotonic()), ready.set)
    await asyncio.wait_for(ready.wait(), 10)
    latencies = []
    for _ in range(messages):
        sent = time.monotonic()
        await sender.publish(b'[1,"bench",[1]]')
        latencies.append(await asyncio.wait_for(heard.get(), 10) - sent)
        await asyncio.sleep(0.002)
    await sender.stop()
    await listener.stop()
    return latencies[10:]  # (the first ones warm up connections)


async def failover(run: Run, db: str, bus: str, tries: int) -> list[float]:
    env = {"FEEDHUB_SCHEDULER": "true", "FEEDHUB_TICK_SECONDS": "1"}
    servers = run.servers(2, bus, db, **env)
    first = servers[0]
    first.add_category("Fail", "fail")
    path = "/fail.xml"
    run.feeds.set(path, rss([{"guid": "f", "title": "f"}]))
    first.add_feed(run.feeds.url(path), "fail")
    results = []
    for _ in range(tries):
        await asyncio.sleep(3)
        leaders = leader_of(servers)
        if len(leaders) != 1:
            continue
        leader = leaders[0]
        leader.kill()
        killed = time.monotonic()
        deadline = killed + 30
        while time.monotonic() < deadline:
            after = [r.at for r in run.feeds.requests_to(path) if r.at > killed]
            if after:
                results.append(after[0] - killed)
                break
            await asyncio.sleep(0.01)
        leader.start(90)  # back as a follower for the next try
    for s in servers:
        s.kill()
    return results


def row(name: str, values: list[float]) -> dict[str, Any]:
    return {
        "run": name,
        "n": len(values),
        "p50_ms": round(pct(values, 0.5) * 1000, 1),
        "p99_ms": round(pct(values, 0.99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else float("nan"),
    }


async def main(args: argparse.Namespace) -> tuple[list[dict[str, Any]], float]:
    resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    bin_dir, redis_bin = find_pg_bin(), find_redis_server()
    if bin_dir is None or redis_bin is None:
        sys.exit("needs PostgreSQL (Debian: postgresql) and redis-server installed")
    pg = PgServer(bin_dir).start()
    redis = RedisServer(redis_bin).start()
    from feedhub.db.migrate import upgrade_to_head

    template = pg.create_database(prefix="head")
    upgrade_to_head(pg.url(template))
    workdir = Path(tempfile.mkdtemp(prefix="feedhub-bench-"))
    results: list[dict[str, Any]] = []
    started = time.monotonic()
    run = Run(pg, workdir, None)  # type: ignore[arg-type]
    try:
        with FeedServer() as feeds:
            run.feeds = feeds
            plan = [
                ("memory bus, 1 process", "memory://", 1, args.subs),
                ("Redis bus, 2 processes", redis.url, 2, args.subs),
                ("PostgreSQL bus, 2 processes", "postgresql", 2, args.subs),
                ("memory bus, 1 process, 2x subs", "memory://", 1, 2 * args.subs),
            ]
            if args.smoke:  # the same code path as the first row: a process start saved
                plan.pop()
            for name, bus, procs, subs in plan:
                db = pg.url(pg.create_database(template=template))
                bus_url = (
                    db.replace("postgresql+asyncpg", "postgresql") if bus == "postgresql" else bus
                )
                servers = run.servers(procs, bus_url, db)
                urls = [s.url for s in servers]
                lat = await run.refresh_latency(urls, servers, subs, args.rounds)
                results.append({**row(f"A refresh-to-delivery: {name}, {subs}/process", lat)})
                print(results[-1], flush=True)
                if procs == 2:
                    lat = await run.commit_latency(bus_url, db, urls, subs, args.rounds)
                    results.append(row(f"B commit-to-delivery: {name}, {subs}/process", lat))
                    print(results[-1], flush=True)
                for s in servers:
                    s.kill()
            for name, url in (("Redis", redis.url), ("PostgreSQL", pg.dsn())):
                lat = await bus_round_trip(url, args.bus_messages)
                results.append(row(f"E bus alone, publish -> heard: {name}", lat))
                print(results[-1], flush=True)
            db = pg.url(pg.create_database(template=template))
            fail = await failover(run, db, redis.url, args.failovers)
            results.append(row("C leader SIGKILL -> first poll by successor (tick 1 s)", fail))
            print(results[-1], flush=True)
    finally:
        for server in run.started:
            server.kill()
        redis.close()
        pg.stop()
        shutil.rmtree(workdir, ignore_errors=True)  # the servers' logs: the suite runs this
    return results, started


def report(results: list[dict[str, Any]], started: float, json_path: str | None) -> None:
    memory_rows = [r for r in results if r["run"].startswith("A") and "memory" in r["run"]]
    memory, same_total = memory_rows[0], memory_rows[-1]  # 1x and 2x subscribers
    print(f"\n{'run':<72} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for r in results:
        print(f"{r['run']:<72} {r['n']:>6} {r['p50_ms']:>8} {r['p99_ms']:>8} {r['max_ms']:>8}")
    for r in results:
        if r["run"].startswith("A") and "2 processes" in r["run"]:
            # Against one process with the same number of subscribers per process, and
            # against one process holding as many subscribers as the two together.
            per_process = r["p50_ms"] - memory["p50_ms"]
            same = r["p50_ms"] - same_total["p50_ms"]
            print(
                f"bus adds (p50): {per_process:+.1f} ms vs memory at {memory['n']} deliveries, "
                f"{same:+.1f} ms vs memory at the same total  {r['run']}"
            )
    load = Path("/proc/loadavg").read_text().split()[:3]
    print(f"\nrun took {time.monotonic() - started:.0f} s; load average {' '.join(load)}")
    if json_path:
        Path(json_path).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    cli = argparse.ArgumentParser()
    cli.add_argument("--subs", type=int, default=1000, help="subscribers per process")
    cli.add_argument("--rounds", type=int, default=20)
    cli.add_argument("--failovers", type=int, default=3)
    cli.add_argument("--bus-messages", type=int, default=1000)
    cli.add_argument("--json")
    cli.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    arguments = cli.parse_args()
    if arguments.smoke:
        arguments.subs, arguments.rounds, arguments.failovers = 5, 2, 1
        arguments.bus_messages = 20
    report(*asyncio.run(main(arguments)), arguments.json)
