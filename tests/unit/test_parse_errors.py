"""What a poll says about a document that is not a usable feed: broken XML is a parse
error in words (where it breaks), and only a well-formed feed without items is empty."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from feedhub.core.errors import EmptyFeedError, ParseError
from feedhub.ingest.parse import parse_feed

NOW = datetime(2024, 5, 1, tzinfo=UTC)
HEADERS = {"content-type": "application/rss+xml"}


def _parse(body: bytes) -> None:
    parse_feed(body, url="http://127.0.0.1/feed.xml", headers=HEADERS, fetched_at=NOW)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'<rss version="2.0">\n<channel><title>x</title><ite', "(unclosed token)"),
        (b'<rss version="2.0">\n<channel><title>x</title>\x00\x01<<<>>>', "(not well-formed"),
    ],
)
def test_badly_broken_xml_is_a_parse_error_not_an_empty_feed(body: bytes, why: str) -> None:
    with pytest.raises(ParseError) as raised:
        _parse(body)
    assert not isinstance(raised.value, EmptyFeedError)
    assert str(raised.value).startswith(f"not a feed: the XML is broken {why}")


def test_a_well_formed_feed_without_items_is_empty() -> None:
    with pytest.raises(EmptyFeedError, match="^the feed has no entries$"):
        _parse(b'<rss version="2.0"><channel><title>x</title></channel></rss>')


def test_an_empty_item_is_no_entry() -> None:
    """An `<item />` nested in another (a real feed does it after every item) carries
    nothing: the items around it are the entries, and a feed of only such items is empty."""
    nested = (
        b'<rss version="2.0"><channel><title>x</title>'
        b"<item><title>One</title><link>http://127.0.0.1/1</link><item /></item>"
        b"<item><title>Two</title><link>http://127.0.0.1/2</link><item /></item>"
        b"</channel></rss>"
    )
    parsed = parse_feed(nested, url="http://127.0.0.1/feed.xml", headers=HEADERS, fetched_at=NOW)
    assert parsed is not None
    assert [e.title for e in parsed.entries] == ["One", "Two"]
    with pytest.raises(EmptyFeedError, match="^the feed has no entries$"):
        _parse(b'<rss version="2.0"><channel><title>x</title><item /><item></item></channel></rss>')
