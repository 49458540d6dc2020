"""The sign-in limiter of every process, shared over the bus.

Each process counts failed sign-ins in its memory (feedhub.readers.ratelimit): behind N
processes a guesser would get N times the attempts. So every failure and every success is
also announced on the bus's side channel `feedhub_sign_in_attempts`, and each other process
records it in its own limiter, by its own clock (monotonic clocks of two machines cannot be
compared). At most once, like pub/sub: a lost message undercounts by one in one process,
and a process that restarts starts from zero. The announcement names the keys (a user name,
a client address) and nothing else; it is never logged.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import msgspec

from feedhub.live.bus import Bus, TopicMember
from feedhub.readers.ratelimit import AttemptLimiter

__all__ = ["CHANNEL", "SharedLimiter"]

log = logging.getLogger(__name__)

CHANNEL = "feedhub_sign_in_attempts"


class _Attempt(msgspec.Struct, frozen=True):
    origin: str  # the announcing process: it has counted the attempt already
    keys: list[str]
    failed: bool


class SharedLimiter(TopicMember[_Attempt]):
    """`AttemptLimiter`'s interface, with what the other processes saw counted too."""

    def __init__(
        self, limiter: AttemptLimiter, bus: Bus, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(bus, CHANNEL, _Attempt)
        self.limiter = limiter
        self._clock = clock
        self._origin = secrets.token_hex(8)

    def retry_after(self, keys: list[str], now: float) -> int:
        return self.limiter.retry_after(keys, now)

    async def failed(self, keys: list[str], now: float) -> None:
        self.limiter.failed(keys, now)
        await self._announce(keys, failed=True)

    async def succeeded(self, key: str) -> None:
        self.limiter.succeeded(key)
        await self._announce([key], failed=False)

    async def _announce(self, keys: list[str], *, failed: bool) -> None:
        try:
            await self.send(_Attempt(self._origin, keys, failed))
        except Exception as exc:  # counted here all the same; the others miss one attempt
            log.warning("could not share a sign-in attempt with the other processes: %s", exc)

    def on_message(self, attempt: _Attempt) -> None:
        if attempt.origin == self._origin or not attempt.keys:
            return
        if attempt.failed:
            self.limiter.failed(attempt.keys, self._clock())
        else:
            self.limiter.succeeded(attempt.keys[0])
