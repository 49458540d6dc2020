"""The bus: a doorbell per committed batch of new articles.

The database is the source of truth; the bus only says "feed F of category C has new
articles with these ids" (and the hub reads everything after its newest id, so a doorbell
lost or late loses nothing). The transport comes from FEEDHUB_BUS_URL, chosen in
`make_transport` and nowhere else: memory:// (one process), redis:// or rediss:// (Redis
pub/sub), postgresql:// (LISTEN/NOTIFY). See feedhub/live/transport.py.
"""

from __future__ import annotations

import logging
from typing import Protocol

import msgspec

from feedhub import metrics
from feedhub.errors import ConfigError
from feedhub.live.transport import MemoryTransport, Transport

__all__ = [
    "Doorbell",
    "NullPublisher",
    "Publisher",
    "TransportPublisher",
    "bus_kind",
    "make_transport",
]

log = logging.getLogger(__name__)


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


class TransportPublisher:
    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    async def publish(self, bell: Doorbell) -> None:
        for start in range(0, len(bell.ids), _IDS_PER_BELL):
            part = Doorbell(bell.feed_id, bell.category, bell.ids[start : start + _IDS_PER_BELL])
            await self._transport.publish(part.encode())
            metrics.BUS_MESSAGES.labels("published").inc()


def bus_kind(bus_url: str) -> str:
    """ "memory", "redis" or "postgresql"; ConfigError for anything else."""
    scheme = bus_url.split("://", 1)[0].lower() if "://" in bus_url else ""
    if scheme == "memory":
        return "memory"
    if scheme in ("redis", "rediss"):
        return "redis"
    if scheme in ("postgresql", "postgres") or scheme.startswith("postgresql+"):
        return "postgresql"
    raise ConfigError(
        "FEEDHUB_BUS_URL must start with memory://, redis://, rediss:// or postgresql://, "
        f"not {bus_url.split('://')[0]!r}"
    )


def make_transport(bus_url: str) -> Transport:
    kind = bus_kind(bus_url)
    if kind == "redis":
        try:
            from feedhub.live.redis_transport import RedisTransport
        except ImportError:
            raise ConfigError(
                "FEEDHUB_BUS_URL is a Redis URL but redis-py is not installed: "
                "pip install 'feedhub[redis]'"
            ) from None
        return RedisTransport(bus_url)
    if kind == "postgresql":
        try:
            from feedhub.live.pg_transport import PgTransport
        except ImportError:
            raise ConfigError(
                "FEEDHUB_BUS_URL is a PostgreSQL URL but asyncpg is not installed: "
                "pip install 'feedhub[postgres]'"
            ) from None
        return PgTransport(bus_url)
    return MemoryTransport()
