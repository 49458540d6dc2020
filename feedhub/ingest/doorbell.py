"""What the poller hands on once new articles are committed: a `Doorbell` ("feed F of
category C has new articles with these ids"), to a `Publisher`.

The poller needs nothing else from the live path, so it sees only this protocol: the bus
(`feedhub.live.bus`) implements it and is injected where the poller is built, and ingest
never imports live. The database stays the source of truth; a doorbell carries ids, not
articles.
"""

from __future__ import annotations

from typing import Protocol

import msgspec

__all__ = ["Doorbell", "Publisher"]


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
