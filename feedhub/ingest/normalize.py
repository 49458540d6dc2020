"""One entry, as any format's parser read it, made ready to store: sanitized, dated, keyed.

Every parser (feedparser for RSS/Atom/RDF, our JSON Feed reader) builds `EntryData`
through `make_entry` and keys a document through `dedupe.assign_keys`, so all formats are
sanitized and deduped by one rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from feedhub.core.types import EntryData
from feedhub.core.urls import clean_url
from feedhub.ingest.dedupe import assign_keys, content_hash
from feedhub.ingest.sanitize import plain_text, plain_title, sanitize_html, strip_tags, xml_safe

__all__ = [
    "RawEntry",
    "assign_keys",
    "clamp_published",
    "make_entry",
    "to_utc",
]

# Future dates beyond this are a publisher's mistake (or a trick to stay on top).
FUTURE_TOLERANCE = timedelta(days=1)


def to_utc(value: datetime) -> datetime:
    """A date with no zone is UTC (DESIGN.md); everything is stored in UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def clamp_published(value: datetime | None, fetched_at: datetime) -> datetime:
    """Missing dates become the fetch time; dates more than a day ahead are clamped to it."""
    if value is None:
        return fetched_at
    try:
        value = to_utc(value)
    except OverflowError:  # year 1 with a positive offset, and the like: no usable date
        return fetched_at
    if value > fetched_at + FUTURE_TOLERANCE:
        return fetched_at
    return value


@dataclass(frozen=True, slots=True)
class RawEntry:
    """An entry as a format parser read it, before sanitizing and keying."""

    guid: str | None
    link: str | None
    title: str | None
    summary_html: str | None
    content_html: str | None
    author: str | None
    published: datetime | None
    # Whether the title is markup (Atom type="html"/"xhtml", an RSS title feedparser finds
    # HTML in): its tags go. A plain-text title keeps every character.
    title_is_html: bool = False


def make_entry(raw: RawEntry, *, base_url: str | None, fetched_at: datetime) -> EntryData:
    """Sanitize and normalize one entry; its key is assigned later by `assign_keys`."""
    url = clean_url(raw.link, base_url)
    text_of = strip_tags if raw.title_is_html else plain_title
    title = xml_safe(text_of(raw.title or "")) or (url or "Untitled")
    content = xml_safe(sanitize_html(raw.content_html or "", url or base_url))
    if not raw.summary_html:
        summary = ""
    elif raw.summary_html == raw.content_html:
        # A third of the entries with both (the same text as description and as
        # content:encoded): sanitized once.
        summary = content
    else:
        summary = xml_safe(sanitize_html(raw.summary_html, url or base_url))
    if not summary and content:
        summary = content
    if content == summary:
        content = ""
    author = xml_safe(strip_tags(raw.author)) if raw.author else None
    published = clamp_published(raw.published, fetched_at)
    guid = raw.guid.strip() if raw.guid and raw.guid.strip() else None
    return EntryData(
        # Provisional; assign_keys decides the key for the whole document at once.
        key="",
        guid=guid,
        url=url,
        title=title,
        summary=summary,
        content=content,
        author=author or None,
        published_at=published,
        content_hash=content_hash(title, url, summary, content, author),
        text=plain_text(summary, content),
    )
