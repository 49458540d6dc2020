"""Replicas started together on a fresh PostgreSQL database: both migrate and start. The
migration runs under an advisory lock, so the second waits for the first and finds the
schema at head (without it, the second died creating `alembic_version`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.pgserver import PgServer
from tests.support.server import feedhub_env

pytestmark = pytest.mark.slow


def test_two_migrations_at_once_on_a_fresh_database_both_succeed(
    pg_server: PgServer, tmp_path: Path
) -> None:
    for attempt in range(3):  # a race: several fresh databases make it near certain
        with pg_server.database() as url:
            env = feedhub_env(tmp_path / f"unused-{attempt}.db", 0, "t", FEEDHUB_DATABASE_URL=url)
            runs = [
                subprocess.Popen(
                    [sys.executable, "-m", "feedhub", "migrate"],
                    env=env,
                    cwd=tmp_path,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                for _ in range(2)
            ]
            outputs = [run.communicate(timeout=120)[0].decode(errors="replace") for run in runs]
            for run, output in zip(runs, outputs, strict=True):
                assert run.returncode == 0, output
            database = url.rsplit("/", 1)[1]
            assert pg_server.psql("SELECT count(*) FROM alembic_version", database).strip() == "1"
