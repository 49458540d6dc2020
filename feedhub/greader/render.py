"""Google Reader JSON items and the Atom form of a stream (`/reader/atom/…`).

In the Atom form each entry carries its state as Google Reader marked it: a category
`user/-/state/com.google/read` with scheme `http://www.google.com/reader/` and label
`read` (newsboat reads an entry as read only when `label` is there, PITFALLS.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator

from feedhub.greader.protocol import item_categories, long_id, usec
from feedhub.readers.queries import Item

__all__ = ["atom_stream", "item_json"]

SCHEME = "http://www.google.com/reader/"
# What XML 1.0 cannot carry even escaped (C0 controls but tab and newlines, lone surrogates,
# U+FFFE/U+FFFF): a feed's text may hold them, and one made the whole document unwritable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml(text: str) -> str:
    return _NOT_XML.sub("", text)


def item_json(item: Item) -> dict[str, Any]:
    fetched = usec(item.fetched_at)
    links = [{"href": item.url, "type": "text/html"}] if item.url else []
    return {
        "id": long_id(item.id),
        "crawlTimeMsec": str(fetched // 1000),
        "timestampUsec": str(fetched),
        "published": int(item.published_at.timestamp()),
        "updated": int(item.published_at.timestamp()),
        "title": item.title,
        "canonical": [{"href": item.url}] if item.url else [],
        "alternate": links,
        "summary": {"direction": "ltr", "content": item.content or item.summary},
        "author": item.author or "",
        "categories": item_categories(item.category_name, item.read, item.starred),
        "origin": {
            "streamId": f"feed/{item.feed_id}",
            "title": item.feed_title,
            "htmlUrl": item.feed_site_url or "",
        },
    }


def atom_stream(
    stream_id: str, title: str, self_url: str, items: Sequence[Item], now: datetime
) -> bytes:
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
        entry.content(_xml(item.content or item.summary or ""), type="html")
        if item.author and (author := _xml(item.author)):
            entry.author(name=author)
        entry.published(item.published_at)
        entry.updated(item.published_at)
        for term in item_categories(item.category_name, item.read, item.starred):
            term = _xml(term)
            entry.category(term=term, scheme=SCHEME, label=term.rsplit("/", 1)[-1])
    data: bytes = fg.atom_str(pretty=False)
    return data
