"""feedparser's vocabulary as the fast parse path sees it in an lxml tree (pure): element
and attribute names as feedparser's handlers know them, which elements it handles, and its
rules for titles, authors, Podlove chapters and the elements it does not map.
ingest/fastparse.py reads documents with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from feedparser.api import StrictFeedParser

ATOM = "http://www.w3.org/2005/atom"
RSS10 = "http://purl.org/rss/1.0/"
RSS090 = "http://my.netscape.com/rdf/simple/0.9/"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

# feedparser's standard prefix of each namespace it knows ("" for the feed formats).
PREFIXES: dict[str, str] = {k.lower(): v for k, v in StrictFeedParser.namespaces.items()}
# Every element name feedparser handles specially: any other element only adds a key of
# its own name to its context, which parse_feed never reads.
HANDLED = frozenset(
    name.split("_", 2)[2].lower() if name.startswith("_start_") else name[5:].lower()
    for name in dir(StrictFeedParser)
    if name.startswith(("_start_", "_end_"))
)
# Keys an unhandled element must not be named after: parse_feed (or feedparser's own
# views of them, like `enclosures`) reads them.
RESERVED = frozenset({"links", "enclosures", "authors", "tags", "contributors", "guidislink"})
XHTML = "application/xhtml+xml"
HTML_TYPES = ("text/html", XHTML)
PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
UPDATED = frozenset({"updated", "modified", "dc_date", "dcterms_modified"})
CREATED = frozenset({"created", "dcterms_created"})
AUTHORS = frozenset({"author", "dc_creator", "itunes_author"})
PERSON_PARTS = frozenset({"name", "email", "uri", "url", "homepage"})
# Handled elements that touch no key parse_feed reads, in a channel or feed ...
HARMLESS_FEED = frozenset(
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
HARMLESS_ENTRY = frozenset(
    {
        "category", "dc_subject", "keywords", "media_category", "media_keywords",
        "itunes_keywords", "itunes_category", "itunes_explicit", "itunes_block",
        "itunes_subtitle", "itunes_image", "media_content", "media_thumbnail", "media_credit",
        "media_rating", "media_restriction", "media_license", "expirationdate", "contributor",
        "media_player",
    }
)  # fmt: skip
# What may nest inside those (people's parts, iTunes subcategories).
HARMLESS_NESTED = frozenset({*PERSON_PARTS, "itunes_name", "itunes_email", "itunes_category"})
TEXTS = frozenset(
    {
        "description", "summary", "itunes_summary", "content", "content_encoded",
        "media_description", "dc_description", "abstract", "body", "xhtml_body", "fullitem",
    }
)  # fmt: skip
# Entry-level elements harmless only as the entry's own children.
HARMLESS_ENTRY_TOP = frozenset(
    {
        "dc_publisher", "webmaster", "dc_rights", "rights", "copyright", "dc_language",
        "language", "georss_point", "georss_line", "georss_polygon", "georss_box",
    }
)  # fmt: skip
IMAGE_PARTS = frozenset({"url", "title", "link", "description", "width", "height"})

_XML_DECL_ENCODING = re.compile(rb"^<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']", re.I)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
# Encodings lxml and feedparser decode alike (ASCII is UTF-8 here: a byte past it fails
# in lxml, and the document goes to feedparser).
_FAMILIES = {
    **dict.fromkeys(("utf-8", "utf8", "us-ascii", "ascii"), "utf-8"),
    **dict.fromkeys(("iso-8859-1", "latin-1", "latin1"), "latin-1"),
}


class Decline(Exception):
    """The document holds something this reader does not reproduce exactly."""


def fp_name(el: Any) -> str:
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
            raise Decline  # a prefix without a namespace
        return tag.lower()
    ns, local = tag[1:].split("}", 1)
    ns_lower = ns.lower()
    if "backend.userland.com/rss" in ns_lower:
        prefix: str | None = ""
    else:
        prefix = PREFIXES.get(ns_lower)
        if prefix is None:
            prefix = (given or "").lower()
    return f"{prefix}_{local.lower()}" if prefix else local.lower()


def fp_attrs(el: Any) -> dict[str, str]:
    """Attributes as feedparser sees them: names in lower case, `rel` and `type` values
    too."""
    found: dict[str, str] = {}
    for key, value in el.attrib.items():
        if key[0] == "{":
            if key in (XML_BASE, XML_LANG):
                continue  # bases: fastscope.scoped_bases; parse_feed reads no language
            ns, local = key[1:].split("}", 1)
            prefix = PREFIXES.get(ns.lower(), "")
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        found[key] = value.lower() if key in ("rel", "type") else value
    if "base" in found:
        raise Decline  # feedparser takes a bare `base` attribute as xml:base
    return found


def map_type(value: str) -> str:
    value = value.lower()
    return {"text": "text/plain", "plain": "text/plain", "html": "text/html"}.get(
        value, "application/xhtml+xml" if value == "xhtml" else value
    )


def leaf_text(el: Any) -> str:
    if len(el):
        raise Decline  # markup or a comment inside: feedparser's inline-content rules
    return el.text or ""


def no_handled_below(el: Any, allowed: frozenset[str] = frozenset()) -> None:
    for child in el.iterdescendants():
        name = fp_name(child)
        if name in HANDLED and name not in allowed:
            raise Decline(name)
        fp_attrs(child)


@dataclass(slots=True)
class EntryState:
    titles: Titles
    texts: int  # summaries, descriptions and contents, however deep
    content: bool = False


class Titles:
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


def check_textinput(el: Any) -> None:
    """RSS's search box: its parts go to a context of their own; only plain parts, since
    any other element takes feedparser out of it."""
    fp_attrs(el)
    for child in el:
        name = fp_name(child)
        if name and (name not in ("title", "link", "description", "name") or child.prefix):
            raise Decline(name)
        if name:
            fp_attrs(child)
            leaf_text(child)


def sync_author(entry: dict[str, Any], person: dict[str, str]) -> None:
    if not person:
        return
    name, email = person.get("name"), person.get("email")
    if name and email:
        entry["author"] = f"{name} ({email})"
    elif name:
        entry["author"] = name
    elif email:
        entry["author"] = email


def read_author(el: Any, entry: dict[str, Any], finish: Callable[[str], str]) -> None:
    """feedparser's author rules: the element's own text, then, when it has a name
    or an email inside, "name (email)", "name" or "email"."""
    if fp_attrs(el):
        raise Decline
    person: dict[str, str] = {}
    text = [el.text or ""]
    for child in el:
        part = fp_name(child)
        text.append(child.tail or "")
        if not part:
            continue
        if part not in PERSON_PARTS:
            if part in HANDLED or "".join(child.itertext()).strip():
                raise Decline(part)  # e.g. Blogger's empty <gd:image src=...>
            no_handled_below(child)
            continue
        if fp_attrs(child):
            raise Decline(part)
        value = leaf_text(child).strip()
        if part in ("name", "email"):
            person[part] = value
            sync_author(entry, person)
    entry["author"] = finish("".join(text))
    sync_author(entry, person)


def plain_encoding(body: bytes, headers: dict[str, str]) -> bool:
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
    if "content-type" not in headers and not declared and b"&#" in body and not body.isascii():
        # feedparser reads it as Latin-1 and mends each text from UTF-8, which fails where
        # a character reference stands beside a literal non-ASCII character: text unlike
        # lxml's, which decodes it as UTF-8.
        return False
    return family is not None and http == family and not (bom and family != "utf-8")


def read_chapters(el: Any) -> None:
    """Podlove chapters: feedparser keeps them under a key parse_feed does not read. Its
    chapter handler raises on a chapter without `start`, which ends its reading of the
    document, and text inside would join another element's: both decline."""
    fp_attrs(el)
    for child in el.iterdescendants():
        name = fp_name(child)
        if name == "psc_chapter":
            if "start" not in fp_attrs(child):
                raise Decline(name)
        elif name in HANDLED:
            raise Decline(name)
        else:
            fp_attrs(child)
    for node in (el, *el.iterdescendants()):
        if (node.text or "").strip() or (node is not el and (node.tail or "").strip()):
            raise Decline("psc_chapters")


def unmapped(child: Any, name: str, harmless: frozenset[str]) -> None:
    """An element this reader does not map: a harmless one is read as feedparser reads it
    (attributes, nothing handled below); one feedparser gives a meaning that is not
    reproduced here declines the document."""
    if name in harmless:
        fp_attrs(child)
        no_handled_below(child, HARMLESS_NESTED)
    elif name in HANDLED or name in RESERVED or name.endswith(("_detail", "_parsed")):
        raise Decline(name)
    else:
        fp_attrs(child)
        no_handled_below(child)
