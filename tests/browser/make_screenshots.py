"""Write the reader view's screenshots (light/dark, desktop/phone) to docs/screenshots/.

    python -m tests.browser.make_screenshots [output-dir]

Starts a feed server and a feedhub server with a temporary database, fills them with a few
sample feeds, and photographs the page just after a new article arrived live.
"""

from __future__ import annotations

import email.utils
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from tests.browser.harness import REPO, FeedhubServer, item, launch_chromium
from tests.support.feedserver import FeedServer, rss

SHOTS = {
    "desktop": {"viewport": {"width": 1280, "height": 860}, "device_scale_factor": 1},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    },
}

TECH = [
    item(
        "t1",
        "A tiny web server that fits on a business card",
        minutes_ago=14,
        summary="<p>Written in 400 lines of C, it speaks HTTP/1.1, serves static files and "
        "handles a surprising amount of traffic on a single core.</p>",
    ),
    item(
        "t2",
        "Why your SQLite database is faster than you think",
        minutes_ago=65,
        summary="<p>Write-ahead logging, memory-mapped I/O and a careful choice of pragmas turn "
        "the embedded database into a serious option for busy <em>web</em> apps.</p>",
    ),
    item(
        "t3",
        "Browsers agree on a new way to stream events",
        minutes_ago=190,
        summary="<p>Server-sent events are having a quiet renaissance as teams rediscover a "
        "protocol that works through proxies and reconnects by itself.</p>",
    ),
    item(
        "t4",
        "The case for boring technology, ten years on",
        minutes_ago=60 * 26,
        summary="<p>A look back at an essay that changed how many teams choose their tools, "
        "and what the decade since has taught us.</p>",
    ),
]
SCIENCE = [
    item(
        "s1",
        "Astronomers map the coldest clouds in the galaxy",
        minutes_ago=38,
        summary="<p>A new survey finds filaments of gas at only a few degrees above absolute "
        "zero, where stars are about to be born.</p>",
    ),
    item(
        "s2",
        "Bees can count to four, and maybe further",
        minutes_ago=150,
        summary="<p>Experiments with sugar rewards show that honeybees keep track of "
        "landmarks by number, not only by distance flown.</p>",
    ),
    item(
        "s3",
        "A deep-sea microbe that breathes metal",
        minutes_ago=60 * 9,
        summary="<p>Found near hydrothermal vents, it uses iron instead of oxygen, and could "
        "explain how early life powered itself.</p>",
    ),
]
WORLD = [item("w1", "Harbour city opens its first car-free district", minutes_ago=20)]


FEEDS = (
    ("Technology", "tech", "Byte Street", TECH),
    ("Science", "science", "Field Notes", SCIENCE),
    ("World", "world", "Global Desk", WORLD),
)
BREAKING = "Open-source maintainers publish a field guide to burnout"


def seed(server: FeedhubServer, feeds: FeedServer) -> dict[str, int]:
    """Reveal the sample items oldest first, one poll each, so ids follow publication time."""
    ids, shown = {}, {}
    for name, slug, _title, _items in FEEDS:
        server.add_category(name, slug)
    everything = [(row, entry) for row in FEEDS for entry in row[3]]
    everything.sort(key=lambda pair: _published(pair[1]))
    for (_name, slug, title, _items), entry in everything:
        shown.setdefault(slug, []).insert(0, entry)
        feeds.set(f"/{slug}.xml", rss(shown[slug], title=title))
        if slug in ids:
            server.refresh(ids[slug])
        else:
            ids[slug] = server.add_feed(feeds.url(f"/{slug}.xml"), slug)["id"]
            server.wait_for_articles(1, category=slug)
    server.wait_for_articles(len(everything))
    return ids


def _published(entry: dict[str, str]) -> float:
    return email.utils.parsedate_to_datetime(entry["pubDate"]).timestamp()


def shoot(browser: Any, feeds: FeedServer, scheme: str, size: str, path: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = FeedhubServer(Path(tmp)).start()
        try:
            ids = seed(server, feeds)
            context = browser.new_context(color_scheme=scheme, **SHOTS[size])
            page = context.new_page()
            page.goto(server.base_url + "/?category=tech&category=science")
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
            # One article arrives live, so the picture shows its highlight.
            fresh = item(
                "breaking", BREAKING, summary=f"<p>{BREAKING}: what helps, and what does not.</p>"
            )
            feeds.set("/tech.xml", rss([fresh, *TECH], title="Byte Street"))
            server.refresh(ids["tech"])
            expect(page.locator(".article-title").first).to_have_text(BREAKING)
            page.wait_for_timeout(700)  # the slide-in is over, the highlight is not
            page.screenshot(path=path)
            context.close()
        finally:
            server.stop()


def main(out_dir: Path = REPO / "docs" / "screenshots") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with FeedServer() as feeds, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for scheme in ("light", "dark"):
            for size in SHOTS:
                path = out_dir / f"reader-{scheme}-{size}.png"
                shoot(browser, feeds, scheme, size, path)
                written.append(path)
        browser.close()
    return written


if __name__ == "__main__":
    for written_path in main(*(Path(arg) for arg in sys.argv[1:2])):
        print(written_path)
