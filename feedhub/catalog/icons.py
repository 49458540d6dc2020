"""Feeds' site icons as the page and the apps read them (the poller stores them: ingest)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.core.errors import NotFoundError
from feedhub.db.models import Category, Feed, FeedIcon

__all__ = ["FeedListed", "StoredIcon", "feed_icon", "icon_ids", "icons_of", "list_feeds"]


@dataclass(frozen=True, slots=True)
class StoredIcon:
    content_type: str
    data: bytes
    sha256: str


class FeedListed(msgspec.Struct, frozen=True):
    """A feed as the reading page lists it: no feed URL (it may carry a secret)."""

    id: int
    title: str
    category: str
    site_url: str | None
    has_icon: bool


async def feed_icon(session: AsyncSession, feed_id: int) -> StoredIcon | None:
    """The feed's icon, or None while it has none; NotFoundError for no such feed."""
    row = (
        await session.execute(
            select(Feed.id, FeedIcon.content_type, FeedIcon.data, FeedIcon.sha256)
            .outerjoin(FeedIcon, FeedIcon.feed_id == Feed.id)
            .where(Feed.id == feed_id)
        )
    ).first()
    if row is None:
        raise NotFoundError(f"feed {feed_id} does not exist")
    _, content_type, data, sha256 = row
    if content_type is None or data is None or sha256 is None:
        return None
    return StoredIcon(content_type, data, sha256)


async def icon_ids(session: AsyncSession) -> set[int]:
    """Ids of the feeds that have an icon."""
    return set(await session.scalars(select(FeedIcon.feed_id).where(FeedIcon.data.is_not(None))))


async def icons_of(session: AsyncSession) -> list[tuple[int, str, bytes]]:
    """(feed id, content type, bytes) of every icon, by feed id."""
    rows = await session.execute(
        select(FeedIcon.feed_id, FeedIcon.content_type, FeedIcon.data)
        .where(FeedIcon.data.is_not(None), FeedIcon.content_type.is_not(None))
        .order_by(FeedIcon.feed_id)
    )
    return [(fid, str(kind), data) for fid, kind, data in rows if data is not None]


async def list_feeds(session: AsyncSession, hidden: Collection[int] = ()) -> list[FeedListed]:
    """Every feed (but `hidden`, the ones a signed-in reader hid), by category then title,
    with whether it has an icon."""
    query = (
        select(Feed.id, Feed.title, Category.slug, Feed.site_url, FeedIcon.sha256)
        .join(Category)
        .outerjoin(FeedIcon, FeedIcon.feed_id == Feed.id)
    )
    if hidden:
        query = query.where(Feed.id.not_in(hidden))
    rows = await session.execute(query.order_by(Category.name, Feed.title, Feed.id))
    return [
        FeedListed(fid, title or site or f"Feed {fid}", slug, site, sha is not None)
        for fid, title, slug, site, sha in rows
    ]
