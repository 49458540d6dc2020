"""SQLite backups and restores through SQLite's online backup API.

The backup API copies a consistent snapshot page by page while other connections keep
reading and writing (WAL mode), so `feedhub backup` runs beside a serving, polling
feedhub. PostgreSQL has its own tools (pg_dump / pg_restore); feedhub does not wrap them.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Collection, Mapping
from datetime import datetime
from pathlib import Path

from feedhub.core.errors import ConfigError, ValidationError

__all__ = [
    "PG_HINT",
    "backup_name",
    "backup_sqlite",
    "check_backup",
    "describe_backup",
    "restore_sqlite",
]

PG_HINT = (
    "this database is PostgreSQL: back it up with pg_dump (e.g. `pg_dump -Fc -f feedhub.dump "
    "DBNAME`) and restore with pg_restore; see docs/upgrade.md"
)
# Pages copied per step: small steps let the serving process write between them.
_PAGES_PER_STEP = 1024


# Tables every feedhub database has had since its first revision.
_CORE_TABLES = ("category", "feed", "article")


def backup_name(now: datetime, label: str = "backup", *, precise: bool = False) -> str:
    """`feedhub-<label>-20261127T104501Z.db`: sorts by time, says why it was taken.
    `precise`: to the microsecond, for backups a command takes by itself (two restores in
    one second collided on the name)."""
    stamp = f"{now:%Y%m%dT%H%M%S.%f}" if precise else f"{now:%Y%m%dT%H%M%S}"
    return f"feedhub-{label}-{stamp}Z.db"


def backup_sqlite(source: Path, dest: Path) -> Path:
    """Copy the live database `source` to `dest` (a new file) and return `dest`."""
    if not source.is_file():
        raise ValidationError(f"no database at {source}: nothing to back up")
    if dest.exists():
        raise ValidationError(f"{dest} already exists: choose another backup file name")
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
        out = sqlite3.connect(tmp)
        try:
            src.backup(out, pages=_PAGES_PER_STEP)
            # A backup must stand alone: no -wal file beside it.
            out.execute("PRAGMA journal_mode=DELETE")
        finally:
            out.close()
            src.close()
        os.chmod(tmp, 0o600)
        os.replace(tmp, dest)
    except sqlite3.Error as exc:
        raise ConfigError(f"backup of {source} to {dest} failed: {exc}") from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def describe_backup(path: Path) -> str:
    """The schema revision of a backup file; refuses files that are not feedhub databases."""
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if db.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise ValidationError(f"{path} is damaged (SQLite quick_check failed)")
            row = db.execute("SELECT version_num FROM alembic_version").fetchone()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise ValidationError(f"{path} is not a feedhub database: {exc}") from None
    if row is None:
        raise ValidationError(f"{path} is not a feedhub database: no schema revision")
    return str(row[0])


def check_backup(path: Path, known: list[str], head_schema: Mapping[str, Collection[str]]) -> str:
    """The backup's revision, once it is known to this feedhub and the file has the tables
    (and, at head, the columns) of that revision; ValidationError otherwise. Reads only.

    A file holding nothing but `alembic_version` was accepted and replaced the database,
    and `serve` then failed to start."""
    if not path.is_file():
        raise ValidationError(f"no backup file at {path}")
    revision = describe_backup(path)
    if revision not in known:
        raise ValidationError(
            f"{path} is at schema revision {revision}, which this feedhub does not know: a "
            "newer feedhub made it"
        )
    expected = head_schema if revision == known[-1] else dict.fromkeys(_CORE_TABLES, ())
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        missing: list[str] = []
        for table, columns in expected.items():
            found = {row[1] for row in db.execute(f'PRAGMA table_info("{table}")')}
            if not found:
                missing.append(f"table {table}")
            missing.extend(f"column {table}.{c}" for c in columns if found and c not in found)
    finally:
        db.close()
    if missing:
        raise ValidationError(
            f"{path} is not a complete feedhub database at revision {revision}: missing "
            + ", ".join(missing[:5])
            + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        )
    return revision


def restore_sqlite(backup: Path, target: Path) -> str:
    """Replace the database at `target` with the backup's content; returns its revision.

    Written through the backup API into the target (not a file copy), so the target's WAL
    and shared-memory files stay consistent. Stop the service first: a process still
    holding the old database open would keep serving what it has cached.
    """
    if not backup.is_file():
        raise ValidationError(f"no backup file at {backup}")
    revision = describe_backup(backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
        finally:
            dst.close()
            src.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"restore of {backup} into {target} failed: {exc}") from None
    return revision
