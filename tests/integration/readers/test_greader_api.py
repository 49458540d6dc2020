"""Google Reader API, endpoint by endpoint, against the documented request and response
shapes (FreshRSS/Inoreader docs, the apps' callers), with continuation and filters."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.db.models import Article
from feedhub.greader.protocol import READ, READING_LIST, STARRED, long_id
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import PASSWORD, google_login, make_client
from tests.integration.readers.helpers import T0

pytestmark = BOTH_DATABASES

Client = AsyncTestClient[Any]
API = "/reader/api/0"
ALL_IDS = list(range(10, 0, -1))  # world: 10 articles, ids 1..10, newest first


async def _token(client: Client, auth: dict[str, str]) -> str:
    r = await client.get(f"{API}/token", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    return r.text


def _ids(body: dict[str, Any]) -> list[int]:
    return [int(i["id"].rsplit("/", 1)[1], 16) for i in body["items"]]


async def test_client_login_text_and_json(client: Client, world: Any) -> None:
    r = await client.post("/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD})
    lines = dict(line.split("=", 1) for line in r.text.splitlines())
    assert r.status_code == 200 and set(lines) == {"SID", "LSID", "Auth"}
    r = await client.post(
        "/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD, "output": "json"}
    )
    assert r.status_code == 200 and set(r.json()) == {"SID", "LSID", "Auth"}
    r = await client.post(
        "/accounts/ClientLogin", params={"output": "json"},
        data={"Email": "ann", "Passwd": PASSWORD},
    )  # fmt: skip
    assert r.status_code == 200 and set(r.json()) == {"SID", "LSID", "Auth"}
    r = await client.post("/accounts/ClientLogin", data={"Email": "ann", "Passwd": "nope"})
    assert r.status_code == 401 and r.text.startswith("Error=BadAuthentication")
    r = await client.post("/accounts/ClientLogin", data={"Email": "ann"})
    assert r.status_code == 401


async def test_client_login_is_rate_limited(client: Client, world: Any) -> None:
    for _ in range(5):
        r = await client.post("/accounts/ClientLogin", data={"Email": "ann", "Passwd": "x"})
        assert r.status_code == 401
    r = await client.post("/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"{API}/token"), ("GET", f"{API}/user-info"),
        ("GET", f"{API}/subscription/list"), ("GET", f"{API}/tag/list"),
        ("GET", f"{API}/unread-count"), ("GET", f"{API}/stream/contents"),
        ("GET", f"{API}/stream/items/ids?s=feed/1"), ("POST", f"{API}/stream/items/contents"),
        ("POST", f"{API}/edit-tag"), ("POST", f"{API}/mark-all-as-read"),
        ("POST", f"{API}/subscription/edit"), ("GET", "/reader/atom/feed%2F1"),
    ],
)  # fmt: skip
async def test_every_endpoint_needs_the_auth_header(
    client: Client, world: Any, method: str, path: str
) -> None:
    for headers in ({}, {"Authorization": "GoogleLogin auth=wrong"}, {"Authorization": "x"}):
        r = await client.request(method, path, headers=headers)
        assert r.status_code == 401, (path, r.text)


async def test_user_info_subscriptions_and_tags(client: Client, world: Any) -> None:
    auth = await google_login(client)
    info = (await client.get(f"{API}/user-info", headers=auth)).json()
    assert info["userName"] == "ann" and info["userId"]
    subs = (await client.get(f"{API}/subscription/list?output=json", headers=auth)).json()
    by_title = {s["title"]: s for s in subs["subscriptions"]}
    assert set(by_title) == {"alpha", "beta", "gamma"}
    alpha = by_title["alpha"]
    assert alpha["id"] == "feed/1" and alpha["url"].endswith("/alpha.xml")
    assert alpha["categories"] == [{"id": "user/-/label/Tech", "label": "Tech"}]
    tags = (await client.get(f"{API}/tag/list", headers=auth)).json()["tags"]
    assert {"id": STARRED} in tags
    assert {"id": "user/-/label/Tech", "type": "folder"} in tags
    assert {"id": "user/-/label/News", "type": "folder"} in tags


async def test_unread_count_follows_state(client: Client, world: Any) -> None:
    auth = await google_login(client)
    counts = {
        c["id"]: c["count"]
        for c in (await client.get(f"{API}/unread-count", headers=auth)).json()["unreadcounts"]
    }
    assert counts == {
        "feed/1": 4, "feed/2": 3, "feed/3": 3, "user/-/label/Tech": 7, "user/-/label/News": 3,
        READING_LIST: 10,
    }  # fmt: skip
    token = await _token(client, auth)
    first_two = [str(x) for x in world["alpha"][:2]]
    r = await client.post(
        f"{API}/edit-tag", headers=auth, data={"i": first_two, "a": READ, "T": token}
    )
    assert r.status_code == 200 and r.text == "OK"
    body = (await client.get(f"{API}/unread-count", headers=auth)).json()
    counts = {c["id"]: c["count"] for c in body["unreadcounts"]}
    assert counts["feed/1"] == 2 and counts[READING_LIST] == 8
    assert all(c["newestItemTimestampUsec"].isdigit() for c in body["unreadcounts"])


async def test_stream_contents_paging_and_order(client: Client, world: Any) -> None:
    auth = await google_login(client)
    url = f"{API}/stream/contents/{READING_LIST}"
    page = (await client.get(url, params={"n": 4}, headers=auth)).json()
    assert page["id"] == READING_LIST and _ids(page) == ALL_IDS[:4]
    seen = _ids(page)
    while "continuation" in page:
        page = (
            await client.get(url, params={"n": 4, "c": page["continuation"]}, headers=auth)
        ).json()
        seen += _ids(page)
    assert seen == ALL_IDS  # every article once, no gap
    oldest = (await client.get(url, params={"n": 3, "r": "o"}, headers=auth)).json()
    assert _ids(oldest) == [1, 2, 3]
    item = page["items"][-1] if page["items"] else oldest["items"][0]
    assert set(item) >= {
        "id", "crawlTimeMsec", "timestampUsec", "published", "title", "alternate",
        "summary", "categories", "origin",
    }  # fmt: skip
    assert item["origin"]["streamId"].startswith("feed/")
    assert item["summary"]["content"].startswith("<p>content")
    # s= in the query instead of the path; bad continuation, bad n
    r = await client.get(f"{API}/stream/contents", params={"s": "feed/1", "n": 2}, headers=auth)
    assert _ids(r.json()) == world["alpha"][::-1][:2]
    for params in ({"c": "zz"}, {"n": "0"}, {"ot": "x"}):
        assert (await client.get(url, params=params, headers=auth)).status_code == 422


@pytest.mark.parametrize(
    ("stream", "expected_feeds"),
    [("feed/2", {2}), ("user/-/label/Tech", {1, 2}), ("user/-/label/news", {3})],
)
async def test_feed_and_label_streams(
    client: Client, world: Any, stream: str, expected_feeds: set[int]
) -> None:
    auth = await google_login(client)
    body = (
        await client.get(f"{API}/stream/contents/{stream}", params={"n": 100}, headers=auth)
    ).json()
    feeds = {int(i["origin"]["streamId"].split("/")[1]) for i in body["items"]}
    assert feeds == expected_feeds and body["items"]


async def test_filters_xt_it_ot_nt_and_starred(client: Client, world: Any) -> None:
    auth = await google_login(client)
    token = await _token(client, auth)
    await client.post(
        f"{API}/edit-tag", headers=auth, data={"i": ["1", "2", "3"], "a": READ, "T": token}
    )
    await client.post(
        f"{API}/edit-tag", headers=auth, data={"i": long_id(2), "a": STARRED, "T": token}
    )
    url = f"{API}/stream/contents/{READING_LIST}"

    async def ids(**params: Any) -> list[int]:
        return _ids((await client.get(url, params={"n": 100, **params}, headers=auth)).json())

    assert await ids(xt=READ) == ALL_IDS[:7]
    assert await ids(it=READ) == [3, 2, 1]
    assert await ids(it=STARRED) == [2]
    # article k was published at T0 + k s: ot is inclusive, nt exclusive
    assert await ids(ot=int((T0 + timedelta(seconds=8)).timestamp())) == [10, 9, 8]
    assert await ids(nt=int((T0 + timedelta(seconds=3)).timestamp())) == [2, 1]
    starred = (await client.get(f"{API}/stream/contents/{STARRED}", headers=auth)).json()
    assert _ids(starred) == [2]
    assert STARRED in starred["items"][0]["categories"]
    assert READ in starred["items"][0]["categories"]
    r = await client.get(f"{API}/stream/contents/pop/topic", headers=auth)
    assert r.status_code == 404 and "unknown stream" in r.json()["detail"]
    r = await client.get(f"{API}/stream/contents/user/-/label/Nope", headers=auth)
    assert r.status_code == 404
    r = await client.get(f"{API}/stream/contents/feed/999", headers=auth)
    assert r.status_code == 404


async def test_item_ids_and_item_contents(client: Client, world: Any) -> None:
    auth = await google_login(client)
    url = f"{API}/stream/items/ids"
    page = (await client.get(url, params={"s": READING_LIST, "n": 6}, headers=auth)).json()
    refs = page["itemRefs"]
    assert [int(r["id"]) for r in refs] == ALL_IDS[:6] and page["continuation"] == "5"
    assert refs[0]["timestampUsec"].isdigit() and refs[0]["directStreamIds"]
    rest = (
        await client.get(url, params={"s": READING_LIST, "n": 6, "c": "5"}, headers=auth)
    ).json()
    assert [int(r["id"]) for r in rest["itemRefs"]] == ALL_IDS[6:] and "continuation" not in rest
    assert (await client.get(url, headers=auth)).status_code == 422  # s is required
    # items/contents: short and long forms, POST form body
    r = await client.post(
        f"{API}/stream/items/contents", headers=auth, data={"i": ["3", long_id(7), "-5"]}
    )
    assert r.status_code == 422  # -5 is no article id
    r = await client.post(
        f"{API}/stream/items/contents", headers=auth, data={"i": ["3", long_id(7)]}
    )
    assert sorted(_ids(r.json())) == [3, 7]


async def test_edit_tag_read_unread_star_and_token(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    auth = await google_login(client)
    token = await _token(client, auth)

    async def state(article: int) -> set[str]:
        r = await client.post(
            f"{API}/stream/items/contents", headers=auth, data={"i": str(article)}
        )
        return set(r.json()["items"][0]["categories"]) & {READ, STARRED}

    async def edit(**data: Any) -> Any:
        return await client.post(f"{API}/edit-tag", headers=auth, data={"T": token, **data})

    assert (await edit(i=long_id(4), a=[READ, STARRED])).text == "OK"
    assert await state(4) == {READ, STARRED}
    assert (await edit(i="4", r=READ, a="user/-/state/com.google/kept-unread")).text == "OK"
    assert await state(4) == {STARRED}
    assert (await edit(i="4", r=STARRED)).text == "OK"
    assert await state(4) == set()
    # a wrong T is refused with the header apps look for; a missing one is accepted
    r = await client.post(f"{API}/edit-tag", headers=auth, data={"i": "4", "a": READ, "T": "x"})
    assert r.status_code == 401 and r.headers["x-reader-google-bad-token"] == "true"
    assert await state(4) == set()
    r = await client.post(f"{API}/edit-tag", headers=auth, data={"i": "4", "a": READ})
    assert r.status_code == 200 and await state(4) == {READ}
    r = await client.post(f"{API}/edit-tag", headers=auth, data={"i": "zz", "a": READ})
    assert r.status_code == 422


async def test_mark_all_as_read_with_ts_leaves_later_articles(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    auth = await google_login(client)
    token = await _token(client, auth)
    # the app's list was loaded when article 10 was the newest; then article 11 arrives
    ts = int((T0 + timedelta(seconds=10)).timestamp() * 1_000_000)
    async with sessions() as s:
        s.add(Article(
            feed_id=1, guid_key="late", title="late", summary="", content="", url=None,
            author=None, published_at=T0, fetched_at=T0 + timedelta(seconds=60),
            content_hash="x",
        ))  # fmt: skip
        await s.commit()
    r = await client.post(
        f"{API}/mark-all-as-read", headers=auth, data={"s": "feed/1", "ts": str(ts), "T": token}
    )
    assert r.text == "OK"
    unread = (
        await client.get(
            f"{API}/stream/items/ids", params={"s": "feed/1", "xt": READ}, headers=auth
        )
    ).json()
    assert [int(x["id"]) for x in unread["itemRefs"]] == [11]
    r = await client.post(
        f"{API}/mark-all-as-read", headers=auth,
        data={"s": "user/-/label/News", "ts": str(ts), "T": token},
    )  # fmt: skip
    assert r.text == "OK"
    # newsboat's "mark all feeds read" also sends these: OK, and nothing else changes
    for s in ("user/-/state/com.google/broadcast", "user/-/state/com.google/broadcast-friends"):
        r = await client.post(f"{API}/mark-all-as-read", headers=auth, data={"s": s, "T": token})
        assert r.text == "OK"
    counts = {
        c["id"]: c["count"]
        for c in (await client.get(f"{API}/unread-count", headers=auth)).json()["unreadcounts"]
    }
    assert counts == {"feed/1": 1, "feed/2": 3, "user/-/label/Tech": 4, READING_LIST: 4}
    # without s: refused, nothing marked; without ts: up to now
    r = await client.post(f"{API}/mark-all-as-read", headers=auth, data={"ts": str(ts)})
    assert r.status_code == 422
    await client.post(f"{API}/mark-all-as-read", headers=auth, data={"s": READING_LIST})
    assert (await client.get(f"{API}/unread-count", headers=auth)).json()["unreadcounts"] == [
        {"id": READING_LIST, "count": 0, "newestItemTimestampUsec": "0"}
    ]


async def test_state_is_per_user(client: Client, world: Any) -> None:
    ann, root = await google_login(client), await google_login(client, "root")
    await client.post(f"{API}/edit-tag", headers=ann, data={"i": "1", "a": READ})
    url = f"{API}/stream/items/ids"
    params = {"s": READING_LIST, "xt": READ, "n": 100}
    assert len((await client.get(url, params=params, headers=ann)).json()["itemRefs"]) == 9
    assert len((await client.get(url, params=params, headers=root)).json()["itemRefs"]) == 10


async def test_atom_form_marks_read_entries_like_google_reader(client: Client, world: Any) -> None:
    auth = await google_login(client)
    await client.post(
        f"{API}/edit-tag", headers=auth, data={"i": str(world["alpha"][-1]), "a": READ}
    )
    r = await client.get("/reader/atom/feed%2F1", params={"n": 3}, headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/atom+xml")
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = ElementTree.fromstring(r.content).findall("a:entry", ns)
    assert len(entries) == 3
    first = entries[0]
    assert first.findtext("a:id", namespaces=ns) == long_id(world["alpha"][-1])
    read = [c.attrib for c in first.findall("a:category", ns) if c.attrib["term"] == READ]
    assert read == [{"term": READ, "scheme": "http://www.google.com/reader/", "label": "read"}]
    assert not [c for c in entries[1].findall("a:category", ns) if c.attrib["term"] == READ]
    r = await client.get("/reader/atom/user/-/state/com.google/reading-list", headers=auth)
    assert len(ElementTree.fromstring(r.content).findall("a:entry", ns)) == 10


async def test_unknown_paths_are_404_never_an_empty_200(client: Client, world: Any) -> None:
    auth = await google_login(client)
    for method, path in [
        ("GET", f"{API}/preference/stream/list"), ("POST", f"{API}/friend/edit"),
        ("GET", "/reader/api/1/tag/list"), ("GET", f"{API}/stream/details"),
    ]:  # fmt: skip
        r = await client.request(method, path, headers=auth)
        assert r.status_code == 404 and r.json()["detail"], path


async def test_freshrss_prefix_serves_the_same_api(client: Client, world: Any) -> None:
    r = await client.post(
        "/api/greader.php/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD}
    )
    auth = {"Authorization": "GoogleLogin auth=" + r.text.split("Auth=")[1].strip()}
    r = await client.get("/api/greader.php/reader/api/0/subscription/list", headers=auth)
    assert len(r.json()["subscriptions"]) == 3


async def test_labels_and_subscriptions_are_changed_by_admins(client: Client, world: Any) -> None:
    ann, root = await google_login(client), await google_login(client, "root")
    edit = f"{API}/subscription/edit"
    r = await client.post(edit, headers=ann, data={"ac": "edit", "s": "feed/1", "t": "Mine"})
    assert r.status_code == 403
    r = await client.post(edit, headers=root, data={"ac": "edit", "s": "feed/1", "t": "Alpha!"})
    assert r.text == "OK"
    r = await client.post(
        edit, headers=root, data={"ac": "edit", "s": "feed/1", "a": "user/-/label/Moved"}
    )
    assert r.text == "OK"
    subs = (await client.get(f"{API}/subscription/list", headers=root)).json()["subscriptions"]
    alpha = next(s for s in subs if s["id"] == "feed/1")
    assert alpha["title"] == "Alpha!" and alpha["categories"][0]["label"] == "Moved"
    r = await client.post(
        f"{API}/rename-tag", headers=root,
        data={"s": "user/-/label/Moved", "dest": "user/-/label/Elsewhere"},
    )  # fmt: skip
    assert r.text == "OK"
    tags = (await client.get(f"{API}/tag/list", headers=ann)).json()["tags"]
    assert {"id": "user/-/label/Elsewhere", "type": "folder"} in tags
    # From an app, unsubscribe and disable-tag hide for the caller only, admins included
    # (tests/integration/readers/test_hidden.py): deleting for everyone is the admin API's.
    r = await client.post(edit, headers=root, data={"ac": "unsubscribe", "s": "feed/1"})
    assert r.text == "OK"
    r = await client.post(f"{API}/disable-tag", headers=root, data={"s": "user/-/label/Elsewhere"})
    assert r.text == "OK"
    subs = (await client.get(f"{API}/subscription/list", headers=root)).json()["subscriptions"]
    assert {s["id"] for s in subs} == {"feed/2", "feed/3"}
    subs = (await client.get(f"{API}/subscription/list", headers=ann)).json()["subscriptions"]
    assert {s["id"] for s in subs} == {"feed/1", "feed/2", "feed/3"}
    r = await client.post(edit, headers=root, data={"ac": "subscribe", "s": "feed/ftp://x"})
    assert r.status_code == 422


async def test_subscribe_and_quickadd(client: Client, world: Any, feed_server: Any) -> None:
    from tests.support.feedserver import rss

    feed_server.set("/new.xml", rss([{"guid": "n1", "title": "N1"}], title="New feed"))
    feed_server.set("/page.html", '<html><head><link rel="alternate" type="application/rss+xml"'
                    f' href="{feed_server.url("/other.xml")}"></head></html>')  # fmt: skip
    feed_server.set("/other.xml", rss([{"guid": "o1", "title": "O1"}], title="Other feed"))
    root, ann = await google_login(client, "root"), await google_login(client)
    edit = f"{API}/subscription/edit"
    data = {"ac": "subscribe", "s": f"feed/{feed_server.url('/new.xml')}",
            "a": "user/-/label/Fresh Label", "t": "Renamed"}  # fmt: skip
    assert (await client.post(edit, headers=ann, data=data)).status_code == 403
    r = await client.post(edit, headers=root, data=data)
    assert r.status_code == 200 and r.text == "OK"
    r = await client.post(edit, headers=root, data=data)
    assert r.status_code == 409  # already subscribed
    r = await client.post(
        f"{API}/subscription/quickadd", headers=root,
        data={"quickadd": feed_server.url("/page.html")},
    )  # fmt: skip
    body = r.json()
    assert r.status_code == 200 and body["numResults"] == 1
    assert body["streamId"].startswith("feed/")
    subs = (await client.get(f"{API}/subscription/list", headers=ann)).json()["subscriptions"]
    by_url = {s["url"]: s for s in subs}
    new = by_url[feed_server.url("/new.xml")]
    assert new["title"] == "Renamed"
    assert new["categories"] == [{"id": "user/-/label/Fresh Label", "label": "Fresh Label"}]
    # autodiscovery resolved the page to its feed, in the default category
    assert by_url[feed_server.url("/other.xml")]["categories"][0]["label"] == "Uncategorized"


async def test_mark_all_as_read_of_starred_marks_only_the_starred(
    client: Client, world: Any
) -> None:
    """newsboat's "mark all feeds read" sends the starred stream too: only what the stream
    holds changes (it once marked every article of every feed read)."""
    auth = await google_login(client)
    token = await _token(client, auth)
    await client.post(f"{API}/edit-tag", headers=auth, data={"i": ["2", "9"], "a": STARRED})
    for s in ("user/-/state/com.google/starred", "user/-/state/com.google/read"):
        r = await client.post(f"{API}/mark-all-as-read", headers=auth, data={"s": s, "T": token})
        assert r.status_code == 200 and r.text == "OK"
    unread = (
        await client.get(f"{API}/stream/items/ids", params={"s": READING_LIST, "xt": READ},
                         headers=auth)
    ).json()  # fmt: skip
    assert sorted(int(x["id"]) for x in unread["itemRefs"]) == [1, 3, 4, 5, 6, 7, 8, 10]
    starred = (
        await client.get(f"{API}/stream/items/ids", params={"s": STARRED}, headers=auth)
    ).json()
    assert sorted(int(x["id"]) for x in starred["itemRefs"]) == [2, 9]  # still starred


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (f"{API}/stream/contents", {"s": READING_LIST, "c": "²"}),
        (f"{API}/stream/contents", {"s": READING_LIST, "c": "99999999999999999999999"}),
        (f"{API}/stream/contents", {"s": "feed/²"}),
        (f"{API}/stream/contents", {"s": "feed/99999999999999999999999"}),
        (f"{API}/stream/items/ids", {"s": "feed/²"}),
        (f"{API}/stream/items/ids", {"s": READING_LIST, "c": "²"}),
        (f"{API}/stream/items/ids", {"s": "feed/99999999999999999999999"}),
        ("/reader/atom/feed/99999999999999999999999", {}),
        ("/reader/atom/feed/²", {}),
        (f"{API}/stream/items/contents", {"i": "²"}),
    ],
)
async def test_hostile_ids_and_continuations_are_4xx(
    client: Client, world: Any, path: str, params: dict[str, str]
) -> None:
    auth = await google_login(client)
    r = await client.get(path, params=params, headers=auth)
    assert 400 <= r.status_code < 500, (path, params, r.status_code, r.text[:200])


async def test_mark_all_as_read_of_a_hostile_feed_id_is_4xx(client: Client, world: Any) -> None:
    auth = await google_login(client)
    for s in ("feed/²", "feed/99999999999999999999999"):
        r = await client.post(f"{API}/mark-all-as-read", headers=auth, data={"s": s})
        assert r.status_code == 404, (s, r.text)


async def test_atom_form_drops_xml_invalid_characters(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A JSON Feed may carry U+0001 in a title: the Atom form (what newsboat reads) stays
    well-formed XML instead of failing for every user while the article exists."""
    async with sessions() as s:
        s.add(Article(
            feed_id=1, guid_key="ctl", title="bell\x01\x07title", summary="",
            content="<p>a\x0bb</p>", url="http://e.com/\x01x", author="\x02ann",
            published_at=T0, fetched_at=T0 + timedelta(seconds=60), content_hash="x",
        ))  # fmt: skip
        await s.commit()
    auth = await google_login(client)
    for path in ("/reader/atom/feed%2F1", "/reader/atom/user/-/state/com.google/reading-list"):
        r = await client.get(path, headers=auth)
        assert r.status_code == 200, r.text[:300]
        root = ElementTree.fromstring(r.content)
        titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
        assert "belltitle" in titles


@pytest.mark.parametrize("form", ["stream/contents", "atom"])
@pytest.mark.parametrize("encoded", [False, True])
async def test_feed_url_stream_ids_in_the_path_forms(
    client: Client, world: Any, form: str, encoded: bool
) -> None:
    """`feed/<url>` holds `//`, which routing would collapse: the path forms read the id
    from the raw path, as `?s=` does, percent-encoded (as newsboat sends it) or not."""
    auth = await google_login(client)
    stream = "feed/http://127.0.0.1:1/alpha.xml"
    path = quote(stream, safe="") if encoded else stream
    url = f"{API}/stream/contents/{path}" if form == "stream/contents" else f"/reader/atom/{path}"
    r = await client.get(url, headers=auth)
    assert r.status_code == 200, r.text
    expected = await client.get(f"{API}/stream/contents", params={"s": stream}, headers=auth)
    want = _ids(expected.json())
    assert len(want) == 4
    if form == "stream/contents":
        assert _ids(r.json()) == want and r.json()["id"] == stream
    else:
        atom = ElementTree.fromstring(r.content)
        ns = "{http://www.w3.org/2005/Atom}"
        entries = [e.findtext(f"{ns}id") or "" for e in atom.iter(f"{ns}entry")]
        assert [int(i.rsplit("/", 1)[1], 16) for i in entries] == want
        assert stream in r.text  # the feed's own id, whole


@pytest.mark.parametrize("form", ["stream/contents", "atom"])
@pytest.mark.parametrize("order", ["newest", "oldest"])
async def test_answers_with_content_keep_to_a_byte_budget(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], world: Any, form: str,
    order: str,
) -> None:  # fmt: skip
    """`n=1000` of large articles: each answer stops at the byte budget (never before its
    first item) with a continuation, and paging through gives every article exactly once."""
    budget = 65_536
    sizes = {}  # article id -> characters of its content: most small, some over the budget
    async with sessions() as s:
        for k in range(40):
            size = (100_000, 20_000, 3_000, 9_000)[k % 4]
            s.add(Article(
                feed_id=1, guid_key=f"big-{k}", title=f"big {k} <&>", url=None,
                summary="", content="<p>" + "x&<" * (size // 3) + "</p>", author=None,
                published_at=T0, fetched_at=T0 + timedelta(minutes=k), content_hash=f"b{k}",
            ))  # fmt: skip
        await s.commit()
        for article in await s.scalars(select(Article)):
            sizes[article.id] = len(article.content or article.summary)
    async with make_client(settings.with_(greader_answer_bytes=budget)) as client:
        auth = await google_login(client)
        url = (
            f"{API}/stream/contents"
            if form == "stream/contents"
            else f"/reader/atom/{READING_LIST}"
        )
        params: dict[str, Any] = {"n": 1000, **({"r": "o"} if order == "oldest" else {})}
        if form == "stream/contents":
            params["s"] = READING_LIST
        seen: list[int] = []
        pages = 0
        while True:
            r = await client.get(url, params=params, headers=auth)
            assert r.status_code == 200, r.text
            pages += 1
            if form == "stream/contents":
                body = r.json()
                ids, continuation = _ids(body), body.get("continuation")
            else:
                ids, continuation = _atom_page(r.content)
            assert ids
            # Within the budget, or over it by its one item (at most 4 bytes a character:
            # "x&<" is "x&amp;&lt;" in XML), plus the envelope.
            if len(ids) > 1:
                assert len(r.content) <= budget + 4096
            else:
                assert len(r.content) <= max(budget, 4 * sizes[ids[0]]) + 4096
            seen += ids
            if continuation is None:
                break
            params["c"] = continuation
    assert sorted(seen) == sorted(sizes) and len(seen) == len(set(seen))
    assert seen == sorted(seen, reverse=order == "newest")
    assert pages > 10  # the budget, not n, ended the pages


def _atom_page(content: bytes) -> tuple[list[int], str | None]:
    atom = ElementTree.fromstring(content)
    ns = "{http://www.w3.org/2005/Atom}"
    ids = [
        int((e.findtext(f"{ns}id") or "").rsplit("/", 1)[1], 16) for e in atom.iter(f"{ns}entry")
    ]
    return ids, atom.findtext("{http://www.google.com/schemas/reader/atom/}continuation")


async def test_items_contents_is_written_while_it_is_read(
    settings: Settings, sessions: async_sessionmaker[AsyncSession], world: Any
) -> None:
    """`stream/items/contents` has no continuation in the protocol, so its answer is
    streamed: a few rows read at a time, each item written as it comes, never the whole
    answer in memory. Over HTTP, the same items as the ids asked, newest first, once each."""
    import json
    from contextlib import asynccontextmanager

    from feedhub.greader.controllers import _items_contents
    from feedhub.greader.paging import ROWS_AT_ONCE

    async with sessions() as s:
        for k in range(25):
            s.add(Article(
                feed_id=1, guid_key=f"many-{k}", title=f"many {k}", url=None, summary="s",
                content="c", author=None, published_at=T0, fetched_at=T0, content_hash=f"m{k}",
            ))  # fmt: skip
        await s.commit()
        ids = sorted((await s.scalars(select(Article.id))).all(), reverse=True)
    user_id = 1
    opened = 0

    @asynccontextmanager
    async def counting() -> Any:
        nonlocal opened
        opened += 1
        async with sessions() as session:
            yield session

    chunks = [c async for c in _items_contents(counting, user_id, ids)]  # type: ignore[arg-type]
    body = json.loads(b"".join(chunks))
    assert [int(i["id"].rsplit("/", 1)[1], 16) for i in body["items"]] == ids
    assert len(chunks) == len(ids) + 2  # the head, one chunk per item, the tail
    assert opened == -(-len(ids) // ROWS_AT_ONCE)  # rows read a few at a time

    async with make_client(settings) as client:
        auth = await google_login(client)
        asked = {"i": [str(i) for i in [*ids[3:], *ids[:3], ids[0]]]}  # any order, a repeat
        r = await client.post(f"{API}/stream/items/contents", data=asked, headers=auth)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert [int(i["id"].rsplit("/", 1)[1], 16) for i in r.json()["items"]] == ids
        bad = await client.post(f"{API}/stream/items/contents", data={"i": "x"}, headers=auth)
        assert bad.status_code == 422, bad.text
