"""Retention: delete old articles, keep the newest few per feed, leave tombstones.

Tombstones keep a feed that still lists an old entry from importing it again on the next
poll (the store skips tombstoned keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select, true
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.db.models import Article, ArticleState, Tombstone

__all__ = ["PruneReport", "prune_articles"]

_BATCH = 500


@dataclass(frozen=True, slots=True)
class PruneReport:
    deleted: int
    feeds: int  # feeds that lost at least one article
    cutoff: datetime


async def prune_articles(
    sessions: async_sessionmaker[AsyncSession],
    *,
    now: datetime,
    days: int,
    min_per_feed: int,
) -> PruneReport:
    """Delete articles published before now - days, except each feed's newest
    `min_per_feed` (by publication date, then id) and starred ones. One transaction per
    batch."""
    cutoff = now - timedelta(days=days)
    newest_rank = (
        func.row_number()
        .over(
            partition_by=Article.feed_id, order_by=(Article.published_at.desc(), Article.id.desc())
        )
        .label("rank")
    )
    ranked = select(Article.id, Article.published_at, newest_rank).subquery()
    # A starred article is kept for as long as someone has it starred.
    starred = select(ArticleState.article_id).where(
        ArticleState.article_id == ranked.c.id, ArticleState.starred == true()
    )
    doomed_query = select(ranked.c.id).where(
        ranked.c.rank > min_per_feed, ranked.c.published_at < cutoff, ~starred.exists()
    )
    deleted = 0
    feeds: set[int] = set()
    async with sessions() as session:
        doomed = list(await session.scalars(doomed_query))
    for start in range(0, len(doomed), _BATCH):
        ids = doomed[start : start + _BATCH]
        async with sessions.begin() as session:
            rows = (
                await session.execute(
                    select(Article.feed_id, Article.guid_key).where(Article.id.in_(ids))
                )
            ).all()
            if not rows:
                continue
            known = set(
                (
                    await session.execute(
                        select(Tombstone.feed_id, Tombstone.guid_key).where(
                            Tombstone.feed_id.in_({r[0] for r in rows}),
                            Tombstone.guid_key.in_({r[1] for r in rows}),
                        )
                    )
                ).all()
            )
            fresh = [
                {"feed_id": f, "guid_key": k, "deleted_at": now}
                for f, k in rows
                if (f, k) not in known
            ]
            if fresh:
                await session.execute(insert(Tombstone), fresh)
            await session.execute(delete(Article).where(Article.id.in_(ids)))
            deleted += len(rows)
            feeds.update(r[0] for r in rows)
    return PruneReport(deleted=deleted, feeds=len(feeds), cutoff=cutoff)
