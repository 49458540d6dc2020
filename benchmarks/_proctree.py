"""CPU and memory of process trees, from /proc: what the benchmarks count as a system's cost.

feedhub's parser workers, FreshRSS's `php` processes and a `feedhub serve` are separate
processes, so neither `time.process_time()` nor `/usr/bin/time` of one process sees the
whole of a system: these helpers add up every descendant of a root process.

* `CpuMeter`: the benchmark's own process (feedhub runs in it) plus its live descendants
  (read from /proc while they run) plus the children it has reaped.
* `run_measured`: a command run to its end, its CPU and peak RSS from `wait4` (the
  kernel's account of the process and of every descendant it waited for).
* `tree_cpu`, `tree_rss_mb`: a long-lived process (a server) and its descendants, now.
"""

from __future__ import annotations

import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK")


def proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (ppid, utime+stime+cutime+cstime in seconds) for every visible process."""
    table: dict[int, tuple[int, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                raw = fh.read()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        ppid = int(fields[1])
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        table[int(entry)] = (ppid, ticks / _TICK)
    return table


def tree_pids(root: int, exclude: int | None = None) -> list[int]:
    """root and its live descendants (exclude and its own descendants left out)."""
    table = proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out, stack = [], [root]
    while stack:
        pid = stack.pop()
        if pid == exclude or pid not in table:
            continue
        out.append(pid)
        stack.extend(children.get(pid, []))
    return out


def tree_cpu(root: int) -> float:
    """user+sys seconds of root and every live descendant (with what they have reaped)."""
    table = proc_table()
    return sum(table[pid][1] for pid in tree_pids(root) if pid in table)


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    kb = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")), 0)
    return kb / 1024


def cmdline(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
        return raw.replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def tree_rss_mb(root: int) -> float:
    """RSS of root and its live descendants, summed (shared pages count once per process)."""
    return sum(rss_mb(pid) for pid in tree_pids(root))


class CpuMeter:
    """Process CPU: own time (process_time) + live descendants (/proc) + reaped children."""

    def __init__(self, exclude_pid: int | None) -> None:
        self.exclude = exclude_pid

    def descendants(self) -> float:
        table = proc_table()
        me = os.getpid()
        return sum(table[pid][1] for pid in tree_pids(me, self.exclude) if pid != me)

    def tree_rss(self, describe: Callable[[int, str, str], str]) -> list[tuple[int, str, float]]:
        """(pid, what, RSS in MB) of this process and each live descendant but the excluded.

        describe(pid, parent's description, command line) names each process."""
        table = proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        out: list[tuple[int, str, float]] = []
        stack: list[tuple[int, str]] = [(os.getpid(), "")]
        while stack:
            pid, parent = stack.pop()
            if pid == self.exclude or pid not in table:
                continue
            what = describe(pid, parent, cmdline(pid))
            out.append((pid, what, rss_mb(pid)))
            stack.extend((child, what) for child in children.get(pid, []))
        return out

    def now(self) -> tuple[float, float]:
        """(this process's CPU seconds, its descendants' CPU seconds)."""
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time(), self.descendants() + reaped.ru_utime + reaped.ru_stime

    def since(self, start: tuple[float, float]) -> tuple[float, float]:
        own, children = self.now()
        return own - start[0], children - start[1]


@dataclass
class Measured:
    cpu: float  # user+sys seconds of the process and every descendant it reaped
    wall: float
    peak_rss_mb: float  # the largest VmHWM seen, summed over the tree (see run_measured)
    returncode: int
    output: str


def _hwm_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        total += next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM")), 0)
    return total / 1024


def run_measured(
    cmd: Sequence[str], *, cwd: Path | None = None, env: dict[str, str] | None = None
) -> Measured:
    """Run cmd to its end: its CPU as the kernel counted it (wait4), its peak RSS sampled.

    The CPU is this child's account only (it and what it reaped): a server or workers the
    caller keeps running elsewhere are not in it, unlike a difference of RUSAGE_CHILDREN.
    The peak is not wait4's ru_maxrss: Linux carries the forking process's high-water mark
    into the child's (through fork, vfork and exec alike), so a 100 MB benchmark process
    would make every child's peak at least 100 MB. VmHWM of the exec'd process's own
    memory is read from /proc every 20 ms instead; growth in its last 20 ms is missed."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(list(cmd), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        peak = 0.0
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, _hwm_mb(tree_pids(proc.pid)))
            time.sleep(0.02)  # the sampling period of the peak
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here: tell Popen so
        out.seek(0)
        output = out.read().decode(errors="replace")
    return Measured(
        cpu=usage.ru_utime + usage.ru_stime,
        wall=wall,
        peak_rss_mb=peak,
        returncode=proc.returncode,
        output=output,
    )
