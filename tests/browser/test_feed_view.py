"""The feed view: each feed with its site icon (fetched by the poller, served by feedhub)
and its unread count; choosing one shows only its articles and keeps it in the URL."""

from __future__ import annotations

import re
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.harness import item, sign_in_on_page
from tests.browser.media import png_bytes
from tests.support.feedserver import rss

pytestmark = [pytest.mark.browser, pytest.mark.feedhub_env(FEEDHUB_ICON_REFRESH_HOURS="168")]

PASSWORD = "correct horse battery"


def wait_for_icons(feedhub, count: int) -> list[dict]:
    """Until the poller has stored `count` icons (it fetches them after the poll)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        feeds = httpx.get(f"{feedhub.base_url}/api/feeds").json()
        if sum(f["has_icon"] for f in feeds) >= count:
            return feeds
        time.sleep(0.1)  # polling a condition, not a fixed wait
    raise AssertionError(f"icons not fetched: {feeds}")


def _two_feeds(feeds, feedhub) -> dict[str, int]:
    feedhub.add_category("Tech", "tech")
    # One feed declares its icon (RSS <image>); the other's site page links one.
    feeds.set("/daily.png", png_bytes((29, 95, 214)), headers={"Content-Type": "image/png"})
    daily = rss([item("d1", "Daily one", minutes_ago=3), item("d2", "Daily two", minutes_ago=2)],
                title="Tech Daily", link=feeds.url("/daily/"))  # fmt: skip
    image = f"<image><url>{feeds.url('/daily.png')}</url><title>t</title><link>x</link></image>"
    feeds.set("/daily.xml", daily.replace("</description>", "</description>" + image, 1))
    feeds.set("/blog/", '<link rel="icon" href="/blog.png">', headers={"Content-Type": "text/html"})
    feeds.set("/blog.png", png_bytes((214, 95, 29)), headers={"Content-Type": "image/png"})
    feeds.set("/blog.xml", rss([item("b1", "Blog one", minutes_ago=1)], title="Slow Blog",
                               link=feeds.url("/blog/")))  # fmt: skip
    ids = {}
    for name in ("daily", "blog"):
        ids[name] = feedhub.add_feed(feeds.url(f"/{name}.xml"), "tech")["id"]
        feedhub.refresh(ids[name])
    wait_for_icons(feedhub, 2)
    feedhub.add_user("ann", PASSWORD)
    return ids


def test_feed_view_with_icons_counts_and_the_feed_in_the_url(page, feeds, feedhub):
    ids = _two_feeds(feeds, feedhub)
    sign_in_on_page(page, feedhub.base_url, "ann", PASSWORD)
    expect(page.locator("#unread-total")).to_have_text("3")

    page.locator("#feeds > summary").click()
    daily = page.locator(f'#feed-list button[data-feed="{ids["daily"]}"]')
    blog = page.locator(f'#feed-list button[data-feed="{ids["blog"]}"]')
    expect(daily).to_contain_text("Tech Daily")
    expect(daily.locator(".feed-count")).to_have_text("2 unread")
    expect(blog.locator(".feed-count")).to_have_text("1 unread")
    # The icons are feedhub's own URLs, and the browser decoded real images from them.
    for button, name in ((daily, "daily"), (blog, "blog")):
        icon = button.locator("img.feed-icon")
        expect(icon).to_have_attribute("src", f"/icons/feeds/{ids[name]}")
        icon.scroll_into_view_if_needed()
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth > 0", arg=icon.element_handle()
        )
        assert icon.evaluate("(img) => img.naturalWidth") == 32

    # One feed: only its articles, the feed in the URL; icons beside the feed names.
    daily.click()
    expect(daily).to_have_attribute("aria-pressed", "true")
    expect(page).to_have_url(re.compile(rf"[?&]feed={ids['daily']}\b"))
    articles = page.locator("#articles > li.article")
    expect(articles).to_have_count(2)
    expect(articles.filter(has_text="Blog one")).to_have_count(0)
    meta_icon = articles.first.locator(".article-meta img.feed-icon")
    expect(meta_icon).to_have_attribute("src", f"/icons/feeds/{ids['daily']}")

    # Reading one lowers its feed's count, not the other's.
    articles.filter(has_text="Daily one").get_by_role(
        "button", name=re.compile("^Mark read")
    ).click()
    expect(daily.locator(".feed-count")).to_have_text("1 unread")
    expect(blog.locator(".feed-count")).to_have_text("1 unread")
    expect(page.locator("#unread-total")).to_have_text("2")

    # A reload keeps the feed view.
    page.reload()
    expect(page.locator("#feeds")).to_have_attribute("open", "")
    expect(page.locator(f'#feed-list button[data-feed="{ids["daily"]}"]')).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("#articles > li.article")).to_have_count(2)
    expect(page.locator("#search")).to_have_attribute("placeholder", "Search in Tech Daily")

    # "All feeds" lets it go.
    page.locator("#feed-list").get_by_role("button", name="All feeds").click()
    expect(page.locator("#articles > li.article")).to_have_count(3)
    assert "feed=" not in page.url


def test_anonymous_readers_get_the_feed_view_without_counts(page, feeds, feedhub):
    ids = _two_feeds(feeds, feedhub)
    page.goto(f"{feedhub.base_url}/?feed={ids['blog']}")
    expect(page.locator("#articles > li.article")).to_have_count(1)
    expect(page.locator("#articles > li.article")).to_contain_text("Blog one")
    expect(page.locator("#feed-list .feed-count:not([hidden])")).to_have_count(0)
    # A feed id that is no feed (deleted since the link was shared) shows everything.
    page.goto(f"{feedhub.base_url}/?feed=999999")
    expect(page.locator("#articles > li.article")).to_have_count(3)
    assert "feed=" not in page.url
