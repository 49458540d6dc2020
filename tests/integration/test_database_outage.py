"""A database outage under a running `feedhub serve` is a 503 with `Retry-After` and a JSON
`detail`, for anonymous reads and while identifying a caller alike; logged in one line, not
a traceback per request; and the service answers again once the database is back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.pgserver import PgServer, throwaway_cluster
from tests.support.server import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def own_pg() -> Iterator[PgServer]:
    """A cluster of this test's own: stopping the shared one would fail other tests."""
    with throwaway_cluster() as server:
        yield server


def test_a_database_outage_is_a_503_and_passes(
    own_pg: PgServer, server_factory: type[ServerProcess]
) -> None:
    env = {"FEEDHUB_DATABASE_URL": own_pg.url(), "FEEDHUB_TICK_SECONDS": "3600"}
    server = server_factory(env=env).start()
    probes = [
        ("/api/articles", {}),
        ("/api/articles", {"Cookie": "feedhub_session=not-a-session"}),
        ("/reader/api/0/user-info", {"Authorization": "GoogleLogin auth=not-a-token"}),
    ]
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert client.get("/api/articles").status_code == 200
        own_pg.pause()
        for path, headers in probes * 3:
            r = client.get(path, headers=headers)
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert r.headers["retry-after"].isdigit()
            assert "database is unavailable" in r.json()["detail"]
        # A stream naming a category the hub has not seen reads the database: past the
        # hub's memory of misses, that read fails and is answered the same way.
        deadline = time.monotonic() + 30
        for attempt in range(10_000):
            r = client.get("/api/stream", params={"category": f"unseen-{attempt}"})
            if r.status_code != 404:
                break
            assert time.monotonic() < deadline, "the stream never read the database"
            time.sleep(0.2)
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"].isdigit()
        assert "database is unavailable" in r.json()["detail"]
        log = server.log()
        assert "Traceback" not in log, log[-5000:]
        assert log.count("database unavailable") == 1, log[-5000:]
        assert log.count("stream refused: the database is unavailable") == 1, log[-5000:]
        own_pg.resume()
        deadline = time.monotonic() + 30
        while (r := client.get("/api/articles")).status_code != 200:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.2)
