"""The search box's syntax, as FTS5 and tsquery expressions: table-driven."""

from __future__ import annotations

import pytest

from feedhub.catalog.search_query import MAX_WORDS, fts5_query, parse_search, tsquery

CASES = [
    # box, FTS5 MATCH, to_tsquery
    ("volc", '("volc"*)', "'volc':*"),
    ("Volcano erupts", '("volcano" AND "erupts"*)', "'volcano' & 'erupts':*"),
    ("stories -war", '("stories") NOT "war"', "'stories' & !'war'"),
    ("war stories ", '("war" AND "stories")', "'war' & 'stories'"),  # a finished word
    ('"lava flows" hot', '("lava flows" AND "hot"*)', "('lava' <-> 'flows') & 'hot':*"),
    ('hot "lava flows', '("hot" AND "lava flows")', "'hot' & ('lava' <-> 'flows')"),
    ('-"bad news" good', '("good"*) NOT "bad news"', "'good':* & !('bad' <-> 'news')"),
    ("cats OR dogs pets", '(("cats" OR "dogs") AND "pets"*)', "('cats' | 'dogs') & 'pets':*"),
    ("a OR b OR c", '(("a" OR "b" OR "c"*))', "('a' | 'b' | 'c':*)"),
    ("a OR -b c", '("a" AND "c"*) NOT "b"', "'a' & 'c':* & !'b'"),
    ("-b OR c", '("c"*) NOT "b"', "'c':* & !'b'"),
    ("cats or dogs", '("cats" AND "or" AND "dogs"*)', "'cats' & 'or' & 'dogs':*"),
    ("e-mail client", '("e mail" AND "client"*)', "('e' <-> 'mail') & 'client':*"),
    # The engines' own syntax is words, or nothing.
    ('"AND OR ( * NEAR', '("and or near")', "('and' <-> 'or' <-> 'near')"),
    ("a:* & b' | !c", '("a" AND "b" AND "c"*)', "'a' & 'b' & 'c':*"),
    ("x OR", '("x")', "'x'"),
    ("OR x", '("x"*)', "'x':*"),
]


@pytest.mark.parametrize(("box", "fts5", "ts"), CASES)
def test_the_box_becomes_both_engines_queries(box: str, fts5: str, ts: str) -> None:
    asked = parse_search(box)
    assert asked is not None
    assert fts5_query(asked) == fts5
    assert tsquery(asked) == ts


@pytest.mark.parametrize("box", ["", "   ", "OR", "-war", '-"bad news"', "* ( ) :", '""', "-"])
def test_nothing_to_find_is_none(box: str) -> None:
    assert parse_search(box) is None


def test_words_are_bounded() -> None:
    asked = parse_search(" ".join(f"w{i}" for i in range(500)) + ' "a b c d"')
    assert asked is not None
    assert sum(len(t.words) for g in asked.groups for t in g) == MAX_WORDS
