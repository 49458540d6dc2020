"""Every script in benchmarks/ runs, in its smoke mode, and prints its figures.

The benchmarks are how the speed targets are measured, and nothing else imports them: a
refactor that renames what they call leaves them broken until the next person who needs a
figure finds out. Run here at tiny sizes (`--smoke`), each as its own process the way a
person runs it, they break in the change that breaks them.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser.harness import CHROMIUM
from tests.support.pgserver import find_pg_bin, missing
from tests.support.redisserver import find_redis_server

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"

# What each script prints once it has measured something: a line of its final report.
FIGURES = {
    "ingest.py": r"(?s)FreshRSS: .*memory after feedhub's first poll.*parser worker"
    r".*round 2: .*feedhub/reader \d+\.\d+x.*\(a\) first poll, entries/s\s+\d+\s+\d+",
    "fanout.py": r"feedhub N=20: 20 connected at \d+/s",
    "greader_peer.py": r"(?s)FreshRSS: .*articles stored: feedhub 400.*"
    r"\| edit-tag 100 items\s+\| \d+\.\d+ \| \d+\.\d+ \|",
    "listing.py": r"first page, all\s+\d+\.\d+ ms",
    "parse.py": r"parse step, CPU ms per entry \(all documents\): feedparser \d+\.\d+"
    r"  fast path \d+\.\d+",
    "politeness.py": r"(?s)target \(fewer requests and bytes at equal or lower mean delay\)"
    r".*target by class met on \d+ of 2 seeds",
    "readers.py": r"\| stream/contents n=1000\s+\|\s+\d+\.\d+ \|",
    "scaleout.py": r"E bus alone, publish -> heard: Redis\s+\d+",
    "websub.py": r"ping -> stream \(ms\): median \d+.*\nping -> page \(ms\): median \d+",
}
# Options beyond --smoke, so that every path of a script runs.
OPTIONS = {"websub.py": ["--page"]}
SLOW = {"fanout.py", "scaleout.py", "ingest.py", "greader_peer.py"}


def _scripts() -> list[str]:
    return sorted(p.name for p in BENCHMARKS.glob("*.py") if not p.name.startswith("_"))


def test_every_benchmark_script_has_a_smoke_run() -> None:
    assert _scripts() == sorted(FIGURES)


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(s, marks=[pytest.mark.slow, pytest.mark.long] if s in SLOW else [])
        for s in sorted(FIGURES)
    ],
)
def test_benchmark_smoke_run_prints_its_figures(script: str, tmp_path: Path) -> None:
    if script == "scaleout.py" and (find_pg_bin() is None or find_redis_server() is None):
        missing("scaleout.py drives a throwaway PostgreSQL and redis-server: not installed")
    if script == "websub.py" and not Path(CHROMIUM).exists():
        missing(f"websub.py --page drives Chromium: not installed at {CHROMIUM}")
    done = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), "--smoke", *OPTIONS.get(script, [])],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert re.search(FIGURES[script], done.stdout), done.stdout[-3000:]
