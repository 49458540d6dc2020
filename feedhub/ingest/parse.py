"""Bytes in, `ParsedFeed` out: RSS/Atom/RDF through feedparser (the common documents
through `fastparse`, lxml reading them as feedparser would), JSON Feed through our reader.

Pure and CPU-bound: the poller runs it off the event loop that serves the streams, the
fast path (`parse_feed_fast`) in a thread, feedparser for a big document in a worker
process under a deadline (ingest/parsing.py). feedparser's own sanitizer and relative-URI
pass are off (they cost half its time); we sanitize with nh3 and resolve links there.
"""

from __future__ import annotations

import calendar
import hashlib
import re
import xml.sax
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import feedparser

from feedhub.core.errors import EmptyFeedError, ParseError
from feedhub.core.types import EntryData, ParsedFeed
from feedhub.core.urls import redact_url
from feedhub.ingest import fastparse, jsonfeed
from feedhub.ingest.budget import (
    DEFAULT_BUDGET,
    DEFAULT_MAX_ENTRIES,
    Budget,
    bounded_entries,
    newest,
    within_budget,
)
from feedhub.ingest.dedupe import assign_keys
from feedhub.ingest.enclosures import from_feedparser, with_enclosures
from feedhub.ingest.normalize import RawEntry, make_entry
from feedhub.ingest.sanitize import plain_title, strip_tags, xml_safe
from feedhub.ingest.sniff import looks_like_html

__all__ = ["body_fingerprint", "parse_feed", "parse_feed_fast"]

# Entity declarations are how a small body becomes gigabytes (billion laughs, quadratic
# blowup). feedparser keeps only entities whose value holds no other reference, so nesting
# cannot explode, but one long value referenced a million times still can: bound the total.
_ENTITY_DECL = re.compile(rb"<!ENTITY\s+(%\s+)?([\w.:-]+)\s+(?:\"([^\"]*)\"|'([^']*)')", re.I)
_MAX_ENTITY_EXPANSION = 1_000_000
# Some feeds arrive wrapped in XHTML; a feed root anywhere means "parse it anyway".
_FEED_ROOT = re.compile(rb"<(rss|feed|rdf:RDF|channel)[\s>]", re.I)


def parse_feed(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    fetched_at: datetime,
    guid_unreliable: bool = False,
    budget: Budget = DEFAULT_BUDGET,
    max_entries: int = DEFAULT_MAX_ENTRIES,
    fast: bool = True,
) -> ParsedFeed:
    """Parse one fetched document. Raises ParseError, in words, when it is not a feed.

    `fast=False` reads every document with feedparser: the oracle of the fast path's
    test and the benchmark's reference."""
    parsed = _parse(
        body, url=url, headers=headers, fetched_at=fetched_at, guid_unreliable=guid_unreliable,
        budget=budget, max_entries=max_entries, fast=fast, slow=True,
    )  # fmt: skip
    assert parsed is not None  # feedparser reads every document
    return parsed


def parse_feed_fast(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    fetched_at: datetime,
    guid_unreliable: bool = False,
    budget: Budget = DEFAULT_BUDGET,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> ParsedFeed | None:
    """`parse_feed` without feedparser: None when the document needs it (the fast path
    declines). Bounded work (lxml, the entry caps, the sanitizing budget): the poller
    runs it in its own process, and only what it declines in a parser worker."""
    return _parse(
        body, url=url, headers=headers, fetched_at=fetched_at, guid_unreliable=guid_unreliable,
        budget=budget, max_entries=max_entries, fast=True, slow=False,
    )  # fmt: skip


def _parse(
    body: bytes,
    *,
    url: str,
    headers: Mapping[str, str],
    fetched_at: datetime,
    guid_unreliable: bool,
    budget: Budget,
    max_entries: int,
    fast: bool,
    slow: bool,
) -> ParsedFeed | None:
    # Relative links resolve against the URL without credentials or query: "a" against
    # http://alice:pw@host/feed?token=S became http://alice:pw@host/a, public in every
    # answer. Error messages name the redacted URL too.
    url = redact_url(url)
    max_entries = max(1, max_entries)
    content_type = headers.get("content-type")
    if jsonfeed.is_json_feed(body, content_type):
        return jsonfeed.parse_json_feed(
            body, url=url, fetched_at=fetched_at, guid_unreliable=guid_unreliable,
            budget=budget, max_entries=max_entries,
        )  # fmt: skip
    if looks_like_html(body, content_type) and not _FEED_ROOT.search(body):
        raise ParseError("not a feed: the URL returned an HTML page (try its feed link)")
    _check_entity_expansion(body)

    # The common document is read by lxml, as feedparser would read it; the rest, and
    # every document that reader declines, by feedparser (ingest/fastparse.py).
    parsed = fastparse.read_fast(body, dict(headers), url) if fast else None
    if parsed is None:
        if not slow:
            return None
        parsed = _feedparser(body, headers, url)
    raw_entries = [e for e in parsed.get("entries") or [] if _has_substance(e)]
    if not raw_entries:
        reason = _no_entries_reason(parsed)
        # feedparser names the version from the root element even when the XML breaks
        # before the first entry: such a document is broken, not an empty feed.
        empty = parsed.get("version") and not _broken_xml(parsed)
        raise EmptyFeedError(reason) if empty else ParseError(reason)

    feed = parsed.get("feed", {})
    # The newest N only, chosen before any sanitizing: one 10 MB document of 190,000 items
    # stored them all in one poll.
    kept = newest(raw_entries, [_date(e) for e in raw_entries], max_entries)
    entries, texts_cut = bounded_entries((_entry(e, url, fetched_at, budget) for e in kept), budget)
    keyed, unreliable = assign_keys(entries, guid_unreliable=guid_unreliable)
    return ParsedFeed(
        title=_text(feed.get("title"), _is_html(feed.get("title_detail"))),
        site_url=feed.get("link") or None,
        entries=keyed,
        guid_unreliable=unreliable,
        ttl_seconds=_ttl(feed.get("ttl")),
        version=parsed.get("version") or "",
        entries_cut=len(raw_entries) - len(kept),
        texts_cut=texts_cut,
        icons=_declared_icons(feed),
    )


# An entry carries at least one of these. feedparser reads an empty element, such as an
# `<item />` nested in another item, as an entry with none of them: stored, it became an
# "Untitled" article with no link and no text.
_SUBSTANCE = ("id", "link", "title", "summary", "content", "enclosures")


def _has_substance(entry: Any) -> bool:
    return any(entry.get(name) for name in _SUBSTANCE)


def _feedparser(body: bytes, headers: Mapping[str, str], url: str) -> Any:
    response_headers = dict(headers)
    # Content-Location is how feedparser learns the base URL for relative links.
    response_headers["content-location"] = url
    return feedparser.parse(
        body,
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )


def _declared_icons(feed: Any) -> tuple[str, ...]:
    """The images the feed names for itself, the small square one first: Atom `<icon>`,
    then Atom `<logo>` and RSS `<image><url>` (feedparser resolved them against the feed)."""
    image = feed.get("image")
    found = [
        feed.get("icon"),
        feed.get("logo"),
        image.get("href") if isinstance(image, dict) else None,
    ]
    return tuple(dict.fromkeys(u for u in found if isinstance(u, str) and u.strip()))


def _check_entity_expansion(body: bytes) -> None:
    if b"<!ENTITY" not in body and b"<!entity" not in body:
        return
    total = 0
    for match in _ENTITY_DECL.finditer(body):
        name, value = match.group(2), match.group(3) or match.group(4) or b""
        if b"&" in value and not re.fullmatch(rb"&#\w+;", value):
            raise ParseError("refused: the document declares nested XML entities (entity bomb)")
        total += len(value) * body.count(b"&" + name + b";")
        if total > _MAX_ENTITY_EXPANSION:
            raise ParseError("refused: the document's XML entities expand too far (entity bomb)")


def _broken_xml(parsed: Any) -> str | None:
    """How the document fails to be well-formed XML, if it does."""
    exc = parsed.get("bozo_exception") if parsed.get("bozo") else None
    if not isinstance(exc, xml.sax.SAXParseException):
        return None  # e.g. a declared encoding overridden: harmless
    # Not the line and column: they count in feedparser's rewritten copy (it adds an XML
    # declaration), not in the document the publisher can look at.
    return str(exc.getMessage())


def _no_entries_reason(parsed: Any) -> str:
    if (broken := _broken_xml(parsed)) is not None:
        return f"not a feed: the XML is broken ({broken})"
    if parsed.get("bozo") and not parsed.get("version"):
        exc = parsed.get("bozo_exception")
        return f"not a feed: {exc}" if exc else "not a feed: the document could not be read"
    if not parsed.get("version"):
        return "not a feed: no RSS, Atom or RDF document found"
    return "the feed has no entries"


def _is_html(detail: object) -> bool:
    """Whether feedparser read a title as markup (Atom type="html" or "xhtml", or an RSS
    title with HTML in it); otherwise it is plain text, "<" and all."""
    kind = detail.get("type") if isinstance(detail, dict) else None
    return kind in ("text/html", "application/xhtml+xml")


def _text(value: object, is_html: bool) -> str | None:
    """A feed title as plain text, like an entry title (`<b>` and
    `<script>` in a channel title reached every article's `feed_title`)."""
    if not isinstance(value, str):
        return None
    return xml_safe(strip_tags(value) if is_html else plain_title(value)) or None


def _ttl(value: object) -> int | None:
    try:
        minutes = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return minutes * 60 if minutes > 0 else None


_SLASHED_DATE = re.compile(
    r"\s*(\d{4})/(\d{1,2})/(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?\s*$"
)


def _slashed_date(value: str) -> datetime | None:
    """`2020/1/10 14:33:00` (common in Chinese and Japanese feeds) as UTC; None when it is no
    real date.

    feedparser has no handler for this form: its ISO 8601 handler matches only the year and
    fills the month and day from today's clock, so the same entry would get another date
    every month."""
    match = _SLASHED_DATE.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part or 0) for part in match.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None


def _date(entry: Any) -> datetime | None:
    for key in ("published", "updated", "created"):
        # dict.get, not entry.get: feedparser maps a missing `updated` to `published`, warning
        raw = dict.get(entry, key)
        if isinstance(raw, str) and _SLASHED_DATE.match(raw):
            slashed = _slashed_date(raw)
            if slashed is not None:
                return slashed
            continue  # feedparser's reading of it would come from the clock
        struct = dict.get(entry, f"{key}_parsed")
        if struct:
            try:
                return datetime.fromtimestamp(calendar.timegm(struct), UTC)
            except (OverflowError, ValueError, OSError):
                continue
    return None


def _content(entry: Any) -> tuple[str | None, str | None]:
    """The richest HTML body and its xml:base."""
    best: Any = None
    for item in entry.get("content") or ():
        if best is None or item.get("type") in ("text/html", "application/xhtml+xml"):
            best = item
    if best is None:
        return None, None
    value = best.get("value")
    if best.get("type") == "text/plain" and value:
        import html

        value = html.escape(value)
    return value, best.get("base")


def _entry(entry: Any, feed_url: str, fetched_at: datetime, budget: Budget) -> EntryData:
    published = _date(entry)
    content, content_base = _content(entry)
    summary = entry.get("summary")
    detail = entry.get("summary_detail") or {}
    if summary and detail.get("type") == "text/plain":
        import html

        summary = html.escape(summary)
    author = entry.get("author")
    title = entry.get("title")
    raw = RawEntry(
        guid=entry.get("id") or None,
        link=entry.get("link") or None,
        title=title[: budget.max_html] if isinstance(title, str) else title,
        # The sanitizing budget: nh3 is quadratic in nesting depth.
        summary_html=within_budget(summary, budget),
        content_html=within_budget(content, budget),
        author=author if isinstance(author, str) else None,
        published=published,
        title_is_html=_is_html(entry.get("title_detail")),
    )
    base = content_base or detail.get("base") or feed_url
    made = make_entry(raw, base_url=base, fetched_at=fetched_at)
    return with_enclosures(made, from_feedparser(entry, made.url or feed_url))


# Parts of a document that change on every request without any news: build dates,
# generator comments, the channel's own date. The fingerprint ignores them.
_VOLATILE = re.compile(
    rb"<!--.*?-->|<lastBuildDate>[^<]*</lastBuildDate>|<sy:updateBase>[^<]*</sy:updateBase>",
    re.S | re.I,
)
_FIRST_ITEM = re.compile(rb"<(item|entry)[\s>]", re.I)
_CHANNEL_DATE = re.compile(rb"<(pubDate|updated|dc:date)>[^<]*</\1>", re.I)


def body_fingerprint(body: bytes) -> str:
    """Hash of the body without volatile parts: equal fingerprints mean nothing to parse."""
    head_end = m.start() if (m := _FIRST_ITEM.search(body)) else len(body)
    head = _CHANNEL_DATE.sub(b"", body[:head_end])
    stable = _VOLATILE.sub(b"", head + body[head_end:])
    return hashlib.blake2b(stable, digest_size=20).hexdigest()
