"""Page fixes found by a day of use: Mark all read asks first; a link the sanitizer
emptied reads as text; private mode's sign-in returns to the address asked for."""

from __future__ import annotations

import re
from html import escape

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.harness import Held, item, server_state, sign_in_on_page
from tests.support.feedserver import rss

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def _tech(feeds, feedhub) -> dict:
    feedhub.add_category("Tech", "tech")
    body = (
        '<p>Before <a href="javascript:alert(1)">a dead link</a> and '
        '<a href="https://example.com/x">a live one</a>.</p>'
    )
    feeds.set("/tech.xml", rss([
        item("t1", "Tech one", minutes_ago=2),
        item("t2", "Tech two", minutes_ago=1, description=escape(body)),
    ], title="Tech Daily"))  # fmt: skip
    feed = feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    feedhub.refresh(feed["id"])
    feedhub.add_user("ann", PASSWORD)
    return feed


def test_mark_all_read_asks_first_and_a_dead_link_is_text(page, feeds, feedhub):
    _tech(feeds, feedhub)
    sign_in_on_page(page, feedhub.base_url, "ann", PASSWORD)
    unread = page.locator("#unread-total")
    expect(unread).to_have_text(re.compile("2"))

    asked: list[str] = []
    answers = [False, True]  # the first time: Cancel; the second: OK

    def answer(confirm) -> None:
        asked.append(confirm.message)
        confirm.accept() if answers[len(asked) - 1] else confirm.dismiss()

    page.on("dialog", answer)
    page.get_by_role("button", name="Mark all read").click()
    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#articles > li.article.is-read")).to_have_count(2)
    assert len(asked) == 2 and "as read" in asked[0], asked
    page.remove_listener("dialog", answer)

    # The reading view: the emptied link looks like the text around it, the live one not.
    two = page.locator("#articles > li.article", has_text="Tech two").get_attribute("data-id")
    page.goto(f"{feedhub.base_url}/#article/{two}")
    content = page.locator("#reading-content")
    expect(content).to_contain_text("a dead link")
    style = """(a) => { const s = getComputedStyle(a), p = getComputedStyle(a.parentElement);
                return [s.color === p.color, s.cursor]; }"""
    assert content.locator("a:not([href])").evaluate(style) == [True, "auto"]
    assert content.locator("a[href]").evaluate(style)[0] is False


def test_private_mode_sign_in_returns_to_the_address_asked_for(page, feeds, feedhub):
    feedhub.stop()
    feedhub.extra_env["FEEDHUB_READING"] = "private"
    feedhub.start()
    _tech(feeds, feedhub)
    r = httpx.get(f"{feedhub.base_url}/?category=tech", headers={"Accept": "text/html"})
    assert r.status_code == 303
    assert r.headers["location"] == "/signin?next=/%3Fcategory%3Dtech"
    page.goto(feedhub.base_url + "/?category=tech")
    expect(page).to_have_url(re.compile(r"/signin\?next="))
    page.get_by_label("Name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(feedhub.base_url + "/?category=tech")
    # Another site is never a place to return to.
    page.goto(feedhub.base_url + "/signin?next=//example.com/")
    page.get_by_label("Name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Home instead: "/", which the page turns into the category it remembers at once.
    home = re.compile("^" + re.escape(feedhub.base_url) + r"/(\?category=tech)?$")
    expect(page).to_have_url(home)


def test_on_a_phone_the_first_chip_keeps_clear_of_the_screen_edge(browser, feeds, feedhub):
    for name in ("Business", "Climate", "Culture", "Science", "Sport", "World"):
        feedhub.add_category(name, name.lower())
    _tech(feeds, feedhub)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(feedhub.base_url + "/")
        chips = page.locator("#categories .chip")
        expect(chips).to_have_count(8)  # All and seven categories
        expect(chips.first).to_have_text("All")
        expect(page.locator("#articles > li.article")).to_have_count(2)
        row = page.locator("#categories")
        row.evaluate("(r) => r.scrollBy(200, 0)")  # swipe along, then back to the start
        row.evaluate("(r) => r.scrollTo({left: 0})")
        page.wait_for_function(
            "() => { const s = document.querySelector('#categories').scrollLeft;"
            " return new Promise((done) => requestAnimationFrame(() => requestAnimationFrame("
            " () => done(document.querySelector('#categories').scrollLeft === s)))); }"
        )
        # Past the 1rem mask that fades the row's edge: the whole chip is readable.
        assert chips.first.bounding_box()["x"] >= 15
    finally:
        context.close()


def test_search_says_where_it_looks_and_keeps_its_query_in_the_url(page, feeds, feedhub):
    _tech(feeds, feedhub)
    feedhub.add_category("Science", "science")
    page.goto(feedhub.base_url + "/")
    search = page.locator("#search")
    expect(search).to_have_attribute("placeholder", "Search in all categories")
    page.get_by_role("checkbox", name="Tech").check()
    expect(search).to_have_attribute("placeholder", "Search in Tech")
    search.fill("two")
    search.press("Enter")
    expect(page).to_have_url(re.compile(r"[?&]q=two(&|$)"))
    expect(page).to_have_url(re.compile(r"[?&]category=tech(&|$)"))
    expect(page.locator("#articles > li.article")).to_have_count(1)
    # Reloaded (or shared), the address gives the same search.
    page.reload()
    expect(search).to_have_value("two")
    expect(page.locator("#articles > li.article")).to_have_count(1)
    expect(page.locator("#articles > li.article")).to_contain_text("Tech two")
    # The box's syntax: an exclusion, OR, a phrase; and its title says so.
    expect(search).to_have_attribute("title", re.compile(r'"a phrase", -word to exclude, a OR b'))
    for query, titles in [
        ("tech -two", ["Tech one"]),
        ("one OR two", ["Tech two", "Tech one"]),
        ('"tech one"', ["Tech one"]),
        ('"one tech"', []),
    ]:
        search.fill(query)
        search.press("Enter")
        expect(page.locator("#articles > li.article h2")).to_have_text(titles)
    search.fill("")
    search.press("Enter")
    expect(page).not_to_have_url(re.compile(r"[?&]q="))


def test_the_unread_view_drops_what_was_just_read(page, feeds, feedhub):
    _tech(feeds, feedhub)
    sign_in_on_page(page, feedhub.base_url, "ann", PASSWORD)
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    cards = page.locator("#articles > li.article")
    newest = cards.filter(has_text="Tech two")
    # Marked read while the unread list and its marks are on their way: the list was read
    # by the server before the mark, and so were the marks, though asked for after it; the
    # mark's answer lands first. Neither may undo the mark when it lands.
    before_the_mark = server_state(feedhub, page, [int(newest.get_attribute("data-id"))])
    listed = Held(page, "**/api/me/articles?*", "GET")
    page.get_by_role("button", name=re.compile("^Unread")).click()
    listed.wait()
    marked = Held(page, "**/api/me/state", "POST")
    newest.get_by_role("button", name=re.compile("^Mark read")).click()
    marked.wait()
    marks = Held(page, "**/api/me/state?*", "GET", answer=before_the_mark)
    listed.release()
    marks.wait()
    marked.release()
    marks.release()
    expect(page.locator("#articles")).to_have_attribute("aria-busy", "false")
    expect(cards).to_have_count(2)
    expect(newest).to_have_class(re.compile(r"\bis-read\b"))
    page.get_by_role("button", name="All articles").click()
    expect(cards).to_have_count(2)
    page.get_by_role("button", name=re.compile("^Unread")).click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Tech one")
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    expect(cards).to_have_count(1)  # the stream's catch-up did not bring it back
