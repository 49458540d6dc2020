"""The live stream of a reader who hid a feed carries none of its articles, live or
replayed; everybody else's stream carries them (a real `feedhub serve`, raw sockets)."""

from __future__ import annotations

import httpx
import pytest

from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess
from tests.support.sse import Event, RawStream

PASSWORD = "stream pass"


def _sign_in_and_hide(server: ServerProcess, feed_id: object) -> dict[str, str]:
    """ann's cookie, once she has hidden the feed."""
    r = httpx.post(f"{server.url}/api/session", json={"name": "ann", "password": PASSWORD})
    cookie = {"Cookie": f"feedhub_session={r.cookies['feedhub_session']}"}
    r = httpx.put(
        f"{server.url}/api/me/hidden/feeds/{feed_id}",
        headers={**cookie, "X-CSRF-Token": r.json()["csrf_token"]},
    )
    assert r.status_code == 200, r.text
    return cookie


async def _articles_until(stream: RawStream, last: int) -> list[int]:
    """The article ids the stream sends up to and including `last`."""
    seen: list[int] = []
    while last not in seen:
        event: Event | None = await stream.next_event(within=10)
        assert event is not None, f"no article {last} (saw {seen})"
        if event.event == "article":
            seen.append(int(event.json()["id"]))
    return seen


@pytest.mark.slow
async def test_a_hidden_feed_is_not_streamed_to_that_reader(
    server_factory: type[ServerProcess], feed_server: FeedServer
) -> None:
    server = server_factory(env={"FEEDHUB_SCHEDULER": "off"}).start()
    server.add_category("Tech")
    feed_server.set("/shown.xml", rss([{"guid": "s0", "title": "S0"}]))
    feed_server.set("/hidden.xml", rss([{"guid": "h0", "title": "H0"}]))
    shown = server.add_feed(feed_server.url("/shown.xml"), "tech")
    concealed = server.add_feed(feed_server.url("/hidden.xml"), "tech")
    for feed in (shown, concealed):
        server.refresh(feed["id"])
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": PASSWORD})
        assert r.status_code == 201
        before = {a["feed_id"]: a["id"] for a in admin.get("/api/articles").json()}
    cookie = _sign_in_and_hide(server, concealed["id"])

    ann = await RawStream.open(f"{server.url}/api/stream", cookie)
    anonymous = await RawStream.open(f"{server.url}/api/stream")
    try:
        for stream in (ann, anonymous):
            hello = await stream.next_event()
            assert hello is not None and hello.event == "hello"
        # New articles: the hidden feed's between two of the shown feed's.
        feed_server.set("/shown.xml", rss([{"guid": f"s{i}", "title": f"S{i}"} for i in range(2)]))
        server.refresh(shown["id"])
        feed_server.set("/hidden.xml", rss([{"guid": f"h{i}", "title": f"H{i}"} for i in range(2)]))
        server.refresh(concealed["id"])
        feed_server.set("/shown.xml", rss([{"guid": f"s{i}", "title": f"S{i}"} for i in range(3)]))
        server.refresh(shown["id"])
        with server.admin() as admin:
            new = [a for a in admin.get("/api/articles").json() if a["id"] > max(before.values())]
        by_feed = {a["id"]: a["feed_id"] for a in new}
        assert sorted(by_feed.values()) == sorted([shown["id"], concealed["id"], shown["id"]])
        last = max(by_feed)
        assert await _articles_until(anonymous, last) == sorted(by_feed)
        assert await _articles_until(ann, last) == sorted(
            i for i, feed in by_feed.items() if feed == shown["id"]
        )
    finally:
        for stream in (ann, anonymous):
            await stream.close()

    # A resume replays from the database without the hidden feed's articles too.
    resumed = await RawStream.open(f"{server.url}/api/stream", {**cookie, "Last-Event-ID": "0"})
    try:
        replayed = await _articles_until(resumed, last)
        assert before[concealed["id"]] not in replayed and before[shown["id"]] in replayed
        assert all(by_feed.get(i, shown["id"]) == shown["id"] for i in replayed)
    finally:
        await resumed.close()
