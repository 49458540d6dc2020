"""The SSRF guard refuses internal addresses at connect time.

The guard sits in httpx's connection pool as the network backend; under it, the test puts
`LoopbackOnlyNetwork`, which records every address actually dialled and refuses (raises)
anything that is not loopback, so these tests can never send a packet to 10.0.0.1 or to
the cloud metadata address, even if the guard were broken. "Public" hosts are names the
test's resolver maps to a public address, which the test network plays with a local
FeedServer.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.core.errors import ValidationError
from feedhub.ingest import fetch, guard
from feedhub.ingest.feedstore import FeedStore
from feedhub.ingest.poller import Poller
from tests.conftest import RecordingPublisher
from tests.support.feedserver import FeedServer, rss
from tests.support.hostile import (
    LoopbackOnlyNetwork,
    V6FeedServer,
    add_feed,
    feed_row,
)

FEED = rss([{"guid": "g1", "link": "http://example.com/1", "title": "One"}])
PUBLIC_IP = "93.184.216.34"  # globally routable; only ever "dialled" through the fake network


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def v6_server() -> Iterator[V6FeedServer]:
    with V6FeedServer(FEED.encode()) as server:
        yield server


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch, feed_server: FeedServer) -> LoopbackOnlyNetwork:
    """Route every connection of the poller's client through the recording network."""
    net = LoopbackOnlyNetwork(
        aliases={
            PUBLIC_IP: "127.0.0.1",
            "public.example": "127.0.0.1",
            "rebound.example": "127.0.0.1",
            # Only with the guard off, to show it is the guard that stops these.
            "10.0.0.1": "127.0.0.1",
            "169.254.169.254": "127.0.0.1",
        }
    )
    backend = functools.partial(guard.GuardedBackend, inner=net)
    monkeypatch.setattr(fetch, "GuardedBackend", backend)

    real_resolve = guard._resolve

    async def resolve(host: str, port: int) -> list[str]:
        if host == "public.example":
            return [PUBLIC_IP]
        if host == "rebound.example":  # a name an attacker's DNS points at loopback
            return ["127.0.0.1"]
        return await real_resolve(host, port)

    monkeypatch.setattr(guard, "_resolve", resolve)
    return net


async def _poller(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    *,
    guard_on: bool,
) -> AsyncIterator[Poller]:
    async with Poller(
        settings.with_(allow_private_networks=not guard_on), FeedStore(sessions), publisher
    ) as poller:
        yield poller


def _internal_urls(feed_server: FeedServer, v6_server: V6FeedServer) -> dict[str, str]:
    port = feed_server.port
    return {
        "loopback": feed_server.url("/feed"),
        "private-10": f"http://10.0.0.1:{port}/feed",
        "metadata": f"http://169.254.169.254:{port}/feed",
        "ipv6-loopback": v6_server.url("/feed"),
        "localhost-name": feed_server.url("/feed", host="localhost"),
        "name-resolving-to-loopback": feed_server.url("/feed", host="rebound.example"),
    }


TARGETS = [
    "loopback", "private-10", "metadata", "ipv6-loopback", "localhost-name",
    "name-resolving-to-loopback",
]  # fmt: skip
REFUSED_ADDRESS = {
    "loopback": "127.0.0.1", "private-10": "10.0.0.1", "metadata": "169.254.169.254",
    "ipv6-loopback": "::1", "localhost-name": "127.0.0.1",
    "name-resolving-to-loopback": "127.0.0.1",
}  # fmt: skip


@pytest.mark.parametrize("target", TARGETS)
async def test_guard_on_refuses_internal_addresses_before_connecting(
    feed_server: FeedServer,
    v6_server: V6FeedServer,
    network: LoopbackOnlyNetwork,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    target: str,
) -> None:
    feed_server.set("/feed", FEED)
    url = _internal_urls(feed_server, v6_server)[target]
    # The admin API's check (answered with 422) refuses it already ...
    with pytest.raises(ValidationError, match="refused by the network guard"):
        await guard.check_feed_url(url, allow_private=False)
    # ... and a feed that got in anyway (added earlier, DNS changed since) is refused at
    # connect time, in words, without a single connection.
    feed_id = await add_feed(sessions, url)
    async for poller in _poller(settings, sessions, publisher, guard_on=True):
        outcome = await poller.poll_now(feed_id)
    assert outcome.status == "error"
    feed = await feed_row(sessions, feed_id)
    assert feed.last_error is not None
    assert feed.last_error.startswith("refused by the network guard: ")
    assert f"resolves to {REFUSED_ADDRESS[target]}, a private or internal address" in (
        feed.last_error
    )
    assert feed.enabled and feed.error_count == 1
    assert network.dialled == []
    assert feed_server.requests == [] and v6_server.requests == 0


@pytest.mark.parametrize("target", TARGETS)
async def test_guard_off_the_same_feeds_work(
    feed_server: FeedServer,
    v6_server: V6FeedServer,
    network: LoopbackOnlyNetwork,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    target: str,
) -> None:
    feed_server.set("/feed", FEED)
    url = _internal_urls(feed_server, v6_server)[target]
    assert await guard.check_feed_url(url, allow_private=True) == url
    feed_id = await add_feed(sessions, url)
    async for poller in _poller(settings, sessions, publisher, guard_on=False):
        outcome = await poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 1
    assert len(network.dialled) == 1
    assert len(feed_server.requests) + v6_server.requests == 1


@pytest.mark.parametrize(
    "location",
    ["http://127.0.0.1:{port}/secret", "http://[::1]:{port}/secret",
     "http://10.0.0.1:{port}/secret", "http://169.254.169.254/latest/meta-data/",
     "http://localhost:{port}/secret"],
)  # fmt: skip
async def test_public_url_redirecting_inside_is_refused(
    feed_server: FeedServer,
    network: LoopbackOnlyNetwork,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    location: str,
) -> None:
    """public.example passes every check (it resolves to a public address) and answers
    with a redirect to an internal one: the second hop is refused at connect time."""
    with FeedServer() as public:
        public.set(
            "/feed", status=302, headers={"Location": location.format(port=feed_server.port)}
        )
        feed_server.set("/secret", FEED)
        url = public.url("/feed", host="public.example")
        assert await guard.check_feed_url(url, allow_private=False) == url
        feed_id = await add_feed(sessions, url)
        async for poller in _poller(settings, sessions, publisher, guard_on=True):
            outcome = await poller.poll_now(feed_id)
        assert outcome.status == "error"
        feed = await feed_row(sessions, feed_id)
        assert (feed.last_error or "").startswith("refused by the network guard")
        assert len(public.requests_to("/feed")) == 1
    assert feed_server.requests == [], "the redirect target must not be reached"
    assert network.dialled == [(PUBLIC_IP, public.port)]


async def test_public_url_redirecting_to_loopback_works_with_the_guard_off(
    feed_server: FeedServer,
    network: LoopbackOnlyNetwork,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    with FeedServer() as public:
        public.set("/feed", status=302, headers={"Location": feed_server.url("/secret")})
        feed_server.set("/secret", FEED)
        feed_id = await add_feed(sessions, public.url("/feed", host="public.example"))
        async for poller in _poller(settings, sessions, publisher, guard_on=False):
            outcome = await poller.poll_now(feed_id)
    assert outcome.status == "ok" and len(outcome.new_articles) == 1
    assert len(feed_server.requests_to("/secret")) == 1


async def test_dns_rebinding_is_caught_at_connect_time(
    feed_server: FeedServer,
    network: LoopbackOnlyNetwork,
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
) -> None:
    """The name is public when the admin adds it, loopback when the poller connects."""
    answers = iter([[PUBLIC_IP], ["127.0.0.1"]])

    async def rebinding(host: str, port: int) -> list[str]:
        return next(answers)

    monkeypatch.setattr(guard, "_resolve", rebinding)
    feed_server.set("/feed", FEED)
    url = feed_server.url("/feed", host="rebind.example")
    assert await guard.check_feed_url(url, allow_private=False) == url
    feed_id = await add_feed(sessions, url)
    async for poller in _poller(settings, sessions, publisher, guard_on=True):
        await poller.poll_now(feed_id)
    feed = await feed_row(sessions, feed_id)
    assert "rebind.example resolves to 127.0.0.1" in (feed.last_error or "")
    assert network.dialled == [] and feed_server.requests == []


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://example.com/feed", "gopher://127.0.0.1:70/"]
)
async def test_only_http_and_https(
    network: LoopbackOnlyNetwork,
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    publisher: RecordingPublisher,
    url: str,
) -> None:
    with pytest.raises(ValidationError, match="not an http or https URL"):
        await guard.check_feed_url(url, allow_private=True)
    feed_id = await add_feed(sessions, url)
    async for poller in _poller(settings, sessions, publisher, guard_on=False):
        await poller.poll_now(feed_id)
    feed = await feed_row(sessions, feed_id)
    assert (feed.last_error or "").startswith("refused: only http and https URLs are fetched")
    assert network.dialled == []
