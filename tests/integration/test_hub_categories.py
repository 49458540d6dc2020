"""The hub learns categories as they are created or first rung,
coalesces concurrent re-reads into one, and remembers misses briefly.

A real StreamHub over a real SQLite file; database reads of the category table are counted
with an engine event, and categories are created behind the hub's back (as the CLI or
another process would).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from feedhub.core.config import Settings
from feedhub.db.engine import create_engine, session_factory
from feedhub.live.bus import Doorbell
from feedhub.live.hub import StreamHub
from tests.conftest import BOTH_DATABASES
from tests.support.dbsnap import execute

pytestmark = BOTH_DATABASES


class Counted:
    def __init__(self, engine: AsyncEngine) -> None:
        self.reads = 0

        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
            if "FROM category" in statement:
                self.reads += 1


@pytest.fixture
async def hub_and_reads(settings: Settings) -> AsyncIterator[tuple[StreamHub, Counted]]:
    engine = create_engine(settings.database_url)
    counted = Counted(engine)
    hub = StreamHub(session_factory(engine), bus=None, queue_size=8)  # type: ignore[arg-type]
    yield hub, counted
    await engine.dispose()


async def create_behind_the_hubs_back(settings: Settings, slug: str) -> None:
    await execute(
        settings.database_url,
        "INSERT INTO category (slug, name) VALUES (:slug, :name)",
        slug=slug,
        name=slug.title(),
    )


async def test_a_storm_for_a_category_created_after_start_costs_one_read(
    hub_and_reads: tuple[StreamHub, Counted], settings: Settings
) -> None:
    hub, counted = hub_and_reads
    hub.miss_ttl = 0  # only coalescing may save reads here
    await create_behind_the_hubs_back(settings, "late")
    answers = await asyncio.gather(*(hub.unknown_categories(["late"]) for _ in range(2000)))
    assert answers == [[]] * 2000
    assert counted.reads == 1
    # Known now: more streams cost nothing.
    assert await hub.unknown_categories(["late"]) == []
    assert counted.reads == 1


async def test_made_up_slugs_cost_one_read_per_miss_window(
    hub_and_reads: tuple[StreamHub, Counted], settings: Settings
) -> None:
    hub, counted = hub_and_reads
    hub.miss_ttl = 60
    for n in range(500):
        assert await hub.unknown_categories([f"made-up-{n}"]) == [f"made-up-{n}"]
    assert counted.reads == 1
    hub.miss_ttl = 0
    assert await hub.unknown_categories(["made-up-x"]) == ["made-up-x"]
    assert counted.reads == 2


async def test_categories_are_learned_from_doorbells_and_creation(
    hub_and_reads: tuple[StreamHub, Counted], settings: Settings
) -> None:
    hub, counted = hub_and_reads
    hub.miss_ttl = 0
    await create_behind_the_hubs_back(settings, "rung")
    await hub.on_doorbell(Doorbell(feed_id=1, category="rung", ids=(1,)))  # no subscriber: no read
    hub.learn_category("created-here")
    assert await hub.unknown_categories(["rung", "created-here"]) == []
    assert counted.reads == 0
    hub.forget_category("rung")
    assert await hub.unknown_categories(["rung"]) == []  # still in the database: read again
    assert counted.reads == 1
