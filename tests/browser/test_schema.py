"""The API documentation page works without internet: every request it makes
goes to feedhub itself, it runs under the pages' CSP, and it shows the live stream."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.harness import FeedhubServer

pytestmark = pytest.mark.browser


def test_schema_page_renders_offline(page, feedhub: FeedhubServer) -> None:
    elsewhere: list[str] = []

    def only_feedhub(route) -> None:  # type: ignore[no-untyped-def]
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_feedhub)
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.goto(feedhub.base_url + "/schema")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("feedhub")
    stream = page.locator("#operations-default-Stream")
    expect(stream).to_be_visible()
    stream.locator(".opblock-summary").first.click()
    expect(stream).to_contain_text("text/event-stream")
    expect(stream).to_contain_text("Last-Event-ID")
    assert elsewhere == []
    assert violations == []  # it runs under the pages' CSP (no inline script)
