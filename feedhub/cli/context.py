"""What every command that touches the database shares: the database made ready
(`prepare_database`), then a `Context` (sessions, and a started poller for commands that
fetch) handed to the command's work by `run`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeAlias

from feedhub.core.config import Settings
from feedhub.core.datadir import check_sqlite_location, sqlite_path
from feedhub.core.errors import ConfigError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from feedhub.db.schema_revision import MigrationResult
    from feedhub.ingest.poller import Poller

__all__ = ["Command", "Context", "Subparsers", "database_exists", "prepare_database", "run"]

log = logging.getLogger("feedhub")

Subparsers: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
# What a verb's parser sets as `handler`: the settings and the parsed arguments in, the
# exit status out.
Command: TypeAlias = Callable[[Settings, argparse.Namespace], int]


def database_exists(settings: Settings) -> bool:
    path = sqlite_path(settings.database_url)
    return path is not None and path.is_file()


def prepare_database(settings: Settings, *, upgrade: bool = False) -> MigrationResult:
    """Before any command touches the database: its place is usable, its schema current.

    A database already at head is told apart without Alembic (feedhub.db.schema_revision):
    that is most commands, and it halves their start-up. An existing schema is upgraded only
    when `upgrade` says so (`serve`; `migrate` migrates by itself): after a rollback
    (`migrate --to REV`) any other command of the newer version upgraded it again, undoing
    the rollback; now it refuses. A new, empty database is created at head by anyone.
    (Imported here, not at the top: `feedhub --help` and the verbs that never open a
    database import no SQLAlchemy.)"""
    from feedhub.db.schema_revision import MigrationResult, database_revision, shipped_head

    check_sqlite_location(settings.database_url, settings.data_dir)
    head = shipped_head()
    exists = sqlite_path(settings.database_url) is None or database_exists(settings)
    current = database_revision(settings.database_url) if head is not None and exists else None
    if head is not None and current == head:
        return MigrationResult(head, head, None)
    from feedhub.db.migrate import migrate, revisions
    from feedhub.db.serving import while_not_serving

    # (A revision this feedhub does not know is refused by `migrate`, with the way back.)
    if not upgrade and current is not None and current in revisions():
        raise ConfigError(
            f"the database is at schema revision {current} and this feedhub expects {head}: "
            "it was rolled back, or not upgraded yet. Run `feedhub migrate` to upgrade it "
            "(or `feedhub serve`, which upgrades on start), or use the feedhub version that "
            "matches it (docs/upgrade.md)"
        )
    # Not under a live `serve` of another version (SQLite: it holds the file).
    with while_not_serving(settings.database_url, "serve"):
        result = migrate(settings.database_url, "head", backup_dir=settings.backup_dir)
    if result.changed:
        log.info(
            "database schema migrated from %s to %s%s",
            result.before or "empty",
            result.after,
            f" (backup: {result.backup})" if result.backup else "",
        )
    return result


@dataclass(slots=True)
class Context:
    """What a command gets: a session factory, and a started poller when it fetches."""

    sessions: async_sessionmaker[AsyncSession]
    poller: Poller | None = None


def run(
    settings: Settings, work: Callable[[Context], Awaitable[int]], *, fetches: bool = False
) -> int:
    """Run `work(context)` against the migrated database; `fetches`: start a poller."""
    import asyncio  # here: a command that runs no event loop (`feeds list`) imports none

    from feedhub.db.engine import create_engine, session_factory

    prepare_database(settings)

    async def runner() -> int:
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        if not fetches:  # (and the poller, the bus and Litestar are not even imported)
            try:
                return await work(Context(sessions))
            finally:
                await engine.dispose()
        from feedhub.ingest.feedstore import FeedStore
        from feedhub.ingest.poller import Poller
        from feedhub.live.bus import Bus, NullPublisher, Publisher, bus_kind, open_bus

        # On a shared bus, what this command stores rings the web processes' doorbells too.
        bus: Bus | None = None
        publisher: Publisher = NullPublisher()
        if bus_kind(settings.bus_url) != "memory":
            publisher = bus = open_bus(settings.bus_url)
        try:
            # Claims carry our pid on SQLite (one machine): a crash does not leave them held.
            local = settings.database_url.startswith("sqlite")
            store = FeedStore(sessions, claimer=(lambda: os.getpid()) if local else lambda: None)
            async with Poller(settings, store, publisher) as poller:
                return await work(Context(sessions, poller))
        finally:
            if bus is not None:
                await bus.close()
            await engine.dispose()

    return asyncio.run(runner())
