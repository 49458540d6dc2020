"""The choice of categories survives a reload and is in the URL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.harness import item
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser


def chosen_in_url(page) -> set[str]:
    return set(parse_qs(urlsplit(page.url).query).get("category", []))


def test_choice_survives_reload_and_is_in_the_url(page, feeds, feedhub):
    for name in ("Tech", "Science", "World"):
        slug = name.lower()
        feedhub.add_category(name, slug)
        feeds.set(f"/{slug}.xml", rss([item(slug, f"{name} story")], title=f"{name} feed"))
        feedhub.add_feed(feeds.url(f"/{slug}.xml"), slug)
    feedhub.wait_for_articles(3)

    page.goto(feedhub.base_url + "/")
    articles = page.locator("#articles > li.article")
    expect(articles).to_have_count(3)
    page.get_by_role("checkbox", name="Tech").check()
    page.get_by_role("checkbox", name="Science").check()
    expect(articles).to_have_count(2)
    assert chosen_in_url(page) == {"tech", "science"}

    page.reload()
    expect(page.get_by_role("checkbox", name="Tech")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Science")).to_be_checked()
    expect(page.get_by_role("checkbox", name="World")).not_to_be_checked()
    expect(articles).to_have_count(2)
    assert chosen_in_url(page) == {"tech", "science"}

    # A bare "/" remembers the choice and puts it back in the URL.
    page.goto(feedhub.base_url + "/")
    expect(page.get_by_role("checkbox", name="Science")).to_be_checked()
    expect(articles).to_have_count(2)
    assert chosen_in_url(page) == {"tech", "science"}

    # A shared link wins over the remembered choice.
    page.goto(feedhub.base_url + "/?category=world")
    expect(page.get_by_role("checkbox", name="World")).to_be_checked()
    expect(page.get_by_role("checkbox", name="Tech")).not_to_be_checked()
    expect(articles.locator(".article-title")).to_have_text(["World story"])

    # "All" clears the choice.
    page.get_by_role("button", name="All").click()
    expect(articles).to_have_count(3)
    assert chosen_in_url(page) == set()
