"""The admin token never lands in a URL: with the page's script not (yet) running, Enter in
the token field submits nothing; the page carries its security headers
and runs under its Content-Security-Policy without a violation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_enter_in_the_token_field_without_script_sends_nothing(browser, feedhub):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        requests: list[str] = []
        page.on("request", lambda request: requests.append(request.url))
        page.goto(feedhub.base_url + "/admin")
        before = page.url
        page.locator("#token").fill("secret-token-value")
        page.locator("#token").press("Enter")
        page.wait_for_timeout(500)
        assert page.url == before
        assert not [url for url in requests if "secret-token-value" in url]
        assert all("?" not in url or "token" not in url for url in requests)
    finally:
        context.close()


def test_the_page_runs_under_its_security_policy(page, feedhub):
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    response = page.goto(feedhub.base_url + "/")
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    page.wait_for_load_state("networkidle")
    page.goto(feedhub.base_url + "/admin")
    page.wait_for_load_state("networkidle")
    assert not violations, violations
