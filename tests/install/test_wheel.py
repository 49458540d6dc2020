"""The wheel alone runs feedhub: page, migrations, documentation, admin API.

The wheel is built from this checkout, installed into a fresh venv in a temporary
directory, and `feedhub serve` is started from an empty directory with nothing of the
checkout on its path. To keep the install fast and offline-proof the new venv takes its
*dependencies* from this test venv (a `.pth` line appended after its own site-packages),
installs the wheel with `--no-deps`, and the test checks that feedhub itself, its web/
and its migrations/ are imported from the new venv, not from the checkout.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.install.conftest import Installed
from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FEEDHUB_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(HOME=str(tmp / "home"), XDG_DATA_HOME="", PATH=os.defpath, **extra)
    return env


def test_the_wheel_carries_web_and_migrations(installed: Installed, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    probe = (
        "import feedhub, feedhub.core.paths as p; "
        "print(feedhub.__file__); print(p.web_dir()); print(p.migrations_dir())"
    )
    out = subprocess.run(
        [str(installed.python()), "-c", probe],
        cwd=empty,
        env=_clean_env(tmp_path),
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    package = installed.site / "feedhub"
    assert out == [
        str(package / "__init__.py"),
        str(package / "web"),
        str(package / "migrations"),
    ]
    assert (package / "web" / "index.html").is_file()
    assert sorted(p.name for p in (package / "migrations" / "versions").glob("0*.py")) == sorted(
        p.name for p in (ROOT / "migrations" / "versions").glob("0*.py")
    )
    version = subprocess.run(
        [str(installed.feedhub), "--version"],
        cwd=empty,
        env=_clean_env(tmp_path),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert re.fullmatch(r"feedhub \d+\.\d+\.\d+\S*\n", version)


def _start(installed: Installed, tmp: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    empty = tmp / "cwd"
    empty.mkdir(exist_ok=True)
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [str(installed.feedhub), "serve", "--port", str(port)],
            cwd=empty,
            env=_clean_env(tmp, FEEDHUB_PARSE_WORKERS="0"),
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _wait(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    pytest.fail(f"no /healthz answer:\n{log.read_text()}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def test_serve_from_an_empty_directory(installed: Installed, tmp_path: Path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = tmp_path / "serve.log"
    proc = _start(installed, tmp_path, port, log)
    try:
        _wait(proc, url, log)
        # The page and its modules, from the wheel.
        page = httpx.get(f"{url}/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert page.text == (installed.site / "feedhub" / "web" / "index.html").read_text()
        assert httpx.get(f"{url}/js/reader.js").status_code == 200
        assert httpx.get(f"{url}/admin").status_code == 200
        # The documentation page and every asset it loads, served locally.
        docs = httpx.get(f"{url}/schema")
        assert docs.status_code == 200
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert len(assets) >= 3
        for asset in assets:
            assert asset.startswith("/"), f"{asset} is not served by feedhub"
            assert httpx.get(f"{url}{asset}").status_code == 200, asset
        schema = httpx.get(f"{url}/schema/openapi.json").json()
        assert (
            "text/event-stream"
            in schema["paths"]["/api/stream"]["get"]["responses"]["200"]["content"]
        )
        # Migrations ran, into the default data directory under $HOME.
        data = tmp_path / "home" / ".local" / "share" / "feedhub"
        with sqlite3.connect(data / "feedhub.db") as db:
            (revision,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
        newest = sorted(p.name for p in (ROOT / "migrations" / "versions").glob("0*.py"))[-1]
        assert newest.startswith(revision + "_")
        assert not any((tmp_path / "cwd").iterdir()), "serve wrote into the working directory"
        # The admin token was generated, printed once and kept.
        match = re.search(r"generated admin token .*: (\S+)", log.read_text())
        assert match, log.read_text()
        token = match.group(1)
        assert (data / "admin-token").read_text().strip() == token
        auth = {"Authorization": f"Bearer {token}"}
        r = httpx.post(f"{url}/api/admin/categories", json={"name": "Tech"}, headers=auth)
        assert r.status_code == 201, r.text
        assert httpx.get(f"{url}/api/admin/feeds").status_code == 401
    finally:
        _stop(proc)

    # A restart keeps the token and prints none; nothing to migrate, so Alembic is silent.
    mark = len(log.read_text())
    proc = _start(installed, tmp_path, port, log)
    try:
        _wait(proc, url, log)
        again = log.read_text()[mark:]
        assert "generated admin token" not in again and token not in again
        assert "Running upgrade" not in again and "Context impl" not in again
        r = httpx.get(f"{url}/api/categories")
        assert [c["slug"] for c in r.json()] == ["tech"]
        assert httpx.get(f"{url}/api/admin/feeds", headers=auth).status_code == 200
    finally:
        _stop(proc)
