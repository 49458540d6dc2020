"""What a search box asks, as the full-text engines of SQLite (FTS5) and PostgreSQL (tsquery)
take it. Pure: no database here.

The box understands what web search taught readers: every word must match; `"a phrase"`
matches those words in that order; `-word` (or `-"a phrase"`) excludes; `OR` between two
items lets either match. Words match their stems (the indexes stem English: "stories" finds
"story"), and the last bare word also matches as a prefix, so results come while typing.
Anything else is a word: the engines' own syntax (`NEAR`, `*`, `(`, `:`, `&`) never reaches
them, since every word is quoted and holds only letters, digits and `_`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "MAX_WORDS",
    "SEARCH_LANGUAGE",
    "SearchQuery",
    "Term",
    "fts5_query",
    "parse_search",
    "tsquery",
]

# PostgreSQL's text search configuration, of the index (migration 0014's generated column)
# and of the queries alike. SQLite's FTS5 index stems with its porter tokenizer, also English.
SEARCH_LANGUAGE = "english"
# More words than anyone types, and a bound on the query the engines get.
MAX_WORDS = 20

_WORD = re.compile(r"\w+", re.UNICODE)
# A quoted phrase (closed or running to the end), or a run of anything but spaces; either
# may carry a leading `-`.
_TOKEN = re.compile(r'(-?)"([^"]*)"?|(\S+)')


@dataclass(frozen=True, slots=True)
class Term:
    """One word, or the words of a phrase in their order."""

    words: tuple[str, ...]
    prefix: bool = False  # the box's last bare word: it also matches as the start of a word


@dataclass(frozen=True, slots=True)
class SearchQuery:
    # Every group must match; a group matches when any of its terms does (`a OR b`).
    groups: tuple[tuple[Term, ...], ...]
    excluded: tuple[Term, ...] = ()


@dataclass(slots=True)
class _Item:
    term: Term
    negated: bool
    bare: bool  # typed as a plain word, not as a phrase


def _items(text: str) -> list[_Item | None]:
    """The box's items in order; None stands for an `OR`."""
    items: list[_Item | None] = []
    budget = MAX_WORDS
    for match in _TOKEN.finditer(text):
        sign, phrase, plain = match.groups()
        if plain == "OR":
            items.append(None)
            continue
        negated, raw = (bool(sign), phrase) if phrase is not None else (False, plain)
        if plain is not None and plain.startswith("-") and len(plain) > 1:
            negated, raw = True, plain[1:]
        words = tuple(w.lower() for w in _WORD.findall(raw))[:budget]
        if not words:
            continue
        budget -= len(words)
        # "e-mail" or "node.js" typed as one word: its parts, next to each other.
        items.append(_Item(Term(words), negated, bare=phrase is None and len(words) == 1))
        if budget == 0:
            break
    return items


def parse_search(text: str) -> SearchQuery | None:
    """None when the box asks for nothing to find (no word, or only exclusions)."""
    items = _items(text)
    groups: list[list[Term]] = []
    excluded: list[Term] = []
    after_positive = False  # the last item (ORs aside) was one to find
    joining = False  # ... and an OR followed it
    for position, item in enumerate(items):
        if item is None:
            joining = after_positive
            continue
        term = item.term
        typing = position == len(items) - 1 and not text[-1:].isspace()
        if item.bare and not item.negated and typing:
            term = Term(term.words, prefix=True)
        if item.negated:
            excluded.append(term)
        elif joining:
            groups[-1].append(term)
        else:
            groups.append([term])
        after_positive, joining = not item.negated, False
    if not groups:
        return None
    return SearchQuery(tuple(tuple(g) for g in groups), tuple(excluded))


def _fts5_term(term: Term) -> str:
    return '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")


def _fts5_group(group: tuple[Term, ...]) -> str:
    if len(group) == 1:
        return _fts5_term(group[0])
    return "(" + " OR ".join(_fts5_term(t) for t in group) + ")"


def fts5_query(query: SearchQuery) -> str:
    """An FTS5 MATCH expression. A quoted string of several words is an FTS5 phrase; NOT
    is binary there, so exclusions follow the bracketed conjunction."""
    matched = "(" + " AND ".join(_fts5_group(g) for g in query.groups) + ")"
    return " NOT ".join([matched, *(_fts5_term(t) for t in query.excluded)])


def _ts_term(term: Term) -> str:
    quoted = [f"'{w}'" for w in term.words]
    if term.prefix:
        quoted[-1] += ":*"
    return quoted[0] if len(quoted) == 1 else "(" + " <-> ".join(quoted) + ")"


def _ts_group(group: tuple[Term, ...]) -> str:
    if len(group) == 1:
        return _ts_term(group[0])
    return "(" + " | ".join(_ts_term(t) for t in group) + ")"


def tsquery(query: SearchQuery) -> str:
    """The same search for PostgreSQL's `to_tsquery` (which stems each quoted word with the
    index's language configuration). websearch_to_tsquery would read the box's syntax too,
    but has no prefix match: "volc" found nothing while typing "volcano"."""
    parts = [_ts_group(g) for g in query.groups]
    parts += [f"!{_ts_term(t)}" for t in query.excluded]
    return " & ".join(parts)
