"""Alembic migrations: to head on start (`feedhub serve`, `feedhub migrate`), or to a given
revision (`feedhub migrate --to REV`) when rolling back; a backup of a SQLite database is
taken first whenever a migration is about to change an existing one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from feedhub.core.datadir import sqlite_path
from feedhub.core.errors import ConfigError, ValidationError
from feedhub.core.paths import migrations_dir
from feedhub.db.backup import backup_name, backup_sqlite
from feedhub.db.engine import create_engine
from feedhub.db.schema_revision import MigrationResult

__all__ = [
    "MigrationResult",
    "alembic_config",
    "current_revision",
    "head_revision",
    "include_object",
    "migrate",
    "revisions",
    "upgrade_to_head",
]

log = logging.getLogger(__name__)
T = TypeVar("T")


class _QuietAlembic(logging.Filter):
    """Alembic says which dialect it talks to before every run: noise for our users."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not message.startswith(("Context impl ", "Will assume "))


logging.getLogger("alembic.runtime.migration").addFilter(_QuietAlembic())


def alembic_config(database_url: str) -> Config:
    # No alembic.ini: an installed feedhub has none, and its logging section would fight
    # ours. The script folder comes from the package (paths.migrations_dir).
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["skip_logging"] = True
    return config


def _blocking(fn: Callable[[], T]) -> T:
    """migrations/env.py runs its own event loop, so when this thread already runs one
    (a caller inside async code), the work runs in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(fn).result()


def revisions() -> list[str]:
    """Every revision this feedhub knows, oldest first (the history is linear)."""
    script = ScriptDirectory(str(migrations_dir()))
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str | None:
    """The newest migration this code ships (what a database at head records: /readyz)."""
    return ScriptDirectory(str(migrations_dir())).get_current_head()


def current_revision(database_url: str) -> str | None:
    """The database's schema revision; None for an empty database."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def run() -> str | None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return _blocking(lambda: asyncio.run(run()))


def _resolve(target: str, known: list[str]) -> str | None:
    if target == "head":
        return known[-1]
    if target == "base":
        return None
    if target not in known:
        raise ValidationError(
            f"unknown revision {target!r}: this feedhub knows {', '.join(known)} "
            "(and 'head', 'base')"
        )
    return target


def migrate(
    database_url: str,
    target: str = "head",
    *,
    backup_dir: str | Path | None = None,
    now: datetime | None = None,
) -> MigrationResult:
    """Bring the schema to `target`, up or down. Blocking.

    Nothing runs (and Alembic says nothing) when the schema is already there. Before an
    existing SQLite database is changed, a backup goes to `backup_dir` (when given).
    """
    known = revisions()
    goal = _resolve(target, known)
    before = current_revision(database_url)
    if before is not None and before not in known:
        raise ConfigError(
            f"the database is at schema revision {before}, which this feedhub version does "
            "not know: a newer feedhub migrated it. Either run `feedhub migrate --to "
            f"{known[-1]}` with that newer version before going back to this one, or restore "
            "the backup taken before the upgrade (`feedhub restore FILE`, docs/upgrade.md)"
        )
    if before == goal:
        return MigrationResult(before, goal, None)
    backup = None
    source = sqlite_path(database_url)
    if before is not None and backup_dir is not None and source is not None:
        stamp = now or datetime.now(UTC)
        name = backup_name(stamp, f"before-{before}-to-{goal or 'base'}")
        backup = backup_sqlite(source, Path(backup_dir) / name)
        log.info("backed up the database to %s before migrating", backup)
    up = goal is not None and (before is None or known.index(goal) > known.index(before))
    config = alembic_config(database_url)
    if up:
        _blocking(lambda: command.upgrade(config, goal or "head"))
    else:
        # Refused on PostgreSQL while a process serves (migrations/env.py); on SQLite the
        # CLI holds the file's lock already (db/serving.py).
        config.attributes["refuse_while_serving"] = True
        _blocking(lambda: command.downgrade(config, goal or "base"))
    return MigrationResult(before, goal, backup)


def upgrade_to_head(database_url: str, backup_dir: str | Path | None = None) -> MigrationResult:
    return migrate(database_url, "head", backup_dir=backup_dir)


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Hide the full-text search objects (migration 0002) from autogenerate: they are
    maintained by triggers or generated by the database, not by the ORM models."""
    if type_ == "table" and name and name.startswith("article_fts"):
        return False
    return not (
        type_ in ("column", "index") and name in ("search_vector", "ix_article_search_vector")
    )
