"""Google Reader API vocabulary, pure: item ids, stream ids, parameters, item JSON.

No I/O and no web framework here: values in, values out, tested table-driven.

Item ids come in two forms (both accepted everywhere, docs/apps.md): the long form
`tag:google.com,2005:reader/item/<16 hex digits>` and the short form, the same 64-bit
number in decimal (stream/items/ids returns it). Our article id is that number.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import unquote

__all__ = [
    "BROADCAST_STREAMS",
    "ITEM_PREFIX",
    "READ",
    "READING_LIST",
    "STARRED",
    "Stream",
    "item_categories",
    "label_id",
    "long_id",
    "normalize_tag",
    "parse_count",
    "parse_decimal_id",
    "parse_item_id",
    "parse_mark_time",
    "parse_seconds",
    "parse_stream",
    "usec",
]

ITEM_PREFIX = "tag:google.com,2005:reader/item/"
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
STARRED = "user/-/state/com.google/starred"
KEPT_UNREAD = "user/-/state/com.google/kept-unread"
LABEL_PREFIX = "user/-/label/"
# States apps send that feedhub has no notion of: accepted and ignored, never an error
# (newsboat's "mark all feeds read" sends these too, PITFALLS.md).
BROADCAST_STREAMS = frozenset(
    {
        "user/-/state/com.google/broadcast",
        "user/-/state/com.google/broadcast-friends",
        "user/-/state/com.google/kept-unread",
        "user/-/state/com.google/tracking-kept-unread",
        "user/-/state/com.google/fresh",
        "user/-/state/com.google/like",
    }
)
_USER_PART = re.compile(r"^user/[^/]+/")
_MAX_ID = 2**63 - 1
_DECIMAL = re.compile(r"[0-9]{1,19}")
_HEX = re.compile(r"[0-9a-fA-F]{1,16}")

StreamKind = Literal["reading-list", "starred", "read", "label", "feed", "ignored"]


@dataclass(frozen=True, slots=True)
class Stream:
    kind: StreamKind
    value: str | None = None  # a label name, or a feed id / URL

    @property
    def feed_id(self) -> int | None:
        """`feed/<feedhub id>`; None for anything else (a URL, or no id feedhub could hold)."""
        if self.kind == "feed" and self.value is not None:
            try:
                return parse_decimal_id(self.value)
            except ValueError:
                return None
        return None


def parse_decimal_id(text: str) -> int:
    """A positive id in ASCII decimal that fits the database's 64-bit ids; ValueError for
    anything else (`str.isdigit` also takes "²", which `int` then refuses)."""
    if not _DECIMAL.fullmatch(text) or not 0 < (value := int(text)) <= _MAX_ID:
        raise ValueError(f"not an id: {text[:40]!r}")
    return value


def long_id(article_id: int) -> str:
    return f"{ITEM_PREFIX}{article_id:016x}"


def parse_item_id(text: str) -> int:
    """An article id from the long (hex) or short (decimal, maybe negative) form."""
    raw = text.strip()
    if raw.startswith(ITEM_PREFIX):
        digits = raw[len(ITEM_PREFIX) :]
        if not _HEX.fullmatch(digits):
            raise ValueError(f"not an item id: {text[:40]!r}")
        value = int(digits, 16)
    else:
        if not _DECIMAL.fullmatch(raw.removeprefix("-")):
            raise ValueError(f"not an item id: {text[:40]!r}")
        value = int(raw, 10)
        if value < 0:  # the short form is a signed 64-bit number
            value += 2**64
    if not 0 < value <= _MAX_ID:
        raise ValueError(f"item id out of range: {text!r}")
    return value


def normalize_tag(tag: str) -> str:
    """`user/1234/state/…` and `user/-/state/…` alike, as `user/-/…`."""
    tag = tag.strip()
    return _USER_PART.sub("user/-/", tag) if tag.startswith("user/") else tag


def label_id(name: str) -> str:
    return f"{LABEL_PREFIX}{name}"


def parse_stream(raw: str) -> Stream:
    """A stream id as apps send it (maybe URL-encoded once more in a path). ValueError if
    it names nothing feedhub serves."""
    text = raw.strip().lstrip("/")
    if "%2F" in text or "%2f" in text or "%3A" in text or "%3a" in text:
        text = unquote(text)
    text = normalize_tag(text)
    if text in ("", READING_LIST, "user/-/state/com.google/root"):
        return Stream("reading-list")
    if text == STARRED:
        return Stream("starred")
    if text == READ:
        return Stream("read")
    if text in BROADCAST_STREAMS:
        return Stream("ignored", text)
    if text.startswith(LABEL_PREFIX) and len(text) > len(LABEL_PREFIX):
        return Stream("label", text[len(LABEL_PREFIX) :])
    if text.startswith("feed/") and len(text) > len("feed/"):
        return Stream("feed", text[len("feed/") :])
    raise ValueError(f"unknown stream id {raw!r}")


def parse_count(raw: str | None, *, default: int, maximum: int) -> int:
    if raw is None or not raw.strip():
        return default
    value = int(raw)
    if value < 1:
        raise ValueError("n must be a positive number")
    return min(value, maximum)


def parse_seconds(raw: str | None) -> datetime | None:
    """`ot` / `nt`: a Unix time in seconds."""
    if raw is None or not raw.strip():
        return None
    value = int(raw)
    if not 0 <= value < 2**37:
        raise ValueError("time out of range")
    return datetime.fromtimestamp(value, UTC)


def parse_mark_time(raw: str | None) -> datetime | None:
    """mark-all-as-read `ts`: microseconds per the protocol; apps also send milliseconds or
    seconds, told apart by size (a date after 1973 in µs has 15+ digits)."""
    if raw is None or not raw.strip():
        return None
    value = int(raw)
    if value < 0:
        raise ValueError("ts must not be negative")
    if value >= 10**14:
        seconds = value / 1_000_000
    elif value >= 10**11:
        seconds = value / 1000
    else:
        seconds = float(value)
    if seconds >= 2**37:
        raise ValueError("ts out of range")
    return datetime.fromtimestamp(seconds, UTC)


def usec(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def item_categories(label: str, read: bool, starred: bool) -> list[str]:
    categories = [READING_LIST, label_id(label)]
    if read:
        categories.append(READ)
    if starred:
        categories.append(STARRED)
    return categories


def tags_in(values: Iterable[str]) -> set[str]:
    return {normalize_tag(v) for v in values if v.strip()}
