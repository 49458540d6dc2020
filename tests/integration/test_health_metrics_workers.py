"""/metrics (parsed by Prometheus' own text parser), /healthz and /readyz,
`serve --workers`, and the topologies refused at start.

Real `feedhub serve` processes; the metrics are read before and after each event and must
move with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.support import prefork
from tests.support.cluster import cluster_env
from tests.support.feedserver import FeedServer, rss
from tests.support.metrics import scrape, value
from tests.support.ports import free_port
from tests.support.server import ServerProcess, feedhub_env
from tests.support.sse import RawStream


@pytest.mark.slow
async def test_metrics_parse_and_move_with_events(
    server_factory: type[ServerProcess], feed_server: FeedServer
) -> None:
    server = await asyncio.to_thread(server_factory(env={"FEEDHUB_TICK_SECONDS": "3600"}).start)
    before = await asyncio.to_thread(scrape, server.url)
    assert value(before, "feedhub_open_streams") == 0

    await asyncio.to_thread(server.add_category, "Tech", "tech")
    stream = await RawStream.open(f"{server.url}/api/stream?category=tech")
    hello = await stream.next_event()
    assert hello is not None and hello.event == "hello"
    feed_server.set("/t.xml", rss([{"guid": "1", "title": "one"}, {"guid": "2", "title": "two"}]))
    feed = await asyncio.to_thread(server.add_feed, feed_server.url("/t.xml"), "tech")
    first = await stream.articles(2)
    mid = await asyncio.to_thread(scrape, server.url)
    assert value(mid, "feedhub_open_streams") == 1
    assert (
        value(mid, "feedhub_polls_total", outcome="ok")
        == value(before, "feedhub_polls_total", outcome="ok") + 1
    )
    assert (
        value(mid, "feedhub_articles_stored_total")
        == value(before, "feedhub_articles_stored_total") + 2
    )
    assert value(mid, "feedhub_fetch_duration_seconds_count") >= 1
    assert value(mid, "feedhub_events_sent_total") >= 2
    assert value(mid, "feedhub_bus_messages_total", direction="published") >= 1
    assert value(mid, "feedhub_bus_messages_total", direction="received") >= 1
    assert value(mid, "feedhub_leader_changes_total") == 0  # SQLite: leader from the start
    await stream.close()

    # A resume of 1 article: counted, with its size.
    feed_server.set("/t.xml", rss([{"guid": "3", "title": "three"}, {"guid": "1", "title": "one"}]))
    assert (await asyncio.to_thread(server.refresh, feed["id"]))["new_articles"] == 1
    resumed = await RawStream.open(
        f"{server.url}/api/stream?category=tech", headers={"Last-Event-ID": first[-1].id or ""}
    )
    assert len(await resumed.articles(1)) == 1
    after = await asyncio.to_thread(scrape, server.url)
    assert value(after, "feedhub_resumes_total") == value(mid, "feedhub_resumes_total") + 1
    assert value(after, "feedhub_resume_size_sum") == value(mid, "feedhub_resume_size_sum") + 1
    assert (
        value(after, "feedhub_polls_total", outcome="ok")
        == value(mid, "feedhub_polls_total", outcome="ok") + 1
    )
    await resumed.close()


@pytest.mark.slow
def test_healthz_is_liveness_and_readyz_checks_database_bus_and_migrations(
    server_factory: type[ServerProcess], tmp_path: Path
) -> None:
    from alembic import command

    from feedhub.db.migrate import alembic_config

    server = server_factory().start()
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    ready = httpx.get(f"{server.url}/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"] == {"database": "ok", "migrations": "ok", "bus": "ok"}
    # The schema falls behind the code (a rolling upgrade before `feedhub migrate`).
    command.downgrade(alembic_config(f"sqlite+aiosqlite:///{server.db_path}"), "-1")
    behind = httpx.get(f"{server.url}/readyz")
    assert behind.status_code == 503
    assert "feedhub migrate" in behind.json()["checks"]["migrations"]
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # alive all the same


@pytest.mark.slow
def test_readyz_says_when_the_bus_is_unreachable(
    server_factory: type[ServerProcess],
) -> None:
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    server = server_factory(env={"FEEDHUB_BUS_URL": dead_redis}).start()
    r = httpx.get(f"{server.url}/readyz")
    assert r.status_code == 503 and r.json()["checks"]["bus"].startswith("unreachable")


def _serve(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return prefork.run(["serve", *args], env, cwd, timeout=180)


@pytest.mark.slow
def test_sqlite_refuses_several_processes(
    server_factory: type[ServerProcess], tmp_path: Path
) -> None:
    env = feedhub_env(tmp_path / "feedhub.db", free_port(), "t")
    workers = _serve(["--workers", "2"], env, tmp_path)
    assert workers.returncode == 1 and "--workers needs PostgreSQL" in workers.stderr
    first = server_factory().start()
    second = _serve([], feedhub_env(first.db_path, free_port(), "t"), tmp_path)
    assert second.returncode == 1
    assert "another `feedhub serve` already uses" in second.stderr


def test_workers_need_a_shared_bus(pg_url: str, tmp_path: Path) -> None:
    env = feedhub_env(tmp_path / "x.db", free_port(), "t", FEEDHUB_DATABASE_URL=pg_url)
    r = _serve(["--workers", "2"], env, tmp_path)
    assert r.returncode == 1 and "a bus that crosses processes" in r.stderr


@pytest.mark.slow
@pytest.mark.long
async def test_workers_share_one_port_streams_and_metrics(
    server_factory: type[ServerProcess], pg_url: str, redis_url: str, feed_server: FeedServer
) -> None:
    """`serve --workers 2`: streams on both workers get the article once; /metrics from any
    worker adds up every worker's values (prometheus-client's multiprocess mode); the
    workers keep the configured request deadlines and the access-log setting."""
    env = cluster_env(
        pg_url, redis_url, FEEDHUB_TICK_SECONDS="3600", FEEDHUB_HEADER_TIMEOUT_SECONDS="1"
    )
    server = await asyncio.to_thread(server_factory(env=env, args=("--workers", "2")).start, 60.0)
    for _ in range(4):  # connections land on either worker: each cuts a silent one at 1 s
        with socket.create_connection(("127.0.0.1", server.port)) as silent:
            silent.settimeout(5)
            started = time.monotonic()
            with contextlib.suppress(ConnectionResetError):
                assert silent.recv(1) == b""
            assert time.monotonic() - started < 3  # not the default 10 s
    await asyncio.to_thread(server.add_category, "Tech", "tech")
    streams = [await RawStream.open(f"{server.url}/api/stream") for _ in range(8)]
    try:
        for s in streams:
            assert (await s.next_event()).event == "hello"  # type: ignore[union-attr]
        samples = await asyncio.to_thread(scrape, server.url)
        assert value(samples, "feedhub_open_streams") == 8
        feed_server.set("/w.xml", rss([{"guid": "w", "title": "w"}]))
        await asyncio.to_thread(server.add_feed, feed_server.url("/w.xml"), "tech")
        for s in streams:
            [event] = await s.articles(1, within=15)
            assert await s.expect_quiet(0.3) == []
        samples = await asyncio.to_thread(scrape, server.url)
        assert value(samples, "feedhub_events_sent_total") == 8
    finally:
        for s in streams:
            await s.close()
    # FEEDHUB_ACCESS_LOG is unset: the workers log no request, as one process logs none.
    assert "uvicorn.access" not in server.log(), server.log()[-2000:]


@pytest.mark.long
async def test_cli_poll_rings_the_shared_bus(
    server_factory: type[ServerProcess],
    pg_url: str,
    redis_url: str,
    feed_server: FeedServer,
    tmp_path: Path,
) -> None:
    """`feedhub poll` in its own process, on the Redis bus: a stream of the running server
    gets the article at once (the safety read is an hour away here)."""
    env = cluster_env(
        pg_url, redis_url, FEEDHUB_SCHEDULER="false", FEEDHUB_BUS_SAFETY_SECONDS="3600"
    )
    server = await asyncio.to_thread(server_factory(env=env).start, 60.0)
    await asyncio.to_thread(server.add_category, "Tech", "tech")
    feed_server.set("/c.xml", rss([{"guid": "1", "title": "one"}]))
    await asyncio.to_thread(server.add_feed, feed_server.url("/c.xml"), "tech")
    for _ in range(100):  # its first poll, in the background
        if (await asyncio.to_thread(httpx.get, f"{server.url}/api/articles")).json():
            break
        await asyncio.sleep(0.1)
    stream = await RawStream.open(f"{server.url}/api/stream")
    try:
        assert (await stream.next_event()).event == "hello"  # type: ignore[union-attr]
        feed_server.set(
            "/c.xml", rss([{"guid": "2", "title": "two"}, {"guid": "1", "title": "one"}])
        )
        cli_env = {**server.env(), **env}
        cli = await asyncio.to_thread(prefork.run, ["poll", "--all"], cli_env, tmp_path, 60)
        assert cli.returncode == 0, cli.stderr
        # ("one" may come first: it is newer than the hello if its doorbell was still on
        # the way when the stream opened.)
        titles = [e.json()["title"] for e in await stream.articles(1, within=10)]
        if titles == ["one"]:
            titles = [e.json()["title"] for e in await stream.articles(1, within=10)]
        assert titles == ["two"]
    finally:
        await stream.close()
