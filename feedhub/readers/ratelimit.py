"""Sign-in attempt limits (pure: the clock is passed in).

Failures are counted per key (a user name, a client address) in a sliding window; once a
key has `limit` failures in `window` seconds, further attempts with it are refused until
the oldest failure leaves the window. A success clears the name's count. Kept in memory:
forgotten on restart, which is enough to make password guessing slow (a guesser gets
`limit` tries per window per name and per address); the processes of one installation
share what they count over the bus (feedhub.live.sign_in_limits).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

__all__ = ["AttemptLimiter"]


@dataclass(slots=True)
class AttemptLimiter:
    limit: int = 5
    window: float = 300.0
    max_keys: int = 100_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, keys: list[str], now: float) -> int:
        """Seconds until an attempt with these keys is heard again; 0 when it is now."""
        wait = 0.0
        for key in keys:
            times = self._prune(key, now)
            if times is not None and len(times) >= self.limit:
                wait = max(wait, times[0] + self.window - now)
        return int(wait) + 1 if wait > 0 else 0

    def failed(self, keys: list[str], now: float) -> None:
        if len(self._failures) >= self.max_keys:
            self._sweep(now)
        for key in keys:
            times = self._failures.setdefault(key, deque())
            times.append(now)
            while len(times) > self.limit:
                times.popleft()

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)

    def _prune(self, key: str, now: float) -> deque[float] | None:
        times = self._failures.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.window:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def _sweep(self, now: float) -> None:
        for key in list(self._failures):
            self._prune(key, now)
        if len(self._failures) >= self.max_keys:  # a flood of distinct keys: start over
            self._failures.clear()
