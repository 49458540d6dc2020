"""A signed-in reader hides a feed and a category in the account dialog: they leave the
list, the categories and the counts; shown again, everything is back. Nobody else's page
changes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import item
from tests.browser.test_accounts import chip_count, sign_in, titles
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


@pytest.fixture
def site(feeds, feedhub):
    feedhub.add_category("Tech", "tech")
    feedhub.add_category("Science", "science")
    feeds.set(
        "/tech.xml",
        rss(
            [item("t1", "Tech one", minutes_ago=30), item("t2", "Tech two", minutes_ago=20)],
            title="Tech Daily",
        ),
    )
    feeds.set("/gadgets.xml", rss([item("g1", "Gadget one", minutes_ago=15)], title="Gadgets"))
    feeds.set("/science.xml", rss([item("s1", "Science one", minutes_ago=25)],
                                  title="Science Weekly"))  # fmt: skip
    feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    feedhub.add_feed(feeds.url("/gadgets.xml"), "tech")
    feedhub.add_feed(feeds.url("/science.xml"), "science")
    feedhub.wait_for_articles(4)
    feedhub.add_user("ann", PASSWORD)


def test_hide_and_show_a_feed_and_a_category(page, site, feedhub, browser):
    sign_in(page, feedhub)
    expect(page.get_by_role("button", name="Account: ann")).to_be_visible()
    expect(titles(page)).to_have_count(4)
    expect(chip_count(page, "Tech")).to_have_text("3 unread")

    page.get_by_role("button", name="Account: ann").click()
    dialog = page.get_by_role("dialog", name="Account")
    choice = dialog.get_by_label("Feed or category to hide")
    expect(choice.locator("option", has_text="Gadgets")).to_have_count(1)
    choice.select_option(label="Gadgets")
    dialog.get_by_role("button", name="Hide", exact=True).click()
    expect(dialog.locator("#hidden-list li")).to_have_count(1)
    expect(dialog.locator("#hidden-list")).to_contain_text("Gadgets")
    expect(titles(page)).to_have_count(3)
    expect(page.locator("#articles")).not_to_contain_text("Gadget one")
    expect(chip_count(page, "Tech")).to_have_text("2 unread")

    choice.select_option(label="Science")
    dialog.get_by_role("button", name="Hide", exact=True).click()
    expect(dialog.locator("#hidden-list li")).to_have_count(2)
    expect(titles(page)).to_have_count(2)
    expect(page.locator("#categories label.chip", has_text="Science")).to_have_count(0)

    # Another reader (here: nobody signed in) still sees everything.
    other = browser.new_context()
    try:
        anonymous = other.new_page()
        anonymous.goto(feedhub.base_url + "/")
        expect(titles(anonymous)).to_have_count(4)
    finally:
        other.close()

    # Still hidden after a reload: it is the server's, not the page's.
    page.reload()
    expect(titles(page)).to_have_count(2)

    page.get_by_role("button", name="Account: ann").click()
    dialog = page.get_by_role("dialog", name="Account")
    dialog.get_by_role("button", name="Show again: Gadgets").click()
    dialog.get_by_role("button", name="Show again: Science (category)").click()
    expect(dialog.locator("#hidden-list li")).to_have_count(0)
    expect(titles(page)).to_have_count(4)
    expect(chip_count(page, "Tech")).to_have_text("3 unread")
    expect(page.locator("#categories label.chip", has_text="Science")).to_have_count(1)
