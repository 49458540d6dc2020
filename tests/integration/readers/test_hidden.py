"""Hidden feeds and categories per reader: `/api/me/hidden`, and every list, count and mark
of that reader (the page's REST lists, both app APIs) without them; nobody else's.

World: tech = alpha (feed 1: articles 1, 4, 7, 10) and beta (feed 2: 2, 5, 8); news =
gamma (feed 3: 3, 6, 9). ann is a reader, root an admin.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar.testing import AsyncTestClient

from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import ADMIN, PASSWORD, google_login, make_client
from tests.integration.readers.test_readers_api import sign_in
from tests.support.dbsnap import table_rows

pytestmark = BOTH_DATABASES

Client = AsyncTestClient[Any]
API = "/reader/api/0"
ALPHA, BETA, GAMMA = [1, 4, 7, 10], [2, 5, 8], [3, 6, 9]


def _ids(articles: list[dict[str, Any]]) -> list[int]:
    return sorted(a["id"] for a in articles)


async def test_the_hidden_api(client: Client, world: Any) -> None:
    r = await client.get("/api/me/hidden")
    assert r.status_code == 401
    csrf = await sign_in(client)
    assert (await client.get("/api/me/hidden")).json() == {"feeds": [], "categories": []}
    r = await client.put("/api/me/hidden/feeds/2")
    assert r.status_code == 403  # a cookie's change needs the CSRF token
    for _ in range(2):  # idempotent
        r = await client.put("/api/me/hidden/feeds/2", headers=csrf)
        assert r.status_code == 200, r.text
        assert r.json() == {"feeds": [{"id": 2, "title": "beta", "category": "tech"}],
                            "categories": []}  # fmt: skip
    assert (await client.put("/api/me/hidden/feeds/99", headers=csrf)).status_code == 404
    assert (await client.put("/api/me/hidden/feeds/0", headers=csrf)).status_code == 400
    r = await client.put(f"/api/me/hidden/feeds/{2**64}", headers=csrf)
    assert r.status_code == 400
    for key in ("news", "News", "2"):  # slug, name or id
        r = await client.put(f"/api/me/hidden/categories/{key}", headers=csrf)
        assert r.json()["categories"] == [{"id": 2, "slug": "news", "name": "News"}]
    r = await client.put("/api/me/hidden/categories/nowhere", headers=csrf)
    assert r.status_code == 404
    r = await client.put("/api/me/hidden/categories/" + "x" * 201, headers=csrf)
    assert r.status_code == 400
    r = await client.delete("/api/me/hidden/categories/news", headers=csrf)
    assert r.status_code == 200 and r.json()["categories"] == []
    r = await client.delete("/api/me/hidden/feeds/2", headers=csrf)
    assert r.status_code == 200 and r.json() == {"feeds": [], "categories": []}
    assert (await client.delete("/api/me/hidden/feeds/99", headers=csrf)).status_code == 404


async def test_the_page_lists_and_counts_leave_out_what_the_reader_hid(
    client: Client, world: Any, settings: Any
) -> None:
    csrf = await sign_in(client)
    await client.put("/api/me/hidden/feeds/2", headers=csrf)
    await client.put("/api/me/hidden/categories/news", headers=csrf)
    assert _ids((await client.get("/api/articles")).json()) == ALPHA
    listed = await client.get("/api/articles", params={"order": "published"})
    assert _ids(listed.json()) == ALPHA
    assert _ids((await client.get("/api/articles", params={"after": 0})).json()) == ALPHA
    found = await client.get("/api/articles", params={"q": "alpha"})
    assert _ids(found.json()) == ALPHA
    assert (await client.get("/api/articles", params={"q": "beta"})).json() == []
    tech = await client.get("/api/articles", params={"category": "tech"})
    assert _ids(tech.json()) == ALPHA
    assert (await client.get("/api/articles", params={"category": "news"})).json() == []
    assert (await client.get("/api/categories")).json() == [
        {"slug": "tech", "name": "Tech", "feed_count": 1}
    ]
    assert [f["id"] for f in (await client.get("/api/feeds")).json()] == [1]
    assert _ids((await client.get("/api/me/articles")).json()) == ALPHA
    assert _ids((await client.get("/api/me/articles", params={"feed_id": 2})).json()) == []
    unread = (await client.get("/api/me/unread")).json()
    assert unread == {"total": 4, "categories": {"tech": 4}, "feeds": {"1": 4}}
    # Starred articles of a hidden feed are hidden with it.
    await client.post("/api/me/state", json={"starred": [2, 4]}, headers=csrf)
    starred = await client.get("/api/me/articles", params={"state": "starred"})
    assert _ids(starred.json()) == [4]

    # Anybody else sees everything.
    async with make_client(settings) as other:
        assert _ids((await other.get("/api/articles")).json()) == sorted(ALPHA + BETA + GAMMA)
        await sign_in(other, "root")
        assert len((await other.get("/api/categories")).json()) == 2
        assert sorted(f["id"] for f in (await other.get("/api/feeds")).json()) == [1, 2, 3]
        assert (await other.get("/api/me/unread")).json()["total"] == 10

    # Mark-all-read leaves the hidden feeds' articles as they were: unhidden, still unread.
    r = await client.post("/api/me/mark-all-read", json={"upto_id": 10}, headers=csrf)
    assert r.status_code == 200
    assert (await client.get("/api/me/unread")).json()["total"] == 0
    await client.delete("/api/me/hidden/feeds/2", headers=csrf)
    await client.delete("/api/me/hidden/categories/news", headers=csrf)
    unread = (await client.get("/api/me/unread")).json()
    assert unread["feeds"] == {"2": 3, "3": 3}
    assert _ids((await client.get("/api/articles")).json()) == list(range(1, 11))


async def test_the_google_reader_api_hides_for_the_reader_who_unsubscribes(
    client: Client, world: Any
) -> None:
    ann, root = await google_login(client), await google_login(client, "root")
    edit = f"{API}/subscription/edit"
    r = await client.post(edit, headers=ann, data={"ac": "unsubscribe", "s": "feed/2"})
    assert r.text == "OK"
    r = await client.post(f"{API}/disable-tag", headers=ann, data={"s": "user/-/label/News"})
    assert r.text == "OK"

    subs = (await client.get(f"{API}/subscription/list", headers=ann)).json()["subscriptions"]
    assert [s["id"] for s in subs] == ["feed/1"]
    subs = (await client.get(f"{API}/subscription/list", headers=root)).json()["subscriptions"]
    assert len(subs) == 3
    tags = (await client.get(f"{API}/tag/list", headers=ann)).json()["tags"]
    assert [t["id"] for t in tags] == ["user/-/state/com.google/starred", "user/-/label/Tech"]
    counts = (await client.get(f"{API}/unread-count", headers=ann)).json()["unreadcounts"]
    assert {c["id"]: c["count"] for c in counts} == {
        "feed/1": 4, "user/-/label/Tech": 4, "user/-/state/com.google/reading-list": 4
    }  # fmt: skip
    for stream in ("user/-/state/com.google/reading-list", "user/-/label/Tech"):
        r = await client.get(f"{API}/stream/items/ids", headers=ann, params={"s": stream, "n": 50})
        assert sorted(int(i["id"]) for i in r.json()["itemRefs"]) == ALPHA, stream
        r = await client.get(f"{API}/stream/contents/{stream}", headers=ann, params={"n": 50})
        assert len(r.json()["items"]) == 4
    r = await client.get(f"{API}/stream/items/ids", headers=ann, params={"s": "feed/2"})
    assert r.json()["itemRefs"] == []
    opml = (await client.get(f"{API}/subscription/export", headers=ann)).text
    assert "alpha.xml" in opml and "beta.xml" not in opml and "gamma.xml" not in opml

    r = await client.post(
        f"{API}/mark-all-as-read", headers=ann,
        data={"s": "user/-/state/com.google/reading-list", "ts": str(2**40)},
    )  # fmt: skip
    assert r.text == "OK"
    # Subscribing again shows the feed again, with its articles as they were (unread).
    r = await client.post(edit, headers=ann, data={"ac": "subscribe", "s": "feed/2"})
    assert r.text == "OK"
    counts = (await client.get(f"{API}/unread-count", headers=ann)).json()["unreadcounts"]
    assert {c["id"]: c["count"] for c in counts}["feed/2"] == 3
    # A reader still cannot add a feed for everyone, nor rename a label.
    r = await client.post(edit, headers=ann, data={"ac": "subscribe", "s": "feed/http://x.test/"})
    assert r.status_code == 403
    r = await client.post(edit, headers=ann, data={"ac": "unsubscribe", "s": "feed/99"})
    assert r.status_code == 404

    # An admin's unsubscribe from an app hides too: the feed stays for everyone else.
    r = await client.post(edit, headers=root, data={"ac": "unsubscribe", "s": "feed/3"})
    assert r.text == "OK"
    subs = (await client.get(f"{API}/subscription/list", headers=root)).json()["subscriptions"]
    assert {s["id"] for s in subs} == {"feed/1", "feed/2"}
    assert len((await client.get("/api/admin/feeds", headers=ADMIN)).json()) == 3


async def test_the_fever_api_leaves_out_what_the_reader_hid(client: Client, world: Any) -> None:
    ann = await google_login(client)
    await client.put("/api/me/hidden/feeds/2", headers=ann)
    await client.put("/api/me/hidden/categories/news", headers=ann)
    key = hashlib.md5(f"ann:{PASSWORD}".encode()).hexdigest()

    async def fever(query: str, **form: Any) -> dict[str, Any]:
        r = await client.post(f"/api/fever.php?api&{query}", data={"api_key": key, **form})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    body = await fever("groups&feeds")
    assert [g["title"] for g in body["groups"]] == ["Tech"]
    assert [f["id"] for f in body["feeds"]] == [1]
    assert body["feeds_groups"] == [{"group_id": 1, "feed_ids": "1"}]
    assert sorted(i["id"] for i in (await fever("items"))["items"]) == ALPHA
    assert (await fever("items&max_id=4"))["items"][0]["id"] == 1
    unread = (await fever("unread_item_ids"))["unread_item_ids"]
    assert sorted(map(int, unread.split(","))) == ALPHA
    await fever("", mark="group", id="0", **{"as": "read"}, before=str(2**36))
    assert (await fever("unread_item_ids"))["unread_item_ids"] == ""
    await client.delete("/api/me/hidden/feeds/2", headers=ann)
    unread = (await fever("unread_item_ids"))["unread_item_ids"]
    assert sorted(map(int, unread.split(","))) == BETA


async def test_hidden_rows_go_with_the_feed_and_the_user(
    client: Client, world: Any, settings: Any
) -> None:
    ann = await google_login(client)
    await client.put("/api/me/hidden/feeds/2", headers=ann)
    await client.put("/api/me/hidden/categories/news", headers=ann)
    assert (await client.delete("/api/admin/feeds/2", headers=ADMIN)).status_code == 204
    r = await client.get("/api/me/hidden", headers=ann)
    assert r.json()["feeds"] == [] and len(r.json()["categories"]) == 1
    assert len(await table_rows(settings.database_url, "hidden_category")) == 1
    assert (await client.delete("/api/admin/users/ann", headers=ADMIN)).status_code == 204
    assert await table_rows(settings.database_url, "hidden_category") == []
