"""SIGKILL while a batch of feeds is being polled loses and doubles nothing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedhub.catalog import categories, feeds
from feedhub.db import create_engine, session_factory
from feedhub.migrate import upgrade_to_head
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


def _articles(db: Path) -> list[tuple[int, int, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT id, feed_id, guid_key, title FROM article").fetchall()


@pytest.mark.slow
def test_sigkill_mid_poll_then_restart(
    tmp_path: Path, feed_server: FeedServer, server_factory: type
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
    db = tmp_path / "feedhub.db"
    db_url = f"sqlite+aiosqlite:///{db}"
    upgrade_to_head(db_url)
    asyncio.run(_seed(db_url, [feed_server.url(f"/f{f}.xml") for f in range(FEEDS)]))

    env = {"FEEDHUB_MAX_CONCURRENT_POLLS": "4", "FEEDHUB_MAX_POLLS_PER_HOST": "4"}
    first = server_factory(env=env, db_path=db).start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        feeds_done = {row[1] for row in _articles(db)}
        if len(feeds_done) >= 3:
            break
        time.sleep(0.05)
    first.kill()
    before = _articles(db)
    feeds_done = {row[1] for row in before}
    assert 0 < len(feeds_done) < FEEDS, "the kill must land in the middle of the batch"
    # One transaction per feed: a feed is either complete or absent.
    per_feed = {fid: sum(1 for r in before if r[1] == fid) for fid in feeds_done}
    assert set(per_feed.values()) == {ITEMS}

    feed_server.routes = {p: r for p, r in feed_server.routes.items()}
    for route in feed_server.routes.values():
        route.delay = 0
    second = server_factory(env=env, db_path=db).start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(_articles(db)) < FEEDS * ITEMS:
        time.sleep(0.2)
    after = _articles(db)
    second.kill()

    assert len(after) == FEEDS * ITEMS, "polling resumed and finished every feed"
    assert len({(r[1], r[2]) for r in after}) == len(after), "no duplicate article"
    assert set(before) <= set(after), "every committed article survived with its id"
    ids = [r[0] for r in sorted(after)]
    assert ids == sorted(set(ids))
