"""Feeds and categories a reader has hidden from their own lists and apps.

Feeds stay shared and admin-curated; a hidden feed (or every feed of a hidden category,
including feeds moved into it later) is left out of that user's lists, unread counts,
mark-all-read, live stream and apps, and nobody else's. Unhiding brings everything back
as it was: the read marks and stars are kept, hidden or not.

Readers hide few things, so the set of hidden feed ids is read in one small query and
applied as a plain `NOT IN` list; for a user who hides nothing every query stays as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, CompoundSelect, delete, func, select, union
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.core.errors import NotFoundError, ValidationError
from feedhub.db.models import Category, Feed, HiddenCategory, HiddenFeed

__all__ = [
    "MAX_HIDDEN",
    "HiddenCategoryInfo",
    "HiddenFeedInfo",
    "HiddenList",
    "category_id_of",
    "hidden_category_ids",
    "hidden_feeds",
    "hidden_feeds_query",
    "hide_category",
    "hide_feed",
    "list_hidden",
    "unhide_category",
    "unhide_feed",
]

# A bound on the rows one user can add: every id becomes a parameter of their queries.
MAX_HIDDEN = 5000


@dataclass(frozen=True, slots=True)
class HiddenFeedInfo:
    id: int
    title: str
    category: str


@dataclass(frozen=True, slots=True)
class HiddenCategoryInfo:
    id: int
    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class HiddenList:
    feeds: list[HiddenFeedInfo]
    categories: list[HiddenCategoryInfo]


def hidden_feeds_query(user_id: int | BindParameter[int]) -> CompoundSelect[Any]:
    """The ids of `hidden_feeds`, as a statement: a list of all articles leaves them out
    with a `NOT IN` of it, read once per statement, instead of a query of its own first.
    The user is a number, or a parameter of a statement built once."""
    by_feed = select(HiddenFeed.feed_id).where(HiddenFeed.user_id == user_id)
    by_category = (
        select(Feed.id)
        .join(HiddenCategory, HiddenCategory.category_id == Feed.category_id)
        .where(HiddenCategory.user_id == user_id)
    )
    return union(by_feed, by_category)


async def hidden_feeds(session: AsyncSession, user_id: int) -> frozenset[int]:
    """Every feed hidden for the user: hidden one by one, or by their category."""
    if user_id <= 0:
        return frozenset()
    return frozenset(int(i) for i in await session.scalars(hidden_feeds_query(user_id)))


async def hidden_category_ids(session: AsyncSession, user_id: int) -> frozenset[int]:
    if user_id <= 0:
        return frozenset()
    rows = await session.scalars(
        select(HiddenCategory.category_id).where(HiddenCategory.user_id == user_id)
    )
    return frozenset(int(i) for i in rows)


async def list_hidden(session: AsyncSession, user_id: int) -> HiddenList:
    feeds = await session.execute(
        select(Feed.id, func.coalesce(Feed.title, Feed.url), Category.slug)
        .join(HiddenFeed, HiddenFeed.feed_id == Feed.id)
        .join(Category, Category.id == Feed.category_id)
        .where(HiddenFeed.user_id == user_id)
        .order_by(func.lower(func.coalesce(Feed.title, Feed.url)), Feed.id)
    )
    categories = await session.execute(
        select(Category.id, Category.slug, Category.name)
        .join(HiddenCategory, HiddenCategory.category_id == Category.id)
        .where(HiddenCategory.user_id == user_id)
        .order_by(Category.name, Category.id)
    )
    return HiddenList(
        [HiddenFeedInfo(*row) for row in feeds], [HiddenCategoryInfo(*row) for row in categories]
    )


async def _count(session: AsyncSession, user_id: int) -> int:
    feeds = await session.scalar(
        select(func.count()).select_from(HiddenFeed).where(HiddenFeed.user_id == user_id)
    )
    categories = await session.scalar(
        select(func.count()).select_from(HiddenCategory).where(HiddenCategory.user_id == user_id)
    )
    return int(feeds or 0) + int(categories or 0)


async def _insert(
    session: AsyncSession, model: type[HiddenFeed | HiddenCategory], row: dict[str, int]
) -> None:
    if await _count(session, row["user_id"]) >= MAX_HIDDEN:
        raise ValidationError(f"at most {MAX_HIDDEN} hidden feeds and categories")
    make = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(make(model).values(row).on_conflict_do_nothing())
    await session.commit()


async def hide_feed(session: AsyncSession, user_id: int, feed_id: int) -> None:
    """Idempotent; 404 for a feed that does not exist."""
    if await session.get(Feed, feed_id) is None:
        raise NotFoundError(f"feed {feed_id} does not exist")
    await _insert(session, HiddenFeed, {"user_id": user_id, "feed_id": feed_id})


async def unhide_feed(session: AsyncSession, user_id: int, feed_id: int) -> bool:
    """False when it was not hidden (one by one: a hidden category stays hidden)."""
    result = await session.execute(
        delete(HiddenFeed).where(HiddenFeed.user_id == user_id, HiddenFeed.feed_id == feed_id)
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))


async def category_id_of(session: AsyncSession, key: str) -> int:
    """A category named by its id (digits), its slug, or its name; 404 if none."""
    key = key.strip()
    found = None
    if key.isascii() and key.isdigit() and len(key) <= 18:
        found = await session.scalar(select(Category.id).where(Category.id == int(key)))
    if found is None:
        found = await session.scalar(select(Category.id).where(Category.slug == key))
    if found is None:
        found = await session.scalar(select(Category.id).where(Category.name == key).limit(1))
    if found is None:
        raise NotFoundError(f"category {key!r} does not exist")
    return int(found)


async def hide_category(session: AsyncSession, user_id: int, category_id: int) -> None:
    if await session.get(Category, category_id) is None:
        raise NotFoundError(f"category {category_id} does not exist")
    await _insert(session, HiddenCategory, {"user_id": user_id, "category_id": category_id})


async def unhide_category(session: AsyncSession, user_id: int, category_id: int) -> bool:
    result = await session.execute(
        delete(HiddenCategory).where(
            HiddenCategory.user_id == user_id, HiddenCategory.category_id == category_id
        )
    )
    await session.commit()
    return bool(getattr(result, "rowcount", 0))
