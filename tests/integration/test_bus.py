"""The bus: a backend per URL scheme, and doorbells heard in order by a listener."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar

from feedhub.core.errors import ConfigError
from feedhub.live.bus import Doorbell, bus_kind, open_bus, split_bell


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("kafka://somewhere", "must start with memory://, redis://"),
        ("memory", "must start with memory://"),
    ],
)
def test_an_unknown_scheme_is_refused_in_words(url: str, words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        open_bus(url)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("memory://", "memory"),
        ("redis://localhost:6379/0", "redis"),
        ("rediss://localhost:6380/0", "redis"),
        ("postgresql://localhost/feedhub", "postgresql"),
        ("postgres://localhost/feedhub", "postgresql"),
    ],
)
def test_each_scheme_opens_its_backend(url: str, kind: str) -> None:
    assert bus_kind(url) == kind
    assert open_bus(url) is not None  # (connects only when used)


def test_big_doorbells_are_split_in_order() -> None:
    parts = split_bell(Doorbell(1, "tech", tuple(range(1000))))
    assert [len(p.ids) for p in parts] == [400, 400, 200]
    assert sum((p.ids for p in parts), ()) == tuple(range(1000))


async def test_memory_bus_delivers_every_doorbell_to_a_listener_in_order() -> None:
    bus = open_bus("memory://")
    app = Litestar(plugins=list(bus.plugins))
    async with app.lifespan():
        listener = await bus.listen()
        try:
            bells = [Doorbell(1, "tech", (1, 2)), Doorbell(2, "world", (3,))]
            for bell in bells:
                await bus.publish(bell)
            received: list[Doorbell] = []

            async def read() -> None:
                async for data in listener.messages():
                    received.append(Doorbell.decode(data))
                    if len(received) == len(bells):
                        return

            await asyncio.wait_for(read(), timeout=5)
            assert received == bells
        finally:
            await listener.close()
