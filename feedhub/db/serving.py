"""Who holds the database. SQLite: a lock file beside it, held by `feedhub serve` for its
whole life and by the commands that replace or reshape the database (`restore`, `migrate`)
while they run; the operating system releases it when the process dies, however it dies.
PostgreSQL: every serving process holds an advisory lock shared (`ServingClaim`), which a
rollback takes exclusively (migrations/env.py); PostgreSQL releases it with the session.

Replacing the database under a live service lost data: the next article reused an id the
running hub had already sent, and a rollback dropped the readers' tables under it (every
request with a credential answered 500).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from feedhub.core.datadir import sqlite_path
from feedhub.core.errors import ConfigError
from feedhub.db.engine import SERVING_LOCK, create_engine, is_sqlite

__all__ = ["ServingClaim", "hold_for_serving", "while_not_serving"]

log = logging.getLogger(__name__)


def _lock(database_url: str) -> IO[bytes] | None:
    """The held lock file, None when there is nothing to hold (not a SQLite file);
    BlockingIOError when another process holds it."""
    path = sqlite_path(database_url)
    if path is None:
        return None
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = Path(f"{path}.serve-lock").open("ab")  # noqa: SIM115 - held by the caller
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        raise
    return lock


def hold_for_serving(database_url: str) -> IO[bytes] | None:
    """For `serve`: hold the lock until exit; refuse if another process holds it."""
    try:
        return _lock(database_url)
    except BlockingIOError:
        raise ConfigError(
            f"another `feedhub serve` already uses {sqlite_path(database_url)} (or a "
            "`restore` or `migrate` runs on it): on SQLite one process serves (one writer, and "
            "streams hear only their own process); for several processes use PostgreSQL, "
            "see docs/scale-out.md"
        ) from None


@contextmanager
def while_not_serving(database_url: str, verb: str) -> Iterator[None]:
    """For a command that replaces or reshapes the database: refuse while a `serve` (or
    another such command) holds it, and keep one from starting meanwhile."""
    try:
        lock = _lock(database_url)
    except BlockingIOError:
        raise ConfigError(
            f"`feedhub serve` (or another command) is using {sqlite_path(database_url)}: "
            f"stop it before `feedhub {verb}` (docs/upgrade.md)"
        ) from None
    try:
        yield
    finally:
        if lock is not None:
            lock.close()


class ServingClaim:
    """A serving process's share of SERVING_LOCK on PostgreSQL, on a connection of its own,
    for the process's whole life. A lost connection (a database restart) loses the share;
    it is taken again within `recheck_seconds`. Nothing to do on SQLite."""

    def __init__(self, database_url: str, *, recheck_seconds: float = 30.0) -> None:
        self._url = database_url
        self._recheck = recheck_seconds
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if is_sqlite(self._url):
            return
        # One connection, in autocommit: no transaction stays open while it idles.
        self._engine = create_engine(self._url, pool_size=1, max_overflow=0)
        try:
            await self._hold()
        except Exception as exc:  # the database is down: serve anyway, claim when it is back
            log.warning("could not claim the database for serving yet: %s", exc)
        self._task = asyncio.create_task(self._keep(), name="serving-claim")

    async def _hold(self) -> None:
        assert self._engine is not None
        if self._conn is not None:
            try:
                await self._conn.execute(text("SELECT 1"))  # the session, hence the share, lives
                return
            except Exception:
                await self._drop()
        conn = await self._engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            # Waits while a rollback runs: this process then serves the schema it leaves.
            await conn.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": SERVING_LOCK})
        except BaseException:
            await conn.close()
            raise
        self._conn = conn

    async def _keep(self) -> None:
        while True:
            await asyncio.sleep(self._recheck)
            try:
                await self._hold()
            except Exception as exc:
                log.warning("lost the database's serving claim, retrying: %s", exc)

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):  # dead already: its locks went with it
                await conn.invalidate()
                await conn.close()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop()  # (closing the session releases the share)
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
