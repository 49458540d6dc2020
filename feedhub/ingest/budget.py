"""The sanitizing budget and the size caps of one entry (pure).

nh3 (html5ever) is roughly quadratic in nesting depth: one item of 100,000 nested `<div>`
(2.3 MB) took 43 s to sanitize and held a parser worker for all that time. And nothing
bounded an entry's size: nine 9 MB entries made one anonymous `GET /api/articles?limit=10`
answer 81 MB. So, before sanitizing, an entry's HTML is cut to `max_html` characters and,
if its tags nest deeper than `max_depth`, it is reduced to its text (escaped); after
sanitizing, the stored summary and content are cut to their caps (and sanitized again,
which closes what the cut left open).
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TypeVar

import nh3

from feedhub.core.types import EntryData

__all__ = [
    "DEFAULT_BUDGET",
    "DEFAULT_MAX_ENTRIES",
    "Budget",
    "bounded_entries",
    "bound_entry",
    "cap_text",
    "nesting_depth",
    "newest",
    "within_budget",
]

T = TypeVar("T")

# Elements that never nest: void ones, and those whose end tag is optional (a browser
# closes `<p>` at the next `<p>`), so that `<p>a<p>b` is not counted as nesting.
_FLAT = frozenset(
    {
        "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param",
        "source", "track", "wbr", "p", "li", "dt", "dd", "tr", "td", "th", "thead", "tbody",
        "tfoot", "option", "optgroup", "rb", "rt", "rp", "caption", "colgroup",
    }
)  # fmt: skip
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9:-]*)[^>]*?(/?)>")
_ANY_TAG = re.compile(r"<[^>]*>?")


# Entries kept from one document (FEEDHUB_MAX_ENTRIES_PER_FEED).
DEFAULT_MAX_ENTRIES = 1000


@dataclass(frozen=True, slots=True)
class Budget:
    # Raw HTML of one field, in characters, before it reaches the sanitizer.
    max_html: int = 1_000_000
    # Deeper markup is kept as text only. Real articles nest a dozen levels, rarely 30.
    max_depth: int = 100
    # Stored sizes, in characters: the summary is what anonymous list answers carry.
    max_summary: int = 64 * 1024
    max_content: int = 1_000_000
    max_title: int = 1000


DEFAULT_BUDGET = Budget()


def nesting_depth(markup: str, stop_at: int | None = None) -> int:
    """Deepest element nesting of `markup`, counted on its tags (O(n), no parse tree).

    Unclosed elements count as open to the end, which overestimates badly formed markup:
    acceptable for a budget. Stops early once `stop_at` is passed.
    """
    depth = deepest = 0
    # findall's tuples, and lower() only for a name not found as it is: a long article has
    # thousands of tags, and this loop was 6 % of an ingest's CPU.
    for closing, name, self_closing in _TAG.findall(markup):
        if self_closing or name in _FLAT or name.lower() in _FLAT:
            continue
        if closing:
            if depth:
                depth -= 1
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if stop_at is not None and deepest > stop_at:
                break
    return deepest


def _may_nest_deeper(markup: str, depth: int) -> bool:
    """False when `markup` has too few tags to nest deeper than `depth`: every element
    opens with a "<" that is not "</", so their difference bounds the depth. Two C-speed
    counts spare the tag scan (a fifth of the work after feedparser) on almost every
    real entry."""
    return markup.count("<") - markup.count("</") > depth


def within_budget(markup: str | None, budget: Budget) -> str | None:
    """Raw HTML as the sanitizer may see it: cut to `max_html`, flattened to escaped text
    when it nests deeper than `max_depth`."""
    if not markup:
        return markup
    if len(markup) > budget.max_html:
        markup = markup[: budget.max_html]
    if _may_nest_deeper(markup, budget.max_depth) and (
        nesting_depth(markup, stop_at=budget.max_depth) > budget.max_depth
    ):
        text = html.unescape(_ANY_TAG.sub(" ", markup))
        return html.escape(" ".join(text.split()))
    return markup


def cap_text(text: str, limit: int) -> tuple[str, bool]:
    """Plain text cut to `limit` characters at a word boundary when one is near, with an
    ellipsis; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[: max(0, limit - 1)]
    space = cut.rfind(" ", max(0, len(cut) - 40))
    if space > 0:
        cut = cut[:space]
    return cut.rstrip() + "…", True


def _cap_html(markup: str, limit: int) -> tuple[str, bool]:
    if len(markup) <= limit:
        return markup, False
    # The cut may leave a tag open or half-written: sanitizing again closes or drops it
    # (the input is already sanitized, so nothing new can be let in).
    return nh3.clean(markup[:limit]), True


def bound_entry(entry: EntryData, budget: Budget) -> tuple[EntryData, bool]:
    """The entry with title, summary, content and search text within their caps, and
    whether anything was cut."""
    title, cut_title = cap_text(entry.title, budget.max_title)
    summary, cut_summary = _cap_html(entry.summary, budget.max_summary)
    content, cut_content = _cap_html(entry.content, budget.max_content)
    text, cut_text = cap_text(entry.text, budget.max_content)
    author, cut_author = cap_text(entry.author, 1000) if entry.author else (entry.author, False)
    if not (cut_title or cut_summary or cut_content or cut_text or cut_author):
        return entry, False
    bounded = replace(
        entry, title=title, summary=summary, content=content, text=text, author=author
    )
    return bounded, True


def bounded_entries(entries: Iterable[EntryData], budget: Budget) -> tuple[list[EntryData], int]:
    """Every entry within its caps, and how many were cut."""
    result: list[EntryData] = []
    cut = 0
    for entry in entries:
        bounded, was_cut = bound_entry(entry, budget)
        result.append(bounded)
        cut += was_cut
    return result, cut


def newest(items: Sequence[T], dates: Sequence[datetime | None], limit: int) -> list[T]:
    """At most `limit` of `items`: the newest by date when every item has one, else the
    first ones in document order (feeds list their newest entries first)."""
    if len(items) <= limit:
        return list(items)
    if all(date is not None for date in dates):
        order = sorted(range(len(items)), key=lambda i: dates[i], reverse=True)  # type: ignore[arg-type,return-value]
        keep = sorted(order[:limit])  # in document order again
        return [items[i] for i in keep]
    return list(items[:limit])
