"""Site icons as feedhub serves them: /icons/feeds/{id}, the page's /api/feeds and feed
filter, Google Reader's iconUrl and Fever's favicons, and private mode."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.ingest.iconfetch import IconFound, IconMissing
from feedhub.ingest.iconstore import IconStore
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import PASSWORD, google_login, make_client
from tests.integration.readers.helpers import T0

Client = AsyncTestClient[Any]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 20
KEY = hashlib.md5(f"ann:{PASSWORD}".encode()).hexdigest()


async def give_icon(sessions: async_sessionmaker[AsyncSession], feed_id: int) -> None:
    found = IconFound("http://127.0.0.1:1/i.png", "image/png", PNG, None)
    await IconStore(sessions).save(feed_id, found, T0)


async def feed_ids(client: Client) -> dict[str, int]:
    r = await client.get("/api/feeds")
    assert r.status_code == 200
    return {f["title"]: f["id"] for f in r.json()}


@BOTH_DATABASES
async def test_an_icon_is_served_with_its_etag_and_a_default_without(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await feed_ids(client)
    await give_icon(sessions, ids["alpha"])
    # A failure after a success keeps the icon found before.
    await IconStore(sessions).save(ids["alpha"], IconMissing("HTTP 503"), T0)
    r = await client.get(f"/icons/feeds/{ids['alpha']}")
    assert r.status_code == 200 and r.content == PNG
    assert r.headers["content-type"] == "image/png"
    assert r.headers["etag"] == f'"{hashlib.sha256(PNG).hexdigest()}"'
    assert r.headers["cache-control"] == "public, max-age=86400"
    assert r.headers["x-content-type-options"] == "nosniff"
    again = await client.get(
        f"/icons/feeds/{ids['alpha']}", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304 and again.content == b""
    plain = await client.get(f"/icons/feeds/{ids['beta']}")
    assert plain.status_code == 200 and plain.headers["content-type"] == "image/svg+xml"
    assert plain.content.startswith(b"<svg") and b"<script" not in plain.content
    assert "sandbox" in plain.headers["content-security-policy"]
    assert "default-src 'none'" in plain.headers["content-security-policy"]
    for path in ["/icons/feeds/999999", "/icons/feeds/0", f"/icons/feeds/{2**63}"]:
        r = await client.get(path)
        assert r.status_code in (400, 404), path
        assert r.headers["content-type"].startswith("application/json") and r.json()["detail"]


async def test_feeds_list_and_one_feeds_articles(
    client: Client, world: dict[str, list[int]], sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await feed_ids(client)
    await give_icon(sessions, ids["gamma"])
    listed = {f["title"]: f for f in (await client.get("/api/feeds")).json()}
    assert listed["gamma"] == {
        "id": ids["gamma"], "title": "gamma", "category": "news",
        "site_url": "http://127.0.0.1:1/gamma", "has_icon": True,
    }  # fmt: skip
    assert listed["alpha"]["has_icon"] is False
    assert all("url" not in f for f in listed.values())  # a feed URL may carry a secret
    for params in ({}, {"order": "published"}, {"after": 0}, {"category": "tech"}):
        r = await client.get("/api/articles", params={"feed": ids["beta"], **params})
        assert r.status_code == 200
        assert sorted(a["id"] for a in r.json()) == sorted(world["beta"]), params
    r = await client.get("/api/articles", params={"feed": ids["beta"], "category": "news"})
    assert r.json() == []
    for bad in ("0", "x", str(2**63)):
        assert (await client.get("/api/articles", params={"feed": bad})).status_code == 400


async def test_google_reader_icon_url_and_fever_favicons(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    ids = await feed_ids(client)
    await give_icon(sessions, ids["alpha"])
    headers = await google_login(client)
    r = await client.get("/reader/api/0/subscription/list?output=json", headers=headers)
    icons = {s["title"]: s["iconUrl"] for s in r.json()["subscriptions"]}
    assert icons["alpha"] == f"http://testserver.local/icons/feeds/{ids['alpha']}"
    icon = await client.get(icons["alpha"].removeprefix("http://testserver.local"))
    assert icon.content == PNG
    r = await client.post("/api/fever.php?api&feeds&favicons", data={"api_key": KEY})
    body = r.json()
    feeds = {f["title"]: f for f in body["feeds"]}
    assert feeds["alpha"]["favicon_id"] == ids["alpha"] and feeds["beta"]["favicon_id"] == 0
    assert body["favicons"] == [
        {"id": ids["alpha"], "data": "image/png;base64," + base64.b64encode(PNG).decode()}
    ]


async def test_icon_url_under_the_public_url(settings: Settings, world: Any) -> None:
    async with make_client(settings.with_(public_url="https://news.example.org/")) as client:
        headers = await google_login(client)
        r = await client.get("/reader/api/0/subscription/list?output=json", headers=headers)
        urls = [s["iconUrl"] for s in r.json()["subscriptions"]]
        assert urls and all(u.startswith("https://news.example.org/icons/feeds/") for u in urls)


async def test_private_mode_icons_need_a_reader(
    settings: Settings, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with make_client(settings.with_(reading="private")) as client:
        for path in ["/icons/feeds/1", "/api/feeds"]:
            r = await client.get(path)
            assert r.status_code == 401 and "sign in" in r.json()["detail"], path
        headers = await google_login(client)  # an app's token reads them
        r = await client.get("/icons/feeds/1", headers=headers)
        assert r.status_code == 200 and r.headers["cache-control"].startswith("private")
        r = await client.get("/api/feeds", headers=headers)
        assert r.status_code == 200 and len(r.json()) == 3
