"""When an article is listed, and whether its arrival is news (pure).

Lists are ordered by publication time, but a publisher's clock is not ours: an entry dated
in the future is listed at the moment it arrived, so it cannot sit on top of every list
until that date. And a feed's first poll often brings years of backlog: entries older than
the backlog window are stored and listed where their dates put them, but not announced on
the stream as new (they would flood every open page: one podcast, 730 items).
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["is_backlog", "listed_at"]


def listed_at(published_at: datetime, arrived_at: datetime) -> datetime:
    """The time an article is listed under: its publication time, at most its arrival."""
    return min(published_at, arrived_at)


def is_backlog(published_at: datetime, arrived_at: datetime, window: timedelta | None) -> bool:
    """True when an entry first seen at `arrived_at` was published more than `window`
    before: it is history, not news. `window` None (or zero) announces everything."""
    if not window:
        return False
    return published_at < arrived_at - window
