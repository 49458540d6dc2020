"""Sign-in limits against a real server, as a guesser would try them: bursts of concurrent
attempts (each counted before its password is hashed), the lock-out of one name from one
network only, networks cut to a prefix, and the password change counted like a sign-in.

Client addresses are set with X-Forwarded-For (uvicorn trusts it from loopback, as from a
proxy)."""

from __future__ import annotations

import asyncio
from collections import Counter

import httpx
import pytest

from tests.support.server import ServerProcess

PASSWORD = "correct horse"
WRONG = "wrong horse!"


@pytest.fixture
def server(server_factory: type[ServerProcess]) -> ServerProcess:
    env = {"FEEDHUB_SCHEDULER": "off", "FEEDHUB_LOGIN_NETWORK_ATTEMPTS": "12"}
    started = server_factory(env=env).start()
    with started.admin() as admin:
        for name in ("ann", "bob", "root"):
            r = admin.post("/api/admin/users", json={"name": name, "password": PASSWORD})
            assert r.status_code == 201, r.text
    return started


async def _sign_in(client: httpx.AsyncClient, name: str, password: str, address: str) -> int:
    r = await client.post(
        "/api/session", json={"name": name, "password": password},
        headers={"X-Forwarded-For": address},
    )  # fmt: skip
    return r.status_code


async def _burst(server: ServerProcess, name: str, address: str, count: int) -> Counter[int]:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
        codes = await asyncio.gather(
            *(_sign_in(client, name, WRONG, address) for _ in range(count))
        )
    return Counter(codes)


def _status(server: ServerProcess, name: str, password: str, address: str) -> int:
    async def once() -> int:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            return await _sign_in(client, name, password, address)

    return asyncio.run(once())


def test_a_burst_of_guesses_gets_only_the_limit_checked(server: ServerProcess) -> None:
    codes = asyncio.run(_burst(server, "ann", "198.51.100.7", 30))
    assert codes == Counter({401: 5, 429: 25})
    # The right password from the guesser's address is refused too: the name is locked there.
    assert _status(server, "ann", PASSWORD, "198.51.100.7") == 429


def test_a_lock_out_hits_the_guesser_not_the_owner_nor_the_household(
    server: ServerProcess,
) -> None:
    for _ in range(5):
        assert _status(server, "ann", WRONG, "198.51.100.7") == 401
    assert _status(server, "ann", PASSWORD, "198.51.100.7") == 429
    # ann from her own address still signs in; bob, behind the guesser's address, too.
    assert _status(server, "ann", PASSWORD, "203.0.113.5") == 200
    assert _status(server, "bob", PASSWORD, "198.51.100.7") == 200


def test_an_ipv6_network_counts_as_one_client(server: ServerProcess) -> None:
    """Twelve attempts per network over all names: the addresses of one /64 are one
    network, so changing the last 64 bits gives no fresh attempts."""
    for i in range(12):
        name = f"nobody{i}"
        assert _status(server, name, WRONG, f"2001:db8:0:7::{i + 1:x}") == 401
    assert _status(server, "root", PASSWORD, "2001:db8:0:7::ff") == 429
    assert _status(server, "root", PASSWORD, "2001:db8:0:8::1") == 200


def test_client_login_caps_the_name_and_counts_like_the_page(server: ServerProcess) -> None:
    """A long Email is refused without hashing and counted under a capped key (one over the
    sign-in routes' body limit never reaches the limiter: 413)."""
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for length in (3_000, 2_000, 1_000, 500, 100):  # all cut to one name
            r = client.post(
                "/accounts/ClientLogin", data={"Email": "a" * length, "Passwd": WRONG},
                headers={"X-Forwarded-For": "192.0.2.1"},
            )  # fmt: skip
            assert r.status_code == 401
        r = client.post(
            "/accounts/ClientLogin", data={"Email": "a" * 70, "Passwd": WRONG},
            headers={"X-Forwarded-For": "192.0.2.1"},
        )  # fmt: skip
        assert r.status_code == 429
        r = client.post(
            "/accounts/ClientLogin", data={"Email": "a" * 100_000, "Passwd": WRONG},
            headers={"X-Forwarded-For": "192.0.2.1"},
        )  # fmt: skip
        assert r.status_code == 413


def test_password_change_is_limited_like_a_sign_in(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        r = client.post("/api/session", json={"name": "ann", "password": PASSWORD})
        assert r.status_code == 200
        csrf = client.get("/api/session").json()["csrf_token"]
        cookies = dict(client.cookies)

    async def change(current: str) -> int:
        async with httpx.AsyncClient(base_url=server.url, timeout=60, cookies=cookies) as c:
            r = await c.post(
                "/api/me/password", json={"current": current, "new": "another horse"},
                headers={"X-CSRF-Token": csrf},
            )  # fmt: skip
            return r.status_code

    async def burst() -> Counter[int]:
        return Counter(await asyncio.gather(*(change(WRONG) for _ in range(20))))

    assert asyncio.run(burst()) == Counter({401: 5, 429: 15})
    assert asyncio.run(change(PASSWORD)) == 429
