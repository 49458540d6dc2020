"""WebSub's pure rules: discovery, signatures, lease renewal, retry backoff."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from feedhub.ingest.websub import HubLinks, check_signature, discover, renew_at, retry_delay

URL = "http://feeds.example.org/feed.xml"
HUB = "https://hub.example.net/"
SELF = "https://example.org/canonical.xml"

ATOM_HEAD = (
    '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
    f'<link rel="hub" href="{HUB}"/><link rel="self" href="{SELF}"/>'
    "<entry><title>e</title></entry></feed>"
).encode()
RSS_ATOM_LINKS = (
    '<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>t</title>'
    f"<atom:link href='{SELF}' rel='self' type='application/rss+xml'/>"
    f'<atom:link rel="hub" href="{HUB}" />'
    "<item><title>i</title></item></channel></rss>"
).encode()
RELATIVE = b'<feed><link rel="hub" href="/hub"/><link href="feed.xml" rel="self"/></feed>'
HUB_IN_ENTRY = f'<feed><entry><link rel="hub" href="{HUB}"/></entry></feed>'.encode()
JSON_FEED = (
    '{"version": "https://jsonfeed.org/version/1.1", "feed_url": "https://example.org/f.json",'
    f' "hubs": [{{"type": "rssCloud", "url": "http://x/"}}, {{"type": "WebSub", "url": "{HUB}"}}]}}'
).encode()
NO_HUB = b'<rss><channel><atom:link rel="self" href="https://example.org/x"/></channel></rss>'


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({}, ATOM_HEAD, HubLinks(HUB, SELF)),
        ({}, RSS_ATOM_LINKS, HubLinks(HUB, SELF)),
        # Relative hrefs resolve against the fetched URL.
        ({}, RELATIVE, HubLinks("http://feeds.example.org/hub", URL)),
        # Only the feed's head counts: an entry's links are the entry's.
        ({}, HUB_IN_ENTRY, HubLinks(None, None)),
        ({}, JSON_FEED, HubLinks(HUB, "https://example.org/f.json")),
        ({}, NO_HUB, HubLinks(None, "https://example.org/x")),
        # HTTP Link headers, one header with both relations.
        ({"link": f'<{HUB}>; rel="hub", <{SELF}>; rel="self"'}, None, HubLinks(HUB, SELF)),
        # Several relation types in one rel, unquoted rel, any order of parameters.
        ({"link": f"<{SELF}>; title=x; rel=self, <{HUB}>; rel=\"hub other\""}, b"",
         HubLinks(HUB, SELF)),
        # The headers win over the document.
        ({"link": '<https://h2.example/>; rel="hub"'}, ATOM_HEAD,
         HubLinks("https://h2.example/", SELF)),
        # A hub without a self link: the fetched URL is the topic.
        ({"link": f'<{HUB}>; rel="hub"'}, b"<rss/>", HubLinks(HUB, URL)),
        # Not http(s): ignored.
        ({"link": '<javascript:alert(1)>; rel="hub"'}, b"", HubLinks(None, None)),
        ({}, b'<feed><link rel="hub" href="ftp://hub/"/></feed>', HubLinks(None, None)),
        ({}, None, HubLinks(None, None)),
        ({}, b"{not json", HubLinks(None, None)),
        # Entities in attributes are decoded.
        ({}, b'<feed><link rel="hub" href="https://h/?a=1&amp;b=2"/></feed>',
         HubLinks("https://h/?a=1&b=2", URL)),
    ],
)  # fmt: skip
def test_discover(headers: dict[str, str], body: bytes | None, expected: HubLinks) -> None:
    assert discover(headers, body, URL) == expected


def _sign(method: str, body: bytes, secret: str = "s3cret") -> str:
    return f"{method}=" + hmac.new(secret.encode(), body, getattr(hashlib, method)).hexdigest()


BODY = b"<rss>exact bytes</rss>"


@pytest.mark.parametrize(
    ("header", "body", "ok"),
    [
        (_sign("sha256", BODY), BODY, True),
        (_sign("sha384", BODY), BODY, True),
        (_sign("sha512", BODY), BODY, True),
        (_sign("sha1", BODY), BODY, True),  # still allowed by §8
        (_sign("sha256", BODY).upper().replace("SHA256=", "sha256="), BODY, True),
        (_sign("sha256", BODY), BODY + b" ", False),  # one byte more
        (_sign("sha256", BODY, "other"), BODY, False),
        (_sign("md5", BODY), BODY, False),  # not a method the spec names
        ("sha256", BODY, False),
        ("", BODY, False),
        (None, BODY, False),
        ("sha256=zz\u00e9", BODY, False),
    ],
)
def test_check_signature(header: str | None, body: bytes, ok: bool) -> None:
    assert check_signature(header, body, "s3cret") is ok


def test_signature_needs_a_secret() -> None:
    assert not check_signature(_sign("sha256", BODY, ""), BODY, "")


T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lease", "renew_after"),
    [
        (864_000, timedelta(days=10) * 2 / 3),  # ten days: renewed after six and a bit
        (86_400, timedelta(hours=16)),
        (90, timedelta(seconds=45)),  # short: half-way, not a minute before a 90 s end
        (3, timedelta(seconds=1.5)),
    ],
)
def test_renewal_comes_well_before_the_lease_ends(lease: int, renew_after: timedelta) -> None:
    assert renew_at(T0, lease) == T0 + renew_after
    assert renew_at(T0, lease) < T0 + timedelta(seconds=lease)


@pytest.mark.parametrize(
    ("attempts", "delay"),
    [(0, 60), (1, 60), (2, 120), (5, 960), (11, 61_440), (12, 86_400), (10_000, 86_400)],
)
def test_retry_backs_off_to_a_day(attempts: int, delay: int) -> None:
    assert retry_delay(attempts) == timedelta(seconds=delay)
