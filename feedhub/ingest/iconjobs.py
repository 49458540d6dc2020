"""`IconJobs`: the poller's site-icon fetches, in the background, on the icon schedule.

After a successful poll the poller hands the feed here; if its icon is due (one query per
feed and process, then a date in memory) a task fetches it (`ingest.iconfetch`, through
the poller's own guarded fetch) and stores the attempt (`ingest.iconstore`). A poll never
waits for an icon, and a failure is logged, never the poll's.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from feedhub.core.types import ParsedFeed
from feedhub.core.urls import redact_text
from feedhub.ingest.decide import FeedState
from feedhub.ingest.iconfetch import Fetch, IconMissing, fetch_icon
from feedhub.ingest.icons import icon_next_due
from feedhub.ingest.iconstore import IconStore

__all__ = ["IconJobs"]

log = logging.getLogger(__name__)

# Icon fetches at once: they are rare and small, and never take a poll's place.
_AT_ONCE = 2


class IconJobs:
    def __init__(
        self,
        store: IconStore,
        fetch: Fetch,
        *,
        refresh_hours: float,
        clock: Callable[[], datetime],
    ) -> None:
        self.store = store
        self._fetch = fetch
        self.refresh = timedelta(hours=refresh_hours)
        self.clock = clock
        # What the last parse declared (icon URLs, site URL); when each feed's icon is next
        # due as far as this process knows; the fetches running.
        self._hints: dict[int, tuple[tuple[str, ...], str | None]] = {}
        self._next: dict[int, datetime] = {}
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(_AT_ONCE)

    def parsed(self, feed_id: int, parsed: ParsedFeed) -> None:
        self._hints[feed_id] = (parsed.icons, parsed.site_url)

    def polled(self, state: FeedState) -> None:
        """After a successful poll: fetch the feed's icon in the background if it is due."""
        if not self.refresh or state.id in self._tasks:
            return
        if (due := self._next.get(state.id)) is not None and self.clock() < due:
            return
        task = asyncio.create_task(self._run(state), name=f"icon-feed-{state.id}")
        self._tasks[state.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(state.id, None))

    async def settled(self) -> None:
        """Wait for the fetches running now (tests, and `stop`)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def stop(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        await self.settled()

    async def _run(self, state: FeedState) -> None:
        try:
            async with self._slots:
                await self._fetch_due(state)
        except asyncio.CancelledError:
            raise
        except Exception:  # an icon is a nicety: its failure is logged, never the poll's
            log.exception("icon fetch failed feed_id=%s", state.id)

    async def _fetch_due(self, state: FeedState) -> None:
        last = await self.store.last(state.id)
        now = self.clock()
        if last is not None:
            due = icon_next_due(last.fetched_at, failed=last.failed, refresh=self.refresh)
            if now < due:
                self._next[state.id] = due
                return
        declared, site_url = self._hints.pop(state.id, ((), None))
        if not declared and last is not None and last.source_url:
            declared = (last.source_url,)  # a 304 poll: the icon kept from last time
        attempt = await fetch_icon(
            self._fetch, declared=declared, site_url=site_url or state.site_url,
            feed_url=state.url, previous_url=last.source_url if last else None,
            previous_etag=last.etag if last else None,
        )  # fmt: skip
        await self.store.save(state.id, attempt, now)
        failed = isinstance(attempt, IconMissing)
        self._next[state.id] = icon_next_due(now, failed=failed, refresh=self.refresh)
        if isinstance(attempt, IconMissing):
            log.info("no icon feed_id=%s: %s", state.id, redact_text(attempt.error))
