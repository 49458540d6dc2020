"""Request and response bodies (msgspec), separate from the ORM models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = [
    "MAX_ID",
    "ArticleJSON",
    "CategoryCreate",
    "CategoryJSON",
    "CategoryUpdate",
    "CandidateJSON",
    "DiscoverRequest",
    "FeedCreate",
    "FeedJSON",
    "FeedUpdate",
    "RefreshJSON",
]

# Every integer a client sends is bounded: an id past a database's BIGINT (2**63 - 1) made
# SQLite and asyncpg raise OverflowError, a 500 (issue 14, item 6).
MAX_ID = 2**63 - 1
# A printable name: no control characters (C0, DEL, C1), which XML output cannot carry.
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
PollInterval = Annotated[int, Meta(ge=60, le=86400)]


class CategoryCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    slug: Slug | None = None


class CategoryUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET


class CategoryJSON(msgspec.Struct):
    slug: str
    name: str
    feed_count: int


class FeedCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    category: Slug
    title: Name | None = None
    poll_interval: PollInterval | None = None


class FeedUpdate(msgspec.Struct, forbid_unknown_fields=True):
    title: Name | None | UnsetType = UNSET
    category: Slug | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    poll_interval: PollInterval | None | UnsetType = UNSET


class FeedJSON(msgspec.Struct):
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
    # What the last poll cut to stay within the entry caps, in words (issue 14, item 2).
    truncation: str | None = None


class ArticleJSON(msgspec.Struct):
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


class DiscoverRequest(msgspec.Struct, forbid_unknown_fields=True):
    url: Url


class CandidateJSON(msgspec.Struct):
    url: str
    title: str | None
    subscribed: bool


class RefreshJSON(msgspec.Struct):
    new_articles: int
    status: str
    error: str | None = None
