"""feed.claimed_until, feed.claimed_by: a poller's claim on a feed, so that two processes
never poll it at once

Scale-out: due feeds are claimed (`FOR UPDATE SKIP LOCKED` on PostgreSQL) by
setting `claimed_until` to a lease longer than one poll can take, and `claimed_by` to the
backend pid of the claiming process's leader-lock connection; the poll clears both. A claim
whose backend is gone (its process died) is void at once; any other claim expires.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import feedhub.db.models

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.add_column(
            sa.Column("claimed_until", feedhub.db.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("claimed_by", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed") as batch:
        batch.drop_column("claimed_by")
        batch.drop_column("claimed_until")
