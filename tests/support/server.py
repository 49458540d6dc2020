"""A real `feedhub serve` in a subprocess on a free port, for stream and restart tests."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support.ports import free_port
from tests.support.prefork import LaunchedProcess, launch

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "test-admin-token"
FAST_HASH = ROOT / "tests" / "support" / "fasthash"


def feedhub_env(db_path: Path, port: int, token: str, **extra: str) -> dict[str, str]:
    """The environment of a test `feedhub serve`: this process's, less any FEEDHUB_*, plus
    a private SQLite file, loopback feeds allowed and a fast scheduler tick."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
    env.update(
        FEEDHUB_DATABASE_URL=f"sqlite+aiosqlite:///{db_path}",
        FEEDHUB_DATA_DIR=str(db_path.parent / "data"),
        FEEDHUB_PORT=str(port),
        FEEDHUB_HOST="127.0.0.1",
        FEEDHUB_ADMIN_TOKEN=token,
        FEEDHUB_ALLOW_PRIVATE_NETWORKS="true",
        FEEDHUB_TICK_SECONDS="0.5",
        FEEDHUB_HOST_MIN_GAP_SECONDS="0",
        FEEDHUB_PARSE_WORKERS="0",
        # Test feeds are dated years back; tests of the backlog window set it.
        FEEDHUB_BACKLOG_WINDOW_HOURS="0",
        # Test feeds name sites such as example.com: their icons would be fetched from the
        # internet. Tests of icons turn them on and serve them on loopback.
        FEEDHUB_ICON_REFRESH_HOURS="0",
        # Cheap password hashes (tests/support/fasthash/sitecustomize.py).
        FEEDHUB_TEST_FAST_PASSWORDS="1",
        PYTHONPATH=os.pathsep.join(p for p in (str(FAST_HASH), os.environ.get("PYTHONPATH")) if p),
    )
    env.update(extra)
    return env


def wait_healthy(
    proc: subprocess.Popen[bytes] | LaunchedProcess,
    url: str,
    timeout: float,
    log: Callable[[], str],
) -> None:
    """Until `url`/healthz answers 200; raises with the server's log if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"feedhub serve exited with {proc.returncode}:\n{log()}")
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"feedhub serve did not answer /healthz in {timeout}s:\n{log()}")


class ServerProcess:
    def __init__(
        self,
        *,
        workdir: Path,
        port: int | None = None,
        env: dict[str, str] | None = None,
        db_path: Path | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.args = args
        self.port = port or free_port()
        self.workdir = workdir
        self.db_path = db_path or workdir / "feedhub.db"
        self.extra_env = env or {}
        self.proc: subprocess.Popen[bytes] | LaunchedProcess | None = None
        self.log_path = workdir / f"server-{self.port}.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        return feedhub_env(self.db_path, self.port, TOKEN, **self.extra_env)

    def start(self, timeout: float = 30.0) -> ServerProcess:
        # In a session of its own: `kill` takes uvicorn's workers (--workers) with it.
        self.proc = launch(["serve", *self.args], self.env(), self.workdir, self.log_path)
        wait_healthy(self.proc, self.url, timeout, self.log)
        return self

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash. The whole process group, so that
        `serve --workers N`'s workers do not outlive the test."""
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        elif self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # workers left by a dead parent

    def terminate(self, timeout: float = 15.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    # -- admin API helpers ------------------------------------------------------------------
    def admin(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30
        )

    def add_category(self, name: str, slug: str | None = None) -> dict[str, object]:
        with self.admin() as client:
            r = client.post("/api/admin/categories", json={"name": name, "slug": slug or None})
            r.raise_for_status()
            return dict(r.json())

    def add_feed(self, url: str, category: str, **extra: object) -> dict[str, object]:
        with self.admin() as client:
            r = client.post("/api/admin/feeds", json={"url": url, "category": category, **extra})
            assert r.status_code == 201, r.text
            return dict(r.json())

    def refresh(self, feed_id: object) -> dict[str, object]:
        with self.admin() as client:
            r = client.post(f"/api/admin/feeds/{feed_id}/refresh")
            assert r.status_code == 200, r.text
            return dict(r.json())
