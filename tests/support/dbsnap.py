"""Every row of every table, on SQLite or PostgreSQL: "bad input changes nothing" checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text

from feedhub.db import create_engine

__all__ = ["snapshot"]


async def snapshot(database_url: str) -> dict[str, list[tuple[Any, ...]]]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            out: dict[str, list[tuple[Any, ...]]] = {}
            for table in sorted(tables):
                rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
                out[table] = sorted((tuple(r) for r in rows), key=repr)
            return out
    finally:
        await engine.dispose()
