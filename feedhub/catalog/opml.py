"""Bringing subscriptions in and out: OPML import/export (admin API and CLI).

An import is one transaction per feed, so a crash half-way leaves a consistent database,
and one bad outline never aborts the rest: every outline gets a line in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Literal

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.categories import ensure_category
from feedhub.catalog.feeds import feed_id_for_url, subscribe
from feedhub.core.errors import ConflictError, FeedhubError, ValidationError
from feedhub.db.models import Category, Feed
from feedhub.ingest.guard import check_feed_url
from feedhub.ingest.opml import OpmlFeed, read_opml, write_opml

__all__ = ["ImportLine", "ImportReport", "export_opml", "import_opml"]


ImportStatus = Literal["created", "existing", "invalid"]


class ImportLine(msgspec.Struct):
    url: str
    status: ImportStatus
    category: str | None = None
    feed_id: int | None = None
    reason: str | None = None


class ImportReport(msgspec.Struct):
    created: int
    existing: int
    invalid: int
    feeds: list[ImportLine]


async def import_opml(
    sessions: async_sessionmaker[AsyncSession],
    data: bytes,
    *,
    default_category: str,
    allow_private: bool,
    now: datetime,
    progress: Callable[[int, int], None] | None = None,
) -> ImportReport:
    """Raises ParseError (-> 422) for a document that is not OPML, before creating anything."""
    document = read_opml(data, default_category=default_category)
    lines: list[ImportLine] = [
        ImportLine(url=bad.text, status="invalid", reason=bad.reason) for bad in document.invalid
    ]
    total = len(document.feeds)
    for done, outline in enumerate(document.feeds, start=1):
        lines.append(await _import_one(sessions, outline, allow_private, now))
        if progress is not None:
            progress(done, total)
    counts = {s: sum(1 for line in lines if line.status == s) for s in ("created", "existing")}
    return ImportReport(
        created=counts["created"],
        existing=counts["existing"],
        invalid=len(lines) - counts["created"] - counts["existing"],
        feeds=lines,
    )


async def _import_one(
    sessions: async_sessionmaker[AsyncSession],
    outline: OpmlFeed,
    allow_private: bool,
    now: datetime,
) -> ImportLine:
    try:
        # Checked before the category is made: an invalid outline creates nothing. No name
        # lookup (an import may be made offline): the guard checks the dialled address at
        # every poll.
        url = await check_feed_url(outline.url, allow_private=allow_private, resolve=False)
    except ValidationError as exc:
        return ImportLine(url=outline.url, status="invalid", reason=str(exc))
    async with sessions() as session:
        existing = await feed_id_for_url(session, url)
        if existing is not None:
            return ImportLine(url=url, status="existing", feed_id=existing)
        try:
            slug = await ensure_category(session, outline.category)
            feed = await subscribe(
                session, url, category=slug, title=outline.title or None,
                allow_private=allow_private, probe=None, now=now, resolve=False,
            )  # fmt: skip
        except ConflictError:
            return ImportLine(url=url, status="existing")
        except FeedhubError as exc:
            return ImportLine(url=url, status="invalid", reason=str(exc))
    return ImportLine(url=url, status="created", category=slug, feed_id=feed.id)


async def export_opml(session: AsyncSession, hidden: Collection[int] = ()) -> bytes:
    """Every feed by category; `hidden`: feed ids left out (a reader's app export)."""
    query = select(Category.name, Feed.url, Feed.title, Feed.site_url).join(
        Feed, Feed.category_id == Category.id
    )
    if hidden:
        query = query.where(Feed.id.not_in(hidden))
    rows = await session.execute(query.order_by(Category.name, Feed.id))
    groups: dict[str, list[OpmlFeed]] = {}
    for name, url, title, site_url in rows:
        groups.setdefault(name, []).append(
            OpmlFeed(url=url, title=title, site_url=site_url, category=name)
        )
    ordered: Sequence[tuple[str, Sequence[OpmlFeed]]] = list(groups.items())
    return write_opml(ordered)
