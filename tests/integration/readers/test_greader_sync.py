"""Google Reader API as sync apps use it: podcast enclosures with their player, and
incremental sync on arrival order (what was stored since the last sync, whatever its
publication date)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.db.models import Article, Feed, User, UserSession
from feedhub.greader.protocol import READING_LIST
from feedhub.readers.passwords import hash_password
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import PASSWORD, google_login

pytestmark = BOTH_DATABASES

Client = AsyncTestClient[Any]
API = "/reader/api/0"
MP3 = "http://127.0.0.1:1/episode-1.mp3?a=1&b=2"


async def _add(
    sessions: async_sessionmaker[AsyncSession], *, title: str, published: datetime,
    fetched: datetime, enclosures: list[dict[str, Any]] | None = None,
) -> int:  # fmt: skip
    async with sessions() as session:
        feed_id = await session.scalar(select(Feed.id).where(Feed.title == "alpha"))
        assert feed_id is not None
        article = Article(
            feed_id=feed_id, guid_key=title, url=f"http://127.0.0.1:1/{title}", title=title,
            summary="<p>show notes</p>", content="<p>show notes</p>", author=None,
            published_at=published, fetched_at=fetched, content_hash=title,
            enclosures=enclosures,
        )  # fmt: skip
        session.add(article)
        await session.commit()
        return article.id


async def test_items_carry_enclosures_and_a_player(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    media = [
        {"url": MP3, "type": "audio/mpeg", "length": 89990767},
        {"url": "http://127.0.0.1:1/clip.mp4", "type": "video/mp4", "length": None},
    ]
    article = await _add(sessions, title="episode", published=now, fetched=now, enclosures=media)
    auth = await google_login(client)
    r = await client.post(f"{API}/stream/items/contents", headers=auth, data={"i": str(article)})
    (item,) = r.json()["items"]
    assert item["enclosure"] == [
        {"href": MP3, "url": MP3, "type": "audio/mpeg", "length": 89990767},
        {"href": media[1]["url"], "url": media[1]["url"], "type": "video/mp4"},
    ]
    content = item["summary"]["content"]
    assert content.startswith("<p>show notes</p>")
    assert '<audio controls preload="none" src="http://127.0.0.1:1/episode-1.mp3?a=1&amp;b=2">' in (
        content
    )
    assert '<video controls preload="none" src="http://127.0.0.1:1/clip.mp4">' in content
    # an article without media has an empty list and its content as stored
    r = await client.post(f"{API}/stream/items/contents", headers=auth, data={"i": "1"})
    (plain,) = r.json()["items"]
    assert plain["enclosure"] == [] and plain["summary"]["content"] == "<p>content 1</p>"
    # the Atom form (newsboat) carries the player
    r = await client.get("/reader/atom/feed%2F1", params={"n": 1}, headers=auth)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry = ElementTree.fromstring(r.content).find("a:entry", ns)
    assert entry is not None
    assert "<audio" in (entry.findtext("a:content", namespaces=ns) or "")


async def test_ot_and_nt_are_on_arrival_not_publication(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    # published two days ago, stored now; and one published "now" but stored long ago
    late = await _add(sessions, title="late", published=now - timedelta(days=2), fetched=now)
    async with sessions() as session:
        early = await session.get(Article, 1)
        assert early is not None
        early.published_at = now
        await session.commit()
    auth = await google_login(client)
    since = int((now - timedelta(seconds=5)).timestamp())

    async def ids(path: str, **params: Any) -> list[int]:
        r = await client.get(f"{API}/{path}", params={"n": 100, **params}, headers=auth)
        assert r.status_code == 200, r.text
        body = r.json()
        if "itemRefs" in body:
            return [int(ref["id"]) for ref in body["itemRefs"]]
        return [int(i["id"].rsplit("/", 1)[1], 16) for i in body["items"]]

    # NetNewsWire's incremental sync: what arrived since the last one
    assert await ids("stream/items/ids", s=READING_LIST, ot=since) == [late]
    assert await ids(f"stream/contents/{READING_LIST}", ot=since) == [late]
    assert await ids("stream/items/ids", s="feed/1", ot=since, r="o") == [late]
    # nt: what had arrived before; the back-dated arrival is not there, article 1 is
    assert await ids("stream/items/ids", s=READING_LIST, nt=since) == list(range(10, 0, -1))
    assert await ids("stream/items/ids", s=READING_LIST, ot=since + 60) == []


async def test_plain_titles_are_escaped_for_apps(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    now = datetime.now(UTC)
    article = await _add(sessions, title="Vector<T> & Why <canvas> matters", published=now,
                         fetched=now)  # fmt: skip
    auth = await google_login(client)
    r = await client.post(f"{API}/stream/items/contents", headers=auth, data={"i": str(article)})
    assert r.json()["items"][0]["title"] == "Vector&lt;T&gt; &amp; Why &lt;canvas&gt; matters"
    r = await client.get("/reader/atom/feed%2F1", params={"n": 1}, headers=auth)
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry = ElementTree.fromstring(r.content).find("a:entry", ns)
    assert entry is not None
    assert entry.findtext("a:title", namespaces=ns) == "Vector<T> & Why <canvas> matters"


async def _login(client: Client, agent: str) -> str:
    r = await client.post(
        "/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD},
        headers={"User-Agent": agent},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    return dict(line.split("=", 1) for line in r.text.splitlines())["Auth"]


async def test_app_sessions_are_reused_and_never_evicted_while_in_use(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    in_use = await _login(client, "NetNewsWire (RSS Reader; https://netnewswire.com/)")
    auth = {"Authorization": f"GoogleLogin auth={in_use}"}
    assert (await client.get(f"{API}/user-info", headers=auth)).status_code == 200
    # newsboat signs in on every launch: the same client gets the same token back
    again = {await _login(client, "newsboat/2.21") for _ in range(25)}
    assert len(again) == 1
    # 25 other clients (scripts, devices) sign in: the one syncing now stays signed in
    for n in range(25):
        await _login(client, f"script/{n}")
    assert (await client.get(f"{API}/user-info", headers=auth)).status_code == 200
    assert await _login(client, "NetNewsWire (RSS Reader; https://netnewswire.com/)") == in_use
    async with sessions() as session:
        kept = await session.scalar(
            select(func.count()).select_from(UserSession).where(UserSession.kind == "api")
        )
    assert kept == 27  # one each: none piled up, none in use evicted


async def test_a_password_change_gives_apps_a_new_token(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    before = await _login(client, "newsboat/2.21")
    async with sessions() as session:
        user = await session.scalar(select(User).where(User.name == "ann"))
        assert user is not None
        user.password_hash = hash_password(PASSWORD)  # the same password, hashed anew
        await session.commit()
    assert await _login(client, "newsboat/2.21") != before


async def test_export_quickadd_title_and_user_info(
    client: Client, world: Any, feed_server: Any
) -> None:
    from tests.support.feedserver import rss

    feed_server.set(
        "/new.xml", rss([{"guid": "n1", "title": "N1"}], title="Brand &lt;new&gt; feed")
    )
    ann, root = await google_login(client), await google_login(client, "root")
    r = await client.get(f"{API}/subscription/export", headers=ann)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-opml")
    outlines = ElementTree.fromstring(r.content).iter("outline")
    assert {o.get("xmlUrl") for o in outlines} >= {"http://127.0.0.1:1/alpha.xml"}
    r = await client.post(
        f"{API}/subscription/quickadd", headers=root, data={"quickadd": feed_server.url("/new.xml")}
    )
    body = r.json()
    assert r.status_code == 200 and body["streamName"] == "Brand <new> feed"
    subs = (await client.get(f"{API}/subscription/list", headers=ann)).json()["subscriptions"]
    assert [s["title"] for s in subs if s["id"] == body["streamId"]] == ["Brand <new> feed"]
    r = await client.get(f"{API}/stream/items/ids", params={"s": body["streamId"]}, headers=ann)
    assert len(r.json()["itemRefs"]) == 1  # polled before the answer
    info = (await client.get(f"{API}/user-info", headers=ann)).json()
    assert (info["userName"], info["userEmail"]) == ("ann", "")
    assert info["userId"] == info["userProfileId"] and info["userId"].isdigit()
    r = await client.post(f"{API}/mark-all-as-read", headers=ann, data={"s": "feed/999"})
    assert r.status_code == 404  # an unknown feed: newsboat and the apps handle the error
