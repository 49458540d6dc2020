"""Google Reader API reads that need the database: streams to scopes, subscriptions,
labels, unread counts. The edits go through `feedhub.readers.state` and the catalog."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

import msgspec
from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from feedhub.core.errors import NotFoundError
from feedhub.db.models import Article, Category, Feed
from feedhub.greader.protocol import READ, STARRED, Stream, label_id, tags_in
from feedhub.readers import state
from feedhub.readers.hidden import hidden_category_ids, hidden_feeds_query
from feedhub.readers.queries import Scope

__all__ = [
    "Subscription",
    "UnreadCount",
    "apply_filters",
    "category_for_label",
    "existing_feed",
    "feed_title",
    "feed_ids_for",
    "list_labels",
    "list_subscriptions",
    "scope_for",
    "unread_counts",
]


# Frozen msgspec structs, not frozen dataclasses: one per feed per call, made ten times faster.
class Subscription(msgspec.Struct, frozen=True):
    feed_id: int
    title: str
    url: str
    site_url: str | None
    label: str
    created_at: datetime


class UnreadCount(msgspec.Struct, frozen=True):
    stream_id: str
    count: int
    newest: datetime | None


async def category_for_label(session: AsyncSession, label: str) -> Category:
    """A label is a category, named by its name (as listed) or by its slug."""
    found = await session.scalar(select(Category).where(Category.name == label).limit(1))
    if found is None:
        found = await session.scalar(select(Category).where(Category.slug == label))
    if found is None:
        raise NotFoundError(f"label {label!r} does not exist")
    return found


async def existing_feed(session: AsyncSession, stream: Stream) -> int | None:
    """The id of the feed a `feed/…` stream names, by id or by URL; None if there is none."""
    feed_id = stream.feed_id
    if feed_id is None:  # "feed/<url>", Google Reader's own form
        feed_id = await session.scalar(select(Feed.id).where(Feed.url == (stream.value or "")))
    elif await session.get(Feed, feed_id) is None:
        feed_id = None
    return None if feed_id is None else int(feed_id)


async def _feed(session: AsyncSession, stream: Stream) -> int:
    feed_id = await existing_feed(session, stream)
    if feed_id is None:
        raise NotFoundError(f"feed {stream.value or ''!r} does not exist")
    return feed_id


async def scope_for(session: AsyncSession, stream: Stream) -> Scope | None:
    """The articles a stream names; None for a stream that is always empty here."""
    if stream.kind == "reading-list":
        return Scope()
    if stream.kind == "starred":
        return Scope(starred=True)
    if stream.kind == "read":
        return Scope(read=True)
    if stream.kind == "label":
        return Scope(category_id=(await category_for_label(session, stream.value or "")).id)
    if stream.kind == "feed":
        return Scope(feed_ids=(await _feed(session, stream),))
    return None


async def feed_ids_for(session: AsyncSession, stream: Stream) -> list[int] | None:
    """The feeds a mark-all-as-read covers: None for all; [] for a stream that is no set
    of feeds (a state: only its own articles may change, never every feed's)."""
    if stream.kind == "reading-list":
        return None
    if stream.kind == "label":
        category = await category_for_label(session, stream.value or "")
        return list(await session.scalars(select(Feed.id).where(Feed.category_id == category.id)))
    if stream.kind == "feed":
        return [await _feed(session, stream)]
    return []


def apply_filters(scope: Scope, exclude: Iterable[str], include: Iterable[str]) -> Scope:
    """`xt` (exclude) and `it` (include) of read and starred; other tags change nothing."""
    excluded, included = tags_in(exclude), tags_in(include)
    if READ in excluded:
        scope = replace(scope, read=False)
    if READ in included:
        scope = replace(scope, read=True)
    if STARRED in included:
        scope = replace(scope, starred=True)
    return scope


# Every feed but those the user hid (one by one or by their category), the hidden feeds as
# a subquery: one statement, one round trip. Built once: built per request, the statement
# and its cache key cost more CPU than reading its hundred rows.
_TITLE = func.coalesce(Feed.title, Feed.url)
_SUBSCRIPTIONS = (
    select(Feed.id, _TITLE, Feed.url, Feed.site_url, Category.name, Feed.created_at)
    .join(Category)
    .where(Feed.id.not_in(hidden_feeds_query(bindparam("user_id"))))
    .order_by(func.lower(_TITLE), Feed.id)
)


async def list_subscriptions(
    session: AsyncSession | AsyncConnection, user_id: int
) -> list[Subscription]:
    """Every feed but those the user hid, by title: plain rows, on a connection or on the
    session's (without the ORM's handling of a statement)."""
    conn = await session.connection() if isinstance(session, AsyncSession) else session
    rows = await conn.execute(_SUBSCRIPTIONS, {"user_id": user_id})
    return [Subscription(*row) for row in rows]


async def feed_title(session: AsyncSession, feed_id: int) -> str:
    title = await session.scalar(
        select(func.coalesce(Feed.title, Feed.url)).where(Feed.id == feed_id)
    )
    return str(title or "")


async def list_labels(session: AsyncSession, user_id: int) -> list[str]:
    """Every category's name but those the user hid."""
    query = select(Category.name)
    if concealed := await hidden_category_ids(session, user_id):
        query = query.where(Category.id.not_in(concealed))
    return list(await session.scalars(query.order_by(Category.name)))


# Every feed with its label and its newest article's fetch time, built once.
_NEWEST = (
    select(Article.fetched_at)
    .where(Article.feed_id == Feed.id)
    .order_by(Article.id.desc())
    .limit(1)
    .correlate(Feed)
    .scalar_subquery()
)
_FEEDS_NEWEST = select(Feed.id, Category.name, _NEWEST).join(Category)


async def unread_counts(session: AsyncSession, user_id: int) -> list[UnreadCount]:
    """Per feed, per label and the reading list; newest = the newest article's fetch time."""
    counts = await state.unread_counts(session, user_id)
    rows = await (await session.connection()).execute(_FEEDS_NEWEST)
    per_label: dict[str, tuple[int, datetime | None]] = {}
    out: list[UnreadCount] = []
    total, newest_all = 0, None
    for feed_id, label, newest in rows:
        n = counts.get(feed_id, 0)
        if not n:
            continue
        out.append(UnreadCount(f"feed/{feed_id}", n, newest))
        count, when = per_label.get(label, (0, None))
        per_label[label] = (count + n, max(filter(None, (when, newest)), default=None))
        total += n
        newest_all = max(filter(None, (newest_all, newest)), default=None)
    out += [UnreadCount(label_id(k), n, w) for k, (n, w) in sorted(per_label.items())]
    out.append(UnreadCount("user/-/state/com.google/reading-list", total, newest_all))
    return out
