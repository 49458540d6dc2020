"""App sessions (Google Reader ClientLogin) that stay the same per client.

An app signing in again (newsboat on every launch, a script on every run, a second device
with the same app) gets the token it had, as FreshRSS's tokens are stable: sessions no
longer pile up and push out the one in use. The token is derived from the password
(`passwords.app_key`) and the session's row, so only its hash is stored, as for any session.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from feedhub.core.errors import AuthError
from feedhub.db.models import User, UserSession
from feedhub.readers import hashpool
from feedhub.readers.accounts import SESSION_IDLE, UserInfo, prune_sessions, token_hash
from feedhub.readers.passwords import app_key

__all__ = ["open_app_session"]

KIND = "api"
# Sessions of one client looked at for reuse: the newest first.
_CANDIDATES = 5


def _token(key: bytes, row: UserSession) -> str:
    mac = hmac.new(key, f"{row.id}:{row.csrf_token}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


async def open_app_session(
    session: AsyncSession, user: UserInfo, password: str, user_agent: str | None, now: datetime
) -> str:
    """The token of this user's session for this client (its User-Agent), reused when
    there is one, else of a new session. `password` has just been checked."""
    stored = await session.scalar(select(User.password_hash).where(User.id == user.id))
    if stored is None:  # deleted since the check
        raise AuthError("wrong name or password")
    # In the hashing pool, as any scrypt: at today's cost it takes 128 MiB.
    key = await hashpool.run(app_key, password, stored)
    agent = (user_agent or None) and user_agent[:300]
    same_client = (
        UserSession.user_agent == agent if agent is not None else UserSession.user_agent.is_(None)
    )
    rows = await session.scalars(
        select(UserSession)
        .where(UserSession.user_id == user.id, UserSession.kind == KIND, same_client)
        .where(UserSession.last_seen_at >= now - SESSION_IDLE)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
        .limit(_CANDIDATES)
    )
    for row in rows:
        token = _token(key, row)
        # A session from before a password change derives another token: not reused.
        if hmac.compare_digest(token_hash(token), row.token_hash):
            row.last_seen_at = now
            await session.commit()
            return token
    await prune_sessions(session, user.id, KIND, now)
    row = UserSession(
        user_id=user.id, token_hash=secrets.token_hex(32), csrf_token=secrets.token_urlsafe(24),
        kind=KIND, user_agent=agent, created_at=now, last_seen_at=now,
    )  # fmt: skip
    session.add(row)
    await session.flush()  # its id is part of the token
    token = _token(key, row)
    row.token_hash = token_hash(token)
    await session.commit()
    return token
