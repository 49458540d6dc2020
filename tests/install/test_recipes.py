"""The deployment recipes of docs/deploy.md run as written.

There is no container runtime and no systemd as PID 1 on the machines that run this suite,
so the recipes' own commands are run here instead: the Containerfile's RUN, ENV,
HEALTHCHECK and CMD lines (with its absolute paths moved under a temporary directory), and
the systemd unit's ExecStartPre/ExecStart with its Environment, after `systemd-analyze
verify` accepts the unit. Differences, all deliberate: the container's pip install gets
`--no-deps` (dependencies come from the test venv, see conftest.py), `useradd` is not run
(it would change this machine), and the service listens on 127.0.0.1 with a free port.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.install.conftest import ROOT, Installed, borrow_dependencies
from tests.support.ports import free_port

pytestmark = pytest.mark.slow
DEPLOY = ROOT / "deploy"


def _env(tmp: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("FEEDHUB_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(HOME=str(tmp / "home"), PATH=os.defpath, FEEDHUB_PARSE_WORKERS="0")
    env.update(extra)
    return env


def _wait_until(check: object, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        if check():  # type: ignore[operator]
            return
        time.sleep(0.3)
    pytest.fail(f"never healthy:\n{log.read_text()}")


def _instructions(text: str) -> list[tuple[str, str]]:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
    return [(ln.split(" ", 1)[0], ln.split(" ", 1)[1]) for ln in lines]


def test_docs_show_the_recipes_verbatim() -> None:
    guide = (ROOT / "docs" / "deploy.md").read_text()
    for name in ("Containerfile", "feedhub.service"):
        body = (DEPLOY / name).read_text().strip()
        assert body in guide, f"docs/deploy.md does not show deploy/{name} as it is"


@pytest.mark.long
def test_containerfile_commands(tmp_path: Path) -> None:
    steps = _instructions((DEPLOY / "Containerfile").read_text())
    stages: list[list[tuple[str, str]]] = []
    for op, arg in steps:
        if op == "FROM":
            stages.append([])
        stages[-1].append((op, arg))
    build, final = stages
    root = tmp_path / "root"

    def here(text: str) -> str:
        for path in ("/opt/feedhub", "/var/lib/feedhub", "/dist"):
            text = text.replace(path, f"{root}{path}")
        return text

    # Build stage: WORKDIR /src + COPY . . is this checkout.
    (run,) = [arg for op, arg in build if op == "RUN"]
    assert run.startswith("python ")
    subprocess.run(
        [sys.executable, *shlex.split(here(run))[1:]], cwd=ROOT, check=True, capture_output=True
    )
    assert len(list((root / "dist").glob("feedhub-*.whl"))) == 1

    env: dict[str, str] = {}
    for op, arg in final:
        if op == "RUN" and arg.startswith("useradd "):
            continue  # would add a user to this machine
        if op == "RUN":
            command = here(arg).replace(" install ", " install --no-deps --no-index ", 1)
            command = command.replace("python -m venv", f"{sys.executable} -m venv", 1)
            subprocess.run(["sh", "-c", command], check=True, capture_output=True)
        elif op == "ENV":
            env.update(dict(pair.split("=", 1) for pair in shlex.split(arg)))
    assert not (root / "dist").exists(), "the RUN line cleans up the wheel"
    borrow_dependencies(root / "opt" / "feedhub" / "bin" / "python")
    assert env["FEEDHUB_DATA_DIR"] == "/var/lib/feedhub" and env["FEEDHUB_HOST"] == "0.0.0.0"
    assert ("USER", "feedhub") in final and ("VOLUME", "/var/lib/feedhub") in final
    env = {k: here(v) for k, v in env.items()}
    env.update(FEEDHUB_HOST="127.0.0.1", FEEDHUB_PORT=str(free_port()))

    (health,) = [arg for op, arg in final if op == "HEALTHCHECK"]
    probe = [here(a) for a in json.loads(health.split(" CMD ", 1)[1])]
    (cmd,) = [arg for op, arg in final if op == "CMD"]
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    log = tmp_path / "container.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [here(a) for a in json.loads(cmd)],
            cwd=workdir,
            env=_env(tmp_path, env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )

    def healthy() -> bool:
        return subprocess.run(probe, env=_env(tmp_path, env), capture_output=True).returncode == 0

    try:
        _wait_until(healthy, proc, log)
        data = root / "var" / "lib" / "feedhub"
        assert (data / "feedhub.db").is_file() and (data / "admin-token").is_file()
        assert re.search(r"generated admin token", log.read_text())
        assert ("STOPSIGNAL", "SIGTERM") in final
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert not healthy()
    finally:
        if proc.poll() is None:
            proc.kill()


def _unit() -> dict[str, list[str]]:
    unit: dict[str, list[str]] = {}
    for line in (DEPLOY / "feedhub.service").read_text().splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, value = line.split("=", 1)
            unit.setdefault(key, []).append(value)
    return unit


def test_systemd_unit(installed: Installed, tmp_path: Path) -> None:
    unit = _unit()
    assert unit["KillMode"] == ["control-group"] and int(unit["LimitNOFILE"][0]) >= 65536
    assert unit["StateDirectory"] == ["feedhub"]
    assert "FEEDHUB_DATA_DIR=/var/lib/feedhub" in unit["Environment"]
    binary = "/opt/feedhub/bin/feedhub"
    data = tmp_path / "var" / "lib" / "feedhub"

    def here(text: str) -> str:
        return text.replace(binary, str(installed.feedhub)).replace("/var/lib/feedhub", str(data))

    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        if os.environ.get("CI") == "true":
            pytest.fail("systemd-analyze is missing (Debian package systemd)")
    else:
        text = here((DEPLOY / "feedhub.service").read_text())
        text = re.sub(r"(?m)^(User|Group)=.*$", rf"\1={os.getenv('USER', 'root')}", text)
        copy = tmp_path / "feedhub.service"
        copy.write_text(text)
        verify = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True)
        assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr

    env = dict(pair.split("=", 1) for pair in unit["Environment"])
    env = {k: here(v) for k, v in env.items()}
    env["FEEDHUB_PORT"] = str(free_port())
    data.mkdir(parents=True, mode=0o700)  # StateDirectory= makes it
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    (pre,) = unit["ExecStartPre"]
    subprocess.run(shlex.split(here(pre)), env=_env(tmp_path, env), cwd=workdir, check=True)
    log = tmp_path / "service.log"
    (start,) = unit["ExecStart"]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            shlex.split(here(start)),
            env=_env(tmp_path, env),
            cwd=workdir,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        import httpx

        def healthy() -> bool:
            try:
                url = f"http://127.0.0.1:{env['FEEDHUB_PORT']}/healthz"
                return httpx.get(url, timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        _wait_until(healthy, proc, log)
        assert "Running upgrade" not in log.read_text(), "ExecStartPre migrated already"
        proc.send_signal(getattr(signal, unit["KillSignal"][0]))
        assert proc.wait(int(unit["TimeoutStopSec"][0])) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
