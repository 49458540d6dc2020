"""The `feedhub` command. Settings are read here, once, and passed down.

One module per group of verbs: `serve`; `feeds` (and `poll`), `categories`, `opml`,
`users`; `database` (migrate, migrate-db, backup, restore, prune); `settings` (config,
token). Each verb's parser names its handler; `context` is what they share (the database
made ready, its sessions, a poller for the verbs that fetch). The verb modules do not
import one another.

Errors are one clear line on stderr and exit status 1 (2 for usage errors, argparse's).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from feedhub.cli.categories import add_categories
from feedhub.cli.context import Command
from feedhub.cli.database import add_backup, add_migrate, add_migrate_db, add_prune, add_restore
from feedhub.cli.feeds import add_feeds, add_poll
from feedhub.cli.opml import add_opml
from feedhub.cli.serve import add_serve
from feedhub.cli.settings import add_config, add_token
from feedhub.cli.users import add_users
from feedhub.core.config import Settings
from feedhub.core.errors import FeedhubError
from feedhub.core.logs import configure_logging

__all__ = ["main"]

# In the order `feedhub --help` lists the verbs.
_VERBS = (
    add_serve,
    add_migrate,
    add_backup,
    add_restore,
    add_token,
    add_migrate_db,
    add_config,
    add_feeds,
    add_categories,
    add_opml,
    add_poll,
    add_users,
    add_prune,
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedhub", description="Real-time feed aggregator.")
    parser.add_argument("--database-url", help="overrides FEEDHUB_DATABASE_URL")
    parser.add_argument("--data-dir", help="overrides FEEDHUB_DATA_DIR")
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _VERBS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)
        configure_logging(settings.log_level, settings.log_json, access_log=settings.access_log)
        handler: Command = args.handler
        return handler(settings, args)
    except FeedhubError as exc:
        print(f"feedhub: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


class _VersionAction(argparse.Action):
    """argparse's "version" action, but the version is looked up only when asked for:
    importlib.metadata costs tens of milliseconds, on every command otherwise."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *args: object) -> None:
        print(f"feedhub {_version()}")  # on stdout, as argparse's own action does
        parser.exit()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("feedhub")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"
