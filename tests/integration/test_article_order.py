"""Article ids stay monotonic in commit order on PostgreSQL.

Several writers, each with its own engine and `ArticleStore` (as separate processes would
be), store new articles concurrently, round after round, while a reader resumes the way a
stream client does: "everything after the newest id I have seen". A sequence hands out ids in
call order; without the article-commit lock an id can commit after a larger one the reader
has already passed, and the reader never sees it. Lost = ids in the table the reader never
saw. The second test takes the lock away and shows this check does catch the loss.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.core.types import EntryData
from feedhub.db.engine import create_engine, session_factory
from feedhub.db.models import Article, Category, Feed
from feedhub.ingest import store as store_module
from feedhub.ingest.decide import FeedUpdate
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.store import ArticleStore

WRITERS = 4
ROUNDS = 40
PER_SAVE = 3


def _entries(writer: int, round_: int) -> list[EntryData]:
    now = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=round_)
    out = []
    for i in range(PER_SAVE):
        key = f"w{writer}-r{round_}-{i}"
        out.append(
            EntryData(
                key=key, guid=key, url=f"http://e.com/{key}", title=key, summary="s" * 200,
                content="c" * 2000, author=None, published_at=now,
                content_hash=hashlib.sha256(key.encode()).hexdigest(), text="words",
            )
        )  # fmt: skip
    return out


async def _seed(url: str) -> list[int]:
    engine = create_engine(url)
    async with engine.begin() as conn:
        cat = (await conn.execute(insert(Category).values(slug="t", name="T"))).inserted_primary_key
        assert cat is not None
        ids = []
        for w in range(WRITERS):
            result = await conn.execute(
                insert(Feed).values(
                    url=f"http://e.com/{w}", category_id=cat[0], created_at=datetime.now(UTC)
                )
            )
            assert result.inserted_primary_key is not None
            ids.append(int(result.inserted_primary_key[0]))
    await engine.dispose()
    return ids


async def _run(url: str) -> tuple[set[int], set[int], int]:
    """(all ids stored, ids the resuming reader saw, how many reads it made)."""
    feed_ids = await _seed(url)
    engines = [create_engine(url, pool_size=2) for _ in range(WRITERS + 1)]
    stores = [FeedStore(session_factory(e)) for e in engines[:WRITERS]]
    reader = session_factory(engines[-1])
    done = asyncio.Event()
    seen: set[int] = set()
    reads = 0

    async def write(w: int) -> None:
        for r in range(ROUNDS):
            await stores[w].save_poll(
                feed_ids[w], _entries(w, r), fetched_at=datetime.now(UTC),
                change=FeedUpdate(status="ok", last_status=200), recent_published=(),
            )  # fmt: skip

    async def read() -> None:
        nonlocal reads
        cursor = 0
        while True:
            finished = done.is_set()
            async with reader() as session:
                rows = await _after(session, cursor)
            reads += 1
            seen.update(rows)
            if rows:
                cursor = max(rows)
            if finished:
                return
            await asyncio.sleep(0)

    reader_task = asyncio.create_task(read())
    try:
        await asyncio.gather(*(write(w) for w in range(WRITERS)))
    finally:
        done.set()
        await reader_task
    async with reader() as session:
        stored = set(await session.scalars(select(Article.id)))
        count = await session.scalar(select(func.count()).select_from(Article))
    for engine in engines:
        await engine.dispose()
    assert count == WRITERS * ROUNDS * PER_SAVE
    return stored, seen, reads


async def _after(session: AsyncSession, cursor: int) -> list[int]:
    return list(
        await session.scalars(select(Article.id).where(Article.id > cursor).order_by(Article.id))
    )


async def test_concurrent_writers_never_commit_an_id_behind_a_resuming_reader(
    pg_url: str,
) -> None:
    stored, seen, reads = await _run(pg_url)
    lost = stored - seen
    assert reads > ROUNDS  # the reader really interleaved with the writers
    assert lost == set(), f"{len(lost)} articles committed behind the reader: {sorted(lost)[:10]}"


@pytest.fixture
def without_the_lock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Take the lock away, and widen the gap between getting ids and committing them a
    little (a slow network or a busy server does the same), so the race shows within a
    test's time."""

    async def no_lock(session: AsyncSession) -> None:
        return None

    original_insert = ArticleStore._insert

    async def slow_insert(self: ArticleStore, session: AsyncSession, *args: object) -> object:
        ids = await original_insert(self, session, *args)  # type: ignore[arg-type]
        # Uneven gaps: one writer's commit waits while another's, with larger ids, goes
        # through, whatever the machine's load (an even gap let the race hide under load).
        await session.execute(text("SELECT pg_sleep(:s)"), {"s": random.choice((0.0, 0.02))})
        return ids

    monkeypatch.setattr(store_module, "serialise_new_articles", no_lock)
    monkeypatch.setattr(ArticleStore, "_insert", slow_insert)
    yield


@pytest.mark.usefixtures("without_the_lock")
async def test_without_the_lock_the_reader_loses_articles(pg_url: str) -> None:
    """The check above can fail: same writers and reader, no lock, and articles are lost."""
    stored, seen, _reads = await _run(pg_url)
    assert stored - seen, "no article was lost without the lock: the race did not show"
