"""The admin page with 1,000 feeds: find a feed by text, edit and move it, filter
by category and state, read errors (details behind a toggle), rename a category, export
and import OPML. The list is paged: at most 50 rows are in the page at once."""

from __future__ import annotations

import os
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.harness import FeedhubServer, item
from tests.support.feedserver import FeedServer, rss

pytestmark = pytest.mark.browser

FEEDS = 1000
RAW_ERROR = "not a feed: <unknown>:2:0: syntax error"
# `SCREENSHOTS_DIR=docs/screenshots pytest tests/browser/test_admin_lists.py` refreshes the
# admin screenshots of the docs; a normal run writes nothing into the repository.
SHOTS = Path(os.environ.get("SCREENSHOTS_DIR") or "/nonexistent")


# The feed the test looks for: polled a minute ago, healthy, not in topic-2 yet.
NEEDLE = 781


def _url(n: int) -> str:
    return f"http://127.0.0.1:9/feeds/{n}.xml"


def seed(db: Path) -> None:
    """1,000 feeds in ten categories, written straight into the database (adding them
    through the API would fetch each one). Their next poll is a day away: the scheduler
    leaves them alone. Every 20th is failing, every 7th was never polled. Their URLs are a
    closed port on loopback: nothing is ever looked up or fetched. The needle was polled a
    minute ago, so the 30-minute interval it is given below brings no poll during the test
    (a never-polled feed would be polled at once, and its failure made 51 failing feeds)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    stamp = lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")  # noqa: E731
    with sqlite3.connect(db) as conn:
        conn.executemany(
            "INSERT INTO category (id, slug, name) VALUES (?, ?, ?)",
            [(100 + c, f"topic-{c}", f"Topic {c}") for c in range(10)],
        )
        rows = []
        for n in range(FEEDS):
            title = "Needle Gazette" if n == NEEDLE else f"Feed number {n}"
            failing = n % 20 == 0
            polled = None if n % 7 == 0 else stamp(now - timedelta(minutes=n % 60))
            assert n != NEEDLE or (polled and n % 60 == 1 and n % 20 and n % 10 != 2)
            rows.append((
                _url(n), title, 100 + n % 10, stamp(now),
                stamp(now + timedelta(days=1)), polled, 1 if failing else 0,
                RAW_ERROR if failing else None, None if failing else 200,
            ))  # fmt: skip
        conn.executemany(
            "INSERT INTO feed (url, title, category_id, created_at, next_poll_at,"
            " last_polled_at, error_count, last_error, last_status, enabled)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
            rows,
        )


def shoot(page, name: str) -> None:
    """A screenshot for the docs, the feed list's heading at the top of the window."""
    if not SHOTS.is_dir():
        return
    page.evaluate(
        "window.scrollTo(0, document.querySelector('#feeds-heading').getBoundingClientRect()"
        ".top + window.scrollY - 70)"
    )
    page.screenshot(path=str(SHOTS / name))


def test_admin_page_with_a_thousand_feeds(
    page, feeds: FeedServer, feedhub: FeedhubServer, tmp_path: Path
) -> None:
    seed(feedhub.data_dir / "feedhub.db")
    page.goto(feedhub.base_url + "/admin")
    page.get_by_label("Admin token").fill(feedhub.token)
    page.get_by_role("button", name="Sign in").click()
    rows = page.locator("#feeds tbody tr")
    count = page.locator("#feeds-count")
    notice = page.locator("#notice")
    expect(count).to_have_text(f"Feeds 1–50 of {FEEDS}")
    expect(rows).to_have_count(50)
    page.get_by_role("button", name="Next").click()
    expect(count).to_have_text(f"Feeds 51–100 of {FEEDS}")
    expect(rows).to_have_count(50)

    # Find a feed by text.
    search = page.get_by_label("Search")
    search.fill("needle")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Needle Gazette")
    expect(count).to_contain_text("(1 match)")

    # Edit it: title, poll interval, and move it to another category.
    rows.first.get_by_role("button", name=re.compile("^Edit")).click()
    dialog = page.locator("#edit-feed")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Title").fill("Needle Times")
    dialog.get_by_label("Move to category").select_option("topic-2")
    dialog.get_by_label(re.compile("Poll every")).fill("30")
    dialog.get_by_role("button", name="Save").click()
    expect(notice).to_contain_text("Saved Needle Times (now in Topic 2)")
    feed = next(f for f in feedhub.api("GET", "/api/admin/feeds") if f["id"] == NEEDLE + 1)
    assert (feed["title"], feed["category"], feed["poll_interval"]) == (
        "Needle Times", "topic-2", 1800,
    )  # fmt: skip

    # Filter by category and state; errors read as sentences, raw text behind "details".
    search.fill("")
    page.get_by_label("In category").select_option("topic-2")
    expect(count).to_contain_text(f"of {FEEDS} (101 match)")
    page.get_by_label("In category").select_option("")
    page.get_by_label("State").select_option("failing")
    expect(count).to_contain_text("(50 match)")
    first = rows.first
    expect(first.locator("[data-health=error], td")).not_to_have_count(0)
    expect(first.locator(".feed-error")).to_contain_text("did not return a feed")
    raw = first.locator(".feed-error details code")
    expect(raw).to_be_hidden()
    first.locator(".feed-error details summary").click()
    expect(raw).to_have_text(RAW_ERROR)
    shoot(page, "admin-failing.png")
    page.get_by_label("State").select_option("")
    page.get_by_label("In category").select_option("topic-2")
    search.fill("needle")
    expect(rows).to_have_count(1)

    # Rename the category; its slug (and the feed's place) stays.
    page.locator("#category-list li[data-slug=topic-2]").get_by_role(
        "button", name=re.compile("^Rename")
    ).click()
    rename = page.locator("#rename-category")
    rename.get_by_label("New name").fill("Second")
    rename.get_by_role("button", name="Rename").click()
    expect(notice).to_contain_text("Renamed Topic 2 to Second")
    expect(rows.first.locator("td[data-label=Category]")).to_have_text("Second")
    names = {c["slug"]: c["name"] for c in feedhub.api("GET", "/api/categories")}
    assert names["topic-2"] == "Second"

    # Export every feed as OPML.
    with page.expect_download() as download:
        page.get_by_role("button", name="Export all feeds").click()
    exported = Path(download.value.path()).read_text()
    assert len(re.findall(r"xmlUrl=", exported)) == FEEDS
    assert 'text="Second"' in exported and "Needle Times" in exported

    # Import an OPML file: two new feeds, one already here, one invalid, all reported.
    feeds.set("/one.xml", rss([item("o1", "One")], title="One"))
    feeds.set("/two.xml", rss([item("t1", "Two")], title="Two"))
    opml = (
        '<?xml version="1.0"?><opml version="2.0"><head><title>mine</title></head><body>'
        f'<outline text="Imported"><outline text="One" xmlUrl="{feeds.url("/one.xml")}"/>'
        f'<outline text="Two" xmlUrl="{feeds.url("/two.xml")}"/>'
        f'<outline text="Old" xmlUrl="{_url(5)}"/>'
        '<outline text="Bad" xmlUrl="ftp://files.example.org/feed"/></outline></body></opml>'
    )
    page.locator("#opml-file").set_input_files(
        files=[{"name": "mine.opml", "mimeType": "text/x-opml", "buffer": opml.encode()}]
    )
    page.get_by_role("button", name="Import").click()
    report = page.locator("#opml-report")
    expect(report).to_contain_text("Imported: 2 new, 1 already here, 1 not imported.")
    expect(report.locator(".opml-invalid li")).to_have_count(1)
    expect(report.locator(".opml-invalid li")).to_contain_text("ftp://files.example.org/feed")
    search.fill("")
    page.get_by_label("In category").select_option("")
    expect(count).to_have_text(f"Feeds 1–50 of {FEEDS + 2}")
    shoot(page, "admin-list.png")
