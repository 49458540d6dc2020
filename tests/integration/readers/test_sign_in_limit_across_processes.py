"""The sign-in limit holds across processes: attempts counted by
one `feedhub serve` count in the other, over the Redis bus and over the PostgreSQL bus.
Without the sharing, a guesser behind N processes gets N times the attempts."""

from __future__ import annotations

import time

import httpx

from tests.support.cluster import cluster_env
from tests.support.metrics import scrape, total
from tests.support.server import ServerProcess

PASSWORD = "correct horse"


def _sign_in(server: ServerProcess, name: str, password: str, client: int) -> httpx.Response:
    """From the address 10.0.0.`client` (uvicorn trusts X-Forwarded-For from loopback, as
    from a proxy): a name is counted per network it is tried from."""
    return httpx.post(
        f"{server.url}/api/session", json={"name": name, "password": password},
        headers={"X-Forwarded-For": f"10.0.0.{client}"}, timeout=10,
    )  # fmt: skip


def _heard(server: ServerProcess) -> float:
    """The attempts `server` recorded from the other process's announcements, so far."""
    return total(scrape(server.url), "feedhub_sign_in_attempts_heard_total")


def _sign_in_heard(
    server: ServerProcess, other: ServerProcess, name: str, password: str, client: int
) -> int:
    """A sign-in on `server`, then a wait until `other` has recorded what it announced (the
    attempt, and its success): the next question to `other` may depend on it. Announcements
    take a millisecond or so; a loaded machine may take longer, and a sleep would guess."""
    before = _heard(other)
    status = _sign_in(server, name, password, client).status_code
    announced = 2 if status == 200 else 1
    deadline = time.monotonic() + 10
    while _heard(other) < before + announced:
        assert time.monotonic() < deadline, f"{other.url} never heard the attempt"
        time.sleep(0.02)
    return status


def test_attempts_on_one_process_count_on_the_other(
    server_factory: type[ServerProcess], pg_url: str, bus_url: str
) -> None:
    env = cluster_env(pg_url, bus_url, FEEDHUB_SCHEDULER="off", FEEDHUB_LOGIN_ATTEMPTS="4")
    here, there = server_factory(env=env).start(), server_factory(env=env).start()
    with here.admin() as admin:
        for name in ("ann", "bob"):
            r = admin.post("/api/admin/users", json={"name": name, "password": PASSWORD})
            assert r.status_code == 201, r.text
    # A success clears the name everywhere: bob's earlier failures on `here` are forgotten
    # (else here would count them with the success's own attempt: four, the limit).
    for _ in range(3):
        assert _sign_in_heard(here, there, "bob", "wrong horse", 1) == 401
    assert _sign_in_heard(there, here, "bob", PASSWORD, 1) == 200
    assert _sign_in(here, "bob", "wrong horse", 1).status_code == 401  # 1 again, not 4
    assert _sign_in(here, "bob", PASSWORD, 1).status_code == 200
    for server, other in ((here, there), (here, there), (there, here), (there, here)):
        assert _sign_in_heard(server, other, "ann", "wrong horse", 10) == 401
    # Each process saw only two itself: the limit of four is reached on both all the same.
    for server in (here, there):
        r = _sign_in(server, "ann", PASSWORD, 10)
        assert r.status_code == 429, (server.url, r.status_code, r.text)
        assert int(r.headers["retry-after"]) > 0
    # The lock-out is of ann from that network only: from another she signs in.
    assert _sign_in(there, "ann", PASSWORD, 11).status_code == 200
