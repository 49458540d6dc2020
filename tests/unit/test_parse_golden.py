"""Golden files: each document beside the values the parser must produce from it.

The RSS, Atom and RDF documents are files of tests/corpus (tests/unit/golden/SOURCES.tsv
names each one's corpus file, origin and licence); the JSON Feed documents are ours (the
corpus has none) and live in tests/unit/golden/jsonfeed.
A change in any parsed field fails here; when the change is meant, regenerate with
`python -m tests.unit.golden.regenerate` and read the diff.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
