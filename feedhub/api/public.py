"""Public read API: categories, articles (list, catch-up), health."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy import text

from feedhub.api.deps import ServicesDep, SessionDep
from feedhub.api.openapi import errors
from feedhub.api.schemas import MAX_ID, ArticleJSON, CategoryJSON
from feedhub.catalog.articles import articles_after, articles_before, search_articles
from feedhub.catalog.categories import list_categories
from feedhub.errors import ValidationError
from feedhub.live.stream import parse_categories

__all__ = ["PublicController", "health"]


class PublicController(Controller):
    path = "/api"

    @get("/categories")
    async def categories(self, session: SessionDep) -> list[CategoryJSON]:
        return await list_categories(session)

    @get("/articles", responses=errors(400, 422))
    async def articles(
        self,
        session: SessionDep,
        category: Annotated[list[str] | None, Parameter(required=False)] = None,
        before: Annotated[int | None, Parameter(ge=1, le=MAX_ID)] = None,
        after: Annotated[int | None, Parameter(ge=0, le=MAX_ID)] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> list[ArticleJSON]:
        """Newest first (`before` cursor), or with `after` oldest first for catch-up;
        with `q`, a ranked full-text search."""
        categories = parse_categories(category or []) or None
        if before is not None and after is not None:
            raise ValidationError("use either before or after, not both")
        if q is not None and q.strip():
            return await search_articles(session, q, categories, limit)
        if after is not None:
            return await articles_after(session, categories, after, limit)
        return await articles_before(session, categories, before, limit)


@get("/healthz")
async def health(services: ServicesDep, session: SessionDep) -> dict[str, object]:
    await session.execute(text("SELECT 1"))
    return {
        "status": "ok",
        **services.hub.stats(),  # feedhub_stream_subscribers, …_queued_batches, tasks
        "scheduler": services.scheduler_on,
        "polls_in_flight": services.poller.in_flight_count,
    }
