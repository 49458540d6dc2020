"""Request and response bodies of the readers' routes (docs/readers-api.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from feedhub.api.schemas import EnclosureJSON
from feedhub.catalog.views import ArticleInfo
from feedhub.core.types import MAX_ID

__all__ = [
    "ArticleContentJSON",
    "FeedKeyJSON",
    "HiddenCategoryJSON",
    "HiddenFeedJSON",
    "HiddenJSON",
    "MarkAllBody",
    "MarkAllJSON",
    "PasswordChange",
    "SessionJSON",
    "SessionRowJSON",
    "SessionUser",
    "SignIn",
    "StateBody",
    "StateIdsJSON",
    "StatefulArticleJSON",
    "UnreadJSON",
    "UserCreate",
    "UserJSON",
    "UserUpdate",
]

Id = Annotated[int, Meta(ge=1, le=MAX_ID)]
Ids = Annotated[list[Id], Meta(max_length=1000)]
Password = Annotated[str, Meta(min_length=1, max_length=200)]
NewPassword = Annotated[str, Meta(min_length=8, max_length=200)]
UserName = Annotated[str, Meta(min_length=1, max_length=64)]
NewUserName = Annotated[str, Meta(pattern=r"^[A-Za-z0-9._@-]{1,64}$")]


class SignIn(msgspec.Struct, forbid_unknown_fields=True):
    name: UserName
    password: Password


class SessionUser(msgspec.Struct):
    name: str
    role: str


class SessionJSON(msgspec.Struct):
    user: SessionUser | None
    csrf_token: str | None
    reading: str
    feed_key: str | None


class SessionRowJSON(msgspec.Struct):
    id: int
    kind: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None
    current: bool


class PasswordChange(msgspec.Struct, forbid_unknown_fields=True):
    current: Password
    new: NewPassword


class FeedKeyJSON(msgspec.Struct):
    feed_key: str


class StateBody(msgspec.Struct, forbid_unknown_fields=True):
    read: Ids = msgspec.field(default_factory=list)
    unread: Ids = msgspec.field(default_factory=list)
    starred: Ids = msgspec.field(default_factory=list)
    unstarred: Ids = msgspec.field(default_factory=list)


class StateIdsJSON(msgspec.Struct):
    read: list[int]
    starred: list[int]


class MarkAllBody(msgspec.Struct, forbid_unknown_fields=True):
    category: str | None = None
    feed_id: Id | None = None
    upto_id: Annotated[int, Meta(ge=0, le=MAX_ID)] | None = None
    # With its zone: a zone-less time would be compared with stored UTC times as if UTC.
    before: Annotated[datetime, Meta(tz=True)] | None = None


class MarkAllJSON(msgspec.Struct):
    upto_id: int


class HiddenFeedJSON(msgspec.Struct):
    id: int
    title: str
    category: str  # its category's slug


class HiddenCategoryJSON(msgspec.Struct):
    id: int
    slug: str
    name: str


class HiddenJSON(msgspec.Struct):
    """What the signed-in reader hid: feeds one by one, and whole categories."""

    feeds: list[HiddenFeedJSON]
    categories: list[HiddenCategoryJSON]


class UnreadJSON(msgspec.Struct):
    total: int
    categories: dict[str, int]
    feeds: dict[str, int]


class StatefulArticleJSON(ArticleInfo, frozen=True):
    """An article of a signed-in list: the fields of every list, and the reader's state."""

    read: bool
    starred: bool


class ArticleContentJSON(ArticleInfo, frozen=True):
    """One article whole (the reading view); its state only for a signed-in reader."""

    content: str
    read: bool | None
    starred: bool | None
    # The reading view: the feed's site, media files.
    site_url: str | None
    enclosures: list[EnclosureJSON]


class UserCreate(msgspec.Struct, forbid_unknown_fields=True):
    name: NewUserName
    password: NewPassword
    role: str = "reader"


class UserUpdate(msgspec.Struct, forbid_unknown_fields=True):
    password: NewPassword | UnsetType = UNSET
    role: str | UnsetType = UNSET


class UserJSON(msgspec.Struct):
    name: str
    role: str
    created_at: datetime
