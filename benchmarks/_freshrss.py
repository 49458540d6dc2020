"""A throwaway FreshRSS (PHP) instance built from its source tree, for side-by-side figures.

    from _freshrss import FreshRSS, source_dir, unavailable
    src = source_dir(args.freshrss_src)          # --freshrss-src, else $FEEDHUB_BENCH_FRESHRSS
    if (why := unavailable(src)) is None:
        fresh = FreshRSS(src, workdir)            # copy, prepare, do-install (SQLite), user
        fresh.import_feeds(urls)                  # an OPML of the same loopback feed URLs
        run = fresh.actualize()                   # cli/actualize-user.php: CPU, peak RSS
        fresh.serve()                             # php -S 127.0.0.1:PORT -t p/

The source is a FreshRSS checkout (or `git archive` of one): the benchmarks never fetch
it. Everything runs as the documented CLI does it (cli/README.md); the instance lives in
a temp dir and dies with it. The user `bench` has the API password `API_PASSWORD`; the
Google Reader API is at /api/greader.php on the `php -S` server, which serves one request
at a time (the built-in server is single-threaded): callers send theirs one after another.

What is measured, and how: a CLI run's CPU (user+sys) and peak RSS come from `wait4`
(the kernel's account of the `php` process and of anything it waited for: FreshRSS's
actualize runs in one process), the server's from /proc of its process tree.
"""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import quoteattr

import httpx
from _proctree import Measured, run_measured, tree_cpu, tree_rss_mb

ENV = "FEEDHUB_BENCH_FRESHRSS"
USER = "bench"
PASSWORD = "benchpass123"
API_PASSWORD = "benchapi123"
PHP_MODULES = ("pdo_sqlite", "curl", "xml", "mbstring", "intl", "zip", "gmp")
READING_LIST = "user/-/state/com.google/reading-list"
READ = "user/-/state/com.google/read"
# What an app asks for on opening, one after another: the calls the benchmarks time.
APP_CALLS = {
    "subscription/list": "/reader/api/0/subscription/list?output=json",
    "stream/contents n=100": f"/reader/api/0/stream/contents/{READING_LIST}?n=100&output=json",
    "stream/items/ids unread n=1000": (
        f"/reader/api/0/stream/items/ids?s={READING_LIST}&xt={READ}&n=1000&output=json"
    ),
    "unread-count": "/reader/api/0/unread-count?output=json",
}
EMPTY_OPML = (
    '<?xml version="1.0"?>\n<opml version="2.0"><head><title>e</title></head><body/></opml>\n'
)


def source_dir(arg: Path | None) -> Path | None:
    """The FreshRSS source: --freshrss-src, else the environment variable, else none."""
    if arg is not None:
        return arg
    env = os.environ.get(ENV)
    return Path(env) if env else None


def unavailable(src: Path | None) -> str | None:
    """Why FreshRSS cannot run here, as a sentence; None when it can."""
    how = (
        f"give --freshrss-src DIR or {ENV}=DIR (a FreshRSS source tree) and install PHP "
        "(benchmarks/README.md, FreshRSS)"
    )
    php = shutil.which("php")
    if php is None:
        return f"FreshRSS: skipped, `php` is not installed here; {how}."
    if src is None:
        return f"FreshRSS: skipped, no FreshRSS source given; {how}."
    if not (src / "cli" / "do-install.php").is_file():
        return f"FreshRSS: skipped, {src} is not a FreshRSS source tree (no cli/do-install.php)."
    loaded = subprocess.run([php, "-m"], capture_output=True, text=True, check=False).stdout
    names = {line.strip().lower() for line in loaded.splitlines()}
    lacking = [m for m in PHP_MODULES if m not in names]
    if lacking:
        return f"FreshRSS: skipped, PHP lacks the modules {', '.join(lacking)}; {how}."
    return None


def php_version() -> str:
    out = subprocess.run(["php", "-r", "echo PHP_VERSION;"], capture_output=True, text=True)
    return out.stdout.strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class FreshRSS:
    """One FreshRSS instance: its own copy of the tree, SQLite, one user, one server."""

    def __init__(self, src: Path, workdir: Path) -> None:
        self.root = workdir / "freshrss"
        # The tree is copied because FreshRSS writes its data/ (config, SQLite, caches)
        # inside it; the given source stays untouched and reusable.
        shutil.copytree(
            src, self.root, ignore=shutil.ignore_patterns(".git", "tests", "docs", "node_modules")
        )
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.server: subprocess.Popen[bytes] | None = None
        self.version = _version(self.root)
        self._cli("prepare.php")
        self._cli(
            "do-install.php", "--default-user", "admin", "--auth-type", "form",
            "--environment", "production", "--base-url", self.base + "/", "--language", "en",
            "--title", "FreshRSS", "--api-enabled", "--db-type", "sqlite",
        )  # fmt: skip
        # `create-user.php --no-default-feeds` crashes in late-2024 snapshots: an empty
        # default OPML gives the new user no feeds either way.
        (self.root / "data" / "opml.xml").write_text(EMPTY_OPML)
        self._cli(
            "create-user.php", "--user", USER, "--password", PASSWORD,
            "--api-password", API_PASSWORD,
        )  # fmt: skip

    @property
    def database(self) -> Path:
        return self.root / "data" / "users" / USER / "db.sqlite"

    def _cli(self, script: str, *args: str) -> Measured:
        run = run_measured(["php", f"cli/{script}", *args], cwd=self.root)
        if run.returncode != 0:
            raise RuntimeError(f"FreshRSS {script} exited {run.returncode}: {run.output[-2000:]}")
        return run

    def cli(self, script: str, *args: str) -> Measured:
        """Run one CLI script (as cron or an operator does), measured."""
        return self._cli(script, *args)

    def import_feeds(self, urls: list[str], category: str = "Bench") -> None:
        outlines = "\n".join(
            f'<outline type="rss" text={quoteattr(url)} xmlUrl={quoteattr(url)}/>' for url in urls
        )
        opml = self.root / "data" / "bench.opml"
        opml.write_text(
            '<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0"><head><title>bench'
            f"</title></head><body><outline text={quoteattr(category)}>\n{outlines}\n"
            "</outline></body></opml>\n"
        )
        self._cli("import-for-user.php", "--user", USER, "--filename", str(opml))

    def actualize(self) -> Measured:
        """One full poll of every feed, one after the other, as its cron job does."""
        return self._cli("actualize-user.php", "--user", USER)

    def entry_count(self) -> int:
        with sqlite3.connect(self.database) as db:
            count: int = db.execute("SELECT count(*) FROM entry").fetchone()[0]
        return count

    def counts_by_url(self) -> dict[str, int]:
        with sqlite3.connect(self.database) as db:
            rows = db.execute(
                "SELECT f.url, count(e.id) FROM feed f LEFT JOIN entry e ON e.id_feed = f.id "
                "GROUP BY f.id"
            ).fetchall()
        return {url: n for url, n in rows}

    def feed_errors(self) -> int:
        with sqlite3.connect(self.database) as db:
            errors: int = db.execute("SELECT count(*) FROM feed WHERE error != 0").fetchone()[0]
        return errors

    # -- the server ----------------------------------------------------------------------------
    def serve(self) -> None:
        """php -S on 127.0.0.1 (quiet: -q leaves out its per-request log line)."""
        self.server = subprocess.Popen(
            ["php", "-q", "-S", f"127.0.0.1:{self.port}", "-t", "p/"],
            cwd=self.root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                if self.server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("php -S did not start") from None
                time.sleep(0.05)  # waiting on a condition: the port accepting

    def server_cpu(self) -> float:
        assert self.server is not None
        return tree_cpu(self.server.pid)

    def server_rss_mb(self) -> float:
        assert self.server is not None
        return tree_rss_mb(self.server.pid)

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(10)


def _version(root: Path) -> str:
    for line in (root / "constants.php").read_text().splitlines():
        if line.startswith("const FRESHRSS_VERSION") and "=" in line:
            return line.split("=", 1)[1].strip().strip(";").strip("'\"")
    return "?"


class GReader:
    """A Google Reader API client (ClientLogin, then GoogleLogin auth), for either server.

    prefix: "" for feedhub (/accounts/ClientLogin, /reader/api/0/...), "/api/greader.php"
    for FreshRSS. One connection, requests one after another."""

    def __init__(self, base: str, prefix: str, user: str, password: str) -> None:
        self.client = httpx.Client(base_url=base + prefix, timeout=60)
        login = self.client.post("/accounts/ClientLogin", data={"Email": user, "Passwd": password})
        login.raise_for_status()
        auth = next(x for x in login.text.splitlines() if x.startswith("Auth="))[5:]
        self.client.headers["Authorization"] = "GoogleLogin auth=" + auth
        self.token = self.get("/reader/api/0/token").text.strip()

    def get(self, path: str) -> httpx.Response:
        response = self.client.get(path)
        response.raise_for_status()
        return response

    def post(self, path: str, data: dict[str, str | list[str]]) -> httpx.Response:
        response = self.client.post(path, data={**data, "T": self.token})
        response.raise_for_status()
        return response

    def close(self) -> None:
        self.client.close()
