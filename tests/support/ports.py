"""Free TCP ports on 127.0.0.1 for the servers tests start, one block per pytest-xdist worker.

Binding port 0 and closing the socket hands out a port the kernel may hand to another
process a moment later: with several workers starting servers at once, two could be told
the same port, and the second server's test then talks to the first server. Each worker
walks a block of its own, below the kernel's ephemeral range (so no outgoing connection
takes one either), skips ports still in use, and reserves each port it hands out with a
file in the temporary directory, so that other runs on the same machine (a quick loop
beside the full suite) never get it either while this process lives.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import os
import socket
import tempfile
from pathlib import Path

FIRST_PORT = 20000
BLOCK = 500
"""Ports per worker: 25 workers fit below 32768, where Linux's ephemeral range starts."""
RESERVATIONS = Path(tempfile.gettempdir()) / "feedhub-test-ports"


def _worker_number() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3"; unset without xdist
    digits = worker.removeprefix("gw")
    return int(digits) if digits.isdigit() else 0


def _candidates() -> itertools.cycle[int]:
    start = FIRST_PORT + _worker_number() % 25 * BLOCK
    return itertools.cycle(range(start, start + BLOCK))


_next_candidate = _candidates()
_reserved: set[int] = set()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reserve(port: int) -> bool:
    """True when this process holds the port's reservation (taken now, or before)."""
    if port in _reserved:
        return True
    RESERVATIONS.mkdir(exist_ok=True)
    path = RESERVATIONS / str(port)
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = int(path.read_text())
            except (OSError, ValueError):
                return False  # being written by its new owner
            if _alive(owner):
                return False
            path.unlink(missing_ok=True)  # left by a run that was killed
            continue
        with os.fdopen(fd, "w") as file:
            file.write(str(os.getpid()))
        _reserved.add(port)
        return True
    return False


@atexit.register
def _release() -> None:
    for port in _reserved:
        with contextlib.suppress(OSError):
            (RESERVATIONS / str(port)).unlink()


def free_port() -> int:
    """A port of this worker's block that nothing listens on now and no other process
    holds."""
    for _ in range(BLOCK):
        port = next(_next_candidate)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        if _reserve(port):
            return port
    raise RuntimeError(f"no free port in this worker's block of {BLOCK}")
