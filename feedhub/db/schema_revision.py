"""Which schema revision this feedhub ships, and which one a database records, without
Alembic.

Every CLI command first checks that its database is at head (`ops.prepare_database`).
Importing Alembic only to learn "nothing to do" cost half of every command's second; the
migration files say their revisions in two plain lines, and the database in one row.
Alembic (feedhub.db.migrate) still does every real migration and every check that differs.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from feedhub.core.paths import migrations_dir
from feedhub.db.engine import create_engine

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
    database) or cannot say. Blocking."""

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
        return str(rows[0][0]) if len(rows) == 1 else None

    return asyncio.run(read())
