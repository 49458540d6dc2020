"""The stream's `hello` never arrives (a proxy buffering the stream): the page says
"delayed" and polls `/api/articles?after=` instead."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import item
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser


def test_page_polls_when_the_stream_is_held_back(page, feeds, feedhub):
    feedhub.add_category("Tech", "tech")
    feeds.set("/tech.xml", rss([item("t1", "Tech one", minutes_ago=10)], title="Tech Daily"))
    feed = feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    feedhub.wait_for_articles(1)

    held = []
    # Never answered, like a proxy that buffers the whole stream.
    page.route("**/api/stream*", lambda route: held.append(route))
    page.clock.install()  # the page's timers: skip the hello timeout and the poll interval
    # The page arms its hello timeout as it opens the stream, after its first reads: skip
    # ahead only once the stream's request is out, or there is no timer yet to skip to.
    with page.expect_request("**/api/stream*"):
        page.goto(feedhub.base_url + "/?category=tech")
    status = page.locator("#status")
    expect(status).to_have_attribute("data-state", "connecting")
    page.clock.fast_forward(5_000)
    expect(status).to_have_attribute("data-state", "delayed")
    assert held, "the page did not open the stream"

    feeds.set(
        "/tech.xml",
        rss([item("t2", "Tech two"), item("t1", "Tech one", minutes_ago=10)], title="Tech Daily"),
    )
    assert feedhub.refresh(feed["id"])["new_articles"] == 1
    page.clock.fast_forward(11_000)
    titles = page.locator("#articles > li.article .article-title")
    expect(titles).to_have_text(["Tech two", "Tech one"])
    expect(page.locator("#articles > li.article").first).to_have_attribute("data-source", "catchup")
    expect(status).to_have_attribute("data-state", "delayed")
    for route in held:
        route.abort()
