"""Parser worker processes, for the documents the fast path declines: a deadline per
document, started when needed, gone when idle.

Most documents are read in `serve`'s own process (`parsing.py`: the lxml fast path, or
a small document). The rest go to feedparser, a pure-Python parser that a hostile document
can hold for minutes: it runs here, in a worker process that can be killed. A document
that overruns its deadline (`parse_deadline_seconds`) costs only its own worker: that
process is killed and replaced, and the other workers' documents carry on (two hostile
feeds once kept both workers busy for 43 s and every other feed waited).

A worker is a plain child process (`python -m feedhub.ingest.parseworker`, framed pickles
on its stdin and stdout), not a multiprocessing one: no forkserver and no resource tracker
beside it (25 MB between them), no re-run of `serve`'s `__main__` in it, and nothing but
the parser imported. Up to `workers` of them run at once; each starts with the first
document that needs it and ends after `idle_seconds` without one. A worker ends with
`serve`: on end of input, and when its parent is gone (parseworker.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import subprocess
import sys
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from feedhub.core.errors import ParseError
from feedhub.ingest.parseworker import import_module, read_frame, write_frame

__all__ = ["ParserPool"]

log = logging.getLogger(__name__)

T = TypeVar("T")
START_TIMEOUT = 60.0
"""How long a new worker may take to start and import what it parses with: a loaded
machine needs seconds for that, and it is no fault of the document."""
_END_TIMEOUT = 5.0


class _Broken(Exception):
    """The worker died or closed its answers' pipe."""


def _module_of(call: Callable[..., object]) -> str:
    """The module a picklable call is unpickled from in the worker (a partial's function's)."""
    return str(getattr(getattr(call, "func", call), "__module__", None) or __name__)


class _Worker:
    """One worker process. `call` blocks (it runs in a thread); the rest does not."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "feedhub.ingest.parseworker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self.idle_timer: asyncio.TimerHandle | None = None
        self.modules: set[str] = set()

    def call(self, payload: bytes) -> tuple[bool, Any]:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            write_frame(self.proc.stdin, payload)
            answer = read_frame(self.proc.stdout)
        except (OSError, ValueError):  # a broken pipe, or one closed by `kill`
            raise _Broken from None
        if answer is None:
            raise _Broken
        result: tuple[bool, Any] = pickle.loads(answer)
        return result

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()

    def end(self) -> None:
        """Close its input (it exits) and reap it; blocking, for a thread."""
        if self.idle_timer is not None:
            self.idle_timer.cancel()
        for pipe in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        try:
            self.proc.wait(_END_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
            self.proc.wait()


class ParserPool:
    """Up to `workers` worker processes, one document each at a time."""

    def __init__(self, workers: int, deadline: float, idle_seconds: float = 60.0) -> None:
        self.workers = workers
        self.deadline = deadline
        self.idle_seconds = idle_seconds
        self._free = asyncio.Semaphore(workers)
        self._idle: list[_Worker] = []
        self._busy: set[_Worker] = set()
        self._ending: set[asyncio.Future[None]] = set()
        self._replaced = 0

    @property
    def replaced(self) -> int:
        """How many workers were killed for overrunning the deadline or crashing."""
        return self._replaced

    @property
    def running(self) -> int:
        """Worker processes alive now (idle or busy)."""
        return len(self._idle) + len(self._busy)

    async def warm(self) -> None:
        """Start one worker and import the parser in it, so that the first declined
        document does not pay a process start and feedparser's import (a few hundred ms);
        more start only when several such documents come at once."""
        if self.running:
            return
        async with self._free:
            worker = await self._start("feedhub.ingest.parse")
            self._park(worker)

    async def run(self, call: Callable[[], T], what: str = "the document") -> T:
        """Run the picklable `call` in a worker within the deadline.

        Raises ParseError, in words, when the worker overran the deadline or crashed; the
        worker is replaced either way (the next document starts a new one).
        """
        async with self._free:
            worker = self._take() or await self._start(_module_of(call))
            try:
                ok, value = await self._call(worker, call, self.deadline)
            except TimeoutError:
                self._discard(worker)
                log.warning("parsing %s took over %.0f s: worker replaced", what, self.deadline)
                raise ParseError(f"refused: parsing took longer than {self.deadline:g} s") from None
            except _Broken:
                self._discard(worker)
                raise ParseError("the parser crashed on this document") from None
            except BaseException:  # cancelled: its answer would be read by the next call
                self._discard(worker, count=False)
                raise
            self._park(worker)
            if not ok:
                raise value
            result: T = value
            return result

    def shutdown(self) -> None:
        for worker in [*self._idle, *self._busy]:
            worker.kill()
            worker.end()
        self._idle.clear()
        self._busy.clear()

    # -- workers ------------------------------------------------------------------------------
    async def _start(self, module: str) -> _Worker:
        """A new worker with `module` imported, before any deadline runs: the deadline is
        for the document, and a cold worker on a loaded machine takes longer than that to
        start (every poll would then be refused and every worker replaced by another)."""
        worker = _Worker()
        self._busy.add(worker)
        try:
            await self._call(worker, None, START_TIMEOUT)  # sends sys.path
            ok, value = await self._call(worker, partial(import_module, module), START_TIMEOUT)
        except (TimeoutError, _Broken):
            self._discard(worker, count=False)
            raise ParseError(f"no parser worker started in {START_TIMEOUT:.0f} s") from None
        except BaseException:
            self._discard(worker, count=False)
            raise
        if not ok:
            self._discard(worker, count=False)
            raise ParseError(f"the parser worker could not import {module}: {value!r}")
        worker.modules.add(module)
        return worker

    async def _call(self, worker: _Worker, call: object, within: float) -> tuple[bool, Any]:
        """`call` (None: the worker's sys.path, which it answers with nothing) in `worker`."""
        if call is None:
            assert worker.proc.stdin is not None
            payload = pickle.dumps(sys.path)
            await asyncio.to_thread(write_frame, worker.proc.stdin, payload)
            return True, None
        payload = pickle.dumps(call, protocol=pickle.HIGHEST_PROTOCOL)
        return await asyncio.wait_for(asyncio.to_thread(worker.call, payload), within)

    def _take(self) -> _Worker | None:
        """An idle worker that is still alive (one killed from outside is not handed a
        document to fail on)."""
        while self._idle:
            worker = self._idle.pop()
            if worker.idle_timer is not None:
                worker.idle_timer.cancel()
                worker.idle_timer = None
            if worker.proc.poll() is None:
                self._busy.add(worker)
                return worker
            self._end_soon(worker)
        return None

    def _park(self, worker: _Worker) -> None:
        self._busy.discard(worker)
        self._idle.append(worker)
        loop = asyncio.get_running_loop()
        worker.idle_timer = loop.call_later(self.idle_seconds, self._retire, worker)

    def _retire(self, worker: _Worker) -> None:
        """Idle long enough: end it (a new one starts with the next declined document)."""
        if worker in self._idle:
            self._idle.remove(worker)
            self._end_soon(worker)

    def _discard(self, worker: _Worker, *, count: bool = True) -> None:
        # No API stops a running call: kill the process (its thread then reads the end).
        worker.kill()
        self._busy.discard(worker)
        self._end_soon(worker)
        if count:
            self._replaced += 1

    def _end_soon(self, worker: _Worker) -> None:
        future = asyncio.get_running_loop().run_in_executor(None, worker.end)
        self._ending.add(future)
        future.add_done_callback(self._ending.discard)
