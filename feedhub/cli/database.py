"""`feedhub migrate`, `migrate-db`, `backup`, `restore` and `prune`: the database's schema,
its copies, and the articles it keeps.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from feedhub.cli.context import Context, Subparsers, database_exists, prepare_database, run
from feedhub.core.config import Settings
from feedhub.core.datadir import check_sqlite_location, sqlite_path
from feedhub.core.errors import ConfigError, ValidationError

__all__ = ["add_backup", "add_migrate", "add_migrate_db", "add_prune", "add_restore"]


def add_migrate(sub: Subparsers) -> None:
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
    mig.set_defaults(handler=_migrate)


def add_backup(sub: Subparsers) -> None:
    backup = sub.add_parser("backup", help="copy the SQLite database (safe while serving)")
    backup.add_argument("path", nargs="?", help="backup file (default: DATA_DIR/backups/...)")
    backup.set_defaults(handler=_backup)


def add_restore(sub: Subparsers) -> None:
    restore = sub.add_parser("restore", help="replace the database with a backup (stop serve)")
    restore.add_argument("path", help="a file made by `feedhub backup`")
    restore.set_defaults(handler=_restore)


def add_migrate_db(sub: Subparsers) -> None:
    copy = sub.add_parser(
        "migrate-db",
        help="copy everything to another (empty) database, article ids kept: SQLite -> PostgreSQL",
    )
    copy.add_argument("--to", required=True, help="the target's SQLAlchemy URL")
    copy.set_defaults(handler=_migrate_db)


def add_prune(sub: Subparsers) -> None:
    prune = sub.add_parser("prune", help="delete old articles now (retention)")
    prune.add_argument("--days", type=int, help="overrides FEEDHUB_RETENTION_DAYS")
    prune.add_argument("--keep", type=int, help="overrides FEEDHUB_RETENTION_MIN_PER_FEED")
    prune.set_defaults(handler=_prune)


# Each handler imports what it uses: every command builds these verbs' parsers, and only
# the command run needs their modules.


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.db.migrate import current_revision, migrate, revisions
    from feedhub.db.serving import while_not_serving

    if args.list:
        current = None
        if sqlite_path(settings.database_url) is None or database_exists(settings):
            current = current_revision(settings.database_url)
        for rev in revisions():
            print(f"{rev}{'  (current)' if rev == current else ''}")
        return 0
    check_sqlite_location(settings.database_url, settings.data_dir)
    with while_not_serving(settings.database_url, "migrate"):
        result = migrate(settings.database_url, args.to, backup_dir=settings.backup_dir)
    if not result.changed:
        print(f"feedhub: database already at revision {result.after or 'base'}")
        return 0
    print(f"feedhub: database migrated from {result.before or 'empty'} to {result.after or 'base'}")
    if result.backup:
        print(f"feedhub: backup taken before: {result.backup}")
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.db.backup import PG_HINT, backup_name, backup_sqlite

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
    from feedhub.db.backup import PG_HINT, backup_name, backup_sqlite, check_backup, restore_sqlite
    from feedhub.db.migrate import revisions
    from feedhub.db.models import Base
    from feedhub.db.serving import while_not_serving

    target = sqlite_path(settings.database_url)
    if target is None:
        raise ConfigError(f"cannot restore: {PG_HINT}")
    check_sqlite_location(settings.database_url, settings.data_dir)
    backup = Path(args.path).expanduser().absolute()
    # Checked before anything is replaced or saved: a refused restore leaves no trace.
    head_schema = {
        name: [c.name for c in table.columns] for name, table in Base.metadata.tables.items()
    }
    check_backup(backup, revisions(), head_schema)
    with while_not_serving(settings.database_url, "restore"):
        saved = None
        if target.is_file() and settings.backup_dir:
            # The database being replaced is kept too: a restore can be undone.
            name = backup_name(datetime.now(UTC), "before-restore", precise=True)
            saved = backup_sqlite(target, Path(settings.backup_dir) / name)
        try:
            revision = restore_sqlite(backup, target)
        except Exception:
            if saved is not None:
                saved.unlink(missing_ok=True)
            raise
    print(f"feedhub: restored {backup} into {target} (schema revision {revision})")
    if saved:
        print(f"feedhub: the replaced database was saved as {saved}")
    print("feedhub: start the service again; it migrates the schema if the backup is older")
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


def _prune(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.catalog.retention import prune_articles

    days = args.days if args.days is not None else settings.retention_days
    keep = args.keep if args.keep is not None else settings.retention_min_per_feed
    if days < 0 or keep < 0:
        raise ValidationError("--days and --keep must not be negative")

    async def work(context: Context) -> int:
        report = await prune_articles(
            context.sessions, now=datetime.now(UTC), days=days, min_per_feed=keep
        )
        print(
            f"pruned {report.deleted} article(s) from {report.feeds} feed(s) published "
            f"before {report.cutoff:%Y-%m-%d %H:%M} UTC (kept the newest {keep} per feed)"
        )
        return 0

    return run(settings, work)
