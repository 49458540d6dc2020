"""Pages of a Google Reader stream: the stream's articles with the protocol's filters, cut at
`n` items and at a byte budget, with the continuation where the next page starts."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from litestar.datastructures import MultiDict
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.greader import protocol, service
from feedhub.greader.http import cursor_of as _cursor, parse_param as _int, stream_of as _stream
from feedhub.readers import state
from feedhub.readers.accounts import UserInfo
from feedhub.readers.queries import Item, Scope, streamed_items

__all__ = ["MAX_ITEMS", "ROWS_AT_ONCE", "stream_page", "stream_scope"]

MAX_ITEMS = 1000
_TICK = timedelta(microseconds=1)  # `ot` is inclusive, `nt` exclusive
# Articles read from the database at once for `stream/items/contents`.
ROWS_AT_ONCE = 10
# Rows a page's statement is read by while it fills up to its byte budget: what
# SQLAlchemy's asyncpg cursor reads ahead anyway. On SQLite every read is a hop to the
# driver's thread; at ten rows, n=100 took 13 of them.
PAGE_ROWS_AT_ONCE = 50


async def stream_scope(
    session: AsyncSession, stream: protocol.Stream, params: MultiDict[str]
) -> Scope | None:
    """The articles of a stream with `ot`, `nt`, `xt` and `it` applied (None: nothing)."""
    arrived_from = _int(params, "ot", protocol.parse_seconds)
    arrived_before = _int(params, "nt", protocol.parse_seconds)
    scope = await service.scope_for(session, stream)
    if scope is None:
        return None
    scope = service.apply_filters(scope, params.getall("xt", []), params.getall("it", []))
    # On arrival, not publication: an article published two days ago and stored now is
    # new to an app that synced five seconds ago (NetNewsWire asks `ot=<last sync>`).
    if arrived_from is not None:
        after = await state.bound_for_time(session, arrived_from - _TICK)
        scope = replace(scope, after_id=after)
    if arrived_before is not None:
        upto = await state.bound_for_time(session, arrived_before - _TICK)
        scope = replace(scope, upto_id=upto)
    return scope


async def stream_page(
    session: AsyncSession, user: UserInfo, stream_raw: str | None, params: MultiDict[str],
    *, measure: Callable[[Item], int], budget: int,
) -> tuple[protocol.Stream, list[Item], str | None]:  # fmt: skip
    """One page of a stream, with `n`, `c`, `r=o` and the filters of `_scope` applied, of at
    most `budget` bytes as `measure` counts an item (but at least one item): one article
    may hold a megabyte, and `n=1000` of those made a 150 MB answer. One statement, read a
    few rows at a time, so what is not sent is not read either (re-running the query for
    every ten rows made n=100 eleven statements: 120 ms); the continuation is the last
    item sent, so the next page starts right after it (ids order the stream: nothing lost
    or twice)."""
    stream = _stream(stream_raw)
    limit = _int(params, "n", protocol.parse_count, default=20, maximum=MAX_ITEMS)
    scope = await stream_scope(session, stream, params)
    if scope is None:
        return stream, [], None
    cursor, oldest_first = _cursor(params), params.get("r") == "o"
    kept: list[Item] = []
    total = 0
    async with streamed_items(
        session, user.id, scope, cursor=cursor, oldest_first=oldest_first, limit=limit + 1,
        chunk=PAGE_ROWS_AT_ONCE,
    ) as chunks:  # fmt: skip
        async for rows in chunks:
            for item in rows:
                if len(kept) == limit:  # a row past the page: there is more
                    return stream, kept, str(kept[-1].id)
                size = measure(item)
                if kept and total + size > budget:
                    return stream, kept, str(kept[-1].id)
                kept.append(item)
                total += size
    return stream, kept, None
