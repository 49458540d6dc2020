"""Fixtures for the browser tests: Chromium, a feed server and a feedhub server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import CHROMIUM, FeedhubServer, launch_chromium
from tests.support.feedserver import FeedServer


# Module scope, not session: playwright's sync API keeps an event loop running in the main
# thread while it is open, and the async tests that follow need that thread's loop free.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        reason = f"chromium not installed at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("the playwright package is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    yield context
    context.close()


@pytest.fixture
def page(context: Any) -> Iterator[Any]:
    """A page whose uncaught script errors fail the test."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    assert not errors, f"script errors on the page: {errors}"


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def feedhub(
    tmp_path: Path, db_backend: str, request: pytest.FixtureRequest
) -> Iterator[FeedhubServer]:
    """On SQLite; a module marked `both_databases` runs again on PostgreSQL. A test marked
    `feedhub_env(NAME="value", ...)` gets those settings from the start: no restart."""
    env = {}
    data_dir = tmp_path / "feedhub"
    if db_backend == "postgresql":
        env["FEEDHUB_DATABASE_URL"] = str(request.getfixturevalue("pg_url"))
    else:  # a copy of the migrated template: the server starts without running Alembic
        data_dir.mkdir()
        shutil.copyfile(request.getfixturevalue("sqlite_template"), data_dir / "feedhub.db")
    for marker in request.node.iter_markers("feedhub_env"):
        env = {**marker.kwargs, **env}  # the closest marker wins
    server = FeedhubServer(data_dir, extra_env=env)
    try:
        yield server.start()
    finally:
        server.stop()
