"""An admin signed in on the reading page opens /admin without the token and manages
users there; a reader signed in the same way is still asked for the token."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.harness import sign_in_on_page

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"


def sign_in(page, feedhub, name: str) -> None:
    sign_in_on_page(page, feedhub.base_url, name, PASSWORD)
    expect(page.get_by_role("dialog", name="Sign in")).to_be_hidden()


def users(feedhub) -> dict[str, str]:
    return {u["name"]: u["role"] for u in feedhub.api("GET", "/api/admin/users")}


def test_a_signed_in_admin_manages_users_without_the_token(page, feedhub):
    feedhub.add_category("Tech", "tech")
    feedhub.add_user("root", PASSWORD, role="admin")
    feedhub.add_user("ann", PASSWORD)
    sign_in(page, feedhub, "root")

    page.goto(feedhub.base_url + "/admin")
    expect(page.locator("#admin-panel")).to_be_visible()
    expect(page.locator("#account")).to_contain_text("Signed in as root (admin)")
    expect(page.locator("#token-form")).to_be_hidden()
    rows = page.locator("#users tbody tr")
    expect(rows).to_have_count(2)

    # Add a reader; the cookie's CSRF token goes with every change.
    page.get_by_label("User name").fill("bob")
    page.get_by_role("textbox", name="Password").fill(PASSWORD)
    page.get_by_role("button", name="Add user").click()
    expect(page.locator("#notice")).to_contain_text("Added bob (reader)")
    expect(rows).to_have_count(3)
    assert users(feedhub)["bob"] == "reader"

    # Role, password, removal.
    page.get_by_role("button", name="Make bob an admin").click()
    expect(page.locator("#notice")).to_contain_text("bob is now an admin")
    assert users(feedhub)["bob"] == "admin"
    page.once("dialog", lambda dialog: dialog.accept("a brand new secret"))
    page.get_by_role("button", name="Reset the password of ann").click()
    expect(page.locator("#notice")).to_contain_text("new password for ann")
    signed = httpx.post(f"{feedhub.base_url}/api/session",
                        json={"name": "ann", "password": "a brand new secret"})  # fmt: skip
    assert signed.status_code == 200, signed.text
    # Ann's sessions: the admin sees the one just made and signs it out.
    ann_cookies = signed.cookies
    assert httpx.get(f"{feedhub.base_url}/api/me/sessions", cookies=ann_cookies).status_code == 200
    page.get_by_role("button", name="Sessions of ann").click()
    listed = page.get_by_role("list", name="Sessions of ann").locator("li")
    expect(listed).to_have_count(1)
    expect(listed.first).to_contain_text("Browser")
    listed.first.get_by_role("button", name="Sign out").click()
    expect(page.locator("#notice")).to_contain_text("Signed out one session of ann")
    expect(listed).to_have_text(["No sessions."])
    gone = httpx.get(f"{feedhub.base_url}/api/me/sessions", cookies=ann_cookies)
    assert gone.status_code == 401, gone.text
    page.get_by_role("button", name="Sessions of ann").click()  # closes the list
    expect(page.get_by_role("list", name="Sessions of ann")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove bob").click()
    expect(page.locator("#notice")).to_contain_text("Removed bob")
    assert set(users(feedhub)) == {"root", "ann"}
    # The signed-in admin cannot demote or remove themselves from here.
    expect(page.get_by_role("button", name="Remove root")).to_be_disabled()

    # The feeds work the same way: an admin action by cookie.
    page.get_by_label("Name", exact=True).fill("Science")
    page.get_by_role("button", name="Add category").click()
    expect(page.locator("#notice")).to_contain_text("Added category Science")


def test_a_signed_in_reader_is_still_asked_for_the_token(page, feedhub):
    feedhub.add_category("Tech", "tech")
    feedhub.add_user("ann", PASSWORD)
    sign_in(page, feedhub, "ann")
    page.goto(feedhub.base_url + "/admin")
    expect(page.get_by_label("Admin token")).to_be_visible()
    expect(page.locator("#admin-panel")).to_be_hidden()
    expect(page.locator("#account")).to_be_hidden()
