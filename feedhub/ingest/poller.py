"""The one orchestrator: fetch -> parse -> decide -> store -> publish, per feed.

Two ways in: `poll_feeds(ids)` ("poll these feeds": bounded, in the background, one poll
per feed at a time) and `poll_now(id)` ("poll this feed now": the admin's refresh and the
tests). What a poll changes is decided by the pure `decide` and written by `FeedStore`;
this module imports no SQLAlchemy. Anything that goes wrong ends as the feed's health
(`last_status`, `error_count`, `last_error`), never in the tick. One injected clock.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx

from feedhub.core import metrics
from feedhub.core.config import Settings
from feedhub.core.errors import FetchError, ParseError
from feedhub.core.memory import limit_malloc_arenas, release_free_memory
from feedhub.core.types import FetchResult, ParsedFeed, PollOutcome
from feedhub.core.urls import host_of, redact_text, redact_url
from feedhub.ingest import decide as decision
from feedhub.ingest.autodiscovery import Found, discover_feeds, resolve_feed
from feedhub.ingest.cadence import ScheduleLimits
from feedhub.ingest.decide import KEEP, Failed, FeedState, FeedUpdate, Fetched, HostPaused, Outcome
from feedhub.ingest.doorbell import Doorbell, Publisher
from feedhub.ingest.feedstore import RATE_SAMPLE, FeedStore
from feedhub.ingest.fetch import build_client, fetch_feed
from feedhub.ingest.hosts import HostGate
from feedhub.ingest.iconjobs import IconJobs
from feedhub.ingest.iconstore import IconStore
from feedhub.ingest.moves import permanent_move
from feedhub.ingest.parse import body_fingerprint
from feedhub.ingest.parsing import Parsing, parse_fetched
from feedhub.ingest.subscriber import Subscriber
from feedhub.ingest.websub import discover as discover_hub

__all__ = ["Poller"]

log = logging.getLogger(__name__)

# "Poll now" of a feed another process is polling: how often to look whether it is done.
_CLAIM_WAIT_STEP = 0.2


class Poller:
    """Polls feeds; owns the HTTP client, the parsers and the host gate; writes through
    the `FeedStore` it is given."""

    def __init__(
        self,
        settings: Settings,
        feeds: FeedStore,
        publisher: Publisher,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        rng: random.Random | None = None,
        websub: Subscriber | None = None,
        icons: IconStore | None = None,
    ) -> None:
        self.settings = settings
        self.websub = websub
        self.publisher = publisher
        self.feeds = feeds
        self.hosts = HostGate(
            per_host=settings.max_polls_per_host, min_gap=settings.host_min_gap_seconds
        )
        self.limits = ScheduleLimits.of(settings)
        self.clock = clock
        # Site icons are fetched (after a successful poll) only when given a store for them.
        hours = settings.icon_refresh_hours
        self.icons = (
            IconJobs(icons, self._fetch_once, refresh_hours=hours, clock=clock) if icons else None
        )
        self._rng = rng or random.Random()
        self._client: httpx.AsyncClient | None = None
        self._parsing: Parsing | None = None
        self._in_flight: dict[int, asyncio.Task[PollOutcome]] = {}
        self._global = asyncio.Semaphore(settings.max_concurrent_polls)
        # Rows of the feeds `poll_due` is about to poll, read in one query (most polls bring
        # no news, and their cost is mostly bookkeeping: benchmarks/ingest.py, target (c)).
        self._preloaded: dict[int, FeedState] = {}

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self, *, warm_parsers: bool = False) -> None:
        # Documents are parsed in threads here: each would keep an allocator arena.
        limit_malloc_arenas()
        self._client = build_client(
            allow_private_networks=self.settings.allow_private_networks,
            timeout=self.settings.fetch_timeout_seconds,
        )
        if self.websub is not None:
            self.websub.attach(self._client)
        self._parsing = Parsing(self.settings)
        if warm_parsers and self._parsing.pool is not None:
            # Now, not with the first declined big document (benchmarks measure so).
            await self._parsing.pool.warm()

    async def stop(self) -> None:
        if self.websub is not None:
            await self.websub.stop()
        for task in list(self._in_flight.values()):
            task.cancel()
        if self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        if self.icons is not None:
            await self.icons.stop()
        await self.feeds.flush()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        if self._parsing is not None:
            self._parsing.shutdown()
            self._parsing = None

    async def __aenter__(self) -> Poller:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- the two ways in ---------------------------------------------------------------------
    def poll_feeds(self, feed_ids: Sequence[int]) -> list[asyncio.Task[PollOutcome]]:
        """Poll these feeds in the background, at most `max_concurrent_polls` at a time.

        One task per id, in order; a feed already being polled gives its running task.
        """
        tasks = []
        for feed_id in feed_ids:
            task = self._in_flight.get(feed_id)
            if task is None:
                task = self._track(feed_id, self._bounded(feed_id))
            tasks.append(task)
        return tasks

    def poll_claimed(self, feed_ids: Sequence[int]) -> list[asyncio.Task[PollOutcome]]:
        """`poll_feeds` for feeds nobody claimed yet (a feed just added): each is polled
        once this process claims it; one another process claimed is left to that one."""
        tasks = []
        for feed_id in feed_ids:
            task = self._in_flight.get(feed_id)
            if task is None:
                task = self._track(feed_id, self._claim_then_poll(feed_id))
            tasks.append(task)
        return tasks

    async def _claim_then_poll(self, feed_id: int) -> PollOutcome:
        if not await self.feeds.claim_one(feed_id, self.clock(), self.claim_lease):
            return PollOutcome(feed_id, "deferred")  # being polled by another process
        return await self._bounded(feed_id)

    async def poll_now(self, feed_id: int) -> PollOutcome:
        """Poll this feed now and write its row before returning. A poll already running
        may predate the change the caller expects to see: wait for it and poll again."""
        running = self._in_flight.get(feed_id)
        if running is not None:
            await asyncio.gather(running, return_exceptions=True)
        await self.feeds.flush()  # (releases the claim of the poll just awaited)
        if feed_id not in self._in_flight:
            # Claimed like any poll: one in another process is waited for.
            await self._claim_one(feed_id)
        task = self._in_flight.get(feed_id) or self._track(feed_id, self._poll_one(feed_id))
        outcome = await task
        await self.feeds.flush()
        return outcome

    # -- helpers of the ways in --------------------------------------------------------------
    async def poll_due(self, *, include_all: bool = False) -> list[PollOutcome]:
        """Poll every due feed (`poll_feeds`) and wait for all; the CLI's `feedhub poll`."""
        ids = await self.claim_due(include_all=include_all, limit=1_000_000)
        # Rows of feeds already being polled would be stale by the time they are used.
        fresh = [fid for fid in ids if not self.is_polling(fid)]
        self._preloaded.update({st.id: st for st in await self.feeds.load_many(fresh)})
        try:
            outcomes = list(await asyncio.gather(*self.poll_feeds(ids)))
        finally:
            for fid in fresh:
                self._preloaded.pop(fid, None)
        await self.feeds.flush()
        return outcomes

    async def due_feed_ids(self, *, include_all: bool = False, limit: int = 500) -> list[int]:
        return await self.feeds.due_ids(self.clock(), include_all=include_all, limit=limit)

    @property
    def claim_lease(self) -> timedelta:
        """Longer than one poll can take, so a live claim never expires under a running
        poll; the claim of a poller whose process died is void at once (FeedStore)."""
        return timedelta(seconds=max(300.0, 3 * self.settings.fetch_deadline_seconds))

    async def claim_due(self, *, include_all: bool = False, limit: int = 500) -> list[int]:
        """Claim due (or all) unclaimed feeds for this process; the scheduler polls them."""
        return await self.feeds.claim_due(
            self.clock(), self.claim_lease, include_all=include_all, limit=limit
        )

    async def _claim_one(self, feed_id: int) -> None:
        """Claim one feed, waiting while another process polls it (at most one lease)."""
        deadline = time.monotonic() + self.claim_lease.total_seconds()
        while await self.feeds.claim_one(feed_id, self.clock(), self.claim_lease) is False:
            if time.monotonic() > deadline:
                return
            await asyncio.sleep(_CLAIM_WAIT_STEP)

    def is_polling(self, feed_id: int) -> bool:
        """Also while its bookkeeping waits to be written: its next_poll_at is not stored yet,
        and a tick must not take it for due."""
        return feed_id in self._in_flight or self.feeds.is_pending(feed_id)

    @property
    def in_flight_count(self) -> int:
        return len(self._in_flight)

    def _track(
        self, feed_id: int, work: Coroutine[Any, Any, PollOutcome]
    ) -> asyncio.Task[PollOutcome]:
        task = asyncio.create_task(work, name=f"poll-feed-{feed_id}")
        self._in_flight[feed_id] = task
        task.add_done_callback(partial(self._done, feed_id))
        return task

    def _done(self, feed_id: int, task: asyncio.Task[PollOutcome]) -> None:
        if self._in_flight.get(feed_id) is task:
            del self._in_flight[feed_id]
        if not self._in_flight and self._parsing is not None and self._parsing.parsed:
            # A burst of polls is over: what parsing freed goes back to the system, not
            # kept for the next burst (tens of MB after a first ingest).
            self._parsing.parsed = 0
            asyncio.get_running_loop().run_in_executor(None, release_free_memory)

    async def _bounded(self, feed_id: int) -> PollOutcome:
        async with self._global:
            return await self._poll_one(feed_id)

    # -- probing (subscribing) ---------------------------------------------------------------
    async def probe(self, url: str) -> Found:
        """The feed to subscribe to for `url` (a feed, or a page that links one).

        Raises ValidationError in words: the admin API answers it with 422.
        """
        return await resolve_feed(url, self._fetch_once, self._parse_probe)

    async def probe_url(self, url: str) -> str:
        """`probe`, as the catalog's `subscribe` takes it: url in, feed URL out."""
        return (await self.probe(url)).url

    async def discover(self, url: str) -> list[Found]:
        """Every feed `url` leads to, checked by fetching it; nothing is subscribed."""
        return await discover_feeds(url, self._fetch_once, self._parse_probe)

    async def _parse_probe(self, result: FetchResult) -> ParsedFeed:
        return await self.parse(result, guid_unreliable=False)

    async def _fetch_once(
        self, url: str, max_bytes: int | None = None, etag: str | None = None
    ) -> FetchResult:
        """One GET through the host gate: a probe's, or (smaller, conditional) an icon's."""
        assert self._client is not None
        async with self.hosts.slot(host_of(url)):
            return await fetch_feed(
                self._client,
                url,
                etag=etag,
                max_bytes=max_bytes or self.settings.max_feed_bytes,
                deadline=self.settings.fetch_deadline_seconds,
            )

    # -- one feed ----------------------------------------------------------------------------
    async def _poll_one(self, feed_id: int) -> PollOutcome:
        started = time.perf_counter()
        state = self._preloaded.pop(feed_id, None) or await self.feeds.load(feed_id)
        if state is None:
            return PollOutcome(feed_id, "error", error="feed not found")
        try:
            outcome = await self._poll(state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not stop the tick; it becomes the feed's error
            log.exception(
                "poll failed unexpectedly feed_id=%s url=%s", state.id, redact_url(state.url)
            )
            outcome = await self._record(state, Failed(f"internal error: {exc!r}"))
        finally:
            self.feeds.release(feed_id)
        if self.icons is not None and outcome.status in ("ok", "not_modified", "unchanged"):
            self.icons.polled(state)
        metrics.POLLS.labels(outcome.status).inc()
        if outcome.new_articles:
            metrics.ARTICLES_STORED.inc(len(outcome.new_articles))
        log.info(
            "polled feed_id=%s url=%s status=%s new=%d http=%s in %.0f ms",
            state.id, redact_url(state.url), outcome.status, len(outcome.new_articles),
            outcome.http_status, (time.perf_counter() - started) * 1000,
        )  # fmt: skip
        return outcome

    async def _poll(self, state: FeedState) -> PollOutcome:
        assert self._client is not None, "Poller.start() was not called"
        host = host_of(state.url)
        if (paused := self.hosts.paused_until(host, self.clock())) is not None:
            return await self._record(state, HostPaused(paused))
        try:
            async with self.hosts.slot(host):
                # Checked again once it is our turn: while this feed queued for the host,
                # another feed of it may have got a 429 (the pause is per host).
                if (paused := self.hosts.paused_until(host, self.clock())) is not None:
                    return await self._record(state, HostPaused(paused))
                with metrics.FETCH_DURATION.time():
                    result = await fetch_feed(
                        self._client,
                        state.url,
                        etag=state.etag,
                        last_modified=state.last_modified,
                        max_bytes=self.settings.max_feed_bytes,
                        deadline=self.settings.fetch_deadline_seconds,
                    )
        except FetchError as exc:
            failed = Failed(str(exc), exc.status, retry_after=exc.retry_after)
            return await self._record(state, failed)

        if self.websub is not None and result.body is not None:  # hubs come and go
            self.websub.observe(state.id, discover_hub(result.headers, result.body, state.url))
        moved_to = await permanent_move(self.feeds, state, result)
        fingerprint = body_fingerprint(result.body) if result.body is not None else None
        if result.not_modified or (fingerprint is not None and fingerprint == state.content_hash):
            recent = await self.feeds.recent_published(state.id)
            return await self._record(state, Fetched(result, None, None, moved_to, recent))
        try:
            parsed = await self.parse(result, guid_unreliable=state.guid_unreliable)
        except ParseError as exc:
            return await self._record(state, Failed(str(exc), result.status, result.headers))
        if self.icons is not None:
            self.icons.parsed(state.id, parsed)
        recent = tuple(sorted(e.published_at for e in parsed.entries)[-RATE_SAMPLE:])
        return await self._record(state, Fetched(result, parsed, fingerprint, moved_to, recent))

    def decide(self, state: FeedState, outcome: Outcome) -> FeedUpdate:
        return decision.decide(
            state, outcome, self.clock(), limits=self.limits, jitter=self._rng.random()
        )

    async def _record(self, state: FeedState, outcome: Outcome) -> PollOutcome:
        """Decide, then store (and publish what is new)."""
        change = self.decide(state, outcome)
        if change.pause_host_until is not None:
            self.hosts.pause(host_of(state.url), change.pause_host_until)
        if isinstance(outcome, Failed):
            log.warning(
                "poll error feed_id=%s url=%s status=%s error=%s",
                state.id, redact_url(state.url), outcome.http_status,
                redact_text(outcome.message),
            )  # fmt: skip
        if isinstance(outcome, Fetched) and outcome.parsed is not None:
            return await self._save(state, outcome, outcome.parsed, change)
        if isinstance(outcome, Fetched) and outcome.moved_to is None:
            self.feeds.defer(state.id, change)  # no news: written with others, soon
        else:  # a move can collide with another feed's URL: write it now
            await self.feeds.write(state.id, change)
        return PollOutcome(state.id, change.status, http_status=change.http_status,
                           error=change.error)  # fmt: skip

    async def _save(
        self, state: FeedState, outcome: Fetched, parsed: ParsedFeed, change: FeedUpdate
    ) -> PollOutcome:
        async def publish(ids: tuple[int, ...]) -> None:
            # After the commit, never before: a subscriber that hears the doorbell reads the
            # rows from the database (DESIGN.md "The bus").
            try:
                await self.publisher.publish(Doorbell(state.id, state.category, ids))
            except Exception:  # the articles are committed; streams catch up from the database
                log.exception("publish failed feed_id=%s ids=%s", state.id, ids[:5])

        saved = await self.feeds.save_poll(
            state.id, parsed.entries, fetched_at=outcome.result.fetched_at, change=change,
            recent_published=outcome.recent_published, on_commit=publish,
            backlog_window=self.settings.backlog_window,
        )  # fmt: skip
        if state.push_healthy and saved.announced_ids and self.websub is not None:
            # News the pushes never brought: the hub fails us, back to the normal schedule.
            await self.websub.mark_unhealthy(state.id, "a poll found entries no push brought")
            normal = self.decide(replace(state, push_healthy=False), outcome)
            await self.feeds.write(state.id, replace(normal, url=KEEP))
        return PollOutcome(
            state.id, "ok", new_articles=saved.new_ids, updated=saved.updated,
            http_status=outcome.result.status,
        )  # fmt: skip

    async def parse(self, result: FetchResult, *, guid_unreliable: bool) -> ParsedFeed:
        assert self._parsing is not None, "Poller.start() was not called"
        return await parse_fetched(result, self._parsing, guid_unreliable=guid_unreliable)
