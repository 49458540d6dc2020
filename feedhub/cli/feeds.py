"""`feedhub feeds` (subscribe, list, edit, move, disable, enable, delete) and `feedhub poll`.

Every verb exits non-zero when it did not do all it was asked: a verb given several ids
tries each one and exits 1 if any failed; errors are one line on stderr (cli.main).
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import Any

from feedhub.cli.context import Context, Subparsers, prepare_database, run
from feedhub.core.config import Settings
from feedhub.core.datadir import sqlite_path
from feedhub.core.errors import FeedhubError, ValidationError

__all__ = ["add_feeds", "add_poll", "feed_state"]


def add_feeds(sub: Subparsers) -> None:
    parser = sub.add_parser("feeds", help="manage feeds")
    parser.set_defaults(handler=_feeds)
    feeds = parser.add_subparsers(dest="feeds_command", required=True)
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


def add_poll(sub: Subparsers) -> None:
    poll = sub.add_parser("poll", help="poll every due feed once and exit")
    poll.add_argument("--all", action="store_true", help="ignore due times: poll every feed")
    poll.set_defaults(handler=_poll)


def feed_state(feed: Any) -> str:
    """never polled / ok / failing (n in a row): error / disabled (why)."""
    if not feed.enabled:
        return f"disabled ({feed.disabled_reason})" if feed.disabled_reason else "disabled"
    if feed.error_count:
        return f"failing ({feed.error_count} in a row): {feed.last_error or 'unknown error'}"
    if feed.last_polled_at is None:
        return "never polled"
    push = getattr(feed, "push", None)
    if push is not None:
        return f"ok, push {push.state}" + ("" if push.healthy else " (polled)")
    return "ok"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if moment else "-"


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_feeds(feeds: list[Any]) -> None:
    """One line per feed; the state is cut to 40 characters (`--json` has all of it)."""
    head = f"{'ID':>5}  {'TITLE':<32} {'CATEGORY':<16} {'LAST POLL (UTC)':<16} {'ARTICLES':>8}"
    print(f"{head}  {'STATE':<40} {'NEXT POLL (UTC)':<16} {'EVERY':>6} {'WHY':<20} URL")
    for f in feeds:
        title = _clip(f.title or "(no title)", 32)
        print(
            f"{f.id:>5}  {title:<32} {_clip(f.category, 16):<16} {_when(f.last_polled_at):<16} "
            f"{f.article_count:>8}  {_clip(feed_state(f), 40):<40} "
            f"{_when(f.next_poll_at) if f.enabled else 'paused':<16} "
            f"{_every(f.current_interval):>6} {_clip(f.poll_reason or '-', 20):<20} {f.url}"
        )


def _every(seconds: int | None) -> str:
    """The wait between the last poll and the next, short: 90s, 15m, 5.2h."""
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds / 3600:.1f}h"


def _show(feeds: list[Any], args: argparse.Namespace) -> int:
    """`feeds list`: the table, or JSON, of the feeds that pass the filters."""
    if args.category:
        feeds = [f for f in feeds if f.category == args.category]
    if args.failing:
        feeds = [f for f in feeds if f.enabled and f.error_count]
    if args.json:
        import msgspec  # here: `feedhub --help` and the other verbs do without it

        sys.stdout.buffer.write(msgspec.json.format(msgspec.json.encode(feeds)) + b"\n")
    elif feeds:
        _print_feeds(feeds)
    elif not (args.category or args.failing):
        print("no feeds yet: feedhub feeds add URL --category SLUG")
    return 0


def _feeds(settings: Settings, args: argparse.Namespace) -> int:
    command = args.feeds_command
    path = sqlite_path(settings.database_url)
    if command == "list" and path is not None:
        # A SQLite file is listed by sqlite3 (catalog.feedlist): no SQLAlchemy, no event
        # loop, a fraction of the start-up of this command typed at shells and run by cron.
        from feedhub.catalog.feedlist import read_feed_list

        prepare_database(settings)
        return _show(read_feed_list(path), args)
    from feedhub.catalog import feeds as catalog
    from feedhub.catalog.views import FeedChanges

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
        return _show(feeds, args)

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


def _poll(settings: Settings, args: argparse.Namespace) -> int:
    async def work(context: Context) -> int:
        assert context.poller is not None
        outcomes = await context.poller.poll_due(include_all=args.all)
        errors = [o for o in outcomes if o.status in ("error", "disabled")]
        new = sum(len(o.new_articles) for o in outcomes)
        print(f"polled {len(outcomes)} feed(s): {new} new article(s), {len(errors)} error(s)")
        for outcome in errors:
            print(f"  feed {outcome.feed_id}: {outcome.error}")
        return 0

    return run(settings, work, fetches=True)
