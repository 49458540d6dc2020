"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24 01:58:47.492194
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import feedhub.db.models


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('category',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_category')),
    sa.UniqueConstraint('slug', name=op.f('uq_category_slug'))
    )
    op.create_table('feed',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('site_url', sa.String(length=2048), nullable=True),
    sa.Column('title', sa.String(length=500), nullable=True),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('poll_interval', sa.Integer(), nullable=True),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('content_hash', sa.String(length=64), nullable=True),
    sa.Column('last_polled_at', feedhub.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('next_poll_at', feedhub.db.models.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('error_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', feedhub.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('guid_unreliable', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['category_id'], ['category.id'], name=op.f('fk_feed_category_id_category'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed')),
    sa.UniqueConstraint('url', name=op.f('uq_feed_url'))
    )
    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feed_category_id'), ['category_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_next_poll_at'), ['next_poll_at'], unique=False)

    op.create_table('article',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('guid_key', sa.String(length=600), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=True),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('author', sa.String(length=500), nullable=True),
    sa.Column('published_at', feedhub.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('fetched_at', feedhub.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feed.id'], name=op.f('fk_article_feed_id_feed'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_article')),
    sa.UniqueConstraint('feed_id', 'guid_key', name='uq_article_feed_guid_key'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.create_index('ix_article_feed_id_id', ['feed_id', 'id'], unique=False)

    op.create_table('tombstone',
    sa.Column('feed_id', sa.Integer(), nullable=False),
    sa.Column('guid_key', sa.String(length=600), nullable=False),
    sa.Column('deleted_at', feedhub.db.models.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feed_id'], ['feed.id'], name=op.f('fk_tombstone_feed_id_feed'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feed_id', 'guid_key', name=op.f('pk_tombstone'))
    )


def downgrade() -> None:
    op.drop_table('tombstone')
    with op.batch_alter_table('article', schema=None) as batch_op:
        batch_op.drop_index('ix_article_feed_id_id')

    op.drop_table('article')
    with op.batch_alter_table('feed', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_next_poll_at'))
        batch_op.drop_index(batch_op.f('ix_feed_category_id'))

    op.drop_table('feed')
    op.drop_table('category')
