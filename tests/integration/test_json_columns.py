"""JSON columns read as the standard library reads them, on both databases: msgspec for
speed (feedhub.db.engine), `json.loads` for what msgspec refuses (NaN, as `json.dumps`
writes it)."""

from __future__ import annotations

import json
import math

import pytest
from sqlalchemy import JSON, String, cast, func, literal, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import BOTH_DATABASES

pytestmark = BOTH_DATABASES


@pytest.mark.parametrize(
    "stored",
    [
        "null",
        '[{"url": "https://example.org/a.mp3", "type": "audio/mpeg", "length": 12345}]',
        '{"big": 123456789012345678901234567890, "text": "caf\\u00e9 \\ud83d\\ude00"}',
        "[1.5, NaN]",
    ],
)
async def test_json_reads_as_json_loads(engine: AsyncEngine, stored: str) -> None:
    if stored.endswith("NaN]") and engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's json type refuses NaN: only SQLite can hold one")
    # The stored text as a JSON column gives it back: the text bound as a string (a JSON
    # bind would encode it again), the result typed JSON; SQLite's CAST to JSON would make
    # a number of it.
    as_text = func.trim(literal(stored, String))
    value = type_coerce(as_text, JSON) if engine.dialect.name == "sqlite" else cast(as_text, JSON)
    async with engine.connect() as conn:
        got = (await conn.execute(select(value))).scalar_one()
    expected = json.loads(stored)
    if stored.endswith("NaN]"):
        assert got[0] == expected[0] and math.isnan(got[1])
    else:
        assert got == expected
