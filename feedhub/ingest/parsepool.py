"""Parser worker processes: a deadline per document, and workers that die with `serve`.

Each worker is its own one-process executor, so a document that overruns its deadline
(`parse_deadline_seconds`) costs only its own worker: that process is killed and replaced,
and the other workers' documents carry on (two hostile feeds kept both
workers busy for 43 s and every other feed waited).

Workers are started by the forkserver, not by `serve` itself; when `serve` is SIGKILLed no
shutdown code runs and they lived on forever. So each worker, at
start, asks the kernel for SIGKILL when its parent (the forkserver) dies
(PR_SET_PDEATHSIG, Linux) and watches `serve`'s pid in a daemon thread (everywhere else,
and for the case where the forkserver outlives `serve`).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from feedhub.core.errors import ParseError

__all__ = ["ParserPool", "die_with_parent"]

log = logging.getLogger(__name__)

T = TypeVar("T")
_PR_SET_PDEATHSIG = 1
_WATCH_PERIOD = 0.5
START_TIMEOUT = 60.0
"""How long a new worker may take to start and import what it parses with: a loaded
machine needs seconds for that, and it is no fault of the document."""


def _import(module: str) -> None:
    importlib.import_module(module)


def _module_of(call: Callable[..., object]) -> str:
    """The module a picklable call is unpickled from in the worker (a partial's function's)."""
    return str(getattr(getattr(call, "func", call), "__module__", None) or __name__)


def die_with_parent(serve_pid: int) -> None:
    """Worker initializer: end this process when `serve` (pid `serve_pid`) is gone."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    def watch() -> None:
        while True:
            time.sleep(_WATCH_PERIOD)
            try:
                os.kill(serve_pid, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # the pid now belongs to someone else: serve is gone
                os._exit(0)

    threading.Thread(target=watch, name="feedhub-parent-watch", daemon=True).start()


class ParserPool:
    """`workers` single-process executors handed out one document at a time."""

    def __init__(self, workers: int, deadline: float) -> None:
        self.workers = workers
        self.deadline = deadline
        self._context = multiprocessing.get_context("forkserver")
        self._idle: list[ProcessPoolExecutor] = [self._new() for _ in range(workers)]
        self._free = asyncio.Semaphore(workers)
        self._replaced = 0
        self._started: set[ProcessPoolExecutor] = set()

    @property
    def replaced(self) -> int:
        """How many workers were killed for overrunning the deadline or crashing."""
        return self._replaced

    async def warm(self) -> None:
        """Start every worker and import the parser in it, so that the first documents do
        not pay a process start and feedparser's import (a few hundred ms each)."""
        await asyncio.gather(*(self._start(e, "feedhub.ingest.parse") for e in self._idle))

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=1,
            mp_context=self._context,
            initializer=die_with_parent,
            initargs=(os.getpid(),),
        )

    async def run(self, call: Callable[[], T], what: str = "the document") -> T:
        """Run the picklable `call` in a worker within the deadline.

        Raises ParseError, in words, when the worker overran the deadline or crashed; the
        worker is replaced either way.
        """
        async with self._free:
            executor = self._idle.pop()
            try:
                await self._start(executor, _module_of(call))
                future = asyncio.get_running_loop().run_in_executor(executor, call)
                return await asyncio.wait_for(future, self.deadline)
            except TimeoutError:
                executor = self._replace(executor)
                log.warning("parsing %s took over %.0f s: worker replaced", what, self.deadline)
                raise ParseError(f"refused: parsing took longer than {self.deadline:g} s") from None
            except BrokenProcessPool:
                executor = self._replace(executor)
                raise ParseError("the parser crashed on this document") from None
            finally:
                self._idle.append(executor)

    async def _start(self, executor: ProcessPoolExecutor, module: str) -> None:
        """Start the worker and import `module` in it before any deadline runs: the
        deadline is for the document, and a cold worker on a loaded machine takes longer
        than that to start (every poll would then be refused and every worker replaced by
        another cold one)."""
        if executor in self._started:
            return
        future = asyncio.get_running_loop().run_in_executor(executor, _import, module)
        try:
            await asyncio.wait_for(future, START_TIMEOUT)
        except TimeoutError:
            raise BrokenProcessPool(f"no parser worker started in {START_TIMEOUT:.0f} s") from None
        self._started.add(executor)

    def _replace(self, executor: ProcessPoolExecutor) -> ProcessPoolExecutor:
        # The executor API cannot stop a running call: kill its one process.
        processes = getattr(executor, "_processes", None) or {}
        for process in list(processes.values()):
            with contextlib.suppress(OSError):
                process.kill()
        executor.shutdown(wait=False, cancel_futures=True)
        self._started.discard(executor)
        self._replaced += 1
        return self._new()

    def shutdown(self) -> None:
        for executor in self._idle:
            executor.shutdown(wait=False, cancel_futures=True)
        self._idle.clear()
        self._started.clear()
