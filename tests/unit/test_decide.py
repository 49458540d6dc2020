"""What a poll writes to its feed row: the pure `decide`, table by table (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedhub.core.types import EntryData, FetchResult, ParsedFeed
from feedhub.ingest.cadence import ScheduleLimits
from feedhub.ingest.decide import KEEP, Failed, FeedState, Fetched, HostPaused, Outcome, decide

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
LIMITS = ScheduleLimits(default_interval=900, min_interval=60, max_interval=86400)


def state(**changes: object) -> FeedState:
    values: dict[str, object] = {
        "id": 1, "url": "https://e.example/feed", "category": "tech", "enabled": True,
        "poll_interval": None, "etag": '"old"', "last_modified": "Mon, 01 Jan 2024 00:00:00 GMT",
        "content_hash": "old-hash", "error_count": 3, "guid_unreliable": False,
        "title": None, "site_url": None,
    }  # fmt: skip
    values.update(changes)
    return FeedState(**values)  # type: ignore[arg-type]


def response(status: int = 200, **changes: object) -> FetchResult:
    values: dict[str, object] = {
        "url": "https://e.example/feed", "final_url": "https://e.example/feed",
        "status": status, "headers": {}, "body": b"<rss/>" if status == 200 else None,
        "etag": None, "last_modified": None, "fetched_at": NOW,
    }  # fmt: skip
    values.update(changes)
    return FetchResult(**values)  # type: ignore[arg-type]


def parsed(**changes: object) -> ParsedFeed:
    entry = EntryData(
        key="guid:1", guid="1", url="https://e.example/1", title="One", summary="", content="",
        author=None, published_at=NOW - timedelta(hours=1), content_hash="h",
    )  # fmt: skip
    values: dict[str, object] = {"title": "Doc title", "site_url": "https://e.example/",
                                 "entries": (entry,)}  # fmt: skip
    values.update(changes)
    return ParsedFeed(**values)  # type: ignore[arg-type]


def test_a_host_pause_only_moves_the_next_poll() -> None:
    until = NOW + timedelta(minutes=30)
    change = decide(state(), HostPaused(until), NOW, limits=LIMITS, jitter=0.0)
    assert change.status == "deferred"
    # (and says why: the host's Retry-After)
    assert change.columns() == {"next_poll_at": until, "poll_reason": "Retry-After"}


@pytest.mark.parametrize(
    ("outcome", "poll_interval", "reason"),
    [
        (Fetched(response(304)), None, "adaptive"),
        (Fetched(response(304)), 600, "fixed"),
        (Failed("boom", 500), None, "backoff"),
        (Failed("slow down", 429, retry_after="7200"), None, "Retry-After"),
    ],
)
def test_the_next_poll_says_why(outcome: Outcome, poll_interval: int | None, reason: str) -> None:
    change = decide(state(poll_interval=poll_interval), outcome, NOW, limits=LIMITS, jitter=0.0)
    assert change.poll_reason == reason


def test_push_safety_is_the_reason_while_pushes_arrive() -> None:
    change = decide(state(push_healthy=True), Fetched(response(304)), NOW, limits=LIMITS, jitter=0)
    assert change.poll_reason == "push safety"
    assert change.next_poll_at == NOW + timedelta(seconds=LIMITS.push_safety_interval)


def test_not_modified_keeps_validators_it_was_not_sent_and_resets_health() -> None:
    change = decide(state(), Fetched(response(304)), NOW, limits=LIMITS, jitter=0.0)
    assert change.status == "not_modified" and change.http_status == 304
    assert change.etag is KEEP and change.last_modified is KEEP
    assert change.error_count == 0 and change.last_error is None
    assert change.last_polled_at == NOW and change.last_status == 304
    assert change.content_hash is KEEP and change.title is KEEP


def test_a_200_stores_its_validators_even_when_absent() -> None:
    change = decide(state(), Fetched(response(200)), NOW, limits=LIMITS, jitter=0.0)
    assert change.status == "unchanged"
    assert change.etag is None and change.last_modified is None


def test_a_parsed_document_stores_fingerprint_title_and_site() -> None:
    outcome = Fetched(response(200, etag='"new"'), parsed(), "new-hash")
    change = decide(state(), outcome, NOW, limits=LIMITS, jitter=0.0)
    assert change.status == "ok" and change.etag == '"new"'
    assert change.content_hash == "new-hash"
    assert change.title == "Doc title" and change.site_url == "https://e.example/"


@pytest.mark.parametrize(
    ("feed", "title", "site_url"),
    [
        (state(title="Admin's name"), KEEP, "https://e.example/"),
        (state(site_url="https://e.example/"), "Doc title", KEEP),
    ],
)
def test_the_admins_title_and_an_unchanged_site_are_kept(
    feed: FeedState, title: object, site_url: object
) -> None:
    change = decide(feed, Fetched(response(), parsed(), "h"), NOW, limits=LIMITS, jitter=0.0)
    assert change.title == title and change.site_url == site_url


def test_a_permanent_move_changes_the_url() -> None:
    outcome = Fetched(response(304), moved_to="https://new.example/feed")
    change = decide(state(), outcome, NOW, limits=LIMITS, jitter=0.0)
    assert change.columns()["url"] == "https://new.example/feed"


def test_a_failure_counts_and_backs_off() -> None:
    change = decide(state(), Failed("boom", 500), NOW, limits=LIMITS, jitter=0.0)
    assert change.status == "error" and change.error == "boom"
    assert change.error_count == 4 and change.last_error == "boom" and change.last_status == 500
    assert isinstance(change.next_poll_at, datetime) and change.next_poll_at > NOW
    assert change.pause_host_until is None


def test_a_429_with_retry_after_pauses_the_host() -> None:
    change = decide(state(), Failed("slow down", 429, retry_after="120"), NOW, limits=LIMITS,
                    jitter=0.0)  # fmt: skip
    assert change.pause_host_until == NOW + timedelta(seconds=120)
    assert isinstance(change.next_poll_at, datetime)
    assert change.next_poll_at >= NOW + timedelta(seconds=120)


def test_410_disables_the_feed() -> None:
    change = decide(state(), Failed("gone", 410), NOW, limits=LIMITS, jitter=0.0)
    assert change.status == "disabled"
    assert change.columns() == {
        "enabled": False, "disabled_reason": "gone", "last_status": 410,
        "last_error": "gone — feed disabled", "last_polled_at": NOW, "next_poll_at": None,
        "error_count": 4,
    }  # fmt: skip


def test_long_errors_are_cut_for_the_row_only() -> None:
    change = decide(state(), Failed("x" * 5000), NOW, limits=LIMITS, jitter=0.0)
    assert change.last_error == "x" * 2000 and change.error == "x" * 5000


def test_every_time_written_is_the_clock_passed_in() -> None:
    later = NOW + timedelta(days=1)
    for outcome in (Fetched(response(304)), Failed("boom"), Fetched(response(), parsed(), "h")):
        change = decide(state(), outcome, later, limits=LIMITS, jitter=0.0)
        assert change.last_polled_at == later
