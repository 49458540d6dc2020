"""Server-Sent Events text: the one function that writes it, and the article event.

Every byte a stream sends goes through `sse_block`, so the framing rules (one field per
line, a blank line ends an event, comments start with a colon) live in one place
(DESIGN.md "The stream"; https://html.spec.whatwg.org/multipage/server-sent-events.html).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import msgspec

__all__ = ["KEEPALIVE", "Event", "encode_article", "encode_articles", "sse_block"]

_encoder = msgspec.json.Encoder()


class Event(Protocol):
    """What an article event needs: its id (the resume point) and its JSON fields."""

    @property
    def id(self) -> int: ...


def sse_block(
    *,
    event: str | None = None,
    data: bytes | None = None,
    id: int | None = None,
    retry: int | None = None,
    comment: str | None = None,
) -> bytes:
    """One SSE block: fields in the order the browser reads them, then a blank line.

    `data` must be one line (our JSON is); the callers never send multi-line data.
    """
    lines: list[bytes] = []
    if comment is not None:
        lines.append(b": " + comment.encode())
    if retry is not None:
        lines.append(b"retry: %d" % retry)
    if id is not None:
        lines.append(b"id: %d" % id)
    if event is not None:
        lines.append(b"event: " + event.encode())
    if data is not None:
        lines.append(b"data: " + data)
    return b"\n".join(lines) + b"\n\n"


KEEPALIVE = sse_block(comment="keep-alive")


def encode_article(article: Event) -> bytes:
    return sse_block(id=article.id, event="article", data=_encoder.encode(article))


def encode_articles(articles: Iterable[Event]) -> list[tuple[int, bytes]]:
    """(id, bytes) per article, oldest first as given: the hub's batches and the replay."""
    return [(a.id, encode_article(a)) for a in articles]
