"""Which process polls: a PostgreSQL session-level advisory lock elects the leader.

Every process may run the scheduler; on each tick it asks `Leadership.check()`, and only the
holder of the lock polls. The lock lives on a connection of its own: when the leader dies
(SIGKILL, a lost connection) PostgreSQL drops the lock with its session, and the next tick
of any other process takes it — a follower takes over within one tick. A leader
that cannot reach its connection steps down at once; even then two pollers cannot poll one
feed together, because each poll first claims its feed (`Poller.claim_due`).

On SQLite there is one process (app.py refuses a second), so it is always the leader.
"""

from __future__ import annotations

import logging
import os

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from feedhub.core import metrics
from feedhub.db.engine import LEADER_LOCK, create_engine, is_sqlite

__all__ = ["Leadership"]

log = logging.getLogger(__name__)


class Leadership:
    def __init__(self, database_url: str) -> None:
        self._sqlite = is_sqlite(database_url)
        self._url = database_url
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self.is_leader = self._sqlite
        # What claims carry (FeedStore.claim_due), so that a claim dies with its claimer
        # instead of waiting out its lease: the backend pid of our lock session on
        # PostgreSQL, this process's pid on SQLite (one machine).
        self.backend_pid: int | None = os.getpid() if self._sqlite else None
        # How many times this process became the leader (a metric: leader changes).
        self.elected = 1 if self._sqlite else 0

    async def check(self) -> bool:
        """Still the leader, or just became it? Never raises: a failure means "no"."""
        if self._sqlite:
            return True
        try:
            conn = await self._connection()
            if self.is_leader:
                await conn.execute(text("SELECT 1"))  # the session, hence the lock, lives
            elif await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_LOCK}):
                self.is_leader = True
                self.elected += 1
                metrics.LEADER_CHANGES.inc()
                log.info("this process is now the poll leader")
        except Exception as exc:
            if self.is_leader:
                log.error("lost the leader lock's connection (%s): no longer polling", exc)
            self.is_leader = False
            await self._drop()
        return self.is_leader

    async def _connection(self) -> AsyncConnection:
        if self._conn is None:
            if self._engine is None:
                # One connection, in autocommit: no transaction stays open while it idles.
                self._engine = create_engine(self._url, pool_size=1, max_overflow=0)
            conn = await self._engine.connect()
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            self.backend_pid = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
            self._conn = conn
        return self._conn

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        self.backend_pid = os.getpid() if self._sqlite else None
        if conn is not None:
            try:  # (releases the session's locks, if it still has any)
                await conn.invalidate()
                await conn.close()
            except Exception as exc:  # it is dead already; nothing more to do
                log.debug("closing the leader connection: %s", exc)

    async def close(self) -> None:
        """Step down on a clean shutdown, so a follower need not wait for a dead session."""
        if self._conn is not None and self.is_leader:
            try:
                await self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LEADER_LOCK})
            except Exception as exc:
                log.debug("releasing the leader lock: %s", exc)
        self.is_leader = self._sqlite
        await self._drop()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
