"""uvicorn's HTTP protocol with the two deadlines it lacks: request headers and body.

uvicorn times out only idle keep-alive connections; a client that sends its headers (or a
body) one byte at a time keeps its connection, and its file descriptor, for as long as it
likes. 1,020 such clients made every new request fail, `/healthz` included.
Here every request must have its headers within `header_timeout` seconds of its
first byte (or of the connection), and its body within `body_timeout` seconds after them;
otherwise the connection is closed, and the event logged (at most once per 10 s, with the
count, so an attack cannot flood the log).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import resource
import time
from collections import Counter
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from feedhub.core.config import Settings
from feedhub.core.logs import Throttled

__all__ = [
    "DeadlineProtocol",
    "ThrottledConcurrencyLog",
    "WorkerDeadlineProtocol",
    "protocol_with_deadlines",
    "raise_open_file_limit",
]

log = logging.getLogger("feedhub.http")


_SLOW = {"request headers": Throttled(log), "request body": Throttled(log)}
_REFUSED = Throttled(log)
# Open connections per client address, in this process (the protocol is per connection).
_OPEN: Counter[str] = Counter()


def _trusted(config: Any) -> frozenset[str]:
    """The proxies uvicorn takes `X-Forwarded-For` from: their connections carry many
    readers each, so they are not counted (the streams behind them are, per reader)."""
    allowed = getattr(config, "forwarded_allow_ips", None) or ""
    return _trusted_of(tuple(allowed) if isinstance(allowed, list) else str(allowed))


@functools.cache  # asked at every accepted connection, of one configuration
def _trusted_of(allowed: tuple[str, ...] | str) -> frozenset[str]:
    items = allowed if isinstance(allowed, tuple) else allowed.split(",")
    return frozenset(item.strip() for item in items if item.strip())


class DeadlineProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    # Open connections one client address may hold (0: no limit). Counted when accepted,
    # before any request: one address's idle or refused connections filled uvicorn's
    # global limit, and from then on everyone, `/healthz` included, got a bare 503.
    max_per_client: int = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # One timer per connection, not one per phase: a phase only moves `_due` (and says
        # what is awaited); the timer, when it fires early, goes back to sleep until `_due`.
        # Three timers made and cancelled per stream were a tenth of its connect cost.
        self._deadline: asyncio.TimerHandle | None = None
        self._due: float | None = None  # loop time; None: nothing awaited
        self._timer_at = 0.0  # when the pending timer wakes
        self._awaited = ("", 0.0)  # what, within how many seconds
        self._counted: str | None = None

    def _arm(self, seconds: float, what: str) -> None:
        self._due = due = self.loop.time() + seconds
        self._awaited = (what, seconds)
        if self._deadline is not None and self._timer_at > due:  # sooner than it would wake
            self._deadline.cancel()
            self._deadline = None
        if self._deadline is None:
            self._timer_at = due
            self._deadline = self.loop.call_at(due, self._check)

    def _disarm(self) -> None:
        self._due = None  # a timer still pending finds nothing awaited

    def _check(self) -> None:
        self._deadline = None
        if self._due is None:
            return
        if self.loop.time() < self._due:
            self._timer_at = self._due
            self._deadline = self.loop.call_at(self._due, self._check)
            return
        self._expired(*self._awaited)

    def _expired(self, what: str, seconds: float) -> None:
        self._due = None
        client = self.client[0] if self.client else "?"
        _SLOW[what].log(
            "closed a connection from %s: %s not complete within %.0f s", client, what, seconds
        )
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        host = self.client[0] if self.client else ""
        if self.max_per_client and host not in _trusted(self.config):
            if _OPEN[host] >= self.max_per_client:
                _REFUSED.log(
                    "closed a connection from %s: it holds %d, the limit per address",
                    host, self.max_per_client,
                )  # fmt: skip
                transport.abort()  # nothing was read: no answer to give, no lingering
                return
            _OPEN[host] += 1
            self._counted = host
        self._arm(self.header_timeout, "request headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._deadline is not None:  # the connection and its timer go together
            self._deadline.cancel()
            self._deadline = None
        if self._counted is not None:
            _OPEN[self._counted] -= 1
            if _OPEN[self._counted] <= 0:
                del _OPEN[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm(self.header_timeout, "request headers")

    def on_headers_complete(self) -> None:
        self._arm(self.body_timeout, "request body")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()


class WorkerDeadlineProtocol(DeadlineProtocol):
    """For `serve --workers`: uvicorn imports the protocol by name in each worker, so the
    deadlines cannot be baked into a class made by the parent; they are read from the
    FEEDHUB_* environment `serve` set for its workers (once per worker)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout, self.body_timeout, self.max_per_client = _limits_from_env()


@functools.cache
def _limits_from_env() -> tuple[float, float, int]:
    settings = Settings.from_env()
    return (
        settings.header_timeout_seconds,
        settings.body_timeout_seconds,
        settings.max_connections_per_client,
    )


def protocol_with_deadlines(
    header_timeout: float, body_timeout: float, max_per_client: int = 0
) -> type[DeadlineProtocol]:
    """The protocol class to hand uvicorn (`Config(http=...)`), with these limits."""
    return type(
        "FeedhubHttpProtocol",
        (DeadlineProtocol,),
        {
            "header_timeout": header_timeout,
            "body_timeout": body_timeout,
            "max_per_client": max_per_client,
        },
    )


class ThrottledConcurrencyLog(logging.Filter):
    """uvicorn logs "Exceeded concurrency limit." once per refused request (142 lines in two
    seconds under one client's flood): let one through per `period`, with the count."""

    def __init__(self, period: float = 10.0) -> None:
        super().__init__()
        self.period = period
        self.pending = 0
        self.last = -period

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith("Exceeded concurrency limit"):
            return True
        self.pending += 1
        now = time.monotonic()
        if now - self.last < self.period:
            return False
        record.msg, record.args = (
            "Exceeded concurrency limit (%d in the last %.0f s)",
            (
                self.pending,
                self.period,
            ),
        )
        self.pending, self.last = 0, now
        return True


def raise_open_file_limit() -> int:
    """Raise the soft open-file limit to the hard one; return the limit in force.

    Every connection is a file descriptor: with the common soft limit of 1,024 a thousand
    streams were enough to make accept() fail for everyone.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return int(soft) if soft != resource.RLIM_INFINITY else 1 << 20
