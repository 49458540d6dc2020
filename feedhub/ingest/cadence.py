"""When to poll a feed next: pure arithmetic, the clock passed in.

Like lemon24/reader's `Decider`, nothing here touches the network, the database or the
system clock, so every rule is tested with plain values. The poller gathers the inputs
(status, headers, error count, recent entry dates) and stores what `next_poll_at` returns.

Rules (issue "adaptive polling"): follow the feed's observed publishing rate (the
square-root rule of `rate_interval`, an hour at most) or its rhythm, clamped to the
configured bounds; never poll sooner than the feed asks (RSS ttl, Cache-Control max-age,
Expires, Retry-After on 429/503); back off exponentially on failure; spread polls with a
little jitter so feeds added together do not poll in lock-step forever.
"""

from __future__ import annotations

import email.utils
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise

from feedhub.core.config import Settings
from feedhub.ingest.rhythm import rhythm_delay

__all__ = [
    "ScheduleInputs",
    "ScheduleLimits",
    "backoff_seconds",
    "cache_hint",
    "host_pause_until",
    "REASONS",
    "next_poll_at",
    "plan_poll",
    "parse_retry_after",
    "rate_interval",
    "rescheduled_poll_at",
]

# Statuses on which Retry-After means "come back later" (RFC 9110 §10.2.3). On redirects it
# means something else, and we never wait on a redirect.
_RETRY_STATUSES = frozenset({429, 503})

# Bound on any Retry-After we parse, before the caller's own cap: an absurd delta-seconds
# value must not overflow `timedelta` (it would crash the poll that read it).
_MAX_RETRY_AFTER = timedelta(days=365)


@dataclass(frozen=True, slots=True)
class ScheduleLimits:
    default_interval: int = 900  # seconds
    min_interval: int = 60
    max_interval: int = 86400
    backoff_base: int = 60  # first retry delay after a failure
    backoff_cap: int = 86400
    jitter_fraction: float = 0.1  # next poll spread by up to +10%
    # The publishing gap at which a feed is polled exactly as often as it publishes; other
    # feeds are polled at the geometric mean of their gap and this (see `rate_interval`).
    # None: poll at the median gap itself.
    rate_reference: int | None = 6 * 3600
    # The longest wait between two polls of a feed polled at its rate: whatever the rate
    # says, an entry of a quiet feed is then read within about this long (half of it on
    # average), as a fixed poller at this interval would read it.
    adaptive_max_interval: int = 3600
    # How often a feed whose WebSub pushes arrive is still polled, in case they stop.
    push_safety_interval: int = 21_600
    # Poll feeds with a publishing rhythm (a time of day, some weekdays) shortly after
    # their expected publication instead of at the uniform rate (`publishing_rhythm`).
    follow_rhythm: bool = True

    @classmethod
    def of(cls, settings: Settings) -> ScheduleLimits:
        """The bounds an operator sets (FEEDHUB_*_POLL_INTERVAL, the push safety net)."""
        return cls(
            default_interval=settings.default_poll_interval,
            min_interval=settings.min_poll_interval,
            max_interval=settings.max_poll_interval,
            adaptive_max_interval=settings.adaptive_max_poll_interval,
            push_safety_interval=settings.push_safety_interval,
        )


@dataclass(frozen=True, slots=True)
class ScheduleInputs:
    # Per-feed poll_interval set through the API: replaces the adaptive rate.
    fixed_interval: int | None = None
    # Consecutive failures including this poll (0: this poll succeeded).
    error_count: int = 0
    # Published dates of the feed's recent entries (UTC).
    recent_published: tuple[datetime, ...] = ()
    # RSS <ttl>, converted to seconds.
    ttl_seconds: int | None = None
    # Response headers of this poll, lower-cased names.
    headers: Mapping[str, str] = field(default_factory=dict)
    # HTTP status of this poll (None when no response arrived).
    status: int | None = None
    # Set while pushes arrive: the feed need not be polled more often than this (seconds).
    push_safety: int | None = None


_DEFAULT_LIMITS = ScheduleLimits()


def _utc(value: datetime) -> datetime:
    # A naive datetime is taken as UTC, as everywhere in feedhub; comparing naive with
    # aware would otherwise raise in the middle of a poll.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """Header lookup; names should already be lower-case, but a stray capital costs nothing."""
    value = headers.get(name)
    if value is not None:
        return value
    for key, candidate in headers.items():
        if key.lower() == name:
            return candidate
    return None


def _parse_http_date(value: str) -> datetime | None:
    try:
        return _utc(email.utils.parsedate_to_datetime(value.strip()))
    except (TypeError, ValueError, IndexError, OverflowError):  # "31 Dec 9999 … -0100"
        return None


def _seconds_until(instant: datetime | None, now: datetime) -> float:
    if instant is None:
        return 0.0
    return max(0.0, (instant - now).total_seconds())


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """The instant a Retry-After header names: delta-seconds or an HTTP-date.

    Unreadable values give None (the caller then backs off normally) rather than an error:
    a server's malformed header must not break scheduling. Deltas are bounded to a year so
    that no value can overflow; callers cap further.
    """
    if value is None or not value.strip():
        return None
    now = _utc(now)
    text = value.strip()
    if text.isascii() and text.isdigit():
        seconds = min(int(text), int(_MAX_RETRY_AFTER.total_seconds()))
        return now + timedelta(seconds=seconds)
    instant = _parse_http_date(text)
    if instant is None:
        return None
    return min(instant, now + _MAX_RETRY_AFTER)


def host_pause_until(
    status: int,
    headers: Mapping[str, str],
    now: datetime,
    *,
    limits: ScheduleLimits = _DEFAULT_LIMITS,
) -> datetime | None:
    """Until when the whole host asked to be left alone (Retry-After on 429/503), if later
    than `now`.

    A rate limit is usually per host, not per feed, so the poller pauses every feed of that
    host. Capped at `limits.backoff_cap` so a hostile header cannot silence a host for a year.
    """
    if status not in _RETRY_STATUSES:
        return None
    now = _utc(now)
    instant = parse_retry_after(_header(headers, "retry-after"), now)
    if instant is None or instant <= now:
        return None
    return min(instant, now + timedelta(seconds=limits.backoff_cap))


def cache_hint(headers: Mapping[str, str], now: datetime) -> datetime | None:
    """Until when the response says it stays fresh: Cache-Control max-age, else Expires.

    max-age wins over Expires as in RFC 9111 §5.3. s-maxage is for shared caches, not for
    us. no-cache / no-store mean "do not reuse without asking", so they give no floor at all
    (and Expires is not consulted: the directive is the more specific statement).
    """
    now = _utc(now)
    cache_control = _header(headers, "cache-control")
    if cache_control:
        max_age: int | None = None
        for directive in cache_control.split(","):
            name, _, argument = directive.strip().partition("=")
            name = name.strip().lower()
            if name in ("no-cache", "no-store"):
                return None
            if name == "max-age" and max_age is None:
                argument = argument.strip().strip('"')
                if argument.isascii() and argument.isdigit():
                    max_age = int(argument)
        if max_age is not None:
            return now + timedelta(seconds=min(max_age, int(_MAX_RETRY_AFTER.total_seconds())))
    expires = _header(headers, "expires")
    if expires:
        # An invalid Expires ("0", "-1") means "already expired": no floor.
        return _parse_http_date(expires)
    return None


def backoff_seconds(error_count: int, limits: ScheduleLimits) -> float:
    """Delay after `error_count` consecutive failures: base * 2**(n-1), capped.

    With the defaults: 1 min, 2, 4, … reaching the 24 h cap after 12 failures, so a dead
    feed costs about one request a day while a short outage is retried within minutes.
    """
    if error_count <= 0:
        return 0.0
    # Bound the exponent: 2**(n-1) for a feed failing for years is a huge int that does
    # not fit in a float; anything past 2**62 is above any sensible cap anyway.
    exponent = min(error_count - 1, 62)
    return float(min(limits.backoff_base * 2**exponent, limits.backoff_cap))


def _clamp(seconds: float, limits: ScheduleLimits) -> float:
    return float(min(max(seconds, limits.min_interval), limits.max_interval))


def rate_interval(published: Sequence[datetime], limits: ScheduleLimits) -> float:
    """How long to wait, from the feed's typical gap between entries (median), clamped.

    The median, not the mean: one long holiday pause or a burst of back-dated entries would
    drag a mean far off. Identical dates are merged first: feeds that stamp every entry with
    the same time (or entries without dates, which get the fetch time) would otherwise give
    zero gaps and a median of 0, i.e. polling at the minimum for no reason.

    The square-root rule: the interval is sqrt(gap * rate_reference), not the gap itself.
    With entries arriving at rate r and polls every T, a poll costs one request and an
    entry waits T/2 on average; minimising requests for a given mean delay over all
    entries gives T proportional to 1/sqrt(r). With the 6 h reference a feed posting every
    5 minutes is polled every ~42 (each poll brings ~8 entries). Whatever the rule, no more
    than half the entries the feed shows may go by between two polls, or some would fall
    out of the feed unseen: a feed posting every 3 minutes is polled every 30.

    Then at most `adaptive_max_interval` (an hour), so that every feed is polled at least
    as often as by a fixed hourly poller. The rule alone is cheapest over all entries, but
    it lets a feed posting every few hours wait 1.5 to 3 h between polls and a dormant one
    a day: the one entry it brings is read hours after an hourly poller would read it. So
    every feed posting every 10 minutes or less often is polled at the bound, and the large
    reference keeps busy feeds from spending the requests that costs.
    benchmarks/politeness.py measures both.
    """
    distinct = sorted({_utc(value) for value in published})
    if len(distinct) < 2:
        return _clamp(limits.default_interval, limits)
    gaps = [(later - earlier).total_seconds() for earlier, later in pairwise(distinct)]
    gap = statistics.median(gaps)
    if limits.rate_reference is None:
        interval = gap
    else:
        interval = math.sqrt(gap * limits.rate_reference)
        interval = min(interval, gap * max(1, len(distinct) // 2))
    return _clamp(min(interval, limits.adaptive_max_interval), limits)


# Seconds of jitter at most on a poll timed to an expected publication.
_TIMED_JITTER = 60.0


def _rhythm_delay(
    published: Sequence[datetime], now: datetime, limits: ScheduleLimits
) -> float | None:
    """Shortly after the feed's next expected publication, within the bounds, when it
    keeps a rhythm (`feedhub.ingest.rhythm`); None when it keeps none."""
    if not limits.follow_rhythm or not published:
        return None
    delay = rhythm_delay(published, now)
    return None if delay is None else _clamp(delay, limits)


def _feed_hint_seconds(inputs: ScheduleInputs, now: datetime, limits: ScheduleLimits) -> float:
    """The longest of the feed's own freshness hints (ttl, Cache-Control, Expires).

    Capped at max_interval: a feed that claims ttl = one year is still polled daily, since
    such values are usually a publisher's mistake and we would miss a year of news.
    """
    ttl = float(inputs.ttl_seconds) if inputs.ttl_seconds and inputs.ttl_seconds > 0 else 0.0
    cached = _seconds_until(cache_hint(inputs.headers, now), now)
    return min(max(ttl, cached), float(limits.max_interval))


def _retry_after_seconds(inputs: ScheduleInputs, now: datetime, limits: ScheduleLimits) -> float:
    if inputs.status not in _RETRY_STATUSES:
        return 0.0
    instant = parse_retry_after(_header(inputs.headers, "retry-after"), now)
    # Capped at backoff_cap, not max_interval: a server that is overloaded may legitimately
    # ask for more than our normal polling bound, but never more than our longest backoff.
    return min(_seconds_until(instant, now), float(limits.backoff_cap))


def next_poll_at(
    now: datetime, inputs: ScheduleInputs, limits: ScheduleLimits, jitter: float
) -> datetime:
    """When to poll this feed next, given what this poll saw (`plan_poll`'s time)."""
    return plan_poll(now, inputs, limits, jitter)[0]


# Why a feed is polled when it is, as `plan_poll` says it (feeds list, the admin API).
REASONS = ("adaptive", "timed to the source", "feed's hint", "fixed", "backoff",
           "Retry-After", "push safety")  # fmt: skip


def plan_poll(
    now: datetime, inputs: ScheduleInputs, limits: ScheduleLimits, jitter: float
) -> tuple[datetime, str]:
    """When to poll this feed next, given what this poll saw, and why (one of REASONS).

    - Failure (error_count > 0): exponential backoff. The headers of an error response say
      nothing about the feed's freshness, so ttl/Cache-Control/Expires are ignored; only a
      Retry-After on 429/503 is honoured, as a floor.
    - Success with a fixed interval: the operator's choice wins over both the observed rate
      and the feed's soft hints (ttl, Cache-Control, Expires), but never over Retry-After,
      which is the server explicitly refusing service.
    - Success otherwise: shortly after the next expected publication for a feed with a
      rhythm (`feedhub.ingest.rhythm`), else the publishing rate, at most
      `adaptive_max_interval`; raised to the feed's hints.
    - Success while WebSub pushes arrive (`push_safety`): at most that often, whatever the
      rate says: the poll is only the safety net.

    Jitter (`jitter` in [0, 1), from the caller's random source) lengthens the delay by up
    to `jitter_fraction`, so no hint is ever undercut. A poll timed to an expected
    publication gets at most `_TIMED_JITTER` of it: a tenth of a day's wait would be hours
    of delay. A rate at `adaptive_max_interval` is shortened by the jitter instead.
    """
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
    now = _utc(now)
    retry_after = _retry_after_seconds(inputs, now, limits)
    spread = limits.jitter_fraction * jitter
    at_bound, hints = False, 0.0
    if inputs.error_count > 0:
        interval, reason = backoff_seconds(inputs.error_count, limits), "backoff"
    elif inputs.fixed_interval is not None:
        interval, reason = _clamp(inputs.fixed_interval, limits), "fixed"
    else:
        timed = _rhythm_delay(inputs.recent_published, now, limits)
        hints = _feed_hint_seconds(inputs, now, limits)
        interval, reason = (
            (timed, "timed to the source")
            if timed is not None
            else (rate_interval(inputs.recent_published, limits), "adaptive")
        )
        at_bound = timed is None and interval >= _clamp(limits.adaptive_max_interval, limits)
        if hints > interval:
            interval, reason = hints, "feed's hint"
        elif timed is not None:
            spread = min(_TIMED_JITTER * jitter / max(interval, 1.0), spread)
    if inputs.error_count == 0 and (inputs.push_safety or 0) > interval:
        interval, reason = float(inputs.push_safety or 0), "push safety"
    if retry_after > interval:
        interval, reason = retry_after, "Retry-After"
    if at_bound and reason == "adaptive":
        # The bound is a promise (no longer than this), so its jitter comes before it;
        # never sooner than the minimum or the feed's own hint.
        early = max(interval * (1.0 - spread), hints, float(limits.min_interval))
        return now + timedelta(seconds=early), reason
    return now + timedelta(seconds=interval * (1.0 + spread)), reason


def rescheduled_poll_at(
    now: datetime,
    *,
    current: datetime | None,
    last_polled_at: datetime | None,
    fixed_interval: int | None,
    error_count: int,
) -> datetime | None:
    """When to poll a feed next after an operator changed its interval, as if its last poll
    had been scheduled with the new setting: otherwise an edit waits out the old schedule.

    - No next poll (a disabled feed) or a failing feed: unchanged. Backoff wins over any
      interval in `next_poll_at` too, so the edit does not hammer a failing server.
    - A fixed interval: the last poll plus that interval, or now when that is already past.
    - Adaptive again (None), or never polled: at once, at the latest; that poll learns the
      feed's rate and hints afresh, which an edit cannot know.
    """
    if current is None or error_count > 0:
        return current
    now = _utc(now)
    if fixed_interval is None or last_polled_at is None:
        return min(_utc(current), now)
    return max(now, _utc(last_polled_at) + timedelta(seconds=fixed_interval))
