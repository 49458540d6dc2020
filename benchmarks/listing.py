"""Publication-order lists: `GET /api/articles?order=published` at scale.

    .venv/bin/python benchmarks/listing.py [--articles 100000] [--feeds 300] [--repeat 15]
        [--database-url URL]

Builds a database (a fresh SQLite file unless --database-url names an empty PostgreSQL
database) with --articles articles over --feeds feeds in 20 categories, published in an
order unrelated to their ids (as feeds' backlogs arrive), and times, median of --repeat:

  first page, all          50 articles, newest publication first
  first page, 2 categories the same for two categories of twenty
  deep page, all           50 articles after a cursor 90% of the way down
  deep page, 2 categories  the same for two categories
  first page, rare category  a category of one feed with 20 articles (the index walk's
                           worst case: it reads the whole index to find them)
  catch-up after=          the stream's catch-up (id order, backlog skipped)

Target: a few milliseconds each; the (listed_at, id) index carries the order.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from feedhub.catalog.articles import articles_after, articles_by_listing  # noqa: E402
from feedhub.core.cursor import Cursor  # noqa: E402
from feedhub.db.engine import create_engine, session_factory  # noqa: E402
from feedhub.db.migrate import upgrade_to_head  # noqa: E402
from feedhub.db.models import Article, Category, Feed  # noqa: E402

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


async def build(url: str, articles: int, feeds: int) -> None:
    engine = create_engine(url)
    rng = random.Random(13)
    async with engine.begin() as conn:
        await conn.execute(
            insert(Category), [{"id": i + 1, "slug": f"c{i}", "name": f"C{i}"} for i in range(20)]
        )
        await conn.execute(
            insert(Feed),
            [
                {
                    "id": i + 1,
                    "url": f"http://f{i}.example/feed",
                    "category_id": i % 20 + 1,
                    "created_at": NOW,
                }  # fmt: skip
                for i in range(feeds)
            ],
        )
        batch: list[dict[str, Any]] = []
        for n in range(articles):
            published = NOW - timedelta(minutes=rng.randrange(0, 60 * 24 * 365 * 3))
            fetched = NOW - timedelta(seconds=articles - n)
            batch.append({
                "feed_id": rng.randrange(feeds) + 1, "guid_key": f"g{n}", "title": f"t{n}",
                "summary": "<p>s</p>", "content": "", "published_at": published,
                "fetched_at": fetched, "listed_at": min(published, fetched),
                "content_hash": "h", "quiet": rng.random() < 0.3,
            })  # fmt: skip
            if len(batch) == 5000:
                await conn.execute(insert(Article), batch)
                batch = []
        if batch:  # --articles not a multiple of the batch
            await conn.execute(insert(Article), batch)
            batch = []
        # A rare category: one feed of 20 articles, the worst case of the index walk.
        await conn.execute(insert(Category), [{"id": 21, "slug": "rare", "name": "Rare"}])
        await conn.execute(insert(Feed), [{"id": feeds + 1, "url": "http://rare.example/",
                                           "category_id": 21, "created_at": NOW}])  # fmt: skip
        for n in range(20):
            published = NOW - timedelta(days=rng.randrange(0, 1000))
            batch.append({
                "feed_id": feeds + 1, "guid_key": f"r{n}", "title": f"r{n}", "summary": "",
                "content": "", "published_at": published, "fetched_at": NOW,
                "listed_at": published, "content_hash": "h", "quiet": False,
            })  # fmt: skip
        await conn.execute(insert(Article), batch)
    await engine.dispose()


async def median_ms(fn: Callable[[], Awaitable[object]], repeat: int) -> float:
    await fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def measure(url: str, articles: int, repeat: int) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    async with sessions() as session:
        deep_rows = await articles_by_listing(session, None, None, 1)
        cursor = Cursor(deep_rows[0].listed_at, deep_rows[0].id)
        for _ in range(int(articles * 0.9) // 200):
            page = await articles_by_listing(session, None, cursor, 200)
            cursor = Cursor(page[-1].listed_at, page[-1].id)
        two = ["c3", "c11"]
        cases = {
            "first page, all": lambda: articles_by_listing(session, None, None, 50),
            "first page, 2 categories": lambda: articles_by_listing(session, two, None, 50),
            "deep page, all": lambda: articles_by_listing(session, None, cursor, 50),
            "deep page, 2 categories": lambda: articles_by_listing(session, two, cursor, 50),
            "first page, rare category": lambda: articles_by_listing(session, ["rare"], None, 50),
            "catch-up after=": lambda: articles_after(session, None, articles - 500, 50),
        }
        for name, fn in cases.items():
            print(f"  {name:<26} {await median_ms(fn, repeat):7.2f} ms")
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    args = parser.parse_args()
    if args.smoke:
        args.articles, args.feeds, args.repeat = 1000, 30, 2
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite+aiosqlite:///{tmp}/listing.db"
        upgrade_to_head(url)
        started = time.perf_counter()
        asyncio.run(build(url, args.articles, args.feeds))
        built = time.perf_counter() - started
        head = f"{url.split(':')[0]}: {args.articles} articles over {args.feeds} feeds"
        print(f"{head} (built in {built:.0f} s), median of {args.repeat}:")
        asyncio.run(measure(url, args.articles, args.repeat))


if __name__ == "__main__":
    main()
