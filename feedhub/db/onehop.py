"""One trip to aiosqlite's thread per SQLite statement, instead of four.

SQLAlchemy's aiosqlite adapter runs each statement as four calls on the driver's thread:
make a cursor, execute, fetch all the rows, close the cursor. Each call is a hand-over to
that thread and a wake-up of the event loop after it: 60 µs for an empty call on the
2-core test machine under load, 170 µs a call for the four of one statement (each woken
thread waits for a CPU, then for the GIL), and a signed-in read of two statements made
eight of them. Here the four run as one function on the driver's thread, and the adapter
is handed the rows, the description, the row count and the last row id it would have read
from the cursor.

A server-side cursor (`yield_per`, `stream_results`) still holds only part of its rows at a
time, so a caller that stops early (a page full to its byte budget) has read little more
than it used; but each call reads batches of PREFETCH rows until the rows it read hold
READ_AHEAD_BYTES of text, or until the end, where it closes the cursor in the same call.
The statement runs with its first rows. A Google Reader page of 100 ordinary items went
from seven calls (cursor, execute, five fetches, close) to one; a page of megabyte
articles is still read a batch at a time.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.connectors.asyncio import AsyncIODBAPICursor
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_ss_cursor,
)
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util.concurrency import await_

__all__ = ["PREFETCH", "READ_AHEAD_BYTES", "one_hop_statements"]

# What a server-side cursor reads in one call on the driver's thread: batches of PREFETCH
# rows (a Google Reader page's batch, feedhub.greader.paging.PAGE_ROWS_AT_ONCE), as long as
# the rows read hold less than READ_AHEAD_BYTES of text and bytes.
PREFETCH = 50
READ_AHEAD_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class _Done:
    """What the adapter reads from a cursor after a statement, read on the driver's thread."""

    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


def _execute(cursor: sqlite3.Cursor, operation: str, parameters: Any) -> None:
    if parameters is None:
        cursor.execute(operation)
    else:
        cursor.execute(operation, parameters)


def _run(conn: sqlite3.Connection, operation: str, parameters: Any) -> _Done:
    cursor = conn.cursor()
    try:
        _execute(cursor, operation, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return _Done(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


def _run_many(conn: sqlite3.Connection, operation: str, seq_of_parameters: Any) -> _Done:
    cursor = conn.cursor()
    try:
        cursor.executemany(operation, seq_of_parameters)
        return _Done(cursor.description, cursor.rowcount, cursor.lastrowid, [])
    finally:
        cursor.close()


def _text_bytes(rows: list[Any]) -> int:
    return sum([len(v) for row in rows for v in row if v.__class__ is str or v.__class__ is bytes])


def _rows(cursor: sqlite3.Cursor, wanted: int | None) -> tuple[list[Any], bool]:
    """`wanted` rows (None: all that are left), then whole batches while the rows of this
    call hold less than READ_AHEAD_BYTES; and whether the cursor has no more."""
    if wanted is None:
        return cursor.fetchall(), True
    rows = cursor.fetchmany(wanted)
    done = len(rows) < wanted
    size = _text_bytes(rows)
    while not done and size < READ_AHEAD_BYTES:
        batch = cursor.fetchmany(PREFETCH)
        rows.extend(batch)
        size += _text_bytes(batch)
        done = len(batch) < PREFETCH
    return rows, done


def _open(
    conn: sqlite3.Connection, operation: str, parameters: Any
) -> tuple[_Done, sqlite3.Cursor | None]:
    """The statement and its first rows (`_rows`); the cursor if more may follow."""
    cursor = conn.cursor()
    try:
        _execute(cursor, operation, parameters)
        rows: list[Any] = []
        done = cursor.description is None
        if not done:
            rows, done = _rows(cursor, PREFETCH)
        outcome = _Done(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    except BaseException:
        cursor.close()
        raise
    if done:
        cursor.close()
        return outcome, None
    return outcome, cursor


def _more(cursor: sqlite3.Cursor, wanted: int | None) -> tuple[list[Any], bool]:
    """More rows (`_rows`), and whether the cursor is done (then closed)."""
    rows, done = _rows(cursor, wanted)
    if done:
        cursor.close()
    return rows, done


_NOTHING = _Done(None, -1, None, [])


class _Outcome:
    """What both cursors answer from `_cursor`, the last statement's outcome (`_Done`)."""

    __slots__ = ()
    _cursor: AsyncIODBAPICursor  # a `_Done`, typed as the adapter's base declares it

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> int:
        return self._cursor.lastrowid


class _OneHopCursor(_Outcome, AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement is one call on the driver's thread; the cursor of
    the adapter's `_cursor` slot is only the last statement's outcome (`_Done`)."""

    __slots__ = ("_arraysize",)
    # Nothing to close on the driver's thread: the sqlite3 cursor closed with its statement.
    _awaitable_cursor_close = False

    def _make_new_cursor(self, connection: Any) -> Any:
        self._arraysize = 1  # sqlite3's default: what `fetchmany()` takes without a size
        return _NOTHING

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            done = await driver._execute(_run, driver._conn, operation, parameters)
        self._cursor = done
        self._rows = deque(done.rows)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            done = await driver._execute(_run_many, driver._conn, operation, seq_of_parameters)
        self._cursor = done
        self._rows = deque()
        return None


class _OneHopServerSideCursor(_Outcome, AsyncAdapt_aiosqlite_ss_cursor):
    """A server-side cursor that runs its statement with the first rows in one call, and
    reads the rest a batch a call (`_cursor` holds the statement's outcome, `_live` the
    sqlite3 cursor while rows may remain)."""

    __slots__ = ("_arraysize", "_live", "_buffer")

    def _make_new_cursor(self, connection: Any) -> Any:
        self._arraysize = 1
        self._live: sqlite3.Cursor | None = None
        self._buffer: deque[Any] = deque()
        return _NOTHING

    @property
    def arraysize(self) -> int:
        return self._arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._arraysize = value

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            done, live = await driver._execute(_open, driver._conn, operation, parameters)
        self._cursor, self._live, self._buffer = done, live, deque(done.rows)
        return None

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        driver = self._connection
        async with self._adapt_connection._execute_mutex:
            done = await driver._execute(_run_many, driver._conn, operation, seq_of_parameters)
        self._cursor, self._live, self._buffer = done, None, deque()
        return None

    def _read(self, size: int | None) -> list[Any]:
        """Up to `size` rows (None: all that are left): the buffer first, then the cursor."""
        buffer = self._buffer
        if size is None:
            rows = list(buffer)
            buffer.clear()
        else:
            rows = [buffer.popleft() for _ in range(min(size, len(buffer)))]
        wanted = None if size is None else size - len(rows)
        if self._live is not None and (wanted is None or wanted > 0):
            more, finished = await_(self._connection._execute(_more, self._live, wanted))
            rows.extend(more)
            if finished:
                self._live = None
        return rows

    def fetchone(self) -> Any:
        rows = self._read(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> Any:
        return self._read(self._arraysize if size is None else size)

    def fetchall(self) -> Any:
        return self._read(None)

    def __iter__(self) -> Iterator[Any]:
        while rows := self._read(max(self._arraysize, PREFETCH)):
            yield from rows

    def close(self) -> None:
        self._buffer.clear()
        if self._live is not None:
            live, self._live = self._live, None
            await_(self._connection._execute(live.close))


class _OneHopConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = _OneHopCursor
    _ss_cursor_cls = _OneHopServerSideCursor


def one_hop_statements(engine: AsyncEngine) -> None:
    """Every new connection of this aiosqlite engine runs each statement in one call on
    the driver's thread (a server-side one with its first rows)."""
    dialect = engine.sync_engine.dialect
    connect = dialect.connect

    def one_hop_connect(*cargs: Any, **cparams: Any) -> Any:
        adapted = connect(*cargs, **cparams)
        return _OneHopConnection(adapted.dbapi, adapted._connection)

    dialect.connect = one_hop_connect  # type: ignore[method-assign]
