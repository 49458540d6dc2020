"""Migrations: `alembic upgrade head` gives exactly the models' schema, and back down."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from feedhub.db.migrate import include_object, upgrade_to_head
from feedhub.db.models import Base
from tests.support.pgserver import PgServer


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

    from feedhub.db.engine import create_engine as create_async

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

    from feedhub.db.migrate import alembic_config

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

    from feedhub.db.migrate import alembic_config

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


# -- PostgreSQL: every migration up and down on a real server ------------------------
def _pg_compare(url: str) -> list[object]:
    import asyncio

    from feedhub.db.engine import create_engine as create_async

    async def run() -> list[object]:
        engine = create_async(url)
        async with engine.connect() as connection:
            diff = await connection.run_sync(
                lambda c: compare_metadata(
                    MigrationContext.configure(
                        c, opts={"compare_type": True, "include_object": include_object}
                    ),
                    Base.metadata,
                )
            )
        await engine.dispose()
        return list(diff)

    return asyncio.run(run())


def test_postgres_upgrade_head_matches_models(pg_server: PgServer) -> None:
    with pg_server.database() as url:
        upgrade_to_head(url)
        assert _pg_compare(url) == []


def test_postgres_downgrade_step_by_step_and_up_again(pg_server: PgServer) -> None:
    """Each migration's downgrade runs on PostgreSQL (one step at a time, so a broken step
    is named), and the schema after a full round trip is the models' again."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from feedhub.db.migrate import alembic_config

    with pg_server.database() as url:
        config = alembic_config(url)
        upgrade_to_head(url)
        revisions = [s.revision for s in ScriptDirectory.from_config(config).walk_revisions()]
        for _ in revisions:
            command.downgrade(config, "-1")
        tables = pg_server.psql(
            "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'",
            url.rsplit("/", 1)[1],
        ).strip()
        assert tables in ("", "alembic_version")
        upgrade_to_head(url)
        assert _pg_compare(url) == []


def test_postgres_0003_backfills_plain_text_and_reindexes(pg_server: PgServer) -> None:
    from alembic import command

    from feedhub.db.migrate import alembic_config

    with pg_server.database() as url:
        name = url.rsplit("/", 1)[1]
        command.upgrade(alembic_config(url), "0002")
        pg_server.psql(
            "INSERT INTO category (id, slug, name) VALUES (1, 't', 'T');"
            "INSERT INTO feed (id, url, category_id, created_at, error_count) "
            "VALUES (1, 'http://e.com/f', 1, '2024-01-01 00:00:00+00', 0);"
            "INSERT INTO article (feed_id, guid_key, title, summary, content, published_at,"
            " fetched_at, content_hash) VALUES (1, 'g', 'Title', "
            "'<p>Lava <a href=\"https://e.com/x\">flows</a> &amp; more</p>', '', "
            "'2024-01-01 00:00:00+00', '2024-01-01 00:00:00+00', 'h')",
            name,
        )
        upgrade_to_head(url)
        assert pg_server.psql("SELECT search_text FROM article", name).strip() == (
            "Lava flows & more"
        )
        match = "SELECT count(*) FROM article WHERE search_vector @@ to_tsquery('simple', '{}')"
        assert pg_server.psql(match.format("lava"), name).strip() == "1"
        assert pg_server.psql(match.format("href"), name).strip() == "0"


def test_0004_merges_duplicate_feed_urls_without_losing_articles(tmp_path: Path) -> None:
    """Four spellings of one feed become one feed holding every distinct
    article (a story stored twice is kept once); down and up again work."""
    from alembic import command

    from feedhub.db.migrate import alembic_config

    path = tmp_path / "dups.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0003")
    spellings = [
        "http://e.com/feed",
        "HTTP://E.com:80/feed#top",
        "http://e.com/./feed",
        "http://e.com/feed?",
        "http://other.com/./x",  # alone, but not in normal form
    ]
    articles = {1: ["a", "b"], 2: ["b", "c"], 3: ["d"], 4: ["a", "e"], 5: ["z"]}
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO category (id, slug, name) VALUES (1, 't', 'T')")
        for feed_id, feed_url in enumerate(spellings, start=1):
            db.execute(
                "INSERT INTO feed (id, url, category_id, created_at, error_count) "
                "VALUES (?, ?, 1, '2024-01-01 00:00:00', 0)",
                (feed_id, feed_url),
            )
            for key in articles[feed_id]:
                db.execute(
                    "INSERT INTO article (feed_id, guid_key, title, summary, content, "
                    "published_at, fetched_at, content_hash, search_text) VALUES "
                    "(?, ?, ?, '', '', '2024-01-01 00:00:00', '2024-01-01 00:00:00', 'h', ?)",
                    (feed_id, key, f"story {key}", f"word{key}"),
                )
        db.execute(
            "INSERT INTO tombstone (feed_id, guid_key, deleted_at) "
            "VALUES (3, 'gone', '2024-01-01 00:00:00')"
        )
    command.upgrade(alembic_config(url), "0004")
    with sqlite3.connect(path) as db:
        feeds = db.execute("SELECT id, url FROM feed ORDER BY id").fetchall()
        assert feeds == [(1, "http://e.com/feed"), (5, "http://other.com/x")]
        keys = db.execute("SELECT guid_key FROM article WHERE feed_id = 1").fetchall()
        assert sorted(k for (k,) in keys) == ["a", "b", "c", "d", "e"]
        assert db.execute("SELECT feed_id, guid_key FROM tombstone").fetchall() == [(1, "gone")]
        # The search index follows the moved rows.
        match = "SELECT count(*) FROM article_fts WHERE article_fts MATCH ?"
        assert db.execute(match, ("wordc",)).fetchone() == (1,)
        assert db.execute(match, ("worda",)).fetchone() == (1,)
    command.downgrade(alembic_config(url), "0003")
    with sqlite3.connect(path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(feed)")]
        assert "truncation" not in columns
        assert db.execute("SELECT count(*) FROM article").fetchone() == (6,)
    upgrade_to_head(url)


def test_0007_backfills_listed_at_and_keeps_search_and_autoincrement(tmp_path: Path) -> None:
    """Existing rows get listed_at = min(published, fetched); the FTS triggers and
    AUTOINCREMENT survive (no table rebuild); down and up again."""
    from alembic import command

    from feedhub.db.migrate import alembic_config

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


def test_0008_makes_ids_never_reused_on_sqlite(tmp_path: Path) -> None:
    """Rows kept through the upgrade keep their ids; after it, a deleted newest row's id is
    not handed out again (before it, max(id)+1 gave it back); down and up again."""
    from alembic import command

    from feedhub.db.migrate import alembic_config

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0007")
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("INSERT INTO category (id, slug, name) VALUES (1, 't', 'T')")
        db.execute(
            "INSERT INTO feed (id, url, category_id, created_at, error_count) "
            "VALUES (1, 'http://e.com/f', 1, '2024-01-01 00:00:00.000000', 0)"
        )
        db.execute(
            "INSERT INTO article (feed_id, guid_key, title, summary, content, published_at,"
            " fetched_at, content_hash, listed_at) VALUES (1, 'g', 'T', '', '', "
            "'2024-01-01', '2024-01-01', 'h', '2024-01-01')"
        )
        for i in (1, 2):
            db.execute(
                "INSERT INTO reader_user (id, name, password_hash, role, feed_key, created_at) "
                "VALUES (?, ?, 'x', 'reader', ?, '2024-01-01')",
                (i, f"u{i}", f"k{i}"),
            )
    upgrade_to_head(url)
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA foreign_keys = ON")
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        for table in ("category", "feed", "reader_user", "user_session"):
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (table,)).fetchone()
            assert "AUTOINCREMENT" in sql[0], table
        assert db.execute("SELECT count(*) FROM article").fetchone() == (1,)  # no cascade
        assert db.execute(
            "INSERT INTO reader_user (name, password_hash, role, feed_key, created_at) "
            "VALUES ('u3', 'x', 'reader', 'k3', '2024-01-01') RETURNING id"
        ).fetchone() == (3,)
        db.execute("DELETE FROM reader_user WHERE id = 3")
        new = db.execute(
            "INSERT INTO reader_user (name, password_hash, role, feed_key, created_at) "
            "VALUES ('u4', 'x', 'reader', 'k4', '2024-01-01') RETURNING id"
        ).fetchone()
        assert new == (4,)
    command.downgrade(alembic_config(url), "0007")
    with sqlite3.connect(path) as db:
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'feed'").fetchone()[0]
        assert "AUTOINCREMENT" not in sql and "CONSTRAINT pk_feed PRIMARY KEY (id)" in sql
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT count(*) FROM reader_user").fetchone() == (3,)
    upgrade_to_head(url)
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_object": include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_0015_indexes_existing_articles_for_id_lists_and_drops_it_on_downgrade(
    tmp_path: Path,
) -> None:
    """Articles stored before the upgrade are in the new index; the id list's statement
    reads from it alone (SQLite's plan: a covering index); down and up again."""
    from alembic import command
    from sqlalchemy.dialects import sqlite

    from feedhub.db.migrate import alembic_config
    from feedhub.readers.queries import Scope
    from feedhub.readers.statements import Shape, order_of, refs_statement, values_of

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"
    command.upgrade(alembic_config(url), "0014")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO category (id, slug, name) VALUES (1, 't', 'T')")
        db.execute(
            "INSERT INTO feed (id, url, category_id, created_at, error_count) "
            "VALUES (1, 'http://e.com/f', 1, '2024-01-01 00:00:00.000000', 0)"
        )
        for i in range(3):
            db.execute(
                "INSERT INTO article (feed_id, guid_key, title, summary, content, published_at,"
                " fetched_at, content_hash, listed_at) VALUES (1, ?, 'T', '', '', "
                "'2024-01-01', ?, 'h', '2024-01-01')",
                (f"g{i}", f"2024-01-0{i + 1} 00:00:00.000000"),
            )
    upgrade_to_head(url)
    scope = Scope(read=False, hidden_of=1)
    statement = refs_statement(Shape.of(scope), order_of(None, False, False))
    compiled = statement.compile(dialect=sqlite.dialect())
    params = compiled.construct_params(values_of(1, scope, None, False, 10))
    assert compiled.positiontup is not None
    args = [params[name] for name in compiled.positiontup]
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        index = "ix_article_id_feed_id_fetched_at"
        assert db.execute(f"SELECT count(*) FROM article INDEXED BY {index}").fetchone() == (3,)
        plan = [r[3] for r in db.execute("EXPLAIN QUERY PLAN " + compiled.string, args)]
        assert f"SCAN article USING COVERING INDEX {index}" in plan
    command.downgrade(alembic_config(url), "0014")
    with sqlite3.connect(path) as db:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "ix_article_id_feed_id_fetched_at" not in names
        assert db.execute("SELECT count(*) FROM article").fetchone() == (3,)
    upgrade_to_head(url)
