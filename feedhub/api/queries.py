"""Article reads shared by the list endpoint, the stream's replay and the hub's doorbells."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.api.schemas import ArticleJSON
from feedhub.models import Article, Category, Feed

__all__ = ["articles_after", "articles_before", "articles_by_ids", "count_after", "newest_id"]

_FIELDS = (
    Article.id,
    Article.feed_id,
    func.coalesce(Feed.title, Feed.url),
    Category.slug,
    Article.title,
    Article.url,
    Article.summary,
    Article.author,
    Article.published_at,
    Article.fetched_at,
)


def _base(categories: Sequence[str] | None) -> Any:
    # Typed Any: SQLAlchemy 2.1's Select is variadic-generic and gains nothing here.
    query = select(*_FIELDS).join(Feed, Article.feed_id == Feed.id).join(Category)
    if categories:
        query = query.where(Category.slug.in_(categories))
    return query


def _rows(result: object) -> list[ArticleJSON]:
    return [ArticleJSON(*row) for row in result]  # type: ignore[attr-defined]


async def articles_before(
    session: AsyncSession, categories: Sequence[str] | None, before: int | None, limit: int
) -> list[ArticleJSON]:
    """Newest first; `before` is the id cursor of "load more"."""
    query = _base(categories)
    if before is not None:
        query = query.where(Article.id < before)
    return _rows(await session.execute(query.order_by(Article.id.desc()).limit(limit)))


async def articles_after(
    session: AsyncSession, categories: Sequence[str] | None, after: int, limit: int
) -> list[ArticleJSON]:
    """Oldest first from `after`: catch-up and the stream's replay."""
    query = _base(categories).where(Article.id > after)
    return _rows(await session.execute(query.order_by(Article.id).limit(limit)))


async def articles_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[ArticleJSON]:
    query = _base(None).where(Article.id.in_(ids)).order_by(Article.id)
    return _rows(await session.execute(query))


async def count_after(
    session: AsyncSession, categories: Sequence[str] | None, after: int, cap: int
) -> int:
    """How many articles a resume would replay, counting no further than `cap` + 1."""
    inner = _base(categories).where(Article.id > after).limit(cap + 1).subquery()
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)


async def newest_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(Article.id))) or 0)
