"""The one URL helper module: what counts as a feed or article URL, everywhere."""

from __future__ import annotations

import logging

import pytest

from feedhub.core.urls import (
    RedactingFilter,
    WebURL,
    clean_url,
    display_name,
    host_of,
    is_web_url,
    normalize_feed_url,
    parse_web_url,
    redact_text,
    redact_url,
    remove_dot_segments,
    web_url,
)


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("http://example.org/feed", True),
        ("HTTPS://Example.org/", True),
        ("ftp://example.org/feed", False),
        ("http://", False),
        ("http://[oops", False),
        ("javascript:alert(1)", False),
        ("/relative/path", False),
    ],
)
def test_is_web_url(url: str, ok: bool) -> None:
    assert is_web_url(url) is ok


@pytest.mark.parametrize(
    ("url", "parsed"),
    [
        ("https://Example.org/x", WebURL("https", "example.org", 443)),
        ("http://h:8080/", WebURL("http", "h", 8080)),
        ("not a url", "'not a url' is not an http or https URL"),
        ("http://", "'http://' has no host name"),
        ("http://[::1", "'http://[::1' is not a valid URL"),
        ("http://h:99999/", "'http://h:99999/' has an invalid port"),
    ],
)
def test_parse_web_url_gives_parts_or_the_reason(url: str, parsed: WebURL | str) -> None:
    assert parse_web_url(url) == parsed


def test_web_url_resolves_against_a_base() -> None:
    assert web_url("../b", "https://e.org/a/c") == "https://e.org/b"
    assert web_url("mailto:x@e.org", "https://e.org/") is None
    assert web_url("http://[bad", None) is None


def test_clean_url_drops_tracking_parameters_only() -> None:
    assert clean_url(" https://e.org/p?utm_source=x&id=3&fbclid=y ") == "https://e.org/p?id=3"
    assert clean_url("p?x=1", "https://e.org/dir/") == "https://e.org/dir/p?x=1"
    assert clean_url(None) is None and clean_url("ftp://e.org/") is None


def test_host_of_is_lower_case_and_never_raises() -> None:
    assert host_of("https://Example.ORG:8443/x") == "example.org"
    assert host_of("http://[oops") == ""


# -- one normal form, one redaction ----------------------------------------------------------
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
