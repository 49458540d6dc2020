"""Tests for OPML import/export (feedhub.ingest.opml)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from feedhub.core.errors import ParseError
from feedhub.ingest.opml import OpmlFeed, OpmlInvalid, read_opml, slugify, write_opml

SUBS = Path(__file__).resolve().parents[1] / "corpus" / "realworld" / "NetNewsWire" / "Subs.opml"
DEFAULT = "uncategorized"


def opml(body: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>t</title>'
        f"</head><body>{body}</body></opml>"
    ).encode()


def test_real_netnewswire_export() -> None:
    data = SUBS.read_bytes()
    # Independent count: every outline tag carrying an xmlUrl attribute, by regex.
    expected = len(re.findall(rb"<outline\b[^>]*\bxmlUrl=\"[^\"]+\"", data))
    assert expected == 207
    document = read_opml(data, DEFAULT)
    # One feed is listed twice, as `http://feed.katiefloyd.com` and with a slash: one URL in
    # normal form, so the second is a duplicate.
    assert len(document.feeds) == expected - 1
    duplicate = OpmlInvalid("Katie Floyd", "duplicate of http://feed.katiefloyd.com/")
    assert document.invalid == (duplicate,)
    assert len({feed.url for feed in document.feeds}) == expected - 1
    by_url = {feed.url: feed for feed in document.feeds}
    assert by_url["http://daringfireball.net/feeds/main"] == OpmlFeed(
        "http://daringfireball.net/feeds/main", "Daring Fireball", "http://daringfireball.net/",
        DEFAULT,
    )  # fmt: skip
    # htmlUrl="" becomes None; entities decoded in titles.
    assert by_url["http://jvns.ca/atom.xml"].site_url is None
    assert by_url["http://corinnekrych.blogspot.com/feeds/posts/default"].title == "chat & code"
    categories = {feed.category for feed in document.feeds}
    assert categories == {DEFAULT, "Programming", "Macintosh", "Weblogs", "Writers"}


@pytest.mark.parametrize(
    ("body", "feeds", "invalid"),
    [
        pytest.param("", [], [], id="empty-body"),
        pytest.param(
            '<outline text="A" xmlUrl="https://a.example/feed" htmlUrl="https://a.example/"/>',
            [OpmlFeed("https://a.example/feed", "A", "https://a.example/", DEFAULT)],
            [],
            id="top-level-default-category",
        ),
        pytest.param(
            '<outline text="Tech"><outline title="B" xmlUrl="http://b.example/rss"/></outline>',
            [OpmlFeed("http://b.example/rss", "B", None, "Tech")],
            [],
            id="folder-name-and-title-fallback",
        ),
        pytest.param(
            '<outline text="News"><outline text="World">'
            '<outline text="C" xmlUrl="http://c.example/rss"/></outline>'
            '<outline text="D" xmlUrl="http://d.example/rss"/></outline>',
            [
                OpmlFeed("http://c.example/rss", "C", None, "World"),
                OpmlFeed("http://d.example/rss", "D", None, "News"),
            ],
            [],
            id="nested-innermost-folder-wins",
        ),
        pytest.param(
            '<outline text="Tech"><outline><outline text="E" xmlUrl="http://e.example/"/>'
            "</outline></outline>",
            [OpmlFeed("http://e.example/", "E", None, "Tech")],
            [],
            id="unnamed-folder-keeps-parent-category",
        ),
        pytest.param(
            '<outline text="F" xmlurl="http://f.example/rss" HTMLURL="http://f.example/"/>',
            [OpmlFeed("http://f.example/rss", "F", "http://f.example/", DEFAULT)],
            [],
            id="attribute-names-any-case",
        ),
        pytest.param(
            '<outline xmlUrl="  http://g.example/rss  " htmlUrl="javascript:x"/>',
            [OpmlFeed("http://g.example/rss", None, None, DEFAULT)],
            [],
            id="no-title-whitespace-bad-htmlurl",
        ),
        pytest.param(
            '<outline text="NoUrl" type="rss" htmlUrl="http://h.example/"/>'
            '<outline text="Ftp" xmlUrl="ftp://i.example/feed"/>'
            '<outline text="Js" xmlUrl="javascript:alert(1)"/>'
            '<outline text="V6" xmlUrl="http://[oops/feed"/>'
            '<outline text="Ok" xmlUrl="https://ok.example/feed"/>'
            '<outline text="Again" xmlUrl="https://ok.example/feed"/>'
            '<outline text="Empty folder"/>',
            [OpmlFeed("https://ok.example/feed", "Ok", None, DEFAULT)],
            [
                OpmlInvalid("NoUrl", "feed outline has no xmlUrl"),
                OpmlInvalid("Ftp", "xmlUrl 'ftp://i.example/feed' is not an http(s) URL"),
                OpmlInvalid("Js", "xmlUrl 'javascript:alert(1)' is not an http(s) URL"),
                OpmlInvalid("V6", "xmlUrl 'http://[oops/feed' is not an http(s) URL"),
                OpmlInvalid("Again", "duplicate of https://ok.example/feed"),
            ],
            id="bad-outlines-reported-rest-kept",
        ),
        pytest.param(
            '<outline text="X" xmlUrl="http://x.example/"><outline text="Y" '
            'xmlUrl="http://y.example/"/></outline>',
            [
                OpmlFeed("http://x.example/", "X", None, DEFAULT),
                OpmlFeed("http://y.example/", "Y", None, DEFAULT),
            ],
            [],
            id="feed-with-children-keeps-both",
        ),
    ],
)
def test_read_opml(body: str, feeds: list[OpmlFeed], invalid: list[OpmlInvalid]) -> None:
    document = read_opml(opml(body), DEFAULT)
    assert list(document.feeds) == feeds
    assert list(document.invalid) == invalid


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<opml version="2.0"><body><outline text="&lol4;" xmlUrl="http://a.example/"/></body></opml>"""

EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<opml version="2.0"><body><outline text="&xxe;" xmlUrl="http://a.example/"/></body></opml>"""


@pytest.mark.parametrize(
    ("data", "words"),
    [
        pytest.param(b"", "malformed", id="empty"),
        pytest.param(b"not xml at all", "malformed", id="text"),
        pytest.param(b"<opml><body><outline text='a'></body></opml>", "malformed", id="unclosed"),
        pytest.param(b'<rss version="2.0"><channel/></rss>', "root element is <rss>", id="rss"),
        pytest.param(b'<opml version="2.0"><head/></opml>', "no <body>", id="no-body"),
        pytest.param(BILLION_LAUGHS, "refused", id="billion-laughs"),
        pytest.param(EXTERNAL_ENTITY, "refused", id="external-entity"),
    ],
)
def test_read_opml_errors(data: bytes, words: str) -> None:
    with pytest.raises(ParseError, match=re.escape(words)):
        read_opml(data, DEFAULT)


GROUPS: list[tuple[str, list[OpmlFeed]]] = [
    ("Tech & Science", [
        OpmlFeed("https://a.example/feed?x=1&y=2", "A <b>&</b> \"quoted\"", "https://a.example/",
                 "Tech & Science"),
        OpmlFeed("https://b.example/atom", None, None, "Tech & Science"),
    ]),
    ("Nouvelles", [
        OpmlFeed("https://c.example/rss", "Café ☕", "https://c.example/", "Nouvelles"),
    ]),
]  # fmt: skip


def test_write_then_read_round_trip() -> None:
    data = write_opml(GROUPS)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    document = read_opml(data, DEFAULT)
    assert document.invalid == ()
    expected = [
        GROUPS[0][1][0],
        # A feed without a title is written with its URL as text (text is required).
        OpmlFeed("https://b.example/atom", "https://b.example/atom", None, "Tech & Science"),
        GROUPS[1][1][0],
    ]
    assert list(document.feeds) == expected


def test_write_opml_shape() -> None:
    import xml.etree.ElementTree as ET

    root = ET.fromstring(write_opml(GROUPS, title="My feeds"))
    assert (root.tag, root.get("version")) == ("opml", "2.0")
    assert root.findtext("head/title") == "My feeds"
    folders = root.findall("body/outline")
    assert [(f.get("text"), f.get("title")) for f in folders] == [
        ("Tech & Science", "Tech & Science"),
        ("Nouvelles", "Nouvelles"),
    ]
    first = folders[0][0]
    assert first.attrib == {
        "type": "rss",
        "text": 'A <b>&</b> "quoted"',
        "title": 'A <b>&</b> "quoted"',
        "xmlUrl": "https://a.example/feed?x=1&y=2",
        "htmlUrl": "https://a.example/",
    }
    assert "htmlUrl" not in folders[0][1].attrib


def test_write_opml_drops_xml_invalid_characters() -> None:
    feed = OpmlFeed("https://a.example/", "bell\x07 tab\t", None, "c\x00at")
    document = read_opml(write_opml([("c\x00at", [feed])]), DEFAULT)
    assert document.feeds == (OpmlFeed("https://a.example/", "bell tab", None, "cat"),)


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Tech", "tech"),
        ("Tech & Science", "tech-science"),
        ("  --Hello,  World!--  ", "hello-world"),
        ("Café Crème", "cafe-creme"),
        ("Straße", "strasse"),
        ("Ærø Łódź", "aero-lodz"),
        ("日本語", "category-" + hashlib.blake2b("日本語".encode(), digest_size=3).hexdigest()),
        ("", "category"),
        ("---", "category"),
        ("C++ / C#", "c-c"),
        ("2024 News", "2024-news"),
        ("ﬁnance", "finance"),  # compatibility ligature folded by NFKD
        ("a" * 70, "a" * 64),
        ("a" * 63 + " b", "a" * 63),  # no trailing hyphen after the cut
    ],
)
def test_slugify(name: str, slug: str) -> None:
    result = slugify(name)
    assert result == slug
    assert re.fullmatch(r"[a-z0-9][a-z0-9-]*", result)


def test_non_latin_category_names_get_distinct_slugs() -> None:
    assert slugify("日本") != slugify("中文")
    assert slugify("日本").startswith("category-") and slugify("Café") == "cafe"
