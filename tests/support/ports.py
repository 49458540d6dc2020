"""Free TCP ports on 127.0.0.1 for the servers tests start, one block per pytest-xdist worker.

Binding port 0 and closing the socket hands out a port the kernel may hand to another
process a moment later: with several workers starting servers at once, two could be told
the same port. Each worker instead walks a block of its own, below the kernel's ephemeral
range (so no outgoing connection takes one either), and skips ports still in use.
"""

from __future__ import annotations

import itertools
import os
import socket

FIRST_PORT = 20000
BLOCK = 500
"""Ports per worker: 25 workers fit below 32768, where Linux's ephemeral range starts."""


def _worker_number() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3"; unset without xdist
    digits = worker.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


def _candidates() -> itertools.cycle[int]:
    start = FIRST_PORT + _worker_number() % 25 * BLOCK
    return itertools.cycle(range(start, start + BLOCK))


_next_candidate = _candidates()


def free_port() -> int:
    """A port of this worker's block that nothing listens on now."""
    for _ in range(BLOCK):
        port = next(_next_candidate)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in this worker's block of {BLOCK}")
