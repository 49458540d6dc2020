"""Categories: create, rename, delete, list (the admin API and the CLI share these).

Each function does one change in one transaction and raises NotFoundError, ConflictError
or ValidationError before writing anything, so a rejected request changes nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.catalog.views import CategoryInfo
from feedhub.core.errors import ConflictError, NotFoundError, ValidationError
from feedhub.db.models import Category, Feed
from feedhub.ingest.opml import slugify

__all__ = [
    "category_exists",
    "create_category",
    "delete_category",
    "ensure_category",
    "list_categories",
    "rename_category",
]


# -- categories --------------------------------------------------------------------------------
async def list_categories(
    session: AsyncSession,
    hidden_categories: Collection[int] = (),
    hidden_feeds: Collection[int] = (),
) -> list[CategoryInfo]:
    """Every category with its number of feeds; for a signed-in reader, without the
    categories they hid, and their hidden feeds left out of the counts."""
    counts_query = select(Feed.category_id, func.count(Feed.id).label("n"))
    if hidden_feeds:
        counts_query = counts_query.where(Feed.id.not_in(hidden_feeds))
    counts = counts_query.group_by(Feed.category_id).subquery()
    query = select(Category.slug, Category.name, func.coalesce(counts.c.n, 0)).outerjoin(
        counts, counts.c.category_id == Category.id
    )
    if hidden_categories:
        query = query.where(Category.id.not_in(hidden_categories))
    rows = await session.execute(query.order_by(Category.name))
    return [CategoryInfo(slug, name, int(n)) for slug, name, n in rows]


async def _category(session: AsyncSession, slug: str) -> Category:
    category = await session.scalar(select(Category).where(Category.slug == slug))
    if category is None:
        raise NotFoundError(f"category {slug!r} does not exist")
    return category


async def create_category(session: AsyncSession, name: str, slug: str | None) -> CategoryInfo:
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
    return CategoryInfo(slug, name, 0)


async def rename_category(session: AsyncSession, slug: str, name: str) -> CategoryInfo:
    if not name.strip():
        raise ValidationError("a category needs a name")
    category = await _category(session, slug)
    category.name = name.strip()
    await session.commit()
    count = await session.scalar(select(func.count()).where(Feed.category_id == category.id))
    return CategoryInfo(category.slug, category.name, int(count or 0))


async def delete_category(session: AsyncSession, slug: str) -> None:
    category = await _category(session, slug)
    count = await session.scalar(select(func.count()).where(Feed.category_id == category.id))
    if count:
        raise ConflictError(f"category {slug!r} still has {count} feed(s); move or delete them")
    await session.delete(category)
    await session.commit()


async def category_exists(session: AsyncSession, slug: str) -> bool:
    return bool(await session.scalar(select(Category.id).where(Category.slug == slug)))


async def ensure_category(session: AsyncSession, name: str) -> str:
    """The slug of the category called `name`, created when missing (OPML import)."""
    slug = slugify(name)
    if not await category_exists(session, slug):
        with contextlib.suppress(ConflictError):  # created meanwhile: fine
            await create_category(session, name, slug)
    return slug
