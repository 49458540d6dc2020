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
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

from feedhub import cli_users
from feedhub.config import Settings
from feedhub.errors import FeedhubError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from feedhub.ingest.poller import Poller

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

    cli_users.add_parser(sub)

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
    from feedhub.httpserver import protocol_with_deadlines, raise_open_file_limit
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
    open_files = raise_open_file_limit()
    if settings.max_streams == 0:
        # Leave descriptors for the database, feeds being fetched and ordinary requests.
        settings = settings.with_(max_streams=max(16, open_files - 256))
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

    Server(config).run()
    return 0


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from feedhub.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)
    print("feedhub: database is at the newest schema")
    return 0


@dataclass(slots=True)
class _Context:
    """What a command gets: a session factory, and a started poller when it fetches."""

    sessions: async_sessionmaker[AsyncSession]
    poller: Poller | None = None


def _run(
    settings: Settings, work: Callable[[_Context], Awaitable[int]], *, fetches: bool = False
) -> int:
    """Run `work(context)` against the migrated database; `fetches`: start a poller."""
    from feedhub.db import create_engine, session_factory
    from feedhub.ingest.feedstore import FeedStore
    from feedhub.ingest.poller import Poller
    from feedhub.live.bus import NullPublisher
    from feedhub.migrate import upgrade_to_head

    upgrade_to_head(settings.database_url)

    async def runner() -> int:
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        try:
            if not fetches:
                return await work(_Context(sessions))
            async with Poller(settings, FeedStore(sessions), NullPublisher()) as poller:
                return await work(_Context(sessions, poller))
        finally:
            await engine.dispose()

    return asyncio.run(runner())


def _poll(settings: Settings, args: argparse.Namespace) -> int:
    async def work(context: _Context) -> int:
        assert context.poller is not None
        outcomes = await context.poller.poll_due(include_all=args.all)
        errors = [o for o in outcomes if o.status in ("error", "disabled")]
        new = sum(len(o.new_articles) for o in outcomes)
        print(f"polled {len(outcomes)} feed(s): {new} new article(s), {len(errors)} error(s)")
        for outcome in errors:
            print(f"  feed {outcome.feed_id}: {outcome.error}")
        return 0

    return _run(settings, work, fetches=True)


def _feeds(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.catalog import feeds

    async def add(context: _Context) -> int:
        assert context.poller is not None
        async with context.sessions() as session:
            feed = await feeds.subscribe(
                session, args.url, category=args.category, title=args.title,
                allow_private=settings.allow_private_networks,
                probe=context.poller.probe_url, now=datetime.now(UTC),
            )  # fmt: skip
        print(f"added feed {feed.id}: {feed.url} ({feed.category}); first poll is due now")
        return 0

    async def list_(context: _Context) -> int:
        async with context.sessions() as session:
            found = await feeds.list_feeds(session)
        for f in found:
            health = f"error x{f.error_count}: {f.last_error}" if f.error_count else "ok"
            print(
                f"{f.id:>5}  {f.category:<16} {f.article_count:>6} articles  {health:<30} {f.url}"
            )
        if not found:
            print("no feeds yet: feedhub feeds add URL --category SLUG")
        return 0

    if args.feeds_command == "add":
        return _run(settings, add, fetches=True)
    return _run(settings, list_)


def _categories(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.catalog import categories

    async def add(context: _Context) -> int:
        async with context.sessions() as session:
            created = await categories.create_category(session, args.name, args.slug)
        print(f"added category {created.slug!r} ({created.name})")
        return 0

    async def list_(context: _Context) -> int:
        async with context.sessions() as session:
            for c in await categories.list_categories(session):
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

    from feedhub.catalog import opml

    data = b""
    if args.opml_command == "import":
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            raise ValidationError(f"cannot read {args.file}: {exc.strerror}") from None

    async def import_(context: _Context) -> int:
        report = await opml.import_opml(
            context.sessions,
            data,
            default_category=settings.default_category,
            allow_private=settings.allow_private_networks,
            now=datetime.now(UTC),
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

    async def export(context: _Context) -> int:
        async with context.sessions() as session:
            exported.append(await opml.export_opml(session))
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
    from feedhub.catalog.retention import prune_articles

    days = args.days if args.days is not None else settings.retention_days
    keep = args.keep if args.keep is not None else settings.retention_min_per_feed
    if days < 0 or keep < 0:
        raise ValidationError("--days and --keep must not be negative")

    async def work(context: _Context) -> int:
        report = await prune_articles(
            context.sessions, now=datetime.now(UTC), days=days, min_per_feed=keep
        )
        print(
            f"pruned {report.deleted} article(s) from {report.feeds} feed(s) published "
            f"before {report.cutoff:%Y-%m-%d %H:%M} UTC (kept the newest {keep} per feed)"
        )
        return 0

    return _run(settings, work)


def _users(settings: Settings, args: argparse.Namespace) -> int:
    return cli_users.run(args, lambda work: _run(settings, work))


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
