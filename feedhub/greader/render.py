"""Google Reader JSON items and subscriptions, and the Atom form of a stream
(`/reader/atom/…`).

In the Atom form each entry carries its state as Google Reader marked it: a category
`user/-/state/com.google/read` with scheme `http://www.google.com/reader/` and label
`read` (newsboat reads an entry as read only when `label` is there, PITFALLS.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from html import escape
from typing import Any
from xml.sax.saxutils import quoteattr

import msgspec
from feedgen.feed import FeedGenerator

from feedhub.api.icons import icon_path
from feedhub.greader.protocol import item_categories, label_id, long_id, usec
from feedhub.greader.service import Subscription
from feedhub.readers.queries import Item

__all__ = [
    "ItemJSON",
    "atom_size",
    "atom_stream",
    "item_json",
    "media_of",
    "subscriptions_json",
    "with_players",
]

SCHEME = "http://www.google.com/reader/"
# Google Reader's namespace for what Atom has no element for: the continuation.
GR_NS = "http://www.google.com/schemas/reader/atom/"
# An entry's markup around its text: id, dates, link, state categories (measured: ~700).
_ENTRY_OVERHEAD = 1024
# What XML 1.0 cannot carry even escaped (C0 controls but tab and newlines, lone surrogates,
# U+FFFE/U+FFFF): a feed's text may hold them, and one made the whole document unwritable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def media_of(item: Item) -> list[dict[str, Any]]:
    """The stored enclosures as Google Reader's `enclosure` members: `href` as Google Reader
    and FreshRSS name it, `url` as well for the clients that read that name instead."""
    media: list[dict[str, Any]] = []
    for stored in item.enclosures or ():
        url = stored.get("url") if isinstance(stored, dict) else None
        if not isinstance(url, str):
            continue
        one: dict[str, Any] = {"href": url, "url": url, "type": stored.get("type") or ""}
        if isinstance(stored.get("length"), int):
            one["length"] = stored["length"]
        media.append(one)
    return media


def _player(media: dict[str, Any]) -> str:
    url = escape(media["href"], quote=True)
    kind = str(media["type"]).split("/", 1)[0]
    link = f'<a href="{url}" rel="noopener noreferrer">{escape(media["href"])}</a>'
    if kind in ("audio", "video"):
        return (
            f'<p class="enclosure"><{kind} controls preload="none" src="{url}"></{kind}> {link}</p>'
        )
    if kind == "image":
        return f'<p class="enclosure"><img src="{url}" alt=""> {link}</p>'
    return f'<p class="enclosure">{link}</p>'


def with_players(html: str, media: Sequence[dict[str, Any]]) -> str:
    """The content with a player (or a link) per enclosure, after the text, as FreshRSS
    serves it: apps without their own podcast view then still play the file. A file the
    content already links to is not repeated."""
    if not media:  # most articles: no players to add
        return html
    extra = "".join(_player(m) for m in media if escape(m["href"], quote=True) not in html)
    return html + extra


class _Summary(msgspec.Struct):
    direction: str
    content: str


class _Origin(msgspec.Struct, rename="camel"):
    stream_id: str
    title: str
    html_url: str


class ItemJSON(msgspec.Struct, rename="camel"):
    """A Google Reader item, as msgspec structs rather than dicts: made and encoded in
    five sixths of the time, 100 per page (the same bytes, members in this order)."""

    id: str
    crawl_time_msec: str
    timestamp_usec: str
    published: int
    updated: int
    title: str
    canonical: list[dict[str, str]]
    alternate: list[dict[str, str]]
    summary: _Summary
    enclosure: list[dict[str, Any]]
    author: str
    categories: list[str]
    origin: _Origin


def item_json(item: Item) -> ItemJSON:
    fetched = usec(item.fetched_at)
    media = media_of(item)
    published = int(item.published_at.timestamp())
    return ItemJSON(
        id=long_id(item.id),
        crawl_time_msec=str(fetched // 1000),
        timestamp_usec=str(fetched),
        published=published,
        updated=published,
        # Markup-escaped as Google Reader served titles: apps render them as HTML (a plain
        # "Vector<T>" would lose "<T>" there), and decode the entities for their lists.
        title=escape(item.title, quote=False),
        canonical=[{"href": item.url}] if item.url else [],
        alternate=[{"href": item.url, "type": "text/html"}] if item.url else [],
        summary=_Summary("ltr", with_players(item.content or item.summary, media)),
        enclosure=media,
        author=item.author or "",
        categories=item_categories(item.category_name, item.read, item.starred),
        origin=_Origin(f"feed/{item.feed_id}", item.feed_title, item.feed_site_url or ""),
    )


class _Label(msgspec.Struct):
    id: str
    label: str


class _Subscription(msgspec.Struct, rename={"html_url": "htmlUrl", "icon_url": "iconUrl"}):
    id: str
    title: str
    url: str
    html_url: str
    icon_url: str
    sortid: str
    firstitemmsec: str
    categories: list[_Label]


def subscriptions_json(subscriptions: Sequence[Subscription], base_url: str) -> bytes:
    """The body of `subscription/list`, from msgspec structs (a fifth less time than dicts);
    `base_url` is where the app reaches feedhub (the icons' URLs)."""
    # One list per label, shared by its feeds (the encoder writes it out for each).
    labels: dict[str, list[_Label]] = {}
    for s in subscriptions:
        if s.label not in labels:
            labels[s.label] = [_Label(label_id(s.label), s.label)]
    return msgspec.json.encode({"subscriptions": [
        _Subscription(
            f"feed/{s.feed_id}", s.title, s.url, s.site_url or "", base_url + icon_path(s.feed_id),
            f"{s.feed_id:08X}", str(int(s.created_at.timestamp() * 1000)), labels[s.label],
        )
        for s in subscriptions
    ]})  # fmt: skip


def _escaped_bytes(text: str) -> int:
    """What `text` takes in XML, escaped (`<` is `&lt;`...) and UTF-8 encoded."""
    extra = 3 * (text.count("<") + text.count(">")) + 4 * text.count("&") + 5 * text.count('"')
    return len(text.encode("utf-8", "replace")) + extra


# The markup of one `<link rel="enclosure" href="" type="" length=""/>`, give or take.
_ENCLOSURE_OVERHEAD = 96


def atom_size(item: Item) -> int:
    """The bytes an entry takes in `atom_stream` (not less, give or take its fixed markup):
    what the Atom form's byte budget counts, without writing the entry twice."""
    media = media_of(item)
    body = with_players(item.content or item.summary or "", media)
    texts = (body, item.title or "", item.url or "", item.url or "", item.author or "")
    links = sum(_ENCLOSURE_OVERHEAD + 2 * _escaped_bytes(m["href"]) for m in media)
    return _ENTRY_OVERHEAD + links + sum(_escaped_bytes(t) for t in texts)


def atom_stream(
    stream_id: str,
    title: str,
    self_url: str,
    items: Sequence[Item],
    now: datetime,
    continuation: str | None = None,
) -> bytes:
    """The Atom form of a stream; `continuation` as Google Reader wrote it, a
    `gr:continuation` element of the feed (the `c` of the next page)."""
    fg = FeedGenerator()
    fg.id(_xml(f"tag:google.com,2005:reader/{stream_id}"))
    fg.title(_xml(title) or "(untitled)")
    fg.link(href=_xml(self_url), rel="self")
    fg.generator("feedhub")
    fg.updated(max((i.fetched_at for i in items), default=now.astimezone(UTC)))
    for item in items:
        entry = fg.add_entry(order="append")
        entry.id(long_id(item.id))
        entry.title(_xml(item.title or "") or "(untitled)")
        if item.url:
            entry.link(href=_xml(item.url), rel="alternate")
        # The player only: feedgen writes no `rel` on an entry's links, so an enclosure link
        # would read as the article's own link.
        body = with_players(item.content or item.summary or "", media_of(item))
        entry.content(_xml(body), type="html")
        if item.author and (author := _xml(item.author)):
            entry.author(name=author)
        entry.published(item.published_at)
        entry.updated(item.published_at)
        for term in item_categories(item.category_name, item.read, item.starred):
            term = _xml(term)
            entry.category(term=term, scheme=SCHEME, label=term.rsplit("/", 1)[-1])
    data: bytes = fg.atom_str(pretty=False)
    if any(item.enclosures for item in items):
        data = _with_enclosure_links(data, [media_of(item) for item in items])
    if continuation is not None:
        # feedgen has no such element: it goes before the feed's end tag, its own
        # namespace declared on it (the continuation is digits: nothing to escape).
        head, end, tail = data.rpartition(b"</feed>")
        element = f'<gr:continuation xmlns:gr="{GR_NS}">{int(continuation)}</gr:continuation>'
        data = head + element.encode() + end + tail
    return data


def _with_enclosure_links(data: bytes, media: list[list[dict[str, Any]]]) -> bytes:
    """Each entry's enclosures as `<link rel="enclosure">` (RFC 4287), what feed readers such
    as newsboat take a podcast episode from. feedgen drops `rel`, `type` and `length` from an
    entry's links (its writer reads them from the element it just made), so they go into its
    output here, before each entry's end tag, in order (text in an entry is escaped: its
    only `</entry>` is its end)."""
    parts = data.split(b"</entry>")
    if len(parts) != len(media) + 1:  # pragma: no cover - feedgen writes one per item
        raise ValueError("entries and items differ")
    out = [parts[0]]
    for enclosures, rest in zip(media, parts[1:], strict=True):
        for one in enclosures:
            attributes = {"rel": "enclosure", "href": _xml(one["href"])}
            if one["type"]:
                attributes["type"] = _xml(str(one["type"]))
            if "length" in one:
                attributes["length"] = str(one["length"])
            written = " ".join(f"{k}={quoteattr(v)}" for k, v in attributes.items())
            out.append(f"<link {written}/>".encode())
        out.append(b"</entry>" + rest)
    return b"".join(out)
