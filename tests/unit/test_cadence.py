"""Table-driven tests for the pure scheduling arithmetic (feedhub.ingest.cadence)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedhub.ingest.cadence import (
    ScheduleInputs,
    ScheduleLimits,
    backoff_seconds,
    cache_hint,
    host_pause_until,
    next_poll_at,
    parse_retry_after,
    plan_poll,
    rate_interval,
    rescheduled_poll_at,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
# Polling at the median gap itself (rate_reference=None), without the hourly bound, keeps
# these tables readable; the square-root rule, the default, has its own table in
# tests/integration/test_poll_scheduling.py, the bound its own below.
LIMITS = ScheduleLimits(rate_reference=None, adaptive_max_interval=86400)
NO_JITTER_LIMITS = ScheduleLimits(
    jitter_fraction=0.0, rate_reference=None, adaptive_max_interval=86400
)
HOUR = 3600.0
DAY = 86400.0


def at(seconds: float) -> datetime:
    return NOW + timedelta(seconds=seconds)


def hours_ago(*hours: float) -> tuple[datetime, ...]:
    return tuple(NOW - timedelta(hours=h) for h in hours)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("120", at(120)),
        (" 0 ", NOW),
        ("Wed, 01 May 2024 13:00:00 GMT", at(HOUR)),
        ("Wed, 01 May 2024 11:00:00 GMT", at(-HOUR)),  # a past date is returned as is
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("99999999999999999999", at(365 * DAY)),  # bounded, no OverflowError
    ],
)
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"cache-control": "max-age=600"}, at(600)),
        ({"cache-control": 'public, MAX-AGE="300"'}, at(300)),
        ({"cache-control": "s-maxage=900"}, None),
        ({"cache-control": "s-maxage=900, max-age=60"}, at(60)),
        ({"cache-control": "max-age=600, no-cache"}, None),
        ({"cache-control": "no-store"}, None),
        ({"cache-control": "no-store", "expires": "Wed, 01 May 2024 13:00:00 GMT"}, None),
        ({"cache-control": "max-age=abc", "expires": "Wed, 01 May 2024 13:00:00 GMT"}, at(HOUR)),
        # max-age wins over Expires
        ({"cache-control": "max-age=60", "expires": "Wed, 01 May 2024 13:00:00 GMT"}, at(60)),
        ({"expires": "Wed, 01 May 2024 13:00:00 GMT"}, at(HOUR)),
        ({"expires": "0"}, None),
        ({"Cache-Control": "max-age=60"}, at(60)),  # a stray capital still works
    ],
)
def test_cache_hint(headers: dict[str, str], expected: datetime | None) -> None:
    assert cache_hint(headers, NOW) == expected


@pytest.mark.parametrize(
    ("errors", "expected"),
    [
        (-1, 0.0),
        (0, 0.0),
        (1, 60.0),
        (2, 120.0),
        (3, 240.0),
        (11, 61440.0),
        (12, DAY),  # 122880 capped
        (13, DAY),
        (10_000, DAY),  # no float overflow
    ],
)
def test_backoff_seconds(errors: int, expected: float) -> None:
    assert backoff_seconds(errors, LIMITS) == expected


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ((), 900.0),
        (hours_ago(1), 900.0),
        (hours_ago(1, 1, 1), 900.0),  # one distinct date: no rate known
        (hours_ago(0, 2), 2 * HOUR),
        (hours_ago(0, 1, 2, 3), HOUR),
        (hours_ago(3, 0, 2, 1), HOUR),  # order does not matter
        (hours_ago(0, 1, 2, 30), HOUR),  # median ignores one long pause
        (hours_ago(0, 0, 2, 2, 4), 2 * HOUR),  # duplicates merged, not zero gaps
        (hours_ago(0, 0.001, 0.002), 60.0),  # clamped to min
        (hours_ago(0, 100, 200), DAY),  # clamped to max
        ((datetime(2024, 5, 1, 10), datetime(2024, 5, 1, 11, tzinfo=UTC)), HOUR),  # naive = UTC
    ],
)
def test_rate_interval(published: tuple[datetime, ...], expected: float) -> None:
    assert rate_interval(published, LIMITS) == pytest.approx(expected)


RATE_2H = hours_ago(0, 2, 4, 6)

# (inputs, expected delay in seconds) with jitter off.
NEXT_POLL_CASES = [
    pytest.param(ScheduleInputs(), 900.0, id="no-data-default"),
    pytest.param(ScheduleInputs(recent_published=RATE_2H), 2 * HOUR, id="rate"),
    pytest.param(ScheduleInputs(recent_published=RATE_2H, ttl_seconds=3 * 3600), 3 * HOUR,
                 id="ttl-above-rate"),
    pytest.param(ScheduleInputs(recent_published=RATE_2H, ttl_seconds=60), 2 * HOUR,
                 id="ttl-below-rate-ignored"),
    pytest.param(ScheduleInputs(ttl_seconds=365 * 86400), DAY, id="ttl-capped-at-max"),
    pytest.param(ScheduleInputs(ttl_seconds=0), 900.0, id="ttl-zero-ignored"),
    pytest.param(ScheduleInputs(headers={"cache-control": "max-age=7200"}), 2 * HOUR,
                 id="max-age-floor"),
    pytest.param(ScheduleInputs(headers={"expires": "Wed, 01 May 2024 14:00:00 GMT"}), 2 * HOUR,
                 id="expires-floor"),
    pytest.param(ScheduleInputs(headers={"expires": "Wed, 01 May 2024 10:00:00 GMT"}), 900.0,
                 id="expires-past"),
    pytest.param(ScheduleInputs(headers={"cache-control": "max-age=9999999"}), DAY,
                 id="max-age-capped-at-max"),
    pytest.param(ScheduleInputs(fixed_interval=300, recent_published=RATE_2H), 300.0,
                 id="fixed-beats-rate"),
    pytest.param(ScheduleInputs(fixed_interval=300, ttl_seconds=7200), 300.0,
                 id="fixed-beats-ttl"),
    pytest.param(ScheduleInputs(fixed_interval=5), 60.0, id="fixed-clamped-min"),
    pytest.param(ScheduleInputs(fixed_interval=10**9), DAY, id="fixed-clamped-max"),
    pytest.param(ScheduleInputs(fixed_interval=300, status=429,
                                headers={"retry-after": "3600"}), HOUR,
                 id="fixed-never-before-retry-after"),
    pytest.param(ScheduleInputs(error_count=1, recent_published=RATE_2H), 60.0,
                 id="first-failure"),
    pytest.param(ScheduleInputs(error_count=3, fixed_interval=10), 240.0,
                 id="failure-ignores-fixed"),
    pytest.param(ScheduleInputs(error_count=20), DAY, id="failure-capped"),
    pytest.param(ScheduleInputs(error_count=1, ttl_seconds=7200,
                                headers={"cache-control": "max-age=7200"}), 60.0,
                 id="failure-ignores-freshness-hints"),
    pytest.param(ScheduleInputs(error_count=1, status=429, headers={"retry-after": "600"}),
                 600.0, id="429-retry-after-above-backoff"),
    pytest.param(ScheduleInputs(error_count=5, status=503, headers={"retry-after": "10"}),
                 960.0, id="503-backoff-above-retry-after"),
    pytest.param(ScheduleInputs(error_count=1, status=503,
                                headers={"retry-after": "Wed, 01 May 2024 15:00:00 GMT"}),
                 3 * HOUR, id="503-retry-after-date"),
    pytest.param(ScheduleInputs(error_count=1, status=429), 60.0,
                 id="429-without-retry-after-backs-off"),
    pytest.param(ScheduleInputs(error_count=1, status=500, headers={"retry-after": "600"}),
                 60.0, id="retry-after-ignored-on-500"),
    pytest.param(ScheduleInputs(error_count=1, status=429,
                                headers={"retry-after": str(30 * 86400)}), DAY,
                 id="retry-after-capped-at-backoff-cap"),
    pytest.param(ScheduleInputs(status=503, headers={"retry-after": "7200"}), 2 * HOUR,
                 id="retry-after-even-without-error-count"),
    # WebSub pushes arrive: polls are only the safety net.
    pytest.param(ScheduleInputs(recent_published=RATE_2H, push_safety=6 * 3600), 6 * HOUR,
                 id="push-safety-above-rate"),
    pytest.param(ScheduleInputs(fixed_interval=300, push_safety=6 * 3600), 6 * HOUR,
                 id="push-safety-above-fixed"),
    pytest.param(ScheduleInputs(ttl_seconds=12 * 3600, push_safety=6 * 3600), 12 * HOUR,
                 id="push-safety-below-ttl"),
    pytest.param(ScheduleInputs(error_count=1, push_safety=6 * 3600), 60.0,
                 id="push-safety-not-on-failure"),
]  # fmt: skip


@pytest.mark.parametrize(("inputs", "delay"), NEXT_POLL_CASES)
def test_next_poll_at_without_jitter(inputs: ScheduleInputs, delay: float) -> None:
    assert next_poll_at(NOW, inputs, NO_JITTER_LIMITS, jitter=0.5) == at(delay)


@pytest.mark.parametrize(
    ("inputs", "jitter", "delay"),
    [
        (ScheduleInputs(), 0.0, 900.0),
        (ScheduleInputs(), 0.5, 945.0),
        (ScheduleInputs(), 0.999, 900 * 1.0999),
        (ScheduleInputs(error_count=2), 0.5, 126.0),
        # Jitter only adds: the Retry-After floor is never undercut.
        (ScheduleInputs(error_count=1, status=429, headers={"retry-after": "1000"}), 0.0, 1000.0),
        (ScheduleInputs(error_count=1, status=429, headers={"retry-after": "1000"}), 0.5, 1050.0),
    ],
)
def test_next_poll_at_jitter(inputs: ScheduleInputs, jitter: float, delay: float) -> None:
    result = next_poll_at(NOW, inputs, LIMITS, jitter)
    assert (result - NOW).total_seconds() == pytest.approx(delay)


@pytest.mark.parametrize("jitter", [-0.1, 1.5])
def test_next_poll_at_rejects_bad_jitter(jitter: float) -> None:
    with pytest.raises(ValueError, match="jitter"):
        next_poll_at(NOW, ScheduleInputs(), LIMITS, jitter)


def test_next_poll_at_naive_now_is_utc() -> None:
    result = next_poll_at(NOW.replace(tzinfo=None), ScheduleInputs(), NO_JITTER_LIMITS, 0.0)
    assert result == at(900)
    assert result.tzinfo is not None


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (429, {"retry-after": "120"}, at(120)),
        (503, {"retry-after": "Wed, 01 May 2024 13:00:00 GMT"}, at(HOUR)),
        (429, {}, None),
        (429, {"retry-after": "garbage"}, None),
        (429, {"retry-after": "0"}, None),  # nothing to wait for
        (429, {"retry-after": "Wed, 01 May 2024 11:00:00 GMT"}, None),
        (500, {"retry-after": "120"}, None),
        (200, {"retry-after": "120"}, None),
        (301, {"retry-after": "120"}, None),
        (429, {"retry-after": str(400 * 86400)}, at(DAY)),  # capped at backoff_cap
    ],
)
def test_host_pause_until(status: int, headers: dict[str, str], expected: datetime | None) -> None:
    assert host_pause_until(status, headers, NOW) == expected


def test_custom_limits_are_used() -> None:
    limits = ScheduleLimits(
        default_interval=1200, min_interval=30, max_interval=7200, backoff_base=10,
        backoff_cap=100, jitter_fraction=0.0,
    )  # fmt: skip
    assert next_poll_at(NOW, ScheduleInputs(), limits, 0.0) == at(1200)
    assert next_poll_at(NOW, ScheduleInputs(error_count=2), limits, 0.0) == at(20)
    assert next_poll_at(NOW, ScheduleInputs(error_count=9), limits, 0.0) == at(100)
    assert next_poll_at(NOW, ScheduleInputs(ttl_seconds=10**6), limits, 0.0) == at(7200)


def test_an_expires_date_beyond_datetime_is_no_hint() -> None:
    assert cache_hint({"expires": "Fri, 31 Dec 9999 23:59:59 -0100"}, datetime.now(UTC)) is None


@pytest.mark.parametrize(
    ("current", "last_polled", "fixed", "errors", "expected"),
    [
        # Adaptive 1 h 45 min away, now every 60 s, last polled 30 s ago: 30 s from now.
        (at(6300), at(-30), 60, 0, at(30)),
        # Last polled 10 min ago: a 60 s interval is already past, so at once.
        (at(6300), at(-600), 60, 0, NOW),
        # A longer interval moves a near poll out: the operator asked for fewer polls.
        (at(60), at(-30), 3600, 0, at(3570)),
        # Back to adaptive: at once (that poll learns the rate), never later than planned.
        (at(6300), at(-30), None, 0, NOW),
        (at(-5), at(-30), None, 0, at(-5)),
        # Never polled yet: the first poll stays where it is (due at once from insert).
        (at(0), None, 600, 0, NOW),
        # Failing: the backoff stands; disabled (no next poll): nothing to schedule.
        (at(1920), at(-30), 60, 3, at(1920)),
        (None, at(-30), 60, 0, None),
    ],
)
def test_an_edited_interval_reschedules_from_the_last_poll(
    current: datetime | None,
    last_polled: datetime | None,
    fixed: int | None,
    errors: int,
    expected: datetime | None,
) -> None:
    got = rescheduled_poll_at(
        NOW, current=current, last_polled_at=last_polled, fixed_interval=fixed, error_count=errors
    )
    assert got == expected


# The hourly bound on a rate (the defaults: the square-root rule, an hour at most).
EVERY_3H = hours_ago(0, 3, 6, 9, 12)
ADAPTIVE_CASES = [
    pytest.param(ScheduleInputs(recent_published=EVERY_3H), ScheduleLimits(), 0.0, HOUR,
                 "adaptive", id="quiet-feed-bounded"),
    pytest.param(ScheduleInputs(), ScheduleLimits(), 0.0, 900.0, "adaptive",
                 id="no-rate-default-below-bound"),
    # Off: the rule's sqrt(3 h * 6 h).
    pytest.param(ScheduleInputs(recent_published=EVERY_3H),
                 ScheduleLimits(adaptive_max_interval=86400), 0.0, 18**0.5 * HOUR,
                 "adaptive", id="bound-off"),
    # The bound is the latest: its jitter comes before it, never after.
    pytest.param(ScheduleInputs(recent_published=EVERY_3H), ScheduleLimits(), 0.5,
                 0.95 * HOUR, "adaptive", id="jitter-before-bound"),
    pytest.param(ScheduleInputs(recent_published=EVERY_3H), ScheduleLimits(), 0.999,
                 (1 - 0.0999) * HOUR, "adaptive", id="jitter-at-most-a-tenth"),
    # The minimum wins over the bound, the maximum too, and jitter stays above the minimum.
    pytest.param(ScheduleInputs(recent_published=EVERY_3H),
                 ScheduleLimits(min_interval=2 * 3600), 0.5, 2 * HOUR, "adaptive",
                 id="minimum-wins"),
    pytest.param(ScheduleInputs(recent_published=EVERY_3H),
                 ScheduleLimits(max_interval=1800), 0.0, 1800.0, "adaptive", id="maximum-wins"),
    # The feed's own hint, Retry-After, backoff, a fixed interval and push safety win.
    pytest.param(ScheduleInputs(recent_published=EVERY_3H, ttl_seconds=2 * 3600),
                 ScheduleLimits(), 0.0, 2 * HOUR, "feed's hint", id="ttl-above-bound"),
    pytest.param(ScheduleInputs(recent_published=EVERY_3H,
                                headers={"cache-control": "max-age=3500"}),
                 ScheduleLimits(), 0.999, 3500.0, "adaptive", id="jitter-never-undercuts-hint"),
    pytest.param(ScheduleInputs(recent_published=EVERY_3H, status=503,
                                headers={"retry-after": "7200"}),
                 ScheduleLimits(), 0.0, 2 * HOUR, "Retry-After", id="retry-after-wins"),
    pytest.param(ScheduleInputs(recent_published=EVERY_3H, error_count=13), ScheduleLimits(),
                 0.0, DAY, "backoff", id="backoff-wins"),
    pytest.param(ScheduleInputs(recent_published=EVERY_3H, fixed_interval=4 * 3600),
                 ScheduleLimits(), 0.0, 4 * HOUR, "fixed", id="fixed-wins"),
    pytest.param(ScheduleInputs(recent_published=EVERY_3H, push_safety=6 * 3600),
                 ScheduleLimits(), 0.0, 6 * HOUR, "push safety", id="push-safety-wins"),
]  # fmt: skip


@pytest.mark.parametrize(("inputs", "limits", "jitter", "delay", "reason"), ADAPTIVE_CASES)
def test_a_rate_waits_an_hour_at_most(
    inputs: ScheduleInputs, limits: ScheduleLimits, jitter: float, delay: float, reason: str
) -> None:
    when, why = plan_poll(NOW, inputs, limits, jitter)
    assert (when - NOW).total_seconds() == pytest.approx(delay)
    assert why == reason


@pytest.mark.parametrize("gap_hours", [0.5, 1, 2, 8, 24, 24 * 30, 24 * 365])
def test_no_rate_is_longer_than_the_bound(gap_hours: float) -> None:
    published = hours_ago(*(gap_hours * n for n in range(20)))
    # Dates a whole number of days apart keep a time of day: a rhythm, not a rate.
    limits = ScheduleLimits(follow_rhythm=False)
    assert rate_interval(published, limits) == HOUR
    for jitter in (0.0, 0.3, 0.999):
        when = next_poll_at(NOW, ScheduleInputs(recent_published=published), limits, jitter)
        assert 0.9 * HOUR <= (when - NOW).total_seconds() <= HOUR


def test_a_rhythm_is_not_bounded() -> None:
    """A feed timed to its source waits for its next slot (here today at 16:00), however
    far: the bound is for feeds whose next entry may come at any time."""
    daily = hours_ago(*(20 + 24 * n for n in range(7)))
    when, why = plan_poll(NOW, ScheduleInputs(recent_published=daily), ScheduleLimits(), 0.0)
    assert why == "timed to the source"
    assert (when - NOW).total_seconds() == pytest.approx(4 * HOUR + 120, abs=60)
