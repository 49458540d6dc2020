"""Conditional GET, unchanged bodies, update in place."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog import categories, feeds
from feedhub.db.models import Article, Feed
from feedhub.ingest import parsing as parsing_module
from feedhub.ingest.poller import Poller
from tests.conftest import BOTH_DATABASES, RecordingPublisher
from tests.support.feedserver import FeedServer, rss

# Database behaviour: every test here runs on SQLite and on PostgreSQL.
pytestmark = BOTH_DATABASES

ITEMS = [
    {"guid": f"item-{i}", "link": f"http://example.com/{i}", "title": f"Story {i}",
     "description": f"Body of story {i}", "pubDate": f"Mon, 0{i} Jan 2024 10:00:00 GMT"}
    for i in range(1, 4)
]  # fmt: skip


async def _add_feed(sessions: async_sessionmaker[AsyncSession], url: str) -> int:
    async with sessions() as session:
        await categories.create_category(session, "Tech", "tech")
        feed = await feeds.create_feed(session, now=datetime.now(UTC), url=url, category="tech")
    return feed.id


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = parsing_module.parse_feed

    def counting(body: bytes, **kwargs: Any) -> Any:
        calls.append(kwargs["url"])
        return real(body, **kwargs)

    monkeypatch.setattr(parsing_module, "parse_feed", counting)
    return calls


async def _articles(sessions: async_sessionmaker[AsyncSession]) -> list[Article]:
    async with sessions() as session:
        return list(await session.scalars(select(Article).order_by(Article.id)))


async def test_second_poll_is_conditional_and_304_skips_parsing(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    parse_calls: list[str],
) -> None:
    feed_server.set("/feed.xml", rss(ITEMS))
    feed_id = await _add_feed(sessions, feed_server.url("/feed.xml"))

    first = await poller.poll_now(feed_id)
    assert first.status == "ok" and len(first.new_articles) == 3
    assert len(parse_calls) == 1
    bells_after_first = len(publisher.bells)

    second = await poller.poll_now(feed_id)
    request = feed_server.requests_to("/feed.xml")[-1]
    assert request.headers["if-none-match"].startswith('"')
    assert "if-modified-since" in request.headers
    assert second.status == "not_modified" and second.new_articles == ()
    assert len(parse_calls) == 1, "a 304 must not reach the parser"
    assert len(publisher.bells) == bells_after_first
    assert len(await _articles(sessions)) == 3
    async with sessions() as session:
        feed = await session.get(Feed, feed_id)
        assert feed is not None and feed.last_status == 304 and feed.error_count == 0


async def test_unchanged_body_without_validators_is_not_parsed_again(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    parse_calls: list[str],
) -> None:
    feed_server.set("/plain.xml", rss(ITEMS), validators=False)
    feed_id = await _add_feed(sessions, feed_server.url("/plain.xml"))
    assert (await poller.poll_now(feed_id)).status == "ok"
    # Only the channel's build date changes: nothing to parse, store or announce.
    body = rss(ITEMS).replace(
        "<description>d</description>",
        "<description>d</description><lastBuildDate>now</lastBuildDate>",
    )
    feed_server.set("/plain.xml", body, validators=False)
    outcome = await poller.poll_now(feed_id)
    assert outcome.status == "unchanged"
    assert "if-none-match" not in feed_server.requests_to("/plain.xml")[-1].headers
    assert len(parse_calls) == 1
    assert len(publisher.ids) == 3


async def test_changed_entry_is_updated_in_place_and_not_republished(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    feed_server.set("/feed.xml", rss(ITEMS))
    feed_id = await _add_feed(sessions, feed_server.url("/feed.xml"))
    await poller.poll_now(feed_id)
    before = {a.guid_key: (a.id, a.title) for a in await _articles(sessions)}
    published = list(publisher.ids)

    edited = [dict(item) for item in ITEMS]
    edited[1]["title"] = "Story 2 (corrected)"
    edited[1]["description"] = "A <b>new</b> body"
    feed_server.set("/feed.xml", rss(edited))
    outcome = await poller.poll_now(feed_id)

    assert outcome.status == "ok" and outcome.new_articles == () and outcome.updated == 1
    assert publisher.ids == published
    after = await _articles(sessions)
    assert len(after) == 3
    assert {a.guid_key for a in after} == set(before), [a.guid_key for a in after]
    key = next(k for k in before if k.endswith("item-2"))
    changed = next(a for a in after if a.guid_key == key)
    assert changed.id == before[key][0]
    assert changed.title == "Story 2 (corrected)"
    assert changed.summary == "A <b>new</b> body"


async def test_new_items_get_increasing_ids_oldest_first(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    feed_server.set("/feed.xml", rss(ITEMS[:1]))
    feed_id = await _add_feed(sessions, feed_server.url("/feed.xml"))
    await poller.poll_now(feed_id)
    # A feed lists newest first; the two new items must get ids in publication order.
    feed_server.set("/feed.xml", rss(list(reversed(ITEMS))))
    outcome = await poller.poll_now(feed_id)
    assert len(outcome.new_articles) == 2
    articles = await _articles(sessions)
    assert [a.title for a in articles] == ["Story 1", "Story 2", "Story 3"]
    assert publisher.ids == sorted(publisher.ids)


@pytest.mark.parametrize(
    ("status", "expected_error"),
    [(500, "HTTP 500"), (404, "HTTP 404"), (200, "not a feed")],
)
async def test_failed_poll_records_health_and_is_retried(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    status: int,
    expected_error: str,
) -> None:
    body = "<html><body>hello</body></html>" if status == 200 else "oops"
    feed_server.set("/bad", body, status=status, headers={"Content-Type": "text/html"})
    feed_id = await _add_feed(sessions, feed_server.url("/bad"))
    outcome = await poller.poll_now(feed_id)
    assert outcome.status == "error"
    async with sessions() as session:
        feed = await session.get(Feed, feed_id)
        assert feed is not None
        assert feed.error_count == 1 and expected_error in (feed.last_error or "")
        assert feed.enabled and feed.next_poll_at is not None
    # The server heals: the next poll succeeds and the error state clears.
    feed_server.set("/bad", rss(ITEMS))
    assert (await poller.poll_now(feed_id)).status == "ok"
    async with sessions() as session:
        feed = await session.get(Feed, feed_id)
        assert feed is not None and feed.error_count == 0 and feed.last_error is None


async def test_ids_turning_unreliable_do_not_reimport_the_feed(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    items = [{"guid": f"g{i}", "title": f"T{i}", "link": f"http://e.com/{i}"} for i in range(10)]
    feed_server.set("/f.xml", rss(items))
    feed_id = await _add_feed(sessions, feed_server.url("/f.xml"))
    assert len((await poller.poll_now(feed_id)).new_articles) == 10
    # A new story reuses g0 with another link: the feed's ids are now unreliable.
    clash = {"guid": "g0", "title": "Other story", "link": "http://e.com/other"}
    feed_server.set("/f.xml", rss([clash, *items]))
    outcome = await poller.poll_now(feed_id)
    assert len(outcome.new_articles) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Article)) == 11
        feed = await session.get(Feed, feed_id)
        assert feed is not None and feed.guid_unreliable
    assert len(publisher.ids) == 11
    # Stable from then on.
    feed_server.set("/f.xml", rss([clash, *items]) + " ")
    assert (await poller.poll_now(feed_id)).new_articles == ()


async def test_dates_out_of_range_are_not_internal_errors(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    doc = {"version": "https://jsonfeed.org/version/1.1", "title": "Old",
           "items": [{"id": "1", "title": "Year one",
                      "date_published": "0001-01-01T00:00:00+05:00"}]}  # fmt: skip
    feed_server.set("/old.json", json.dumps(doc),
                    headers={"Content-Type": "application/feed+json",
                             "Expires": "Fri, 31 Dec 9999 23:59:59 -0100"})  # fmt: skip
    feed_id = await _add_feed(sessions, feed_server.url("/old.json"))
    outcome = await poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 1
