"""A fast reading of common RSS 2.0, Atom 1.0 and RSS 1.0 documents, or None (pure).

feedparser is the reference reader (`parse.parse_feed`) and most of an ingest's CPU: it
walks every character through Python handlers. This module reads a well-formed document
with lxml (libxml2, in C) and produces the few keys of feedparser's result that
`parse_feed` reads, with the same values: the same text clean-ups, the same URL joins,
the same date parser (feedparser's own functions are called for those). It declines,
returning None so that feedparser reads the document, whenever it is not sure to give the
same answer: a document that is not well-formed XML (no recovery here), a DOCTYPE,
an encoding other than UTF-8/ASCII, `xml:base`, inline XHTML, base64 content, two titles
or two descriptions in one entry, and any element feedparser gives a meaning this module
does not reproduce. tests/unit/test_fastparse_oracle.py holds it to feedparser's answers.

Safety: no DTD is read, no entity is resolved, nothing is fetched (no_network), and
huge_tree stays off (libxml2's own depth and size limits apply).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

__all__ = ["read_fast"]

_ATOM = "http://www.w3.org/2005/atom"
_RSS10 = "http://purl.org/rss/1.0/"
_RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
_RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
_XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# feedparser's standard prefix of each namespace it knows ("" for the feed formats).
_PREFIXES: dict[str, str] = {k.lower(): v for k, v in StrictFeedParser.namespaces.items()}
# Every element name feedparser handles specially: any other element only adds a key of
# its own name to its context, which parse_feed never reads.
_HANDLED = frozenset(
    name.split("_", 2)[2].lower() if name.startswith("_start_") else name[5:].lower()
    for name in dir(StrictFeedParser)
    if name.startswith(("_start_", "_end_"))
)
# Keys an unhandled element must not be named after: parse_feed (or feedparser's own
# views of them, like `enclosures`) reads them.
_RESERVED = frozenset({"links", "enclosures", "authors", "tags", "contributors", "guidislink"})
_HTML_TYPES = ("text/html", "application/xhtml+xml")
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "dc_date", "dcterms_modified"})
_CREATED = frozenset({"created", "dcterms_created"})
_AUTHORS = frozenset({"author", "dc_creator", "itunes_author"})
_PERSON_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
# Handled elements that touch no key parse_feed reads, in a channel or feed ...
_HARMLESS_FEED = frozenset(
    {
        "description", "subtitle", "tagline", "language", "generator", "rights", "copyright",
        "dc_rights", "dc_language", "dc_publisher", "webmaster", "managingeditor", "author",
        "dc_creator", "itunes_author", "pubdate", "lastbuilddate", "updated", "published",
        "modified", "dc_date", "issued", "created", "dcterms_modified", "dcterms_created",
        "dcterms_issued", "category", "dc_subject", "keywords", "cloud", "itunes_owner",
        "itunes_category", "itunes_explicit", "itunes_block", "itunes_keywords",
        "itunes_subtitle", "media_thumbnail", "media_category", "media_keywords",
        "media_rating", "media_credit", "media_restriction", "media_license",
        "expirationdate", "contributor", "info", "feedburner_browserfriendly",
    }
)  # fmt: skip
# ... and in an entry.
_HARMLESS_ENTRY = frozenset(
    {
        "category", "dc_subject", "keywords", "media_category", "media_keywords",
        "itunes_keywords", "itunes_category", "itunes_explicit", "itunes_block",
        "itunes_subtitle", "itunes_image", "media_content", "media_thumbnail", "media_credit",
        "media_rating", "media_restriction", "media_license", "expirationdate", "contributor",
        "media_player",
    }
)  # fmt: skip
# What may nest inside those (people's parts, iTunes subcategories).
_HARMLESS_NESTED = frozenset({*_PERSON_PARTS, "itunes_name", "itunes_email", "itunes_category"})
_TEXTS = frozenset(
    {
        "description", "summary", "itunes_summary", "content", "content_encoded",
        "media_description", "dc_description", "abstract", "body", "xhtml_body", "fullitem",
    }
)  # fmt: skip
# Entry-level elements harmless only as the entry's own children.
_HARMLESS_ENTRY_TOP = frozenset(
    {
        "dc_publisher", "webmaster", "dc_rights", "rights", "copyright", "dc_language",
        "language", "georss_point", "georss_line", "georss_polygon", "georss_box",
    }
)  # fmt: skip
_IMAGE_PARTS = frozenset({"url", "title", "link", "description", "width", "height"})

_XML_DECL_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']", re.I)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# Encodings lxml and feedparser decode alike (ASCII is UTF-8 here: a byte past it fails
# in lxml, and the document goes to feedparser).
_FAMILIES = {
    **dict.fromkeys(("utf-8", "utf8", "us-ascii", "ascii"), "utf-8"),
    **dict.fromkeys(("iso-8859-1", "latin-1", "latin1"), "latin-1"),
}
_LINK_REF = re.compile("&([A-Za-z0-9_]+);")
_C1 = re.compile("[\x80-\x9f]")  # the characters feedparser maps as cp1252's


class _Decline(Exception):
    """The document holds something this reader does not reproduce exactly."""


def read_fast(body: bytes, headers: dict[str, str], url: str) -> dict[str, Any] | None:
    """feedparser's result for `body` as far as parse_feed reads it (`version`, `feed`,
    `entries` as plain dicts), or None when feedparser must read it."""
    if body[:1].isspace() and body.lstrip()[:5] == b"<?xml":
        body = body.lstrip()  # feedparser finds the declaration past blank lines too
    if not _plain_encoding(body, headers) or b"<!DOCTYPE" in body or b"<!doctype" in body:
        return None
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=False, load_dtd=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError:
        return None
    if len(parser.error_log):  # e.g. an undeclared namespace prefix: feedparser differs
        return None
    # feedparser's base: the URL, joined to itself once per element.
    base = url and (make_safe_absolute_uri(url, url) or url)
    if base and (make_safe_absolute_uri(base, base) or base) != base:
        return None
    try:
        return _Reader(base).read(root)
    except _Decline:
        return None


def _plain_encoding(body: bytes, headers: dict[str, str]) -> bool:
    """UTF-8 or Latin-1 by every account feedparser weighs (the HTTP charset, a byte order
    mark, the XML declaration), all agreeing: then lxml decodes the text as it does."""
    if body[:2] in (b"\xff\xfe", b"\xfe\xff") or body[:4] == b"\x00\x00\xfe\xff":
        return False
    bom = body.startswith(b"\xef\xbb\xbf")
    if bom:
        body = body[3:]
    if not body.startswith(b"<"):
        return False
    declared = _XML_DECL_ENCODING.match(body)
    named = declared.group(1).decode("ascii", "replace").lower() if declared else "utf-8"
    family = _FAMILIES.get(named)
    match = _CHARSET.search(headers.get("content-type", ""))
    http = _FAMILIES.get(match.group(1).lower()) if match else family
    return family is not None and http == family and not (bom and family != "utf-8")


def _name(el: Any) -> str:
    """The element's name as feedparser's handlers know it: its namespace's standard
    prefix, "_" and the lower-case local name."""
    tag = el.tag
    if not isinstance(tag, str):
        return ""  # comment or processing instruction
    key = (tag, el.prefix)
    name = _NAMES.get(key)
    if name is None:
        name = _name_of(tag, el.prefix)
        if len(_NAMES) < _MAX_NAMES:  # bounded: documents choose their own names
            _NAMES[key] = name
    return name


_NAMES: dict[tuple[str, str | None], str] = {}
_MAX_NAMES = 4096


def _name_of(tag: str, given: str | None) -> str:
    if tag[0] != "{":
        if ":" in tag:
            raise _Decline  # a prefix without a namespace
        return tag.lower()
    ns, local = tag[1:].split("}", 1)
    ns_lower = ns.lower()
    if "backend.userland.com/rss" in ns_lower:
        prefix: str | None = ""
    else:
        prefix = _PREFIXES.get(ns_lower)
        if prefix is None:
            prefix = (given or "").lower()
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


def _attrs(el: Any) -> dict[str, str]:
    """Attributes as feedparser sees them: names in lower case, `rel` and `type` values
    too."""
    found: dict[str, str] = {}
    for key, value in el.attrib.items():
        if key[0] == "{":
            if key == _XML_BASE:
                raise _Decline
            if key == _XML_LANG:
                continue  # the language of a text: parse_feed does not read it
            ns, local = key[1:].split("}", 1)
            prefix = _PREFIXES.get(ns.lower(), "")
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        found[key] = value.lower() if key in ("rel", "type") else value
    if "base" in found:
        raise _Decline  # feedparser takes a bare `base` attribute as xml:base
    return found


def _map_type(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(
        value, "application/xhtml+xml" if value == "xhtml" else value
    )


def _leaf_text(el: Any) -> str:
    if len(el):
        raise _Decline  # markup or a comment inside: feedparser's inline-content rules
    return el.text or ""


def _no_handled_below(el: Any, allowed: frozenset[str] = frozenset()) -> None:
    for child in el.iterdescendants():
        name = _name(child)
        if name in _HANDLED and name not in allowed:
            raise _Decline(name)
        _attrs(child)


class _Reader:
    def __init__(self, base: str) -> None:
        self.base = base
        self.atom = False
        # feedparser's `hasContent`: set by a content element, or by a feed-level summary
        # read as content, until the end of the next entry.
        self.has_content = False

    def finish(self, text: str, *, relative: bool = False, guess: bool = False) -> tuple[str, bool]:
        """feedparser's `pop`: stripped, joined to the base, checked for HTML, its UTF-8
        misread as Latin-1 repaired, cp1252 controls mapped. And whether it looks like
        HTML (asked only for plain-text fields of RSS)."""
        out = text.strip()
        if relative and out:
            out = _urljoin(self.base, out)
        looks = guess and not self.atom and StrictFeedParser.looks_like_html(out)
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            out = out.encode("iso-8859-1").decode("utf-8")
        # str.translate with a dict walks every character in Python: only when needed.
        return (out.translate(_cp1252) if _C1.search(out) else out), looks

    def read(self, root: Any) -> dict[str, Any]:
        name = _name(root)
        _attrs(root)
        declared = {uri.lower() for uri in root.nsmap.values()}
        # These set feedparser's version before the root element does.
        if (_RSS10 in declared or _RSS090 in declared) and (
            name != "rdf_rdf" or _ATOM in declared or _RSS090 in declared
        ):
            raise _Decline
        feed: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        if name == "rss" and not root.tag.startswith("{"):
            version = root.get("version", "")
            versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
            version = versions.get(version) or ("rss20" if version.startswith("2.") else "rss")
            channels = [c for c in root if _name(c)]
            if len(channels) != 1 or _name(channels[0]) != "channel":
                raise _Decline
            self.channel(channels[0], feed, entries, infeed=True)
        elif name == "feed" and root.tag[1:].split("}", 1)[0].lower() == _ATOM:
            version, self.atom = "atom10", True
            self.channel(root, feed, entries, infeed=True)
        elif name == "rdf_rdf" and _RSS10 in declared:
            version = "rss10"
            seen_item = False
            for child in root:
                part = _name(child)
                if part == "channel":
                    if seen_item or feed:
                        raise _Decline  # a channel after items: feedparser's title rules
                    self.channel(child, feed, entries, infeed=True)
                elif part == "item":
                    seen_item = True
                    entries.append(self.entry(child))
                elif part == "image":
                    self.image(child, feed, infeed=False)
                elif part == "textinput":
                    _textinput(child)
                elif part in _HANDLED:
                    raise _Decline
                elif part:
                    _attrs(child)
                    _no_handled_below(child)
        else:
            raise _Decline
        if not entries:
            raise _Decline  # feedparser says why (empty, broken, not a feed)
        return {"version": version, "feed": feed, "entries": entries}

    def channel(
        self, el: Any, feed: dict[str, Any], entries: list[dict[str, Any]], *, infeed: bool
    ) -> None:
        attrs = _attrs(el)
        if not self.atom and ("lastmod" in attrs or "href" in attrs):
            raise _Decline
        titles = _Titles(entry=False)
        summarized = False
        for child in el:
            name = _name(child)
            if not name:
                continue
            if name in ("item", "entry", "image", "textinput"):
                titles.interrupted()
            if name in ("item", "entry"):
                entries.append(self.entry(child))
            elif name in ("title", "dc_title"):
                titles.add(feed, *self.title(child))
            elif name == "link":
                self.link(child, feed, entry=False)
            elif name in ("id", "guid"):
                attrs = _attrs(child)
                is_link = attrs.get("ispermalink", "true") == "true"
                value, _ = self.finish(_leaf_text(child), relative=is_link)
                if is_link:
                    feed.setdefault("link", value)
            elif name in ("ttl", "icon", "logo"):
                if _attrs(child):
                    raise _Decline
                feed[name], _ = self.finish(_leaf_text(child), relative=name != "ttl")
            elif name == "image":
                self.image(child, feed, infeed=infeed)
            elif name == "textinput":
                _textinput(child)
            elif name == "itunes_image":
                attrs = _attrs(child)
                href = attrs.get("href") or attrs.get("url")
                if href:
                    feed["image"] = {"href": href}
                _no_handled_below(child)
            elif name in ("description", "dc_description", "summary", "itunes_summary"):
                # After a summary, feedparser reads these as content, and the next entry
                # starts as if it had content.
                if summarized and not self.has_content:
                    self.has_content = True
                else:
                    summarized = summarized or name in ("summary", "itunes_summary")
                _attrs(child)
                _leaf_text(child)
            elif name in _HARMLESS_FEED:
                _attrs(child)
                _no_handled_below(child, _HARMLESS_NESTED)
            elif name in _HANDLED or name in _RESERVED or name.endswith(("_detail", "_parsed")):
                raise _Decline(name)
            else:
                _attrs(child)
                _no_handled_below(child)

    def image(self, el: Any, feed: dict[str, Any], *, infeed: bool) -> None:
        _attrs(el)
        image = feed.setdefault("image", {})
        for child in el:
            name = _name(child)
            if not name:
                continue
            if name not in _IMAGE_PARTS or (child.prefix and name == "link"):
                raise _Decline
            _attrs(child)
            text = _leaf_text(child)
            if name == "url" and infeed:
                image["href"], _ = self.finish(text, relative=True)

    def title(self, el: Any) -> tuple[str, dict[str, str]]:
        attrs = _attrs(el)
        if set(attrs) - {"type"}:
            raise _Decline
        kind = _map_type(attrs.get("type", "text/plain"))
        if kind not in ("text/plain", "text/html"):
            raise _Decline
        value, looks = self.finish(_leaf_text(el), guess=kind == "text/plain")
        return value, {"type": "text/html" if looks else kind}

    def link(self, el: Any, context: dict[str, Any], *, entry: bool) -> None:
        attrs = _attrs(el)
        if "url" in attrs or "uri" in attrs:
            raise _Decline
        rel = attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        if "href" in attrs:
            attrs["href"] = _urljoin(self.base, attrs["href"])
            if rel == "alternate" and _map_type(attrs["type"]) in _HTML_TYPES:
                context["link"] = attrs["href"]
            if rel == "enclosure" and entry:
                context.setdefault("enclosures", []).append(
                    {k: v for k, v in attrs.items() if k != "rel"}
                )
            _no_handled_below(el)
            return
        if set(attrs) != {"rel", "type"} or rel != "alternate":
            raise _Decline  # feedparser gives the text to the last link's href
        value, _ = self.finish(_leaf_text(el), relative=True)
        if entry:
            value = value.replace("&amp;", "&")
        context["link"] = _LINK_REF.sub(r"&\g<1>", value)

    def content_type(self, el: Any, default: str) -> str:
        attrs = _attrs(el)
        if set(attrs) - {"type"}:
            raise _Decline  # src, mode (base64) and the like
        kind = _map_type(attrs.get("type", default))
        if kind not in ("text/plain", "text/html"):
            raise _Decline
        return kind

    def entry(self, el: Any) -> dict[str, Any]:
        attrs = _attrs(el)
        if set(attrs) - {"rdf:about"}:
            raise _Decline
        entry: dict[str, Any] = {}
        if attrs.get("rdf:about"):
            entry["id"] = attrs["rdf:about"]
        # A media description is the summary only when the entry has no other.
        texts = sum(_name(c) in _TEXTS for c in el.iterdescendants())
        state = _EntryState(titles=_Titles(entry=True), texts=texts, content=self.has_content)
        self.entry_children(el, entry, state, depth=1)
        self.has_content = False  # feedparser forgets it as each entry ends
        return entry

    def entry_children(
        self, el: Any, entry: dict[str, Any], state: _EntryState, *, depth: int
    ) -> None:
        nested = depth > 1
        for child in el:
            name = _name(child)
            if not name:
                continue
            if name in ("media_group", "media_content"):
                # Neither keeps its children: feedparser reads them as the entry's own.
                _attrs(child)
                self.entry_children(child, entry, state, depth=depth + 1)
                continue
            if name == "media_title":
                state.titles.add(entry, *self.title(child), depth, media=True)
                continue
            if name == "media_description" and state.texts == 1:
                self.summary(child, entry, state, "text/html")
                continue
            if name in _HARMLESS_ENTRY:
                _attrs(child)
                _no_handled_below(child, _HARMLESS_NESTED)
                continue
            if name == "source" and not self.atom and not len(child):
                _attrs(child)
                state.titles.interrupted()  # feedparser's source starts a run of titles
                continue
            if nested:
                if name in _HANDLED or name in _RESERVED:
                    raise _Decline(name)
                _no_handled_below(child)
                continue
            if name in ("title", "dc_title"):
                state.titles.add(entry, *self.title(child))
            elif name == "link":
                self.link(child, entry, entry=True)
            elif name in ("guid", "id"):
                is_link = _attrs(child).get("ispermalink", "true") == "true"
                value, _ = self.finish(_leaf_text(child), relative=is_link)
                entry["id"] = value
                if is_link:
                    entry.setdefault("link", value)
            elif name in _PUBLISHED or name in _UPDATED or name in _CREATED:
                if _attrs(child):
                    raise _Decline
                key = (
                    "published"
                    if name in _PUBLISHED
                    else "updated"
                    if name in _UPDATED
                    else "created"
                )
                value, _ = self.finish(_leaf_text(child))
                entry[key] = value
                entry[f"{key}_parsed"] = _parse_date(value)
            elif name in ("description", "dc_description", "summary", "itunes_summary"):
                default = "text/html" if name in ("description", "dc_description") else "text/plain"
                self.summary(child, entry, state, default)
            elif name in ("content", "content_encoded"):
                default = "text/html" if name == "content_encoded" else "text/plain"
                self.content(child, entry, state, default)
            elif name in _AUTHORS:
                self.author(child, entry)
            elif name == "enclosure":
                attrs = _attrs(child)
                href = attrs.get("url", attrs.get("uri", attrs.get("href")))
                if href:
                    attrs.pop("url", None)
                    attrs.pop("uri", None)
                    attrs["href"] = href
                attrs.pop("rel", None)
                entry.setdefault("enclosures", []).append(attrs)
                _no_handled_below(child)
            elif name in _HARMLESS_ENTRY_TOP:
                _attrs(child)
                _no_handled_below(child, _HARMLESS_NESTED)
            elif name in _HANDLED or name in _RESERVED or name.endswith(("_detail", "_parsed")):
                raise _Decline(name)
            else:
                _attrs(child)
                _no_handled_below(child)

    def summary(self, el: Any, entry: dict[str, Any], state: _EntryState, default: str) -> None:
        if "summary" in entry and not state.content:
            # feedparser reads a second summary as content (plain text unless typed).
            self.content(el, entry, state, "text/plain")
            return
        kind = self.content_type(el, default)
        value, looks = self.finish(_leaf_text(el), guess=kind == "text/plain")
        entry["summary"] = value
        entry["summary_detail"] = {"type": "text/html" if looks else kind, "base": self.base}

    def content(self, el: Any, entry: dict[str, Any], state: _EntryState, default: str) -> None:
        state.content = True
        kind = self.content_type(el, default)
        value, looks = self.finish(_leaf_text(el), guess=kind == "text/plain")
        entry.setdefault("content", []).append(
            {"type": "text/html" if looks else kind, "base": self.base, "value": value}
        )
        entry.setdefault("summary", value)

    def author(self, el: Any, entry: dict[str, Any]) -> None:
        """feedparser's author rules: the element's own text, then, when it has a name
        or an email inside, "name (email)", "name" or "email"."""
        if _attrs(el):
            raise _Decline
        person: dict[str, str] = {}
        text = [el.text or ""]
        for child in el:
            part = _name(child)
            text.append(child.tail or "")
            if not part:
                continue
            if part not in _PERSON_PARTS:
                if part in _HANDLED or "".join(child.itertext()).strip():
                    raise _Decline(part)  # e.g. Blogger's empty <gd:image src=...>
                _no_handled_below(child)
                continue
            if _attrs(child):
                raise _Decline(part)
            value = _leaf_text(child).strip()
            if part in ("name", "email"):
                person[part] = value
                _sync_author(entry, person)
        entry["author"], _ = self.finish("".join(text))
        _sync_author(entry, person)


@dataclass(slots=True)
class _EntryState:
    titles: _Titles
    texts: int  # summaries, descriptions and contents, however deep
    content: bool = False


class _Titles:
    """feedparser's title rules. After a non-empty title at some depth, a title as deep or
    deeper is ignored (a media title leaves that mark as it found it; an entry, an image
    or a source clears it). A title that is not ignored is kept unless a shallower one
    was (in an entry), but its type (`title_detail`) is kept always."""

    def __init__(self, *, entry: bool) -> None:
        self.entry = entry
        self.mark = -1
        self.kept_at: int | None = None

    def interrupted(self) -> None:
        self.mark = -1

    def add(
        self,
        context: dict[str, Any],
        value: str,
        detail: dict[str, str],
        depth: int = 1,
        *,
        media: bool = False,
    ) -> None:
        if not -1 < self.mark <= depth:
            if not self.entry or self.kept_at is None or depth <= self.kept_at:
                self.kept_at = depth
                context["title"] = value
            context["title_detail"] = detail
        if value and not media:
            self.mark = depth


def _textinput(el: Any) -> None:
    """RSS's search box: its parts go to a context of their own; only plain parts, since
    any other element takes feedparser out of it."""
    _attrs(el)
    for child in el:
        name = _name(child)
        if name and (name not in ("title", "link", "description", "name") or child.prefix):
            raise _Decline(name)
        if name:
            _attrs(child)
            _leaf_text(child)


def _sync_author(entry: dict[str, Any], person: dict[str, str]) -> None:
    if not person:
        return
    name, email = person.get("name"), person.get("email")
    if name and email:
        entry["author"] = f"{name} ({email})"
    elif name:
        entry["author"] = name
    elif email:
        entry["author"] = email
