"""A reader's state change made through one `feedhub serve` reaches their stream on another:
two real processes on PostgreSQL, over the Redis bus and then the
PostgreSQL bus. Only that user's streams hear it, on every process."""

from __future__ import annotations

import httpx

from tests.support.cluster import cluster_env
from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess
from tests.support.sse import RawStream

PASSWORD = "across processes"


async def test_state_change_reaches_the_users_stream_on_another_process(
    server_factory: type[ServerProcess], feed_server: FeedServer, pg_url: str, bus_url: str
) -> None:
    env = cluster_env(pg_url, bus_url, FEEDHUB_SCHEDULER="off")
    here, there = server_factory(env=env).start(), server_factory(env=env).start()
    here.add_category("Tech")
    feed_server.set("/f.xml", rss([{"guid": f"g{i}", "title": f"T{i}"} for i in range(3)]))
    assert here.refresh(here.add_feed(feed_server.url("/f.xml"), "tech")["id"])["new_articles"]
    with here.admin() as admin:
        for name in ("ann", "bob"):
            r = admin.post("/api/admin/users", json={"name": name, "password": PASSWORD})
            assert r.status_code == 201, r.text
        ids = sorted(a["id"] for a in admin.get("/api/articles").json())

    def sign_in(server: ServerProcess, name: str) -> tuple[dict[str, str], str]:
        r = httpx.post(f"{server.url}/api/session", json={"name": name, "password": PASSWORD})
        assert r.status_code == 200, r.text
        return {"feedhub_session": r.cookies["feedhub_session"]}, r.json()["csrf_token"]

    def cookie_header(cookies: dict[str, str]) -> dict[str, str]:
        return {"Cookie": f"feedhub_session={cookies['feedhub_session']}"}

    phone, phone_csrf = sign_in(here, "ann")
    laptop, _ = sign_in(there, "ann")
    bob, _ = sign_in(there, "bob")
    streams = {
        "ann there": await RawStream.open(f"{there.url}/api/stream", cookie_header(laptop)),
        "ann here": await RawStream.open(f"{here.url}/api/stream", cookie_header(laptop)),
        "bob there": await RawStream.open(f"{there.url}/api/stream", cookie_header(bob)),
    }
    try:
        for stream in streams.values():
            hello = await stream.next_event()
            assert hello is not None and hello.event == "hello"
        async with httpx.AsyncClient(base_url=here.url, cookies=phone) as client:
            r = await client.post(
                "/api/me/state", json={"read": ids[:2]}, headers={"X-CSRF-Token": phone_csrf}
            )
            assert r.status_code == 200, r.text
        for name in ("ann there", "ann here"):
            event = await streams[name].next_event(within=5)
            assert event is not None and event.event == "state", name
            assert event.id is None and event.json()["read"] == ids[:2], name
        assert await streams["bob there"].expect_quiet(1.0) == []
    finally:
        for stream in streams.values():
            await stream.close()
