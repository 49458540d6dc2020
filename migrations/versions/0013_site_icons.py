"""site icons: one row per feed with the icon the poller fetched (or why it found none)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-09 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import feedhub.db.models

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feed_icon",
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=True),
        sa.Column("data", sa.LargeBinary(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("source_url", sa.String(length=2048), nullable=True),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("fetched_at", feedhub.db.models.UTCDateTime(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feed.id"],
            name=op.f("fk_feed_icon_feed_id_feed"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feed_id", name=op.f("pk_feed_icon")),
    )


def downgrade() -> None:
    op.drop_table("feed_icon")
