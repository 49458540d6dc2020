"""Public read API: categories, articles (list, catch-up, search)."""

from __future__ import annotations

from typing import Annotated, Literal

from litestar import Controller, Response, get
from litestar.params import Parameter

from feedhub.api.deps import SessionDep
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

__all__ = ["NEXT_CURSOR", "PublicController"]

# Where the next page of a publication-ordered list starts; absent on the last page.
NEXT_CURSOR = "X-Next-Cursor"


class PublicController(Controller):
    path = "/api"

    @get("/categories")
    async def categories(self, session: SessionDep) -> list[CategoryJSON]:
        return await list_categories(session)

    @get("/feeds")
    async def feeds(self, session: SessionDep) -> list[FeedListed]:
        """Every feed as the reading page lists it; its icon is at `/icons/feeds/{id}`."""
        return await list_feeds(session)

    @get("/articles", responses=errors(400, 422))
    async def articles(
        self,
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
        if q is not None and q.strip():
            return Response(await search_articles(session, q, categories, limit, feed=feed))
        if after is not None:
            return Response(await articles_after(session, categories, after, limit, feed=feed))
        if order == "id":
            return Response(await articles_before(session, categories, before, limit, feed=feed))
        start = Cursor.decode(cursor) if cursor is not None else None
        page = await articles_by_listing(session, categories, start, limit, feed=feed)
        headers = {}
        if len(page) == limit:
            headers[NEXT_CURSOR] = Cursor(page[-1].listed_at, page[-1].id).encode()
        return Response(page, headers=headers)
