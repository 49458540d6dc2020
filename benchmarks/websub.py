"""WebSub end to end: publication to an open stream through a hub, on one machine.

    .venv/bin/python benchmarks/websub.py [--publications 100]

Starts a real `feedhub serve` (SQLite, push on: FEEDHUB_PUBLIC_URL is its own loopback
address), the protocol tests' WebSub hub (tests/support/websubhub.py, a threaded HTTP
server) and a feed server whose feed advertises that hub. Once the hub has verified the
subscription, one reader opens `/api/stream`. Then, --publications times: the publisher
adds an entry to its feed and pings the hub (`hub.mode=publish`); the hub fetches the
topic and pushes it, signed, to feedhub's callback; feedhub checks the signature, parses,
stores and publishes; the stream shows the article. Each delay runs from the ping to the
article event on the stream. Reported: median, p90, p99 and max.

Goal: median under 1 s including the hub.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.support.feedserver import FeedServer  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402
from tests.support.sse import RawStream  # noqa: E402
from tests.support.websubhub import WebSubHub  # noqa: E402

# The feed shows this many newest entries, as real feeds do.
WINDOW = 20


def document(hub: str, newest: int) -> str:
    items = "".join(
        f"<item><title>Story {n}</title><link>http://example.com/{n}</link>"
        f"<guid>story-{n}</guid></item>"
        for n in range(newest, max(0, newest - WINDOW), -1)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>Published</title><link>http://example.com/</link>"
        f'<atom:link rel="hub" href="{hub}"/>{items}</channel></rss>'
    )


async def run(publications: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp, FeedServer() as feeds, WebSubHub() as hub:
        topic = feeds.url("/feed.xml")
        feeds.set("/feed.xml", document(hub.url, 1), validators=False)
        port = free_port()
        env = {"FEEDHUB_PUBLIC_URL": f"http://127.0.0.1:{port}", "FEEDHUB_LOG_LEVEL": "WARNING"}
        server = ServerProcess(workdir=Path(tmp), port=port, env=env).start()
        try:
            server.add_category("News", "news")
            server.add_feed(topic, "news")
            deadline = time.monotonic() + 30
            while not hub.subscribers(topic):
                if time.monotonic() > deadline:
                    raise SystemExit("the hub never verified feedhub's subscription")
                await asyncio.sleep(0.05)
            stream = await RawStream.open(f"{server.url}/api/stream")
            delays: list[float] = []
            try:
                await stream.next_event()  # hello
                async with httpx.AsyncClient() as publisher:
                    for n in range(2, publications + 2):
                        feeds.set("/feed.xml", document(hub.url, n), validators=False)
                        started = time.perf_counter()
                        ping = {"hub.mode": "publish", "hub.url": topic}
                        await publisher.post(hub.url, data=ping)
                        (event,) = await stream.articles(1, within=30)
                        delays.append(time.perf_counter() - started)
                        assert event.json()["title"] == f"Story {n}", event.data
            finally:
                await stream.close()
            return delays
        finally:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publications", type=int, default=100)
    parser.add_argument("--smoke", action="store_true", help="3 publications: does it run?")
    args = parser.parse_args()
    delays = sorted(asyncio.run(run(3 if args.smoke else args.publications)))

    def pct(p: float) -> float:
        return delays[min(len(delays) - 1, int(p * len(delays)))] * 1000

    print(f"publications: {len(delays)}")
    print(
        f"ping -> stream (ms): median {statistics.median(delays) * 1000:.0f}  "
        f"p90 {pct(0.90):.0f}  p99 {pct(0.99):.0f}  max {delays[-1] * 1000:.0f}"
    )


if __name__ == "__main__":
    main()
