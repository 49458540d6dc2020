"""The suite keeps bytecode caches, for itself and for every interpreter it starts
(tests/__init__.py): without them each server, command-line run and benchmark script
compiles feedhub from source again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_this_worker_writes_bytecode() -> None:
    assert sys.dont_write_bytecode is False
    assert "PYTHONDONTWRITEBYTECODE" not in os.environ


def test_an_interpreter_the_suite_starts_writes_bytecode(tmp_path: Path) -> None:
    (tmp_path / "probe_module.py").write_text("VALUE = 1\n")
    subprocess.run(
        [sys.executable, "-c", "import probe_module"], cwd=tmp_path, check=True, timeout=60
    )
    assert list((tmp_path / "__pycache__").glob("probe_module.*.pyc"))
