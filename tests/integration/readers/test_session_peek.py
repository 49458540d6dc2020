"""Sessions looked up on the event loop's thread (feedhub.readers.session_peek): the same
answers as the usual lookup, at once after any change by anyone, and the usual way
whenever a write is due or the read fails."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.db.engine import create_engine
from feedhub.db.models import UserSession
from feedhub.readers import accounts
from feedhub.readers.session_peek import UNSURE, SessionPeek
from tests.integration.readers.conftest import PASSWORD, google_login, make_client
from tests.support.driverhops import count_driver_calls

Sessions = async_sessionmaker[AsyncSession]
USER_INFO = "/reader/api/0/user-info"


def _db(settings: Settings) -> sqlite3.Connection:
    """Another connection to the file, as another process would have."""
    return sqlite3.connect(settings.database_url.split("///", 1)[1])


def _set_last_seen(settings: Settings, when: datetime) -> None:
    with _db(settings) as db:
        db.execute(
            "UPDATE user_session SET last_seen_at = ?",
            (when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),),
        )


async def _last_seen(sessions: Sessions) -> list[datetime]:
    async with sessions() as s:
        return list(await s.scalars(select(UserSession.last_seen_at)))


async def test_the_app_peeks_on_sqlite(settings: Settings) -> None:
    engine = create_engine(settings.database_url)
    try:
        assert SessionPeek.of(engine) is not None
    finally:
        await engine.dispose()
    for url in ("sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:",
                "postgresql+asyncpg://u@localhost/feedhub"):  # fmt: skip
        other = create_engine(url)
        try:
            assert SessionPeek.of(other) is None, url
        finally:
            await other.dispose()


async def test_a_signed_in_read_leaves_the_drivers_thread_alone(
    settings: Settings, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_driver_calls(monkeypatch)
    async with make_client(settings) as app:
        auth = await google_login(app)
        calls.clear()
        assert (await app.get(USER_INFO, headers=auth)).status_code == 200
        assert calls == []  # user-info reads nothing but the session, here


async def test_a_session_ended_elsewhere_is_refused_at_once(settings: Settings, world: Any) -> None:
    async with make_client(settings) as app:
        auth = await google_login(app)
        assert (await app.get(USER_INFO, headers=auth)).status_code == 200
        with _db(settings) as db:  # another process ends it: no message reaches this one
            db.execute("DELETE FROM user_session")
        assert (await app.get(USER_INFO, headers=auth)).status_code == 401


async def test_a_session_due_a_keep_alive_goes_the_usual_way(
    settings: Settings, sessions: Sessions, world: Any
) -> None:
    async with make_client(settings) as app:
        auth = await google_login(app)
        long_ago = datetime.now(UTC) - accounts.TOUCH_EVERY * 3
        _set_last_seen(settings, long_ago)
        assert (await app.get(USER_INFO, headers=auth)).status_code == 200
        (seen,) = await _last_seen(sessions)
        assert seen > long_ago + accounts.TOUCH_EVERY  # kept alive: written
        _set_last_seen(settings, datetime.now(UTC) - accounts.SESSION_IDLE - timedelta(days=1))
        assert (await app.get(USER_INFO, headers=auth)).status_code == 401
        assert await _last_seen(sessions) == []  # idle too long: forgotten


async def test_a_web_session_is_no_app_token(settings: Settings, world: Any) -> None:
    async with make_client(settings) as app:
        r = await app.post("/api/session", json={"name": "ann", "password": PASSWORD})
        assert r.status_code in (200, 201), r.text
        cookie = app.cookies.get("feedhub_session")
        assert cookie
        headers = {"Authorization": f"GoogleLogin auth={cookie}"}
        app.cookies.clear()
        assert (await app.get(USER_INFO, headers=headers)).status_code == 401


async def test_when_the_peek_cannot_read_the_usual_way_answers(
    settings: Settings, world: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def locked(self: SessionPeek) -> sqlite3.Connection:
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(SessionPeek, "_connection", locked)
    async with make_client(settings) as app:
        auth = await google_login(app)
        assert (await app.get(USER_INFO, headers=auth)).status_code == 200
        with _db(settings) as db:
            db.execute("DELETE FROM user_session")
        assert (await app.get(USER_INFO, headers=auth)).status_code == 401


async def test_lookups_answer_as_resolve_session(settings: Settings, sessions: Sessions) -> None:
    now = datetime.now(UTC)
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", PASSWORD, "reader", now)
        token, info = await accounts.open_session(s, ann, "api", "newsboat", now)
    peek = SessionPeek(Path(settings.database_url.split("///", 1)[1]))
    try:
        assert peek.lookup(token, now, "api") == info
        assert peek.lookup(token, now, "web") is UNSURE  # the usual way refuses it
        assert peek.lookup(token, now + accounts.TOUCH_EVERY * 2, "api") is UNSURE  # a write
        assert peek.lookup("not a token", now, "api") is None
        assert peek.lookup("", now, "api") is None
    finally:
        peek.close()
    missing = SessionPeek(Path(settings.database_url.split("///", 1)[1]).with_name("no.db"))
    assert missing.lookup(token, now, "api") is UNSURE


async def test_a_lookup_holds_no_read_transaction(settings: Settings, sessions: Sessions) -> None:
    """A checkpoint can empty the log after a lookup: the peek's read ended with it."""
    now = datetime.now(UTC)
    async with sessions() as s:
        ann = await accounts.create_user(s, "ann", PASSWORD, "reader", now)
        token, _ = await accounts.open_session(s, ann, "api", None, now)
    peek = SessionPeek(Path(settings.database_url.split("///", 1)[1]))
    try:
        assert peek.lookup(token, now, "api") is not UNSURE
        with _db(settings) as db:
            db.execute("UPDATE reader_user SET role = role")  # something in the log
        with _db(settings) as db:
            busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        peek.close()
