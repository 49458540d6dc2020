"""Async engine and session factory; SQLite gets WAL, foreign keys, a busy timeout, and one
call on aiosqlite's thread per statement (`feedhub.db.onehop`)."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError, TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

__all__ = [
    "ARTICLE_COMMIT_LOCK",
    "DATABASE_DOWN",
    "DATABASE_RETRY_AFTER",
    "LEADER_LOCK",
    "MIGRATION_LOCK",
    "SERVING_LOCK",
    "USER_STATE_LOCK",
    "create_engine",
    "is_sqlite",
    "session_factory",
    "sync_url",
]

# What an unreachable or refusing database raises, from SQLAlchemy or from the socket itself
# (asyncpg's refused connection is no DBAPI error): an outage, answered 503, not a bug.
DATABASE_DOWN: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeout,
    ConnectionError,
)
# What a 503 for an outage asks clients to wait, in seconds (Retry-After).
DATABASE_RETRY_AFTER = 5

# PostgreSQL advisory lock keys (one bigint namespace per database; "feedhub" in ASCII, then a
# number, so they are unlikely to collide with another application's keys).
# Held (transaction level) from the insert of new articles to their commit: ids come from a
# sequence in call order, and only serialised commits keep them in commit order.
ARTICLE_COMMIT_LOCK = 0x66656564687562_01
# Held (session level) by the one process that runs the poll scheduler.
LEADER_LOCK = 0x66656564687562_02
# Held by a migration run on PostgreSQL until its transaction commits (migrations/env.py):
# replicas started together on a fresh database raced on creating `alembic_version`.
MIGRATION_LOCK = 0x66656564687562_03
# Held shared (session level) by every serving process for its whole life (db/serving.py); a
# rollback takes it exclusively, and is refused while any process serves.
SERVING_LOCK = 0x66656564687562_04
# With a user's id as the second key (the two-int form, a key space apart from the ones
# above), held (transaction level) while that user's read and starred marks are read and
# written: two devices' changes at once each wrote back the other's old flags.
USER_STATE_LOCK = 0x66656505


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def sync_url(url: str) -> str:
    """The same database for synchronous tools (Alembic's autogenerate check, tests)."""
    parsed = make_url(url)
    driver = {"sqlite": "pysqlite", "postgresql": "psycopg"}.get(parsed.get_backend_name())
    return parsed.set(drivername=f"{parsed.get_backend_name()}+{driver}").render_as_string(
        hide_password=False
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _skip_idle_rollbacks(engine: AsyncEngine) -> None:
    """Roll back a SQLite connection only when a transaction is open. Python's sqlite3 opens
    none for a SELECT, yet every session closed after reads rolled back twice (its own
    transaction, then the pool's reset on return), and on aiosqlite each call is a hop to
    the driver's thread: four of a signed-in read's fifteen or so, each a wake-up of
    another thread that a busy machine makes cost up to milliseconds."""
    dialect = engine.sync_engine.dialect
    rollback = dialect.do_rollback

    def do_rollback(dbapi_connection: Any) -> None:
        driver = getattr(dbapi_connection, "driver_connection", None)
        if getattr(driver, "in_transaction", True):
            rollback(dbapi_connection)

    dialect.do_rollback = do_rollback  # type: ignore[method-assign]


# Prepared statements kept per SQLite connection (the sqlite3 module's default is 128).
# Most statements an ingest prepares are used once: a batch insert of N rows, an IN list
# of N keys, one text per N. Kept, 128 of them held 18 MB per connection after a first
# ingest of 200 feeds; the few statements that repeat are cheap to prepare again.
_SQLITE_STATEMENT_CACHE = 16


def _json_loads(text: str | bytes) -> Any:
    """JSON columns (an article's enclosures, the text `null` for most) read by msgspec: the
    standard library's `json.loads` took 2.5 µs for `null`, once per listed article. What
    msgspec refuses (NaN, which `json.dumps` writes) goes to `json.loads` as before."""
    try:
        return msgspec.json.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    kwargs.setdefault("json_deserializer", _json_loads)
    if is_sqlite(url):
        kwargs.setdefault("connect_args", {}).setdefault(
            "cached_statements", _SQLITE_STATEMENT_CACHE
        )
    engine = create_async_engine(url, **kwargs)
    if is_sqlite(url):
        # Here, not at the top: the aiosqlite dialect is loaded only for a SQLite engine.
        from feedhub.db.onehop import one_hop_statements

        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        _skip_idle_rollbacks(engine)
        one_hop_statements(engine)
    return engine


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
