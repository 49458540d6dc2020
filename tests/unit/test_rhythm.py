"""Polls timed to the source: rhythms from entry dates, the next expected publication,
and how the schedule uses them (tables of plain values, the clock passed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedhub.ingest.cadence import ScheduleInputs, ScheduleLimits, next_poll_at
from feedhub.ingest.rhythm import expected_publication, publishing_rhythm, rhythm_delay

# Monday 2030-01-07.
MONDAY = datetime(2030, 1, 7, tzinfo=UTC)
MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0


def days(count: int, at: float, *, weekdays: set[int] | None = None, end: datetime = MONDAY,
         wobble: float = 0.0) -> tuple[datetime, ...]:  # fmt: skip
    """Publications at `at` seconds after midnight on the `count` days before `end` (only
    on `weekdays`), alternately `wobble` seconds early and late."""
    out = []
    for n in range(1, count + 1):
        day = end - timedelta(days=n)
        if weekdays is None or day.weekday() in weekdays:
            out.append(day + timedelta(seconds=at + (wobble if n % 2 else -wobble)))
    return tuple(out)


NEWSLETTER = days(20, 7 * HOUR, wobble=3 * MINUTE)  # every day at 07:00 ± 3 min
WEEKDAY_BLOG = days(28, 9 * HOUR, weekdays={0, 1, 2, 3, 4}, wobble=30 * MINUTE)
PODCAST = days(70, 5 * HOUR, weekdays={1})  # Tuesdays 05:00
# Weekday mornings at 09:00 ± 30 min, but only Tue/Thu one week and Mon/Wed/Fri the
# next; the last one out on Thursday 3 Jan, 40 minutes late.
SKIPPING_BLOG = (
    *(MONDAY - timedelta(days=d, hours=-9, minutes=30 if d % 4 else -30)
      for d in range(6, 60) if d % 14 in (0, 4, 6, 10, 12)),
    MONDAY - timedelta(days=4, hours=-9, minutes=-40),
)  # fmt: skip
HOURLY = tuple(MONDAY - timedelta(hours=n) for n in range(1, 21))
ANY_TIME = tuple(MONDAY - timedelta(days=n, hours=5 * n % 24) for n in range(1, 15))


@pytest.mark.parametrize(
    ("published", "slot", "weekdays"),
    [
        (NEWSLETTER, 7 * HOUR, set(range(7))),
        (WEEKDAY_BLOG, 9 * HOUR, {0, 1, 2, 3, 4}),
        (PODCAST, 5 * HOUR, {1}),
    ],
)
def test_rhythms_are_found(
    published: tuple[datetime, ...], slot: float, weekdays: set[int]
) -> None:
    rhythm = publishing_rhythm(published)
    assert rhythm is not None
    assert rhythm.slot == pytest.approx(slot, abs=60)
    assert rhythm.weekdays == weekdays


@pytest.mark.parametrize(
    "published",
    [
        HOURLY,  # busy: the rate rule serves it
        ANY_TIME,  # daily, but at any hour
        NEWSLETTER[:4],  # too few dates
        (),
    ],
)
def test_no_rhythm(published: tuple[datetime, ...]) -> None:
    assert publishing_rhythm(published) is None


@pytest.mark.parametrize(
    ("published", "now", "expected"),
    [
        # The newsletter: tomorrow's 07:00 once today's is in.
        (NEWSLETTER + (MONDAY + timedelta(hours=7),), MONDAY + timedelta(hours=8),
         MONDAY + timedelta(days=1, hours=7)),
        # Today's, before it is out.
        (NEWSLETTER, MONDAY + timedelta(hours=3), MONDAY + timedelta(hours=7)),
        # Late: still today's slot within its window …
        (NEWSLETTER, MONDAY + timedelta(hours=7, minutes=20), MONDAY + timedelta(hours=7)),
        # … skipped once the window has passed: tomorrow's.
        (NEWSLETTER, MONDAY + timedelta(hours=9), MONDAY + timedelta(days=1, hours=7)),
        # The weekday blog on Friday evening: Monday morning, not Saturday.
        (days(28, 9 * HOUR, weekdays={0, 1, 2, 3, 4}, end=MONDAY - timedelta(days=2)),
         MONDAY - timedelta(days=3, hours=-18), MONDAY + timedelta(hours=9)),
        # The podcast, last out Tuesday 1 Jan: the next Tuesday.
        (PODCAST, MONDAY - timedelta(days=4), MONDAY + timedelta(days=1, hours=5)),
        # A weekday blog that skips many days (a median gap of two days), last out late on
        # Thursday: Friday's slot, not Monday's. Half a gap after a late entry passes it.
        (SKIPPING_BLOG, MONDAY - timedelta(days=4, hours=-12),
         MONDAY - timedelta(days=3, hours=-9)),
    ],
)  # fmt: skip
def test_expected_publication(
    published: tuple[datetime, ...], now: datetime, expected: datetime
) -> None:
    rhythm = publishing_rhythm(published)
    assert rhythm is not None
    got = expected_publication(rhythm, max(published), now)
    assert got is not None
    assert abs((got - expected).total_seconds()) < 120


@pytest.mark.parametrize(
    ("now", "delay"),
    [
        (MONDAY + timedelta(hours=3), 4 * HOUR + 2 * MINUTE),  # shortly after 07:00
        (MONDAY + timedelta(hours=7, minutes=10), 5 * MINUTE),  # late: looked at again soon
    ],
)
def test_rhythm_delay(now: datetime, delay: float) -> None:
    got = rhythm_delay(NEWSLETTER, now)
    assert got == pytest.approx(delay, abs=60)


NO_JITTER = ScheduleLimits(jitter_fraction=0.0)


@pytest.mark.parametrize(
    ("inputs", "limits", "delay"),
    [
        # Timed to the source instead of the rate rule's ~5 h for a daily feed.
        (ScheduleInputs(recent_published=NEWSLETTER), NO_JITTER, 4 * HOUR + 2 * MINUTE),
        # The rate rule when told not to follow rhythms (the benchmark's "before").
        (ScheduleInputs(recent_published=NEWSLETTER),
         ScheduleLimits(jitter_fraction=0.0, follow_rhythm=False), None),
        # Never more often than the minimum, never later than the maximum.
        (ScheduleInputs(recent_published=NEWSLETTER),
         ScheduleLimits(jitter_fraction=0.0, min_interval=6 * 3600), 6 * HOUR),
        # A feed's own hint (ttl) still wins over an earlier expected time.
        (ScheduleInputs(recent_published=NEWSLETTER, ttl_seconds=8 * 3600), NO_JITTER, 8 * HOUR),
        # Retry-After and backoff win.
        (ScheduleInputs(recent_published=NEWSLETTER, status=503,
                        headers={"retry-after": str(6 * 3600)}), NO_JITTER, 6 * HOUR),
        (ScheduleInputs(recent_published=NEWSLETTER, error_count=2), NO_JITTER, 120.0),
        # A fixed interval is the operator's choice.
        (ScheduleInputs(recent_published=NEWSLETTER, fixed_interval=600), NO_JITTER, 600.0),
    ],
)  # fmt: skip
def test_next_poll_follows_the_rhythm_within_the_bounds(
    inputs: ScheduleInputs, limits: ScheduleLimits, delay: float | None
) -> None:
    now = MONDAY + timedelta(hours=3)
    got = (next_poll_at(now, inputs, limits, jitter=0.0) - now).total_seconds()
    if delay is None:
        assert got > 4 * HOUR + 30 * MINUTE or got < 4 * HOUR  # the rate rule, not the slot
    else:
        assert got == pytest.approx(delay, abs=60)


def test_timed_polls_get_a_minute_of_jitter_at_most() -> None:
    now = MONDAY + timedelta(hours=3)
    inputs = ScheduleInputs(recent_published=NEWSLETTER)
    plain = next_poll_at(now, inputs, ScheduleLimits(), jitter=0.0)
    jittered = next_poll_at(now, inputs, ScheduleLimits(), jitter=0.99)
    assert timedelta(0) < jittered - plain <= timedelta(minutes=1)
