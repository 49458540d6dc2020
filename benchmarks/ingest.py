"""Ingest benchmark: feedhub against lemon24/reader on the same feeds, in the same run.

    .venv/bin/python benchmarks/ingest.py [--copies N] [--reader-workers W] [--only SYSTEM]
        [--rounds R]

Serves N copies (distinct URLs) of every real-world corpus feed
(tests/corpus/realworld/**/*.{xml,rss,atom,rdf}) from benchmarks/_feedserver.py, a separate
process on 127.0.0.1, and measures for each system, each with a fresh SQLite file:

  (a) first poll of every feed                        entries/s (wall clock)
  (b) re-poll, unchanged, no ETag/Last-Modified sent  feeds/s   (wall clock)
  (c) re-poll answered 304 Not Modified               CPU ms per feed

CPU is this process's time plus that of all its descendants (feedhub's parser workers,
read from /proc since they are alive while measured), never the feed server's. Every
system runs R times (--rounds, default 3), each round on fresh databases and starting with
the next system, so that a machine whose speed drifts (a shared host: ±15 % between runs)
slows each system in turn; each system's median round is reported, after a line per round.
Targets: (a) >= 3x reader, (b) >= 20x reader, (c) <= 2 ms per feed.

With --freshrss-src DIR (or $FEEDHUB_BENCH_FRESHRSS) and `php` installed, FreshRSS does
(a) too, by its CLI (benchmarks/_freshrss.py), and a second table compares the three:
CPU per article (target: feedhub <= 0.5x each peer), memory after ingest (feedhub <= 2x
FreshRSS) and the start-up CPU of `feedhub feeds list` (<= 0.5 s) beside FreshRSS's CLI.
Without them one line says FreshRSS was skipped.
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

from _freshrss import (  # noqa: E402
    API_PASSWORD,
    APP_CALLS,
    USER,
    FreshRSS,
    GReader,
    php_version,
    source_dir,
    unavailable,
)
from _proctree import CpuMeter, Measured, proc_table, run_measured  # noqa: E402

TARGETS = {"a": 3.0, "b": 20.0, "c_ms": 2.0}


# -- CPU accounting --------------------------------------------------------------------------
# CpuMeter (benchmarks/_proctree.py): this process's CPU plus every descendant's from /proc.


def _what(pid: int, parent: str, cmdline: str) -> str:
    if pid == os.getpid():
        return "benchmark process (the poller; reader is imported only after this)"
    if parent == "multiprocessing forkserver" or "feedhub.ingest.parseworker" in cmdline:
        return "parser worker"
    if "forkserver" in cmdline:
        return "multiprocessing forkserver"
    if "resource_tracker" in cmdline:
        return "multiprocessing resource tracker"
    return cmdline[:60]


def report_memory(meter: CpuMeter, when: str) -> float:
    parts = meter.tree_rss(_what)
    total = sum(mb for _, _, mb in parts)
    print(f"  memory {when}: {total:.0f} MB RSS over {len(parts)} processes:", flush=True)
    for pid, what, mb in parts:
        print(f"    {mb:6.1f} MB  {what} (pid {pid})", flush=True)
    return total


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
        return proc_table().get(self.proc.pid, (0, 0.0))[1]

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

    async def counts_by_url(self) -> dict[str, int]:
        from sqlalchemy import text

        async with self.engine.connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT feed.url, count(article.id) FROM feed "
                    "LEFT JOIN article ON article.feed_id = feed.id GROUP BY feed.id"
                )
            )
            return {url: n for url, n in rows}

    async def close(self) -> None:
        await self.poller.stop()
        await self.engine.dispose()


class Reader:
    name = "reader"

    def __init__(self, server: Server, db_path: Path, workers: int) -> None:
        self.server, self.workers, self.db_path = server, workers, db_path
        self.entries = 0

    async def start(self) -> None:
        # Imported here, when reader's turn comes, not before feedhub's first poll: the
        # memory figure of feedhub's tree (this process) is then feedhub's alone.
        import importlib.util

        # reader's vendored feedparser does `import sgmllib` (the sgmllib3k package), which
        # the project's environment lacks: feedparser 6.0.14 moved to feedparser-sgmllib,
        # the same Python 2.7 module under another name. Alias it so reader runs as it
        # ships (its vendored feedparser only reads that module; it patches nothing in it).
        if importlib.util.find_spec("sgmllib") is None:
            import feedparser_sgmllib

            sys.modules["sgmllib"] = feedparser_sgmllib
        from reader import make_reader

        self.reader = make_reader(str(self.db_path))
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

    async def counts_by_url(self) -> dict[str, int]:
        return {url: self.reader.get_entry_counts(feed=url).total or 0 for url in self.server.urls}

    async def close(self) -> None:
        self.reader.close()


class FreshRSSPeer:
    """FreshRSS (PHP) from its source: the first poll only, by its CLI, as cron runs it.

    Its re-polls are not compared: FreshRSS skips a feed fetched within the last hour
    (`ttl_default`), so (b) and (c) would need its configuration changed first."""

    name = "freshrss"
    phases = ("a",)

    def __init__(self, server: Server, workdir: Path, src: Path) -> None:
        self.server, self.workdir, self.src = server, workdir, src
        self.fresh: FreshRSS | None = None
        self.run: Measured | None = None  # the last poll's own account (wait4)
        self.memory: dict[str, float] = {}

    async def start(self) -> None:
        # The copy, install, user and OPML import are set-up, outside any measurement.
        self.fresh = FreshRSS(self.src, self.workdir)
        self.fresh.import_feeds(self.server.urls)

    async def poll(self) -> tuple[int, int, dict[str, int]]:
        assert self.fresh is not None
        before = self.fresh.entry_count()
        self.run = self.fresh.actualize()
        errors = self.fresh.feed_errors()
        feeds = len(self.server.urls)
        return feeds, self.fresh.entry_count() - before, {"ok": feeds - errors, "error": errors}

    def serve_and_measure_memory(self) -> None:
        """php -S serving the Google Reader API after the ingest, plus the CLI's peak.

        The server's RSS is read after it has answered the calls an app makes on opening
        (login, token, subscriptions, unread counts, 100 items with content, 1000 ids),
        so that its caches hold what serving needs."""
        assert self.fresh is not None and self.run is not None
        self.fresh.serve()
        client = GReader(self.fresh.base, "/api/greader.php", USER, API_PASSWORD)
        try:
            for path in APP_CALLS.values():
                client.get(path)
        finally:
            client.close()
        self.memory = {
            "server": self.fresh.server_rss_mb(),
            "cli_peak": self.run.peak_rss_mb,
        }
        self.fresh.close()  # the server: idle, but a child of this process's measured tree
        print(
            f"  memory after FreshRSS's first poll: php -S serving the API "
            f"{self.memory['server']:.1f} MB RSS (one process), actualize-user's peak "
            f"{self.memory['cli_peak']:.1f} MB (VmHWM); together "
            f"{sum(self.memory.values()):.1f} MB",
            flush=True,
        )

    async def counts_by_url(self) -> dict[str, int]:
        assert self.fresh is not None
        return self.fresh.counts_by_url()

    async def close(self) -> None:
        if self.fresh is not None:
            self.fresh.close()  # the server; the tree stays for the start-up figures


async def run_all(
    systems: list[Any],
    server: Server,
    meter: CpuMeter,
    opts: argparse.Namespace,
    extra: dict[str, Any],
    memory: bool = True,
) -> dict[str, dict[str, Phase]]:
    """Every phase of every system, in order. `memory`: also measure the memory after
    the first poll (a first round's figure: see `_median_round`)."""
    results: dict[str, dict[str, Phase]] = {s.name: {} for s in systems}
    started: list[Any] = []
    try:
        for name, mode, what in PHASES:
            for system in systems:
                if name not in getattr(system, "phases", ("a", "b", "c")):
                    continue
                if system not in started:  # at its first phase: see Reader.start
                    await system.start()
                    started.append(system)
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
                    if getattr(system, "run", None) is not None:
                        # A CLI run of its own (FreshRSS): the kernel's account of that
                        # process, not this process's tree (which holds feedhub's idle
                        # workers and, later, the php server).
                        own, children = 0.0, system.run.cpu
                    runs.append(Phase(
                        name, feeds=feeds, wall=wall, cpu=own + children,
                        cpu_children=children, entries=entries, statuses=statuses,
                        server=server.stats(), server_cpu=server.cpu() - server_cpu0,
                    ))  # fmt: skip
                    _report_phase(system.name, what, runs[-1], opts.quiet)
                if memory and name == "a" and system.name == "feedhub":
                    extra["memory_feedhub"] = report_memory(
                        meter, "after feedhub's first poll (whole tree, not the server)"
                    )
                if memory and name == "a" and system.name == "freshrss":
                    system.serve_and_measure_memory()
                    extra["memory_freshrss"] = system.memory
                results[system.name][name] = _median(runs)
        extra["counts"] = {s.name: await s.counts_by_url() for s in started}
    finally:
        for system in started:
            await system.close()
    return results


def _systems(
    args: argparse.Namespace,
    server: Server,
    workdir: Path,
    fresh_src: Path | None,
    fresh_why: str | None,
) -> list[Any]:
    """Fresh systems on fresh databases in `workdir`, in the order of a first round."""
    systems: list[Any] = []
    if args.only in (None, "feedhub"):
        systems.append(Feedhub(server, workdir / "feedhub.sqlite"))
    if args.only in (None, "reader"):
        systems.append(Reader(server, workdir / "reader.sqlite", args.reader_workers))
    if args.only in (None, "freshrss") and fresh_why is None:
        assert fresh_src is not None
        systems.append(FreshRSSPeer(server, workdir, fresh_src))
    return systems


def _median_round(
    rounds: list[tuple[dict[str, dict[str, Phase]], dict[str, Any]]],
) -> tuple[dict[str, dict[str, Phase]], dict[str, Any]]:
    """Each system's phases from its own median round (by the first poll's CPU per
    article), and the memory measured in the first round: the only one where feedhub runs
    first, before reader's objects grow this process, which feedhub's tree figure holds."""
    results: dict[str, dict[str, Phase]] = {}
    for name in rounds[0][0]:
        ordered = sorted(
            (r[name] for r, _ in rounds), key=lambda by: by["a"].cpu / max(1, by["a"].entries)
        )
        results[name] = ordered[len(ordered) // 2]
    memory = {k: v for k, v in rounds[0][1].items() if k.startswith("memory_")}
    return results, {**rounds[-1][1], **memory}


def print_rounds(rounds: list[tuple[dict[str, dict[str, Phase]], dict[str, Any]]]) -> None:
    """The first poll's CPU per article of every round, and feedhub's ratio to each peer
    in that round (the median round of each system is the one reported below)."""
    if len(rounds) < 2:
        return
    names = list(rounds[0][0])
    print("first poll (a), CPU ms per article, round by round:")
    for k, (results, _) in enumerate(rounds, 1):
        per = {n: 1000 * results[n]["a"].cpu / max(1, results[n]["a"].entries) for n in names}
        ratios = "".join(
            f", feedhub/{n} {per['feedhub'] / per[n]:.2f}x"
            for n in names
            if n != "feedhub" and "feedhub" in per and per[n]
        )
        print(f"  round {k}: " + ", ".join(f"{n} {v:.2f}" for n, v in per.items()) + ratios)


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


TARGET_PEER_CPU = 0.5  # feedhub's CPU per article at most half of each peer's
TARGET_PEER_MEMORY = 2.0  # feedhub's tree at most twice FreshRSS's
TARGET_START_S = 0.5  # CPU of `feedhub feeds list`


def compare_counts(counts: dict[str, dict[str, int]]) -> list[str]:
    """Articles stored per system, and the corpus feeds on which the systems disagree.

    URLs are /feed/<copy>/<index>/<name>: copies are the same document, so a difference
    is reported once per document, with each system's count for one copy."""
    lines = ["articles stored after the first poll: " + ", ".join(
        f"{name} {sum(by_url.values())}" for name, by_url in counts.items()
    )]  # fmt: skip
    if len(counts) < 2:
        return lines
    per_doc: dict[str, dict[str, int]] = {}
    for name, by_url in counts.items():
        for url, n in by_url.items():
            doc = url.split("/feed/", 1)[1].split("/", 1)[1]  # <index>/<name>
            per_doc.setdefault(doc, {}).setdefault(name, n)
    differ = {doc: c for doc, c in per_doc.items() if len(set(c.values())) > 1}
    lines.append(
        f"  corpus documents stored alike by all: {len(per_doc) - len(differ)} of {len(per_doc)}"
        + ("; differing (articles per copy):" if differ else "")
    )
    for doc, by_system in sorted(differ.items()):
        lines.append(
            f"    {doc.split('/', 1)[1]:48} "
            + "  ".join(f"{k} {by_system.get(k, 0)}" for k in counts)
        )
    return lines


def _median_cpu(
    cmd: list[str], cwd: Path, env: dict[str, str], runs: int = 5
) -> tuple[float, list[float]]:
    samples = []
    for _ in range(runs):
        run = run_measured(cmd, cwd=cwd, env=env)
        if run.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {run.returncode}: {run.output[-2000:]}")
        samples.append(run.cpu)
    return sorted(samples)[len(samples) // 2], samples


def start_up(tmp: Path, fresh_root: Path | None) -> dict[str, tuple[float, list[float]]]:
    """CPU (user+sys of the process tree) of one read-only command, median of 5.

    feedhub: `python -m feedhub feeds list` on the ingested database. FreshRSS:
    `cli/list-users.php` (reads no user's database) and `cli/user-info.php` (counts the
    user's feeds and articles: the nearest to a listing its CLI has)."""
    out: dict[str, tuple[float, list[float]]] = {}
    db = tmp / "feedhub.sqlite"
    if db.exists():
        env = {k: v for k, v in os.environ.items() if not k.startswith("FEEDHUB_")}
        env["FEEDHUB_DATABASE_URL"] = f"sqlite+aiosqlite:///{db}"
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join([*paths, str(ROOT)])  # --feedhub-src first
        out["feedhub feeds list"] = _median_cpu(
            [sys.executable, "-m", "feedhub", "feeds", "list"], tmp, env
        )
    if fresh_root is not None:
        env = dict(os.environ)
        out["FreshRSS cli/list-users.php"] = _median_cpu(
            ["php", "cli/list-users.php"], fresh_root, env
        )
        out["FreshRSS cli/user-info.php"] = _median_cpu(
            ["php", "cli/user-info.php", "--user", USER], fresh_root, env
        )
    return out


def print_peers(results: dict[str, dict[str, Phase]], extra: dict[str, Any]) -> list[str]:
    """The first ingest beside reader and FreshRSS: CPU per article, memory, start-up."""

    def per_article(name: str) -> float | None:
        p = results.get(name, {}).get("a")
        return 1000 * p.cpu / p.entries if p and p.entries else None

    def fmt(x: float | None, spec: str) -> str:
        return "-" if x is None else format(x, spec)

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}x" if a is not None and b else "-"

    fh, rd, fr = per_article("feedhub"), per_article("reader"), per_article("freshrss")
    lines = [
        f"{'first poll (a), each system':34} {'feedhub':>9} {'reader':>9} {'FreshRSS':>9} "
        f"{'fh/reader':>9} {'fh/FreshRSS':>11}  target",
        "-" * 100,
    ]
    articles = [results.get(n, {}).get("a") for n in ("feedhub", "reader", "freshrss")]
    lines.append(
        f"{'articles stored':34} " + " ".join(f"{p.entries if p else '-':>9}" for p in articles)
    )
    lines.append(
        f"{'CPU s (whole tree)':34} "
        + " ".join(f"{fmt(p.cpu if p else None, '.2f'):>9}" for p in articles)
    )
    lines.append(
        f"{'CPU ms per article':34} {fmt(fh, '.2f'):>9} {fmt(rd, '.2f'):>9} {fmt(fr, '.2f'):>9} "
        f"{ratio(fh, rd):>9} {ratio(fh, fr):>11}  <= {TARGET_PEER_CPU:g}x both"
    )
    mem_fh = extra.get("memory_feedhub")
    mem_fr = extra.get("memory_freshrss")
    fr_total = sum(mem_fr.values()) if mem_fr else None
    lines.append(
        f"{'memory after ingest, MB RSS':34} {fmt(mem_fh, '.0f'):>9} {'-':>9} "
        f"{fmt(fr_total, '.0f'):>9} {'':>9} {ratio(mem_fh, fr_total):>11}  "
        f"<= {TARGET_PEER_MEMORY:g}x FreshRSS"
    )
    if mem_fr:
        lines.append(
            f"  (FreshRSS: php -S serving the API {mem_fr['server']:.0f} MB + "
            f"actualize-user's peak {mem_fr['cli_peak']:.0f} MB; feedhub: the poller's "
            "process and its parser worker, up until idle for FEEDHUB_PARSE_IDLE_SECONDS)"
        )
    for name, (median, samples) in extra.get("start_up", {}).items():
        target = f"<= {TARGET_START_S:g} s" if name.startswith("feedhub") else ""
        lines.append(
            f"{'start-up CPU s, ' + name:48} {median:6.3f}  "
            f"(runs {', '.join(f'{x:.3f}' for x in samples)})  {target}"
        )
    verdicts = []
    if fh is not None and rd:
        ok = fh <= TARGET_PEER_CPU * rd
        verdicts.append(f"CPU/article vs reader {'met' if ok else 'MISSED'}")
    if fh is not None and fr:
        verdicts.append(
            f"CPU/article vs FreshRSS {'met' if fh <= TARGET_PEER_CPU * fr else 'MISSED'}"
        )
    if mem_fh is not None and fr_total:
        verdicts.append(f"memory {'met' if mem_fh <= TARGET_PEER_MEMORY * fr_total else 'MISSED'}")
    if "feedhub feeds list" in extra.get("start_up", {}):
        ok = extra["start_up"]["feedhub feeds list"][0] <= TARGET_START_S
        verdicts.append(f"start-up {'met' if ok else 'MISSED'}")
    if verdicts:
        lines.append("targets: " + ", ".join(verdicts))
    for line in lines:
        print(line)
    return lines


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
    ap.add_argument("--only", choices=("feedhub", "reader", "freshrss"), help="run one system only")
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of every system on fresh databases, each round starting with the "
        "next system; each system's median round is reported (default 3)",
    )
    ap.add_argument(
        "--freshrss-src",
        type=Path,
        metavar="DIR",
        help="a FreshRSS source tree (copied, never changed) to run beside reader; default "
        "$FEEDHUB_BENCH_FRESHRSS; without it or without `php`, FreshRSS is skipped",
    )
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
        args.corpus, args.copies, args.repeat, args.rounds = SMOKE_CORPUS, 1, 1, 2
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
    fresh_src = source_dir(args.freshrss_src)
    fresh_why = unavailable(fresh_src) if args.only in (None, "freshrss") else None
    if args.only not in (None, "freshrss"):
        print(f"FreshRSS: not run (--only {args.only}).", flush=True)
    elif fresh_why:
        print(fresh_why, flush=True)
    else:
        print(
            f"FreshRSS: from {fresh_src} (PHP {php_version()}), its first poll by "
            "cli/actualize-user.php beside feedhub's and reader's.",
            flush=True,
        )
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
            rounds: list[tuple[dict[str, dict[str, Phase]], dict[str, Any]]] = []
            fresh: FreshRSSPeer | None = None
            for k in range(args.rounds):
                workdir = Path(tmp) / f"round{k + 1}"
                workdir.mkdir()
                systems = _systems(args, server, workdir, fresh_src, fresh_why)
                fresh = next((s for s in systems if isinstance(s, FreshRSSPeer)), None)
                if args.rounds > 1:
                    print(f"round {k + 1} of {args.rounds}:", flush=True)
                # Each round starts with the next system: a drift in the machine's speed
                # (another tenant, the CPU's clock) then falls on each system in turn.
                systems = systems[k % len(systems) :] + systems[: k % len(systems)]
                extra: dict[str, Any] = {}
                results = asyncio.run(run_all(systems, server, meter, args, extra, k == 0))
                rounds.append((results, extra))
            results, extra = _median_round(rounds)
            extra["start_up"] = start_up(
                workdir, fresh.fresh.root if fresh and fresh.fresh else None
            )
    finally:
        server.close()
    print_rounds(rounds)
    print(
        "feed server CPU in the reported runs (not counted): "
        + ", ".join(
            f"{k} {sum(p.server_cpu for p in v.values()):.1f} s" for k, v in results.items()
        )
        + f"; load average now {_load()}"
    )
    for system, by_name in results.items():
        if "c" in by_name:
            print(f"{system} (c) CPU ms/feed of each run: {by_name['c'].runs} (median reported)")
    for line in compare_counts(extra.get("counts", {})):
        print(line)
    print()
    print_table(results.get("feedhub"), results.get("reader"))
    print()
    print_peers(results, extra)
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
