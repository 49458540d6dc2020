"""A fast reading of common RSS 2.0, Atom 1.0 and RSS 1.0 documents, or None (pure).

feedparser is the reference reader (`parse.parse_feed`) and most of an ingest's CPU: it
walks every character through Python handlers. This module reads a well-formed document
with lxml (libxml2, in C) and produces the few keys of feedparser's result that
`parse_feed` reads, with the same values: the same text clean-ups, the same URL joins,
the same date parser (feedparser's own functions are called for those), and `xml:base`
scoped as feedparser's parser scopes it. It declines, returning None so that feedparser
reads the document, whenever it is not sure to give the same answer: a document that is
not well-formed XML (no recovery here), a DOCTYPE, an encoding other than UTF-8 or Latin-1
(or charsets that disagree), an `xml:base` that is an IRI, markup inside a text other
than an Atom text of type xhtml, base64 or `src` content, an image inside an entry,
several media descriptions, and any element feedparser gives a meaning this module does
not reproduce.
tests/unit/test_fastparse_oracle.py holds it to feedparser's answers.

Safety (`fastscope.well_formed`): no DTD is read, no entity is resolved, nothing is fetched
(no_network), and huge_tree stays off (libxml2's own depth and size limits apply).
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.datetimes import _parse_date
from feedparser.html import _cp1252
from feedparser.urls import _urljoin, make_safe_absolute_uri

from feedhub.ingest.fastnames import (
    ATOM,
    AUTHORS,
    CREATED,
    HANDLED,
    HARMLESS_ENTRY,
    HARMLESS_ENTRY_TOP,
    HARMLESS_FEED,
    HARMLESS_NESTED,
    HTML_TYPES,
    IMAGE_PARTS,
    PUBLISHED,
    RESERVED,
    RSS090,
    RSS10,
    TEXTS,
    UPDATED,
    XHTML,
    Decline,
    EntryState,
    Titles,
    check_textinput,
    fp_attrs,
    fp_name,
    leaf_text,
    map_type,
    no_handled_below,
    read_author,
    read_chapters,
    unmapped,
)
from feedhub.ingest.fastscope import scoped_bases, well_formed, xhtml_text

__all__ = ["read_fast"]

_LINK_REF = re.compile("&([A-Za-z0-9_]+);")
_C1 = re.compile("[\x80-\x9f]")  # the characters feedparser maps as cp1252's


def read_fast(body: bytes, headers: dict[str, str], url: str) -> dict[str, Any] | None:
    """feedparser's result for `body` as far as parse_feed reads it (`version`, `feed`,
    `entries` as plain dicts), or None when feedparser must read it."""
    if body[:1].isspace() and body.lstrip()[:5] == b"<?xml":
        body = body.lstrip()  # feedparser finds the declaration past blank lines too
    root = well_formed(body, headers)
    # feedparser's base: the URL, joined to itself once per element.
    base = url and (make_safe_absolute_uri(url, url) or url)
    if root is None or (base and (make_safe_absolute_uri(base, base) or base) != base):
        return None
    try:
        bases = scoped_bases(root, base) if b"xml:base" in body else None
        return _Reader(base, bases).read(root)
    except Decline:
        return None


class _Reader:
    def __init__(self, base: str, bases: dict[Any, str] | None) -> None:
        # The base that relative URLs of the element being read join: the document's, or
        # with `xml:base` in the document, the element's own (`enter`).
        self.base = base
        self.bases = bases
        self.atom = False
        # feedparser's `hasContent`: set by a content element, or by a feed-level summary
        # read as content, until the end of the next entry.
        self.has_content = False

    def enter(self, el: Any) -> None:
        """Makes `self.base` feedparser's base for `el`, a leaf or an element whose own
        start tag is what is read (a link's href, a content's base)."""
        if self.bases is not None:
            self.base = self.bases[el]

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
        name = fp_name(root)
        fp_attrs(root)
        declared = {uri.lower() for uri in root.nsmap.values()}
        # These set feedparser's version before the root element does.
        if (RSS10 in declared or RSS090 in declared) and (
            name != "rdf_rdf" or ATOM in declared or RSS090 in declared
        ):
            raise Decline
        feed: dict[str, Any] = {}
        entries: list[dict[str, Any]] = []
        if name == "rss" and not root.tag.startswith("{"):
            version = root.get("version", "")
            versions = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
            version = versions.get(version) or ("rss20" if version.startswith("2.") else "rss")
            channels = [c for c in root if fp_name(c)]
            if len(channels) != 1 or fp_name(channels[0]) != "channel":
                raise Decline
            self.channel(channels[0], feed, entries, infeed=True)
        elif name == "feed" and root.tag[1:].split("}", 1)[0].lower() == ATOM:
            version, self.atom = "atom10", True
            self.channel(root, feed, entries, infeed=True)
        elif name == "rdf_rdf" and RSS10 in declared:
            version = "rss10"
            seen_item = False
            for child in root:
                part = fp_name(child)
                if part == "channel":
                    if seen_item or feed:
                        raise Decline  # a channel after items: feedparser's title rules
                    self.channel(child, feed, entries, infeed=True)
                elif part == "item":
                    seen_item = True
                    entries.append(self.entry(child))
                elif part == "image":
                    self.image(child, feed, infeed=False)
                elif part == "textinput":
                    check_textinput(child)
                elif part in HANDLED:
                    raise Decline
                elif part:
                    fp_attrs(child)
                    no_handled_below(child)
        else:
            raise Decline
        if not entries:
            raise Decline  # feedparser says why (empty, broken, not a feed)
        return {"version": version, "feed": feed, "entries": entries}

    def channel(
        self, el: Any, feed: dict[str, Any], entries: list[dict[str, Any]], *, infeed: bool
    ) -> None:
        attrs = fp_attrs(el)
        if not self.atom and ("lastmod" in attrs or "href" in attrs):
            raise Decline
        titles = Titles(entry=False)
        summarized = False
        for child in el:
            name = fp_name(child)
            if not name:
                continue
            self.enter(child)
            if name in ("item", "entry", "image", "textinput"):
                titles.interrupted()
            if name in ("item", "entry"):
                entries.append(self.entry(child))
            elif name in ("title", "dc_title"):
                titles.add(feed, *self.title(child))
            elif name == "link":
                self.link(child, feed, entry=False)
            elif name in ("id", "guid"):
                attrs = fp_attrs(child)
                is_link = attrs.get("ispermalink", "true") == "true"
                value, _ = self.finish(leaf_text(child), relative=is_link)
                if is_link:
                    feed.setdefault("link", value)
            elif name in ("ttl", "icon", "logo"):
                if fp_attrs(child):
                    raise Decline
                feed[name], _ = self.finish(leaf_text(child), relative=name != "ttl")
            elif name == "image":
                self.image(child, feed, infeed=infeed)
            elif name == "textinput":
                check_textinput(child)
            elif name in ("itunes_image", "itunes_link"):  # feedparser: one handler
                attrs = fp_attrs(child)
                href = attrs.get("href") or attrs.get("url")
                if href:
                    feed["image"] = {"href": href}
                no_handled_below(child)
            elif name in ("description", "dc_description", "summary", "itunes_summary"):
                # After a summary, feedparser reads these as content, and the next entry
                # starts as if it had content.
                if summarized and not self.has_content:
                    self.has_content = True
                else:
                    summarized = summarized or name in ("summary", "itunes_summary")
                fp_attrs(child)
                leaf_text(child)
            else:
                unmapped(child, name, HARMLESS_FEED)

    def image(self, el: Any, feed: dict[str, Any], *, infeed: bool) -> None:
        fp_attrs(el)
        image = feed.setdefault("image", {})
        for child in el:
            name = fp_name(child)
            if not name:
                continue
            if name not in IMAGE_PARTS or (child.prefix and name == "link"):
                raise Decline
            self.enter(child)
            fp_attrs(child)
            text = leaf_text(child)
            if name == "url" and infeed:
                image["href"], _ = self.finish(text, relative=True)

    def title(self, el: Any) -> tuple[str, dict[str, str]]:
        attrs = fp_attrs(el)
        if set(attrs) - {"type"}:
            raise Decline
        kind = map_type(attrs.get("type", "text/plain"))
        if kind not in ("text/plain", "text/html"):
            raise Decline
        value, looks = self.finish(leaf_text(el), guess=kind == "text/plain")
        return value, {"type": "text/html" if looks else kind}

    def link(self, el: Any, context: dict[str, Any], *, entry: bool) -> None:
        attrs = fp_attrs(el)
        if "url" in attrs or "uri" in attrs:
            raise Decline
        rel = attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if rel == "self" else "text/html")
        if "href" in attrs:
            attrs["href"] = _urljoin(self.base, attrs["href"])
            if rel == "alternate" and map_type(attrs["type"]) in HTML_TYPES:
                context["link"] = attrs["href"]
            if rel == "enclosure" and entry:
                context.setdefault("enclosures", []).append(
                    {k: v for k, v in attrs.items() if k != "rel"}
                )
            no_handled_below(el)
            return
        if set(attrs) != {"rel", "type"} or rel != "alternate":
            raise Decline  # feedparser gives the text to the last link's href
        value, _ = self.finish(leaf_text(el), relative=True)
        if entry:
            value = value.replace("&amp;", "&")
        context["link"] = _LINK_REF.sub(r"&\g<1>", value)

    def content_type(self, el: Any, default: str) -> str:
        attrs = fp_attrs(el)
        if set(attrs) - {"type"}:
            raise Decline  # src, mode (base64) and the like
        kind = map_type(attrs.get("type", default))
        if kind not in ("text/plain", "text/html") and (kind != XHTML or not self.atom):
            raise Decline
        return kind

    def text(self, el: Any, kind: str) -> tuple[str, bool]:
        """A summary's or a content's value, and whether it looks like HTML."""
        if kind == XHTML:
            return self.finish(xhtml_text(el))
        return self.finish(leaf_text(el), guess=kind == "text/plain")

    def entry(self, el: Any) -> dict[str, Any]:
        attrs = fp_attrs(el)
        if set(attrs) - {"rdf:about"}:
            raise Decline
        entry: dict[str, Any] = {}
        if attrs.get("rdf:about"):
            entry["id"] = attrs["rdf:about"]
        # A media description is the summary only when the entry has no other.
        texts = sum(fp_name(c) in TEXTS for c in el.iterdescendants())
        state = EntryState(titles=Titles(entry=True), texts=texts, content=self.has_content)
        self.entry_children(el, entry, state, depth=1)
        self.has_content = False  # feedparser forgets it as each entry ends
        return entry

    def entry_children(
        self, el: Any, entry: dict[str, Any], state: EntryState, *, depth: int
    ) -> None:
        nested = depth > 1
        for child in el:
            name = fp_name(child)
            if not name:
                continue
            self.enter(child)
            if name in ("media_group", "media_content"):
                # Neither keeps its children: feedparser reads them as the entry's own.
                fp_attrs(child)
                self.entry_children(child, entry, state, depth=depth + 1)
                continue
            if name == "media_title":
                state.titles.add(entry, *self.title(child), depth, media=True)
                continue
            if name == "media_description" and state.texts == 1:
                self.summary(child, entry, state, "text/html")
                continue
            if name in HARMLESS_ENTRY:
                fp_attrs(child)
                no_handled_below(child, HARMLESS_NESTED)
                continue
            if name == "source" and not self.atom and not len(child):
                fp_attrs(child)
                state.titles.interrupted()  # feedparser's source starts a run of titles
                continue
            if nested:
                if name in HANDLED or name in RESERVED:
                    raise Decline(name)
                no_handled_below(child)
                continue
            if name in ("title", "dc_title"):
                state.titles.add(entry, *self.title(child))
            elif name == "link":
                self.link(child, entry, entry=True)
            elif name in ("guid", "id"):
                is_link = fp_attrs(child).get("ispermalink", "true") == "true"
                value, _ = self.finish(leaf_text(child), relative=is_link)
                entry["id"] = value
                if is_link:
                    entry.setdefault("link", value)
            elif name in PUBLISHED or name in UPDATED or name in CREATED:
                if fp_attrs(child):
                    raise Decline
                key = (
                    "published"
                    if name in PUBLISHED
                    else "updated"
                    if name in UPDATED
                    else "created"
                )
                value, _ = self.finish(leaf_text(child))
                entry[key] = value
                entry[f"{key}_parsed"] = _parse_date(value)
            elif name in ("description", "dc_description", "summary", "itunes_summary"):
                default = "text/html" if name in ("description", "dc_description") else "text/plain"
                self.summary(child, entry, state, default)
            elif name in ("content", "content_encoded"):
                default = "text/html" if name == "content_encoded" else "text/plain"
                self.content(child, entry, state, default)
            elif name in AUTHORS:
                read_author(child, entry, lambda text: self.finish(text)[0])
            elif name == "psc_chapters":
                read_chapters(child)
            elif name == "enclosure":
                attrs = fp_attrs(child)
                href = attrs.get("url", attrs.get("uri", attrs.get("href")))
                if href:
                    attrs.pop("url", None)
                    attrs.pop("uri", None)
                    attrs["href"] = href
                attrs.pop("rel", None)
                entry.setdefault("enclosures", []).append(attrs)
                no_handled_below(child)
            else:
                unmapped(child, name, HARMLESS_ENTRY_TOP)

    def summary(self, el: Any, entry: dict[str, Any], state: EntryState, default: str) -> None:
        if "summary" in entry and not state.content:
            # feedparser reads a second summary as content (plain text unless typed).
            self.content(el, entry, state, "text/plain")
            return
        kind = self.content_type(el, default)
        value, looks = self.text(el, kind)
        entry["summary"] = value
        entry["summary_detail"] = {"type": "text/html" if looks else kind, "base": self.base}

    def content(self, el: Any, entry: dict[str, Any], state: EntryState, default: str) -> None:
        state.content = True
        kind = self.content_type(el, default)
        value, looks = self.text(el, kind)
        entry.setdefault("content", []).append(
            {"type": "text/html" if looks else kind, "base": self.base, "value": value}
        )
        entry.setdefault("summary", value)
