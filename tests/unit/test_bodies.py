"""The checks a request body meets before any parser: pure, bytes in, a refusal out."""

from __future__ import annotations

import pytest

from feedhub.api.bodies import MAX_JSON_DEPTH, BodyLimits, form_fields, json_too_deep

FORM = b"application/x-www-form-urlencoded"


@pytest.mark.parametrize(
    ("body", "too_deep"),
    [
        (b"", False),
        (b'{"name": "x"}', False),
        (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, False),
        (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), True),
        (b"  \n[" * 1 + b"[" * 1000, True),  # unbalanced is still too deep
        (b'{"a": "' + b"[" * 1000 + b'"}', False),  # brackets inside a string
        (b'{"a": "\\"' + b"[" * 1000 + b'"}', False),  # after an escaped quote
        (b"[" + b"[]," * 1000 + b"[]]", False),  # many, but shallow
        (b"name=" + b"[" * 1000, False),  # no JSON: the decoder refuses it
    ],
)
def test_json_depth(body: bytes, too_deep: bool) -> None:
    assert json_too_deep(body, MAX_JSON_DEPTH) is too_deep


@pytest.mark.parametrize(
    ("encoded", "count"), [(b"", 0), (b"a=1", 1), (b"a=1&i=2&i=3", 3), (b"&&", 3)]
)
def test_form_fields(encoded: bytes, count: int) -> None:
    assert form_fields(encoded) == count


def test_limits_per_route() -> None:
    limits = BodyLimits(default=100_000, sign_in=2000, imports=9_000_000, form_fields=10)
    assert limits.for_path("/api/session") == 2000
    assert limits.for_path("/accounts/ClientLogin") == 2000
    assert limits.for_path("/api/greader.php/accounts/ClientLogin") == 2000
    assert limits.for_path("/api/admin/opml") == 9_000_000
    assert limits.for_path("/api/admin/opml/jobs/") == 9_000_000
    assert limits.for_path("/reader/api/0/edit-tag") == 100_000


def test_fields_of_query_and_form_count_together() -> None:
    limits = BodyLimits(form_fields=4)
    assert limits.refusal(FORM, b"a=1&b=2", b"c=3&d=4") is None
    assert "too many parameters" in str(limits.refusal(FORM, b"a=1&b=2", b"c=3&d=4&e=5"))
    # A JSON body's commas and ampersands are no fields.
    assert limits.refusal(b"application/json", b"", b'{"a": "&&&&&&"}') is None
    assert "nested too deeply" in str(limits.refusal(b"application/json", b"", b"[" * 100))
