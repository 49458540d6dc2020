"""The bus: a doorbell per committed batch of new articles, between processes.

The database is the source of truth; the bus only says "feed F of category C has new
articles with these ids". Each web process reads the rows once and fans the encoded events
out to its own subscribers (`feedhub.live.hub`). One channel per category,
`articles.<slug>`, and every doorbell also rings on `articles` (what the hubs listen to).

Backends are chosen by the scheme of FEEDHUB_BUS_URL in `open_bus` and nowhere else. A
backend is anything that satisfies `Bus`: `memory://` (Litestar Channels' memory backend,
one process), `redis://`/`rediss://` (Redis pub/sub) and `postgresql://` (LISTEN/NOTIFY),
the last two on transports of our own that reconnect (feedhub/live/transport.py). A
listener's messages include `RECONNECTED` after each (re)connection: pub/sub is at most
once, so the hub then reads the database for what it may have missed.

Besides doorbells a bus carries side channels (`Bus.topic`) on the same wire, for messages
that have no database read behind them to recover a loss (readers' state changes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Generic, Protocol, TypeVar

import msgspec
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.plugins import PluginProtocol

from feedhub.core import metrics
from feedhub.core.errors import ConfigError
from feedhub.ingest.doorbell import Doorbell, Publisher
from feedhub.live.transport import CHANNEL, Transport

__all__ = [
    "ALL_CHANNEL",
    "RECONNECTED",
    "Bus",
    "BusListener",
    "ChannelsBus",
    "Doorbell",
    "NullPublisher",
    "Publisher",
    "Topic",
    "TopicMember",
    "channel_name",
    "bus_kind",
    "open_bus",
]

log = logging.getLogger(__name__)

M = TypeVar("M", bound=msgspec.Struct)

CHANNEL_PREFIX = "articles."
# Every doorbell also rings here. The web processes' hubs listen to this one channel, so a
# category created by another process (the CLI, another web process) needs no new
# subscription before its first article can reach a no-category stream.
ALL_CHANNEL = "articles"


# Not a doorbell: a listener's mark that it has just (re)connected.
RECONNECTED = b""


def channel_name(category: str) -> str:
    return f"{CHANNEL_PREFIX}{category}"


class BusListener(Protocol):
    """The receiving side of one process: every doorbell, as encoded bytes, in order."""

    def messages(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


Unsubscribe = Callable[[], Awaitable[None]]


class Topic(Protocol):
    """A side channel of the bus, for small messages that are not doorbells (a reader's
    state changes, DESIGN.md "Readers"): every process hears them, at most once."""

    async def publish(self, payload: bytes) -> None: ...

    async def subscribe(self, on_message: Callable[[bytes], None]) -> Unsubscribe:
        """Returns once subscribed; the result undoes it (and closes what it opened)."""
        ...


class TopicMember(Generic[M]):
    """One process's seat on a side channel: messages of type `M` published there, and each
    one heard from any process (this one included) handed to `on_message`, between
    `start()` and `stop()`."""

    def __init__(self, bus: Bus, name: str, message_type: type[M]) -> None:
        self.topic = bus.topic(name)
        self._name = name
        self._type = message_type
        self._unsubscribe: Unsubscribe | None = None

    async def start(self) -> None:
        self._unsubscribe = await self.topic.subscribe(self._heard)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            await self._unsubscribe()
            self._unsubscribe = None

    async def send(self, message: M) -> None:
        await self.topic.publish(msgspec.json.encode(message))

    def on_message(self, message: M) -> None:
        raise NotImplementedError

    def _heard(self, payload: bytes) -> None:
        try:
            message = msgspec.json.decode(payload, type=self._type)
        except (msgspec.DecodeError, msgspec.ValidationError):
            log.warning("ignored a malformed message on %s", self._name)
            return
        self.on_message(message)


class Bus(Publisher, Protocol):
    """A doorbell transport. `listen()` returns once the listener is registered, so a
    doorbell published after it returns is heard. `plugins`: what the app must register
    for the bus to start and stop with it (Litestar Channels' plugin; none for others)."""

    @property
    def plugins(self) -> Sequence[PluginProtocol]: ...

    async def listen(self) -> BusListener: ...

    def topic(self, name: str) -> Topic:
        """The side channel `name` on the same wire (a plain identifier: it is a LISTEN
        channel on PostgreSQL)."""
        ...

    async def ping(self) -> None:
        """Raise unless the bus can be reached and is heard now (readiness)."""
        ...

    async def close(self) -> None:
        """Release what publishing holds (listeners close themselves)."""
        ...


class NullPublisher:
    """For processes nobody listens to (the `feedhub poll` command on the memory bus)."""

    async def publish(self, bell: Doorbell) -> None:
        return None


# Ids per doorbell: keeps a message far below the NOTIFY limit even for a huge first poll.
_IDS_PER_BELL = 400


def split_bell(bell: Doorbell) -> list[Doorbell]:
    """`bell` in parts of at most `_IDS_PER_BELL` ids, in order (one for small bells)."""
    return [
        Doorbell(bell.feed_id, bell.category, bell.ids[start : start + _IDS_PER_BELL])
        for start in range(0, len(bell.ids), _IDS_PER_BELL)
    ]


class _ChannelsListener:
    def __init__(self, channels: ChannelsPlugin, subscriber: Subscriber) -> None:
        self._channels = channels
        self._subscriber = subscriber

    def messages(self) -> AsyncIterator[bytes]:
        # Consumed by one long-lived task and never wrapped in wait_for (PITFALLS.md).
        return self._subscriber.iter_events()

    async def close(self) -> None:
        await self._channels.unsubscribe(self._subscriber)


class ChannelsBus:
    """A bus on a Litestar Channels backend; `plugin` goes into the app's plugin list."""

    def __init__(self, backend: ChannelsBackend) -> None:
        self.plugin = ChannelsPlugin(backend=backend, arbitrary_channels_allowed=True)

    @property
    def plugins(self) -> Sequence[PluginProtocol]:
        return (self.plugin,)

    async def publish(self, bell: Doorbell) -> None:
        for part in split_bell(bell):
            # wait_published, not publish(): a failed publish() kills the plugin's worker and
            # every later message is lost silently (https://github.com/litestar-org/litestar/issues/5008).
            await self.plugin.wait_published(
                part.encode(), [channel_name(bell.category), ALL_CHANNEL]
            )
            metrics.BUS_MESSAGES.labels("published").inc()

    async def listen(self) -> BusListener:
        subscriber = await self.plugin.subscribe(ALL_CHANNEL)
        return _ChannelsListener(self.plugin, subscriber)

    def topic(self, name: str) -> Topic:
        return _ChannelsTopic(self.plugin, name)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class _ChannelsTopic:
    def __init__(self, channels: ChannelsPlugin, name: str) -> None:
        self._channels = channels
        self._name = name

    async def publish(self, payload: bytes) -> None:
        await self._channels.wait_published(payload, [self._name])

    async def subscribe(self, on_message: Callable[[bytes], None]) -> Unsubscribe:
        subscriber = await self._channels.subscribe(self._name)

        async def pump() -> None:
            async for payload in subscriber.iter_events():
                on_message(payload)

        task = asyncio.create_task(pump(), name=f"topic-{self._name}")

        async def unsubscribe() -> None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            with contextlib.suppress(Exception):
                await self._channels.unsubscribe(subscriber)

        return unsubscribe


class _TransportTopic:
    """The channel `name`: published through the bus's own publisher, heard on a listening
    connection of its own (a LISTEN or SUBSCRIBE session per channel)."""

    def __init__(self, make: Callable[[str], Transport], publisher: Transport, name: str) -> None:
        self._make = make
        self._publisher = publisher
        self._name = name

    async def publish(self, payload: bytes) -> None:
        await self._publisher.publish(payload, self._name)

    async def subscribe(self, on_message: Callable[[bytes], None]) -> Unsubscribe:
        listener = self._make(self._name)
        await listener.start(on_message, lambda: None)
        return listener.stop


class _TransportListener:
    def __init__(self, transport: Transport, queue: asyncio.Queue[bytes]) -> None:
        self._transport = transport
        self._queue = queue

    async def messages(self) -> AsyncIterator[bytes]:
        while True:
            yield await self._queue.get()

    async def close(self) -> None:
        await self._transport.stop()


class TransportBus:
    """A bus on one of our transports: one channel; the category is in the doorbell."""

    def __init__(self, make: Callable[[str], Transport]) -> None:
        self._make = make
        self._publisher = make(CHANNEL)
        self._listening: Transport | None = None

    @property
    def plugins(self) -> Sequence[PluginProtocol]:
        return ()

    async def publish(self, bell: Doorbell) -> None:
        for part in split_bell(bell):
            await self._publisher.publish(part.encode())
            metrics.BUS_MESSAGES.labels("published").inc()

    async def listen(self) -> BusListener:
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._listening = transport = self._make(CHANNEL)
        await transport.start(queue.put_nowait, lambda: queue.put_nowait(RECONNECTED))
        return _TransportListener(transport, queue)

    async def ping(self) -> None:
        await self._publisher.ping()
        if self._listening is not None and not self._listening.stats.connected:
            raise ConnectionError("the bus listener is reconnecting")

    def topic(self, name: str) -> Topic:
        return _TransportTopic(self._make, self._publisher, name)

    async def close(self) -> None:
        await self._publisher.stop()


def _memory(_url: str) -> ChannelsBus:
    return ChannelsBus(MemoryChannelsBackend())


def _redis(url: str) -> Bus:
    try:
        from feedhub.live.redis_transport import RedisTransport
    except ImportError:
        raise ConfigError(
            "FEEDHUB_BUS_URL is a Redis URL but redis-py is not installed: "
            "pip install 'feedhub[redis]'"
        ) from None
    return TransportBus(lambda channel: RedisTransport(url, channel=channel))


def _postgresql(url: str) -> Bus:
    try:
        from feedhub.live.pg_transport import PgTransport
    except ImportError:
        raise ConfigError(
            "FEEDHUB_BUS_URL is a PostgreSQL URL but asyncpg is not installed: "
            "pip install 'feedhub[postgres]'"
        ) from None
    return TransportBus(lambda channel: PgTransport(url, channel=channel))


# scheme -> (kind, factory)
_BACKENDS: dict[str, tuple[str, Callable[[str], Bus]]] = {
    "memory": ("memory", _memory),
    "redis": ("redis", _redis),
    "rediss": ("redis", _redis),
    "postgresql": ("postgresql", _postgresql),
    "postgres": ("postgresql", _postgresql),
}


def _backend(bus_url: str) -> tuple[str, Callable[[str], Bus]]:
    scheme = bus_url.split("://", 1)[0].lower() if "://" in bus_url else ""
    if (found := _BACKENDS.get(scheme)) is not None:
        return found
    raise ConfigError(
        "FEEDHUB_BUS_URL must start with memory://, redis://, rediss:// or postgresql://, "
        f"not {bus_url!r}"
    )


def bus_kind(bus_url: str) -> str:
    """ "memory", "redis" or "postgresql"; ConfigError, in words, for any other URL."""
    return _backend(bus_url)[0]


def open_bus(bus_url: str) -> Bus:
    """The bus FEEDHUB_BUS_URL names. Raises ConfigError, in words, for any other URL."""
    return _backend(bus_url)[1](bus_url)
