"""Handing freed memory back to the system (glibc's allocator; a no-op elsewhere).

A long-running process that parses in threads keeps what glibc's allocator took for those
threads: an arena per thread that ever contended (up to eight per core), each holding its
free pages. `serve` after a first ingest of 200 feeds held 40 MB that way
(benchmarks/README.md, "CPU and memory per article").
"""

from __future__ import annotations

import contextlib
import ctypes
import sys

__all__ = ["limit_malloc_arenas", "release_free_memory"]

_M_ARENA_MAX = -8


def _libc() -> ctypes.CDLL | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None)
    except OSError:
        return None


def limit_malloc_arenas(count: int = 2) -> None:
    """At most `count` malloc arenas for this process's threads (call before they start)."""
    libc = _libc()
    with contextlib.suppress(AttributeError):  # not glibc
        if libc is not None:
            libc.mallopt(_M_ARENA_MAX, count)


def release_free_memory() -> None:
    """Return the allocator's free pages to the system (blocking: milliseconds)."""
    libc = _libc()
    with contextlib.suppress(AttributeError):
        if libc is not None:
            libc.malloc_trim(0)
