"""The documents name what exists: every repository path that README.md and docs/*.md
name (in code spans and links) is in the repository, every test they point at by
`path::name` is defined there, and every `feedhub ...` command line they show parses with
the real argument parser. Documents drift silently otherwise."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from feedhub.cli import _parser

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
_SPAN = re.compile(r"`([^`\n]+(?:\n[^`\n]+)?)`")
_LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")
# A command: at the start of a code line or span, after a `bin/` directory, or after the
# `... ` that continues the previous example.
_COMMAND = re.compile(r"(?:^|bin/|^\.\.\. )feedhub ([a-z][a-z-]*\b.*)")
# Where a shown command ends: a comment, a closing `$(...)`, or a gap before a remark.
_COMMAND_END = re.compile(r"\s+#|\)|;|&&|\|| {2,}")
# Placeholders the documents use for values of a fixed type.
_PLACEHOLDERS = {"N": "2"}


def _text_outside_fences(text: str) -> str:
    return _FENCE.sub("", text)


def _code_spans(text: str) -> list[str]:
    return [" ".join(span.split()) for span in _SPAN.findall(_text_outside_fences(text))]


def _fenced_lines(text: str) -> list[str]:
    return [line.strip() for block in _FENCE.findall(text) for line in block.splitlines()]


def _top_level() -> set[str]:
    return {entry.name for entry in ROOT.iterdir()} - {".venv", ".git"}


def named_paths(text: str) -> list[str]:
    """Paths inside the repository: in code spans (`tests/x.py`, `web/signin.html`) whose
    first part is a top-level entry, and relative Markdown links."""
    top = _top_level()
    found = [
        span
        for span in _code_spans(text)
        if "/" in span and " " not in span and span.split("/", 1)[0] in top
    ]
    found += [link for link in _LINK.findall(text) if "://" not in link and ":" not in link]
    return found


def shown_commands(text: str) -> list[str]:
    """The `feedhub ...` command lines, from code blocks and code spans."""
    commands = []
    for code in [*_fenced_lines(text), *_code_spans(text)]:
        match = _COMMAND.search(code)
        if match is None:
            continue
        line = _COMMAND_END.split(match.group(1), maxsplit=1)[0].strip()
        commands.append(line)
    return commands


def _parse_error(command: str) -> str | None:
    """What the real parser says about `command`, or None when it parses."""
    argv = [_PLACEHOLDERS.get(word, word) for word in shlex.split(command)]
    if len(argv) == 1:
        # A command named in prose (`feedhub restore`): it must exist; its arguments are
        # shown elsewhere.
        argv.append("--help")
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            _parser().parse_args(argv)
    except SystemExit as exc:
        # --help and --version exit 0 and are fine to show.
        return None if exc.code == 0 else errors.getvalue().strip() or str(exc.code)
    return None


def test_the_patterns_find_what_they_should() -> None:
    sample = (
        "see `tests/x/nowhere.py` and [the guide](docs/nowhere.md), not `fmt/x` or "
        "[site](https://example.org/a.md)\n"
        "```sh\n.venv/bin/feedhub feeds add URL --category tech   # a remark\n"
        "X=$(/opt/feedhub/bin/feedhub token)\nsystemctl stop feedhub\n```\n"
        "run `feedhub serve --workers N` or `... feedhub token\n--rotate`\n"
    )
    assert named_paths(sample) == ["tests/x/nowhere.py", "docs/nowhere.md"]
    assert shown_commands(sample) == [
        "feeds add URL --category tech",
        "token",
        "serve --workers N",
        "token --rotate",
    ]
    assert _parse_error("serve --workers N") is None
    assert _parse_error("serve --wrokers 2") is not None
    assert _parse_error("feeds frobnicate") is not None
    assert _parse_error("restore") is None
    assert _parse_error("restor") is not None


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_path_a_document_names_exists(document: Path) -> None:
    text = document.read_text()
    spans = _code_spans(text)
    missing = []
    for named in named_paths(text):
        path, _, test = named.partition("::")
        # Code spans name paths from the repository root; links are relative to the page.
        target = (ROOT if named in spans else document.parent) / path
        if not target.exists() or (
            test and not re.search(rf"def {re.escape(test)}\b", target.read_text())
        ):
            missing.append(named)
    assert not missing, f"{document.name} names what does not exist: {missing}"


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: path.name)
def test_every_command_a_document_shows_parses(document: Path) -> None:
    wrong = {
        command: error
        for command in shown_commands(document.read_text())
        if (error := _parse_error(command)) is not None
    }
    assert not wrong, f"{document.name} shows commands feedhub does not take: {wrong}"


def test_the_documents_show_commands_and_paths() -> None:
    """The checks above see something: the documents are full of both."""
    texts = [document.read_text() for document in DOCUMENTS]
    assert sum(len(shown_commands(text)) for text in texts) >= 40
    assert sum(len(named_paths(text)) for text in texts) >= 20
