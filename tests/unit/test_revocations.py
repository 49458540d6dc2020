"""The open streams' session check: which streams it ends, and that a failing database
ends none (their sessions may be fine)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, cast

import pytest

from feedhub.live.bus import Bus
from feedhub.live.revocations import Revocations


class _NoBus:
    """Only what the check needs: a side channel nobody listens to."""

    def topic(self, name: str) -> object:
        return object()


def _revocations(live: Collection[int] | Exception) -> tuple[Revocations, list[Any]]:
    asked: list[Any] = []

    async def live_sessions(ids: Collection[int]) -> Collection[int]:
        asked.append(set(ids))
        if isinstance(live, Exception):
            raise live
        return live

    return Revocations(cast(Bus, _NoBus()), live_sessions, check_every=1), asked


async def test_the_check_ends_the_streams_of_sessions_no_longer_valid() -> None:
    revocations, asked = _revocations(live={2})
    ended: list[str] = []
    revocations.watch(1, 1, lambda: ended.append("ann's 1"))
    revocations.watch(1, 2, lambda: ended.append("ann's 2"))
    stop = revocations.watch(7, 3, lambda: ended.append("bob's 3"))
    stop()  # a stream that closed is not asked about
    await revocations.check()
    assert asked == [{1, 2}] and ended == ["ann's 1"]


async def test_nothing_open_asks_nothing() -> None:
    revocations, asked = _revocations(live=set())
    await revocations.check()
    assert asked == []


async def test_a_database_error_ends_no_stream() -> None:
    revocations, _ = _revocations(live=OSError("database away"))
    ended: list[int] = []
    revocations.watch(1, 1, lambda: ended.append(1))
    with pytest.raises(OSError):
        await revocations.check()  # the checker's loop logs it and tries again later
    assert ended == []
