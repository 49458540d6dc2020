"""Where the poller parses a fetched document: small ones in a thread of this process, big
ones in the parser pool, each with the entry caps of the settings."""

from __future__ import annotations

import asyncio
from functools import partial

from feedhub.core.config import Settings
from feedhub.core.errors import ParseError
from feedhub.core.types import FetchResult, ParsedFeed
from feedhub.core.urls import redact_url
from feedhub.ingest.budget import Budget
from feedhub.ingest.parse import parse_feed
from feedhub.ingest.parsepool import ParserPool

__all__ = ["parse_fetched"]


async def parse_fetched(
    result: FetchResult, settings: Settings, pool: ParserPool | None, *, guid_unreliable: bool
) -> ParsedFeed:
    if result.body is None:
        raise ParseError("nothing to parse: the server sent no body")
    call = partial(
        parse_feed,
        result.body,
        url=result.final_url,
        headers=result.headers,
        fetched_at=result.fetched_at,
        guid_unreliable=guid_unreliable,
        budget=Budget(
            max_html=settings.max_entry_chars,
            max_content=settings.max_entry_chars,
            max_summary=settings.max_summary_chars,
        ),
        max_entries=settings.max_entries_per_feed,
    )
    if pool is None or len(result.body) <= settings.inline_parse_bytes:
        # A small document costs milliseconds: parsed here (in a thread), it never
        # queues behind big ones that hold every worker.
        return await asyncio.to_thread(call)
    # A deadline per document; a worker that overruns it is replaced.
    return await pool.run(call, what=redact_url(result.final_url))
