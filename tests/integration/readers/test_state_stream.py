"""A state change made through one session arrives as `event: state` on another session's
stream (a real `feedhub serve`, raw sockets): no `id:` line, only the user's own streams."""

from __future__ import annotations

import httpx
import pytest

from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess
from tests.support.sse import RawStream

PASSWORD = "stream pass"


def _sign_in(server: ServerProcess, name: str) -> tuple[str, str]:
    r = httpx.post(f"{server.url}/api/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return r.cookies["feedhub_session"], r.json()["csrf_token"]


@pytest.mark.slow
async def test_state_change_reaches_the_users_other_streams(
    server_factory: type[ServerProcess], feed_server: FeedServer
) -> None:
    feed_server.set("/f.xml", rss([{"guid": f"g{i}", "title": f"T{i}"} for i in range(3)]))
    server = server_factory(env={"FEEDHUB_SCHEDULER": "off"}).start()
    server.add_category("Tech")
    feed = server.add_feed(feed_server.url("/f.xml"), "tech")
    assert server.refresh(feed["id"])["new_articles"] == 3
    with server.admin() as admin:
        for name in ("ann", "bob"):
            r = admin.post("/api/admin/users", json={"name": name, "password": PASSWORD})
            assert r.status_code == 201
        ids = sorted(a["id"] for a in admin.get("/api/articles").json())
    browser_cookie, _ = _sign_in(server, "ann")
    laptop_cookie, laptop_csrf = _sign_in(server, "ann")
    bob_cookie, _ = _sign_in(server, "bob")

    def cookie(value: str) -> dict[str, str]:
        return {"Cookie": f"feedhub_session={value}"}

    browser = await RawStream.open(f"{server.url}/api/stream", cookie(browser_cookie))
    bob = await RawStream.open(f"{server.url}/api/stream", cookie(bob_cookie))
    anonymous = await RawStream.open(f"{server.url}/api/stream")
    try:
        for stream in (browser, bob, anonymous):
            hello = await stream.next_event()
            assert hello is not None and hello.event == "hello"
        async with httpx.AsyncClient(
            base_url=server.url, cookies={"feedhub_session": laptop_cookie}
        ) as c:
            r = await c.post(
                "/api/me/state",
                json={"read": ids[:2], "starred": [ids[2]]},
                headers={"X-CSRF-Token": laptop_csrf},
            )
            assert r.status_code == 200, r.text
        event = await browser.next_event(within=5)
        assert event is not None and event.event == "state"
        assert event.id is None  # it does not move the resume point
        block = browser.body.split(b"event: state")[0].rsplit(b"\n\n", 1)[-1]
        assert b"id:" not in block
        assert event.json() == {
            "read": ids[:2], "unread": [], "starred": [ids[2]], "unstarred": [], "all_read": None
        }  # fmt: skip
        # An app through the Google Reader API: the browser hears that too.
        app = httpx.AsyncClient(base_url=server.url)
        login = await app.post("/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD})
        auth = {"Authorization": "GoogleLogin auth=" + login.text.split("Auth=")[1].split()[0]}
        r = await app.post(
            "/reader/api/0/edit-tag", headers=auth,
            data={"i": str(ids[0]), "r": "user/-/state/com.google/read"},
        )  # fmt: skip
        assert r.text == "OK"
        event = await browser.next_event(within=5)
        assert event is not None and event.event == "state"
        assert event.json()["unread"] == [ids[0]]
        r = await app.post(
            "/reader/api/0/mark-all-as-read", headers=auth,
            data={"s": "user/-/label/Tech"},
        )  # fmt: skip
        event = await browser.next_event(within=5)
        assert event is not None and event.json()["all_read"] == {
            "category": "tech", "feed_id": None, "upto_id": ids[2]
        }  # fmt: skip
        await app.aclose()
        # Nobody else hears any of it.
        assert await bob.expect_quiet(1.0) == []
        assert await anonymous.expect_quiet(0.2) == []
    finally:
        for stream in (browser, bob, anonymous):
            await stream.close()
