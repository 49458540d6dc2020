"""Titles at ingest: plain-text titles keep every character, titles the feed marks as
markup lose their tags (RSS as feedparser reads it, Atom `type`, JSON Feed by the look)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from feedhub.ingest.jsonfeed import parse_json_feed
from feedhub.ingest.parse import parse_feed

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _rss(*titles: str) -> bytes:
    items = "".join(
        f"<item><guid>g{i}</guid><title>{t}</title></item>" for i, t in enumerate(titles)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Vector&lt;T&gt; weekly</title>'
        f"{items}</channel></rss>"
    ).encode()


def test_plain_rss_titles_keep_angle_brackets() -> None:
    feed = parse_feed(
        _rss(
            "\u201cHidden festival\u201d revives &lt;debate&gt;",
            "Why &lt;canvas&gt; matters",
            "Vector&lt;T&gt;",
            "AT&amp;amp;T  merges",
            "&lt;b&gt;Bold&lt;/b&gt; news",  # HTML the feed escaped: feedparser reads markup
        ),
        url="http://127.0.0.1:1/f.xml", headers={}, fetched_at=NOW,
    )  # fmt: skip
    assert [e.title for e in feed.entries] == [
        "\u201cHidden festival\u201d revives <debate>",
        "Why <canvas> matters",
        "Vector<T>",
        "AT&T merges",
        "Bold news",
    ]
    assert feed.title == "Vector<T> weekly"


def test_atom_titles_follow_their_type() -> None:
    body = (
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        b'<entry><id>1</id><title type="text">Vector&lt;T&gt;</title></entry>'
        b'<entry><id>2</id><title type="html">&lt;b&gt;Bold&lt;/b&gt; a &amp;lt; b</title></entry>'
        b"</feed>"
    )
    feed = parse_feed(body, url="http://127.0.0.1:1/a.xml", headers={}, fetched_at=NOW)
    assert [e.title for e in feed.entries] == ["Vector<T>", "Bold a < b"]


def test_json_feed_titles_are_text_unless_they_are_clearly_markup() -> None:
    doc = {
        "version": "https://jsonfeed.org/version/1.1", "title": "Why <canvas> matters",
        "items": [{"id": "1", "title": "Vector<T>"}, {"id": "2", "title": "Hello <b>world</b>"}],
    }  # fmt: skip
    feed = parse_json_feed(
        json.dumps(doc).encode(), url="http://127.0.0.1:1/f.json", fetched_at=NOW
    )
    assert feed.title == "Why <canvas> matters"
    assert [e.title for e in feed.entries] == ["Vector<T>", "Hello world"]
