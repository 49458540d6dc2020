"""Categories and feeds: the rules behind the admin API and the CLI.

Each function does one change in one transaction and raises NotFoundError, ConflictError
or ValidationError before writing anything, so a rejected request changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from msgspec import UNSET
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.api.schemas import CategoryJSON, FeedJSON, FeedUpdate
from feedhub.errors import ConflictError, NotFoundError, ValidationError
from feedhub.ingest.opml import slugify
from feedhub.models import Article, Category, Feed, Tombstone

__all__ = [
    "check_new_feed",
    "create_category",
    "create_feed",
    "delete_article",
    "delete_category",
    "delete_feed",
    "get_feed",
    "list_categories",
    "list_feeds",
    "rename_category",
    "update_feed",
]


# -- categories --------------------------------------------------------------------------------
async def list_categories(session: AsyncSession) -> list[CategoryJSON]:
    counts = (
        select(Feed.category_id, func.count(Feed.id).label("n"))
        .group_by(Feed.category_id)
        .subquery()
    )
    rows = await session.execute(
        select(Category.slug, Category.name, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.category_id == Category.id)
        .order_by(Category.name)
    )
    return [CategoryJSON(slug, name, int(n)) for slug, name, n in rows]


async def _category(session: AsyncSession, slug: str) -> Category:
    category = await session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFoundError(f"category {slug!r} does not exist")
    return category


async def create_category(session: AsyncSession, name: str, slug: str | None) -> CategoryJSON:
    name = name.strip()
    if not name:
        raise ValidationError("a category needs a name")
    slug = slug or slugify(name)
    if await session.scalar(select(Category.id).where(Category.slug == slug)):
        raise ConflictError(f"category {slug!r} already exists")
    session.add(Category(slug=slug, name=name))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(f"category {slug!r} already exists") from None
    return CategoryJSON(slug, name, 0)


async def rename_category(session: AsyncSession, slug: str, name: str) -> CategoryJSON:
    if not name.strip():
        raise ValidationError("a category needs a name")
    category = await _category(session, slug)
    category.name = name.strip()
    await session.commit()
    count = await session.scalar(select(func.count()).where(Feed.category_id == category.id))
    return CategoryJSON(category.slug, category.name, int(count or 0))


async def delete_category(session: AsyncSession, slug: str) -> None:
    category = await _category(session, slug)
    count = await session.scalar(select(func.count()).where(Feed.category_id == category.id))
    if count:
        raise ConflictError(f"category {slug!r} still has {count} feed(s); move or delete them")
    await session.delete(category)
    await session.commit()


# -- feeds -------------------------------------------------------------------------------------
def _feed_query() -> Any:
    counts = (
        select(Article.feed_id, func.count(Article.id).label("n"))
        .group_by(Article.feed_id)
        .subquery()
    )
    return (
        select(Feed, Category.slug, func.coalesce(counts.c.n, 0))
        .join(Category)
        .outerjoin(counts, counts.c.feed_id == Feed.id)
    )


def _feed_json(feed: Feed, slug: str, count: int) -> FeedJSON:
    return FeedJSON(
        id=feed.id, url=feed.url, site_url=feed.site_url, title=feed.title, category=slug,
        enabled=feed.enabled, poll_interval=feed.poll_interval,
        last_polled_at=feed.last_polled_at, next_poll_at=feed.next_poll_at,
        last_status=feed.last_status, error_count=feed.error_count, last_error=feed.last_error,
        disabled_reason=feed.disabled_reason, article_count=int(count),
        created_at=feed.created_at, truncation=feed.truncation,
    )  # fmt: skip


async def list_feeds(session: AsyncSession) -> list[FeedJSON]:
    rows = await session.execute(_feed_query().order_by(Feed.id))
    return [_feed_json(*row) for row in rows]


async def get_feed(session: AsyncSession, feed_id: int) -> FeedJSON:
    row = (await session.execute(_feed_query().where(Feed.id == feed_id))).first()
    if row is None:
        raise NotFoundError(f"feed {feed_id} does not exist")
    return _feed_json(*row)


async def feed_url_taken(session: AsyncSession, url: str) -> bool:
    return bool(await session.scalar(select(Feed.id).where(Feed.url == url)))


async def check_new_feed(session: AsyncSession, *, url: str, category: str) -> None:
    """The checks of create_feed that need no fetch: run them before probing the URL."""
    if not await session.scalar(select(Category.id).where(Category.slug == category)):
        raise ValidationError(f"category {category!r} does not exist; create it first")
    if await feed_url_taken(session, url):
        raise ConflictError(f"a feed with the URL {url} already exists")


async def create_feed(
    session: AsyncSession,
    *,
    url: str,
    category: str,
    title: str | None = None,
    poll_interval: int | None = None,
    now: datetime | None = None,
) -> FeedJSON:
    """Subscribe; the first poll is due at once (`next_poll_at` = now)."""
    now = now or datetime.now(UTC)
    cat = await session.scalar(select(Category).where(Category.slug == category))
    if cat is None:
        raise ValidationError(f"category {category!r} does not exist; create it first")
    if await feed_url_taken(session, url):
        raise ConflictError(f"a feed with the URL {url} already exists")
    feed = Feed(
        url=url, title=title, category_id=cat.id, poll_interval=poll_interval, enabled=True,
        error_count=0, guid_unreliable=False, created_at=now, next_poll_at=now,
    )  # fmt: skip
    session.add(feed)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(f"a feed with the URL {url} already exists") from None
    return _feed_json(feed, cat.slug, 0)


async def update_feed(session: AsyncSession, feed_id: int, change: FeedUpdate) -> FeedJSON:
    feed = await session.get(Feed, feed_id)
    if feed is None:
        raise NotFoundError(f"feed {feed_id} does not exist")
    if change.category is not UNSET:
        cat = await session.scalar(select(Category).where(Category.slug == change.category))
        if cat is None:
            raise ValidationError(f"category {change.category!r} does not exist")
        feed.category_id = cat.id
    if change.title is not UNSET:
        feed.title = change.title
    if change.poll_interval is not UNSET:
        feed.poll_interval = change.poll_interval
    if change.enabled is not UNSET:
        feed.enabled = change.enabled
        if change.enabled:
            # Re-enabling (e.g. after a 410) starts afresh and polls at once.
            feed.disabled_reason = None
            feed.error_count = 0
            feed.next_poll_at = datetime.now(UTC)
    await session.commit()
    return await get_feed(session, feed_id)


async def delete_feed(session: AsyncSession, feed_id: int) -> None:
    feed = await session.get(Feed, feed_id)
    if feed is None:
        raise NotFoundError(f"feed {feed_id} does not exist")
    await session.delete(feed)
    await session.commit()


async def delete_article(session: AsyncSession, article_id: int) -> None:
    """Delete one article and leave a tombstone so that a re-poll does not bring it back."""
    article = await session.get(Article, article_id)
    if article is None:
        raise NotFoundError(f"article {article_id} does not exist")
    session.add(
        Tombstone(feed_id=article.feed_id, guid_key=article.guid_key, deleted_at=datetime.now(UTC))
    )
    await session.execute(delete(Article).where(Article.id == article_id))
    await session.commit()
