"""Table-driven tests for feed autodiscovery (feedhub.ingest.htmllinks, feedhub.ingest.sniff)."""

from __future__ import annotations

import pytest

from feedhub.ingest.htmllinks import (
    COMMON_PATHS,
    FeedCandidate,
    common_path_candidates,
    find_feed_links,
)
from feedhub.ingest.sniff import looks_like_html

PAGE = "https://example.com/blog/post.html"
RSS = "application/rss+xml"
ATOM = "application/atom+xml"


def page(head: str, body: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(page(""), [], id="no-links"),
        pytest.param(
            page('<link rel="alternate" type="application/rss+xml" title="Posts" href="/feed">'),
            [FeedCandidate("https://example.com/feed", "Posts", RSS)],
            id="rss-root-relative",
        ),
        pytest.param(
            page('<link rel="alternate" type="application/atom+xml" href="atom.xml">'),
            [FeedCandidate("https://example.com/blog/atom.xml", None, ATOM)],
            id="atom-path-relative-no-title",
        ),
        pytest.param(
            page("<link href='feed.json' TYPE='Application/Feed+JSON' REL='Alternate'>"),
            [FeedCandidate("https://example.com/blog/feed.json", None, "application/feed+json")],
            id="case-insensitive-attributes-and-values",
        ),
        pytest.param(
            page('<link rel="alternate" type="application/json" href="/feed.json">'),
            [FeedCandidate("https://example.com/feed.json", None, "application/json")],
            id="plain-json-type",
        ),
        pytest.param(
            page('<link rel="home alternate nofollow" type="application/rss+xml" href="/r"/>'),
            [FeedCandidate("https://example.com/r", None, RSS)],
            id="several-rel-tokens-xhtml-style",
        ),
        pytest.param(
            page('<link rel="alternate" type="application/rss+xml; charset=utf-8" href="/r">'),
            [FeedCandidate("https://example.com/r", None, RSS)],
            id="type-with-parameters",
        ),
        pytest.param(
            page(
                '<link rel="stylesheet" type="text/css" href="/s.css">'
                '<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">'
                '<link rel="feed" type="application/rss+xml" href="/x">'
                '<link rel="alternate stylesheet" type="text/css" href="/alt.css">'
                '<link rel="alternate" href="/no-type">'
            ),
            [],
            id="non-feed-links-ignored",
        ),
        pytest.param(
            page(
                '<link rel="alternate" type="application/rss+xml" href="https://a.example/one">'
                '<link rel="alternate" type="application/atom+xml" href="/two">'
                '<link rel="alternate" type="application/rss+xml" href="https://a.example/one">'
            ),
            [
                FeedCandidate("https://a.example/one", None, RSS),
                FeedCandidate("https://example.com/two", None, ATOM),
            ],
            id="deduplicated-document-order",
        ),
        pytest.param(
            page(
                '<base href="/static/">'
                '<link rel="alternate" type="application/rss+xml" href="feed.xml">'
            ),
            [FeedCandidate("https://example.com/static/feed.xml", None, RSS)],
            id="base-relative-to-page",
        ),
        pytest.param(
            page(
                '<link rel="alternate" type="application/rss+xml" href="feed.xml">'
                '<base href="https://cdn.example.net/site/">'
                '<base href="https://ignored.example/">'
            ),
            [FeedCandidate("https://cdn.example.net/site/feed.xml", None, RSS)],
            id="first-base-applies-even-after-the-link",
        ),
        pytest.param(
            page(
                '<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">'
                '<link rel="alternate" type="application/rss+xml" href="ftp://example.com/f">'
                '<link rel="alternate" type="application/rss+xml" href="">'
                '<link rel="alternate" type="application/rss+xml">'
                '<link rel="alternate" type="application/rss+xml" href="//other.example/f">'
            ),
            [FeedCandidate("https://other.example/f", None, RSS)],
            id="only-http-https",
        ),
        pytest.param(
            page('<link rel="alternate" type="application/rss+xml" href="/f?a=1&amp;b=2">'),
            [FeedCandidate("https://example.com/f?a=1&b=2", None, RSS)],
            id="entities-in-href",
        ),
        pytest.param(
            "<html><head><title>x<link rel=alternate type=application/rss+xml href=/u title=U>"
            "<div><p>unclosed <b>tags",
            [FeedCandidate("https://example.com/u", "U", RSS)],
            id="broken-html-unquoted",
        ),
        pytest.param(
            page("", '<link rel="alternate" type="application/atom+xml" href="/in-body">'),
            [FeedCandidate("https://example.com/in-body", None, ATOM)],
            id="link-in-body",
        ),
        pytest.param(
            page(
                '<link rel="alternate" type="application/rss+xml" title="  Café  " href="/c">'
            ).encode("utf-8"),
            [FeedCandidate("https://example.com/c", "Café", RSS)],
            id="bytes-utf8",
        ),
        pytest.param(
            page('<link rel="alternate" type="application/rss+xml" title="Café" href="/c">').encode(
                "cp1252"
            ),
            [FeedCandidate("https://example.com/c", "Café", RSS)],
            id="bytes-legacy-encoding",
        ),
        pytest.param(
            "<!-- <link rel='alternate' type='application/rss+xml' href='/commented'> -->"
            '<script>var s = \'<link rel="alternate" type="application/rss+xml" href="/js">\''
            "</script>",
            [],
            id="comments-and-scripts-ignored",
        ),
        pytest.param("<<<>>><!<?</ &#;", [], id="garbage-does-not-raise"),
        pytest.param(
            '<![ bogus ]><link rel="alternate" type="application/rss+xml" href="/after">',
            [FeedCandidate("https://example.com/after", None, RSS)],
            id="malformed-marked-section-skipped",
        ),
        pytest.param(
            '<base href="http://[oops/">'
            '<link rel="alternate" type="application/rss+xml" href="http://[bad/feed">'
            '<link rel="alternate" type="application/rss+xml" href="/good">',
            [FeedCandidate("https://example.com/good", None, RSS)],
            id="unsplittable-urls-skipped",
        ),
    ],
)
def test_find_feed_links(html: str | bytes, expected: list[FeedCandidate]) -> None:
    assert find_feed_links(html, PAGE) == expected


@pytest.mark.parametrize(
    ("page_url", "expected_first"),
    [
        ("https://example.com/blog/post?x=1#top", "https://example.com/feed"),
        ("http://example.com:8080", "http://example.com:8080/feed"),
        ("https://sub.example.org/a/b/", "https://sub.example.org/feed"),
    ],
)
def test_common_path_candidates(page_url: str, expected_first: str) -> None:
    result = common_path_candidates(page_url)
    assert result[0] == expected_first
    root = expected_first.removesuffix("/feed")
    assert result == [root + path for path in COMMON_PATHS]


@pytest.mark.parametrize(
    "page_url", ["ftp://example.com/", "not a url", "/relative/path", "http://[oops/"]
)
def test_common_path_candidates_rejects_non_web(page_url: str) -> None:
    assert common_path_candidates(page_url) == []


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (b"<!DOCTYPE html><html></html>", None, True),
        (b"\xef\xbb\xbf\n  <!doctype HTML>\n<html>", "application/octet-stream", True),
        (b"<html lang='en'><head>", None, True),
        (b"<HTML>", "text/plain", True),
        (
            b'<?xml version="1.0"?>\n<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN">'
            b"<html xmlns='http://www.w3.org/1999/xhtml'>",
            "application/xhtml+xml",
            True,
        ),
        (b"<!-- generated --><html>", None, True),
        (b"<p>hello</p>", "text/html; charset=utf-8", True),
        (b"", "text/html", True),
        (b'<?xml version="1.0"?><rss version="2.0"><channel>', None, False),
        # Mislabelled feeds: the body wins over the header.
        (b'<?xml version="1.0"?><rss version="2.0"><channel>', "text/html", False),
        (b"<rss version='2.0'>", "text/html", False),
        (b'<feed xmlns="http://www.w3.org/2005/Atom">', "text/html", False),
        (b"<rdf:RDF xmlns:rdf='http://www.w3.org/1999/02/22-rdf-syntax-ns#'>", "text/html", False),
        (b'<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"><rss>', "text/html",
         False),
        (b'<?xml version="1.0"?><!-- c --><?xml-stylesheet href="s.xsl"?><feed>', "text/html",
         False),
        (b'{"version": "https://jsonfeed.org/version/1.1"}', "text/html", False),
        (b"  [1, 2]", "text/html", False),
        (b"<br />\n<b>Warning</b>: x in y.php<br />\n<?xml version='1.0'?><rss>", "text/html",
         False),
        (b"<b>Warning</b> <feed xmlns='http://www.w3.org/2005/Atom'>", "text/html", False),
        (b"<div>my feed reader</div><p>the <rss> tag</p><html>", "text/html", True),
        (b"<div>see <a href='/feed'>feed</a></div>", "text/html", True),
        (b"plain words", "text/plain", False),
        (b"plain words", None, False),
        ('<html>'.encode("utf-16"), None, True),
    ],
)  # fmt: skip
def test_looks_like_html(body: bytes, content_type: str | None, expected: bool) -> None:
    assert looks_like_html(body, content_type) is expected
