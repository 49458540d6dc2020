"""Write the page's screenshots (light/dark, desktop/phone) to docs/screenshots/.

    python -m tests.browser.make_screenshots [output-dir]

Starts a feed server and a feedhub server with a temporary database, fills them with a few
sample feeds (one a podcast with an audio file) and a reader account, and photographs:
the sign-in dialog, the list signed in (unread counts) just after a new article arrived
live, the reading view of a podcast episode with its player, the account dialog, the
feed view (site icons and unread counts per feed) and the admin page's users.
"""

from __future__ import annotations

import email.utils
import re
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import expect, sync_playwright

from tests.browser.harness import REPO, FeedhubServer, item, launch_chromium, sign_in_on_page
from tests.browser.media import png_bytes, wav_bytes
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


EPISODE = "Episode 42: how a feed reader keeps up"
NOTES = (
    "<p>We talk with the maintainers of a small self-hosted news reader about "
    "<strong>real-time delivery</strong>, why server-sent events beat polling for a single "
    "page, and what a first poll of an eight-year-old podcast feed taught them.</p>"
    "<h3>In this episode</h3><ul><li>Publication time versus arrival time</li>"
    "<li>Why a backlog is not news</li><li>Keyboard shortcuts that screen readers follow</li>"
    "</ul><p>Music: a 440 Hz tone, generated for the occasion.</p>"
)
PODCAST = [
    item(
        "p1",
        EPISODE,
        minutes_ago=50,
        summary=NOTES,
        author="studio@wireside.example (Ann Host and Bo Guest)",
    ),
    item("p0", "Episode 41: small tools, long lives", minutes_ago=60 * 24 * 2),
]
FEEDS = (
    ("Technology", "tech", "Byte Street", TECH),
    ("Science", "science", "Field Notes", SCIENCE),
    ("World", "world", "Global Desk", WORLD),
    ("Podcasts", "podcasts", "Wireside Chats", PODCAST),
    ("Culture", "culture", "Arts Weekly", []),
    ("Business", "business", "Ledger", []),
    ("Climate", "climate", "Warming Watch", []),
    ("Sport", "sport", "Full Time", []),
)
# Each sample site's icon colour: its page links the icon, which the poller fetches.
ICON_COLOURS = {
    "tech": (29, 95, 214), "science": (22, 140, 96), "world": (190, 60, 50),
    "podcasts": (130, 70, 180), "culture": (210, 130, 30), "business": (60, 90, 110),
    "climate": (40, 150, 160), "sport": (200, 50, 120),
}  # fmt: skip
PASSWORD = "correct horse battery"
BREAKING = "Open-source maintainers publish a field guide to burnout"


def seed(server: FeedhubServer, feeds: FeedServer) -> dict[str, int]:
    """Reveal the sample items oldest first, one poll each, so ids follow publication time."""
    ids, shown = {}, {}
    audio = wav_bytes(3.0)
    feeds.set("/episode-42.wav", audio, headers={"Content-Type": "audio/wav"})
    enclosure = (
        f'<enclosure url="{feeds.url("/episode-42.wav")}" length="{len(audio)}" type="audio/wav"/>'
    )
    PODCAST[0]["enclosure"] = enclosure
    for name, slug, _title, _items in FEEDS:
        server.add_category(name, slug)
        feeds.set(
            f"/{slug}.png", png_bytes(ICON_COLOURS[slug]), headers={"Content-Type": "image/png"}
        )
        page = f'<html><head><link rel="icon" href="/{slug}.png"></head></html>'
        feeds.set(f"/{slug}/", page, headers={"Content-Type": "text/html"})
    everything = [(row, entry) for row in FEEDS for entry in row[3]]
    everything.sort(key=lambda pair: _published(pair[1]))
    for (_name, slug, title, _items), entry in everything:
        shown.setdefault(slug, []).insert(0, entry)
        feeds.set(f"/{slug}.xml", rss(shown[slug], title=title, link=feeds.url(f"/{slug}/")))
        if slug in ids:
            server.refresh(ids[slug])
        else:
            ids[slug] = server.add_feed(feeds.url(f"/{slug}.xml"), slug)["id"]
            server.wait_for_articles(1, category=slug)
    server.wait_for_articles(len(everything))
    _wait_for_icons(server, len(ids))
    server.add_user("ann", PASSWORD)
    server.add_user("root", PASSWORD, role="admin")
    return ids


def _wait_for_icons(server: FeedhubServer, count: int) -> None:
    """Until the poller has fetched `count` site icons (in the background, after a poll)."""
    for _ in range(300):
        if sum(f["has_icon"] for f in server.api("GET", "/api/feeds")) >= count:
            return
        time.sleep(0.1)
    raise RuntimeError("the sample feeds' icons were not fetched")


def _published(entry: dict[str, str]) -> float:
    return email.utils.parsedate_to_datetime(entry["pubDate"]).timestamp()


def shoot(browser: Any, feeds: FeedServer, scheme: str, size: str, out_dir: Path) -> list[Path]:
    views = ("signin", "list", "reading", "account", "admin-users", "feeds")
    paths = [out_dir / f"{view}-{scheme}-{size}.png" for view in views]
    with tempfile.TemporaryDirectory() as tmp:
        icons_on = {"FEEDHUB_ICON_REFRESH_HOURS": "168"}
        server = FeedhubServer(Path(tmp), extra_env=icons_on).start()
        try:
            ids = seed(server, feeds)
            context = browser.new_context(color_scheme=scheme, **SHOTS[size])
            page = context.new_page()
            page.goto(server.base_url + "/?category=tech&category=science&category=podcasts")
            expect(page.locator("#status")).to_have_attribute("data-state", "live")

            page.get_by_role("button", name="Sign in").click()
            dialog = page.get_by_role("dialog", name="Sign in")
            dialog.get_by_label("Name").fill("ann")
            dialog.get_by_label("Password").fill(PASSWORD)
            page.wait_for_timeout(300)
            page.screenshot(path=paths[0])
            dialog.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("button", name="Account: ann")).to_be_visible()
            expect(page.locator("#categories .chip-count").first).to_be_visible()

            # Read one, star one; then one article arrives live, highlighted in the picture.
            page.locator("#articles > li.article").nth(2).get_by_role(
                "button", name=re.compile("^Mark read")
            ).click()
            page.locator("#articles > li.article").nth(1).get_by_role(
                "button", name=re.compile("^Star")
            ).click()
            fresh = item(
                "breaking", BREAKING, summary=f"<p>{BREAKING}: what helps, and what does not.</p>"
            )
            feeds.set("/tech.xml", rss([fresh, *TECH], title="Byte Street"))
            server.refresh(ids["tech"])
            expect(page.locator(".article-title").first).to_have_text(BREAKING)
            page.locator("body").click(position={"x": 2, "y": 300})  # no focus ring in the shot
            page.wait_for_timeout(700)  # the slide-in is over, the highlight is not
            page.screenshot(path=paths[1])

            page.locator("#articles > li.article", has_text=EPISODE).get_by_role(
                "button", name=re.compile("^Read")
            ).click()
            expect(page.locator("#reading-media audio")).to_be_visible()
            page.locator("#reading-media audio").evaluate(
                """(a) => new Promise((done) => a.readyState >= 1
                    ? done() : a.addEventListener('loadedmetadata', done))"""
            )
            page.locator("#reading-title").evaluate("(h) => h.blur()")
            page.wait_for_timeout(300)
            page.screenshot(path=paths[2])

            # The account dialog: the secret feed URL with its rotate button, the sessions.
            page.goto(server.base_url + "/")
            page.get_by_role("button", name="Account: ann").click()
            account = page.get_by_role("dialog", name="Account")
            expect(account.get_by_label("Your secret feed URL")).to_have_value(re.compile("key="))
            account.get_by_label("Your secret feed URL").evaluate("(i) => i.blur()")
            page.wait_for_timeout(300)
            page.screenshot(path=paths[3])

            # The feed view: every feed with its site icon and unread count, one chosen.
            page.goto(f"{server.base_url}/?feed={ids['tech']}")
            expect(page.locator("#feeds")).to_have_attribute("open", "")
            page.locator("#all-categories").click()  # every feed, the chosen one kept
            expect(page.locator("#feed-list button[data-feed]")).to_have_count(len(ids))
            expect(page.locator("#feed-list .feed-count:not([hidden])").first).to_be_visible()
            page.locator("#feed-list img.feed-icon").last.scroll_into_view_if_needed()
            page.wait_for_function(
                "() => [...document.querySelectorAll('img.feed-icon')].every("
                "(i) => i.complete && i.naturalWidth > 0)"
            )
            page.evaluate("window.scrollTo(0, 0)")
            page.locator("body").click(position={"x": 2, "y": 300})
            page.wait_for_timeout(300)
            page.screenshot(path=paths[5])
            context.close()

            # The admin page, opened by a signed-in admin (no token): its users section.
            context = browser.new_context(color_scheme=scheme, **SHOTS[size])
            page = context.new_page()
            sign_in_on_page(page, server.base_url, "root", PASSWORD)
            expect(page.get_by_role("button", name="Account: root")).to_be_visible()
            page.goto(server.base_url + "/admin")
            expect(page.locator("#users tbody tr")).to_have_count(2)
            page.locator("#users-heading").scroll_into_view_if_needed()
            page.evaluate("window.scrollBy(0, -80)")
            page.wait_for_timeout(300)
            page.screenshot(path=paths[4])
            context.close()
        finally:
            server.stop()
    return paths


def main(out_dir: Path = REPO / "docs" / "screenshots") -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with FeedServer() as feeds, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        for scheme in ("light", "dark"):
            for size in SHOTS:
                written.extend(shoot(browser, feeds, scheme, size, out_dir))
        browser.close()
    return written


if __name__ == "__main__":
    for written_path in main(*(Path(arg) for arg in sys.argv[1:2])):
        print(written_path)
