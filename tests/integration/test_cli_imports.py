"""What a command imports: only what it uses.

A command's start-up is mostly imports (`python -X importtime -m feedhub feeds list`):
Litestar, the HTTP client, the feed parser and the ORM cost hundreds of milliseconds
between them, which every `feedhub …` typed at a shell, cron job or health check pays.
Each verb imports its heavy modules where it needs them; these tests say which verbs must
do without which.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.ports import free_port
from tests.support.server import feedhub_env

# Imported by no command that neither serves, fetches nor migrates.
NOT_FOR_READS = {
    "alembic", "apscheduler", "asyncpg", "feedparser", "httpx", "litestar", "lxml",
    "redis", "uvicorn",
    # feedhub's own: the poll schedule, backups, the check that no `serve` holds the file.
    "feedhub.ingest.cadence", "feedhub.db.backup", "feedhub.db.serving",
}  # fmt: skip
# `--help` opens no database either.
NOT_FOR_HELP = NOT_FOR_READS | {"aiosqlite", "msgspec", "sqlalchemy"}
# `feeds list` reads a SQLite file with sqlite3 (feedhub.catalog.feedlist): no ORM, no
# async driver, no event loop.
NOT_FOR_FEED_LIST = NOT_FOR_READS | {
    "aiosqlite", "asyncio", "greenlet", "sqlalchemy", "feedhub.db.engine", "feedhub.db.models",
}  # fmt: skip

PROGRAM = """
import json, sys
from feedhub.cli import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
names = [m for m in sys.modules if "." not in m or m.startswith("feedhub.")]
print(json.dumps([code, sorted(names)]), file=sys.stderr)
"""


def _imports(tmp_path: Path, *argv: str) -> set[str]:
    env = feedhub_env(tmp_path / "feedhub.db", free_port(), "t")
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, *argv], env=env, cwd=tmp_path,
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    code, modules = json.loads(done.stderr.strip().splitlines()[-1])
    assert code == 0, done.stderr
    return set(modules)


def test_help_imports_no_database_layer_and_no_web_stack(tmp_path: Path) -> None:
    assert _imports(tmp_path, "--help") & NOT_FOR_HELP == set()


@pytest.mark.parametrize("verb", [("categories", "list"), ("users", "list")])
def test_a_read_command_imports_neither_the_fetcher_nor_the_web_stack(
    tmp_path: Path, verb: tuple[str, str]
) -> None:
    _imports(tmp_path, *verb)  # the first run creates and migrates the database
    modules = _imports(tmp_path, *verb)
    assert "sqlalchemy" in modules  # it did read the database
    assert modules & NOT_FOR_READS == set()


def test_feeds_list_on_sqlite_imports_neither_sqlalchemy_nor_asyncio(tmp_path: Path) -> None:
    _imports(tmp_path, "feeds", "list")  # the first run creates and migrates the database
    for flags in ((), ("--json",)):
        assert _imports(tmp_path, "feeds", "list", *flags) & NOT_FOR_FEED_LIST == set()
