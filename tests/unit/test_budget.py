"""The sanitizing budget (pure)."""

from __future__ import annotations

import time

import nh3
import pytest

from feedhub.ingest.budget import Budget, cap_text, nesting_depth, within_budget


def test_nesting_depth_counts_elements_not_flat_or_void_ones() -> None:
    assert nesting_depth("<div><p>a<p>b<br><img src=x></div>") == 1
    assert nesting_depth("<ul><li><ul><li>x</li></ul></li></ul>") == 2
    assert nesting_depth("<div>" * 500, stop_at=10) == 11  # stops early
    assert nesting_depth("plain text") == 0


def test_deep_markup_is_reduced_to_escaped_text_fast() -> None:
    hostile = "<div>" * 100_000 + "<b>x &amp; <i>y</i></b>" + "</div>" * 100_000
    # CPU of this thread, not the wall clock: a loaded machine's pauses are not ours (the
    # unbounded walk and nh3's own pass over 100,000 levels took tens of seconds).
    start = time.thread_time()
    bounded = within_budget(hostile, Budget())
    assert time.thread_time() - start < 1.0
    assert bounded == "x &amp; y"
    start = time.thread_time()
    nh3.clean(bounded or "")
    assert time.thread_time() - start < 0.1


def test_ordinary_markup_passes_unchanged_and_long_markup_is_cut() -> None:
    article = "<p>Hello <a href='http://e.com'>there</a></p>" * 10
    assert within_budget(article, Budget()) == article
    assert within_budget(None, Budget()) is None
    long = "<p>" + "word " * 1000 + "</p>"
    assert within_budget(long, Budget(max_html=100)) == long[:100]
    deep_ok = "<div>" * 100 + "x" + "</div>" * 100
    assert within_budget(deep_ok, Budget()) == deep_ok
    assert within_budget(deep_ok, Budget(max_depth=99)) == "x"


def test_cap_text() -> None:
    assert cap_text("short", 10) == ("short", False)
    text, cut = cap_text("one two three four five", 12)
    assert cut and len(text) <= 12 and text.endswith("…")


def test_markup_with_fewer_tags_than_the_depth_is_not_scanned(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from feedhub.ingest import budget

    def scan(markup: str, stop_at: int | None = None) -> int:
        raise AssertionError("scanned")

    monkeypatch.setattr(budget, "nesting_depth", scan)
    shallow = "<p>para <b>bold</b> and <i>it</i> &lt;3</p>" + "text " * 1000
    assert within_budget(shallow, Budget(max_depth=5)) == shallow
    with pytest.raises(AssertionError, match="scanned"):  # enough tags: it is scanned
        within_budget("<div>" * 6, Budget(max_depth=5))


@pytest.mark.parametrize(
    "markup",
    [
        "<div>" * 6, "<div>" * 5, "<div>" * 4 + "</div>" + "<div>" * 2, "<a><b><c><d><e><f>x",
        "<br>" * 50, "< div>" * 9, "<!-- c --><div><div><div><div><div><div>", "a < b < c " * 9,
    ],
)  # fmt: skip
def test_the_shortcut_agrees_with_the_scan(markup: str) -> None:
    bounded = within_budget(markup, Budget(max_depth=5))
    deep = nesting_depth(markup, stop_at=5) > 5
    assert (bounded != markup) == deep
