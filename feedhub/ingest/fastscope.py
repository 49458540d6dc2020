"""The fast parse path's reading of a whole document (pure): whether lxml reads it as
feedparser does, the base feedparser keeps at each element (`xml:base`), and feedparser's
writing of inline XHTML. ingest/fastparse.py reads the elements.
"""

from __future__ import annotations

from typing import Any
from xml.sax.saxutils import escape

from feedparser.urls import _urljoin, make_safe_absolute_uri
from lxml import etree

from feedhub.ingest.fastnames import HANDLED, XML_BASE, Decline, fp_name, plain_encoding

__all__ = ["scoped_bases", "well_formed", "xhtml_text"]


def well_formed(body: bytes, headers: dict[str, str]) -> Any | None:
    """The document's root, when lxml reads it as feedparser's strict parser would: an
    encoding both decode alike, no DOCTYPE (no DTD is read, no entity resolved, nothing
    fetched; libxml2's own depth and size limits apply), no recovery, no namespace error."""
    if not plain_encoding(body, headers) or b"<!DOCTYPE" in body or b"<!doctype" in body:
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
    return root


def scoped_bases(root: Any, base: str) -> dict[Any, str]:
    """feedparser's base at each element, as its parser keeps it, in document order: at a
    start tag the element's `xml:base` (or its parent's base) joined to the current base
    (an unsafe result keeps the current one), and at an end tag back to the parent's base,
    unless that one is empty: then the child's stays, for the siblings that follow too.
    Declines an IRI. The keys keep lxml's proxies alive, so the reader's own walk meets
    the same objects."""
    bases: dict[Any, str] = {}
    stack: list[str] = []
    joined: dict[tuple[str, str], str] = {}  # most elements join the same base to itself
    for event, el in etree.iterwalk(root, events=("start", "end")):
        if not isinstance(el.tag, str):
            continue
        if event == "start":
            given = el.get(XML_BASE) or el.get("base") or base
            if not given.isascii():
                raise Decline  # feedparser's base of an IRI is its UTF-8 read as Latin-1
            key = (base, given)
            if key not in joined:
                joined[key] = (
                    (make_safe_absolute_uri(base, given) or base) if base else _urljoin(base, given)
                )
            base = joined[key]
            stack.append(base)
            bases[el] = base
        else:
            stack.pop()
            if stack and stack[-1]:
                base = stack[-1]
    return bases


_QUOTE = {'"': "&quot;"}


def xhtml_text(el: Any) -> str:
    """feedparser's reading of an Atom text of type xhtml: the markup written back as start
    and end tags (names lower-cased, without prefix; attributes in document order, their
    names lower-cased, `rel` and `type` values too) around escaped text, comments and
    processing instructions dropped, and one `div` that wraps everything else unwrapped.
    Declines what feedparser treats otherwise: an element it has a handler for (its end
    handler runs inside the text too), SVG and MathML (which gain an `xmlns`), and a
    namespaced attribute (which it may write twice)."""
    pieces: list[str] = []
    if el.text:
        pieces.append(escape(el.text))
    for child in el:
        _xhtml_pieces(child, pieces)
    # feedparser's `pop`, for atom10 xhtml: blank pieces off both ends, then the wrapper.
    while len(pieces) > 1 and not pieces[-1].strip():
        del pieces[-1]
    while len(pieces) > 1 and not pieces[0].strip():
        del pieces[0]
    if (
        pieces
        and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
        and pieces[-1] == "</div>"
    ):
        depth = 0
        for piece in pieces[:-1]:
            if piece.startswith("</"):
                depth -= 1
                if depth == 0:
                    break
            elif piece.startswith("<"):
                depth += 1
        else:
            pieces = pieces[1:-1]
    return "".join(pieces)


def _xhtml_pieces(el: Any, pieces: list[str]) -> None:
    if isinstance(el.tag, str):
        name = fp_name(el)
        local = el.tag.rsplit("}", 1)[-1].lower()
        if name in HANDLED or local in ("svg", "math"):
            raise Decline(name)
        attrs = []
        for key, value in el.attrib.items():
            if key[0] == "{":
                raise Decline
            key = key.lower()
            value = value.lower() if key in ("rel", "type") else value
            attrs.append(f' {key}="{escape(value, _QUOTE)}"')
        pieces.append(f"<{local}{''.join(attrs)}>")
        if el.text:
            pieces.append(escape(el.text))
        for child in el:
            _xhtml_pieces(child, pieces)
        pieces.append(f"</{local}>")
    if el.tail:
        pieces.append(escape(el.tail))
