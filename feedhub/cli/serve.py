"""`feedhub serve`: the port bound first, the database made ready, the admin token found
(or generated once), then the service started (feedhub.service.serve).
"""

from __future__ import annotations

import argparse
import socket
from pathlib import Path

from feedhub.cli.context import Subparsers, prepare_database
from feedhub.core.config import Settings
from feedhub.core.datadir import TOKEN_FILE, TokenFile, load_or_create_token
from feedhub.core.errors import ConfigError, ValidationError

__all__ = ["add_serve", "admin_token"]


def add_serve(sub: Subparsers) -> None:
    serve = sub.add_parser("serve", help="migrate, then serve the web app and poll feeds")
    serve.add_argument("--host", help="overrides FEEDHUB_HOST")
    serve.add_argument("--port", type=int, help="overrides FEEDHUB_PORT")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="processes sharing the port (needs PostgreSQL and a Redis or PostgreSQL bus)",
    )
    serve.set_defaults(handler=_serve)


def admin_token(settings: Settings) -> tuple[Settings, TokenFile | None, bool]:
    """FEEDHUB_ADMIN_TOKEN if set, else the one kept in the data directory (created once).

    Returns the settings carrying the token, the token file to watch for rotations (None
    for a token from the environment), and whether the token was generated just now.
    """
    if settings.admin_token:
        return settings, None, False
    if not settings.data_dir:
        raise ConfigError("no admin token: set FEEDHUB_ADMIN_TOKEN or FEEDHUB_DATA_DIR")
    token, created = load_or_create_token(settings.data_dir)
    source = TokenFile(Path(settings.data_dir) / TOKEN_FILE, token)
    return settings.with_(admin_token=token), source, created


def _listen(host: str, port: int) -> socket.socket:
    """Bind the port before anything else starts (a busy port used to be found
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


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    from feedhub.service.serve import refusal, serve

    settings = settings.with_(
        host=args.host or settings.host, port=args.port if args.port else settings.port
    )
    # A topology that cannot work is refused before the port or the database is touched.
    if (reason := refusal(settings.database_url, settings.bus_url, args.workers)) is not None:
        raise ValidationError(reason)
    listener = _listen(settings.host, settings.port)
    try:
        prepare_database(settings, upgrade=True)
        settings, token_file, created = admin_token(settings)
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
    return serve(settings, workers=args.workers, token_file=token_file, listener=listener)
