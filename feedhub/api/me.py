"""Sign-in, sessions, and the signed-in user's read/starred state (docs/readers-api.md).

Thin: each route checks who is asking (`feedhub.api.identity` did the work), calls one
service of `feedhub.readers`, and maps the result to a msgspec body. CSRF is enforced for
every cookie-authenticated change by the identity middleware, before these run.
"""

from __future__ import annotations

from datetime import UTC
from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import CacheControlHeader, Cookie
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import JSONBody, Parameter, PathParameter, QueryParameter
from sqlalchemy import select

from feedhub.api.deps import SessionDep
from feedhub.api.identity import COOKIE, ReadersDep, identity_of, require_user
from feedhub.api.openapi import errors
from feedhub.api.public import NEXT_CURSOR
from feedhub.api.reader_schemas import (
    ArticleContentJSON,
    FeedKeyJSON,
    MarkAllBody,
    MarkAllJSON,
    PasswordChange,
    SessionJSON,
    SessionRowJSON,
    SessionUser,
    SignIn,
    StateBody,
    StatefulArticleJSON,
    StateIdsJSON,
    UnreadJSON,
)
from feedhub.api.schemas import EnclosureJSON
from feedhub.catalog.views import ArticleInfo
from feedhub.core.cursor import Cursor
from feedhub.core.errors import (
    NotFoundError,
    ValidationError,
)
from feedhub.core.types import MAX_ID
from feedhub.db.models import Category, Feed
from feedhub.live.stream import parse_categories
from feedhub.readers import accounts, state
from feedhub.readers.accounts import SESSION_IDLE, SessionInfo
from feedhub.readers.queries import Item, Scope, get_item, list_items
from feedhub.readers.state import AllRead

__all__ = ["ArticleController", "MeController", "SessionController"]

AnyRequest = Request[Any, Any, Any]
# Ids are bounded like every integer a client sends: past a BIGINT they were a 500.
PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


def _session_json(readers: ReadersDep, info: SessionInfo | None) -> SessionJSON:
    if info is None:
        return SessionJSON(None, None, readers.settings.reading, None)
    user = info.user
    return SessionJSON(
        SessionUser(user.name, user.role), info.csrf_token, readers.settings.reading, user.feed_key
    )


def _cookie(request: AnyRequest, value: str, max_age: int) -> Cookie:
    return Cookie(
        key=COOKIE,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


# The success answer of sign-out, documented without a body (it has none, only a cookie).
SIGNED_OUT = ResponseSpec(None, description="Signed out: the session cookie is cleared")


class SessionController(Controller):
    path = "/api/session"

    # It carries the CSRF token and the feed key: no cache, shared or the browser's, keeps it.
    @get("/", responses=errors(400), cache_control=CacheControlHeader(no_store=True))
    async def current(self, request: AnyRequest, readers: ReadersDep) -> SessionJSON:
        identity = identity_of(request)
        info = identity.session if identity is not None and identity.via == "cookie" else None
        return _session_json(readers, info)

    @post("/", status_code=200, responses=errors(400, 401, 403, 422, 429))
    async def sign_in(
        self, request: AnyRequest, data: JSONBody[SignIn], session: SessionDep, readers: ReadersDep
    ) -> Response[SessionJSON]:
        """Rate limited per name from the client's network, and per network; JSON only
        (login CSRF)."""
        if not request.headers.get("content-type", "").startswith("application/json"):
            raise ValidationError("send the name and password as JSON")
        client = request.client.host if request.client else "?"
        user = await readers.sign_in(session, data.name, data.password, client)
        agent = request.headers.get("user-agent")
        token, info = await accounts.open_session(session, user, "web", agent, readers.clock())
        max_age = int(SESSION_IDLE.total_seconds())
        return Response(_session_json(readers, info), cookies=[_cookie(request, token, max_age)])

    @delete("/", responses={**errors(400, 401, 403), 204: SIGNED_OUT})
    async def sign_out(
        self, request: AnyRequest, session: SessionDep, readers: ReadersDep
    ) -> Response[None]:
        identity = identity_of(request)
        if identity is not None and identity.via == "cookie" and identity.session is not None:
            await accounts.revoke_session(session, identity.session.user.id, identity.session.id)
            await readers.revocations.revoke(identity.session.user.id, identity.session.id)
        return Response(None, status_code=204, cookies=[_cookie(request, "", 0)])


class MeController(Controller):
    path = "/api/me"

    @get("/sessions", responses=errors(400, 401))
    async def sessions(self, request: AnyRequest, session: SessionDep) -> list[SessionRowJSON]:
        user, current = require_user(request)
        return [
            SessionRowJSON(
                s.id, s.kind, s.created_at, s.last_seen_at, s.user_agent, s.id == current.id
            )
            for s in await accounts.list_sessions(session, user.id)
        ]

    @delete("/sessions/{session_id:int}", responses=errors(400, 401, 403, 404))
    async def revoke(
        self, request: AnyRequest, session_id: PathId, session: SessionDep, readers: ReadersDep
    ) -> None:
        user, _ = require_user(request)
        await accounts.revoke_session(session, user.id, session_id)
        await readers.revocations.revoke(user.id, session_id)

    @post("/password", status_code=204, responses=errors(400, 401, 403, 422, 429))
    async def password(
        self,
        request: AnyRequest,
        data: JSONBody[PasswordChange],
        session: SessionDep,
        readers: ReadersDep,
    ) -> None:
        """Rate limited as a sign-in of the user from the client's network."""
        user, current = require_user(request)
        client = request.client.host if request.client else "?"
        await readers.change_password(
            session, user, data.current, data.new, client=client, keep_session=current.id
        )

    @post("/feed-key", status_code=200, responses=errors(400, 401, 403))
    async def feed_key(self, request: AnyRequest, session: SessionDep) -> FeedKeyJSON:
        user, _ = require_user(request)
        return FeedKeyJSON(await accounts.rotate_feed_key(session, user.id))

    @get("/state", responses=errors(400, 401, 422))
    async def states(
        self,
        request: AnyRequest,
        session: SessionDep,
        # Digits and commas, short enough that the request line stays under the HTTP
        # server's limit (a longer one got uvicorn's plain-text 400, not our JSON).
        ids: Annotated[str, Parameter(max_length=4000, pattern=r"^[0-9,]*$")],
    ) -> StateIdsJSON:
        user, _ = require_user(request)
        try:
            wanted = [int(part) for part in ids.split(",") if part.strip()]
        except ValueError:
            raise ValidationError("ids is a comma-separated list of article ids") from None
        if len(wanted) > 500:  # the page asks in batches of 200 (web/js/state.js)
            raise ValidationError("at most 500 ids at once")
        if any(not 1 <= i <= MAX_ID for i in wanted):
            raise ValidationError("article ids are positive 64-bit integers")
        read, starred = await state.states_of(session, user.id, wanted)
        return StateIdsJSON(read, starred)

    @post("/state", status_code=200, responses=errors(400, 401, 403, 422))
    async def change(
        self,
        request: AnyRequest,
        data: JSONBody[StateBody],
        session: SessionDep,
        readers: ReadersDep,
    ) -> StateBody:
        user, _ = require_user(request)
        change = await state.apply_changes(
            session, user.id, read=data.read, unread=data.unread,
            starred=data.starred, unstarred=data.unstarred,
        )  # fmt: skip
        await readers.events.publish(user.id, change)
        return StateBody(
            list(change.read), list(change.unread), list(change.starred), list(change.unstarred)
        )

    @post("/mark-all-read", status_code=200, responses=errors(400, 401, 403, 404, 422))
    async def mark_all(
        self,
        request: AnyRequest,
        data: JSONBody[MarkAllBody],
        session: SessionDep,
        readers: ReadersDep,
    ) -> MarkAllJSON:
        user, _ = require_user(request)
        if data.category is not None and data.feed_id is not None:
            raise ValidationError("give a category or a feed_id, not both")
        feed_ids = await _scope_feeds(session, data.category, data.feed_id)
        before = data.before
        if before is not None:
            try:  # at the calendar's edge an offset moves the time out of its range
                before = before.astimezone(UTC)
            except OverflowError:
                raise ValidationError("before: a date-time within years 1 to 9999") from None
        bound = await state.mark_all_read(
            session, user.id, feed_ids=feed_ids, upto_id=data.upto_id, before=before
        )
        change = state.StateChange(all_read=AllRead(data.category, data.feed_id, bound))
        await readers.events.publish(user.id, change)
        return MarkAllJSON(bound)

    @get("/unread", responses=errors(400, 401))
    async def unread(self, request: AnyRequest, session: SessionDep) -> UnreadJSON:
        user, _ = require_user(request)
        counts = await state.unread_counts(session, user.id)
        slugs = dict((await session.execute(select(Feed.id, Category.slug).join(Category))).all())
        categories: dict[str, int] = {}
        for feed_id, n in counts.items():
            slug = slugs.get(feed_id)
            if slug is not None:
                categories[slug] = categories.get(slug, 0) + n
        return UnreadJSON(
            sum(counts.values()), categories, {str(k): v for k, v in sorted(counts.items())}
        )

    @get("/articles", responses=errors(400, 401, 404, 422))
    async def articles(
        self,
        request: AnyRequest,
        session: SessionDep,
        state_filter: Annotated[
            str, QueryParameter(name="state", pattern="^(unread|starred|all)$")
        ] = "all",
        category: Annotated[list[str] | None, Parameter(required=False)] = None,
        feed_id: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        before: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        order: Annotated[Literal["id", "published"], Parameter()] = "id",
        cursor: Annotated[str | None, Parameter(max_length=60)] = None,
    ) -> Response[list[StatefulArticleJSON]]:
        """Id order with `before`, or `order=published` paged by `cursor` and
        the `X-Next-Cursor` header, as `/api/articles`. Several `category` are ORed."""
        user, _ = require_user(request)
        if order == "published" and before is not None:
            raise ValidationError("order=published pages with cursor, not before")
        if cursor is not None and order != "published":
            raise ValidationError("cursor goes with order=published")
        slugs = parse_categories(category or [])
        feed_ids: tuple[int, ...] | None = (feed_id,) if feed_id is not None else None
        category_id = None
        if len(slugs) == 1:
            category_id = await _category_id(session, slugs[0])
        elif slugs and feed_ids is None:
            feed_ids = tuple(await _category_feeds(session, slugs))
        scope = Scope(
            feed_ids=feed_ids,
            category_id=category_id,
            starred=state_filter == "starred",
            read=False if state_filter == "unread" else None,
        )
        listing: Cursor | None | Literal[False] = False
        if order == "published":
            listing = Cursor.decode(cursor) if cursor else None
        items = await list_items(
            session, user.id, scope, cursor=before, limit=limit, with_content=False,
            listing=listing,
        )  # fmt: skip
        headers = {}
        if order == "published" and len(items) == limit:
            headers[NEXT_CURSOR] = Cursor(items[-1].listed_at, items[-1].id).encode()
        body = [StatefulArticleJSON(**_listed(i), read=i.read, starred=i.starred) for i in items]
        return Response(body, headers=headers)


class ArticleController(Controller):
    path = "/api/articles"

    @get("/{article_id:int}", responses=errors(400, 404))
    async def article(
        self, request: AnyRequest, article_id: PathId, session: SessionDep
    ) -> ArticleContentJSON:
        """One article with its content; its state too when signed in."""
        identity = identity_of(request)
        user = identity.user if identity is not None else None
        item = await get_item(session, user.id if user else 0, article_id)
        if item is None:
            raise NotFoundError(f"article {article_id} does not exist")
        media = [
            EnclosureJSON(url=e["url"], type=e.get("type"), length=e.get("length"))
            for e in item.enclosures or ()
            if isinstance(e, dict) and isinstance(e.get("url"), str)
        ]
        return ArticleContentJSON(
            **_listed(item), content=item.content or "",
            read=item.read if user else None, starred=item.starred if user else None,
            site_url=item.feed_site_url, enclosures=media,
        )  # fmt: skip


def _listed(item: Item) -> dict[str, Any]:
    """The fields every article list carries (catalog.views.ArticleInfo), from a reader's
    item."""
    return {name: getattr(item, name) for name in ArticleInfo.__struct_fields__}


async def _category_id(session: SessionDep, slug: str) -> int:
    found = await session.scalar(select(Category.id).where(Category.slug == slug))
    if found is None:
        raise NotFoundError(f"category {slug!r} does not exist")
    return int(found)


async def _category_feeds(session: SessionDep, slugs: list[str]) -> list[int]:
    ids = [await _category_id(session, slug) for slug in slugs]  # 404 for an unknown one
    return list(await session.scalars(select(Feed.id).where(Feed.category_id.in_(ids))))


async def _scope_feeds(
    session: SessionDep, category: str | None, feed_id: int | None
) -> list[int] | None:
    if feed_id is not None:
        if await session.get(Feed, feed_id) is None:
            raise NotFoundError(f"feed {feed_id} does not exist")
        return [feed_id]
    if category is not None:
        category_id = await _category_id(session, category)
        return list(await session.scalars(select(Feed.id).where(Feed.category_id == category_id)))
    return None
