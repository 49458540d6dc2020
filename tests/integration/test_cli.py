"""The `feedhub` command: real subprocesses against a real SQLite file and feed server."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.conftest import corpus_dir
from tests.support import prefork
from tests.support.feedserver import FeedServer, rss


@pytest.fixture
def run(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = tmp_path / "cli.db"

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
        base.update(
            FEEDHUB_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
            FEEDHUB_ALLOW_PRIVATE_NETWORKS="true",
            FEEDHUB_PARSE_WORKERS="0",
            FEEDHUB_HOST_MIN_GAP_SECONDS="0",
            FEEDHUB_LOG_LEVEL="WARNING",
        )
        base.update(env or {})
        return prefork.run(list(args), base, tmp_path, timeout=120)

    run.db = db  # type: ignore[attr-defined]
    return run


@pytest.mark.slow
def test_categories_feeds_and_poll(run, feed_server: FeedServer) -> None:  # type: ignore[no-untyped-def]
    feed_server.set("/a.xml", rss([{"guid": "1", "title": "One"}, {"guid": "2", "title": "Two"}]))
    assert run("migrate").returncode == 0
    r = run("categories", "add", "Tech News")
    assert r.returncode == 0 and "tech-news" in r.stdout
    r = run("feeds", "add", feed_server.url("/a.xml"), "--category", "tech-news")
    assert r.returncode == 0, r.stderr
    r = run("poll")
    assert r.returncode == 0 and "2 new article(s)" in r.stdout
    r = run("poll")
    assert "polled 0 feed(s)" in r.stdout  # nothing is due any more
    r = run("poll", "--all")
    assert "polled 1 feed(s): 0 new" in r.stdout
    r = run("feeds", "list")
    assert feed_server.url("/a.xml") in r.stdout
    header = r.stdout.splitlines()[0]
    assert header.split()[:6] == ["ID", "TITLE", "CATEGORY", "LAST", "POLL", "(UTC)"]
    (listed,) = json.loads(run("feeds", "list", "--json").stdout)
    assert (listed["article_count"], listed["error_count"]) == (2, 0)
    with sqlite3.connect(run.db) as db:
        assert db.execute("SELECT count(*) FROM article").fetchone() == (2,)


ERRORS = [
    (("feeds", "add", "http://127.0.0.1:9/x", "--category", "nope"), "does not exist"),
    (("feeds", "add", "ftp://example.com/x", "--category", "tech"), "not an http"),
    (("categories", "add", "Tech"), "already exists"),
    (("opml", "import", "/no/such/file.opml"), "cannot read"),
    (("prune", "--days", "-1"), "must not be negative"),
]


@pytest.mark.slow
def test_errors_are_one_line_and_non_zero(run) -> None:  # type: ignore[no-untyped-def]
    assert run("categories", "add", "Tech").returncode == 0
    for args, words in ERRORS:
        r = run(*args)
        assert r.returncode == 1, args
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("feedhub: error:"), r.stderr
        assert words in lines[0]


def test_bad_setting_is_one_line(run) -> None:  # type: ignore[no-untyped-def]
    r = run("migrate", env={"FEEDHUB_PORT": "eighty"})
    assert r.returncode == 1 and r.stderr.count("\n") == 1 and "FEEDHUB_PORT" in r.stderr


@pytest.mark.slow
def test_opml_import_export_and_prune(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = corpus_dir() / "realworld" / "NetNewsWire" / "Subs.opml"
    r = run("opml", "import", str(source))
    assert r.returncode == 0, r.stderr
    assert "created" in r.stdout and "[" in r.stderr  # the progress bar
    out = tmp_path / "out.opml"
    assert run("opml", "export", str(out)).returncode == 0
    assert out.read_bytes().count(b"xmlUrl=") == int(r.stdout.split(":")[1].split()[0])
    r = run("prune")
    assert r.returncode == 0 and "pruned 0 article(s)" in r.stdout
