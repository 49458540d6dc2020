"""Public read API: categories, articles (list, catch-up, search).

Public, but not the same for everyone: a signed-in reader does not get the feeds and
categories they hid (feedhub.readers.hidden). None of these answers is marked cacheable.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from feedhub.api.deps import SessionDep
from feedhub.api.identity import identity_of
from feedhub.api.openapi import errors
from feedhub.api.schemas import MAX_ID, ArticleJSON, CategoryJSON
from feedhub.catalog.articles import (
    articles_after,
    articles_before,
    articles_by_listing,
    search_articles,
)
from feedhub.catalog.categories import list_categories
from feedhub.catalog.icons import FeedListed, list_feeds
from feedhub.core.cursor import Cursor
from feedhub.core.errors import ValidationError
from feedhub.live.stream import parse_categories
from feedhub.readers.hidden import hidden_category_ids, hidden_feeds

__all__ = ["NEXT_CURSOR", "PublicController"]

# Where the next page of a publication-ordered list starts; absent on the last page.
NEXT_CURSOR = "X-Next-Cursor"


def _user_id(request: Request[Any, Any, Any]) -> int:
    """The signed-in user's id, or 0 (nobody: nothing is hidden)."""
    identity = identity_of(request)
    return identity.user.id if identity is not None and identity.user is not None else 0


class PublicController(Controller):
    path = "/api"

    @get("/categories")
    async def categories(
        self, request: Request[Any, Any, Any], session: SessionDep
    ) -> list[CategoryJSON]:
        user_id = _user_id(request)
        if not user_id:
            return await list_categories(session)
        return await list_categories(
            session,
            await hidden_category_ids(session, user_id),
            await hidden_feeds(session, user_id),
        )

    @get("/feeds")
    async def feeds(self, request: Request[Any, Any, Any], session: SessionDep) -> list[FeedListed]:
        """Every feed as the reading page lists it (without those the reader hid); its icon
        is at `/icons/feeds/{id}`."""
        user_id = _user_id(request)
        return await list_feeds(session, await hidden_feeds(session, user_id) if user_id else ())

    @get("/articles", responses=errors(400, 422))
    async def articles(
        self,
        request: Request[Any, Any, Any],
        session: SessionDep,
        category: Annotated[list[str] | None, Parameter(required=False)] = None,
        before: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        after: Annotated[int | None, Parameter(ge=0, le=MAX_ID)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
        order: Annotated[Literal["id", "published"], Parameter()] = "id",
        cursor: Annotated[str | None, Parameter(max_length=60)] = None,
        feed: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
    ) -> Response[list[ArticleJSON]]:
        """Newest first (`before` cursor), or with `after` oldest first for catch-up;
        with `q`, a ranked full-text search. `order=published` lists by publication time
        (clamped to arrival), paged with the opaque `cursor` of the `X-Next-Cursor` header.
        `feed` keeps one feed's articles (with the categories, if any are given too)."""
        categories = parse_categories(category or []) or None
        if before is not None and after is not None:
            raise ValidationError("use either before or after, not both")
        if order == "published" and (before is not None or after is not None):
            raise ValidationError("order=published pages with cursor, not before/after")
        if cursor is not None and order != "published":
            raise ValidationError("cursor goes with order=published")
        user_id = _user_id(request)
        hidden = await hidden_feeds(session, user_id) if user_id else frozenset()
        if q is not None and q.strip():
            return Response(await search_articles(session, q, categories, limit, hidden, feed=feed))
        if after is not None:
            return Response(
                await articles_after(session, categories, after, limit, hidden, feed=feed)
            )
        if order == "id":
            return Response(
                await articles_before(session, categories, before, limit, hidden, feed=feed)
            )
        start = Cursor.decode(cursor) if cursor is not None else None
        page = await articles_by_listing(session, categories, start, limit, hidden, feed=feed)
        headers = {}
        if len(page) == limit:
            headers[NEXT_CURSOR] = Cursor(page[-1].listed_at, page[-1].id).encode()
        return Response(page, headers=headers)
