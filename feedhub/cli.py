"""The `feedhub` command. Settings are read here, once, and passed down.

Errors are one clear line on stderr and exit status 1 (2 for usage errors, argparse's).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from types import FrameType
from typing import Any

from feedhub.config import Settings
from feedhub.errors import FeedhubError, ValidationError

__all__ = ["main"]

log = logging.getLogger("feedhub")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feedhub", description="Real-time feed aggregator.")
    parser.add_argument("--database-url", help="overrides FEEDHUB_DATABASE_URL")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="migrate, then serve the web app and poll feeds")
    serve.add_argument("--host", help="overrides FEEDHUB_HOST")
    serve.add_argument("--port", type=int, help="overrides FEEDHUB_PORT")

    sub.add_parser("migrate", help="apply database migrations up to the newest")

    poll = sub.add_parser("poll", help="poll every due feed once and exit")
    poll.add_argument("--all", action="store_true", help="ignore due times: poll every feed")

    feeds = sub.add_parser("feeds", help="manage feeds").add_subparsers(
        dest="feeds_command", required=True
    )
    add = feeds.add_parser("add", help="subscribe to a feed (or a page that links one)")
    add.add_argument("url")
    add.add_argument("--category", required=True, help="category slug")
    add.add_argument("--title")
    feeds.add_parser("list", help="list feeds with their health")

    categories = sub.add_parser("categories", help="manage categories").add_subparsers(
        dest="categories_command", required=True
    )
    cat_add = categories.add_parser("add", help="create a category")
    cat_add.add_argument("name")
    cat_add.add_argument("--slug")
    categories.add_parser("list", help="list categories")

    opml = sub.add_parser("opml", help="import or export subscriptions").add_subparsers(
        dest="opml_command", required=True
    )
    opml_import = opml.add_parser("import", help="subscribe to every feed of an OPML file")
    opml_import.add_argument("file")
    opml_export = opml.add_parser("export", help="write subscriptions as OPML 2.0")
    opml_export.add_argument("file", nargs="?", help="output file (default: standard output)")

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
        settings = Settings.from_env(database_url=args.database_url)
        logging.basicConfig(
            level=settings.log_level.upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        # Every tick would be logged twice at INFO: keep APScheduler to warnings.
        logging.getLogger("apscheduler").setLevel(logging.WARNING)
        handler = _COMMANDS[args.command]
        return handler(settings, args)
    except FeedhubError as exc:
        print(f"feedhub: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


# -- commands ----------------------------------------------------------------------------------
def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from feedhub.app import create_app
    from feedhub.migrate import upgrade_to_head

    settings = settings.with_(
        host=args.host or settings.host, port=args.port if args.port else settings.port
    )
    upgrade_to_head(settings.database_url)
    if not settings.admin_token:
        settings = settings.with_(admin_token=secrets.token_urlsafe(24))
        # Printed once, to the terminal only; never logged.
        print(
            f"feedhub: generated admin token (set FEEDHUB_ADMIN_TOKEN to keep one): "
            f"{settings.admin_token}",
            flush=True,
        )
    app = create_app(settings)
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

    Server(config).run()
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from feedhub.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)
    print("feedhub: database is at the newest schema")
    return 0


def _run(settings: Settings, work: Callable[[Any], Awaitable[int]]) -> int:
    """Run `work(context)` with a database session factory and a started poller."""
    from feedhub.bus import NullPublisher
    from feedhub.db import create_engine, session_factory
    from feedhub.ingest.poller import Poller
    from feedhub.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)

    async def runner() -> int:
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        try:
            async with Poller(settings, sessions, NullPublisher()) as poller:
                return await work(poller)
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def _poll(settings: Settings, args: argparse.Namespace) -> int:
    async def work(poller: Any) -> int:
        outcomes = await poller.poll_due(include_all=args.all)
        errors = [o for o in outcomes if o.status in ("error", "disabled")]
        new = sum(len(o.new_articles) for o in outcomes)
        print(f"polled {len(outcomes)} feed(s): {new} new article(s), {len(errors)} error(s)")
        for outcome in errors:
            print(f"  feed {outcome.feed_id}: {outcome.error}")
        return 0

    return _run(settings, work)


def _feeds(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.api import catalog
    from feedhub.ingest.guard import check_feed_url

    async def add(poller: Any) -> int:
        url = await check_feed_url(args.url, allow_private=settings.allow_private_networks)
        async with poller.sessions() as session:
            await catalog.check_new_feed(session, url=url, category=args.category)
            probe = await poller.probe(url)
            feed = await catalog.create_feed(
                session, url=probe.url, category=args.category, title=args.title
            )
        print(f"added feed {feed.id}: {feed.url} ({feed.category}); first poll is due now")
        return 0

    async def list_(poller: Any) -> int:
        async with poller.sessions() as session:
            feeds = await catalog.list_feeds(session)
        for f in feeds:
            health = f"error x{f.error_count}: {f.last_error}" if f.error_count else "ok"
            print(
                f"{f.id:>5}  {f.category:<16} {f.article_count:>6} articles  {health:<30} {f.url}"
            )
        if not feeds:
            print("no feeds yet: feedhub feeds add URL --category SLUG")
        return 0

    return _run(settings, add if args.feeds_command == "add" else list_)


def _categories(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.api import catalog

    async def add(poller: Any) -> int:
        async with poller.sessions() as session:
            created = await catalog.create_category(session, args.name, args.slug)
        print(f"added category {created.slug!r} ({created.name})")
        return 0

    async def list_(poller: Any) -> int:
        async with poller.sessions() as session:
            for c in await catalog.list_categories(session):
                print(f"{c.slug:<20} {c.feed_count:>4} feeds  {c.name}")
        return 0

    return _run(settings, add if args.categories_command == "add" else list_)


def _progress(done: int, total: int) -> None:
    """A one-line progress bar on stderr (only when it is a terminal or the file is big)."""
    if total < 50 and not sys.stderr.isatty():
        return
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done == total else ""
    print(
        f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}",
        end=end,
        file=sys.stderr,
        flush=True,
    )


def _opml(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from feedhub.api import subscriptions

    data = b""
    if args.opml_command == "import":
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            raise ValidationError(f"cannot read {args.file}: {exc.strerror}") from None

    async def import_(poller: Any) -> int:
        report = await subscriptions.import_opml(
            poller.sessions,
            data,
            default_category=settings.default_category,
            allow_private=settings.allow_private_networks,
            progress=_progress,
        )
        for line in report.feeds:
            if line.status == "invalid":
                print(f"  invalid: {line.url}: {line.reason}", file=sys.stderr)
        print(
            f"imported: {report.created} created, {report.existing} already there, "
            f"{report.invalid} invalid"
        )
        return 0

    exported: list[bytes] = []

    async def export(poller: Any) -> int:
        async with poller.sessions() as session:
            exported.append(await subscriptions.export_opml(session))
        return 0

    if args.opml_command == "import":
        return _run(settings, import_)
    _run(settings, export)
    if args.file:
        Path(args.file).write_bytes(exported[0])
        print(f"wrote {args.file}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(exported[0])
        sys.stdout.flush()
    return 0


def _prune(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from feedhub.ingest.retention import prune_articles

    days = args.days if args.days is not None else settings.retention_days
    keep = args.keep if args.keep is not None else settings.retention_min_per_feed
    if days < 0 or keep < 0:
        raise ValidationError("--days and --keep must not be negative")

    async def work(poller: Any) -> int:
        report = await prune_articles(
            poller.sessions, now=datetime.now(UTC), days=days, min_per_feed=keep
        )
        print(
            f"pruned {report.deleted} article(s) from {report.feeds} feed(s) published "
            f"before {report.cutoff:%Y-%m-%d %H:%M} UTC (kept the newest {keep} per feed)"
        )
        return 0

    return _run(settings, work)


def _read_password() -> str:
    """Asked twice on a terminal; else the first line of stdin (scripts), never an argument
    (it would show in `ps` and the shell history)."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise ValidationError("the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def _users(settings: Settings, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from feedhub.db import create_engine, session_factory
    from feedhub.migrate import upgrade_to_head
    from feedhub.readers import accounts

    command = args.users_command
    password = _read_password() if command in ("add", "passwd") else ""
    upgrade_to_head(settings.database_url)

    async def work() -> str:
        engine = create_engine(settings.database_url)
        try:
            async with session_factory(engine)() as session:
                if command == "add":
                    user = await accounts.create_user(
                        session, args.name, password, args.role, datetime.now(UTC)
                    )
                    return f"added {user.role} {user.name!r}"
                if command == "passwd":
                    await accounts.update_user(session, args.name, password=password)
                    return f"new password for {args.name!r}; their sessions are ended"
                if command == "remove":
                    await accounts.delete_user(session, args.name)
                    return f"removed {args.name!r} and their read state"
                found = await accounts.list_users(session)
                lines = [f"{u.name:<24} {u.role:<7} since {u.created_at:%Y-%m-%d}" for u in found]
                return "\n".join(lines) or "no users yet: feedhub users add NAME"
        finally:
            await engine.dispose()

    print(asyncio.run(work()))
    return 0


_COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "serve": _serve,
    "migrate": _migrate,
    "poll": _poll,
    "feeds": _feeds,
    "categories": _categories,
    "opml": _opml,
    "prune": _prune,
    "users": _users,
}
