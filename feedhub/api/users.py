"""Admin API for users (DESIGN.md "Readers"): the admin token or a signed-in admin."""

from __future__ import annotations

from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody
from msgspec import UNSET

from feedhub.api.auth import admin_guard
from feedhub.api.deps import SessionDep
from feedhub.api.identity import ReadersDep, identity_of
from feedhub.api.me import AnyRequest, PathId
from feedhub.api.openapi import BEARER, errors
from feedhub.api.reader_schemas import SessionRowJSON, UserCreate, UserJSON, UserUpdate
from feedhub.readers import accounts
from feedhub.readers.accounts import UserInfo

__all__ = ["UsersController"]


def _json(user: UserInfo) -> UserJSON:
    return UserJSON(user.name, user.role, user.created_at)


class UsersController(Controller):
    path = "/api/admin/users"
    guards = [admin_guard]  # noqa: RUF012
    security = [{BEARER: []}]  # noqa: RUF012

    @post("/", responses=errors(400, 401, 403, 409, 422))
    async def create_user(
        self, data: JSONBody[UserCreate], session: SessionDep, readers: ReadersDep
    ) -> UserJSON:
        user = await accounts.create_user(
            session, data.name, data.password, data.role, readers.clock()
        )
        return _json(user)

    @get("/", responses=errors(401, 403))
    async def list_users(self, session: SessionDep) -> list[UserJSON]:
        return [_json(u) for u in await accounts.list_users(session)]

    @patch("/{name:str}", responses=errors(400, 401, 403, 404, 422))
    async def update_user(
        self,
        name: FromPath[str],
        data: JSONBody[UserUpdate],
        session: SessionDep,
        readers: ReadersDep,
    ) -> UserJSON:
        user = await accounts.update_user(
            session,
            name,
            password=None if data.password is UNSET else data.password,
            role=None if data.role is UNSET else data.role,
        )
        if data.password is not UNSET:  # every session ended: their streams too
            await readers.revocations.revoke(user.id)
        return _json(user)

    @delete("/{name:str}", responses=errors(401, 403, 404))
    async def delete_user(
        self, name: FromPath[str], session: SessionDep, readers: ReadersDep
    ) -> None:
        user = await accounts.get_user(session, name)
        await accounts.delete_user(session, name)
        await readers.revocations.revoke(user.id)

    @get("/{name:str}/sessions", responses=errors(401, 403, 404))
    async def list_sessions(
        self, request: AnyRequest, name: FromPath[str], session: SessionDep
    ) -> list[SessionRowJSON]:
        """A user's signed-in browsers and apps, most recently used first: an admin ends one
        that a user lost (a stolen phone) without resetting their password."""
        user = await accounts.get_user(session, name)
        mine = _own_session(request)
        return [
            SessionRowJSON(s.id, s.kind, s.created_at, s.last_seen_at, s.user_agent, s.id == mine)
            for s in await accounts.list_sessions(session, user.id)
        ]

    @delete("/{name:str}/sessions/{session_id:int}", responses=errors(401, 403, 404))
    async def revoke_session(
        self, name: FromPath[str], session_id: PathId, session: SessionDep, readers: ReadersDep
    ) -> None:
        user = await accounts.get_user(session, name)
        await accounts.revoke_session(session, user.id, session_id)
        await readers.revocations.revoke(user.id, session_id)  # its open streams end too


def _own_session(request: AnyRequest) -> int | None:
    """The id of the session making this request, when an admin signed in (not the token)."""
    identity = identity_of(request)
    return identity.session.id if identity is not None and identity.session is not None else None
