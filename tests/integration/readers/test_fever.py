"""The Fever API at /api/fever.php, against Fever's documented requests and answers (the
form FreshRSS and Miniflux serve), over the same readers' state as the Google Reader API."""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.db.models import User
from feedhub.greader.protocol import READ, READING_LIST, STARRED
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import PASSWORD, google_login

pytestmark = BOTH_DATABASES

Client = AsyncTestClient[Any]
KEY = hashlib.md5(f"ann:{PASSWORD}".encode()).hexdigest()


async def fever(client: Client, query: str, key: str = KEY, **form: Any) -> dict[str, Any]:
    r = await client.post(f"/api/fever.php?api&{query}", data={"api_key": key, **form})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert body["api_version"] == 3
    return body


async def test_auth_by_api_key(client: Client, world: Any) -> None:
    assert (await fever(client, ""))["auth"] == 1
    assert (await fever(client, "", key=KEY.upper()))["auth"] == 1
    wrong = await fever(client, "groups", key=hashlib.md5(b"ann:nope").hexdigest())
    assert wrong == {"api_version": 3, "auth": 0}
    r = await client.get("/api/fever.php?api")
    assert r.status_code == 200 and r.json()["auth"] == 0


async def test_groups_feeds_and_favicons(client: Client, world: Any) -> None:
    body = await fever(client, "groups&feeds&favicons")
    groups = {g["title"]: g["id"] for g in body["groups"]}
    assert set(groups) == {"News", "Tech"}
    feeds = {f["title"]: f for f in body["feeds"]}
    assert set(feeds) == {"alpha", "beta", "gamma"}
    assert feeds["alpha"]["url"] == "http://127.0.0.1:1/alpha.xml"
    tech = {g["group_id"]: g["feed_ids"] for g in body["feeds_groups"]}[groups["Tech"]]
    assert sorted(tech.split(",")) == sorted([str(feeds["alpha"]["id"]), str(feeds["beta"]["id"])])
    assert body["favicons"] == []


async def test_items_since_max_and_with_ids(client: Client, world: Any) -> None:
    first = await fever(client, "items")
    assert [i["id"] for i in first["items"]] == list(range(1, 11))
    item = first["items"][0]
    assert item["html"] == "<p>content 1</p>" and item["is_read"] == 0 and item["feed_id"]
    since = await fever(client, "items&since_id=7")
    assert [i["id"] for i in since["items"]] == [8, 9, 10]
    newest = await fever(client, "items&max_id=4")
    assert [i["id"] for i in newest["items"]] == [3, 2, 1]
    picked = await fever(client, "items&with_ids=2,9")
    assert sorted(i["id"] for i in picked["items"]) == [2, 9]
    r = await client.post("/api/fever.php?api&items&since_id=x", data={"api_key": KEY})
    assert r.status_code == 422 and r.json()["detail"]
    many = ",".join(str(n) for n in range(1, 60))
    r = await client.post(f"/api/fever.php?api&items&with_ids={many}", data={"api_key": KEY})
    assert r.status_code == 422


async def test_marks_are_the_readers_state(client: Client, world: Any) -> None:
    body = await fever(client, "unread_item_ids&saved_item_ids")
    assert sorted(map(int, body["unread_item_ids"].split(","))) == list(range(1, 11))
    assert body["saved_item_ids"] == ""
    body = await fever(client, "", mark="item", **{"as": "read"}, id="3")
    assert "3" not in body["unread_item_ids"].split(",")
    body = await fever(client, "", mark="item", **{"as": "saved"}, id="4")
    assert body["saved_item_ids"] == "4"
    # the Google Reader API sees the same state
    auth = await google_login(client)
    r = await client.post(
        "/reader/api/0/stream/items/contents", headers=auth, data={"i": ["3", "4"]}
    )
    cats = {int(i["id"][-16:], 16): set(i["categories"]) for i in r.json()["items"]}
    assert READ in cats[3] and STARRED in cats[4]
    await fever(client, "", mark="item", **{"as": "unsaved"}, id="4")
    await fever(client, "", mark="item", **{"as": "unread"}, id="3")
    # a feed, then a group, up to `before`
    feeds = {f["title"]: f["id"] for f in (await fever(client, "feeds"))["feeds"]}
    body = await fever(client, "", mark="feed", **{"as": "read"}, id=str(feeds["alpha"]),
                       before="4102444800")  # fmt: skip
    alpha_items = [
        i["id"] for i in (await fever(client, "items"))["items"] if i["feed_id"] == feeds["alpha"]
    ]
    assert alpha_items and not set(map(str, alpha_items)) & set(body["unread_item_ids"].split(","))
    groups = {g["title"]: g["id"] for g in (await fever(client, "groups"))["groups"]}
    body = await fever(client, "", mark="group", **{"as": "read"}, id=str(groups["News"]),
                       before="4102444800")  # fmt: skip
    r = await client.get("/reader/api/0/unread-count", headers=auth)
    counts = {c["id"]: c["count"] for c in r.json()["unreadcounts"]}
    assert counts.get(READING_LIST) == 3  # beta's three are left
    wrong = {"api_key": KEY, "mark": "item", "as": "gone", "id": "1"}
    assert (await client.post("/api/fever.php?api", data=wrong)).status_code == 422


async def test_a_user_from_before_gets_a_key_at_sign_in(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session:
        await session.execute(update(User).values(fever_key=None))
        await session.commit()
    assert (await fever(client, ""))["auth"] == 0
    await google_login(client)  # any sign-in with the password
    assert (await fever(client, ""))["auth"] == 1


async def test_private_mode_leaves_fever_to_its_key(settings: Any, world: Any) -> None:
    from dataclasses import replace

    from tests.integration.readers.conftest import make_client

    async with make_client(replace(settings, reading="private")) as client:
        assert (await fever(client, "groups"))["auth"] == 1
        assert (await fever(client, "groups", key="0" * 32))["auth"] == 0


async def test_a_large_body_is_refused_before_parsing(client: Client, world: Any) -> None:
    r = await client.post("/api/fever.php?api", data={"api_key": KEY, "x": "y" * 100_000})
    assert r.status_code == 413
