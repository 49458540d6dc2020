"""Readers benchmark: unread counts and Google Reader stream/contents at scale.

    .venv/bin/python benchmarks/readers.py [--articles 100000] [--feeds 300] [--users 20]
        [--repeat 15] [--database-url URL] [--http | --http-only] [--keep DIR]

Builds a database (a fresh SQLite file unless --database-url names an empty PostgreSQL
database) with --articles articles spread over --feeds feeds in 20 categories, and
--users users with the state a real reader accumulates: read marks on most feeds,
exceptions (articles read ahead of the mark, articles kept unread under it) and stars.
Then times, median of --repeat runs, for the busiest user:

  unread counts           feedhub.readers.state.unread_counts (per feed)
  unread-count (API)      the Google Reader unread-count body (feeds, labels, total)
  stream/contents 1000    1,000 items of the reading list with content, as JSON bytes
  ... xt=read             the same, unread only (a filter on the user's state)
  items/ids 1000          1,000 item refs
  fresh user counts       a user with no state at all: every article unread

--http also times the same requests end to end against a real `feedhub serve` (uvicorn,
127.0.0.1, the Google Reader API with a ClientLogin token), and what apps call most:
subscription/list, stream/contents of the reading list at n=100, the unread ids at n=1000,
unread-count, and edit-tag of 100 items. --keep DIR keeps the SQLite database there and
reuses it on the next run (the build takes a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import msgspec  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker  # noqa: E402

from feedhub.db.engine import create_engine, session_factory  # noqa: E402
from feedhub.db.migrate import upgrade_to_head  # noqa: E402
from feedhub.db.models import (  # noqa: E402
    Article,
    ArticleState,
    Category,
    Feed,
    ReadMark,
    User,
)
from feedhub.greader import service  # noqa: E402
from feedhub.greader.protocol import Stream  # noqa: E402
from feedhub.greader.render import item_json  # noqa: E402
from feedhub.readers import state  # noqa: E402
from feedhub.readers.passwords import hash_password  # noqa: E402
from feedhub.readers.queries import Scope, list_items, list_refs  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PASSWORD = "bench password"
_CONTENT = "<p>" + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 25 + "</p>"


async def build(sessions: async_sessionmaker[AsyncSession], args: argparse.Namespace) -> None:
    rng = random.Random(12)
    started = time.perf_counter()
    async with sessions() as s:
        await s.execute(insert(Category), [
            {"id": c + 1, "slug": f"cat-{c}", "name": f"Category {c}"} for c in range(20)
        ])  # fmt: skip
        await s.execute(insert(Feed), [
            {"id": f + 1, "url": f"http://127.0.0.1:9/{f}.xml", "title": f"Feed {f}",
             "category_id": f % 20 + 1, "created_at": T0, "error_count": 0,
             "enabled": True, "guid_unreliable": False}
            for f in range(args.feeds)
        ])  # fmt: skip
        await s.commit()
    batch: list[dict[str, Any]] = []
    async with sessions() as s:
        for k in range(1, args.articles + 1):
            when = T0 + timedelta(seconds=30 * k)
            batch.append({
                "id": k, "feed_id": rng.randrange(args.feeds) + 1, "guid_key": f"g{k}",
                "url": f"http://127.0.0.1:9/a/{k}", "title": f"Article number {k}",
                "summary": _CONTENT[:300], "content": _CONTENT, "author": "A. Writer",
                "published_at": when, "fetched_at": when, "content_hash": "h",
                "search_text": "",
            })  # fmt: skip
            if len(batch) == 5000:
                await s.execute(insert(Article), batch)
                batch.clear()
        if batch:
            await s.execute(insert(Article), batch)
        await s.commit()
    hashed = hash_password(PASSWORD)
    async with sessions() as s:
        await s.execute(insert(User), [
            {"id": u + 1, "name": f"user{u}", "password_hash": hashed, "role": "reader",
             "feed_key": f"key{u}", "created_at": T0}
            for u in range(args.users)
        ])  # fmt: skip
        marks, states = [], {}
        for u in range(1, args.users):  # user 0 stays fresh: no state at all
            for f in range(1, args.feeds + 1):
                if rng.random() < 0.8:
                    upto = rng.randrange(args.articles // 2, args.articles)
                    marks.append({"user_id": u + 1, "feed_id": f, "upto_id": upto})
            for _ in range(600):
                k = rng.randrange(1, args.articles + 1)
                read, star = rng.random() < 0.5, rng.random() < 0.1
                states[(u + 1, k)] = {
                    "user_id": u + 1,
                    "article_id": k,
                    "feed_id": 0,
                    "read": read,
                    "starred": star,
                }
        feed_of = dict((await s.execute(text("SELECT id, feed_id FROM article"))).all())
        for row in states.values():
            row["feed_id"] = feed_of[row["article_id"]]
        await s.execute(insert(ReadMark), marks)
        await s.execute(insert(ArticleState), list(states.values()))
        await s.commit()
    print(f"built {args.articles} articles, {args.feeds} feeds, {args.users} users "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip


async def timed(repeat: int, work: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    await work()  # warm caches and statements
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = await work()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


async def in_process(
    sessions: async_sessionmaker[AsyncSession], repeat: int
) -> list[tuple[str, float, str]]:
    rows: list[tuple[str, float, str]] = []
    busy, fresh = 2, 1

    async def counts(user: int) -> Any:
        async with sessions() as s:
            return await state.unread_counts(s, user)

    async def api_counts() -> Any:
        async with sessions() as s:
            return await service.unread_counts(s, busy)

    async def contents(scope: Scope) -> bytes:
        async with sessions() as s:
            items = await list_items(s, busy, scope, limit=1000)
        return msgspec.json.encode({"items": [item_json(i) for i in items]})

    async def ids(scope: Scope) -> Any:  # what stream/items/ids reads
        async with sessions() as s:
            return await list_refs(s, busy, scope, limit=1000)

    async def subscriptions() -> Any:
        async with sessions() as s:
            return await service.list_subscriptions(s, busy)

    ms, result = await timed(repeat, lambda: counts(busy))
    rows.append(("unread counts (per feed)", ms, f"{sum(result.values())} unread"))
    ms, result = await timed(repeat, api_counts)
    rows.append(("unread-count body (feeds+labels)", ms, f"{len(result)} entries"))
    ms, result = await timed(repeat, lambda: counts(fresh))
    rows.append(("unread counts, fresh user", ms, f"{sum(result.values())} unread"))
    ms, result = await timed(repeat, lambda: contents(Scope()))
    rows.append(("stream/contents n=1000", ms, f"{len(result) // 1024} KiB"))
    ms, result = await timed(repeat, lambda: contents(Scope(read=False)))
    rows.append(("stream/contents n=1000 xt=read", ms, f"{len(result) // 1024} KiB"))
    async with sessions() as s:
        label_scope = await service.scope_for(s, Stream("label", "Category 3"))
    assert label_scope is not None
    ms, result = await timed(repeat, lambda: contents(label_scope))
    rows.append(("stream/contents n=1000 label", ms, f"{len(result) // 1024} KiB"))
    ms, result = await timed(repeat, lambda: ids(Scope()))
    rows.append(("items/ids n=1000 (rows)", ms, f"{len(result)} ids"))
    ms, result = await timed(repeat, lambda: ids(Scope(read=False)))
    rows.append(("items/ids n=1000 xt=read (rows)", ms, f"{len(result)} ids"))
    ms, result = await timed(repeat, subscriptions)
    rows.append(("subscription/list (rows)", ms, f"{len(result)} feeds"))
    return rows


def over_http(database_url: str, repeat: int, workdir: Path) -> list[tuple[str, float, str]]:
    port = 20000 + os.getpid() % 20000
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
    env.update(FEEDHUB_DATABASE_URL=database_url, FEEDHUB_PORT=str(port),
               FEEDHUB_ADMIN_TOKEN="bench", FEEDHUB_SCHEDULER="off",
               FEEDHUB_LOG_LEVEL="WARNING")  # fmt: skip
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "feedhub", "serve"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, cwd=workdir)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    rows: list[tuple[str, float, str]] = []
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=30) as client:
            login = client.post(
                "/accounts/ClientLogin", data={"Email": "user1", "Passwd": PASSWORD}
            )
            client.headers["Authorization"] = (
                "GoogleLogin auth=" + login.text.split("Auth=")[1].split()[0]
            )
            api, state_ = "/reader/api/0", "user/-/state/com.google"
            for name, path in [
                ("HTTP subscription/list", f"{api}/subscription/list?output=json"),
                ("HTTP unread-count", f"{api}/unread-count?output=json"),
                ("HTTP stream/contents n=100",
                 f"{api}/stream/contents/{state_}/reading-list?n=100"),
                ("HTTP stream/contents n=1000",
                 f"{api}/stream/contents/{state_}/reading-list?n=1000"),
                ("HTTP stream/contents n=1000 xt=read",
                 f"{api}/stream/contents?n=1000&xt={state_}/read"),
                ("HTTP items/ids n=1000", f"{api}/stream/items/ids?s={state_}/reading-list&n=1000"),
                ("HTTP items/ids n=1000 xt=read",
                 f"{api}/stream/items/ids?s={state_}/reading-list&xt={state_}/read&n=1000"),
            ]:  # fmt: skip
                client.get(path).raise_for_status()
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    r = client.get(path)
                    times.append((time.perf_counter() - start) * 1000)
                    r.raise_for_status()
                rows.append((name, statistics.median(times), f"{len(r.content) // 1024} KiB"))
            rows.append(edit_tag(client, repeat))
    finally:
        proc.terminate()
        proc.wait(15)
    return rows


def edit_tag(client: httpx.Client, repeat: int) -> tuple[str, float, str]:
    """`edit-tag` of 100 items, read and unread in turn, so that every call changes them."""
    token = client.get("/reader/api/0/token").text
    ids = [str(k) for k in range(5001, 5101)]
    times = []
    for k in range(repeat + 1):
        form = {"i": ids, "a" if k % 2 else "r": "user/-/state/com.google/read", "T": token}
        start = time.perf_counter()
        r = client.post("/reader/api/0/edit-tag", data=form)
        if k:  # the first one warms up
            times.append((time.perf_counter() - start) * 1000)
        r.raise_for_status()
    return "HTTP edit-tag 100 items", statistics.median(times), "read, unread in turn"


async def main_async(args: argparse.Namespace, workdir: Path) -> None:
    url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'readers.db'}"
    built = args.keep is not None and (workdir / "readers.db").exists()
    upgrade_to_head(url)
    engine = create_engine(url)
    sessions = session_factory(engine)
    if built:
        print(f"reusing {workdir / 'readers.db'}")
    else:
        await build(sessions, args)
    if engine.dialect.name == "postgresql":
        # What autovacuum does soon after a load: statistics, and the visibility map that
        # lets the unread counts read the (feed_id, id) index without visiting the heap
        # (ANALYZE alone left them reading it: 130-470 ms instead of 10-15).
        import asyncpg

        raw = await asyncpg.connect(
            engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        )
        try:
            await raw.execute("VACUUM ANALYZE")
            await raw.execute("SELECT setval('article_id_seq', (SELECT max(id) FROM article))")
        finally:
            await raw.close()
    else:
        async with engine.begin() as conn:
            await conn.execute(text("ANALYZE"))
    rows = [] if args.http_only else await in_process(sessions, args.repeat)
    await engine.dispose()
    if args.http or args.http_only:
        rows += over_http(url, args.repeat, workdir)
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{engine.dialect.name}, median of {args.repeat}, load average {load}")
    print(f"| {'measure':<38} | {'ms':>7} | note |\n|{'-' * 40}|{'-' * 9}|------|")
    for name, ms, note in rows:
        print(f"| {name:<38} | {ms:>7.1f} | {note} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=300)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database-url", help="an empty PostgreSQL database (asyncpg URL)")
    parser.add_argument("--http", action="store_true", help="also time a real feedhub serve")
    parser.add_argument("--http-only", action="store_true", help="time only a real feedhub serve")
    parser.add_argument(
        "--keep",
        type=Path,
        help="a directory for the SQLite database, kept and reused by the next run",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    args = parser.parse_args()
    if args.smoke:
        args.articles, args.feeds, args.users, args.repeat = 1000, 30, 3, 2
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        asyncio.run(main_async(args, args.keep.resolve()))
        return
    with tempfile.TemporaryDirectory(prefix="feedhub-readers-") as tmp:
        asyncio.run(main_async(args, Path(tmp)))


if __name__ == "__main__":
    main()
