"""Where the poller parses a fetched document, each with the entry caps of the settings.

- In a thread of this process: a small document, whichever reader it needs (milliseconds;
  it never queues behind big ones), and any document the fast path reads (lxml, bounded
  by the document cap, the entry caps and the sanitizing budget), at most `FAST_SLOTS`
  big ones at a time.
- In the parser pool, under a deadline per document: a big document the fast path
  declines, for feedparser (pure Python: a hostile document can hold it for minutes).

Reading most documents here costs no process, no pickling of the document and of its
entries, and no worker kept up for them (benchmarks/README.md, "CPU and memory per
article").
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TypeVar

from feedhub.core.config import Settings
from feedhub.core.errors import ParseError
from feedhub.core.types import FetchResult, ParsedFeed
from feedhub.core.urls import redact_url
from feedhub.ingest.budget import Budget
from feedhub.ingest.parse import parse_feed, parse_feed_fast
from feedhub.ingest.parsepool import ParserPool

__all__ = ["FAST_SLOTS", "Parsing", "parse_fetched"]

T = TypeVar("T")

FAST_SLOTS = 2
"""Big documents read by the fast path at once in this process: each holds its lxml tree
(a few times the document's size) and a core."""


class Parsing:
    """The poller's parsers: the worker pool (or None: everything in threads) and the
    slots of big documents read in this process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        workers = settings.parse_workers
        self.pool = (
            ParserPool(workers, settings.parse_deadline_seconds, settings.parse_idle_seconds)
            if workers > 0
            else None
        )
        self.slots = asyncio.Semaphore(FAST_SLOTS)
        # Documents parsed since the poller last released free memory.
        self.parsed = 0

    def shutdown(self) -> None:
        if self.pool is not None:
            self.pool.shutdown()


async def parse_fetched(
    result: FetchResult, parsing: Parsing, *, guid_unreliable: bool
) -> ParsedFeed:
    settings = parsing.settings
    body = result.body
    parsing.parsed += 1
    if body is None:
        raise ParseError("nothing to parse: the server sent no body")
    budget = Budget(
        max_html=settings.max_entry_chars,
        max_content=settings.max_entry_chars,
        max_summary=settings.max_summary_chars,
    )

    def call(reader: Callable[..., T], **options: bool) -> Callable[[], T]:
        # A partial of a module-level function: picklable, for the worker.
        return partial(
            reader, body, url=result.final_url, headers=result.headers,
            fetched_at=result.fetched_at, guid_unreliable=guid_unreliable, budget=budget,
            max_entries=settings.max_entries_per_feed, **options,
        )  # fmt: skip

    if parsing.pool is None or len(body) <= settings.inline_parse_bytes:
        return await asyncio.to_thread(call(parse_feed))
    async with parsing.slots:
        parsed = await asyncio.to_thread(call(parse_feed_fast))
    if parsed is not None:
        return parsed
    # feedparser, under a deadline per document; a worker that overruns it is replaced.
    # The fast path has declined already: the worker does not try it again.
    return await parsing.pool.run(call(parse_feed, fast=False), what=redact_url(result.final_url))
