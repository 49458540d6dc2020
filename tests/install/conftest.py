"""The wheel built from this checkout, installed into a fresh venv (see test_wheel.py)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def build_wheel(dist: Path) -> Path:
    """Built with the locked hatchling of this venv, not whatever the index has today."""
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         str(ROOT), "-w", str(dist)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("feedhub-*.whl")
    return wheel


def site_packages(python: Path) -> Path:
    return Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )


def borrow_dependencies(python: Path) -> None:
    """Dependencies from the test venv, *after* the new venv's own site-packages (a .pth
    line is appended to sys.path; the .pth files inside that folder are not run, so the
    checkout's editable feedhub is not put on the path)."""
    pth = site_packages(python) / "zz_test_dependencies.pth"
    pth.write_text(sysconfig.get_paths()["purelib"] + "\n")


@dataclass
class Installed:
    venv: Path
    site: Path
    feedhub: Path  # the console script

    def python(self) -> Path:
        return self.venv / "bin" / "python"


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(base / "dist")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env_dir)
    python = env_dir / "bin" / "python"
    borrow_dependencies(python)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "--no-index", str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    yield Installed(env_dir, site_packages(python), env_dir / "bin" / "feedhub")
