"""Our own frozen types, the only shapes that cross layer boundaries.

Third-party output (feedparser dicts, httpx responses, ORM rows) is converted into these at
the boundary where it appears, so the rest of the code never depends on those libraries'
shapes. They are picklable: parsing runs in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "MAX_ID",
    "Enclosure",
    "EntryData",
    "FetchResult",
    "ParsedFeed",
    "PollOutcome",
    "PollStatus",
]

# The largest id (and integer) a client may send: a database BIGINT. Past it SQLite and
# asyncpg raised OverflowError, a 500.
MAX_ID = 2**63 - 1


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one HTTP GET of a feed produced. `body` is None on 304 Not Modified."""

    url: str  # the URL asked for
    final_url: str  # after redirects
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes | None
    etag: str | None
    last_modified: str | None
    fetched_at: datetime
    # The last permanent redirect target (301/308) seen on the way, if every hop before it
    # was permanent too: the feed's stored URL moves there.
    permanent_url: str | None = None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class Enclosure:
    """A file attached to an entry (a podcast's audio, a video): RSS <enclosure>, Atom
    rel="enclosure" links, JSON Feed attachments. `length` is in bytes, when the feed says."""

    url: str
    type: str | None = None
    length: int | None = None


@dataclass(frozen=True, slots=True)
class EntryData:
    """One feed entry, normalized and sanitized; `key` is its dedupe key within the feed."""

    key: str
    guid: str | None
    url: str | None
    title: str
    summary: str  # sanitized HTML
    content: str  # sanitized HTML
    author: str | None
    published_at: datetime  # UTC, never later than fetch time + 1 day
    # Hash of the fields a reader sees: a change means "update in place".
    content_hash: str
    # The key this entry had while its feed's ids were trusted (see assign_keys).
    alt_key: str | None = None
    # Summary and content as plain words, for the full-text index.
    text: str = ""
    enclosures: tuple[Enclosure, ...] = ()


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    title: str | None
    site_url: str | None
    entries: tuple[EntryData, ...]
    # Set when this document shows one GUID used for different links: from then on the
    # feed's keys include the link (FreshRSS-style fallback).
    guid_unreliable: bool = False
    ttl_seconds: int | None = None
    version: str = ""
    # What the entry caps cut: entries beyond the newest N, and entries
    # whose text was shortened.
    entries_cut: int = 0
    texts_cut: int = 0
    # Icon and logo URLs the feed declares, the small square icon first (ingest.icons).
    icons: tuple[str, ...] = ()

    @property
    def truncation(self) -> str | None:
        """The cut in words, for the feed's record; None when nothing was cut."""
        parts = []
        if self.entries_cut:
            kept = len(self.entries)
            parts.append(f"kept the newest {kept} of {kept + self.entries_cut} entries")
        if self.texts_cut:
            parts.append(f"shortened {self.texts_cut} over-long entries")
        return "; ".join(parts) or None


PollStatus = Literal["ok", "not_modified", "unchanged", "error", "disabled", "deferred"]


@dataclass(frozen=True, slots=True)
class PollOutcome:
    feed_id: int
    status: PollStatus
    new_articles: tuple[int, ...] = field(default=())
    updated: int = 0
    error: str | None = None
    http_status: int | None = None
