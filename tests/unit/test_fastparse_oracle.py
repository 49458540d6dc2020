"""The fast parse path against its oracle, feedparser: whenever `fastparse.read_fast` accepts
a document, `parse_feed` must return exactly what it returns through feedparser alone
(every field of `ParsedFeed` and of each entry: title, link, dates, guid, summary, content,
enclosures, author, keys, hashes, icons, version, caps).

Two sets of documents: every feed of tests/corpus, and a generated set of RSS 2.0, Atom 1.0
and RSS 1.0 variants (CDATA, entities, namespaces, missing fields, enclosures, several
links, dates in many forms, the odd rules of feedparser's titles, summaries and authors).
No documented differences: a construct the fast path cannot read identically is declined.
"""

from __future__ import annotations

import gzip
import json
import random
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from feedhub.ingest.fastparse import read_fast
from feedhub.ingest.parse import parse_feed
from tests.conftest import corpus_dir

FETCHED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _both(body: bytes, headers: dict[str, str], url: str) -> tuple[Any, Any]:
    """parse_feed's answer through feedparser alone, then with the fast path."""
    answers = []
    for fast in (False, True):
        try:
            answers.append(
                parse_feed(body, url=url, headers=headers, fetched_at=FETCHED_AT, fast=fast)
            )
        except Exception as exc:  # noqa: BLE001 - the oracle's error is part of its answer
            answers.append(repr(exc))
    return answers[0], answers[1]


@cache
def _corpus() -> list[tuple[str, bytes, dict[str, str]]]:
    docs = []
    for line in (corpus_dir() / "manifest.jsonl").read_text().splitlines():
        doc = json.loads(line)
        if doc["kind"] != "feed":
            continue
        body = (corpus_dir() / doc["file"]).read_bytes()
        if doc.get("gzip_compressed"):
            body = gzip.decompress(body)
        headers = {
            k.lower(): v
            for k, v in (doc.get("http_headers") or {}).items()
            if k.lower() != "content-encoding"
        }
        docs.append((doc["file"], body, headers))
    return docs


@pytest.mark.long
def test_every_corpus_document_it_accepts_reads_as_feedparser_does() -> None:
    accepted: list[str] = []
    different: list[str] = []
    for name, body, headers in _corpus():
        url = f"http://127.0.0.1:9/corpus/{Path(name).name}?a=1&b=2"
        if read_fast(body, headers, url) is None:
            continue
        accepted.append(name)
        slow, fast = _both(body, headers, url)
        if slow != fast:
            different.append(name)
    assert different == []
    # Most of feedparser's own test documents probe odd corners and are declined; the real
    # sites' feeds are the common case the fast path is for.
    realworld = [n for n in accepted if n.startswith("realworld/")]
    total_realworld = sum(n.startswith("realworld/") for n, _, _ in _corpus())
    assert len(realworld) >= 0.7 * total_realworld, (len(realworld), total_realworld)
    assert len(accepted) >= 190, len(accepted)


# --- a generated set -----------------------------------------------------------------

_DATES = [
    "Tue, 10 Jun 2003 04:00:00 GMT",
    "Tue, 10 Jun 2003 04:00:00 +0200",
    "10 Jun 2003 04:00 EST",
    "Tue, 10 Jun 03 04:00:00 PDT",
    "2003-06-10T04:00:00Z",
    "2003-06-10T04:00:00.123+05:30",
    "2003-06-10",
    "2003-06-10 04:00:00",
    "2020/1/10 14:33:00",
    "Mon, 31 Feb 2003 25:00:00 GMT",
    "yesterday",
    "",
    "  Wed, 01 Jan 2031 00:00:00 GMT  ",
]
_TEXTS = [
    "Plain title",
    "Tom &amp; Jerry",
    "<![CDATA[Tom & Jerry <b>bold</b>]]>",
    "&lt;b&gt;escaped bold&lt;/b&gt; and &lt;/i&gt;",
    "1 &lt; 2 and 3 &gt; 2",
    "  spaced\n  out  ",
    "caf\u00c3\u00a9 misread",
    "dash &#150; cp1252",
    "&#233;t&#233; &#x2014; ok",
    "",
    "a &amp;nbsp; b",
    "<![CDATA[<p>para</p><script>x()</script>]]>",
]
_LINKS = [
    "http://example.com/a?x=1&amp;y=2",
    "/relative/path",
    "https://example.com/b#frag",
    "javascript:alert(1)",
    "  http://example.com/spaced  ",
    "",
]


def _rss_item(rng: random.Random, index: int) -> str:
    parts = []
    if rng.random() < 0.9:
        parts.append(f"<title>{rng.choice(_TEXTS)}</title>")
    if rng.random() < 0.15:
        parts.append(f"<dc:title>{rng.choice(_TEXTS)}</dc:title>")
    if rng.random() < 0.8:
        parts.append(f"<link>{rng.choice(_LINKS)}</link>")
    if rng.random() < 0.7:
        permalink = rng.choice(["", ' isPermaLink="false"', ' isPermaLink="true"'])
        guid = rng.choice([f"urn:item:{index}", f"/post/{index}", f"http://example.com/p/{index}"])
        parts.append(f"<guid{permalink}>{guid}</guid>")
    date_tag = rng.choice(["pubDate", "dc:date", "dcterms:modified", "atom:updated"])
    if rng.random() < 0.85:
        parts.append(f"<{date_tag}>{rng.choice(_DATES)}</{date_tag}>")
    summaries = rng.sample(
        [
            f"<description>{rng.choice(_TEXTS)}</description>",
            f"<content:encoded>{rng.choice(_TEXTS)}</content:encoded>",
            f"<itunes:summary>{rng.choice(_TEXTS)}</itunes:summary>",
            f'<description type="text">{rng.choice(_TEXTS)}</description>',
        ],
        k=rng.choice([0, 1, 1, 2, 2, 3]),
    )
    parts.extend(summaries)
    author = rng.choice(
        [
            "",
            "<author>jo@example.com (Jo Doe)</author>",
            "<dc:creator>Jo &amp; Co</dc:creator>",
            "<itunes:author>Pod Person</itunes:author>",
            "<author></author>",
            "<dc:creator>One</dc:creator><dc:creator>Two</dc:creator>",
        ]
    )
    parts.append(author)
    for _ in range(rng.choice([0, 0, 1, 2])):
        parts.append(
            rng.choice(
                [
                    '<enclosure url="http://example.com/a.mp3" length="123" type="audio/mpeg"/>',
                    '<enclosure url="/rel.ogg" type="Audio/OGG; codecs=x" length="12 MB"/>',
                    '<enclosure url="" type="audio/mpeg"/>',
                    '<atom:link rel="enclosure" href="v.mp4" type="video/mp4" length="9"/>',
                    '<media:content url="http://example.com/m.jpg" medium="image">'
                    "<media:title>media title</media:title></media:content>",
                ]
            )
        )
    if rng.random() < 0.3:
        parts.append('<atom:link rel="alternate" type="text/html" href="/alt"/>')
    if rng.random() < 0.3:
        parts.append("<category>news</category><comments>/c</comments>")
    if rng.random() < 0.1:
        parts.append('<media:group><media:description type="plain">d &lt;</media:description>'
                     '<media:thumbnail url="http://example.com/t.jpg"/></media:group>')  # fmt: skip
    if rng.random() < 0.1:
        parts.append("<source url='http://example.com/src'>Elsewhere</source>")
    if rng.random() < 0.05:
        parts.append("<links>odd</links>")
    rng.shuffle(parts)
    return "<item>" + "".join(parts) + "</item>"


def _atom_entry(rng: random.Random, index: int) -> str:
    parts = []
    kind = rng.choice(["", ' type="text"', ' type="html"'])
    if rng.random() < 0.9:
        parts.append(f"<title{kind}>{rng.choice(_TEXTS)}</title>")
    if rng.random() < 0.8:
        parts.append(f"<id>{rng.choice([f'urn:uuid:{index}', f'/e/{index}', ''])}</id>")
    for _ in range(rng.choice([0, 1, 2, 3])):
        parts.append(
            rng.choice(
                [
                    f'<link href="{rng.choice(_LINKS)}"/>',
                    '<link rel="alternate" type="text/html" href="http://example.com/e"/>',
                    '<link rel="self" href="/self"/>',
                    '<link rel="enclosure" href="/f.mp3" length="10" type="audio/mpeg"/>',
                    '<link rel="enclosure" href="http://example.com/g.mp3"/>',
                    '<link rel="alternate" type="application/pdf" href="/x.pdf"/>',
                    '<link rel="related" href="/r"/>',
                ]
            )
        )
    for tag in rng.sample(["published", "updated", "dc:date"], k=rng.choice([0, 1, 2])):
        parts.append(f"<{tag}>{rng.choice(_DATES)}</{tag}>")
    types = ["", ' type="html"', ' type="text"']
    texts = [
        f"<summary{rng.choice(types)}>{rng.choice(_TEXTS)}</summary>",
        f"<content{rng.choice(types)}>{rng.choice(_TEXTS)}</content>",
    ]
    parts.extend(rng.sample(texts, k=rng.choice([0, 1, 2])))
    parts.append(
        rng.choice(
            [
                "",
                "<author><name>Ann</name></author>",
                "<author><name>Ann</name><email>ann@example.com</email><uri>/ann</uri></author>",
                "<author><email>e@example.com</email></author>",
                "<author><name></name></author>",
                '<author><name>Bo</name><gd:image src="x"/></author>',
            ]
        )
    )
    if rng.random() < 0.2:
        parts.append('<category term="t" label="L"/>')
    if rng.random() < 0.1:
        xhtml = '<div xmlns="http://www.w3.org/1999/xhtml">x</div>'
        parts.append(f'<content type="xhtml">{xhtml}</content>')
    rng.shuffle(parts)
    return "<entry>" + "".join(parts) + "</entry>"


_NAMESPACES = (
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:dcterms="http://purl.org/dc/terms/"'
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:atom="http://www.w3.org/2005/Atom"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
    ' xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:gd="http://schemas.google.com/g/2005"'
)


def _document(seed: int) -> bytes:
    rng = random.Random(seed)
    fmt = rng.choice(["rss", "rss", "atom", "rdf"])
    declaration = rng.choice(
        ['<?xml version="1.0" encoding="utf-8"?>', '<?xml version="1.0"?>', ""]
    )
    title = rng.choice(_TEXTS[:6])
    head = [f"<title>{title}</title>"]
    if rng.random() < 0.2:
        head.append(f"<title>{rng.choice(_TEXTS)}</title>")
    if rng.random() < 0.3:
        head.append("<ttl>60</ttl>" if rng.random() < 0.8 else "<ttl> x </ttl>")
    if rng.random() < 0.3:
        head.append("<itunes:summary>pod</itunes:summary><description>d</description>")
    items = [
        (_atom_entry if fmt == "atom" else _rss_item)(rng, i)
        for i in range(rng.choice([1, 2, 3, 5]))
    ]
    if fmt == "rss":
        if rng.random() < 0.5:
            head.append("<link>http://example.com/</link>")
        if rng.random() < 0.3:
            head.append('<atom:link rel="self" href="http://example.com/feed"/>')
        if rng.random() < 0.3:
            head.append("<image><url>/logo.png</url><title>Logo</title><link>/</link></image>")
        if rng.random() < 0.2:
            head.append('<itunes:image href="http://example.com/pod.jpg"/>')
        body = "".join(head + items)
        version = rng.choice(["2.0", "0.92", "0.91", ""])
        version_attr = f' version="{version}"' if version else ""
        doc = f"{declaration}<rss{version_attr}{_NAMESPACES}><channel>{body}</channel></rss>"
    elif fmt == "atom":
        head.append(rng.choice(["", '<link href="http://example.com/"/>', "<id>urn:feed</id>"]))
        if rng.random() < 0.3:
            head.append("<icon>/favicon.ico</icon><logo>http://example.com/logo.png</logo>")
        body = "".join(head + items)
        doc = f'{declaration}<feed xmlns="http://www.w3.org/2005/Atom"{_NAMESPACES}>{body}</feed>'
    else:
        head.append("<link>http://example.com/</link>")
        atom = 'xmlns:atom="http://www.w3.org/2005/Atom"'
        items = [i.replace("<item>", f'<item rdf:about="http://example.com/{n}" {atom}>', 1)
                 for n, i in enumerate(items)]  # fmt: skip
        doc = (
            f'{declaration}<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            f' xmlns="http://purl.org/rss/1.0/"'
            + _NAMESPACES.replace(' xmlns:atom="http://www.w3.org/2005/Atom"', "")
            + f"><channel>{''.join(head)}</channel>{''.join(items)}</rdf:RDF>"
        )
    return doc.encode()


GENERATED = 400


def test_every_generated_document_it_accepts_reads_as_feedparser_does() -> None:
    accepted = 0
    different = []
    for seed in range(GENERATED):
        body = _document(seed)
        headers = {"content-type": "application/rss+xml"}
        url = "http://127.0.0.1:9/gen/feed.xml"
        if read_fast(body, headers, url) is None:
            continue
        accepted += 1
        slow, fast = _both(body, headers, url)
        if slow != fast:
            different.append(seed)
    assert different == [], f"seeds {different[:10]}, e.g. {_document(different[0])!r}"
    assert accepted >= GENERATED // 2, accepted


# --- constructs read since the generated set was drawn -------------------------------

_PODCAST = (
    '<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd"'
    ' xmlns:psc="http://podlove.org/simple-chapters"><channel><title>c</title>{head}'
    "<item><title>t</title><link>http://example.com/a</link>{item}"
    "<description>d</description></item>"
    "<item><title>u</title><link>http://example.com/b</link></item></channel></rss>"
)
_CHAPTERS = (
    '<psc:chapters version="1.2"><psc:chapter start="00:00:00.000" title="Intro"/>'
    '<psc:chapter start="00:01:30" title="Two" href="/two"/></psc:chapters>'
)


@pytest.mark.parametrize(
    ("head", "item"),
    [
        ('<itunes:link rel="image" type="video/jpeg" href="http://example.com/i.png"/>', ""),
        ('<itunes:link href="http://example.com/i.png">text</itunes:link>', ""),
        ('<itunes:image href="http://example.com/a.png"/><itunes:link url="/b.png"/>', ""),
        ("", _CHAPTERS),
        ("", _CHAPTERS + _CHAPTERS.replace("Intro", "Again")),
        ("", '<psc:chapters><psc:chapter start="bad" title="x"/></psc:chapters>'),
        ("", '<psc:chapters><psc:chapter title="no start"/></psc:chapters>'),
        ("", '<psc:chapters>words<psc:chapter start="00:00:01"/></psc:chapters>'),
        ("", '<psc:chapters><psc:chapter start="00:00:01">words</psc:chapter></psc:chapters>'),
        ("", '<psc:chapters><psc:chapter start="00:00:01"><title>x</title></psc:chapter>'
             "</psc:chapters>"),
        (_CHAPTERS, ""),
    ],
)  # fmt: skip
def test_podcast_links_and_chapters_read_as_feedparser_reads_them(head: str, item: str) -> None:
    body = _PODCAST.format(head=head, item=item).encode()
    url = "http://127.0.0.1:9/pod/feed.xml"
    slow, fast = _both(body, {}, url)
    assert slow == fast
    if "start=" in item and "words" not in item and "<title>" not in item:
        assert read_fast(body, {}, url) is not None  # read, not declined


# --- xml:base, read as feedparser scopes it -------------------------------------------

_BASED_RSS = (
    '<rss version="2.0"{root}><channel{channel}><title>c</title><link{clink}>/home</link>'
    "<item{item}><title>t</title><link{link}>a/b.html</link><guid{guid}>g/1</guid>"
    '<description{summary}>&lt;a href="x.html"&gt;x&lt;/a&gt;</description></item>'
    "<item><title>u</title><link>c.html</link><content:encoded{content}>"
    '&lt;img src="i.png"&gt;</content:encoded></item></channel></rss>'
)
_BASED_ATOM = (
    '<feed xmlns="http://www.w3.org/2005/Atom"{root}><title>f</title>'
    '<link{clink} href="/home"/><id>urn:f</id><entry{item}><title>t</title>'
    '<link{link} href="a/b.html"/><id>urn:e</id><updated>2003-06-10T04:00:00Z</updated>'
    '<summary{summary} type="html">&lt;a href="x.html"&gt;x&lt;/a&gt;</summary>'
    '<content{content} type="html">&lt;img src="i.png"&gt;</content></entry></feed>'
)
_PLACES = ("root", "channel", "clink", "item", "link", "guid", "summary", "content")
_BASES = [
    "http://other.example/dir/",
    "sub/",
    "../up/",
    "/rooted/",
    "",
    "javascript:alert(1)",
    "http://other.example/a%20b/?q=1",
    "#frag",
]


def _based(template: str, bases: dict[str, str]) -> bytes:
    attrs = {place: f' xml:base="{bases[place]}"' if place in bases else "" for place in _PLACES}
    body = template.format(**attrs)
    if "content:encoded" in body:
        namespace = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        body = body.replace("<rss ", f"<rss {namespace} ", 1)
    return body.encode()


@pytest.mark.parametrize("template", [_BASED_RSS, _BASED_ATOM], ids=["rss", "atom"])
@pytest.mark.parametrize("seed", range(40))
def test_xml_base_is_scoped_as_feedparser_scopes_it(template: str, seed: int) -> None:
    draw = random.Random(seed)
    places = draw.sample(_PLACES, draw.randint(1, 4))
    body = _based(template, {place: draw.choice(_BASES) for place in places})
    for url in ("http://127.0.0.1:9/feeds/x/feed.xml", ""):
        assert read_fast(body, {}, url) is not None  # read, not declined
        slow, fast = _both(body, {}, url)
        assert slow == fast, body


# --- inline XHTML (Atom's type="xhtml"), written back as feedparser writes it ----------

_XHTML_ATOM = (
    '<feed xmlns="http://www.w3.org/2005/Atom"{ns}><title>f</title><id>urn:f</id>'
    '<entry><title>t</title><link href="http://example.com/a"/><id>urn:e</id>'
    '<updated>2003-06-10T04:00:00Z</updated><{tag} type="xhtml">{markup}</{tag}></entry>'
    "</feed>"
)
_XHTML_NS = ' xmlns:xhtml="http://www.w3.org/1999/xhtml"'
_DIV = '<div xmlns="http://www.w3.org/1999/xhtml">{}</div>'
_XHTML_READ = [
    _DIV.format("<p>One <b>two</b> &amp; three &lt;four&gt;</p>"),
    "\n  " + _DIV.format("<p>padded</p>") + "\n  <!-- a comment -->\n",
    _DIV.format("a") + _DIV.format("b"),  # two divs: both kept
    "before " + _DIV.format("x"),
    _DIV.format("x") + " after",
    _DIV.format('<a HREF="/x?a=1&amp;b=&quot;2&quot;" REL="NoFollow" Type="Text/HTML">l</a>'),
    _DIV.format("<br/><img src='i.png' alt=\"it's\"/><hr></hr>"),
    _DIV.format("<![CDATA[<not> a tag & all]]> text<?pi data?>more"),
    _DIV.format("<P>Upper</P><DIV>inner div</DIV>"),
    _DIV.format("caf\u00e9 \u2014 &#233; \u0096"),
    "<xhtml:div><xhtml:p>prefixed</xhtml:p></xhtml:div>",
    "<div><p>no namespace: Atom's own</p></div>",
    "plain text, no markup",
    "",
    _DIV.format(""),
    _DIV.format("<div><div>nested</div></div>"),
    _DIV.format("<span>a</span>") + "<!-- c -->",
]
_XHTML_DECLINED = [
    _DIV.format("<svg xmlns='http://www.w3.org/2000/svg'><circle r='1'/></svg>"),
    _DIV.format("<math xmlns='http://www.w3.org/1998/Math/MathML'><mi>x</mi></math>"),
    _DIV.format('<p xml:lang="en">namespaced attribute</p>'),
    "<div><title>a handled name</title></div>",
    "<div><link href='/x'/></div>",
]


@pytest.mark.parametrize("tag", ["content", "summary"])
@pytest.mark.parametrize("markup", _XHTML_READ)
def test_inline_xhtml_is_written_as_feedparser_writes_it(tag: str, markup: str) -> None:
    body = _XHTML_ATOM.format(ns=_XHTML_NS, tag=tag, markup=markup).encode()
    url = "http://127.0.0.1:9/x/feed.xml"
    headers = {"content-type": "application/atom+xml"}
    assert read_fast(body, headers, url) is not None  # read, not declined
    slow, fast = _both(body, headers, url)
    assert slow == fast


@pytest.mark.parametrize("markup", _XHTML_DECLINED)
def test_inline_xhtml_it_cannot_write_back_is_declined(markup: str) -> None:
    body = _XHTML_ATOM.format(ns=_XHTML_NS, tag="content", markup=markup).encode()
    assert read_fast(body, {}, "http://127.0.0.1:9/x/feed.xml") is None


# --- what it declines ----------------------------------------------------------------

_ITEM = "<item><title>t</title><link>http://example.com/a</link></item>"
_RSS = f'<rss version="2.0"><channel><title>c</title>{_ITEM}</channel></rss>'


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (_RSS.replace("</channel>", "").encode(), {}),  # not well-formed: no recovery
        (_RSS.replace("<title>t", "<title>&nbsp;t").encode(), {}),  # undeclared entity
        (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "y">]>' + _RSS.encode(), {}),
        (
            b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            + _RSS.replace("<title>t", "<title>&x;").encode(),
            {},
        ),
        (_RSS.replace("<item>", '<item base="http://other.example/">').encode(), {}),
        (_RSS.replace("<item>", '<item xml:base="http://other.example/\u00e9/">').encode(), {}),
        (b'<?xml version="1.0" encoding="windows-1252"?>' + _RSS.encode(), {}),
        (
            b'<?xml version="1.0" encoding="iso-8859-1"?>' + _RSS.encode(),
            {"content-type": "text/xml; charset=utf-8"},
        ),
        (_RSS.encode(), {"content-type": "application/rss+xml; charset=windows-1252"}),
        (_RSS.encode("utf-16"), {}),
        (_RSS.replace("<title>t", '<title type="xhtml"><b>t</b>').encode(), {}),
        (b"<opml version='2.0'><body/></opml>", {}),
        # No Content-Type and no declared encoding: feedparser reads Latin-1, then mends.
        (_RSS.replace("<title>t", "<title>caf\u00e9 &#233;").encode(), {}),
        (_RSS.replace(_ITEM, "").encode(), {}),  # no entries: feedparser says why
    ],
    ids=[
        "broken", "entity", "doctype", "xxe", "bare-base", "iri-base", "cp1252",
        "disagreeing-charsets", "http-charset", "utf-16", "inline-markup", "not-a-feed",
        "latin-1-by-default", "no-entries",
    ],
)  # fmt: skip
def test_it_declines_what_it_cannot_read_as_feedparser_does(
    body: bytes, headers: dict[str, str]
) -> None:
    assert read_fast(body, headers, "http://127.0.0.1:9/feed") is None


def test_a_plain_feed_is_read_by_the_fast_path() -> None:
    assert read_fast(_RSS.encode(), {}, "http://127.0.0.1:9/feed") is not None
