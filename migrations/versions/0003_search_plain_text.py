"""index plain text, not HTML: article.search_text feeds full-text search

Migration 0002 indexed the sanitized HTML of summary and content, so markup and URLs
matched searches ("href", "https"). Articles now carry `search_text` (their words without
markup, computed when stored); the FTS5 table (SQLite) and the tsvector (PostgreSQL) are
rebuilt over title + search_text. Existing rows are backfilled here.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 03:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from feedhub.ingest.normalize import plain_text

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS article_fts_update",
    "DROP TRIGGER IF EXISTS article_fts_delete",
    "DROP TRIGGER IF EXISTS article_fts_insert",
    "DROP TABLE IF EXISTS article_fts",
]


def _sqlite_create(columns: tuple[str, ...]) -> list[str]:
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    return [
        f"""CREATE VIRTUAL TABLE article_fts USING fts5(
            {names}, content='article', content_rowid='id',
            tokenize='unicode61 remove_diacritics 2')""",
        f"""CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN
            INSERT INTO article_fts(rowid, {names}) VALUES (new.id, {new});
        END""",
        f"""CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN
            INSERT INTO article_fts(article_fts, rowid, {names}) VALUES ('delete', old.id, {old});
        END""",
        f"""CREATE TRIGGER article_fts_update AFTER UPDATE ON article BEGIN
            INSERT INTO article_fts(article_fts, rowid, {names}) VALUES ('delete', old.id, {old});
            INSERT INTO article_fts(rowid, {names}) VALUES (new.id, {new});
        END""",
        "INSERT INTO article_fts(article_fts) VALUES ('rebuild')",
    ]


def _postgres_vector(columns: dict[str, str]) -> list[str]:
    parts = " ||\n        ".join(
        f"setweight(to_tsvector('simple', coalesce({c}, '')), '{w}')" for c, w in columns.items()
    )
    return [
        "DROP INDEX IF EXISTS ix_article_search_vector",
        "ALTER TABLE article DROP COLUMN IF EXISTS search_vector",
        f"ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({parts}) STORED",
        "CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)",
    ]


def _backfill() -> None:
    bind = op.get_bind()
    article = sa.table(
        "article", sa.column("id"), sa.column("summary"), sa.column("content"),
        sa.column("search_text"),
    )  # fmt: skip
    last = 0
    while True:
        rows = bind.execute(
            sa.select(article.c.id, article.c.summary, article.c.content)
            .where(article.c.id > last)
            .order_by(article.c.id)
            .limit(500)
        ).all()
        if not rows:
            return
        bind.execute(
            article.update()
            .where(article.c.id == sa.bindparam("b_id"))
            .values(search_text=sa.bindparam("b_text")),
            [{"b_id": r.id, "b_text": plain_text(r.summary or "", r.content or "")} for r in rows],
        )
        last = rows[-1].id


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DROP:
            op.execute(statement)
    with op.batch_alter_table("article") as batch:
        batch.add_column(sa.Column("search_text", sa.Text(), server_default="", nullable=False))
    _backfill()
    if dialect == "sqlite":
        for statement in _sqlite_create(("title", "search_text")):
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in _postgres_vector({"title": "A", "search_text": "B"}):
            op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DROP:
            op.execute(statement)
    elif dialect == "postgresql":
        for statement in _postgres_vector({"title": "A", "summary": "B", "content": "C"}):
            op.execute(statement)
    with op.batch_alter_table("article") as batch:
        batch.drop_column("search_text")
    if dialect == "sqlite":
        for statement in _sqlite_create(("title", "summary", "content")):
            op.execute(statement)
