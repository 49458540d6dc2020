"""What one poll changes in its feed row: a pure decision, the clock passed in.

Like lemon24/reader's `Decider`, `decide` does no I/O: the poller hands it the feed's
state and what the poll found (`Outcome`), and stores the `FeedUpdate` it returns through
`FeedStore`. Every rule about health, validators and the next poll time is here, and is
tested with plain values (tests/unit/test_decide.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from enum import Enum

from feedhub.core.types import FetchResult, ParsedFeed, PollStatus
from feedhub.ingest.cadence import ScheduleInputs, ScheduleLimits, host_pause_until, plan_poll

__all__ = [
    "KEEP",
    "Failed",
    "FeedState",
    "FeedUpdate",
    "Fetched",
    "HostPaused",
    "Outcome",
    "decide",
]


@dataclass(frozen=True, slots=True)
class FeedState:
    """The feed row as a poll needs it, read once before the poll."""

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
    # A verified WebSub subscription whose pushes arrive: polls are only a safety net.
    push_healthy: bool = False


class _Keep(Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # "leave this column as it is"


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """The columns a poll writes (KEEP: untouched) and what the poller reports and does."""

    status: PollStatus
    http_status: int | None = None
    error: str | None = None
    # Not a column: the feed's host asked for a pause (429/503 with Retry-After).
    pause_host_until: datetime | None = None
    # Columns of the feed row.
    url: str | _Keep = KEEP
    title: str | _Keep = KEEP
    site_url: str | _Keep = KEEP
    enabled: bool | _Keep = KEEP
    disabled_reason: str | _Keep = KEEP
    etag: str | None | _Keep = KEEP
    last_modified: str | None | _Keep = KEEP
    content_hash: str | _Keep = KEEP
    guid_unreliable: bool | _Keep = KEEP
    last_polled_at: datetime | _Keep = KEEP
    last_status: int | None | _Keep = KEEP
    error_count: int | _Keep = KEEP
    last_error: str | None | _Keep = KEEP
    next_poll_at: datetime | None | _Keep = KEEP
    poll_reason: str | None | _Keep = KEEP
    # What the entry caps cut from the last document, in words.
    truncation: str | None | _Keep = KEEP

    def columns(self) -> dict[str, object]:
        """The feed-row columns to write, by name (what FeedStore hands to SQL)."""
        return {
            f.name: value
            for f in fields(self)
            if f.name not in _NOT_COLUMNS and (value := getattr(self, f.name)) is not KEEP
        }


_NOT_COLUMNS = frozenset({"status", "http_status", "error", "pause_host_until"})


# -- what a poll found -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HostPaused:
    """The feed's host asked to be left alone until `until`: nothing was fetched."""

    until: datetime


@dataclass(frozen=True, slots=True)
class Fetched:
    """A response arrived and was usable: 304, an unchanged body, or a parsed document."""

    result: FetchResult
    # None for a 304 or an unchanged body (nothing was parsed).
    parsed: ParsedFeed | None = None
    fingerprint: str | None = None
    # A permanent redirect's target no other feed has: the row's URL moves there.
    moved_to: str | None = None
    # Publication dates of the feed's recent entries (from `parsed`, or stored ones).
    recent_published: tuple[datetime, ...] = ()


@dataclass(frozen=True, slots=True)
class Failed:
    """The fetch or the parse failed (or the poll itself crashed)."""

    message: str
    http_status: int | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after: str | None = None


Outcome = HostPaused | Fetched | Failed


# -- the decision ------------------------------------------------------------------------------
def decide(
    state: FeedState,
    outcome: Outcome,
    now: datetime,
    *,
    limits: ScheduleLimits,
    jitter: float,
) -> FeedUpdate:
    """The feed row's new values after a poll that found `outcome` at `now`.

    `jitter` is a number in [0, 1) from the poller's random source (cadence spreads polls).
    """
    if isinstance(outcome, HostPaused):
        return FeedUpdate(status="deferred", next_poll_at=outcome.until, poll_reason="Retry-After")
    if isinstance(outcome, Failed):
        return _failed(state, outcome, now, limits, jitter)
    return _fetched(state, outcome, now, limits, jitter)


def _fetched(
    state: FeedState, outcome: Fetched, now: datetime, limits: ScheduleLimits, jitter: float
) -> FeedUpdate:
    result, parsed = outcome.result, outcome.parsed
    inputs = ScheduleInputs(
        fixed_interval=state.poll_interval,
        error_count=0,
        recent_published=outcome.recent_published,
        ttl_seconds=parsed.ttl_seconds if parsed else None,
        headers=result.headers,
        status=result.status,
        push_safety=limits.push_safety_interval if state.push_healthy else None,
    )
    status: PollStatus = "ok"
    if parsed is None:
        status = "not_modified" if result.not_modified else "unchanged"
    # A 304 may leave out the validators: keep the stored ones then.
    keep_etag = result.status != 200 and not result.etag
    keep_modified = result.status != 200 and not result.last_modified
    next_at, reason = plan_poll(now, inputs, limits, jitter)
    update = FeedUpdate(
        status=status,
        http_status=result.status,
        url=outcome.moved_to or KEEP,
        etag=KEEP if keep_etag else result.etag,
        last_modified=KEEP if keep_modified else result.last_modified,
        last_polled_at=now,
        last_status=result.status,
        error_count=0,
        last_error=None,
        next_poll_at=next_at,
        poll_reason=reason,
    )
    if parsed is None:
        return update
    return _with_document(update, state, parsed, outcome.fingerprint)


def _with_document(
    update: FeedUpdate, state: FeedState, parsed: ParsedFeed, fingerprint: str | None
) -> FeedUpdate:
    return replace(
        update,
        content_hash=fingerprint if fingerprint is not None else KEEP,
        guid_unreliable=parsed.guid_unreliable,
        truncation=parsed.truncation,
        # The admin's title wins; a feed without one takes the document's.
        title=parsed.title[:500] if not state.title and parsed.title else KEEP,
        site_url=(
            parsed.site_url[:2048]
            if parsed.site_url and parsed.site_url != state.site_url
            else KEEP
        ),
    )


def _failed(
    state: FeedState, outcome: Failed, now: datetime, limits: ScheduleLimits, jitter: float
) -> FeedUpdate:
    errors = state.error_count + 1
    pause = None
    if outcome.http_status in (429, 503):
        pause = host_pause_until(
            outcome.http_status, {"retry-after": outcome.retry_after or ""}, now
        )
    if outcome.http_status == 410:  # Gone: stop polling until an admin re-enables it
        return FeedUpdate(
            status="disabled", http_status=410, error=outcome.message,
            enabled=False, disabled_reason=outcome.message, last_status=410,
            last_error=f"{outcome.message} — feed disabled", last_polled_at=now,
            next_poll_at=None, error_count=errors,
        )  # fmt: skip
    headers = dict(outcome.headers)
    if outcome.retry_after:
        headers["retry-after"] = outcome.retry_after
    inputs = ScheduleInputs(
        fixed_interval=state.poll_interval, error_count=errors, headers=headers,
        status=outcome.http_status,
    )  # fmt: skip
    next_at, reason = plan_poll(now, inputs, limits, jitter)
    return FeedUpdate(
        status="error",
        http_status=outcome.http_status,
        error=outcome.message,
        pause_host_until=pause,
        last_polled_at=now,
        last_status=outcome.http_status,
        error_count=errors,
        last_error=outcome.message[:2000],
        next_poll_at=next_at,
        poll_reason=reason,
    )
