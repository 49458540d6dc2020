"""Issue 14, items 3 and 13: one normal form of a feed URL, one redaction (pure)."""

from __future__ import annotations

import logging

import pytest

from feedhub.urls import (
    RedactingFilter,
    display_name,
    normalize_feed_url,
    redact_text,
    redact_url,
    remove_dot_segments,
)

SAME_FEED = [
    "http://example.com/feed",
    "HTTP://example.com/feed",
    "http://EXAMPLE.com/feed",
    "http://example.com:80/feed",
    "http://example.com/feed#top",
    "http://example.com/./feed",
    "http://example.com/a/../feed",
    "http://example.com/feed?",
    " http://example.com/feed ",
]


@pytest.mark.parametrize("url", SAME_FEED)
def test_one_feed_one_normal_form(url: str) -> None:
    assert normalize_feed_url(url) == "http://example.com/feed"


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://example.com:443", "https://example.com/"),
        ("https://example.com:8443/x", "https://example.com:8443/x"),
        ("http://example.com:443/x", "http://example.com:443/x"),  # not the default for http
        ("http://example.com/Feed?b=2&a=1", "http://example.com/Feed?b=2&a=1"),  # kept
        ("http://u:p@Example.com/f", "http://u:p@example.com/f"),  # credentials kept to fetch
        ("http://[::1]:80/f", "http://[::1]/f"),
        ("http://example.com/a/b/../../../c", "http://example.com/c"),
        ("ftp://example.com/f", "ftp://example.com/f"),  # not ours to judge
        ("http://[oops/", "http://[oops/"),
    ],
)
def test_normal_forms(url: str, normal: str) -> None:
    assert normalize_feed_url(url) == normal


@pytest.mark.parametrize(
    ("path", "resolved"),
    [("/a/b/c/./../../g", "/a/g"), ("/./", "/"), ("/..", "/"), ("/a/.", "/a/"), ("", "")],
)
def test_remove_dot_segments(path: str, resolved: str) -> None:
    assert remove_dot_segments(path) == resolved


SECRET = "http://alice:hunter2@feeds.example.com:8080/private/feed?token=SECRET&x=1#frag"


def test_redaction_drops_credentials_query_and_fragment() -> None:
    assert redact_url(SECRET) == "http://feeds.example.com:8080/private/feed"
    assert display_name(SECRET) == "feeds.example.com:8080/private/feed"
    assert display_name("https://example.com/") == "example.com"
    text = f'HTTP Request: GET {SECRET} "HTTP/1.1 200 OK" then {SECRET}'
    redacted = redact_text(text)
    assert "hunter2" not in redacted and "SECRET" not in redacted and "alice" not in redacted
    assert redacted.count("http://feeds.example.com:8080/private/feed") == 2


def test_the_log_filter_redacts_formatted_arguments() -> None:
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "GET %s %s", (SECRET, 200), None)
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "GET http://feeds.example.com:8080/private/feed 200"
