"""nh3 checks href and src schemes but kept `srcset="javascript:…"`."""

from __future__ import annotations

import pytest

from feedhub.ingest.sanitize import sanitize_html


@pytest.mark.parametrize(
    ("srcset", "kept"),
    [
        ("javascript:alert(1) 1x, http://e.com/b.png 2x", "http://e.com/b.png 2x"),
        ("a.png 1x,javascript:alert(1) 2x", "a.png 1x"),
        ("JaVaScRiPt:x 3x", None),
        ("data:image/png;base64,AAAA 2x", None),
        (
            "http://e.com/a.png 1x, https://e.com/b.png 2x",
            "http://e.com/a.png 1x, https://e.com/b.png 2x",
        ),
        (" , ,javascript:a,b.png", None),
    ],
)
def test_srcset_keeps_only_http_and_relative_candidates(srcset: str, kept: str | None) -> None:
    for tag in ("img", "source"):
        cleaned = sanitize_html(f'<picture><{tag} srcset="{srcset}"></picture>')
        assert "javascript" not in cleaned.lower() and "data:" not in cleaned
        if kept is None:
            assert "srcset" not in cleaned
        else:
            assert f'srcset="{kept}"' in cleaned
