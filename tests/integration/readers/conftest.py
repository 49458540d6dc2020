"""Fixtures for reader tests: an app on a real SQLite file, seeded feeds, users, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.readers import accounts, passwords
from feedhub.service.app import create_app
from tests.integration.readers.helpers import T0, seed

ADMIN = {"Authorization": "Bearer test-token"}
PASSWORD = "correct horse"


async def add_user(
    sessions: async_sessionmaker[AsyncSession], name: str, role: str = "reader"
) -> int:
    async with sessions() as s:
        return (await accounts.create_user(s, name, PASSWORD, role, T0)).id


@pytest.fixture(autouse=True)
def _quick_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """scrypt at n=2**17 takes ~0.5 s a hash and as long a check, several per test: these
    tests of everything else hash at 2**12 (test_accounts checks the real parameters)."""
    monkeypatch.setattr(passwords, "N", 2**12)


@pytest.fixture
async def world(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[int]]:
    """Two categories, three feeds, 10 articles; users ann (reader) and root (admin)."""
    ids = await seed(sessions, {"tech": {"alpha": 4, "beta": 3}, "news": {"gamma": 3}})
    await add_user(sessions, "ann")
    await add_user(sessions, "root", "admin")
    return ids


def make_client(settings: Settings) -> AsyncTestClient[Any]:
    return AsyncTestClient(app=create_app(settings))


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[AsyncTestClient[Any]]:
    async with make_client(settings) as c:
        yield c


async def google_login(client: AsyncTestClient[Any], name: str = "ann") -> dict[str, str]:
    r = await client.post("/accounts/ClientLogin", data={"Email": name, "Passwd": PASSWORD})
    assert r.status_code == 200, r.text
    auth = dict(line.split("=", 1) for line in r.text.splitlines())["Auth"]
    return {"Authorization": f"GoogleLogin auth={auth}"}
