"""Who holds the database. SQLite: a lock file beside it, held by `feedhub serve` for its
whole life and by the commands that replace or reshape the database (`restore`, `migrate`)
while they run; the operating system releases it when the process dies, however it dies.
PostgreSQL: every serving process holds an advisory lock shared (service/claim.py), which a
rollback takes exclusively (migrations/env.py); PostgreSQL releases it with the session.

Replacing the database under a live service lost data: the next article reused an id the
running hub had already sent, and a rollback dropped the readers' tables under it (every
request with a credential answered 500).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from feedhub.core.datadir import sqlite_path
from feedhub.core.errors import ConfigError

__all__ = ["hold_for_serving", "while_not_serving"]


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
