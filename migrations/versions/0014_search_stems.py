"""search matches word stems: "stories" finds "story"

SQLite: the FTS5 table is rebuilt with the porter tokenizer (over unicode61, diacritics
removed as before). PostgreSQL: the generated tsvector uses the 'english' configuration
instead of 'simple' (feedhub.catalog.search_query.SEARCH_LANGUAGE, which the queries use
too). Both are rebuilt from the stored rows; downgrade restores revision 0003's forms.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 03:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS article_fts_update",
    "DROP TRIGGER IF EXISTS article_fts_delete",
    "DROP TRIGGER IF EXISTS article_fts_insert",
    "DROP TABLE IF EXISTS article_fts",
]


def _sqlite_create(tokenizer: str) -> list[str]:
    return [
        f"""CREATE VIRTUAL TABLE article_fts USING fts5(
            title, search_text, content='article', content_rowid='id',
            tokenize='{tokenizer}')""",
        """CREATE TRIGGER article_fts_insert AFTER INSERT ON article BEGIN
            INSERT INTO article_fts(rowid, title, search_text)
            VALUES (new.id, new.title, new.search_text);
        END""",
        """CREATE TRIGGER article_fts_delete AFTER DELETE ON article BEGIN
            INSERT INTO article_fts(article_fts, rowid, title, search_text)
            VALUES ('delete', old.id, old.title, old.search_text);
        END""",
        """CREATE TRIGGER article_fts_update AFTER UPDATE ON article BEGIN
            INSERT INTO article_fts(article_fts, rowid, title, search_text)
            VALUES ('delete', old.id, old.title, old.search_text);
            INSERT INTO article_fts(rowid, title, search_text)
            VALUES (new.id, new.title, new.search_text);
        END""",
        "INSERT INTO article_fts(article_fts) VALUES ('rebuild')",
    ]


def _postgres_vector(language: str) -> list[str]:
    return [
        "DROP INDEX IF EXISTS ix_article_search_vector",
        "ALTER TABLE article DROP COLUMN IF EXISTS search_vector",
        f"""ALTER TABLE article ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('{language}', coalesce(title, '')), 'A') ||
            setweight(to_tsvector('{language}', coalesce(search_text, '')), 'B')) STORED""",
        "CREATE INDEX ix_article_search_vector ON article USING gin (search_vector)",
    ]


def _rebuild(sqlite_tokenizer: str, pg_language: str) -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        statements = SQLITE_DROP + _sqlite_create(sqlite_tokenizer)
    elif dialect == "postgresql":
        statements = _postgres_vector(pg_language)
    else:
        return
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    _rebuild("porter unicode61 remove_diacritics 2", "english")


def downgrade() -> None:
    _rebuild("unicode61 remove_diacritics 2", "simple")
