"""Secrets in feed URLs stay private; one feed per normal URL.

In-process app (AsyncTestClient) with a real SQLite file and a real local feed server.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from feedhub.core.config import Settings
from feedhub.service.app import create_app
from tests.conftest import BOTH_DATABASES
from tests.support.feedserver import FeedServer, rss

pytestmark = BOTH_DATABASES

AUTH = {"Authorization": "Bearer test-token"}


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with AsyncTestClient(app=create_app(settings)) as c:
        r = await c.post("/api/admin/categories", json={"name": "Tech"}, headers=AUTH)
        assert r.status_code == 201
        yield c


async def test_no_secret_of_a_feed_url_in_any_public_answer_or_log_line(
    client: AsyncTestClient[Any], feed_server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    feed_server.set("/private/feed.xml?token=SECRET", rss([{"guid": "a", "title": "A"}], title=""))
    port = feed_server.url("/").split(":")[2].split("/")[0]
    url = f"http://alice:hunter2@127.0.0.1:{port}/private/feed.xml?token=SECRET"
    caplog.set_level(logging.INFO)  # FEEDHUB_LOG_LEVEL by default; httpx logs at INFO
    r = await client.post("/api/admin/feeds", json={"url": url, "category": "tech"}, headers=AUTH)
    assert r.status_code == 201, r.text
    feed_id = r.json()["id"]
    r = await client.post(f"/api/admin/feeds/{feed_id}/refresh", headers=AUTH)
    assert r.json()["new_articles"] == 1, r.text

    public = [
        await client.get("/api/articles"),
        await client.get("/api/articles?category=tech"),
        await client.get("/all/atom.xml"),
        await client.get("/categories/tech/feed.json"),
    ]
    articles = public[0].json()
    assert articles[0]["feed_title"] == f"127.0.0.1:{port}/private/feed.xml"
    for answer in public:
        assert answer.status_code == 200
        for secret in ("hunter2", "SECRET", "alice"):
            assert secret not in answer.text, (answer.url, secret, answer.text)
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert "/private/feed.xml" in logged  # the poll and the request were logged...
    for secret in ("hunter2", "SECRET"):
        leaks = [line for line in logged.splitlines() if secret in line]
        assert not leaks, leaks  # ...without the secrets


@pytest.mark.parametrize(
    "variant",
    [
        "HTTP://127.0.0.1:{port}/feed.xml",
        "http://127.0.0.1:{port}/feed.xml#latest",
        "http://127.0.0.1:{port}/./feed.xml",
        "http://127.0.0.1:{port}/x/../feed.xml",
        "http://127.0.0.1:{port}/feed.xml?",
    ],
)
async def test_a_feed_url_in_another_spelling_is_the_same_feed(
    client: AsyncTestClient[Any], feed_server: FeedServer, variant: str
) -> None:
    feed_server.set("/feed.xml", rss([{"guid": "a", "title": "A", "link": "http://e.com/a"}]))
    port = feed_server.url("/").split(":")[2].split("/")[0]
    first = f"http://127.0.0.1:{port}/feed.xml"
    r = await client.post("/api/admin/feeds", json={"url": first, "category": "tech"}, headers=AUTH)
    assert r.status_code == 201 and r.json()["url"] == first
    again = variant.format(port=port)
    r = await client.post("/api/admin/feeds", json={"url": again, "category": "tech"}, headers=AUTH)
    assert r.status_code == 409, r.text
    r = await client.post("/api/admin/discover", json={"url": again}, headers=AUTH)
    assert r.status_code == 200 and r.json()[0]["subscribed"] is True, r.text
    assert len((await client.get("/api/admin/feeds", headers=AUTH)).json()) == 1
