"""Signed-in reading on the readers API: sign in and out, sessions, unread counts
and the unread-only filter, mark read on open, stars and the starred view, mark-all with an
article arriving meanwhile, and a change in one browser appearing live in another."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.harness import STILL, Held, item, server_state, sign_in_on_page
from tests.conftest import BOTH_DATABASES
from tests.support.feedserver import rss

pytestmark = [pytest.mark.browser, BOTH_DATABASES]

PASSWORD = "correct horse battery"
TECH = [item("t1", "Tech one", minutes_ago=30), item("t2", "Tech two", minutes_ago=20),
        item("t3", "Tech three", minutes_ago=10)]  # fmt: skip
SCIENCE = [item("s1", "Science one", minutes_ago=25)]


@pytest.fixture
def site(feeds, feedhub):
    feedhub.add_category("Tech", "tech")
    feedhub.add_category("Science", "science")
    feeds.set("/tech.xml", rss(TECH, title="Tech Daily"))
    feeds.set("/science.xml", rss(SCIENCE, title="Science Weekly"))
    tech = feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    feedhub.add_feed(feeds.url("/science.xml"), "science")
    feedhub.wait_for_articles(4)
    feedhub.add_user("ann", PASSWORD)
    return tech


def titles(page):
    return page.locator("#articles > li.article .article-title")


def card(page, title: str):
    return page.locator("#articles > li.article", has_text=title)


def sign_in(page, feedhub, password: str = PASSWORD) -> None:
    sign_in_on_page(page, feedhub.base_url, "ann", password, refused=password != PASSWORD)


def chip_count(page, name: str):
    return page.locator("#categories label.chip", has_text=name).locator(".chip-count")


def test_sign_in_sessions_and_sign_out(page, site, feedhub):
    page.goto(feedhub.base_url + "/")
    expect(titles(page)).to_have_count(4)  # anonymous reading works as before
    expect(page.locator("#views")).to_be_hidden()

    sign_in(page, feedhub, password="wrong password")
    error = page.get_by_role("alert")
    expect(error).to_have_text("Wrong name or password.")
    page.get_by_role("dialog", name="Sign in").get_by_label("Password").fill(PASSWORD)
    page.get_by_role("dialog", name="Sign in").get_by_role("button", name="Sign in").click()
    account = page.get_by_role("button", name="Account: ann")
    expect(account).to_be_visible()
    expect(account).to_be_focused()
    expect(page.locator("#views")).to_be_visible()
    expect(chip_count(page, "Tech")).to_have_text("3 unread")
    cookie = next(c for c in page.context.cookies() if c["name"] == "feedhub_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    # Counts asked for just before the sign-out are answered only after it.
    counts = Held(page, "**/api/me/unread", "GET")
    page.keyboard.press("r")  # refresh: the list, and the counts
    counts.wait()

    # The account dialog lists the sessions; this one is marked as this device.
    account.click()
    dialog = page.get_by_role("dialog", name="Account")
    expect(dialog).to_contain_text("Signed in as ann")
    expect(dialog.locator("#sessions li")).to_have_count(1)
    expect(dialog.locator("#sessions li").first).to_contain_text("This device")
    dialog.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_focused()
    expect(page.locator("#views")).to_be_hidden()
    expect(chip_count(page, "Tech")).to_have_count(0)
    # The signed-in counts that arrive late are not drawn on the signed-out page.
    counts.release()
    expect(chip_count(page, "Tech")).to_have_count(0)
    old = httpx.get(f"{feedhub.base_url}/api/session", cookies={"feedhub_session": cookie["value"]})
    assert old.json()["user"] is None  # the session is gone on the server too

    # Signing in again survives a reload (the cookie), then another session is revoked.
    sign_in(page, feedhub)
    expect(page.get_by_role("button", name="Account: ann")).to_be_visible()
    page.reload()
    expect(page.get_by_role("button", name="Account: ann")).to_be_visible()
    other_context = page.context.browser.new_context(**STILL)
    try:
        other = other_context.new_page()
        sign_in(other, feedhub)
        expect(other.get_by_role("button", name="Account: ann")).to_be_visible()
        page.get_by_role("button", name="Account: ann").click()
        sessions = page.get_by_role("dialog", name="Account").locator("#sessions li")
        expect(sessions).to_have_count(2)
        sessions.filter(has_not_text="This device").get_by_role(
            "button", name=re.compile("^Revoke")
        ).click()
        expect(sessions).to_have_count(1)
        page.keyboard.press("Escape")
        # The revoked browser finds out at its next change, and says so.
        card(other, "Tech one").get_by_role("button", name=re.compile("^Mark read")).click()
        expect(other.get_by_role("button", name="Sign in")).to_be_visible()
        expect(other.locator("#list-message")).to_contain_text("You were signed out")
    finally:
        other_context.close()


def test_unread_counts_filter_and_mark_read_on_open(page, site, feedhub):
    sign_in(page, feedhub)
    expect(chip_count(page, "Tech")).to_have_text("3 unread")
    expect(chip_count(page, "Science")).to_have_text("1 unread")
    expect(page.locator("#unread-total")).to_have_text("4")

    # Opening an article marks it read, on the server too.
    card(page, "Tech two").get_by_role("button", name=re.compile("^Read")).click()
    expect(page.locator("#reading-title")).to_have_text("Tech two")
    expect(page.get_by_role("button", name="Mark unread")).to_be_visible()
    article_id = int(card(page, "Tech two").get_attribute("data-id"))
    page.keyboard.press("Escape")
    expect(card(page, "Tech two")).to_have_class(re.compile(r"\bis-read\b"))
    expect(chip_count(page, "Tech")).to_have_text("2 unread")
    assert server_state(feedhub, page, [article_id])["read"] == [article_id]

    # Unread only: the read one is not listed.
    page.get_by_role("button", name=re.compile("^Unread")).click()
    expect(titles(page)).to_have_text(["Tech three", "Science one", "Tech one"])
    expect(page.get_by_role("button", name=re.compile("^Unread"))).to_have_attribute(
        "aria-pressed", "true"
    )
    # Marking unread again with m brings it back into the unread list on refresh.
    page.get_by_role("button", name="All articles").click()
    expect(titles(page)).to_have_count(4)
    card(page, "Tech two").get_by_role("button", name=re.compile("^Mark unread")).click()
    expect(chip_count(page, "Tech")).to_have_text("3 unread")


def test_star_and_the_starred_view(page, site, feedhub):
    sign_in(page, feedhub)
    star = card(page, "Tech one").get_by_role("button", name=re.compile("^Star"))
    expect(star).to_have_attribute("aria-pressed", "false")
    star.click()
    expect(star).to_have_attribute("aria-pressed", "true")
    # s on the current card stars it too.
    card(page, "Science one").locator("article.card").focus()
    page.keyboard.press("s")
    expect(
        card(page, "Science one").get_by_role("button", name=re.compile("^Star"))
    ).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Starred").click()
    expect(titles(page)).to_have_text(["Science one", "Tech one"])
    # Unstar in the reading view.
    card(page, "Tech one").get_by_role("button", name=re.compile("^Read")).click()
    page.get_by_role("button", name="★ Starred").click()
    expect(page.locator("#reading-star")).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("Escape")
    page.keyboard.press("r")
    expect(titles(page)).to_have_text(["Science one"])


def test_mark_all_read_leaves_an_article_arriving_meanwhile_unread(page, site, feeds, feedhub):
    sign_in(page, feedhub)
    page.get_by_role("checkbox", name="Tech").check()
    expect(titles(page)).to_have_count(3)
    expect(page.locator("#status")).to_have_attribute("data-state", "live")

    # While the click's request is on its way, a new tech article is committed.
    def arrive_then_continue(route):
        feeds.set("/tech.xml", rss([item("t4", "Tech four"), *TECH], title="Tech Daily"))
        assert feedhub.refresh(site["id"])["new_articles"] == 1
        route.continue_()

    page.route("**/api/me/mark-all-read", arrive_then_continue)
    page.once("dialog", lambda confirm: confirm.accept())  # it asks first
    page.get_by_role("button", name="Mark all read").click()
    expect(titles(page).first).to_have_text("Tech four")  # it arrived live
    expect(card(page, "Tech one")).to_have_class(re.compile(r"\bis-read\b"))
    expect(card(page, "Tech three")).to_have_class(re.compile(r"\bis-read\b"))
    expect(card(page, "Tech four")).not_to_have_class(re.compile(r"\bis-read\b"))
    expect(chip_count(page, "Tech")).to_have_text("1 unread")
    expect(chip_count(page, "Science")).to_have_text("1 unread")  # another category: untouched
    new_id = int(card(page, "Tech four").get_attribute("data-id"))
    assert server_state(feedhub, page, [new_id])["read"] == []


def test_a_change_in_one_browser_appears_live_in_another(browser, site, feedhub):
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    desk = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        a, b = phone.new_page(), desk.new_page()
        for page in (a, b):
            sign_in(page, feedhub)
            expect(page.get_by_role("button", name="Account: ann")).to_be_visible()
            expect(page.locator("#status")).to_have_attribute("data-state", "live")
        b.evaluate("window.__sameDocument = true")

        card(a, "Tech one").get_by_role("button", name=re.compile("^Mark read")).click()
        expect(card(b, "Tech one")).to_have_class(re.compile(r"\bis-read\b"), timeout=5000)
        expect(chip_count(b, "Tech")).to_have_text("2 unread")

        card(a, "Science one").get_by_role("button", name=re.compile("^Star")).click()
        expect(
            card(b, "Science one").get_by_role("button", name=re.compile("^Star"))
        ).to_have_attribute("aria-pressed", "true", timeout=5000)
        # Mark all read on one: the other follows (cards and counts).
        a.once("dialog", lambda confirm: confirm.accept())
        a.get_by_role("button", name="Mark all read").click()
        expect(b.locator("#articles > li.article.is-read")).to_have_count(4, timeout=5000)
        expect(chip_count(b, "Tech")).to_have_count(0)
        expect(b.locator("#unread-total")).to_have_text("")
        assert b.evaluate("window.__sameDocument") is True
    finally:
        phone.close()
        desk.close()


@pytest.mark.feedhub_env(FEEDHUB_READING="private")
def test_private_mode_signs_in_on_its_page_and_out_to_it(page, feeds, feedhub):
    """FEEDHUB_READING=private: an anonymous visitor gets the sign-in page; signed in, the
    reader page works; signing out goes back to the sign-in page."""
    feedhub.add_category("Tech", "tech")
    feeds.set("/tech.xml", rss(TECH, title="Tech Daily"))
    feedhub.add_feed(feeds.url("/tech.xml"), "tech")
    feedhub.add_user("ann", PASSWORD)
    assert httpx.get(f"{feedhub.base_url}/api/articles").status_code == 401

    page.goto(feedhub.base_url + "/")
    expect(page).to_have_url(re.compile(r"/signin$"))
    page.get_by_label("Name").fill("ann")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(feedhub.base_url + "/")
    expect(titles(page)).to_have_count(3)
    expect(page.locator("#status")).to_have_attribute("data-state", "live")
    page.get_by_role("button", name="Account: ann").click()
    page.get_by_role("dialog", name="Account").get_by_role(
        "button", name="Sign out", exact=True
    ).click()
    expect(page).to_have_url(re.compile(r"/signin$"))
