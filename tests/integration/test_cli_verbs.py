"""A command line that tells the truth. Exit codes, the offline OPML import of a
real NetNewsWire export, `feeds list` columns, the feed and category verbs, and Alembic
quiet unless it migrates. Real subprocesses, a real SQLite file, a local feed server."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import corpus_dir
from tests.support import prefork
from tests.support.feedserver import FeedServer, rss

Run = Callable[..., subprocess.CompletedProcess[str]]
pytestmark = pytest.mark.slow

# Loaded by every Python started with this folder on PYTHONPATH: no name resolves except
# loopback ones, and every other lookup is written down. The machine is offline for feedhub.
OFFLINE = """
import os, socket
_real = socket.getaddrinfo
def _offline(host, *args, **kwargs):
    name = host.decode() if isinstance(host, bytes) else host
    if name in (None, "localhost", "127.0.0.1", "::1"):
        return _real(host, *args, **kwargs)
    with open(os.environ["OFFLINE_LOG"], "a") as log:
        log.write(f"{name}\\n")
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
socket.getaddrinfo = _offline
"""


@pytest.fixture
def run(tmp_path: Path) -> Run:
    offline = tmp_path / "offline"
    offline.mkdir()
    (offline / "sitecustomize.py").write_text(OFFLINE)

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
        base.update(
            FEEDHUB_DATA_DIR=str(tmp_path / "data"),
            FEEDHUB_PARSE_WORKERS="0",
            FEEDHUB_HOST_MIN_GAP_SECONDS="0",
            FEEDHUB_LOG_LEVEL="WARNING",
            PYTHONPATH=str(offline),
            OFFLINE_LOG=str(tmp_path / "lookups.log"),
        )
        base.update(env)
        return prefork.run(list(args), base, tmp_path, timeout=180)

    return run


def test_offline_import_of_a_real_export(run: Run, tmp_path: Path) -> None:
    source = corpus_dir() / "realworld" / "NetNewsWire" / "Subs.opml"
    # The guard is on (the default): names would be looked up if anything tried.
    result = run("opml", "import", str(source))
    # 207 outlines; two spell one feed two ways (http://feed.katiefloyd.com with and
    # without its trailing slash): 206 feeds, the twin reported, and still a success.
    assert len(re.findall(rb'<outline\b[^>]*\bxmlUrl="[^"]+"', source.read_bytes())) == 207
    assert result.returncode == 0, result.stderr
    assert (
        "imported: 206 created, 0 already there, 0 invalid, 1 duplicate(s) within the file"
        in result.stdout
    )
    assert "duplicate: Katie Floyd: duplicate of http://feed.katiefloyd.com/" in result.stderr
    assert not (tmp_path / "lookups.log").exists(), "the import looked names up"
    with sqlite3.connect(tmp_path / "data" / "feedhub.db") as db:
        assert db.execute("SELECT count(*) FROM feed").fetchone() == (206,)
        folders = dict(
            db.execute(
                "SELECT c.name, count(*) FROM feed f JOIN category c ON c.id = f.category_id "
                "GROUP BY c.name"
            ).fetchall()
        )
    assert set(folders) == {"Uncategorized", "Programming", "Macintosh", "Weblogs", "Writers"}
    assert sum(folders.values()) == 206
    listed = run("feeds", "list", "--json")
    feeds = json.loads(listed.stdout)
    assert len(feeds) == 206 and all(f["last_polled_at"] is None for f in feeds)
    table = run("feeds", "list").stdout.splitlines()
    header = ["ID", "TITLE", "CATEGORY", "LAST", "POLL", "(UTC)", "ARTICLES", "STATE"]
    header += ["NEXT", "POLL", "(UTC)", "EVERY", "WHY", "URL"]
    assert table[0].split() == header
    daring = next(line for line in table if "Daring Fireball" in line)
    assert "never polled" in daring and " - " in daring

    # Importing it again: nothing new, nothing invalid, still a success.
    again = run("opml", "import", str(source))
    assert again.returncode == 0 and "0 created, 206 already there" in again.stdout


def test_import_with_invalid_entries_exits_non_zero_and_lists_them(
    run: Run, tmp_path: Path
) -> None:
    opml = tmp_path / "mixed.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body>'
        '<outline text="Good" xmlUrl="https://good.example.net/feed"/>'
        '<outline text="Ftp" xmlUrl="ftp://files.example.net/feed"/>'
        '<outline text="Loopback" xmlUrl="http://127.0.0.1:9/feed"/>'
        '<outline text="Local" xmlUrl="http://printer.localhost/feed"/>'
        "</body></opml>"
    )
    result = run("opml", "import", str(opml))
    assert result.returncode == 1
    assert "1 created, 0 already there, 3 invalid" in result.stdout
    invalid = [line for line in result.stderr.splitlines() if "invalid:" in line]
    assert len(invalid) == 3
    for url in ("ftp://files.example.net/feed", "127.0.0.1:9", "printer.localhost"):
        assert any(url in line for line in invalid), url
    assert "https://good.example.net/feed" in run("feeds", "list").stdout


def test_feeds_list_and_the_verbs(run: Run, feed_server: FeedServer) -> None:
    local = {"FEEDHUB_ALLOW_PRIVATE_NETWORKS": "true"}
    feed_server.set("/a.xml", rss([{"guid": "1", "title": "One"}], title="Alpha"))
    feed_server.set("/b.xml", "nope", status=500, headers={"Content-Type": "text/plain"})
    assert run("categories", "add", "Tech").returncode == 0
    assert run("categories", "add", "Science").returncode == 0
    # At the default log level, adding says what it did and nothing of httpx's requests.
    r = run("feeds", "add", feed_server.url("/a.xml"), "--category", "tech",
            FEEDHUB_LOG_LEVEL="INFO", **local)  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "HTTP Request" not in r.stderr and "httpx" not in r.stderr, r.stderr
    # A failing feed can only come in through an import (adding probes it).
    opml = Path(json.loads(run("config", "--json").stdout)["data_dir"]).parent / "b.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head/><body><outline text="Tech">'
        f'<outline text="Broken" xmlUrl="{feed_server.url("/b.xml")}"/></outline></body></opml>'
    )
    assert run("opml", "import", str(opml), **local).returncode == 0
    assert run("poll", **local).returncode == 0

    table = run("feeds", "list").stdout
    alpha = next(line for line in table.splitlines() if "Alpha" in line)
    cells = alpha.split()
    assert "tech" in alpha and cells[cells.index("ok") - 1] == "1"
    assert "adaptive" in alpha  # the next poll, its interval and why
    broken = next(line for line in table.splitlines() if "Broken" in line)
    assert "failing (1 in a row): HTTP 500" in broken and "backoff" in broken
    failing = run("feeds", "list", "--failing").stdout
    assert "Broken" in failing and "Alpha" not in failing

    as_json = json.loads(run("feeds", "list", "--json").stdout)
    assert {(f["title"], f["poll_reason"]) for f in as_json} == {
        ("Alpha", "adaptive"), ("Broken", "backoff"),
    }  # fmt: skip
    # One minute of backoff after the first failure, plus up to 10% of jitter.
    assert 60 <= next(f for f in as_json if f["title"] == "Broken")["current_interval"] <= 66
    ids = {f["title"]: f["id"] for f in as_json}
    alpha_id, broken_id = str(ids["Alpha"]), str(ids["Broken"])
    r = run("feeds", "move", alpha_id, "--to", "science")
    assert r.returncode == 0 and "moved to science" in r.stdout
    r = run("feeds", "edit", alpha_id, "--title", "Alpha Weekly", "--poll-interval", "600")
    assert r.returncode == 0 and "every 600 s" in r.stdout
    edited = next(
        f for f in json.loads(run("feeds", "list", "--json").stdout) if f["title"] == "Alpha Weekly"
    )
    # The new interval counts from the last poll at once, not after the old schedule.
    last, planned = (datetime.fromisoformat(edited[k]) for k in ("last_polled_at", "next_poll_at"))
    assert planned <= max(last + timedelta(seconds=600), datetime.now(UTC)), edited
    assert run("feeds", "edit", alpha_id, "--poll-interval", "5").returncode == 1
    r = run("feeds", "disable", broken_id)
    assert r.returncode == 0 and "disabled" in run("feeds", "list").stdout
    assert run("feeds", "enable", broken_id).returncode == 0
    listed = json.loads(run("feeds", "list", "--json").stdout)
    alpha = next(f for f in listed if f["id"] == int(alpha_id))
    assert (alpha["title"], alpha["category"], alpha["poll_interval"]) == (
        "Alpha Weekly", "science", 600,
    )  # fmt: skip

    # Unknown ids and categories: the others are still done, the exit says it failed.
    r = run("feeds", "disable", "9999", broken_id)
    assert r.returncode == 1 and "feed 9999 does not exist" in r.stderr
    r = run("feeds", "move", alpha_id, "--to", "nowhere")
    assert r.returncode == 1 and "nowhere" in r.stderr

    r = run("categories", "delete", "science")
    assert r.returncode == 1 and "still has 1 feed" in r.stderr
    r = run("categories", "rename", "science", "Natural Science")
    assert r.returncode == 0 and "Natural Science" in r.stdout
    assert run("feeds", "delete", alpha_id).returncode == 0
    assert run("categories", "delete", "science").returncode == 0
    cats = run("categories", "list").stdout
    assert "science" not in cats and "tech" in cats
    assert run("feeds", "delete", alpha_id).returncode == 1


def test_alembic_is_quiet_unless_it_migrates(run: Run) -> None:
    first = run("categories", "list", FEEDHUB_LOG_LEVEL="INFO")
    assert "Running upgrade" in first.stderr and "Context impl" not in first.stderr
    second = run("categories", "list", FEEDHUB_LOG_LEVEL="INFO")
    assert second.returncode == 0 and second.stderr == ""
