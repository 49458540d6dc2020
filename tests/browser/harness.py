"""Helpers shared by the browser tests and the screenshot script.

A real feedhub server runs as a subprocess (`python -m feedhub serve`) on a free port with a
temporary SQLite database; it can be stopped and started again on the same port and database.
Feeds come from `tests.support.feedserver.FeedServer`. Chromium is Debian's, driven by the
Python playwright package (PITFALLS.md, "Testing").
"""

from __future__ import annotations

import email.utils
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import httpx

from tests.support.ports import free_port
from tests.support.prefork import LaunchedProcess, launch
from tests.support.server import feedhub_env, wait_healthy

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TOKEN = "browser-test-token"


# Pages as with "reduce motion" set, in every context the tests open. The live dot's endless
# pulse (a box-shadow, painted anew every frame) kept each open page drawing sixty frames a
# second in software: a third of a core per idle page (tests/browser: 167 -> 140 s of
# Chromium CPU). The page's motion rules keep what the tests look at (a new article's
# highlight and its end).
STILL = {"reduced_motion": "reduce"}


class _StillBrowser:
    """The browser, whose new contexts are STILL unless told otherwise."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def new_context(self, **options: Any) -> Any:
        return self._browser.new_context(**{**STILL, **options})

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


def launch_chromium(playwright: Any) -> Any:
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
    )
    return _StillBrowser(browser)


# Records every `hello`, `article` and `reset` the page's EventSource receives, in order,
# before the page's own listeners run: what the stream said, whichever path then showed it.
_STREAM_RECORDER = """
(() => {
  const Native = window.EventSource;
  const events = (window.__streamEvents = []);
  window.EventSource = class extends Native {
    constructor(...args) {
      super(...args);
      for (const type of ["hello", "article", "reset"]) {
        this.addEventListener(type, (event) => {
          let data = null;
          try { data = JSON.parse(event.data); } catch {}
          events.push({ type, id: Number(event.lastEventId), data });
        });
      }
    }
  };
})();
"""


def sign_in_on_page(
    page: Any, base_url: str, name: str, password: str, *, refused: bool = False
) -> None:
    """Sign in through the reading page's dialog, as a person does (the page at `/`), and
    wait until the page has redrawn its list for the reader: it focuses the account button
    last. A click before that landed on a card about to be replaced, and was lost.
    `refused`: a sign-in expected to fail (the dialog stays open with its error)."""
    from playwright.sync_api import expect

    page.goto(base_url + "/")
    page.get_by_role("button", name="Sign in").click()
    dialog = page.get_by_role("dialog", name="Sign in")
    dialog.get_by_label("Name").fill(name)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Sign in").click()
    if not refused:
        expect(page.get_by_role("button", name=f"Account: {name}")).to_be_focused()


def server_state(feedhub: Any, page: Any, ids: list[int]) -> dict[str, Any]:
    """The reader's marks of `ids` as the server has them now, read with this page's
    cookie."""
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    answer = httpx.get(f"{feedhub.base_url}/api/me/state",
                       params={"ids": ",".join(map(str, ids))}, cookies=cookies)  # fmt: skip
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


class Held:
    """The page's next `method` request matching `pattern`, kept from it: handled by the
    server at once, and its answer (or, given `answer`, that instead: what a server that
    read its data before some other request would have said) handed to the page only at
    `release`. So a test orders what the server sees and what the page receives, as a slow
    network may."""

    def __init__(self, page: Any, pattern: str, method: str, *, answer: Any = None) -> None:
        self.page, self.pattern, self.method, self.answer = page, pattern, method, answer
        self.held: list[tuple[Any, Any]] = []
        self.taken = False
        page.route(pattern, self._hold)

    def _hold(self, route: Any) -> None:
        if self.taken or route.request.method != self.method:
            route.fallback()
            return
        self.taken = True
        self.held.append((route, route.fetch()))

    def wait(self) -> Held:
        deadline = time.monotonic() + 10
        while not self.held:
            assert time.monotonic() < deadline, f"the page sent no {self.method} {self.pattern}"
            self.page.wait_for_timeout(20)
        return self

    def release(self) -> None:
        """Hands the answer to the page, and gives the page a moment to (wrongly) draw
        it: nothing on the page says that an answer was ignored."""
        route, response = self.wait().held.pop()
        with self.page.expect_response(lambda r: r.request == route.request) as answered:
            if self.answer is None:
                route.fulfill(response=response)
            else:
                route.fulfill(response=response, json=self.answer)
        answered.value.finished()
        self.page.evaluate("() => new Promise((settled) => setTimeout(settled, 100))")


def record_stream(page: Any) -> None:
    """From the next navigation on, keep what the page's stream receives (`stream_events`)."""
    page.add_init_script(_STREAM_RECORDER)


def stream_events(page: Any, type_: str | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = page.evaluate("window.__streamEvents ?? []")
    return [e for e in events if type_ is None or e["type"] == type_]


def wait_for_stream_article(page: Any, article_id: int, timeout: float = 30_000) -> None:
    """Until the page's stream has announced an article with an id of at least `article_id`
    (and the page has handled it): the stream sends ids in increasing order, so nothing up
    to `article_id` is still on its way."""
    page.wait_for_function(
        "id => (window.__streamEvents ?? []).some((e) => e.type === 'article' && e.id >= id)",
        arg=article_id, timeout=timeout,
    )  # fmt: skip


@dataclass
class FeedhubServer:
    """One `feedhub serve` subprocess; `stop()` and `start()` keep the port and database."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    token: str = TOKEN
    extra_env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | LaunchedProcess | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / f"server-{self.port}.log"

    def env(self) -> dict[str, str]:
        return feedhub_env(
            self.data_dir / "feedhub.db", self.port, self.token,
            FEEDHUB_HEARTBEAT_SECONDS="5", PYTHONUNBUFFERED="1", **self.extra_env,
        )  # fmt: skip

    def start(self, timeout: float = 30.0) -> FeedhubServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = launch(["serve"], self.env(), REPO, self.log_path)
        self.starts += 1
        try:
            wait_healthy(self.process, self.base_url, timeout, self.log_tail)
        except RuntimeError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # -- admin API ---------------------------------------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(
            method,
            f"{self.base_url}{path}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30.0,
            **kwargs,
        )
        if response.status_code >= 400:
            raise AssertionError(f"{method} {path} -> {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def add_category(self, name: str, slug: str) -> dict[str, Any]:
        return self.api("POST", "/api/admin/categories", json={"name": name, "slug": slug})

    def add_feed(self, url: str, category: str, **extra: Any) -> dict[str, Any]:
        return self.api(
            "POST", "/api/admin/feeds", json={"url": url, "category": category, **extra}
        )

    def add_user(self, name: str, password: str, role: str = "reader") -> dict[str, Any]:
        return self.api(
            "POST", "/api/admin/users", json={"name": name, "password": password, "role": role}
        )

    def refresh(self, feed_id: int) -> dict[str, Any]:
        return self.api("POST", f"/api/admin/feeds/{feed_id}/refresh")

    def articles(self, **params: Any) -> list[dict[str, Any]]:
        response = httpx.get(f"{self.base_url}/api/articles", params=params, timeout=10.0)
        response.raise_for_status()
        return list(response.json())

    def all_articles(self) -> list[dict[str, Any]]:
        """Every stored article (backlog included), newest id first."""
        found: list[dict[str, Any]] = []
        while batch := self.articles(limit=200, **({"before": found[-1]["id"]} if found else {})):
            found += batch
        return found

    def wait_for_articles(
        self, count: int, timeout: float = 15.0, **params: Any
    ) -> list[dict[str, Any]]:
        """Wait until the API lists at least `count` articles (the first poll runs at once)."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.articles(limit=200, **params)
            if len(found) >= count or time.monotonic() > deadline:
                assert len(found) >= count, f"{len(found)} articles, wanted {count}"
                return found
            time.sleep(0.1)


def item(
    key: str, title: str, *, minutes_ago: float = 0, summary: str = "", **extra: str
) -> dict[str, str]:
    """An RSS item for `tests.support.feedserver.rss`; `key` makes guid and link unique.

    Title and summary are XML-escaped here, so the summary is read as HTML, as in real feeds.
    """
    published = time.time() - minutes_ago * 60
    return {
        "guid": f"urn:feedhub-test:{key}",
        "link": f"https://example.com/{key}",
        "title": escape(title),
        "description": escape(summary or f"Summary of {title}."),
        "pubDate": email.utils.formatdate(published, usegmt=True),
        **extra,
    }
