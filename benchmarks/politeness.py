"""Politeness report: a simulated day of polling 200 feeds, feedhub vs fixed 60 min.

    .venv/bin/python benchmarks/politeness.py [--feeds 200] [--seed 5]

Virtual clock, no network. Each feed publishes by its own random process (from every few
minutes to almost never, some with a day/night rhythm) and is served by one of four server
behaviours. Both pollers see the same feeds and the same server answers, in the same run:

* feedhub: `feedhub.ingest.cadence.next_poll_at` (adaptive rate, ttl / Cache-Control hints,
  jitter) with the poller's real decisions: If-None-Match -> 304 means no parse; a 200
  whose `feedhub.ingest.parse.body_fingerprint` equals the stored one means no parse.
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
on day 2 (the simulation runs on until every one is ingested or the window ends).
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import heapq
import math
import random
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from feedhub.ingest.cadence import ScheduleInputs, ScheduleLimits, next_poll_at  # noqa: E402
from feedhub.ingest.parse import body_fingerprint  # noqa: E402

DAY = 86400.0
HOUR = 3600.0
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)
MEASURE_START, MEASURE_END = DAY, 2 * DAY
SIM_END = 2 * DAY + 27 * HOUR  # past the longest interval (24 h + 10 % jitter) after day 2
ITEMS_IN_FEED = 20
HEADERS_200 = 420  # bytes of status line and headers, typical of a feed response
HEADERS_304 = 220
BEHAVIOURS = ("static-etag", "dynamic-etag", "plain", "plain-volatile")
# (name, share of feeds, mean gap between entries in hours: low, high). "daily" and
# "slow" feeds keep realistic rhythms instead (RHYTHMS): a newsletter sent every day at
# its hour, a blog posting on weekdays around its hour, a podcast out on one weekday.
CLASSES = (
    ("wire", 0.05, 0.05, 0.2),  # 3-12 minutes
    ("news", 0.20, 0.3, 1.5),
    ("active", 0.25, 2.0, 8.0),
    ("daily", 0.20, 12.0, 48.0),
    ("slow", 0.20, 72.0, 336.0),  # 3 days to 2 weeks
    ("dormant", 0.10, 1500.0, 4000.0),
)
# kind -> (weekdays it publishes on, or None: one weekday drawn per feed; the spread of
# its publication time around the feed's hour, in minutes; the share of slots skipped)
RHYTHMS = {
    "newsletter": (frozenset(range(7)), 5.0, 0.03),
    "weekday-blog": (frozenset(range(5)), 40.0, 0.15),
    "weekly-podcast": (None, 10.0, 0.05),
}
EPOCH_WEEKDAY = 1  # 2030-01-01 is a Tuesday


@dataclass
class Feed:
    index: int
    klass: str
    behaviour: str
    published: list[float]  # seconds from EPOCH, sorted
    item_bytes: int
    max_age: int | None
    ttl_minutes: int | None

    def entries_at(self, t: float) -> list[float]:
        """The newest ITEMS_IN_FEED entries published at or before t, newest first."""
        end = bisect.bisect_right(self.published, t)
        return self.published[max(0, end - ITEMS_IN_FEED) : end][::-1]

    def body(self, t: float) -> bytes:
        entries = self.entries_at(t)
        volatile = self.behaviour in ("dynamic-etag", "plain-volatile")
        build = t if volatile else (entries[0] if entries else 0.0)
        ttl = f"<ttl>{self.ttl_minutes}</ttl>" if self.ttl_minutes else ""
        head = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>Feed {self.index}'
            f"</title><link>http://site{self.index}.example/</link>"
            f"<lastBuildDate>{_http_date(build)}</lastBuildDate>{ttl}"
        )
        filler = "x" * self.item_bytes
        items = "".join(
            f"<item><guid>{self.index}-{p:.0f}</guid><title>Entry {p:.0f}</title>"
            f"<pubDate>{_http_date(p)}</pubDate><description>{filler}</description></item>"
            for p in entries
        )
        return (head + items + "</channel></rss>").encode()

    def answer(self, t: float, etag: str | None) -> tuple[int, bytes, dict[str, str]]:
        body = self.body(t)
        headers: dict[str, str] = {}
        if self.max_age:
            headers["cache-control"] = f"max-age={self.max_age}"
        if self.behaviour in ("static-etag", "dynamic-etag"):
            headers["etag"] = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
            if etag == headers["etag"]:
                return 304, b"", headers
        return 200, body, headers


def _http_date(t: float) -> str:
    return (EPOCH + timedelta(seconds=t)).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _publications(rng: random.Random, mean_gap: float, diurnal: bool) -> list[float]:
    """A Poisson process (thinned by a day/night rhythm for some feeds) from well before
    the start, so that the first poll already sees a full feed."""
    start = -max(30 * DAY, 25 * mean_gap)
    rate = 1.0 / mean_gap
    peak = rate * (1.8 if diurnal else 1.0)
    t, out = start, []
    while True:
        t += rng.expovariate(peak)
        if t > SIM_END:
            return out
        if diurnal:
            # Busy in the (UTC) day, quiet at night; averages to `rate`.
            hour = (t % DAY) / HOUR
            weight = 1.0 + 0.8 * math.sin((hour - 8.0) / 24.0 * 2 * math.pi)
            if rng.random() > weight / 1.8:
                continue
        out.append(t)


def _rhythmic(rng: random.Random, kind: str) -> list[float]:
    """A rhythm's publications from ten weeks before the start: the feed's hour (06:00 to
    20:00 UTC), its days, a normal spread around the hour, some slots skipped."""
    days, spread, skip = RHYTHMS[kind]
    if days is None:
        days = frozenset({rng.randrange(7)})
    hour = rng.uniform(6.0, 20.0) * HOUR
    out = []
    for day in range(-70, int(SIM_END // DAY) + 1):
        if (EPOCH_WEEKDAY + day) % 7 not in days or rng.random() < skip:
            continue
        t = day * DAY + hour + rng.gauss(0.0, spread * 60)
        if t <= SIM_END:
            out.append(t)
    return sorted(out)


def make_feeds(count: int, rng: random.Random) -> list[Feed]:
    feeds = []
    bounds = []
    acc = 0.0
    for name, share, low, high in CLASSES:
        acc += share
        bounds.append((acc, name, low, high))
    for index in range(count):
        pick = (index + 0.5) / count  # classes in their exact shares
        _, klass, low, high = next(b for b in bounds if pick <= b[0] + 1e-9)
        mean_gap = math.exp(rng.uniform(math.log(low), math.log(high))) * HOUR
        diurnal = klass in ("wire", "news", "active") and rng.random() < 0.7
        if klass == "daily":
            published = _rhythmic(rng, ("newsletter", "weekday-blog")[index % 2])
        elif klass == "slow":
            published = _rhythmic(rng, "weekly-podcast")
        else:
            published = _publications(rng, mean_gap, diurnal)
        feeds.append(
            Feed(
                index=index,
                klass=klass,
                behaviour=BEHAVIOURS[index % len(BEHAVIOURS)],
                published=published,
                item_bytes=rng.choice((300, 800, 1500, 4000)),
                max_age=rng.choice((None, None, None, None, 300, 1800, 3600)),
                ttl_minutes=rng.choice((None,) * 9 + (60,)),
            )
        )
    return feeds


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


def _long_hint(feed: Feed) -> bool:
    return (feed.ttl_minutes or 0) * 60 >= 1800 or (feed.max_age or 0) >= 1800


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
    while queue:
        t, index = heapq.heappop(queue)
        if t > SIM_END:
            break
        feed = feeds[index]
        status, body, headers = feed.answer(t, etags.get(index))
        measured = MEASURE_START <= t < MEASURE_END
        if measured:
            tally.requests += 1
            tally.bytes += (HEADERS_304 if status == 304 else HEADERS_200) + len(body)
            tally.not_modified += status == 304
        if status == 200:
            etags[index] = headers.get("etag")
            mark = fingerprint(body)
            if mark != prints.get(index):
                prints[index] = mark
                tally.parses += measured
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
    return tally


def feedhub_next(rng: random.Random, *, rhythm: bool = True) -> NextPoll:
    # The defaults of FEEDHUB_*_POLL_INTERVAL; without `rhythm`, the schedule before
    # polls were timed to the source (the rate rule alone).
    limits = ScheduleLimits(follow_rhythm=rhythm)

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


def _minutes(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{statistics.fmean(values) / 60:7.1f}"


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
              f"{tally.bytes / 1e6:>8.2f} {tally.parses:>10} {_minutes(tally.delays):>14} "
              f"{median:>7.1f} {p95:>7.1f} {tally.missed:>6}")  # fmt: skip
    print()
    print("mean delay (minutes) by feed class, entries published on the measured day:")
    print(f"{'class':<8} {'feeds':>5} {'entries':>7} " + " ".join(f"{n:>8}" for n in results))
    for klass, *_ in CLASSES:
        count = sum(f.klass == klass for f in feeds)
        entries = len(next(iter(results.values())).delays_by_class.get(klass, []))
        cells = " ".join(
            f"{_minutes(t.delays_by_class.get(klass, [])):>8}" for t in results.values()
        )
        print(f"{klass:<8} {count:>5} {entries:>7} {cells}")
    ours, fixed = results["feedhub"], results["fixed60"]
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
    behind = [
        klass
        for klass, *_ in CLASSES
        if ours.delays_by_class.get(klass)
        and statistics.fmean(ours.delays_by_class[klass])
        > statistics.fmean(fixed.delays_by_class[klass])
    ]
    by_class = not behind and ours.requests <= 0.7 * fixed.requests
    print()
    print(
        f"target by class (every class's mean delay at or below the fixed poller's, at most "
        f"70% of its requests): {'MET' if by_class else 'MISSED'}"
        f" — requests {ours.requests / fixed.requests:.0%}"
        + (f"; slower than fixed60: {', '.join(behind)}" if behind else "")
    )
    print()
    print(
        f"target (fewer requests and bytes at equal or lower mean delay): "
        f"{'MET' if met else 'MISSED'} — requests {ours.requests / fixed.requests:.0%}, "
        f"bytes {ours.bytes / fixed.bytes:.0%}, mean delay "
        f"{statistics.fmean(ours.delays) / statistics.fmean(fixed.delays):.0%} of the fixed poller"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, seconds: the test suite runs it so that the script cannot rot",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.feeds = 10
    feeds = make_feeds(args.feeds, random.Random(args.seed))
    results = {
        "before": simulate(
            feeds,
            feedhub_next(random.Random(args.seed + 1), rhythm=False),
            body_fingerprint,
            random.Random(args.seed + 2),
        ),
        "feedhub": simulate(
            feeds,
            feedhub_next(random.Random(args.seed + 1)),
            body_fingerprint,
            random.Random(args.seed + 2),
        ),  # fmt: skip
        "fixed60": simulate(feeds, fixed_next, _whole_body, random.Random(args.seed + 2)),
    }
    report(feeds, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
