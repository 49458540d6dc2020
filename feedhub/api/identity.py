"""Who is asking, once per request: the admin token, a session cookie, a Google Reader app,
or an output feed's secret key. Also the two rules that depend on it for every route:
CSRF on cookie-authenticated changes, and FEEDHUB_READING=private (DESIGN.md "Readers").

A plain ASGI middleware, so it also covers the raw ASGI stream handler and static files.
An anonymous request costs nothing: the database is read only when a credential is sent.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.cookies import SimpleCookie
from typing import Any, Literal, TypeAlias, TypeVar
from urllib.parse import parse_qsl, quote_from_bytes

import msgspec
from litestar.connection import ASGIConnection
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from feedhub.core.config import Settings
from feedhub.core.errors import AuthError, ForbiddenError, RateLimitedError
from feedhub.live.revocations import Revocations
from feedhub.live.sign_in_limits import SharedLimiter
from feedhub.live.state_events import StateEvents
from feedhub.readers import accounts
from feedhub.readers.accounts import SessionInfo, UserInfo
from feedhub.readers.ratelimit import MAX_NAME, attempt_keys, network_of
from feedhub.readers.session_peek import UNSURE, SessionPeek

__all__ = [
    "COOKIE",
    "CSRF_HEADER",
    "Identity",
    "IdentityMiddleware",
    "Readers",
    "ReadersDep",
    "identity_of",
    "provide_readers",
    "readers_of",
    "require_admin",
    "require_user",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

COOKIE = "feedhub_session"
CSRF_HEADER = "x-csrf-token"
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
# Sign-in has no session yet; it only accepts a JSON body, which no cross-site form sends.
_CSRF_EXEMPT = frozenset({("POST", "/api/session")})
# Open in private mode: the sign-in page and its API, probes, the schema, static assets (no
# data in them), and the routes that check credentials of their own (admin, Google Reader,
# Fever's api_key).
_OPEN_EXACT = frozenset({
    "/signin", "/signin.html", "/api/session", "/healthz", "/readyz", "/metrics", "/admin",
    "/api/fever.php",
})  # fmt: skip
# The WebSub callback is called by hubs, server to server, and checks its own secrets.
_OPEN_PREFIXES = (
    "/schema", "/reader/", "/accounts/", "/api/admin/", "/api/greader.php/", "/websub/",
)  # fmt: skip
_ASSET_SUFFIXES = (".js", ".css", ".svg", ".ico", ".png", ".woff2", ".map")
_OUTPUT_FEEDS = ("/atom.xml", "/feed.json")


@dataclass(slots=True)
class Readers:
    """What the readers' routes share, built once in create_app."""

    settings: Settings
    sessions: async_sessionmaker[AsyncSession]
    events: StateEvents
    # Sign-in attempts, counted with those of the other processes (over the bus).
    limiter: SharedLimiter
    # Ends the open streams of revoked sessions, in every process (over the bus).
    revocations: Revocations
    # The admin token now (None: none set); create_app passes the data directory's token
    # file, which is re-read when rotated.
    admin_token: Callable[[], str | None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # SQLite: sessions looked up on the event loop's thread when no write is due
    # (feedhub.readers.session_peek); None: always on the driver's thread.
    session_peek: SessionPeek | None = None

    @property
    def private(self) -> bool:
        return self.settings.reading == "private"

    @property
    def engine(self) -> AsyncEngine:
        """The sessions' engine, for reads of one statement on a plain connection."""
        engine: AsyncEngine = self.sessions.kw["bind"]
        return engine

    async def sign_in(
        self, session: AsyncSession, name: str, password: str, client: str
    ) -> UserInfo:
        """Check a password (the page's sign-in and the apps' ClientLogin alike), limited
        per name from the client's network and per network. Raises AuthError (401) or
        RateLimitedError (429)."""

        async def check() -> UserInfo:
            if not name or not password or len(name) > MAX_NAME:
                raise AuthError("wrong name or password")  # no such user can exist
            return await accounts.authenticate(session, name, password)

        return await self._limited(name, client, check)

    async def change_password(
        self, session: AsyncSession, user: UserInfo, current: str, new: str, *,
        client: str, keep_session: int,
    ) -> None:  # fmt: skip
        """A password change checks the current password: counted as a sign-in of the user
        from the client's network, so a stolen session is no unlimited password oracle."""

        async def check() -> None:
            await accounts.change_password(
                session, user.id, current, new, keep_session=keep_session
            )

        await self._limited(user.name, client, check)
        await self.revocations.revoke(user.id, keep=keep_session)

    async def _limited(self, name: str, client: str, check: Callable[[], Awaitable[T]]) -> T:
        """Take the attempt's slots before any hashing (no await between the look and the
        count, so concurrent attempts cannot all pass), then run `check`: a wrong password
        keeps its slots, a right one clears the name's, an unjudged one gives them back."""
        settings = self.settings
        network = network_of(client, settings.login_ipv4_prefix, settings.login_ipv6_prefix)
        keys = attempt_keys(name, network)
        if wait := await self.limiter.acquire(keys, time.monotonic()):
            raise RateLimitedError("too many sign-in attempts; try again later", retry_after=wait)
        try:
            result = await check()
        except AuthError:
            raise
        except BaseException:
            await self.limiter.give_back(keys)
            raise
        await self.limiter.succeeded(keys)
        return result


@dataclass(frozen=True, slots=True)
class Identity:
    via: Literal["admin_token", "cookie", "googlelogin", "feed_key"]
    user: UserInfo | None = None  # None: the admin token, which is nobody in particular
    session: SessionInfo | None = None

    @property
    def is_admin(self) -> bool:
        return self.user is None or self.user.is_admin


def identity_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity | None:
    state = connection.scope.get("state") or {}
    found: Identity | None = state.get("identity")
    return found


def require_user(connection: ASGIConnection[Any, Any, Any, Any]) -> tuple[UserInfo, SessionInfo]:
    """The signed-in user and session of a cookie or app request, or AuthError (401)."""
    identity = identity_of(connection)
    if identity is None or identity.user is None or identity.session is None:
        raise AuthError("sign in first")
    return identity.user, identity.session


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _cookie(scope: Scope) -> str | None:
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    try:
        jar = SimpleCookie(raw)
    except Exception:  # a malformed Cookie header is just no cookie
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def _is_open(path: str) -> bool:
    return path in _OPEN_EXACT or path.startswith(_OPEN_PREFIXES) or path.endswith(_ASSET_SUFFIXES)


async def _json_error(
    send: Send, status: int, detail: str, extra: list[tuple[bytes, bytes]]
) -> None:
    body = msgspec.json.encode({"status_code": status, "detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers + extra})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class IdentityMiddleware:
    def __init__(self, app: ASGIApp, readers: Readers) -> None:
        self.app = app
        self.readers = readers
        # The session lookup reads through a plain connection of the sessions' engine: no
        # ORM session to set up and close around one statement.
        self.engine = readers.engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        identity = await self._identify(scope)
        scope.setdefault("state", {})["identity"] = identity
        path, method = scope["path"], str(scope.get("method", "GET"))
        if (
            identity is not None
            and identity.via == "cookie"
            and method not in _SAFE
            and (method, path) not in _CSRF_EXEMPT
            and not path.startswith("/websub/")  # hubs, server to server: no cookie to ride
        ):
            assert identity.session is not None
            sent = _header(scope, CSRF_HEADER.encode()) or ""
            if not hmac.compare_digest(sent.encode(), identity.session.csrf_token.encode()):
                await _json_error(send, 403, "CSRF token missing or invalid: send the "
                                  "X-CSRF-Token header from GET /api/session", [])  # fmt: skip
                return
        if self.readers.private and identity is None and not _is_open(path):
            if method in _SAFE and path in ("/", "/index.html"):
                # The sign-in page returns to this address (a category, a search) after.
                query = bytes(scope.get("query_string") or b"")
                target = b"/signin" + (
                    b"?next=" + quote_from_bytes(b"/?" + query).encode() if query else b""
                )
                headers = [(b"location", target), (b"content-length", b"0")]
                await send({"type": "http.response.start", "status": 303, "headers": headers})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await _json_error(send, 401, "this feedhub is private: sign in first", [])
            return
        await self.app(scope, receive, send)

    async def _identify(self, scope: Scope) -> Identity | None:
        settings = self.readers.settings
        auth = _header(scope, b"authorization") or ""
        scheme, _, credential = auth.partition(" ")
        credential = credential.strip()
        scheme = scheme.lower()
        if scheme == "bearer":
            source = self.readers.admin_token
            token = source() if source is not None else settings.admin_token
            if token and hmac.compare_digest(credential.encode(), token.encode()):
                return Identity("admin_token")
            return None
        if scheme == "googlelogin":
            key, _, value = credential.partition("=")
            if key.strip().lower() != "auth":
                return None
            return await self._session(value.strip(), "api", "googlelogin")
        if cookie := _cookie(scope):
            found = await self._session(cookie, "web", "cookie")
            if found is not None:
                return found
        if scope["path"].endswith(_OUTPUT_FEEDS):
            query = parse_qsl(scope.get("query_string", b"").decode("latin-1"))
            feed_key = next((v for k, v in query if k == "key"), None)
            if feed_key:
                async with self.readers.sessions() as session:
                    user = await accounts.user_by_feed_key(session, feed_key)
                if user is not None:
                    return Identity("feed_key", user)
        return None

    async def _session(
        self, token: str, kind: str, via: Literal["cookie", "googlelogin"]
    ) -> Identity | None:
        now = self.readers.clock()
        if (peek := self.readers.session_peek) is not None:
            seen = peek.lookup(token, now, kind)
            if seen is not UNSURE:
                return Identity(via, seen.user, seen) if seen is not None else None
        async with self.engine.connect() as conn:
            found = await accounts.resolve_session(conn, token, now, kind)
        return Identity(via, found.user, found) if found is not None else None


def require_admin(connection: ASGIConnection[Any, Any, Any, Any]) -> Identity:
    """The admin token, or a signed-in admin (cookie with CSRF, or an app); else 401/403."""
    identity = identity_of(connection)
    if identity is None or identity.via == "feed_key":
        raise AuthError("admin token missing or invalid: send Authorization: Bearer <token>")
    if not identity.is_admin:
        raise ForbiddenError("this needs an admin; you are signed in as a reader")
    return identity


# What handlers declare to get the Readers object ("readers"), marked as Litestar 3 wants.
ReadersDep: TypeAlias = NamedDependency[Readers]


def readers_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Readers:
    """The Readers object without a dependency: Litestar resolves a handler's dependencies
    in a task group of their own when there are two or more (the session and this), two
    tasks and a wait on them in every request of the app APIs' most frequent calls."""
    readers: Readers = connection.app.state.readers
    return readers


def provide_readers(state: State) -> Readers:
    readers: Readers = state.readers
    return readers
