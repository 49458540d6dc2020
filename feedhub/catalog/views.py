"""What the catalog services return: our own frozen values, not ORM rows or HTTP bodies.

They are msgspec Structs so the API can answer them as they are (thin controllers); the
field names are the JSON contract of DESIGN.md ("Article JSON", the admin feed list).
"""

from __future__ import annotations

from datetime import datetime

import msgspec
from msgspec import UNSET, UnsetType

__all__ = ["ArticleInfo", "CategoryInfo", "FeedChanges", "FeedInfo"]


class CategoryInfo(msgspec.Struct, frozen=True):
    slug: str
    name: str
    feed_count: int


class PushInfo(msgspec.Struct, frozen=True):
    """A feed's WebSub subscription: its hub, where it stands, what its pushes did."""

    hub: str
    topic: str
    # pending | verified | denied | expired | unsubscribing
    state: str
    lease_until: datetime | None
    last_push_at: datetime | None
    pushes_received: int
    pushes_rejected: int
    # Pushes arrive and agree with the polls: polled only at the safety interval.
    healthy: bool
    last_error: str | None


class FeedInfo(msgspec.Struct, frozen=True):
    id: int
    url: str
    site_url: str | None
    title: str | None
    category: str
    enabled: bool
    poll_interval: int | None
    last_polled_at: datetime | None
    next_poll_at: datetime | None
    last_status: int | None
    error_count: int
    last_error: str | None
    disabled_reason: str | None
    article_count: int
    created_at: datetime
    # What the last poll cut to stay within the entry caps, in words.
    truncation: str | None = None
    # Its WebSub subscription, when its feed advertises a hub (None: polled only).
    push: PushInfo | None = None
    # Why next_poll_at is when it is (adaptive, timed to the source, feed's hint, fixed,
    # backoff, Retry-After, push safety), and the wait it makes after the last poll (s).
    poll_reason: str | None = None
    current_interval: int | None = None


class FeedChanges(msgspec.Struct, frozen=True):
    """A partial change of a feed's settings: UNSET fields are left as they are."""

    title: str | None | UnsetType = UNSET
    category: str | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    poll_interval: int | None | UnsetType = UNSET


class ArticleInfo(msgspec.Struct, frozen=True):
    """One article, as lists and stream events carry it."""

    id: int
    feed_id: int
    feed_title: str
    category: str
    title: str
    url: str | None
    summary: str
    author: str | None
    published_at: datetime
    fetched_at: datetime
    # Publication time clamped to arrival: the order of lists.
    listed_at: datetime
