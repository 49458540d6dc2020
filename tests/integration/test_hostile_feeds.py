"""Hostile servers and documents, redirects and 410, dedupe.

Every hostile case runs against a real local server that misbehaves on purpose
(tests/support/hostile.py) and must end as the feed's `last_error`, in words, with the
process's memory bounded and other feeds polled meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog import feeds
from feedhub.core.config import Settings
from feedhub.core.types import EntryData
from feedhub.db.models import Article
from feedhub.ingest.dedupe import assign_keys
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.normalize import RawEntry, make_entry
from feedhub.ingest.poller import Poller
from tests.conftest import BOTH_DATABASES, RecordingPublisher
from tests.support.feedserver import FeedServer, rss
from tests.support.hostile import (
    MIB,
    add_feed,
    billion_laughs,
    feed_row,
    gzip_bomb,
    quadratic_blowup,
    redirect,
    reset_peak_rss,
    rss_bytes,
    send_bytes,
    stream_without_length,
    trickle,
)

# Database behaviour: every test here runs on SQLite and on PostgreSQL.
pytestmark = BOTH_DATABASES

GOOD = rss([{"guid": "g1", "link": "http://example.com/1", "title": "Fine"}])


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


async def _count(sessions: async_sessionmaker[AsyncSession], feed_id: int) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(Article).where(Article.feed_id == feed_id)
        return int(await session.scalar(query) or 0)


async def _titles(sessions: async_sessionmaker[AsyncSession], feed_id: int) -> list[str]:
    async with sessions() as session:
        query = select(Article.title).where(Article.feed_id == feed_id).order_by(Article.id)
        return list(await session.scalars(query))


# -- 5. hostile input ---------------------------------------------------------------------

HOSTILE_ERRORS = {
    "/laughs": "refused: the document declares nested XML entities (entity bomb)",
    "/quadratic": "refused: the document's XML entities expand too far (entity bomb)",
    "/bomb": "too large: the body passed the limit of 10485760 bytes",
    "/big-streamed": "too large: the body passed the limit of 10485760 bytes",
    "/big-declared": "too large: 52428800 bytes declared, the limit is 10485760",
    "/trickle": "timed out: no complete answer within 3 s",
    "/loop-a": "redirect loop: {base}/loop-b redirects back to {base}/loop-a",
    "/html": "not a feed: the URL returned an HTML page (try its feed link)",
}


@pytest.fixture
def hostile_server(feed_server: FeedServer) -> Iterator[FeedServer]:
    stop = threading.Event()
    base = feed_server.url("")
    feed_server.set("/laughs", billion_laughs())
    feed_server.set("/quadratic", quadratic_blowup())
    bomb = gzip_bomb()  # 1 GiB of zeros, ~1 MB on the wire
    gz = {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}
    feed_server.set("/bomb", handler=send_bytes(bomb, gz))
    feed_server.set("/big-streamed", handler=stream_without_length(50 * MIB))
    feed_server.set("/big-declared", handler=_declared_big)
    feed_server.set("/trickle", handler=trickle(stop))
    feed_server.set("/loop-a", handler=redirect(f"{base}/loop-b", 301))
    feed_server.set("/loop-b", handler=redirect(f"{base}/loop-a", 302))
    feed_server.set("/html", "<!doctype html><html><body>Hi</body></html>",
                    headers={"Content-Type": "text/html"})  # fmt: skip
    feed_server.set("/good", GOOD)
    yield feed_server
    stop.set()


def _declared_big(request: object) -> None:
    from http.server import BaseHTTPRequestHandler

    assert isinstance(request, BaseHTTPRequestHandler)
    request.send_response(200)
    request.send_header("Content-Type", "application/rss+xml")
    request.send_header("Content-Length", str(50 * MIB))
    request.end_headers()
    chunk = b" " * MIB
    for _ in range(50):  # stops at the first write after the client hangs up
        request.wfile.write(chunk)


@pytest.fixture
async def short_deadline_poller(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> AsyncIterator[Poller]:
    async with Poller(
        settings.with_(fetch_deadline_seconds=3), FeedStore(sessions), publisher
    ) as poller:
        yield poller


async def test_hostile_feeds_end_in_words_with_bounded_memory(
    hostile_server: FeedServer,
    short_deadline_poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    poller = short_deadline_poller
    base = hostile_server.url("")
    hostile = {path: await add_feed(sessions, hostile_server.url(path)) for path in HOSTILE_ERRORS}
    # Another host (same server, another name): its polls must go on meanwhile.
    good = await add_feed(sessions, hostile_server.url("/good", host="localhost"))

    can_peak = reset_peak_rss()
    rss_before = rss_bytes()
    started = time.monotonic()
    hostile_task = asyncio.gather(*(poller.poll_now(fid) for fid in hostile.values()))
    good_polls: list[tuple[str, float]] = []
    while not hostile_task.done():
        t0 = time.monotonic()
        outcome = await poller.poll_now(good)
        good_polls.append((outcome.status, time.monotonic() - t0))
        await asyncio.sleep(0.1)
    outcomes = await hostile_task
    elapsed = time.monotonic() - started
    grown = rss_bytes("VmHWM" if can_peak else "VmRSS") - rss_before

    for path, feed_id in hostile.items():
        feed = await feed_row(sessions, feed_id)
        assert feed.last_error == HOSTILE_ERRORS[path].format(base=base), path
        assert feed.enabled and feed.error_count == 1 and feed.next_poll_at is not None
    assert all(o.status == "error" for o in outcomes)
    assert 3 <= elapsed < 8, "the trickle is cut by the total deadline, not per-read timeouts"
    assert grown < 50 * MIB, f"memory grew by {grown / MIB:.0f} MB"
    # The good feed was polled again and again while the hostile ones ran (a poll queued
    # behind a hostile one would have waited out its 3 s deadline: two polls at most).
    assert len(good_polls) >= 5
    assert {status for status, _ in good_polls} <= {"ok", "not_modified"}
    assert max(duration for _, duration in good_polls) < 3.0


def _compress(encoding: str, data: bytes) -> bytes:
    import brotli  # type: ignore[import-untyped,unused-ignore]

    if encoding == "br":
        return bytes(brotli.compress(data, quality=5))
    if encoding == "deflate-raw":
        raw = zlib.compressobj(6, zlib.DEFLATED, -zlib.MAX_WBITS)
        return raw.compress(data) + raw.flush()
    wbits = zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS
    wrapped = zlib.compressobj(6, zlib.DEFLATED, wbits)
    return wrapped.compress(data) + wrapped.flush()


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw", "br"])
@pytest.mark.slow
async def test_compressed_feeds_are_decoded_and_bombs_cut(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    encoding: str,
) -> None:
    """Our own bounded decoder (fetch._Decoder) reads every encoding we offer; a bomb in
    each is cut at the byte cap (200 MB of zeros here, the 1 GiB gzip one is above)."""
    header = "deflate" if encoding == "deflate-raw" else encoding
    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": header}
    feed_server.set("/ok", handler=send_bytes(_compress(encoding, GOOD.encode()), headers))
    feed_server.set("/bomb", handler=send_bytes(_compress(encoding, bytes(200 * MIB)), headers))
    ok = await add_feed(sessions, feed_server.url("/ok"))
    bomb = await add_feed(sessions, feed_server.url("/bomb"))
    assert len((await poller.poll_now(ok)).new_articles) == 1
    await poller.poll_now(bomb)
    assert (await feed_row(sessions, bomb)).last_error == (
        "too large: the body passed the limit of 10485760 bytes"
    )
    assert "gzip, deflate" in feed_server.requests_to("/ok")[0].headers["accept-encoding"]


async def test_unknown_encoding_is_an_error_in_words(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    headers = {"Content-Type": "application/rss+xml", "Content-Encoding": "zstd"}
    feed_server.set("/z", handler=send_bytes(b"\x28\xb5\x2f\xfd", headers))
    feed_id = await add_feed(sessions, feed_server.url("/z"))
    await poller.poll_now(feed_id)
    assert (await feed_row(sessions, feed_id)).last_error == (
        "could not decode the body: unsupported encoding 'zstd'"
    )


async def test_external_entities_are_not_expanded(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        '<rss version="2.0"><channel><title>X</title><link>http://example.com/</link>'
        "<item><guid>1</guid><title>t &xxe;</title><description>d &xxe;</description></item>"
        "</channel></rss>"
    )
    feed_server.set("/xxe", xxe)
    feed_id = await add_feed(sessions, feed_server.url("/xxe"))
    await poller.poll_now(feed_id)
    async with sessions() as session:
        texts = [(a.title, a.summary) for a in await session.scalars(select(Article))]
    assert "root:" not in repr(texts)


async def test_too_many_redirects(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    for hop in range(7):
        feed_server.set(f"/hop/{hop}", handler=redirect(feed_server.url(f"/hop/{hop + 1}")))
    feed_id = await add_feed(sessions, feed_server.url("/hop/0"))
    await poller.poll_now(feed_id)
    feed = await feed_row(sessions, feed_id)
    assert feed.last_error == f"too many redirects: more than 5 starting at {feed.url}"
    assert len(feed_server.requests) == 6


# -- 6. moves and 410 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "moves"), [(301, True), (308, True), (302, False), (307, False), (303, False)]
)
async def test_permanent_redirect_moves_the_url_temporary_does_not(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    status: int,
    moves: bool,
) -> None:
    old, new = feed_server.url("/old"), feed_server.url("/new")
    feed_server.set("/old", handler=redirect(new, status))
    feed_server.set("/new", GOOD)
    feed_id = await add_feed(sessions, old)
    outcome = await poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 1
    feed = await feed_row(sessions, feed_id)
    assert feed.url == (new if moves else old)
    await poller.poll_now(feed_id)
    # After a permanent move the old URL is not asked again; after a temporary one it is.
    assert len(feed_server.requests_to("/old")) == (1 if moves else 2)
    assert await _count(sessions, feed_id) == 1


async def test_permanent_then_temporary_redirect_moves_to_the_first_hop(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed_server.set("/a", handler=redirect(feed_server.url("/b"), 301))
    feed_server.set("/b", handler=redirect(feed_server.url("/c"), 302))
    feed_server.set("/c", GOOD)
    feed_id = await add_feed(sessions, feed_server.url("/a"))
    await poller.poll_now(feed_id)
    assert (await feed_row(sessions, feed_id)).url == feed_server.url("/b")


async def test_permanent_redirect_to_a_subscribed_url_keeps_the_url(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed_server.set("/old", handler=redirect(feed_server.url("/new"), 301))
    feed_server.set("/new", GOOD)
    feed_id = await add_feed(sessions, feed_server.url("/old"))
    await add_feed(sessions, feed_server.url("/new"))
    assert (await poller.poll_now(feed_id)).status == "ok"
    assert (await feed_row(sessions, feed_id)).url == feed_server.url("/old")


async def test_410_disables_the_feed_with_its_reason(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed_server.set("/gone", "gone", status=410)
    feed_id = await add_feed(sessions, feed_server.url("/gone"))
    outcome = await poller.poll_now(feed_id)
    assert outcome.status == "disabled"
    feed = await feed_row(sessions, feed_id)
    assert not feed.enabled and feed.next_poll_at is None and feed.last_status == 410
    assert feed.last_error == "HTTP 410: the feed is gone for good — feed disabled"
    assert feed_id not in await poller.due_feed_ids(include_all=True)


@pytest.mark.parametrize("status", [404, 500, 401, 403])
async def test_other_errors_never_disable(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    status: int,
) -> None:
    feed_server.set("/err", "no", status=status)
    feed_id = await add_feed(sessions, feed_server.url("/err"))
    for _ in range(3):
        await poller.poll_now(feed_id)
    feed = await feed_row(sessions, feed_id)
    assert feed.enabled and feed.error_count == 3 and feed.next_poll_at is not None
    assert (feed.last_error or "").startswith(f"HTTP {status}: ")


# -- 7. dedupe ------------------------------------------------------------------------------


def _items(n: int, *, start: int = 0, guid: str | None = None, link: str | None = None,
           date: str = "Mon, 01 Jan 2024 10:00:{i:02d} GMT") -> list[dict[str, str]]:  # fmt: skip
    items = []
    for i in range(start, start + n):
        item = {"title": f"Story {i}", "description": f"Text of story {i}",
                "pubDate": date.format(i=i)}  # fmt: skip
        if guid is not None:
            item["guid"] = guid.format(i=i)
        if link is not None:
            item["link"] = link.format(i=i)
        items.append(item)
    return items


FEED_SHAPES = {
    "all-same-guid-and-link": {"guid": "same", "link": "http://example.com/"},
    "all-same-guid-distinct-links": {"guid": "same", "link": "http://example.com/{i}"},
    "no-guid-same-link": {"link": "http://example.com/"},
    "no-guid-no-link": {},
    "good-guids": {"guid": "id-{i}", "link": "http://example.com/{i}"},
}


def _doc(shape: str, n: int, start: int, stamp: int) -> str:
    """n entries, newest first; `stamp` changes every date in the document (volatile)."""
    date = f"Tue, 02 Jan 2024 {stamp:02d}:00:{{i:02d}} GMT"
    items = _items(n, start=start, date=date, **FEED_SHAPES[shape])
    body = rss(list(reversed(items)))
    return body.replace(
        "<description>d</description>",
        f"<description>d</description><lastBuildDate>{stamp}</lastBuildDate>",
    )


@pytest.mark.parametrize("shape", FEED_SHAPES)
async def test_broken_ids_and_volatile_dates_give_no_duplicates_and_lose_nothing(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    shape: str,
) -> None:
    feed_id = await add_feed(sessions, feed_server.url("/f"))

    async def poll(doc: str) -> tuple[int, int]:
        feed_server.set("/f", doc, validators=False)
        outcome = await poller.poll_now(feed_id)
        assert outcome.status == "ok", outcome
        return len(outcome.new_articles), outcome.updated

    assert await poll(_doc(shape, 8, 0, stamp=1)) == (8, 0)
    # The same entries, only every date changed: nothing new, nothing updated.
    assert await poll(_doc(shape, 8, 0, stamp=2)) == (0, 0)
    # Two new entries arrive on top (dates moved again), the oldest two fall off.
    assert await poll(_doc(shape, 8, 2, stamp=3)) == (2, 0)
    assert await poll(_doc(shape, 8, 2, stamp=4)) == (0, 0)
    assert await _titles(sessions, feed_id) == [f"Story {i}" for i in range(10)]
    assert len(publisher.ids) == 10, "each story announced exactly once"


async def test_one_story_listed_twice_is_one_article(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    items = _items(20, guid="id-{i}", link="http://example.com/{i}")
    items.insert(5, dict(items[4]))  # a plain repeat in the document
    feed_server.set("/f", rss(items))
    feed_id = await add_feed(sessions, feed_server.url("/f"))
    assert len((await poller.poll_now(feed_id)).new_articles) == 20
    assert not (await feed_row(sessions, feed_id)).guid_unreliable


async def test_deleted_article_is_not_imported_again(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    feed_server.set("/f", rss(_items(3, guid="same", link="http://example.com/")),
                    validators=False)  # fmt: skip
    feed_id = await add_feed(sessions, feed_server.url("/f"))
    new = (await poller.poll_now(feed_id)).new_articles
    assert len(new) == 3
    async with sessions() as session:
        await feeds.delete_article(session, new[1], now=datetime.now(UTC))
    feed_server.set("/f", rss(_items(3, guid="same", link="http://example.com/")) + " ",
                    validators=False)  # fmt: skip
    assert (await poller.poll_now(feed_id)).new_articles == ()
    assert await _count(sessions, feed_id) == 2


FETCHED = datetime(2024, 6, 1, tzinfo=UTC)


def _entry(guid: str | None, link: str | None, title: str, text: str = "t") -> EntryData:
    raw = RawEntry(guid=guid, link=link, title=title, summary_html=text, content_html=None,
                   author=None, published=None)  # fmt: skip
    return make_entry(raw, base_url=None, fetched_at=FETCHED)


@pytest.mark.parametrize(
    ("entries", "titles", "unreliable"),
    [
        pytest.param([("g", "http://x/1", "A"), ("g", "http://x/1", "B"), ("g", "http://x/1", "C")],
                     ["A", "B", "C"], True, id="same-guid-same-link"),
        pytest.param([("g", "http://x/1", "A"), ("g", "http://x/2", "B")],
                     ["A", "B"], True, id="same-guid-other-links"),
        pytest.param([(None, "http://x/", "A"), (None, "http://x/", "B")],
                     ["A", "B"], True, id="no-guid-same-link"),
        pytest.param([(None, None, "A"), (None, None, "B"), (None, None, "A")],
                     ["A", "B"], False, id="no-ids-identical-repeat-dropped"),
        pytest.param([(f"g{i}", f"http://x/{i}", f"T{i}") for i in range(20)]
                     + [("g1", "http://x/1", "T1 edited")],
                     [f"T{i}" for i in range(20)], False, id="one-repeat-in-twenty-is-a-repeat"),
        pytest.param([(f"g{i}", f"http://x/{i}", f"T{i}") for i in range(10)]
                     + [("g1", "http://x/1", "X"), ("g2", "http://x/2", "Y")],
                     [f"T{i}" for i in range(10)] + ["X", "Y"], True, id="above-small-share"),
    ],
)  # fmt: skip
def test_assign_keys_table(
    entries: list[tuple[str | None, str | None, str]], titles: list[str], unreliable: bool
) -> None:
    keyed, flag = assign_keys([_entry(*e) for e in entries])
    assert [e.title for e in keyed] == titles
    assert flag is unreliable
    assert len({e.key for e in keyed}) == len(keyed)


def test_fallback_key_ignores_the_date() -> None:
    def entry(published: datetime) -> EntryData:
        raw = RawEntry(guid=None, link=None, title="Same", summary_html="text",
                       content_html=None, author=None, published=published)  # fmt: skip
        return make_entry(raw, base_url=None, fetched_at=FETCHED)

    (first,), _ = assign_keys([entry(datetime(2024, 5, 1, tzinfo=UTC))])
    (second,), _ = assign_keys([entry(datetime(2024, 5, 2, tzinfo=UTC))])
    assert first.key == second.key and first.key.startswith("hash:")
