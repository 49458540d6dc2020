"""JSON Feed 1.0 / 1.1 input (https://jsonfeed.org/version/1.1), pure.

feedparser reads only XML formats, so JSON Feed gets its own small reader. It builds
entries through `normalize.make_entry` and keys them through `normalize.assign_keys`, like
the feedparser path, so both formats are sanitized and deduped by the same rules.

JSON Feed is lenient in practice (numeric ids, "author" in 1.1 feeds, relative URLs), so
every field is read defensively: a wrong-typed field is treated as absent, a non-object item
is skipped, and only a document that is not a JSON Feed at all raises ParseError.
"""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

import msgspec

from feedhub.core.errors import ParseError
from feedhub.core.types import ParsedFeed
from feedhub.core.urls import clean_url, split_url
from feedhub.ingest.budget import (
    DEFAULT_BUDGET,
    DEFAULT_MAX_ENTRIES,
    Budget,
    bounded_entries,
    newest,
    within_budget,
)
from feedhub.ingest.dedupe import assign_keys
from feedhub.ingest.enclosures import from_json_feed, with_enclosures
from feedhub.ingest.normalize import RawEntry, make_entry
from feedhub.ingest.sanitize import looks_like_html, plain_title, strip_tags

__all__ = ["is_json_feed", "parse_json_feed"]

_VERSION_PREFIXES = ("https://jsonfeed.org/version/", "http://jsonfeed.org/version/")


class _Version(msgspec.Struct):
    """Only the version: lets `is_json_feed` check a body without building all its items."""

    version: str | None = None


def _strip_bom(body: bytes) -> bytes:
    return body.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")


def _is_version(value: object) -> bool:
    return isinstance(value, str) and value.strip().startswith(_VERSION_PREFIXES)


def is_json_feed(body: bytes, content_type: str | None) -> bool:
    """application/feed+json, or a JSON object whose "version" is a jsonfeed.org URL.

    The body check covers servers that send application/json or even text/plain; a JSON
    body that is not a JSON Feed (an API error, say) is not claimed.
    """
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type == "application/feed+json":
        return True
    stripped = _strip_bom(body)
    if not stripped.startswith(b"{"):
        return False
    try:
        return _is_version(msgspec.json.decode(stripped, type=_Version).version)
    except msgspec.DecodeError:
        return False


def _title(text: str) -> str:
    """The spec says titles are plain text; some feeds put markup in anyway."""
    return strip_tags(text) if looks_like_html(text) else plain_title(text)


def _str(mapping: dict[str, Any], key: str) -> str | None:
    value = mapping.get(key)
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _id(value: object) -> str | None:
    # Ids "should" be strings but numbers are common (spec 1.1: "ids may be numbers").
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text or None
    return None


def _author(item: dict[str, Any]) -> str | None:
    """1.1 "authors" list first, then 1.0 "author" object."""
    authors = item.get("authors")
    if isinstance(authors, list):
        for author in authors:
            if isinstance(author, dict) and (name := _str(author, "name")):
                return name
    author = item.get("author")
    if isinstance(author, dict):
        return _str(author, "name")
    return None


def _date(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = text.strip().upper()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _text_to_html(text: str) -> str:
    """content_text is plain text: escape it, blank lines become paragraphs, newlines <br>."""
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _splittable(url: str | None) -> str | None:
    # urllib raises on some strings ("http://[oops", a bad IPv6 literal); such a link is
    # dropped here so that one item's typo cannot abort the whole document.
    if url is None or split_url(url) is None:
        return None
    return url


def _raw_entry(item: dict[str, Any], feed_author: str | None, budget: Budget) -> RawEntry:
    content = _str(item, "content_html")
    if content is None and (text := _str(item, "content_text")):
        content = _text_to_html(text)
    summary = _str(item, "summary")
    # date_modified stands in for a missing date_published: a dated entry sorts better
    # than one stamped with the fetch time.
    date_text = _str(item, "date_published") or _str(item, "date_modified")
    return RawEntry(
        guid=_id(item.get("id")),
        link=_splittable(_str(item, "url") or _str(item, "external_url")),
        title=title[: budget.max_html] if (title := _str(item, "title")) else None,
        title_is_html=bool(title) and looks_like_html(title or ""),
        # The spec defines summary as plain text; escape it so "a < b" survives sanitizing.
        summary_html=within_budget(html.escape(summary), budget) if summary else None,
        content_html=within_budget(content, budget),
        # Items inherit the feed's author (spec: "author" at the top level).
        author=_author(item) or feed_author,
        published=_date(date_text),
    )


def _version(value: str) -> str:
    return "json1.0" if value.strip().rstrip("/").endswith("/1") else "json1.1"


def parse_json_feed(
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    guid_unreliable: bool = False,
    budget: Budget = DEFAULT_BUDGET,
    max_entries: int = DEFAULT_MAX_ENTRIES,
) -> ParsedFeed:
    """Read a JSON Feed document fetched from `url` into our ParsedFeed."""
    try:
        document = msgspec.json.decode(_strip_bom(body))
    except msgspec.DecodeError as exc:
        raise ParseError(f"not a valid JSON Feed: malformed JSON ({exc}) at {url}") from exc
    if not isinstance(document, dict):
        raise ParseError(f"not a valid JSON Feed: the top level is not an object at {url}")
    version = document.get("version")
    if not isinstance(version, str) or not _is_version(version):
        raise ParseError(f"not a valid JSON Feed: no jsonfeed.org version at {url}")
    items = document.get("items")
    if not isinstance(items, list):
        raise ParseError(f"not a valid JSON Feed: no items list at {url}")

    # Relative item URLs resolve against the document's own address, as for any fetched
    # resource (home_page_url may be on another host).
    feed_author = _author(document)
    pairs = [
        (_raw_entry(item, feed_author, budget), item) for item in items if isinstance(item, dict)
    ]
    kept = newest(pairs, [raw.published for raw, _ in pairs], max(1, max_entries))
    entries, texts_cut = bounded_entries(
        (
            with_enclosures(
                make_entry(raw, base_url=url, fetched_at=fetched_at), from_json_feed(item, url)
            )
            for raw, item in kept
        ),
        budget,
    )
    keyed, unreliable = assign_keys(entries, guid_unreliable=guid_unreliable)
    title = _str(document, "title")
    return ParsedFeed(
        title=_title(title) or None if title else None,
        site_url=clean_url(_splittable(_str(document, "home_page_url")), url),
        entries=keyed,
        guid_unreliable=unreliable,
        version=_version(version),
        entries_cut=len(pairs) - len(kept),
        texts_cut=texts_cut,
        # JSON Feed 1.1: `favicon` is the small square one, `icon` a large one (512 px).
        icons=tuple(
            found
            for key in ("favicon", "icon")
            if (found := clean_url(_splittable(_str(document, key)), url)) is not None
        ),
    )
