"""Operating commands of `feedhub`: migrate, migrate-db, backup, restore, token, config.

Kept apart from cli.py (the feed and category verbs) so each stays one screenful of jobs;
cli.py registers these with `add_parsers` and dispatches through `COMMANDS`.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from feedhub.core.config import Settings
from feedhub.core.datadir import (
    TOKEN_FILE,
    TokenFile,
    check_sqlite_location,
    load_or_create_token,
    rotate_token,
    sqlite_path,
)
from feedhub.core.errors import ConfigError, ValidationError
from feedhub.db.backup import PG_HINT, backup_name, backup_sqlite, restore_sqlite
from feedhub.db.schema_revision import MigrationResult, database_revision, shipped_head

__all__ = ["COMMANDS", "add_parsers", "admin_token", "prepare_database"]

log = logging.getLogger("feedhub")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    mig = sub.add_parser(
        "migrate", help="apply database migrations up to the newest (or --to a revision)"
    )
    mig.add_argument(
        "--to",
        default="head",
        metavar="REV",
        help="a revision to upgrade or downgrade to ('head', 'base', or e.g. 0002)",
    )
    mig.add_argument("--list", action="store_true", help="list known revisions and exit")

    backup = sub.add_parser("backup", help="copy the SQLite database (safe while serving)")
    backup.add_argument("path", nargs="?", help="backup file (default: DATA_DIR/backups/...)")

    restore = sub.add_parser("restore", help="replace the database with a backup (stop serve)")
    restore.add_argument("path", help="a file made by `feedhub backup`")

    token = sub.add_parser("token", help="print the admin token kept in the data directory")
    token.add_argument("--rotate", action="store_true", help="replace it with a new one")

    copy = sub.add_parser(
        "migrate-db",
        help="copy everything to another (empty) database, article ids kept: SQLite -> PostgreSQL",
    )
    copy.add_argument("--to", required=True, help="the target's SQLAlchemy URL")

    cfg = sub.add_parser("config", help="print the effective settings (secrets redacted)")
    cfg.add_argument("--json", action="store_true", help="as one JSON object")


def prepare_database(settings: Settings) -> MigrationResult:
    """Before any command touches the database: its place is usable, its schema current.

    A database already at head is told apart without Alembic (feedhub.db.schema_revision):
    that is most commands, and it halves their start-up."""
    check_sqlite_location(settings.database_url, settings.data_dir)
    head = shipped_head()
    exists = sqlite_path(settings.database_url) is None or _db_exists(settings)
    if head is not None and exists and database_revision(settings.database_url) == head:
        return MigrationResult(head, head, None)
    from feedhub.db.migrate import migrate

    result = migrate(settings.database_url, "head", backup_dir=settings.backup_dir)
    if result.changed:
        log.info(
            "database schema migrated from %s to %s%s",
            result.before or "empty",
            result.after,
            f" (backup: {result.backup})" if result.backup else "",
        )
    return result


def admin_token(settings: Settings) -> tuple[Settings, TokenFile | None, bool]:
    """FEEDHUB_ADMIN_TOKEN if set, else the one kept in the data directory (created once).

    Returns the settings carrying the token, the token file to watch for rotations (None
    for a token from the environment), and whether the token was generated just now.
    """
    if settings.admin_token:
        return settings, None, False
    if not settings.data_dir:
        raise ConfigError("no admin token: set FEEDHUB_ADMIN_TOKEN or FEEDHUB_DATA_DIR")
    token, created = load_or_create_token(settings.data_dir)
    source = TokenFile(Path(settings.data_dir) / TOKEN_FILE, token)
    return settings.with_(admin_token=token), source, created


# -- commands ----------------------------------------------------------------------------------
def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.db.migrate import current_revision, migrate, revisions

    if args.list:
        current = None
        if sqlite_path(settings.database_url) is None or _db_exists(settings):
            current = current_revision(settings.database_url)
        for rev in revisions():
            print(f"{rev}{'  (current)' if rev == current else ''}")
        return 0
    check_sqlite_location(settings.database_url, settings.data_dir)
    result = migrate(settings.database_url, args.to, backup_dir=settings.backup_dir)
    if not result.changed:
        print(f"feedhub: database already at revision {result.after or 'base'}")
        return 0
    print(f"feedhub: database migrated from {result.before or 'empty'} to {result.after or 'base'}")
    if result.backup:
        print(f"feedhub: backup taken before: {result.backup}")
    return 0


def _db_exists(settings: Settings) -> bool:
    path = sqlite_path(settings.database_url)
    return path is not None and path.is_file()


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    source = sqlite_path(settings.database_url)
    if source is None:
        raise ConfigError(f"cannot back up: {PG_HINT}")
    if args.path:
        dest = Path(args.path).expanduser().absolute()
        if dest.is_dir():
            dest = dest / backup_name(datetime.now(UTC))
    elif settings.backup_dir:
        dest = Path(settings.backup_dir) / backup_name(datetime.now(UTC))
    else:
        raise ValidationError("give a backup file: feedhub backup PATH")
    backup_sqlite(source, dest)
    print(dest)
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    target = sqlite_path(settings.database_url)
    if target is None:
        raise ConfigError(f"cannot restore: {PG_HINT}")
    check_sqlite_location(settings.database_url, settings.data_dir)
    backup = Path(args.path).expanduser().absolute()
    saved = None
    if target.is_file() and settings.backup_dir:
        # The database being replaced is kept too: a restore can be undone.
        saved = backup_sqlite(
            target, Path(settings.backup_dir) / backup_name(datetime.now(UTC), "before-restore")
        )
    revision = restore_sqlite(backup, target)
    print(f"feedhub: restored {backup} into {target} (schema revision {revision})")
    if saved:
        print(f"feedhub: the replaced database was saved as {saved}")
    print("feedhub: start the service again; it migrates the schema if the backup is older")
    return 0


def _token(settings: Settings, args: argparse.Namespace) -> int:
    if settings.admin_token:
        print(
            "feedhub: FEEDHUB_ADMIN_TOKEN is set: that is the token (nothing is kept in "
            "the data directory)",
            file=sys.stderr,
        )
        return 1 if args.rotate else 0
    if args.rotate:
        token = rotate_token(settings.data_dir)
        print(token)
        print(
            "feedhub: new admin token saved; a running service takes it at once (the old "
            "one stops working)",
            file=sys.stderr,
        )
        return 0
    token, _created = load_or_create_token(settings.data_dir)
    print(token)
    return 0


def _config(settings: Settings, args: argparse.Namespace) -> int:
    shown = settings.redacted()
    shown["backup_dir"] = settings.backup_dir
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
        return 0
    width = max(map(len, shown))
    for name, value in shown.items():
        print(f"{name:<{width}}  {value}")
    return 0


def _migrate_db(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from feedhub.db.copy import copy_database

    prepare_database(settings)
    copied = asyncio.run(copy_database(settings.database_url, args.to))
    for table, rows in copied.items():
        print(f"{table}: {rows} rows")
    print("done: point FEEDHUB_DATABASE_URL at the new database and restart feedhub")
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "migrate-db": _migrate_db,
    "migrate": _migrate,
    "backup": _backup,
    "restore": _restore,
    "token": _token,
    "config": _config,
}
