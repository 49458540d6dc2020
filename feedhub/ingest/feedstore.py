"""`FeedStore`: every SQL statement that touches the feed row, and the poll's one
transaction for articles.

Polls write through an instance (it holds the writer lock and the pending bookkeeping);
the catalog's admin changes (subscribe, edit, delete) call the static methods inside
their own session and transaction.

The poller decides (`feedhub.ingest.decide`) and this module writes. Polls that bring no
news (304, unchanged body) are most polls, so their bookkeeping must cost almost nothing
(benchmarks/ingest.py, target (c)): `defer` keeps their `FeedUpdate` and `flush` writes all that
are pending in one executemany per column set, within `FLUSH_DELAY`. Until written, the
feed counts as being polled (`is_pending`), so a tick does not take it for due.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    delete,
    exists,
    false,
    func,
    insert,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.elements import ColumnElement

from feedhub.core.types import EntryData
from feedhub.db.models import Article, Category, Feed, WebSubSubscription
from feedhub.ingest.decide import FeedState, FeedUpdate
from feedhub.ingest.store import ArticleStore, SaveResult

__all__ = ["FLUSH_DELAY", "RATE_SAMPLE", "FeedStore"]

# How many recent publication dates feed the adaptive schedule.
RATE_SAMPLE = 20
# How long the bookkeeping of a no-news poll may wait to be written with others (seconds).
FLUSH_DELAY = 0.25
# SQLite allows 32766 bound variables; stay far below for IN (...) lists.
_CHUNK = 500


class FeedStore:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        claimer: Callable[[], int | None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        # Who claims (feedhub.service.leader.Leadership.backend_pid): a claim dies with its session.
        self._claimer = claimer
        self._articles = ArticleStore()
        # One writer per process: article ids increase in commit order (DESIGN.md "The
        # stream"). Exactly one process polls (FEEDHUB_SCHEDULER).
        self._lock = asyncio.Lock()
        self._pending: dict[int, dict[str, Any]] = {}
        self._flusher: asyncio.Task[None] | None = None
        # The schedule's publication dates, kept from the last save: a 304 re-uses them.
        self._recent: dict[int, tuple[datetime, ...]] = {}

    # -- reads -------------------------------------------------------------------------------
    async def due_ids(self, now: datetime, *, include_all: bool, limit: int) -> list[int]:
        query = select(Feed.id).where(Feed.enabled.is_(True))
        if not include_all:
            query = query.where((Feed.next_poll_at.is_(None)) | (Feed.next_poll_at <= now))
        query = query.order_by(Feed.next_poll_at.nulls_first(), Feed.id).limit(limit)
        async with self._sessions() as session:
            return list(await session.scalars(query))

    async def load(self, feed_id: int) -> FeedState | None:
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(Feed, Category.slug, _PUSH_HEALTHY)
                    .join(Category)
                    .where(Feed.id == feed_id)
                )
            ).first()
        return None if row is None else _state(*row)

    async def load_many(self, ids: Sequence[int]) -> list[FeedState]:
        states: list[FeedState] = []
        async with self._sessions() as session:
            for start in range(0, len(ids), _CHUNK):
                rows = await session.execute(
                    select(Feed, Category.slug, _PUSH_HEALTHY)
                    .join(Category)
                    .where(Feed.id.in_(ids[start : start + _CHUNK]))
                )
                states.extend(_state(*row) for row in rows)
        return states

    async def url_taken(self, url: str) -> bool:
        async with self._sessions() as session:
            return bool(await session.scalar(select(func.count()).where(Feed.url == url)))

    async def recent_published(self, feed_id: int) -> tuple[datetime, ...]:
        if (cached := self._recent.get(feed_id)) is not None:
            return cached
        async with self._sessions() as session:
            rows = await session.scalars(
                select(Article.published_at)
                .where(Article.feed_id == feed_id)
                .order_by(Article.id.desc())
                .limit(RATE_SAMPLE)
            )
            recent = tuple(sorted(rows))
        self._recent[feed_id] = recent
        return recent

    # -- claims: one poller per feed at a time, across processes -----------------
    async def claim_due(
        self, now: datetime, lease: timedelta, *, include_all: bool, limit: int
    ) -> list[int]:
        """Claim feeds that are due (or all enabled ones) and unclaimed; their ids.

        On PostgreSQL the candidate rows are locked `FOR UPDATE SKIP LOCKED`: two pollers
        claiming at the same moment take disjoint sets. On SQLite the UPDATE is atomic."""
        candidates = select(Feed.id).where(Feed.enabled.is_(True))
        if not include_all:
            candidates = candidates.where(Feed.next_poll_at.is_(None) | (Feed.next_poll_at <= now))
        candidates = candidates.order_by(Feed.next_poll_at.nulls_first(), Feed.id).limit(limit)
        async with self._sessions.begin() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            if not postgres:
                await _void_dead_local_claims(session, now)
            candidates = candidates.where(_unclaimed(now, postgres))
            if postgres:
                candidates = candidates.with_for_update(skip_locked=True)
            claimed = await session.scalars(
                update(Feed)
                .where(Feed.id.in_(candidates.scalar_subquery()))
                .values(claimed_until=now + lease, claimed_by=self._claimer())
                .returning(Feed.id)
                .execution_options(synchronize_session=False)
            )
            return sorted(claimed)

    async def claim_one(self, feed_id: int, now: datetime, lease: timedelta) -> bool | None:
        """Claim one feed: True, False while another poller holds it, None if no such feed.

        A claim this process already holds counts as got: the scheduler's tick may claim a
        feed just added while the admin call's poll of it is starting, and then leaves it
        to that poll (it is in flight), whose own claim would otherwise fail and leave the
        feed unpolled for a whole lease. What this process claims as can change meanwhile
        (on PostgreSQL it is known once the process first checks for the leader lock): a
        claim that failed under the old name is tried again under the new one."""
        while True:
            me = self._claimer()
            got = await self._claim_one_as(me, feed_id, now, lease)
            if got is not False or self._claimer() == me:
                return got

    async def _claim_one_as(
        self, me: int | None, feed_id: int, now: datetime, lease: timedelta
    ) -> bool | None:
        async with self._sessions.begin() as session:
            postgres = session.get_bind().dialect.name == "postgresql"
            if not postgres:
                await _void_dead_local_claims(session, now)
            mine = Feed.claimed_by == me if me is not None else false()
            got = await session.scalar(
                update(Feed)
                .where(Feed.id == feed_id, _unclaimed(now, postgres) | mine)
                .values(claimed_until=now + lease, claimed_by=me)
                .returning(Feed.id)
                .execution_options(synchronize_session=False)
            )
            if got is not None:
                return True
            exists = await session.scalar(select(Feed.id).where(Feed.id == feed_id))
            return None if exists is None else False

    def release(self, feed_id: int) -> None:
        """End a poll's claim, written with its bookkeeping (one write for both)."""
        self._pending[feed_id] = {
            **self._pending.get(feed_id, {}), "claimed_until": None, "claimed_by": None,
        }  # fmt: skip
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    # -- writes ------------------------------------------------------------------------------
    async def write(self, feed_id: int, change: FeedUpdate) -> None:
        """Write now. A moved URL that another feed took meanwhile is dropped, not fatal."""
        values = change.columns()
        if not values:
            return
        try:
            async with self._sessions.begin() as session:
                await session.execute(update(Feed).where(Feed.id == feed_id).values(**values))
        except IntegrityError:
            values.pop("url", None)  # lost a race for the moved URL: keep the old one
            async with self._sessions.begin() as session:
                await session.execute(update(Feed).where(Feed.id == feed_id).values(**values))

    async def save_poll(
        self,
        feed_id: int,
        entries: Sequence[EntryData],
        *,
        fetched_at: datetime,
        change: FeedUpdate,
        recent_published: tuple[datetime, ...],
        on_commit: Callable[[tuple[int, ...]], Awaitable[None]] | None = None,
        backlog_window: timedelta | None = None,
    ) -> SaveResult:
        """Articles and the feed row in one transaction.

        `on_commit` runs after the commit while the writer lock is still held, so doorbells
        leave in commit order too and a live stream never sees ids go backwards. It gets
        the announced ids only: backlog older than `backlog_window` is stored quietly.
        """
        # Bookkeeping of an earlier no-news poll still waiting to be written would overwrite
        # this poll's newer values (etag, content_hash, next_poll_at) when it is flushed.
        self._pending.pop(feed_id, None)
        async with self._lock:
            async with self._sessions.begin() as session:
                result = await self._articles.write(
                    session, feed_id, entries, fetched_at, backlog_window
                )
                if columns := change.columns():  # a push changes no column of the feed
                    await session.execute(update(Feed).where(Feed.id == feed_id).values(**columns))
            if result.announced_ids and on_commit is not None:
                await on_commit(result.announced_ids)
        self._recent[feed_id] = recent_published
        return result

    # -- admin changes (the catalog's session and transaction) -------------------------------
    @staticmethod
    async def insert(
        session: AsyncSession,
        *,
        url: str,
        title: str | None,
        category_id: int,
        poll_interval: int | None,
        now: datetime,
    ) -> int:
        """A new feed; its first poll is due at once (`next_poll_at` = now)."""
        result = await session.execute(
            insert(Feed)
            .values(
                url=url,
                title=title,
                category_id=category_id,
                poll_interval=poll_interval,
                enabled=True,
                error_count=0,
                guid_unreliable=False,
                created_at=now,
                next_poll_at=now,
            )  # fmt: skip
            .returning(Feed.id)
        )
        feed_id: int = result.scalar_one()
        return feed_id

    @staticmethod
    async def change(session: AsyncSession, feed_id: int, values: dict[str, object]) -> bool:
        """Set columns of one feed; False when there is no such feed."""
        if not values:
            return await session.get(Feed, feed_id) is not None
        result = await session.execute(
            update(Feed).where(Feed.id == feed_id).values(**values).returning(Feed.id)
        )
        return result.first() is not None

    @staticmethod
    async def remove(session: AsyncSession, feed_id: int) -> bool:
        """Delete one feed (its articles and tombstones go with it: ON DELETE CASCADE)."""
        result = await session.execute(delete(Feed).where(Feed.id == feed_id).returning(Feed.id))
        return result.first() is not None

    # -- batched bookkeeping -----------------------------------------------------------------
    def is_pending(self, feed_id: int) -> bool:
        return feed_id in self._pending

    def defer(self, feed_id: int, change: FeedUpdate) -> None:
        """Write with others within FLUSH_DELAY (a no-news poll's bookkeeping)."""
        self._pending[feed_id] = {**self._pending.get(feed_id, {}), **change.columns()}
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        await self.flush()

    async def flush(self) -> None:
        """Write the pending bookkeeping in one go."""
        if not self._pending:
            return
        pending = dict(self._pending)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for feed_id, values in pending.items():
            groups.setdefault(tuple(sorted(values)), []).append({"b_id": feed_id, **values})
        table = cast(Table, Feed.__table__)
        try:
            async with self._sessions.begin() as session:
                conn = await session.connection()
                for keys, rows in groups.items():
                    stmt = (
                        update(table)
                        .where(table.c.id == bindparam("b_id"))
                        .values({k: bindparam(k) for k in keys})
                    )
                    await conn.execute(stmt, rows)
        finally:
            # Values deferred meanwhile replaced the dict and stay pending for the next flush.
            for feed_id, values in pending.items():
                if self._pending.get(feed_id) is values:
                    del self._pending[feed_id]


async def _void_dead_local_claims(session: AsyncSession, now: datetime) -> None:
    """SQLite: claims carry the claiming process's pid (one machine). Those of a process
    that died (SIGKILL mid-poll) are void, or its feeds would wait out the lease."""
    held = await session.scalars(
        select(Feed.claimed_by)
        .where(Feed.claimed_by.is_not(None), Feed.claimed_until >= now)
        .distinct()
    )
    dead = [pid for pid in held if pid is not None and not _alive(pid)]
    if dead:
        await session.execute(
            update(Feed)
            .where(Feed.claimed_by.in_(dead))
            .values(claimed_until=None, claimed_by=None)
            .execution_options(synchronize_session=False)
        )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _unclaimed(now: datetime, postgres: bool) -> ColumnElement[bool]:
    """No poller holds the feed: never claimed, lease over, or (PostgreSQL) the claimer's
    session is gone — its process died, so a successor need not wait out the lease."""
    free = Feed.claimed_until.is_(None) | (Feed.claimed_until < now)
    if postgres:
        sessions: Any = select(literal_column("pid")).select_from(text("pg_stat_activity"))
        free = free | (Feed.claimed_by.is_not(None) & Feed.claimed_by.not_in(sessions))
    return free


# A verified WebSub subscription whose pushes arrive (and agree with the polls).
_PUSH_HEALTHY = (
    exists()
    .where(
        WebSubSubscription.feed_id == Feed.id,
        WebSubSubscription.state == "verified",
        WebSubSubscription.healthy.is_(True),
    )
    .label("push_healthy")
)


def _state(feed: Feed, slug: str, push_healthy: bool = False) -> FeedState:
    return FeedState(
        id=feed.id, url=feed.url, category=slug, enabled=feed.enabled,
        poll_interval=feed.poll_interval, etag=feed.etag, last_modified=feed.last_modified,
        content_hash=feed.content_hash, error_count=feed.error_count,
        guid_unreliable=feed.guid_unreliable, title=feed.title, site_url=feed.site_url,
        push_healthy=bool(push_healthy),
    )  # fmt: skip
