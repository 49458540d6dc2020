"""A chosen category's new articles arrive live; others do not."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import item
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser

TECH = [item("t1", "Tech one", minutes_ago=30), item("t2", "Tech two", minutes_ago=20)]
SCIENCE = [item("s1", "Science one", minutes_ago=25)]


def set_visibility(page, state: str) -> None:
    """Pretend the tab was hidden or shown (headless pages are always visible)."""
    page.evaluate(
        """state => {
            const getter = { configurable: true, get: () => state };
            Object.defineProperty(document, "visibilityState", getter);
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        state,
    )


def test_chosen_category_shows_new_articles_live(page, feeds, feedhub):
    feedhub.add_category("Tech", "tech")
    feedhub.add_category("Science", "science")
    feeds.set("/tech.xml", rss(TECH, title="Tech Daily"))
    feeds.set("/science.xml", rss(SCIENCE, title="Science Weekly"))
    tech = feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    science = feedhub.add_feed(feeds.url("/science.xml"), "science")
    feedhub.wait_for_articles(3)

    page.goto(feedhub.base_url + "/")
    articles = page.locator("#articles > li.article")
    titles = articles.locator(".article-title")
    expect(articles).to_have_count(3)  # no choice yet: every category

    page.get_by_role("checkbox", name="Tech").check()
    expect(titles).to_have_text(["Tech two", "Tech one"])
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    page.evaluate("window.__sameDocument = true")

    # Another category's article first: it must never show up on this page.
    feeds.set("/science.xml", rss([item("s2", "Science two"), *SCIENCE], title="Science Weekly"))
    assert feedhub.refresh(science["id"])["new_articles"] == 1

    feeds.set("/tech.xml", rss([item("t3", "Tech three"), *TECH], title="Tech Daily"))
    assert feedhub.refresh(tech["id"])["new_articles"] == 1
    # Live, not by the page's fallback poll (every 10 s, and its cards say "catchup"): a
    # loaded machine may take a few seconds to draw it, so the source is what tells.
    expect(titles.first).to_have_text("Tech three", timeout=5000)

    expect(titles).to_have_text(["Tech three", "Tech two", "Tech one"])
    expect(articles.first).to_have_attribute("data-source", "stream")
    expect(articles.first).to_have_class(re.compile(r"\bis-new\b"))
    assert page.evaluate("window.__sameDocument") is True, "the page was reloaded"
    assert "Science two" not in page.locator("#articles").inner_text()

    # The new card: link, feed name, category, relative time.
    link = articles.first.locator(".article-title a")
    expect(link).to_have_attribute("href", "https://example.com/t3")
    expect(link).to_have_attribute("target", "_blank")
    expect(link).to_have_attribute("rel", "noopener noreferrer")
    expect(articles.first.locator(".feed")).to_have_text("Tech Daily")
    expect(articles.first.locator(".category")).to_have_text("Tech")
    expect(articles.first.locator("time")).to_have_text("just now")
    assert articles.first.locator("time").get_attribute("title")

    # While the tab is hidden, the title counts the arrivals; seeing the page clears it.
    set_visibility(page, "hidden")
    feeds.set(
        "/tech.xml",
        rss([item("t4", "Tech four"), item("t3", "Tech three"), *TECH], title="Tech Daily"),
    )
    assert feedhub.refresh(tech["id"])["new_articles"] == 1
    expect(page).to_have_title("(1 new) feedhub", timeout=5000)
    set_visibility(page, "visible")
    expect(page).to_have_title("feedhub")


def test_the_suite_s_pages_are_still(page, browser) -> None:  # type: ignore[no-untyped-def]
    """Every context the tests open asks for reduced motion (tests/browser/harness.py): an
    open page with the live dot's endless pulse drew sixty frames a second in software."""
    page.set_content("<p>still</p>")
    assert page.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
    other = browser.new_context()
    try:
        still = other.new_page()
        still.set_content("<p>still</p>")
        assert still.evaluate("matchMedia('(prefers-reduced-motion: reduce)').matches")
    finally:
        other.close()
