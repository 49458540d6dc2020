"""Write the expected values of the golden parser tests: `<document>.expected.json`.

Run it once when a document is added, or when a change of the parser's output is meant
(then read the diff before committing it):

    .venv/bin/python -m tests.unit.golden.regenerate

tests/unit/test_parse_golden.py parses every document again and compares.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from feedhub.core.types import ParsedFeed
from feedhub.ingest.parse import parse_feed

HERE = Path(__file__).resolve().parent
# The RSS, Atom and RDF documents are files of the repository's one feed corpus; SOURCES.tsv
# names each golden document's corpus file. The JSON Feed documents are ours and live here.
CORPUS = HERE.parents[1] / "corpus"
FORMATS = ("rss", "atom", "rdf", "jsonfeed")
# A fixed fetch time: missing and future dates are clamped to it.
FETCHED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
_CONTENT_TYPE = {"jsonfeed": "application/feed+json"}


def _corpus_files() -> dict[str, str]:
    """golden name (e.g. rss/HuffPostCanada.xml) -> its file in tests/corpus."""
    rows = (HERE / "SOURCES.tsv").read_text(encoding="utf-8").splitlines()[1:]
    cells = [row.split("\t") for row in rows if row.strip()]
    return {c[0]: c[1] for c in cells if (CORPUS / c[1]).is_file()}


def documents() -> list[Path]:
    """Every golden document by its name here (HERE/<format>/<file>)."""
    own = [
        p
        for fmt in FORMATS
        if (HERE / fmt).is_dir()
        for p in (HERE / fmt).iterdir()
        if p.is_file() and not p.name.endswith(".expected.json")
    ]
    return sorted({*own, *(HERE / name for name in _corpus_files())})


def source(document: Path) -> Path:
    """The file holding a golden document's bytes: in tests/corpus, or here."""
    name = str(document.relative_to(HERE))
    corpus = _corpus_files().get(name)
    return CORPUS / corpus if corpus else document


def expected_path(document: Path) -> Path:
    return document.with_name(document.name + ".expected.json")


def parse(document: Path) -> ParsedFeed:
    content_type = _CONTENT_TYPE.get(document.parent.name, "application/xml")
    return parse_feed(
        source(document).read_bytes(),
        url=f"https://golden.example/{document.parent.name}/{document.name}",
        headers={"content-type": content_type},
        fetched_at=FETCHED_AT,
    )


def values(parsed: ParsedFeed) -> dict[str, Any]:
    """What the golden file holds: every field of the feed and of each entry (long HTML
    as its first 200 characters plus the content hash, which covers all of it)."""
    return {
        "title": parsed.title,
        "site_url": parsed.site_url,
        "version": parsed.version,
        "ttl_seconds": parsed.ttl_seconds,
        "guid_unreliable": parsed.guid_unreliable,
        "entries": [
            {
                "key": e.key,
                "alt_key": e.alt_key,
                "guid": e.guid,
                "url": e.url,
                "title": e.title,
                "author": e.author,
                "published_at": e.published_at.isoformat(),
                "summary_start": e.summary[:200],
                "content_start": e.content[:200],
                "text_start": e.text[:200],
                "content_hash": e.content_hash,
                "enclosures": [[m.url, m.type, m.length] for m in e.enclosures],
            }
            for e in parsed.entries
        ],
    }


def main() -> int:
    for document in documents():
        data = values(parse(document))
        expected_path(document).write_text(
            json.dumps(data, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
        print(f"{document.relative_to(HERE)}: {len(data['entries'])} entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
