"""APScheduler wiring: the due-feed tick. The schedule itself lives in the database.

Each tick selects feeds whose `next_poll_at` has passed and hands them to the poller, which
bounds concurrency globally and per host. Because the next poll time is a column, a restart
loses no schedule: the first tick after it picks up whatever fell due meanwhile.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from feedhub.ingest.poller import Poller
from feedhub.ingest.subscriber import Subscriber
from feedhub.service.leader import Leadership

__all__ = ["PollScheduler"]

log = logging.getLogger(__name__)


class PollScheduler:
    def __init__(
        self,
        poller: Poller,
        *,
        tick_seconds: float,
        housekeeping: Callable[[], Awaitable[object]] | None = None,
        housekeeping_hours: float = 24.0,
        leadership: Leadership | None = None,
        websub: Subscriber | None = None,
    ) -> None:
        self._websub = websub
        self._poller = poller
        self.leadership = leadership
        self._tick_seconds = tick_seconds
        self._housekeeping = housekeeping
        self._housekeeping_hours = housekeeping_hours
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self.ticks = 0

    async def tick(self) -> int:
        """Claim due feeds and start polling them; return how many were started. Only the
        leader polls (feedhub.service.leader); the others just ask again at their next tick."""
        self.ticks += 1
        if self.leadership is not None and not await self.leadership.check():
            return 0
        try:
            # Enough for every poll slot, twice: the rest waits for the next tick.
            limit = self._poller.settings.max_concurrent_polls * 4
            due = await self._poller.claim_due(limit=limit)
        except Exception:
            log.exception("scheduler tick could not read due feeds")
            return 0
        fresh = [feed_id for feed_id in due if not self._poller.is_polling(feed_id)]
        return len(self._poller.poll_feeds(fresh))

    def start(self) -> None:
        """Needs a running event loop (AsyncIOScheduler binds to it)."""
        self._scheduler.add_job(
            self.tick,
            "interval",
            seconds=self._tick_seconds,
            next_run_time=datetime.now(UTC) + timedelta(seconds=0.05),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
            id="due-feeds",
        )
        if self._housekeeping is not None and self._housekeeping_hours > 0:
            self._scheduler.add_job(
                self.housekeep,
                "interval",
                hours=self._housekeeping_hours,
                # Not at start-up: a restart loop must not prune over and over.
                max_instances=1,
                coalesce=True,
                id="housekeeping",
            )
        if self._websub is not None:
            self._scheduler.add_job(
                self.maintain_subscriptions,
                "interval",
                seconds=self._websub.settings.websub_tick_seconds,
                max_instances=1,
                coalesce=True,
                id="websub",
            )
        self._scheduler.start()

    async def maintain_subscriptions(self) -> None:
        """WebSub renewals, retries and unsubscriptions; the leader's job, like polls."""
        if self._websub is None:
            return
        if self.leadership is not None and not self.leadership.is_leader:
            return
        try:
            await self._websub.maintain()
        except Exception:
            log.exception("websub maintenance failed")

    async def housekeep(self) -> None:
        if self._housekeeping is None:
            return
        if self.leadership is not None and not self.leadership.is_leader:
            return  # one process prunes, the leader
        try:
            result = await self._housekeeping()
            log.info("housekeeping done: %s", result)
        except Exception:
            log.exception("housekeeping failed")

    def stop(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
