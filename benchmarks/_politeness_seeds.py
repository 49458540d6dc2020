"""The politeness benchmark over several seeds: a row per seed, then the means.

One seed's figures move by a few minutes per class (the "active" class has ~300 entries a
day, the "dormant" one none or one), so a verdict is read over seeds: on how many the
target holds, which class is behind on which seed, and each class's mean over the seeds,
the delay it can be expected to have. The "wait" (the delay of an entry published at a
random instant) is the expected delay of a class whose feeds publish at random, without
the luck of one entry.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from typing import Any

from _politeness_feeds import CLASSES, RHYTHMIC_CLASSES, Feed, make_feeds

# (feeds, seed) -> tallies by poller name ("before", "feedhub", "fixed60"); the tallies are
# politeness.Tally, passed in so that this module does not import the script.
Run = Callable[[list[Feed], int], dict[str, Any]]
Verdict = Callable[[Any, Any], tuple[bool, str]]
Floor = Callable[[Any, Any], tuple[float, float]]


def _fmean(values: list[float]) -> float | None:
    return statistics.fmean(values) if values else None


def _cell(mine: float | None, theirs: float | None) -> str:
    if mine is None or theirs is None:
        return f"{'-':>12}"
    mark = "!" if mine > theirs + 1.0 else " "  # as politeness.behind
    return f"{mine / 60:5.1f}/{theirs / 60:4.1f}{mark} "


def _wait(rows: list[tuple[int, dict[str, Any], bool, str]], name: str, klass: str) -> float:
    return statistics.fmean(w for _, r, _, _ in rows for w in r[name].waits_by_class[klass])


def report_seeds(count: int, seeds: list[int], run: Run, verdict: Verdict, floor: Floor) -> None:
    classes = [klass for klass, *_ in CLASSES]
    print(f"{count} feeds; per seed: requests and bytes as shares of the fixed poller's,")
    print("mean delay by class in minutes, feedhub/fixed60 ('!': feedhub is slower), entries")
    print("missed (pushed out of the feed between two polls), feedhub/fixed60; floor: the")
    print("least share of fixed60's bytes at which every class can match its delay")
    print(f"{'seed':>4} {'before req':>10} {'bytes':>6} {'req':>5} {'bytes':>6} "
          + " ".join(f"{k:>12}" for k in classes) + "  missed  floor  target")  # fmt: skip
    rows = []
    for seed in seeds:
        feeds = make_feeds(count, random.Random(seed))
        results: dict[str, Any] = run(feeds, seed)
        before, ours, fixed = results["before"], results["feedhub"], results["fixed60"]
        met, text = verdict(ours, fixed)
        rows.append((seed, results, met, text))
        cells = " ".join(_cell(ours.mean_delay(k), fixed.mean_delay(k)) for k in classes)
        verdict_word = "MET" if met else "MISSED"
        print(f"{seed:>4} {before.requests / fixed.requests:>10.0%} "
              f"{before.bytes / fixed.bytes:>6.0%} {ours.requests / fixed.requests:>5.0%} "
              f"{ours.bytes / fixed.bytes:>6.0%} {cells} {ours.missed:>3}/{fixed.missed:<3} "
              f"{floor(ours, fixed)[1]:>5.1%}  {verdict_word}")  # fmt: skip
    print()
    print("means over the seeds (minutes): mean delay of the entries, and on how many seeds")
    print("feedhub is slower than fixed60; wait: an entry at a random instant (no rhythm)")
    print(f"{'class':<8} {'entries':>7} {'before':>7} {'feedhub':>7} {'fixed60':>7} "
          f"{'slower on':>10} | wait: {'feedhub':>7} {'fixed60':>7}")  # fmt: skip
    for klass in classes:
        per_seed = [
            (r["before"].mean_delay(klass), r["feedhub"].mean_delay(klass),
             r["fixed60"].mean_delay(klass), seed)
            for seed, r, _, _ in rows
        ]  # fmt: skip
        known = [row for row in per_seed if row[1] is not None]
        entries = sum(len(r["fixed60"].delays_by_class.get(klass, [])) for _, r, _, _ in rows)
        slower = [str(row[3]) for row in known if row[1] > row[2] + 1.0]
        means = [_fmean([row[i] for row in known]) for i in range(3)]
        waits = " ".join(
            f"{'-':>7}" if klass in RHYTHMIC_CLASSES else f"{_wait(rows, name, klass) / 60:7.1f}"
            for name in ("feedhub", "fixed60")
        )
        cells = " ".join(f"{'-':>7}" if m is None else f"{m / 60:7.1f}" for m in means)
        where = f"{len(slower)}/{len(known)}" + (f" ({','.join(slower)})" if slower else "")
        print(f"{klass:<8} {entries:>7} {cells} {where:>10} |       {waits}")
    shares = {
        name: [(r[name].requests / r["fixed60"].requests, r[name].bytes / r["fixed60"].bytes)
               for _, r, _, _ in rows]
        for name in ("before", "feedhub")
    }  # fmt: skip
    shares["floor"] = [floor(r["feedhub"], r["fixed60"]) for _, r, _, _ in rows]
    print()
    for name, values in shares.items():
        req, size = [v[0] for v in values], [v[1] for v in values]
        print(f"{name}: requests {statistics.fmean(req):.1%} of fixed60's ({min(req):.0%}-"
              f"{max(req):.0%}), bytes {statistics.fmean(size):.1%} ({min(size):.0%}-"
              f"{max(size):.0%})")  # fmt: skip
    met = [str(seed) for seed, _, ok, _ in rows if ok]
    print(f"target by class met on {len(met)} of {len(rows)} seeds"
          + (f" ({', '.join(met)})" if met else ""))  # fmt: skip
