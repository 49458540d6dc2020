"""The README's serve command works in a fresh clone.

(The test command is what `.ci/run` runs, so CI shows that one.)
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


def readme_command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.+?)\n```", text, re.S)
    assert match, f"README.md has no {marker} block"
    return match.group(1).strip()


def test_readme_commands_are_the_ci_ones() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    assert readme_command("test-command") in ci
    assert "feedhub serve" in readme_command("serve-command")


@pytest.mark.slow
@pytest.mark.long
def test_serve_command_in_a_fresh_clone(tmp_path: Path) -> None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    # Work in progress is tested too: copy the working tree's tracked files over the clone.
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True)
        .stdout.decode()
        .split("\0")
    )
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (clone / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, clone / name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDHUB_", "VIRTUAL_ENV"))}
    env.update(FEEDHUB_PORT=str(port), PATH=os.defpath, PIP_DISABLE_PIP_VERSION_CHECK="1")
    # The default data directory is per user: keep this run's out of the real one.
    env["XDG_DATA_HOME"] = str(tmp_path / "xdg-data")
    python_dir = str(Path(sys.base_prefix) / "bin")
    env["PATH"] = f"{python_dir}:{env['PATH']}"
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(
            ["sh", "-c", readme_command("serve-command")],
            cwd=clone,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()[-3000:]
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail(
                "serve command never answered /healthz:\n"
                + (tmp_path / "serve.log").read_text()[-3000:]
            )
        output = (tmp_path / "serve.log").read_text()
        assert "generated admin token" in output and f"127.0.0.1:{port}" in output
        assert (tmp_path / "xdg-data" / "feedhub" / "feedhub.db").exists()
        assert not (clone / "feedhub.db").exists()
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(30)
