"""`feedhub users add|list|passwd|remove`: the admin's accounts, from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from feedhub.errors import ValidationError

__all__ = ["add_parser", "run"]


class _Context(Protocol):
    sessions: Any  # async_sessionmaker[AsyncSession]: the CLI's migrated database


def add_parser(sub: Any) -> None:
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


def run(args: argparse.Namespace, runner: Callable[[Callable[[Any], Awaitable[int]]], int]) -> int:
    """`runner(work)` runs `work(context)` against the migrated database (cli._run)."""
    from feedhub.readers import accounts

    command = args.users_command
    password = _read_password() if command in ("add", "passwd") else ""

    async def work(context: _Context) -> int:
        async with context.sessions() as session:
            if command == "add":
                user = await accounts.create_user(
                    session, args.name, password, args.role, datetime.now(UTC)
                )
                print(f"added {user.role} {user.name!r}")
            elif command == "passwd":
                await accounts.update_user(session, args.name, password=password)
                print(f"new password for {args.name!r}; their sessions are ended")
            elif command == "remove":
                await accounts.delete_user(session, args.name)
                print(f"removed {args.name!r} and their read state")
            else:
                found = await accounts.list_users(session)
                lines = [f"{u.name:<24} {u.role:<7} since {u.created_at:%Y-%m-%d}" for u in found]
                print("\n".join(lines) or "no users yet: feedhub users add NAME")
        return 0

    return runner(work)
