"""ids never reused on SQLite: AUTOINCREMENT for category, feed, reader_user, user_session

Without AUTOINCREMENT SQLite hands a new row max(id)+1, so the id of the newest deleted
row comes back: a deleted user's still-open stream or a client's cached id then names a
new user, feed or session. `article` has had it from the start (its ids are the stream's
event ids). PostgreSQL's sequences never go back: nothing to do there.

The tables are not rebuilt: dropping `feed` or `reader_user` with foreign keys on (every
connection turns them on, and the migration runs in a transaction, where that cannot be
turned off) would cascade into every article, mark and session. AUTOINCREMENT changes no
stored byte, only the table's declaration and the sqlite_sequence bookkeeping, so the
declaration is edited in place as SQLite's ALTER TABLE documentation describes for such
changes (writable_schema, then a new schema_version so every connection re-reads it). Ids
already freed before this migration cannot be known: the next id is max(id)+1 once more,
and never lower afterwards.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 01:20:00
"""

import re
from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("category", "feed", "reader_user", "user_session")
_PLAIN = re.compile(r"^(\s*)id INTEGER NOT NULL,", re.M)
_AUTO = re.compile(r"^(\s*)id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", re.M)


def _with_autoincrement(table: str, sql: str) -> str:
    if _AUTO.search(sql):
        return sql
    # Named by our naming convention, or unnamed when a batch operation rebuilt the table.
    pk = re.compile(rf"(?:CONSTRAINT pk_{table} )?PRIMARY KEY \(id\),\s*")
    if not (_PLAIN.search(sql) and pk.search(sql)):
        raise RuntimeError(f"unexpected declaration of table {table}: {sql}")
    sql = pk.sub("", sql, count=1)
    return _PLAIN.sub(r"\1id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", sql, count=1)


def _without_autoincrement(table: str, sql: str) -> str:
    if not _AUTO.search(sql):
        return sql
    sql = _AUTO.sub(r"\1id INTEGER NOT NULL,", sql, count=1)
    first = sql.index("CONSTRAINT ")
    return sql[:first] + f"CONSTRAINT pk_{table} PRIMARY KEY (id), \n\t" + sql[first:]


def _redeclare(edit: object) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return
    assert callable(edit)
    find = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?"
    declarations = {t: bind.exec_driver_sql(find, (t,)).scalar_one() for t in TABLES}
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar_one()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        for table, sql in declarations.items():
            bind.exec_driver_sql(
                "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?",
                (edit(table, sql), table),
            )
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")


def upgrade() -> None:
    _redeclare(_with_autoincrement)


def downgrade() -> None:
    _redeclare(_without_autoincrement)
    if op.get_bind().dialect.name == "sqlite":
        names = ", ".join(f"'{t}'" for t in TABLES)
        op.execute(f"DELETE FROM sqlite_sequence WHERE name IN ({names})")
