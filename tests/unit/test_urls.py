"""The one URL helper module: what counts as a feed or article URL, everywhere."""

from __future__ import annotations

import pytest

from feedhub.urls import WebURL, clean_url, host_of, is_web_url, parse_web_url, web_url


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
