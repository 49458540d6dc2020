"""The parser worker process: `python -m feedhub.ingest.parseworker`, started by `parsepool`.

It reads framed calls on stdin and answers each on stdout: a frame is a 4-byte big-endian
length and a pickle. A call is any picklable callable (`parse_feed` with its arguments);
its answer is `(True, value)` or `(False, exception)`. The first frame is the parent's
`sys.path`, so that a call unpickles from the modules the parent imports.

It imports nothing but the standard library (and `core.memory`) until a call needs more
(a call to `parse_feed` brings feedparser, lxml and nh3, not the web stack: 31 MB, where
a multiprocessing worker re-ran the parent's `__main__` and started beside a forkserver
and a resource tracker). It ends on end of input (its parent closed the pipe: idle, or gone)
and when its parent process is gone (the pipe may stay open in a grandchild, and a
document being parsed is not reading it).
"""

from __future__ import annotations

import importlib
import os
import pickle
import struct
import sys
import threading
import time
from typing import IO, Any

from feedhub.core.memory import release_free_memory

__all__ = ["import_module", "main", "read_frame", "write_frame"]

_HEADER = struct.Struct(">I")
_WATCH_PERIOD = 0.5


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One frame's payload, or None at end of input."""
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    payload = stream.read(size)
    return payload if len(payload) == size else None


def write_frame(stream: IO[bytes], payload: bytes) -> None:
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def import_module(name: str) -> None:
    """Import `name` here (the call a new worker gets first, before any deadline)."""
    importlib.import_module(name)


def _watch_parent(parent: int) -> None:
    """End this process once its parent is gone (it is then re-parented): a worker busy
    with a stalled document would otherwise outlive a SIGKILLed `serve`."""
    while True:
        time.sleep(_WATCH_PERIOD)
        if os.getppid() != parent:
            os._exit(0)


def _answer(frame: bytes) -> bytes:
    try:
        answer: tuple[bool, Any] = (True, pickle.loads(frame)())
    except Exception as exc:
        answer = (False, exc)
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:  # an unpicklable value or exception: say what it was
        return pickle.dumps((False, RuntimeError(f"unpicklable answer: {exc!r}")))


def main() -> None:
    threading.Thread(
        target=_watch_parent, args=(os.getppid(),), name="feedhub-parent-watch", daemon=True
    ).start()
    requests = sys.stdin.buffer
    # The answers' pipe is ours alone: whatever a call (or a C library) prints goes to stderr.
    sys.stdout.flush()
    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    first = read_frame(requests)
    if first is None:
        return
    sys.path[:] = pickle.loads(first)
    while (frame := read_frame(requests)) is not None:
        write_frame(answers, _answer(frame))
        # What the document took goes back to the system while the worker waits.
        release_free_memory()


if __name__ == "__main__":
    main()
