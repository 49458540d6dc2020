"""`feedhub feeds list` of a SQLite file reads with sqlite3 (catalog.feedlist), every
other listing goes through the ORM (catalog.feeds.list_feeds): the two must agree."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.feedlist import read_feed_list
from feedhub.catalog.feeds import list_feeds
from feedhub.catalog.views import FeedInfo, PushInfo
from feedhub.core.datadir import sqlite_path
from feedhub.db.models import Article, Category, Feed, WebSubSubscription
from tests.conftest import BOTH_DATABASES
from tests.support.ports import free_port
from tests.support.server import feedhub_env

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


async def _fill(session: AsyncSession) -> None:
    """A feed in each state `feeds list` shows, and every field of FeedInfo and PushInfo
    set somewhere."""
    tech, science = Category(slug="tech", name="Tech"), Category(slug="science", name="Sci")
    session.add_all([tech, science])
    feeds = [
        Feed(url="http://a.test/never.xml", category=tech, created_at=T0),
        Feed(
            url="http://a.test/ok.xml", site_url="http://a.test/", title="Ok", category=tech,
            poll_interval=600, last_polled_at=T0, next_poll_at=T0 + timedelta(seconds=600),
            last_status=200, poll_reason="fixed", truncation="kept 100 of 300 entries",
            created_at=T0,
        ),
        Feed(
            url="http://a.test/failing.xml", title="Failing", category=science,
            last_polled_at=T0, next_poll_at=T0 + timedelta(hours=2), last_status=500,
            error_count=2, last_error="HTTP 500", poll_reason="backoff", created_at=T0,
        ),
        Feed(
            url="http://a.test/gone.xml", title="Gone", category=science, enabled=False,
            disabled_reason="410 Gone", last_polled_at=T0, last_status=410, created_at=T0,
        ),
        Feed(
            url="http://a.test/push.xml", title="Push", category=tech, last_polled_at=T0,
            next_poll_at=T0 + timedelta(days=1), poll_reason="push safety", created_at=T0,
        ),
    ]  # fmt: skip
    session.add_all(feeds)
    await session.flush()
    ok, push = feeds[1], feeds[4]
    for k in range(3):
        session.add(Article(
            feed_id=ok.id, guid_key=f"g{k}", url=None, title=f"t{k}", summary="", content="",
            published_at=T0, fetched_at=T0, content_hash=f"h{k}",
        ))  # fmt: skip

    def subscription(feed_id: int, token: str, **fields: object) -> WebSubSubscription:
        return WebSubSubscription(
            feed_id=feed_id, hub="http://hub.test/", topic=f"http://a.test/{token}",
            token=token, secret="s", attempts=0, created_at=T0,
            **{"state": "pending", "healthy": False, "pushes_received": 0,
               "pushes_rejected": 0, **fields},
        )  # fmt: skip

    session.add_all([
        subscription(push.id, "old", state="denied"),
        subscription(  # the newest of a feed's subscriptions is the one shown
            push.id, "new", state="verified", healthy=True, lease_until=T0 + timedelta(days=5),
            last_push_at=T0, pushes_received=7, pushes_rejected=1,
        ),
        subscription(ok.id, "ok", last_error="hub said no"),
        subscription(10_000, "deleted-feed", state="unsubscribing"),
    ])  # fmt: skip
    await session.flush()
    # Written by SQL rather than the ORM: no fraction of a second.
    await session.execute(
        text("UPDATE feed SET created_at = '2026-02-01 08:09:10' WHERE id = :id"), {"id": ok.id}
    )
    await session.commit()


async def test_the_sqlite_listing_is_the_orm_listing(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await _fill(session)
    async with sessions() as session:  # a new one: nothing read from its identity map
        expected = await list_feeds(session)
    path = sqlite_path(db_url)
    assert path is not None
    listed = read_feed_list(path)
    assert listed == expected
    # And the same types: equal values may still print differently (1 is True, not true).
    assert msgspec.json.encode(listed) == msgspec.json.encode(expected)
    # Every field is exercised: a field added to FeedInfo or PushInfo is caught here.
    for struct, values in (
        (FeedInfo, expected),
        (PushInfo, [f.push for f in expected if f.push is not None]),
    ):
        for name in struct.__struct_fields__:
            assert any(getattr(value, name) is not None for value in values), name
    assert [f.enabled for f in expected].count(False) == 1
    assert expected[4].push is not None and expected[4].push.state == "verified"


async def test_an_empty_database_lists_no_feeds(db_url: str) -> None:
    path = sqlite_path(db_url)
    assert path is not None
    assert read_feed_list(path) == []


@BOTH_DATABASES
async def test_feeds_list_prints_the_listing(
    db_url: str, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """End to end: sqlite3 on SQLite, the ORM on PostgreSQL."""
    async with sessions() as session:
        await _fill(session)
    async with sessions() as session:
        expected = json.loads(msgspec.json.encode(await list_feeds(session)))
    env = feedhub_env(tmp_path / "unused.db", free_port(), "t", FEEDHUB_DATABASE_URL=db_url)
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "feedhub", "feeds", "list", "--json"],
        env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected
