"""Bulk OPML import as a background job that can be watched and
cancelled; a request imports small documents only; every document is capped.

In-process app on a real SQLite file and on PostgreSQL; the feeds point at loopback and are
not fetched (the scheduler is off), so the import itself is what is timed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from feedhub.core.config import Settings
from feedhub.service.app import create_app
from tests.conftest import BOTH_DATABASES
from tests.support.dbsnap import table_rows

pytestmark = BOTH_DATABASES

AUTH = {"Authorization": "Bearer test-token"}


def opml(n: int, start: int = 0) -> bytes:
    outlines = "".join(
        f'<outline type="rss" text="Feed {i}" xmlUrl="http://127.0.0.1:9/feed/{i}.xml"/>'
        for i in range(start, start + n)
    )
    return (
        f'<?xml version="1.0"?><opml version="2.0"><head/><body>'
        f'<outline text="Bulk">{outlines}</outline></body></opml>'
    ).encode()


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    small = settings.with_(opml_sync_max_feeds=20, opml_max_feeds=3000)
    async with AsyncTestClient(app=create_app(small), timeout=30) as c:
        yield c


async def feed_count(settings: Settings) -> int:
    return len(await table_rows(settings.database_url, "feed"))


async def wait_for(client: AsyncTestClient[Any], job_id: str, check: Any) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        r = await client.get(f"/api/admin/opml/jobs/{job_id}", headers=AUTH)
        assert r.status_code == 200, r.text
        job = r.json()
        if check(job) or time.monotonic() > deadline:
            return dict(job)
        await asyncio.sleep(0.05)


async def test_a_large_import_is_a_job_that_can_be_watched_and_cancelled(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    r = await client.post("/api/admin/opml", content=opml(21), headers=AUTH)
    assert r.status_code == 422 and "/api/admin/opml/jobs" in r.json()["detail"]
    assert await feed_count(settings) == 0  # refused before creating anything

    r = await client.post("/api/admin/opml/jobs", content=opml(3000), headers=AUTH)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "running" and job["total"] == 3000
    # Progress moves while the job runs...
    job = await wait_for(client, job["id"], lambda j: j["done"] >= 20)
    assert job["status"] == "running" and 20 <= job["done"] < 3000, job
    # ...one job at a time...
    busy = await client.post("/api/admin/opml/jobs", content=opml(5), headers=AUTH)
    assert busy.status_code == 409
    # ...and a cancel stops it: the feeds made so far stay, no more are made.
    r = await client.delete(f"/api/admin/opml/jobs/{job['id']}", headers=AUTH)
    assert r.status_code == 200, r.text
    cancelled = r.json()
    assert cancelled["status"] == "cancelled" and cancelled["finished_at"]
    made = await feed_count(settings)
    assert 20 <= made < 3000 and made in (cancelled["done"], cancelled["done"] + 1)
    await asyncio.sleep(0.3)
    assert await feed_count(settings) == made

    # A smaller job runs to the end with its report; the cancelled feeds are "existing".
    r = await client.post("/api/admin/opml/jobs", content=opml(made + 10), headers=AUTH)
    assert r.status_code == 202
    done = await wait_for(client, r.json()["id"], lambda j: j["status"] != "running")
    assert done["status"] == "done" and done["done"] == made + 10
    assert done["report"]["created"] == 10 and done["report"]["existing"] == made


async def test_every_document_is_capped_and_unknown_jobs_are_404(
    client: AsyncTestClient[Any], settings: Settings
) -> None:
    r = await client.post("/api/admin/opml/jobs", content=opml(3001), headers=AUTH)
    assert r.status_code == 422 and "at most 3000" in r.json()["detail"]
    r = await client.post("/api/admin/opml/jobs", content=b"<html/>", headers=AUTH)
    assert r.status_code == 422
    assert await feed_count(settings) == 0
    for method in ("GET", "DELETE"):
        r = await client.request(method, "/api/admin/opml/jobs/nope", headers=AUTH)
        assert r.status_code == 404 and r.json()["detail"]
    r = await client.get("/api/admin/opml/jobs/nope")
    assert r.status_code == 401
    # Small documents still answer in the request, as before.
    r = await client.post("/api/admin/opml", content=opml(20), headers=AUTH)
    assert r.status_code == 200 and r.json()["created"] == 20
