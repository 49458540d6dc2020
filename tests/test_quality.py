"""Lint, format, types and import layers are part of the test suite (STYLE.md, "Habits")."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[test]'")
    return found


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "feedhub", "tests", "benchmarks"],
        pytest.param(["mypy"], marks=pytest.mark.long),  # half a minute without its cache
        ["lint-imports"],
    ],
    ids=["ruff", "ruff-format", "mypy", "import-layers"],
)
def test_tool_is_clean(command: list[str]) -> None:
    result = subprocess.run(
        [_tool(command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def _modules() -> list[Path]:
    return sorted((ROOT / "feedhub").rglob("*.py"))


def test_modules_stay_under_400_lines() -> None:
    """STYLE.md: small files with one job (a package once a module passes ~400 lines)."""
    long = {
        str(p.relative_to(ROOT)): n
        for p in _modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}


# A statement that writes the feed table, or an ORM Feed built or deleted by hand.
_FEED_WRITE = re.compile(
    r"\b(update|insert|delete)\(\s*Feed\b|(?<!class )\bFeed\(|session\.delete\(\s*feed\b"
)


def test_only_feedstore_writes_the_feed_row() -> None:
    writers = sorted(
        str(p.relative_to(ROOT))
        for p in _modules()
        if _FEED_WRITE.search(p.read_text(encoding="utf-8"))
    )
    assert writers == ["feedhub/ingest/feedstore.py"]
