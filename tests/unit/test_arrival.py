"""When an article is listed, and whether its arrival is news (pure rules)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedhub.core.config import Settings
from feedhub.core.errors import ConfigError
from feedhub.ingest.arrival import is_backlog, listed_at

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        (NOW - DAY, NOW - DAY),  # the past: its own date
        (NOW, NOW),
        (NOW + timedelta(hours=5), NOW),  # the future: clamped to the arrival
        (NOW + 400 * DAY, NOW),
    ],
)
def test_listed_at_clamps_future_dates_to_arrival(published: datetime, expected: datetime) -> None:
    assert listed_at(published, NOW) == expected


@pytest.mark.parametrize(
    ("published", "window", "backlog"),
    [
        (NOW - timedelta(hours=71), timedelta(hours=72), False),
        (NOW - timedelta(hours=72), timedelta(hours=72), False),  # the edge is still news
        (NOW - timedelta(hours=73), timedelta(hours=72), True),
        (NOW - 3000 * DAY, timedelta(hours=72), True),
        (NOW + DAY, timedelta(hours=72), False),
        (NOW - 3000 * DAY, None, False),  # no window: everything is news
        (NOW - 3000 * DAY, timedelta(0), False),
    ],
)
def test_is_backlog(published: datetime, window: timedelta | None, backlog: bool) -> None:
    assert is_backlog(published, NOW, window) is backlog


def test_backlog_window_setting() -> None:
    assert Settings().backlog_window == timedelta(hours=72)
    env = {"FEEDHUB_BACKLOG_WINDOW_HOURS": "6"}
    assert Settings.from_env(env).backlog_window == timedelta(hours=6)
    assert Settings.from_env({"FEEDHUB_BACKLOG_WINDOW_HOURS": "0"}).backlog_window is None
    with pytest.raises(ConfigError, match="BACKLOG_WINDOW"):
        Settings.from_env({"FEEDHUB_BACKLOG_WINDOW_HOURS": "-1"})
