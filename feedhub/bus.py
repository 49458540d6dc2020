"""The bus: a doorbell per committed batch of new articles, on Litestar Channels.

The database is the source of truth; the bus only says "feed F of category C has new
articles with these ids". Each web process reads the rows once and fans the encoded events
out to its own subscribers (feedhub.api.hub). One channel per category: `articles.<slug>`.
The backend comes from FEEDHUB_BUS_URL, chosen in `channels_backend` and nowhere else.
"""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.base import ChannelsBackend
from litestar.channels.backends.memory import MemoryChannelsBackend

from feedhub.errors import ConfigError

__all__ = [
    "ChannelsPublisher",
    "Doorbell",
    "NullPublisher",
    "Publisher",
    "ALL_CHANNEL",
    "channel_name",
    "channels_backend",
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
    async def publish(self, bell: Doorbell) -> None: ...


class NullPublisher:
    """For processes nobody listens to (the `feedhub poll` command on the memory bus)."""

    async def publish(self, bell: Doorbell) -> None:
        return None


# Ids per doorbell: keeps a message far below the NOTIFY limit even for a huge first poll.
_IDS_PER_BELL = 400


class ChannelsPublisher:
    def __init__(self, channels: ChannelsPlugin) -> None:
        self._channels = channels

    async def publish(self, bell: Doorbell) -> None:
        for start in range(0, len(bell.ids), _IDS_PER_BELL):
            part = Doorbell(bell.feed_id, bell.category, bell.ids[start : start + _IDS_PER_BELL])
            # wait_published, not publish(): a failed publish() kills the plugin's worker and
            # every later message is lost silently (litestar issue 5008).
            await self._channels.wait_published(
                part.encode(), [channel_name(bell.category), ALL_CHANNEL]
            )


def channels_backend(bus_url: str) -> ChannelsBackend:
    if bus_url.startswith("memory://"):
        return MemoryChannelsBackend()
    if bus_url.startswith(("redis://", "rediss://", "postgresql://", "postgres://")):
        raise ConfigError(
            f"FEEDHUB_BUS_URL={bus_url.split('://')[0]}://… is not supported yet: the Redis and "
            "PostgreSQL buses come with the scale-out work; use memory:// (one process)"
        )
    raise ConfigError(f"FEEDHUB_BUS_URL must start with memory://, not {bus_url!r}")


def channels_plugin(bus_url: str) -> ChannelsPlugin:
    return ChannelsPlugin(backend=channels_backend(bus_url), arbitrary_channels_allowed=True)
