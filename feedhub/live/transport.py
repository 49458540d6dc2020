"""The wire under the bus: bytes published on one channel, heard by every process.

A transport knows nothing of articles. It reports each (re)connection of its listener through
`on_connect`, because pub/sub is at-most-once: whatever was published while a listener was
away is gone, and the hub reads the database for it (DESIGN.md "The bus").
Backends: Redis pub/sub (`redis://`, `rediss://`) and PostgreSQL LISTEN/NOTIFY
(`postgresql://`); feedhub.live.bus wraps them as a `Bus` (memory:// stays on Channels).
Ours rather than Litestar Channels', whose PostgreSQL backends do not deliver and whose
listeners never reconnect (PITFALLS.md "Scale-out").
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

__all__ = [
    "CHANNEL",
    "BusStats",
    "OnConnect",
    "OnMessage",
    "Transport",
    "backoff_delay",
    "connected",
    "reconnect_forever",
]

log = logging.getLogger(__name__)

OnMessage = Callable[[bytes], None]
OnConnect = Callable[[], None]

# The channel every process publishes doorbells to and listens on.
CHANNEL = "feedhub_articles"


def backoff_delay(attempt: int, jitter: float, *, base: float = 0.1, cap: float = 5.0) -> float:
    """Seconds to wait before reconnect `attempt` (0, 1, …): doubling from `base` up to `cap`,
    scaled by 0.5–1.0 (`jitter` in [0, 1)) so that many processes do not retry in step.
    Pure: the randomness is passed in."""
    return float(min(cap, base * 2.0 ** min(attempt, 30)) * (0.5 + jitter / 2))


@dataclass
class BusStats:
    """Counters a transport keeps; /metrics and /readyz read them."""

    published: int = 0
    received: int = 0
    reconnects: int = 0
    connected: bool = False
    ever_connected: bool = False


class Transport(Protocol):
    stats: BusStats

    async def start(self, on_message: OnMessage, on_connect: OnConnect) -> None:
        """Begin listening (in the background); `on_connect` runs on each (re)connection."""
        ...

    async def publish(self, payload: bytes, channel: str | None = None) -> None:
        """On this transport's channel, or on `channel` (a side channel of the bus: one
        publishing connection serves them all)."""
        ...

    async def ping(self) -> None:
        """Raise if the bus cannot be reached now (readiness)."""
        ...

    async def stop(self) -> None: ...


async def reconnect_forever(
    name: str,
    session: Callable[[], Awaitable[None]],
    stats: BusStats,
    *,
    rng: random.Random | None = None,
) -> None:
    """Run `session()` again and again until cancelled, with backoff between attempts.

    `session` connects, sets `stats.connected`, calls the transport's `on_connect`, listens
    until the connection is lost, and then raises (or returns). The backoff starts again from
    its shortest delay after a connection that worked."""
    rng = rng or random.Random()
    attempt = 0
    while True:
        try:
            await session()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # lost or refused: log it and try again
            log.warning("%s bus: connection lost or refused (%s); reconnecting", name, exc)
        if stats.connected:
            stats.connected = False
            attempt = 0
        await asyncio.sleep(backoff_delay(attempt, rng.random()))
        attempt += 1


def connected(stats: BusStats, on_connect: OnConnect) -> None:
    """Bookkeeping for a session that has just (re)connected and subscribed."""
    if stats.ever_connected:
        stats.reconnects += 1
    stats.ever_connected = True
    stats.connected = True
    on_connect()
