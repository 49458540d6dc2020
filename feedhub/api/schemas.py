"""Request and response bodies (msgspec), separate from the ORM models.

Answers that are a catalog value as it is are that value (`FeedJSON` is
`feedhub.catalog.views.FeedInfo`): one definition of each JSON shape.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from feedhub.catalog.views import ArticleInfo, CategoryInfo, FeedInfo
from feedhub.core.types import MAX_ID

__all__ = [
    "MAX_ID",
    "ArticleJSON",
    "CategoryCreate",
    "CategoryJSON",
    "CategoryUpdate",
    "CandidateJSON",
    "DiscoverRequest",
    "EnclosureJSON",
    "FeedCreate",
    "FeedJSON",
    "PushStatusJSON",
    "FeedPatch",
    "RefreshJSON",
]

# A printable name: no control characters (C0, DEL, C1), which XML output cannot carry.
Name = Annotated[str, Meta(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f-\x9f]*$")]
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
Url = Annotated[str, Meta(min_length=1, max_length=2048)]
# Bounds come from the settings and are checked by the admin controller.
PollInterval = Annotated[int, Meta(ge=1)]


class CategoryCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    slug: Slug | None = None


class CategoryUpdate(msgspec.Struct, forbid_unknown_fields=True):
    name: Name | UnsetType = UNSET


class FeedCreate(msgspec.Struct, forbid_unknown_fields=True):
    url: Url
    category: Slug
    title: Name | None = None
    poll_interval: PollInterval | None = None


class FeedPatch(msgspec.Struct, forbid_unknown_fields=True):
    title: Name | None | UnsetType = UNSET
    category: Slug | UnsetType = UNSET
    enabled: bool | UnsetType = UNSET
    poll_interval: PollInterval | None | UnsetType = UNSET


ArticleJSON = ArticleInfo
CategoryJSON = CategoryInfo
FeedJSON = FeedInfo


class PushStatusJSON(msgspec.Struct, frozen=True):
    """Whether WebSub push is on; each feed's subscription is in its `push`."""

    enabled: bool
    # In words: on, and where hubs call back; or why it is off.
    status: str


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
