"""Politeness report: a simulated day of polling 200 feeds, feedhub vs fixed 60 min.

    .venv/bin/python benchmarks/politeness.py [--feeds 200] [--seed 5]
    .venv/bin/python benchmarks/politeness.py --seeds 1-8      # a row per seed, the means

Virtual clock, no network. Each feed publishes by its own random process (from every few
minutes to almost never, some with a day/night rhythm; benchmarks/_politeness_feeds.py)
and is served by one of four server behaviours. The pollers see the same feeds and the
same server answers, in the same run:

* feedhub: `feedhub.ingest.cadence.next_poll_at` (adaptive rate, rhythms, ttl /
  Cache-Control hints, jitter) with the poller's real decisions: If-None-Match -> 304
  means no parse; a 200 whose `feedhub.ingest.parse.body_fingerprint` equals the stored
  one means no parse. "before" is the same with the schedule before the hourly bound (the
  square-root rule alone, its reference an hour).
* fixed:   Miniflux's default: every 60 minutes, If-None-Match, and a parse whenever the
  body's checksum changed (Miniflux hashes the whole body).

Server behaviours (the body is really rendered, so the fingerprint logic is the real one):

  static-etag    ETag from the body, 304 when unchanged; lastBuildDate = newest entry
  dynamic-etag   ETag from the body, but lastBuildDate = now: the ETag never matches
  plain          no validators, body stable while nothing is published
  plain-volatile no validators, lastBuildDate = now: every body differs in bytes

Some feeds also send `Cache-Control: max-age` or an RSS `<ttl>`; feedhub honours them as
floors, the fixed poller ignores them. Measured: day 2 of a 3-day run (day 1 warms the
adaptive schedule up). Requests and downloaded bytes (headers + body, uncompressed) per
day; delay from an entry's publication to the poll that ingests it, for entries published
on day 2 (the simulation runs on until every one is ingested or the window ends); and the
"wait", the delay an entry published at a random instant of day 2 would have had (from
the poll times alone, so free of the luck of a class with one entry a day).
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import math
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _politeness_feeds import (  # noqa: E402
    BEHAVIOURS,
    CLASSES,
    EPOCH,
    HEADERS_200,
    HEADERS_304,
    HOUR,
    ITEMS_IN_FEED,
    MEASURE_END,
    MEASURE_START,
    RHYTHMIC_CLASSES,
    SIM_END,
    Feed,
    make_feeds,
)
from _politeness_seeds import report_seeds  # noqa: E402

from feedhub.ingest.cadence import ScheduleInputs, ScheduleLimits, next_poll_at  # noqa: E402
from feedhub.ingest.parse import body_fingerprint  # noqa: E402

# The budget: at most this share of the fixed poller's requests and bytes.
BUDGET = 0.7


@dataclass
class Tally:
    requests: int = 0
    not_modified: int = 0
    bytes: int = 0
    parses: int = 0
    delays: list[float] = field(default_factory=list)
    delays_by_class: dict[str, list[float]] = field(default_factory=dict)
    missed: int = 0  # published on day 2, never seen (pushed out of the feed, or too late)
    missed_by_class: dict[str, int] = field(default_factory=dict)
    missed_behind_hints: int = 0  # of those, on feeds whose ttl/max-age is >= 30 min
    requests_by_class: dict[str, int] = field(default_factory=dict)
    bytes_by_class: dict[str, int] = field(default_factory=dict)
    waits_by_class: dict[str, list[float]] = field(default_factory=dict)  # one per feed

    def mean_delay(self, klass: str) -> float | None:
        delays = self.delays_by_class.get(klass)
        return statistics.fmean(delays) if delays else None


def _long_hint(feed: Feed) -> bool:
    return (feed.ttl_minutes or 0) * 60 >= 1800 or (feed.max_age or 0) >= 1800


def _wait(polls: list[float]) -> float:
    """The mean, over the instants of day 2, of the time until the next poll."""
    total = 0.0
    for earlier, later in pairwise(polls):
        low, high = max(earlier, MEASURE_START), min(later, MEASURE_END)
        if high > low:
            total += ((later - low) ** 2 - (later - high) ** 2) / 2
    return total / (MEASURE_END - MEASURE_START)


# A poller decides, after each answer, when to come back: (feed, now, status, headers,
# recent entry dates) -> next time. It also says which body change means "parse".
NextPoll = Callable[[Feed, float, int, dict[str, str], list[float]], float]


def simulate(feeds: list[Feed], next_poll: NextPoll, fingerprint: Callable[[bytes], str],
             rng: random.Random) -> Tally:  # fmt: skip
    tally = Tally()
    queue = [(rng.uniform(0, HOUR), feed.index) for feed in feeds]  # subscribed in hour 1
    heapq.heapify(queue)
    etags: dict[int, str | None] = {}
    prints: dict[int, str] = {}
    seen: dict[int, set[float]] = {feed.index: set() for feed in feeds}
    recent: dict[int, list[float]] = {}
    polls: dict[int, list[float]] = {feed.index: [] for feed in feeds}
    while queue:
        t, index = heapq.heappop(queue)
        polls[index].append(t)
        if t > SIM_END:
            break
        feed = feeds[index]
        status, body, headers = feed.answer(t, etags.get(index))
        if MEASURE_START <= t < MEASURE_END:
            size = (HEADERS_304 if status == 304 else HEADERS_200) + len(body)
            tally.requests += 1
            tally.bytes += size
            tally.not_modified += status == 304
            tally.requests_by_class[feed.klass] = tally.requests_by_class.get(feed.klass, 0) + 1
            tally.bytes_by_class[feed.klass] = tally.bytes_by_class.get(feed.klass, 0) + size
        if status == 200:
            etags[index] = headers.get("etag")
            mark = fingerprint(body)
            if mark != prints.get(index):
                prints[index] = mark
                tally.parses += MEASURE_START <= t < MEASURE_END
                entries = feed.entries_at(t)
                recent[index] = entries
                for published in entries:
                    if published not in seen[index]:
                        seen[index].add(published)
                        if MEASURE_START <= published < MEASURE_END:
                            delay = t - published
                            tally.delays.append(delay)
                            tally.delays_by_class.setdefault(feed.klass, []).append(delay)
        heapq.heappush(queue, (next_poll(feed, t, status, headers, recent.get(index, [])), index))
    for feed in feeds:
        day2 = [p for p in feed.published if MEASURE_START <= p < MEASURE_END]
        lost = sum(p not in seen[feed.index] for p in day2)
        tally.missed += lost
        tally.missed_by_class[feed.klass] = tally.missed_by_class.get(feed.klass, 0) + lost
        if _long_hint(feed):
            tally.missed_behind_hints += lost
        tally.waits_by_class.setdefault(feed.klass, []).append(_wait(polls[feed.index]))
    return tally


# The schedule before the hourly bound: the square-root rule alone, its reference an hour.
BEFORE = ScheduleLimits(rate_reference=3600, adaptive_max_interval=86400)


def feedhub_next(rng: random.Random, limits: ScheduleLimits | None = None) -> NextPoll:
    # The defaults of FEEDHUB_*_POLL_INTERVAL unless told otherwise.
    limits = limits or ScheduleLimits()

    def next_poll(feed: Feed, t: float, status: int, headers: dict[str, str],
                  recent: list[float]) -> float:  # fmt: skip
        now = EPOCH + timedelta(seconds=t)
        inputs = ScheduleInputs(
            recent_published=tuple(EPOCH + timedelta(seconds=p) for p in recent),
            ttl_seconds=feed.ttl_minutes * 60 if feed.ttl_minutes else None,
            headers=headers,
            status=status,
        )
        return (next_poll_at(now, inputs, limits, rng.random()) - EPOCH).total_seconds()

    return next_poll


def fixed_next(feed: Feed, t: float, status: int, headers: dict[str, str],
               recent: list[float]) -> float:  # fmt: skip
    return t + HOUR


def _whole_body(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def run(feeds: list[Feed], seed: int) -> dict[str, Tally]:
    return {
        "before": simulate(feeds, feedhub_next(random.Random(seed + 1), BEFORE),
                           body_fingerprint, random.Random(seed + 2)),
        "feedhub": simulate(feeds, feedhub_next(random.Random(seed + 1)), body_fingerprint,
                            random.Random(seed + 2)),
        "fixed60": simulate(feeds, fixed_next, _whole_body, random.Random(seed + 2)),
    }  # fmt: skip


def _minutes(value: float | None, width: int = 7) -> str:
    return f"{'-':>{width}}" if value is None else f"{value / 60:{width}.1f}"


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "-"


def behind(ours: Tally, fixed: Tally) -> list[str]:
    """The classes whose mean delay is longer than the fixed poller's."""
    out = []
    for klass, *_ in CLASSES:
        mine, theirs = ours.mean_delay(klass), fixed.mean_delay(klass)
        # A second's slack: two pollers polling at the same instants differ by float noise.
        if mine is not None and theirs is not None and mine > theirs + 1.0:
            out.append(klass)
    return out


def floor(ours: Tally, fixed: Tally) -> tuple[float, float]:
    """The least share of the fixed poller's requests and bytes at which every class can
    match its delay: entries that come at random wait half the interval on average, so a
    class without a rhythm must be polled as often as the fixed poller polls it (as its
    requests and bytes there); the rhythmic classes cost what feedhub spends on them."""
    shares = []
    for attribute in ("requests_by_class", "bytes_by_class"):
        total = sum(
            getattr(ours if klass in RHYTHMIC_CLASSES else fixed, attribute).get(klass, 0)
            for klass, *_ in CLASSES
        )
        shares.append(total / sum(getattr(fixed, attribute).values()))
    return shares[0], shares[1]


def verdict(ours: Tally, fixed: Tally) -> tuple[bool, str]:
    """The target by class: every class's mean delay at or below the fixed poller's, with
    at most BUDGET of its requests and of its bytes."""
    late = behind(ours, fixed)
    requests, size = ours.requests / fixed.requests, ours.bytes / fixed.bytes
    over = [name for name, share in (("requests", requests), ("bytes", size)) if share > BUDGET]
    text = f"requests {requests:.0%}, bytes {size:.0%}"
    if late:
        text += f"; slower than fixed60: {', '.join(late)}"
    if over:
        text += f"; over {BUDGET:.0%}: {', '.join(over)}"
    return not late and not over, text


def report(feeds: list[Feed], results: dict[str, Tally]) -> None:
    published = sum(MEASURE_START <= p < MEASURE_END for f in feeds for p in f.published)
    print(f"{len(feeds)} feeds, {published} entries published on the measured day")
    print("behaviours:", ", ".join(f"{b} {sum(f.behaviour == b for f in feeds)}"
                                   for b in BEHAVIOURS))  # fmt: skip
    print()
    header = (f"{'poller':<8} {'requests/day':>12} {'304s':>6} {'MB/day':>8} {'parses/day':>10} "
              f"{'mean delay min':>14} {'median':>7} {'p95':>7} {'missed':>6}")  # fmt: skip
    print(header)
    for name, tally in results.items():
        delays = sorted(tally.delays)
        p95 = delays[int(0.95 * (len(delays) - 1))] / 60 if delays else math.nan
        median = statistics.median(delays) / 60 if delays else math.nan
        print(f"{name:<8} {tally.requests:>12} {tally.not_modified:>6} "
              f"{tally.bytes / 1e6:>8.2f} {tally.parses:>10} "
              f"{_minutes(statistics.fmean(tally.delays) if tally.delays else None, 14)} "
              f"{median:>7.1f} {p95:>7.1f} {tally.missed:>6}")  # fmt: skip
    names = list(results)
    fixed = results["fixed60"]
    print()
    print("by feed class: mean delay (minutes) of the entries published on the measured day;")
    print("wait: the mean delay of an entry published at a random instant (classes with no")
    print("rhythm); requests and bytes: shares of the fixed poller's totals")
    groups = (("delay", names), ("wait", names[1:]), ("requests", names), ("bytes", names))
    print(f"{'class':<8} {'feeds':>5} {'entries':>7}"
          + "".join(f" | {label:<8} " + " ".join(f"{n:>7}" for n in who)
                    for label, who in groups))  # fmt: skip
    for klass, *_ in CLASSES:
        count = sum(f.klass == klass for f in feeds)
        entries = len(fixed.delays_by_class.get(klass, []))
        cells = [
            [_minutes(t.mean_delay(klass)) for t in results.values()],
            [_minutes(None if klass in RHYTHMIC_CLASSES
                      else statistics.fmean(results[n].waits_by_class[klass]))
             for n in names[1:]],
            [_share(t.requests_by_class.get(klass, 0), fixed.requests) for t in results.values()],
            [_share(t.bytes_by_class.get(klass, 0), fixed.bytes) for t in results.values()],
        ]  # fmt: skip
        columns = "".join(f" | {'':<8} " + " ".join(f"{c:>7}" for c in group) for group in cells)
        print(f"{klass:<8} {count:>5} {entries:>7}{columns}")
    ours = results["feedhub"]
    print()
    print(
        f"missed: feedhub {ours.missed} ({ours.missed_behind_hints} on feeds whose ttl or "
        f"max-age asks for >= 30 min between polls, which feedhub honours), fixed60 "
        f"{fixed.missed}: entries pushed out of a {ITEMS_IN_FEED}-entry feed between two polls"
    )
    met = (
        ours.requests < fixed.requests
        and ours.bytes < fixed.bytes
        and statistics.fmean(ours.delays) <= statistics.fmean(fixed.delays)
    )
    by_class, text = verdict(ours, fixed)
    least = floor(ours, fixed)
    print()
    print(
        f"floor: polling every class without a rhythm as often as fixed60 (the least that "
        f"matches its delay) costs {least[0]:.0%} of its requests, {least[1]:.0%} of its bytes"
    )
    print()
    print(
        f"target by class (every class's mean delay at or below the fixed poller's, at most "
        f"{BUDGET:.0%} of its requests and of its bytes): {'MET' if by_class else 'MISSED'}"
        f" — {text}"
    )
    print()
    print(
        f"target (fewer requests and bytes at equal or lower mean delay): "
        f"{'MET' if met else 'MISSED'} — requests {ours.requests / fixed.requests:.0%}, "
        f"bytes {ours.bytes / fixed.bytes:.0%}, mean delay "
        f"{statistics.fmean(ours.delays) / statistics.fmean(fixed.delays):.0%} of the fixed poller"
    )


def _seed_list(text: str) -> list[int]:
    """'1-8' or '1,3,5'."""
    if "-" in text:
        low, high = text.split("-", 1)
        return list(range(int(low), int(high) + 1))
    return [int(part) for part in text.split(",")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--seeds", help="several seeds, e.g. 1-8: a row each, then the means")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.feeds = 10
    if args.seeds:
        report_seeds(args.feeds, _seed_list(args.seeds), run, verdict, floor)
        return 0
    feeds = make_feeds(args.feeds, random.Random(args.seed))
    report(feeds, run(feeds, args.seed))
    if args.smoke:  # and the path of several seeds
        print()
        report_seeds(args.feeds, [1, 2], run, verdict, floor)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
