"""Defects found in review: each test fails on the code before its fix."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import feedparser
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.app import create_app
from feedhub.catalog import categories, feeds
from feedhub.config import Settings
from feedhub.ingest.cadence import cache_hint
from feedhub.ingest.poller import Poller
from feedhub.models import Article, Feed
from tests.conftest import RecordingPublisher
from tests.support.feedserver import FeedServer, rss

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def _feed(sessions: async_sessionmaker[AsyncSession], url: str) -> int:
    async with sessions() as session:
        await categories.create_category(session, "Tech", "tech")
        return (
            await feeds.create_feed(session, now=datetime.now(UTC), url=url, category="tech")
        ).id


async def test_ids_turning_unreliable_do_not_reimport_the_feed(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    items = [{"guid": f"g{i}", "title": f"T{i}", "link": f"http://e.com/{i}"} for i in range(10)]
    feed_server.set("/f.xml", rss(items))
    feed_id = await _feed(sessions, feed_server.url("/f.xml"))
    assert len((await poller.poll_now(feed_id)).new_articles) == 10
    # A new story reuses g0 with another link: the feed's ids are now unreliable.
    clash = {"guid": "g0", "title": "Other story", "link": "http://e.com/other"}
    feed_server.set("/f.xml", rss([clash, *items]))
    outcome = await poller.poll_now(feed_id)
    assert len(outcome.new_articles) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Article)) == 11
        feed = await session.get(Feed, feed_id)
        assert feed is not None and feed.guid_unreliable
    assert len(publisher.ids) == 11
    # Stable from then on.
    feed_server.set("/f.xml", rss([clash, *items]) + " ")
    assert (await poller.poll_now(feed_id)).new_articles == ()


async def test_dates_out_of_range_are_not_internal_errors(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Old",
           "items": [{"id": "1", "title": "Year one",
                      "date_published": "0001-01-01T00:00:00+05:00"}]}  # fmt: skip
    feed_server.set("/old.json", json.dumps(doc),
                    headers={"Content-Type": "application/feed+json",
                             "Expires": "Fri, 31 Dec 9999 23:59:59 -0100"})  # fmt: skip
    feed_id = await _feed(sessions, feed_server.url("/old.json"))
    outcome = await poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 1
    from datetime import UTC, datetime

    assert cache_hint({"expires": "Fri, 31 Dec 9999 23:59:59 -0100"}, datetime.now(UTC)) is None


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


@pytest.mark.parametrize(
    "url", ["http://[::1", "http://[zz]/", "http://a..b/feed", "http://" + "x" * 70 + ".example/"]
)
async def test_malformed_urls_are_422(
    client: AsyncTestClient[Any], settings: Settings, url: str
) -> None:
    await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    r = await client.post("/api/admin/feeds", json={"url": url, "category": "tech"}, headers=AUTH)
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


async def test_guarded_malformed_urls_are_422(settings: Settings) -> None:
    guarded = settings.with_(allow_private_networks=False)
    async with AsyncTestClient(app=create_app(guarded)) as client:
        await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
        for url in ("http://a..b/feed", "http://" + "x" * 70 + ".example/"):
            r = await client.post(
                "/api/admin/feeds", json={"url": url, "category": "tech"}, headers=AUTH
            )
            assert r.status_code == 422, (url, r.text)
        opml = (b'<opml version="2.0"><body><outline text="T">'
                b'<outline text="bad" xmlUrl="http://a..b/feed"/>'
                b'<outline text="ok" xmlUrl="http://127.0.0.1:9/ok"/>'
                b"</outline></body></opml>")  # fmt: skip
        r = await client.post("/api/admin/opml", content=opml, headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json()["invalid"] == 2 and r.json()["created"] == 0


def test_admin_token_is_stripped_and_not_in_repr() -> None:
    settings = Settings.from_env({"FEEDHUB_ADMIN_TOKEN": "s3cret\n"})
    assert settings.admin_token == "s3cret"
    assert "s3cret" not in repr(settings)


def test_relative_links_are_resolved_in_tags_only() -> None:
    from feedhub.ingest.sanitize import sanitize_html

    html = sanitize_html('<p>src="a" <a href="x/y">l</a> <img src="i.png"></p>', "https://e.com/a/")
    assert 'src="a"' in html
    assert 'href="https://e.com/a/x/y"' in html and 'src="https://e.com/a/i.png"' in html


def test_non_latin_category_names_get_distinct_slugs() -> None:
    from feedhub.ingest.opml import slugify

    assert slugify("日本") != slugify("中文")
    assert slugify("日本").startswith("category-") and slugify("Café") == "cafe"
