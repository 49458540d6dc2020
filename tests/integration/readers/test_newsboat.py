"""A Google Reader API client nobody here wrote: newsboat (Debian's 2.21, `urls-source
"feedhq"`) against a real `feedhub serve`. It signs in, lists feeds and labels, downloads
the articles with their read state; an article read there is read in feedhub, and one read
in feedhub is read there.

newsboat has no command-line switch to mark one article read, so the test drives its
curses interface through a pseudo-terminal (keys: cursor down to the first feed, Enter
opens it, N toggles the first article's read flag, q twice quits) and reads its sqlite
cache for its state. newsboat asks for no labels (it tags feeds with their titles): the
label listing is shown by the protocol tests (test_greader_api.py).
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.feedserver import FeedServer, rss
from tests.support.server import ServerProcess

NEWSBOAT = shutil.which("newsboat")
PASSWORD = "newsboat pass"
EPISODE = "http://127.0.0.1:1/episode-1.mp3"

pytestmark = pytest.mark.slow


@pytest.fixture
def newsboat() -> str:
    if NEWSBOAT is None:
        if os.environ.get("CI") == "true":
            pytest.fail("newsboat is not installed (apt-get install newsboat; .ci/run does)")
        pytest.skip("newsboat is not installed (Debian package newsboat)")
    return NEWSBOAT


class Newsboat:
    def __init__(self, binary: str, workdir: Path, server_url: str) -> None:
        self.binary = binary
        self.dir = workdir
        self.config = workdir / "config"
        self.urls = workdir / "urls"
        self.cache = workdir / "cache.db"
        (workdir / "password").write_text(PASSWORD + "\n")
        self.config.write_text(
            'urls-source "feedhq"\n'
            f'feedhq-url "{server_url}/"\n'
            'feedhq-login "ann"\n'
            f'feedhq-passwordfile "{workdir / "password"}"\n'
            "feedhq-min-items 50\n"
            'feedhq-flag-star "s"\n'
            "confirm-exit no\n"
            "show-read-feeds yes\n"
            "show-read-articles yes\n"
            "cleanup-on-quit no\n"
            "suppress-first-reload no\n"
        )
        self.urls.write_text("")
        self.screen = b""
        self.env = {**os.environ, "HOME": str(workdir), "TERM": "xterm", "LANG": "C.UTF-8"}

    def _args(self) -> list[str]:
        return [self.binary, "-C", str(self.config), "-u", str(self.urls), "-c", str(self.cache)]

    def run(self, *commands: str) -> str:
        args = self._args()
        for command in commands:
            args += ["-x", command]
        done = subprocess.run(
            args, env=self.env, cwd=self.dir, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def items(self) -> dict[str, dict[str, Any]]:
        """guid -> {title, unread, feedurl, flags, enclosure} from newsboat's own cache."""
        with sqlite3.connect(self.cache) as db:
            rows = db.execute(
                "SELECT guid, title, unread, feedurl, flags, enclosure_url FROM rss_item"
            )
            return {
                g: {"title": t, "unread": u, "feedurl": f, "flags": fl or "", "enclosure": e}
                for g, t, u, f, fl, e in rows
            }

    def feeds(self) -> dict[str, str]:
        with sqlite3.connect(self.cache) as db:
            return dict(db.execute("SELECT rssurl, title FROM rss_feed").fetchall())

    def interact(self, keys: list[tuple[float, bytes]], timeout: float = 60) -> None:
        """Run the interface in a pty and send each key after its delay."""
        pid, fd = pty.fork()
        if pid == 0:  # the child: newsboat itself
            os.execve(self.binary, self._args(), self.env)
        try:
            deadline = time.monotonic() + timeout
            for delay, key in keys:
                self._drain(fd, delay)
                os.write(fd, key)
            while time.monotonic() < deadline:
                self._drain(fd, 0.2)
                finished, _status = os.waitpid(pid, os.WNOHANG)
                if finished:
                    return
            raise AssertionError("newsboat did not quit")
        finally:
            try:
                os.kill(pid, 9)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            os.close(fd)

    def _drain(self, fd: int, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                try:
                    self.screen += os.read(fd, 65536)
                except OSError:
                    return


def _state(server: ServerProcess, auth: dict[str, str], article_id: int) -> set[str]:
    r = httpx.post(
        f"{server.url}/reader/api/0/stream/items/contents",
        data={"i": str(article_id)}, headers=auth, timeout=10,
    )  # fmt: skip
    categories = set(r.json()["items"][0]["categories"])
    return {c.rsplit("/", 1)[1] for c in categories if "/state/com.google/" in c} - {"reading-list"}


def test_newsboat_syncs_with_feedhub(
    newsboat: str, server_factory: type[ServerProcess], feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.set("/a.xml", rss(
        [{"guid": f"a{i}", "title": f"Alpha story {i}", "link": f"http://e.com/a{i}",
          "pubDate": f"Mon, 0{i} Nov 2026 10:00:00 GMT"} for i in range(1, 4)],
        title="Alpha feed",
    ).replace(  # the first story is a podcast episode
        "<title>Alpha story 1</title>",
        f'<title>Alpha story 1</title><enclosure url="{EPISODE}" length="1000" '
        'type="audio/mpeg"/>',
    ))  # fmt: skip
    feed_server.set("/b.xml", rss(
        [{"guid": f"b{i}", "title": f"Beta story {i}", "link": f"http://e.com/b{i}",
          "pubDate": f"Tue, 0{i} Nov 2026 11:00:00 GMT"} for i in range(1, 3)],
        title="Beta feed",
    ))  # fmt: skip
    server = server_factory(env={"FEEDHUB_SCHEDULER": "off"}).start()
    server.add_category("Tech")
    server.add_category("World News", "world")
    feed_a = server.add_feed(feed_server.url("/a.xml"), "tech")
    feed_b = server.add_feed(feed_server.url("/b.xml"), "world")
    assert server.refresh(feed_a["id"])["new_articles"] == 3
    assert server.refresh(feed_b["id"])["new_articles"] == 2
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": "ann", "password": PASSWORD})
        assert r.status_code == 201, r.text
    login = httpx.post(
        f"{server.url}/accounts/ClientLogin", data={"Email": "ann", "Passwd": PASSWORD}
    )
    auth = {"Authorization": "GoogleLogin auth=" + login.text.split("Auth=")[1].split()[0]}
    ids = {
        i["title"]: int(i["id"].rsplit("/", 1)[1], 16)
        for i in httpx.get(
            f"{server.url}/reader/api/0/stream/contents/user/-/state/com.google/reading-list",
            headers=auth,
        ).json()["items"]
    }
    # Read in feedhub before newsboat ever looks.
    r = httpx.post(
        f"{server.url}/reader/api/0/edit-tag", headers=auth,
        data={"i": str(ids["Beta story 1"]), "a": "user/-/state/com.google/read"},
    )  # fmt: skip
    assert r.text == "OK"

    (tmp_path / "boat").mkdir()
    boat = Newsboat(newsboat, tmp_path / "boat", server.url)
    boat.run("reload")
    # It signed in and listed the feeds, with their labels as newsboat tags.
    feeds = boat.feeds()
    assert sorted(feeds.values()) == ["Alpha feed", "Beta feed"], feeds
    assert all("/reader/atom/feed%2F" in url for url in feeds)
    items = boat.items()
    by_title = {v["title"]: (guid, v) for guid, v in items.items()}
    assert set(by_title) == set(ids), items
    assert by_title["Beta story 1"][1]["unread"] == 0  # read in feedhub -> read there
    assert by_title["Alpha story 2"][1]["unread"] == 1
    assert by_title["Alpha story 1"][1]["enclosure"] == EPISODE  # the podcast episode
    unread = boat.run("print-unread")
    assert unread.split()[0] == "4", unread

    # Now the other way: read in feedhub after the first download, then reload.
    httpx.post(
        f"{server.url}/reader/api/0/edit-tag", headers=auth,
        data={"i": str(ids["Alpha story 1"]), "a": "user/-/state/com.google/read"},
    )  # fmt: skip
    boat.run("reload")
    assert boat.items()[by_title["Alpha story 1"][0]]["unread"] == 0

    # Read in newsboat: open the first feed, toggle its first article, quit.
    before = {g: v["unread"] for g, v in boat.items().items()}
    # Its list starts with three pseudo-feeds (people you follow, starred, shared): go
    # down to the fourth line, the first real feed (cursor keys in keypad mode: ESC O B).
    down = (0.3, b"\x1bOB")
    boat.interact([(3.0, b"\x1bOB"), down, down, (0.5, b"\r"), (1.5, b"N"), (1.5, b"q"),
                   (1.0, b"q")])  # fmt: skip
    after = {g: v["unread"] for g, v in boat.items().items()}
    changed = [g for g in after if after[g] != before[g]]
    assert len(changed) == 1, boat.screen.decode(errors="replace")[-3000:]
    guid = changed[0]
    article_id = int(guid.rsplit("/", 1)[1], 16)
    assert (before[guid], after[guid]) == (1, 0)  # newsboat: unread -> read
    assert article_id == ids["Alpha story 3"]  # the newest article of the first feed
    assert _state(server, auth, article_id) == {"read"}  # ... and so in feedhub
    # The rest of feedhub's state is untouched: only the two read in feedhub and this one.
    read_ids = httpx.get(
        f"{server.url}/reader/api/0/stream/items/ids",
        params={"s": "user/-/state/com.google/read", "n": 100}, headers=auth,
    ).json()["itemRefs"]  # fmt: skip
    assert sorted(int(r["id"]) for r in read_ids) == sorted(
        [ids["Beta story 1"], ids["Alpha story 1"], ids["Alpha story 3"]]
    )
