"""websub: one row per subscription of a feed at its hub; feed.poll_reason

feed.poll_reason says why next_poll_at is when it is (adaptive, timed to the source,
fixed, backoff, Retry-After, push safety, …); empty until the next poll.

Revision ID: 0011
Revises: 0009
Create Date: 2026-12-07 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import feedhub.db.models

revision: str = "0011"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("feed", sa.Column("poll_reason", sa.String(length=32), nullable=True))
    op.create_table(
        "websub_subscription",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("hub", sa.String(length=2048), nullable=False),
        sa.Column("topic", sa.String(length=2048), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("pending_mode", sa.String(length=16), nullable=True),
        sa.Column("lease_seconds", sa.Integer(), nullable=True),
        sa.Column("lease_until", feedhub.db.models.UTCDateTime(), nullable=True),
        sa.Column("next_action_at", feedhub.db.models.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("healthy", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("last_push_at", feedhub.db.models.UTCDateTime(), nullable=True),
        sa.Column("pushes_received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("pushes_rejected", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", feedhub.db.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_websub_subscription")),
        sa.UniqueConstraint("token", name=op.f("uq_websub_subscription_token")),
    )
    op.create_index(
        op.f("ix_websub_subscription_feed_id"), "websub_subscription", ["feed_id"], unique=False
    )
    op.create_index(
        op.f("ix_websub_subscription_next_action_at"),
        "websub_subscription",
        ["next_action_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_websub_subscription_next_action_at"), table_name="websub_subscription")
    op.drop_index(op.f("ix_websub_subscription_feed_id"), table_name="websub_subscription")
    op.drop_table("websub_subscription")
    op.drop_column("feed", "poll_reason")
