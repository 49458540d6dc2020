"""Feed autodiscovery: an HTML page in, candidate feed URLs out (pure, no fetching).

When the admin API is given a page URL instead of a feed URL (DESIGN.md "POST
/api/admin/feeds"), the fetcher hands the page here; the API then tries the candidates in
order, and falls back to `common_path_candidates` when the page links none.

The stdlib `html.parser` is used rather than a regex: real pages have attributes in any
order, unquoted or single-quoted values, entities in hrefs and unclosed tags, and the parser
copes with all of them without ever raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urlsplit, urlunsplit

from feedhub.core.urls import web_url

__all__ = [
    "COMMON_PATHS",
    "FEED_TYPES",
    "FeedCandidate",
    "IconLink",
    "common_path_candidates",
    "find_feed_links",
    "find_icon_links",
]

# application/json is in the list because some JSON Feed sites still announce it that way.
FEED_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/feed+json", "application/json"}
)

COMMON_PATHS: tuple[str, ...] = (
    "/feed",
    "/rss.xml",
    "/atom.xml",
    "/index.xml",
    "/feed.json",
    "/feed.xml",
    "/rss",
)


@dataclass(frozen=True, slots=True)
class FeedCandidate:
    url: str
    title: str | None
    type: str | None


@dataclass(frozen=True, slots=True)
class IconLink:
    """A `<link rel="icon">` (or `shortcut icon`, `apple-touch-icon`) of a page."""

    url: str
    rel: str  # "icon" or "apple-touch-icon"
    sizes: str | None
    type: str | None


_ICON_RELS = ("icon", "apple-touch-icon", "apple-touch-icon-precomposed")


class _LinkCollector(HTMLParser):
    """Collects <base href>, the raw alternate feed <link>s and the icon <link>s, in
    document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base_href: str | None = None
        self.links: list[tuple[str, str | None, str]] = []  # (href, title, type)
        self.icons: list[tuple[str, str, str | None, str | None]] = []  # (href, rel, sizes, type)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("link", "base"):
            return
        values = {name: (value or "") for name, value in attrs}
        href = values.get("href", "").strip()
        if not href:
            return
        if tag == "base":
            # Only the first <base href> counts (HTML "the base element").
            if self.base_href is None:
                self.base_href = href
            return
        rel_tokens = values.get("rel", "").lower().split()
        media_type = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rel_tokens and media_type in FEED_TYPES:
            title = values.get("title", "").strip() or None
            self.links.append((href, title, media_type))
        icon_rel = next((r for r in _ICON_RELS if r in rel_tokens), None)
        if icon_rel is not None:
            sizes = values.get("sizes", "").strip().lower() or None
            kind = "icon" if icon_rel == "icon" else "apple-touch-icon"
            self.icons.append((href, kind, sizes, media_type or None))

    def parse_html_declaration(self, i: int) -> int:
        # CPython before 3.13 raises AssertionError on a malformed "<![…" section; browsers
        # treat it as a bogus comment up to the next ">", and so do we.
        try:
            return super().parse_html_declaration(i)
        except AssertionError:
            end = self.rawdata.find(">", i + 2)
            return -1 if end < 0 else end + 1

    # <link/> written XHTML-style arrives here; treat it like any start tag.
    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def _decode(html: bytes) -> str:
    # A BOM settles it; otherwise UTF-8, and cp1252 for legacy pages. Feed hrefs are nearly
    # always ASCII, so a wrong guess only costs accents in a title, never a URL.
    if html.startswith(b"\xef\xbb\xbf"):
        return html[3:].decode("utf-8", "replace")
    if html.startswith((b"\xff\xfe", b"\xfe\xff")):
        return html.decode("utf-16", "replace")
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        return html.decode("cp1252", "replace")


def _web_url(href: str, base: str) -> str | None:
    """`href` resolved against `base` if it is an http(s) URL; None for anything else,
    including hrefs urllib cannot even split ("http://[oops", a bad IPv6 literal)."""
    return web_url(href, base)


def _collect(html: bytes | str, page_url: str) -> tuple[_LinkCollector, str]:
    """The page's links, and the base their relative hrefs resolve against."""
    collector = _LinkCollector()
    try:
        collector.feed(_decode(html) if isinstance(html, bytes) else html)
        collector.close()
    except AssertionError:
        # Last resort for any other parser assertion on hostile markup: keep what was read.
        pass
    base = page_url
    if collector.base_href is not None:
        base = _web_url(collector.base_href, page_url) or page_url
    return collector, base


def find_icon_links(html: bytes | str, page_url: str) -> list[IconLink]:
    """The icons a page announces (`rel="icon"`, `shortcut icon`, `apple-touch-icon`), as
    absolute http(s) URLs, de-duplicated, in document order; `ingest.icons` ranks them."""
    collector, base = _collect(html, page_url)
    found: list[IconLink] = []
    seen: set[str] = set()
    for href, rel, sizes, media_type in collector.icons:
        url = _web_url(href, base)
        if url is None or url in seen:
            continue
        seen.add(url)
        found.append(IconLink(url=url, rel=rel, sizes=sizes, type=media_type))
    return found


def find_feed_links(html: bytes | str, page_url: str) -> list[FeedCandidate]:
    """The feeds a page announces with <link rel="alternate" type="…feed type…">.

    Relative hrefs resolve against <base href> (itself relative to the page) wherever the
    <base> appears, as browsers do. Results are http(s) only, de-duplicated, in document
    order: the first link is usually the site's main feed.
    """
    collector, base = _collect(html, page_url)
    found: list[FeedCandidate] = []
    seen: set[str] = set()
    for href, title, media_type in collector.links:
        url = _web_url(href, base)
        if url is None or url in seen:
            continue
        seen.add(url)
        found.append(FeedCandidate(url=url, title=title, type=media_type))
    return found


def common_path_candidates(page_url: str) -> list[str]:
    """Conventional feed locations at the site root, for pages that link no feed."""
    if _web_url(page_url, page_url) is None:
        return []
    parts = urlsplit(page_url)
    return [urlunsplit((parts.scheme, parts.netloc, path, "", "")) for path in COMMON_PATHS]
