"""OPML import and export (pure: bytes in, values out, and back).

Why not listparser (DESIGN.md "Libraries before hand-written code")? Import needs three
things it does not give us: parsing through defusedxml (OPML arrives from users over the
admin API, so entity-expansion and external-entity tricks must be refused outright), a
reason for every outline we skip (the admin sees what was not imported and why), and the
exact folder rule below. What is left is a 40-line walk over an ElementTree.

Folders: OPML nests outlines freely, feedhub categories are flat. A feed goes to its
innermost folder's name (the most specific label the user gave it); feeds outside any
folder go to the caller's default category.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import defusedxml
import defusedxml.ElementTree as SafeET

from feedhub.core.errors import ParseError
from feedhub.core.urls import is_web_url, normalize_feed_url
from feedhub.ingest.sanitize import xml_safe

__all__ = [
    "MAX_DEPTH",
    "OpmlDocument",
    "OpmlFeed",
    "OpmlInvalid",
    "read_opml",
    "slugify",
    "write_opml",
]


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None
    site_url: str | None
    category: str  # the innermost folder's name, or the default category


@dataclass(frozen=True, slots=True)
class OpmlInvalid:
    text: str  # what identifies the outline to a person: its title, or its attributes
    reason: str


@dataclass(frozen=True, slots=True)
class OpmlDocument:
    feeds: tuple[OpmlFeed, ...]
    invalid: tuple[OpmlInvalid, ...]


# Real subscription lists nest folders two or three deep; 50 leaves room for any tool.
MAX_DEPTH = 50


def _local(tag: object) -> str:
    # Tolerate a namespaced root ("{…}opml"); comments and PIs have non-str tags.
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _attr(element: ET.Element, name: str) -> str:
    """Attribute value, stripped; names matched case-insensitively (xmlurl, XMLURL exist)."""
    value = element.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in element.attrib.items() if k.lower() == lowered), "")
    return value.strip()


def _outlines(element: ET.Element) -> Iterator[ET.Element]:
    return (child for child in element if _local(child.tag) == "outline")


def read_opml(data: bytes, default_category: str) -> OpmlDocument:
    """Read an OPML subscription list; one bad outline never aborts the rest.

    Raises ParseError when the bytes are not XML, are refused by defusedxml (DTD entities,
    external references), or are XML but not OPML.
    """
    try:
        root = SafeET.fromstring(data)
    except defusedxml.DefusedXmlException as exc:
        raise ParseError(
            f"OPML refused: it declares entities or external references ({exc})"
        ) from exc
    except ET.ParseError as exc:
        raise ParseError(f"not an OPML file: the XML is malformed ({exc})") from exc
    if _local(root.tag) != "opml":
        raise ParseError(f"not an OPML file: the root element is <{_local(root.tag)}>")
    body = next((child for child in root if _local(child.tag) == "body"), None)
    if body is None:
        raise ParseError("not an OPML file: it has no <body>")

    feeds: list[OpmlFeed] = []
    invalid: list[OpmlInvalid] = []
    seen: set[str] = set()

    # Iterative, with a depth cap: 3,000 nested outlines (100 KB) hit Python's recursion
    # limit and answered 500. A stack of (outlines iterator, category)
    # keeps the document order of the recursive walk it replaces.
    stack: list[tuple[Iterator[ET.Element], str]] = [(_outlines(body), default_category)]
    while stack:
        outline = next(stack[-1][0], None)
        if outline is None:
            stack.pop()
            continue
        category = stack[-1][1]
        label = _attr(outline, "text") or _attr(outline, "title")
        xml_url = _attr(outline, "xmlUrl")
        children = next(_outlines(outline), None) is not None
        if children and len(stack) >= MAX_DEPTH:
            raise ParseError(f"OPML refused: outlines nest deeper than {MAX_DEPTH} levels")
        if not xml_url:
            if children:
                # A folder; an unnamed one keeps its parent's category.
                stack.append((_outlines(outline), label or category))
            elif _attr(outline, "type").lower() in ("rss", "atom") or _attr(outline, "htmlUrl"):
                invalid.append(OpmlInvalid(label or "(untitled)", "feed outline has no xmlUrl"))
            # Else an empty folder or a plain note: nothing to import, nothing wrong.
            continue
        if not is_web_url(xml_url):
            reason = f"xmlUrl {xml_url!r} is not an http(s) URL"
            invalid.append(OpmlInvalid(label or xml_url, reason))
        elif (normal := normalize_feed_url(xml_url)) in seen:
            # Compared in normal form, as the database does (`HTTP://h/f#x` is `http://h/f`).
            invalid.append(OpmlInvalid(label or xml_url, f"duplicate of {normal}"))
        else:
            seen.add(normal)
            html_url = _attr(outline, "htmlUrl")
            site_url = html_url if is_web_url(html_url) else None
            feeds.append(OpmlFeed(xml_url, label or None, site_url, category))
        if children:
            # A feed outline with children is malformed; keep the children anyway.
            stack.append((_outlines(outline), category))

    return OpmlDocument(feeds=tuple(feeds), invalid=tuple(invalid))


def write_opml(
    groups: Sequence[tuple[str, Sequence[OpmlFeed]]], title: str = "feedhub subscriptions"
) -> bytes:
    """OPML 2.0: one folder outline per category, feeds as type="rss" outlines inside.

    This is the shape Miniflux, FreshRSS and NetNewsWire export and import (text and title
    both set, since readers differ on which one they show).
    """
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = xml_safe(title)
    body = ET.SubElement(root, "body")
    for category, feeds in groups:
        name = xml_safe(category)
        folder = ET.SubElement(body, "outline", text=name, title=name)
        for feed in feeds:
            label = xml_safe(feed.title or feed.url)
            attributes = {"type": "rss", "text": label, "title": label, "xmlUrl": feed.url}
            if feed.site_url:
                attributes["htmlUrl"] = feed.site_url
            ET.SubElement(folder, "outline", {k: xml_safe(v) for k, v in attributes.items()})
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + text + "\n").encode("utf-8")


_ASCII_FOLDS = str.maketrans(
    {"ß": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o", "ł": "l",
     "Ł": "l", "đ": "d", "Đ": "d", "þ": "th", "Þ": "th"}
)  # fmt: skip
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_SLUG_MAX = 64


def slugify(name: str) -> str:
    """Category name -> slug matching [a-z0-9][a-z0-9-]* (DESIGN.md "Data model").

    Accents are folded (NFKD, plus the few letters NFKD does not decompose) so that "Café"
    becomes "cafe" rather than "caf". A name with nothing foldable ("日本語") gets
    "category-" and a short hash of the name, so two such names do not share one slug.
    """
    folded = unicodedata.normalize("NFKD", name.translate(_ASCII_FOLDS))
    ascii_name = folded.encode("ascii", "ignore").decode("ascii").lower()
    slug = _NOT_SLUG.sub("-", ascii_name).strip("-")
    slug = slug[:_SLUG_MAX].rstrip("-")
    if slug:
        return slug
    if not name.strip(" -"):
        return "category"
    return "category-" + hashlib.blake2b(name.strip().encode(), digest_size=3).hexdigest()
