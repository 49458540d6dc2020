"""`feedhub config` (the effective settings, secrets redacted) and `feedhub token` (the
admin token kept in the data directory).
"""

from __future__ import annotations

import argparse
import json
import sys

from feedhub.cli.context import Subparsers
from feedhub.core.config import Settings
from feedhub.core.datadir import load_or_create_token, rotate_token

__all__ = ["add_config", "add_token"]


def add_token(sub: Subparsers) -> None:
    token = sub.add_parser("token", help="print the admin token kept in the data directory")
    token.add_argument("--rotate", action="store_true", help="replace it with a new one")
    token.set_defaults(handler=_token)


def add_config(sub: Subparsers) -> None:
    cfg = sub.add_parser("config", help="print the effective settings (secrets redacted)")
    cfg.add_argument("--json", action="store_true", help="as one JSON object")
    cfg.set_defaults(handler=_config)


def _token(settings: Settings, args: argparse.Namespace) -> int:
    if settings.admin_token:
        print(
            "feedhub: FEEDHUB_ADMIN_TOKEN is set: that is the token (nothing is kept in "
            "the data directory)",
            file=sys.stderr,
        )
        return 1 if args.rotate else 0
    if args.rotate:
        token = rotate_token(settings.data_dir)
        print(token)
        print(
            "feedhub: new admin token saved; a running service takes it at once (the old "
            "one stops working)",
            file=sys.stderr,
        )
        return 0
    token, _created = load_or_create_token(settings.data_dir)
    print(token)
    return 0


def _config(settings: Settings, args: argparse.Namespace) -> int:
    shown = settings.redacted()
    shown["backup_dir"] = settings.backup_dir
    if args.json:
        print(json.dumps(shown, indent=2, default=str))
        return 0
    width = max(map(len, shown))
    for name, value in shown.items():
        print(f"{name:<{width}}  {value}")
    return 0
