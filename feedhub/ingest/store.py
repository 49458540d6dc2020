"""Article writes: insert-if-new and update-in-place, inside the poll's transaction.

`FeedStore.save_poll` opens that transaction, holds the one writer lock (article ids must
increase in commit order, DESIGN.md "The stream") and writes the feed row after the
articles; this module only knows articles and tombstones.

Across processes: SQLite allows one writer at a time anyway; on PostgreSQL a sequence hands
out ids in call order, not commit order, so a transaction that inserts new articles first
takes a transaction-level advisory lock (`pg_advisory_xact_lock`), held until its commit: no
other new article can get an id until this one's are committed
(tests/integration/test_article_order.py shows the loss without it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.core.types import EntryData
from feedhub.db.engine import ARTICLE_COMMIT_LOCK
from feedhub.db.models import Article, Tombstone
from feedhub.ingest.arrival import is_backlog, listed_at

__all__ = ["ArticleStore", "SaveResult"]

# SQLite allows 32766 bound variables; stay far below for IN (...) lists.
_CHUNK = 500

# Built once: a statement built per poll coerced every key of its IN list into a literal
# and computed its cache key again (about a fifth of the time the event loop spent in
# SQLAlchemy during a first ingest).
_EXISTING = select(Article.guid_key, Article.id, Article.content_hash, Article.url).where(
    Article.feed_id == bindparam("feed_id"), Article.guid_key.in_(bindparam("keys", expanding=True))
)
_TOMBSTONED = select(Tombstone.guid_key).where(
    Tombstone.feed_id == bindparam("feed_id"),
    Tombstone.guid_key.in_(bindparam("keys", expanding=True)),
)


@dataclass(frozen=True, slots=True)
class SaveResult:
    new_ids: tuple[int, ...]
    updated: int
    # The new ids worth a doorbell: new_ids without the backlog stored quietly.
    announced_ids: tuple[int, ...] = ()


def _chunks(items: Sequence[str], size: int = _CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class ArticleStore:
    """Stateless: every method works inside the caller's session and transaction."""

    async def write(
        self,
        session: AsyncSession,
        feed_id: int,
        entries: Sequence[EntryData],
        fetched_at: datetime,
        backlog_window: timedelta | None = None,
    ) -> SaveResult:
        """Insert new entries and update changed ones (not the feed row: FeedStore).

        Entries published more than `backlog_window` before `fetched_at` are stored
        `quiet`: listed, never announced (`arrival`)."""
        keys = [e.key for e in entries] + [e.alt_key for e in entries if e.alt_key]
        existing = await self._existing(session, feed_id, keys)
        tombstoned = await self._tombstoned(session, feed_id, keys)
        fresh: list[EntryData] = []
        changed: list[tuple[int, EntryData]] = []
        rekeyed: list[tuple[int, EntryData]] = []
        for entry in entries:
            if entry.key in existing:
                article_id, content_hash, _url = existing[entry.key]
                if content_hash != entry.content_hash:
                    changed.append((article_id, entry))
            elif entry.alt_key and _same_story(existing.get(entry.alt_key), entry):
                # Stored before the feed's ids turned unreliable: the same story under
                # its old key. Move it to the new key (once) instead of importing it.
                article_id = existing.pop(entry.alt_key)[0]
                rekeyed.append((article_id, entry))
            elif entry.key not in tombstoned and entry.alt_key not in tombstoned:
                fresh.append(entry)
        inserted = await self._insert(session, feed_id, fresh, fetched_at, backlog_window)
        for article_id, entry in changed:
            await session.execute(
                update(Article).where(Article.id == article_id).values(_row(entry))
            )
        for article_id, entry in rekeyed:
            await session.execute(
                update(Article)
                .where(Article.id == article_id)
                .values(guid_key=entry.key, **_row(entry))
            )
        return SaveResult(
            new_ids=tuple(sorted(inserted)),
            updated=len(changed) + len(rekeyed),
            announced_ids=tuple(sorted(i for i, quiet in inserted.items() if not quiet)),
        )

    async def _existing(
        self, session: AsyncSession, feed_id: int, keys: Sequence[str]
    ) -> dict[str, tuple[int, str, str | None]]:
        """guid_key -> (id, content_hash, url) of the stored articles among `keys`."""
        found: dict[str, tuple[int, str, str | None]] = {}
        conn = await session.connection()  # plain rows, without the ORM's handling
        for chunk in _chunks(keys):
            rows = await conn.execute(_EXISTING, {"feed_id": feed_id, "keys": list(chunk)})
            found.update({key: (aid, chash, url) for key, aid, chash, url in rows})
        return found

    async def _tombstoned(
        self, session: AsyncSession, feed_id: int, keys: Sequence[str]
    ) -> set[str]:
        found: set[str] = set()
        conn = await session.connection()
        for chunk in _chunks(keys):
            rows = await conn.execute(_TOMBSTONED, {"feed_id": feed_id, "keys": list(chunk)})
            found.update(rows.scalars())
        return found

    async def _insert(
        self,
        session: AsyncSession,
        feed_id: int,
        entries: Sequence[EntryData],
        fetched_at: datetime,
        backlog_window: timedelta | None,
    ) -> dict[int, bool]:
        """Insert `entries`; return {new id: stored quiet}."""
        if not entries:
            return {}
        # Oldest first, so that ids (and the stream) follow publication order within a poll;
        # feeds list newest first, hence the reversed tie-break.
        ordered = sorted(reversed(entries), key=lambda e: e.published_at)
        rows = [
            {
                "feed_id": feed_id,
                "guid_key": e.key,
                "fetched_at": fetched_at,
                # Fixed at arrival: a publisher editing a date later does not move the
                # article around in lists (nor make a page's cursor skip it).
                "listed_at": listed_at(e.published_at, fetched_at),
                "quiet": is_backlog(e.published_at, fetched_at, backlog_window),
                **_row(e),
            }
            for e in ordered
        ]
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            await serialise_new_articles(session)
        # The table, not the mapped class: the ORM's bulk insert walked every row again in
        # Python (its own bookkeeping of the parameters) for nothing a poll uses.
        table = cast(Table, Article.__table__)
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = (
            insert(table)
            .on_conflict_do_nothing(index_elements=["feed_id", "guid_key"])
            .returning(table.c.id, table.c.quiet)
        )
        result = await (await session.connection()).execute(stmt, rows)
        return {article_id: bool(quiet) for article_id, quiet in result}


async def serialise_new_articles(session: AsyncSession) -> None:
    """PostgreSQL: wait for the article-commit lock; it is released by this transaction's
    commit or rollback. Keep the transaction short after this (no network I/O)."""
    await session.execute(select(func.pg_advisory_xact_lock(ARTICLE_COMMIT_LOCK)))


def _same_story(stored: tuple[int, str, str | None] | None, entry: EntryData) -> bool:
    return stored is not None and stored[2] == entry.url


def _row(entry: EntryData) -> dict[str, Any]:
    return {
        "url": entry.url,
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "author": entry.author,
        "published_at": entry.published_at,
        "content_hash": entry.content_hash,
        "search_text": entry.text,
        "enclosures": [{"url": e.url, "type": e.type, "length": e.length} for e in entry.enclosures]
        or None,
    }
