"""Read and starred state per user: a read mark per feed plus per-article exceptions.

An article is read for a user when its `article_state.read` says so, or, when that is NULL
(or there is no row), when its id is at or below the user's `read_mark.upto_id` for its
feed. Invariant kept by every writer here: a `read=True` row only sits above the mark and a
`read=False` row only at or below it, so unread counts are "articles above the mark" plus
a correction from the (few) exception rows. Rows that say nothing (read NULL, not starred)
are deleted.

"Mark all as read" raises the marks of the feeds in scope to a bound (an id, or the newest
article fetched by a given time). Article ids grow in commit order (DESIGN.md), so every
article that arrives after the bound was taken has a larger id and stays unread.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    Integer,
    and_,
    bindparam,
    case,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from feedhub.core.errors import ValidationError
from feedhub.db.engine import USER_STATE_LOCK
from feedhub.db.models import Article, ArticleState, Feed, ReadMark
from feedhub.readers.hidden import hidden_feeds, hidden_feeds_query

__all__ = [
    "AllRead",
    "StateChange",
    "StateJoin",
    "apply_changes",
    "bound_for_time",
    "mark_all_read",
    "states_of",
    "unread_counts",
]

MAX_IDS = 1000


@dataclass(frozen=True, slots=True)
class AllRead:
    category: str | None
    feed_id: int | None
    upto_id: int


@dataclass(frozen=True, slots=True)
class StateChange:
    """What changed for a user: the body of `event: state` (DESIGN.md "Readers")."""

    read: tuple[int, ...] = ()
    unread: tuple[int, ...] = ()
    starred: tuple[int, ...] = ()
    unstarred: tuple[int, ...] = ()
    all_read: AllRead | None = field(default=None)

    def is_empty(self) -> bool:
        return not (self.read or self.unread or self.starred or self.unstarred or self.all_read)


# Aliased and built once, shared by every statement: a statement has one user's state
# joined at most once, and making the aliases and conditions anew was about a millisecond
# of every Google Reader list.
_MARK = aliased(ReadMark)
_STATE = aliased(ArticleState)
_UPTO = func.coalesce(_MARK.upto_id, 0)
_IS_READ: ColumnElement[bool] = or_(
    _STATE.read == true(), and_(_STATE.read.is_(None), Article.id <= _UPTO)
)
_IS_UNREAD: ColumnElement[bool] = or_(
    _STATE.read == false(), and_(_STATE.read.is_(None), Article.id > _UPTO)
)
_IS_STARRED: ColumnElement[bool] = _STATE.starred == true()
_COLUMNS = (case((_IS_READ, true()), else_=false()), case((_IS_STARRED, true()), else_=false()))


class StateJoin:
    """The outer joins and conditions that give each article's state for one user (a
    number, or the parameter of a statement built once)."""

    mark = _MARK
    state = _STATE
    is_read = _IS_READ
    is_unread = _IS_UNREAD
    is_starred = _IS_STARRED

    def __init__(self, user_id: int | BindParameter[int]) -> None:
        self.user_id = user_id

    def join(self, query: Any) -> Any:
        m, s = self.mark, self.state
        return query.outerjoin(
            m, and_(m.user_id == self.user_id, m.feed_id == Article.feed_id)
        ).outerjoin(s, and_(s.user_id == self.user_id, s.article_id == Article.id))

    def columns(self) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        return _COLUMNS


def _check_ids(*groups: Sequence[int]) -> None:
    if sum(len(g) for g in groups) > MAX_IDS:
        raise ValidationError(f"at most {MAX_IDS} article ids per change")
    if any(i < 1 for g in groups for i in g):
        raise ValidationError("article ids are positive integers")


async def apply_changes(
    session: AsyncSession,
    user_id: int,
    *,
    read: Sequence[int] = (),
    unread: Sequence[int] = (),
    starred: Sequence[int] = (),
    unstarred: Sequence[int] = (),
) -> StateChange:
    """Mark articles read/unread and (un)starred; returns the change for existing ids."""
    _check_ids(read, unread, starred, unstarred)
    if set(read) & set(unread) or set(starred) & set(unstarred):
        raise ValidationError("an article cannot be marked read and unread (or starred and "
                              "unstarred) at once")  # fmt: skip
    wanted = set(read) | set(unread) | set(starred) | set(unstarred)
    if not wanted:
        return StateChange()
    await _take_turns(session, user_id)
    feeds = dict(
        (
            await session.execute(select(Article.id, Article.feed_id).where(Article.id.in_(wanted)))
        ).all()
    )
    if not feeds:
        return StateChange()
    marks = dict(
        (
            await session.execute(
                select(ReadMark.feed_id, ReadMark.upto_id).where(
                    ReadMark.user_id == user_id, ReadMark.feed_id.in_(set(feeds.values()))
                )
            )
        ).all()
    )
    existing = {
        row.article_id: row
        for row in await session.scalars(
            select(ArticleState).where(
                ArticleState.user_id == user_id, ArticleState.article_id.in_(feeds)
            )
        )
    }
    rows: list[dict[str, Any]] = []
    for article_id, feed_id in feeds.items():
        old = existing.get(article_id)
        flag = old.read if old is not None else None
        star = old.starred if old is not None else False
        below_mark = article_id <= marks.get(feed_id, 0)
        if article_id in read:
            flag = None if below_mark else True
        elif article_id in unread:
            flag = False if below_mark else None
        if article_id in starred:
            star = True
        elif article_id in unstarred:
            star = False
        if flag is not None or star:
            rows.append(
                {"user_id": user_id, "article_id": article_id, "feed_id": feed_id,
                 "read": flag, "starred": star}
            )  # fmt: skip
    await session.execute(
        delete(ArticleState).where(
            ArticleState.user_id == user_id, ArticleState.article_id.in_(feeds)
        )
    )
    if rows:
        await session.execute(insert(ArticleState), rows)
    await session.commit()

    def kept(ids: Iterable[int]) -> tuple[int, ...]:
        return tuple(sorted(i for i in set(ids) if i in feeds))

    return StateChange(kept(read), kept(unread), kept(starred), kept(unstarred))


async def _take_turns(session: AsyncSession, user_id: int) -> None:
    """One user's changes take turns until this transaction ends: each reads an article's
    flags, then writes the row whole, so two at once (an app marking read, the page
    unstarring) wrote back each other's old flags. PostgreSQL: a lock on the user's key.
    SQLite: a write that deletes nothing takes the database's one write lock now, before
    the reads (Python's sqlite3 starts the transaction at the first write)."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(USER_STATE_LOCK, user_id)))
    else:
        await session.execute(delete(ArticleState).where(false()))


async def mark_starred_read(session: AsyncSession, user_id: int, before: datetime) -> StateChange:
    """The user's starred articles fetched by `before` become read, and nothing else: the
    starred stream holds only those (marking "all" of it must not mark every feed read)."""
    bound = await bound_for_time(session, before)
    hidden = await hidden_feeds(session, user_id)
    ids = list(
        await session.scalars(
            select(ArticleState.article_id).where(
                ArticleState.user_id == user_id,
                ArticleState.starred == true(),
                ArticleState.article_id <= bound,
                ArticleState.feed_id.not_in(hidden),
            )
        )
    )
    read: list[int] = []
    for start in range(0, len(ids), MAX_IDS):
        change = await apply_changes(session, user_id, read=ids[start : start + MAX_IDS])
        read += change.read
    return StateChange(read=tuple(read))


async def bound_for_time(session: AsyncSession, before: datetime) -> int:
    """The newest article id fetched at or before `before` (0 if none).

    Walks ids downwards from the newest: fetched_at grows with the id, so for a recent
    time this stops after a few rows (no index on fetched_at needed).
    """
    found = await session.scalar(
        select(Article.id).where(Article.fetched_at <= before).order_by(Article.id.desc()).limit(1)
    )
    return int(found or 0)


def _upsert_marks(dialect: str, rows: list[dict[str, int]]) -> Any:
    make = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = make(ReadMark).values(rows)
    higher = case(
        (ReadMark.upto_id > stmt.excluded.upto_id, ReadMark.upto_id),
        else_=stmt.excluded.upto_id,
    )
    return stmt.on_conflict_do_update(
        index_elements=[ReadMark.user_id, ReadMark.feed_id], set_={"upto_id": higher}
    )


async def mark_all_read(
    session: AsyncSession,
    user_id: int,
    *,
    feed_ids: Sequence[int] | None,
    upto_id: int | None = None,
    before: datetime | None = None,
) -> int:
    """Every article of the feeds (None: all feeds) up to the bound becomes read, except
    the user's hidden feeds'.

    Returns the id bound used: `upto_id`, or the newest article fetched by `before`,
    capped at the newest article id (a mark above it would swallow future articles).
    """
    if (upto_id is None) == (before is None):
        raise ValidationError("mark-all-as-read needs one bound: upto_id or before")
    await _take_turns(session, user_id)  # apply_changes reads the marks this moves
    newest = int(await session.scalar(select(func.max(Article.id))) or 0)
    bound = upto_id if upto_id is not None else await bound_for_time(session, before)  # type: ignore[arg-type]
    bound = min(bound, newest)
    if bound <= 0:
        return 0
    if feed_ids is None:
        feed_ids = list(await session.scalars(select(Feed.id)))
    # The user's hidden feeds are out of every scope: unhidden, they are as they were.
    hidden = await hidden_feeds(session, user_id)
    feed_ids = [f for f in feed_ids if f not in hidden]
    if not feed_ids:
        return bound
    dialect = session.get_bind().dialect.name
    rows = [{"user_id": user_id, "feed_id": f, "upto_id": bound} for f in feed_ids]
    for start in range(0, len(rows), 500):
        await session.execute(_upsert_marks(dialect, rows[start : start + 500]))
    in_scope = and_(
        ArticleState.user_id == user_id,
        ArticleState.feed_id.in_(feed_ids),
        ArticleState.article_id <= bound,
    )
    await session.execute(
        update(ArticleState).where(in_scope, ArticleState.read.is_not(None)).values(read=None)
    )
    await session.execute(
        delete(ArticleState).where(
            in_scope, ArticleState.read.is_(None), ArticleState.starred == false()
        )
    )
    await session.commit()
    return bound


# The statements of `unread_counts`, built once with the user as a parameter: built per
# call (an alias of read_mark, two statements and their cache keys) they cost more CPU than
# the counts. The hidden feeds are left out by the first one (a subquery, run once).
_USER: BindParameter[int] = bindparam("user_id", type_=Integer())
_COUNT_MARK = aliased(ReadMark)
_ABOVE = (
    select(func.count())
    .where(Article.feed_id == Feed.id, Article.id > func.coalesce(_COUNT_MARK.upto_id, 0))
    .correlate(Feed, _COUNT_MARK)
    .scalar_subquery()
)
_COUNTS = (
    select(Feed.id, _ABOVE)
    .outerjoin(_COUNT_MARK, and_(_COUNT_MARK.user_id == _USER, _COUNT_MARK.feed_id == Feed.id))
    .where(Feed.id.not_in(hidden_feeds_query(_USER)))
)
_S_UPTO = func.coalesce(ReadMark.upto_id, 0)
_CORRECTIONS = (
    select(
        ArticleState.feed_id,
        func.sum(
            case(
                (and_(ArticleState.read == true(), ArticleState.article_id > _S_UPTO), -1),
                (and_(ArticleState.read == false(), ArticleState.article_id <= _S_UPTO), 1),
                else_=0,
            )
        ),
    )
    .outerjoin(ReadMark, and_(ReadMark.user_id == _USER, ReadMark.feed_id == ArticleState.feed_id))
    .where(ArticleState.user_id == _USER, ArticleState.read.is_not(None))
    .group_by(ArticleState.feed_id)
)


async def unread_counts(session: AsyncSession, user_id: int) -> dict[int, int]:
    """Unread articles per feed id (feeds with none, and the user's hidden feeds, are left
    out).

    One index range count per feed ("articles above the mark", on ix_article_feed_id_id)
    plus a correction from the exception rows: no scan of the user's read articles.
    """
    conn = await session.connection()  # plain rows, without the ORM's handling
    values = {"user_id": user_id}
    counts = {feed_id: int(n) for feed_id, n in await conn.execute(_COUNTS, values)}
    for feed_id, delta in await conn.execute(_CORRECTIONS, values):
        if feed_id in counts:  # not a hidden feed
            counts[feed_id] += int(delta or 0)
    return {feed_id: n for feed_id, n in counts.items() if n > 0}


async def states_of(
    session: AsyncSession, user_id: int, ids: Sequence[int]
) -> tuple[list[int], list[int]]:
    """Which of these articles are read, and which starred, for the user."""
    if not ids:
        return [], []
    join = StateJoin(user_id)
    read_col, star_col = join.columns()
    query = join.join(select(Article.id, read_col, star_col)).where(Article.id.in_(set(ids)))
    read: list[int] = []
    starred: list[int] = []
    for article_id, is_read, is_starred in await session.execute(query.order_by(Article.id)):
        if is_read:
            read.append(article_id)
        if is_starred:
            starred.append(article_id)
    return read, starred
