"""How many streams one process holds open, in total and per client address.

Without a bound, 1,000 anonymous `/api/stream` connections used every file descriptor and
every new request failed with a reset, `/healthz` included, with nothing logged.
Over a limit a stream is refused with 503 and `Retry-After` (EventSource clients
reconnect after it), logged at most once per 10 s with the count.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

__all__ = ["StreamLimits"]

log = logging.getLogger("feedhub.stream")


class StreamLimits:
    """Counts open streams; `max_total` or `per_client` 0 means no bound."""

    def __init__(
        self, *, max_total: int, per_client: int, retry_after: int = 10, log_period: float = 10.0
    ) -> None:
        self.max_total = max_total
        self.per_client = per_client
        self.retry_after = retry_after
        self._open: Counter[str] = Counter()
        self._total = 0
        self._log_period = log_period
        self._refused_since_log = 0
        self._last_log = -log_period

    @property
    def total(self) -> int:
        return self._total

    def admit(self, client: str) -> str | None:
        """Count a new stream of `client` in, or return why it is refused."""
        if self.max_total and self._total >= self.max_total:
            reason = f"the server holds its limit of {self.max_total} streams"
        elif self.per_client and self._open[client] >= self.per_client:
            reason = f"this address holds its limit of {self.per_client} streams"
        else:
            self._open[client] += 1
            self._total += 1
            return None
        self._log_refusal(client, reason)
        return reason

    def release(self, client: str) -> None:
        self._total -= 1
        self._open[client] -= 1
        if self._open[client] <= 0:
            del self._open[client]

    def _log_refusal(self, client: str, reason: str) -> None:
        self._refused_since_log += 1
        now = time.monotonic()
        if now - self._last_log >= self._log_period:
            log.warning(
                "stream refused with 503 for %s: %s (%d refused in the last %.0f s)",
                client, reason, self._refused_since_log, self._log_period,
            )  # fmt: skip
            self._refused_since_log = 0
            self._last_log = now
