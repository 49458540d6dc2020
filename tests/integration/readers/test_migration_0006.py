"""Migration 0006 (readers) up and down on a real SQLite file, with rows in the way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic import command

from feedhub.db.migrate import alembic_config, upgrade_to_head

READER_TABLES = {"reader_user", "user_session", "read_mark", "article_state"}


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_0006_up_down_up_keeps_articles(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    url = f"sqlite+aiosqlite:///{path}"
    config = alembic_config(url)
    command.upgrade(config, "0005")
    assert not READER_TABLES & _tables(path)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO category (id, slug, name) VALUES (1, 't', 'T')")
        db.execute(
            "INSERT INTO feed (id, url, category_id, created_at, error_count) "
            "VALUES (1, 'http://e.com/f', 1, '2026-01-01 00:00:00', 0)"
        )
        db.execute(
            "INSERT INTO article (id, feed_id, guid_key, title, summary, content, published_at,"
            " fetched_at, content_hash) VALUES (1, 1, 'g', 'T', '', '', '2026-01-01 00:00:00',"
            " '2026-01-01 00:00:00', 'h')"
        )
    command.upgrade(config, "0006")
    assert _tables(path) >= READER_TABLES
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys=ON")
        db.execute(
            "INSERT INTO reader_user (id, name, password_hash, role, feed_key, created_at) "
            "VALUES (1, 'ann', 'x', 'reader', 'k', '2026-01-01 00:00:00')"
        )
        db.execute("INSERT INTO read_mark (user_id, feed_id, upto_id) VALUES (1, 1, 1)")
        db.execute(
            "INSERT INTO article_state (user_id, article_id, feed_id, read) VALUES (1, 1, 1, 0)"
        )
        starred = db.execute("SELECT starred FROM article_state").fetchone()
        assert starred == (0,)  # the server default
        # Deleting the article takes its state with it (ON DELETE CASCADE).
        db.execute("DELETE FROM article WHERE id = 1")
        assert db.execute("SELECT count(*) FROM article_state").fetchone() == (0,)
    command.downgrade(config, "0005")
    assert not READER_TABLES & _tables(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM feed").fetchone() == (1,)
    upgrade_to_head(url)
    assert _tables(path) >= READER_TABLES
