"""Hostile entries that stalled or flooded, and parser
workers that outlived `serve`.

Real local feed servers, a real SQLite file, real parser worker processes, and a real
`feedhub serve` killed with SIGKILL (its workers must not outlive it).
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.articles import MAX_SUMMARY_CHARS
from feedhub.core.config import Settings
from feedhub.core.errors import ParseError
from feedhub.db.models import Article
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.parsepool import ParserPool
from feedhub.ingest.poller import Poller
from feedhub.service.app import create_app
from tests.conftest import BOTH_DATABASES, RecordingPublisher
from tests.support import workerprobe
from tests.support.dbsnap import execute
from tests.support.feedserver import FeedServer
from tests.support.hostile import add_feed, feed_row
from tests.support.server import ServerProcess

pytestmark = BOTH_DATABASES


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


def rss_document(items: list[str]) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        "<title>T</title><link>http://e.com/</link><description>d</description>"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def item(i: int, description: str = "text", published: datetime | None = None) -> str:
    date = f"<pubDate>{published:%a, %d %b %Y %H:%M:%S} +0000</pubDate>" if published else ""
    return (
        f"<item><guid>g{i}</guid><title>Item {i}</title><link>http://e.com/{i}</link>"
        f"{date}<description>{html.escape(description)}</description></item>"
    )


NESTED = "<div>" * 100_000 + "deep" + "</div>" * 100_000  # 1.1 MB, ~43 s in nh3 alone


@pytest.fixture
async def pooled_poller(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> AsyncIterator[Poller]:
    """Two real parser worker processes, as `serve` runs them."""
    async with Poller(settings.with_(parse_workers=2), FeedStore(sessions), publisher) as poller:
        yield poller


# -- parsing in workers, under a deadline per document ----------------------------------------
@pytest.mark.parametrize("reader", ["fast path, in process", "feedparser, in workers"])
async def test_nested_html_feeds_do_not_delay_another_feeds_refresh(
    feed_server: FeedServer,
    pooled_poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    reader: str,
) -> None:
    def hostile(n: int) -> bytes:
        document = rss_document([item(n, NESTED)])
        if reader.startswith("feedparser"):  # the fast path declines a DOCTYPE
            document = document.replace(b"<rss", b"<!DOCTYPE rss><rss", 1)
        return document

    feed_server.set("/nested-1.xml", hostile(1))
    feed_server.set("/nested-2.xml", hostile(2))
    feed_server.set("/small.xml", rss_document([item(3)]))
    hostile = [await add_feed(sessions, feed_server.url(f"/nested-{n}.xml")) for n in (1, 2)]
    small = await add_feed(sessions, feed_server.url("/small.xml"))
    await pooled_poller.poll_now(small)  # workers started

    both = asyncio.gather(*(pooled_poller.poll_now(f) for f in hostile))
    await asyncio.sleep(0.2)  # both hostile documents are in the workers now
    started = time.monotonic()
    feed_server.set("/small.xml", rss_document([item(3), item(4)]))
    outcome = await pooled_poller.poll_now(small)
    took = time.monotonic() - started
    outcomes = await both
    assert outcome.status == "ok" and len(outcome.new_articles) == 1
    assert took < 2.0, f"an unrelated refresh waited {took:.1f} s behind nested HTML"
    # The hostile entries are stored, as their text.
    for result in outcomes:
        assert result.status == "ok", result
    async with sessions() as session:
        summaries = list(
            await session.scalars(select(Article.summary).where(Article.feed_id.in_(hostile)))
        )
    assert summaries == ["deep", "deep"]


async def test_a_worker_past_the_deadline_is_replaced_and_the_others_go_on() -> None:
    pool = ParserPool(2, deadline=1.0)
    try:
        stuck = asyncio.create_task(pool.run(partial(time.sleep, 30)))
        fine = await pool.run(partial(sum, [1, 2, 3]))  # the other worker answers
        assert fine == 6
        started = time.monotonic()
        with pytest.raises(ParseError, match="took longer than 1 s"):
            await stuck
        assert time.monotonic() - started < 10  # at its 1 s deadline, not the sleep's 30 s
        assert pool.replaced == 1
        assert await pool.run(partial(sum, [4])) == 4  # the replacement works
        assert await pool.run(partial(sum, [5])) == 5
    finally:
        pool.shutdown()


async def test_a_cold_worker_starts_before_the_deadline_runs() -> None:
    """Starting a worker and importing the parser is no part of a document's deadline: on
    a loaded machine it takes longer than the deadline, and every poll was refused."""
    from tests.support import slow_import

    pool = ParserPool(1, deadline=0.5)
    try:
        assert await pool.run(slow_import.answer) == 42
        assert pool.replaced == 0
    finally:
        pool.shutdown()


async def test_a_worker_starts_when_needed_and_ends_when_idle() -> None:
    pool = ParserPool(1, deadline=30.0, idle_seconds=0.3)
    try:
        assert pool.running == 0  # nothing started before the first document
        pid = await pool.run(workerprobe.pid)
        assert pool.running == 1
        await _until(lambda: pool.running == 0)
        await _until(lambda: not _alive(pid))  # the process is gone (and reaped)
        assert await pool.run(workerprobe.pid) != pid  # a new one for the next document
        assert pool.replaced == 0
    finally:
        pool.shutdown()


async def test_a_worker_killed_while_idle_is_replaced_before_a_document_reaches_it() -> None:
    pool = ParserPool(1, deadline=30.0)
    try:
        pid = await pool.run(workerprobe.pid)
        os.kill(pid, signal.SIGKILL)  # from outside, while idle
        await _until(lambda: not _alive(pid))
        assert await pool.run(partial(sum, [1, 2])) == 3  # not "the parser crashed"
        assert pool.replaced == 0
    finally:
        pool.shutdown()


async def test_a_worker_imports_the_parser_and_not_the_web_stack() -> None:
    pool = ParserPool(1, deadline=30.0)
    try:
        await pool.warm()
        loaded = {name.split(".")[0] for name in await pool.run(workerprobe.loaded_modules)}
        assert {"feedparser", "lxml", "nh3"} <= loaded
        assert not loaded & {"sqlalchemy", "httpx", "litestar", "uvicorn", "alembic"}, loaded
        assert not any(m.startswith("multiprocessing") for m in loaded)
    finally:
        pool.shutdown()


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


# -- floods: the newest entries within a cap --------------------------------------------------
@pytest.mark.slow
async def test_a_huge_document_stores_only_the_newest_entries_and_says_so(
    feed_server: FeedServer,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    """The 190,000-item document, scaled down (5,000 items, cap 100): the newest N by date
    are stored, in one poll, and the cut is recorded on the feed."""
    now = datetime.now(UTC).replace(microsecond=0)
    # Dates in shuffled order: "newest" is by date, not by position.
    order = list(range(5000))
    order = order[::2] + order[1::2]
    items = [item(i, published=now - timedelta(minutes=i)) for i in order]
    feed_server.set("/flood.xml", rss_document(items))
    feed_id = await add_feed(sessions, feed_server.url("/flood.xml"))
    capped = settings.with_(max_entries_per_feed=100)
    async with Poller(capped, FeedStore(sessions), publisher) as poller:
        outcome = await poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 100
    async with sessions() as session:
        titles = set(await session.scalars(select(Article.title)))
        count = await session.scalar(select(func.count()).select_from(Article))
    assert count == 100
    assert titles == {f"Item {i}" for i in range(100)}  # the 100 newest
    feed = await feed_row(sessions, feed_id)
    assert feed.truncation == "kept the newest 100 of 5000 entries"


@pytest.mark.slow
async def test_anonymous_answers_are_bounded_per_article(
    feed_server: FeedServer, settings: Settings
) -> None:
    """Nine entries of ~3 MB each: stored within the caps; and a huge row stored before the
    caps existed is still cut by the query."""
    big = "<p>" + "word " * 600_000 + "</p>"  # 3 MB
    feed_server.set("/big.xml", rss_document([item(i, big) for i in range(9)]))
    auth = {"Authorization": "Bearer test-token"}
    roomy = settings.with_(max_feed_bytes=40 * 1024 * 1024)
    async with AsyncTestClient(app=create_app(roomy), timeout=60) as client:
        await client.post("/api/admin/categories", json={"name": "Tech"}, headers=auth)
        r = await client.post(
            "/api/admin/feeds", json={"url": feed_server.url("/big.xml"), "category": "tech"},
            headers=auth,
        )  # fmt: skip
        feed_id = r.json()["id"]
        r = await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=auth)
        assert r.json()["new_articles"] == 9, r.text
        feed = (await client.get(f"/api/admin/feeds/{feed_id}", headers=auth)).json()
        assert feed["truncation"] == "shortened 9 over-long entries"

        await execute(  # as stored by an older version
            settings.database_url, "UPDATE article SET summary = :s, title = :t WHERE id = 1",
            s="x" * 9_000_000, t="t" * 100_000,
        )  # fmt: skip
        for url in ("/api/articles?limit=10", "/all/feed.json", "/all/atom.xml"):
            r = await client.get(url)
            assert r.status_code == 200
            # 10 articles of at most 64 K characters of summary, plus the small fields.
            assert len(r.content) < 10 * (MAX_SUMMARY_CHARS * 1.3 + 8000), (url, len(r.content))
        for article in (await client.get("/api/articles?limit=10")).json():
            assert len(json.dumps(article)) < MAX_SUMMARY_CHARS * 1.3 + 8000


# -- workers end with serve -------------------------------------------------------------------
def _descendants(pid: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    """Running, or exiting: a killed process's main thread shows "Z" while its other
    threads still exit, and until they have, its parent cannot reap it (`poll()` says it
    runs)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        threads = len(os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return False
    return state != "Z" or threads > 1


@pytest.mark.slow
def test_sigkill_of_serve_leaves_no_process_behind(tmp_path: Path, feed_server: FeedServer) -> None:
    if not Path("/proc/self/stat").exists():
        pytest.skip("needs /proc (Linux)")
    # Over FEEDHUB_INLINE_PARSE_BYTES, and a DOCTYPE, which the fast path declines: so
    # that feedparser parses it, in a worker process.
    doctype = rss_document([item(1, "word " * 10_000)]).replace(b"<rss", b"<!DOCTYPE rss><rss", 1)
    feed_server.set("/f.xml", doctype)
    server = ServerProcess(workdir=tmp_path, env={"FEEDHUB_PARSE_WORKERS": "2"}).start()
    try:
        assert server.proc is not None
        server.add_category("Tech", "tech")
        with server.admin() as admin:
            r = admin.post("/api/admin/feeds",
                           json={"url": feed_server.url("/f.xml"), "category": "tech"})  # fmt: skip
            assert r.status_code == 201, r.text
            r = admin.post(f"/api/admin/feeds/{r.json()['id']}/refresh")
            assert r.json()["status"] in ("ok", "not_modified"), r.text  # parsed once
        family = _descendants(server.proc.pid)
        workers = {p for p in family if b"feedhub.ingest.parseworker" in _cmdline(p)}
        assert len(workers) == 1, family
    finally:
        server.kill()  # SIGKILL: no shutdown code runs
    deadline = time.monotonic() + 10
    while (left := {p for p in family if _alive(p)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived serve: {left}"


_ = Any
