"""Hardening of the API: answers that were 500s,
leaks through the Host header, missing security headers, and markup in feed titles.

All in-process against the real app (AsyncTestClient) with a real SQLite file and a real
local feed server; the stream's Last-Event-ID case runs against a real `feedhub serve`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import feedparser
import pytest
from litestar.testing import AsyncTestClient

from feedhub.core.config import Settings
from feedhub.core.errors import ParseError
from feedhub.ingest.opml import MAX_DEPTH, read_opml
from feedhub.ingest.parse import parse_feed
from feedhub.service.app import create_app, web_dir
from tests.conftest import BOTH_DATABASES
from tests.support.dbsnap import execute
from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess
from tests.support.sse import Newsroom, RawStream

pytestmark = BOTH_DATABASES

AUTH = {"Authorization": "Bearer test-token"}
TOO_BIG = str(2**63)  # one past a BIGINT
HUGE = "9" * 40


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def _feed(client: AsyncTestClient[Any], feed_server: FeedServer, body: str) -> int:
    feed_server.set("/f.xml", body)
    r = await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    assert r.status_code == 201, r.text
    url = feed_server.url("/f.xml")
    r = await client.post("/api/admin/feeds", json={"url": url, "category": "tech"}, headers=AUTH)
    assert r.status_code == 201, r.text
    feed_id = int(r.json()["id"])
    r = await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=AUTH)
    assert r.status_code == 200, r.text
    return feed_id


# -- bounded integers ------------------------------------------------------------------
@pytest.mark.parametrize("number", [TOO_BIG, HUGE])
async def test_oversize_integers_are_4xx_everywhere(
    client: AsyncTestClient[Any], number: str
) -> None:
    probes = [
        ("GET", f"/api/articles?after={number}", None),
        ("GET", f"/api/articles?before={number}", None),
        ("GET", f"/api/admin/feeds/{number}", None),
        ("PATCH", f"/api/admin/feeds/{number}", {"enabled": False}),
        ("DELETE", f"/api/admin/feeds/{number}", None),
        ("POST", f"/api/admin/feeds/{number}/refresh", None),
        ("DELETE", f"/api/admin/articles/{number}", None),
    ]
    for method, path, body in probes:
        r = await client.request(method, path, json=body, headers=AUTH)
        assert 400 <= r.status_code < 500, (method, path, r.status_code, r.text)
        assert r.json()["detail"], r.text
    r = await client.patch("/api/admin/feeds/1", json={"poll_interval": int(number)}, headers=AUTH)
    assert 400 <= r.status_code < 500, r.text


@pytest.mark.slow
def test_stream_ignores_a_garbage_last_event_id_and_goes_live(tmp_path: Path) -> None:
    """hello never echoes the client's garbage; the next article arrives live."""
    import asyncio

    with FeedServer() as feeds:
        server = ServerProcess(workdir=tmp_path, env={"FEEDHUB_TICK_SECONDS": "3600"}).start()
        try:
            room = Newsroom(server, feeds)

            async def scenario() -> None:
                await room.streams_have_heard()
                for garbage in (TOO_BIG, HUGE, "-5", "1e3", "١٢"):
                    stream = await RawStream.open(
                        f"{room.url}/api/stream?category=tech",
                        headers={"Last-Event-ID": garbage},
                    )
                    try:
                        assert stream.status == 200, stream.body
                        hello = await stream.next_event()
                        assert hello is not None and hello.event == "hello", hello
                        assert hello.id == str(room.newest_id()), (garbage, hello)
                        assert garbage not in hello.data
                        [new_id] = await room.apublish("tech")
                        event = await stream.next_event()
                        assert event is not None and event.event == "article", event
                        assert event.id == str(new_id)
                    finally:
                        await stream.close()

            asyncio.run(scenario())
        finally:
            server.kill()


# -- output feeds never fail on a stored article --------------------------------------
async def test_atom_stays_200_with_linkless_articles_and_control_characters(
    client: AsyncTestClient[Any], feed_server: FeedServer, settings: Settings
) -> None:
    items = [
        {"guid": "no-link", "title": "No link at all"},
        {"guid": "js", "title": "Script link", "link": "javascript:alert(1)"},
        {"guid": "empty", "title": "Empty", "link": "javascript:void(0)", "description": ""},
        {"guid": "ok", "title": "Fine", "link": "http://example.com/ok", "description": "x"},
    ]
    await _feed(client, feed_server, rss(items))
    # A control character in a category name: refused by the admin API now...
    r = await client.patch("/api/admin/categories/tech", json={"name": "Te\x0bch"}, headers=AUTH)
    assert r.status_code in (400, 422), r.text
    # ...and one stored before that rule still renders.
    await execute(
        settings.database_url, "UPDATE category SET name = 'Te\x0bch\x01' WHERE slug = 'tech'"
    )
    for url in ("/all/atom.xml", "/categories/tech/atom.xml"):
        r = await client.get(url)
        assert r.status_code == 200, r.text
        parsed = feedparser.parse(r.content)
        assert not parsed.bozo, parsed.bozo_exception
        assert len(parsed.entries) == 4
    for url in ("/all/feed.json", "/categories/tech/feed.json"):
        assert (await client.get(url)).status_code == 200


# -- every 500 is logged with its traceback ------------------------------------------
async def test_a_forced_500_is_logged_with_its_traceback(
    client: AsyncTestClient[Any], caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from feedhub.api import public

    async def broken(*_: object) -> None:
        raise RuntimeError("forced failure for the test")

    monkeypatch.setattr(public, "list_categories", broken)
    with caplog.at_level(logging.ERROR):
        r = await client.get("/api/categories")
    assert r.status_code == 500
    assert r.json()["detail"]
    assert "forced failure" not in r.text  # no internals to the client
    logged = [rec for rec in caplog.records if rec.exc_info and rec.levelno >= logging.ERROR]
    assert logged, caplog.text
    assert "forced failure for the test" in caplog.text
    assert "Traceback" in caplog.text and "GET /api/categories" in caplog.text


# -- deeply nested OPML ----------------------------------------------------------------
def _nested_opml(depth: int) -> bytes:
    inner = '<outline text="feed" xmlUrl="http://example.com/deep.xml"/>'
    body = '<outline text="f">' * depth + inner + "</outline>" * depth
    return f'<?xml version="1.0"?><opml version="2.0"><body>{body}</body></opml>'.encode()


async def test_deeply_nested_opml_is_422(client: AsyncTestClient[Any]) -> None:
    r = await client.post("/api/admin/opml", content=_nested_opml(3000), headers=AUTH)
    assert r.status_code == 422, r.text
    assert "nest deeper" in r.json()["detail"]
    with pytest.raises(ParseError):
        read_opml(_nested_opml(MAX_DEPTH), default_category="x")
    ok = read_opml(_nested_opml(MAX_DEPTH - 1), default_category="x")
    assert [f.url for f in ok.feeds] == ["http://example.com/deep.xml"]
    assert ok.feeds[0].category == "f"


# -- the admin token cannot land in a URL ----------------------------------------------
def test_the_token_field_cannot_submit() -> None:
    from html.parser import HTMLParser

    found: dict[str, dict[str, str | None]] = {}

    class Finder(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            values = dict(attrs)
            if values.get("id") in ("token", "token-form"):
                found[str(values["id"])] = values

    Finder().feed((web_dir() / "admin.html").read_text())
    assert "name" not in found["token"], "a named field is submitted with the form"
    # method=dialog outside a <dialog>: submitting does nothing, even before the script runs.
    assert found["token-form"].get("method") == "dialog"
    assert "action" not in found["token-form"]


# -- Host reflection, NUL paths, security headers, markup, wrapped feeds --------------
async def test_output_feeds_never_reflect_the_host_header(
    client: AsyncTestClient[Any], feed_server: FeedServer, settings: Settings
) -> None:
    await _feed(client, feed_server, rss([{"guid": "a", "title": "A", "link": "http://e.com/a"}]))
    for url in ("/all/atom.xml", "/categories/tech/feed.json"):
        r = await client.get(url, headers={"Host": "evil.example"})
        assert r.status_code == 200
        assert b"evil.example" not in r.content
        assert settings.base_url.encode() in r.content
    public = settings.with_(public_url="https://news.example.org/")
    async with AsyncTestClient(app=create_app(public)) as other:
        r = await other.get("/all/atom.xml", headers={"Host": "evil.example"})
        assert b"evil.example" not in r.content
        assert b'href="https://news.example.org/all/atom.xml"' in r.content


async def test_a_nul_byte_in_a_static_path_is_400(client: AsyncTestClient[Any]) -> None:
    for path in ("/%00", "/js/%00.js", "/index.html%00.txt"):
        r = await client.get(path)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.json()["detail"]


async def test_security_headers_on_every_html_response(client: AsyncTestClient[Any]) -> None:
    for path in ("/", "/index.html", "/admin", "/admin.html"):
        r = await client.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), path
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert "object-src 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["referrer-policy"] == "no-referrer"
        assert r.headers["x-frame-options"] == "DENY"
    r = await client.get("/api/categories")
    assert r.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("&lt;b&gt;Bold&lt;/b&gt; news", "Bold news"),  # markup: the tags go
        ("Why &lt;canvas&gt; matters", "Why <canvas> matters"),  # plain text: kept whole
        # Not markup an article may hold, so plain text, shown as text and escaped on output.
        ("&lt;script&gt;x()&lt;/script&gt; news", "<script>x()</script> news"),
    ],
)
def test_feed_titles_follow_the_entry_titles_rule(title: str, expected: str) -> None:
    body = rss([{"guid": "a", "title": title, "link": "http://e.com/a"}], title=title).encode()
    parsed = parse_feed(body, url="http://e.com/f", headers={}, fetched_at=_now())
    assert parsed.title == parsed.entries[0].title == expected


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


WRAPPED_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Feed page</title></head><body>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Wrapped</title><id>urn:w</id>
<updated>2026-01-01T00:00:00Z</updated>
{entries}
</feed></body></html>"""


async def test_an_atom_feed_wrapped_in_xhtml_is_accepted(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    entries = "".join(
        f"<entry><id>urn:e{i}</id><title>E{i}</title><link href='http://e.com/{i}'/>"
        f"<updated>2026-01-01T00:00:00Z</updated></entry>"
        for i in range(10)
    )
    feed_server.set(
        "/wrapped",
        WRAPPED_ATOM.format(entries=entries),
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    page = "<html><body><p>no feed here</p></body></html>"
    feed_server.set("/plain", page, headers={"Content-Type": "text/html"})
    r = await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    url = feed_server.url("/wrapped")
    r = await client.post("/api/admin/feeds", json={"url": url, "category": "tech"}, headers=AUTH)
    assert r.status_code == 201, r.text
    assert r.json()["url"] == url
    r = await client.post(f"/api/admin/feeds/{r.json()['id']}/refresh", headers=AUTH)
    assert r.json()["new_articles"] == 10, r.text
    plain = feed_server.url("/plain")
    r = await client.post("/api/admin/feeds", json={"url": plain, "category": "tech"}, headers=AUTH)
    assert r.status_code == 422 and "links no feed" in r.json()["detail"]


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server
