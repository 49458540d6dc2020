"""Server-Sent Events text: one function writes every block the stream sends."""

from __future__ import annotations

import msgspec

from feedhub.live.sse import KEEPALIVE, encode_article, encode_articles, sse_block


class _Article(msgspec.Struct):
    id: int
    title: str


def test_blocks_in_the_order_the_browser_reads_them() -> None:
    assert sse_block(retry=3000) == b"retry: 3000\n\n"
    assert sse_block(id=7, event="hello", data=b'{"last_id": 7}') == (
        b'id: 7\nevent: hello\ndata: {"last_id": 7}\n\n'
    )
    assert KEEPALIVE == b": keep-alive\n\n"


def test_an_article_event_carries_its_id_and_json() -> None:
    assert (
        encode_article(_Article(5, "T")) == b'id: 5\nevent: article\ndata: {"id":5,"title":"T"}\n\n'
    )
    assert [i for i, _ in encode_articles([_Article(1, "a"), _Article(2, "b")])] == [1, 2]
