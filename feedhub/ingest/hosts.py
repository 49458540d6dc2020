"""Per-host politeness: a cap on requests in flight, a gap between starts, and pauses.

A 429/503 with Retry-After pauses the whole host, not just the feed that got it:
Reddit-like hosts rate-limit by client, whatever the feed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

__all__ = ["HostGate"]


class HostGate:
    def __init__(self, *, per_host: int, min_gap: float) -> None:
        self._per_host = per_host
        self._min_gap = min_gap
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._next_start: dict[str, float] = {}
        self._paused_until: dict[str, datetime] = {}
        self.in_flight: dict[str, int] = {}

    @asynccontextmanager
    async def slot(self, host: str) -> AsyncIterator[None]:
        semaphore = self._slots.setdefault(host, asyncio.Semaphore(self._per_host))
        async with semaphore:
            if self._min_gap > 0:
                now = time.monotonic()
                start = max(now, self._next_start.get(host, now))
                self._next_start[host] = start + self._min_gap
                if start > now:
                    await asyncio.sleep(start - now)
            self.in_flight[host] = self.in_flight.get(host, 0) + 1
            try:
                yield
            finally:
                self.in_flight[host] -= 1
                if not self.in_flight[host]:
                    del self.in_flight[host]

    def pause(self, host: str, until: datetime) -> None:
        current = self._paused_until.get(host)
        if current is None or until > current:
            self._paused_until[host] = until

    def paused_until(self, host: str, now: datetime) -> datetime | None:
        until = self._paused_until.get(host)
        if until is None:
            return None
        if until <= now:
            del self._paused_until[host]
            return None
        return until
