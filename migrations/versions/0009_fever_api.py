"""Fever API: reader_user.fever_key

The SHA-256 of each user's Fever API key (md5 of "name:password", as Fever defines it). It
is written when a password is set or checked, since only then is the password known: users
get a Fever key at their next sign-in (page or app) or password change.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("reader_user", sa.Column("fever_key", sa.String(length=64), nullable=True))
    op.create_index("ix_reader_user_fever_key", "reader_user", ["fever_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_reader_user_fever_key", table_name="reader_user")
    # ALTER TABLE … DROP COLUMN, not a batch rebuild: a rebuilt table would lose the
    # AUTOINCREMENT that 0008 declares (SQLAlchemy's reflection does not see it).
    op.drop_column("reader_user", "fever_key")
