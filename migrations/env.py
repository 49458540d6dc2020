"""Alembic environment: async engines, batch mode on SQLite, and a connection handed in.

The app migrates on start by passing its own connection in
`config.attributes["connection"]`; the `alembic` command line builds an engine from
FEEDHUB_DATABASE_URL (or the `sqlalchemy.url` option).
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from feedhub.core.errors import ConfigError
from feedhub.db.engine import MIGRATION_LOCK, SERVING_LOCK, create_engine
from feedhub.db.migrate import include_object
from feedhub.db.models import Base

config = context.config
target_metadata = Base.metadata

if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    return (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("FEEDHUB_DATABASE_URL")
        or "sqlite+aiosqlite:///./feedhub.db"
    )


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_object=include_object,
    )


def do_run_migrations(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Two processes upgrading a fresh database at once both created `alembic_version`
        # (UniqueViolation). The second waits here until the first's transaction commits
        # (the whole run is one transaction), then reads the revision it left: nothing to do.
        # SQLite has one writer at a time already.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        # A rollback drops what live processes use (every request with a credential answered
        # 500): it runs only while no process serves, and keeps new ones waiting until done.
        if config.attributes.get("refuse_while_serving") and not connection.scalar(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SERVING_LOCK}
        ):
            raise ConfigError(
                "a `feedhub serve` is using this database: stop every replica before "
                "`feedhub migrate --to` an older revision (docs/upgrade.md)"
            )
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    engine = create_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=target_metadata, literal_binds=True, render_as_batch=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (connection := config.attributes.get("connection")) is not None:
    do_run_migrations(connection)
else:
    asyncio.run(run_async_migrations())
