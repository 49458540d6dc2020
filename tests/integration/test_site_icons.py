"""Site icons: the poller fetches them from a real local server, through the same guard and
limits as feeds, keeps them in `feed_icon`, and asks again only on the icon schedule."""

from __future__ import annotations

import functools
import hashlib
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog.feeds import delete_feed
from feedhub.core.config import Settings
from feedhub.db.models import FeedIcon
from feedhub.ingest import fetch, guard
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.icons import MAX_ICON_BYTES
from feedhub.ingest.iconstore import IconStore
from feedhub.ingest.poller import Poller
from tests.conftest import BOTH_DATABASES, RecordingPublisher
from tests.support.feedserver import FeedServer, rss
from tests.support.hostile import FakeClock, LoopbackOnlyNetwork, add_feed

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
ICO = b"\x00\x00\x01\x00\x01\x00" + b"\x10" * 40
GIF = b"GIF89a" + b"\x01" * 30
T0 = datetime(2026, 12, 1, tzinfo=UTC)
PUBLIC_IP = "93.184.216.34"


def feed_with_image(image: str | None, link: str) -> str:
    doc = rss([{"guid": "g1", "link": "http://example.com/1", "title": "One"}], link=link)
    if image is None:
        return doc
    channel_image = f"<image><url>{image}</url><title>t</title><link>{link}</link></image>"
    return doc.replace("</description>", "</description>" + channel_image, 1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Icons on, every week (the shared fixture turns them off)."""
    return settings.with_(icon_refresh_hours=168)


@pytest.fixture
async def icon_poller(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    clock: FakeClock,
) -> AsyncIterator[Poller]:
    store = IconStore(sessions)
    async with Poller(settings, FeedStore(sessions), publisher, clock=clock, icons=store) as p:
        yield p


async def icon_row(sessions: async_sessionmaker[AsyncSession], feed_id: int) -> FeedIcon | None:
    async with sessions() as session:
        return await session.scalar(select(FeedIcon).where(FeedIcon.feed_id == feed_id))


async def poll(poller: Poller, feed_id: int) -> str:
    outcome = await poller.poll_now(feed_id)
    assert poller.icons is not None
    await poller.icons.settled()
    return outcome.status


@BOTH_DATABASES
async def test_the_feeds_own_image_is_fetched_kept_and_not_asked_again_until_due(
    feed_server: FeedServer,
    icon_poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    feed_server.set("/feed", feed_with_image(feed_server.url("/logo.png"), feed_server.url("/")))
    feed_server.set("/logo.png", PNG, headers={"Content-Type": "text/plain"})  # bytes decide
    feed_id = await add_feed(sessions, feed_server.url("/feed"))
    assert await poll(icon_poller, feed_id) == "ok"
    row = await icon_row(sessions, feed_id)
    assert row is not None and row.data == PNG and row.content_type == "image/png"
    assert row.sha256 == hashlib.sha256(PNG).hexdigest() and row.error is None
    assert row.source_url == feed_server.url("/logo.png")
    # Polls within the week ask nothing more of the site.
    clock.advance(6 * 86_400)
    assert await poll(icon_poller, feed_id) in ("not_modified", "unchanged")
    assert len(feed_server.requests_to("/logo.png")) == 1
    # A week later: asked again, conditionally; a 304 keeps the icon.
    clock.advance(86_400)
    await poll(icon_poller, feed_id)
    again = feed_server.requests_to("/logo.png")
    assert len(again) == 2 and again[1].headers.get("if-none-match")
    row = await icon_row(sessions, feed_id)
    assert row is not None and row.data == PNG and row.fetched_at == clock.now
    # Deleting the feed deletes its icon (ON DELETE CASCADE).
    async with sessions() as session:
        await delete_feed(session, feed_id)
    assert await icon_row(sessions, feed_id) is None


async def test_site_page_icon_links_then_favicon_ico(
    feed_server: FeedServer, icon_poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    site = feed_server.url("/site/")
    feed_server.set("/feed", feed_with_image(None, site))
    page = '<html><head><link rel="icon" href="/static/i.gif"></head></html>'
    feed_server.set("/site/", page, headers={"Content-Type": "text/html"})
    feed_server.set("/static/i.gif", GIF, headers={"Content-Type": "image/gif"})
    feed_id = await add_feed(sessions, feed_server.url("/feed"))
    await poll(icon_poller, feed_id)
    row = await icon_row(sessions, feed_id)
    assert row is not None and row.data == GIF and row.content_type == "image/gif"
    # Another feed whose page links nothing gets the site's /favicon.ico.
    feed_server.set("/other", feed_with_image(None, feed_server.url("/bare/")))
    feed_server.set("/bare/", "<html></html>", headers={"Content-Type": "text/html"})
    feed_server.set("/favicon.ico", ICO, headers={"Content-Type": "image/x-icon"})
    other = await add_feed(sessions, feed_server.url("/other"))
    await poll(icon_poller, other)
    row = await icon_row(sessions, other)
    assert row is not None and row.data == ICO and row.content_type == "image/vnd.microsoft.icon"


async def test_oversized_and_non_image_answers_are_refused_and_remembered(
    feed_server: FeedServer,
    icon_poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    feed_server.set("/feed", feed_with_image(feed_server.url("/huge.png"), feed_server.url("/s/")))
    feed_server.set("/huge.png", PNG + b"\x00" * MAX_ICON_BYTES)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    html = {"Content-Type": "text/html"}
    feed_server.set("/s/", '<link rel="icon" href="/evil.png">', headers=html)
    feed_server.set("/evil.png", svg, headers={"Content-Type": "image/png"})
    feed_server.set(
        "/favicon.ico", b"<html>not found</html>", headers={"Content-Type": "text/html"}
    )
    feed_id = await add_feed(sessions, feed_server.url("/feed"))
    assert await poll(icon_poller, feed_id) == "ok"  # the feed itself is fine
    row = await icon_row(sessions, feed_id)
    assert row is not None and row.data is None and row.error is not None
    assert "too large" in row.error and "not a PNG, GIF, JPEG, WebP or ICO image" in row.error
    # Remembered: the next polls of the day ask for no icon; a day later it is tried again.
    clock.advance(3600)
    await poll(icon_poller, feed_id)
    assert len(feed_server.requests_to("/huge.png")) == 1
    clock.advance(86_400)
    feed_server.set("/favicon.ico", ICO)
    await poll(icon_poller, feed_id)
    row = await icon_row(sessions, feed_id)
    assert row is not None and row.data == ICO and row.error is None


async def test_the_poll_does_not_wait_for_the_icon(
    feed_server: FeedServer, icon_poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """An icon host that never answers holds up no article: poll_now returns with the
    articles stored while the icon fetch is still running."""
    release = threading.Event()

    def stall(request: BaseHTTPRequestHandler) -> None:
        release.wait(30)
        FeedServer._send(request, 404, {"Content-Type": "text/plain"}, b"gone")

    feed_server.set("/feed", feed_with_image(feed_server.url("/slow.png"), feed_server.url("/")))
    feed_server.set("/slow.png", handler=stall)
    feed_id = await add_feed(sessions, feed_server.url("/feed"))
    try:
        outcome = await icon_poller.poll_now(feed_id)
        assert outcome.status == "ok" and len(outcome.new_articles) == 1
        assert await icon_row(sessions, feed_id) is None
    finally:
        release.set()
    assert icon_poller.icons is not None
    await icon_poller.icons.settled()


# -- the guard ---------------------------------------------------------------------------
@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackOnlyNetwork]:
    """public.example resolves to a public address that a local server plays."""
    net = LoopbackOnlyNetwork(aliases={PUBLIC_IP: "127.0.0.1"})
    monkeypatch.setattr(fetch, "GuardedBackend", functools.partial(guard.GuardedBackend, inner=net))
    real_resolve = guard._resolve

    async def resolve(host: str, port: int) -> list[str]:
        return [PUBLIC_IP] if host == "public.example" else await real_resolve(host, port)

    monkeypatch.setattr(guard, "_resolve", resolve)
    yield net


async def test_an_icon_redirecting_to_a_private_address_is_refused(
    feed_server: FeedServer,
    network: LoopbackOnlyNetwork,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    with FeedServer() as public:
        feed_url = public.url("/feed", host="public.example")
        icon_url = public.url("/icon.png", host="public.example")
        public.set("/feed", feed_with_image(icon_url, public.url("/", host="public.example")))
        public.set("/icon.png", status=302,
                   headers={"Location": feed_server.url("/secret.png")})  # fmt: skip
        feed_server.set("/secret.png", PNG)
        feed_id = await add_feed(sessions, feed_url)
        guarded = settings.with_(allow_private_networks=False)
        store = IconStore(sessions)
        async with Poller(guarded, FeedStore(sessions), publisher, icons=store) as poller:
            assert await poll(poller, feed_id) == "ok"
        row = await icon_row(sessions, feed_id)
        assert row is not None and row.data is None
        assert "refused by the network guard" in (row.error or "")
        assert len(public.requests_to("/icon.png")) == 1
    assert feed_server.requests == [], "the redirect target must not be reached"
    assert all(address == PUBLIC_IP for address, _ in network.dialled)


async def test_no_icons_when_turned_off(
    feed_server: FeedServer,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    feed_server.set("/feed", feed_with_image(feed_server.url("/logo.png"), feed_server.url("/")))
    feed_server.set("/logo.png", PNG)
    feed_id = await add_feed(sessions, feed_server.url("/feed"))
    off = settings.with_(icon_refresh_hours=0)
    async with Poller(off, FeedStore(sessions), publisher, icons=IconStore(sessions)) as poller:
        assert await poll(poller, feed_id) == "ok"
    assert feed_server.requests_to("/logo.png") == []
    assert await icon_row(sessions, feed_id) is None


def test_refresh_setting_in_hours() -> None:
    assert Settings().icon_refresh_hours == 168.0
    daily = Settings.from_env({"FEEDHUB_ICON_REFRESH_HOURS": "24"})
    assert timedelta(hours=daily.icon_refresh_hours) == timedelta(days=1)


@BOTH_DATABASES
def test_the_icon_migration_goes_down_and_up_again(db_url: str) -> None:
    """0013 on its own: down to the revision before it (whatever that is once branches
    merge) drops `feed_icon`, back up to the shipped head brings it again."""
    import asyncio

    from alembic import command
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from feedhub.db.engine import create_engine
    from feedhub.db.migrate import alembic_config, upgrade_to_head
    from feedhub.db.schema_revision import database_revision, shipped_head

    config = alembic_config(db_url)
    revision = ScriptDirectory.from_config(config).get_revision("0013")
    assert revision is not None and isinstance(revision.down_revision, str)
    before = revision.down_revision

    async def table_names() -> set[str]:
        engine = create_engine(db_url)
        try:
            async with engine.connect() as conn:
                return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
        finally:
            await engine.dispose()

    def tables() -> set[str]:
        return asyncio.run(table_names())

    upgrade_to_head(db_url)
    assert "feed_icon" in tables()
    command.downgrade(config, before)
    assert "feed_icon" not in tables() and "feed" in tables()
    upgrade_to_head(db_url)
    assert "feed_icon" in tables()
    assert database_revision(db_url) == shipped_head()
