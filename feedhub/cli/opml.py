"""`feedhub opml import|export`: subscriptions in and out as OPML.

An import that refused entries exits 1, so a script notices; a second spelling of a feed
already in the file is reported but is no failure.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from feedhub.cli.context import Context, Subparsers, run
from feedhub.core.config import Settings
from feedhub.core.errors import ValidationError

__all__ = ["add_opml"]


def add_opml(sub: Subparsers) -> None:
    parser = sub.add_parser("opml", help="import or export subscriptions")
    parser.set_defaults(handler=_opml)
    opml = parser.add_subparsers(dest="opml_command", required=True)
    opml_import = opml.add_parser("import", help="subscribe to every feed of an OPML file")
    opml_import.add_argument("file")
    opml_export = opml.add_parser("export", help="write subscriptions as OPML 2.0")
    opml_export.add_argument("file", nargs="?", help="output file (default: standard output)")


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
