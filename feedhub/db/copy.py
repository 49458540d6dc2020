"""`feedhub migrate-db`: copy a whole installation to another database, ids kept.

The way from SQLite to PostgreSQL (docs/scale-out.md). Article ids are the stream's event
ids: open tabs resume with Last-Event-ID after the move only if every id stays the same, so
rows are copied as they are, and PostgreSQL's sequences are then set past the largest id.
Both databases are brought to the migration head first; the target must be empty.
Derived data is not copied: the SQLite search index is SQLite's own, and PostgreSQL
computes its tsvector column from the copied text.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Integer, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from feedhub.core.errors import ValidationError
from feedhub.db.engine import create_engine
from feedhub.db.migrate import upgrade_to_head
from feedhub.db.models import Base

__all__ = ["copy_database"]

_BATCH = 1000


async def copy_database(
    source_url: str, target_url: str, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every table of the models from source to target; rows copied per table."""
    upgrade_to_head(source_url)
    upgrade_to_head(target_url)
    source, target = create_engine(source_url), create_engine(target_url)
    copied: dict[str, int] = {}
    try:
        async with source.connect() as src, target.begin() as dst:
            for table in Base.metadata.sorted_tables:
                if await dst.scalar(select(func.count()).select_from(table)):
                    raise ValidationError(
                        f"the target database is not empty (table {table.name} has rows): "
                        "migrate-db copies into a fresh database only"
                    )
            for table in Base.metadata.sorted_tables:
                copied[table.name] = await _copy_table(src, dst, table, progress)
            if dst.dialect.name == "postgresql":
                await _reset_sequences(dst)
    finally:
        await source.dispose()
        await target.dispose()
    return copied


async def _copy_table(
    src: AsyncConnection,
    dst: AsyncConnection,
    table: object,
    progress: Callable[[str, int], None] | None,
) -> int:
    from sqlalchemy import Table

    assert isinstance(table, Table)
    columns = [c for c in table.columns if c.computed is None]
    order = list(table.primary_key.columns)
    result = await src.stream(select(*columns).order_by(*order))
    total = 0
    async for rows in result.partitions(_BATCH):
        await dst.execute(table.insert(), [dict(row._mapping) for row in rows])
        total += len(rows)
        if progress is not None:
            progress(table.name, total)
    return total


async def _reset_sequences(dst: AsyncConnection) -> None:
    """Each serial/identity id continues after the largest copied one."""
    for table in Base.metadata.sorted_tables:
        for column in table.primary_key.columns:
            if not isinstance(column.type, Integer) or not column.autoincrement:
                continue
            sequence = await dst.scalar(
                text("SELECT pg_get_serial_sequence(:t, :c)"),
                {"t": table.name, "c": column.name},
            )
            if sequence is None:
                continue
            await dst.execute(
                text(
                    f"SELECT setval(:s, (SELECT coalesce(max({column.name}), 0) + 1 "
                    f"FROM {table.name}), false)"
                ),
                {"s": sequence},
            )
