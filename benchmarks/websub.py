"""WebSub end to end: publication to an open stream through a hub, on one machine.

    .venv/bin/python benchmarks/websub.py [--publications 100] [--page]

Starts a real `feedhub serve` (SQLite, push on: FEEDHUB_PUBLIC_URL is its own loopback
address), the protocol tests' WebSub hub (tests/support/websubhub.py, a threaded HTTP
server) and a feed server whose feed advertises that hub. Once the hub has verified the
subscription, one reader opens `/api/stream`. Then, --publications times: the publisher
adds an entry to its feed and pings the hub (`hub.mode=publish`); the hub fetches the
topic and pushes it, signed, to feedhub's callback; feedhub checks the signature, parses,
stores and publishes; the stream shows the article. Each delay runs from the ping to the
article event on the stream. Reported: median, p90, p99 and max.

With `--page` (Chromium at /usr/bin/chromium, through Playwright), the reading page is open
on the same category too, and a second figure runs from the ping to the article's title
in the page's DOM: what a reader sees.

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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from tests.browser.harness import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
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


async def run(publications: int, *, page: bool = False) -> tuple[list[float], list[float]]:
    """Delays ping -> stream event, and ping -> title in the page (empty without `page`)."""
    if not page:
        return await _run(publications, None), []
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        try:
            shown: list[float] = []
            reader = await browser.new_page()
            return await _run(publications, (reader, shown)), shown
        finally:
            await browser.close()


async def _run(publications: int, page: tuple[Any, list[float]] | None) -> list[float]:
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
            if page is not None:
                await page[0].goto(f"{server.url}/?category=news")
                await page[0].get_by_text("Story 1", exact=True).wait_for(timeout=30_000)
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
                        if page is not None:
                            title = page[0].get_by_text(f"Story {n}", exact=True)
                            await title.wait_for(timeout=30_000)
                            page[1].append(time.perf_counter() - started)
            finally:
                await stream.close()
            return delays
        finally:
            server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publications", type=int, default=100)
    parser.add_argument("--page", action="store_true", help="the reading page in Chromium too")
    parser.add_argument("--smoke", action="store_true", help="3 publications: does it run?")
    args = parser.parse_args()
    stream, page = asyncio.run(run(3 if args.smoke else args.publications, page=args.page))
    print(f"publications: {len(stream)}")
    print(f"ping -> stream (ms): {_figures(stream)}")
    if args.page:
        print(f"ping -> page (ms): {_figures(page)}")


def _figures(delays: list[float]) -> str:
    ordered = sorted(delays)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000

    return (
        f"median {statistics.median(ordered) * 1000:.0f}  p90 {pct(0.90):.0f}  "
        f"p99 {pct(0.99):.0f}  max {ordered[-1] * 1000:.0f}"
    )


if __name__ == "__main__":
    main()
