"""`feedhub users add|list|passwd|remove`: readers and admins."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from feedhub.cli.context import Context, Subparsers, run
from feedhub.core.config import Settings
from feedhub.core.errors import ValidationError

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["add_users"]


def add_users(sub: Subparsers) -> None:
    parser = sub.add_parser("users", help="manage readers and admins")
    parser.set_defaults(handler=_users)
    users = parser.add_subparsers(dest="users_command", required=True)
    user_add = users.add_parser("add", help="create a user (password from a prompt or stdin)")
    user_add.add_argument("name")
    user_add.add_argument("--role", choices=["reader", "admin"], default="reader")
    users.add_parser("list", help="list users")
    users.add_parser("passwd", help="set a user's password (ends their sessions)").add_argument(
        "name"
    )
    users.add_parser("remove", help="delete a user with their state").add_argument("name")


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
    password = _read_password() if args.users_command in ("add", "passwd") else ""

    async def work(ctx: Context) -> int:
        async with ctx.sessions() as session:
            print(await _command(session, args, password, datetime.now(UTC)))
        return 0

    return run(settings, work)


async def _command(
    session: AsyncSession, args: argparse.Namespace, password: str, now: datetime
) -> str:
    """`feedhub users add|passwd|remove|list`: what to print."""
    from feedhub.readers import accounts

    command = args.users_command
    if command == "add":
        user = await accounts.create_user(session, args.name, password, args.role, now)
        return f"added {user.role} {user.name!r}"
    if command == "passwd":
        await accounts.update_user(session, args.name, password=password)
        return f"new password for {args.name!r}; their sessions are ended"
    if command == "remove":
        await accounts.delete_user(session, args.name)
        return f"removed {args.name!r} and their read state"
    lines = [
        f"{u.name:<24} {u.role:<7} since {u.created_at:%Y-%m-%d}"
        for u in await accounts.list_users(session)
    ]
    return "\n".join(lines) or "no users yet: feedhub users add NAME"
