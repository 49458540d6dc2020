"""The `feedhub` command. Settings are read here, once, and passed down.

Errors are one clear line on stderr and exit status 1 (2 for usage errors, argparse's).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import socket
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import FrameType
from typing import Any

from feedhub import manage, ops
from feedhub.config import Settings
from feedhub.errors import ConfigError, FeedhubError, ValidationError
from feedhub.logs import configure_logging

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
    import uvicorn

    from feedhub.app import create_app
    from feedhub.httpserver import protocol_with_deadlines, raise_open_file_limit

    settings = settings.with_(
        host=args.host or settings.host, port=args.port if args.port else settings.port
    )
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
    open_files = raise_open_file_limit()
    if settings.max_streams == 0:
        # Leave descriptors for the database, feeds being fetched and ordinary requests.
        settings = settings.with_(max_streams=max(16, open_files - 256))
    app = create_app(settings, token_file=token_file)
    services = app.state.services
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        # Open streams would keep a SIGTERM waiting forever (PITFALLS.md).
        timeout_graceful_shutdown=5,
        lifespan="on",
        access_log=settings.access_log,
        proxy_headers=True,
        log_config=None,  # our handler (feedhub.logs): one format for the whole process
        http=protocol_with_deadlines(
            settings.header_timeout_seconds, settings.body_timeout_seconds
        ),
        # Past this many connections uvicorn answers 503 itself, before descriptors run out.
        limit_concurrency=max(64, open_files - 64),
    )

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # End every open stream cleanly first, so EventSource clients reconnect
            # (to the next process) instead of waiting out the graceful timeout.
            loop = getattr(self, "_feedhub_loop", None)
            if loop is not None:
                loop.call_soon_threadsafe(services.hub.end_all, "shutdown")
            super().handle_exit(sig, frame)
            # uvicorn re-raises a captured SIGTERM after its graceful shutdown, so the process
            # would die of the signal (status 143); a finished graceful shutdown exits 0.
            if sig == signal.SIGTERM:
                self._captured_signals.remove(sig)

        async def startup(self, sockets: Any = None) -> None:
            self._feedhub_loop = asyncio.get_running_loop()
            await super().startup(sockets=sockets)
            print(f"feedhub: listening on http://{settings.host}:{settings.port}", flush=True)

    Server(config).run(sockets=[listener])
    return 0


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
