"""`feedhub feeds|categories|opml`: the catalogue verbs of the command line.

Every verb exits non-zero when it did not do all it was asked (issue 11: an OPML import
that refused entries used to exit 0); errors are one line on stderr (cli.main).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from feedhub.cli.ops import prepare_database
from feedhub.core.config import Settings
from feedhub.core.errors import FeedhubError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from feedhub.ingest.poller import Poller

__all__ = ["COMMANDS", "Context", "add_parsers", "feed_state", "run"]


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feeds = sub.add_parser("feeds", help="manage feeds").add_subparsers(
        dest="feeds_command", required=True
    )
    add = feeds.add_parser("add", help="subscribe to a feed (or a page that links one)")
    add.add_argument("url")
    add.add_argument("--category", required=True, help="category slug")
    add.add_argument("--title")
    listing = feeds.add_parser("list", help="list feeds: title, category, state, last poll")
    listing.add_argument("--category", help="only this category (slug)")
    listing.add_argument("--failing", action="store_true", help="only failing feeds")
    listing.add_argument("--json", action="store_true", help="as JSON, one array")
    for verb, text in (
        ("delete", "unsubscribe: delete feeds and their articles"),
        ("disable", "stop polling feeds (articles stay)"),
        ("enable", "poll feeds again, at once"),
    ):
        one = feeds.add_parser(verb, help=text)
        one.add_argument("ids", nargs="+", type=int, metavar="ID")
    move = feeds.add_parser("move", help="move feeds to another category")
    move.add_argument("ids", nargs="+", type=int, metavar="ID")
    move.add_argument("--to", required=True, dest="category", help="category slug")
    edit = feeds.add_parser("edit", help="change a feed's title, category or poll interval")
    edit.add_argument("id", type=int)
    edit.add_argument("--title", help="a title ('' clears it: the feed's own is used)")
    edit.add_argument("--category", help="category slug")
    edit.add_argument(
        "--poll-interval", help="seconds between polls, or 'auto' (adaptive, the default)"
    )

    categories = sub.add_parser("categories", help="manage categories").add_subparsers(
        dest="categories_command", required=True
    )
    cat_add = categories.add_parser("add", help="create a category")
    cat_add.add_argument("name")
    cat_add.add_argument("--slug")
    categories.add_parser("list", help="list categories")
    rename = categories.add_parser("rename", help="give a category a new name (slug stays)")
    rename.add_argument("slug")
    rename.add_argument("name")
    cat_delete = categories.add_parser("delete", help="delete an empty category")
    cat_delete.add_argument("slug")

    opml = sub.add_parser("opml", help="import or export subscriptions").add_subparsers(
        dest="opml_command", required=True
    )
    opml_import = opml.add_parser("import", help="subscribe to every feed of an OPML file")
    opml_import.add_argument("file")
    opml_export = opml.add_parser("export", help="write subscriptions as OPML 2.0")
    opml_export.add_argument("file", nargs="?", help="output file (default: standard output)")


@dataclass(slots=True)
class Context:
    """What a command gets: a session factory, and a started poller when it fetches."""

    sessions: async_sessionmaker[AsyncSession]
    poller: Poller | None = None


def run(
    settings: Settings, work: Callable[[Context], Awaitable[int]], *, fetches: bool = False
) -> int:
    """Run `work(context)` against the migrated database; `fetches`: start a poller."""
    from feedhub.db.engine import create_engine, session_factory

    prepare_database(settings)

    async def runner() -> int:
        engine = create_engine(settings.database_url)
        sessions = session_factory(engine)
        if not fetches:  # (and the poller, the bus and Litestar are not even imported)
            try:
                return await work(Context(sessions))
            finally:
                await engine.dispose()
        from feedhub.ingest.feedstore import FeedStore
        from feedhub.ingest.poller import Poller
        from feedhub.live.bus import Bus, NullPublisher, Publisher, bus_kind, open_bus

        # On a shared bus, what this command stores rings the web processes' doorbells too.
        bus: Bus | None = None
        publisher: Publisher = NullPublisher()
        if bus_kind(settings.bus_url) != "memory":
            publisher = bus = open_bus(settings.bus_url)
        try:
            # Claims carry our pid on SQLite (one machine): a crash does not leave them held.
            local = settings.database_url.startswith("sqlite")
            store = FeedStore(sessions, claimer=(lambda: os.getpid()) if local else lambda: None)
            async with Poller(settings, store, publisher) as poller:
                return await work(Context(sessions, poller))
        finally:
            if bus is not None:
                await bus.close()
            await engine.dispose()

    return asyncio.run(runner())


# -- feeds -------------------------------------------------------------------------------------
def feed_state(feed: Any) -> str:
    """never polled / ok / failing (n in a row): error / disabled (why)."""
    if not feed.enabled:
        return f"disabled ({feed.disabled_reason})" if feed.disabled_reason else "disabled"
    if feed.error_count:
        return f"failing ({feed.error_count} in a row): {feed.last_error or 'unknown error'}"
    if feed.last_polled_at is None:
        return "never polled"
    return "ok"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_feeds(feeds: list[Any]) -> None:
    """One line per feed; the state is cut to 40 characters (`--json` has all of it)."""
    head = f"{'ID':>5}  {'TITLE':<32} {'CATEGORY':<16} {'LAST POLL (UTC)':<16} {'ARTICLES':>8}"
    print(f"{head}  {'STATE':<40} URL")
    for f in feeds:
        title = _clip(f.title or "(no title)", 32)
        print(
            f"{f.id:>5}  {title:<32} {_clip(f.category, 16):<16} {_when(f.last_polled_at):<16} "
            f"{f.article_count:>8}  {_clip(feed_state(f), 40):<40} {f.url}"
        )


def _feeds(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.catalog import feeds as catalog
    from feedhub.catalog.views import FeedChanges

    command = args.feeds_command

    async def add(context: Context) -> int:
        assert context.poller is not None
        async with context.sessions() as session:
            feed = await catalog.subscribe(
                session, args.url, category=args.category, title=args.title,
                allow_private=settings.allow_private_networks,
                probe=context.poller.probe_url, now=datetime.now(UTC),
            )  # fmt: skip
        print(f"added feed {feed.id}: {feed.url} ({feed.category}); first poll is due now")
        return 0

    async def list_(context: Context) -> int:
        async with context.sessions() as session:
            feeds = await catalog.list_feeds(session)
        if args.category:
            feeds = [f for f in feeds if f.category == args.category]
        if args.failing:
            feeds = [f for f in feeds if f.enabled and f.error_count]
        if args.json:
            sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(feeds)) + b"\n")
        elif feeds:
            _print_feeds(feeds)
        elif not (args.category or args.failing):
            print("no feeds yet: feedhub feeds add URL --category SLUG")
        return 0

    def change(**fields: Any) -> FeedChanges:
        return FeedChanges(**fields)

    async def each(context: Context) -> int:
        """delete/disable/enable/move: every id is tried; any failure makes the exit 1."""
        failed = 0
        for feed_id in args.ids:
            try:
                async with context.sessions() as session:
                    if command == "delete":
                        await catalog.delete_feed(session, feed_id)
                        print(f"deleted feed {feed_id}")
                        continue
                    update = {
                        "disable": lambda: change(enabled=False),
                        "enable": lambda: change(enabled=True),
                        "move": lambda: change(category=args.category),
                    }[command]()
                    feed = await catalog.update_feed(
                        session, feed_id, update, now=datetime.now(UTC)
                    )
                    print(f"feed {feed.id} ({feed.title or feed.url}): {_done(command, feed)}")
            except FeedhubError as exc:
                failed += 1
                print(f"feedhub: error: {exc}", file=sys.stderr)
        return 1 if failed else 0

    async def edit(context: Context) -> int:
        fields: dict[str, Any] = {}
        if args.title is not None:
            fields["title"] = args.title.strip() or None
        if args.category is not None:
            fields["category"] = args.category
        if args.poll_interval is not None:
            fields["poll_interval"] = _interval(args.poll_interval, settings)
        if not fields:
            raise ValidationError("nothing to change: give --title, --category or --poll-interval")
        async with context.sessions() as session:
            feed = await catalog.update_feed(
                session, args.id, change(**fields), now=datetime.now(UTC)
            )
        every = f"every {feed.poll_interval} s" if feed.poll_interval else "adaptive polling"
        print(f"feed {feed.id}: {feed.title or feed.url} ({feed.category}), {every}")
        return 0

    work = {"add": add, "list": list_, "edit": edit}.get(command, each)
    return run(settings, work, fetches=command == "add")


def _done(command: str, feed: Any) -> str:
    return {"disable": "disabled", "enable": "enabled, polled now"}.get(
        command, f"moved to {feed.category}"
    )


def _interval(raw: str, settings: Settings) -> int | None:
    if raw.strip().lower() in ("auto", "adaptive", ""):
        return None
    try:
        seconds = int(raw)
    except ValueError:
        raise ValidationError(f"--poll-interval {raw!r}: give seconds or 'auto'") from None
    low, high = settings.min_poll_interval, settings.max_poll_interval
    if not low <= seconds <= high:
        raise ValidationError(f"--poll-interval must be between {low} and {high} seconds")
    return seconds


# -- categories --------------------------------------------------------------------------------
def _categories(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.catalog import categories as catalog

    command = args.categories_command

    async def work(context: Context) -> int:
        async with context.sessions() as session:
            if command == "add":
                created = await catalog.create_category(session, args.name, args.slug)
                print(f"added category {created.slug!r} ({created.name})")
            elif command == "rename":
                renamed = await catalog.rename_category(session, args.slug, args.name)
                print(f"renamed category {renamed.slug!r} to {renamed.name}")
            elif command == "delete":
                await catalog.delete_category(session, args.slug)
                print(f"deleted category {args.slug!r}")
            else:
                for c in await catalog.list_categories(session):
                    print(f"{c.slug:<20} {c.feed_count:>4} feeds  {c.name}")
        return 0

    return run(settings, work)


# -- OPML --------------------------------------------------------------------------------------
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
    from feedhub.catalog import opml as subscriptions

    if args.opml_command == "import":
        try:
            data = Path(args.file).read_bytes()
        except OSError as exc:
            raise ValidationError(f"cannot read {args.file}: {exc.strerror}") from None

        async def import_(context: Context) -> int:
            report = await subscriptions.import_opml(
                context.sessions,
                data,
                default_category=settings.default_category,
                allow_private=settings.allow_private_networks,
                now=datetime.now(UTC),
                progress=_progress,
            )
            # A second spelling of a feed already in the file is reported, not a failure:
            # the feed itself is imported once.
            refused = [f for f in report.feeds if f.status == "invalid"]
            twins = [f for f in refused if (f.reason or "").startswith("duplicate of ")]
            failed = [f for f in refused if f not in twins]
            extra = f", {len(twins)} duplicate(s) within the file" if twins else ""
            print(
                f"imported: {report.created} created, {report.existing} already there, "
                f"{len(failed)} invalid{extra}"
            )
            for line in twins:
                print(f"  duplicate: {line.url}: {line.reason}", file=sys.stderr)
            for line in failed:
                print(f"  invalid: {line.url}: {line.reason}", file=sys.stderr)
            return 1 if failed else 0

        return run(settings, import_)

    exported: list[bytes] = []

    async def export(context: Context) -> int:
        async with context.sessions() as session:
            exported.append(await subscriptions.export_opml(session))
        return 0

    run(settings, export)
    if args.file:
        Path(args.file).write_bytes(exported[0])
        print(f"wrote {args.file}", file=sys.stderr)
    else:
        sys.stdout.buffer.write(exported[0])
        sys.stdout.flush()
    return 0


COMMANDS: dict[str, Callable[[Settings, argparse.Namespace], int]] = {
    "feeds": _feeds,
    "categories": _categories,
    "opml": _opml,
}
