"""The threads that hash passwords: few, and with a bounded queue.

scrypt takes tens of milliseconds of a core and tens of MiB of memory per hash. Run in the
event loop's default executor, a burst of sign-ins took every thread and starved the rest
of the service; here at most `workers` hashes run at once, at most `queue` more wait, and
past that an attempt is refused at once with Retry-After (it never took a slot: the caller
gives its sign-in slots back). One pool per process, sized by `configure` from settings.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from feedhub.core.errors import RateLimitedError

__all__ = ["configure", "run"]

T = TypeVar("T")


class _Pool:
    def __init__(self, workers: int, queue: int) -> None:
        self.workers = workers
        self.queue = queue
        self.busy = 0
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        if self.busy >= self.workers + self.queue:
            raise RateLimitedError("too many sign-ins at once; try again shortly", retry_after=1)
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self.workers, thread_name_prefix="passwords")
        self.busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)
        finally:
            self.busy -= 1


_pool = _Pool(workers=2, queue=64)


def configure(workers: int, queue: int) -> None:
    """Size the pool (create_app, from settings); a running pool keeps its threads."""
    global _pool
    if (workers, queue) != (_pool.workers, _pool.queue):
        _pool = _Pool(workers, queue)


async def run(fn: Callable[..., T], *args: object) -> T:
    """`fn(*args)` on a hashing thread; RateLimitedError when the queue is full."""
    return await _pool.run(fn, *args)
