"""The admin API: its bearer guard, and rejections that change nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from feedhub.core.config import Settings
from feedhub.service.app import create_app
from tests.conftest import BOTH_DATABASES
from tests.support import dbsnap
from tests.support.feedserver import FeedServer, rss

# Database behaviour: every test here runs on SQLite and on PostgreSQL.
pytestmark = BOTH_DATABASES

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        yield c


async def snapshot(settings: Settings) -> dict[str, list[tuple[Any, ...]]]:
    return await dbsnap.snapshot(settings.database_url)


@pytest.fixture
async def seeded(client: AsyncTestClient[Any], feed_server: FeedServer) -> dict[str, Any]:
    feed_server.set("/seed.xml", rss([{"guid": "a", "title": "A", "link": "http://e.com/a"}]))
    r = await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    assert r.status_code == 201 and r.json()["slug"] == "tech"
    url = feed_server.url("/seed.xml")
    r = await client.post("/api/admin/feeds", json={"url": url, "category": "tech"}, headers=AUTH)
    assert r.status_code == 201, r.text
    return {"feed": r.json(), "url": url}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "test-token"},
        {"Authorization": "Basic dGVzdC10b2tlbg=="},
    ],
)
async def test_admin_routes_need_the_token(
    client: AsyncTestClient[Any], settings: Settings, headers: dict[str, str]
) -> None:
    before = await snapshot(settings)
    for method, path, body in [
        ("GET", "/api/admin/feeds", None),
        ("POST", "/api/admin/categories", {"name": "X"}),
        ("POST", "/api/admin/feeds", {"url": "http://127.0.0.1/x", "category": "x"}),
        ("DELETE", "/api/admin/feeds/1", None),
    ]:
        r = await client.request(method, path, json=body, headers=headers)
        assert r.status_code == 401, (method, path)
        assert r.headers["content-type"].startswith("application/json")
        assert r.json()["detail"]
    assert await snapshot(settings) == before


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"url": "not a url", "category": "tech"}, 422, "not an http"),
        ({"url": "ftp://example.com/feed", "category": "tech"}, 422, "not an http"),
        ({"url": "http://", "category": "tech"}, 422, "no host"),
        ({"url": "URL", "category": "nope"}, 422, "category 'nope' does not exist"),
        ({"url": "URL", "category": "tech"}, 409, "already exists"),
        ({"url": "URL", "category": "tech", "poll_interval": 5}, 400, "poll_interval"),
        ({"category": "tech"}, 400, "url"),
    ],
)
async def test_bad_feed_bodies_are_rejected_and_change_nothing(
    client: AsyncTestClient[Any],
    settings: Settings,
    seeded: dict[str, Any],
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    body = {k: (seeded["url"] if v == "URL" else v) for k, v in body.items()}
    before = await snapshot(settings)
    r = await client.post("/api/admin/feeds", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    assert words in r.json()["detail"] + str(r.json().get("extra", ""))
    assert await snapshot(settings) == before


async def test_a_url_that_is_not_a_feed_is_422(
    client: AsyncTestClient[Any],
    settings: Settings,
    seeded: dict[str, Any],
    feed_server: FeedServer,
) -> None:
    feed_server.set(
        "/page",
        "<html><head></head><body>no feed</body></html>",
        headers={"Content-Type": "text/html"},
    )
    feed_server.set("/text", "just text", headers={"Content-Type": "text/plain"})
    before = await snapshot(settings)
    for path in ("/page", "/text", "/missing"):
        r = await client.post(
            "/api/admin/feeds",
            json={"url": feed_server.url(path), "category": "tech"},
            headers=AUTH,
        )
        assert r.status_code == 422, r.text
        assert r.json()["detail"]
    assert await snapshot(settings) == before


async def test_category_rules(
    client: AsyncTestClient[Any], settings: Settings, seeded: dict[str, Any]
) -> None:
    before = await snapshot(settings)
    r = await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
    assert r.status_code == 409
    r = await client.post(
        "/api/admin/categories", json={"name": "X", "slug": "Bad Slug"}, headers=AUTH
    )
    assert r.status_code == 400 and r.json()["detail"]
    r = await client.delete("/api/admin/categories/tech", headers=AUTH)
    assert r.status_code == 409 and "still has 1 feed" in r.json()["detail"]
    r = await client.delete("/api/admin/categories/nope", headers=AUTH)
    assert r.status_code == 404
    assert await snapshot(settings) == before
    r = await client.patch("/api/admin/categories/tech", json={"name": "Technology"}, headers=AUTH)
    assert r.status_code == 200 and r.json()["name"] == "Technology"


async def test_feed_crud_refresh_and_public_reads(
    client: AsyncTestClient[Any], seeded: dict[str, Any], feed_server: FeedServer
) -> None:
    feed_id = seeded["feed"]["id"]
    r = await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=AUTH)
    assert r.status_code == 200 and r.json() == {"new_articles": 1, "status": "ok", "error": None}
    feeds = (await client.get("/api/admin/feeds", headers=AUTH)).json()
    assert feeds[0]["article_count"] == 1 and feeds[0]["last_status"] == 200
    assert feeds[0]["error_count"] == 0 and feeds[0]["next_poll_at"]

    cats = (await client.get("/api/categories")).json()
    assert cats == [{"slug": "tech", "name": "Tech", "feed_count": 1}]
    articles = (await client.get("/api/articles", params={"category": "tech"})).json()
    assert [a["title"] for a in articles] == ["A"]
    assert set(articles[0]) == {
        "id",
        "feed_id",
        "feed_title",
        "category",
        "title",
        "url",
        "summary",
        "author",
        "published_at",
        "fetched_at",
        "listed_at",
    }
    assert (await client.get("/api/articles", params={"category": "other"})).json() == []
    assert (await client.get("/api/articles", params={"limit": 500})).status_code == 400

    r = await client.patch(
        f"/api/admin/feeds/{feed_id}", json={"title": "Mine", "poll_interval": 600}, headers=AUTH
    )
    assert r.status_code == 200 and r.json()["title"] == "Mine"
    assert r.json()["poll_interval"] == 600
    _assert_polls_within(r.json(), 600)
    r = await client.patch(f"/api/admin/feeds/{feed_id}", json={"poll_interval": 60}, headers=AUTH)
    assert r.status_code == 200 and r.json()["poll_interval"] == 60
    _assert_polls_within(r.json(), 60)
    assert (await client.delete(f"/api/admin/feeds/{feed_id}", headers=AUTH)).status_code == 204
    assert (await client.get(f"/api/admin/feeds/{feed_id}", headers=AUTH)).status_code == 404
    assert (await client.get("/api/articles")).json() == []


def _assert_polls_within(feed: dict[str, Any], seconds: int) -> None:
    """An edited interval takes effect at once: the next poll is at most `seconds` after
    the last one (or now, when that is already past), not where the old schedule put it."""
    last = datetime.fromisoformat(feed["last_polled_at"])
    planned = datetime.fromisoformat(feed["next_poll_at"])
    assert planned <= max(last + timedelta(seconds=seconds), datetime.now(UTC)), feed


async def test_articles_pagination_and_catch_up(
    client: AsyncTestClient[Any], seeded: dict[str, Any], feed_server: FeedServer
) -> None:
    items = [
        {
            "guid": f"g{i}",
            "title": f"T{i}",
            "link": f"http://e.com/{i}",
            "pubDate": f"Mon, {i + 1:02d} Jan 2024 10:00:00 GMT",
        }
        for i in range(10)
    ]
    feed_server.set("/seed.xml", rss(items))
    await client.post(f"/api/admin/feeds/{seeded['feed']['id']}/refresh", headers=AUTH)
    page1 = (await client.get("/api/articles", params={"limit": 4})).json()
    ids = [a["id"] for a in page1]
    assert ids == sorted(ids, reverse=True) and len(ids) == 4
    page2 = (await client.get("/api/articles", params={"limit": 4, "before": ids[-1]})).json()
    assert all(a["id"] < ids[-1] for a in page2) and len(page2) == 4
    after = (await client.get("/api/articles", params={"after": page2[0]["id"]})).json()
    assert [a["id"] for a in after] == sorted(ids)


async def test_health_schema_and_pages(client: AsyncTestClient[Any]) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert "feedhub_stream_subscribers" in r.json()
    schema = await client.get("/schema/openapi.json")
    assert schema.status_code == 200
    # The Google Reader API is listed once (not again under its /api/greader.php alias).
    paths = schema.json()["paths"]
    assert {"/accounts/ClientLogin", "/reader/api/0/subscription/list"} <= set(paths)
    assert not [path for path in paths if path.startswith("/api/greader.php")]
    # The raw ASGI stream is added to the document Litestar builds, the same on every fetch.
    assert paths["/api/stream"]["get"]["operationId"] == "Stream"
    assert (await client.get("/schema/openapi.json")).json() == schema.json()
    assert "<html" in (await client.get("/")).text.lower()
    admin = await client.get("/admin")
    assert "<html" in admin.text.lower() and admin.headers["content-type"].startswith("text/html")


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


async def test_poll_interval_bounds_come_from_the_settings(
    settings: Settings, feed_server: FeedServer
) -> None:
    strict = settings.with_(min_poll_interval=300, max_poll_interval=3600)
    feed_server.set("/b.xml", rss([{"guid": "a", "title": "A", "link": "http://e.com/a"}]))
    async with AsyncTestClient(app=create_app(strict)) as client:
        await client.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
        body = {"url": feed_server.url("/b.xml"), "category": "tech"}
        for too_far in (120, 7200):
            r = await client.post(
                "/api/admin/feeds", json={**body, "poll_interval": too_far}, headers=AUTH
            )
            assert r.status_code == 400, r.text
            assert "between 300 and 3600" in r.json()["detail"]
        r = await client.post("/api/admin/feeds", json={**body, "poll_interval": 300}, headers=AUTH)
        assert r.status_code == 201, r.text
        feed_id = r.json()["id"]
        r = await client.patch(
            f"/api/admin/feeds/{feed_id}", json={"poll_interval": 59}, headers=AUTH
        )
        assert r.status_code == 400 and "poll_interval" in r.json()["detail"]
        r = await client.patch(
            f"/api/admin/feeds/{feed_id}", json={"poll_interval": 3600}, headers=AUTH
        )
        assert r.status_code == 200 and r.json()["poll_interval"] == 3600
