"""WebSub push against a hub the test runs (tests/support/websubhub.py) and a real
`feedhub serve`: discovery, verification of intent, denial, lease renewal, signed pushes
to an open stream, dropped forgeries, the body cap, unsubscription, push and poll
delivering an entry once, the unhealthy fallback, and a restart keeping subscriptions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.support.feedserver import FeedServer
from tests.support.ports import free_port
from tests.support.server import ServerProcess
from tests.support.sse import RawStream
from tests.support.websubhub import WebSubHub

# Real `feedhub serve` processes in every test: not in the quick loop.
pytestmark = pytest.mark.slow

FEED = "/feed.xml"


def item(n: int) -> str:
    return (
        f"<item><title>Story {n}</title><link>http://example.com/{n}</link>"
        f"<guid>story-{n}</guid><pubDate>Mon, 0{n} Jan 2024 10:00:00 GMT</pubDate></item>"
    )


def document(items: list[int], hub: str | None = None, self_url: str | None = None) -> str:
    links = ""
    if hub:
        links += f'<atom:link rel="hub" href="{hub}"/>'
    if self_url:
        links += f'<atom:link rel="self" href="{self_url}"/>'
    return (
        '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
        f"<channel><title>Pushed</title><link>http://example.com/</link>{links}"
        + "".join(item(n) for n in items)
        + "</channel></rss>"
    )


def wait_for(what: str, check: Callable[[], Any], within: float = 30.0) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {within}s: {what}")


@pytest.fixture
def hub() -> Iterator[WebSubHub]:
    with WebSubHub() as running:
        yield running


class Push:
    """A feedhub with push on (its public URL is its own loopback address), a feed server
    whose feed names `hub`, and the admin calls the tests need."""

    def __init__(
        self, factory: type[ServerProcess], feeds: FeedServer, hub: WebSubHub, **env: str
    ) -> None:
        port = free_port()
        self.server = factory(
            port=port,
            env={
                "FEEDHUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
                "FEEDHUB_WEBSUB_TICK_SECONDS": "0.3",
                "FEEDHUB_WEBSUB_RETRY_SECONDS": "0.5",
                **env,
            },
        )
        self.feeds, self.hub = feeds, hub
        self.topic = feeds.url(FEED)
        self.feed_id: object = None

    def start(self, items: list[int], poll_interval: int | None = None, **doc: Any) -> Push:
        self.feeds.set(FEED, document(items, **doc))
        self.server.start()
        self.server.add_category("News", "news")
        extra = {"poll_interval": poll_interval} if poll_interval else {}
        self.feed_id = self.server.add_feed(self.topic, "news", **extra)["id"]
        return self

    def feed(self) -> dict[str, Any]:
        with self.server.admin() as client:
            response = client.get(f"/api/admin/feeds/{self.feed_id}")
            response.raise_for_status()
            return dict(response.json())

    def push_state(self) -> dict[str, Any]:
        return dict(self.feed()["push"] or {})

    def titles(self) -> list[str]:
        response = httpx.get(f"{self.server.url}/api/articles?limit=100")
        return sorted(a["title"] for a in response.json())

    def subscribed(self) -> list[Any]:
        return wait_for("the hub verified a subscription", lambda: self.hub.subscribers(self.topic))


@pytest.fixture
def push(
    server_factory: type[ServerProcess], feed_server: FeedServer, hub: WebSubHub
) -> Callable[..., Push]:
    return lambda **env: Push(server_factory, feed_server, hub, **env)


async def test_hub_in_the_document_signed_push_reaches_an_open_stream_once(
    push: Callable[..., Push], hub: WebSubHub
) -> None:
    p = push().start([1], hub=hub.url, self_url=None)
    (sub,) = p.subscribed()
    assert sub.callback.startswith(f"{p.server.url}/websub/") and len(sub.secret) >= 32
    wait_for("verified in the admin API", lambda: p.push_state().get("state") == "verified")
    assert p.push_state()["hub"] == hub.url and p.push_state()["topic"] == p.topic

    stream = await RawStream.open(f"{p.server.url}/api/stream")
    try:
        assert (await stream.next_event()) is not None  # hello
        assert hub.publish(p.topic, document([1, 2]).encode()) == [202]
        (event,) = await stream.articles(1, within=20)
        assert event.json()["title"] == "Story 2"
    finally:
        await stream.close()
    state = p.push_state()
    assert (state["pushes_received"], state["pushes_rejected"], state["healthy"]) == (1, 0, True)

    # The poll sees the same entry: stored once, whichever way it came.
    p.feeds.set(FEED, document([1, 2], hub=hub.url))
    assert p.server.refresh(p.feed_id)["new_articles"] == 0
    assert p.titles() == ["Story 1", "Story 2"]


async def test_hub_from_link_headers_and_unsubscribe_on_delete(
    push: Callable[..., Push], hub: WebSubHub, feed_server: FeedServer
) -> None:
    canonical = feed_server.url("/canonical.xml")
    p = push()
    feed_server.set(
        FEED,
        document([1]),
        headers={"Link": f'<{hub.url}>; rel="hub", <{canonical}>; rel="self"'},
    )
    p.server.start()
    p.server.add_category("News", "news")
    p.feed_id = p.server.add_feed(p.topic, "news")["id"]
    p.topic = canonical  # the self link is the topic
    (sub,) = p.subscribed()
    with p.server.admin() as client:
        assert client.delete(f"/api/admin/feeds/{p.feed_id}").status_code == 204
    wait_for("unsubscribed", lambda: not hub.subscribers(canonical))
    (verification,) = hub.verified("unsubscribe")
    assert (verification.topic, verification.callback) == (canonical, sub.callback)


def test_a_disabled_feed_is_unsubscribed_and_subscribed_again_when_enabled(
    push: Callable[..., Push], hub: WebSubHub
) -> None:
    p = push().start([1], hub=hub.url)
    (first,) = p.subscribed()
    with p.server.admin() as client:
        client.patch(f"/api/admin/feeds/{p.feed_id}", json={"enabled": False}).raise_for_status()
        wait_for("unsubscribed", lambda: not hub.subscribers(p.topic))
        client.patch(f"/api/admin/feeds/{p.feed_id}", json={"enabled": True}).raise_for_status()
    (again,) = p.subscribed()  # the poll at once after enabling finds the hub again
    assert again.callback != first.callback


def test_verification_is_refused_for_what_feedhub_did_not_ask(
    push: Callable[..., Push], hub: WebSubHub
) -> None:
    p = push().start([1], hub=hub.url)
    (sub,) = p.subscribed()
    unknown = sub.callback[:-5] + "zzzzz"
    asks = [
        (sub.callback, {"hub.mode": "unsubscribe", "hub.topic": p.topic}),  # not asked
        (sub.callback, {"hub.mode": "subscribe", "hub.topic": p.topic}),  # already verified
        (sub.callback, {"hub.mode": "subscribe", "hub.topic": "http://other/"}),
        (unknown, {"hub.mode": "subscribe", "hub.topic": p.topic}),
        (f"{p.server.url}/websub/short", {"hub.mode": "subscribe", "hub.topic": p.topic}),
    ]
    for url, query in asks:
        response = httpx.get(url, params={**query, "hub.challenge": "c-123"})
        assert response.status_code in (400, 404), (url, query, response.text)
        assert "c-123" not in response.text
    assert httpx.get(sub.callback, params={"hub.lease_seconds": "x"}).status_code == 400
    assert p.push_state()["state"] == "verified"


def test_a_pushed_feed_may_be_as_large_as_a_polled_one(
    push: Callable[..., Push], hub: WebSubHub
) -> None:
    """Hubs push whole feed documents: the feed body cap applies, not the small limit of
    the API's own request bodies."""
    p = push().start([1], hub=hub.url)
    p.subscribed()
    large = document([1, 2]).replace("</channel>", "<!--" + "x" * 300_000 + "--></channel>")
    assert hub.publish(p.topic, large.encode()) == [202]
    assert p.titles() == ["Story 1", "Story 2"]


def test_wrong_and_missing_signatures_and_oversized_bodies_are_dropped(
    push: Callable[..., Push], hub: WebSubHub
) -> None:
    p = push(FEEDHUB_MAX_FEED_BYTES="4096").start([1], hub=hub.url)
    p.subscribed()
    forged = document([1, 3]).encode()
    assert hub.publish(p.topic, forged, secret="not-the-secret") == [202]
    assert hub.publish(p.topic, forged, sign=False) == [202]
    assert hub.publish(p.topic, forged, method="md5") == [202]
    huge = document([1, 4]).replace("</channel>", "<!--" + "x" * 5000 + "--></channel>")
    assert hub.publish(p.topic, huge.encode()) == [413]  # by the request guard, unread
    state = p.push_state()
    assert (state["pushes_received"], state["pushes_rejected"]) == (0, 3)
    assert p.titles() == ["Story 1"]
    # sha1 is still accepted (§8), and a good signature is taken.
    assert hub.publish(p.topic, document([1, 5]).encode(), method="sha1") == [202]
    assert p.titles() == ["Story 1", "Story 5"]
    metrics = httpx.get(f"{p.server.url}/metrics").text
    assert 'feedhub_websub_pushes_total{result="rejected"} 3.0' in metrics
    assert 'feedhub_websub_pushes_total{result="accepted"} 1.0' in metrics
    verified = 'feedhub_websub_subscriptions{state="verified"} 1.0'
    wait_for("the gauge", lambda: verified in httpx.get(f"{p.server.url}/metrics").text)


def test_a_denied_subscription_is_retried_with_a_new_callback(
    push: Callable[..., Push], hub: WebSubHub
) -> None:
    hub.deny = True
    p = push().start([1], hub=hub.url)
    wait_for("denied", lambda: p.push_state().get("state") == "denied")
    # The hub writes down its denial once feedhub's callback has answered it, which is after
    # feedhub has recorded the state.
    wait_for("the hub's record", lambda: [v.mode for v in hub.verifications][:1] == ["denied"])
    hub.deny = False
    (sub,) = p.subscribed()
    assert sub.callback != hub.verifications[0].callback  # a new unguessable path
    wait_for("verified", lambda: p.push_state().get("state") == "verified")


def test_a_short_lease_is_renewed_before_it_ends(push: Callable[..., Push], hub: WebSubHub) -> None:
    hub.lease_seconds = 6
    p = push().start([1], hub=hub.url)
    (first,) = p.subscribed()
    wait_for("a renewal", lambda: len(hub.verified("subscribe")) >= 2)
    (renewed,) = p.hub.subscribers(p.topic)
    assert renewed.callback == first.callback and renewed.secret == first.secret
    assert renewed.verified_at < first.verified_at + 6  # before the first lease ended
    assert p.push_state()["state"] == "verified"


def test_a_poll_finding_what_no_push_brought_returns_the_feed_to_its_schedule(
    push: Callable[..., Push], hub: WebSubHub
) -> None:
    p = push().start([1], hub=hub.url, poll_interval=600)  # normally every ten minutes
    p.subscribed()
    hub.publish(p.topic, document([1, 2]).encode())
    wait_for("healthy", lambda: p.push_state().get("healthy"))
    p.server.refresh(p.feed_id)
    polled_at = datetime.now(UTC)
    # Pushes arrive: polls are the safety net (FEEDHUB_PUSH_SAFETY_INTERVAL, 6 h).
    assert datetime.fromisoformat(p.feed()["next_poll_at"]) > polled_at + timedelta(hours=5)
    # The source publishes, the hub never pushes: the poll finds it.
    p.feeds.set(FEED, document([1, 2, 3], hub=hub.url))
    assert p.server.refresh(p.feed_id)["new_articles"] == 1
    state = p.push_state()
    assert state["healthy"] is False and "no push" in state["last_error"]
    assert datetime.fromisoformat(p.feed()["next_poll_at"]) < polled_at + timedelta(minutes=20)


async def test_a_restart_keeps_its_subscriptions(push: Callable[..., Push], hub: WebSubHub) -> None:
    p = push().start([1], hub=hub.url)
    p.subscribed()
    wait_for("verified", lambda: p.push_state().get("state") == "verified")
    asked = len(hub.requests)
    assert p.server.terminate() == 0
    p.server.start()
    p.server.refresh(p.feed_id)  # sees the same hub: nothing to ask it
    assert hub.publish(p.topic, document([1, 6]).encode()) == [202]
    assert p.titles() == ["Story 1", "Story 6"]
    assert len(hub.requests) == asked


def test_without_a_public_url_nothing_is_subscribed_and_the_admin_is_told(
    server_factory: type[ServerProcess], feed_server: FeedServer, hub: WebSubHub
) -> None:
    feed_server.set(FEED, document([1], hub=hub.url))
    server = server_factory().start()
    server.add_category("News", "news")
    feed_id = server.add_feed(feed_server.url(FEED), "news")["id"]
    server.refresh(feed_id)
    server.refresh(feed_id)
    with server.admin() as client:
        status = client.get("/api/admin/push").json()
        assert client.get(f"/api/admin/feeds/{feed_id}").json()["push"] is None
    assert status["enabled"] is False and "FEEDHUB_PUBLIC_URL" in status["status"]
    assert hub.requests == []
    assert server.log().count("push is off: set FEEDHUB_PUBLIC_URL") == 1
