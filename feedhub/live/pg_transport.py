"""The bus on PostgreSQL LISTEN/NOTIFY (`postgresql://…`), with asyncpg.

One listening connection per process, watched three ways: asyncpg's termination callback
(the server closed it, e.g. `pg_terminate_backend`), a `SELECT 1` every few seconds (a
connection that died without a word), and the listener task itself. Any of them ends the
session and `reconnect_forever` opens a new one, with backoff. Publishing uses a small
pool of its own; NOTIFY payloads stop at 8000 bytes, and a doorbell is far smaller.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg

from feedhub.live.transport import (
    CHANNEL,
    BusStats,
    OnConnect,
    OnMessage,
    connected,
    reconnect_forever,
)

__all__ = ["LISTENER_NAME", "PgTransport", "plain_dsn"]

log = logging.getLogger(__name__)

# How the listening connection shows in pg_stat_activity (operators, and the fault tests).
LISTENER_NAME = "feedhub-bus-listener"
_CHECK_EVERY = 5.0
_TIMEOUT = 5.0


def plain_dsn(url: str) -> str:
    """`postgresql+asyncpg://…` (a SQLAlchemy URL) or `postgres://…` -> asyncpg's DSN."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    return f"postgresql://{rest}"


class PgTransport:
    def __init__(self, url: str, *, channel: str = CHANNEL) -> None:
        self.stats = BusStats()
        self._dsn = plain_dsn(url)
        self._channel = channel
        self._pool: asyncpg.Pool | None = None
        self._task: asyncio.Task[None] | None = None

    async def _pub(self) -> asyncpg.Pool:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self._dsn, min_size=0, max_size=2, timeout=_TIMEOUT, command_timeout=_TIMEOUT
            )
        return self._pool

    async def start(self, on_message: OnMessage, on_connect: OnConnect) -> None:

        async def session() -> None:
            conn = await asyncpg.connect(
                self._dsn, timeout=_TIMEOUT, server_settings={"application_name": LISTENER_NAME}
            )
            lost = asyncio.Event()

            def heard(_c: Any, _pid: int, _channel: str, payload: str) -> None:
                self.stats.received += 1
                on_message(payload.encode())

            conn.add_termination_listener(lambda _c: lost.set())
            try:
                await conn.add_listener(self._channel, heard)
                connected(self.stats, on_connect)
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), _CHECK_EVERY)
                    except TimeoutError:
                        await conn.fetchval("SELECT 1", timeout=_TIMEOUT)
                raise ConnectionError("the listening connection was closed by the server")
            finally:
                conn.terminate()

        self._task = asyncio.create_task(
            reconnect_forever("postgresql", session, self.stats), name="bus-postgresql"
        )

    async def publish(self, payload: bytes, channel: str | None = None) -> None:
        pool = await self._pub()
        await pool.execute("SELECT pg_notify($1, $2)", channel or self._channel, payload.decode())
        self.stats.published += 1

    async def ping(self) -> None:
        await (await self._pub()).fetchval("SELECT 1")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self._pool is not None:
            self._pool.terminate()
            self._pool = None
        self.stats.connected = False
