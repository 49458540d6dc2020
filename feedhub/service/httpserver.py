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
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from feedhub.core.config import Settings
from feedhub.core.logs import Throttled

__all__ = [
    "DeadlineProtocol",
    "WorkerDeadlineProtocol",
    "protocol_with_deadlines",
    "raise_open_file_limit",
]

log = logging.getLogger("feedhub.http")


_SLOW = {"request headers": Throttled(log), "request body": Throttled(log)}


class DeadlineProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0
    body_timeout: float = 30.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None

    def _arm(self, seconds: float, what: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expired, what, seconds)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, what: str, seconds: float) -> None:
        self._deadline = None
        client = self.client[0] if self.client else "?"
        _SLOW[what].log(
            "closed a connection from %s: %s not complete within %.0f s", client, what, seconds
        )
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, "request headers")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
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
        self.header_timeout, self.body_timeout = _deadlines_from_env()


@functools.cache
def _deadlines_from_env() -> tuple[float, float]:
    settings = Settings.from_env()
    return settings.header_timeout_seconds, settings.body_timeout_seconds


def protocol_with_deadlines(header_timeout: float, body_timeout: float) -> type[DeadlineProtocol]:
    """The protocol class to hand uvicorn (`Config(http=...)`), with these deadlines."""
    return type(
        "FeedhubHttpProtocol",
        (DeadlineProtocol,),
        {"header_timeout": header_timeout, "body_timeout": body_timeout},
    )


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
