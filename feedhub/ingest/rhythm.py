"""When a feed publishes: a time of day, some weekdays, a typical gap. Pure arithmetic.

A newsletter sent at 07:00, a blog that posts on weekdays around 09:00, a podcast out on
Tuesdays: polled at a uniform rate, such feeds are either polled all day for one entry or
read hours late. Their entries' dates show the rhythm; `expected_publication` names the
next slot, and the schedule (`cadence.next_poll_at`) polls shortly after it, then a few
times more while the entry is late, and otherwise leaves the feed alone.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import pairwise

__all__ = ["Rhythm", "expected_publication", "publishing_rhythm", "rhythm_delay"]

_DAY = 86400.0
# Fewer dates than this show no rhythm worth trusting.
_MIN_DATES = 5
# Feeds publishing more often than this are served by the rate rule.
_MIN_GAP = 12 * 3600.0
# How tightly the times of day must cluster (mean resultant length of the hour-of-day
# angles): 0.9 is a spread of about 1 h 45 min either side.
_MIN_CLUSTER = 0.9
# How far ahead a slot is looked for (a weekly feed's next weekday, two weeks at most).
_HORIZON_DAYS = 15


@dataclass(frozen=True, slots=True)
class Rhythm:
    slot: float  # seconds after midnight UTC: the typical time of publication
    spread: float  # seconds: how far publications stray from it (circular std)
    weekdays: frozenset[int]  # Monday 0 … Sunday 6, the days it has published on
    gap: float  # seconds: the median gap between publications


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def publishing_rhythm(published: Sequence[datetime]) -> Rhythm | None:
    """The feed's rhythm from its entries' dates, or None when they show none (too few,
    too frequent, or spread over the day)."""
    dates = sorted({_utc(value) for value in published})
    if len(dates) < _MIN_DATES:
        return None
    gap = statistics.median((b - a).total_seconds() for a, b in pairwise(dates))
    if gap < _MIN_GAP:
        return None
    angles = [2 * math.pi * (d.hour * 3600 + d.minute * 60 + d.second) / _DAY for d in dates]
    x = statistics.fmean(math.cos(a) for a in angles)
    y = statistics.fmean(math.sin(a) for a in angles)
    cluster = math.hypot(x, y)
    if cluster < _MIN_CLUSTER:
        return None
    slot = (math.atan2(y, x) % (2 * math.pi)) * _DAY / (2 * math.pi)
    spread = math.sqrt(-2 * math.log(min(cluster, 1.0 - 1e-12))) * _DAY / (2 * math.pi)
    return Rhythm(slot, spread, frozenset(d.weekday() for d in dates), gap)


def _window(rhythm: Rhythm) -> timedelta:
    """How long after its slot an entry still counts as late rather than skipped."""
    return timedelta(seconds=max(3 * rhythm.spread, 1800.0))


def expected_publication(rhythm: Rhythm, last: datetime, now: datetime) -> datetime | None:
    """The next slot after the last entry seen (at least half a gap after that entry's
    slot) that has not passed by more than its window at `now`."""
    last, now = _utc(last), _utc(now)
    window = _window(rhythm)
    # Half a gap from the last entry's slot, which lies up to a window before it: counted
    # from the entry itself, a late entry of a feed whose median gap is two days (a
    # weekday blog that skips often) would pass over the next morning's slot.
    lower = max(last - window + timedelta(seconds=rhythm.gap / 2), now - window)
    midnight = lower.replace(hour=0, minute=0, second=0, microsecond=0)
    for day in range(-1, _HORIZON_DAYS):
        slot = midnight + timedelta(days=day, seconds=rhythm.slot)
        if slot >= lower and slot.weekday() in rhythm.weekdays:
            return slot
    return None


def rhythm_delay(published: Sequence[datetime], now: datetime) -> float | None:
    """Seconds until the next poll for a feed with a rhythm (None: it has none).

    Shortly after the expected time (a quarter of the spread, at least two minutes); while
    the entry is late, again every half spread (5 to 20 minutes); a slot whose window
    passed is taken as skipped, and the next one is waited for.
    """
    rhythm = publishing_rhythm(published)
    if rhythm is None:
        return None
    now = _utc(now)
    expected = expected_publication(rhythm, max(_utc(p) for p in published), now)
    if expected is None:
        return None
    first = expected + timedelta(seconds=max(rhythm.spread / 4, 120.0))
    if first > now:
        return (first - now).total_seconds()
    return min(max(rhythm.spread / 2, 300.0), 1200.0)
