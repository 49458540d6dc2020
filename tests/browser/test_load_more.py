"""Older articles load through the `before` cursor ("Load more")."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import item
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser


def test_load_more_pages_back_without_duplicates(page, feeds, feedhub):
    feedhub.add_category("Tech", "tech")
    items = [item(f"n{n}", f"Story {n}", minutes_ago=n) for n in range(1, 61)]
    feeds.set("/tech.xml", rss(items, title="Tech Daily"))
    feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    feedhub.wait_for_articles(60)

    page.goto(feedhub.base_url + "/?category=tech")
    articles = page.locator("#articles > li.article")
    expect(articles).to_have_count(50)
    more = page.get_by_role("button", name="Load more")
    more.focus()
    page.keyboard.press("Enter")
    expect(articles).to_have_count(60)
    expect(more).to_be_hidden()
    ids = [int(i) for i in articles.evaluate_all("items => items.map(i => i.dataset.id)")]
    assert ids == sorted(set(ids), reverse=True)
