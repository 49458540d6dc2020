"""HTML sanitizing and plain text: what a reader may see of a feed's markup.

An allowlist (nh3, the Rust ammonia sanitizer): what a reader needs to read an article,
nothing that runs or restyles the page (DESIGN.md "Data model": summary and content are
sanitized HTML).
"""

from __future__ import annotations

import re
import threading
from urllib.parse import urljoin

import nh3

__all__ = [
    "looks_like_html", "plain_text", "plain_title", "sanitize_html", "strip_tags", "xml_safe",
]  # fmt: skip

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

_TRACKING_PIXEL = re.compile(
    r"<img\b[^>]*\bwidth=\"?1\"?[^>]*\bheight=\"?1\"?[^>]*>|"
    r"<img\b[^>]*\bheight=\"?1\"?[^>]*\bwidth=\"?1\"?[^>]*>",
    re.I,
)
_TAG = re.compile(r"<[^>]*>")


def _squeeze(text: str) -> str:
    """Runs of whitespace as one space, none at the ends: what `re.sub(r"\\s+", " ",
    text).strip()` gives (str.split's whitespace is re's), five times faster."""
    return " ".join(text.split())


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Allowlist-sanitize feed HTML; resolve relative links against `base_url`.

    Links get rel="noopener noreferrer"; 1×1 tracking images are dropped. Relative
    `href`/`src` values are resolved by nh3 itself (`attribute_filter`), on the attribute
    values it parsed, so text that merely reads href="…" is never touched.
    """
    if not html:
        return ""
    if not _NOT_PLAIN.search(html):
        return html.strip()  # plain text: what nh3 would give back, without the call
    return _clean(html, base_url)


# What nh3 changes in text without markup: it escapes "&", "<", ">" and no-break spaces,
# turns CR and NUL into other characters, drops a leading BOM, and refuses lone surrogates.
_NOT_PLAIN = re.compile("[<>&\r\0\xa0\ufeff\ud800-\udfff]")


class _Cleaner(threading.local):
    """nh3's sanitizer built once per thread (`nh3.clean` builds one per call: an eighth
    of its time); the base URL of the text being cleaned is handed to the attribute
    filter beside it."""

    def __init__(self) -> None:
        self.base_url: str | None = None
        self.nh3 = nh3.Cleaner(
            tags=_TAGS,
            attributes=_ATTRIBUTES,
            url_schemes=_URL_SCHEMES,
            link_rel="noopener noreferrer",
            strip_comments=True,
            attribute_filter=self._filter,
        )

    def _filter(self, element: str, attribute: str, value: str) -> str | None:
        return _filter_attribute(self.base_url, element, attribute, value)

    def clean(self, html: str, base_url: str | None) -> str:
        self.base_url = base_url
        try:
            return self.nh3.clean(html)
        finally:
            self.base_url = None


_cleaner = _Cleaner()


def _clean(html: str, base_url: str | None) -> str:
    cleaned = _cleaner.clean(html, base_url)
    if "<img" in cleaned:
        cleaned = _TRACKING_PIXEL.sub("", cleaned)
    return cleaned.strip()


# A value with a scheme ("https:", "mailto:") or a fragment is left as it is.
_HAS_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:|^#")


def _resolve_relative(base_url: str | None, value: str) -> str:
    if not base_url or _HAS_SCHEME.match(value):
        return value
    try:
        return urljoin(base_url, value)
    except ValueError:  # a base or value urllib cannot split: keep the value
        return value


def _filter_attribute(
    base_url: str | None, _element: str, attribute: str, value: str
) -> str | None:
    if attribute in ("href", "src"):
        return _resolve_relative(base_url, value)
    if attribute == "srcset":
        return _filter_srcset(base_url, value)
    return value


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


def _filter_srcset(base_url: str | None, value: str) -> str | None:
    """nh3 checks the scheme of href and src but not of srcset, where it kept
    `javascript:`: keep only candidates that are http(s) or relative
    (resolved like href and src)."""
    kept = []
    for url, descriptors in _srcset_candidates(value):
        scheme = _URL_SCHEME.match(url)
        if scheme is None or scheme.group(1).lower() in ("http", "https"):
            kept.append(f"{_resolve_relative(base_url, url)} {descriptors}".strip())
    return ", ".join(kept) or None


def strip_tags(text: str) -> str:
    """Plain text of a title: feeds put markup and entities in titles."""
    if "<" in text:
        text = nh3.clean(text, tags=set())
        text = _TAG.sub("", text)
    if "&" in text:
        import html

        text = html.unescape(text)
    return _squeeze(text)


_CLOSING_TAG = re.compile(r"</(\w+)>")
_TAG_NAME = re.compile(r"</?(\w+)")


def looks_like_html(text: str) -> bool:
    """A title in a format that does not say (JSON Feed) read as markup only when it closes
    a tag and every tag is one an article may use, as feedparser guesses for RSS: "Hello
    <b>world</b>" is markup, "Vector<T>" and "Why <canvas> matters" are text."""
    if not _CLOSING_TAG.search(text):
        return False
    return all(name.lower() in _TAGS for name in _TAG_NAME.findall(text))


def plain_title(text: str) -> str:
    """A title the feed gives as plain text: every character kept ("Why <canvas> matters",
    "Vector<T>"), output escapes it. Entities are still decoded: feeds that escape twice
    ("AT&amp;amp;T") mean the character, and a literal "&lt;" in a title is rarer."""
    if "&" in text:
        import html

        text = html.unescape(text)
    return _squeeze(text)


def plain_text(*sanitized_html: str) -> str:
    """The words of already-sanitized HTML, for the search index: markup and attribute
    values (URLs) would otherwise match searches for "href" or "https"."""
    import html

    text = " ".join(_TAG.sub(" ", part) for part in sanitized_html if part)
    return _squeeze(html.unescape(text))


# Characters XML 1.0 cannot carry: stored, they would break the Atom output feeds.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    return _XML_INVALID.sub("", text) if text else text
