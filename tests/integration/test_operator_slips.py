"""An operator's slips are refused before they cost data: `restore` and `migrate` under a
live `serve`, a backup that is no feedhub database, two restores in one second, and a
rollback undone by an innocent command of the newer version."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest

from feedhub.db.schema_revision import shipped_head
from tests.support import prefork
from tests.support.pgserver import PgServer
from tests.support.server import TOKEN, ServerProcess, feedhub_env

HEAD = shipped_head()

pytestmark = pytest.mark.slow


def _feedhub(db: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return prefork.run(list(args), feedhub_env(db, 0, TOKEN, **env), db.parent, timeout=120)


def _revision(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])


def _backups(db: Path) -> list[str]:
    folder = db.parent / "data" / "backups"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def test_restore_and_migrate_are_refused_under_a_live_serve(
    server_factory: type[ServerProcess], tmp_path: Path
) -> None:
    server = server_factory(env={"FEEDHUB_TICK_SECONDS": "3600"}).start()
    db = server.db_path
    made = _feedhub(db, "backup", str(tmp_path / "b.db"))
    assert made.returncode == 0, made.stderr
    before = _backups(db)
    restore = _feedhub(db, "restore", str(tmp_path / "b.db"))
    assert restore.returncode != 0
    assert "stop it before `feedhub restore`" in restore.stderr, restore.stderr
    rollback = _feedhub(db, "migrate", "--to", "0006")
    assert rollback.returncode != 0
    assert "stop it before `feedhub migrate`" in rollback.stderr, rollback.stderr
    assert _revision(db) == HEAD
    assert _backups(db) == before  # a refused command leaves no backup behind
    assert server.proc is not None and server.proc.poll() is None


def test_a_backup_without_feedhubs_tables_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "feedhub.db"
    assert _feedhub(db, "migrate").returncode == 0
    fake = tmp_path / "fake.db"
    with sqlite3.connect(fake) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES (?)", (HEAD,))
    before = _backups(db)
    restore = _feedhub(db, "restore", str(fake))
    assert restore.returncode != 0
    assert f"not a complete feedhub database at revision {HEAD}" in restore.stderr, restore.stderr
    assert _backups(db) == before
    assert _feedhub(db, "categories", "list").returncode == 0  # the database is untouched


def test_two_restores_in_one_second_both_succeed(tmp_path: Path) -> None:
    db = tmp_path / "feedhub.db"
    assert _feedhub(db, "migrate").returncode == 0
    made = _feedhub(db, "backup", str(tmp_path / "b.db"))
    assert made.returncode == 0, made.stderr
    for _ in range(2):
        restore = _feedhub(db, "restore", str(tmp_path / "b.db"))
        assert restore.returncode == 0, restore.stderr
    assert len([n for n in _backups(db) if "before-restore" in n]) == 2


def test_a_rollback_stays_rolled_back_until_migrate(tmp_path: Path) -> None:
    db = tmp_path / "feedhub.db"
    assert _feedhub(db, "migrate").returncode == 0
    down = _feedhub(db, "migrate", "--to", "0006")
    assert down.returncode == 0, down.stderr
    before = _backups(db)
    innocent = _feedhub(db, "categories", "list")
    assert innocent.returncode != 0
    assert "Run `feedhub migrate`" in innocent.stderr, innocent.stderr
    assert _revision(db) == "0006"
    assert _backups(db) == before
    up = _feedhub(db, "migrate")
    assert up.returncode == 0, up.stderr
    assert _revision(db) == HEAD
    assert _feedhub(db, "categories", "list").returncode == 0


def test_a_rollback_is_refused_on_postgresql_while_a_replica_serves(
    pg_server: PgServer, tmp_path: Path
) -> None:
    """On PostgreSQL every serving process holds a share of an advisory lock; a rollback needs
    it alone. An upgrade under live replicas stays allowed (a rolling upgrade, the systemd
    unit's `feedhub migrate` step)."""
    with pg_server.database() as url:
        env = {"FEEDHUB_DATABASE_URL": url, "FEEDHUB_TICK_SECONDS": "3600"}
        database = url.rsplit("/", 1)[1]
        migrate = ["migrate", "--to", "0006"]
        server = ServerProcess(workdir=tmp_path, env=env).start()
        try:
            refused = _feedhub(tmp_path / "unused.db", *migrate, FEEDHUB_DATABASE_URL=url)
            assert refused.returncode != 0
            assert "a `feedhub serve` is using this database" in refused.stderr, refused.stderr
            assert (
                pg_server.psql("SELECT version_num FROM alembic_version", database).strip() == HEAD
            )
            upgrade = _feedhub(tmp_path / "unused.db", "migrate", FEEDHUB_DATABASE_URL=url)
            assert upgrade.returncode == 0, upgrade.stderr
            with server.admin() as admin:
                assert admin.get("/api/admin/feeds").status_code == 200
        finally:
            server.terminate()
        rolled_back = _feedhub(tmp_path / "unused.db", *migrate, FEEDHUB_DATABASE_URL=url)
        assert rolled_back.returncode == 0, rolled_back.stderr
        assert pg_server.psql("SELECT version_num FROM alembic_version", database).strip() == "0006"
