"""Enclosures (podcast audio, video) from feedparser entries and JSON Feed attachments (pure).

Kept apart from `normalize` on purpose: every format's parser calls `make_entry` first and
then `with_enclosures`, so the media a reader can play (the reading view) is read
by one rule without touching the text pipeline.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from feedhub.core.types import Enclosure, EntryData
from feedhub.core.urls import clean_url

__all__ = ["from_feedparser", "from_json_feed", "with_enclosures"]

# A podcast entry has one file; a few feeds attach several renditions. Past this it is noise.
MAX_ENCLOSURES = 8
_MIME = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def _mime(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.split(";", 1)[0].strip().lower()
    return value if _MIME.match(value) and len(value) <= 100 else None


def _length(value: object) -> int | None:
    """Bytes; feeds write "0", "", "12 MB" or nonsense when they do not know."""
    if isinstance(value, bool):
        return None
    try:
        length = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return length if 0 < length < 2**53 else None


def _build(
    items: Iterable[tuple[object, object, object]], base_url: str | None
) -> tuple[Enclosure, ...]:
    found: list[Enclosure] = []
    seen: set[str] = set()
    for url, kind, length in items:
        href = clean_url(url, base_url) if isinstance(url, str) else None
        if href is None or href in seen or len(href) > 2048:
            continue
        seen.add(href)
        found.append(Enclosure(url=href, type=_mime(kind), length=_length(length)))
        if len(found) == MAX_ENCLOSURES:
            break
    return tuple(found)


def from_feedparser(entry: Mapping[str, Any], base_url: str | None) -> tuple[Enclosure, ...]:
    """RSS <enclosure> and Atom <link rel="enclosure">, as feedparser lists them."""
    raw = entry.get("enclosures") or ()
    return _build(
        ((e.get("href"), e.get("type"), e.get("length")) for e in raw if isinstance(e, Mapping)),
        base_url,
    )


def from_json_feed(item: Mapping[str, Any], base_url: str | None) -> tuple[Enclosure, ...]:
    """JSON Feed `attachments`: url, mime_type, size_in_bytes."""
    raw = item.get("attachments")
    if not isinstance(raw, list):
        return ()
    return _build(
        (
            (a.get("url"), a.get("mime_type"), a.get("size_in_bytes"))
            for a in raw
            if isinstance(a, Mapping)
        ),
        base_url,
    )


def with_enclosures(entry: EntryData, enclosures: tuple[Enclosure, ...]) -> EntryData:
    """The entry with its enclosures. The content hash changes only when there are some, so
    stored articles without media are not all "updated" once by this feature's arrival."""
    if not enclosures:
        return entry
    h = hashlib.blake2b(entry.content_hash.encode(), digest_size=16)
    for enclosure in enclosures:
        h.update(f"\x00{enclosure.url}\x00{enclosure.type}\x00{enclosure.length}".encode())
    return replace(entry, enclosures=enclosures, content_hash=h.hexdigest())
