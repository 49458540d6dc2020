"""Migrations: `alembic upgrade head` gives exactly the models' schema, and back down."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from feedhub.migrate import include_object, upgrade_to_head
from feedhub.models import Base


def test_upgrade_head_matches_models(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_models_schema_differs_is_detected(tmp_path: Path) -> None:
    """The comparison above can fail: a database missing a column is reported."""
    path = tmp_path / "drift.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE feed DROP COLUMN last_error")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert any(d[0] == "add_column" and d[3].name == "last_error" for d in diff)


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    import asyncio

    from sqlalchemy import text

    from feedhub.db import create_engine as create_async

    async def pragmas() -> tuple[str, int, int]:
        engine = create_async(f"sqlite+aiosqlite:///{tmp_path / 'p.db'}")
        async with engine.connect() as conn:
            mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
            fks = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
            busy = (await conn.execute(text("PRAGMA busy_timeout"))).scalar_one()
        await engine.dispose()
        return mode, fks, busy

    assert asyncio.run(pragmas()) == ("wal", 1, 10000)


def test_downgrade_to_base_and_up_again(tmp_path: Path) -> None:
    from alembic import command

    from feedhub.migrate import alembic_config

    url = f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.db'}"
    upgrade_to_head(url)
    command.downgrade(alembic_config(url), "base")
    with sqlite3.connect(tmp_path / "roundtrip.db") as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert not names & {"article", "feed", "category", "article_fts"}
    upgrade_to_head(url)
    with sqlite3.connect(tmp_path / "roundtrip.db") as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master")}
    assert {"article", "feed", "category", "tombstone", "article_fts"} <= names


def test_0003_backfills_plain_text_and_reindexes(tmp_path: Path) -> None:
    from alembic import command

    from feedhub.migrate import alembic_config

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0002")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO category (id, slug, name) VALUES (1, 't', 'T')")
        db.execute(
            "INSERT INTO feed (id, url, category_id, created_at, error_count) "
            "VALUES (1, 'http://e.com/f', 1, '2024-01-01 00:00:00', 0)"
        )
        db.execute(
            "INSERT INTO article (feed_id, guid_key, title, summary, content, published_at,"
            " fetched_at, content_hash) VALUES (1, 'g', 'Title', "
            "'<p>Lava <a href=\"https://e.com/x\">flows</a> &amp; more</p>', '', "
            "'2024-01-01 00:00:00', '2024-01-01 00:00:00', 'h')"
        )
    upgrade_to_head(url)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT search_text FROM article").fetchone() == ("Lava flows & more",)
        match = "SELECT rowid FROM article_fts WHERE article_fts MATCH ?"
        assert db.execute(match, ("lava",)).fetchall() == [(1,)]
        assert db.execute(match, ("href",)).fetchall() == []


def test_0007_backfills_listed_at_and_keeps_search_and_autoincrement(tmp_path: Path) -> None:
    """Issue 13: existing rows get listed_at = min(published, fetched); the FTS triggers and
    AUTOINCREMENT survive (no table rebuild); down and up again."""
    from alembic import command

    from feedhub.migrate import alembic_config

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0006")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO category (id, slug, name) VALUES (1, 't', 'T')")
        db.execute(
            "INSERT INTO feed (id, url, category_id, created_at, error_count) "
            "VALUES (1, 'http://e.com/f', 1, '2024-01-01 00:00:00.000000', 0)"
        )
        insert = (
            "INSERT INTO article (feed_id, guid_key, title, summary, content, published_at,"
            " fetched_at, content_hash, search_text) VALUES (1, ?, ?, '', '', ?, ?, 'h', ?)"
        )
        db.execute(insert, ("past", "Past", "2024-01-01 00:00:00.000000",
                            "2024-01-05 00:00:00.000000", "volcano"))  # fmt: skip
        db.execute(insert, ("ahead", "Ahead", "2024-02-02 00:00:00.000000",
                            "2024-02-01 00:00:00.000000", "glacier"))  # fmt: skip
    upgrade_to_head(url)
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT guid_key, listed_at, quiet, enclosures FROM article ORDER BY id")
        assert rows.fetchall() == [
            ("past", "2024-01-01 00:00:00.000000", 0, None),
            ("ahead", "2024-02-01 00:00:00.000000", 0, None),
        ]
        schema = db.execute("SELECT sql FROM sqlite_master WHERE name = 'article'").fetchone()[0]
        assert "AUTOINCREMENT" in schema
        db.execute(
            "UPDATE article SET search_text = 'lava' WHERE guid_key = 'past'"
        )  # the update trigger still feeds the index
        match = "SELECT rowid FROM article_fts WHERE article_fts MATCH ?"
        assert db.execute(match, ("lava",)).fetchall() == [(1,)]
    command.downgrade(alembic_config(url), "0006")
    with sqlite3.connect(path) as db:
        columns = {r[1] for r in db.execute("PRAGMA table_info(article)")}
        assert not columns & {"listed_at", "quiet", "enclosures"}
        assert db.execute("SELECT count(*) FROM article").fetchone() == (2,)
    upgrade_to_head(url)
