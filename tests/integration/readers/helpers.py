"""Rows for reader tests: categories, feeds and articles written straight into a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.db.models import Article, Category, Feed
from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess

T0 = datetime(2026, 11, 1, tzinfo=UTC)


async def seed(
    sessions: async_sessionmaker[AsyncSession],
    layout: dict[str, dict[str, int]],
) -> dict[str, list[int]]:
    """layout: {category slug: {feed name: article count}} -> {feed name: article ids}.

    Articles are inserted round-robin over the feeds, so ids of one feed interleave with
    the others' as in real polling; fetched_at grows one second per article.
    """
    out: dict[str, list[int]] = {}
    async with sessions() as session:
        feeds: dict[str, Feed] = {}
        for slug, names in layout.items():
            category = Category(slug=slug, name=slug.title())
            session.add(category)
            for name in names:
                feed = Feed(
                    url=f"http://127.0.0.1:1/{name}.xml",
                    site_url=f"http://127.0.0.1:1/{name}",
                    title=name,
                    category=category,
                    created_at=T0,
                )
                session.add(feed)
                feeds[name] = feed
        await session.flush()
        remaining = {name: n for names in layout.values() for name, n in names.items()}
        k = 0
        while any(remaining.values()):
            for name in list(remaining):
                if not remaining[name]:
                    continue
                remaining[name] -= 1
                k += 1
                article = Article(
                    feed_id=feeds[name].id,
                    guid_key=f"{name}-{k}",
                    url=f"http://127.0.0.1:1/{name}/{k}",
                    title=f"{name} {k}",
                    summary=f"<p>summary {k}</p>",
                    content=f"<p>content {k}</p>",
                    author="A. Writer",
                    published_at=T0 + timedelta(seconds=k),
                    fetched_at=T0 + timedelta(seconds=k),
                    content_hash=f"h{k}",
                )
                session.add(article)
                await session.flush()
                out.setdefault(name, []).append(article.id)
        await session.commit()
    return out


def serve_a_podcast(
    server_factory: type[ServerProcess], feed_server: FeedServer, password: str, mp3: str
) -> tuple[ServerProcess, dict[str, object]]:
    """A real `feedhub serve` for a client library: a podcast of two episodes (the second
    with its audio file at `mp3`) polled once, and the reader "ann" with `password`."""
    feed_server.set("/show.xml", rss([
        {"guid": "e1", "title": "Episode 1", "link": "http://e.com/1",
         "pubDate": "Mon, 02 Nov 2026 10:00:00 GMT"},
        {"guid": "e2", "title": "Episode 2", "link": "http://e.com/2",
         "pubDate": "Tue, 03 Nov 2026 10:00:00 GMT",
         "enclosure": f'<enclosure url="{mp3}" length="89990767" type="audio/mpeg"/>'},
    ], title="The Show"))  # fmt: skip
    server = server_factory(env={"FEEDHUB_SCHEDULER": "off"}).start()
    server.add_category("Podcasts", "podcasts")
    feed = server.add_feed(feed_server.url("/show.xml"), "podcasts")
    assert server.refresh(feed["id"])["new_articles"] == 2
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": password})
        assert r.status_code == 201, r.text
    return server, feed
