"""An open stream ends when its session stops being valid: signed out, revoked, its user's
password changed (by the user from another session, or reset by an admin) or the user
deleted. A real server in private mode, where the stream carries what only a signed-in
reader may see; ordinary requests already get 401 after each of these."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest

from tests.support.server import ServerProcess

# Real `feedhub serve` processes in every test: not in the quick loop.
pytestmark = pytest.mark.slow

PASSWORD = "correct horse"
# How long an ended stream may take to close before the test calls it open (a bound for a
# failure, not a speed target: the close is announced at once).
ENDS_WITHIN = 30.0


@pytest.fixture
def server(server_factory: type[ServerProcess]) -> ServerProcess:
    env = {"FEEDHUB_SCHEDULER": "off", "FEEDHUB_READING": "private"}
    return server_factory(env=env).start()


def _sign_in(server: ServerProcess, name: str) -> httpx.Client:
    client = httpx.Client(base_url=server.url, timeout=30)
    r = client.post("/api/session", json={"name": name, "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.headers["X-CSRF-Token"] = client.get("/api/session").json()["csrf_token"]
    return client


@contextmanager
def _open_stream(client: httpx.Client) -> Iterator[threading.Event]:
    """Open /api/stream with the client's cookie; the event is set when the stream ends."""
    ended, opened = threading.Event(), threading.Event()

    def read() -> None:
        try:
            with client.stream("GET", "/api/stream", timeout=None) as r:
                for chunk in r.iter_bytes():
                    if b"event: hello" in chunk:
                        opened.set()
        except (httpx.HTTPError, RuntimeError):  # closed under it by the test's end
            return
        ended.set()  # the server ended the response

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    assert opened.wait(ENDS_WITHIN), "the stream did not open"
    try:
        yield ended
    finally:
        client.close()


def _create(server: ServerProcess, name: str) -> None:
    with server.admin() as admin:
        r = admin.post("/api/admin/users", json={"name": name, "password": PASSWORD})
        assert r.status_code == 201, r.text


def _sign_out(server: ServerProcess, name: str, client: httpx.Client) -> None:
    assert client.delete("/api/session").status_code == 204


def _revoke_from_elsewhere(server: ServerProcess, name: str, client: httpx.Client) -> None:
    other = _sign_in(server, name)
    rows = other.get("/api/me/sessions").json()
    (target,) = [s["id"] for s in rows if not s["current"]]
    assert other.delete(f"/api/me/sessions/{target}").status_code in (200, 204)
    other.close()


def _change_password_elsewhere(server: ServerProcess, name: str, client: httpx.Client) -> None:
    other = _sign_in(server, name)
    r = other.post("/api/me/password", json={"current": PASSWORD, "new": "new horse!"})
    assert r.status_code == 204, r.text
    other.close()


def _admin_reset(server: ServerProcess, name: str, client: httpx.Client) -> None:
    with server.admin() as admin:
        r = admin.patch(f"/api/admin/users/{name}", json={"password": "reset horse"})
        assert r.status_code == 200, r.text


def _delete_user(server: ServerProcess, name: str, client: httpx.Client) -> None:
    with server.admin() as admin:
        assert admin.delete(f"/api/admin/users/{name}").status_code in (200, 204)


Revocation = Callable[[ServerProcess, str, httpx.Client], None]


@pytest.mark.parametrize(
    "revoke",
    [_sign_out, _revoke_from_elsewhere, _change_password_elsewhere, _admin_reset, _delete_user],
)
def test_a_revoked_session_s_stream_ends(server: ServerProcess, revoke: Revocation) -> None:
    _create(server, "ann")
    _create(server, "bob")
    bystander = _sign_in(server, "bob")
    client = _sign_in(server, "ann")
    with _open_stream(bystander) as bob_ended, _open_stream(client) as ended:
        revoke(server, "ann", client)
        assert ended.wait(ENDS_WITHIN), "the stream outlived its session"
        assert not bob_ended.is_set()  # another user's stream is left alone


# -- sessions ended where no announcement reaches: checked against the database ----------------
@pytest.fixture
def checked_server(server_factory: type[ServerProcess]) -> ServerProcess:
    """Streams' sessions checked every half second (30 s by default): the memory bus, so a
    `feedhub users` command in another process has no way to announce anything."""
    env = {
        "FEEDHUB_SCHEDULER": "off",
        "FEEDHUB_READING": "private",
        "FEEDHUB_STREAM_SESSION_CHECK_SECONDS": "0.5",
    }
    return server_factory(env=env).start()


def _cli(server: ServerProcess, *args: str, stdin: str = "") -> None:
    done = subprocess.run(
        [sys.executable, "-m", "feedhub", *args], env=server.env(), input=stdin.encode(),
        capture_output=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()


def _cli_remove(server: ServerProcess) -> None:
    _cli(server, "users", "remove", "ann")


def _cli_passwd(server: ServerProcess) -> None:
    _cli(server, "users", "passwd", "ann", stdin="another horse\n")


def _idle_past_its_life(server: ServerProcess) -> None:
    """A session last used longer ago than sessions live (30 days): the clock moved on,
    as far as the database can tell."""
    with sqlite3.connect(server.db_path) as db:
        updated = db.execute(
            "UPDATE user_session SET last_seen_at = '2000-01-01 00:00:00.000000'"
            " WHERE user_id = (SELECT id FROM reader_user WHERE name = 'ann')"
        ).rowcount
    assert updated == 1


@pytest.mark.parametrize("end_session", [_cli_remove, _cli_passwd, _idle_past_its_life])
def test_a_stream_ends_when_its_session_ends_out_of_the_server_s_sight(
    checked_server: ServerProcess, end_session: Callable[[ServerProcess], None]
) -> None:
    server = checked_server
    _create(server, "ann")
    _create(server, "bob")
    bystander = _sign_in(server, "bob")
    client = _sign_in(server, "ann")
    with _open_stream(bystander) as bob_ended, _open_stream(client) as ended:
        end_session(server)
        assert ended.wait(ENDS_WITHIN), "the stream outlived its session"
        assert not bob_ended.is_set()  # checked too, and still valid
