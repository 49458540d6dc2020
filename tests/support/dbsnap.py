"""Every row of every table, on SQLite or PostgreSQL: "bad input changes nothing" checks."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect, text

from feedhub.db.engine import create_engine

__all__ = ["execute", "snapshot", "table_rows"]


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


async def table_rows(database_url: str, table: str, columns: str = "*") -> list[Any]:
    """One table's rows (named tuples), in a stable order."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            rows = (await conn.execute(text(f'SELECT {columns} FROM "{table}"'))).all()
        return sorted(rows, key=repr)
    finally:
        await engine.dispose()


async def execute(database_url: str, statement: str, **params: Any) -> None:
    """One statement behind the application's back (another process, the CLI)."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text(statement), params)
    finally:
        await engine.dispose()
