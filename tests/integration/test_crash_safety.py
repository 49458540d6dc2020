"""SIGKILL while a batch of feeds is being polled loses and doubles nothing, on SQLite and
on PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from feedhub.catalog import categories, feeds
from feedhub.db.engine import create_engine, session_factory
from tests.conftest import BOTH_DATABASES
from tests.support.dbsnap import table_rows
from tests.support.feedserver import FeedServer, rss

FEEDS = 30
ITEMS = 60


async def _seed(db_url: str, urls: list[str]) -> None:
    engine = create_engine(db_url)
    sessions = session_factory(engine)
    async with sessions() as session:
        await categories.create_category(session, "Tech", "tech")
        for url in urls:
            await feeds.create_feed(session, now=datetime.now(UTC), url=url, category="tech")
    await engine.dispose()


def _articles(db_url: str) -> list[tuple[int, int, str, str]]:
    """(id, feed_id, guid_key, title) of every article."""
    return [(r.id, r.feed_id, r.guid_key, r.title) for r in asyncio.run(_rows(db_url))]


async def _rows(db_url: str) -> list[Any]:
    return await table_rows(db_url, "article", columns="id, feed_id, guid_key, title")


@pytest.mark.slow
@BOTH_DATABASES
def test_sigkill_mid_poll_then_restart(
    tmp_path: Path, feed_server: FeedServer, server_factory: type, db_url: str
) -> None:
    for f in range(FEEDS):
        items = [
            {
                "guid": f"f{f}-i{i}",
                "title": f"feed {f} item {i}",
                "link": f"http://example.com/{f}/{i}",
            }
            for i in range(ITEMS)
        ]
        # Slow answers keep the batch in flight long enough to be killed in the middle.
        feed_server.set(f"/f{f}.xml", rss(items), delay=0.4)
    asyncio.run(_seed(db_url, [feed_server.url(f"/f{f}.xml") for f in range(FEEDS)]))

    env = {
        "FEEDHUB_MAX_CONCURRENT_POLLS": "4",
        "FEEDHUB_MAX_POLLS_PER_HOST": "4",
        "FEEDHUB_DATABASE_URL": db_url,
    }
    first = server_factory(env=env).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        feeds_done = {row[1] for row in _articles(db_url)}
        if len(feeds_done) >= 3:
            break
        time.sleep(0.1)
    first.kill()
    before = _articles(db_url)
    feeds_done = {row[1] for row in before}
    assert 0 < len(feeds_done) < FEEDS, "the kill must land in the middle of the batch"
    # One transaction per feed: a feed is either complete or absent.
    per_feed = {fid: sum(1 for r in before if r[1] == fid) for fid in feeds_done}
    assert set(per_feed.values()) == {ITEMS}

    feed_server.routes = {p: r for p, r in feed_server.routes.items()}
    for route in feed_server.routes.values():
        route.delay = 0
    second = server_factory(env=env).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_articles(db_url)) < FEEDS * ITEMS:
        time.sleep(0.2)
    after = _articles(db_url)
    second.kill()

    assert len(after) == FEEDS * ITEMS, "polling resumed and finished every feed"
    assert len({(r[1], r[2]) for r in after}) == len(after), "no duplicate article"
    assert set(before) <= set(after), "every committed article survived with its id"
    ids = [r[0] for r in sorted(after)]
    assert ids == sorted(set(ids))
