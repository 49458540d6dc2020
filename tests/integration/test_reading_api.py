"""Server side: publication order with a stable cursor, the backlog window, and
one article with its content and enclosures for the reading view."""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.db.models import Article
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.poller import Poller
from feedhub.service.app import create_app
from tests.conftest import BOTH_DATABASES, RecordingPublisher
from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess
from tests.support.sse import RawStream

pytestmark = BOTH_DATABASES

AUTH = {"Authorization": "Bearer test-token"}
NOW = datetime.now(UTC)


def _item(key: str, published: datetime, **extra: str) -> dict[str, str]:
    return {
        "guid": f"urn:t:{key}",
        "link": f"https://example.com/{key}",
        "title": f"Story {key}",
        "description": f"Summary of {key}",
        "pubDate": email.utils.format_datetime(published),
        **extra,
    }


def backlog(n: int) -> list[dict[str, str]]:
    """`n` items a week apart, the newest a month old: a podcast's archive."""
    start = NOW - timedelta(days=30 + 7 * n)
    return [_item(f"old{i}", start + timedelta(days=7 * i)) for i in range(n)]


@pytest.fixture
def windowed(settings: Settings) -> Settings:
    return settings.with_(backlog_window_hours=72.0)


@pytest.fixture
async def client(windowed: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(windowed)) as c:
        yield c


async def _add_feed(client: AsyncTestClient[Any], url: str, slug: str = "pods") -> int:
    r = await client.post("/api/admin/categories", json={"name": slug.title(), "slug": slug},
                          headers=AUTH)  # fmt: skip
    assert r.status_code in (201, 409), r.text
    r = await client.post("/api/admin/feeds", json={"url": url, "category": slug}, headers=AUTH)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_first_poll_backlog_is_stored_and_listed_but_not_announced(
    windowed: Settings, sessions: async_sessionmaker[AsyncSession], feed_server: FeedServer,
    client: AsyncTestClient[Any],
) -> None:  # fmt: skip
    """700 archive items + 2 recent ones: all 702 stored, only the recent 2 get a doorbell,
    and catch-up (`after=`) skips the quiet ones as the stream does."""
    recent = [_item("new1", NOW - timedelta(hours=2)), _item("new2", NOW - timedelta(hours=1))]
    feed_server.set("/pod.xml", rss(recent[::-1] + backlog(700)[::-1], title="Pod"))
    feed_id = await _add_feed(client, feed_server.url("/pod.xml"))
    publisher = RecordingPublisher()
    async with Poller(windowed, FeedStore(sessions), publisher) as poller:
        outcome = await poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 702
    async with sessions() as session:
        rows = (await session.execute(select(Article.title, Article.id, Article.quiet))).all()
    announced = sorted(article_id for title, article_id, quiet in rows if not quiet)
    assert sorted(t for t, _, q in rows if not q) == ["Story new1", "Story new2"]
    assert publisher.ids == announced  # one doorbell, the two recent ids only

    caught_up = (await client.get("/api/articles", params={"after": 0, "limit": 200})).json()
    assert [a["title"] for a in caught_up] == ["Story new1", "Story new2"]
    # Listed all the same, newest publication first.
    listed = (await client.get("/api/articles", params={"order": "published", "limit": 3})).json()
    assert [a["title"] for a in listed] == ["Story new2", "Story new1", "Story old699"]


async def test_publication_order_clamps_future_dates_and_pages_stably(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    # Ids follow the document's order here, not the dates: the list must sort by date.
    items = [
        _item("mid", NOW - timedelta(hours=5)),
        _item("future", NOW + timedelta(hours=5)),  # ahead, within the parser's day of slack
        _item("oldest", NOW - timedelta(hours=50)),
        _item("newest", NOW - timedelta(minutes=10)),
        *[_item(f"same{i}", NOW - timedelta(hours=20)) for i in range(5)],  # equal dates
    ]
    feed_server.set("/f.xml", rss(items, title="F"))
    feed_id = await _add_feed(client, feed_server.url("/f.xml"), "news")
    assert (await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=AUTH)).json()[
        "new_articles"
    ] == len(items)

    full = (await client.get("/api/articles", params={"order": "published"})).json()
    titles = [a["title"] for a in full]
    # The future item is listed at its arrival: above everything published before it came.
    assert titles[0] == "Story future" and titles[1] == "Story newest"
    assert titles[2] == "Story mid" and titles[-1] == "Story oldest"
    future = full[0]
    assert future["published_at"] > future["listed_at"] == future["fetched_at"]
    same = [a for a in full if a["title"].startswith("Story same")]
    assert [a["id"] for a in same] == sorted((a["id"] for a in same), reverse=True)

    # Page through two at a time; an article arriving meanwhile does not shift the pages.
    pages: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"order": "published", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/api/articles", params=params)
        assert r.status_code == 200
        pages.append(r.json())
        if len(pages) == 2:
            feed_server.set("/f.xml", rss([_item("late", NOW - timedelta(hours=1)), *items]))
            await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=AUTH)
        cursor = r.headers.get("x-next-cursor")
        if cursor is None:
            break
    paged = [a["id"] for page in pages for a in page]
    assert paged == [a["id"] for a in full]  # no repeat, no gap, the late one not squeezed in
    assert len(pages[-1]) < 2 or pages[-1] == []


@pytest.mark.parametrize(
    "params",
    [
        {"order": "published", "cursor": "nonsense"},
        {"order": "published", "cursor": "12.0"},
        {"order": "published", "cursor": "1.2.3"},
        {"order": "published", "before": 5},
        {"order": "published", "after": 5},
        {"cursor": "1.2"},
        {"order": "sideways"},
    ],
)
async def test_bad_listing_parameters_are_4xx_with_detail(
    client: AsyncTestClient[Any], params: dict[str, Any]
) -> None:
    r = await client.get("/api/articles", params=params)
    assert r.status_code in (400, 422), r.text
    assert r.json()["detail"]


async def test_article_detail_has_content_source_and_enclosures(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    body = (
        '<?xml version="1.0"?><rss version="2.0" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>Pod</title>'
        "<link>https://pod.example/</link><description>d</description>"
        "<item><title>Episode 1</title><guid>ep1</guid><link>https://pod.example/1</link>"
        "<author>host@pod.example (Ann Host)</author>"
        "<description>Short</description>"
        "<content:encoded><![CDATA[<p>Full <b>notes</b><script>alert(1)</script></p>]]>"
        "</content:encoded>"
        '<enclosure url="https://cdn.pod.example/ep1.mp3" length="4096" type="audio/mpeg"/>'
        f"<pubDate>{email.utils.format_datetime(NOW - timedelta(hours=1))}</pubDate>"
        "</item></channel></rss>"
    )
    feed_server.set("/pod.xml", body)
    feed_id = await _add_feed(client, feed_server.url("/pod.xml"))
    await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=AUTH)
    [listed] = (await client.get("/api/articles")).json()
    r = await client.get(f"/api/articles/{listed['id']}")
    assert r.status_code == 200
    detail = r.json()
    assert detail["content"] == "<p>Full <b>notes</b></p>"  # sanitized at ingest
    assert detail["summary"] == "Short"
    assert detail["site_url"] == "https://pod.example/"
    assert detail["feed_title"] == "Pod" and detail["category"] == "pods"
    assert "Ann Host" in detail["author"]
    assert detail["enclosures"] == [
        {"url": "https://cdn.pod.example/ep1.mp3", "type": "audio/mpeg", "length": 4096}
    ]
    assert {k: detail[k] for k in listed} == listed

    missing = await client.get("/api/articles/999999")
    assert missing.status_code == 404 and "999999" in missing.json()["detail"]


@pytest.mark.slow
async def test_open_stream_hears_none_of_a_700_item_backlog(
    server_factory: type[ServerProcess], feed_server: FeedServer, tmp_path: Path
) -> None:
    """A real server and a raw SSE client: adding a feed with a 700-item archive sends
    only its two recent entries; a resume replays no archive item either."""
    server = server_factory(env={"FEEDHUB_BACKLOG_WINDOW_HOURS": "72"}).start()
    server.add_category("Pods", "pods")
    stream = await RawStream.open(f"{server.url}/api/stream")
    try:
        hello = await stream.next_event()
        assert hello is not None and hello.event == "hello"
        recent = [_item("new1", NOW - timedelta(hours=2)), _item("new2", NOW - timedelta(hours=1))]
        feed_server.set("/pod.xml", rss(recent[::-1] + backlog(700)[::-1], title="Pod"))
        with server.admin() as admin:
            r = admin.post(
                "/api/admin/feeds", json={"url": feed_server.url("/pod.xml"), "category": "pods"}
            )
            assert r.status_code == 201, r.text
        events = await stream.articles(2, within=20)
        assert [e.json()["title"] for e in events] == ["Story new1", "Story new2"]
        assert await stream.expect_quiet(1.5) == []
        async with httpx.AsyncClient() as http:
            listed = (
                await http.get(f"{server.url}/api/articles", params={"order": "published",
                                                                     "limit": 200})
            ).json()  # fmt: skip
        assert len(listed) == 200  # stored and listed
    finally:
        await stream.close()

    resumed = await RawStream.open(
        f"{server.url}/api/stream", headers={"Last-Event-ID": hello.id or "0"}
    )
    try:
        await resumed.next_event()  # hello
        replayed = await resumed.articles(2)
        assert [e.json()["title"] for e in replayed] == ["Story new1", "Story new2"]
        assert await resumed.expect_quiet(1.0) == []
    finally:
        await resumed.close()
    await asyncio.sleep(0)


async def test_signed_in_lists_in_publication_order_with_state_filters(
    client: AsyncTestClient[Any], feed_server: FeedServer
) -> None:
    """`/api/me/articles?order=published` (the page's Unread and Starred views): the same
    order and cursor as `/api/articles`, several categories, the reader's state."""
    older, newer = (
        _item("a-old", NOW - timedelta(hours=9)),
        _item("a-new", NOW - timedelta(hours=1)),
    )
    feed_server.set("/a.xml", rss([older, newer], title="A"))
    feed_server.set("/b.xml", rss([_item("b-mid", NOW - timedelta(hours=5))], title="B"))
    feed_server.set("/c.xml", rss([_item("c-top", NOW - timedelta(minutes=5))], title="C"))
    for path, slug in (("/a.xml", "aa"), ("/b.xml", "bb"), ("/c.xml", "cc")):
        feed_id = await _add_feed(client, feed_server.url(path), slug)
        await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=AUTH)
    user = {"name": "ann", "password": "correct horse battery", "role": "reader"}
    assert (await client.post("/api/admin/users", json=user, headers=AUTH)).status_code == 201
    signed = await client.post("/api/session", json={"name": "ann", "password": user["password"]})
    assert signed.status_code == 200
    csrf = {"X-CSRF-Token": signed.json()["csrf_token"]}
    listed = (await client.get("/api/articles", params={"order": "published"})).json()
    by_title = {a["title"]: a["id"] for a in listed}
    r = await client.post("/api/me/state", json={"read": [by_title["Story a-new"]]}, headers=csrf)
    assert r.status_code == 200, r.text

    params: dict[str, Any] = {"state": "unread", "order": "published", "limit": 1,
                              "category": ["aa", "bb"]}  # fmt: skip
    seen: list[str] = []
    while True:
        r = await client.get("/api/me/articles", params=params)
        assert r.status_code == 200, r.text
        seen += [a["title"] for a in r.json()]
        assert all(a["read"] is False and "listed_at" in a for a in r.json())
        if (cursor := r.headers.get("x-next-cursor")) is None:
            break
        params["cursor"] = cursor
    assert seen == ["Story b-mid", "Story a-old"]  # a-new is read, cc not asked for

    bad = await client.get("/api/me/articles", params={"order": "published", "before": 3})
    assert bad.status_code in (400, 422) and bad.json()["detail"]
    detail = (await client.get(f"/api/articles/{by_title['Story a-new']}")).json()
    assert detail["read"] is True and detail["starred"] is False
