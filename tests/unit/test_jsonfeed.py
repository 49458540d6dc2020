"""Tests for the JSON Feed reader (feedhub.ingest.jsonfeed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from feedhub.core.errors import ParseError
from feedhub.core.types import ParsedFeed
from feedhub.ingest.jsonfeed import is_json_feed, parse_json_feed

URL = "https://example.org/feed.json"
FETCHED = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
V11 = "https://jsonfeed.org/version/1.1"
V10 = "https://jsonfeed.org/version/1"


def doc(items: list[Any], **feed: Any) -> bytes:
    return json.dumps({"version": V11, "title": "Example", "items": items, **feed}).encode()


def parse(body: bytes, **kwargs: Any) -> ParsedFeed:
    return parse_json_feed(body, url=URL, fetched_at=FETCHED, **kwargs)


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"", "application/feed+json", True),
        (b"{}", "application/feed+json; charset=utf-8", True),
        (doc([]), "application/json", True),
        (doc([]), None, True),
        (b"\xef\xbb\xbf \n" + doc([]), "text/plain", True),
        (b'{"version": "https://jsonfeed.org/version/1", "items": []}', None, True),
        (b'{"items": [], "version": "http://jsonfeed.org/version/1"}', None, True),
        (b'{"version": "1.1", "items": []}', "application/json", False),
        (b'{"error": "not found"}', "application/json", False),
        (b'{"version": 1}', "application/json", False),
        (b"[1, 2]", "application/json", False),
        (b'{"version": "https://jsonfeed.org/version/1.1"', "application/json", False),
        (b'<?xml version="1.0"?><rss/>', "application/json", False),
        (b"<html></html>", "text/html", False),
    ],
)
def test_is_json_feed(body: bytes, content_type: str | None, expected: bool) -> None:
    assert is_json_feed(body, content_type) is expected


def test_feed_level_fields() -> None:
    feed = parse(doc([], title="My <i>Site</i> &amp; co", home_page_url="/"))
    assert feed.title == "My Site & co"
    assert feed.site_url == "https://example.org/"
    assert feed.version == "json1.1"
    assert feed.entries == ()
    assert feed.guid_unreliable is False


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        (V11, "json1.1"),
        (V10, "json1.0"),
        (V10 + "/", "json1.0"),
        ("http://jsonfeed.org/version/1", "json1.0"),
    ],
)
def test_version(version: str, expected: str) -> None:
    body = json.dumps({"version": version, "items": []}).encode()
    assert parse(body).version == expected


# (item, field, expected value) — one field of the single resulting entry.
ITEM_CASES = [
    pytest.param({"id": "a1", "url": "https://x.example/1"}, "guid", "a1", id="string-id"),
    pytest.param({"id": 42, "url": "https://x.example/1"}, "guid", "42", id="numeric-id"),
    pytest.param({"url": "https://x.example/1"}, "guid", None, id="missing-id"),
    pytest.param({"id": "a", "url": "https://x.example/1"}, "key", "guid:a", id="key-from-guid"),
    pytest.param({"url": "https://x.example/1"}, "key", "link:https://x.example/1",
                 id="key-from-link"),
    pytest.param({"id": "a", "url": "/posts/1"}, "url", "https://example.org/posts/1",
                 id="relative-url-resolved"),
    pytest.param({"id": "a", "external_url": "https://y.example/"}, "url", "https://y.example/",
                 id="external-url-fallback"),
    pytest.param({"id": "a", "url": "https://x.example/?utm_source=feed&p=1"}, "url",
                 "https://x.example/?p=1", id="tracking-params-removed"),
    pytest.param({"id": "a", "title": "Hello <b>world</b>"}, "title", "Hello world",
                 id="title-plain"),
    pytest.param({"id": "a", "content_html": "<p>Hi<script>alert(1)</script></p>",
                  "summary": "Short"}, "content", "<p>Hi</p>", id="content-html-sanitized"),
    pytest.param({"id": "a", "content_text": "a < b\nline two\n\nsecond para",
                  "summary": "s"}, "content",
                 "<p>a &lt; b<br>line two</p><p>second para</p>", id="content-text-escaped"),
    pytest.param({"id": "a", "content_html": "<p>H</p>", "content_text": "T", "summary": "s"},
                 "content", "<p>H</p>", id="html-preferred-over-text"),
    pytest.param({"id": "a", "summary": "x < y & z"}, "summary", "x &lt; y &amp; z",
                 id="summary-is-plain-text"),
    pytest.param({"id": "a", "content_html": "<p>Body</p>"}, "summary", "<p>Body</p>",
                 id="summary-falls-back-to-content"),
    pytest.param({"id": "a", "authors": [{"url": "u"}, {"name": "Ann"}]}, "author", "Ann",
                 id="authors-1.1"),
    pytest.param({"id": "a", "author": {"name": "Bob"}}, "author", "Bob", id="author-1.0"),
    pytest.param({"id": "a", "authors": "Ann"}, "author", None, id="authors-wrong-type"),
    pytest.param({"id": "a", "date_published": "2024-04-30T10:00:00Z"}, "published_at",
                 datetime(2024, 4, 30, 10, tzinfo=UTC), id="date-z"),
    pytest.param({"id": "a", "date_published": "2024-04-30t12:00:00+02:00"}, "published_at",
                 datetime(2024, 4, 30, 10, tzinfo=UTC), id="date-offset-lowercase-t"),
    pytest.param({"id": "a", "date_published": "2024-04-30T10:00:00.123456Z"}, "published_at",
                 datetime(2024, 4, 30, 10, 0, 0, 123456, tzinfo=UTC), id="date-fraction"),
    pytest.param({"id": "a", "date_modified": "2024-04-29T10:00:00Z"}, "published_at",
                 datetime(2024, 4, 29, 10, tzinfo=UTC), id="date-modified-fallback"),
    pytest.param({"id": "a", "date_published": "yesterday"}, "published_at", FETCHED,
                 id="bad-date-is-fetch-time"),
    pytest.param({"id": "a"}, "published_at", FETCHED, id="no-date-is-fetch-time"),
    pytest.param({"id": "a", "date_published": "2030-01-01T00:00:00Z"}, "published_at", FETCHED,
                 id="future-date-clamped"),
]  # fmt: skip


@pytest.mark.parametrize(("item", "field", "expected"), ITEM_CASES)
def test_item_mapping(item: dict[str, Any], field: str, expected: object) -> None:
    feed = parse(doc([item]))
    assert len(feed.entries) == 1
    assert getattr(feed.entries[0], field) == expected


def test_feed_author_inherited_by_items() -> None:
    feed = parse(doc([{"id": "a"}, {"id": "b", "author": {"name": "Own"}}],
                     authors=[{"name": "Feed Author"}]))  # fmt: skip
    assert [entry.author for entry in feed.entries] == ["Feed Author", "Own"]


def test_unsplittable_urls_dropped_not_fatal() -> None:
    feed = parse(doc([{"id": "a", "url": "http://[oops/1"}, {"id": "b"}], home_page_url="http://["))
    assert [(entry.guid, entry.url) for entry in feed.entries] == [("a", None), ("b", None)]
    assert feed.site_url is None


def test_bad_items_skipped_and_duplicates_dropped() -> None:
    # A repeat of the same story is dropped; one id on two different stories is not a
    # repeat (broken ids fall back to the content hash; see
    # integration/test_hostile_feeds.py).
    items = ["not an object", 3, None, {"id": "a", "title": "First"}, {"id": "a", "title": "First"}]
    feed = parse(doc(items))
    assert [entry.title for entry in feed.entries] == ["First"]


def test_repeated_guid_with_different_links_marks_unreliable() -> None:
    items = [
        {"id": "same", "url": "https://x.example/1"},
        {"id": "same", "url": "https://x.example/2"},
    ]
    feed = parse(doc(items))
    assert feed.guid_unreliable is True
    assert [entry.key for entry in feed.entries] == [
        "guid:same link:https://x.example/1",
        "guid:same link:https://x.example/2",
    ]


def test_guid_unreliable_flag_carried_from_earlier_polls() -> None:
    feed = parse(doc([{"id": "g", "url": "https://x.example/1"}]), guid_unreliable=True)
    assert feed.guid_unreliable is True
    assert feed.entries[0].key == "guid:g link:https://x.example/1"


def test_real_world_shaped_document() -> None:
    body = b"\xef\xbb\xbf" + json.dumps({
        "version": V10,
        "title": "Daring Example",
        "home_page_url": "https://example.org/",
        "feed_url": URL,
        "author": {"name": "J. Doe"},
        "items": [
            {"id": "https://example.org/2", "url": "https://example.org/2", "title": "Two",
             "content_html": "<p>two</p>", "date_published": "2024-04-30T09:00:00-04:00"},
            {"id": 1, "url": "https://example.org/1", "title": "One",
             "content_text": "one", "date_published": "2024-04-29T09:00:00Z"},
        ],
    }).encode()  # fmt: skip
    feed = parse(body)
    assert (feed.title, feed.site_url, feed.version) == (
        "Daring Example", "https://example.org/", "json1.0",
    )  # fmt: skip
    assert [(e.guid, e.title, e.author) for e in feed.entries] == [
        ("https://example.org/2", "Two", "J. Doe"),
        ("1", "One", "J. Doe"),
    ]
    assert feed.entries[0].published_at == datetime(2024, 4, 30, 13, tzinfo=UTC)
    assert feed.entries[1].summary == "<p>one</p>"
    assert all(e.published_at <= FETCHED + timedelta(days=1) for e in feed.entries)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "malformed JSON"),
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe{}", "malformed JSON"),
        (b"[]", "the top level is not an object"),
        (b'"string"', "the top level is not an object"),
        (b'{"items": []}', "no jsonfeed.org version"),
        (b'{"version": "2.0", "items": []}', "no jsonfeed.org version"),
        (json.dumps({"version": V11}).encode(), "no items list"),
        (json.dumps({"version": V11, "items": {}}).encode(), "no items list"),
    ],
)
def test_parse_errors(body: bytes, words: str) -> None:
    with pytest.raises(ParseError, match=f"not a valid JSON Feed: {words}"):
        parse(body)
