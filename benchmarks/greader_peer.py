"""Google Reader API: feedhub against FreshRSS (PHP) on the same articles, in the same run.

    .venv/bin/python benchmarks/greader_peer.py --freshrss-src DIR [--feeds 100]
        [--items 50] [--repeat 40]

Both systems ingest the same --feeds generated RSS 2.0 feeds of --items items each (dated
within the last two days, ~1.5 KB of HTML each), served by benchmarks/_feedserver.py on
127.0.0.1: feedhub with its poller in this process (as benchmarks/ingest.py runs it),
FreshRSS with `cli/actualize-user.php`. Then each serves the Google Reader API on
127.0.0.1: feedhub as a real `feedhub serve` (uvicorn) on its SQLite file, FreshRSS as
`php -S` (single-threaded) on its own. One client, one request at a time, for both; per
call, one untimed request on each side, then --repeat timed ones, feedhub's and FreshRSS's
in turn (so that a drift in the machine's speed falls on both alike):

  subscription/list                      the user's feeds
  stream/contents n=100                  100 items of the reading list, with content
  stream/items/ids unread n=1000         ids of 1,000 unread items
  unread-count                           per feed and label
  edit-tag 100 items                     mark 100 unread items read (POST, with the T token);
                                         each request takes the next 100 unread ids (fetched
                                         untimed just before), so every one changes 100 items

Printed per call: p50 and p90 wall ms on each side, feedhub/FreshRSS of the p50s, and
each server's CPU per request (user+sys of its process tree from /proc): on a shared
machine the CPU is the steadier figure. Without `php` or a FreshRSS source, feedhub's
side is measured alone and one sentence says why FreshRSS was skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from _freshrss import (  # noqa: E402
    API_PASSWORD,
    APP_CALLS,
    READ,
    READING_LIST,
    USER,
    FreshRSS,
    GReader,
    free_port,
    php_version,
    source_dir,
    unavailable,
)
from _proctree import tree_cpu, tree_rss_mb  # noqa: E402
from ingest import Feedhub, Server  # noqa: E402

PASSWORD = "bench password"
_PARAGRAPH = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod. </p>"


def write_feeds(directory: Path, feeds: int, items: int, now: datetime) -> None:
    """feeds RSS 2.0 documents of items items each, newest first, all within two days."""
    directory.mkdir()
    step = timedelta(hours=48) / max(1, feeds * items)
    for f in range(feeds):
        entries = []
        for i in range(items):
            when = now - step * (i * feeds + f + 1)
            body = escape(f"<h2>Item {i} of feed {f}</h2>" + _PARAGRAPH * 18)
            entries.append(
                f"<item><title>Feed {f}, item {i}</title>"
                f"<link>http://127.0.0.1:9/{f}/{i}</link>"
                f'<guid isPermaLink="false">bench-{f}-{i}</guid>'
                f"<pubDate>{format_datetime(when)}</pubDate>"
                f"<description>{body}</description></item>"
            )
        (directory / f"feed{f:04}.xml").write_text(
            '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>'
            f"<title>Bench feed {f}</title><link>http://127.0.0.1:9/{f}/</link>"
            f"<description>generated</description>{''.join(entries)}</channel></rss>\n"
        )


async def feedhub_ingest(server: Server, db: Path) -> int:
    """feedhub's first poll of every feed (its poller, in this process), and the user."""
    from sqlalchemy import insert, text

    from feedhub.db.models import User
    from feedhub.readers.passwords import hash_password

    system = Feedhub(server, db)
    await system.start()
    try:
        await system.poll()
        async with system.engine.begin() as conn:
            await conn.execute(insert(User), [{
                "name": USER, "password_hash": hash_password(PASSWORD), "role": "reader",
                "feed_key": "bench-key", "created_at": datetime.now(UTC),
            }])  # fmt: skip
            count: int = (await conn.execute(text("SELECT count(*) FROM article"))).scalar_one()
    finally:
        await system.close()
    return count


class FeedhubServer:
    """`feedhub serve` on the ingested database: no scheduler, so no poll runs beside."""

    def __init__(self, db: Path, workdir: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env.update(
            PYTHONPATH=os.pathsep.join([*paths, str(ROOT)]),
            FEEDHUB_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
            FEEDHUB_PORT=str(self.port),
            FEEDHUB_ADMIN_TOKEN="bench",
            FEEDHUB_SCHEDULER="off",
            FEEDHUB_LOG_LEVEL="WARNING",
        )
        self.log = (workdir / "feedhub-serve.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feedhub", "serve"], env=env, cwd=workdir,
            stdout=self.log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:  # waiting on a condition: /healthz answering
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"feedhub serve did not start; see {self.log.name}")
            time.sleep(0.1)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(15)
        self.log.close()


class Side:
    """One system under test: its client and the process tree whose CPU is counted."""

    def __init__(self, name: str, client: GReader, pid: int) -> None:
        self.name, self.client, self.pid = name, client, pid


Call = tuple[Callable[[], Any], Callable[[], Any] | None]  # (the request, its untimed set-up)


def time_calls(
    sides: list[Side], repeat: int, calls: dict[str, Call]
) -> dict[str, tuple[list[float], float, int]]:
    """One call on every side, request by request in turn (a drift in the machine's speed
    then falls on both sides alike): per side, (wall ms of each request, server CPU ms per
    request, bytes of the last answer). `calls`: the side's name -> (call, prepare)."""
    for side in sides:  # untimed: warm caches (and php's opcache) on both sides alike
        call, prepare = calls[side.name]
        if prepare:
            prepare()
        call()
    times: dict[str, list[float]] = {side.name: [] for side in sides}
    cpu = dict.fromkeys(times, 0.0)
    size = dict.fromkeys(times, 0)
    for _ in range(repeat):
        for side in sides:
            call, prepare = calls[side.name]
            if prepare:
                prepare()
            cpu0 = tree_cpu(side.pid)
            start = time.perf_counter()
            response = call()
            times[side.name].append((time.perf_counter() - start) * 1000)
            cpu[side.name] += tree_cpu(side.pid) - cpu0
            size[side.name] = len(response.content)
    return {n: (times[n], 1000 * cpu[n] / repeat, size[n]) for n in times}


def _calls(side: Side) -> dict[str, Call]:
    client = side.client
    calls: dict[str, Call] = {
        name: ((lambda p=path: client.get(p)), None) for name, path in APP_CALLS.items()
    }
    batch: list[str] = []

    def next_unread() -> None:  # the next 100 unread ids, outside the timed request
        refs = client.get(
            f"/reader/api/0/stream/items/ids?s={READING_LIST}&xt={READ}&n=100&output=json"
        ).json()["itemRefs"]
        batch[:] = [ref["id"] for ref in refs]
        if len(batch) < 100:
            raise RuntimeError(f"{side.name}: fewer than 100 unread items left for edit-tag")

    calls["edit-tag 100 items"] = (
        lambda: client.post("/reader/api/0/edit-tag", {"i": list(batch), "a": READ}),
        next_unread,
    )
    return calls


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(rows: dict[str, dict[str, tuple[list[float], float, int]]], repeat: int) -> None:
    names = list(rows)
    print(
        f"\nGoogle Reader API, one request at a time, {repeat} timed requests per call "
        f"(wall ms: p50 / p90; server CPU ms per request); load average {_load()}"
    )
    head = f"| {'call':32} |"
    for name in names:
        head += f" {name} p50 | {name} p90 | {name} CPU |"
    if len(names) == 2:
        head += f" {names[0]}/{names[1]} p50 | {names[0]}/{names[1]} CPU |"
    print(head)
    print("|" + "|".join("---" for _ in range(head.count("|") - 1)) + "|")
    for call in rows[names[0]]:
        line = f"| {call:32} |"
        for name in names:
            times, cpu, _ = rows[name][call]
            line += f" {p(times, 0.5):.1f} | {p(times, 0.9):.1f} | {cpu:.1f} |"
        if len(names) == 2:
            (t0, c0, _), (t1, c1, _) = rows[names[0]][call], rows[names[1]][call]
            ratio = p(t0, 0.5) / p(t1, 0.5) if p(t1, 0.5) else 0.0
            line += f" {ratio:.2f}x | {(c0 / c1 if c1 else 0.0):.2f}x |"
        print(line)
    for name in names:
        sizes = ", ".join(f"{call} {rows[name][call][2] // 1024} KiB" for call in rows[name])
        print(f"{name} answers: {sizes}")


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--feeds", type=int, default=100, help="generated feeds (default 100)")
    ap.add_argument("--items", type=int, default=50, help="items per feed (default 50)")
    ap.add_argument("--repeat", type=int, default=40, help="timed requests per call")
    ap.add_argument(
        "--freshrss-src",
        type=Path,
        metavar="DIR",
        help="a FreshRSS source tree (default $FEEDHUB_BENCH_FRESHRSS); without it or "
        "without `php`, feedhub is measured alone",
    )
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    args = ap.parse_args()
    if args.smoke:
        args.feeds, args.items, args.repeat = 8, 50, 3
    if args.items * args.feeds < 100 * (args.repeat + 1):
        ap.error("edit-tag needs 100 unread items per request: raise --feeds or --items")
    src = source_dir(args.freshrss_src)
    why = unavailable(src)
    print(why or f"FreshRSS: from {src} (PHP {php_version()}), `php -S` on its SQLite.")
    print(
        f"{args.feeds} feeds x {args.items} items; {os.cpu_count()} CPUs; Python "
        f"{sys.version.split()[0]}; load average {_load()}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="feedhub-greader-peer-") as tmp:
        work = Path(tmp)
        write_feeds(work / "feeds", args.feeds, args.items, datetime.now(UTC))
        server = Server(work / "feeds", 1)
        closers: list[Callable[[], None]] = [server.close]
        try:
            server.mode("conditional")
            db = work / "feedhub.sqlite"
            stored = {"feedhub": asyncio.run(feedhub_ingest(server, db))}
            fresh: FreshRSS | None = None
            if why is None:
                assert src is not None
                fresh = FreshRSS(src, work)
                closers.append(fresh.close)
                fresh.import_feeds(server.urls)
                fresh.actualize()
                stored["FreshRSS"] = fresh.entry_count()
            print(
                "articles stored: "
                + ", ".join(f"{k} {v}" for k, v in stored.items())
                + f" (served {args.feeds * args.items})",
                flush=True,
            )
            hub = FeedhubServer(db, work)
            closers.append(hub.close)
            sides = [Side("feedhub", GReader(hub.base, "", USER, PASSWORD), hub.proc.pid)]
            if fresh is not None:
                fresh.serve()
                assert fresh.server is not None
                client = GReader(fresh.base, "/api/greader.php", USER, API_PASSWORD)
                sides.append(Side("FreshRSS", client, fresh.server.pid))
            for side in sides:
                closers.append(side.client.close)
                unread = side.client.get(APP_CALLS["unread-count"]).json()
                total = sum(
                    c["count"] for c in unread["unreadcounts"] if c["id"].startswith("feed/")
                )
                print(f"{side.name}: {total} unread before the calls", flush=True)
            rows: dict[str, dict[str, tuple[list[float], float, int]]] = {s.name: {} for s in sides}
            per_side = {s.name: _calls(s) for s in sides}
            for call in per_side["feedhub"]:  # one call on both sides, then the next
                one_call = {s.name: per_side[s.name][call] for s in sides}
                timed = time_calls(sides, args.repeat, one_call)
                for name, row in timed.items():
                    rows[name][call] = row
            report(rows, args.repeat)
            memory = [f"feedhub serve {tree_rss_mb(hub.proc.pid):.0f} MB"]
            if fresh is not None:
                memory.append(f"php -S {fresh.server_rss_mb():.0f} MB")
            print("server RSS after the calls (process tree): " + ", ".join(memory))
        finally:
            for close in reversed(closers):
                close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
