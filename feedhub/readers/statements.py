"""The statements of `feedhub.readers.queries`, built once per shape with every value a
parameter.

A list's statement depends on which filters its scope has, its order and whether it goes
on from a cursor (its shape), not on the values: the user, the feeds, the bounds, the
limit. Built anew for every request, with its SQLAlchemy cache key, it cost more CPU than
reading a page of 100 articles; here each shape's statement is built on its first use and
kept (a few dozen shapes in practice, LRU-bounded), and a call passes `values_of` its scope.
"""

from __future__ import annotations

import functools
from typing import Any, Literal, NamedTuple

from sqlalchemy import Integer, bindparam, func, null, select, tuple_

from feedhub.core.cursor import Cursor
from feedhub.db.models import Article, Category, Feed
from feedhub.readers.hidden import hidden_feeds_query
from feedhub.readers.state import StateJoin

__all__ = [
    "Order",
    "Shape",
    "ids_statement",
    "order_of",
    "refs_statement",
    "rows_by_ids_statement",
    "rows_statement",
    "values_of",
]

# Statements kept: far more than the shapes clients send, bounded all the same.
_KEPT = 256
_JOIN = StateJoin(bindparam("user_id"))
_LIMIT = bindparam("limit", type_=Integer())


class Shape(NamedTuple):
    """Which filters a scope (`queries.Scope`) has; their values are parameters."""

    feeds: bool
    category: bool
    starred: bool
    read: bool | None
    after: bool
    upto: bool
    ids: bool
    hidden: bool
    hidden_of: bool

    @classmethod
    def of(cls, scope: Any) -> Shape:
        return cls(
            scope.feed_ids is not None, scope.category_id is not None, scope.starred,
            scope.read, scope.after_id is not None, scope.upto_id is not None,
            scope.ids is not None, bool(scope.hidden), scope.hidden_of is not None,
        )  # fmt: skip

    @property
    def needs_state(self) -> bool:
        return self.starred or self.read is not None


class Order(NamedTuple):
    """By id (newest or oldest first) from an id cursor, or by publication (`listing`)
    from a (listed_at, id) cursor."""

    listed: bool
    oldest_first: bool
    from_cursor: bool


def order_of(
    cursor: int | None, oldest_first: bool, listing: Cursor | None | Literal[False]
) -> Order:
    if listing is not False:
        return Order(True, False, listing is not None)
    return Order(False, oldest_first, cursor is not None)


def values_of(
    user_id: int, scope: Any, cursor: int | None, listing: Cursor | None | Literal[False],
    limit: int,
) -> dict[str, Any]:  # fmt: skip
    """The parameters of a statement of `Shape.of(scope)` and `order_of(...)`."""
    values: dict[str, Any] = {"user_id": user_id, "limit": limit}
    for name in ("category_id", "after_id", "upto_id", "hidden_of"):
        if (value := getattr(scope, name)) is not None:
            values[name] = value
    for name in ("feed_ids", "ids"):
        if (value := getattr(scope, name)) is not None:
            values[name] = list(value)
    if scope.hidden:
        values["hidden"] = list(scope.hidden)
    if listing is False:
        if cursor is not None:
            values["cursor"] = cursor
    elif listing is not None:
        values["listed_at"], values["listed_id"] = listing.listed_at, listing.id
    return values


def _filtered(query: Any, shape: Shape) -> Any:
    if shape.feeds:
        query = query.where(Article.feed_id.in_(bindparam("feed_ids", expanding=True)))
    if shape.category:
        # Feed ids, not a join on feed: the (feed_id, id) index then serves the range.
        feeds = select(Feed.id).where(Feed.category_id == bindparam("category_id"))
        query = query.where(Article.feed_id.in_(feeds.scalar_subquery()))
    if shape.starred:
        query = query.where(_JOIN.is_starred)
    if shape.read is True:
        query = query.where(_JOIN.is_read)
    elif shape.read is False:
        query = query.where(_JOIN.is_unread)
    if shape.after:
        query = query.where(Article.id > bindparam("after_id"))
    if shape.upto:
        query = query.where(Article.id <= bindparam("upto_id"))
    if shape.ids:
        query = query.where(Article.id.in_(bindparam("ids", expanding=True)))
    if shape.hidden:
        query = query.where(Article.feed_id.not_in(bindparam("hidden", expanding=True)))
    if shape.hidden_of:
        query = query.where(Article.feed_id.not_in(hidden_feeds_query(bindparam("hidden_of"))))
    return query


def _ordered(query: Any, order: Order) -> Any:
    """`query` from its cursor on, in its order."""
    if order.listed:
        if order.from_cursor:
            after = tuple_(
                bindparam("listed_at", type_=Article.listed_at.type),
                bindparam("listed_id", type_=Article.id.type),
            )
            query = query.where(tuple_(Article.listed_at, Article.id) < after)
        return query.order_by(Article.listed_at.desc(), Article.id.desc())
    if order.from_cursor:
        cursor = bindparam("cursor", type_=Article.id.type)
        query = query.where(Article.id > cursor if order.oldest_first else Article.id < cursor)
    return query.order_by(Article.id.asc() if order.oldest_first else Article.id.desc())


def _item_columns(with_content: bool) -> tuple[Any, ...]:
    read_col, star_col = _JOIN.columns()
    return (
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
    )


def _rows(with_content: bool) -> Any:
    """The columns of `queries.Item`, with the feed, its category and the user's state."""
    return _JOIN.join(
        select(*_item_columns(with_content))
        .join(Feed, Article.feed_id == Feed.id)
        .join(Category, Feed.category_id == Category.id)
    )


@functools.lru_cache(maxsize=_KEPT)
def rows_statement(shape: Shape, order: Order, with_content: bool) -> Any:
    """`queries.Item` rows of a scope, a page from the cursor on (`limit`)."""
    return _ordered(_filtered(_rows(with_content), shape), order).limit(_LIMIT)


@functools.lru_cache(maxsize=_KEPT)
def ids_statement(shape: Shape, order: Order) -> Any:
    """Only the ids of `rows_statement`'s page (for several feeds, read from the (feed_id,
    id) index first: `rows_by_ids_statement` then reads just those rows)."""
    query = _filtered(_JOIN.join(select(Article.id)), shape)
    return _ordered(query, order).limit(_LIMIT)


@functools.lru_cache(maxsize=_KEPT)
def rows_by_ids_statement(order: Order, with_content: bool) -> Any:
    """`queries.Item` rows of the articles `page_ids`, in the page's order."""
    query = _rows(with_content).where(Article.id.in_(bindparam("page_ids", expanding=True)))
    return _ordered(query, order._replace(from_cursor=False))


@functools.lru_cache(maxsize=_KEPT)
def refs_statement(shape: Shape, order: Order) -> Any:
    """`queries.Ref` rows: three columns of the article row, no feed or category join, and
    the user's state joined only when the scope filters on it."""
    query = select(Article.id, Article.feed_id, Article.fetched_at)
    if shape.needs_state:
        query = _JOIN.join(query)
    return _ordered(_filtered(query, shape), order).limit(_LIMIT)
