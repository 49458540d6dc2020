"""`feedhub categories add|list|rename|delete`."""

from __future__ import annotations

import argparse

from feedhub.cli.context import Context, Subparsers, run
from feedhub.core.config import Settings

__all__ = ["add_categories"]


def add_categories(sub: Subparsers) -> None:
    parser = sub.add_parser("categories", help="manage categories")
    parser.set_defaults(handler=_categories)
    categories = parser.add_subparsers(dest="categories_command", required=True)
    cat_add = categories.add_parser("add", help="create a category")
    cat_add.add_argument("name")
    cat_add.add_argument("--slug")
    categories.add_parser("list", help="list categories")
    rename = categories.add_parser("rename", help="give a category a new name (slug stays)")
    rename.add_argument("slug")
    rename.add_argument("name")
    cat_delete = categories.add_parser("delete", help="delete an empty category")
    cat_delete.add_argument("slug")


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
