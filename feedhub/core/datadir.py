"""The data directory and what lives in it besides the database: the admin token.

Every check here ends in one `ConfigError` line naming the path and what to do (a
read-only or missing directory used to surface as a 200-line SQLAlchemy traceback).
"""

from __future__ import annotations

import errno
import os
import secrets
import tempfile
from pathlib import Path
from urllib.parse import unquote

from feedhub.core.errors import ConfigError

__all__ = [
    "TOKEN_FILE",
    "TokenFile",
    "check_sqlite_location",
    "ensure_writable_dir",
    "load_or_create_token",
    "rotate_token",
    "sqlite_path",
]

TOKEN_FILE = "admin-token"


def _reason(exc: OSError) -> str:
    return exc.strerror or errno.errorcode.get(exc.errno or 0, str(exc))


def ensure_writable_dir(path: Path, what: str, fix: str) -> Path:
    """Create `path` if needed and prove that this process can write there.

    A real write, not `os.access`: root passes every permission check but still fails on
    a read-only mount, and `access` says nothing about a full disk.
    """
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise ConfigError(f"{what} {path} is not usable ({_reason(exc)}): {fix}") from None
    return path


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    scheme, _, rest = database_url.partition("://")
    if not scheme.startswith("sqlite"):
        return None
    path = unquote(rest[1:].split("?", 1)[0]) if rest.startswith("/") else ""
    if not path or path == ":memory:" or path.startswith("file::memory:"):
        return None
    return Path(path).expanduser().absolute()


def check_sqlite_location(database_url: str, data_dir: str) -> None:
    """The database's directory exists (the data directory is created) and is writable,
    and an existing database file can be read and written."""
    path = sqlite_path(database_url)
    if path is None:
        return
    parent = path.parent
    inside_data_dir = bool(data_dir) and parent == Path(data_dir)
    if not inside_data_dir and not parent.is_dir():
        raise ConfigError(
            f"database directory {parent} does not exist: create it, or point "
            "FEEDHUB_DATABASE_URL (or FEEDHUB_DATA_DIR) elsewhere"
        )
    ensure_writable_dir(
        parent,
        "database directory",
        "make it writable for this user (SQLite also writes its -wal and -shm files "
        "there), or set FEEDHUB_DATA_DIR / FEEDHUB_DATABASE_URL to another place",
    )
    if path.exists():
        try:
            with path.open("r+b"):
                pass
        except OSError as exc:
            raise ConfigError(
                f"database file {path} cannot be read and written ({_reason(exc)}): "
                "fix its owner or permissions"
            ) from None


def _token_dir(data_dir: str) -> Path:
    return ensure_writable_dir(
        Path(data_dir),
        "data directory",
        "create it with write access for this user, or set FEEDHUB_DATA_DIR to another "
        "directory (or set FEEDHUB_ADMIN_TOKEN)",
    )


def _write_token(path: Path, token: str) -> None:
    # Written beside and renamed over, so a crash never leaves half a token; 0600 because
    # it is a password.
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".admin-token.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(token + "\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_or_create_token(data_dir: str) -> tuple[str, bool]:
    """The persisted admin token, generated on first use: (token, created now)."""
    path = _token_dir(data_dir) / TOKEN_FILE
    try:
        token = path.read_text().strip()
    except FileNotFoundError:
        token = ""
    except OSError as exc:
        raise ConfigError(
            f"admin token file {path} cannot be read ({_reason(exc)}): fix its permissions, "
            "or run `feedhub token --rotate` to make a new one"
        ) from None
    if token:
        return token, False
    token = secrets.token_urlsafe(24)
    _write_token(path, token)
    return token, True


def rotate_token(data_dir: str) -> str:
    """A new token replaces the old one; a running service picks it up on its next start."""
    path = _token_dir(data_dir) / TOKEN_FILE
    token = secrets.token_urlsafe(24)
    _write_token(path, token)
    return token


class TokenFile:
    """The admin token of a running service, re-read when `feedhub token --rotate` changes
    the file: a rotated token takes effect at once, and the old one stops working.

    One `stat` per admin request; the file is read only when its mtime or size changed.
    A file that disappears or turns unreadable keeps the last token (never none).
    """

    def __init__(self, path: Path, token: str) -> None:
        self.path = path
        self._token = token
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            info = self.path.stat()
        except OSError:
            return None
        return (info.st_mtime_ns, info.st_size)

    def current(self) -> str:
        stamp = self._stamp()
        if stamp is not None and stamp != self._seen:
            try:
                token = self.path.read_text().strip()
            except OSError:
                token = ""
            if token:
                self._token, self._seen = token, stamp
        return self._token
