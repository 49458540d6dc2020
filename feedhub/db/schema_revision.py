"""Which schema revision this feedhub ships, and which one a database records, without
Alembic.

Every CLI command first checks that its database is at head (`ops.prepare_database`).
Importing Alembic only to learn "nothing to do" cost half of every command's second; the
migration files say their revisions in two plain lines, and the database in one row.
Alembic (feedhub.db.migrate) still does every real migration and every check that differs.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from feedhub.core.datadir import sqlite_path
from feedhub.core.paths import migrations_dir

__all__ = ["MigrationResult", "database_revision", "shipped_head"]


@dataclass(frozen=True, slots=True)
class MigrationResult:
    before: str | None
    after: str | None
    backup: Path | None

    @property
    def changed(self) -> bool:
        return self.before != self.after


_LINE = re.compile(r"""^(down_revision|revision)\b[^=\n]*=\s*(?:["'](\w+)["']|None)\s*$""", re.M)


def shipped_head(versions_text: list[str] | None = None) -> str | None:
    """The newest revision of the migration files (None unless exactly one head). Pure
    when given the files' texts."""
    if versions_text is None:
        folder = migrations_dir() / "versions"
        versions_text = [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.py"))]
    revisions, parents = set(), set()
    for source in versions_text:
        found = dict((name, value) for name, value in _LINE.findall(source))
        if not found.get("revision"):
            return None  # not a file we can read this way: let Alembic decide
        revisions.add(found["revision"])
        if found.get("down_revision"):
            parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def database_revision(database_url: str) -> str | None:
    """What the database's `alembic_version` records; None when it has none (a new, empty
    database) or cannot say. Blocking.

    A SQLite file is read with the standard library's sqlite3: no engine, no event loop, so
    a command at head starts one event loop (its own) and no second engine."""
    path = sqlite_path(database_url)
    if path is not None:
        return _sqlite_revision(path)
    import asyncio

    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from feedhub.db.engine import create_engine

    async def read() -> str | None:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                rows = (
                    await connection.execute(text("SELECT version_num FROM alembic_version"))
                ).all()
        except DBAPIError:
            return None
        finally:
            await engine.dispose()
        return _one(rows)

    return asyncio.run(read())


def _sqlite_revision(path: Path) -> str | None:
    # mode=rw: a missing file is an error here, not a new empty database left behind. The
    # timeout is the engine's busy_timeout (feedhub.db.engine).
    try:
        connection = sqlite3.connect(f"{path.as_uri()}?mode=rw", uri=True, timeout=10)
    except sqlite3.Error:
        return None
    try:
        return _one(connection.execute("SELECT version_num FROM alembic_version").fetchall())
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def _one(rows: Sequence[Sequence[object]]) -> str | None:
    return str(rows[0][0]) if len(rows) == 1 else None
