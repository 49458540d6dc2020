"""The admin page adds a feed with a valid token, refuses a wrong one, and
lists feed health."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.harness import item
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser


def test_admin_page_manages_feeds_and_shows_health(page, feeds, feedhub):
    feedhub.add_category("Tech", "tech")
    feeds.set(
        "/alpha.xml", rss([item("a1", "Alpha one"), item("a2", "Alpha two")], title="Alpha Feed")
    )

    page.goto(feedhub.base_url + "/admin")
    error = page.locator("#error")
    notice = page.locator("#notice")
    panel = page.locator("#admin-panel")

    page.get_by_label("Admin token").fill("not-the-token")
    page.get_by_role("button", name="Sign in").click()
    expect(error).to_be_visible()
    expect(error).to_contain_text("refused")
    expect(panel).to_be_hidden()

    page.get_by_label("Admin token").fill(feedhub.token)
    page.get_by_role("button", name="Sign in").click()
    expect(panel).to_be_visible()
    expect(error).to_be_hidden()
    expect(page.locator("#feeds-empty")).to_be_visible()

    # Add a feed through the form.
    page.get_by_label("Feed or site URL").fill(feeds.url("/alpha.xml"))
    page.get_by_label("Category", exact=True).select_option("tech")
    page.get_by_role("button", name="Add feed").click()
    expect(notice).to_contain_text("Added")
    rows = page.locator("#feeds tbody tr")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row).to_contain_text(feeds.url("/alpha.xml"))

    # Health after a poll: status, last poll, article count.
    row.get_by_role("button", name=re.compile("^Refresh")).click()
    expect(notice).to_contain_text("Refreshed")
    expect(row.locator("td[data-label=Articles]")).to_have_text("2")
    expect(row).to_have_attribute("data-health", "ok")
    expect(row.locator("td[data-label='Last poll'] time")).to_have_text(
        re.compile("now|second|minute")
    )
    # The schedule says why: the wait since the last poll and its reason, explained.
    reason = row.locator("td[data-label='Next poll'] .poll-reason")
    expect(reason).to_have_text(re.compile(r"^every [\d.]+ (s|min|h) · adaptive$"))
    expect(reason).to_have_attribute("title", re.compile("how often the feed publishes"))

    # A failing feed shows its error.
    feeds.set("/alpha.xml", "gone", status=500, headers={"Content-Type": "text/plain"})
    row.get_by_role("button", name=re.compile("^Refresh")).click()
    expect(row).to_have_attribute("data-health", "error")
    expect(row.locator(".feed-error")).not_to_be_empty()
    expect(reason).to_contain_text("backoff")

    # API errors are shown in words: the same URL twice is a conflict.
    page.get_by_label("Feed or site URL").fill(feeds.url("/alpha.xml"))
    page.get_by_role("button", name="Add feed").click()
    expect(error).to_be_visible()
    assert len(error.inner_text().strip()) > 10
    expect(rows).to_have_count(1)

    # Add a category; it becomes a choice for new feeds.
    page.get_by_label("Name", exact=True).fill("Science")
    page.get_by_role("button", name="Add category").click()
    expect(notice).to_contain_text("Science")
    expect(page.locator("#category-list li[data-slug=science]")).to_be_visible()
    expect(page.locator("#feed-category option[value=science]")).to_have_count(1)

    # The token is kept for the tab: a reload stays signed in.
    page.reload()
    expect(panel).to_be_visible()
    expect(rows).to_have_count(1)

    # Delete the feed (after the confirmation dialog).
    page.once("dialog", lambda dialog: dialog.accept())
    rows.first.get_by_role("button", name=re.compile("^Delete")).click()
    expect(rows).to_have_count(0)
    expect(notice).to_contain_text("Deleted")
