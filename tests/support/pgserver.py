"""A throwaway PostgreSQL cluster for the tests: Debian's binaries, a temp dir, loopback.

One cluster per test session (`PgServer.start()`), started with `initdb` + `pg_ctl` as an
unprivileged user (PostgreSQL refuses to run as root: when we are root, the cluster runs as
`nobody`). Durability is off (fsync, full_page_writes, synchronous_commit): the data dies
with the test run anyway, and a cluster then starts in about a second.

Each test gets its own database, cloned from a template that already has the schema at head
(`CREATE DATABASE … TEMPLATE`, a file copy), so tests never share rows and never wait for
Alembic. The system cluster that Debian's package may have started is never touched.

No PostgreSQL installed -> the tests that need it are skipped with the reason; under
CI=true the run fails instead (`missing`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.ports import free_port

__all__ = ["PgServer", "find_pg_bin", "missing"]

PG_BIN_CANDIDATES = tuple(
    str(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
)
SUPERUSER = "postgres"


# Every table but alembic_version, in one TRUNCATE (foreign keys need them together).
_RESET = """
SET lock_timeout = '10s';
DO $$ DECLARE names text; BEGIN
  SELECT string_agg(format('%I', tablename), ', ') INTO names
  FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version';
  IF names IS NOT NULL THEN
    EXECUTE 'TRUNCATE ' || names || ' RESTART IDENTITY CASCADE';
  END IF;
END $$;
"""


def missing(reason: str) -> None:
    """Skip the test, or fail it under CI=true: CI installs every server the suite drives."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: .ci/run installs it, so this is an error)")
    pytest.skip(reason)


def find_pg_bin() -> Path | None:
    env = os.environ.get("FEEDHUB_TEST_PG_BIN")
    for candidate in ((env,) if env else ()) + PG_BIN_CANDIDATES:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    return None


def _run_as() -> tuple[str | None, int | None, int | None]:
    """(user, uid, gid) to run the cluster as: ourselves, or `nobody` when we are root."""
    if os.geteuid() != 0:
        return None, None, None
    entry = pwd.getpwnam("nobody")
    return entry.pw_name, entry.pw_uid, entry.pw_gid


@dataclass
class PgServer:
    bin_dir: Path
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="feedhub-pg-")))
    port: int = field(default_factory=free_port)
    _counter: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_path(self) -> Path:
        return self.root / "postgres.log"

    def url(self, database: str = "postgres", driver: str = "asyncpg") -> str:
        return f"postgresql+{driver}://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        """A plain libpq/asyncpg DSN (no SQLAlchemy driver part)."""
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    # -- lifecycle ---------------------------------------------------------------------------
    def _cmd(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        user, uid, gid = _run_as()
        return subprocess.run(
            args,
            user=uid,
            group=gid,
            check=check,
            capture_output=True,
            text=True,
            cwd=self.root,
            env={"PATH": os.environ.get("PATH", ""), "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            timeout=120,
        )

    def start(self) -> PgServer:
        _user, uid, gid = _run_as()
        if uid is not None:
            os.chown(self.root, uid, gid if gid is not None else -1)
        try:
            self._cmd(
                str(self.bin_dir / "initdb"),
                "-D", str(self.data_dir),
                "-U", SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            raise RuntimeError(f"initdb failed:\n{exc.stdout}\n{exc.stderr}") from None
        # Another test session on the machine may take the port between `free_port`'s look
        # and the postmaster's bind: try another.
        for attempt in range(3):
            try:
                return self.resume()
            except RuntimeError as exc:
                if "Address already in use" not in str(exc) or attempt == 2:
                    raise
                self.port = free_port()
        raise AssertionError("unreachable")

    def pause(self) -> None:
        """Stop the server, keeping its data: an outage, which `resume` ends."""
        self._cmd(
            str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"
        )

    def resume(self) -> PgServer:
        """Start the server on its existing data directory (after `pause`, or from `start`)."""
        self.log_path.unlink(missing_ok=True)  # this attempt's errors only
        options = " ".join(
            [
                "-c listen_addresses=127.0.0.1",
                f"-c port={self.port}",
                f"-c unix_socket_directories={self.root}",
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
                "-c shared_buffers=32MB",
                "-c log_min_messages=warning",
            ]
        )
        try:
            self._cmd(
                str(self.bin_dir / "pg_ctl"),
                "-D", str(self.data_dir),
                "-l", str(self.log_path),
                "-o", options,
                "-w", "-t", "180",  # until it accepts connections: minutes on a loaded machine
                "start",
            )  # fmt: skip
        except subprocess.CalledProcessError as exc:
            log = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
            raise RuntimeError(f"pg_ctl start failed:\n{exc.stdout}\n{exc.stderr}\n{log}") from None
        return self

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._cmd(
                str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate",
                "-w", "stop", check=False,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)

    # -- databases ---------------------------------------------------------------------------
    def psql(self, sql: str, database: str = "postgres") -> str:
        """Run one statement through psql (no Python driver needed); returns its output."""
        result = self._cmd(
            str(self.bin_dir / "psql"),
            "-h", "127.0.0.1", "-p", str(self.port), "-U", SUPERUSER, "-d", database,
            "-v", "ON_ERROR_STOP=1", "-At", "-c", sql,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"psql {sql!r} failed: {result.stderr}")
        return result.stdout

    def create_database(self, template: str = "template0", prefix: str = "t") -> str:
        with self._lock:
            self._counter += 1
            name = f"{prefix}_{os.getpid()}_{self._counter}"
        self.psql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    def drop_database(self, name: str) -> None:
        self.psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def reset(self, name: str) -> None:
        """Empty every table (ids restart at 1), far faster than a new database (~0.3 s).
        Waits at most 10 s for a straggler's locks; raises if the database cannot be reset."""
        self.psql(_RESET, database=name)

    @contextmanager
    def database(self, template: str = "template0") -> Iterator[str]:
        """A fresh database for one test; its SQLAlchemy URL is yielded, dropped after."""
        name = self.create_database(template)
        try:
            yield self.url(name)
        finally:
            self.drop_database(name)


@contextmanager
def throwaway_cluster() -> Iterator[PgServer]:
    """A cluster started for the caller and removed after it; skips (fails under CI) when
    PostgreSQL is not installed."""
    bin_dir = find_pg_bin()
    if bin_dir is None:
        missing(
            "PostgreSQL is not installed (Debian package `postgresql`: /usr/lib/postgresql/*/bin)"
        )
    assert bin_dir is not None
    server = PgServer(bin_dir).start()
    try:
        yield server
    finally:
        server.stop()
