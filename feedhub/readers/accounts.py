"""Users and their sessions: the rules behind the admin users API, sign-in and the CLI.

Each function does one change in one transaction and raises before writing anything when
the input is wrong. Secrets (session tokens) are returned once to the caller and only
their SHA-256 is stored; passwords only as scrypt hashes, computed in the small pool of
feedhub.readers.hashpool so sign-ins neither stall the event loop nor starve the service.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from feedhub.core.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from feedhub.db.models import User, UserSession
from feedhub.readers import hashpool
from feedhub.readers.passwords import hash_password, needs_rehash, verify_password

__all__ = [
    "ROLES",
    "SESSION_BY_TOKEN",
    "SESSION_IDLE",
    "SessionInfo",
    "UserInfo",
    "authenticate",
    "change_password",
    "check_password",
    "create_user",
    "delete_user",
    "fever_api_key",
    "user_by_fever_key",
    "get_user",
    "list_sessions",
    "list_users",
    "live_session_ids",
    "open_session",
    "prune_sessions",
    "resolve_session",
    "revoke_session",
    "session_of",
    "rotate_feed_key",
    "token_hash",
    "update_user",
    "user_by_feed_key",
]

ROLES = ("reader", "admin")
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
# A session unused this long is gone; last_seen_at is written at most every TOUCH_EVERY.
SESSION_IDLE = timedelta(days=30)
TOUCH_EVERY = timedelta(minutes=1)
# Sessions kept per user and kind ("web", "api"); the least recently used go first, but
# never one used within IN_USE (a burst of sign-ins must not log out the app syncing now)
# unless there are more than HARD_CAP.
MAX_SESSIONS = 20
IN_USE = timedelta(hours=1)
HARD_CAP = 100
# Session ids in one IN (...) of live_session_ids (SQLite allows 32,766 parameters).
_IDS_AT_ONCE = 500


@functools.cache
def _dummy_hash() -> str:
    """Verified when the name is unknown, so a wrong name takes as long as a wrong password."""
    return hash_password(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: int
    name: str
    role: str
    feed_key: str
    created_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


@dataclass(frozen=True, slots=True)
class SessionInfo:
    id: int
    user: UserInfo
    kind: str
    csrf_token: str
    user_agent: str | None
    created_at: datetime
    last_seen_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def fever_api_key(name: str, password: str) -> str:
    """The key a Fever client sends: md5("name:password"), as Fever defines it."""
    return hashlib.md5(f"{name}:{password}".encode(), usedforsecurity=False).hexdigest()


def _fever_hash(name: str, password: str) -> str:
    return token_hash(fever_api_key(name, password))


def _info(user: User) -> UserInfo:
    return UserInfo(user.id, user.name, user.role, user.feed_key, user.created_at)


# Sessions with their users as plain columns, no ORM objects: every signed-in request reads
# one. Built once, as the lookup by token and the keep-alive (SET: the parameters named after
# columns) below: built per request, statement and cache key cost as much as the lookup.
_SESSIONS = select(
    UserSession.id, UserSession.kind, UserSession.csrf_token, UserSession.user_agent,
    UserSession.created_at, UserSession.last_seen_at,
    User.id, User.name, User.role, User.feed_key, User.created_at,
).join(User, User.id == UserSession.user_id)  # fmt: skip
SESSION_BY_TOKEN = _SESSIONS.where(UserSession.token_hash == bindparam("token_hash"))
_TOUCH = update(UserSession).where(UserSession.id == bindparam("session_id"))


def session_of(row: Any) -> SessionInfo:
    """The SessionInfo of a row of SESSION_BY_TOKEN (its columns in order)."""
    sid, kind, csrf, agent, created, seen, *user = row
    return SessionInfo(sid, UserInfo(*user), kind, csrf, agent, created, seen)


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValidationError("a user name is 1-64 letters, digits or . _ @ -")
    return name


def check_password(password: str) -> str:
    if not 8 <= len(password) <= 200:
        raise ValidationError("a password is 8 to 200 characters long")
    return password


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise ValidationError(f"role must be one of {', '.join(ROLES)}")
    return role


# -- users ---------------------------------------------------------------------------------------
async def _user(session: AsyncSession, name: str) -> User:
    user = await session.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFoundError(f"user {name!r} does not exist")
    return user


async def get_user(session: AsyncSession, name: str) -> UserInfo:
    return _info(await _user(session, name))


async def list_users(session: AsyncSession) -> list[UserInfo]:
    return [_info(u) for u in await session.scalars(select(User).order_by(User.name))]


async def create_user(
    session: AsyncSession, name: str, password: str, role: str, now: datetime
) -> UserInfo:
    check_name(name)
    check_password(password)
    _check_role(role)
    if await session.scalar(select(User.id).where(User.name == name)):
        raise ConflictError(f"user {name!r} already exists")
    hashed = await hashpool.run(hash_password, password)
    user = User(
        name=name,
        password_hash=hashed,
        role=role,
        feed_key=secrets.token_urlsafe(24),
        created_at=now,
        fever_key=_fever_hash(name, password),
    )
    session.add(user)
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        raise ConflictError(f"user {name!r} already exists") from None
    return _info(user)


async def update_user(
    session: AsyncSession, name: str, *, password: str | None = None, role: str | None = None
) -> UserInfo:
    """A new password also ends every session of the user (a leaked one stops working)."""
    if password is None and role is None:
        raise ValidationError("nothing to change: send a password or a role")
    if password is not None:
        check_password(password)
    if role is not None:
        _check_role(role)
    user = await _user(session, name)
    if password is not None:
        user.password_hash = await hashpool.run(hash_password, password)
        user.fever_key = _fever_hash(user.name, password)
        await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    if role is not None:
        user.role = role
    await session.commit()
    return _info(user)


async def delete_user(session: AsyncSession, name: str) -> None:
    user = await _user(session, name)
    await session.delete(user)  # sessions, read marks and states go by ON DELETE CASCADE
    await session.commit()


async def authenticate(session: AsyncSession, name: str, password: str) -> UserInfo:
    user = await session.scalar(select(User).where(User.name == name))
    stored = user.password_hash if user is not None else _dummy_hash()
    ok = await hashpool.run(verify_password, password, stored)
    if user is None or not ok:
        raise AuthError("wrong name or password")
    if needs_rehash(user.password_hash):
        # A full pool leaves the old hash, which still verifies: rehashed next time.
        with contextlib.suppress(RateLimitedError):
            user.password_hash = await hashpool.run(hash_password, password)
    if user.fever_key != (fever := _fever_hash(name, password)):
        user.fever_key = fever  # users from before the Fever API get theirs here
    if session.dirty:
        await session.commit()
    return _info(user)


async def change_password(
    session: AsyncSession, user_id: int, current: str, new: str, *, keep_session: int
) -> None:
    check_password(new)
    user = await session.get(User, user_id)
    if user is None:
        raise AuthError("not signed in")
    if not await hashpool.run(verify_password, current, user.password_hash):
        raise AuthError("the current password is wrong")
    user.password_hash = await hashpool.run(hash_password, new)
    user.fever_key = _fever_hash(user.name, new)
    await session.execute(
        delete(UserSession).where(UserSession.user_id == user_id, UserSession.id != keep_session)
    )
    await session.commit()


async def rotate_feed_key(session: AsyncSession, user_id: int) -> str:
    user = await session.get(User, user_id)
    if user is None:
        raise AuthError("not signed in")
    user.feed_key = secrets.token_urlsafe(24)
    await session.commit()
    return user.feed_key


async def user_by_fever_key(session: AsyncSession, api_key: str) -> UserInfo | None:
    if not api_key or len(api_key) > 64:
        return None
    user = await session.scalar(select(User).where(User.fever_key == token_hash(api_key.lower())))
    return _info(user) if user is not None else None


async def user_by_feed_key(session: AsyncSession, key: str) -> UserInfo | None:
    if not key or len(key) > 64:
        return None
    user = await session.scalar(select(User).where(User.feed_key == key))
    return _info(user) if user is not None else None


# -- sessions ------------------------------------------------------------------------------------
async def open_session(
    session: AsyncSession, user: UserInfo, kind: str, user_agent: str | None, now: datetime
) -> tuple[str, SessionInfo]:
    """A new session; returns its secret token (shown once) and its description.

    Also forgets the user's sessions idle past SESSION_IDLE and, of one kind, all but the
    newest MAX_SESSIONS: apps such as newsboat sign in again on every start, and a token
    nobody uses again would otherwise stay forever.
    """
    await prune_sessions(session, user.id, kind, now)
    token = secrets.token_urlsafe(32)
    row = UserSession(
        user_id=user.id,
        token_hash=token_hash(token),
        csrf_token=secrets.token_urlsafe(24),
        kind=kind,
        user_agent=(user_agent or None) and user_agent[:300],
        created_at=now,
        last_seen_at=now,
    )
    session.add(row)
    await session.commit()
    return token, SessionInfo(
        row.id, user, kind, row.csrf_token, row.user_agent, row.created_at, row.last_seen_at
    )


async def prune_sessions(session: AsyncSession, user_id: int, kind: str, now: datetime) -> None:
    """Before a new session: forget the idle ones, and of this kind keep the newest
    MAX_SESSIONS - 1 plus any used within IN_USE (HARD_CAP - 1 at most)."""
    await session.execute(
        delete(UserSession).where(
            UserSession.user_id == user_id, UserSession.last_seen_at < now - SESSION_IDLE
        )
    )
    for cap, spared in ((MAX_SESSIONS, now - IN_USE), (HARD_CAP, None)):
        keep = (
            select(UserSession.id)
            .where(UserSession.user_id == user_id, UserSession.kind == kind)
            .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
            .limit(cap - 1)
        )
        doomed = delete(UserSession).where(
            UserSession.user_id == user_id,
            UserSession.kind == kind,
            UserSession.id.not_in(keep.scalar_subquery()),
        )
        if spared is not None:
            doomed = doomed.where(UserSession.last_seen_at < spared)
        await session.execute(doomed)


async def resolve_session(
    session: AsyncSession | AsyncConnection, token: str, now: datetime, kind: str | None = None
) -> SessionInfo | None:
    """The live session of this token, or None (unknown, expired, of another kind). On a
    plain connection, as every authenticated request asks, or on an ORM session."""
    if not token or len(token) > 200:
        return None
    conn = await session.connection() if isinstance(session, AsyncSession) else session
    found = (await conn.execute(SESSION_BY_TOKEN, {"token_hash": token_hash(token)})).first()
    if found is None:
        return None
    info = session_of(found)
    if kind is not None and info.kind != kind:
        return None
    if info.last_seen_at < now - SESSION_IDLE:
        await conn.execute(delete(UserSession).where(UserSession.id == info.id))
        await session.commit()
        return None
    if info.last_seen_at < now - TOUCH_EVERY:
        await conn.execute(_TOUCH, {"session_id": info.id, "last_seen_at": now})
        await session.commit()
        info = replace(info, last_seen_at=now)
    return info


async def live_session_ids(session: AsyncSession, ids: Collection[int], now: datetime) -> set[int]:
    """Of these session ids, those still valid: not ended (sign-out, revocation, a new
    password, the user deleted: the row is gone) and not idle past SESSION_IDLE. What an
    open stream is checked against, whichever process ended the session."""
    wanted = sorted(ids)
    live: set[int] = set()
    for start in range(0, len(wanted), _IDS_AT_ONCE):
        chunk = wanted[start : start + _IDS_AT_ONCE]
        live.update(
            await session.scalars(
                select(UserSession.id).where(
                    UserSession.id.in_(chunk), UserSession.last_seen_at >= now - SESSION_IDLE
                )
            )
        )
    return live


async def list_sessions(session: AsyncSession, user_id: int) -> list[SessionInfo]:
    rows = await session.execute(
        _SESSIONS.where(UserSession.user_id == user_id).order_by(
            UserSession.last_seen_at.desc(), UserSession.id.desc()
        )
    )
    return [session_of(row) for row in rows]


async def revoke_session(session: AsyncSession, user_id: int, session_id: int) -> None:
    result = await session.execute(
        delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFoundError(f"session {session_id} does not exist")
    await session.commit()
