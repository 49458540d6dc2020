"""Parse benchmark: CPU per entry of feedhub's parse step, the fast path (lxml) against
feedparser alone, over the feed corpus.

    .venv/bin/python benchmarks/parse.py [--rounds N] [--corpus DIR] [--smoke]

Every feed document of tests/corpus (manifest.jsonl; `--corpus` narrows it to the files
under one folder, e.g. tests/corpus/realworld) is parsed in this process, `--rounds` times
each way, and CPU time (time.process_time) is divided by the entries parsed:

  reader only     feedparser.parse against fastparse.read_fast, on the documents the fast
                  path accepts: the part the fast path replaces
  parse step      parse_feed(fast=False) against parse_feed(): reading, sanitizing,
                  hashing, keying; on every document (those declined take the same time)

Both ways give the same ParsedFeed (tests/unit/test_fastparse_oracle.py); this script
checks that too, and counts what the fast path accepts.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CORPUS = ROOT / "tests" / "corpus"
sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from feedhub.ingest.fastparse import read_fast  # noqa: E402
from feedhub.ingest.parse import parse_feed  # noqa: E402

FETCHED_AT = datetime(2026, 6, 1, tzinfo=UTC)
Doc = tuple[str, bytes, dict[str, str], str]


def documents(under: Path) -> list[Doc]:
    docs = []
    for line in (CORPUS / "manifest.jsonl").read_text().splitlines():
        entry = json.loads(line)
        path = CORPUS / entry["file"]
        if entry["kind"] != "feed" or not path.resolve().is_relative_to(under.resolve()):
            continue
        body = path.read_bytes()
        if entry.get("gzip_compressed"):
            body = gzip.decompress(body)
        headers = {
            k.lower(): v
            for k, v in (entry.get("http_headers") or {}).items()
            if k.lower() != "content-encoding"
        }
        docs.append(
            (entry["file"], body, headers, f"http://127.0.0.1:9/{Path(entry['file']).name}")
        )
    return docs


def cpu(call: object, rounds: int) -> float:
    """CPU seconds of `rounds` calls, the fastest round times `rounds` (less noise from
    other work on the machine)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        call()  # type: ignore[operator]
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--smoke", action="store_true", help="a few documents, one round")
    opts = ap.parse_args(argv)
    docs = documents(opts.corpus)
    if opts.smoke:
        docs, opts.rounds = docs[:: max(1, len(docs) // 25)], 1

    def parse_all(fast: bool) -> list[object]:
        answers: list[object] = []
        for _, body, headers, url in docs:
            try:
                answers.append(
                    parse_feed(body, url=url, headers=headers, fetched_at=FETCHED_AT, fast=fast)
                )
            except Exception as exc:  # noqa: BLE001 - an error is an answer too
                answers.append(repr(exc))
        return answers

    slow_answers, fast_answers = parse_all(False), parse_all(True)
    entries = sum(len(a.entries) for a in slow_answers if not isinstance(a, str))  # type: ignore[attr-defined]
    accepted = [d for d in docs if read_fast(d[1], d[2], d[3]) is not None]
    accepted_entries = sum(
        len(a.entries)  # type: ignore[attr-defined]
        for d, a in zip(docs, slow_answers, strict=True)
        if d in accepted and not isinstance(a, str)
    )
    differ = [d[0] for d, s, f in zip(docs, slow_answers, fast_answers, strict=True) if s != f]

    def feedparser_only() -> None:
        for _, body, headers, url in accepted:
            feedparser.parse(
                body,
                response_headers={**headers, "content-location": url},
                sanitize_html=False,
                resolve_relative_uris=False,
            )

    def lxml_only() -> None:
        for _, body, headers, url in accepted:
            read_fast(body, headers, url)

    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine load (1, 5, 15 min): {load}; {os.cpu_count()} cores")
    print(
        f"documents: {len(docs)}, entries: {entries}; the fast path accepts {len(accepted)}"
        f" documents ({accepted_entries} entries); answers that differ: {len(differ)}"
    )
    per = max(1, accepted_entries)
    reader_slow = cpu(feedparser_only, opts.rounds) / per * 1e3
    reader_fast = cpu(lxml_only, opts.rounds) / per * 1e3
    print(
        f"reader only, CPU ms per entry (accepted documents): feedparser {reader_slow:.3f}"
        f"  lxml {reader_fast:.3f}  ({reader_slow / max(reader_fast, 1e-9):.1f}x less)"
    )
    step_slow = cpu(lambda: parse_all(False), opts.rounds) / max(1, entries) * 1e3
    step_fast = cpu(lambda: parse_all(True), opts.rounds) / max(1, entries) * 1e3
    print(
        f"parse step, CPU ms per entry (all documents): feedparser {step_slow:.3f}"
        f"  fast path {step_fast:.3f}  ({step_slow / max(step_fast, 1e-9):.1f}x less)"
    )
    if differ:
        print("DIFFERENT ANSWERS:", *differ[:10])
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
