"""one feed per normal URL (duplicates merged), and feed.truncation

Feed URLs were compared as typed, so `HTTP://host/feed`, `http://host/feed#x`,
`http://host/./feed` and `http://host/feed?` were four feeds, each storing every article.
The admin API now stores `normalize_feed_url(url)`; this migration
brings existing rows to that form: feeds whose URLs share a normal form are merged into
the oldest (lowest id), which takes over the others' articles and tombstones that it does
not already have (an article it has under the same key is the same story, kept once);
then the others are deleted and the survivor's URL is written in normal form.

It also adds `feed.truncation`: what the last poll cut to stay within the entry caps,
in words; NULL when nothing was cut.

Downgrade drops the column; merged feeds stay merged (their articles were duplicates).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 11:00:00
"""

from collections import defaultdict
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from feedhub.core.urls import normalize_feed_url

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _merge_duplicates() -> None:
    bind = op.get_bind()
    feeds = bind.execute(sa.text("SELECT id, url FROM feed ORDER BY id")).all()
    groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for feed_id, url in feeds:
        groups[normalize_feed_url(url)].append((feed_id, url))
    for normal, members in groups.items():
        keeper, keeper_url = members[0]
        for duplicate, _url in members[1:]:
            params = {"keeper": keeper, "dup": duplicate}
            for table in ("article", "tombstone"):
                bind.execute(
                    sa.text(
                        f"UPDATE {table} SET feed_id = :keeper WHERE feed_id = :dup AND "
                        f"guid_key NOT IN (SELECT guid_key FROM {table} WHERE feed_id = :keeper)"
                    ),
                    params,
                )
                bind.execute(sa.text(f"DELETE FROM {table} WHERE feed_id = :dup"), params)
            bind.execute(sa.text("DELETE FROM feed WHERE id = :dup"), params)
        if keeper_url != normal:
            bind.execute(
                sa.text("UPDATE feed SET url = :url WHERE id = :id"), {"url": normal, "id": keeper}
            )


def upgrade() -> None:
    _merge_duplicates()
    # A plain ADD COLUMN (no batch table copy: SQLite refuses to drop `feed` in the same
    # transaction as the merge's statements, "database table is locked").
    op.add_column("feed", sa.Column("truncation", sa.Text(), nullable=True))


def downgrade() -> None:
    # Native DROP COLUMN (SQLite 3.35+), not a batch copy of `feed`: with foreign keys on,
    # dropping the old table would cascade into every article.
    op.execute("ALTER TABLE feed DROP COLUMN truncation")
