"""The one orchestrator: fetch -> parse -> store -> publish for one feed, then schedule.

Everything that can go wrong with a feed ends here as the feed's health (`last_status`,
`error_count`, `last_error`, `next_poll_at`); nothing escapes to the scheduler's tick.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import random
import time
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, cast

import httpx
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.bus import Doorbell, Publisher
from feedhub.config import Settings
from feedhub.errors import FetchError, ParseError
from feedhub.ingest.fetch import build_client, fetch_feed
from feedhub.ingest.finder import Found, discover_feeds, resolve_feed
from feedhub.ingest.hosts import HostGate, host_of
from feedhub.ingest.parse import body_fingerprint, parse_feed
from feedhub.ingest.store import ArticleStore
from feedhub.models import Article, Category, Feed
from feedhub.schedule import ScheduleInputs, ScheduleLimits, host_pause_until, next_poll_at
from feedhub.types import FetchResult, ParsedFeed, PollOutcome

__all__ = ["Poller"]

log = logging.getLogger(__name__)

# How many recent publication dates feed the adaptive schedule.
_RATE_SAMPLE = 20
# How long the bookkeeping of a no-news poll may wait to be written with others (seconds).
_FLUSH_DELAY = 0.25


@dataclass(frozen=True, slots=True)
class _FeedState:
    id: int
    url: str
    category: str
    enabled: bool
    poll_interval: int | None
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    error_count: int
    guid_unreliable: bool
    title: str | None
    site_url: str | None


class Poller:
    """Polls feeds; owns the HTTP client, the parser pool, the host gate and the store."""

    def __init__(
        self,
        settings: Settings,
        sessions: async_sessionmaker[AsyncSession],
        publisher: Publisher,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.sessions = sessions
        self.publisher = publisher
        self.store = ArticleStore(sessions)
        self.hosts = HostGate(
            per_host=settings.max_polls_per_host, min_gap=settings.host_min_gap_seconds
        )
        self.limits = ScheduleLimits(
            default_interval=settings.default_poll_interval,
            min_interval=settings.min_poll_interval,
            max_interval=settings.max_poll_interval,
        )
        self._clock = clock
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self._executor: Executor | None = None
        self._in_flight: dict[int, asyncio.Task[PollOutcome]] = {}
        self._global = asyncio.Semaphore(settings.max_concurrent_polls)
        # Polls that bring no news (304, unchanged body) are most polls: their bookkeeping
        # must cost almost nothing (issue 2 benchmark, (c)). So poll_due loads the feed rows
        # in one query, the schedule's publication dates are kept from the last save, and
        # the feed-row updates of such polls are written together, within `_FLUSH_DELAY`.
        self._preloaded: dict[int, _FeedState] = {}
        self._recent: dict[int, tuple[datetime, ...]] = {}
        self._pending: dict[int, dict[str, Any]] = {}
        self._flusher: asyncio.Task[None] | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        self._client = build_client(
            allow_private_networks=self.settings.allow_private_networks,
            timeout=self.settings.fetch_timeout_seconds,
        )
        if self.settings.parse_workers > 0:
            self._executor = _new_pool(self.settings.parse_workers)

    async def stop(self) -> None:
        for task in list(self._in_flight.values()):
            task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        await self.flush()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    async def __aenter__(self) -> Poller:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- batches -----------------------------------------------------------------------------
    def is_polling(self, feed_id: int) -> bool:
        """Also while its bookkeeping waits to be written: its next_poll_at is not stored yet,
        and a tick must not take it for due."""
        return feed_id in self._in_flight or feed_id in self._pending

    def poll_soon(self, feed_id: int) -> asyncio.Task[PollOutcome]:
        """Start polling a feed in the background unless it is already being polled."""
        task = self._in_flight.get(feed_id)
        if task is None:
            task = asyncio.create_task(self._bounded(feed_id), name=f"poll-feed-{feed_id}")
            self._in_flight[feed_id] = task
            task.add_done_callback(partial(self._done, feed_id))
        return task

    def _done(self, feed_id: int, _task: asyncio.Task[PollOutcome]) -> None:
        self._in_flight.pop(feed_id, None)

    async def _bounded(self, feed_id: int) -> PollOutcome:
        async with self._global:
            return await self.poll_feed(feed_id, defer=True)

    @property
    def in_flight_count(self) -> int:
        return len(self._in_flight)

    async def refresh(self, feed_id: int) -> PollOutcome:
        """Poll now. A poll already running may predate the change the admin expects to
        see, so wait for it and poll again."""
        running = self._in_flight.get(feed_id)
        if running is not None:
            await asyncio.gather(running, return_exceptions=True)
        outcome = await self.poll_soon(feed_id)
        await self.flush()
        return outcome

    async def probe(self, url: str) -> Found:
        """The feed to subscribe to for `url` (a feed, or a page that links one).

        Raises ValidationError in words: the admin API answers it with 422.
        """
        return await resolve_feed(url, self._fetch_once, self._parse_probe)

    async def discover(self, url: str) -> list[Found]:
        """Every feed `url` leads to, checked by fetching it; nothing is subscribed."""
        return await discover_feeds(url, self._fetch_once, self._parse_probe)

    async def _parse_probe(self, result: FetchResult) -> ParsedFeed:
        return await self._parse_result(result, guid_unreliable=False)

    async def _fetch_once(self, url: str) -> FetchResult:
        assert self._client is not None
        async with self.hosts.slot(host_of(url)):
            return await fetch_feed(
                self._client,
                url,
                max_bytes=self.settings.max_feed_bytes,
                deadline=self.settings.fetch_deadline_seconds,
            )

    async def due_feed_ids(self, *, include_all: bool = False, limit: int = 500) -> list[int]:
        now = self._clock()
        query = select(Feed.id).where(Feed.enabled.is_(True))
        if not include_all:
            query = query.where((Feed.next_poll_at.is_(None)) | (Feed.next_poll_at <= now))
        query = query.order_by(Feed.next_poll_at.nulls_first(), Feed.id).limit(limit)
        async with self.sessions() as session:
            return list(await session.scalars(query))

    async def poll_due(self, *, include_all: bool = False) -> list[PollOutcome]:
        """Poll every due feed with bounded concurrency; return when all are done."""
        ids = await self.due_feed_ids(include_all=include_all, limit=1_000_000)
        # Rows of feeds already being polled would be stale by the time they are used.
        fresh = [fid for fid in ids if not self.is_polling(fid)]
        self._preloaded.update({st.id: st for st in await self._load_many(fresh)})
        try:
            outcomes = list(await asyncio.gather(*(self.poll_soon(fid) for fid in ids)))
        finally:
            for fid in fresh:
                self._preloaded.pop(fid, None)
        await self.flush()
        return outcomes

    async def _load_many(self, ids: list[int]) -> list[_FeedState]:
        states: list[_FeedState] = []
        async with self.sessions() as session:
            for start in range(0, len(ids), 500):
                rows = await session.execute(
                    select(Feed, Category.slug)
                    .join(Category)
                    .where(Feed.id.in_(ids[start : start + 500]))
                )
                states.extend(_state(feed, slug) for feed, slug in rows)
        return states

    async def flush(self) -> None:
        """Write the pending bookkeeping of polls that stored no articles, in one go."""
        if not self._pending:
            return
        pending = dict(self._pending)
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for feed_id, values in pending.items():
            groups.setdefault(tuple(sorted(values)), []).append({"b_id": feed_id, **values})
        table = cast(Table, Feed.__table__)
        try:
            async with self.sessions.begin() as session:
                conn = await session.connection()
                for keys, rows in groups.items():
                    stmt = (
                        update(table)
                        .where(table.c.id == bindparam("b_id"))
                        .values({k: bindparam(k) for k in keys})
                    )
                    await conn.execute(stmt, rows)
        finally:
            # Until written, a feed counts as being polled (is_polling). Values deferred
            # meanwhile replaced the dict and stay pending for the next flush.
            for feed_id, values in pending.items():
                if self._pending.get(feed_id) is values:
                    del self._pending[feed_id]

    def _defer_update(self, feed_id: int, values: dict[str, Any]) -> None:
        self._pending[feed_id] = {**self._pending.get(feed_id, {}), **values}
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(_FLUSH_DELAY)
        await self.flush()

    # -- one feed ----------------------------------------------------------------------------
    async def poll_feed(self, feed_id: int, *, defer: bool = False) -> PollOutcome:
        outcome = await self._poll_feed(feed_id)
        if not defer:  # a direct caller reads the feed row next: write it now
            await self.flush()
        return outcome

    async def _poll_feed(self, feed_id: int) -> PollOutcome:
        started = time.perf_counter()
        state = await self._load(feed_id)
        if state is None:
            return PollOutcome(feed_id, "error", error="feed not found")
        try:
            outcome = await self._poll(state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the tick; it becomes the feed's error
            log.exception("poll failed unexpectedly feed_id=%s url=%s", state.id, state.url)
            outcome = await self._record_failure(state, f"internal error: {exc!r}", None, None)
        log.info(
            "polled feed_id=%s url=%s status=%s new=%d http=%s in %.0f ms",
            state.id, state.url, outcome.status, len(outcome.new_articles),
            outcome.http_status, (time.perf_counter() - started) * 1000,
        )  # fmt: skip
        return outcome

    async def _load(self, feed_id: int) -> _FeedState | None:
        if (state := self._preloaded.pop(feed_id, None)) is not None:
            return state
        async with self.sessions() as session:
            row = (
                await session.execute(
                    select(Feed, Category.slug).join(Category).where(Feed.id == feed_id)
                )
            ).first()
        if row is None:
            return None
        return _state(*row)

    async def _poll(self, state: _FeedState) -> PollOutcome:
        assert self._client is not None, "Poller.start() was not called"
        host = host_of(state.url)
        if (paused := self.hosts.paused_until(host, self._clock())) is not None:
            return await self._defer(state, paused)
        try:
            async with self.hosts.slot(host):
                # Checked again once it is our turn: while this feed queued for the host,
                # another feed of it may have got a 429 (issue 5: the pause is per host).
                if (paused := self.hosts.paused_until(host, self._clock())) is not None:
                    return await self._defer(state, paused)
                result = await fetch_feed(
                    self._client,
                    state.url,
                    etag=state.etag,
                    last_modified=state.last_modified,
                    max_bytes=self.settings.max_feed_bytes,
                    deadline=self.settings.fetch_deadline_seconds,
                )
        except FetchError as exc:
            return await self._fetch_failed(state, exc)

        moved_to = await self._follow_permanent_move(state, result)
        if result.not_modified:
            return await self._record_success(
                state, result, None, status="not_modified", moved_to=moved_to
            )
        assert result.body is not None
        fingerprint = body_fingerprint(result.body)
        if fingerprint == state.content_hash:
            return await self._record_success(
                state, result, None, status="unchanged", moved_to=moved_to
            )
        try:
            parsed = await self._parse(state, result)
        except ParseError as exc:
            return await self._record_failure(state, str(exc), result.status, result)
        return await self._save(state, result, parsed, fingerprint, moved_to)

    async def _defer(self, state: _FeedState, until: datetime) -> PollOutcome:
        """The feed's host asked to be left alone until `until`: try again then."""
        await self._update(state.id, next_poll_at=until)
        return PollOutcome(state.id, "deferred")

    async def _parse(self, state: _FeedState, result: FetchResult) -> ParsedFeed:
        return await self._parse_result(result, guid_unreliable=state.guid_unreliable)

    async def _parse_result(self, result: FetchResult, *, guid_unreliable: bool) -> ParsedFeed:
        if result.body is None:
            raise ParseError("nothing to parse: the server sent no body")
        call = partial(
            parse_feed,
            result.body,
            url=result.final_url,
            headers=result.headers,
            fetched_at=result.fetched_at,
            guid_unreliable=guid_unreliable,
        )
        loop = asyncio.get_running_loop()
        if self._executor is None:
            return await asyncio.to_thread(call)
        executor = self._executor
        try:
            return await loop.run_in_executor(executor, call)
        except BrokenProcessPool:
            # A worker died (e.g. out of memory on a hostile document): replace the pool,
            # once, however many polls were waiting on it.
            if self._executor is executor:
                executor.shutdown(wait=False, cancel_futures=True)
                self._executor = _new_pool(self.settings.parse_workers)
            raise ParseError("the parser crashed on this document") from None

    async def _save(
        self,
        state: _FeedState,
        result: FetchResult,
        parsed: ParsedFeed,
        fingerprint: str,
        moved_to: str | None,
    ) -> PollOutcome:
        published = tuple(sorted(e.published_at for e in parsed.entries)[-_RATE_SAMPLE:])
        values = self._success_values(state, result, published, parsed.ttl_seconds)
        values.update(content_hash=fingerprint, guid_unreliable=parsed.guid_unreliable)
        if moved_to:
            values["url"] = moved_to
        if not state.title and parsed.title:
            values["title"] = parsed.title[:500]
        if parsed.site_url and parsed.site_url != state.site_url:
            values["site_url"] = parsed.site_url[:2048]

        async def publish(ids: tuple[int, ...]) -> None:
            # After the commit, never before: a subscriber that hears the doorbell reads the
            # rows from the database (DESIGN.md "The bus").
            await self._publish(Doorbell(state.id, state.category, ids))

        # Bookkeeping of an earlier no-news poll still waiting to be written would overwrite
        # this poll's newer values (etag, content_hash, next_poll_at) when it is flushed.
        self._pending.pop(state.id, None)
        saved = await self.store.save(
            state.id, parsed.entries, fetched_at=result.fetched_at, feed_values=values,
            on_commit=publish, backlog_window=self.settings.backlog_window,
        )  # fmt: skip
        # What the schedule just used; a 304 or an unchanged body re-uses it.
        self._recent[state.id] = published
        return PollOutcome(
            state.id, "ok", new_articles=saved.new_ids, updated=saved.updated,
            http_status=result.status,
        )  # fmt: skip

    async def _publish(self, bell: Doorbell) -> None:
        try:
            await self.publisher.publish(bell)
        except Exception:  # the articles are committed; streams catch up from the database
            log.exception("publish failed feed_id=%s ids=%s", bell.feed_id, bell.ids[:5])

    # -- bookkeeping -------------------------------------------------------------------------
    def _next(self, state: _FeedState, inputs: ScheduleInputs) -> datetime:
        return next_poll_at(self._clock(), inputs, self.limits, self._rng.random())

    def _success_values(
        self,
        state: _FeedState,
        result: FetchResult,
        published: tuple[datetime, ...],
        ttl: int | None,
    ) -> dict[str, Any]:
        inputs = ScheduleInputs(
            fixed_interval=state.poll_interval,
            error_count=0,
            recent_published=published,
            ttl_seconds=ttl,
            headers=result.headers,
            status=result.status,
        )
        values: dict[str, Any] = {
            "last_polled_at": result.fetched_at,
            "last_status": result.status,
            "error_count": 0,
            "last_error": None,
            "next_poll_at": self._next(state, inputs),
        }
        if result.status == 200 or result.etag:
            values["etag"] = result.etag
        if result.status == 200 or result.last_modified:
            values["last_modified"] = result.last_modified
        return values

    async def _recent_published(self, feed_id: int) -> tuple[datetime, ...]:
        if (cached := self._recent.get(feed_id)) is not None:
            return cached
        async with self.sessions() as session:
            rows = await session.scalars(
                select(Article.published_at)
                .where(Article.feed_id == feed_id)
                .order_by(Article.id.desc())
                .limit(_RATE_SAMPLE)
            )
            recent = tuple(sorted(rows))
        self._recent[feed_id] = recent
        return recent

    async def _record_success(
        self,
        state: _FeedState,
        result: FetchResult,
        parsed: ParsedFeed | None,
        *,
        status: str,
        moved_to: str | None,
    ) -> PollOutcome:
        published = await self._recent_published(state.id)
        values = self._success_values(state, result, published, None)
        if moved_to:  # a move can collide with another feed's URL: write it now
            await self._update(state.id, url=moved_to, **values)
        else:
            self._defer_update(state.id, values)
        return PollOutcome(state.id, status, http_status=result.status)

    async def _fetch_failed(self, state: _FeedState, exc: FetchError) -> PollOutcome:
        now = self._clock()
        if exc.status in (429, 503):
            pause = host_pause_until(exc.status, {"retry-after": exc.retry_after or ""}, now)
            if pause is not None:
                self.hosts.pause(host_of(state.url), pause)
        if exc.status == 410:
            await self._update(
                state.id, enabled=False, disabled_reason=str(exc), last_status=410,
                last_error=f"{exc} — feed disabled", last_polled_at=now, next_poll_at=None,
                error_count=state.error_count + 1,
            )  # fmt: skip
            return PollOutcome(state.id, "disabled", error=str(exc), http_status=410)
        return await self._record_failure(
            state, str(exc), exc.status, None, retry_after=exc.retry_after
        )

    async def _record_failure(
        self,
        state: _FeedState,
        message: str,
        http_status: int | None,
        result: FetchResult | None,
        *,
        retry_after: str | None = None,
    ) -> PollOutcome:
        errors = state.error_count + 1
        headers = dict(result.headers) if result else {}
        if retry_after:
            headers["retry-after"] = retry_after
        inputs = ScheduleInputs(
            fixed_interval=state.poll_interval, error_count=errors, headers=headers,
            status=http_status,
        )  # fmt: skip
        log.warning(
            "poll error feed_id=%s url=%s status=%s error=%s",
            state.id,
            state.url,
            http_status,
            message,
        )
        await self._update(
            state.id,
            last_polled_at=self._clock(),
            last_status=http_status,
            error_count=errors,
            last_error=message[:2000],
            next_poll_at=self._next(state, inputs),
        )
        return PollOutcome(state.id, "error", error=message, http_status=http_status)

    async def _follow_permanent_move(self, state: _FeedState, result: FetchResult) -> str | None:
        """A 301/308 moves the stored URL, unless another feed already has the target."""
        target = result.permanent_url
        if not target or target == state.url:
            return None
        async with self.sessions() as session:
            taken = await session.scalar(select(func.count()).where(Feed.url == target))
        if taken:
            log.info("feed_id=%s moved to %s, already subscribed: URL kept", state.id, target)
            return None
        log.info("feed_id=%s moved permanently %s -> %s", state.id, state.url, target)
        return target

    async def _update(self, feed_id: int, **values: Any) -> None:
        try:
            async with self.sessions.begin() as session:
                await session.execute(update(Feed).where(Feed.id == feed_id).values(**values))
        except IntegrityError:
            values.pop("url", None)  # lost a race for the moved URL: keep the old one
            async with self.sessions.begin() as session:
                await session.execute(update(Feed).where(Feed.id == feed_id).values(**values))


def _state(feed: Feed, slug: str) -> _FeedState:
    return _FeedState(
        id=feed.id, url=feed.url, category=slug, enabled=feed.enabled,
        poll_interval=feed.poll_interval, etag=feed.etag, last_modified=feed.last_modified,
        content_hash=feed.content_hash, error_count=feed.error_count,
        guid_unreliable=feed.guid_unreliable, title=feed.title, site_url=feed.site_url,
    )  # fmt: skip


def _new_pool(workers: int) -> ProcessPoolExecutor:
    # forkserver: forking a process that runs an event loop and database threads is unsafe.
    return ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("forkserver")
    )
