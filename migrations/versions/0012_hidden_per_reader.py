"""hidden per reader: hidden_feed and hidden_category, (user, feed|category) pairs

Feeds and categories stay shared; each row hides one of them from one user's lists, unread
counts, stream and apps. Both sides cascade: deleting the user, the feed or the category
deletes the row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "hidden_feed",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_hidden_feed_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["reader_user.id"],
            name=op.f("fk_hidden_feed_user_id_reader_user"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("user_id", "feed_id", name=op.f("pk_hidden_feed")),
    )
    op.create_index(op.f("ix_hidden_feed_feed_id"), "hidden_feed", ["feed_id"], unique=False)
    op.create_table(
        "hidden_category",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_id"],
            ["category.id"],
            name=op.f("fk_hidden_category_category_id_category"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["reader_user.id"],
            name=op.f("fk_hidden_category_user_id_reader_user"),
            ondelete="CASCADE",
        ),  # fmt: skip
        sa.PrimaryKeyConstraint("user_id", "category_id", name=op.f("pk_hidden_category")),
    )
    op.create_index(
        op.f("ix_hidden_category_category_id"), "hidden_category", ["category_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_hidden_category_category_id"), table_name="hidden_category")
    op.drop_table("hidden_category")
    op.drop_index(op.f("ix_hidden_feed_feed_id"), table_name="hidden_feed")
    op.drop_table("hidden_feed")
