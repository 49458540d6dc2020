"""The repository stands alone. No tracked file may point outside it: not at the
`shared` folder that sits beside the checkout on the development machines, nor at an
absolute path of those machines. A fresh clone anywhere runs the suite and the benchmarks.

The code explains itself: no comment or docstring gives an issue number as its reason (the
reason belongs in the comment; the history is in git and CHANGES.md), and no merge or
editor leftover is tracked.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Assembled so that this file does not match itself.
_SHARED = re.escape(".." + "/shared")
_WORK = re.escape("/" + "work/")
# Where this clone and the home directory are: on another machine that can be any folder
# (a clone in the temp folder), so documents from elsewhere (tests/corpus: a blog post that
# names a file in the temp folder) are held only to the development machines' own folders.
_MACHINE = "|".join(
    [_WORK] + [re.escape(p) for p in {str(ROOT.parent) + "/", str(Path.home()) + "/"} if p != "//"]
)
# A path starts the token: "https://example.com/work/x" is a URL, not a path here.
_PATH_START = r"(?<![\w.:/~-])"
OUTSIDE = re.compile(rf"{_SHARED}|{_PATH_START}(?:{_MACHINE})")
OUTSIDE_IN_DOCUMENTS = re.compile(rf"{_SHARED}|{_PATH_START}{_WORK}")


# The word and a number after it, as in the examples below; not an upstream bug's URL
# (".../issues/NNNN"), which points at the reason rather than standing for it.
ISSUE_NUMBER = re.compile(r"\bissues? ?#?\d", re.IGNORECASE)
# Where our code, comments and docstrings live; tests/corpus and the golden files are
# documents from elsewhere and the values parsed out of them.
CODE_DIRS = ("feedhub/", "web/", "migrations/", "tests/", "benchmarks/")
CODE_SUFFIXES = (".py", ".js", ".css", ".html")
NOT_OURS = ("tests/corpus/", "tests/unit/golden/")
LEFTOVERS = ("*.orig", "*.rej", "*~", "*.swp", "*.swo", "*.bak", ".#*")


def _tracked() -> list[str]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        if os.environ.get("CI") == "true":
            pytest.fail("CI runs from a git clone: git and .git are needed")
        pytest.skip("needs git and a git checkout")
    out = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True
    ).stdout.decode()
    return [name for name in out.split("\0") if name]


def test_pattern_catches_what_it_should() -> None:
    assert OUTSIDE.search("see " + ".." + "/shared/DESIGN.md")
    assert OUTSIDE.search('Path("/' + 'work/shared/corpus")')
    assert not OUTSIDE.search("http://www.example.com/work/brand")
    beside_the_clone = str(ROOT.parent) + "/notes.txt"
    if ROOT.parent != Path("/"):
        assert OUTSIDE.search(beside_the_clone)
    if not beside_the_clone.startswith("/" + "work/"):
        assert not OUTSIDE_IN_DOCUMENTS.search(beside_the_clone)
    assert OUTSIDE_IN_DOCUMENTS.search("see " + ".." + "/shared/corpus")


def test_no_tracked_file_refers_outside_the_repository() -> None:
    offenders = []
    for name in _tracked():
        path = ROOT / name
        if not path.is_file():
            continue  # deleted in the working tree
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            continue  # binary (screenshots, gzip corpus files)
        pattern = OUTSIDE_IN_DOCUMENTS if name.startswith(NOT_OURS) else OUTSIDE
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:120]}")
    assert offenders == []


def test_corpus_is_in_the_repository() -> None:
    corpus = ROOT / "tests" / "corpus"
    assert (corpus / "SOURCES.tsv").is_file() and (corpus / "manifest.jsonl").is_file()
    rows = (corpus / "SOURCES.tsv").read_text().splitlines()[1:]
    files = {row.split("\t")[0] for row in rows}
    # Every file listed is here, and each source project's licence sits beside its files.
    assert all((corpus / name).is_file() for name in files)
    licences = {name for name in files if Path(name).name.upper().startswith("LICENSE")}
    projects = {str(Path(name).parent) for name in licences}
    for name in files - licences:
        assert any(name.startswith(p + "/") for p in projects), f"{name} has no licence"


def test_issue_pattern_catches_what_it_should() -> None:
    # Assembled so that this file does not match itself.
    one, many = "issue", "issues"
    for text in (f"# see {one} 12", f"({one} 14, item 2)", f"{one.title()} #5:", f"{many} 10-14"):
        assert ISSUE_NUMBER.search(text), text
    for text in (f"https://github.com/litestar-org/litestar/{many}/5008", f"t{one} 3", many):
        assert not ISSUE_NUMBER.search(text), text


def test_no_comment_or_docstring_names_an_issue_number() -> None:
    offenders = []
    for name in _tracked():
        if not name.startswith(CODE_DIRS) or name.startswith(NOT_OURS):
            continue
        path = ROOT / name
        if not name.endswith(CODE_SUFFIXES) or not path.is_file():
            continue
        for number, line in enumerate(path.read_text("utf-8", "replace").splitlines(), 1):
            if ISSUE_NUMBER.search(line):
                offenders.append(f"{name}:{number}: {line.strip()[:120]}")
    assert offenders == [], "say the reason instead of the issue number"


def test_no_merge_or_editor_leftover_is_tracked() -> None:
    leftovers = [
        name
        for name in _tracked()
        if any(fnmatch.fnmatch(Path(name).name, pattern) for pattern in LEFTOVERS)
    ]
    assert leftovers == []
