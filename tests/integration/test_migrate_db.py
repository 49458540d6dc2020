"""Moving a SQLite installation to PostgreSQL keeps every article id, and the readers.

A real SQLite installation (articles stored by the real poller, one deleted so ids have a
gap) is copied with `feedhub migrate-db` (a real subprocess) into a fresh PostgreSQL
database. The ids, feeds and categories must be identical, search must work there, and the
next article must get a larger id than any copied one (so open tabs resume correctly).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.articles import articles_after, search_articles
from feedhub.db.engine import create_engine, session_factory
from feedhub.db.models import Article, Category, Feed
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.poller import Poller
from feedhub.readers import accounts, state
from tests.support.feedserver import FeedServer, rss
from tests.support.hostile import add_feed
from tests.support.pgserver import PgServer

ROOT = Path(__file__).resolve().parents[1]


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[object]]:
    async with sessions() as session:
        return {
            "articles": [(a.id, a.feed_id, a.guid_key, a.title) for a in await articles(session)],
            "feeds": list(
                (
                    await session.execute(select(Feed.id, Feed.url, Feed.etag).order_by(Feed.id))
                ).all()
            ),
            "categories": list(
                (
                    await session.execute(select(Category.id, Category.slug).order_by(Category.id))
                ).all()
            ),
        }


async def articles(session: AsyncSession) -> list[Article]:
    return list(await session.scalars(select(Article).order_by(Article.id)))


async def test_migrate_db_keeps_article_ids(
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    feed_server: FeedServer,
    settings: object,
    pg_server: PgServer,
    tmp_path: Path,
) -> None:
    feed_server.set("/a.xml", rss([{"guid": f"a{i}", "title": f"Volcano {i}"} for i in range(5)]))
    feed_server.set("/b.xml", rss([{"guid": f"b{i}", "title": f"Lava {i}"} for i in range(3)]))
    feed_a = await add_feed(sessions, feed_server.url("/a.xml"))
    await add_feed(sessions, feed_server.url("/b.xml"), category="science")
    await poller.poll_due(include_all=True)
    async with sessions.begin() as session:
        await session.execute(delete(Article).where(Article.title == "Volcano 2"))
    before = await _snapshot(sessions)
    assert len(before["articles"]) == 7

    with pg_server.database() as target:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
        env["FEEDHUB_DATABASE_URL"] = settings.database_url  # type: ignore[attr-defined]
        command = [sys.executable, "-m", "feedhub", "migrate-db", "--to", target]

        def migrate_db() -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120
            )

        run = await asyncio.to_thread(migrate_db)
        assert run.returncode == 0, run.stderr
        assert "article: 7 rows" in run.stdout

        engine = create_engine(target)
        copied = session_factory(engine)
        try:
            assert await _snapshot(copied) == before
            async with copied() as session:
                found = await search_articles(session, "volc", None, 10)
                assert {a.title for a in found} == {
                    "Volcano 0",
                    "Volcano 1",
                    "Volcano 3",
                    "Volcano 4",
                }
            # New articles continue after the copied ids.
            feed_server.set("/a.xml", rss([{"guid": "a9", "title": "Volcano 9"}]))
            async with Poller(
                poller.settings.with_(database_url=target), FeedStore(copied), poller.publisher
            ) as p:
                outcome = await p.poll_now(feed_a)
            newest = max(i for i, *_ in before["articles"])  # type: ignore[misc]
            assert outcome.new_articles and outcome.new_articles[0] > newest
            async with copied() as session:
                assert [a.id for a in await articles_after(session, None, newest, 10)] == list(
                    outcome.new_articles
                )

            # Copying again into a database with rows is refused, with a sentence.
            again = await asyncio.to_thread(migrate_db)
            assert again.returncode == 1 and "not empty" in again.stderr
        finally:
            await engine.dispose()


async def test_migrate_db_keeps_readers_and_their_state(
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    feed_server: FeedServer,
    settings: object,
    pg_server: PgServer,
    tmp_path: Path,
) -> None:
    """Readers move too: their sign-in, open sessions, read marks and stars,
    and a new user after the move gets a fresh id (the sequences follow the copied ids)."""
    now = datetime.now(UTC)
    feed_server.set("/a.xml", rss([{"guid": f"a{i}", "title": f"A {i}"} for i in range(4)]))
    feed_a = await add_feed(sessions, feed_server.url("/a.xml"))
    await poller.poll_due(include_all=True)
    async with sessions() as session:
        ann = await accounts.create_user(session, "ann", "correct horse", "reader", now)
        await accounts.create_user(session, "bob", "battery staple", "admin", now)
        token, _ = await accounts.open_session(session, ann, "web", "test", now)
        ids = [a.id for a in await articles(session)]
        await state.mark_all_read(session, ann.id, feed_ids=[feed_a], upto_id=ids[1])
        await state.apply_changes(session, ann.id, starred=[ids[0]], read=[ids[3]])
        await session.commit()
    async with sessions() as session:
        unread_before = await state.unread_counts(session, ann.id)
        states_before = await state.states_of(session, ann.id, ids)

    with pg_server.database() as target:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
        env["FEEDHUB_DATABASE_URL"] = settings.database_url  # type: ignore[attr-defined]
        run = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "feedhub", "migrate-db", "--to", target],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        engine = create_engine(target)
        copied = session_factory(engine)
        try:
            async with copied() as session:
                assert (await accounts.authenticate(session, "ann", "correct horse")).id == ann.id
                assert await accounts.resolve_session(session, token, now) is not None
                assert await state.unread_counts(session, ann.id) == unread_before
                assert await state.states_of(session, ann.id, ids) == states_before
                carol = await accounts.create_user(session, "carol", "x" * 12, "reader", now)
                assert carol.id > ann.id
        finally:
            await engine.dispose()
