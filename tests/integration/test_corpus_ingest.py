"""Every corpus document, served over real HTTP, polled into SQLite and PostgreSQL.

The expected article count is computed here, independently of feedhub's code, by the
documented dedupe rule (DESIGN.md) over feedparser's own reading of the same bytes.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.catalog import categories, feeds
from feedhub.db.models import Article, Feed
from feedhub.ingest.poller import Poller
from tests.conftest import BOTH_DATABASES, RecordingPublisher, corpus_dir
from tests.support.feedserver import FeedServer

# Database behaviour: every test here runs on SQLite and on PostgreSQL.
pytestmark = BOTH_DATABASES


@functools.cache
def _manifest() -> tuple[dict[str, Any], ...]:
    """The corpus's feed documents, read once: `_expected_for` looks one up per document."""
    lines = (corpus_dir() / "manifest.jsonl").read_text().splitlines()
    return tuple(d for d in map(json.loads, lines) if d["kind"] == "feed")


def _expected_count(body: bytes, headers: dict[str, str], url: str) -> int:
    """Distinct entries by the documented rule: guid, else link, else title + date;
    when one guid is used with different links, guid + link; none for an entry that
    carries nothing."""
    parsed = feedparser.parse(body, response_headers={**headers, "content-location": url})
    # Entries with none of these are not stored (docs/reference.md).
    substance = ("id", "link", "title", "summary", "content", "enclosures")
    entries = [e for e in parsed.entries if any(e.get(name) for name in substance)]
    links: dict[str, set[str | None]] = {}
    for e in entries:
        if e.get("id"):
            links.setdefault(e["id"].strip(), set()).add(e.get("link"))
    unreliable = any(len(v) > 1 for v in links.values())
    keys = set()
    for e in entries:
        guid = (e.get("id") or "").strip()
        link = e.get("link") or None
        if link and not re.match(r"https?://[^/]", link):
            link = None
        if guid:
            keys.add(("g", guid, link if unreliable else None))
        elif link:
            keys.add(("l", link))
        else:
            keys.add(("h", e.get("title"), e.get("published") or e.get("updated")))
    return len(keys)


@functools.cache
def _expected_for(index: int) -> int:
    """`_expected_count` of manifest document `index`, computed once for both databases:
    the base URL (a fixed one here) does not change which entries are distinct."""
    doc = _manifest()[index]
    path, decoded, headers = _serve(None, doc, index)
    return _expected_count(decoded, headers, f"http://127.0.0.1:1{path}")


def _serve(server: FeedServer | None, doc: dict[str, Any], index: int) -> tuple[str, bytes, dict]:
    path = f"/c/{index}/{Path(doc['file']).name}"
    body = (corpus_dir() / doc["file"]).read_bytes()
    headers = dict(doc.get("http_headers") or {})
    decoded = body
    if doc.get("gzip_compressed"):
        headers["Content-Encoding"] = "gzip"
        decoded = gzip.decompress(body)
    headers.setdefault("Content-Type", "application/octet-stream")
    if server is not None:
        server.set(path, body, headers=headers, validators=False)
    parse_headers = {k.lower(): v for k, v in headers.items() if k.lower() != "content-encoding"}
    if "http_headers" not in doc:
        parse_headers.pop("content-type")
    return path, decoded, parse_headers


@pytest.mark.slow
@pytest.mark.long
async def test_every_corpus_document_is_polled_and_deduped(
    feed_server: FeedServer,
    poller: Poller,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    docs = _manifest()
    assert len(docs) > 600
    expected: dict[int, int] = {}
    async with sessions() as session:
        await categories.create_category(session, "Corpus", "corpus")
        for index, doc in enumerate(docs):
            path, _, _ = _serve(feed_server, doc, index)
            url = feed_server.url(path)
            feed = await feeds.create_feed(
                session, now=datetime.now(UTC), url=url, category="corpus"
            )
            expected[feed.id] = _expected_for(index)

    outcomes = await poller.poll_due()
    assert len(outcomes) == len(docs)
    internal = [o for o in outcomes if o.error and o.error.startswith("internal error")]
    assert internal == [], internal[:3]

    async with sessions() as session:
        counts = dict(
            (
                await session.execute(
                    select(Article.feed_id, func.count()).group_by(Article.feed_id)
                )
            ).all()
        )
        rows = {f.id: f for f in await session.scalars(select(Feed))}
    mismatches = {
        fid: (rows[fid].url, expected[fid], counts.get(fid, 0))
        for fid in expected
        if counts.get(fid, 0) != expected[fid]
    }
    assert mismatches == {}
    # Every new article was announced exactly once.
    assert sorted(publisher.ids) == sorted(set(publisher.ids))
    assert len(publisher.ids) == sum(counts.values())

    # Documents without entries mark the feed's error state...
    empty = [fid for fid, n in expected.items() if n == 0]
    assert empty, "the corpus has documents without entries"
    for fid in empty:
        assert rows[fid].error_count == 1 and rows[fid].last_error, rows[fid].url
        assert rows[fid].next_poll_at is not None and rows[fid].enabled
    # ...and the next poll still runs for them.
    again = await asyncio.gather(*poller.poll_feeds(empty))
    await poller.feeds.flush()
    assert all(o.status == "error" for o in again)
    async with sessions() as session:
        for fid in empty[:20]:
            feed = await session.get(Feed, fid)
            assert feed is not None and feed.error_count == 2


_DANGEROUS = re.compile(r"<script|\son[a-z]+\s*=|javascript:", re.I)


async def test_sanitize_corpus_documents_store_no_active_content(
    feed_server: FeedServer, poller: Poller, sessions: async_sessionmaker[AsyncSession]
) -> None:
    # The sanitizer attacks, plus every other document that carries active content.
    docs = [
        d for d in _manifest()
        if "/sanitize/" in d["file"]
        or _DANGEROUS.search((corpus_dir() / d["file"]).read_bytes().decode("latin-1"))
        or "&lt;script" in (corpus_dir() / d["file"]).read_bytes().decode("latin-1")
    ]  # fmt: skip
    assert len(docs) > 40
    async with sessions() as session:
        await categories.create_category(session, "Sanitize", "sanitize")
        for index, doc in enumerate(docs):
            path, _, _ = _serve(feed_server, doc, index)
            await feeds.create_feed(
                session, now=datetime.now(UTC), url=feed_server.url(path), category="sanitize"
            )
    await poller.poll_due()
    async with sessions() as session:
        rows = (await session.execute(select(Article.summary, Article.content, Article.url))).all()
    assert len(rows) > 40
    for summary, content, url in rows:
        for text in (summary, content):
            assert not _DANGEROUS.search(text), text
        assert url is None or url.startswith("http")
    # The sanitizer did not just drop everything.
    assert Counter(bool(s or c) for s, c, _ in rows)[True] > 20
