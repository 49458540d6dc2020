"""Where feedhub's own files are (web/, migrations/) and where its state goes by default.

The top-level `web/` and `migrations/` folders stay where they are in the repository; the
wheel maps them into the package (`feedhub/web`, `feedhub/migrations`, see pyproject.toml).
So an installed feedhub finds them inside the package, and a checkout (or an
editable install, which imports from the checkout) finds them beside the package.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib.resources import files
from pathlib import Path

from feedhub.core.errors import ConfigError

__all__ = ["default_data_dir", "migrations_dir", "web_dir"]


def _bundled(name: str) -> Path:
    # The wheel is installed unpacked (pip and pipx never run it from a zip), so the
    # package's resources are real directories that uvicorn can serve files from.
    packaged = Path(str(files("feedhub").joinpath(name)))
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
    if checkout.is_dir():
        return checkout
    raise ConfigError(
        f"feedhub's {name}/ folder is missing (looked in {packaged} and {checkout}): "
        "reinstall feedhub"
    )


def web_dir() -> Path:
    """The front end: plain HTML, CSS and JS modules."""
    return _bundled("web")


def migrations_dir() -> Path:
    """The Alembic script folder (env.py, versions/)."""
    return _bundled("migrations")


def default_data_dir(environ: Mapping[str, str]) -> Path:
    """`$XDG_DATA_HOME/feedhub`, else `~/.local/share/feedhub`.

    A per-user directory rather than `./data`: every `feedhub` command then reaches the
    same database and admin token whatever directory it is run from (a
    `./feedhub.db` default silently created an empty database per directory). Services set
    FEEDHUB_DATA_DIR explicitly (systemd's StateDirectory, a container volume).
    """
    base = environ.get("XDG_DATA_HOME") or ""
    if not base or not os.path.isabs(base):
        base = str(Path(environ.get("HOME") or Path.home()) / ".local" / "share")
    return Path(base) / "feedhub"
