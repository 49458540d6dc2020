"""The politeness benchmark's feeds: publication processes, server behaviours, bodies.

Each feed publishes by its own process (from every few minutes to almost never, some with
a day/night rhythm, the daily and slow classes on a rhythm of days and hours) and is
served by one of four server behaviours (benchmarks/politeness.py lists them). Both
pollers of the benchmark see the same feeds and the same answers.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

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
RHYTHMIC_CLASSES = ("daily", "slow")
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
