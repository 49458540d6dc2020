"""Pure helpers shared by every input format: HTML sanitizing, dates, URLs, dedupe keys.

Every parser (feedparser for RSS/Atom/RDF, our JSON Feed reader) builds `EntryData` through
`make_entry` and keys a document through `assign_keys`, so all formats are sanitized and
deduped by one rule (DESIGN.md "Dedupe key").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import nh3

from feedhub.types import EntryData

__all__ = [
    "RawEntry",
    "assign_keys",
    "clamp_published",
    "clean_url",
    "make_entry",
    "sanitize_html",
    "strip_tags",
    "to_utc",
]

# Allowlist: what a reader needs to read an article, nothing that runs or restyles the page.
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "details",
    "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "s",
    "samp", "small", "source", "span", "strong", "sub", "summary", "sup", "table", "tbody",
    "td", "tfoot", "th", "thead", "time", "tr", "u", "ul", "var",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height", "srcset"},
    "source": {"src", "srcset", "type", "media"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "time": {"datetime"},
    "blockquote": {"cite"},
    "q": {"cite"},
}
_URL_SCHEMES = {"http", "https", "mailto"}

# Future dates beyond this are a publisher's mistake (or a trick to stay on top).
FUTURE_TOLERANCE = timedelta(days=1)

# More than this share of a document's entries sharing an id with a different entry means
# the feed's ids are broken, not that one story is listed twice (issue 5, FreshRSS-style).
_SMALL_SHARE = 0.1

_TRACKING_PARAMS = re.compile(r"^(utm_[a-z_]+|fbclid|gclid|dclid|msclkid|mc_cid|mc_eid)$", re.I)
_TRACKING_PIXEL = re.compile(
    r"<img\b[^>]*\bwidth=\"?1\"?[^>]*\bheight=\"?1\"?[^>]*>|"
    r"<img\b[^>]*\bheight=\"?1\"?[^>]*\bwidth=\"?1\"?[^>]*>",
    re.I,
)
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Allowlist-sanitize feed HTML; resolve relative links against `base_url`.

    Links get rel="noopener noreferrer"; 1×1 tracking images are dropped.
    """
    if not html:
        return ""
    cleaned = nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel="noopener noreferrer",
        strip_comments=True,
        attribute_filter=_filter_srcset,
    )
    if base_url:
        cleaned = _resolve_relative(cleaned, base_url)
    if "<img" in cleaned:
        cleaned = _TRACKING_PIXEL.sub("", cleaned)
    return cleaned.strip()


_URL_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")


def _srcset_candidates(value: str) -> list[tuple[str, str]]:
    """(url, descriptors) pairs, split as browsers do (HTML, "parse a srcset attribute"):
    a URL runs to whitespace (a data: URL holds commas); a trailing comma ends it; else
    its descriptors run to the next comma outside parentheses (`1x,javascript:…` is two
    candidates, not one descriptor)."""
    candidates: list[tuple[str, str]] = []
    pos, end = 0, len(value)
    while True:
        while pos < end and (value[pos].isspace() or value[pos] == ","):
            pos += 1
        if pos >= end:
            return candidates
        start = pos
        while pos < end and not value[pos].isspace():
            pos += 1
        url = value[start:pos]
        if url.endswith(","):
            candidates.append((url.rstrip(","), ""))
            continue
        start, depth = pos, 0
        while pos < end and (value[pos] != "," or depth):
            if value[pos] == "(":
                depth += 1
            elif value[pos] == ")" and depth:
                depth -= 1
            pos += 1
        candidates.append((url, value[start:pos].strip()))
        pos += 1


def _filter_srcset(_element: str, attribute: str, value: str) -> str | None:
    """nh3 checks the scheme of href and src but not of srcset, where it kept
    `javascript:` (issue 14, item 13): keep only candidates that are http(s) or relative."""
    if attribute != "srcset":
        return value
    kept = []
    for url, descriptors in _srcset_candidates(value):
        scheme = _URL_SCHEME.match(url)
        if scheme is None or scheme.group(1).lower() in ("http", "https"):
            kept.append(f"{url} {descriptors}".strip())
    return ", ".join(kept) or None


# Only inside a tag: `(<tag …space)href="…"`; text that reads href="…" is left alone.
_RELATIVE_ATTR = re.compile(
    r'(<[a-zA-Z][^<>]*?\s)(href|src)="(?![a-zA-Z][a-zA-Z0-9+.-]*:|#)([^"]*)"'
)


def _resolve_relative(html: str, base_url: str) -> str:
    # nh3 quotes every attribute with double quotes, so this regex sees its normal form.
    def repl(match: re.Match[str]) -> str:
        try:
            prefix, attribute, value = match.groups()
            return f'{prefix}{attribute}="{urljoin(base_url, value)}"'
        except ValueError:
            return match.group(0)

    return _RELATIVE_ATTR.sub(repl, html)


def strip_tags(text: str) -> str:
    """Plain text of a title: feeds put markup and entities in titles."""
    if "<" in text:
        text = nh3.clean(text, tags=set())
        text = _TAG.sub("", text)
    if "&" in text:
        import html

        text = html.unescape(text)
    return _SPACE.sub(" ", text).strip()


def plain_text(*sanitized_html: str) -> str:
    """The words of already-sanitized HTML, for the search index: markup and attribute
    values (URLs) would otherwise match searches for "href" or "https"."""
    import html

    text = " ".join(_TAG.sub(" ", part) for part in sanitized_html if part)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def clean_url(url: str | None, base_url: str | None = None) -> str | None:
    """Absolute http(s) URL without tracking parameters, or None."""
    if not url:
        return None
    try:
        url = urljoin(base_url, url.strip()) if base_url else url.strip()
        parts = urlsplit(url)
    except ValueError:  # e.g. "http://[oops": one bad link must not fail the whole feed
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    if parts.query:
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING_PARAMS.match(k)
        ]
        parts = parts._replace(query=urlencode(query))
    return urlunsplit(parts)


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


def _hash(*parts: str | None) -> str:
    h = hashlib.blake2b(digest_size=16)
    for part in parts:
        h.update((part or "").encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()


# Characters XML 1.0 cannot carry: stored, they would break the Atom output feeds.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text) if text else text


def make_entry(raw: RawEntry, *, base_url: str | None, fetched_at: datetime) -> EntryData:
    """Sanitize and normalize one entry; its key is assigned later by `assign_keys`."""
    url = clean_url(raw.link, base_url)
    title = xml_safe(strip_tags(raw.title or "")) or (url or "Untitled")
    content = xml_safe(sanitize_html(raw.content_html or "", url or base_url))
    summary = (
        xml_safe(sanitize_html(raw.summary_html or "", url or base_url)) if raw.summary_html else ""
    )
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
        content_hash=_hash(title, url, summary, content, author),
        text=plain_text(summary, content),
    )


def _text_hash(entry: EntryData) -> str:
    """What a reader reads, without the date: the content-hash fallback key.

    The date is left out on purpose: feeds that regenerate every entry's date on each
    request (a volatile date) would otherwise make every poll look like all-new stories.
    The cost: two entries with no id, no link and the very same title and text are one.
    """
    return _hash(entry.title, entry.summary, entry.content)


def guid_is_unreliable(entries: Iterable[EntryData]) -> bool:
    """True when one GUID is used for entries with different links (scriptingNews-style)."""
    links_by_guid: dict[str, str | None] = {}
    for entry in entries:
        if entry.guid is None:
            continue
        if entry.guid in links_by_guid and links_by_guid[entry.guid] != entry.url:
            return True
        links_by_guid.setdefault(entry.guid, entry.url)
    return False


def _base_key(entry: EntryData, unreliable: bool) -> str:
    if entry.guid is not None:
        key = f"guid:{entry.guid}"
        if unreliable and entry.url:
            key = f"{key} link:{entry.url}"
        return key
    if entry.url is not None:
        return f"link:{entry.url}"
    return f"hash:{_text_hash(entry)}"


def _clashing(entries: Sequence[EntryData], bases: Sequence[str]) -> set[str]:
    """Base keys that this document gives to entries that differ (link or text)."""
    first: dict[str, tuple[str | None, str]] = {}
    clashing: set[str] = set()
    for entry, base in zip(entries, bases, strict=True):
        identity = (entry.url, _text_hash(entry))
        if first.setdefault(base, identity) != identity:
            clashing.add(base)
    return clashing


def assign_keys(
    entries: Sequence[EntryData], *, guid_unreliable: bool = False
) -> tuple[tuple[EntryData, ...], bool]:
    """Give each entry its dedupe key; drop repeats within the document (first one wins).

    Key: guid, else link, else a hash of title + text (DESIGN.md "Dedupe key"; the hash
    leaves the date out, see `_text_hash`). FreshRSS-style hardening (issue 5):

    - a GUID repeated for different links marks the feed's ids unreliable (DESIGN.md);
    - so does more than `_SMALL_SHARE` of the entries sharing an id (GUID, or link for
      entries without one) with an entry that differs: all-identical GUIDs, every item
      linking to the home page;
    - once unreliable (now or in an earlier poll), the link joins the GUID, and entries
      still sharing a key in this document get their text hash appended, so distinct
      stories are kept apart instead of all but the first being lost.

    Below the share, a shared id is taken at its word: the same story listed twice.
    Returns the keyed entries and the feed's updated unreliable flag (stored per feed).
    """
    reliable_bases = [_base_key(entry, False) for entry in entries]
    clashes = _clashing(entries, reliable_bases)
    clashing_entries = sum(base in clashes for base in reliable_bases)
    unreliable = (
        guid_unreliable
        or guid_is_unreliable(entries)
        or clashing_entries > _SMALL_SHARE * len(entries)
    )
    bases = [_base_key(entry, True) for entry in entries] if unreliable else reliable_bases
    clashes = _clashing(entries, bases) if unreliable else set()
    keyed: list[EntryData] = []
    seen: set[str] = set()
    for entry, base in zip(entries, bases, strict=True):
        key = f"{base} text:{_text_hash(entry)}" if base in clashes else base
        if len(key) > 512:
            key = f"long:{_hash(key)}"
        if key in seen:
            continue
        seen.add(key)
        # The key it had before the feed's ids turned unreliable: the store finds rows
        # stored under it and re-keys them instead of importing the story again.
        alt_key = _base_key(entry, False) if unreliable else None
        keyed.append(replace(entry, key=key, alt_key=alt_key if alt_key != key else None))
    return tuple(keyed), unreliable
