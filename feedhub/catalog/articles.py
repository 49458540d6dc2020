"""Article reads shared by the list endpoint, the stream's replay and the hub's doorbells."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import column, func, literal_column, select, table, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from feedhub.catalog.search_query import SEARCH_LANGUAGE, fts5_query, parse_search, tsquery
from feedhub.catalog.views import ArticleInfo
from feedhub.core.cursor import Cursor
from feedhub.core.urls import display_name
from feedhub.db.models import Article, Category, Feed

__all__ = [
    "MAX_SUMMARY_CHARS",
    "articles_after",
    "articles_before",
    "articles_by_ids",
    "articles_by_listing",
    "count_after",
    "newest_id",
    "search_articles",
]

# Hard bounds on what one article may weigh in an answer, applied by the database so a
# huge row is never even loaded: nine 9 MB entries made `GET /api/articles?limit=10`
# answer 81 MB. Ingest keeps stored text within FEEDHUB_MAX_*_CHARS,
# which may only be lower; these cover rows stored before those caps.
MAX_TITLE_CHARS = 1000
MAX_SUMMARY_CHARS = 65_536
MAX_AUTHOR_CHARS = 1000

_FIELDS = (
    Article.id,
    Article.feed_id,
    Feed.title,
    Feed.url,
    Category.slug,
    func.substr(Article.title, 1, MAX_TITLE_CHARS),
    Article.url,
    func.substr(Article.summary, 1, MAX_SUMMARY_CHARS),
    func.substr(Article.author, 1, MAX_AUTHOR_CHARS),
    Article.published_at,
    Article.fetched_at,
    Article.listed_at,
)


def _base(
    categories: Sequence[str] | None, hidden: Collection[int] = (), feed: int | None = None
) -> Any:
    """`hidden`: feed ids left out (the ones a signed-in reader hid for themself); `feed`:
    one feed's view of the page."""
    # Typed Any: SQLAlchemy 2.1's Select is variadic-generic and gains nothing here.
    query = select(*_FIELDS).join(Feed, Article.feed_id == Feed.id).join(Category)
    if categories:
        query = query.where(Category.slug.in_(categories))
    if hidden:
        query = query.where(Article.feed_id.not_in(hidden))
    if feed is not None:  # one feed's view of the page
        query = query.where(Article.feed_id == feed)
    return query


def _rows(result: object) -> list[ArticleInfo]:
    # A feed without a title is named by its URL, redacted: credentials and a query string
    # (`?token=…`) were public in every answer and event.
    return [
        ArticleInfo(id_, feed_id, title or display_name(url), *rest)
        for id_, feed_id, title, url, *rest in result  # type: ignore[attr-defined]
    ]


async def articles_before(
    session: AsyncSession,
    categories: Sequence[str] | None,
    before: int | None,
    limit: int,
    hidden: Collection[int] = (),
    *,
    feed: int | None = None,
) -> list[ArticleInfo]:
    """Newest first; `before` is the id cursor of "load more"."""
    query = _base(categories, hidden, feed)
    if before is not None:
        query = query.where(Article.id < before)
    return _rows(await session.execute(query.order_by(Article.id.desc()).limit(limit)))


async def articles_after(
    session: AsyncSession,
    categories: Sequence[str] | None,
    after: int,
    limit: int,
    hidden: Collection[int] = (),
    *,
    feed: int | None = None,
) -> list[ArticleInfo]:
    """Oldest first from `after`: catch-up and the stream's replay. Backlog stored quietly
    is left out: it is listed, never announced."""
    query = _base(categories, hidden, feed).where(Article.id > after, Article.quiet.is_(False))
    return _rows(await session.execute(query.order_by(Article.id).limit(limit)))


# Chosen categories holding at least this share of the feeds are read by walking the
# (listed_at, id) index until a page is full; smaller ones by their feeds' articles, sorted.
_WALK_SHARE = 0.05


async def _in_feeds_of(session: AsyncSession, categories: Sequence[str]) -> Any:
    """The filter "in these categories" that lets the database read the fewest rows.

    SQLite drives a category filter by the feeds' index and then sorts every article of
    those categories (40-80 ms for two categories of twenty at 100,000 articles); walking
    the publication index instead stops after a page (~3 ms) but reads the whole index for
    a category of one small feed (~0.5 s). The share of feeds picks the walk for the common
    case; `feed_id + 0` is how SQLite is told not to use the feed index.
    (benchmarks/listing.py measures each case.)
    """
    feed_ids = list(
        await session.scalars(select(Feed.id).join(Category).where(Category.slug.in_(categories)))
    )
    total = int(await session.scalar(select(func.count()).select_from(Feed)) or 0)
    if feed_ids and len(feed_ids) >= _WALK_SHARE * total:
        return (Article.feed_id + 0).in_(feed_ids)
    return Article.feed_id.in_(feed_ids)


async def articles_by_listing(
    session: AsyncSession,
    categories: Sequence[str] | None,
    cursor: Cursor | None,
    limit: int,
    hidden: Collection[int] = (),
    *,
    feed: int | None = None,
) -> list[ArticleInfo]:
    """Newest publication first (listed_at, then id); `cursor` continues after a page."""
    query = _base(None, hidden, feed)
    if categories:
        query = query.where(await _in_feeds_of(session, categories))
    if cursor is not None:
        # A row-value comparison: both SQLite and PostgreSQL turn it into one range scan of
        # the (listed_at, id) index; the equivalent OR is read row by row.
        query = query.where(
            tuple_(Article.listed_at, Article.id) < tuple_(cursor.listed_at, cursor.id)
        )
    order = (Article.listed_at.desc(), Article.id.desc())
    return _rows(await session.execute(query.order_by(*order).limit(limit)))


async def articles_by_ids(session: AsyncSession, ids: Sequence[int]) -> list[ArticleInfo]:
    query = _base(None).where(Article.id.in_(ids)).order_by(Article.id)
    return _rows(await session.execute(query))


async def count_after(
    session: AsyncSession,
    categories: Sequence[str] | None,
    after: int,
    cap: int,
    hidden: Collection[int] = (),
) -> int:
    """How many articles a resume would replay, counting no further than `cap` + 1."""
    inner = (
        _base(categories, hidden)
        .where(Article.id > after, Article.quiet.is_(False))
        .limit(cap + 1)
        .subquery()
    )
    return int(await session.scalar(select(func.count()).select_from(inner)) or 0)


async def newest_id(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.max(Article.id))) or 0)


async def search_articles(
    session: AsyncSession,
    text_query: str,
    categories: Sequence[str] | None,
    limit: int,
    hidden: Collection[int] = (),
    *,
    feed: int | None = None,
) -> list[ArticleInfo]:
    """Ranked full-text search over title, summary and content; title matches rank first.
    What the box understands: catalog/search_query.py."""
    asked = parse_search(text_query)
    if asked is None:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        match = fts5_query(asked)
        fts = table("article_fts", column("rowid"), column("rank"))
        # bm25 weights: a title hit counts ten times one in the text.
        rank: ColumnElement[Any] = literal_column("bm25(article_fts, 10.0, 1.0)")
        query = (
            _base(categories, hidden, feed)
            .join(fts, fts.c.rowid == Article.id)
            .where(literal_column("article_fts").op("MATCH")(match))
            .order_by(rank, Article.id.desc())
        )
    elif dialect == "postgresql":
        ts_query = func.to_tsquery(SEARCH_LANGUAGE, tsquery(asked))
        vector: ColumnElement[Any] = literal_column("article.search_vector")
        query = (
            _base(categories, hidden, feed)
            .where(vector.op("@@")(ts_query))
            .order_by(func.ts_rank(vector, ts_query).desc(), Article.id.desc())
        )
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        raise NotImplementedError(dialect)
    return _rows(await session.execute(query.limit(limit)))
