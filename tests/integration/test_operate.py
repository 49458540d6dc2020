"""Operating feedhub from the command line: the data directory, the admin
token, one-line errors, busy ports, settings, migrations up and down, backups.

Real `feedhub` subprocesses on real SQLite files.
"""

from __future__ import annotations

import json
import os
import re
import socket
import sqlite3
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from tests.support import prefork
from tests.support.server import ServerProcess

Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def run(tmp_path: Path) -> Run:
    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
        base.update(FEEDHUB_DATA_DIR=str(tmp_path / "data"), FEEDHUB_LOG_LEVEL="WARNING")
        base.update(env)
        return prefork.run(list(args), base, tmp_path, timeout=120)

    return run


def _one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("feedhub: error: "), result.stderr
    return lines[0]


def test_data_dir_holds_the_database_whatever_the_working_directory(
    run: Run, tmp_path: Path
) -> None:
    assert run("categories", "add", "Tech").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    base = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
    base["FEEDHUB_DATA_DIR"] = str(tmp_path / "data")
    listed = prefork.run(["categories", "list"], base, elsewhere, timeout=60)
    assert "tech" in listed.stdout
    assert list(elsewhere.iterdir()) == []
    assert (tmp_path / "data" / "feedhub.db").is_file()


@pytest.mark.slow
def test_unusable_places_are_one_line_naming_the_path(run: Run, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    line = _one_line_error(run("categories", "list", FEEDHUB_DATA_DIR=str(blocker / "data")))
    assert str(blocker / "data") in line and "FEEDHUB_DATA_DIR" in line

    missing = tmp_path / "missing" / "feeds.db"
    line = _one_line_error(
        run("categories", "list", FEEDHUB_DATABASE_URL=f"sqlite+aiosqlite:///{missing}")
    )
    assert f"database directory {missing.parent} does not exist" in line
    assert not missing.parent.exists()

    line = _one_line_error(run("migrate", FEEDHUB_DATABASE_URL=f"sqlite:///{tmp_path}/x.db"))
    assert "synchronous driver" in line and f"sqlite+aiosqlite:///{tmp_path}/x.db" in line

    # The token needs a writable data directory too, unless FEEDHUB_ADMIN_TOKEN is set.
    line = _one_line_error(run("token", FEEDHUB_DATA_DIR=str(blocker / "data")))
    assert str(blocker / "data") in line


@pytest.mark.slow
def test_token_is_kept_and_rotated(run: Run, tmp_path: Path) -> None:
    first = run("token")
    assert first.returncode == 0
    token = first.stdout.strip()
    assert len(token) >= 24
    path = tmp_path / "data" / "admin-token"
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run("token").stdout.strip() == token
    rotated = run("token", "--rotate")
    assert rotated.returncode == 0 and "at once" in rotated.stderr
    new = rotated.stdout.strip()
    assert new != token and run("token").stdout.strip() == new
    # A token from the environment is not ours to rotate.
    fixed = run("token", "--rotate", FEEDHUB_ADMIN_TOKEN="from-env")
    assert fixed.returncode == 1 and "FEEDHUB_ADMIN_TOKEN" in fixed.stderr
    assert "from-env" not in fixed.stdout + fixed.stderr
    assert run("token").stdout.strip() == new


def test_config_prints_settings_without_secrets(run: Run) -> None:
    result = run(
        "config",
        FEEDHUB_ADMIN_TOKEN="s3cret-token",
        FEEDHUB_DATABASE_URL="postgresql+asyncpg://feedhub:pa55word@db.internal/feedhub",
        FEEDHUB_DEFAULT_POLL_INTERVAL="600",
    )
    assert result.returncode == 0, result.stderr
    assert "s3cret-token" not in result.stdout and "pa55word" not in result.stdout
    assert "postgresql+asyncpg://feedhub:***@db.internal/feedhub" in result.stdout
    assert re.search(r"^default_poll_interval +600$", result.stdout, re.M), result.stdout
    as_json = json.loads(run("config", "--json").stdout)
    assert as_json["data_dir"].endswith("/data") and as_json["backup_dir"].endswith("/backups")


def test_version(run: Run) -> None:
    from importlib.metadata import version

    result = run("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"feedhub {version('feedhub')}"


def test_busy_port_is_found_before_anything_starts(run: Run, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        line = _one_line_error(run("serve", "--port", str(port)))
    assert f"127.0.0.1:{port}" in line and "in use" in line
    # Nothing ran: no migration, no token.
    assert not (tmp_path / "data" / "feedhub.db").exists()
    assert not (tmp_path / "data" / "admin-token").exists()


def _revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


@pytest.mark.slow
def test_migrate_down_and_up_with_backups(run: Run, tmp_path: Path) -> None:
    from feedhub.db.migrate import revisions

    *_, prev, head = revisions()
    db = tmp_path / "data" / "feedhub.db"
    backups = tmp_path / "data" / "backups"
    first = run("migrate", FEEDHUB_LOG_LEVEL="INFO")
    assert first.returncode == 0 and f"migrated from empty to {head}" in first.stdout
    assert "Running upgrade  -> 0001" in first.stderr and "Context impl" not in first.stderr
    assert not backups.exists()  # nothing to protect in an empty database
    again = run("migrate", FEEDHUB_LOG_LEVEL="INFO")
    assert f"already at revision {head}" in again.stdout and again.stderr == ""
    assert run("categories", "add", "Tech").returncode == 0

    down = run("migrate", "--to", prev)
    assert down.returncode == 0, down.stderr
    assert _revision(db) == prev
    (saved,) = backups.iterdir()
    assert saved.name.startswith(f"feedhub-before-{head}-to-{prev}-")
    assert _revision(saved) == head
    assert f"{prev}  (current)" in run("migrate", "--list").stdout

    assert "unknown revision" in _one_line_error(run("migrate", "--to", "0999"))
    up = run("migrate")
    assert up.returncode == 0 and _revision(db) == head and len(list(backups.iterdir())) == 2
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT slug FROM category").fetchall() == [("tech",)]


def test_a_database_from_a_newer_feedhub_is_refused_with_the_way_back(
    run: Run, tmp_path: Path
) -> None:
    assert run("migrate").returncode == 0
    with sqlite3.connect(tmp_path / "data" / "feedhub.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0042'")
    line = _one_line_error(run("categories", "list"))
    from feedhub.db.migrate import revisions

    assert "revision 0042" in line and f"feedhub migrate --to {revisions()[-1]}" in line
    assert "feedhub restore" in line


@pytest.mark.slow
def test_rotation_takes_effect_in_the_running_service(
    server_factory: type[ServerProcess], tmp_path: Path
) -> None:
    # No FEEDHUB_ADMIN_TOKEN: the service generates and keeps its own.
    server = server_factory(env={"FEEDHUB_ADMIN_TOKEN": ""}).start()
    data = Path(server.env()["FEEDHUB_DATA_DIR"])
    old = (data / "admin-token").read_text().strip()
    assert old in server.log()  # printed once, at the first start

    def status(token: str) -> int:
        return httpx.get(
            f"{server.url}/api/admin/feeds", headers={"Authorization": f"Bearer {token}"}
        ).status_code

    assert status(old) == 200
    rotated = prefork.run(["token", "--rotate"], server.env(), server.workdir, timeout=60)
    new = rotated.stdout.strip()
    assert rotated.returncode == 0 and new and new != old
    assert status(new) == 200 and status(old) == 401
    server.terminate()
    # Kept across restarts, and not printed again.
    mark = len(server.log())
    server.start()
    assert status(new) == 200 and new not in server.log()[mark:]
    server.terminate()


def test_json_logs(run: Run) -> None:
    result = run("migrate", FEEDHUB_LOG_JSON="true", FEEDHUB_LOG_LEVEL="INFO")
    assert result.returncode == 0
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert lines and {"time", "level", "logger", "message"} <= set(lines[0])
    assert any(line["logger"] == "alembic.runtime.migration" for line in lines)
