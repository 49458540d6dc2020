"""The sign-in limiter of every process, shared over the bus.

Each process counts sign-in attempts in its memory (feedhub.readers.ratelimit): behind N
processes a guesser would get N times the attempts. So every attempt is also announced on
the bus's side channel `feedhub_sign_in_attempts` as it starts (and how it ended, when that
gives a slot back), and each other process records it in its own limiter, by its own clock
(monotonic clocks of two machines cannot be compared). At most once, like pub/sub: a lost
message undercounts by one in one process, and a process that restarts starts from zero.
The announcement names the keys (a user name, a client network) and nothing else; it is
never logged.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable

import msgspec

from feedhub.core.metrics import SIGN_IN_ATTEMPTS_HEARD
from feedhub.live.bus import Bus, TopicMember
from feedhub.readers.ratelimit import AttemptLimiter

__all__ = ["CHANNEL", "SharedLimiter"]

log = logging.getLogger(__name__)

CHANNEL = "feedhub_sign_in_attempts"


class _Attempt(msgspec.Struct, frozen=True):
    origin: str  # the announcing process: it has counted the attempt already
    keys: list[str]
    outcome: str  # "counted" (an attempt started), "succeeded" or "given_back"


class SharedLimiter(TopicMember[_Attempt]):
    """`AttemptLimiter`'s interface, with what the other processes counted too."""

    def __init__(
        self, limiter: AttemptLimiter, bus: Bus, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(bus, CHANNEL, _Attempt)
        self.limiter = limiter
        self._clock = clock
        self._origin = secrets.token_hex(8)

    def retry_after(self, keys: list[str], now: float) -> int:
        return self.limiter.retry_after(keys, now)

    async def acquire(self, keys: list[str], now: float) -> int:
        """Count an attempt before its password is checked (0), or say how long to wait.
        Counted here at once, with no await in between: concurrent attempts cannot race."""
        wait = self.limiter.acquire(keys, now)
        if not wait:
            await self._announce(keys, "counted")
        return wait

    async def succeeded(self, keys: list[str]) -> None:
        self.limiter.succeeded(keys)
        await self._announce(keys, "succeeded")

    async def give_back(self, keys: list[str]) -> None:
        self.limiter.give_back(keys)
        await self._announce(keys, "given_back")

    async def _announce(self, keys: list[str], outcome: str) -> None:
        try:
            await self.send(_Attempt(self._origin, keys, outcome))
        except Exception as exc:  # counted here all the same; the others miss one attempt
            log.warning("could not share a sign-in attempt with the other processes: %s", exc)

    def on_message(self, attempt: _Attempt) -> None:
        if attempt.origin == self._origin or not attempt.keys:
            return
        if attempt.outcome == "counted":
            self.limiter.record(attempt.keys, self._clock())
        elif attempt.outcome == "succeeded":
            self.limiter.succeeded(attempt.keys)
        elif attempt.outcome == "given_back":
            self.limiter.give_back(attempt.keys)
        else:
            return
        SIGN_IN_ATTEMPTS_HEARD.labels(attempt.outcome).inc()
