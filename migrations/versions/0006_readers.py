"""readers: users, sessions, read marks and per-article state

Read state is a per-user, per-feed watermark (`read_mark.upto_id`) plus exceptions
(`article_state.read`), so a user's state costs a row per feed and a row per article they
touched out of order, not a row per article.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 10:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import feedhub.db.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reader_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=300), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("feed_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", feedhub.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reader_user")),
        sa.UniqueConstraint("name", name=op.f("uq_reader_user_name")),
        sa.UniqueConstraint("feed_key", name=op.f("uq_reader_user_feed_key")),
    )
    op.create_table(
        "user_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("created_at", feedhub.db.models.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", feedhub.db.models.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["reader_user.id"],
            name=op.f("fk_user_session_user_id_reader_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_session")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_user_session_token_hash")),
    )
    op.create_index(op.f("ix_user_session_user_id"), "user_session", ["user_id"])
    op.create_table(
        "read_mark",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("upto_id", IdType, nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_read_mark_feed_id_feed"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["reader_user.id"],
            name=op.f("fk_read_mark_user_id_reader_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "feed_id", name=op.f("pk_read_mark")),
    )
    op.create_table(
        "article_state",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("article_id", IdType, nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=True),
        sa.Column("starred", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"], ["article.id"],
            name=op.f("fk_article_state_article_id_article"), ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feed.id"], name=op.f("fk_article_state_feed_id_feed"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["reader_user.id"],
            name=op.f("fk_article_state_user_id_reader_user"), ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "article_id", name=op.f("pk_article_state")),
    )
    op.create_index(
        "ix_article_state_user_id_feed_id", "article_state", ["user_id", "feed_id", "article_id"]
    )
    op.create_index(
        "ix_article_state_user_id_starred", "article_state", ["user_id", "starred", "article_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_article_state_user_id_starred", table_name="article_state")
    op.drop_index("ix_article_state_user_id_feed_id", table_name="article_state")
    op.drop_table("article_state")
    op.drop_table("read_mark")
    op.drop_index(op.f("ix_user_session_user_id"), table_name="user_session")
    op.drop_table("user_session")
    op.drop_table("reader_user")
