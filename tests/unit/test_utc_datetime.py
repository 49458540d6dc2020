"""UTCDateTime on SQLite reads its text in one parse, with the generic path's results."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.types import TypeDecorator

from feedhub.db.models import UTCDateTime


def _processors() -> tuple[object, object]:
    dialect = sqlite.dialect()
    column = UTCDateTime().dialect_impl(dialect)
    fast = column.result_processor(dialect, None)
    generic = TypeDecorator.result_processor(column, dialect, None)  # what it overrides
    return fast, generic


@pytest.mark.parametrize(
    "stored",
    [
        "2026-12-07 15:14:16.123456",  # what SQLAlchemy writes
        "2026-12-07 15:14:16.000000",
        "1970-01-01 00:00:00.000000",  # the listed_at default of migration 0007
        "2026-12-07 15:14:16",
        "2026-12-07",
        "2026-12-07T15:14:16.5+02:00",
        None,
    ],
)
def test_sqlite_text_reads_as_the_generic_path_reads_it(stored: str | None) -> None:
    fast, generic = _processors()
    assert callable(fast) and callable(generic)
    got, expected = fast(stored), generic(stored)
    assert got == expected
    if got is not None:
        assert got.tzinfo is not None and got.utcoffset() == timedelta(0)


def test_a_written_moment_reads_back_the_same() -> None:
    dialect = sqlite.dialect()
    column = UTCDateTime().dialect_impl(dialect)
    bind, result = column.bind_processor(dialect), column.result_processor(dialect, None)
    assert bind is not None and result is not None
    moment = datetime(2026, 12, 7, 17, 14, 16, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert result(bind(moment)) == moment and result(bind(moment)).tzinfo is UTC


def test_postgresql_keeps_the_generic_path() -> None:
    dialect = postgresql.dialect()
    processor = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert processor is not None
    assert processor(datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=1)))) == datetime(
        2025, 12, 31, 23, tzinfo=UTC
    )
