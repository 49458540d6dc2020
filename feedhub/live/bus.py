"""The bus: a doorbell per committed batch of new articles, between processes.

The database is the source of truth; the bus only says "feed F of category C has new
articles with these ids". Each web process reads the rows once and fans the encoded events
out to its own subscribers (`feedhub.live.hub`). One channel per category,
`articles.<slug>`, and every doorbell also rings on `articles` (what the hubs listen to).

Backends are chosen by the scheme of FEEDHUB_BUS_URL in `open_bus` and nowhere else. A
backend is anything that satisfies `Bus`; today there is `memory://` (Litestar Channels'
memory backend, one process). Another backend registers its scheme in `_BACKENDS`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Protocol

import msgspec
from litestar.channels import ChannelsPlugin, Subscriber
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.plugins import PluginProtocol

from feedhub.errors import ConfigError

__all__ = [
    "ALL_CHANNEL",
    "Bus",
    "BusListener",
    "ChannelsBus",
    "Doorbell",
    "NullPublisher",
    "Publisher",
    "channel_name",
    "open_bus",
]

log = logging.getLogger(__name__)

CHANNEL_PREFIX = "articles."
# Every doorbell also rings here. The web processes' hubs listen to this one channel, so a
# category created by another process (the CLI, another web process) needs no new
# subscription before its first article can reach a no-category stream.
ALL_CHANNEL = "articles"


def channel_name(category: str) -> str:
    return f"{CHANNEL_PREFIX}{category}"


class Doorbell(msgspec.Struct, frozen=True, array_like=True):
    """Small on purpose: PostgreSQL NOTIFY payloads stop at 8000 bytes (PITFALLS.md)."""

    feed_id: int
    category: str
    ids: tuple[int, ...]

    def encode(self) -> bytes:
        return msgspec.json.encode(self)

    @classmethod
    def decode(cls, data: bytes) -> Doorbell:
        return msgspec.json.decode(data, type=cls)


class Publisher(Protocol):
    """The sending side: all the poller needs."""

    async def publish(self, bell: Doorbell) -> None: ...


class BusListener(Protocol):
    """The receiving side of one process: every doorbell, as encoded bytes, in order."""

    def messages(self) -> AsyncIterator[bytes]: ...

    async def close(self) -> None: ...


class Bus(Publisher, Protocol):
    """A doorbell transport. `listen()` returns once the listener is registered, so a
    doorbell published after it returns is heard. `plugins`: what the app must register
    for the bus to start and stop with it (Litestar Channels' plugin; none for others)."""

    @property
    def plugins(self) -> Sequence[PluginProtocol]: ...

    async def listen(self) -> BusListener: ...


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
            # every later message is lost silently (litestar issue 5008).
            await self.plugin.wait_published(
                part.encode(), [channel_name(bell.category), ALL_CHANNEL]
            )

    async def listen(self) -> BusListener:
        subscriber = await self.plugin.subscribe(ALL_CHANNEL)
        return _ChannelsListener(self.plugin, subscriber)


def _memory(_url: str) -> ChannelsBus:
    return ChannelsBus(MemoryChannelsBackend())


# scheme -> factory. The scale-out work adds "redis"/"rediss" and "postgresql"/"postgres".
_BACKENDS: dict[str, Callable[[str], Bus]] = {"memory": _memory}
_PLANNED = ("redis", "rediss", "postgresql", "postgres")


def open_bus(bus_url: str) -> Bus:
    """The bus FEEDHUB_BUS_URL names. Raises ConfigError, in words, for any other URL."""
    scheme = bus_url.split("://", 1)[0] if "://" in bus_url else ""
    if (factory := _BACKENDS.get(scheme)) is not None:
        return factory(bus_url)
    if scheme in _PLANNED:
        raise ConfigError(
            f"FEEDHUB_BUS_URL={scheme}://… is not supported yet: the Redis and "
            "PostgreSQL buses come with the scale-out work; use memory:// (one process)"
        )
    raise ConfigError(f"FEEDHUB_BUS_URL must start with memory://, not {bus_url!r}")
