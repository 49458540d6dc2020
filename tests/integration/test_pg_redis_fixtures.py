"""The PostgreSQL and Redis fixtures themselves: real servers, fresh databases, restarts."""

from __future__ import annotations

import asyncio
import os

import asyncpg
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text

from feedhub.db.engine import create_engine
from tests.conftest import BOTH_DATABASES
from tests.support.pgserver import PgServer
from tests.support.redisserver import RedisServer


async def test_postgres_cluster_is_private_and_unprivileged(pg_server: PgServer) -> None:
    conn = await asyncpg.connect(pg_server.dsn())
    try:
        version = await conn.fetchval("SHOW server_version_num")
        fsync = await conn.fetchval("SHOW fsync")
        port = await conn.fetchval("SHOW port")
    finally:
        await conn.close()
    assert int(version) >= 150000
    assert fsync == "off"
    assert int(port) == pg_server.port
    pid = int((pg_server.data_dir / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid != 0, "PostgreSQL must not run as root"


async def test_each_test_gets_a_fresh_database_at_head(pg_url: str, pg_server: PgServer) -> None:
    engine = create_engine(pg_url)
    async with engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM article"))
        head = await conn.scalar(text("SELECT version_num FROM alembic_version"))
        db = await conn.scalar(text("SELECT current_database()"))
    await engine.dispose()
    assert count == 0
    assert head is not None
    assert db != "postgres"


@BOTH_DATABASES
def test_db_url_is_parametrised(db_url: str, db_backend: str) -> None:
    prefix = {"sqlite": "sqlite+aiosqlite://", "postgresql": "postgresql+asyncpg://"}
    assert db_url.startswith(prefix[db_backend])


async def test_redis_restart_drops_clients_and_comes_back(redis_server: RedisServer) -> None:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        assert await client.ping()
        await asyncio.to_thread(redis_server.restart)
        # The old connection died with the server; the pool opens a new one.
        for _attempt in range(3):
            try:
                assert await client.ping()
                break
            except aioredis.ConnectionError:
                continue
        else:
            pytest.fail("redis did not answer after its restart")
        info = await client.info("server")
        assert int(info["uptime_in_seconds"]) < 5
    finally:
        await client.aclose()


def test_missing_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.pgserver import missing

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        missing("PostgreSQL is not installed")
    monkeypatch.setenv("CI", "false")
    with pytest.raises(pytest.skip.Exception, match="not installed"):
        missing("PostgreSQL is not installed")
