"""Article lists with one user's read and starred state: the Google Reader streams and
`/api/me/articles`.

Lists are in id (commit) order, newest first unless `oldest_first`, with the last id as the
continuation: a stable cursor that new arrivals never shift, and an index range scan on
SQLite and PostgreSQL. The user's state comes from two outer joins (read mark by feed,
exception by article: `StateJoin`), primary-key lookups per listed row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, null, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.cursor import Cursor
from feedhub.models import Article, Category, Feed
from feedhub.readers.state import StateJoin

__all__ = ["Item", "Scope", "get_item", "id_list", "list_items"]


@dataclass(frozen=True, slots=True)
class Scope:
    """Which articles: all filters are ANDed; None means "no filter"."""

    feed_ids: tuple[int, ...] | None = None
    category_id: int | None = None
    starred: bool = False
    read: bool | None = None  # True: only read, False: only unread
    published_from: datetime | None = None  # inclusive (Google Reader `ot`)
    published_to: datetime | None = None  # exclusive (`nt`)
    ids: tuple[int, ...] | None = None


@dataclass(frozen=True, slots=True)
class Item:
    id: int
    feed_id: int
    feed_title: str
    feed_site_url: str | None
    category: str
    category_name: str
    title: str
    url: str | None
    summary: str
    content: str | None
    author: str | None
    published_at: datetime
    fetched_at: datetime
    read: bool
    starred: bool
    # Issue 13: the list order (publication clamped to arrival) and media files.
    listed_at: datetime
    enclosures: list[dict[str, Any]] | None


def _query(user_id: int, with_content: bool) -> tuple[Any, StateJoin]:
    join = StateJoin(user_id)
    read_col, star_col = join.columns()
    columns: list[Any] = [
        Article.id,
        Article.feed_id,
        func.coalesce(Feed.title, Feed.url),
        Feed.site_url,
        Category.slug,
        Category.name,
        Article.title,
        Article.url,
        Article.summary,
        Article.content if with_content else null(),
        Article.author,
        Article.published_at,
        Article.fetched_at,
        read_col,
        star_col,
        Article.listed_at,
        Article.enclosures,
    ]
    query = select(*columns).join(Feed, Article.feed_id == Feed.id).join(Category)
    return join.join(query), join


def _filtered(query: Any, join: StateJoin, scope: Scope) -> Any:
    if scope.feed_ids is not None:
        query = query.where(Article.feed_id.in_(scope.feed_ids))
    if scope.category_id is not None:
        query = query.where(Feed.category_id == scope.category_id)
    if scope.starred:
        query = query.where(join.is_starred)
    if scope.read is True:
        query = query.where(join.is_read)
    elif scope.read is False:
        query = query.where(join.is_unread)
    if scope.published_from is not None:
        query = query.where(Article.published_at >= scope.published_from)
    if scope.published_to is not None:
        query = query.where(Article.published_at < scope.published_to)
    if scope.ids is not None:
        query = query.where(Article.id.in_(scope.ids))
    return query


async def list_items(
    session: AsyncSession,
    user_id: int,
    scope: Scope,
    *,
    cursor: int | None = None,
    oldest_first: bool = False,
    limit: int = 20,
    with_content: bool = True,
    listing: Cursor | None | Literal[False] = False,
) -> list[Item]:
    """Up to `limit` articles after the cursor (an id) in the chosen direction. With
    `listing` (a Cursor, or None for the first page) the order is the page's publication
    order instead, newest first (issue 13), and `cursor` is ignored."""
    query, join = _query(user_id, with_content)
    query = _filtered(query, join, scope)
    if listing is not False:
        if listing is not None:
            query = query.where(
                or_(
                    Article.listed_at < listing.listed_at,
                    and_(Article.listed_at == listing.listed_at, Article.id < listing.id),
                )
            )
        order_by = (Article.listed_at.desc(), Article.id.desc())
        rows = await session.execute(query.order_by(*order_by).limit(limit))
        return [Item(*row) for row in rows]
    if cursor is not None:
        query = query.where(Article.id > cursor if oldest_first else Article.id < cursor)
    order = Article.id.asc() if oldest_first else Article.id.desc()
    rows = await session.execute(query.order_by(order).limit(limit))
    return [Item(*row) for row in rows]


async def get_item(session: AsyncSession, user_id: int, article_id: int) -> Item | None:
    items = await list_items(session, user_id, Scope(ids=(article_id,)), limit=1)
    return items[0] if items else None


def id_list(items: Sequence[Item]) -> list[int]:
    return [item.id for item in items]
