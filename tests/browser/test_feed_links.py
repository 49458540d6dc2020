"""The page links its output feeds: every category's Atom and JSON Feed in the footer, in
public and private mode, and the signed-in reader's secret feed URL in the account dialog,
with a rotate that makes the old URL stop working."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.harness import item
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def _site(feeds, feedhub) -> None:
    feedhub.add_category("Tech", "tech")
    feedhub.add_category("Science", "science")
    feeds.set("/tech.xml", rss([item("t1", "Tech one")], title="Tech Daily"))
    feed = feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    feedhub.refresh(feed["id"])  # polled now (the article list is closed in private mode)
    feedhub.add_user("ann", PASSWORD)


def _footer_links(page) -> dict[str, str]:
    page.get_by_text("Subscribe in a feed reader").click()
    links = page.locator("#outfeeds-list a")
    expect(links).to_have_count(6)  # all, tech, science: Atom and JSON Feed each
    return {
        str(links.nth(i).get_attribute("aria-label")): str(links.nth(i).get_attribute("href"))
        for i in range(6)
    }


def test_public_mode_links_each_category_feed(page, feeds, feedhub):
    _site(feeds, feedhub)
    page.goto(feedhub.base_url + "/")
    links = _footer_links(page)
    assert links["Tech as Atom"] == f"{feedhub.base_url}/categories/tech/atom.xml"
    assert links["Science as JSON Feed"] == f"{feedhub.base_url}/categories/science/feed.json"
    assert "Tech one" in httpx.get(links["Tech as Atom"]).text
    assert httpx.get(links["All categories as JSON Feed"]).json()["items"]


def test_private_mode_shows_the_secret_feed_url_and_rotates_it(page, feeds, feedhub):
    feedhub.stop()
    feedhub.extra_env["FEEDHUB_READING"] = "private"
    feedhub.start()
    _site(feeds, feedhub)
    page.goto(feedhub.base_url + "/")
    page.get_by_label("Name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(feedhub.base_url + "/")

    # The footer's links carry the key: they work without a session.
    links = _footer_links(page)
    tech = links["Tech as Atom"]
    assert re.fullmatch(rf"{re.escape(feedhub.base_url)}/categories/tech/atom\.xml\?key=\S+", tech)
    assert "Tech one" in httpx.get(tech).text

    page.get_by_role("button", name="Account: ann").click()
    dialog = page.get_by_role("dialog", name="Account")
    secret = dialog.get_by_label("Your secret feed URL")
    expect(secret).to_have_value(re.compile(r"/all/atom\.xml\?key=\S+$"))
    old = secret.input_value()
    assert "Tech one" in httpx.get(old).text
    assert httpx.get(f"{feedhub.base_url}/all/atom.xml").status_code == 401

    page.once("dialog", lambda confirm: confirm.accept())
    dialog.get_by_role("button", name="New secret URL").click()
    expect(secret).not_to_have_value(old)
    new = secret.input_value()
    assert httpx.get(old).status_code == 401
    assert "Tech one" in httpx.get(new).text
    # The footer follows the new key.
    key = new.split("?key=", 1)[1]
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("#outfeeds-list a").first).to_have_attribute(
        "href", re.compile(rf"\?key={re.escape(key)}$")
    )
