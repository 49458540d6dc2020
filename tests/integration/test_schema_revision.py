"""The Alembic-free "already at head?" check every CLI command starts with
(feedhub/db/schema_revision.py): it must agree with Alembic, and spare its import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from feedhub.db.migrate import current_revision, head_revision
from feedhub.db.schema_revision import database_revision, shipped_head
from tests.conftest import BOTH_DATABASES
from tests.support.ports import free_port
from tests.support.server import feedhub_env


def _file(revision: str, down: str | None, quote: str = '"') -> str:
    down_text = "None" if down is None else f"{quote}{down}{quote}"
    return (
        f'"""doc"""\nrevision: str = {quote}{revision}{quote}\n'
        f"down_revision: str | None = {down_text}\n"
    )


@pytest.mark.parametrize(
    ("files", "head"),
    [
        ([_file("0001", None), _file("0002", "0001"), _file("0003", "0002")], "0003"),
        ([_file("0002", "0001", "'"), _file("0001", None, "'")], "0002"),  # any order, quotes
        ([_file("0001", None), _file("0002", "0001"), _file("0003", "0001")], None),  # 2 heads
        (['"""no revision line"""\n'], None),  # unreadable: Alembic decides
        ([], None),
    ],
)
def test_shipped_head_of_migration_files(files: list[str], head: str | None) -> None:
    assert shipped_head(files) == head


def test_shipped_head_is_alembics_head() -> None:
    assert shipped_head() == head_revision() is not None


@BOTH_DATABASES
def test_database_revision_agrees_with_alembic(db_url: str) -> None:
    assert database_revision(db_url) == current_revision(db_url) == head_revision()


def test_database_revision_of_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    assert database_revision(url) is None


def test_the_revision_of_a_sqlite_file_is_read_without_an_engine(db_url: str) -> None:
    """sqlite3 reads the one row: no SQLAlchemy engine, no event loop of its own before the
    command's."""
    program = (
        "import sys\nfrom feedhub.db.schema_revision import database_revision\n"
        f"print(database_revision({db_url!r}), 'sqlalchemy' in sys.modules, "
        "'asyncio' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [head_revision(), "False", "False"]


def test_a_command_at_head_imports_neither_alembic_nor_litestar(tmp_path: Path) -> None:
    """Half a second off every `feedhub categories …`, `feeds list`, `token`…"""
    env = feedhub_env(tmp_path / "feedhub.db", free_port(), "t")
    program = (
        "import sys\nfrom feedhub.cli import main\n"
        "code = main(['categories', 'list'])\n"
        "print(code, 'alembic' in sys.modules, 'litestar' in sys.modules)\n"
    )

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", program], env=env, cwd=tmp_path,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout.split()[-3:]  # type: ignore[return-value]

    assert run() == ["0", "True", "False"]  # the first run migrates the new database
    assert run() == ["0", "False", "False"]
