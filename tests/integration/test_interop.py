"""OPML, autodiscovery, JSON Feed input, output feeds, search, retention."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog import categories, feeds
from feedhub.catalog.retention import prune_articles
from feedhub.core.config import Settings
from feedhub.db.migrate import upgrade_to_head
from feedhub.db.models import Article, Feed, Tombstone
from feedhub.ingest.opml import read_opml
from feedhub.ingest.poller import Poller
from feedhub.service.app import create_app
from tests.conftest import BOTH_DATABASES, corpus_dir
from tests.support.feedserver import FeedServer, rss

# Database behaviour: every test here runs on SQLite and on PostgreSQL.
pytestmark = BOTH_DATABASES

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def _feeds_by_category(client: AsyncTestClient[Any]) -> set[tuple[str, str]]:
    feeds = (await client.get("/api/admin/feeds", headers=AUTH)).json()
    return {(f["url"], f["category"]) for f in feeds}


# -- OPML --------------------------------------------------------------------------------------
@pytest.mark.slow
async def test_opml_round_trip(
    client: AsyncTestClient[Any], settings: Settings, tmp_path: Path
) -> None:
    source = (corpus_dir() / "realworld" / "NetNewsWire" / "Subs.opml").read_bytes()
    r = await client.post("/api/admin/opml", content=source, headers=AUTH)
    assert r.status_code == 200, r.text
    report = r.json()
    expected = len(read_opml(source, default_category="Uncategorized").feeds)
    assert report["created"] == expected > 150
    assert {line["status"] for line in report["feeds"]} <= {"created", "invalid", "existing"}
    first = await _feeds_by_category(client)
    assert len(first) == expected

    # Importing again creates nothing: every feed is reported as existing.
    again = (await client.post("/api/admin/opml", content=source, headers=AUTH)).json()
    assert again["created"] == 0 and again["existing"] == expected

    exported = await client.get("/api/admin/opml", headers=AUTH)
    assert exported.status_code == 200 and b"<opml" in exported.content

    fresh_db = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    await asyncio.to_thread(upgrade_to_head, fresh_db)
    async with AsyncTestClient(app=create_app(settings.with_(database_url=fresh_db))) as other:
        r = await other.post("/api/admin/opml", content=exported.content, headers=AUTH)
        assert r.json()["created"] == expected
        assert await _feeds_by_category(other) == first


@pytest.mark.parametrize(
    "body",
    [
        b"<opml version='2.0'><body><outline",  # truncated
        b"<html><body>not opml</body></html>",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<opml><body><outline xmlUrl='http://e.com/&b;'/></body></opml>",
        b"   ",
    ],
)
async def test_malformed_opml_is_422_and_creates_nothing(
    client: AsyncTestClient[Any], body: bytes
) -> None:
    r = await client.post("/api/admin/opml", content=body, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]
    assert await _feeds_by_category(client) == set()
    assert (await client.get("/api/categories")).json() == []


@pytest.mark.slow
async def test_large_opml_imports_in_one_request_with_a_report(
    client: AsyncTestClient[Any],
) -> None:
    outlines = "".join(
        f'<outline text="F{i}" xmlUrl="http://feeds{i % 7}.example.com/{i}.xml"/>'
        for i in range(500)
    )
    bad = '<outline text="no url" type="rss"/><outline text="ftp" xmlUrl="ftp://e.com/x"/>'
    doc = (
        f'<?xml version="1.0"?><opml version="2.0"><head/><body>'
        f'<outline text="Big">{outlines}{bad}</outline></body></opml>'
    ).encode()
    r = await client.post("/api/admin/opml", content=doc, headers=AUTH)
    report = r.json()
    assert report["created"] == 500 and report["invalid"] == 2
    assert len(report["feeds"]) == 502
    reasons = [line["reason"] for line in report["feeds"] if line["status"] == "invalid"]
    assert all(reasons)
    assert (await client.get("/api/categories")).json() == [
        {"slug": "big", "name": "Big", "feed_count": 500}
    ]


# -- autodiscovery -----------------------------------------------------------------------------
async def test_adding_a_page_url_subscribes_to_its_feed(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    feed_server.set("/blog/feed.xml", rss([{"guid": "1", "title": "Hello"}], title="Blog"))
    feed_server.set(
        "/blog/",
        '<html><head><link rel="alternate" type="application/rss+xml" title="Blog RSS" '
        'href="feed.xml"></head><body>hi</body></html>',
        headers={"Content-Type": "text/html; charset=utf-8"},
    )
    await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    r = await client.post(
        "/api/admin/feeds",
        json={"url": feed_server.url("/blog/"), "category": "tech"},
        headers=AUTH,
    )
    assert r.status_code == 201, r.text
    assert r.json()["url"] == feed_server.url("/blog/feed.xml")


async def test_discover_lists_candidates_without_subscribing(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    feed_server.set("/site/rss.xml", rss([{"guid": "1", "title": "x"}], title="Site RSS"))
    feed_server.set("/site/atom.xml", rss([{"guid": "2", "title": "y"}], title=""))
    feed_server.set("/site/", (
        '<html><head><base href="/site/">'
        '<link rel="alternate" type="application/rss+xml" href="rss.xml">'
        '<link rel="alternate" type="application/atom+xml" title="Atom" href="atom.xml">'
        '<link rel="alternate" type="application/rss+xml" href="/gone.xml">'
        "</head></html>"
    ), headers={"Content-Type": "text/html"})  # fmt: skip
    feed_server.set(
        "/empty/",
        "<html><head></head><body>nothing</body></html>",
        headers={"Content-Type": "text/html"},
    )
    r = await client.post(
        "/api/admin/discover", json={"url": feed_server.url("/site/")}, headers=AUTH
    )
    assert r.status_code == 200, r.text
    assert r.json() == [
        {"url": feed_server.url("/site/rss.xml"), "title": "Site RSS", "subscribed": False},
        {"url": feed_server.url("/site/atom.xml"), "title": "Atom", "subscribed": False},
    ]
    assert (await client.get("/api/admin/feeds", headers=AUTH)).json() == []
    r = await client.post(
        "/api/admin/discover", json={"url": feed_server.url("/empty/")}, headers=AUTH
    )
    assert r.status_code == 422 and "links no feed" in r.json()["detail"]
    # A feed URL is its own single candidate.
    r = await client.post(
        "/api/admin/discover", json={"url": feed_server.url("/site/rss.xml")}, headers=AUTH
    )
    assert [c["url"] for c in r.json()] == [feed_server.url("/site/rss.xml")]


# -- JSON Feed ---------------------------------------------------------------------------------
JSON_FEED_11 = {
    "version": "https://jsonfeed.org/version/1.1",
    "title": "JSON blog",
    "home_page_url": "https://json.example.com/",
    "items": [
        {"id": "1", "url": "https://json.example.com/1", "title": "Rich",
         "content_html": "<p>Hello <b>world</b><script>alert(1)</script></p>",
         "date_published": "2024-05-01T10:00:00+02:00", "authors": [{"name": "Ann"}]},
        {"id": 2, "title": "Plain", "content_text": "a < b\nsecond line",
         "date_published": "2024-05-02T10:00:00Z"},
        {"url": "https://json.example.com/no-id", "title": "No id",
         "content_html": "<i>x</i>"},
    ],
}  # fmt: skip
JSON_FEED_10 = {
    "version": "https://jsonfeed.org/version/1",
    "title": "Old JSON",
    "items": [{"id": "a", "title": "One", "content_text": "text", "author": {"name": "Bo"}}],
}


async def test_json_feeds_are_ingested(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed_server.set(
        "/11.json", json.dumps(JSON_FEED_11), headers={"Content-Type": "application/feed+json"}
    )
    feed_server.set(
        "/10.json", json.dumps(JSON_FEED_10), headers={"Content-Type": "application/json"}
    )
    feed_server.set(
        "/bad.json",
        '{"version": "https://jsonfeed.org/version/1.1", "items": [',
        headers={"Content-Type": "application/feed+json"},
    )
    async with sessions() as session:
        await categories.create_category(session, "Tech", "tech")
        ids = [
            (
                await feeds.create_feed(
                    session, now=datetime.now(UTC), url=feed_server.url(p), category="tech"
                )
            ).id
            for p in ("/11.json", "/10.json", "/bad.json")
        ]
    outcomes = [await poller.poll_now(i) for i in ids]
    assert [o.status for o in outcomes] == ["ok", "ok", "error"]
    assert len(outcomes[0].new_articles) == 3 and len(outcomes[1].new_articles) == 1
    async with sessions() as session:
        rows = {a.title: a for a in await session.scalars(select(Article))}
        bad = await session.get(Feed, ids[2])
        first = await session.get(Feed, ids[0])
    assert rows["Rich"].url == "https://json.example.com/1"
    assert rows["Rich"].author == "Ann" and "<script" not in rows["Rich"].summary
    assert "<b>world</b>" in rows["Rich"].summary
    assert rows["Rich"].published_at == datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    assert "a &lt; b" in rows["Plain"].summary
    assert rows["No id"].guid_key.startswith("link:")
    assert rows["One"].author == "Bo"
    assert first is not None and first.title == "JSON blog"
    assert bad is not None and bad.error_count == 1 and "JSON" in (bad.last_error or "")
    # A second poll of the same document adds nothing.
    assert (await poller.poll_now(ids[0])).new_articles == ()


async def _subscribe_tech_and_science(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    """Categories tech and science with the feeds /t.xml and /s.xml, polled once."""
    for name in ("Tech", "Science"):
        await client.post("/api/admin/categories", json={"name": name}, headers=AUTH)
    for path, cat in (("/t.xml", "tech"), ("/s.xml", "science")):
        r = await client.post(
            "/api/admin/feeds", json={"url": feed_server.url(path), "category": cat}, headers=AUTH
        )
        await client.post(f"/api/admin/feeds/{r.json()['id']}/refresh", headers=AUTH)


# -- output feeds ------------------------------------------------------------------------------
async def _seed_articles(client: AsyncTestClient[Any], feed_server: FeedServer) -> None:
    items = [
        {"guid": f"g{i}", "title": f"Title {i}", "link": f"http://e.com/{i}",
         "description": f"Summary &lt;b&gt;{i}&lt;/b&gt;",
         "pubDate": f"Mon, {i + 1:02d} Jan 2024 10:00:00 GMT"}
        for i in range(5)
    ]  # fmt: skip
    feed_server.set("/t.xml", rss(items, title="Tech feed"))
    feed_server.set("/s.xml", rss([{"guid": "s", "title": "Science!"}], title="Sci"))
    await _subscribe_tech_and_science(client, feed_server)


async def test_output_feeds_validate_and_answer_304(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    await _seed_articles(client, feed_server)
    atom = await client.get("/categories/tech/atom.xml")
    assert atom.status_code == 200 and "atom" in atom.headers["content-type"]
    parsed = feedparser.parse(atom.content)
    assert not parsed.bozo and parsed.version == "atom10"
    assert [e.title for e in parsed.entries] == [f"Title {i}" for i in range(4, -1, -1)]
    assert parsed.entries[0].link == "http://e.com/4"

    doc = (await client.get("/categories/tech/feed.json")).json()
    assert doc["version"] == "https://jsonfeed.org/version/1.1" and doc["title"]
    assert all({"id", "content_html"} <= set(item) for item in doc["items"])
    assert len(doc["items"]) == 5

    everything = feedparser.parse((await client.get("/all/atom.xml")).content)
    assert {e.title for e in everything.entries} >= {"Science!", "Title 0"}
    assert len((await client.get("/all/feed.json")).json()["items"]) == 6
    assert (await client.get("/categories/nope/atom.xml")).status_code == 404

    for path in ("/categories/tech/atom.xml", "/categories/tech/feed.json"):
        first = await client.get(path)
        etag = first.headers["etag"]
        assert first.headers["last-modified"]
        second = await client.get(path, headers={"If-None-Match": etag})
        assert second.status_code == 304 and second.content == b""
        assert (await client.get(path, headers={"If-None-Match": '"x"'})).status_code == 200


# -- search ------------------------------------------------------------------------------------
async def test_search_ranks_title_matches_first(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    feed_server.set("/t.xml", rss([
        {"guid": "1", "title": "Weather report", "description": "Mentions a volcano in passing"},
        {"guid": "2", "title": "Volcano erupts", "description": "Lava everywhere"},
        {"guid": "3", "title": "Cooking",
         "description": 'Nothing &lt;a href="https://e.com/recipes"&gt;relevant&lt;/a&gt;'},
    ]))  # fmt: skip
    feed_server.set("/s.xml", rss([{"guid": "9", "title": "Volcano science"}]))
    await _subscribe_tech_and_science(client, feed_server)

    found = (await client.get("/api/articles", params={"q": "volcano", "category": "tech"})).json()
    assert [a["title"] for a in found] == ["Volcano erupts", "Weather report"]
    by_summary = (await client.get("/api/articles", params={"q": "lava"})).json()
    assert [a["title"] for a in by_summary] == ["Volcano erupts"]
    everywhere = (await client.get("/api/articles", params={"q": "volc"})).json()
    assert {a["title"] for a in everywhere} == {
        "Volcano erupts",
        "Weather report",
        "Volcano science",
    }
    # Markup and URLs are not indexed, only the words a reader sees.
    for word in ("href", "https", "recipes"):
        assert (await client.get("/api/articles", params={"q": word})).json() == [], word
    relevant = (await client.get("/api/articles", params={"q": "relevant"})).json()
    assert [a["title"] for a in relevant] == ["Cooking"]
    odd = await client.get("/api/articles", params={"q": '"AND OR ( * NEAR'})
    assert odd.status_code == 200


@pytest.mark.both_databases
async def test_search_understands_stems_phrases_exclusions_and_or(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    feed_server.set("/t.xml", rss([
        {"guid": "1", "title": "A story of lava", "description": "The mountain woke up"},
        {"guid": "2", "title": "War stories", "description": "Old soldiers remember"},
        {"guid": "3", "title": "Cats at home", "description": "Indoor cats sleep all day"},
        {"guid": "4", "title": "Dogs at home", "description": "A dog needs a daily walk"},
        {"guid": "5", "title": "Home cooking", "description": "Soup at home, cats nearby"},
    ]))  # fmt: skip
    feed_server.set("/s.xml", rss([{"guid": "9", "title": "Mountain home"}]))
    await _subscribe_tech_and_science(client, feed_server)

    async def titles(box: str) -> set[str]:
        r = await client.get("/api/articles", params={"q": box})
        assert r.status_code == 200, r.text
        return {a["title"] for a in r.json()}

    # Stems: "stories" finds "story", "walking" finds "walk", "dog" finds "Dogs".
    assert await titles("stories ") == {"A story of lava", "War stories"}
    assert await titles("walking ") == {"Dogs at home"}
    assert await titles("dog ") == {"Dogs at home"}
    # Exclusions, alone and as phrases.
    assert await titles("stories -war") == {"A story of lava"}
    assert await titles('home -"cats sleep"') == {"Dogs at home", "Home cooking", "Mountain home"}
    # Phrases keep their order.
    assert await titles('"indoor cats"') == {"Cats at home"}
    assert await titles('"cats indoor"') == set()
    # OR between two items; every other item must match.
    assert await titles("cats OR dogs home") == {"Cats at home", "Dogs at home", "Home cooking"}
    assert await titles("lava OR soldiers") == {"A story of lava", "War stories"}
    # Only exclusions, or the engines' syntax: nothing to find, and no error.
    assert await titles("-war") == set()
    assert await titles("NEAR(a b) OR :* & !") == set()


# -- retention ---------------------------------------------------------------------------------
async def test_retention_prunes_keeps_minimum_and_tombstones(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    old = [
        {"guid": f"old{i}", "title": f"old {i}",
         "pubDate": (now - timedelta(days=200 + i)).strftime("%a, %d %b %Y %H:%M:%S GMT")}
        for i in range(8)
    ]  # fmt: skip
    recent = [
        {"guid": f"new{i}", "title": f"new {i}",
         "pubDate": (now - timedelta(days=i)).strftime("%a, %d %b %Y %H:%M:%S GMT")}
        for i in range(2)
    ]  # fmt: skip
    feed_server.set("/mixed.xml", rss(recent + old))
    feed_server.set("/ancient.xml", rss(old[:3]))
    async with sessions() as session:
        await categories.create_category(session, "Tech", "tech")
        mixed = await feeds.create_feed(
            session, now=datetime.now(UTC), url=feed_server.url("/mixed.xml"), category="tech"
        )
        ancient = await feeds.create_feed(
            session, now=datetime.now(UTC), url=feed_server.url("/ancient.xml"), category="tech"
        )
    await poller.poll_due()

    report = await prune_articles(sessions, now=now, days=90, min_per_feed=4)
    # mixed: 10 articles, keep the newest 4 (2 recent + 2 old), delete 6 old ones;
    # ancient: 3 old articles, all kept by the per-feed minimum.
    assert report.deleted == 6 and report.feeds == 1
    async with sessions() as session:
        titles = set(
            await session.scalars(select(Article.title).where(Article.feed_id == mixed.id))
        )
        assert titles == {"new 0", "new 1", "old 0", "old 1"}
        assert await session.scalar(select(func.count()).where(Article.feed_id == ancient.id)) == 3
        assert await session.scalar(select(func.count()).select_from(Tombstone)) == 6

    # The feed still lists the deleted entries: a re-poll must not bring them back.
    feed_server.set("/mixed.xml", rss(recent + old) + " ")  # a changed body, so it is parsed
    outcome = await poller.poll_now(mixed.id)
    assert outcome.status == "ok" and outcome.new_articles == ()
    async with sessions() as session:
        assert await session.scalar(select(func.count()).where(Article.feed_id == mixed.id)) == 4


async def test_control_characters_do_not_break_atom_output(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    feed_server.set("/c.xml", rss([{"guid": "1", "title": "a&#1;b", "description": "x&#8;y"}]))
    await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    r = await client.post(
        "/api/admin/feeds",
        json={"url": feed_server.url("/c.xml"), "category": "tech"},
        headers=AUTH,
    )
    await client.post(f"/api/admin/feeds/{r.json()['id']}/refresh", headers=AUTH)
    atom = await client.get("/categories/tech/atom.xml")
    assert atom.status_code == 200
    assert [e.title for e in feedparser.parse(atom.content).entries] == ["ab"]
