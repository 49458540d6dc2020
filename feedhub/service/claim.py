"""This process serves the PostgreSQL database: a share of an advisory lock, held for the
process's whole life, that a rollback needs alone (migrations/env.py). A rollback under live
replicas dropped what they use: every request with a credential answered 500. (SQLite: the
file's lock, db/serving.py, held by `feedhub serve` itself.)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from feedhub.db.engine import SERVING_LOCK, create_engine, is_sqlite

__all__ = ["ServingClaim"]

log = logging.getLogger(__name__)


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
