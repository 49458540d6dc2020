"""Request and response bodies (msgspec), separate from the ORM models."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

__all__ = [
    "ArticleJSON",
    "CategoryCreate",
    "CategoryJSON",
    "CategoryUpdate",
    "CandidateJSON",
    "DiscoverRequest",
    "EnclosureJSON",
    "FeedCreate",
    "FeedJSON",
    "FeedUpdate",
    "RefreshJSON",
]

Name = Annotated[str, Meta(min_length=1, max_length=200)]
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
    # Publication time clamped to arrival: the order of lists (issue 13).
    listed_at: datetime


class EnclosureJSON(msgspec.Struct):
    url: str
    type: str | None
    length: int | None


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
