"""Ingest benchmark: feedhub against lemon24/reader on the same feeds, in the same run.

    .venv/bin/python benchmarks/ingest.py [--copies N] [--reader-workers W] [--only SYSTEM]

Serves N copies (distinct URLs) of every real-world corpus feed
(tests/corpus/realworld/**/*.{xml,rss,atom,rdf}) from benchmarks/_feedserver.py, a separate
process on 127.0.0.1, and measures for each system, each with a fresh SQLite file:

  (a) first poll of every feed                        entries/s (wall clock)
  (b) re-poll, unchanged, no ETag/Last-Modified sent  feeds/s   (wall clock)
  (c) re-poll answered 304 Not Modified               CPU ms per feed

CPU is this process's time plus that of all its descendants (feedhub's parser workers,
read from /proc since they are alive while measured), never the feed server's.
Targets: (a) >= 3x reader, (b) >= 20x reader, (c) <= 2 ms per feed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import json
import logging
import os
import pstats
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_CORPUS = ROOT / "tests" / "corpus" / "realworld"
SMOKE_CORPUS = DEFAULT_CORPUS / "laminas-feed"
sys.path.insert(0, str(ROOT))

TARGETS = {"a": 3.0, "b": 20.0, "c_ms": 2.0}
_TICK = os.sysconf("SC_CLK_TCK")


# -- CPU accounting --------------------------------------------------------------------------
def _proc_table() -> dict[int, tuple[int, float]]:
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


class CpuMeter:
    """Process CPU: own time (process_time) + live descendants (/proc) + reaped children."""

    def __init__(self, exclude_pid: int | None) -> None:
        self.exclude = exclude_pid

    def descendants(self) -> float:
        table = _proc_table()
        me = os.getpid()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        total, stack = 0.0, list(children.get(me, []))
        while stack:
            pid = stack.pop()
            if pid == self.exclude:
                continue
            total += table[pid][1]
            stack.extend(children.get(pid, []))
        return total

    def tree_rss(self) -> list[tuple[int, str, float]]:
        """(pid, what, RSS in MB) of this process and each live descendant but the server."""
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        out: list[tuple[int, str, float]] = []
        stack: list[tuple[int, str]] = [(os.getpid(), "")]
        while stack:
            pid, parent = stack.pop()
            if pid == self.exclude:
                continue
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            kb = next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmRSS")), 0)
            what = _what(pid, parent, cmdline.decode(errors="replace"))
            out.append((pid, what, kb / 1024))
            stack.extend((child, what) for child in children.get(pid, []))
        return out

    def now(self) -> tuple[float, float]:
        """(this process's CPU seconds, its descendants' CPU seconds)."""
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
        return time.process_time(), self.descendants() + reaped.ru_utime + reaped.ru_stime

    def since(self, start: tuple[float, float]) -> tuple[float, float]:
        own, children = self.now()
        return own - start[0], children - start[1]


def _what(pid: int, parent: str, cmdline: str) -> str:
    if pid == os.getpid():
        return "benchmark process (the poller; reader's library is loaded here too)"
    if parent == "multiprocessing forkserver":
        return "parser worker"
    if "forkserver" in cmdline:
        return "multiprocessing forkserver"
    if "resource_tracker" in cmdline:
        return "multiprocessing resource tracker"
    return cmdline[:60]


def report_memory(meter: CpuMeter, when: str) -> None:
    parts = meter.tree_rss()
    total = sum(mb for _, _, mb in parts)
    print(f"  memory {when}: {total:.0f} MB RSS over {len(parts)} processes:", flush=True)
    for pid, what, mb in parts:
        print(f"    {mb:6.1f} MB  {what} (pid {pid})", flush=True)


# -- results -----------------------------------------------------------------------------------
@dataclass
class Phase:
    name: str
    feeds: int = 0
    wall: float = 0.0
    cpu: float = 0.0  # own + children
    cpu_children: float = 0.0  # feedhub's parser workers
    entries: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    server: dict[str, int] = field(default_factory=dict)
    runs: list[float] = field(default_factory=list)  # CPU ms/feed of each repeat
    server_cpu: float = 0.0  # the feed server's, not counted in `cpu`

    @property
    def feeds_per_s(self) -> float:
        return self.feeds / self.wall if self.wall else 0.0

    @property
    def entries_per_s(self) -> float:
        return self.entries / self.wall if self.wall else 0.0

    @property
    def cpu_ms_per_feed(self) -> float:
        return 1000 * self.cpu / self.feeds if self.feeds else 0.0


class Server:
    def __init__(self, corpus: Path, copies: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "_feedserver.py"), str(corpus), str(copies)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        hello = json.loads(self.proc.stdout.readline())
        self.base = f"http://127.0.0.1:{hello['port']}"
        self.urls = [self.base + p for p in hello["paths"]]

    def _get(self, path: str) -> bytes:
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            body: bytes = response.read()
            return body

    def mode(self, name: str) -> None:
        assert self._get(f"/_mode/{name}") == name.encode()

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = json.loads(self._get("/_stats"))
        return stats

    def cpu(self) -> float:
        return _proc_table().get(self.proc.pid, (0, 0.0))[1]

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(timeout=5)


# The server sends validators (ETag, Last-Modified) on the first poll, as most do, and
# answers 304 to them on the next; then it stops sending them and ignores conditional
# requests, so the last re-poll gets full unchanged bodies with nothing to validate. The
# 304 phase comes before the validator-less one because a 200 without validators makes
# feedhub forget its ETag, and reader stores validators only from a poll that changed
# the feed (reader/_update: no FeedToUpdate, no caching_info, when nothing changed).
PHASES = (
    # key, server mode, what the phase is
    ("a", "conditional", "first poll"),
    ("c", "conditional", "re-poll answered 304"),
    ("b", "plain", "re-poll, unchanged, no validators"),
)


class _Profiler:
    def __init__(self, directory: Path | None, system: str) -> None:
        self.directory, self.system = directory, system
        self.profile: cProfile.Profile | None = None

    def start(self) -> None:
        if self.directory:
            self.profile = cProfile.Profile()
            self.profile.enable()

    def stop(self, phase: str) -> None:
        if self.profile is not None:
            self.profile.disable()
            assert self.directory is not None
            self.directory.mkdir(parents=True, exist_ok=True)
            self.profile.dump_stats(self.directory / f"{self.system}-{phase}.prof")
            self.profile = None


# -- the two systems --------------------------------------------------------------------------
# Each does one phase when asked. The run interleaves them phase by phase (feedhub's (a),
# reader's (a), feedhub's (c), ...) so that other work on the machine, which comes and
# goes over minutes, weighs on both sides of each ratio alike.
class Feedhub:
    name = "feedhub"

    def __init__(self, server: Server, db_path: Path) -> None:
        from feedhub.core.config import Settings
        from feedhub.db.migrate import upgrade_to_head

        self.server = server
        self.settings = Settings(
            database_url=f"sqlite+aiosqlite:///{db_path}",
            allow_private_networks=True,
            parse_workers=2,
            host_min_gap_seconds=0,
            max_polls_per_host=16,
            max_concurrent_polls=16,
            scheduler=False,
        )
        upgrade_to_head(self.settings.database_url)  # before the event loop: it runs its own

    async def start(self) -> None:
        from feedhub.catalog import categories, feeds
        from feedhub.db.engine import create_engine, session_factory
        from feedhub.ingest.feedstore import FeedStore
        from feedhub.ingest.poller import Poller
        from feedhub.live.bus import NullPublisher

        self.engine = create_engine(self.settings.database_url)
        sessions = session_factory(self.engine)
        async with sessions() as s:
            await categories.create_category(s, "Bench", "bench")
            for url in self.server.urls:
                await feeds.create_feed(s, now=datetime.now(UTC), url=url, category="bench")
        self.poller = Poller(self.settings, FeedStore(sessions), NullPublisher())
        # A running daemon has its parser workers up: start them outside the measurement.
        await self.poller.start(warm_parsers=True)

    async def poll(self) -> tuple[int, int, dict[str, int]]:
        outcomes = await self.poller.poll_due(include_all=True)
        entries = sum(len(o.new_articles) for o in outcomes)
        return len(outcomes), entries, dict(Counter(o.status for o in outcomes))

    async def close(self) -> None:
        await self.poller.stop()
        await self.engine.dispose()


class Reader:
    name = "reader"

    def __init__(self, server: Server, db_path: Path, workers: int) -> None:
        import importlib.util

        # reader's vendored feedparser does `import sgmllib` (the sgmllib3k package), which
        # the project's environment lacks: feedparser 6.0.14 moved to feedparser-sgmllib,
        # the same Python 2.7 module under another name. Alias it so reader runs as it
        # ships (its vendored feedparser only reads that module; it patches nothing in it).
        if importlib.util.find_spec("sgmllib") is None:
            import feedparser_sgmllib

            sys.modules["sgmllib"] = feedparser_sgmllib
        from reader import make_reader

        self.server, self.workers = server, workers
        self.reader = make_reader(str(db_path))
        self.entries = 0

    async def start(self) -> None:
        for url in self.server.urls:
            self.reader.add_feed(url)

    async def poll(self) -> tuple[int, int, dict[str, int]]:
        # Synchronous, on purpose: it blocks the event loop, where nothing else runs then.
        statuses: Counter[str] = Counter()
        for result in self.reader.update_feeds_iter(scheduled=False, workers=self.workers):
            statuses[_reader_status(result.value)] += 1
        total = self.reader.get_entry_counts().total or 0
        new, self.entries = total - self.entries, total
        return sum(statuses.values()), new, dict(statuses)

    async def close(self) -> None:
        self.reader.close()


async def run_all(
    systems: list[Any], server: Server, meter: CpuMeter, opts: argparse.Namespace
) -> dict[str, dict[str, Phase]]:
    results: dict[str, dict[str, Phase]] = {s.name: {} for s in systems}
    for system in systems:
        await system.start()
    try:
        for name, mode, what in PHASES:
            for system in systems:
                runs = []
                for _ in range(_repeats(name, opts)):
                    server.mode(mode)  # also zeroes the server's counters
                    gc.collect()
                    profiler = _Profiler(opts.profile, system.name)
                    server_cpu0 = server.cpu()
                    cpu0, t0 = meter.now(), time.perf_counter()
                    profiler.start()
                    feeds, entries, statuses = await system.poll()
                    wall = time.perf_counter() - t0
                    profiler.stop(name)
                    own, children = meter.since(cpu0)
                    runs.append(Phase(
                        name, feeds=feeds, wall=wall, cpu=own + children,
                        cpu_children=children, entries=entries, statuses=statuses,
                        server=server.stats(), server_cpu=server.cpu() - server_cpu0,
                    ))  # fmt: skip
                    _report_phase(system.name, what, runs[-1], opts.quiet)
                if name == "a" and system.name == "feedhub":
                    report_memory(meter, "after feedhub's first poll (whole tree, not the server)")
                results[system.name][name] = _median(runs)
    finally:
        for system in systems:
            await system.close()
    return results


def _repeats(name: str, opts: argparse.Namespace) -> int:
    # The 304 re-poll takes a second or two: repeat it and keep the median run, so that
    # one scheduling hiccup on a shared machine does not decide the figure.
    return int(opts.repeat) if name == "c" else 1


def _median(runs: list[Phase]) -> Phase:
    ordered = sorted(runs, key=lambda p: p.cpu)
    chosen = ordered[len(ordered) // 2]
    chosen.runs = [round(p.cpu_ms_per_feed, 2) for p in runs]
    return chosen


def _reader_status(value: Any) -> str:
    if value is None:
        return "not_modified"
    if isinstance(value, Exception):
        return "error"
    if getattr(value, "new", 0):
        return "ok"
    if getattr(value, "modified", 0):
        return "updated"
    return "unchanged"


# -- output ------------------------------------------------------------------------------------
def _report_phase(system: str, what: str, p: Phase, quiet: bool) -> None:
    if quiet:
        return
    print(
        f"  {system:8} ({p.name}) {what}: {p.feeds} feeds, {p.entries} new entries in "
        f"{p.wall:.2f} s wall, {p.cpu:.2f} s CPU ({p.cpu_children:.2f} in child processes); "
        f"statuses {p.statuses}; server {p.server}",
        flush=True,
    )


def _load() -> str:
    # Other work on the machine slows the wall-clock figures (a), (b) most: say how busy it was.
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}x" if b else "n/a"


def print_table(fh: dict[str, Phase] | None, rd: dict[str, Phase] | None) -> list[str]:
    def val(phases: dict[str, Phase] | None, key: str, fn: Callable[[Phase], float]) -> float:
        return fn(phases[key]) if phases else 0.0

    rows = [
        (
            "(a) first poll, entries/s",
            "a",
            lambda p: p.entries_per_s,
            "%.0f",
            f">= {TARGETS['a']:g}x reader",
        ),
        ("(a) first poll, CPU ms/feed", "a", lambda p: p.cpu_ms_per_feed, "%.1f", ""),
        (
            "(b) unchanged, no validators, feeds/s",
            "b",
            lambda p: p.feeds_per_s,
            "%.0f",
            f">= {TARGETS['b']:g}x reader",
        ),
        ("(b) unchanged, CPU ms/feed", "b", lambda p: p.cpu_ms_per_feed, "%.2f", ""),
        (
            "(c) 304 re-poll, CPU ms/feed",
            "c",
            lambda p: p.cpu_ms_per_feed,
            "%.2f",
            f"feedhub <= {TARGETS['c_ms']:g} ms",
        ),
        ("(c) 304 re-poll, feeds/s", "c", lambda p: p.feeds_per_s, "%.0f", ""),
    ]
    lines = [f"{'measure':40} {'feedhub':>9} {'reader':>9} {'ratio':>7}  target", "-" * 80]
    verdicts = []
    for label, key, fn, fmt, target in rows:
        f, r = val(fh, key, fn), val(rd, key, fn)
        if "CPU" in label:
            ratio = _ratio(r, f) + " less" if fh and rd else ""  # how many times less CPU
        else:
            ratio = _ratio(f, r) if fh and rd else ""
        lines.append(
            f"{label:40} {(fmt % f) if fh else '-':>9} {(fmt % r) if rd else '-':>9} "
            f"{ratio:>7}  {target}"
        )
    if fh and rd:
        checks = [
            ("a", fh["a"].entries_per_s >= TARGETS["a"] * rd["a"].entries_per_s),
            ("b", fh["b"].feeds_per_s >= TARGETS["b"] * rd["b"].feeds_per_s),
        ]
        verdicts += [f"({k}) {'met' if ok else 'MISSED'}" for k, ok in checks]
    if fh:
        verdicts.append(f"(c) {'met' if fh['c'].cpu_ms_per_feed <= TARGETS['c_ms'] else 'MISSED'}")
    lines.append("targets: " + ", ".join(verdicts))
    for line in lines:
        print(line)
    return lines


def _freshrss_note() -> str:
    # The peer is FreshRSS (PHP) too; this script drives reader only, and says so.
    if shutil.which("php") is None:
        return (
            "FreshRSS: skipped, `php` is not installed here; benchmarks/README.md "
            "(FreshRSS) has the recipe to run it from its source beside this script."
        )
    return (
        "FreshRSS: not driven by this script; benchmarks/README.md (FreshRSS) has the "
        "recipe to measure it by hand on the same feeds."
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument(
        "--copies", type=int, default=3, help="distinct URLs per corpus feed (default 3: 213 feeds)"
    )
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument(
        "--reader-workers",
        type=int,
        default=8,
        help="reader's update_feeds(workers=...) threads (default 8)",
    )
    ap.add_argument(
        "--repeat",
        type=int,
        default=5,
        help="runs of the 304 re-poll (c); the median one is reported (default 5)",
    )
    ap.add_argument("--only", choices=("feedhub", "reader"), help="run one system only")
    ap.add_argument(
        "--profile",
        type=Path,
        metavar="DIR",
        help="cProfile the measured process per phase into DIR/<system>-<phase>.prof "
        "(slows it down: the figures of such a run are not the benchmark's)",
    )
    ap.add_argument(
        "--feedhub-src",
        type=Path,
        metavar="DIR",
        help="import feedhub from DIR/feedhub instead (to try a change to feedhub "
        "on a copy of the tree); the parser workers get it via PYTHONPATH",
    )
    ap.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    ap.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    ap.add_argument("--quiet", action="store_true", help="only the final table")
    ap.add_argument("--verbose", action="store_true", help="print per-feed warnings")
    args = ap.parse_args(argv)
    if args.smoke:
        # Three small corpus feeds, once each: every phase and both systems, in seconds.
        args.corpus, args.copies, args.repeat = SMOKE_CORPUS, 1, 1
        args.reader_workers = 2
    # Per-feed warnings (feedhub's poll errors, reader's "bozo feed") go unprinted unless
    # --verbose: each phase's line counts the errors. Quiet logging is cheaper, for both.
    logging.basicConfig(
        level=logging.WARNING if args.verbose else logging.ERROR,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        # reader logs each feed it cannot parse at ERROR with a traceback, and warns per
        # entry without an id: the phase lines count those feeds as "error" instead.
        logging.getLogger("reader").setLevel(logging.CRITICAL)
        warnings.filterwarnings("ignore", module="reader")

    if args.feedhub_src:
        src = str(args.feedhub_src.resolve())
        sys.path.insert(0, src)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [src] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
        )
    print(_freshrss_note(), flush=True)
    server = Server(args.corpus, args.copies)
    meter = CpuMeter(exclude_pid=server.proc.pid)
    print(
        f"{len(server.urls)} feeds ({len(server.urls) // args.copies} corpus feeds x "
        f"{args.copies}) at {server.base}; {os.cpu_count()} CPUs; Python "
        f"{sys.version.split()[0]}; load average {_load()}",
        flush=True,
    )
    try:
        with tempfile.TemporaryDirectory(prefix="feedhub-bench-") as tmp:
            systems: list[Any] = []
            if args.only in (None, "feedhub"):
                systems.append(Feedhub(server, Path(tmp) / "feedhub.sqlite"))
            if args.only in (None, "reader"):
                systems.append(Reader(server, Path(tmp) / "reader.sqlite", args.reader_workers))
            results = asyncio.run(run_all(systems, server, meter, args))
    finally:
        server.close()
    print(
        "feed server CPU in the reported runs (not counted): "
        + ", ".join(
            f"{k} {sum(p.server_cpu for p in v.values()):.1f} s" for k, v in results.items()
        )
        + f"; load average now {_load()}"
    )
    for system, by_name in results.items():
        print(f"{system} (c) CPU ms/feed of each run: {by_name['c'].runs} (median reported)")
    print()
    print_table(results.get("feedhub"), results.get("reader"))
    if args.profile:
        for prof in sorted(args.profile.glob("*.prof")):
            print(f"\n== {prof.name}: top 20 by cumulative time ==")
            pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(20)
    if args.json:
        args.json.write_text(
            json.dumps(
                {k: {n: asdict(p) for n, p in v.items()} for k, v in results.items()}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
