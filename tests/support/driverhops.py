"""Counting the calls feedhub makes on aiosqlite's thread: each is a hand-over to the
driver's thread and a wake-up of the event loop after it."""

from __future__ import annotations

from typing import Any

import aiosqlite
import pytest


def count_driver_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """From now on, the name of every function sent to aiosqlite's thread, in order."""
    calls: list[str] = []
    original = aiosqlite.core.Connection._execute

    async def counted(self: Any, fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.core.Connection, "_execute", counted)
    return calls
