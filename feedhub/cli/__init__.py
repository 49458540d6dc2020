"""The `feedhub` command. Settings are read here, once, and passed down.

Errors are one clear line on stderr and exit status 1 (2 for usage errors, argparse's).
"""

from __future__ import annotations

import argparse
import logging
import socket
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from feedhub.cli import manage, ops
from feedhub.core.config import Settings
from feedhub.core.errors import ConfigError, FeedhubError, ValidationError
from feedhub.core.logs import configure_logging

__all__ = ["main"]

log = logging.getLogger("feedhub")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedhub", description="Real-time feed aggregator.")
    parser.add_argument("--database-url", help="overrides FEEDHUB_DATABASE_URL")
    parser.add_argument("--data-dir", help="overrides FEEDHUB_DATA_DIR")
    parser.add_argument("--version", action="version", version=f"feedhub {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve the web app and poll feeds")
    serve.add_argument("--host", help="overrides FEEDHUB_HOST")
    serve.add_argument("--port", type=int, help="overrides FEEDHUB_PORT")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (needs PostgreSQL and a Redis or PostgreSQL bus)",
    )

    ops.add_parsers(sub)
    manage.add_parsers(sub)

    poll = sub.add_parser("poll", help="poll every due feed once and exit")
    poll.add_argument("--all", action="store_true", help="ignore due times: poll every feed")

    users = sub.add_parser("users", help="manage readers and admins").add_subparsers(
        dest="users_command", required=True
    )
    user_add = users.add_parser("add", help="create a user (password from a prompt or stdin)")
    user_add.add_argument("name")
    user_add.add_argument("--role", choices=["reader", "admin"], default="reader")
    users.add_parser("list", help="list users")
    users.add_parser("passwd", help="set a user's password (ends their sessions)").add_argument(
        "name"
    )
    users.add_parser("remove", help="delete a user with their state").add_argument("name")

    prune = sub.add_parser("prune", help="delete old articles now (retention)")
    prune.add_argument("--days", type=int, help="overrides FEEDHUB_RETENTION_DAYS")
    prune.add_argument("--keep", type=int, help="overrides FEEDHUB_RETENTION_MIN_PER_FEED")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = Settings.from_env(database_url=args.database_url, data_dir=args.data_dir)
        configure_logging(settings.log_level, settings.log_json)
        handler = _COMMANDS[args.command]
        return handler(settings, args)
    except FeedhubError as exc:
        print(f"feedhub: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("feedhub")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def _listen(host: str, port: int) -> socket.socket:
    """Bind the port before anything else starts (issue 11: a busy port used to be found
    after migrating and starting the poller, behind a 60-line traceback). uvicorn is then
    handed this very socket, so nothing can take the port in between."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc} (is another feedhub "
            "running? choose another --port or FEEDHUB_PORT)"
        ) from None
    sock.set_inheritable(True)
    return sock


# -- commands ----------------------------------------------------------------------------------
def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.service.serve import refusal, serve

    settings = settings.with_(
        host=args.host or settings.host, port=args.port if args.port else settings.port
    )
    # A topology that cannot work is refused before the port or the database is touched.
    if (reason := refusal(settings.database_url, settings.bus_url, args.workers)) is not None:
        raise ValidationError(reason)
    listener = _listen(settings.host, settings.port)
    try:
        ops.prepare_database(settings)
        settings, token_file, created = ops.admin_token(settings)
    except BaseException:
        listener.close()
        raise
    if created:
        # Printed once, to the terminal only; never logged. Kept in the data directory.
        print(
            f"feedhub: generated admin token (kept in {settings.data_dir}; "
            f"`feedhub token` shows it again): {settings.admin_token}",
            flush=True,
        )
    return serve(settings, workers=args.workers, token_file=token_file, listener=listener)


def _poll(settings: Settings, args: argparse.Namespace) -> int:
    async def work(context: manage.Context) -> int:
        assert context.poller is not None
        outcomes = await context.poller.poll_due(include_all=args.all)
        errors = [o for o in outcomes if o.status in ("error", "disabled")]
        new = sum(len(o.new_articles) for o in outcomes)
        print(f"polled {len(outcomes)} feed(s): {new} new article(s), {len(errors)} error(s)")
        for outcome in errors:
            print(f"  feed {outcome.feed_id}: {outcome.error}")
        return 0

    return manage.run(settings, work, fetches=True)


def _prune(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.catalog.retention import prune_articles

    days = args.days if args.days is not None else settings.retention_days
    keep = args.keep if args.keep is not None else settings.retention_min_per_feed
    if days < 0 or keep < 0:
        raise ValidationError("--days and --keep must not be negative")

    async def work(context: manage.Context) -> int:
        report = await prune_articles(
            context.sessions, now=datetime.now(UTC), days=days, min_per_feed=keep
        )
        print(
            f"pruned {report.deleted} article(s) from {report.feeds} feed(s) published "
            f"before {report.cutoff:%Y-%m-%d %H:%M} UTC (kept the newest {keep} per feed)"
        )
        return 0

    return manage.run(settings, work)


def _read_password() -> str:
    """Twice on a terminal, else stdin's first line; never an argument (`ps` shows those)."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValidationError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _users(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.readers.accounts import users_command

    password = _read_password() if args.users_command in ("add", "passwd") else ""

    async def work(ctx: manage.Context) -> int:
        async with ctx.sessions() as session:
            print(await users_command(session, args, password, datetime.now(UTC)))
        return 0

    return manage.run(settings, work)


_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": _serve,
    **ops.COMMANDS,
    "poll": _poll,
    **manage.COMMANDS,
    "prune": _prune,
    "users": _users,
}
