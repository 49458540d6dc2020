"""`catalog.feeds.list_feeds`, read from a SQLite file by the standard library's sqlite3.

`feedhub feeds list` is typed at shells and run by cron jobs and health checks, so its
start-up is most of its cost. Three quarters of that start-up was SQLAlchemy (core, ORM,
its asyncio layer), the models and the mapper set-up, all for two SELECTs. Here the same
two statements are written out, and their rows become the same `FeedInfo` values,
converted as the models' column types convert them. (PostgreSQL and in-memory databases
still go through `catalog.feeds`; tests compare the two functions on one database.)
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedhub.catalog.views import FeedInfo, PushInfo

__all__ = ["read_feed_list"]

# catalog.feeds._feed_query: each feed with its category's slug and its article count.
_FEEDS = """
SELECT feed.id, feed.url, feed.site_url, feed.title, category.slug AS category,
       feed.enabled, feed.poll_interval, feed.last_polled_at, feed.next_poll_at,
       feed.last_status, feed.error_count, feed.last_error, feed.disabled_reason,
       coalesce(counts.n, 0) AS article_count, feed.created_at, feed.truncation,
       feed.poll_reason
FROM feed
JOIN category ON category.id = feed.category_id
LEFT OUTER JOIN (SELECT feed_id, count(id) AS n FROM article GROUP BY feed_id) AS counts
    ON counts.feed_id = feed.id
ORDER BY feed.id
"""
# catalog.feeds._with_push: every subscription in id order; a feed's newest one wins.
_PUSH = """
SELECT feed_id, hub, topic, state, lease_until, last_push_at, pushes_received,
       pushes_rejected, healthy, last_error
FROM websub_subscription
ORDER BY id
"""
# Columns stored as text by SQLAlchemy's DateTime (models.UTCDateTime), and as 0/1 by its
# Boolean.
_TIMES = {"last_polled_at", "next_poll_at", "created_at", "lease_until", "last_push_at"}
_FLAGS = {"enabled", "healthy"}


def read_feed_list(path: Path) -> list[FeedInfo]:
    """Every feed, in id order, as `catalog.feeds.list_feeds` returns them. Blocking."""
    # mode=rw: never create the file. The timeout is the engine's busy_timeout.
    connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=10)
    try:
        feeds = _rows(connection, _FEEDS)
        newest = {row.pop("feed_id"): row for row in _rows(connection, _PUSH)}
    finally:
        connection.close()
    return [
        FeedInfo(
            **row,
            current_interval=_interval(row["last_polled_at"], row["next_poll_at"]),
            push=PushInfo(**newest[row["id"]]) if row["id"] in newest else None,
        )
        for row in feeds
    ]


def _rows(connection: sqlite3.Connection, statement: str) -> list[dict[str, Any]]:
    cursor = connection.execute(statement)
    names = [column[0] for column in cursor.description]
    return [
        {name: _value(name, value) for name, value in zip(names, row, strict=True)}
        for row in cursor
    ]


def _value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _TIMES:
        # As SQLAlchemy's SQLite DateTime reads it, then models.UTCDateTime.
        moment = datetime.fromisoformat(value)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if name in _FLAGS:
        return bool(value)
    return value


def _interval(last: datetime | None, due: datetime | None) -> int | None:
    return round((due - last).total_seconds()) if due and last else None
