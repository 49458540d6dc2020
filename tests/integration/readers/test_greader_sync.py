"""Google Reader API as sync apps use it: podcast enclosures with their player, and
incremental sync on arrival order (what was stored since the last sync, whatever its
publication date)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from litestar.testing import AsyncTestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.db.models import Article, Feed
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import google_login

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
