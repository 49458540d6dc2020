"""reading page: article.listed_at (publication order), article.quiet (backlog), enclosures

`listed_at` is the publication time clamped to the arrival time (lists sort by it
with the id as tie-break, index on both); `quiet` marks backlog stored without announcing
it on the stream; `enclosures` holds an article's media files as JSON. Existing rows are
backfilled: listed_at = min(published_at, fetched_at), nothing quiet, no enclosures (the
next change of an entry in its feed fills them in).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import feedhub.db.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Plain ALTER TABLE, never batch mode: recreating `article` on SQLite would drop its FTS
# triggers and its AUTOINCREMENT (ids are the stream's event ids and must never be reused).
# So listed_at is added NOT NULL with a placeholder default, filled in, and on PostgreSQL
# the default is dropped again (SQLite cannot drop a default without a rebuild; every
# insert sets the column, so the placeholder is never used).
_PLACEHOLDER = sa.text("'1970-01-01 00:00:00.000000'")


def upgrade() -> None:
    op.add_column(
        "article",
        sa.Column(
            "listed_at", feedhub.db.models.UTCDateTime(), server_default=_PLACEHOLDER, nullable=False
        ),
    )
    op.add_column(
        "article", sa.Column("quiet", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column("article", sa.Column("enclosures", sa.JSON(), nullable=True))
    op.execute(
        "UPDATE article SET listed_at = CASE WHEN published_at < fetched_at "
        "THEN published_at ELSE fetched_at END"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.alter_column("article", "listed_at", server_default=None)
    op.create_index("ix_article_listed_at_id", "article", ["listed_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_article_listed_at_id", table_name="article")
    op.drop_column("article", "enclosures")
    op.drop_column("article", "quiet")
    op.drop_column("article", "listed_at")
