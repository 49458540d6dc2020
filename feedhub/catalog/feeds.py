"""Feeds: subscribe, change, delete, list (the admin API, the CLI and OPML import).

`subscribe` is the one way a feed is added. Each function does one change in one
transaction and raises NotFoundError, ConflictError or ValidationError before writing
anything, so a rejected request changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import msgspec
from msgspec import UNSET
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.catalog.views import FeedChanges, FeedInfo, PushInfo
from feedhub.core.errors import ConflictError, NotFoundError, ValidationError
from feedhub.db.models import Article, Category, Feed, Tombstone, WebSubSubscription

__all__ = [
    "Probe",
    "check_new_feed",
    "create_feed",
    "delete_article",
    "delete_feed",
    "feed_id_for_url",
    "feed_url_taken",
    "get_feed",
    "list_feeds",
    "subscribe",
    "update_feed",
]

# url -> the URL of the feed it leads to (itself, or the feed a page links): the poller's
# `probe`, injected so the catalog needs no fetcher.
Probe = Callable[[str], Awaitable[str]]


async def subscribe(
    session: AsyncSession,
    url: str,
    *,
    category: str,
    title: str | None = None,
    poll_interval: int | None = None,
    allow_private: bool,
    probe: Probe | None,
    now: datetime,
    resolve: bool = True,
) -> FeedInfo:
    """Add a feed: check the URL (SSRF guard), the category and duplicates, then probe
    (when given: an HTML page becomes the feed it links), then insert. The cheap checks
    come first, so a rejected request costs no fetch. OPML import passes no probe: a
    thousand outlines are not fetched at import, their first poll tells. `resolve=False`
    (OPML import, perhaps offline) looks no name up: the guard checks the dialled address
    at every poll."""
    from feedhub.core.urls import normalize_feed_url
    from feedhub.ingest.guard import check_feed_url  # httpx: only the verbs that add feeds

    url = await check_feed_url(url, allow_private=allow_private, resolve=resolve)
    await check_new_feed(session, url=url, category=category)
    if probe is not None:
        # The feed a page led to is stored in normal form too.
        url = normalize_feed_url(await probe(url))
    return await create_feed(
        session, url=url, category=category, title=title, poll_interval=poll_interval, now=now
    )


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


def _feed_info(feed: Feed, slug: str, count: int) -> FeedInfo:
    return FeedInfo(
        id=feed.id, url=feed.url, site_url=feed.site_url, title=feed.title, category=slug,
        enabled=feed.enabled, poll_interval=feed.poll_interval,
        last_polled_at=feed.last_polled_at, next_poll_at=feed.next_poll_at,
        last_status=feed.last_status, error_count=feed.error_count, last_error=feed.last_error,
        disabled_reason=feed.disabled_reason, article_count=int(count),
        created_at=feed.created_at, truncation=feed.truncation, poll_reason=feed.poll_reason,
        current_interval=(
            round((feed.next_poll_at - feed.last_polled_at).total_seconds())
            if feed.next_poll_at and feed.last_polled_at else None
        ),
    )  # fmt: skip


async def _with_push(session: AsyncSession, infos: list[FeedInfo]) -> list[FeedInfo]:
    """Each feed's newest WebSub subscription (an older one may await its unsubscribe)."""
    query = select(WebSubSubscription).order_by(WebSubSubscription.id)
    if len(infos) == 1:
        query = query.where(WebSubSubscription.feed_id == infos[0].id)
    newest = {row.feed_id: row for row in await session.scalars(query)}
    return [
        msgspec.structs.replace(info, push=_push_info(newest[info.id]))
        if info.id in newest
        else info
        for info in infos
    ]


def _push_info(row: WebSubSubscription) -> PushInfo:
    return PushInfo(
        hub=row.hub, topic=row.topic, state=row.state, lease_until=row.lease_until,
        last_push_at=row.last_push_at, pushes_received=row.pushes_received,
        pushes_rejected=row.pushes_rejected, healthy=row.healthy, last_error=row.last_error,
    )  # fmt: skip


async def list_feeds(session: AsyncSession) -> list[FeedInfo]:
    rows = await session.execute(_feed_query().order_by(Feed.id))
    return await _with_push(session, [_feed_info(*row) for row in rows])


async def get_feed(session: AsyncSession, feed_id: int) -> FeedInfo:
    row = (await session.execute(_feed_query().where(Feed.id == feed_id))).first()
    if row is None:
        raise NotFoundError(f"feed {feed_id} does not exist")
    return (await _with_push(session, [_feed_info(*row)]))[0]


async def feed_id_for_url(session: AsyncSession, url: str) -> int | None:
    feed_id: int | None = await session.scalar(select(Feed.id).where(Feed.url == url))
    return feed_id


async def feed_url_taken(session: AsyncSession, url: str) -> bool:
    return await feed_id_for_url(session, url) is not None


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
    now: datetime,
) -> FeedInfo:
    """Insert the feed row; the first poll is due at once (`next_poll_at` = now)."""
    cat = await session.scalar(select(Category).where(Category.slug == category))
    if cat is None:
        raise ValidationError(f"category {category!r} does not exist; create it first")
    if await feed_url_taken(session, url):
        raise ConflictError(f"a feed with the URL {url} already exists")
    from feedhub.ingest.feedstore import FeedStore

    try:
        feed_id = await FeedStore.insert(
            session, url=url, title=title, category_id=cat.id, poll_interval=poll_interval,
            now=now,
        )  # fmt: skip
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(f"a feed with the URL {url} already exists") from None
    return await get_feed(session, feed_id)


async def update_feed(
    session: AsyncSession, feed_id: int, change: FeedChanges, *, now: datetime
) -> FeedInfo:
    values: dict[str, object] = {}
    if change.category is not UNSET:
        cat = await session.scalar(select(Category).where(Category.slug == change.category))
        if cat is None:
            raise ValidationError(f"category {change.category!r} does not exist")
        values["category_id"] = cat.id
    if change.title is not UNSET:
        values["title"] = change.title
    if change.poll_interval is not UNSET:
        values["poll_interval"] = change.poll_interval
        feed = await session.get(Feed, feed_id)
        if feed is not None:
            # Here, not at the top: a listing (`feedhub feeds list`) compiles no scheduler.
            from feedhub.ingest.cadence import rescheduled_poll_at

            values["next_poll_at"] = rescheduled_poll_at(
                now, current=feed.next_poll_at, last_polled_at=feed.last_polled_at,
                fixed_interval=change.poll_interval, error_count=feed.error_count,
            )  # fmt: skip
    if change.enabled is not UNSET:
        values["enabled"] = change.enabled
        if change.enabled:
            # Re-enabling (e.g. after a 410) starts afresh and polls at once, unconditionally:
            # a 304 would show no document, and with it no WebSub hub to subscribe to again.
            values.update(
                disabled_reason=None, error_count=0, next_poll_at=now,
                etag=None, last_modified=None, content_hash=None,
            )  # fmt: skip
    from feedhub.ingest.feedstore import FeedStore

    if not await FeedStore.change(session, feed_id, values):
        raise NotFoundError(f"feed {feed_id} does not exist")
    await session.commit()
    return await get_feed(session, feed_id)


async def delete_feed(session: AsyncSession, feed_id: int) -> None:
    from feedhub.ingest.feedstore import FeedStore

    if not await FeedStore.remove(session, feed_id):
        raise NotFoundError(f"feed {feed_id} does not exist")
    await session.commit()


async def delete_article(session: AsyncSession, article_id: int, *, now: datetime) -> None:
    """Delete one article and leave a tombstone so that a re-poll does not bring it back."""
    article = await session.get(Article, article_id)
    if article is None:
        raise NotFoundError(f"article {article_id} does not exist")
    session.add(Tombstone(feed_id=article.feed_id, guid_key=article.guid_key, deleted_at=now))
    await session.execute(delete(Article).where(Article.id == article_id))
    await session.commit()
