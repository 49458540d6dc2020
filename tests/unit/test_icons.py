"""Site icons, the pure part: which URLs, which bytes, when again (tables)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feedhub.ingest.htmllinks import IconLink, find_icon_links
from feedhub.ingest.icons import choose_icon_urls, icon_due, sniff_image
from feedhub.ingest.parse import parse_feed

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
FEED = "https://feeds.example.org/blog.xml"
SITE = "https://blog.example.com/"


def icon(
    url: str, rel: str = "icon", sizes: str | None = None, kind: str | None = None
) -> IconLink:
    return IconLink(url, rel, sizes, kind)


CHOICES = [
    # (what, declared, page links, site url, expected)
    ("nothing known: the site's and the feed host's /favicon.ico", (), None, SITE,
     ["https://blog.example.com/favicon.ico", "https://feeds.example.org/favicon.ico"]),
    ("no site URL: the feed host's only", (), None, None,
     ["https://feeds.example.org/favicon.ico"]),
    ("the feed's own icon first, relative ones resolved against the feed", ("/i.png",), None,
     SITE, ["https://feeds.example.org/i.png", "https://blog.example.com/favicon.ico",
            "https://feeds.example.org/favicon.ico"]),
    ("page links between the feed's and /favicon.ico", ("https://cdn.example/l.png",),
     [icon("https://blog.example.com/a.png")], SITE,
     ["https://cdn.example/l.png", "https://blog.example.com/a.png",
      "https://blog.example.com/favicon.ico", "https://feeds.example.org/favicon.ico"]),
    ("rel=icon near 32 px before larger, apple-touch-icon last", (),
     [icon("https://b/touch.png", "apple-touch-icon", "180x180"),
      icon("https://b/big.png", sizes="192x192"), icon("https://b/32.png", sizes="32x32"),
      icon("https://b/any.ico")], None,
     ["https://b/32.png", "https://b/any.ico", "https://b/big.png", "https://b/touch.png",
      "https://feeds.example.org/favicon.ico"]),
    ("SVG refused, by type or by name", ("https://cdn/logo.svg",),
     [icon("https://b/i", kind="image/svg+xml"), icon("https://b/i.SVG"),
      icon("https://b/ok.ico")], None,
     ["https://b/ok.ico", "https://feeds.example.org/favicon.ico"]),
    ("only http(s), each once", ("javascript:alert(1)", "data:image/png;base64,AA",
                                 "https://blog.example.com/favicon.ico"), None, SITE,
     ["https://blog.example.com/favicon.ico", "https://feeds.example.org/favicon.ico"]),
    ("a site URL that is no web URL is skipped", (), None, "mailto:me@example.com",
     ["https://feeds.example.org/favicon.ico"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("declared", "links", "site", "expected"),
    [c[1:] for c in CHOICES],
    ids=[c[0] for c in CHOICES],
)
def test_choose_icon_urls(
    declared: tuple[str, ...], links: list[IconLink] | None, site: str | None, expected: list[str]
) -> None:
    assert choose_icon_urls(declared, links, site_url=site, feed_url=FEED) == expected


SNIFFS = [
    (PNG, "image/png"),
    (b"GIF89a\x01\x00", "image/gif"),
    (b"GIF87a\x01\x00", "image/gif"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"\x00\x00\x01\x00\x01\x00\x10\x10", "image/vnd.microsoft.icon"),
    (b"\x00\x00\x01\x00\x00\x00", None),  # an icon directory of no images
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', None),
    (b"<!doctype html><title>404</title>", None),
    (b"", None),
    (b"RIFF\x10\x00\x00\x00WAVE", None),
]


@pytest.mark.parametrize(("data", "kind"), SNIFFS)
def test_sniff_image_by_signature_only(data: bytes, kind: str | None) -> None:
    assert sniff_image(data) == kind


T0 = datetime(2026, 12, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
DUE = [
    # (last attempt, failed, now, refresh, due)
    (None, False, T0, WEEK, True),
    (T0, False, T0 + timedelta(days=6), WEEK, False),
    (T0, False, T0 + WEEK, WEEK, True),
    (T0, True, T0 + timedelta(hours=23), WEEK, False),
    (T0, True, T0 + timedelta(days=1), WEEK, True),
    (T0, True, T0 + timedelta(hours=2), timedelta(hours=2), True),  # period under a day
    (T0, False, T0 + timedelta(hours=1), timedelta(hours=2), False),
]


@pytest.mark.parametrize(("last", "failed", "now", "refresh", "due"), DUE)
def test_icon_due(
    last: datetime | None, failed: bool, now: datetime, refresh: timedelta, due: bool
) -> None:
    assert icon_due(last, failed=failed, now=now, refresh=refresh) is due


def test_find_icon_links_reads_rel_sizes_and_base() -> None:
    page = b"""<html><head><base href="/static/">
      <link rel="alternate" type="application/rss+xml" href="/feed">
      <link rel="shortcut icon" href="favicon.ico">
      <link rel=icon sizes="32x32" type="image/png" href="i32.png">
      <link rel="apple-touch-icon" href="https://cdn.example/t.png">
      <link rel="icon" href="javascript:alert(1)">
      <link rel="stylesheet" href="s.css"></head></html>"""
    assert find_icon_links(page, "https://site.example/blog/") == [
        IconLink("https://site.example/static/favicon.ico", "icon", None, None),
        IconLink("https://site.example/static/i32.png", "icon", "32x32", "image/png"),
        IconLink("https://cdn.example/t.png", "apple-touch-icon", None, None),
    ]


DECLARED = [
    ("atom icon before logo",
     b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><icon>/i.png</icon>'
     b"<logo>/l.png</logo><entry><id>1</id><title>a</title></entry></feed>",
     ("https://x.example/i.png", "https://x.example/l.png")),
    ("rss image",
     b"<rss version='2.0'><channel><title>t</title><image><url>https://x.example/r.gif</url>"
     b"<title>t</title><link>https://x.example/</link></image><item><guid>1</guid></item>"
     b"</channel></rss>",
     ("https://x.example/r.gif",)),
    ("json feed favicon before icon",
     b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "icon": "/big.png",'
     b' "favicon": "/fav.png", "items": [{"id": "1", "content_text": "x"}]}',
     ("https://x.example/fav.png", "https://x.example/big.png")),
    ("none declared",
     b"<rss version='2.0'><channel><title>t</title><item><guid>1</guid></item></channel></rss>",
     ()),
]  # fmt: skip


@pytest.mark.parametrize(("body", "icons"), [d[1:] for d in DECLARED], ids=[d[0] for d in DECLARED])
def test_parsed_feeds_carry_their_declared_icons(body: bytes, icons: tuple[str, ...]) -> None:
    parsed = parse_feed(body, url="https://x.example/feed", headers={}, fetched_at=T0)
    assert parsed.icons == icons
