"""Golden files: each document beside the values the parser must produce from it.

The RSS, Atom and RDF documents are files of tests/corpus (tests/unit/golden/SOURCES.tsv
names each one's corpus file, origin and licence); the JSON Feed documents are ours (the
corpus has none) and live in tests/unit/golden/jsonfeed.
A change in any parsed field fails here; when the change is meant, regenerate with
`python -m tests.unit.golden.regenerate` and read the diff.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feedhub.ingest.parse import parse_feed
from tests.unit.golden.regenerate import FORMATS, HERE, documents, expected_path, parse, values

DOCUMENTS = documents()


def test_a_dozen_documents_of_each_format() -> None:
    for fmt in FORMATS:
        assert len([d for d in DOCUMENTS if d.parent.name == fmt]) >= 12, fmt


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_parser_output_matches_the_golden_file(document: Path) -> None:
    expected = json.loads(expected_path(document).read_text(encoding="utf-8"))
    actual = values(parse(document))
    assert {k: v for k, v in actual.items() if k != "entries"} == {
        k: v for k, v in expected.items() if k != "entries"
    }
    assert len(actual["entries"]) == len(expected["entries"])
    for index, (got, want) in enumerate(zip(actual["entries"], expected["entries"], strict=True)):
        assert got == want, f"entry {index} of {document.relative_to(HERE)}"


FETCHED_AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SLASHED_DATES = [
    ("2020/1/10 14:33:00", datetime(2020, 1, 10, 14, 33, tzinfo=UTC)),
    ("2020/12/1 9:05", datetime(2020, 12, 1, 9, 5, tzinfo=UTC)),
    ("2020/01/10", datetime(2020, 1, 10, tzinfo=UTC)),
    ("2020/2/30 10:00:00", FETCHED_AT),  # no such day: the entry takes its arrival time
]


@pytest.mark.parametrize(("raw", "expected"), SLASHED_DATES)
def test_slashed_dates_do_not_depend_on_the_clock(
    raw: str, expected: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """feedparser alone reads `2020/1/10` as the year 2020 with today's month and day."""
    document = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>a</title><link>http://127.0.0.1:9/a</link><pubDate>{raw}</pubDate>"
        "</item></channel></rss>"
    ).encode()
    seen = set()
    for today in ((1999, 3, 4), (2031, 11, 28)):  # feedparser reads the clock: move it
        fake_now = time.struct_time((*today, 12, 0, 0, 0, 0, 0))
        monkeypatch.setattr(time, "gmtime", lambda *_, now=fake_now: now)
        parsed = parse_feed(
            document, url="http://127.0.0.1:9/feed", headers={}, fetched_at=FETCHED_AT
        )
        seen.add(parsed.entries[0].published_at)
    assert seen == {expected}
