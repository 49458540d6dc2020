"""The readers' HTTP API (docs/readers-api.md): sign-in, sessions, CSRF, private mode,
read/starred state, mark-all with a bound, the admin users API."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.db.models import Article, User
from feedhub.readers.accounts import fever_api_key
from feedhub.readers.passwords import hash_password, needs_rehash
from tests.conftest import BOTH_DATABASES
from tests.integration.readers.conftest import ADMIN, PASSWORD, make_client
from tests.integration.readers.helpers import T0
from tests.support.dbsnap import table_rows

pytestmark = BOTH_DATABASES

Client = AsyncTestClient[Any]


async def sign_in(client: Client, name: str = "ann", password: str = PASSWORD) -> dict[str, str]:
    r = await client.post("/api/session", json={"name": name, "password": password})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["name"] == name and body["csrf_token"]
    return {"X-CSRF-Token": body["csrf_token"]}


async def _rows(settings: Settings, table: str) -> list[tuple[Any, ...]]:
    return await table_rows(settings.database_url, table)


async def test_sign_in_sets_a_safe_cookie(client: Client, world: Any) -> None:
    r = await client.get("/api/session")
    assert r.json() == {"user": None, "csrf_token": None, "reading": "public", "feed_key": None}
    r = await client.post("/api/session", json={"name": "ann", "password": PASSWORD})
    cookie = r.headers["set-cookie"].lower()
    assert "feedhub_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "secure" not in cookie  # plain http here; https sets Secure
    body = (await client.get("/api/session")).json()
    assert body["user"] == {"name": "ann", "role": "reader"} and body["feed_key"]


async def test_secure_cookie_behind_tls(settings: Settings, world: Any) -> None:
    async with AsyncTestClient(app=make_client(settings).app, base_url="https://feeds.test") as c:
        r = await c.post("/api/session", json={"name": "ann", "password": PASSWORD})
        assert "secure" in r.headers["set-cookie"].lower()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "ann", "password": "wrong horse"}, 401),
        ({"name": "nobody", "password": PASSWORD}, 401),
        ({"name": "ann"}, 400),
        ({"name": "", "password": "x"}, 400),
    ],
)
async def test_wrong_sign_in(client: Client, world: Any, body: Any, status: int) -> None:
    r = await client.post("/api/session", json=body)
    assert r.status_code == status and r.json()["detail"]
    assert "set-cookie" not in r.headers
    assert (await client.get("/api/session")).json()["user"] is None


async def test_sign_in_needs_json(client: Client, world: Any) -> None:
    """A cross-site form cannot sign anyone in (login CSRF): text/plain is refused."""
    r = await client.post(
        "/api/session",
        content=b'{"name": "ann", "password": "correct horse"}',
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code in (400, 415, 422) and "set-cookie" not in r.headers


async def test_sign_in_rate_limit(client: Client, world: Any, settings: Settings) -> None:
    for _ in range(5):
        r = await client.post("/api/session", json={"name": "ann", "password": "wrong horse"})
        assert r.status_code == 401
    r = await client.post("/api/session", json={"name": "ann", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert await _rows(settings, "user_session") == []
    # Another name from the same address is not locked out with ann (a household shares it).
    r = await client.post("/api/session", json={"name": "root", "password": PASSWORD})
    assert r.status_code == 200


async def test_sessions_listed_and_revoked(settings: Settings, world: Any) -> None:
    async with make_client(settings) as laptop, make_client(settings) as phone:
        csrf = await sign_in(laptop)
        await sign_in(phone)
        rows = (await laptop.get("/api/me/sessions")).json()
        assert len(rows) == 2 and sum(r["current"] for r in rows) == 1
        other = next(r for r in rows if not r["current"])
        # without the CSRF header: refused, nothing revoked
        r = await laptop.delete(f"/api/me/sessions/{other['id']}")
        assert r.status_code == 403 and "CSRF" in r.json()["detail"]
        r = await phone.get("/api/me/unread")
        assert r.status_code == 200, r.text
        r = await laptop.delete(f"/api/me/sessions/{other['id']}", headers=csrf)
        assert r.status_code == 204
        r = await phone.get("/api/me/unread")
        assert r.status_code == 401
        assert (await phone.get("/api/session")).json()["user"] is None
        r = await laptop.delete("/api/me/sessions/99999", headers=csrf)
        assert r.status_code == 404
        r = await laptop.delete("/api/session", headers=csrf)
        assert r.status_code == 204
        assert (await laptop.get("/api/me/unread")).status_code == 401
    assert await _rows(settings, "user_session") == []


async def test_csrf_refused_on_every_change(client: Client, world: Any, settings: Settings) -> None:
    csrf = await sign_in(client)
    before = await _rows(settings, "article_state"), await _rows(settings, "read_mark")
    for method, path, body in [
        ("POST", "/api/me/state", {"read": [1]}),
        ("POST", "/api/me/mark-all-read", {"upto_id": 10}),
        ("POST", "/api/me/feed-key", None),
        ("POST", "/api/me/password", {"current": PASSWORD, "new": "battery staple"}),
        ("DELETE", "/api/session", None),
    ]:
        for headers in ({}, {"X-CSRF-Token": "forged"}):
            r = await client.request(method, path, json=body, headers=headers)
            assert r.status_code == 403, (path, r.text)
    assert (await _rows(settings, "article_state"), await _rows(settings, "read_mark")) == before
    r = await client.post("/api/me/state", json={"read": [1]}, headers=csrf)
    assert r.status_code == 200


async def test_state_routes(client: Client, world: Any) -> None:
    csrf = await sign_in(client)
    alpha = world["alpha"]
    r = await client.post(
        "/api/me/state", json={"read": alpha[:2], "starred": [alpha[0], 9999]}, headers=csrf
    )
    assert r.json() == {"read": alpha[:2], "unread": [], "starred": [alpha[0]], "unstarred": []}
    ids = ",".join(map(str, alpha))
    assert (await client.get(f"/api/me/state?ids={ids}")).json() == {
        "read": alpha[:2], "starred": [alpha[0]],
    }  # fmt: skip
    unread = (await client.get("/api/me/unread")).json()
    assert unread == {
        "total": 8, "categories": {"tech": 5, "news": 3}, "feeds": {"1": 2, "2": 3, "3": 3}
    }  # fmt: skip
    listed = (await client.get("/api/me/articles", params={"state": "starred"})).json()
    assert [a["id"] for a in listed] == [alpha[0]] and listed[0]["starred"] is True
    listed = (await client.get("/api/me/articles", params={"state": "unread", "limit": 3})).json()
    assert [a["id"] for a in listed] == [10, 9, 8] and not any(a["read"] for a in listed)
    listed = (await client.get("/api/me/articles", params={"category": "tech", "before": 5})).json()
    assert [a["id"] for a in listed] == [4, 2, 1]
    article = (await client.get(f"/api/articles/{alpha[0]}")).json()
    assert article["content"] == "<p>content 1</p>" and article["read"] is True
    assert article["starred"] is True
    for bad in (
        {"read": [1], "unread": [1]},
        {"read": ["x"]},
        {"read": list(range(1, 1002))},
        {"flag": [1]},
    ):
        r = await client.post("/api/me/state", json=bad, headers=csrf)
        assert r.status_code in (400, 422), bad
    assert (await client.get("/api/me/state?ids=1,x")).status_code in (400, 422)
    assert (await client.get("/api/me/articles?state=old")).status_code == 400
    assert (await client.get("/api/articles/999")).status_code == 404


async def test_mark_all_with_an_article_arriving_meanwhile(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession]
) -> None:
    csrf = await sign_in(client)
    shown = 10  # the newest id the page showed when the user clicked
    async with sessions() as s:  # arrives while the click travels
        s.add(Article(
            feed_id=1, guid_key="late", title="late", summary="", content="", url=None,
            author=None, published_at=T0, fetched_at=T0 + timedelta(seconds=60),
            content_hash="x",
        ))  # fmt: skip
        await s.commit()
    r = await client.post("/api/me/mark-all-read", json={"category": "tech", "upto_id": shown},
                          headers=csrf)  # fmt: skip
    assert r.json() == {"upto_id": shown}
    assert (await client.get("/api/me/unread")).json() == {
        "total": 4, "categories": {"tech": 1, "news": 3}, "feeds": {"1": 1, "3": 3}
    }  # fmt: skip
    r = await client.post(
        "/api/me/mark-all-read",
        json={"before": (T0 + timedelta(seconds=30)).isoformat()}, headers=csrf,
    )  # fmt: skip
    assert r.json() == {"upto_id": 10}
    assert (await client.get("/api/me/unread")).json()["total"] == 1  # the late one
    for bad, status in [
        ({}, 422),
        ({"upto_id": 3, "before": T0.isoformat()}, 422),
        ({"category": "nope", "upto_id": 3}, 404),
        ({"feed_id": 99, "upto_id": 3}, 404),
        ({"category": "tech", "feed_id": 1, "upto_id": 3}, 422),
    ]:
        r = await client.post("/api/me/mark-all-read", json=bad, headers=csrf)
        assert r.status_code == status, (bad, r.text)


async def test_password_change_and_feed_key(client: Client, world: Any, settings: Settings) -> None:
    csrf = await sign_in(client)
    old_key = (await client.get("/api/session")).json()["feed_key"]
    assert (await client.get(f"/all/atom.xml?key={old_key}")).status_code == 200
    new_key = (await client.post("/api/me/feed-key", headers=csrf)).json()["feed_key"]
    assert new_key != old_key
    r = await client.post(
        "/api/me/password", json={"current": "nope nope", "new": "battery staple"}, headers=csrf
    )
    assert r.status_code == 401
    r = await client.post(
        "/api/me/password", json={"current": PASSWORD, "new": "battery staple"}, headers=csrf
    )
    assert r.status_code == 204
    async with make_client(settings) as other:
        r = await other.post("/api/session", json={"name": "ann", "password": "battery staple"})
        assert r.status_code == 200


async def test_admin_users_api(client: Client, world: Any, settings: Settings) -> None:
    r = await client.post(
        "/api/admin/users", json={"name": "bob", "password": "long enough", "role": "reader"},
        headers=ADMIN,
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["name"] == "bob" and "password" not in r.text
    names = [u["name"] for u in (await client.get("/api/admin/users", headers=ADMIN)).json()]
    assert names == ["ann", "bob", "root"]
    for body, status in [
        ({"name": "bob", "password": "long enough"}, 409),
        ({"name": "x y", "password": "long enough"}, 400),  # the body's schema says so
        ({"name": "eve", "password": "short"}, 400),
        ({"name": "eve", "password": "long enough", "role": "god"}, 422),
    ]:
        assert (await client.post("/api/admin/users", json=body, headers=ADMIN)).status_code == (
            status
        ), body
    assert (await client.post("/api/admin/users", json={"name": "z"})).status_code == 401
    r = await client.patch("/api/admin/users/bob", json={"role": "admin"}, headers=ADMIN)
    assert r.json()["role"] == "admin"
    r = await client.patch("/api/admin/users/zed", json={"role": "admin"}, headers=ADMIN)
    assert r.status_code == 404
    # a signed-in reader is not an admin; a signed-in admin is (with CSRF)
    await sign_in(client, "ann")
    assert (await client.get("/api/admin/users")).status_code == 403
    csrf = await sign_in(client, "root")
    assert (await client.get("/api/admin/users")).status_code == 200
    r = await client.delete("/api/admin/users/bob")
    assert r.status_code == 403  # no CSRF token
    r = await client.delete("/api/admin/users/bob", headers=csrf)
    assert r.status_code == 204
    assert "bob" not in str(await _rows(settings, "reader_user"))


async def test_an_admin_lists_and_ends_another_users_sessions(
    settings: Settings, world: Any
) -> None:
    async with make_client(settings) as phone, make_client(settings) as admin:
        await sign_in(phone, "ann")
        csrf = await sign_in(admin, "root")
        listed = (await admin.get("/api/admin/users/ann/sessions")).json()
        assert [(s["kind"], s["current"]) for s in listed] == [("web", False)]
        own = (await admin.get("/api/admin/users/root/sessions")).json()
        assert [s["current"] for s in own] == [True]
        ann_session = listed[0]["id"]
        # Another user's session is not found under ann's name; no CSRF token, no change.
        r = await admin.delete(f"/api/admin/users/root/sessions/{ann_session}", headers=csrf)
        assert r.status_code == 404
        r = await admin.delete(f"/api/admin/users/ann/sessions/{ann_session}")
        assert r.status_code == 403
        assert (await phone.get("/api/me/unread")).status_code == 200
        r = await admin.delete(f"/api/admin/users/ann/sessions/{ann_session}", headers=csrf)
        assert r.status_code == 204
        assert (await phone.get("/api/me/unread")).status_code == 401
        assert (await admin.get("/api/admin/users/ann/sessions")).json() == []
        assert (await admin.get("/api/admin/users/zed/sessions")).status_code == 404
        # A reader may not look at anyone's sessions this way.
        await sign_in(phone, "ann")
        assert (await phone.get("/api/admin/users/root/sessions")).status_code == 403


@pytest.fixture
def private_settings(settings: Settings) -> Settings:
    return settings.with_(reading="private")


async def test_private_mode_refuses_every_anonymous_reading_route(
    private_settings: Settings, world: Any
) -> None:
    async with make_client(private_settings) as client:
        key = None
        for path in [
            "/api/articles", "/api/categories", "/api/stream", "/api/articles/1",
            "/all/atom.xml", "/all/feed.json", "/categories/tech/atom.xml",
            "/categories/tech/feed.json?key=wrong", "/api/me/unread",
        ]:  # fmt: skip
            r = await client.get(path)
            assert r.status_code == 401, path
            assert "sign in" in r.json()["detail"]
        r = await client.get("/", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/signin"
        # open: the sign-in API, probes, static assets, the Google Reader sign-in
        assert (await client.get("/healthz")).status_code == 200
        assert (await client.get("/api/session")).json()["reading"] == "private"
        assert (await client.get("/favicon.svg")).status_code == 200
        r = await client.get("/signin")
        assert r.status_code == 200 and b'id="signin"' in r.content
        assert (await client.get("/js/signin.js")).status_code == 200
        # signed in, everything reads
        await sign_in(client)
        key = (await client.get("/api/session")).json()["feed_key"]
        for path in ["/api/articles", "/api/categories", "/all/atom.xml", "/"]:
            assert (await client.get(path)).status_code == 200, path
    async with make_client(private_settings) as feed_reader:
        # a feed reader cannot sign in: its secret URL works, for output feeds only
        r = await feed_reader.get(f"/categories/tech/atom.xml?key={key}")
        assert r.status_code == 200 and b"<feed" in r.content
        assert (await feed_reader.get(f"/all/feed.json?key={key}")).status_code == 200
        assert (await feed_reader.get(f"/api/articles?key={key}")).status_code == 401
        # the admin token still works for scripts
        r = await feed_reader.get("/api/articles", headers=ADMIN)
        assert r.status_code == 200


@pytest.mark.slow
def test_cli_users(tmp_path: Any) -> None:
    """`feedhub users add|list|passwd|remove` as a real subprocess on a real SQLite file."""
    import os
    import subprocess
    import sys

    db = tmp_path / "cli.db"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
    env.update(FEEDHUB_DATABASE_URL=f"sqlite+aiosqlite:///{db}", FEEDHUB_LOG_LEVEL="WARNING")

    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "feedhub", "users", *args], input=stdin,
            capture_output=True, text=True, env=env, timeout=60,
        )  # fmt: skip

    done = run("add", "ann", "--role", "admin", stdin="correct horse\n")
    assert done.returncode == 0 and "added admin 'ann'" in done.stdout, done.stderr
    assert "correct horse" not in done.stdout + done.stderr
    done = run("add", "ann", stdin="correct horse\n")
    assert done.returncode == 1 and "already exists" in done.stderr
    done = run("add", "bob", stdin="short\n")
    assert done.returncode == 1 and "8 to 200" in done.stderr
    assert run("list").stdout.split()[:2] == ["ann", "admin"]
    assert run("passwd", "ann", stdin="battery staple\n").returncode == 0
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT password_hash FROM reader_user").fetchone()[0]
    from feedhub.readers.passwords import verify_password

    assert verify_password("battery staple", stored)
    assert run("passwd", "zed", stdin="battery staple\n").returncode == 1
    assert run("remove", "ann").returncode == 0
    assert "no users yet" in run("list").stdout


async def test_no_cache_keeps_a_user_s_secrets(private_settings: Settings, world: Any) -> None:
    """GET /api/session carries the CSRF token and the feed key: no-store. An output feed
    fetched with a user's key is that user's: private, never public (a shared cache would
    hand it to anyone)."""
    async with make_client(private_settings) as client:
        assert "no-store" in (await client.get("/api/session")).headers["cache-control"]
        await sign_in(client)
        r = await client.get("/api/session")
        assert "no-store" in r.headers["cache-control"]
        key = r.json()["feed_key"]
        client.cookies.clear()
        for path in ("/all/atom.xml", "/all/feed.json"):
            r = await client.get(f"{path}?key={key}")
            assert r.status_code == 200
            assert r.headers["cache-control"].startswith("private"), path


@pytest.mark.parametrize(
    "before",
    ["2024-01-01T00:00:00", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"],
)
async def test_mark_all_read_refuses_zone_less_and_edge_times(
    client: Client, world: Any, before: str
) -> None:
    csrf = await sign_in(client)
    r = await client.post("/api/me/mark-all-read", json={"before": before}, headers=csrf)
    assert 400 <= r.status_code < 500, r.text
    assert (await client.get("/api/me/unread")).json()["total"] == 10  # nothing changed


@pytest.mark.parametrize("route", ["page", "ClientLogin"])
async def test_both_sign_ins_replace_a_hash_of_older_parameters(
    client: Client, world: Any, sessions: async_sessionmaker[AsyncSession], route: str
) -> None:
    """A hash made at an older (cheaper) cost is rehashed at today's on the next sign-in
    that proves the password; a wrong one changes nothing; the Fever key keeps working."""
    old = hash_password(PASSWORD, n=2**10)

    async def stored() -> str:
        async with sessions() as s:
            return str(await s.scalar(select(User.password_hash).where(User.name == "ann")))

    async with sessions() as s:
        await s.execute(update(User).where(User.name == "ann").values(password_hash=old))
        await s.commit()

    async def attempt(password: str) -> int:
        if route == "page":
            r = await client.post("/api/session", json={"name": "ann", "password": password})
        else:
            r = await client.post(
                "/accounts/ClientLogin", data={"Email": "ann", "Passwd": password}
            )
        return r.status_code

    assert await attempt("wrong horse") == 401
    assert await stored() == old
    assert await attempt(PASSWORD) == 200
    new = await stored()
    assert new != old and not needs_rehash(new)
    client.cookies.clear()  # (an app sends no page cookie)
    r = await client.post("/api/fever.php?api&", data={"api_key": fever_api_key("ann", PASSWORD)})
    assert r.json()["auth"] == 1
    assert await attempt(PASSWORD) == 200  # the new hash verifies
