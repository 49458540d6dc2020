"""SQLite statements on aiosqlite: one call on the driver's thread each (feedhub.db.onehop),
with everything SQLAlchemy reads from a cursor as it was: rows, row counts, last row ids,
RETURNING, translated errors; server-side cursors read their first rows with the
statement, a page of ordinary rows in one call, big rows still a batch at a time."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from feedhub.db import onehop
from feedhub.db.models import Category
from feedhub.db.onehop import PREFETCH, READ_AHEAD_BYTES
from tests.support.driverhops import count_driver_calls


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of every function sent to aiosqlite's thread."""
    return count_driver_calls(monkeypatch)


async def test_a_read_is_one_call_on_the_driver_thread(
    engine: AsyncEngine, hops: list[str]
) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))  # the pool's first connection, made now
        hops.clear()
        rows = (await conn.execute(text("SELECT 1, 'a' UNION ALL SELECT 2, 'b'"))).all()
        assert hops == ["_run"]
    assert [tuple(r) for r in rows] == [(1, "a"), (2, "b")]


async def test_writes_keep_row_counts_ids_and_returning(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(insert(Category).values(slug="one", name="One"))
        assert first.inserted_primary_key is not None
        returned = (
            await conn.execute(
                insert(Category).values(slug="two", name="Two").returning(Category.id)
            )
        ).scalar_one()
        assert returned == first.inserted_primary_key[0] + 1
        await conn.execute(
            insert(Category), [{"slug": f"s{i}", "name": f"S{i}"} for i in range(3)]
        )  # executemany
        changed = await conn.execute(
            update(Category).where(Category.slug.like("s%")).values(name="renamed")
        )
        assert changed.rowcount == 3
        names = (await conn.execute(select(Category.name).order_by(Category.id))).scalars()
        assert list(names)[-3:] == ["renamed"] * 3


async def test_errors_are_translated_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(insert(Category).values(slug="dup", name="Dup"))
        with pytest.raises(IntegrityError):
            await conn.execute(insert(Category).values(slug="dup", name="Dup again"))
        await conn.rollback()
        assert (await conn.execute(text("SELECT 2"))).scalar_one() == 2


def _numbers(count: int, width: int = 0) -> Any:
    """`count` rows: a number, and a text of `width` characters."""
    return text(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :count)"
        " SELECT i, printf('%.*c', :width, 'x') FROM n"
    ).bindparams(count=count, width=width)


async def test_a_server_side_cursor_reads_small_rows_in_one_call(
    engine: AsyncEngine, hops: list[str]
) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        hops.clear()
        result = await conn.stream(_numbers(PREFETCH * 2 + 1, 100).execution_options(yield_per=50))
        batches = [[r[0] for r in batch] async for batch in result.partitions(50)]
        assert hops == ["_open"]  # a page of 101 ordinary rows: read and closed in one call
    assert [len(b) for b in batches] == [50, 50, 1]
    assert [i for b in batches for i in b] == list(range(1, PREFETCH * 2 + 2))


async def test_a_server_side_cursor_reads_big_rows_a_batch_at_a_time(
    engine: AsyncEngine, hops: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []
    rows_of = onehop._rows

    def counted(cursor: Any, wanted: int | None) -> Any:
        rows, done = rows_of(cursor, wanted)
        read.append(len(rows))
        return rows, done

    monkeypatch.setattr(onehop, "_rows", counted)
    width = READ_AHEAD_BYTES // 5  # five rows fill a call's read-ahead
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
        hops.clear()
        result = await conn.stream(_numbers(PREFETCH + 70, width).execution_options(yield_per=10))
        rows = [list(batch) async for batch in result.partitions(10)]
    assert [len(batch) for batch in rows] == [10] * ((PREFETCH + 70) // 10)
    assert [r[0] for batch in rows for r in batch] == list(range(1, PREFETCH + 71))
    assert all(len(r[1]) == width for batch in rows for r in batch)
    assert hops[0] == "_open" and set(hops[1:]) == {"_more"}
    # The first batch with the statement, then what each fetch asked for: never more.
    assert read[0] == PREFETCH and max(read[1:]) <= 10


async def test_a_server_side_cursor_left_early_is_closed(
    engine: AsyncEngine, hops: list[str]
) -> None:
    async with engine.connect() as conn:
        width = READ_AHEAD_BYTES // 5
        result = await conn.stream(_numbers(PREFETCH * 3, width).execution_options(yield_per=10))
        assert len(await result.fetchmany(10)) == 10
        hops.clear()
        await result.close()
        assert hops == ["close"]
        assert (await conn.execute(text("SELECT 2"))).scalar_one() == 2
